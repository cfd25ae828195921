/* main.c: parse the command line, set up logging, dispatch; the only place that exits. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "dump.h"
#include "base/log.h"
#include "restore.h"
#include "show.h"
#include "show-report.h"
#include "base/util.h"

static int open_log_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		fprintf(stderr, "minicr: error: cannot open log file '%s': %m\n", path);
	return fd;
}

static int run_command(const struct cli_options *opts)
{
	switch (opts->command) {
	case CLI_COMMAND_DUMP:
		return dump_run(opts) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	case CLI_COMMAND_RESTORE:
		return restore_run(opts);
	case CLI_COMMAND_SHOW:
		if (opts->dot || opts->svg_path || opts->html_path) {
			struct show_report_opts r = {opts->dot, opts->svg_path, opts->html_path,
						     opts->full};

			return show_report_run(opts->show_path, &r) < 0 ? CLI_EXIT_FAILED
									: CLI_EXIT_OK;
		}
		return show_run(opts->show_path, opts->json) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	case CLI_COMMAND_CHECK:
		return check_run(opts->json);
	case CLI_COMMAND_NONE:
		break;
	}
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli_options opts;
	char err[256];
	int log_fd = -1, status;

	if (cli_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "minicr: error: %s\n", err);
		exit(CLI_EXIT_USAGE);
	}
	if (opts.help) {
		fputs(cli_usage_text, stdout);
		exit(CLI_EXIT_OK);
	}
	if (opts.version) {
		printf("minicr %s\n", PACKAGE_VERSION);
		exit(CLI_EXIT_OK);
	}
	if (opts.log_file) {
		log_fd = open_log_file(opts.log_file);
		if (log_fd < 0)
			exit(CLI_EXIT_FAILED);
	}
	log_init(opts.verbosity > LOG_DEBUG ? LOG_DEBUG : (enum log_level)opts.verbosity, log_fd);

	status = run_command(&opts);
	if (log_fd >= 0)
		close(log_fd);
	exit(status);
}
