/* restore-tree.c: the restored processes. minicr (M) creates the root task; each task sets its
 * session and group, the root prepares mounts and files, each task creates its children with
 * their dumped pids, installs its fds and reports on a status pipe, then stops (or resumes).
 * Helpers stand in for dead session and group leaders (tree-plan.h) and exit once the tasks
 * that needed them are forked or have joined. A shared area records every created pid, so M
 * can kill exactly the tree on failure, and carries the futexes the tasks meet on. */
#define LOG_PREFIX "restore: "
#include "task/restore-tree.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/fault.h"
#include "base/procfs.h"
#include "image-set/image-set.h"
#include "task/resume.h"
#include "task/tree-plan.h"
#include "base/util.h"

#define HELPER_WAIT_S	   60 /* a hang guard: a helper whose tasks died gives up */
#define PID_RELEASE_WAIT_MS 2000 /* a pid nobody holds may be freed this late */

struct status_msg {
	int32_t pid;
	int32_t status; /* 0 ready, else -errno */
};

struct shared_area {
	uint64_t size; /* bytes of the area */
	/* then, for the n_tasks tasks followed by the n_helpers helpers:
	 *   int32_t created[]: its pid once it exists, else 0
	 *   uint32_t ready[]: 1 once it leads its session or group
	 * and per helper uint32_t done[]: how many tasks no longer need it; per task
	 * uint32_t shared_steps[] and installed[] (fd tables shared with CLONE_FILES) */
};

struct restore_tree {
	const struct image_set *set;
	const struct restore_tree_ops *ops;
	struct tree_plan *plan;
	int service_base; /* log fd; service_base + 1: status pipe write end */
	bool leave_stopped;
	bool shell_job; /* the root's session is minicr's (--shell-job) */
	pid_t outside_sid, outside_pgid; /* minicr's session and group */
	struct shared_area *shared;
	size_t shared_size;
	int32_t *created;
	uint32_t *ready, *done;
	uint32_t *shared_steps; /* per owner of a shared fd table: its members' steps */
	uint32_t *installed;	/* per owner: 1 once the shared table holds the dumped fds */
	int *owner;		/* per task: the owner of the fd table it shares, or -1 */
	uint32_t *n_members;	/* per task: how many tasks share its fd table */
	int status_rfd;
	pid_t root_pid;
	pid_t minicr_pid;
	bool root_reaped;
};

static size_t n_slots(const struct restore_tree *tree)
{
	return tree->set->n_tasks + tree->plan->n_helpers;
}

static bool in_tree(const struct image_set *set, pid_t pid)
{
	for (size_t i = 0; i < set->n_tasks; i++)
		if (set->tasks[i].pst->pid == pid)
			return true;
	return false;
}

/* The session a task is restored in: with --shell-job, the root's session (the one of the
 * terminal the tree did not open, led by the shell or by the root itself) is minicr's own, as
 * in CRIU. */
static pid_t target_sid(const struct restore_tree *tree, const PstreeEntry *p)
{
	if (tree->shell_job && p->sid == tree->set->tasks[0].pst->sid)
		return tree->outside_sid;
	return p->sid;
}

/* Its group: with --shell-job, a group of the shell's session whose leader is not in the tree
 * (the shell's own job group) is minicr's group. */
static pid_t target_pgid(const struct restore_tree *tree, const PstreeEntry *p)
{
	if (target_sid(tree, p) == tree->outside_sid && p->sid != tree->outside_sid &&
	    !in_tree(tree->set, p->pgid))
		return tree->outside_pgid;
	return p->pgid;
}

/* The plan for minicr's own session and group; a helper must find its pid free. */
static int plan_tree(struct restore_tree *tree)
{
	const struct image_set *set = tree->set;
	cleanup_free struct tree_plan_in *in = reallocarray(NULL, set->n_tasks, sizeof(*in));
	struct tree_plan *plan = NULL;
	int r;

	if (!in)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_tasks; i++) {
		const PstreeEntry *p = set->tasks[i].pst;

		in[i] = (struct tree_plan_in){.pid = p->pid,
					      .pgid = target_pgid(tree, p),
					      .sid = target_sid(tree, p),
					      .parent = set->tasks[i].parent,
					      .shares_files = p->has_files_owner};
	}
	r = tree_plan_build(in, set->n_tasks, tree->outside_sid, tree->outside_pgid, &plan);
	if (r < 0)
		return r;
	for (size_t h = 0; h < plan->n_helpers; h++) {
		pid_t pid = plan->helpers[h].pid;

		if (kill(pid, 0) == 0 || errno != ESRCH) {
			pr_err("cannot restore the %s %d of the tree: pid %d is in use",
			       plan->helpers[h].kind == TREE_HELPER_SESSION ? "session"
									   : "process group",
			       pid, pid);
			tree_plan_free(plan);
			return -EEXIST;
		}
	}
	tree->plan = plan;
	return 0;
}

/* The owner of each shared fd table (the images say which task each member shares with, and
 * checked that it is an ancestor through sharing parents). */
static int find_owners(struct restore_tree *tree)
{
	const struct image_set *set = tree->set;

	tree->owner = malloc((set->n_tasks ? set->n_tasks : 1) * sizeof(*tree->owner));
	tree->n_members = calloc(set->n_tasks ? set->n_tasks : 1, sizeof(*tree->n_members));
	if (!tree->owner || !tree->n_members)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_tasks; i++) {
		int p = set->tasks[i].parent;

		tree->owner[i] = -1;
		if (!set->tasks[i].pst->has_files_owner || p < 0)
			continue;
		tree->owner[i] = tree->owner[p] >= 0 ? tree->owner[p] : p;
		tree->n_members[tree->owner[i]]++;
	}
	return 0;
}

int restore_tree_new(const struct image_set *set, int service_base, bool leave_stopped,
		     bool shell_job, struct restore_tree **ret)
{
	struct restore_tree *tree = calloc(1, sizeof(*tree));
	size_t size, slots;
	int r;

	if (!tree)
		return -ENOMEM;
	tree->set = set;
	tree->service_base = service_base;
	tree->leave_stopped = leave_stopped;
	tree->status_rfd = -EBADF;
	tree->shell_job = shell_job;
	tree->outside_sid = getsid(0);
	tree->outside_pgid = getpgid(0);
	r = plan_tree(tree);
	if (r < 0) {
		free(tree);
		return r;
	}
	r = find_owners(tree);
	if (r < 0) {
		tree_plan_free(tree->plan);
		free(tree);
		return r;
	}
	slots = n_slots(tree);
	size = sizeof(struct shared_area) + slots * (sizeof(int32_t) + sizeof(uint32_t)) +
	       tree->plan->n_helpers * sizeof(uint32_t) + 2 * set->n_tasks * sizeof(uint32_t);
	tree->shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tree->shared == MAP_FAILED) {
		r = pr_errno("cannot map the restore's shared area");
		restore_tree_free(tree);
		return r;
	}
	tree->shared_size = size;
	tree->shared->size = size;
	tree->created = (int32_t *)(tree->shared + 1);
	tree->ready = (uint32_t *)(tree->created + slots);
	tree->done = tree->ready + slots;
	tree->shared_steps = tree->done + tree->plan->n_helpers;
	tree->installed = tree->shared_steps + set->n_tasks;
	*ret = tree;
	return 0;
}

struct restore_tree *restore_tree_free(struct restore_tree *tree)
{
	if (!tree)
		return NULL;
	if (tree->status_rfd >= 0)
		close(tree->status_rfd);
	if (tree->shared && tree->shared != MAP_FAILED)
		munmap(tree->shared, tree->shared_size);
	tree_plan_free(tree->plan);
	free(tree->owner);
	free(tree->n_members);
	free(tree);
	return NULL;
}

void restore_tree_freep(struct restore_tree **tree)
{
	restore_tree_free(*tree);
}

/* ---- inside the tasks ------------------------------------------------------------------- */

static void report(struct restore_tree *tree, pid_t pid, int status)
{
	struct status_msg msg = {.pid = pid, .status = status};

	(void)write_all(tree->service_base + 1, &msg, sizeof(msg));
}

static void post(uint32_t *word, bool add)
{
	if (add)
		__atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
	else
		__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
	(void)syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Waits until *word reaches at least want. Returns 0 or -ETIMEDOUT after HELPER_WAIT_S. */
static int wait_word(uint32_t *word, uint32_t want)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		uint32_t v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
		struct timespec slice = {1, 0};

		if (v >= want)
			return 0;
		(void)syscall(SYS_futex, word, FUTEX_WAIT, v, &slice, NULL, 0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > HELPER_WAIT_S)
			return -ETIMEDOUT;
	}
}

static pid_t task_pid(const struct restore_tree *tree, size_t idx)
{
	return tree->set->tasks[idx].pst->pid;
}

static const char *helper_what(const struct tree_helper *h)
{
	return h->kind == TREE_HELPER_SESSION ? "session" : "process group";
}

/* The owner of a shared table waits until each member took step step (1 cwd and root set,
 * 2 reported ready, 3 done with the shared service fds). Returns 0 or -ETIMEDOUT (logged). */
static int wait_members(struct restore_tree *tree, size_t idx, uint32_t step)
{
	if (!tree->n_members[idx])
		return 0;
	if (wait_word(&tree->shared_steps[idx], step * tree->n_members[idx]) < 0) {
		pr_err("cannot restore task %d: the tasks sharing its fd table did not follow",
		       (int)task_pid(tree, idx));
		return -ETIMEDOUT;
	}
	return 0;
}

struct member_sync {
	struct restore_tree *tree;
	size_t idx;
};

static void files_sync(void *arg)
{
	struct member_sync *m = arg;
	int o = m->tree->owner[m->idx];

	if (o >= 0)
		post(&m->tree->shared_steps[o], true);
	else
		(void)wait_members(m->tree, m->idx, 3);
}

static void task_main(struct restore_tree *tree, size_t idx) __attribute__((noreturn));
static void helper_main(struct restore_tree *tree, size_t h) __attribute__((noreturn));

/* clone3 with set_tid = want. A process that has just exited gives its pid number back a
 * little after its /proc entry is gone (tens of ms for one with thousands of fds), so a
 * restore right after the dump finds the number taken by nobody: EEXIST while kill() says no
 * such process. That is waited out for up to PID_RELEASE_WAIT_MS; a pid a process (a zombie
 * too) still holds fails at once. */
static long clone_with_pid(struct minicr_clone_args *args, pid_t want)
{
	struct timespec slice = {0, 5 * 1000 * 1000};

	for (int waited = 0;; waited += 5) {
		long pid = sys_clone3(args, sizeof(*args));

		if (pid >= 0 || errno != EEXIST || waited >= PID_RELEASE_WAIT_MS)
			return pid;
		if (kill(want, 0) == 0 || errno != ESRCH) {
			errno = EEXIST;
			return -1;
		}
		if (!waited)
			pr_debug("pid %d is held by no process yet not free: waiting", (int)want);
		nanosleep(&slice, NULL);
	}
}

/* Creates task (slot < n_tasks) or helper (slot - n_tasks) as a child of the calling task.
 * Returns 0 or -errno (logged). */
static int create_slot(struct restore_tree *tree, size_t slot)
{
	size_t n_tasks = tree->set->n_tasks;
	pid_t want = slot < n_tasks ? task_pid(tree, slot)
				    : tree->plan->helpers[slot - n_tasks].pid;
	struct minicr_clone_args args = {
	    .flags = slot < n_tasks && tree->owner[slot] >= 0 ? CLONE_FILES : 0,
	    .exit_signal = SIGCHLD,
	    .set_tid = (uint64_t)(uintptr_t)&want,
	    .set_tid_size = 1,
	};
	long pid;
	int r;

	/* the last task is created last: failing there finds the rest of the tree in place */
	r = slot == n_tasks - 1 ? restore_fault("fork") : 0;
	if (r < 0)
		return r;
	pid = clone_with_pid(&args, want);
	if (pid < 0) {
		if (errno == EEXIST) {
			pr_err("cannot restore task %d: pid %d is in use", want, want);
			return -EEXIST;
		}
		return pr_errno("cannot restore task %d: clone3", want);
	}
	if (pid == 0) {
		if (slot < n_tasks)
			task_main(tree, slot);
		helper_main(tree, slot - n_tasks);
	}
	__atomic_store_n(&tree->created[slot], (int32_t)pid, __ATOMIC_SEQ_CST);
	if (pid != want) {
		pr_err("cannot restore task %d: the kernel gave pid %ld", want, pid);
		return -ESRCH;
	}
	return 0;
}

/* A helper: takes the dead leader's session or group, forks the tasks born in it, and exits
 * once every task that needs it says so; its creator reaps it. */
static void helper_main(struct restore_tree *tree, size_t h)
{
	const struct tree_helper *hp = &tree->plan->helpers[h];
	size_t slot = tree->set->n_tasks + h;
	pid_t parent = hp->creator < 0 ? tree->minicr_pid : task_pid(tree, (size_t)hp->creator);
	int r = 0;

	__atomic_store_n(&tree->created[slot], (int32_t)getpid(), __ATOMIC_SEQ_CST);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	if (hp->kind == TREE_HELPER_SESSION ? setsid() < 0 : setpgid(0, 0) < 0)
		r = pr_errno("cannot restore the %s %d of the tree", helper_what(hp), hp->pid);
	if (r == 0)
		post(&tree->ready[slot], false);
	for (size_t j = 0; j < tree->set->n_tasks && r == 0; j++)
		if (tree->plan->tasks[j].helper == (int)h)
			r = create_slot(tree, j);
	/* only tasks report; the write end stays open in the tasks it forked */
	close(tree->service_base + 1);
	if (r == 0 && wait_word(&tree->done[h], hp->n_waits) < 0) {
		pr_err("cannot restore the %s %d of the tree: its tasks did not join it",
		       helper_what(hp), hp->pid);
		r = -ETIMEDOUT;
	}
	_exit(r < 0 ? 1 : 0);
}

/* Reaps helper h, which the calling task created. Returns 0 or -errno (logged). */
static int reap_helper(struct restore_tree *tree, size_t h)
{
	pid_t pid = tree->plan->helpers[h].pid;
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return pr_errno("cannot wait for the helper of %s %d",
					helper_what(&tree->plan->helpers[h]), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD; /* it logged why, or it was killed with the tree */
	return 0;
}

static int create_children(struct restore_tree *tree, size_t idx, bool before_setsid)
{
	const struct image_set *set = tree->set;

	for (size_t j = idx + 1; j < set->n_tasks; j++) {
		const struct tree_plan_task *pj = &tree->plan->tasks[j];
		int r;

		if (set->tasks[j].parent != (int)idx || pj->helper >= 0 ||
		    pj->before_setsid != before_setsid)
			continue;
		r = create_slot(tree, j);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Session first (born in it, or setsid() after forking the tasks born in the old one), then
 * leading its own group: both before any child exists, so a child finds them. */
static int set_session(struct restore_tree *tree, size_t idx)
{
	const struct tree_plan_task *pt = &tree->plan->tasks[idx];
	const PstreeEntry *p = tree->set->tasks[idx].pst;
	int r;

	if (pt->sets_session) {
		r = create_children(tree, idx, true);
		if (r < 0)
			return r;
		if (setsid() < 0)
			return pr_errno("cannot make task %d a session leader", p->pid);
	} else if (getsid(0) != target_sid(tree, p)) {
		pr_err("cannot restore task %d: it was born in session %d, not in its session %d",
		       p->pid, (int)getsid(0), p->sid);
		return -EPERM;
	}
	if (pt->group_kind == TREE_GROUP_OWN) {
		if (getpgid(0) != p->pid && setpgid(0, 0) < 0)
			return pr_errno("cannot make task %d a process group leader", p->pid);
		post(&tree->ready[idx], false);
	}
	return 0;
}

/* Joins the dumped group once it exists (its leader, or its helper, runs concurrently). */
static int join_group(struct restore_tree *tree, size_t idx)
{
	const struct tree_plan_task *pt = &tree->plan->tasks[idx];
	const PstreeEntry *p = tree->set->tasks[idx].pst;
	size_t slot;

	if (pt->group_kind == TREE_GROUP_OWN)
		return 0;
	if (pt->group_kind == TREE_GROUP_TASK || pt->group_kind == TREE_GROUP_HELPER) {
		slot = (size_t)pt->group_ref +
		       (pt->group_kind == TREE_GROUP_HELPER ? tree->set->n_tasks : 0);
		if (wait_word(&tree->ready[slot], 1) < 0) {
			pr_err("cannot restore task %d: its process group %d was never created",
			       p->pid, p->pgid);
			return -ETIMEDOUT;
		}
	}
	if (getpgid(0) != target_pgid(tree, p) && setpgid(0, target_pgid(tree, p)) < 0)
		return pr_errno("cannot put task %d into process group %d", p->pid,
				(int)target_pgid(tree, p));
	if (pt->group_kind == TREE_GROUP_HELPER && pt->group_ref != pt->helper)
		post(&tree->done[pt->group_ref], true);
	return 0;
}

/* The fds of a task. Tasks sharing one table: each member sets its cwd, root and umask while
 * the table still holds every file of the tree, then the owner installs the fds, once. */
static int finish_files(struct restore_tree *tree, size_t idx)
{
	int o = tree->owner[idx], r;

	if (!tree->ops->finish_task)
		return 0;
	if (o >= 0) {
		r = tree->ops->finish_task(tree->ops->opaque, idx, true);
		if (r < 0)
			return r;
		post(&tree->shared_steps[o], true);
		if (wait_word(&tree->installed[o], 1) < 0) {
			pr_err("cannot restore task %d: the fds of task %d, whose table it shares, "
			       "were never installed",
			       (int)task_pid(tree, idx), (int)task_pid(tree, (size_t)o));
			return -ETIMEDOUT;
		}
		return 0;
	}
	if (wait_members(tree, idx, 1) < 0)
		return -ETIMEDOUT;
	r = tree->ops->finish_task(tree->ops->opaque, idx, false);
	if (r < 0)
		return r;
	post(&tree->installed[idx], false);
	return 0;
}

static int run_task(struct restore_tree *tree, size_t idx)
{
	const struct image_set *set = tree->set;
	const struct tree_plan_task *pt = &tree->plan->tasks[idx];
	int r;

	r = set_session(tree, idx);
	if (r < 0)
		return r;
	if (idx == 0 && tree->ops->prepare_root) {
		r = tree->ops->prepare_root(tree->ops->opaque);
		if (r < 0)
			return r;
	}
	/* the tasks its session helpers fork come back to it when the helpers exit; the
	 * restorer sets the dumped value again */
	if (pt->adopts && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return pr_errno("cannot make task %d adopt the tasks of a session helper",
				(int)task_pid(tree, idx));
	r = create_children(tree, idx, false);
	for (size_t h = 0; h < tree->plan->n_helpers && r == 0; h++)
		if (tree->plan->helpers[h].creator == (int)idx)
			r = create_slot(tree, set->n_tasks + h);
	if (r < 0)
		return r;
	if (pt->helper >= 0) {
		/* its helper exits once it is no longer needed: no death signal from it */
		if (prctl(PR_SET_PDEATHSIG, 0) < 0)
			return pr_errno("cannot clear the death signal of task %d",
					(int)task_pid(tree, idx));
		post(&tree->done[pt->helper], true);
	}
	r = join_group(tree, idx);
	for (size_t h = 0; h < tree->plan->n_helpers && r == 0; h++)
		if (tree->plan->helpers[h].creator == (int)idx)
			r = reap_helper(tree, h);
	if (r < 0)
		return r;
	r = finish_files(tree, idx);
	if (r < 0)
		return r;
	/* the last task is created last: failing there finds the whole tree in place */
	return idx == set->n_tasks - 1 ? restore_fault("ready") : 0;
}

static void task_main(struct restore_tree *tree, size_t idx)
{
	const struct image_set *set = tree->set;
	const struct tree_plan_task *pt = &tree->plan->tasks[idx];
	pid_t pid = getpid(), parent;
	sigset_t all, before;
	bool is_member;
	int r;

	/* Files being opened, installed and closed signal their owners (O_ASYNC, F_SETOWN) and a
	 * task still has the default action, which kills: block everything until the restorer
	 * sets the dumped actions and mask (children inherit this). */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &before);
	__atomic_store_n(&tree->created[idx], (int32_t)pid, __ATOMIC_SEQ_CST);
	/* A task whose parent dies during the restore dies too, so killing what minicr knows
	 * of kills the whole tree, even a child its parent had no time to record. */
	if (pt->helper >= 0)
		parent = tree->plan->helpers[pt->helper].pid;
	else
		parent = set->tasks[idx].parent < 0 ? tree->minicr_pid
						    : task_pid(tree, (size_t)set->tasks[idx].parent);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	r = run_task(tree, idx);
	report(tree, pid, r);
	if (r < 0)
		_exit(1);
	/* in a shared fd table only the owner closes the service fds, after every member */
	is_member = tree->owner[idx] >= 0;
	if (is_member)
		post(&tree->shared_steps[tree->owner[idx]], true);
	else if (wait_members(tree, idx, 2) < 0)
		_exit(1);
	if (!is_member)
		close(tree->service_base + 1);
	if (tree->ops->enter_task) {
		/* Still dying with its parent: a task waiting for minicr to seize it would wait
		 * forever if minicr died first. The restorer sets the dumped pdeathsig. */
		struct member_sync m = {tree, idx};
		struct restore_tree_files files = {is_member, files_sync, &m};

		/* the log stays open: enter_task logs its failure there, and on success the
		 * restorer closes it */
		(void)tree->ops->enter_task(tree->ops->opaque, idx,
					    is_member || tree->n_members[idx] ? &files : NULL);
		_exit(RESUME_EXIT_LOGGED); /* minicr's finish sees it and logs nothing more */
	}
	(void)prctl(PR_SET_PDEATHSIG, 0);
	if (!is_member) {
		close(tree->service_base);
		/* Without images to resume from, every task ends stopped, as with
		 * --leave-stopped; whoever continues it finds it idle. */
		close(tree->service_base + 2);
	}
	log_init(log_get_level(), -1);
	(void)sigprocmask(SIG_SETMASK, &before, NULL);
	raise(SIGSTOP);
	for (;;)
		pause();
}

/* ---- in minicr ----------------------------------------------------------------------------- */

/* Moves fd to number target (closing the original). Returns 0 or -errno (logged). */
static int move_fd(int fd, int target)
{
	if (dup3(fd, target, O_CLOEXEC) < 0)
		return pr_errno("cannot move fd %d to %d", fd, target);
	close(fd);
	return 0;
}

/* The first steps of minicr's child (the root task, or the helper of its dead session):
 * nothing of minicr's fds but the three service fds survives. */
static void first_child_main(struct restore_tree *tree, size_t slot)
{
	int base = tree->service_base;

	(void)close_range(0, (unsigned int)base - 1, 0);
	(void)close_range((unsigned int)base + 3, ~0U, 0);
	log_init(log_get_level(), base);
	if (slot == 0)
		task_main(tree, 0);
	helper_main(tree, slot - tree->set->n_tasks);
}

/* Creates minicr's child: the root task, or the helper that forks it into its session. */
static int create_first(struct restore_tree *tree)
{
	int h = tree->plan->tasks[0].helper;
	size_t slot = h >= 0 ? tree->set->n_tasks + (size_t)h : 0;
	pid_t want = h >= 0 ? tree->plan->helpers[h].pid : task_pid(tree, 0);
	struct minicr_clone_args args = {
	    .exit_signal = SIGCHLD,
	    .set_tid = (uint64_t)(uintptr_t)&want,
	    .set_tid_size = 1,
	};
	long pid;
	int r;

	r = tree->set->n_tasks == 1 ? restore_fault("fork") : 0;
	if (r < 0)
		return r;
	pid = clone_with_pid(&args, want);
	if (pid == 0)
		first_child_main(tree, slot);
	if (pid < 0) {
		if (errno == EEXIST) {
			pr_err("cannot restore task %d: pid %d is in use", want, want);
			return -EEXIST;
		}
		return pr_errno("cannot restore task %d: clone3", want);
	}
	tree->created[slot] = (int32_t)pid;
	return 0;
}

/* Reads one status message per task. Returns 0 or -errno (logged, by a task or here). */
static int wait_ready(struct restore_tree *tree)
{
	size_t n_ready = 0;

	/* Every task holds one write end and closes it once it reported: EOF before every task
	 * reported means one died without a word. */
	while (n_ready < tree->set->n_tasks) {
		struct status_msg msg;
		ssize_t n = read_full(tree->status_rfd, &msg, sizeof(msg));

		if (n < 0) {
			errno = (int)-n;
			return pr_errno("cannot read the status of the restored tree");
		}
		if (n == 0) {
			pr_err("restore failed: a task of the tree died before it was ready");
			return -ECHILD;
		}
		if (n != sizeof(msg)) {
			pr_err("restore failed: short status message");
			return -EPROTO;
		}
		if (msg.status < 0)
			return msg.status; /* the task logged why */
		n_ready++;
	}
	return 0;
}

int restore_tree_start(struct restore_tree *tree, const struct restore_tree_ops *ops)
{
	int pipefd[2], log_fd = log_get_fd() >= 0 ? log_get_fd() : STDERR_FILENO;
	int r;

	tree->ops = ops;
	tree->minicr_pid = getpid();
	tree->root_pid = task_pid(tree, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return pr_errno("cannot become the subreaper of the restored tree");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return pr_errno("cannot create the status pipe");
	tree->status_rfd = pipefd[0];
	r = move_fd(pipefd[1], tree->service_base + 1);
	if (r < 0) {
		close(pipefd[1]);
		return r;
	}
	if (dup3(log_fd, tree->service_base, O_CLOEXEC) < 0) {
		r = pr_errno("cannot pass the log to the restored tree");
		close(tree->service_base + 1);
		return r;
	}
	r = create_first(tree);
	close(tree->service_base);
	close(tree->service_base + 1);
	if (r < 0)
		return r;
	r = wait_ready(tree);
	if (r < 0)
		return r;
	/* the root's session helper is minicr's child: it exited once the root was born */
	for (size_t h = 0; h < tree->plan->n_helpers; h++)
		if (tree->plan->helpers[h].creator < 0) {
			r = reap_helper(tree, h);
			if (r < 0)
				return r == -ECHILD ? pr_neg(r, "the helper of session %d failed",
							     tree->plan->helpers[h].pid)
						    : r;
		}
	return 0;
}

/* The state letter of /proc/PID/stat, or 0. */
static char task_state(pid_t pid)
{
	struct procfs_stat st;

	return procfs_read_stat(pid, &st) < 0 ? 0 : st.state;
}

int restore_tree_wait_stopped(struct restore_tree *tree)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (size_t i = 0; i < tree->set->n_tasks; i++) {
		pid_t pid = tree->set->tasks[i].pst->pid;

		for (;;) {
			char st = task_state(pid);
			struct timespec pause_ts = {0, 200000};

			if (st == 'T' || st == 't')
				break;
			if (st == 0 || st == 'Z' || st == 'X') {
				pr_err("restore failed: task %d exited before it stopped", pid);
				return -ECHILD;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec > 30) {
				pr_err("restore failed: task %d did not stop", pid);
				return -ETIMEDOUT;
			}
			/* a stop has no event a non-parent can wait for; poll gently */
			nanosleep(&pause_ts, NULL);
		}
	}
	return 0;
}

int restore_tree_wait_root(struct restore_tree *tree)
{
	int status;

	for (;;) {
		pid_t r = waitpid(tree->root_pid, &status, 0);

		if (r == tree->root_pid)
			break;
		if (r < 0 && errno != EINTR) {
			pr_errno("cannot wait for task %d", tree->root_pid);
			return 1;
		}
	}
	tree->root_reaped = true;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void restore_tree_abort(struct restore_tree *tree)
{
	for (size_t i = 0; i < n_slots(tree); i++) {
		pid_t pid = __atomic_load_n(&tree->created[i], __ATOMIC_SEQ_CST);

		if (pid > 0)
			(void)kill(pid, SIGKILL);
	}
	/* minicr is the subreaper: orphans of killed tasks come back to it, so this ends once
	 * every task of the tree is reaped. */
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
}
