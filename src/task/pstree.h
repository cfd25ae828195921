/* pstree.h: the process tree as /proc shows it, read without ptrace: stat fields (procfs.h),
 * threads and children. The parser is pure (no syscalls, no logging); the readers do not log
 * either, so the caller, which knows why it asked, logs once. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "base/procfs-parse.h"

#define PSTREE_COMM_MAX PROCFS_COMM_MAX

/* Parses a space/newline separated list of decimal pids (a /proc/.../children file) and appends
 * each pid not already in *pids (kept unsorted, in order of appearance). *pids is realloc'd and
 * owned by the caller. Returns the number of pids added, or -EINVAL/-ENOMEM. Pure. */
int pstree_parse_pid_list(const char *buf, pid_t **pids, size_t *n_pids);

/* Lists /proc/PID/task, ascending. *ret_tids is malloc'd, owned by the caller, set only on
 * success. Returns 0, -ESRCH if the process is gone, or another -errno. */
int pstree_read_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n_tids);

/* Appends the children of every thread of PID (from /proc/PID/task/TID/children) that are not
 * yet in *pids. Returns the number added, -ESRCH if the process is gone, or another -errno. */
int pstree_read_children(pid_t pid, pid_t **pids, size_t *n_pids);

struct pstree_proc {
	struct procfs_stat stat;
	pid_t *tids;
	size_t n_tids;
};

/* A snapshot of the tree: procs[0] is the root, parents always come before their children. */
struct pstree {
	struct pstree_proc *procs;
	size_t n_procs;
};

/* Snapshots the tree rooted at root without stopping it (it may change meanwhile; seize.c
 * rescans under ptrace). Returns 0 or -errno (-ESRCH if root does not exist); does not log.
 * Free with pstree_free(). */
int pstree_collect(pid_t root, struct pstree **ret_tree);
struct pstree *pstree_free(struct pstree *tree); /* NULL-safe, returns NULL */
