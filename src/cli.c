/* cli.c: one getopt_long table for every command; per-command checks after parsing. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* clang-format off */
const char cli_usage_text[] =
	"usage: minicr [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  dump -t PID -D DIR       freeze the process tree at PID and write images to DIR\n"
	"  restore -D DIR           rebuild the tree from DIR; it continues running\n"
	"  show DIR|FILE            decode an images directory or one image file\n"
	"  check                    probe the kernel features minicr relies on\n"
	"\n"
	"options:\n"
	"  -t, --tree PID           root of the process tree to dump\n"
	"  -D, --images-dir DIR     images directory\n"
	"  -W, --work-dir DIR       where a relative -o and --pidfile go (default: -D)\n"
	"  -o, --log-file FILE      write the log to FILE instead of stderr\n"
	"  -v, -vN                  more verbose: repeat, or set a level (0 nothing, 1 errors,\n"
	"                           2 warnings (default), 3 info and timestamps, 4 debug)\n"
	"  -R, --leave-running      dump: let the tree continue after a successful dump\n"
	"      --timeout N          dump: give up when a task has not stopped N seconds\n"
	"                           after the freeze began (default 10, 0: wait for ever)\n"
	"  -j, --shell-job          dump, restore: the tree uses a terminal it did not open\n"
	"                           (the user's); restore reconnects it to minicr's own\n"
	"  -d, --restore-detached   restore: return once the tree runs\n"
	"  -s, --leave-stopped      restore: leave every task stopped before it resumes\n"
	"      --pidfile FILE       restore -d: write the restored root's pid to FILE\n"
	"      --check-only         restore: check the images and this system, change nothing\n"
	"      --explain            dump, restore: tell each step in a plain sentence\n"
	"      --detached-mounts=mountpoint|clone\n"
	"                           restore: how detached mounts are rebuilt (default: clone)\n"
	"      --feature NAME       check: only this feature (\"list\" prints the names)\n"
	"      --json               show, check: print JSON\n"
	"      --dot                show DIR: print the set as a Graphviz graph\n"
	"      --svg FILE           show DIR: draw that graph into FILE (SVG)\n"
	"      --html FILE          show DIR: write a self-contained HTML report\n"
	"      --full               show DIR: draw every fd of large fd tables\n"
	"  -h, --help               print this help\n"
	"  -V, --version            print the version\n"
	"CRIU's other common options are accepted where minicr already does what they ask,\n"
	"and refused with one line where it cannot yet: see minicr(8), FOR CRIU USERS.\n"
	"\n"
	"exit status: 0 success, 1 failure, 2 usage error, 3 unsupported here (check: a\n"
	"kernel feature missing; an option minicr cannot honour yet)\n";
/* clang-format on */

/* Long-only options; a CRIU boolean also has a --no-NAME form, which sets OPT_NEGATE. */
enum {
	OPT_DETACHED_MOUNTS = 0x100,
	OPT_CHECK_ONLY,
	OPT_EXPLAIN,
	OPT_JSON,
	OPT_DOT,
	OPT_SVG,
	OPT_HTML,
	OPT_FULL,
	OPT_PIDFILE,
	OPT_LOG_PID,
	OPT_FEATURE,
	OPT_ALL,
	OPT_TCP_ESTABLISHED,
	OPT_TCP_CLOSE,
	OPT_SKIP_IN_FLIGHT,
	OPT_LINK_REMAP,
	OPT_EVASIVE_DEVICES,
	OPT_MANAGE_CGROUPS,
	OPT_DISPLAY_STATS,
	OPT_WEAK_SYSCTLS,
	OPT_NO_DEFAULT_CONFIG,
	OPT_CONFIG,
	OPT_EXTERNAL,
	OPT_INHERIT_FD,
	OPT_FREEZE_CGROUP,
	OPT_ACTION_SCRIPT,
	OPT_PREV_IMAGES_DIR,
	OPT_TRACK_MEM,
	OPT_AUTO_DEDUP,
	OPT_PAGE_SERVER,
	OPT_LAZY_PAGES,
	OPT_TIMEOUT,
	OPT_NEGATE = 0x1000,
};

/* clang-format off */
#define BOOL_OPTION(name, val) \
	{name, no_argument, NULL, (val)}, {"no-" name, no_argument, NULL, (val) | OPT_NEGATE}
/* clang-format on */

static const struct option long_options[] = {
    {"tree", required_argument, NULL, 't'},
    {"images-dir", required_argument, NULL, 'D'},
    {"work-dir", required_argument, NULL, 'W'},
    {"log-file", required_argument, NULL, 'o'},
    {"verbose", optional_argument, NULL, 'v'},
    {"verbosity", optional_argument, NULL, 'v'},
    {"leave-running", no_argument, NULL, 'R'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    BOOL_OPTION("restore-detached", 'd'),
    {"leave-stopped", no_argument, NULL, 's'},
    {"check-only", no_argument, NULL, OPT_CHECK_ONLY},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"detached-mounts", required_argument, NULL, OPT_DETACHED_MOUNTS},
    {"json", no_argument, NULL, OPT_JSON},
    {"dot", no_argument, NULL, OPT_DOT},
    {"svg", required_argument, NULL, OPT_SVG},
    {"html", required_argument, NULL, OPT_HTML},
    {"full", no_argument, NULL, OPT_FULL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    BOOL_OPTION("log-pid", OPT_LOG_PID),
    {"feature", required_argument, NULL, OPT_FEATURE},
    {"all", no_argument, NULL, OPT_ALL},
    {"extra", no_argument, NULL, OPT_ALL},
    {"experimental", no_argument, NULL, OPT_ALL},
    BOOL_OPTION("shell-job", 'j'),
    BOOL_OPTION("tcp-established", OPT_TCP_ESTABLISHED),
    BOOL_OPTION("tcp-close", OPT_TCP_CLOSE),
    BOOL_OPTION("skip-in-flight", OPT_SKIP_IN_FLIGHT),
    {"ext-unix-sk", optional_argument, NULL, 'x'},
    BOOL_OPTION("file-locks", 'l'),
    BOOL_OPTION("link-remap", OPT_LINK_REMAP),
    BOOL_OPTION("evasive-devices", OPT_EVASIVE_DEVICES),
    {"manage-cgroups", optional_argument, NULL, OPT_MANAGE_CGROUPS},
    BOOL_OPTION("display-stats", OPT_DISPLAY_STATS),
    BOOL_OPTION("weak-sysctls", OPT_WEAK_SYSCTLS),
    BOOL_OPTION("restore-sibling", 'S'),
    {"no-default-config", no_argument, NULL, OPT_NO_DEFAULT_CONFIG},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"root", required_argument, NULL, 'r'},
    {"external", required_argument, NULL, OPT_EXTERNAL},
    {"inherit-fd", required_argument, NULL, OPT_INHERIT_FD},
    {"freeze-cgroup", required_argument, NULL, OPT_FREEZE_CGROUP},
    {"action-script", required_argument, NULL, OPT_ACTION_SCRIPT},
    {"prev-images-dir", required_argument, NULL, OPT_PREV_IMAGES_DIR},
    BOOL_OPTION("track-mem", OPT_TRACK_MEM),
    BOOL_OPTION("auto-dedup", OPT_AUTO_DEDUP),
    BOOL_OPTION("page-server", OPT_PAGE_SERVER),
    {"lazy-pages", no_argument, NULL, OPT_LAZY_PAGES},
    {NULL, 0, NULL, 0},
};

/* CRIU's --manage-cgroups modes: minicr does what soft (the default) and none ask, or with
 * ignore nothing; props, full and strict are refused. */
static const char *const cgroup_modes[] = {"none", "props", "soft", "full", "strict", "ignore"};

static const char *const command_names[] = {
	[CLI_COMMAND_NONE] = "",
	[CLI_COMMAND_DUMP] = "dump",
	[CLI_COMMAND_RESTORE] = "restore",
	[CLI_COMMAND_SHOW] = "show",
	[CLI_COMMAND_CHECK] = "check",
};

bool cli_manage_cgroups(const struct cli_options *o)
{
	return !o->criu.manage_cgroups || strcmp(o->criu.manage_cgroups, "ignore") != 0;
}

const char *cli_command_name(enum cli_command command)
{
	return command_names[command];
}

__attribute__((format(printf, 3, 4))) static int fail(char *errbuf, size_t errlen,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static enum cli_command command_from_name(const char *name)
{
	for (size_t i = 1; i < ARRAY_SIZE(command_names); i++)
		if (strcmp(name, command_names[i]) == 0)
			return (enum cli_command)i;
	return CLI_COMMAND_NONE;
}

/* CRIU's rules: -v alone adds one level to the default; -vN (or --verbosity=N) sets it; "-vvv"
 * arrives as -v with arg "vv" and adds three. More than the highest level is the highest. */
static int parse_verbosity(const char *arg, int current, int *ret_level)
{
	long level;

	if (!arg) {
		level = current + 1;
	} else if (strspn(arg, "v") == strlen(arg)) {
		level = current + 1 + (long)strlen(arg);
	} else {
		if (parse_long(arg, 0, CLI_VERBOSITY_MAX, &level) < 0)
			return -EINVAL;
	}
	*ret_level = level > CLI_VERBOSITY_MAX ? CLI_VERBOSITY_MAX : (int)level;
	return 0;
}

static bool has_criu_dump_restore_option(const struct cli_criu_options *c)
{
	return c->shell_job || c->tcp_established || c->tcp_close || c->skip_in_flight ||
	       c->ext_unix_sk || c->file_locks || c->link_remap || c->evasive_devices ||
	       c->manage_cgroups || c->display_stats || c->weak_sysctls || c->restore_sibling ||
	       c->root || c->external || c->inherit_fd || c->freeze_cgroup || c->prev_images_dir ||
	       c->track_mem || c->auto_dedup || c->page_server || c->lazy_pages;
}

/* Options that only make sense for one command are refused elsewhere, naming both. */
static int check_command_options(const struct cli_options *o, char *errbuf, size_t errlen)
{
	const char *cmd = cli_command_name(o->command);
	bool is_dump = o->command == CLI_COMMAND_DUMP,
	     is_restore = o->command == CLI_COMMAND_RESTORE;

	if (o->tree_pid && !is_dump)
		return fail(errbuf, errlen, "option -t/--tree is only valid for dump, not %s", cmd);
	if (o->leave_running && !is_dump)
		return fail(errbuf, errlen,
			    "option -R/--leave-running is only valid for dump, not %s", cmd);
	if (o->has_timeout && !is_dump)
		return fail(errbuf, errlen, "option --timeout is only valid for dump, not %s", cmd);
	if (o->check_only && !is_restore)
		return fail(errbuf, errlen, "option --check-only is only valid for restore, not %s",
			    cmd);
	if (o->restore_detached && !is_restore)
		return fail(errbuf, errlen, "option -d is only valid for restore, not %s", cmd);
	if (o->explain && !is_restore && !is_dump)
		return fail(errbuf, errlen,
			    "option --explain is only valid for dump and restore, not %s", cmd);
	if (o->leave_stopped && !is_restore && !is_dump)
		return fail(errbuf, errlen,
			    "option -s/--leave-stopped is only valid for restore, not %s", cmd);
	if (o->pidfile && !is_restore)
		return fail(errbuf, errlen, "option --pidfile is only valid for restore, not %s",
			    cmd);
	if (o->pidfile && o->check_only)
		return fail(errbuf, errlen,
			    "option --pidfile does not go with --check-only: nothing is restored");
	if ((o->dot || o->svg_path || o->html_path || o->full) && o->command != CLI_COMMAND_SHOW)
		return fail(
		    errbuf, errlen,
		    "options --dot, --svg, --html and --full are only valid for show, not %s", cmd);
	if (o->json && (o->dot || o->svg_path || o->html_path))
		return fail(errbuf, errlen,
			    "option --json does not go with --dot, --svg or --html");
	if (o->json && o->command != CLI_COMMAND_SHOW && o->command != CLI_COMMAND_CHECK)
		return fail(errbuf, errlen, "option --json is only valid for show and check, not %s",
			    cmd);
	if ((o->n_features || o->check_all) && o->command != CLI_COMMAND_CHECK)
		return fail(errbuf, errlen,
			    "options --feature and --all are only valid for check, not %s", cmd);
	if (has_criu_dump_restore_option(&o->criu) && !is_dump && !is_restore)
		return fail(errbuf, errlen, "CRIU's dump and restore options are not valid for %s",
			    cmd);

	switch (o->command) {
	case CLI_COMMAND_DUMP:
		if (!o->tree_pid)
			return fail(errbuf, errlen, "dump needs -t/--tree PID");
		if (!o->images_dir)
			return fail(errbuf, errlen, "dump needs -D/--images-dir DIR");
		break;
	case CLI_COMMAND_RESTORE:
		if (!o->images_dir)
			return fail(errbuf, errlen, "restore needs -D/--images-dir DIR");
		break;
	case CLI_COMMAND_SHOW:
		if (!o->show_path)
			return fail(errbuf, errlen, "show needs an images directory or an image file");
		break;
	case CLI_COMMAND_CHECK:
	case CLI_COMMAND_NONE:
		break;
	}
	return 0;
}

__attribute__((format(printf, 4, 5))) static int refuse(char *errbuf, size_t errlen,
							const char *option, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	len = (size_t)snprintf(errbuf, errlen, "%s: minicr cannot honour it yet: ", option);
	if (len < errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return -EOPNOTSUPP;
}

/* The CRIU options minicr refuses, each with why (docs/minicr.8, FOR CRIU USERS). Those not
 * named here are honoured, or ask for what minicr does anyway (no-ops). */
static int check_criu_options(const struct cli_options *o, char *errbuf, size_t errlen)
{
	const struct cli_criu_options *c = &o->criu;
	const char *no_increments = "it makes no incremental or remote dumps";

	if (o->command == CLI_COMMAND_DUMP && o->leave_stopped)
		return refuse(errbuf, errlen, "-s/--leave-stopped",
			      "a dump kills the tree or, with "
			      "-R, lets it run on");
	if (o->pidfile && !o->restore_detached)
		return refuse(errbuf, errlen, "--pidfile", "it writes the pidfile only with -d");
	if (o->log_pid && o->command == CLI_COMMAND_RESTORE)
		return refuse(errbuf, errlen, "--log-pid",
			      "restored tasks write to minicr's own log");
	/* -j/--shell-job is honoured: the tty kind dumps the outside terminal, restore
	 * reconnects it to minicr's own */
	/* --tcp-established is honoured: the inet kind dumps connections to outside peers */
	if (c->tcp_close)
		return refuse(errbuf, errlen, "--tcp-close",
			      "it restores established connections or refuses them, never closes "
			      "them");
	if (c->skip_in_flight)
		return refuse(errbuf, errlen, "--skip-in-flight",
			      "it refuses a listener with connections from outside the tree "
			      "waiting, never drops them");
	if (c->ext_unix_sk)
		return refuse(errbuf, errlen, "-x/--ext-unix-sk",
			      "it refuses unix sockets whose peer is outside the tree");
	if (c->file_locks)
		return refuse(errbuf, errlen, "-l/--file-locks", "it dumps no file locks");
	if (c->evasive_devices)
		return refuse(errbuf, errlen, "--evasive-devices",
			      "it reopens a device file only at its dumped path");
	/* --manage-cgroups: soft (also without a mode) and none are what minicr does, ignore
	 * skips the cgroups; the modes that restore properties or create cgroups are refused */
	if (c->manage_cgroups &&
	    (strcmp(c->manage_cgroups, "props") == 0 || strcmp(c->manage_cgroups, "full") == 0 ||
	     strcmp(c->manage_cgroups, "strict") == 0))
		return refuse(errbuf, errlen, "--manage-cgroups",
			      "mode %s: it puts each task back into the cgroups it was in, which "
			      "must exist, and neither creates cgroups nor restores their "
			      "properties (soft, none and ignore are accepted)",
			      c->manage_cgroups);
	if (c->restore_sibling)
		return refuse(errbuf, errlen, "-S/--restore-sibling",
			      "the restored root is always minicr's child");
	if (c->config)
		return refuse(errbuf, errlen, "--config", "it reads no configuration files");
	if (c->root)
		return refuse(errbuf, errlen, "-r/--root", "it restores under its own root");
	if (c->external)
		return refuse(errbuf, errlen, "--external", "it knows no external resources");
	if (c->inherit_fd)
		return refuse(errbuf, errlen, "--inherit-fd", "it knows no external resources");
	if (c->freeze_cgroup)
		return refuse(errbuf, errlen, "--freeze-cgroup",
			      "it freezes a tree with ptrace only");
	if (c->action_script)
		return refuse(errbuf, errlen, "--action-script", "it runs no action scripts");
	if (c->prev_images_dir)
		return refuse(errbuf, errlen, "--prev-images-dir", "%s", no_increments);
	if (c->track_mem)
		return refuse(errbuf, errlen, "--track-mem", "%s", no_increments);
	if (c->auto_dedup)
		return refuse(errbuf, errlen, "--auto-dedup", "%s", no_increments);
	if (c->page_server)
		return refuse(errbuf, errlen, "--page-server", "%s", no_increments);
	if (c->lazy_pages)
		return refuse(errbuf, errlen, "--lazy-pages",
			      "it restores every page before the "
			      "tree resumes");
	return 0;
}

static int take_positional(struct cli_options *o, const char *arg, char *errbuf, size_t errlen)
{
	if (o->command == CLI_COMMAND_NONE) {
		o->command = command_from_name(arg);
		if (o->command == CLI_COMMAND_NONE)
			return fail(errbuf, errlen, "unknown command '%s' (try --help)", arg);
		return 0;
	}
	if (o->command == CLI_COMMAND_SHOW && !o->show_path) {
		o->show_path = arg;
		return 0;
	}
	return fail(errbuf, errlen, "unexpected argument '%s' for %s", arg,
		    cli_command_name(o->command));
}

static int take_manage_cgroups(struct cli_options *o, const char *arg, char *errbuf, size_t errlen)
{
	if (!arg) {
		o->criu.manage_cgroups = "";
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cgroup_modes); i++) {
		if (strcmp(arg, cgroup_modes[i]) == 0) {
			o->criu.manage_cgroups = cgroup_modes[i];
			return 0;
		}
	}
	return fail(errbuf, errlen,
		    "invalid --manage-cgroups mode '%s' (none, props, soft, full, strict, ignore)",
		    arg);
}

/* One option of the getopt loop; c is getopt_long's value, with OPT_NEGATE for --no-NAME. */
static int take_option(struct cli_options *o, int c, const char *arg, char *errbuf, size_t errlen)
{
	bool on = !(c & OPT_NEGATE);
	long value;

	switch (c & ~OPT_NEGATE) {
	case 't':
		if (parse_long(arg, 1, INT_MAX, &value) < 0)
			return fail(errbuf, errlen, "invalid pid '%s' for -t/--tree", arg);
		o->tree_pid = (pid_t)value;
		break;
	case 'D':
		o->images_dir = arg;
		break;
	case 'W':
		o->work_dir = arg;
		break;
	case 'o':
		o->log_file = arg;
		break;
	case 'v':
		if (parse_verbosity(arg, o->verbosity, &o->verbosity) < 0)
			return fail(errbuf, errlen,
				    "invalid verbosity '%s' (use -v, -vv or -v0..-v%d)", arg,
				    CLI_VERBOSITY_MAX);
		break;
	case 'd':
		o->restore_detached = on;
		break;
	case 'R':
		o->leave_running = true;
		break;
	case OPT_TIMEOUT: {
		long seconds;

		if (parse_long(arg, 0, 24 * 3600, &seconds) < 0)
			return fail(errbuf, errlen,
				    "invalid --timeout '%s' (seconds, 0 to %d; 0: no limit)", arg,
				    24 * 3600);
		o->timeout = (unsigned int)seconds;
		o->has_timeout = true;
		break;
	}
	case 's':
		o->leave_stopped = true;
		break;
	case OPT_CHECK_ONLY:
		o->check_only = true;
		break;
	case OPT_EXPLAIN:
		o->explain = true;
		break;
	case OPT_DETACHED_MOUNTS:
		if (strcmp(arg, "mountpoint") == 0)
			o->detached_method = CLI_DETACHED_MOUNTPOINT;
		else if (strcmp(arg, "clone") == 0)
			o->detached_method = CLI_DETACHED_CLONE;
		else
			return fail(errbuf, errlen,
				    "invalid --detached-mounts '%s' (use mountpoint or clone)",
				    arg);
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_DOT:
		o->dot = true;
		break;
	case OPT_SVG:
		o->svg_path = arg;
		break;
	case OPT_HTML:
		o->html_path = arg;
		break;
	case OPT_FULL:
		o->full = true;
		break;
	case OPT_PIDFILE:
		o->pidfile = arg;
		break;
	case OPT_LOG_PID:
		o->log_pid = on;
		break;
	case OPT_FEATURE:
		if (o->n_features == CLI_MAX_FEATURES)
			return fail(errbuf, errlen, "more than %d --feature options",
				    CLI_MAX_FEATURES);
		o->features[o->n_features++] = arg;
		break;
	case OPT_ALL:
		o->check_all = true;
		break;
	case 'j':
		o->criu.shell_job = on;
		break;
	case OPT_TCP_ESTABLISHED:
		o->criu.tcp_established = on;
		break;
	case OPT_TCP_CLOSE:
		o->criu.tcp_close = on;
		break;
	case OPT_SKIP_IN_FLIGHT:
		o->criu.skip_in_flight = on;
		break;
	case 'x':
		o->criu.ext_unix_sk = true;
		o->criu.ext_unix_sk_ids = arg;
		break;
	case 'l':
		o->criu.file_locks = on;
		break;
	case OPT_LINK_REMAP:
		o->criu.link_remap = on;
		break;
	case OPT_EVASIVE_DEVICES:
		o->criu.evasive_devices = on;
		break;
	case OPT_MANAGE_CGROUPS:
		return take_manage_cgroups(o, arg, errbuf, errlen);
	case OPT_DISPLAY_STATS:
		o->criu.display_stats = on;
		break;
	case OPT_WEAK_SYSCTLS:
		o->criu.weak_sysctls = on;
		break;
	case 'S':
		o->criu.restore_sibling = on;
		break;
	case OPT_NO_DEFAULT_CONFIG:
		o->criu.no_default_config = true;
		break;
	case OPT_CONFIG:
		o->criu.config = arg;
		break;
	case 'r':
		o->criu.root = arg;
		break;
	case OPT_EXTERNAL:
		o->criu.external = arg;
		break;
	case OPT_INHERIT_FD:
		o->criu.inherit_fd = arg;
		break;
	case OPT_FREEZE_CGROUP:
		o->criu.freeze_cgroup = arg;
		break;
	case OPT_ACTION_SCRIPT:
		o->criu.action_script = arg;
		break;
	case OPT_PREV_IMAGES_DIR:
		o->criu.prev_images_dir = arg;
		break;
	case OPT_TRACK_MEM:
		o->criu.track_mem = on;
		break;
	case OPT_AUTO_DEDUP:
		o->criu.auto_dedup = on;
		break;
	case OPT_PAGE_SERVER:
		o->criu.page_server = on;
		break;
	case OPT_LAZY_PAGES:
		o->criu.lazy_pages = true;
		break;
	case 'h':
		o->help = true;
		break;
	case 'V':
		o->version = true;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *ret_opts, char *errbuf, size_t errlen)
{
	struct cli_options o = {.verbosity = CLI_VERBOSITY_DEFAULT, .timeout = CLI_TIMEOUT_DEFAULT};
	int c, ret;

	optind = 0; /* full reset of getopt's internal state, so repeated calls work */
	opterr = 0;
	/* "-" keeps positionals in order, so "show DIR" and options may be mixed freely. */
	while ((c = getopt_long(argc, argv, "-:t:D:W:o:v::dRsjlSx::r:hV", long_options, NULL)) !=
	       -1) {
		if (c == 1) {
			ret = take_positional(&o, optarg, errbuf, errlen);
		} else if (c == ':') {
			return fail(errbuf, errlen, "option '%s' needs an argument", argv[optind - 1]);
		} else {
			ret = take_option(&o, c, optarg, errbuf, errlen);
			if (ret == -ENOENT)
				return fail(errbuf, errlen, "unknown option '%s' (try --help)",
					    argv[optind - 1]);
		}
		if (ret < 0)
			return ret;
	}

	if (!o.help && !o.version) {
		if (o.command == CLI_COMMAND_NONE)
			return fail(errbuf, errlen, "no command given (try --help)");
		ret = check_command_options(&o, errbuf, errlen);
		if (ret < 0)
			return ret;
		ret = check_criu_options(&o, errbuf, errlen);
		if (ret < 0)
			return ret;
	}
	*ret_opts = o;
	return 0;
}

int cli_place_file(const struct cli_options *opts, const char *name, char *buf, size_t len)
{
	const char *dir = opts->work_dir ? opts->work_dir : opts->images_dir;
	int n;

	if (name[0] == '/' || !dir)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
