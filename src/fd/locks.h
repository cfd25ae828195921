/* fd/locks.h: file locks and leases of the dumped tree (flock, POSIX record locks, OFD locks,
 * leases), for every fd kind alike. Dump: /proc/locks once, then the victim's fdinfo `lock:`
 * lines of only those fds whose inode /proc/locks names; each lock becomes a FileLockEntry of
 * the file it is held through, and anything that cannot be rebuilt is refused. Restore: POSIX
 * locks are set by their owning task once its fd table is final, the locks of an open file
 * description (flock, OFD, leases) by one task holding it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "files.pb-c.h"

struct fd_dump_ctx;
struct fd_params;
struct image_set;

/* ---- dump ------------------------------------------------------------------------------- */

struct fd_locks_dump;

struct fd_locks_dump *fd_locks_dump_new(void);			   /* NULL on ENOMEM */
struct fd_locks_dump *fd_locks_dump_free(struct fd_locks_dump *d); /* NULL-safe, NULL */
/* Starts reading /proc/locks on a thread of its own, the tree already frozen: the first read
 * of /proc/locks waits for an RCU grace period (its lock is a per-CPU rwsem taken for writing),
 * some 10 ms in which minicr can go on. fd_locks_dump_load() collects the result. */
void fd_locks_dump_prefetch(struct fd_locks_dump *d);
/* Reads /proc/locks (or takes what the prefetch read), once per dump, while the tree is
 * frozen. Returns 0 or -errno (logged). */
int fd_locks_dump_load(struct fd_locks_dump *d);
/* Notes that the fds of task pid are being dumped (the cross-check covers its locks). Returns
 * 0 or -ENOMEM (logged). */
int fd_locks_dump_task(struct fd_locks_dump *d, pid_t pid);
/* True when /proc/locks names inode ino (of any device): only then may an fd on it hold a
 * lock. Always true when /proc/locks kept changing while it was read (other processes locking
 * and unlocking): its lines could not be trusted to be all there, and while a prefetch still
 * reads it. False before fd_locks_dump_load() or fd_locks_dump_prefetch(). */
bool fd_locks_dump_maybe(const struct fd_locks_dump *d, uint64_t ino);
/* Reads the lock lines of fd p->fd of task p->pid and adds the locks it holds to fe (the
 * record of its open file description): those of the description when is_new_file (its first
 * fd of the dump), the task's POSIX locks at the first fd of fe in that task. Refuses (one
 * line, -ENOTSUP) what restore cannot rebuild. Returns 0 or -errno (logged). */
int fd_locks_dump_fd(struct fd_locks_dump *d, struct fd_dump_ctx *ctx, const struct fd_params *p,
		     FileEntry *fe, bool is_new_file);
/* Once every task is dumped: every lock /proc/locks shows for a task of the tree must have been
 * found on one of its fds (a lock held only through a memory mapping would be lost). Returns 0
 * or -ENOTSUP (logged). */
int fd_locks_dump_finish(struct fd_locks_dump *d);

/* ---- restore ---------------------------------------------------------------------------- */

/* Checks the lock records of every file against the set (kinds, types, ranges, and that the
 * owner of a POSIX lock holds the file). Returns 0 or -EBADMSG (logged). */
int fd_locks_validate(const struct image_set *set);

/* A POSIX lock of a task, with the number of the fd it is set through. */
struct fd_posix_lock {
	int fd;
	short type; /* F_RDLCK, F_WRLCK */
	uint64_t start, len;
};

/* The POSIX locks task task_idx owns, each with its first fd of the file: what the task must
 * set again when something closes an fd of those files after the install (resume's helper
 * fds). *ret is malloc'ed (NULL when there are none). Returns the count, or -ENOMEM (logged). */
ssize_t fd_locks_posix_of_task(const struct image_set *set, size_t task_idx,
			       struct fd_posix_lock **ret);

/* Which task sets each lock of an open file description, decided once for the whole tree. */
struct fd_locks_plan;

/* Builds the plan for set (empty when no file has locks). NULL on ENOMEM. */
struct fd_locks_plan *fd_locks_plan_new(const struct image_set *set);
struct fd_locks_plan *fd_locks_plan_free(struct fd_locks_plan *plan); /* NULL-safe, NULL */
/* In task task_idx, whose fds are all at their numbers and which holds no other fd: sets the
 * locks of file file_idx that this task owns (its POSIX locks) or was chosen for (flock, OFD,
 * lease), through fd. Non-blocking: a lock someone else took meanwhile fails the restore.
 * Returns 0 or -errno (logged). */
int fd_locks_restore(const struct fd_locks_plan *plan, const struct image_set *set, size_t task_idx,
		     size_t file_idx, int fd);
