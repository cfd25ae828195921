/* restore-tree.c: the restored processes. minicr (M) creates the root task; each task sets its
 * session and group, the root prepares mounts and files, each task creates its children with
 * their dumped pids, installs its fds and reports on a status pipe, then stops (or resumes).
 * A shared page records every created pid, so M can kill exactly the tree on failure. */
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/fault.h"
#include "image-set/image-set.h"
#include "base/util.h"

struct status_msg {
	int32_t pid;
	int32_t status; /* 0 ready, else -errno */
};

struct shared_area {
	uint32_t n_tasks;
	int32_t created[]; /* per task: its pid once it exists, else 0 */
};

struct restore_tree {
	const struct restore_set *set;
	const struct restore_tree_ops *ops;
	int service_base; /* log fd; service_base + 1: status pipe write end */
	bool leave_stopped;
	struct shared_area *shared;
	size_t shared_size;
	int status_rfd;
	pid_t root_pid;
	pid_t minicr_pid;
	bool root_reaped;
};

int restore_tree_new(const struct restore_set *set, int service_base, bool leave_stopped,
		     struct restore_tree **ret)
{
	struct restore_tree *tree = calloc(1, sizeof(*tree));
	size_t size;

	if (!tree)
		return -ENOMEM;
	tree->set = set;
	tree->service_base = service_base;
	tree->leave_stopped = leave_stopped;
	tree->status_rfd = -EBADF;
	size = sizeof(struct shared_area) + set->n_tasks * sizeof(int32_t);
	tree->shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tree->shared == MAP_FAILED) {
		int r = pr_errno("cannot map the restore's shared area");

		free(tree);
		return r;
	}
	tree->shared_size = size;
	tree->shared->n_tasks = (uint32_t)set->n_tasks;
	*ret = tree;
	return 0;
}

struct restore_tree *restore_tree_free(struct restore_tree *tree)
{
	if (!tree)
		return NULL;
	if (tree->status_rfd >= 0)
		close(tree->status_rfd);
	munmap(tree->shared, tree->shared_size);
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

static int set_session_and_group(struct restore_tree *tree, size_t idx)
{
	const PstreeEntry *p = tree->set->tasks[idx].pst;

	if (p->sid == p->pid) {
		if (setsid() < 0)
			return pr_errno("cannot make task %d a session leader", p->pid);
	} else if (getsid(0) != p->sid) {
		pr_err("cannot restore task %d: its session %d is neither in the tree nor minicr's "
		       "(%d)",
		       p->pid, p->sid, (int)getsid(0));
		return -EPERM;
	}
	if (getpgid(0) != p->pgid && setpgid(0, p->pgid == p->pid ? 0 : p->pgid) < 0)
		return pr_errno("cannot put task %d into process group %d", p->pid, p->pgid);
	return 0;
}

static void task_main(struct restore_tree *tree, size_t idx) __attribute__((noreturn));

/* Creates task idx as a child of the calling task. Returns 0 or -errno (logged). */
static int create_task(struct restore_tree *tree, size_t idx)
{
	const PstreeEntry *p = tree->set->tasks[idx].pst;
	pid_t want = p->pid;
	struct minicr_clone_args args = {
	    .exit_signal = SIGCHLD,
	    .set_tid = (uint64_t)(uintptr_t)&want,
	    .set_tid_size = 1,
	};
	long pid;
	int r;

	/* the last task is created last: failing there finds the rest of the tree in place */
	r = idx == tree->set->n_tasks - 1 ? restore_fault("fork") : 0;
	if (r < 0)
		return r;
	pid = sys_clone3(&args, sizeof(args));
	if (pid < 0) {
		if (errno == EEXIST) {
			pr_err("cannot restore task %d: pid %d is in use", want, want);
			return -EEXIST;
		}
		return pr_errno("cannot restore task %d: clone3", want);
	}
	if (pid == 0)
		task_main(tree, idx);
	__atomic_store_n(&tree->shared->created[idx], (int32_t)pid, __ATOMIC_SEQ_CST);
	if (pid != want) {
		pr_err("cannot restore task %d: the kernel gave pid %ld", want, pid);
		return -ESRCH;
	}
	/* Like a shell: the parent puts the child in its group too, so a later sibling finds
	 * the group; a future session leader must not become a group leader first. */
	if (p->sid != p->pid && p->pgid != getpgid(0))
		(void)setpgid((pid_t)pid, p->pgid);
	return 0;
}

static int run_task(struct restore_tree *tree, size_t idx)
{
	const struct restore_set *set = tree->set;
	int r;

	r = set_session_and_group(tree, idx);
	if (r < 0)
		return r;
	if (idx == 0 && tree->ops->prepare_root) {
		r = tree->ops->prepare_root(tree->ops->opaque);
		if (r < 0)
			return r;
	}
	for (size_t j = idx + 1; j < set->n_tasks; j++) {
		if (set->tasks[j].parent != (int)idx)
			continue;
		r = create_task(tree, j);
		if (r < 0)
			return r;
	}
	if (tree->ops->finish_task) {
		r = tree->ops->finish_task(tree->ops->opaque, idx);
		if (r < 0)
			return r;
	}
	/* the last task is created last: failing there finds the whole tree in place */
	return idx == set->n_tasks - 1 ? restore_fault("ready") : 0;
}

static void task_main(struct restore_tree *tree, size_t idx)
{
	const struct restore_set *set = tree->set;
	pid_t pid = getpid(), parent;
	int r;

	__atomic_store_n(&tree->shared->created[idx], (int32_t)pid, __ATOMIC_SEQ_CST);
	/* A task whose parent dies during the restore dies too, so killing what minicr knows
	 * of kills the whole tree, even a child its parent had no time to record. */
	parent = set->tasks[idx].parent < 0 ? tree->minicr_pid
					    : set->tasks[set->tasks[idx].parent].pst->pid;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	r = run_task(tree, idx);
	report(tree, pid, r);
	if (r < 0)
		_exit(1);
	close(tree->service_base + 1);
	close(tree->service_base);
	log_init(log_get_level(), -1);
	if (tree->ops->enter_task) {
		/* Still dying with its parent: a task waiting for minicr to seize it would wait
		 * forever if minicr died first. The restorer sets the dumped pdeathsig. */
		(void)tree->ops->enter_task(tree->ops->opaque, idx);
		_exit(1); /* minicr's finish sees the task die and reports it */
	}
	(void)prctl(PR_SET_PDEATHSIG, 0);
	/* Without images to resume from, every task ends stopped, as with --leave-stopped;
	 * whoever continues it finds it idle. */
	close(tree->service_base + 2);
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

/* The root task's first steps: nothing of minicr's fds but the three service fds survives. */
static void root_main(struct restore_tree *tree)
{
	int base = tree->service_base;

	(void)close_range(0, (unsigned int)base - 1, 0);
	(void)close_range((unsigned int)base + 3, ~0U, 0);
	log_init(log_get_level(), base);
	task_main(tree, 0);
}

int restore_tree_start(struct restore_tree *tree, const struct restore_tree_ops *ops)
{
	const struct restore_set *set = tree->set;
	const PstreeEntry *root = set->tasks[0].pst;
	pid_t want = root->pid;
	struct minicr_clone_args args = {
	    .exit_signal = SIGCHLD,
	    .set_tid = (uint64_t)(uintptr_t)&want,
	    .set_tid_size = 1,
	};
	int pipefd[2], log_fd = log_get_fd() >= 0 ? log_get_fd() : STDERR_FILENO;
	size_t n_ready = 0;
	long pid;
	int r = 0;

	tree->ops = ops;
	tree->minicr_pid = getpid();
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
	r = set->n_tasks == 1 ? restore_fault("fork") : 0;
	if (r < 0) {
		pid = -1;
		goto out_close;
	}
	pid = sys_clone3(&args, sizeof(args));
	if (pid == 0)
		root_main(tree);
	if (pid < 0) {
		if (errno == EEXIST) {
			pr_err("cannot restore task %d: pid %d is in use", want, want);
			r = -EEXIST;
		} else {
			r = pr_errno("cannot restore task %d: clone3", want);
		}
	} else {
		tree->root_pid = (pid_t)pid;
		tree->shared->created[0] = (int32_t)pid;
	}
out_close:
	close(tree->service_base);
	close(tree->service_base + 1);
	if (pid < 0)
		return r;
	/* Every task holds one write end and closes it once it reported: EOF before every task
	 * reported means one died without a word. */
	while (n_ready < set->n_tasks) {
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

/* The state letter of /proc/PID/stat, or 0. */
static char task_state(pid_t pid)
{
	cleanup_free char *buf = NULL;
	char path[64], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file_at(AT_FDCWD, path, &buf) < 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
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
	const struct restore_set *set = tree->set;
	struct shared_area *s = tree->shared;

	for (size_t i = 0; i < set->n_tasks; i++) {
		pid_t pid = __atomic_load_n(&s->created[i], __ATOMIC_SEQ_CST);

		if (pid > 0)
			(void)kill(pid, SIGKILL);
	}
	/* minicr is the subreaper: orphans of killed tasks come back to it, so this ends once
	 * every task of the tree is reaped. */
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
}
