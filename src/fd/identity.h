/* fd-identity.h: which fds share an open file description, within a task and across the tasks
 * of a tree. Only fds with one identity key (inode, offset, flags: what sharers agree on) can
 * share, so kcmp runs only inside a key's group; the groups of one task are independent and a
 * large task's groups are sorted out on several threads. This module knows nothing of fd
 * kinds or records: the caller makes a file for each new description and tells it the index. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FD_IDENTITY_NONE SIZE_MAX

struct fd_identity;
struct fd_local;

/* One task's fds: fds[i].fd in the task (frozen), fds[i].local_fd this process's copy of it
 * (kcmp between local copies skips the ptrace checks), keys[i] its identity key. */
struct fd_identity_task {
	pid_t pid;
	size_t n_fds;
	const struct fd_local *fds;
	const uint64_t (*keys)[2];
};

/* NULL on ENOMEM. */
struct fd_identity *fd_identity_new(void);
struct fd_identity *fd_identity_free(struct fd_identity *id); /* NULL-safe, returns NULL */
static inline void fd_identity_freep(struct fd_identity **id)
{
	fd_identity_free(*id);
}

/* Sorts the fds of task into descriptions. For each i: ret_file[i] is the index of a file of
 * an earlier task it shares (registered by fd_identity_commit()), else FD_IDENTITY_NONE and
 * ret_first[i] is the first fd of this task with its description (i itself for the first).
 * Returns 0, or -errno after one log line (kcmp failed: a task died). */
int fd_identity_sort(struct fd_identity *id, const struct fd_identity_task *task,
		     size_t *ret_file, size_t *ret_first);

/* Registers the new descriptions of the task just sorted, so later tasks find them: file_of[i]
 * is the caller's file index for every i with ret_file[i] == FD_IDENTITY_NONE and
 * ret_first[i] == i. Returns 0, or -errno after one log line (no memory, or kcmp failed). */
int fd_identity_commit(struct fd_identity *id, const struct fd_identity_task *task,
		       const size_t *file_of);
