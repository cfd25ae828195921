/* seize.c: ptrace seize, interrupt, detach and kill of a process tree. */
#define LOG_PREFIX "seize: "
#include "task/seize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "base/compat.h"
#include "base/hmap.h"
#include "base/deadline.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"

/* How many full rescans may still find new tasks or threads before we give up: each pass
 * stops everything it finds, so only a tree that forks faster than we seize needs more. */
#define SEIZE_MAX_ATTEMPTS 10
/* How many signal-delivery stops we hand back to one thread before its interrupt trap. */
#define SEIZE_MAX_SIGNALS 64

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

bool seize_fault(const char *step)
{
	/* One injected failure per MINICR_FAULT value: the first makes the dump fail, and the
	 * failure path (cure, release) must not meet another, as a real failure would not, or it
	 * would print a second error line. A test that sets another value starts afresh. */
	static char armed_for[256];
	static bool fired;
	const char *env = getenv("MINICR_FAULT");
	size_t len = strlen(step);

	if (!env)
		return false;
	if (strncmp(env, armed_for, sizeof(armed_for)) != 0) {
		snprintf(armed_for, sizeof(armed_for), "%s", env);
		fired = false;
	}
	while (!fired && *env) {
		const char *end = strchrnul(env, ',');

		if ((size_t)(end - env) == len && strncmp(env, step, len) == 0) {
			fired = true;
			return true;
		}
		env = *end ? end + 1 : end;
	}
	return false;
}

enum thread_seize_result {
	THREAD_SEIZED = 0,
	THREAD_GONE = 1, /* vanished before PTRACE_SEIZE could take it */
};

struct seize_ctx {
	struct seize_tree *tree;
	struct deadline deadline; /* for each thread to stop once interrupted */
	unsigned int seize_options;
	struct hmap in_tree; /* (pid, 0) -> 1 while the pid is one of tree's tasks, else 0 */
};

static bool is_group_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* A thread that has not stopped by the deadline: says where it waits, which names the usual
 * cause (a vfork() parent waits, unkillable but for SIGKILL, until its child execs or exits).
 * Returns -ETIMEDOUT. */
static int refuse_unstoppable(struct seize_ctx *ctx, pid_t tid)
{
	struct procfs_stat st = {0};
	cleanup_free char *wchan = NULL;
	char path[64];

	(void)procfs_read_stat(tid, &st);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)tid);
	(void)read_file_at(AT_FDCWD, path, &wchan); /* NULL if it cannot be read */
	if (wchan && (strstr(wchan, "vfork") || strcmp(wchan, "kernel_clone") == 0))
		pr_err("cannot seize task %d: it did not stop within %u s: it is a vfork() parent, "
		       "which waits in the kernel until its child calls exec or exits",
		       (int)tid, ctx->deadline.seconds);
	else
		pr_err(
		    "cannot seize task %d: it did not stop within %u s (state %c, waiting in the "
		    "kernel at %s)",
		    (int)tid, ctx->deadline.seconds, st.state ? st.state : '?',
		    wchan && wchan[0] && strcmp(wchan, "0") != 0 ? wchan : "an unknown place");
	return -ETIMEDOUT;
}

/* Waits for the trap PTRACE_INTERRUPT asked for. Returns 0, -ESRCH if the thread exited, or
 * -ETIMEDOUT (logged) if the deadline passed first. */
static int wait_interrupt_stop(struct seize_ctx *ctx, pid_t tid, bool *ret_was_stopped)
{
	for (int n_signals = 0;;) {
		int status, event, sig;

		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR && deadline_passed(&ctx->deadline))
				return refuse_unstoppable(ctx, tid);
			if (errno == EINTR)
				continue;
			return pr_errno("cannot wait for task %d", tid);
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		event = status >> 16;
		sig = WSTOPSIG(status);
		if (event == PTRACE_EVENT_STOP) {
			/* SIGTRAP: our interrupt; a stop signal: already group-stopped */
			*ret_was_stopped = is_group_stop_signal(sig);
			return 0;
		}
		/* A signal-delivery stop came first: hand the signal back, the trap follows. */
		if (++n_signals > SEIZE_MAX_SIGNALS) {
			pr_err("task %d keeps receiving signals while being seized", tid);
			return -EAGAIN;
		}
		if (ptrace(PTRACE_CONT, tid, 0, event ? 0 : sig) < 0)
			return pr_errno("cannot resume task %d to its interrupt stop", tid);
	}
}

/* True if /proc/TID/status shows a seccomp mode other than 0 (or cannot be read). */
static bool task_has_seccomp(pid_t tid)
{
	struct procfs_status status;

	return procfs_read_status(tid, &status) < 0 || status.seccomp_mode != 0;
}

/* True if the thread is gone or a zombie (from /proc/TID/stat). */
static bool is_exiting(pid_t tid)
{
	struct procfs_stat st;
	int saved_errno = errno, ret;

	ret = procfs_read_stat(tid, &st);
	errno = saved_errno;
	return ret == -ESRCH || (ret == 0 && (st.state == 'Z' || st.state == 'X'));
}

/* The value of "Field:" in a /proc status text, or NULL. */
static const char *status_value(const char *status, const char *field)
{
	const char *line = status;
	size_t len = strlen(field);

	while (line) {
		if (!strncmp(line, field, len) && line[len] == ':')
			return line + len + 1;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return NULL;
}

static unsigned long long status_hex(const char *status, const char *field)
{
	const char *v = status_value(status, field);

	return v ? strtoull(v, NULL, 16) : 0;
}

/* ptrace refused to seize tid with EPERM: says why where the reason can be seen from outside,
 * in the one error line. Returns -EPERM. */
static int refuse_seize(pid_t tid)
{
	cleanup_free char *status = NULL, *own = NULL;
	char path[64];
	const char *v;
	long tracer;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (read_file_at(AT_FDCWD, path, &status) < 0 ||
	    read_file_at(AT_FDCWD, "/proc/self/status", &own) < 0) {
		errno = EPERM;
		return pr_errno("cannot seize task %d", tid);
	}
	if ((v = status_value(status, "Tgid")) && strtol(v, NULL, 10) == getpid()) {
		pr_err("cannot seize task %d: it is minicr itself", tid);
		return -EPERM;
	}
	tracer = (v = status_value(status, "TracerPid")) ? strtol(v, NULL, 10) : 0;
	if (tracer > 0) {
		struct procfs_stat st;

		if (procfs_read_stat((pid_t)tracer, &st) < 0)
			st.comm[0] = 0;
		pr_err("cannot seize task %d: it is already traced by task %ld (%s)", tid, tracer,
		       st.comm[0] ? st.comm : "?");
		return -EPERM;
	}
	if ((v = status_value(status, "Kthread")) && strtol(v, NULL, 10) == 1) {
		pr_err("cannot seize task %d: it is a kernel thread", tid);
		return -EPERM;
	}
	if (status_hex(status, "CapPrm") & ~status_hex(own, "CapEff")) {
		pr_err("cannot seize task %d: it holds capabilities minicr lacks (CapPrm %#llx, "
		       "minicr's CapEff %#llx)",
		       tid, status_hex(status, "CapPrm"), status_hex(own, "CapEff"));
		return -EPERM;
	}
	errno = EPERM;
	return pr_errno("cannot seize task %d (ptrace_scope, or a task that is not dumpable)", tid);
}

/* A tree that holds minicr cannot be frozen by it (pid 1 of minicr's pid namespace is the
 * ancestor of everything): refused before anything is seized. Returns 0 or -EPERM (logged). */
static int check_root(pid_t root)
{
	pid_t pid = getpid();

	for (int depth = 0; pid > 0 && depth < 4096; depth++) {
		struct procfs_stat st;

		if (pid == root) {
			if (root == getpid())
				pr_err("cannot seize task %d: it is minicr itself", root);
			else if (root == 1)
				pr_err(
				    "cannot seize task 1: it is the init process of minicr's pid "
				    "namespace, and its tree holds every process, minicr too");
			else
				pr_err(
				    "cannot seize task %d: minicr itself (pid %d) runs in its tree",
				    root, (int)getpid());
			return -EPERM;
		}
		if (procfs_read_stat(pid, &st) < 0)
			break;
		pid = st.ppid;
	}
	return 0;
}

/* Seizes and stops one thread. Returns THREAD_SEIZED, THREAD_GONE, or -errno (logged). */
static int seize_thread(struct seize_ctx *ctx, pid_t tid, bool *ret_was_stopped)
{
	int ret;

	if (ptrace(PTRACE_SEIZE, tid, 0, (unsigned long)ctx->seize_options) < 0) {
		unsigned int without = ctx->seize_options & ~(unsigned int)PTRACE_O_SUSPEND_SECCOMP;

		/* ptrace refuses an exiting task with EPERM, a reaped one with ESRCH */
		if ((errno == ESRCH || errno == EPERM) && is_exiting(tid))
			return THREAD_GONE;
		/* PTRACE_O_SUSPEND_SECCOMP needs CAP_SYS_ADMIN and a tracer without seccomp:
		 * if the seize works without it, the option was what was refused */
		if (errno == EPERM && without == ctx->seize_options)
			return refuse_seize(tid);
		if (errno != EPERM)
			return pr_errno("cannot seize task %d", tid);
		if (ptrace(PTRACE_SEIZE, tid, 0, (unsigned long)without) < 0)
			return errno == EPERM ? refuse_seize(tid)
					      : pr_errno("cannot seize task %d", tid);
		if (task_has_seccomp(tid))
			pr_warn("cannot suspend seccomp of task %d, injected code stays filtered",
				tid);
		ctx->seize_options = without;
		ctx->tree->is_seccomp_suspended = false;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		ret = pr_errno("cannot interrupt task %d", tid);
		(void)ptrace(PTRACE_DETACH, tid, 0, 0);
		return ret;
	}
	ret = wait_interrupt_stop(ctx, tid, ret_was_stopped);
	if (ret == -ESRCH) {
		/* it died before it could stop: it is not part of the frozen tree (a dead root
		 * is caught by the caller's next stat) */
		pr_debug("task %d exited before it stopped", tid);
		return THREAD_GONE;
	}
	if (ret < 0)
		(void)ptrace(PTRACE_DETACH, tid, 0, 0);
	return ret;
}

static bool has_pid(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

static int add_tid(struct seize_task *task, pid_t tid)
{
	pid_t *bigger = realloc(task->tids, (task->n_tids + 1) * sizeof(pid_t));

	if (!bigger)
		return -ENOMEM;
	task->tids = bigger;
	task->tids[task->n_tids++] = tid;
	return 0;
}

static int compare_pids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Seizes the threads of task not seized yet. Returns how many were added, or -errno. */
static int seize_new_threads(struct seize_ctx *ctx, struct seize_task *task)
{
	cleanup_free pid_t *tids = NULL;
	size_t n_tids = 0;
	int n_added = 0, ret;

	ret = pstree_read_threads(task->pid, &tids, &n_tids);
	if (ret == -ESRCH && task->n_tids == 0)
		return 1; /* a new child died before we seized it: the next pass drops it */
	if (ret == -ESRCH) {
		pr_err("task %d exited while being seized", task->pid);
		return ret;
	}
	if (ret < 0)
		return pr_neg(ret, "cannot list threads of task %d", task->pid);
	/* seize the leader first so a group-stop is seen on it */
	for (size_t k = 0; k <= n_tids; k++) {
		pid_t tid = k == 0 ? task->pid : tids[k - 1];
		bool was_stopped = false;

		if (k > 0 && tid == task->pid)
			continue;
		if (has_pid(task->tids, task->n_tids, tid))
			continue;
		if (k == 0 && !has_pid(tids, n_tids, tid))
			continue; /* leader gone from task/: the next stat tells */
		ret = seize_thread(ctx, tid, &was_stopped);
		if (ret < 0)
			return ret;
		if (ret == THREAD_GONE) {
			if (tid == task->pid && task->n_tids) {
				pr_err("task %d exited while being seized", tid);
				return -ESRCH;
			}
			if (tid == task->pid)
				return 1; /* a new child died: the next pass marks or drops it */
			continue;	  /* a thread that ended before we got to it */
		}
		if (tid == task->pid)
			task->was_stopped = was_stopped;
		ret = add_tid(task, tid);
		if (ret < 0) {
			(void)ptrace(PTRACE_DETACH, tid, 0, 0);
			return ret;
		}
		n_added++;
	}
	qsort(task->tids, task->n_tids, sizeof(pid_t), compare_pids);
	return n_added;
}

static int add_task(struct seize_ctx *ctx, pid_t pid)
{
	struct seize_tree *tree = ctx->tree;
	struct seize_task *bigger = realloc(tree->tasks, (tree->n_tasks + 1) * sizeof(*bigger));
	struct hmap_slot *slot = hmap_find(&ctx->in_tree, (uint64_t)pid, 0);

	if (!bigger)
		return -ENOMEM;
	tree->tasks = bigger;
	if (slot)
		slot->value = 1;
	else if (hmap_put(&ctx->in_tree, (uint64_t)pid, 0, 1) < 0)
		return -ENOMEM;
	memset(&tree->tasks[tree->n_tasks], 0, sizeof(*bigger));
	tree->tasks[tree->n_tasks++].pid = pid;
	return 0;
}

static bool is_in_tree(const struct seize_ctx *ctx, pid_t pid)
{
	const struct hmap_slot *slot = hmap_find(&ctx->in_tree, (uint64_t)pid, 0);

	return slot && slot->value;
}

/* Adds children of task i not in the tree yet. Returns how many were added, or -errno. */
static int find_new_children(struct seize_ctx *ctx, size_t i)
{
	struct seize_tree *tree = ctx->tree;
	cleanup_free pid_t *children = NULL;
	size_t n_children = 0;
	int n_added = 0, ret;

	ret = pstree_read_children(tree->tasks[i].pid, &children, &n_children);
	if (ret == -ESRCH) {
		pr_err("task %d exited while being seized", tree->tasks[i].pid);
		return ret;
	}
	if (ret < 0)
		return pr_neg(ret, "cannot list children of task %d", tree->tasks[i].pid);
	for (size_t k = 0; k < n_children; k++) {
		if (is_in_tree(ctx, children[k]))
			continue;
		ret = add_task(ctx, children[k]);
		if (ret < 0)
			return ret;
		n_added++;
	}
	return n_added;
}

/* Reads stat of task i; a zombie is marked and left alone. Returns 0, 1 if the task vanished
 * before being seized (it is dropped), or -errno. */
static int refresh_stat(struct seize_ctx *ctx, size_t i)
{
	struct seize_tree *tree = ctx->tree;
	struct seize_task *task = &tree->tasks[i];
	struct procfs_stat st;
	int ret;

	ret = procfs_read_stat(task->pid, &st);
	if (ret == -ESRCH && i == 0 && task->n_tids == 0) {
		pr_err("cannot seize task %d: no such process", task->pid);
		return ret;
	}
	if (ret == -ESRCH && task->n_tids == 0) {
		/* a child reaped before we seized it is no longer part of the tree */
		hmap_find(&ctx->in_tree, (uint64_t)task->pid, 0)->value = 0;
		memmove(task, task + 1, (tree->n_tasks - i - 1) * sizeof(*task));
		tree->n_tasks--;
		return 1;
	}
	if (ret == -ESRCH) {
		pr_err("task %d exited while being seized", task->pid);
		return ret;
	}
	if (ret < 0)
		return pr_neg(ret, "cannot read /proc/%d/stat", task->pid);
	task->ppid = st.ppid;
	task->pgid = st.pgid;
	task->sid = st.sid;
	memcpy(task->comm, st.comm, sizeof(task->comm));
	task->is_zombie = st.state == 'Z' || st.state == 'X';
	return 0;
}

/* One pass over the (growing) tree. Returns the number of new threads and tasks, or -errno. */
static int seize_pass(struct seize_ctx *ctx)
{
	struct seize_tree *tree = ctx->tree;
	int n_new = 0, ret;

	for (size_t i = 0; i < tree->n_tasks; i++) {
		ret = refresh_stat(ctx, i);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			i--;
			continue;
		}
		if (tree->tasks[i].is_zombie) {
			if (tree->tasks[i].n_tids) {
				pr_err("task %d exited while being seized", tree->tasks[i].pid);
				return -ESRCH;
			}
			continue;
		}
		ret = seize_new_threads(ctx, &tree->tasks[i]);
		if (ret < 0)
			return ret;
		n_new += ret;
		/* only once every thread of the task is stopped is its children list final */
		ret = find_new_children(ctx, i);
		if (ret < 0)
			return ret;
		n_new += ret;
	}
	return n_new;
}

int seize_tree(pid_t root, unsigned int timeout_s, struct seize_tree **ret_tree)
{
	cleanup(seize_tree_freep) struct seize_tree *tree = NULL;
	struct seize_ctx ctx;
	int ret, attempt;

	if (root <= 0) {
		pr_err("cannot seize task %d: invalid pid", root);
		return -EINVAL;
	}
	ret = check_root(root);
	if (ret < 0)
		return ret;
	tree = calloc(1, sizeof(*tree));
	if (!tree)
		return -ENOMEM;
	tree->is_seized = true;
	tree->is_seccomp_suspended = true;
	ctx = (struct seize_ctx){.tree = tree};
	/* TRACESYSGOOD also keeps a tracee alive if minicr dies while it sits in a syscall stop
	 * (inject.c): the stop's code is then SIGTRAP | 0x80, which the tracee, resuming on its
	 * own, tries to send itself and cannot, where a plain SIGTRAP would kill it. */
	ctx.seize_options = PTRACE_O_SUSPEND_SECCOMP | PTRACE_O_TRACESYSGOOD;
	ret = deadline_arm(&ctx.deadline, timeout_s);
	if (ret < 0)
		return ret;
	ret = add_task(&ctx, root);
	for (attempt = 0; ret >= 0 && attempt < SEIZE_MAX_ATTEMPTS; attempt++) {
		ret = seize_pass(&ctx);
		if (ret <= 0)
			break;
	}
	deadline_disarm(&ctx.deadline);
	hmap_clear(&ctx.in_tree);
	if (ret < 0)
		return ret; /* the cleanup releases what was seized */
	if (tree->tasks[0].is_zombie) {
		pr_err("cannot seize task %d: it is a zombie", root);
		return -ESRCH;
	}
	if (attempt == SEIZE_MAX_ATTEMPTS) {
		pr_err("tree of task %d keeps changing after %d scans", root, attempt);
		return -EAGAIN;
	}
	if (seize_fault("seize")) {
		const struct seize_task *last = &tree->tasks[tree->n_tasks - 1];

		errno = EIO;
		return pr_errno("cannot seize task %d (MINICR_FAULT)",
				last->n_tids ? last->tids[last->n_tids - 1] : last->pid);
	}
	pr_debug("seized %zu tasks of tree %d", tree->n_tasks, root);
	*ret_tree = TAKE_PTR(tree);
	return 0;
}

void seize_release(struct seize_tree *tree)
{
	if (!tree || !tree->is_seized)
		return;
	for (size_t i = 0; i < tree->n_tasks; i++) {
		const struct seize_task *task = &tree->tasks[i];

		for (size_t k = 0; k < task->n_tids; k++) {
			if (ptrace(PTRACE_DETACH, task->tids[k], 0, 0) < 0 && errno != ESRCH)
				pr_warn("cannot detach task %d: %m, ignoring", task->tids[k]);
		}
	}
	tree->is_seized = false;
}

/* Collects the tracer's exit notification of one thread; ECHILD means it is not ours any more. */
static void wait_exit(pid_t tid)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return;
	}
}

void seize_kill(struct seize_tree *tree)
{
	if (!tree || !tree->is_seized)
		return;
	for (size_t i = 0; i < tree->n_tasks; i++) {
		const struct seize_task *task = &tree->tasks[i];

		if (task->n_tids && kill(task->pid, SIGKILL) < 0 && errno != ESRCH)
			pr_warn("cannot kill task %d: %m, ignoring", task->pid);
	}
	/* threads first: a traced leader reports its exit only after the rest of its group */
	for (size_t i = 0; i < tree->n_tasks; i++) {
		const struct seize_task *task = &tree->tasks[i];

		for (size_t k = 0; k < task->n_tids; k++)
			if (task->tids[k] != task->pid)
				wait_exit(task->tids[k]);
		if (task->n_tids)
			wait_exit(task->pid);
	}
	tree->is_seized = false;
}

struct seize_tree *seize_tree_free(struct seize_tree *tree)
{
	if (!tree)
		return NULL;
	seize_release(tree);
	for (size_t i = 0; i < tree->n_tasks; i++)
		free(tree->tasks[i].tids);
	free(tree->tasks);
	free(tree);
	return NULL;
}

void seize_tree_freep(struct seize_tree **tree)
{
	seize_tree_free(*tree);
}
