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

Test(cli, counts_verbosity)
{
	struct cli_options o;
	char err[256] = "";

	cr_assert_eq(parse(&o, err, "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 1);
	cr_assert_eq(parse(&o, err, "-v", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 2);
	cr_assert_eq(parse(&o, err, "-vv", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 3);
	cr_assert_eq(parse(&o, err, "-v0", "check", NULL), 0, "%s", err);
	cr_assert_eq(o.verbosity, 0);
	cr_assert_eq(parse(&o, err, "-v9", "check", NULL), -EINVAL);
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
	cr_assert(o.shell_job);
	cr_assert_eq(cli_parse(5, restore, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert(o.shell_job);
	cr_assert_eq(cli_parse(4, show, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "shell-job"), "%s", err);
}
