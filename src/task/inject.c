/* inject.c: system calls run inside a seized thread through its own code, on a frame of its saved
 * state, so that minicr may die at any instant. */
#define LOG_PREFIX "inject: "
#include "task/inject.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/util.h"
#include "task/gadget-cache.h"
#include "task/gadget-scan.h"
#include "task/mm-parse.h"
#include "task/sigframe.h"
#include "task/xstate.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif

#define PAGE_BYTES 4096UL
#define RED_ZONE   128UL
#define XSTATE_MAX (64 * 1024)
#define SCAN_CHUNK (256 * 1024)
#define USER_CS	   0x33 /* __USER_CS: the sequences are 64-bit code */
/* A signal that reaches the thread while it runs the injected call, in the instant between
 * minicr setting its registers and blocking its signals, gets a kernel frame below the stack
 * pointer (the xstate of an AMX task included): keep the caller's area clear of it. */
#define SIGNAL_GAP (16UL * 1024)
/* the kernel's restart codes, visible in rax of a thread stopped in a syscall */
#define ERESTARTSYS	      512
#define ERESTARTNOINTR	      513
#define ERESTARTNOHAND	      514
#define ERESTART_RESTARTBLOCK 516
/* ss_flags that rt_sigreturn's altstack step rejects, and then ignores: it leaves the thread's
 * altstack as it is (only a fault reading the frame would fail rt_sigreturn). */
#define ALTSTACK_UNCHANGED (SS_ONSTACK | SS_DISABLE)

struct inject {
	pid_t tid;
	int mem_fd;
	struct user_regs_struct saved_regs;
	void *saved_xstate;
	size_t xstate_len;
	uint64_t saved_sigmask;
	uint64_t gadgets[GADGET_KINDS];

	/* below the red zone, from high to low: frame, continuation slot, scratch, area */
	struct xstate_frame_layout layout; /* of the frame's xstate */
	uint64_t frame_addr;
	size_t frame_len;
	uint64_t slot_addr;
	uint64_t scratch_addr;
	uint64_t area_addr;
	size_t area_len;
	uint32_t area_prot;
	uint64_t zone_lo, zone_hi; /* the bytes saved and put back */
	/* [zone_lo, fresh_hi): pages of the zone the task never touched (neither present nor
	 * swapped). Their bytes are neither read nor written back: the cure empties them again
	 * with MADV_DONTNEED, so neither the task nor its memory image keeps what minicr wrote. */
	uint64_t fresh_hi;
	uint8_t *zone_saved; /* the bytes of [zone_lo, zone_hi), read from fresh_hi on */

	bool is_frame_written;
	bool is_zone_dirty; /* the stack bytes must be put back */
	bool is_regs_changed;
	bool is_sigmask_changed;
	bool is_running;
	int stop_sig;	    /* the signal the running code stopped on */
	char call_name[40]; /* of the injected call under way, for log lines */
};

/* ---- memory ---------------------------------------------------------------------------------- */

int inject_write(struct inject *inj, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n;

	if (addr < inj->zone_hi && addr + len > inj->zone_lo)
		inj->is_zone_dirty = true;
	n = pwrite(inj->mem_fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return pr_errno("cannot write %zu bytes at %#" PRIx64 " of thread %d", len, addr, inj->tid);
}

int inject_read(struct inject *inj, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(inj->mem_fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return pr_errno("cannot read %zu bytes at %#" PRIx64 " of thread %d", len, addr, inj->tid);
}

/* ---- preparing: state, code sequences, stack room -------------------------------------------- */

static int save_state(struct inject *inj)
{
	struct iovec iov;
	void *xstate;

	if (ptrace(PTRACE_GETREGS, inj->tid, 0, &inj->saved_regs) < 0)
		return pr_errno("cannot get registers of thread %d", inj->tid);
	if (inj->saved_regs.cs != USER_CS) {
		pr_err("thread %d does not run 64-bit code (cs %#llx)", inj->tid,
		       inj->saved_regs.cs);
		return -EOPNOTSUPP;
	}
	xstate = malloc(XSTATE_MAX);
	if (!xstate)
		return -ENOMEM;
	iov.iov_base = xstate;
	iov.iov_len = XSTATE_MAX;
	if (ptrace(PTRACE_GETREGSET, inj->tid, (void *)NT_X86_XSTATE, &iov) < 0) {
		int ret = pr_errno("cannot get xstate of thread %d", inj->tid);

		free(xstate);
		return ret;
	}
	inj->saved_xstate = realloc(xstate, iov.iov_len) ?: xstate;
	inj->xstate_len = iov.iov_len;
	if (ptrace(PTRACE_GETSIGMASK, inj->tid, sizeof(uint64_t), &inj->saved_sigmask) < 0)
		return pr_errno("cannot get signal mask of thread %d", inj->tid);
	return 0;
}

/* Executable mappings in the order worth scanning: the vDSO (small, and it has the
 * `syscall; ret` on recent kernels), then C libraries, then the rest. */
static int scan_rank(const struct mm_vma *v)
{
	const char *base = strrchr(v->path, '/');

	if (!strcmp(v->path, "[vdso]"))
		return 0;
	base = base ? base + 1 : v->path;
	if (!strncmp(base, "libc", 4) || !strncmp(base, "ld-musl", 7))
		return 1;
	return 2;
}

/* Scans v alone into found (zeroed first). True if the scan is complete: every kind found, or
 * every byte read. */
static bool scan_mapping(struct inject *inj, const struct mm_vma *v, uint8_t *buf,
			 uint64_t found[GADGET_KINDS])
{
	memset(found, 0, GADGET_KINDS * sizeof(found[0]));
	for (uint64_t at = v->start; at < v->end;) {
		size_t len = v->end - at < SCAN_CHUNK ? v->end - at : SCAN_CHUNK;
		ssize_t n = pread(inj->mem_fd, buf, len, (off_t)at);

		if (n <= 0)
			return false; /* unreadable (e.g. execute-only): try the next mapping */
		if (!gadget_scan(buf, (size_t)n, at, found))
			return true;
		if ((size_t)n < len)
			return false;
		if (at + (uint64_t)n >= v->end)
			return true;
		at += (uint64_t)n - GADGET_MAX_LEN; /* overlap: a sequence across chunks */
	}
	return true;
}

/* The sequences another task's scan found, read back in this one: it may have written to its
 * own copy of the code. */
static bool still_there(struct inject *inj, const uint64_t found[GADGET_KINDS])
{
	for (int k = 0; k < GADGET_KINDS; k++) {
		uint8_t code[GADGET_MAX_LEN];
		ssize_t n;

		if (!found[k])
			continue;
		n = pread(inj->mem_fd, code, sizeof(code), (off_t)found[k]);
		if (n <= 0 || !gadget_is_valid((enum gadget_kind)k, code, (size_t)n))
			return false;
	}
	return true;
}

/* What v holds: an earlier task's scan of the same mapping if it still holds, else a scan. */
static int recall_or_scan(struct inject *inj, const struct mm_vma *v, uint8_t **buf,
			  uint64_t found[GADGET_KINDS])
{
	if (gadget_cache_find(v, found) && still_there(inj, found))
		return 0;
	if (!*buf) {
		*buf = malloc(SCAN_CHUNK);
		if (!*buf)
			return -ENOMEM;
	}
	if (scan_mapping(inj, v, *buf, found))
		gadget_cache_store(v, found);
	return 0;
}

static int find_gadgets(struct inject *inj, const struct mm_vma *vmas, size_t n_vmas)
{
	cleanup_free uint8_t *buf = NULL;

	for (int rank = 0; rank <= 2; rank++)
		for (size_t i = 0; i < n_vmas; i++) {
			const struct mm_vma *v = &vmas[i];
			uint64_t found[GADGET_KINDS];
			int missing = 0, ret;

			if (!(v->prot & PROT_EXEC) || v->is_shared || scan_rank(v) != rank)
				continue;
			ret = recall_or_scan(inj, v, &buf, found);
			if (ret < 0)
				return ret;
			for (int k = 0; k < GADGET_KINDS; k++) {
				if (!inj->gadgets[k])
					inj->gadgets[k] = found[k];
				missing += !inj->gadgets[k];
			}
			if (!missing)
				return 0;
		}
	for (int k = 0; k < GADGET_KINDS; k++)
		if (!inj->gadgets[k]) {
			pr_err("thread %d: no '%s' instruction sequence in its executable mappings "
			       "to run injected syscalls through (a static binary without signal "
			       "handling?)",
			       inj->tid, gadget_kind_name((enum gadget_kind)k));
			return -ENOEXEC;
		}
	return 0;
}

/* The stack below the red zone is free only in a real stack: [stack], or a thread stack, which
 * has a guard page right below it. A stack pointer elsewhere (a coroutine stack inside heap
 * memory) may have live data below it. */
static const struct mm_vma *find_stack(const struct mm_vma *vmas, size_t n_vmas, uint64_t sp)
{
	for (size_t i = 0; i < n_vmas; i++) {
		const struct mm_vma *v = &vmas[i];
		bool has_guard;

		if (sp < v->start || sp >= v->end)
			continue;
		if (v->is_shared ||
		    (v->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
			return NULL;
		if (!strcmp(v->path, "[stack]"))
			return v;
		has_guard = i > 0 && vmas[i - 1].end == v->start && vmas[i - 1].prot == 0;
		return !v->path[0] && has_guard ? v : NULL;
	}
	return NULL;
}

/* The end of the run of untouched pages at the bottom of the zone, below the scratch, slot and
 * frame (which injected calls use up to the end of the cure); zone_lo when there is none, or
 * when pagemap cannot tell. */
static uint64_t fresh_pages_end(const struct inject *inj)
{
	uint64_t entries[32], end = inj->zone_lo, limit = inj->scratch_addr & ~(PAGE_BYTES - 1);
	cleanup_close int fd = -EBADF;
	char path[64];
	size_t n;
	ssize_t got;

	if ((inj->zone_lo & (PAGE_BYTES - 1)) || limit <= inj->zone_lo)
		return inj->zone_lo;
	n = (limit - inj->zone_lo) / PAGE_BYTES;
	if (n > sizeof(entries) / sizeof(entries[0]))
		n = sizeof(entries) / sizeof(entries[0]);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)inj->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return inj->zone_lo;
	got = pread(fd, entries, n * sizeof(entries[0]),
		    (off_t)(inj->zone_lo / PAGE_BYTES * sizeof(entries[0])));
	if (got != (ssize_t)(n * sizeof(entries[0])))
		return inj->zone_lo;
	for (size_t i = 0; i < n && !(entries[i] & (PME_PRESENT | PME_SWAP)); i++)
		end += PAGE_BYTES;
	return end;
}

static int reserve_zone(struct inject *inj, const struct mm_vma *vmas, size_t n_vmas,
			size_t area_len)
{
	const struct mm_vma *stack;
	uint64_t sp = inj->saved_regs.rsp, top;

	stack = find_stack(vmas, n_vmas, sp);
	if (!stack) {
		pr_err("thread %d: its stack pointer %#" PRIx64 " is not in a stack mapping, where "
		       "minicr could use the room below it",
		       inj->tid, sp);
		return -ENOTSUP;
	}
	xstate_frame_layout_of_task(inj->saved_xstate, inj->xstate_len, &inj->layout);
	inj->frame_len = sigframe_size(inj->layout.len);
	if (!inj->frame_len) {
		pr_err("thread %d: xstate of %zu bytes does not fit a signal frame", inj->tid,
		       inj->xstate_len);
		return -EINVAL;
	}
	top = (sp - RED_ZONE) & ~63UL;
	inj->frame_addr = (top - inj->frame_len) & ~63UL;
	inj->slot_addr = inj->frame_addr - 16;
	inj->scratch_addr = (inj->slot_addr - INJECT_SCRATCH_MAX) & ~15UL;
	inj->zone_hi = inj->frame_addr + inj->frame_len;
	inj->zone_lo = inj->scratch_addr;
	if (area_len) {
		inj->area_len = (area_len + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
		inj->area_addr =
		    ((inj->slot_addr - SIGNAL_GAP) & ~(PAGE_BYTES - 1)) - inj->area_len;
		inj->area_prot = stack->prot;
		inj->zone_lo = inj->area_addr;
	}
	if (inj->zone_lo < stack->start || inj->zone_lo > sp) {
		pr_err("thread %d: its stack has %" PRIu64 " bytes below the stack pointer, minicr "
		       "needs %" PRIu64,
		       inj->tid, sp - stack->start, sp - inj->zone_lo);
		return -ENOSPC;
	}
	inj->zone_saved = calloc(1, inj->zone_hi - inj->zone_lo);
	if (!inj->zone_saved)
		return -ENOMEM;
	inj->fresh_hi = fresh_pages_end(inj);
	return inject_read(inj, inj->fresh_hi, inj->zone_saved + (inj->fresh_hi - inj->zone_lo),
			   inj->zone_hi - inj->fresh_hi);
}

static int inspect_mappings(struct inject *inj, size_t area_len)
{
	cleanup_free struct mm_vma *vmas = NULL;
	cleanup_free char *text = NULL;
	size_t n_vmas = 0;
	char path[64];
	ssize_t len;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)inj->tid);
	len = read_file_at(AT_FDCWD, path, &text);
	if (len < 0)
		return pr_neg((int)len, "cannot read '%s'", path);
	ret = mm_parse_smaps(text, &vmas, &n_vmas);
	if (ret < 0)
		return pr_neg(ret, "cannot parse '%s'", path);
	ret = find_gadgets(inj, vmas, n_vmas);
	if (ret < 0)
		return ret;
	return reserve_zone(inj, vmas, n_vmas, area_len);
}

/* The frame that puts the thread back: its registers as it will run them, its xstate in the
 * layout its kernel state accepts, its signal mask; the altstack is left as it is. The return
 * address slot at its start holds the rt_sigreturn sequence, so a `ret` with rsp at the frame
 * lands there with rsp where rt_sigreturn looks for the frame.
 * rt_sigreturn does no syscall restart, and the kernel decides a restart only when it returns
 * from the interrupted call itself, knowing whether a signal handler runs: the frame decides
 * once for all. A call the kernel restarts whatever happens (-ERESTARTNOINTR) or unless a
 * handler without SA_RESTART runs (-ERESTARTSYS) runs again: as if a signal that arrives in
 * that instant had come just before the call. A call that any handler interrupts
 * (-ERESTARTNOHAND: pause, sigsuspend, poll, select) returns EINTR, which its callers handle,
 * rather than wait on after the handler ran; a restart block (nanosleep, futex waits) is lost
 * with rt_sigreturn, so the sleep returns EINTR (with the time left already written). */
static void fix_up_restart(struct user_regs_struct *regs)
{
	if ((long)regs->orig_rax < 0)
		return;
	switch ((long)regs->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
		regs->rax = regs->orig_rax;
		regs->rip -= 2;
		break;
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		regs->rax = (unsigned long)-EINTR;
		break;
	default:
		break;
	}
}

static int write_frame(struct inject *inj)
{
	struct sigframe_altstack altstack = {.flags = ALTSTACK_UNCHANGED};
	struct user_regs_struct regs = inj->saved_regs;
	cleanup_free void *buf = NULL;
	uint64_t rsp;
	int ret;

	fix_up_restart(&regs);
	buf = aligned_alloc(64, inj->frame_len);
	if (!buf)
		return -ENOMEM;
	ret = sigframe_build(buf, inj->frame_addr, &regs, inj->saved_xstate, inj->layout.len,
			     inj->layout.features, inj->saved_sigmask, &altstack, &rsp);
	if (ret < 0)
		return pr_neg(ret, "cannot build the signal frame of thread %d", inj->tid);
	memcpy(buf, &inj->gadgets[GADGET_SIGRETURN], sizeof(uint64_t));
	ret = inject_write(inj, inj->frame_addr, buf, inj->frame_len);
	if (ret < 0)
		return ret;
	inj->is_frame_written = true;
	return 0;
}

/* Reads each sequence back: the thread is stopped, but a debugger's breakpoint or a JIT could
 * have rewritten the bytes since the scan. */
static int check_gadgets(struct inject *inj)
{
	for (int k = 0; k < GADGET_KINDS; k++) {
		uint8_t code[GADGET_MAX_LEN];
		int ret = inject_read(inj, inj->gadgets[k], code, sizeof(code));

		if (ret < 0)
			return ret;
		if (!gadget_is_valid((enum gadget_kind)k, code, sizeof(code))) {
			pr_err("thread %d: the '%s' sequence at %#" PRIx64 " changed", inj->tid,
			       gadget_kind_name((enum gadget_kind)k), inj->gadgets[k]);
			return -EAGAIN;
		}
	}
	return 0;
}

int inject_prepare(pid_t tid, size_t area_len, struct inject **ret_inj)
{
	cleanup(inject_freep) struct inject *inj = NULL;
	char path[64];
	int ret;

	inj = calloc(1, sizeof(*inj));
	if (!inj)
		return -ENOMEM;
	inj->tid = tid;
	inj->mem_fd = -EBADF;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
	inj->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (inj->mem_fd < 0)
		return pr_errno("cannot open %s", path);
	ret = save_state(inj);
	if (ret < 0)
		return ret;
	ret = inspect_mappings(inj, area_len);
	if (ret < 0)
		return ret;
	pr_debug("thread %d: syscall-ret at %#" PRIx64 ", sigreturn at %#" PRIx64
		 ", frame at %#" PRIx64 ", %" PRIu64 " stack bytes used",
		 tid, inj->gadgets[GADGET_SYSCALL_RET], inj->gadgets[GADGET_SIGRETURN],
		 inj->frame_addr, inj->zone_hi - inj->zone_lo);
	*ret_inj = TAKE_PTR(inj);
	return 0;
}

/* ---- running the call ------------------------------------------------------------------------ */

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Under PTRACE_O_TRACESYSGOOD (seize.c) a syscall stop reports SIGTRAP | 0x80. */
static bool is_syscall_stop(int sig)
{
	return sig == (SIGTRAP | 0x80);
}

enum wait_for {
	WAIT_SYSCALL_ENTRY, /* resumed with PTRACE_SYSCALL */
	WAIT_INTERRUPT,	    /* resumed with PTRACE_CONT after PTRACE_INTERRUPT */
	WAIT_RUNNING,	    /* resumed with PTRACE_CONT: any stop of its own ends the code */
};

/* Classifies one wait status. Returns 0 if the thread stopped where wanted, 1 if it was resumed
 * again (a job-control stop or signal passed through), or -errno (logged). */
static int handle_status(struct inject *inj, int status, enum wait_for want, const char *what)
{
	int request = want == WAIT_SYSCALL_ENTRY ? PTRACE_SYSCALL : PTRACE_CONT;
	int event = status >> 16, sig;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		pr_err("thread %d died while running %s (status %#x)", inj->tid, what, status);
		inj->is_running = false;
		return -ESRCH;
	}
	if (!WIFSTOPPED(status))
		return 1;
	sig = WSTOPSIG(status);
	if (event == PTRACE_EVENT_STOP) {
		/* our interrupt, or a group stop: stopped either way */
		if (want == WAIT_INTERRUPT)
			return 0;
		/* with PTRACE_SEIZE the group stays stopped and the thread re-stops at detach,
		 * so let the call finish first */
		if (ptrace(request, inj->tid, 0, 0) < 0)
			return pr_errno("cannot resume thread %d", inj->tid);
		return 1;
	}
	if (event != 0) {
		if (ptrace(request, inj->tid, 0, 0) < 0)
			return pr_errno("cannot resume thread %d", inj->tid);
		return 1;
	}
	if (want == WAIT_SYSCALL_ENTRY && is_syscall_stop(sig))
		return 0;
	if (is_stop_signal(sig)) {
		if (ptrace(request, inj->tid, 0, sig) < 0)
			return pr_errno("cannot resume thread %d", inj->tid);
		return 1;
	}
	/* every other signal is blocked: the code that ran raised this one */
	inj->is_running = false;
	inj->stop_sig = sig;
	if (want != WAIT_RUNNING) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_GETREGS, inj->tid, 0, &regs) < 0)
			regs.rip = 0;
		pr_err("%s in thread %d stopped with signal %d (%s) at %#llx", what, inj->tid, sig,
		       strsignal(sig), regs.rip);
	}
	return -EFAULT;
}

static int wait_stop(struct inject *inj, enum wait_for want, const char *what)
{
	for (;;) {
		int status, ret;

		if (waitpid(inj->tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return pr_errno("cannot wait for thread %d", inj->tid);
		}
		ret = handle_status(inj, status, want, what);
		if (ret <= 0)
			return ret;
	}
}

/* Keeps signals from running the task's handlers while injected code runs. SIGKILL and SIGSTOP
 * stay deliverable (the kernel ignores them in the mask). Called after the registers are set:
 * should minicr die in between, the thread is on its way into the frame, which puts the mask
 * back anyway, rather than in its own code with every signal blocked. */
static int block_signals(struct inject *inj)
{
	uint64_t all = ~0ULL;

	if (inj->is_sigmask_changed)
		return 0;
	if (ptrace(PTRACE_SETSIGMASK, inj->tid, sizeof(uint64_t), &all) < 0)
		return pr_errno("cannot block signals of thread %d", inj->tid);
	inj->is_sigmask_changed = true;
	return 0;
}

/* Sets the registers, then blocks signals (block_signals() says why in that order), then lets
 * the thread go with request (PTRACE_SYSCALL or PTRACE_CONT). */
static int resume_with(struct inject *inj, const struct user_regs_struct *regs, int request)
{
	int ret;

	if (ptrace(PTRACE_SETREGS, inj->tid, 0, regs) < 0)
		return pr_errno("cannot set registers of thread %d", inj->tid);
	inj->is_regs_changed = true;
	ret = block_signals(inj);
	if (ret < 0)
		return ret;
	if (ptrace(request, inj->tid, 0, 0) < 0)
		return pr_errno("cannot resume thread %d", inj->tid);
	return 0;
}

static const char *syscall_name(long nr, char *buf, size_t size)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);

	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "syscall %ld", nr);
	free(name);
	return buf;
}

/* Sets up the thread to run the call and lets it go with PTRACE_SYSCALL, without waiting. */
static int begin_call(struct inject *inj, long nr, const unsigned long args[6], uint64_t cont)
{
	struct user_regs_struct regs = inj->saved_regs;
	int ret;

	if (inj->is_running) {
		pr_err("cannot inject a syscall into thread %d while it runs injected code",
		       inj->tid);
		return -EBUSY;
	}
	syscall_name(nr, inj->call_name, sizeof(inj->call_name));
	ret = check_gadgets(inj);
	if (ret < 0)
		return ret;
	if (!inj->is_frame_written) {
		ret = write_frame(inj);
		if (ret < 0)
			return ret;
	}
	regs.rsp = inj->frame_addr;
	if (cont != INJECT_CONT_SIGRETURN) {
		ret = inject_write(inj, inj->slot_addr, &cont, sizeof(cont));
		if (ret < 0)
			return ret;
		regs.rsp = inj->slot_addr;
	}
	regs.rip = inj->gadgets[GADGET_SYSCALL_RET];
	regs.rax = (unsigned long)nr;
	regs.orig_rax = (unsigned long)-1; /* no syscall-restart fix-up on the way out */
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	return resume_with(inj, &regs, PTRACE_SYSCALL);
}

/* Waits for the call's entry and lets the call run. The interrupt stops the thread on its way
 * out of the call, before the `ret`: in the kernel's signal path, like the stop seize_tree()
 * left it in. */
static int enter_call(struct inject *inj)
{
	int ret = wait_stop(inj, WAIT_SYSCALL_ENTRY, inj->call_name);

	if (ret < 0)
		return ret;
	if (ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0) < 0)
		return pr_errno("cannot interrupt thread %d", inj->tid);
	if (ptrace(PTRACE_CONT, inj->tid, 0, 0) < 0)
		return pr_errno("cannot resume thread %d", inj->tid);
	return 0;
}

/* Waits for the stop after the call and reads its result. */
static int end_call(struct inject *inj, const unsigned long args[6], long *ret_value)
{
	struct user_regs_struct regs;
	int ret = wait_stop(inj, WAIT_INTERRUPT, inj->call_name);

	if (ret < 0)
		return ret;
	if (ptrace(PTRACE_GETREGS, inj->tid, 0, &regs) < 0)
		return pr_errno("cannot get registers of thread %d", inj->tid);
	*ret_value = (long)regs.rax;
	pr_debug("thread %d: %s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx) = %ld", inj->tid,
		 inj->call_name, args[0], args[1], args[2], args[3], args[4], args[5], *ret_value);
	return 0;
}

void inject_syscalls(struct inject_call *calls, size_t n)
{
	/* Each pass waits only for stops the previous pass let the threads reach: while minicr
	 * waits for one thread, or sets up the next, the others run their calls. */
	for (size_t i = 0; i < n; i++)
		calls[i].ret = calls[i].inj ? begin_call(calls[i].inj, calls[i].nr, calls[i].args,
							 calls[i].cont)
					    : 0;
	for (size_t i = 0; i < n; i++)
		if (calls[i].inj && calls[i].ret == 0)
			calls[i].ret = enter_call(calls[i].inj);
	for (size_t i = 0; i < n; i++)
		if (calls[i].inj && calls[i].ret == 0)
			calls[i].ret = end_call(calls[i].inj, calls[i].args, &calls[i].value);
}

int inject_syscall(struct inject *inj, long nr, const unsigned long args[6], uint64_t cont,
		   long *ret_value)
{
	struct inject_call call = {.inj = inj, .nr = nr, .cont = cont};

	if (args)
		memcpy(call.args, args, sizeof(call.args));
	inject_syscalls(&call, 1);
	if (call.ret == 0)
		*ret_value = call.value;
	return call.ret;
}

int inject_syscall_buf(struct inject *inj, long nr, const unsigned long args[6], void *buf,
		       size_t len, long *ret_value)
{
	unsigned long real_args[6];
	int ret;

	if (len > INJECT_SCRATCH_MAX) {
		pr_err("scratch of %zu bytes is too large for thread %d", len, inj->tid);
		return -EINVAL;
	}
	for (int i = 0; i < 6; i++)
		real_args[i] = args && args[i] == INJECT_SCRATCH ? inj->scratch_addr
			       : args				 ? args[i]
								 : 0;
	/* the scratch lies in the saved zone: inject_cure() puts the old bytes back */
	ret = inject_write(inj, inj->scratch_addr, buf, len);
	if (ret < 0)
		return ret;
	ret = inject_syscall(inj, nr, real_args, INJECT_CONT_SIGRETURN, ret_value);
	if (ret < 0)
		return ret;
	return inject_read(inj, inj->scratch_addr, buf, len);
}

/* ---- code that runs on its own --------------------------------------------------------------- */

int inject_run(struct inject *inj, uint64_t rip, uint64_t rsp)
{
	struct user_regs_struct regs = inj->saved_regs;
	int ret;

	regs.rip = rip;
	regs.rsp = rsp;
	regs.orig_rax = (unsigned long)-1;
	regs.rax = 0;
	ret = resume_with(inj, &regs, PTRACE_CONT);
	if (ret < 0)
		return ret;
	inj->is_running = true;
	return 0;
}

int inject_check_running(struct inject *inj, int *ret_sig)
{
	int status, ret;
	pid_t w;

	if (!inj->is_running)
		return -ESRCH;
	for (;;) {
		w = waitpid(inj->tid, &status, __WALL | WNOHANG);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return pr_errno("cannot wait for thread %d", inj->tid);
		if (w == 0)
			return 0;
		/* a group stop or stop signal is passed on (resumed); anything else ended it */
		ret = handle_status(inj, status, WAIT_RUNNING, "injected code");
		if (ret == -EFAULT) {
			*ret_sig = inj->stop_sig;
			return 1;
		}
		if (ret < 0)
			return ret;
	}
}

/* Sends PTRACE_INTERRUPT to a thread running injected code; stop_running() waits for the stop. */
static int interrupt_running(struct inject *inj)
{
	if (ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0) < 0)
		return pr_errno("cannot interrupt injected code in thread %d", inj->tid);
	return 0;
}

static int stop_running(struct inject *inj)
{
	int ret = wait_stop(inj, WAIT_INTERRUPT, "injected code");

	inj->is_running = false;
	/* a fault or a signal stop counts as stopped too: the thread is in a ptrace stop */
	return ret == -EFAULT ? 0 : ret;
}

void inject_interrupts(struct inject *const *injs, size_t n, int *rets)
{
	/* all interrupted first, then each waited for: they stop at once */
	for (size_t i = 0; i < n; i++)
		rets[i] = injs[i] && injs[i]->is_running ? interrupt_running(injs[i]) : 0;
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0 && injs[i] && injs[i]->is_running)
			rets[i] = stop_running(injs[i]);
}

int inject_interrupt(struct inject *inj)
{
	int ret;

	inject_interrupts(&inj, 1, &ret);
	return ret;
}

/* ---- cure ------------------------------------------------------------------------------------ */

/* The untouched pages of the zone become untouched again: MADV_DONTNEED on private anonymous
 * memory leaves them to be zero-filled on the next touch. The continuation is the frame,
 * which lies above them. Where the kernel refuses (a locked stack), they are written back as
 * the zeros they held. Runs in the threads whose rets[i] is 0, all at once. */
static void empty_fresh_pages(struct inject *const *injs, size_t n, const int *rets)
{
	struct inject_call calls[INJECT_BATCH_MAX] = {0};

	for (size_t i = 0; i < n; i++) {
		struct inject *inj = injs[i];

		if (!inj || rets[i] < 0 || !inj->is_zone_dirty || inj->fresh_hi == inj->zone_lo)
			continue;
		calls[i] = (struct inject_call){
		    .inj = inj,
		    .nr = __NR_madvise,
		    .args = {inj->zone_lo, inj->fresh_hi - inj->zone_lo, MADV_DONTNEED},
		    .cont = INJECT_CONT_SIGRETURN};
	}
	inject_syscalls(calls, n);
	for (size_t i = 0; i < n; i++) {
		struct inject *inj = calls[i].inj;

		if (!inj || (calls[i].ret == 0 && calls[i].value == 0))
			continue;
		pr_debug(
		    "thread %d: madvise(MADV_DONTNEED) of minicr's untouched stack pages: %ld; "
		    "written back as zeros",
		    inj->tid, calls[i].value);
		inj->fresh_hi = inj->zone_lo; /* zone_saved holds zeros there (calloc) */
	}
}

/* Puts back xstate, signal mask, registers and stack bytes of a stopped thread. */
static int restore_state(struct inject *inj)
{
	struct iovec iov;
	int ret = 0;

	iov.iov_base = inj->saved_xstate;
	iov.iov_len = inj->xstate_len;
	if (inj->is_regs_changed &&
	    ptrace(PTRACE_SETREGSET, inj->tid, (void *)NT_X86_XSTATE, &iov) < 0)
		ret = pr_errno("cannot restore xstate of thread %d", inj->tid);
	if (inj->is_sigmask_changed) {
		if (ptrace(PTRACE_SETSIGMASK, inj->tid, sizeof(uint64_t), &inj->saved_sigmask) <
		    0) {
			if (!ret)
				ret = pr_errno("cannot restore signal mask of thread %d", inj->tid);
		} else {
			inj->is_sigmask_changed = false;
		}
	}
	if (inj->is_regs_changed) {
		if (ptrace(PTRACE_SETREGS, inj->tid, 0, &inj->saved_regs) < 0) {
			if (!ret)
				ret = pr_errno("cannot restore registers of thread %d", inj->tid);
		} else {
			inj->is_regs_changed = false;
		}
	}
	/* the stack below the red zone is free again: its old bytes only for the record */
	if (inj->is_zone_dirty && !inj->is_regs_changed) {
		int ret2 = inject_write(inj, inj->fresh_hi,
					inj->zone_saved + (inj->fresh_hi - inj->zone_lo),
					inj->zone_hi - inj->fresh_hi);

		if (ret2 < 0 && !ret)
			ret = ret2;
		if (ret2 == 0)
			inj->is_zone_dirty = inj->is_frame_written = false;
	}
	return ret;
}

void inject_cures(struct inject *const *injs, size_t n, int *rets)
{
	if (n > INJECT_BATCH_MAX) {
		pr_err("cannot cure %zu threads at once (at most %d)", n, INJECT_BATCH_MAX);
		for (size_t i = 0; i < n; i++)
			rets[i] = -EINVAL;
		return;
	}
	/* a thread that cannot be stopped is left alone: nothing more is safe in it */
	inject_interrupts(injs, n, rets);
	empty_fresh_pages(injs, n, rets);
	for (size_t i = 0; i < n; i++)
		if (injs[i] && rets[i] == 0)
			rets[i] = restore_state(injs[i]);
}

int inject_cure(struct inject *inj)
{
	int ret;

	if (!inj)
		return 0;
	inject_cures(&inj, 1, &ret);
	return ret;
}

/* ---- accessors and lifetime ------------------------------------------------------------------ */

uint64_t inject_area(const struct inject *inj)
{
	return inj->area_addr;
}

uint32_t inject_area_prot(const struct inject *inj)
{
	return inj->area_prot;
}

uint64_t inject_frame_addr(const struct inject *inj)
{
	return inj->frame_addr;
}

uint64_t inject_syscall_ret_addr(const struct inject *inj)
{
	return inj->gadgets[GADGET_SYSCALL_RET];
}

const struct user_regs_struct *inject_saved_regs(const struct inject *inj)
{
	return &inj->saved_regs;
}

const void *inject_saved_xstate(const struct inject *inj, size_t *ret_len)
{
	*ret_len = inj->xstate_len;
	return inj->saved_xstate;
}

uint64_t inject_saved_sigmask(const struct inject *inj)
{
	return inj->saved_sigmask;
}

struct inject *inject_free(struct inject *inj)
{
	if (!inj)
		return NULL;
	(void)inject_cure(inj);
	if (inj->mem_fd >= 0)
		close(inj->mem_fd);
	free(inj->saved_xstate);
	free(inj->zone_saved);
	free(inj);
	return NULL;
}

void inject_freep(struct inject **inj)
{
	inject_free(*inj);
}
