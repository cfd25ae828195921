/* core-check.c: validation of one task's core, mm and pagemap images (see core-check.h). */
#define LOG_PREFIX "restore: "
#include "task/core-check.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/user.h>

#include "base/log.h"
#include "image-path.h"
#include "parasite/restorer-abi.h"
#include "task/mm-parse.h"
#include "task/sched-attr.h"
#include "task/sigframe.h"
#include "task/timers-parse.h"
#include "task/timers.h"

#define HOLE_LOW   0x1000ull /* no mapping below the first page */
#define AUXV_MAX   128
#define SIGINFO_SZ 128

#define bad(ti, kind, fmt, ...)                                                                   \
	(pr_err("invalid image set: %s-%d.img: " fmt, kind, (int)(ti)->pid, ##__VA_ARGS__),       \
	 -EBADMSG)

static bool vma_has_pages(const VmaEntry *v)
{
	return v->kind == VMA_KIND_ANON || v->kind == VMA_KIND_FILE_PRIVATE ||
	       v->kind == VMA_KIND_SHMEM;
}

/* A path restore opens: absolute and within the image path rules. NULL reason when fine. */
static const char *path_refusal(const char *path)
{
	const char *reason = NULL;

	if (!path)
		return "no path";
	if (image_path_check(path, IMAGE_PATH_ALLOW_ABSOLUTE, &reason) < 0)
		return reason;
	if (path[0] != '/')
		return "not absolute";
	return NULL;
}

/* What sched_setattr() accepts (the kernel's own parameter checks, machine-independent). */
static const char *sched_refusal(const SchedEntry *s)
{
	bool is_rt = s->policy == MINICR_SCHED_FIFO || s->policy == MINICR_SCHED_RR;

	if (!minicr_sched_is_fair(s->policy) && !is_rt && s->policy != MINICR_SCHED_DEADLINE)
		return "an unknown scheduling policy";
	if (s->flags & ~(uint64_t)MINICR_SCHED_FLAGS_RESTORED)
		return "unknown scheduling flags";
	if (s->nice < -20 || s->nice > 19)
		return "a nice value out of range";
	if (is_rt ? s->priority < 1 || s->priority > 99 : s->priority != 0)
		return "a real-time priority out of range";
	if (s->policy == MINICR_SCHED_DEADLINE &&
	    (!s->has_deadline || !s->has_period || !s->deadline || s->runtime < 1024 ||
	     s->runtime > s->deadline || (s->period && s->deadline > s->period) ||
	     (s->deadline | s->period) >> 63))
		return "deadline parameters out of range";
	return NULL;
}

/* Affinity, scheduling, timer slack and I/O priority of thread t. */
static int check_thread_attrs(const struct task_images *ti, const ThreadCoreEntry *t)
{
	const char *why;
	bool any = false;

	if (t->has_ioprio && t->ioprio >> MINICR_IOPRIO_CLASS_SHIFT > MINICR_IOPRIO_CLASS_MAX)
		return bad(ti, "core", "thread %d has an unknown I/O priority class", t->tid);
	if (t->sched && (why = sched_refusal(t->sched)) != NULL)
		return bad(ti, "core", "thread %d has %s", t->tid, why);
	if (t->has_cpus_allowed) {
		for (size_t i = 0; i < t->cpus_allowed.len && !any; i++)
			any = t->cpus_allowed.data[i] != 0;
		if (!any || t->cpus_allowed.len > CORE_CHECK_CPU_MASK_MAX)
			return bad(ti, "core", "thread %d has an empty or oversized CPU affinity",
				   t->tid);
	}
	/* 0 written to timerslack_ns means "the thread's default": a fair thread's slack of 0
	 * cannot be set back; real-time threads have none (the kernel shows 0) */
	if (t->has_timer_slack_ns && !t->timer_slack_ns &&
	    (!t->sched || minicr_sched_is_fair(t->sched->policy)))
		return bad(ti, "core",
			   "thread %d has a timer slack of 0 under a fair policy, which "
			   "cannot be set",
			   t->tid);
	return 0;
}

static int check_threads(const struct task_images *ti)
{
	const TaskCoreEntry *core = ti->core;

	if (core->pid != ti->pid || core->n_threads == 0 || !core->threads[0] ||
	    core->threads[0]->tid != ti->pid)
		return bad(ti, "core", "wrong pid or no main thread");
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCoreEntry *t = core->threads[i];

		if (!t->has_gpregs || t->gpregs.len != sizeof(struct user_regs_struct) ||
		    !t->has_xstate || !sigframe_size(t->xstate.len) ||
		    t->xstate.len != core->threads[0]->xstate.len || t->tid <= 0)
			return bad(ti, "core", "thread %d has malformed registers or xstate", t->tid);
		for (size_t j = 0; j < t->n_pending_signals; j++)
			if (t->pending_signals[j].len != SIGINFO_SZ)
				return bad(ti, "core", "bad pending signal of thread %d", t->tid);
		int r = check_thread_attrs(ti, t);

		if (r < 0)
			return r;
	}
	return 0;
}

static int check_process(const struct task_images *ti)
{
	const TaskCoreEntry *core = ti->core;

	for (size_t j = 0; j < core->n_shared_pending_signals; j++)
		if (core->shared_pending_signals[j].len != SIGINFO_SZ)
			return bad(ti, "core", "bad shared pending signal");
	for (size_t j = 0; j < core->n_sigactions; j++)
		if (core->sigactions[j]->signo < 1 || core->sigactions[j]->signo > RESTORER_NSIG)
			return bad(ti, "core", "bad signal number in a signal action");
	for (size_t j = 0; j < core->n_seccomp_filters; j++)
		if (!core->seccomp_filters[j].len || core->seccomp_filters[j].len % 8 ||
		    core->seccomp_filters[j].len / 8 > 4096)
			return bad(ti, "core", "bad seccomp filter");
	if (core->creds && (core->creds->n_uids != 4 || core->creds->n_gids != 4 ||
			    core->creds->n_groups > RESTORER_MAX_GROUPS))
		return bad(ti, "core", "bad credentials");
	if (core->n_rlimits > CORE_CHECK_NLIMITS)
		return bad(ti, "core", "%zu resource limits", core->n_rlimits);
	for (size_t j = 0; j < core->n_rlimits; j++) {
		const RlimitEntry *l = core->rlimits[j];

		if (l->resource != j || !l->has_cur || !l->has_max || l->cur > l->max)
			return bad(ti, "core", "bad resource limit %zu", j);
	}
	if (core->has_oom_score_adj && (core->oom_score_adj < -1000 || core->oom_score_adj > 1000))
		return bad(ti, "core", "oom_score_adj %d out of range", core->oom_score_adj);
	/* PR_GET_THP_DISABLE: bit 0 disabled, bit 1 PR_THP_DISABLE_EXCEPT_ADVISED */
	if (core->has_thp_disable && core->thp_disable != 0 && core->thp_disable != 1 &&
	    core->thp_disable != 3)
		return bad(ti, "core", "unknown THP disable mode %u", core->thp_disable);
	/* MCL_FUTURE (2), with or without MCL_ONFAULT (4) */
	if (core->has_mlock_future && core->mlock_future != 0 && core->mlock_future != 2 &&
	    core->mlock_future != 6)
		return bad(ti, "core", "unknown mlockall flags %#x", core->mlock_future);
	return 0;
}

static bool core_has_thread(const void *opaque, pid_t tid)
{
	const TaskCoreEntry *core = opaque;

	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == tid)
			return true;
	return false;
}

static int check_itimers(const struct task_images *ti)
{
	const TaskCoreEntry *core = ti->core;
	unsigned int seen = 0;

	for (size_t i = 0; i < core->n_itimers; i++) {
		const ItimerEntry *e = core->itimers[i];

		if (e->which > 2 || seen & (1u << e->which))
			return bad(ti, "core", "interval timer %zu is unknown or twice", i);
		seen |= 1u << e->which;
		if (!timers_time_valid(e->value_sec, e->value_usec, TIMERS_USEC) ||
		    !timers_time_valid(e->interval_sec, e->interval_usec, TIMERS_USEC))
			return bad(ti, "core", "interval timer %u has a malformed time", e->which);
	}
	return 0;
}

/* A POSIX timer's time: disarmed ones have no period and no signal of theirs pending but a
 * one-shot's; only a wall-clock timer has a deadline. */
static const char *posix_time_refusal(const PosixTimerEntry *e)
{
	bool armed = e->value_sec || e->value_nsec;
	bool deadline = timers_clock_kind(e->clock) == TIMERS_CLOCK_DEADLINE;

	if (!timers_time_valid(e->value_sec, e->value_nsec, TIMERS_NSEC) ||
	    !timers_time_valid(e->interval_sec, e->interval_nsec, TIMERS_NSEC) ||
	    !timers_time_valid(e->deadline_sec, e->deadline_nsec, TIMERS_NSEC))
		return "a malformed time";
	if (!armed && (e->interval_sec || e->interval_nsec))
		return "a period but no time left";
	if (armed && deadline != (e->has_deadline_sec && e->has_deadline_nsec))
		return deadline ? "no deadline on its wall clock"
				: "a deadline on a clock without one";
	if (e->signal_pending && e->notify == TIMERS_SIGEV_NONE)
		return "a pending signal but no signal to send";
	if (e->overrun)
		return "an overrun count, which restore cannot set";
	return NULL;
}

static int check_posix_timers(const struct task_images *ti)
{
	const TaskCoreEntry *core = ti->core;

	if (core->n_posix_timers > TIMERS_MAX_POSIX)
		return bad(ti, "core", "%zu POSIX timers", core->n_posix_timers);
	for (size_t i = 0; i < core->n_posix_timers; i++) {
		const PosixTimerEntry *e = core->posix_timers[i];
		const char *why;

		if (e->id < 0 || (i && e->id <= core->posix_timers[i - 1]->id))
			return bad(ti, "core", "POSIX timer %zu: id %d out of order", i, e->id);
		why = timers_clock_refusal(e->clock, core->pid, core->n_threads, core_has_thread,
					   core);
		if (!why)
			why = timers_notify_refusal(e->notify, e->signo,
						    e->has_notify_tid ? e->notify_tid : 0,
						    core_has_thread, core);
		if (!why)
			why = posix_time_refusal(e);
		if (why)
			return bad(ti, "core", "POSIX timer %d (clock %d) has %s", e->id, e->clock,
				   why);
	}
	return 0;
}

static int check_vma(const struct task_images *ti, size_t i, uint64_t prev_end)
{
	const VmaEntry *v = ti->mm->vmas[i];
	const char *why;

	if (v->start >= v->end || (v->start | v->end) & (CORE_CHECK_PAGE_SIZE - 1) ||
	    v->start < prev_end || v->end > CORE_CHECK_TASK_SIZE || v->start < HOLE_LOW)
		return bad(ti, "mm", "mapping %zu (%" PRIx64 "-%" PRIx64 ") is out of order or out "
				     "of range",
			   i, v->start, v->end);
	if (!v->has_kind || v->kind == VMA_KIND_UNKNOWN || v->kind >= VMA_KIND_VSYSCALL)
		return bad(ti, "mm", "mapping %" PRIx64 "-%" PRIx64 " has an unsupported kind",
			   v->start, v->end);
	if (v->has_mlock && v->mlock > VMA_MLOCK_ON_FAULT)
		return bad(ti, "mm", "mapping %" PRIx64 " has an unknown mlock state", v->start);
	if (v->pgoff & (CORE_CHECK_PAGE_SIZE - 1))
		return bad(ti, "mm", "mapping %" PRIx64 " has an unaligned offset", v->start);
	if (v->kind == VMA_KIND_FILE_PRIVATE || v->kind == VMA_KIND_FILE_SHARED) {
		why = path_refusal(v->path);
		if (why)
			return bad(ti, "mm", "file mapping %" PRIx64 ": %s", v->start, why);
	}
	/* shared memory is one object per identity; a memfd's is recreated by its name */
	if (v->kind == VMA_KIND_SHMEM &&
	    (!v->has_shmid ||
	     (!(v->flags & MAP_ANONYMOUS) && (!v->path || strncmp(v->path, "/memfd:", 7) != 0))))
		return bad(ti, "mm", "shared mapping %" PRIx64 " has no identity", v->start);
	return 0;
}

static int check_mm(const struct task_images *ti)
{
	const MmEntry *mm = ti->mm;
	uint64_t prev_end = 0;
	const char *why;

	if (mm->pid != ti->pid || mm->n_vmas == 0)
		return bad(ti, "mm", "wrong pid or no mappings");
	for (size_t i = 0; i < mm->n_vmas; i++) {
		int r = check_vma(ti, i, prev_end);

		if (r < 0)
			return r;
		prev_end = mm->vmas[i]->end;
	}
	if (mm->n_auxv % 2 || mm->n_auxv > AUXV_MAX)
		return bad(ti, "mm", "bad auxv");
	if (mm->exe && (why = path_refusal(mm->exe)) != NULL)
		return bad(ti, "mm", "executable: %s", why);
	return 0;
}

static int check_runs(const struct task_images *ti)
{
	const MmEntry *mm = ti->mm;
	size_t vi = 0;

	for (size_t i = 0; i < ti->n_runs; i++) {
		const PageRunEntry *r = ti->runs[i];
		uint64_t len = r->nr_pages * CORE_CHECK_PAGE_SIZE;

		if (!r->nr_pages || r->nr_pages > CORE_CHECK_TASK_SIZE / CORE_CHECK_PAGE_SIZE ||
		    r->vaddr & (CORE_CHECK_PAGE_SIZE - 1) || !r->has_file_off ||
		    r->file_off > ti->pages_size || len > ti->pages_size - r->file_off)
			return bad(ti, "pagemap", "page run %zu is malformed or beyond the pages image",
				   i);
		/* runs come in address order: walk the mappings along */
		while (vi < mm->n_vmas && mm->vmas[vi]->end <= r->vaddr)
			vi++;
		if (vi == mm->n_vmas || r->vaddr < mm->vmas[vi]->start ||
		    len > mm->vmas[vi]->end - r->vaddr || !vma_has_pages(mm->vmas[vi]))
			return bad(ti, "pagemap",
				   "page run %zu at 0x%" PRIx64 " is not inside a mapping that holds "
				   "pages",
				   i, r->vaddr);
	}
	return 0;
}

int task_images_validate(const struct task_images *ti)
{
	int r;

	if ((r = check_threads(ti)) < 0 || (r = check_process(ti)) < 0 ||
	    (r = check_itimers(ti)) < 0 || (r = check_posix_timers(ti)) < 0 ||
	    (r = check_mm(ti)) < 0)
		return r;
	return check_runs(ti);
}
