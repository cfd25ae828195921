/* fd/locks-parse.h: the lines of /proc/locks and the `lock:` lines of /proc/PID/fdinfo/N, which
 * share one format: "<id>: [-> ]<class> <mode> <type> <pid> <maj>:<min>:<ino> <start> <end>".
 * Pure: no syscalls, no logging; the caller knows where the text came from and logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lock_class {
	LOCK_CLASS_UNKNOWN,
	LOCK_CLASS_POSIX, /* fcntl F_SETLK: owned by a process's fd table */
	LOCK_CLASS_FLOCK, /* flock(): owned by an open file description */
	LOCK_CLASS_OFD,	  /* fcntl F_OFD_SETLK: owned by an open file description */
	LOCK_CLASS_LEASE, /* fcntl F_SETLEASE */
	LOCK_CLASS_DELEG, /* an NFS delegation (kernel-internal) */
	LOCK_CLASS_ACCESS /* a transient check, never held */
};

enum lock_mode {
	LOCK_MODE_UNKNOWN,
	LOCK_MODE_ADVISORY,
	LOCK_MODE_MANDATORY, /* gone since Linux 5.15 */
	LOCK_MODE_ACTIVE,    /* a lease nobody is breaking */
	LOCK_MODE_BREAKING,  /* a lease being broken: its type is the target of the break */
	LOCK_MODE_BREAKER,   /* the request that breaks a lease */
	LOCK_MODE_NOINODE,   /* a POSIX lock whose file has no inode */
};

struct lock_line {
	enum lock_class cls;
	enum lock_mode mode;
	short type;	/* F_RDLCK, F_WRLCK or F_UNLCK */
	bool is_waiter; /* "->": a request blocked on the lock above it, not a held lock */
	pid_t pid;	/* in the reader's pid namespace; -1 for OFD locks, 0 when not visible */
	bool has_inode; /* false for "<none>:0" */
	unsigned int maj, min; /* the inode's superblock device */
	uint64_t ino;
	uint64_t start; /* first byte */
	uint64_t end;	/* last byte, inclusive; meaningless when to_eof */
	bool to_eof;
};

/* Parses one line (len bytes, no newline needed; a "lock:" prefix and blanks are skipped).
 * Returns 0, or -EINVAL for a malformed line; *ret is set only on success. */
int locks_parse_line(const char *line, size_t len, struct lock_line *ret);

/* Parses the line at *cursor (before end) of a /proc/locks text and moves *cursor past it.
 * Returns 1 with *ret set, 0 at the end of the text, or -EINVAL for a malformed line (the
 * cursor still moves on, so a caller may skip it). */
int locks_parse_next(const char **cursor, const char *end, struct lock_line *ret);

/* The same over the "lock:" lines of an fdinfo text; other lines are skipped. */
int locks_parse_fdinfo_next(const char **cursor, const char *end, struct lock_line *ret);

/* Names for messages: "POSIX", "FLOCK", "OFD", "LEASE", ...; "READ", "WRITE", "UNLCK". */
const char *lock_class_name(enum lock_class cls);
const char *lock_type_name(short type);
