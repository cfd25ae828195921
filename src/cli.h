/* cli.h: command-line parsing into struct cli_options. Pure: no syscalls, no logging; errors
 * come back as a message in the caller's buffer so main.c prints them once. The options follow
 * CRIU's where the concept is the same; docs/minicr.8 (FOR CRIU USERS) says what minicr does
 * with each CRIU option: honours it, accepts it as a no-op, or refuses it. */
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
	CLI_EXIT_FAILED = 1,	  /* the command ran and failed; the log says why */
	CLI_EXIT_USAGE = 2,	  /* bad command line */
	CLI_EXIT_UNSUPPORTED = 3, /* check: this kernel cannot run dump and restore, or a feature
				   * named with --feature is missing; any command: an option that
				   * minicr cannot honour yet */
};

/* CRIU's verbosity scale (-v0..-v4): 0 nothing, 1 errors, 2 warnings (the default), 3 info
 * with timestamps, 4 debug. */
#define CLI_VERBOSITY_DEFAULT 2

/* dump --timeout: seconds a task may take to stop once interrupted, as CRIU's default. */
#define CLI_TIMEOUT_DEFAULT 10
#define CLI_VERBOSITY_MAX     4

/* check --feature NAME may be given this many times. */
#define CLI_MAX_FEATURES 16

/* CRIU options minicr parses and keeps, so that the kinds that come to honour them find them
 * here. Which of them minicr honours, accepts as no-ops or refuses is decided in cli.c. */
struct cli_criu_options {
	bool shell_job;		     /* -j, --shell-job */
	bool tcp_established;	     /* --tcp-established */
	bool tcp_close;		     /* --tcp-close */
	bool skip_in_flight;	     /* --skip-in-flight */
	bool ext_unix_sk;	     /* -x, --ext-unix-sk[=ID] */
	const char *ext_unix_sk_ids; /* its argument, NULL without one */
	bool file_locks;	     /* -l, --file-locks */
	bool link_remap;	     /* --link-remap */
	bool evasive_devices;	     /* --evasive-devices */
	const char *manage_cgroups;  /* --manage-cgroups[=MODE]: NULL absent, "" without MODE */
	bool display_stats;	     /* --display-stats */
	bool weak_sysctls;	     /* --weak-sysctls */
	bool restore_sibling;	     /* -S, --restore-sibling */
	bool no_default_config;	     /* --no-default-config */
	const char *config;	     /* --config FILE */
	const char *root;	     /* -r, --root DIR */
	const char *external;	     /* --external (the last one given) */
	const char *inherit_fd;	     /* --inherit-fd (the last one given) */
	const char *freeze_cgroup;   /* --freeze-cgroup */
	const char *action_script;   /* --action-script */
	const char *prev_images_dir; /* --prev-images-dir */
	bool track_mem;		     /* --track-mem */
	bool auto_dedup;	     /* --auto-dedup */
	bool page_server;	     /* --page-server */
	bool lazy_pages;	     /* --lazy-pages */
};

struct cli_options {
	enum cli_command command;
	pid_t tree_pid;          /* dump -t; 0 when absent */
	const char *images_dir;  /* -D; NULL when absent */
	const char *log_file;	 /* -o; NULL means stderr; relative: inside the work dir */
	const char *work_dir;	 /* -W; NULL: the images dir, else the current directory */
	const char *pidfile;	 /* --pidfile: restore -d writes the restored root's pid */
	bool log_pid;		 /* --log-pid */
	int verbosity;		 /* CRIU's scale, 0..CLI_VERBOSITY_MAX (see above) */
	bool json;               /* show/check --json */
	bool dot;		 /* show --dot */
	const char *svg_path;	 /* show --svg FILE */
	const char *html_path;	 /* show --html FILE */
	bool full;		 /* show --full */
	bool leave_running;	 /* dump --leave-running */
	unsigned int timeout;	 /* dump --timeout N (seconds, 0: no limit) */
	bool has_timeout;	 /* --timeout was given */
	bool restore_detached;   /* restore -d */
	bool leave_stopped;      /* restore --leave-stopped */
	bool explain;		 /* dump, restore --explain: narrate each step */
	bool check_only;	 /* restore --check-only: check images and system, change nothing */
	enum cli_detached_method detached_method;
	const char *show_path;   /* show DIR|FILE */
	const char *features[CLI_MAX_FEATURES]; /* check --feature NAME ("list": print the names) */
	size_t n_features;
	bool check_all; /* check --all, --extra, --experimental: every feature, as always */
	struct cli_criu_options criu;
	bool help;
	bool version;
};

/* Parses argv. Returns 0; -EINVAL with a one-line reason in errbuf for a bad command line; or
 * -EOPNOTSUPP with a one-line reason for a CRIU option minicr cannot honour yet (exit status
 * CLI_EXIT_UNSUPPORTED). getopt state is reset, so it may be called repeatedly (unit tests do).
 * argv is not modified beyond getopt's permutation. */
int cli_parse(int argc, char **argv, struct cli_options *ret_opts, char *errbuf, size_t errlen);

const char *cli_command_name(enum cli_command command);

/* Whether dump records, and restore puts back, the cgroups of each task: unless
 * --manage-cgroups=ignore. */
bool cli_manage_cgroups(const struct cli_options *o);

/* Where a file named on the command line goes: an absolute path as it is; a relative one inside
 * the work dir (-W, else -D, else the current directory), as CRIU places its logs and pidfile.
 * Writes the path to buf. Returns 0, or -ENAMETOOLONG. */
int cli_place_file(const struct cli_options *opts, const char *name, char *buf, size_t len);

/* The --help text. */
extern const char cli_usage_text[];
