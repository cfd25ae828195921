/* cli.c: one getopt_long table for every command; per-command checks after parsing. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

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
	"  -o, --log-file FILE      write the log to FILE instead of stderr\n"
	"  -v, -vN                  more verbose: repeat, or set a level (0 errors, 1 warnings\n"
	"                           (default), 2 info, 3 debug)\n"
	"      --leave-running      dump: let the tree continue after a successful dump\n"
	"  -j, --shell-job          dump, restore: the tree uses a terminal it did not open\n"
	"                           (the user's); restore reconnects it to minicr's own\n"
	"  -d, --restore-detached   restore: return once the tree runs\n"
	"      --leave-stopped      restore: leave every task stopped before it resumes\n"
	"      --check-only         restore: check the images and this system, change nothing\n"
	"      --detached-mounts=mountpoint|clone\n"
	"                           restore: how detached mounts are rebuilt (default: clone)\n"
	"      --json               show, check: print JSON\n"
	"      --dot                show DIR: print the set as a Graphviz graph\n"
	"      --svg FILE           show DIR: draw that graph into FILE (SVG)\n"
	"      --html FILE          show DIR: write a self-contained HTML report\n"
	"      --full               show DIR: draw every fd of large fd tables\n"
	"  -h, --help               print this help\n"
	"  -V, --version            print the version\n"
	"\n"
	"exit status: 0 success, 1 failure, 2 usage error, 3 check: kernel unsupported\n";

enum {
	OPT_LEAVE_RUNNING = 0x100,
	OPT_LEAVE_STOPPED,
	OPT_CHECK_ONLY,
	OPT_DETACHED_MOUNTS,
	OPT_JSON,
	OPT_DOT,
	OPT_SVG,
	OPT_HTML,
	OPT_FULL,
};

static const struct option long_options[] = {
	{"tree", required_argument, NULL, 't'},
	{"images-dir", required_argument, NULL, 'D'},
	{"log-file", required_argument, NULL, 'o'},
	{"verbose", optional_argument, NULL, 'v'},
	{"leave-running", no_argument, NULL, OPT_LEAVE_RUNNING},
	{"shell-job", no_argument, NULL, 'j'},
	{"restore-detached", no_argument, NULL, 'd'},
	{"leave-stopped", no_argument, NULL, OPT_LEAVE_STOPPED},
	{"check-only", no_argument, NULL, OPT_CHECK_ONLY},
	{"detached-mounts", required_argument, NULL, OPT_DETACHED_MOUNTS},
	{"json", no_argument, NULL, OPT_JSON},
	{"dot", no_argument, NULL, OPT_DOT},
	{"svg", required_argument, NULL, OPT_SVG},
	{"html", required_argument, NULL, OPT_HTML},
	{"full", no_argument, NULL, OPT_FULL},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const char *const command_names[] = {
	[CLI_COMMAND_NONE] = "",
	[CLI_COMMAND_DUMP] = "dump",
	[CLI_COMMAND_RESTORE] = "restore",
	[CLI_COMMAND_SHOW] = "show",
	[CLI_COMMAND_CHECK] = "check",
};

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

/* -v alone adds one level; -vN (or --verbose=N) sets it; "-vvv" arrives as -v with arg "vv". */
static int parse_verbosity(const char *arg, int current, int *ret_level)
{
	long level;

	if (!arg) {
		*ret_level = current + 1;
		return 0;
	}
	if (strspn(arg, "v") == strlen(arg)) {
		*ret_level = current + 1 + (int)strlen(arg);
		return 0;
	}
	if (parse_long(arg, 0, 3, &level) < 0)
		return -EINVAL;
	*ret_level = (int)level;
	return 0;
}

/* Options that only make sense for one command are refused elsewhere, naming both. */
static int check_command_options(const struct cli_options *o, char *errbuf, size_t errlen)
{
	const char *cmd = cli_command_name(o->command);

	if (o->tree_pid && o->command != CLI_COMMAND_DUMP)
		return fail(errbuf, errlen, "option -t/--tree is only valid for dump, not %s", cmd);
	if (o->leave_running && o->command != CLI_COMMAND_DUMP)
		return fail(errbuf, errlen, "option --leave-running is only valid for dump, not %s",
			    cmd);
	if (o->shell_job && o->command != CLI_COMMAND_DUMP && o->command != CLI_COMMAND_RESTORE)
		return fail(errbuf, errlen,
			    "option -j/--shell-job is only valid for dump and restore, not %s", cmd);
	if (o->check_only && o->command != CLI_COMMAND_RESTORE)
		return fail(errbuf, errlen, "option --check-only is only valid for restore, not %s",
			    cmd);
	if ((o->restore_detached || o->leave_stopped) && o->command != CLI_COMMAND_RESTORE)
		return fail(errbuf, errlen, "options -d and --leave-stopped are only valid for restore, not %s",
			    cmd);
	if ((o->dot || o->svg_path || o->html_path || o->full) && o->command != CLI_COMMAND_SHOW)
		return fail(errbuf, errlen,
			    "options --dot, --svg, --html and --full are only valid for show, not %s",
			    cmd);
	if (o->json && (o->dot || o->svg_path || o->html_path))
		return fail(errbuf, errlen, "option --json does not go with --dot, --svg or --html");
	if (o->json && o->command != CLI_COMMAND_SHOW && o->command != CLI_COMMAND_CHECK)
		return fail(errbuf, errlen, "option --json is only valid for show and check, not %s",
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

int cli_parse(int argc, char **argv, struct cli_options *ret_opts, char *errbuf, size_t errlen)
{
	struct cli_options o = {.verbosity = 1};
	long value;
	int c, ret;

	optind = 0; /* full reset of getopt's internal state, so repeated calls work */
	opterr = 0;
	/* "-" keeps positionals in order, so "show DIR" and options may be mixed freely. */
	while ((c = getopt_long(argc, argv, "-:t:D:o:v::djhV", long_options, NULL)) != -1) {
		switch (c) {
		case 1:
			ret = take_positional(&o, optarg, errbuf, errlen);
			if (ret < 0)
				return ret;
			break;
		case 't':
			if (parse_long(optarg, 1, INT_MAX, &value) < 0)
				return fail(errbuf, errlen, "invalid pid '%s' for -t/--tree", optarg);
			o.tree_pid = (pid_t)value;
			break;
		case 'D':
			o.images_dir = optarg;
			break;
		case 'o':
			o.log_file = optarg;
			break;
		case 'v':
			if (parse_verbosity(optarg, o.verbosity, &o.verbosity) < 0)
				return fail(errbuf, errlen, "invalid verbosity '%s' (use -v, -vv or -v0..-v3)",
					    optarg);
			break;
		case 'd':
			o.restore_detached = true;
			break;
		case 'j':
			o.shell_job = true;
			break;
		case OPT_LEAVE_RUNNING:
			o.leave_running = true;
			break;
		case OPT_LEAVE_STOPPED:
			o.leave_stopped = true;
			break;
		case OPT_CHECK_ONLY:
			o.check_only = true;
			break;
		case OPT_DETACHED_MOUNTS:
			if (strcmp(optarg, "mountpoint") == 0)
				o.detached_method = CLI_DETACHED_MOUNTPOINT;
			else if (strcmp(optarg, "clone") == 0)
				o.detached_method = CLI_DETACHED_CLONE;
			else
				return fail(errbuf, errlen,
					    "invalid --detached-mounts '%s' (use mountpoint or clone)",
					    optarg);
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_DOT:
			o.dot = true;
			break;
		case OPT_SVG:
			o.svg_path = optarg;
			break;
		case OPT_HTML:
			o.html_path = optarg;
			break;
		case OPT_FULL:
			o.full = true;
			break;
		case 'h':
			o.help = true;
			break;
		case 'V':
			o.version = true;
			break;
		case ':':
			return fail(errbuf, errlen, "option '%s' needs an argument", argv[optind - 1]);
		default:
			return fail(errbuf, errlen, "unknown option '%s' (try --help)",
				    argv[optind - 1]);
		}
	}

	if (!o.help && !o.version) {
		if (o.command == CLI_COMMAND_NONE)
			return fail(errbuf, errlen, "no command given (try --help)");
		ret = check_command_options(&o, errbuf, errlen);
		if (ret < 0)
			return ret;
	}
	*ret_opts = o;
	return 0;
}
