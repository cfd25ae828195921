/* seize.h: freeze a process tree with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT on every thread),
 * rescanning until no new task or thread appears, and let it go again (detach or kill). It
 * reads the tree through pstree.h; it never touches task memory (that is parasite-ctl.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "task/pstree.h"

struct seize_task {
	pid_t pid;
	pid_t ppid;
	pid_t pgid;
	pid_t sid;
	char comm[PSTREE_COMM_MAX];
	pid_t *tids; /* every thread, ascending; tids include pid itself */
	size_t n_tids;
	bool is_zombie;	  /* exited but not reaped: cannot be traced, so it is not seized */
	bool was_stopped; /* group-stopped before the seize; stays stopped after release */
	pid_t files_owner; /* shares this task's fd table (files-share.h), 0: its own */
};

/* tasks[0] is the root; a parent always precedes its children. */
struct seize_tree {
	struct seize_task *tasks;
	size_t n_tasks;
	bool is_seccomp_suspended; /* PTRACE_O_SUSPEND_SECCOMP was granted (needs CAP_SYS_ADMIN) */
	bool is_seized;		   /* false once released or killed */
};

/* Seizes every thread of every process of the tree rooted at root and waits until each one is
 * in a ptrace stop. A tree that holds minicr itself (pid 1 of its pid namespace included) is
 * refused before anything is seized. Returns 0 or -errno (logged once, e.g. "cannot seize task
 * 1234: no such process" for -ESRCH; a refusal names its reason where it can be seen: minicr
 * itself, another tracer, a kernel thread, capabilities minicr lacks). On failure every task
 * seized so far is released untouched. On success *ret_tree owns the tasks: end with
 * seize_release() or seize_kill(), then seize_tree_free(). The seize sets
 * PTRACE_O_TRACESYSGOOD, which inject.h relies on. A thread that has not stopped timeout_s
 * seconds after the seize began (0: no limit) fails it with -ETIMEDOUT, in one line that says
 * where it waits. */
#define SEIZE_TIMEOUT_DEFAULT 10 /* seconds, as CRIU's --timeout */
int seize_tree(pid_t root, unsigned int timeout_s, struct seize_tree **ret_tree);

/* Detaches every thread: the tree continues exactly as before (a task that was group-stopped
 * stays stopped). The caller must have cured every parasite first. Idempotent; logs warnings. */
void seize_release(struct seize_tree *tree);

/* SIGKILLs every process of the tree and waits until the tracer's part of their exit is done,
 * so the real parents can reap them. Idempotent. */
void seize_kill(struct seize_tree *tree);

/* Releases the tree if it is still seized, then frees it. NULL-safe, returns NULL. */
struct seize_tree *seize_tree_free(struct seize_tree *tree);
void seize_tree_freep(struct seize_tree **tree);

/* Fault injection for tests: true the first time it is asked about a step that the environment
 * variable MINICR_FAULT names (a comma-separated list is allowed), and never again for that
 * value once one step fired: a run fails once, with one error line. Steps: seize, infect (in
 * parasite-ctl.c), drain, state (parasite-cmd.c), cure (parasite-ctl.c), mounts, images,
 * exit (dump.c). */
bool seize_fault(const char *step);
