/* procfs-parse.h: the one parser of /proc/PID/stat, /proc/PID/status and /proc/PID/limits text,
 * and of the kernel's CPU lists (/sys/devices/system/cpu/online, Cpus_allowed_list).
 * Pure: takes NUL-terminated buffers, makes no syscalls and does not log (fuzzed). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_COMM_MAX 64 /* /proc shows up to 64 bytes for some kernel threads */

/* The fields of /proc/PID/stat that minicr uses (proc(5) numbers in the comments). */
struct procfs_stat {
	pid_t pid;		    /* 1 */
	char comm[PROCFS_COMM_MAX]; /* 2: NUL-terminated, may hold spaces and ')' */
	char state;		    /* 3: 'R', 'S', 'D', 'T', 't', 'Z', 'X', ... */
	pid_t ppid, pgid, sid;	    /* 4, 5, 6: 0 when outside our pid namespace */
	/* Fields 26-28, 38 and 45-51 (the mm of prctl_mm_map and the exit signal): only when
	 * the line is long enough (kernels since 3.5 print them all). */
	bool has_mm;
	uint64_t start_code, end_code, start_stack;	 /* 26, 27, 28 */
	int exit_signal;				 /* 38 */
	uint64_t start_data, end_data, start_brk;	 /* 45, 46, 47 */
	uint64_t arg_start, arg_end, env_start, env_end; /* 48-51 */
	bool has_exit_code;
	int exit_code; /* 52: a zombie's status as waitpid() reports it */
};

/* Parses one stat line. comm is delimited by the first '(' and the LAST ')'. Returns 0 or
 * -EINVAL (no pid, comm, state, ppid, pgid and sid; or a malformed mm field). *ret is set only on
 * success. */
int procfs_parse_stat(const char *buf, struct procfs_stat *ret);

#define PROCFS_MAX_GROUPS 256

/* The lines of /proc/PID/status that minicr uses. */
struct procfs_status {
	uint32_t uids[4], gids[4]; /* real, effective, saved, fs */
	uint32_t groups[PROCFS_MAX_GROUPS];
	size_t n_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	bool no_new_privs;
	int seccomp_mode;      /* Seccomp: 0 none, 1 strict, 2 filter */
	bool has_shadow_stack; /* x86_Thread_features lists shstk */
	bool has_umask;	       /* Umask: since Linux 4.7 */
	uint32_t umask;
	bool has_fd_size;
	uint64_t fd_size; /* FDSize: slots of the fd table */
};

/* Returns 0, or -EINVAL if a mandatory line (Uid, Gid) is missing or a line is malformed.
 * *ret is set only on success. */
int procfs_parse_status(const char *buf, struct procfs_status *ret);

#define PROCFS_NLIMITS	     16 /* RLIMIT_CPU .. RLIMIT_RTTIME, the rows of /proc/PID/limits */
#define PROCFS_RLIM_INFINITY UINT64_MAX

struct procfs_limits {
	uint64_t cur[PROCFS_NLIMITS], max[PROCFS_NLIMITS]; /* PROCFS_RLIM_INFINITY: unlimited */
	size_t n;					   /* rows read: RLIMIT_* index order */
};

/* Parses /proc/PID/limits: a header, then one row per resource in RLIMIT_* order, the values at
 * fixed columns ("%-25s %-20s %-20s"). Returns 0 or -EINVAL (no header, a malformed row, more
 * than PROCFS_NLIMITS rows). *ret is set only on success. */
int procfs_parse_limits(const char *buf, struct procfs_limits *ret);

/* Parses a CPU list ("0-3,8,10-11", optionally ending in a newline; "" is the empty set) into
 * the bitmap mask of size bytes (bit n of byte n/8 = CPU n), cleared first. Returns 0, -EINVAL
 * for malformed text, or -ERANGE for a CPU beyond the mask. */
int procfs_parse_cpulist(const char *buf, uint8_t *mask, size_t size);

/* Writes the CPUs of the bitmap mask (size bytes) as a CPU list ("0-3,8") into buf, NUL-
 * terminated and cut short with "..." if it does not fit. Returns buf. */
char *procfs_format_cpulist(const uint8_t *mask, size_t size, char *buf, size_t buf_size);
