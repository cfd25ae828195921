/* restorer.c: the restore-time blob. It runs inside the process being restored, on a bootstrap
 * region that resume.c placed in a hole of the dumped layout, and replaces the address space
 * with the dumped one: park the vdso, unmap everything else, map and fill the dumped VMAs, move
 * the vdso back, PR_SET_MM_MAP, signal actions, threads (clone3 with set_tid), pending
 * signals, interval and POSIX timers, per-thread state, credentials, seccomp last; then each
 * thread traps for minicr and does rt_sigreturn into its dumped registers. Freestanding: raw
 * syscalls only, no libc, no globals. */
#include <stddef.h>
#include <stdint.h>

#include "restorer-abi.h"
#include "syscall.h"

#define PROT_READ		   0x1
#define PROT_WRITE		   0x2
#define MAP_SHARED		   0x01
#define MAP_FIXED		   0x10
#define MREMAP_MAYMOVE		   1
#define MREMAP_FIXED		   2
#define PR_SET_MM		   35
#define PR_SET_MM_MAP		   14
#define PR_SET_KEEPCAPS		   8
#define PR_SET_PDEATHSIG	   1
#define PR_SET_DUMPABLE		   4
#define PR_SET_NAME		   15
#define PR_SET_CHILD_SUBREAPER	   36
#define PR_GET_SECUREBITS	   27
#define PR_SET_SECUREBITS	   28
#define SECBIT_KEEP_CAPS	   (1u << 4)
#define PR_SET_NO_NEW_PRIVS	   38
#define PR_CAP_AMBIENT		   47
#define PR_CAP_AMBIENT_RAISE	   2
#define PR_CAPBSET_DROP		   24
#define ARCH_SET_GS		   0x1001
#define ARCH_SET_FS		   0x1002
#define SIGKILL			   9
#define SIGSTOP			   19
#define CLONE_VM		   0x00000100
#define CLONE_FS		   0x00000200
#define CLONE_FILES		   0x00000400
#define CLONE_SIGHAND		   0x00000800
#define CLONE_THREAD		   0x00010000
#define CLONE_SYSVSEM		   0x00040000
#define MADV_DONTFORK		   10
#define MADV_MERGEABLE		   12
#define MADV_HUGEPAGE		   14
#define MADV_NOHUGEPAGE		   15
#define MADV_DONTDUMP		   16
#define MADV_WIPEONFORK		   18
#define SECCOMP_SET_MODE_FILTER	   1
#define SECCOMP_FILTER_FLAG_TSYNC  1
#define LINUX_CAPABILITY_VERSION_3 0x20080522
#define FUTEX_WAIT_PRIVATE	   128
#define FUTEX_WAKE_PRIVATE	   129
#define PR_SET_THP_DISABLE	   41
#define MLOCK_ONFAULT		   1
#define EIO			   5
#define EBUSY			    16
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define TIMER_ABSTIME		    1
#define SIGEV_NONE		    1
#define CLOCK_MONOTONIC		    1
#define NSEC_PER_SEC		    1000000000LL

/* must match VMA_MLOCK_* in src/task/mm-parse.h */
#define VMA_MLOCK_ON_FAULT 2

/* must match VMA_MADV_* in src/mm-parse.h */
#define VMA_MADV_HUGEPAGE   (1u << 0)
#define VMA_MADV_NOHUGEPAGE (1u << 1)
#define VMA_MADV_DONTDUMP   (1u << 2)
#define VMA_MADV_DONTFORK   (1u << 3)
#define VMA_MADV_WIPEONFORK (1u << 4)
#define VMA_MADV_MERGEABLE  (1u << 5)

#define PREAD_MAX 0x7ffff000ul /* the kernel's cap on one read */

struct clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
};

struct cap_header {
	uint32_t version;
	int32_t pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

struct sock_fprog {
	uint16_t len;
	uint64_t filter;
};

/* The kernel's sigevent_t (64 bytes) and struct __kernel_timespec. */
struct ksigevent {
	uint64_t value;
	int32_t signo, notify, tid;
	int32_t pad[11];
};

struct ktimespec {
	int64_t sec, nsec;
};

struct kitimerspec {
	int64_t interval_sec, interval_nsec, value_sec, value_nsec;
};

void restorer_main(struct restorer_args *args);
void restorer_thread_main(struct restorer_thread *t);
void restorer_sigreturn(uint64_t rsp, struct restorer_args *args) __attribute__((noreturn));
void restorer_fail(long step, long err) __attribute__((noreturn));
long restorer_clone_thread(struct clone_args *ca, unsigned long size, struct restorer_thread *t);

static inline void check(long ret, enum restorer_step step)
{
	if (ret < 0)
		restorer_fail(step, ret);
}

/* A failure the tests inject at one of the steps that have no natural way to fail here. */
static void inject_fault(const struct restorer_args *a, enum restorer_step step)
{
	if (a->fault_step == (uint32_t)step)
		restorer_fail(step, -EIO);
}

/* THP disable is a flag of the mm, which the restoring process inherited from minicr; it comes
 * before the memory is mapped and filled, so that the pages are faulted in under it. */
static void restore_thp_disable(struct restorer_args *a)
{
	uint32_t v = (uint32_t)a->thp_disable;

	if (a->thp_disable < 0)
		return;
	inject_fault(a, RESTORER_STEP_THP);
	check(sys_prctl(PR_SET_THP_DISABLE, v & 1, v & ~1u, 0, 0), RESTORER_STEP_THP);
}

static void park_specials(struct restorer_args *a)
{
	for (int i = 0; i < RESTORER_N_SPECIAL; i++) {
		struct restorer_special *s = &a->special[i];

		if (!s->len || !s->cur)
			continue;
		check(SYS5(__NR_mremap, s->cur, s->len, s->len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   s->park),
		      RESTORER_STEP_PARK);
	}
}

static void unmap_all_but_region(struct restorer_args *a)
{
	uint64_t end = a->region_start + a->region_len;

	check(SYS2(__NR_munmap, 0, a->region_start), RESTORER_STEP_UNMAP);
	check(SYS2(__NR_munmap, end, a->task_size - end), RESTORER_STEP_UNMAP);
}

static void madvise_vma(const struct restorer_vma *v)
{
	static const struct {
		uint32_t bit;
		int advice;
	} hints[] = {
	    {VMA_MADV_HUGEPAGE, MADV_HUGEPAGE},	    {VMA_MADV_NOHUGEPAGE, MADV_NOHUGEPAGE},
	    {VMA_MADV_DONTDUMP, MADV_DONTDUMP},	    {VMA_MADV_DONTFORK, MADV_DONTFORK},
	    {VMA_MADV_WIPEONFORK, MADV_WIPEONFORK}, {VMA_MADV_MERGEABLE, MADV_MERGEABLE},
	};

	/* hints only: a kernel without KSM or THP refuses some, which must not stop the restore */
	for (unsigned int i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (v->madvise & hints[i].bit)
			(void)SYS3(__NR_madvise, v->start, v->end - v->start, hints[i].advice);
}

static void map_vmas(struct restorer_args *a)
{
	struct restorer_vma *vmas = (struct restorer_vma *)a->vmas;

	for (uint32_t i = 0; i < a->n_vmas; i++) {
		const struct restorer_vma *v = &vmas[i];
		uint32_t prot = v->prot;
		long addr;

		/* private VMAs that receive pages are writable until the fill is done */
		if (v->needs_fill && !(v->map_flags & MAP_SHARED))
			prot |= PROT_READ | PROT_WRITE;
		else if (v->needs_fill)
			prot |=
			    PROT_READ | PROT_WRITE; /* shared memory object created by resume.c */
		addr = sys_call6(__NR_mmap, (long)v->start, (long)(v->end - v->start), prot,
				 v->map_flags | MAP_FIXED, v->fd, (long)v->pgoff);
		check(addr, RESTORER_STEP_MMAP);
		if ((uint64_t)addr != v->start)
			restorer_fail(RESTORER_STEP_MMAP, -14);
		if (v->madvise)
			madvise_vma(v);
	}
}

/* A file system may still refuse a direct read (EINVAL: alignment); the buffered fd reads
 * anything. */
static long read_pages(const struct restorer_args *a, const struct restorer_run *run, uint64_t addr,
		       uint64_t len, uint64_t off)
{
	long n = SYS4(__NR_pread64, run->fd, addr, len, off);

	if (n == -22 /* EINVAL */ && run->fd != a->pages_fd)
		n = SYS4(__NR_pread64, a->pages_fd, addr, len, off);
	return n;
}

static void fill_pages(struct restorer_args *a)
{
	struct restorer_run *runs = (struct restorer_run *)a->runs;

	for (uint32_t i = 0; i < a->n_runs; i++) {
		uint64_t addr = runs[i].vaddr, left = runs[i].len, off = runs[i].off;

		while (left) {
			uint64_t chunk = left < PREAD_MAX ? left : PREAD_MAX;
			long n = read_pages(a, &runs[i], addr, chunk, off);

			check(n, RESTORER_STEP_PAGES);
			if (n == 0)
				restorer_fail(RESTORER_STEP_PAGES, -5);
			addr += (uint64_t)n;
			off += (uint64_t)n;
			left -= (uint64_t)n;
		}
	}
}

static void protect_vmas(struct restorer_args *a)
{
	struct restorer_vma *vmas = (struct restorer_vma *)a->vmas;

	for (uint32_t i = 0; i < a->n_vmas; i++)
		if (vmas[i].needs_fill)
			check(SYS3(__NR_mprotect, vmas[i].start, vmas[i].end - vmas[i].start,
				   vmas[i].prot),
			      RESTORER_STEP_MPROTECT);
}

/* Locked VMAs are locked again once they hold their pages and final protections: mlock2
 * populates a VMA locked without MLOCK_ONFAULT, as the kernel did when it was locked. The
 * restorer is still root here (CAP_IPC_LOCK), so RLIMIT_MEMLOCK, set later, does not limit it. */
static void lock_vmas(struct restorer_args *a)
{
	struct restorer_vma *vmas = (struct restorer_vma *)a->vmas;

	for (uint32_t i = 0; i < a->n_vmas; i++) {
		if (!vmas[i].mlock)
			continue;
		inject_fault(a, RESTORER_STEP_MLOCK);
		check(SYS3(__NR_mlock2, vmas[i].start, vmas[i].end - vmas[i].start,
			   vmas[i].mlock == VMA_MLOCK_ON_FAULT ? MLOCK_ONFAULT : 0),
		      RESTORER_STEP_MLOCK);
	}
}

static void unpark_specials(struct restorer_args *a)
{
	for (int i = 0; i < RESTORER_N_SPECIAL; i++) {
		struct restorer_special *s = &a->special[i];

		if (!s->len || !s->cur)
			continue;
		if (!s->dst) {
			check(SYS2(__NR_munmap, s->park, s->len), RESTORER_STEP_VDSO);
			continue;
		}
		check(SYS5(__NR_mremap, s->park, s->len, s->len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   s->dst),
		      RESTORER_STEP_VDSO);
	}
}

static void restore_sigactions(struct restorer_args *a)
{
	for (int sig = 1; sig <= RESTORER_NSIG; sig++) {
		struct restorer_sigaction ignore = {.handler = 1}; /* SIG_IGN */

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* Ignoring a signal drops what is pending of it: what the restore itself made
		 * pend (files signalling their owners while they were set up) never reaches the
		 * program; its own pending signals are queued afterwards. */
		check(sys_rt_sigaction(sig, &ignore, 0, 8), RESTORER_STEP_SIGACTION);
		check(sys_rt_sigaction(sig, &a->sigactions[sig - 1], 0, 8),
		      RESTORER_STEP_SIGACTION);
	}
}

static void close_helper_fds(struct restorer_args *a)
{
	int32_t *fds = (int32_t *)a->close_fds;

	for (uint32_t i = 0; i < a->n_close_fds; i++)
		check(sys_close(fds[i]), RESTORER_STEP_CLOSE);
}

/* The kernel's struct flock on x86_64. */
struct kflock {
	int16_t l_type, l_whence;
	int64_t l_start, l_len;
	int32_t l_pid;
};

static void set_locks(struct restorer_args *a)
{
	const struct restorer_lock *locks = (const struct restorer_lock *)a->locks;

	for (uint32_t i = 0; i < a->n_locks; i++) {
		struct kflock fl = {.l_type = locks[i].type,
				    .l_whence = 0 /* SEEK_SET */,
				    .l_start = locks[i].start,
				    .l_len = locks[i].len};

		check(SYS3(__NR_fcntl, locks[i].fd, 6 /* F_SETLK */, &fl), RESTORER_STEP_LOCK);
	}
}

static void create_threads(struct restorer_args *a)
{
	struct restorer_thread *threads = (struct restorer_thread *)a->threads;

	for (uint32_t i = 1; i < a->n_threads; i++) {
		struct restorer_thread *t = &threads[i];
		int32_t tid = t->tid; /* set_tid is an array of pid_t */
		struct clone_args ca = {
		    .flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			     CLONE_SYSVSEM,
		    .stack = t->stack_top - RESTORER_THREAD_STACK,
		    .stack_size = RESTORER_THREAD_STACK,
		    .set_tid = (uint64_t)&tid,
		    .set_tid_size = 1,
		};
		long ret = restorer_clone_thread(&ca, sizeof(ca), t);

		check(ret, RESTORER_STEP_CLONE);
		if (ret != t->tid)
			restorer_fail(RESTORER_STEP_CLONE, -17);
	}
}

static void queue_signals(struct restorer_args *a)
{
	struct restorer_siginfo *si = (struct restorer_siginfo *)a->siginfos;

	for (uint32_t i = 0; i < a->n_siginfos; i++) {
		long ret;

		if (si[i].tid)
			ret = SYS4(__NR_rt_tgsigqueueinfo, a->pid, si[i].tid, si[i].signo,
				   si[i].info);
		else
			ret = SYS3(__NR_rt_sigqueueinfo, a->pid, si[i].signo, si[i].info);
		check(ret, RESTORER_STEP_SIGQUEUE);
	}
}

static int64_t itimer_usec(int64_t sec, int64_t usec)
{
	return sec * 1000000 + usec;
}

/* Interval timers start from what was left of them at dump. The kernel adds a tick to the time
 * left of a CPU-time one (ITIMER_VIRTUAL, ITIMER_PROF) it is given, which getitimer() then
 * shows: the blob reads how much and sets it again that much shorter, so that a restore does
 * not lengthen it. */
static void restore_itimers(struct restorer_args *a)
{
	for (int which = 0; which < 3; which++) {
		struct restorer_itimer *v = &a->itimers[which], got, shorter;
		int64_t want, extra;

		if (!(a->itimers_set & (1u << which)))
			continue;
		inject_fault(a, RESTORER_STEP_ITIMER);
		check(SYS3(__NR_setitimer, which, v, 0), RESTORER_STEP_ITIMER);
		want = itimer_usec(v->value_sec, v->value_usec);
		if (which == 0 /* ITIMER_REAL */ || !want)
			continue;
		check(SYS2(__NR_getitimer, which, &got), RESTORER_STEP_ITIMER);
		extra = itimer_usec(got.value_sec, got.value_usec) - want;
		if (extra <= 0 || extra >= want)
			continue;
		shorter.interval_sec = v->interval_sec;
		shorter.interval_usec = v->interval_usec;
		shorter.value_sec = (want - extra) / 1000000;
		shorter.value_usec = (want - extra) % 1000000;
		check(SYS3(__NR_setitimer, which, &shorter, 0), RESTORER_STEP_ITIMER);
	}
}

/* Without PR_TIMER_CREATE_RESTORE_IDS the kernel hands out ids counting up from where this
 * process is (0: it is new): a timer made and deleted at once takes each id below want. */
static void skip_timer_ids(int32_t *next, int32_t want)
{
	struct ksigevent none;

	none.value = 0;
	none.signo = 0;
	none.notify = SIGEV_NONE;
	none.tid = 0;
	while (*next < want) {
		int32_t id = 0;

		check(SYS3(__NR_timer_create, CLOCK_MONOTONIC, &none, &id), RESTORER_STEP_TIMER);
		if (id != *next)
			restorer_fail(RESTORER_STEP_TIMER, -EBUSY);
		check(SYS1(__NR_timer_delete, id), RESTORER_STEP_TIMER);
		(*next)++;
	}
}

/* Every timer with its dumped id. With PR_TIMER_CREATE_RESTORE_IDS on, timer_create takes the
 * id from where it writes it back; this thread is the only one making timers meanwhile. */
static void create_timers(struct restorer_args *a)
{
	struct restorer_timer *timers = (struct restorer_timer *)a->timers;
	int32_t next = 0;
	int by_id;

	inject_fault(a, RESTORER_STEP_TIMER);
	by_id = !a->timer_ids_linear && sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0) == 0;
	for (uint32_t i = 0; i < a->n_timers; i++) {
		const struct restorer_timer *t = &timers[i];
		int32_t id = t->id;
		struct ksigevent ev;

		ev.value = t->sigval;
		ev.signo = t->signo;
		ev.notify = t->notify;
		ev.tid = t->tid;
		if (!by_id)
			skip_timer_ids(&next, t->id);
		check(SYS3(__NR_timer_create, t->clock, &ev, &id), RESTORER_STEP_TIMER);
		if (id != t->id)
			restorer_fail(RESTORER_STEP_TIMER, -EBUSY);
		next = id + 1;
	}
	if (by_id)
		check(sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0), RESTORER_STEP_TIMER);
}

static void arm_timer(const struct restorer_timer *t)
{
	struct kitimerspec v;
	long flags = t->arm & RESTORER_TIMER_ABSOLUTE ? TIMER_ABSTIME : 0;

	v.interval_sec = t->interval_sec;
	v.interval_nsec = t->interval_nsec;
	v.value_sec = t->value_sec;
	v.value_nsec = t->value_nsec;
	if ((t->arm & RESTORER_TIMER_FIRE) && !(v.interval_sec | v.interval_nsec)) {
		v.value_sec = 0;
		v.value_nsec = 1;
		flags = 0;
	} else if (t->arm & RESTORER_TIMER_FIRE) {
		if (!flags) {
			struct ktimespec now;

			check(SYS2(__NR_clock_gettime, t->read_clock, &now),
			      RESTORER_STEP_TIMER_ARM);
			v.value_sec += now.sec;
			v.value_nsec += now.nsec;
			flags = TIMER_ABSTIME;
		}
		v.value_sec -= v.interval_sec;
		v.value_nsec -= v.interval_nsec;
		while (v.value_nsec < 0) {
			v.value_nsec += NSEC_PER_SEC;
			v.value_sec--;
		}
		while (v.value_nsec >= NSEC_PER_SEC) {
			v.value_nsec -= NSEC_PER_SEC;
			v.value_sec++;
		}
		/* a CPU clock of a new process may not reach back a period */
		if (v.value_sec < 0 || !(v.value_sec | v.value_nsec)) {
			v.value_sec = 0;
			v.value_nsec = 1;
			flags = 0;
		}
	} else if (!(v.value_sec | v.value_nsec)) {
		return;
	}
	check(SYS4(__NR_timer_settime, t->id, flags, &v, 0), RESTORER_STEP_TIMER_ARM);
}

/* The interval timers and then the POSIX ones, all together and as late as the blob can: right
 * before seccomp (a filter may forbid these calls) and the final rt_sigreturn, so that the time
 * the restore takes is not taken off them. Every signal is blocked until that rt_sigreturn:
 * one that expires meanwhile waits, pending, for the dumped mask. */
static void arm_timers(struct restorer_args *a)
{
	struct restorer_timer *timers = (struct restorer_timer *)a->timers;

	restore_itimers(a);
	for (uint32_t i = 0; i < a->n_timers; i++) {
		inject_fault(a, RESTORER_STEP_TIMER_ARM);
		arm_timer(&timers[i]);
	}
}

/* Order matters: the bounding set and securebits need CAP_SETPCAP, so they come while the
 * thread is still root; KEEP_CAPS keeps the permitted set across the uid change so that capset
 * can set the exact sets afterwards; KEEP_CAPS is dropped last if the dump did not have it. */
static void restore_creds(struct restorer_args *a)
{
	struct restorer_creds *c = &a->creds;
	struct cap_header hdr = {LINUX_CAPABILITY_VERSION_3, 0};
	struct cap_data data[2];
	long cur;

	for (int cap = 0; cap < 64; cap++)
		if (!(c->cap_bnd & (1ull << cap)))
			(void)sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	cur = sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	check(cur, RESTORER_STEP_CREDS);
	if ((uint32_t)cur != (c->securebits | SECBIT_KEEP_CAPS))
		check(sys_prctl(PR_SET_SECUREBITS, c->securebits | SECBIT_KEEP_CAPS, 0, 0, 0),
		      RESTORER_STEP_CREDS);
	check(SYS2(__NR_setgroups, c->n_groups, c->groups), RESTORER_STEP_CREDS);
	check(SYS3(__NR_setresgid, c->gids[0], c->gids[1], c->gids[2]), RESTORER_STEP_CREDS);
	(void)SYS1(__NR_setfsgid, c->gids[3]);
	check(SYS3(__NR_setresuid, c->uids[0], c->uids[1], c->uids[2]), RESTORER_STEP_CREDS);
	(void)SYS1(__NR_setfsuid, c->uids[3]);
	data[0].effective = (uint32_t)c->cap_eff;
	data[1].effective = (uint32_t)(c->cap_eff >> 32);
	data[0].permitted = (uint32_t)c->cap_prm;
	data[1].permitted = (uint32_t)(c->cap_prm >> 32);
	data[0].inheritable = (uint32_t)c->cap_inh;
	data[1].inheritable = (uint32_t)(c->cap_inh >> 32);
	check(SYS2(__NR_capset, &hdr, data), RESTORER_STEP_CREDS);
	for (int cap = 0; cap < 64; cap++)
		if (c->cap_amb & (1ull << cap))
			check(sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0),
			      RESTORER_STEP_CREDS);
	if (!(c->securebits & SECBIT_KEEP_CAPS))
		check(sys_prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), RESTORER_STEP_CREDS);
}

/* Filters are stored oldest first; each one is {u64 n_insns; struct sock_filter insns[n]}. */
static void restore_seccomp(struct restorer_args *a)
{
	uint8_t *p = (uint8_t *)a->seccomp;

	for (uint32_t i = 0; i < a->n_seccomp; i++) {
		uint64_t n = *(uint64_t *)p;
		struct sock_fprog prog = {(uint16_t)n, (uint64_t)(p + 8)};

		check(SYS3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog),
		      RESTORER_STEP_SECCOMP);
		p += 8 + n * 8;
	}
}

/* What every thread sets for itself before its rt_sigreturn. */
static void restore_thread_state(struct restorer_thread *t)
{
	if (t->comm[0])
		(void)sys_prctl(PR_SET_NAME, t->comm, 0, 0, 0);
	(void)SYS1(__NR_set_tid_address, t->tid_address);
	if (t->robust_list)
		check(SYS2(__NR_set_robust_list, t->robust_list, t->robust_list_len),
		      RESTORER_STEP_ROBUST_LIST);
	check(SYS2(__NR_arch_prctl, ARCH_SET_FS, t->fs_base), RESTORER_STEP_FS_GS);
	check(SYS2(__NR_arch_prctl, ARCH_SET_GS, t->gs_base), RESTORER_STEP_FS_GS);
	if (t->rseq_ptr)
		check(SYS4(__NR_rseq, t->rseq_ptr, t->rseq_len, 0, t->rseq_sig),
		      RESTORER_STEP_RSEQ);
}

/* Credentials are per thread in the kernel (glibc's setxid broadcast does not exist here), so
 * every thread sets its own, after its clone3 (which needs CAP_SYS_ADMIN) is done. */
static void restore_thread_creds(struct restorer_args *a)
{
	if (a->do_creds)
		restore_creds(a);
	if (a->creds.no_new_privs)
		check(sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), RESTORER_STEP_CREDS);
}

/* Resource limits belong to the process. They come after the threads and the queued signals
 * (RLIMIT_NPROC, RLIMIT_SIGPENDING would refuse those) and before the credentials: lowering a
 * limit, or raising a soft one up to its hard one, needs no capability. */
static void restore_rlimits(struct restorer_args *a)
{
	for (uint32_t i = 0; i < a->n_rlimits && i < RESTORER_NLIMITS; i++)
		check(SYS4(__NR_prlimit64, 0, i, &a->rlimits[i], 0), RESTORER_STEP_RLIMIT);
}

void restorer_thread_main(struct restorer_thread *t)
{
	struct restorer_args *a = (struct restorer_args *)t->args;

	restore_thread_state(t);
	restore_thread_creds(a);
	__atomic_add_fetch(&a->threads_ready, 1, __ATOMIC_SEQ_CST);
	(void)SYS3(__NR_futex, &a->threads_ready, FUTEX_WAKE_PRIVATE, 1);
	restorer_sigreturn(t->sigframe_rsp, a);
}

/* seccomp with TSYNC must come after every thread changed its credentials. */
static void wait_threads_ready(struct restorer_args *a)
{
	for (;;) {
		uint32_t ready = __atomic_load_n(&a->threads_ready, __ATOMIC_SEQ_CST);

		if (ready >= a->n_threads - 1)
			return;
		(void)SYS4(__NR_futex, &a->threads_ready, FUTEX_WAIT_PRIVATE, ready, 0);
	}
}

void restorer_main(struct restorer_args *a)
{
	struct restorer_thread *threads = (struct restorer_thread *)a->threads;

	if (a->magic != RESTORER_ARGS_MAGIC)
		restorer_fail(RESTORER_STEP_ARGS, -22);
	restore_thp_disable(a);
	park_specials(a);
	unmap_all_but_region(a);
	map_vmas(a);
	fill_pages(a);
	protect_vmas(a);
	lock_vmas(a);
	unpark_specials(a);
	/* exe_fd must still be open here, so helper fds are closed only afterwards */
	check(sys_prctl(PR_SET_MM, PR_SET_MM_MAP, &a->mm_map, sizeof(a->mm_map), 0),
	      RESTORER_STEP_MM_MAP);
	close_helper_fds(a);
	set_locks(a);
	restore_sigactions(a);
	create_threads(a);
	queue_signals(a);
	/* POSIX timers are made once the threads exist (SIGEV_THREAD_ID names one) and the signal
	 * actions are set (setting one ignored drops what is pending), before the resource limits
	 * (RLIMIT_SIGPENDING counts each timer) and the credentials (the _ALARM clocks need
	 * CAP_WAKE_ALARM); they are armed last (arm_timers) */
	if (a->n_timers)
		create_timers(a);
	restore_rlimits(a);
	restore_thread_state(&threads[0]);
	if (a->umask != (uint32_t)-1)
		(void)SYS1(__NR_umask, a->umask);
	if (a->has_personality)
		(void)SYS1(__NR_personality, a->personality);
	/* a task that adopted the tasks of a session helper was a subreaper meanwhile */
	(void)sys_prctl(PR_SET_CHILD_SUBREAPER, a->child_subreaper ? 1 : 0, 0, 0, 0);
	/* MCL_FUTURE without MCL_CURRENT only marks the mappings made from now on: every mapping
	 * of the restore is made by then; still root, so no RLIMIT_MEMLOCK check */
	if (a->mlock_future)
		check(SYS1(__NR_mlockall, a->mlock_future), RESTORER_STEP_MLOCK);
	restore_thread_creds(a);
	/* a credential change resets both, so they come after; the death signal also when 0:
	 * the task came here dying with minicr (restore-tree.c) */
	(void)sys_prctl(PR_SET_PDEATHSIG, a->pdeathsig, 0, 0, 0);
	if (a->dumpable >= 0)
		(void)sys_prctl(PR_SET_DUMPABLE, a->dumpable, 0, 0, 0);
	wait_threads_ready(a);
	arm_timers(a);
	restore_seccomp(a);
	restorer_sigreturn(threads[0].sigframe_rsp, a);
}
