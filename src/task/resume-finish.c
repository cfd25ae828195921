/* resume-finish.c: the tracer side of resume (resume.h, step 3): wait for the restorer blob in
 * every thread of a restored process, let each thread's rt_sigreturn run, remove the bootstrap
 * region by injecting munmap, and detach. */
#define LOG_PREFIX "resume: "
#include "task/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parasite/restorer-abi.h"
#include "base/compat.h"
#include "base/log.h"
#include "base/procfs.h"
#include "task/resume-internal.h"
#include "base/util.h"

static const char *const step_names[RESTORER_STEP_COUNT] = {
    [RESTORER_STEP_NONE] = "none",
    [RESTORER_STEP_ARGS] = "checking its arguments",
    [RESTORER_STEP_PARK] = "parking the vdso",
    [RESTORER_STEP_UNMAP] = "unmapping the old memory",
    [RESTORER_STEP_MMAP] = "mapping a dumped VMA",
    [RESTORER_STEP_MADVISE] = "replaying madvise hints",
    [RESTORER_STEP_PAGES] = "reading page data",
    [RESTORER_STEP_MPROTECT] = "setting protections",
    [RESTORER_STEP_VDSO] = "moving the vdso back",
    [RESTORER_STEP_MM_MAP] = "PR_SET_MM_MAP",
    [RESTORER_STEP_SIGACTION] = "restoring signal actions",
    [RESTORER_STEP_CLOSE] = "closing helper fds",
    [RESTORER_STEP_CLONE] = "creating a thread with clone3(set_tid)",
    [RESTORER_STEP_SIGQUEUE] = "queueing a pending signal",
    [RESTORER_STEP_ROBUST_LIST] = "set_robust_list",
    [RESTORER_STEP_FS_GS] = "setting fs/gs base",
    [RESTORER_STEP_RSEQ] = "registering rseq",
    [RESTORER_STEP_CREDS] = "restoring credentials",
    [RESTORER_STEP_SECCOMP] = "installing seccomp filters",
    [RESTORER_STEP_RLIMIT] = "setting resource limits",
    [RESTORER_STEP_LOCK] = "setting a POSIX lock again",
    [RESTORER_STEP_THP] = "disabling transparent huge pages",
    [RESTORER_STEP_MLOCK] = "locking memory",
    [RESTORER_STEP_ITIMER] = "setting an interval timer",
    [RESTORER_STEP_TIMER] = "creating a POSIX timer with its dumped id",
    [RESTORER_STEP_TIMER_ARM] = "arming a POSIX timer",
};

int resume_task_seize(struct resume_task *rt, pid_t pid)
{
	unsigned long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;

	if (rt->is_seized)
		return 0;
	if (rt->has_seccomp)
		opts |= PTRACE_O_SUSPEND_SECCOMP;
	if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0) {
		int err = errno;
		struct procfs_stat st;
		int r = procfs_read_stat(pid, &st);

		/* a task that failed before minicr came to it said why, in minicr's log */
		if (r == -ESRCH || (r == 0 && (st.state == 'Z' || st.state == 'X'))) {
			if (r == 0 && st.has_exit_code && WIFEXITED(st.exit_code) &&
			    WEXITSTATUS(st.exit_code) == RESUME_EXIT_LOGGED)
				return -ESRCH;
			pr_err("restored task %d died during the restore (status %#x)", (int)pid,
			       r == 0 && st.has_exit_code ? st.exit_code : 0);
			return -ESRCH;
		}
		errno = err;
		return pr_errno("cannot seize restored task %d", (int)pid);
	}
	rt->is_seized = true;
	/* the task waits in resume_task_enter() for this (a shared page both inherited) */
	__atomic_store_n(rt->is_seized_flag, 1, __ATOMIC_RELEASE);
	(void)syscall(SYS_futex, rt->is_seized_flag, FUTEX_WAKE, 1, NULL, NULL, 0);
	return 0;
}

static int wait_tid(pid_t pid, pid_t tid, int *ret_status)
{
	int status;

	for (;;) {
		pid_t w = waitpid(tid, &status, __WALL);

		if (w >= 0)
			break;
		if (errno != EINTR)
			return pr_errno("cannot wait for thread %d of restored task %d", (int)tid,
					(int)pid);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == RESUME_EXIT_LOGGED)
		return -ESRCH; /* it logged why, in minicr's log */
	if (WIFEXITED(status)) {
		pr_err("restored task %d: thread %d exited with status %d during the restore",
		       (int)pid, (int)tid, WEXITSTATUS(status));
		return -ESRCH;
	}
	if (WIFSIGNALED(status)) {
		pr_err("restored task %d: thread %d was killed by signal %d during the restore",
		       (int)pid, (int)tid, WTERMSIG(status));
		return -ESRCH;
	}
	*ret_status = status;
	return 0;
}

static int cont(pid_t tid, int sig)
{
	if (ptrace(PTRACE_CONT, tid, 0, (unsigned long)sig) < 0)
		return pr_errno("cannot continue restored thread %d", (int)tid);
	return 0;
}

static int get_regs(pid_t tid, struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_GETREGS, tid, 0, regs) < 0)
		return pr_errno("cannot read the registers of restored thread %d", (int)tid);
	return 0;
}

/* A thread created by the blob is auto-attached (PTRACE_O_TRACECLONE) and starts stopped. */
static int release_new_thread(pid_t pid, pid_t parent_tid)
{
	unsigned long new_tid = 0;
	int status, ret;

	if (ptrace(PTRACE_GETEVENTMSG, parent_tid, 0, &new_tid) < 0)
		return pr_errno("cannot get the new thread of restored task %d", (int)pid);
	ret = wait_tid(pid, (pid_t)new_tid, &status);
	if (ret < 0)
		return ret;
	ret = cont((pid_t)new_tid, 0);
	if (ret < 0)
		return ret;
	return cont(parent_tid, 0);
}

/* Runs thread tid until it traps at the end of the blob. Returns 0 and the args address of
 * the blob, or -errno (logged: the blob's failed step, or the signal that hit it). */
static int wait_trap(pid_t pid, pid_t tid, uint64_t *ret_args)
{
	for (;;) {
		struct user_regs_struct regs;
		int status, sig, event, ret;

		ret = wait_tid(pid, tid, &status);
		if (ret < 0)
			return ret;
		sig = WSTOPSIG(status);
		event = status >> 16;
		if (event == PTRACE_EVENT_CLONE) {
			ret = release_new_thread(pid, tid);
		} else if (event == PTRACE_EVENT_STOP || sig == (SIGTRAP | 0x80)) {
			ret = cont(tid, 0);
		} else if (sig == SIGTRAP && event == 0) {
			ret = get_regs(tid, &regs);
			if (ret < 0)
				return ret;
			if (regs.rdi == 0 && regs.rsi == RESTORER_TRAP_READY) {
				*ret_args = regs.rdx;
				return 0;
			}
			if (regs.rdx == RESTORER_TRAP_FAILED) {
				const char *step =
				    regs.rdi < RESTORER_STEP_COUNT ? step_names[regs.rdi] : "?";

				errno = (int)-(long)regs.rsi;
				if (errno <= 0)
					errno = EIO;
				return pr_errno("restorer of task %d failed in thread %d at %s",
						(int)pid, (int)tid, step);
			}
			pr_err("restored task %d: thread %d trapped at 0x%llx outside the restorer",
			       (int)pid, (int)tid, regs.rip);
			return -EFAULT;
		} else {
			/* a real signal (or a fault in the blob): deliver it as it would be */
			pr_debug("restored task %d: thread %d got signal %d during the restore",
				 (int)pid, (int)tid, sig);
			ret = cont(tid, sig);
		}
		if (ret < 0)
			return ret;
	}
}

static int syscall_stop(pid_t pid, pid_t tid)
{
	int status, ret;

	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return pr_errno("cannot resume restored thread %d to a syscall stop", (int)tid);
	ret = wait_tid(pid, tid, &status);
	if (ret < 0)
		return ret;
	if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
		pr_err(
		    "restored task %d: thread %d stopped with signal %d instead of a syscall stop",
		    (int)pid, (int)tid, WSTOPSIG(status));
		return -EPROTO;
	}
	return 0;
}

/* Lets the thread run its rt_sigreturn and stops it at the syscall exit: it then holds its
 * dumped registers, and *ret_syscall_ip is the address of a syscall instruction in the region. */
static int run_sigreturn(pid_t pid, pid_t tid, uint64_t *ret_syscall_ip)
{
	struct user_regs_struct regs;
	int ret;

	ret = syscall_stop(pid, tid);
	if (ret < 0)
		return ret;
	ret = get_regs(tid, &regs);
	if (ret < 0)
		return ret;
	if (regs.orig_rax != __NR_rt_sigreturn) {
		pr_err("restored task %d: thread %d entered syscall %lld, not rt_sigreturn",
		       (int)pid, (int)tid, regs.orig_rax);
		return -EPROTO;
	}
	*ret_syscall_ip = regs.rip - 2;
	return syscall_stop(pid, tid); /* the exit: the dumped registers are in place */
}

/* (restorer.md §6.9) The blob cannot unmap the code it runs: the main thread, stopped at the
 * exit of its rt_sigreturn, runs munmap(region) from the region's syscall instruction with
 * every signal blocked, then gets its registers and mask back. */
static int unmap_region(pid_t pid, uint64_t syscall_ip, uint64_t start, uint64_t len)
{
	struct user_regs_struct saved, regs;
	uint64_t mask, all = ~0ull;
	int ret;

	ret = get_regs(pid, &saved);
	if (ret < 0)
		return ret;
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(mask), &mask) < 0)
		return pr_errno("cannot read the signal mask of restored task %d", (int)pid);
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(all), &all) < 0)
		return pr_errno("cannot block signals of restored task %d", (int)pid);
	regs = saved;
	regs.rip = syscall_ip;
	regs.rax = __NR_munmap;
	regs.orig_rax = (unsigned long long)-1;
	regs.rdi = start;
	regs.rsi = len;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		return pr_errno("cannot set registers of restored task %d", (int)pid);
	ret = syscall_stop(pid, pid); /* entry */
	if (ret == 0)
		ret = syscall_stop(pid, pid); /* exit */
	if (ret < 0)
		return ret;
	ret = get_regs(pid, &regs);
	if (ret < 0)
		return ret;
	if ((long long)regs.rax < 0) {
		errno = (int)-(long long)regs.rax;
		return pr_errno("cannot unmap the bootstrap region of restored task %d", (int)pid);
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0)
		return pr_errno("cannot restore registers of restored task %d", (int)pid);
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(mask), &mask) < 0)
		return pr_errno("cannot restore the signal mask of restored task %d", (int)pid);
	return 0;
}

static int read_args(pid_t pid, uint64_t addr, struct restorer_args *a)
{
	char path[64];
	cleanup_close int fd = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open '%s'", path);
	if (pread(fd, a, sizeof(*a), (off_t)addr) != (ssize_t)sizeof(*a) ||
	    a->magic != RESTORER_ARGS_MAGIC) {
		pr_err("restored task %d: cannot read the restorer arguments at 0x%" PRIx64,
		       (int)pid, addr);
		return -EPROTO;
	}
	return 0;
}

static int finish_threads(struct resume_task *rt, pid_t pid)
{
	struct restorer_args *a;
	uint64_t args_addr = 0, other_args = 0, syscall_ip = 0, ip = 0;
	int ret;

	a = malloc(sizeof(*a));
	if (!a)
		return pr_neg(-ENOMEM, "cannot allocate restorer arguments");
	ret = wait_trap(pid, pid, &args_addr);
	for (size_t i = 1; i < rt->n_tids && ret == 0; i++) {
		ret = wait_trap(pid, rt->tids[i], &other_args);
		if (ret == 0 && other_args != args_addr) {
			pr_err("restored task %d: thread %d trapped with foreign arguments",
			       (int)pid, rt->tids[i]);
			ret = -EPROTO;
		}
	}
	if (ret == 0)
		ret = read_args(pid, args_addr, a);
	for (size_t i = 0; i < rt->n_tids && ret == 0; i++) {
		ret = run_sigreturn(pid, rt->tids[i], &ip);
		if (i == 0)
			syscall_ip = ip;
	}
	if (ret == 0)
		ret = unmap_region(pid, syscall_ip, a->region_start, a->region_len);
	if (ret == 0)
		ret = resume_attrs_apply(rt, pid);
	free(a);
	return ret;
}

int resume_task_finish(struct resume_task *rt, pid_t pid)
{
	int ret;

	ret = resume_task_seize(rt, pid);
	if (ret < 0)
		return ret;
	ret = finish_threads(rt, pid);
	if (ret < 0) {
		kill(pid, SIGKILL);
		/* threads the blob created are traced by us: their exit must be collected here,
		 * or the main thread stays a zombie nobody can reap */
		for (size_t i = 1; i < rt->n_tids; i++) {
			int status;

			while (waitpid(rt->tids[i], &status, __WALL) < 0 &&
			       errno == EINTR)
				;
		}
		rt->is_seized = false;
		return ret;
	}
	/* a group stop taken as soon as the threads leave their ptrace stops: --leave-stopped, or
	 * a task that was stopped when it was dumped */
	if ((rt->leave_stopped || rt->group_stopped) && kill(pid, SIGSTOP) < 0)
		return pr_errno("cannot stop restored task %d", (int)pid);
	for (size_t i = 0; i < rt->n_tids; i++)
		if (ptrace(PTRACE_DETACH, rt->tids[i], 0, 0) < 0)
			ret = pr_errno("cannot detach restored thread %d", rt->tids[i]);
	rt->is_seized = false;
	return ret;
}
