/* restore-tree.h: create the restored process tree with the dumped pids (clone3 set_tid), each
 * task by its dumped parent, with its session and process group, and synchronise it with
 * minicr, which stays the ancestor of the tree and its subreaper until the tree runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct restore_set;
struct restore_tree;

struct restore_tree_ops {
	/* In the root task, after its session and group are set and before any child exists:
	 * mounts and the file table. Returns 0 or -errno (logged). */
	int (*prepare_root)(void *opaque);
	/* In every task once its children exist: its fds, cwd, root. Returns 0 or -errno
	 * (logged). */
	int (*finish_task)(void *opaque, size_t task_idx);
	/* In every task, last, with only its restored fds and service fd service_base + 2 open:
	 * hands the task over to transparent resume. Returns only on failure. NULL: the task
	 * stops itself (SIGSTOP) instead. */
	int (*enter_task)(void *opaque, size_t task_idx);
	void *opaque;
};

/* Prepares the shared state for restoring set's tree. Every task gets minicr's log and a
 * status pipe at fd numbers service_base and service_base + 1 (above every dumped fd), and
 * keeps whatever the caller put at service_base + 2 (closed by the task if enter_task is NULL).
 * Returns 0 and sets *ret, or -errno (logged). Nothing is created yet. */
int restore_tree_new(const struct restore_set *set, int service_base, bool leave_stopped,
		     struct restore_tree **ret);

/* Creates the root task and waits until every task reported ready (its fds in place, about to
 * stop or resume) or one failed. Returns 0, or -errno after one log line (a task logs its own
 * failure). On failure the caller calls restore_tree_abort(). */
int restore_tree_start(struct restore_tree *tree, const struct restore_tree_ops *ops);

/* Waits until every task is in a stopped state. Returns 0 or -errno (logged). */
int restore_tree_wait_stopped(struct restore_tree *tree);

/* Waits for the root task to exit and returns its exit status (128+signal when killed). */
int restore_tree_wait_root(struct restore_tree *tree);

/* Kills every task created so far and reaps them all. */
void restore_tree_abort(struct restore_tree *tree);

struct restore_tree *restore_tree_free(struct restore_tree *tree); /* NULL-safe, returns NULL */
void restore_tree_freep(struct restore_tree **tree);
