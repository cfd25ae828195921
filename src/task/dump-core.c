/* task-dump.c: core-<pid>.img (threads, signals, creds, seccomp) and, through mem-dump.c, the
 * memory images of one seized process. */
#define LOG_PREFIX "task-dump: "
#include "task/dump-core.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/elf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include "base/compat.h"
#include "core.pb-c.h"
#include "image-write.h"
#include "base/log.h"
#include "base/procfs.h"
#include "task/dump-attrs.h"
#include "task/dump-mm.h"
#include "task/dump-timers.h"
#include "task/inject.h"
#include "parasite/parasite-abi.h"
#include "task/mm-parse.h"
#include "task/parasite-ctl.h"
#include "task/seize.h"
#include "task/sigframe.h"
#include "base/util.h"

#define XSTATE_BUF_MAX (64u << 10)
#define SIGINFO_SIZE   128u
#define PEEK_BATCH     32
#define SECCOMP_MAX    64
/* the kernel's internal restart codes, visible in rax of a task stopped in a syscall */
#define ERESTARTSYS	      512
#define ERESTARTNOINTR	      513
#define ERESTARTNOHAND	      514
#define ERESTART_RESTARTBLOCK 516

struct thread_dump {
	ThreadCoreEntry e;
	struct user_regs_struct regs;
	uint8_t *xstate;
	size_t xstate_len;
	ProtobufCBinaryData *sigs;
	size_t n_sigs;
	char comm[32];
	struct dump_thread_attrs attrs;
};

/* The thread's name (PR_SET_NAME) from /proc/PID/task/TID/comm; empty if unreadable. */
static void read_thread_comm(pid_t pid, pid_t tid, char *comm, size_t size)
{
	char path[64];
	cleanup_close int fd = -EBADF;
	ssize_t n;

	comm[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, size - 1);
	if (n <= 0) {
		comm[0] = 0;
		return;
	}
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
}

/* (restorer.md §2 step 4) A thread stopped inside an interrupted syscall would have the kernel
 * restart it on the way out; rt_sigreturn at restore does no restart handling, so the image
 * holds the registers that re-execute the syscall, or -EINTR where the restart block is lost. */
static void fixup_syscall_restart(struct user_regs_struct *regs)
{
	if ((long)regs->orig_rax < 0)
		return;
	switch ((long)regs->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		regs->rax = regs->orig_rax;
		regs->rip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		/* poll() always leaves through its restart block, even without a timeout; with
		 * none (a negative one), running it again is exactly what the block would do.
		 * Programs such as tail -f take an EINTR from poll as fatal. */
		if (regs->orig_rax == SYS_poll && (int)regs->rdx < 0) {
			regs->rax = regs->orig_rax;
			regs->rip -= 2;
		} else {
			regs->rax = (unsigned long)-EINTR;
		}
		break;
	default:
		break;
	}
}

static int mem_pread(int mem_fd, void *buf, size_t len, uint64_t addr)
{
	ssize_t n = pread(mem_fd, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : -EFAULT;
}

/* If the thread stopped inside an rseq critical section, the kernel would have moved it to the
 * abort handler before it ran user code again; the image does the same. */
static void fixup_rseq_cs(pid_t tid, int mem_fd, uint64_t rseq_ptr, struct user_regs_struct *regs)
{
	struct {
		uint32_t version, flags;
		uint64_t start_ip, post_commit_offset, abort_ip;
	} cs;
	uint64_t cs_ptr;

	if (mem_pread(mem_fd, &cs_ptr, sizeof(cs_ptr), rseq_ptr + 8) < 0 || !cs_ptr)
		return;
	if (mem_pread(mem_fd, &cs, sizeof(cs), cs_ptr) < 0)
		return;
	if (regs->rip >= cs.start_ip && regs->rip - cs.start_ip < cs.post_commit_offset) {
		pr_debug("thread %d: rip 0x%llx in an rseq critical section, moved to 0x%" PRIx64,
			 (int)tid, regs->rip, cs.abort_ip);
		regs->rip = cs.abort_ip;
	}
}

static int peek_signals(pid_t tid, unsigned int flags, ProtobufCBinaryData **ret_sigs,
			size_t *ret_n)
{
	ProtobufCBinaryData *sigs = NULL;
	size_t n = 0;

	for (;;) {
		struct __ptrace_peeksiginfo_args args = {
		    .off = n, .flags = flags, .nr = PEEK_BATCH};
		uint8_t buf[PEEK_BATCH * SIGINFO_SIZE];
		ProtobufCBinaryData *bigger;
		long got = ptrace(PTRACE_PEEKSIGINFO, tid, &args, buf);

		if (got < 0) {
			free(sigs);
			return pr_errno("cannot read the pending signals of thread %d", (int)tid);
		}
		if (got == 0)
			break;
		bigger = realloc(sigs, (n + (size_t)got) * sizeof(*sigs));
		if (!bigger) {
			free(sigs);
			return pr_neg(-ENOMEM, "cannot allocate pending signals");
		}
		sigs = bigger;
		for (long i = 0; i < got; i++) {
			uint8_t *copy = malloc(SIGINFO_SIZE);

			if (!copy) {
				for (size_t j = 0; j < n; j++)
					free(sigs[j].data);
				free(sigs);
				return pr_neg(-ENOMEM, "cannot allocate pending signals");
			}
			memcpy(copy, buf + i * SIGINFO_SIZE, SIGINFO_SIZE);
			sigs[n].data = copy;
			sigs[n].len = SIGINFO_SIZE;
			n++;
		}
	}
	*ret_sigs = sigs;
	*ret_n = n;
	return 0;
}

static void free_signals(ProtobufCBinaryData *sigs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(sigs[i].data);
	free(sigs);
}

/* tid address and altstack of a secondary thread exist only inside it: inject the queries. */
static int query_thread_inside(pid_t tid, struct thread_dump *td)
{
	unsigned long args[6] = {0};
	cleanup(inject_freep) struct inject *inj = NULL;
	uint64_t tid_address = 0;
	stack_t ss;
	long value;
	int ret;

	ret = inject_prepare(tid, 0, &inj);
	if (ret < 0)
		return ret;
	args[0] = PR_GET_TID_ADDRESS;
	args[1] = INJECT_SCRATCH;
	ret = inject_syscall_buf(inj, __NR_prctl, args, &tid_address, sizeof(tid_address), &value);
	if (ret < 0)
		return ret;
	if (value < 0)
		return pr_neg((int)value, "cannot read the tid address of thread %d", (int)tid);
	memset(args, 0, sizeof(args));
	memset(&ss, 0, sizeof(ss));
	args[1] = INJECT_SCRATCH;
	ret = inject_syscall_buf(inj, __NR_sigaltstack, args, &ss, sizeof(ss), &value);
	if (ret < 0)
		return ret;
	ret = inject_cure(inj);
	if (ret < 0)
		return ret;
	if (value < 0)
		return pr_neg((int)value, "cannot read the altstack of thread %d", (int)tid);
	td->e.has_tid_address = true;
	td->e.tid_address = tid_address;
	td->e.has_altstack_sp = td->e.has_altstack_size = td->e.has_altstack_flags = true;
	td->e.altstack_sp = (uint64_t)ss.ss_sp;
	td->e.altstack_size = ss.ss_size;
	td->e.altstack_flags = ss.ss_flags;
	return 0;
}

static int read_xstate(pid_t tid, struct thread_dump *td)
{
	struct iovec iov;

	td->xstate = malloc(XSTATE_BUF_MAX);
	if (!td->xstate)
		return pr_neg(-ENOMEM, "cannot allocate an xstate buffer");
	iov.iov_base = td->xstate;
	iov.iov_len = XSTATE_BUF_MAX;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return pr_errno("cannot read the xstate of thread %d", (int)tid);
	td->xstate_len = iov.iov_len;
	return 0;
}

static int dump_thread(pid_t tid, int mem_fd, struct parasite_ctl *ctl,
		       const struct parasite_task_state *state, bool is_main,
		       struct thread_dump *td)
{
	struct minicr_rseq_configuration rseq = {0};
	uint64_t head = 0;
	size_t len = 0;
	long ret;

	thread_core_entry__init(&td->e);
	td->e.tid = tid;
	read_thread_comm(tid, tid, td->comm, sizeof(td->comm)); /* /proc/TID resolves threads too */
	if (ptrace(PTRACE_GETREGS, tid, 0, &td->regs) < 0)
		return pr_errno("cannot read the registers of thread %d (is it stopped?)",
				(int)tid);
	if (is_main) {
		const void *xs = parasite_ctl_saved_xstate(ctl, &td->xstate_len);

		/* what the thread had before minicr injected anything */
		td->regs = *parasite_ctl_saved_regs(ctl);
		td->xstate = malloc(td->xstate_len);
		if (!td->xstate)
			return pr_neg(-ENOMEM, "cannot allocate an xstate buffer");
		memcpy(td->xstate, xs, td->xstate_len);
		td->e.has_sigmask = true;
		td->e.sigmask = parasite_ctl_saved_sigmask(ctl);
		td->e.has_tid_address = true;
		td->e.tid_address = state->tid_address;
		td->e.has_altstack_sp = td->e.has_altstack_size = td->e.has_altstack_flags = true;
		td->e.altstack_sp = state->altstack_sp;
		td->e.altstack_size = state->altstack_size;
		td->e.altstack_flags = state->altstack_flags;
	} else {
		uint64_t mask;

		ret = read_xstate(tid, td);
		if (ret < 0)
			return (int)ret;
		if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(mask), &mask) < 0)
			return pr_errno("cannot read the signal mask of thread %d", (int)tid);
		td->e.has_sigmask = true;
		td->e.sigmask = mask;
		ret = query_thread_inside(tid, td);
		if (ret < 0)
			return (int)ret;
	}
	if (td->xstate_len < SIGFRAME_XSTATE_MIN) {
		pr_err("cannot dump thread %d: xstate of %zu bytes is too small", (int)tid,
		       td->xstate_len);
		return -EINVAL;
	}
	fixup_syscall_restart(&td->regs);

	ret = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rseq), &rseq);
	if (ret < 0 && errno != EIO && errno != EINVAL)
		return pr_errno("cannot read the rseq configuration of thread %d", (int)tid);
	if (ret > 0 && rseq.rseq_abi_pointer) {
		td->e.has_rseq_abi_pointer = td->e.has_rseq_abi_size = true;
		td->e.has_rseq_signature = td->e.has_rseq_flags = true;
		td->e.rseq_abi_pointer = rseq.rseq_abi_pointer;
		td->e.rseq_abi_size = rseq.rseq_abi_size;
		td->e.rseq_signature = rseq.signature;
		td->e.rseq_flags = rseq.flags;
		fixup_rseq_cs(tid, mem_fd, rseq.rseq_abi_pointer, &td->regs);
	}
	if (syscall(SYS_get_robust_list, tid, &head, &len) < 0)
		return pr_errno("cannot read the robust list of thread %d", (int)tid);
	td->e.has_robust_list = td->e.has_robust_list_len = true;
	td->e.robust_list = head;
	td->e.robust_list_len = len;

	ret = peek_signals(tid, 0, &td->sigs, &td->n_sigs);
	if (ret < 0)
		return (int)ret;
	td->e.n_pending_signals = td->n_sigs;
	td->e.pending_signals = td->sigs;

	td->e.comm = td->comm;
	td->e.has_fs_base = td->e.has_gs_base = true;
	td->e.fs_base = td->regs.fs_base;
	td->e.gs_base = td->regs.gs_base;
	td->e.has_gpregs = td->e.has_xstate = true;
	td->e.gpregs.data = (uint8_t *)&td->regs;
	td->e.gpregs.len = sizeof(td->regs);
	td->e.xstate.data = td->xstate;
	td->e.xstate.len = td->xstate_len;
	return 0;
}

static int read_creds(pid_t pid, struct procfs_status *creds)
{
	int ret = procfs_read_status(pid, creds);

	if (ret < 0)
		return pr_neg(ret, "cannot read /proc/%d/status", (int)pid);
	return 0;
}

/* Every resource limit, as /proc/PID/limits lists them (RLIMIT_* order). */
static int read_rlimits(pid_t pid, RlimitEntry *entries, RlimitEntry **ptrs, size_t *ret_n)
{
	struct procfs_limits l;
	int ret = procfs_read_limits(pid, &l);

	if (ret < 0)
		return pr_neg(ret, "cannot read /proc/%d/limits", (int)pid);
	for (size_t i = 0; i < l.n; i++) {
		rlimit_entry__init(&entries[i]);
		entries[i].resource = (uint32_t)i;
		entries[i].has_cur = entries[i].has_max = true;
		entries[i].cur = l.cur[i];
		entries[i].max = l.max[i];
		ptrs[i] = &entries[i];
	}
	*ret_n = l.n;
	return 0;
}

/* Filters oldest first; PTRACE_SECCOMP_GET_FILTER counts from the newest (index 0). */
static int dump_seccomp(pid_t pid, ProtobufCBinaryData *filters, size_t *ret_n)
{
	size_t n = 0;

	while (n < SECCOMP_MAX) {
		long count = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)n, NULL);

		if (count < 0) {
			if (errno == ENOENT)
				break;
			return pr_errno("cannot read seccomp filter %zu of task %d", n, (int)pid);
		}
		filters[n].len = (size_t)count * 8;
		filters[n].data = malloc(filters[n].len);
		if (!filters[n].data)
			return pr_neg(-ENOMEM, "cannot allocate a seccomp filter");
		n++;
		*ret_n = n;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)(n - 1), filters[n - 1].data) !=
		    count)
			return pr_errno("cannot read seccomp filter %zu of task %d", n - 1,
					(int)pid);
	}
	if (n == SECCOMP_MAX) {
		pr_err("cannot dump task %d: more than %d seccomp filters", (int)pid, SECCOMP_MAX);
		return -E2BIG;
	}
	/* reverse into install order */
	for (size_t i = 0; i < n / 2; i++) {
		ProtobufCBinaryData t = filters[i];

		filters[i] = filters[n - 1 - i];
		filters[n - 1 - i] = t;
	}
	return 0;
}

static int check_supported(pid_t pid, const struct procfs_status *creds)
{
	if (creds->has_shadow_stack) {
		pr_err("cannot dump task %d: it uses a shadow stack (not supported)", (int)pid);
		return -ENOTSUP;
	}
	if (creds->seccomp_mode == 1) {
		pr_err("cannot dump task %d: it runs in strict seccomp mode (not supported)",
		       (int)pid);
		return -ENOTSUP;
	}
	return 0;
}

int task_dump_running(const struct seize_task *task, const struct parasite_task_state *state,
		      TaskCoreEntry *core)
{
	task_core_entry__init(core);
	if (task->n_tids == 0 || task->is_zombie) {
		pr_err("cannot dump task %d: it has no live threads", (int)task->pid);
		return -ESRCH;
	}
	return dump_attrs_process(task->pid, state, core);
}

int task_dump(int img_dirfd, const struct seize_task *task, struct parasite_ctl *ctl,
	      const struct parasite_task_state *state, TaskCoreEntry *core,
	      const uint64_t own_special_sizes[3])
{
	pid_t pid = task->pid;
	cleanup_free struct thread_dump *threads = NULL;
	cleanup_free ThreadCoreEntry **thread_ptrs = NULL;
	SigactionEntry sigactions[PARASITE_NSIG], *sigaction_ptrs[PARASITE_NSIG];
	RlimitEntry rlimits[PROCFS_NLIMITS], *rlimit_ptrs[PROCFS_NLIMITS];
	ProtobufCBinaryData filters[SECCOMP_MAX];
	ProtobufCBinaryData *shared = NULL;
	CredsEntry creds_e = CREDS_ENTRY__INIT;
	struct dump_timers timers = {0};
	struct procfs_status creds;
	char exe[PATH_MAX], path[64];
	size_t n_filters = 0, n_shared = 0, n_threads = 0, n_rlimits = 0;
	cleanup_close int mem_fd = -EBADF;
	ssize_t len;
	int ret;

	/* ptrace queries (rseq, pending signals) need the main thread in a ptrace stop, and the
	 * memory image must not hold the parasite: cure first (idempotent; ctl keeps the state
	 * saved before minicr touched the task) */
	ret = parasite_ctl_cure(ctl);
	if (ret < 0)
		return ret;
	ret = read_creds(pid, &creds);
	if (ret < 0)
		return ret;
	ret = check_supported(pid, &creds);
	if (ret < 0)
		return ret;
	ret = read_rlimits(pid, rlimits, rlimit_ptrs, &n_rlimits);
	if (ret < 0)
		return ret;
	/* before the pending signals are read: a timer that fires in between is found armed and
	 * with its signal pending, which dump_timers_take_signals() sorts out; read after them,
	 * it would be found disarmed with no signal, and lost */
	ret = dump_timers_read(pid, state, task->tids, task->n_tids, core, &timers);
	if (ret < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0) {
		ret = pr_errno("cannot open '%s'", path);
		goto out;
	}

	threads = calloc(task->n_tids, sizeof(*threads));
	thread_ptrs = calloc(task->n_tids, sizeof(*thread_ptrs));
	if (!threads || !thread_ptrs) {
		ret = pr_neg(-ENOMEM, "cannot allocate the threads of task %d", (int)pid);
		goto out;
	}
	/* main thread first, then the others in tid order */
	ret = dump_thread(pid, mem_fd, ctl, state, true, &threads[0]);
	n_threads = 1;
	for (size_t i = 0; i < task->n_tids && ret == 0; i++) {
		if (task->tids[i] == pid)
			continue;
		ret = dump_thread(task->tids[i], mem_fd, ctl, state, false, &threads[n_threads]);
		n_threads++;
	}
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < n_threads; i++) {
		ret = dump_attrs_thread(pid, threads[i].e.tid, &threads[i].e, &threads[i].attrs);
		if (ret < 0)
			goto out;
		thread_ptrs[i] = &threads[i].e;
		if (threads[i].xstate_len != threads[0].xstate_len) {
			pr_err("cannot dump task %d: threads have xstates of different sizes",
			       (int)pid);
			ret = -EINVAL;
			goto out;
		}
	}
	ret = peek_signals(pid, PTRACE_PEEKSIGINFO_SHARED, &shared, &n_shared);
	if (ret < 0)
		goto out;
	if (creds.seccomp_mode == 2) {
		ret = dump_seccomp(pid, filters, &n_filters);
		if (ret < 0)
			goto out;
	}

	for (int sig = 1; sig <= PARASITE_NSIG; sig++) {
		const struct parasite_sigaction *sa = &state->sigactions[sig - 1];
		SigactionEntry *e = &sigactions[sig - 1];

		sigaction_entry__init(e);
		e->signo = (uint32_t)sig;
		e->has_handler = e->has_flags = e->has_restorer = e->has_mask = true;
		e->handler = sa->handler;
		e->flags = sa->flags;
		e->restorer = sa->restorer;
		e->mask = sa->mask;
		sigaction_ptrs[sig - 1] = e;
	}
	creds_e.n_uids = 4;
	creds_e.uids = creds.uids;
	creds_e.n_gids = 4;
	creds_e.gids = creds.gids;
	creds_e.n_groups = creds.n_groups;
	creds_e.groups = creds.groups;
	creds_e.has_cap_inh = creds_e.has_cap_prm = creds_e.has_cap_eff = true;
	creds_e.has_cap_bnd = creds_e.has_cap_amb = true;
	creds_e.cap_inh = creds.cap_inh;
	creds_e.cap_prm = creds.cap_prm;
	creds_e.cap_eff = creds.cap_eff;
	creds_e.cap_bnd = creds.cap_bnd;
	creds_e.cap_amb = creds.cap_amb;
	creds_e.has_securebits = creds_e.has_no_new_privs = true;
	creds_e.securebits = (uint32_t)state->securebits;
	creds_e.no_new_privs = creds.no_new_privs;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len < 0) {
		ret = pr_errno("cannot read '%s'", path);
		goto out;
	}
	exe[len] = 0;

	core->pid = pid;
	core->n_sigactions = PARASITE_NSIG;
	core->sigactions = sigaction_ptrs;
	core->creds = &creds_e;
	core->exe = exe;
	core->comm = (char *)task->comm;
	core->n_seccomp_filters = n_filters;
	core->seccomp_filters = filters;
	core->has_personality = true;
	core->personality = state->personality;
	core->n_threads = n_threads;
	core->threads = thread_ptrs;
	core->n_shared_pending_signals = n_shared;
	core->shared_pending_signals = shared;
	core->has_dumpable = core->has_pdeathsig = core->has_child_subreaper = core->has_umask =
	    true;
	core->dumpable = state->dumpable;
	core->pdeathsig = state->pdeathsig;
	core->child_subreaper = state->child_subreaper > 0;
	core->umask = state->umask;
	core->n_rlimits = n_rlimits;
	core->rlimits = rlimit_ptrs;
	core->has_group_stopped = true;
	core->group_stopped = task->was_stopped;
	core->has_xfeatures = core->has_xstate_size = true;
	core->xfeatures = sigframe_xstate_xfeatures(threads[0].xstate, threads[0].xstate_len);
	core->xstate_size = (uint32_t)threads[0].xstate_len;
	dump_timers_take_signals(pid, &timers, core);
	ret = image_write_single(img_dirfd, IMAGE_CORE, (uint64_t)pid, &core->base);
	if (ret < 0)
		goto out;
	ret = mem_dump(img_dirfd, pid, state->brk, own_special_sizes);
out:
	for (size_t i = 0; i < n_threads; i++) {
		free(threads[i].xstate);
		free_signals(threads[i].sigs, threads[i].n_sigs);
		dump_attrs_thread_free(&threads[i].attrs);
	}
	free_signals(shared, n_shared);
	dump_timers_free(&timers);
	for (size_t i = 0; i < n_filters; i++)
		free(filters[i].data);
	return ret;
}
