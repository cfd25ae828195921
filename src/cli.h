/* cli.h: command-line parsing into struct cli_options. Pure: no syscalls, no logging; errors
 * come back as a message in the caller's buffer so main.c prints them once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cli_command {
	CLI_COMMAND_NONE = 0,
	CLI_COMMAND_DUMP,
	CLI_COMMAND_RESTORE,
	CLI_COMMAND_SHOW,
	CLI_COMMAND_CHECK,
};

/* How restore rebuilds a detached mount (see docs/minicr.8). */
enum cli_detached_method {
	CLI_DETACHED_CLONE = 0,  /* default: open_tree(OPEN_TREE_CLONE) fd, never attached */
	CLI_DETACHED_MOUNTPOINT, /* the talk's way: /.minicr.detached.XXXXXX, then MNT_DETACH */
};

/* Documented exit statuses (docs/minicr.8, EXIT STATUS). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,      /* the command ran and failed; the log says why */
	CLI_EXIT_USAGE = 2,       /* bad command line */
	CLI_EXIT_UNSUPPORTED = 3, /* check: this kernel cannot run dump and restore */
};

struct cli_options {
	enum cli_command command;
	pid_t tree_pid;          /* dump -t; 0 when absent */
	const char *images_dir;  /* -D; NULL when absent */
	const char *log_file;    /* -o; NULL means stderr */
	int verbosity;           /* log level: 0 errors, 1 warnings (default), 2 info, 3 debug */
	bool json;               /* show/check --json */
	bool dot;                /* show --dot */
	const char *svg_path;    /* show --svg FILE */
	const char *html_path;   /* show --html FILE */
	bool full;               /* show --full */
	bool leave_running;      /* dump --leave-running */
	bool shell_job;		 /* dump, restore -j/--shell-job (CRIU's): an outside terminal */
	bool restore_detached;   /* restore -d */
	bool leave_stopped;      /* restore --leave-stopped */
	bool check_only;         /* restore --check-only: check images and system, change nothing */
	enum cli_detached_method detached_method;
	const char *show_path;   /* show DIR|FILE */
	bool help;
	bool version;
};

/* Parses argv. Returns 0, or -EINVAL with a one-line reason in errbuf. getopt state is reset, so
 * it may be called repeatedly (unit tests do). argv is not modified beyond getopt's permutation. */
int cli_parse(int argc, char **argv, struct cli_options *ret_opts, char *errbuf, size_t errlen);

const char *cli_command_name(enum cli_command command);

/* The --help text. */
extern const char cli_usage_text[];
