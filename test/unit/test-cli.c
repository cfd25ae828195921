/* Unit tests for cli.c: what each command line parses to, and which ones are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

static int parse(struct cli_options *o, char *err, const char *first, ...)
{
	char *argv[16] = {"minicr"};
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	return cli_parse(argc, argv, o, err, 256);
}

Test(cli, parses_dump_with_short_options)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "123", "-D", "/tmp/img", NULL), 0, "%s", err);
	cr_assert_eq(o.command, CLI_COMMAND_DUMP);
	cr_assert_eq(o.tree_pid, 123);
	cr_assert_str_eq(o.images_dir, "/tmp/img");
	cr_assert_not(o.leave_running);
}

Test(cli, parses_long_options_before_and_after_the_command)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "--log-file=/tmp/l", "dump", "--tree", "7", "--images-dir", "d",
			   "--leave-running", NULL),
		     0, "%s", err);
	cr_assert_eq(o.tree_pid, 7);
	cr_assert_str_eq(o.log_file, "/tmp/l");
	cr_assert(o.leave_running);
}

Test(cli, parses_restore_options)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "-d", "--leave-stopped",
			   "--detached-mounts=clone", NULL),
		     0, "%s", err);
	cr_assert_eq(o.command, CLI_COMMAND_RESTORE);
	cr_assert(o.restore_detached);
	cr_assert(o.leave_stopped);
	cr_assert_eq(o.detached_method, CLI_DETACHED_CLONE);
}

Test(cli, defaults_detached_mounts_to_clone)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "restore", "-D", "d", NULL), 0, "%s", err);
	cr_assert_eq(o.detached_method, CLI_DETACHED_CLONE);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--detached-mounts", "mountpoint", NULL), 0,
		     "%s", err);
	cr_assert_eq(o.detached_method, CLI_DETACHED_MOUNTPOINT);
}

Test(cli, parses_show_path_and_json)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "show", "--json", "imgdir", NULL), 0, "%s", err);
	cr_assert_eq(o.command, CLI_COMMAND_SHOW);
	cr_assert_str_eq(o.show_path, "imgdir");
	cr_assert(o.json);
}

Test(cli, counts_verbosity_on_criu_scale)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 2, "CRIU's default level is 2 (warnings)");
	cr_assert_eq(parse(&o, err, "-v", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 3);
	cr_assert_eq(parse(&o, err, "-vv", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 4);
	cr_assert_eq(parse(&o, err, "-vvvv", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 4, "more v's than levels stay at the highest");
	cr_assert_eq(parse(&o, err, "-v", "-v", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 4);
	cr_assert_eq(parse(&o, err, "-v0", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 0);
	cr_assert_eq(parse(&o, err, "-v4", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 4);
	cr_assert_eq(parse(&o, err, "--verbosity=1", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 1);
	cr_assert_eq(parse(&o, err, "--verbose", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 3);
	cr_assert_eq(parse(&o, err, "-v5", "check", NULL), -EINVAL);
	cr_assert(strstr(err, "-v0..-v4"), "%s", err);
}

static const char *placed(const struct cli_options *o, const char *name)
{
	static char buf[256];

	cr_assert_eq(cli_place_file(o, name, buf, sizeof(buf)), 0);
	return buf;
}

Test(cli, places_a_relative_log_in_the_images_dir_like_criu)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "img", "-o", "dump.log", NULL), 0,
		     "%s", err);
	cr_assert_str_eq(placed(&o, o.log_file), "img/dump.log");
	cr_assert_str_eq(placed(&o, "/var/log/d.log"), "/var/log/d.log");
	cr_assert_eq(parse(&o, err, "restore", "-D", "img", "-W", "/w", "-o", "r.log", NULL), 0,
		     "%s", err);
	cr_assert_str_eq(o.work_dir, "/w");
	cr_assert_str_eq(placed(&o, o.log_file), "/w/r.log", "-W wins over -D");
	cr_assert_eq(parse(&o, err, "--work-dir=wd", "check", "-o", "c.log", NULL), 0, "%s", err);
	cr_assert_str_eq(placed(&o, o.log_file), "wd/c.log");
	cr_assert_eq(parse(&o, err, "check", "-o", "c.log", NULL), 0, "%s", err);
	cr_assert_str_eq(placed(&o, o.log_file), "c.log", "no -D nor -W: the current directory");
	cr_assert_eq(cli_place_file(&o, "x", err, 1), -ENAMETOOLONG);
}

Test(cli, parses_criu_short_options)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "5", "-D", "d", "-R", NULL), 0, "%s", err);
	cr_assert(o.leave_running);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "-s", "-d", NULL), 0, "%s", err);
	cr_assert(o.leave_stopped);
	cr_assert(o.restore_detached);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "-d", "--no-restore-detached", NULL), 0,
		     "%s", err);
	cr_assert_not(o.restore_detached);
}

Test(cli, writes_the_pidfile_only_for_restore_d)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "-d", "--pidfile", "p", NULL), 0, "%s",
		     err);
	cr_assert_str_eq(o.pidfile, "p");
	cr_assert_str_eq(placed(&o, o.pidfile), "d/p");
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--pidfile=p", NULL), -EOPNOTSUPP);
	cr_assert(strstr(err, "--pidfile") && strstr(err, "-d"), "%s", err);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--pidfile=p", NULL), -EINVAL);
}

Test(cli, keeps_criu_options_that_are_no_ops)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--link-remap",
			   "--manage-cgroups=ignore", "--display-stats", "--no-default-config",
			   "--no-tcp-established", "--no-shell-job", "--log-pid", NULL),
		     0, "%s", err);
	cr_assert(o.criu.link_remap);
	cr_assert_str_eq(o.criu.manage_cgroups, "ignore");
	cr_assert(o.criu.display_stats);
	cr_assert(o.criu.no_default_config);
	cr_assert_not(o.criu.tcp_established);
	cr_assert_not(o.criu.shell_job);
	cr_assert(o.log_pid, "--log-pid on dump: one process writes the whole log anyway");
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--weak-sysctls", "--link-remap", NULL),
		     0, "%s", err);
	cr_assert(o.criu.weak_sysctls);
}

/* Each refused CRIU option: -EOPNOTSUPP (exit status 3), one line naming the option and why. */
static void assert_refused(const char *command, const char *option, const char *named)
{
	struct cli_options o;
	char err[256] = "";
	int r;

	if (strcmp(command, "dump") == 0)
		r = parse(&o, err, "dump", "-t", "1", "-D", "d", option, NULL);
	else
		r = parse(&o, err, "restore", "-D", "d", "-d", option, NULL);
	cr_assert_eq(r, -EOPNOTSUPP, "%s %s: %d (%s)", command, option, r, err);
	cr_assert(strstr(err, named) && strstr(err, "cannot honour it yet: "), "%s", err);
	cr_assert_null(strchr(err, '\n'));
}

Test(cli, honours_tcp_established_on_dump_and_restore)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--tcp-established", NULL), 0,
		     "%s", err);
	cr_assert(o.criu.tcp_established);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--tcp-established", NULL), 0, "%s", err);
	cr_assert(o.criu.tcp_established);
}

Test(cli, refuses_criu_options_it_cannot_honour_with_one_line)
{
	assert_refused("restore", "--tcp-close", "--tcp-close");
	assert_refused("dump", "--skip-in-flight", "--skip-in-flight");
	assert_refused("dump", "-x", "--ext-unix-sk");
	assert_refused("dump", "--ext-unix-sk=12", "--ext-unix-sk");
	assert_refused("dump", "--file-locks", "--file-locks");
	assert_refused("restore", "-l", "--file-locks");
	assert_refused("dump", "--manage-cgroups=props", "--manage-cgroups");
	assert_refused("restore", "--manage-cgroups=full", "--manage-cgroups");
	assert_refused("restore", "--manage-cgroups=strict", "--manage-cgroups");
	assert_refused("dump", "--evasive-devices", "--evasive-devices");
	assert_refused("restore", "--log-pid", "--log-pid");
	assert_refused("restore", "-S", "--restore-sibling");
	assert_refused("restore", "--root=/r", "--root");
	assert_refused("dump", "--external=mnt[]", "--external");
	assert_refused("restore", "--inherit-fd=fd[3]:x", "--inherit-fd");
	assert_refused("dump", "--freeze-cgroup=/sys/fs/cgroup/x", "--freeze-cgroup");
	assert_refused("dump", "--action-script=/bin/true", "--action-script");
	assert_refused("dump", "--track-mem", "--track-mem");
	assert_refused("dump", "--prev-images-dir=../p", "--prev-images-dir");
	assert_refused("dump", "--auto-dedup", "--auto-dedup");
	assert_refused("dump", "--page-server", "--page-server");
	assert_refused("restore", "--lazy-pages", "--lazy-pages");
	assert_refused("dump", "--config=/etc/c", "--config");
	assert_refused("dump", "--leave-stopped", "--leave-stopped");
}

/* soft (also without a mode) and none are what minicr does; ignore turns cgroups off. */
Test(cli, restores_cgroups_unless_told_to_ignore_them)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "restore", "-D", "d", NULL), 0, "%s", err);
	cr_assert(cli_manage_cgroups(&o));
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--manage-cgroups", NULL), 0,
		     "%s", err);
	cr_assert(cli_manage_cgroups(&o));
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--manage-cgroups=soft", NULL), 0, "%s",
		     err);
	cr_assert(cli_manage_cgroups(&o));
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--manage-cgroups=none", NULL), 0, "%s",
		     err);
	cr_assert(cli_manage_cgroups(&o));
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--manage-cgroups=ignore", NULL), 0, "%s",
		     err);
	cr_assert_not(cli_manage_cgroups(&o));
}

Test(cli, refuses_a_bad_cgroup_mode_and_criu_options_of_show)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--manage-cgroups=some", NULL),
		     -EINVAL);
	cr_assert(strstr(err, "'some'"), "%s", err);
	cr_assert_eq(parse(&o, err, "show", "d", "--link-remap", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "check", "--shell-job", NULL), -EINVAL);
}

Test(cli, parses_check_feature_and_all_like_criu)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "check", "--feature", "clone3", "--feature=statmount", NULL), 0,
		     "%s", err);
	cr_assert_eq(o.n_features, 2);
	cr_assert_str_eq(o.features[0], "clone3");
	cr_assert_str_eq(o.features[1], "statmount");
	cr_assert_eq(parse(&o, err, "check", "--all", NULL), 0, "%s", err);
	cr_assert(o.check_all);
	cr_assert_eq(parse(&o, err, "check", "--extra", "--experimental", NULL), 0, "%s", err);
	cr_assert(o.check_all);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--feature=x", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--all", NULL), -EINVAL);
}

Test(cli, refuses_dump_without_pid_or_dir)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-D", "d", NULL), -EINVAL);
	cr_assert(strstr(err, "-t/--tree"), "%s", err);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", NULL), -EINVAL);
	cr_assert(strstr(err, "-D/--images-dir"), "%s", err);
}

Test(cli, refuses_bad_pids)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "0", "-D", "d", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "dump", "-t", "12x", "-D", "d", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "dump", "-t", "-5", "-D", "d", NULL), -EINVAL);
	cr_assert(strstr(err, "invalid pid"), "%s", err);
}

Test(cli, refuses_unknown_commands_and_options)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "frobnicate", NULL), -EINVAL);
	cr_assert(strstr(err, "unknown command 'frobnicate'"), "%s", err);
	cr_assert_eq(parse(&o, err, "check", "--bogus", NULL), -EINVAL);
	cr_assert(strstr(err, "--bogus"), "%s", err);
	cr_assert_eq(parse(&o, err, NULL), -EINVAL);
	cr_assert(strstr(err, "no command"), "%s", err);
}

Test(cli, parses_the_dump_timeout)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", NULL), 0, "%s", err);
	cr_assert_eq(o.timeout, CLI_TIMEOUT_DEFAULT);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--timeout", "3", NULL), 0, "%s",
		     err);
	cr_assert_eq(o.timeout, 3);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--timeout=0", NULL), 0, "%s",
		     err);
	cr_assert_eq(o.timeout, 0);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--timeout", "-1", NULL),
		     -EINVAL);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--timeout", "x", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--timeout", "3", NULL), -EINVAL);
}

Test(cli, refuses_options_of_another_command)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--leave-running", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "-d", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "d", "--json", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "restore", "-D", "d", "--detached-mounts=magic", NULL),
		     -EINVAL);
}

Test(cli, reports_a_missing_option_argument)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "dump", "-D", NULL), -EINVAL);
	cr_assert(strstr(err, "needs an argument"), "%s", err);
}

Test(cli, accepts_help_and_version_without_a_command)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "--help", NULL), 0, "%s", err);
	cr_assert(o.help);
	cr_assert_eq(parse(&o, err, "-V", NULL), 0, "%s", err);
	cr_assert(o.version);
}

Test(cli, parses_restore_check_only_and_refuses_it_elsewhere)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "restore", "-D", "/tmp/img", "--check-only", NULL), 0, "%s",
		     err);
	cr_assert(o.check_only);
	cr_assert_eq(parse(&o, err, "dump", "-t", "1", "-D", "/tmp/img", "--check-only", NULL),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "--check-only"), "%s", err);
}

Test(cli, parses_shell_job_for_dump_and_restore_only)
{
	struct cli_options o;
	char err[256];
	char *dump[] = {"minicr", "dump", "-t", "1", "-D", "d", "--shell-job", NULL};
	char *restore[] = {"minicr", "restore", "-D", "d", "-j", NULL};
	char *show[] = {"minicr", "show", "d", "-j", NULL};

	cr_assert_eq(cli_parse(7, dump, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert(o.criu.shell_job);
	cr_assert_eq(cli_parse(5, restore, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert(o.criu.shell_job);
	cr_assert_eq(cli_parse(4, show, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "dump and restore"), "%s", err);
}
