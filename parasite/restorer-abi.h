/* restorer-abi.h: the contract between resume.c (which builds the bootstrap region inside the
 * process being restored) and the restorer blob (which runs there). Fixed-size structs of
 * <stdint.h> types; every address in them is absolute and was computed by resume.c after it
 * placed the region, so the blob needs no relocation. No libc. */
#pragma once

#include <stdint.h>

#define RESTORER_ARGS_MAGIC 0x31727263696e696dULL /* "minicrr1" */
/* rsi at the final int3 of a thread that is ready for its rt_sigreturn (rdi is then 0). */
#define RESTORER_TRAP_READY 0x5245414459ULL
/* At a failure trap rdi = the step (enum restorer_step), rsi = -errno, rdx = this. */
#define RESTORER_TRAP_FAILED 0x4641494cULL

enum restorer_step {
	RESTORER_STEP_NONE = 0,
	RESTORER_STEP_ARGS,	   /* bad magic */
	RESTORER_STEP_PARK,	   /* mremap of vvar/vdso into the park area */
	RESTORER_STEP_UNMAP,	   /* munmap of everything outside the region */
	RESTORER_STEP_MMAP,	   /* mmap of a dumped VMA */
	RESTORER_STEP_MADVISE,	   /* VmFlags hints */
	RESTORER_STEP_PAGES,	   /* pread of page data */
	RESTORER_STEP_MPROTECT,	   /* final protections */
	RESTORER_STEP_VDSO,	   /* moving vvar/vdso back */
	RESTORER_STEP_MM_MAP,	   /* prctl(PR_SET_MM, PR_SET_MM_MAP) */
	RESTORER_STEP_SIGACTION,   /* rt_sigaction */
	RESTORER_STEP_CLOSE,	   /* closing helper fds */
	RESTORER_STEP_CLONE,	   /* clone3 of a thread with set_tid */
	RESTORER_STEP_SIGQUEUE,	   /* queueing a pending signal */
	RESTORER_STEP_ROBUST_LIST, /* set_robust_list */
	RESTORER_STEP_FS_GS,	   /* arch_prctl(ARCH_SET_FS/GS) */
	RESTORER_STEP_RSEQ,	   /* rseq registration */
	RESTORER_STEP_CREDS,	   /* groups, gids, uids, capabilities */
	RESTORER_STEP_SECCOMP,	   /* seccomp filters */
	RESTORER_STEP_RLIMIT,	   /* prlimit64 of a resource limit */
	RESTORER_STEP_LOCK,	   /* a POSIX lock set again after the helper fds were closed */
	RESTORER_STEP_THP,	   /* prctl(PR_SET_THP_DISABLE) */
	RESTORER_STEP_MLOCK,	   /* mlock2 of a locked VMA, mlockall(MCL_FUTURE) */
	RESTORER_STEP_ITIMER,	   /* setitimer */
	RESTORER_STEP_TIMER,	   /* timer_create of a POSIX timer with its dumped id */
	RESTORER_STEP_TIMER_ARM,   /* timer_settime */
	RESTORER_STEP_COUNT,
};

/* One dumped VMA, in address order. */
struct restorer_vma {
	uint64_t start, end;
	uint64_t pgoff;	     /* bytes */
	uint32_t prot;	     /* final PROT_* */
	uint32_t map_flags;  /* MAP_* for mmap (MAP_FIXED is added by the blob) */
	int32_t fd;	     /* -1 for anonymous */
	uint32_t madvise;    /* VMA_MADV_* (src/mm-parse.h) */
	uint32_t needs_fill; /* page runs land here: map writable first */
	uint32_t mlock;	     /* VMA_MLOCK_* (src/task/mm-parse.h): mlock2 once filled */
};

/* A run of pages: len bytes at vaddr come from fd at off. fd is restorer_args.pages_fd, or a
 * second, O_DIRECT fd of the same image for long runs (aligned: whole pages at page offsets). */
struct restorer_run {
	uint64_t vaddr, len, off;
	int32_t fd;
	uint32_t pad;
};

/* Per-thread state that rt_sigreturn does not restore, plus where its frame is. */
struct restorer_thread {
	int32_t tid;
	uint32_t rseq_len;
	uint64_t sigframe_rsp; /* rsp for the final rt_sigreturn: frame + 8 */
	uint64_t stack_top;    /* bootstrap stack of a secondary thread (16-byte aligned) */
	uint64_t tid_address;
	uint64_t robust_list, robust_list_len;
	uint64_t fs_base, gs_base;
	uint64_t rseq_ptr;
	uint32_t rseq_sig;
	uint32_t pad;
	uint64_t args; /* the struct restorer_args, for secondary threads */
	char comm[16]; /* PR_SET_NAME; empty: keep */
};

#define RESTORER_THREAD_STACK 16384 /* bytes of bootstrap stack per secondary thread */

/* A signal to queue again: tid 0 means process-wide (rt_sigqueueinfo). */
struct restorer_siginfo {
	int32_t tid;
	int32_t signo;
	uint8_t info[128];
};

struct restorer_sigaction {
	uint64_t handler, flags, restorer, mask;
};

/* The kernel's struct prctl_mm_map (104 bytes). */
struct restorer_mm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

/* A special mapping to park and move back; len 0 if absent. */
struct restorer_special {
	uint64_t cur;  /* where the restoring process has it now */
	uint64_t park; /* inside the region */
	uint64_t dst;  /* where the dump had it */
	uint64_t len;
};

#define RESTORER_N_SPECIAL  3 /* [vvar], [vvar_vclock], [vdso], in address order */
#define RESTORER_NLIMITS    16 /* RLIMIT_CPU .. RLIMIT_RTTIME */
#define RESTORER_NSIG	    64
#define RESTORER_MAX_GROUPS 256

struct restorer_creds {
	uint32_t uids[4], gids[4]; /* real, effective, saved, fs */
	uint32_t n_groups;
	uint32_t pad;
	uint32_t groups[RESTORER_MAX_GROUPS];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t securebits;
	uint32_t no_new_privs;
};

/* A POSIX lock of the task, set again once the helper fds are closed: closing any fd of a file
 * drops the process's POSIX locks on it, and the blob maps files through helper fds. */
struct restorer_lock {
	int32_t fd;
	int16_t type; /* F_RDLCK, F_WRLCK */
	int16_t pad;
	int64_t start, len;
};

/* The kernel's struct itimerval (setitimer). */
struct restorer_itimer {
	int64_t interval_sec, interval_usec, value_sec, value_usec;
};

/* How the blob arms a POSIX timer (bits of restorer_timer.arm). */
#define RESTORER_TIMER_ABSOLUTE 1u /* value is the expiry on the clock: TIMER_ABSTIME */
/* Its signal was pending: it expires at once, one period before value (the time left from
 * now, or with _ABSOLUTE the expiry), so that the signal is queued by the timer itself and the
 * period keeps its phase; a one-shot one (or one whose earlier expiry the clock cannot show)
 * expires 1 ns from now. */
#define RESTORER_TIMER_FIRE 2u

/* A POSIX timer, created with its id (ids ascending) and then armed. */
struct restorer_timer {
	int32_t id;
	int32_t clock;
	int32_t notify; /* sigev_notify */
	int32_t signo;
	int32_t tid;	    /* SIGEV_THREAD_ID: the thread */
	int32_t read_clock; /* what clock_gettime reads for RESTORER_TIMER_FIRE without _ABSOLUTE */
	uint64_t sigval;
	uint32_t arm; /* RESTORER_TIMER_* */
	uint32_t pad;
	/* the kernel's struct __kernel_itimerspec: all zero (and no _FIRE) is disarmed */
	int64_t interval_sec, interval_nsec, value_sec, value_nsec;
};

struct restorer_args {
	uint64_t magic;
	uint64_t region_start, region_len;
	uint64_t task_size;
	int32_t pid;
	int32_t pages_fd; /* buffered: what a direct read refused with EINVAL is read again here */
	uint32_t n_vmas, n_runs, n_threads, n_siginfos, n_close_fds, do_creds;
	uint64_t vmas;	    /* struct restorer_vma[n_vmas] */
	uint64_t runs;	    /* struct restorer_run[n_runs] */
	uint64_t threads;   /* struct restorer_thread[n_threads], main thread first */
	uint64_t siginfos;  /* struct restorer_siginfo[n_siginfos] */
	uint64_t close_fds; /* int32_t[n_close_fds]: helper fds to close after PR_SET_MM_MAP */
	uint64_t seccomp;   /* packed filters: {u64 n_insns; struct sock_filter[n]}... */
	uint32_t n_seccomp;
	uint32_t threads_ready; /* futex: secondary threads done with their own state */
	struct restorer_special special[RESTORER_N_SPECIAL];
	struct restorer_mm_map mm_map;
	struct restorer_sigaction sigactions[RESTORER_NSIG]; /* [sig - 1] */
	struct restorer_creds creds;
	int32_t dumpable;	 /* PR_SET_DUMPABLE after the credentials; -1: keep */
	int32_t pdeathsig;	 /* PR_SET_PDEATHSIG */
	int32_t child_subreaper; /* PR_SET_CHILD_SUBREAPER */
	int32_t has_personality;
	uint32_t personality;
	uint32_t umask; /* (uint32_t)-1: keep */
	uint32_t n_rlimits; /* rlimits[0..n_rlimits) are set, resource = index */
	uint32_t pad2;
	struct restorer_rlimit {
		uint64_t cur, max; /* UINT64_MAX: unlimited */
	} rlimits[RESTORER_NLIMITS];
	uint32_t n_locks;
	uint64_t locks; /* struct restorer_lock[n_locks] */
	int32_t thp_disable;   /* PR_GET_THP_DISABLE value to set first; -1: keep */
	uint32_t mlock_future; /* mlockall() flags (MCL_FUTURE | MCL_ONFAULT) set last; 0: none */
	uint32_t fault_step;   /* tests: the step (THP, MLOCK, ITIMER, TIMER) fails with EIO */
	uint32_t itimers_set;  /* bit n: set itimers[n] (ITIMER_REAL 0, _VIRTUAL 1, _PROF 2) */
	struct restorer_itimer itimers[3];
	uint32_t n_timers;
	/* no PR_TIMER_CREATE_RESTORE_IDS (or tests): reach each id by creating and deleting */
	uint32_t timer_ids_linear;
	uint64_t timers; /* struct restorer_timer[n_timers] */
};

_Static_assert(sizeof(struct restorer_mm_map) == 104, "prctl_mm_map is 104 bytes");
_Static_assert(sizeof(struct restorer_vma) == 48, "restorer_vma layout");
_Static_assert(sizeof(struct restorer_run) == 32, "restorer_run layout");
_Static_assert(sizeof(struct restorer_thread) == 104, "restorer_thread layout");
_Static_assert(sizeof(struct restorer_siginfo) == 136, "restorer_siginfo layout");
_Static_assert(sizeof(struct restorer_lock) == 24, "restorer_lock layout");
_Static_assert(sizeof(struct restorer_itimer) == 32, "struct itimerval layout");
_Static_assert(sizeof(struct restorer_timer) == 72, "restorer_timer layout");
