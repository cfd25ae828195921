/* restore-tree.h: create the restored process tree with the dumped pids (clone3 set_tid), each
 * task by its dumped parent, with its session and process group, and synchronise it with
 * minicr, which stays the ancestor of the tree and its subreaper until the tree runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct image_set;
struct restore_tree;

/* How a task stands to a fd table shared with other tasks (CLONE_FILES). */
struct restore_tree_files {
	bool is_member; /* shares its owner's table: installs nothing, closes nothing shared */
	/* Called by enter_task once its own fds (helpers) are open: a member says it is done
	 * with the shared table; the owner waits until every member is, before it closes
	 * what they share (the log, the images dir). */
	void (*sync)(void *arg);
	void *arg;
};

struct restore_tree_ops {
	/* In the root task, after its session and group are set and before any child exists:
	 * mounts and the file table. Returns 0 or -errno (logged). */
	int (*prepare_root)(void *opaque);
	/* In every task once its children exist: its fds, cwd, root. A task that shares its
	 * owner's fd table (is_member) sets only cwd, root and umask; the owner installs the fds
	 * once every member did. Returns 0 or -errno (logged). */
	int (*finish_task)(void *opaque, size_t task_idx, bool is_member);
	/* In every task, last, with only its restored fds, the log (service_base, log_get_fd())
	 * and service fd service_base + 2 open: hands the task over to transparent resume, which
	 * closes both. Returns only on failure, logged; the task then exits with
	 * RESUME_EXIT_LOGGED. files is NULL unless the task's fd table is shared. NULL: the task
	 * stops itself (SIGSTOP) instead. */
	int (*enter_task)(void *opaque, size_t task_idx, const struct restore_tree_files *files);
	void *opaque;
};

/* Prepares the shared state for restoring set's tree. Every task gets minicr's log and a
 * status pipe at fd numbers service_base and service_base + 1 (above every dumped fd), and
 * keeps whatever the caller put at service_base + 2 (closed by the task if enter_task is NULL).
 * shell_job (--shell-job): the tasks of the root's session, when its leader is not in the
 * tree, stay in minicr's session (the job is reconnected to minicr's terminal), and its groups
 * led from outside the tree become minicr's group. Returns 0 and sets *ret, or -errno (logged).
 * Nothing is created yet. */
int restore_tree_new(const struct image_set *set, int service_base, bool leave_stopped,
		     bool shell_job, struct restore_tree **ret);

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
