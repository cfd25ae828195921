/* main.c: parse the command line, set up logging, dispatch; the only place that exits. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "dump.h"
#include "image-read.h"
#include "inventory.pb-c.h"
#include "base/log.h"
#include "restore.h"
#include "show.h"
#include "show-report.h"
#include "base/util.h"

/* A relative -o goes into the work dir, as CRIU puts it: -W, else the images dir. A dump creates
 * its images dir (as dump_run() would) so that its log can be opened there first. */
static int open_log_file(const struct cli_options *opts)
{
	char path[PATH_MAX];
	int fd;

	if (cli_place_file(opts, opts->log_file, path, sizeof(path)) < 0) {
		fprintf(stderr, "minicr: error: log file name '%s' is too long\n", opts->log_file);
		return -1;
	}
	if (opts->command == CLI_COMMAND_DUMP && !opts->work_dir && opts->log_file[0] != '/' &&
	    mkdir(opts->images_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "minicr: error: cannot create images dir '%s': %m\n",
			opts->images_dir);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "minicr: error: cannot open log file '%s': %m\n", path);
	return fd;
}

/* restore -d --pidfile: minicr restores every task with its old pid, so the restored root has
 * the pid the inventory names. Written once the tree runs, as CRIU does. */
static int write_pidfile(const struct cli_options *opts)
{
	cleanup_fclose FILE *f = NULL;
	cleanup_close int img_dirfd = -EBADF;
	struct InventoryEntry *inv = NULL;
	char path[PATH_MAX];
	int r;

	if (cli_place_file(opts, opts->pidfile, path, sizeof(path)) < 0) {
		pr_err("pidfile name '%s' is too long", opts->pidfile);
		return -ENAMETOOLONG;
	}
	img_dirfd = open(opts->images_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (img_dirfd < 0)
		return pr_errno("cannot open images directory '%s'", opts->images_dir);
	r = image_read_inventory(img_dirfd, &inv);
	if (r < 0)
		return r;
	if (!inv->has_root_pid) {
		pr_err("the inventory of '%s' names no root pid", opts->images_dir);
		r = -EBADMSG;
	} else if (!(f = fopen(path, "we"))) {
		r = pr_errno("cannot create pidfile '%s'", path);
	} else {
		fprintf(f, "%d", inv->root_pid);
		r = fflush(f) == 0 ? 0 : pr_errno("cannot write pidfile '%s'", path);
	}
	inventory_entry__free_unpacked(inv, NULL);
	return r;
}

static int run_command(const struct cli_options *opts)
{
	int status;

	switch (opts->command) {
	case CLI_COMMAND_DUMP:
		return dump_run(opts) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	case CLI_COMMAND_RESTORE:
		status = restore_run(opts);
		if (status == CLI_EXIT_OK && opts->pidfile && write_pidfile(opts) < 0)
			status = CLI_EXIT_FAILED;
		return status;
	case CLI_COMMAND_SHOW:
		if (opts->dot || opts->svg_path || opts->html_path) {
			struct show_report_opts r = {opts->dot, opts->svg_path, opts->html_path,
						     opts->full};

			return show_report_run(opts->show_path, &r) < 0 ? CLI_EXIT_FAILED
									: CLI_EXIT_OK;
		}
		return show_run(opts->show_path, opts->json) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	case CLI_COMMAND_CHECK:
		return check_run(opts);
	case CLI_COMMAND_NONE:
		break;
	}
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli_options opts;
	char err[512];
	int log_fd = -1, status, r;

	r = cli_parse(argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "minicr: error: %s\n", err);
		exit(r == -EOPNOTSUPP ? CLI_EXIT_UNSUPPORTED : CLI_EXIT_USAGE);
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
		log_fd = open_log_file(&opts);
		if (log_fd < 0)
			exit(CLI_EXIT_FAILED);
	}
	log_init_verbosity(opts.verbosity, log_fd);
	log_explain_enable(opts.explain);

	status = run_command(&opts);
	if (log_fd >= 0)
		close(log_fd);
	exit(status);
}
