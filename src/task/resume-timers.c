/* task/resume-timers.c: a restored process's interval and POSIX timers: whether this kernel can
 * give the POSIX ones their ids, and the restorer's arguments for them (the blob creates and
 * arms them, parasite/restorer.c). How time is carried across the restore is the clock's
 * (timers.h): wall-clock timers keep their expiry on the clock, the others their time left. */
#define LOG_PREFIX "resume: "
#include "task/resume-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>

#include "base/log.h"
#include "parasite/restorer-abi.h"
#include "task/timers-parse.h"
#include "task/timers.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS	77
#define PR_TIMER_CREATE_RESTORE_IDS_GET 2
#endif

bool resume_timers_ids_by_prctl(void)
{
	const char *f = getenv("MINICR_FAULT");

	if (f && !strcmp(f, "timer-restore-ids"))
		return false;
	/* GET answers 0 or 1 where the prctl exists, EINVAL elsewhere */
	return prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0) >= 0;
}

int resume_timers_check(const struct resume_task *rt)
{
	const TaskCoreEntry *core = rt->core;
	const PosixTimerEntry *last;

	if (!core->n_posix_timers)
		return 0;
	last = core->posix_timers[core->n_posix_timers - 1]; /* ids ascend */
	if (last->id < TIMERS_LINEAR_ID_MAX || resume_timers_ids_by_prctl())
		return 0;
	pr_err("cannot restore POSIX timer %d of task %d: this kernel has no "
	       "PR_TIMER_CREATE_RESTORE_IDS (Linux 6.15+), and reaching an id this high by "
	       "creating timers would take too long (ids below %d are restored)",
	       last->id, (int)rt->pid, TIMERS_LINEAR_ID_MAX);
	return -ENOTSUP;
}

size_t resume_timers_size(const TaskCoreEntry *core)
{
	return core->n_posix_timers * sizeof(struct restorer_timer) + 16;
}

/* How the blob arms e (RESTORER_TIMER_*), with *t's value set to what it arms from. */
static void arm_mode(const PosixTimerEntry *e, struct restorer_timer *t)
{
	bool armed = e->value_sec || e->value_nsec;

	t->value_sec = e->value_sec;
	t->value_nsec = e->value_nsec;
	if (armed && timers_clock_kind(e->clock) == TIMERS_CLOCK_DEADLINE) {
		t->arm |= RESTORER_TIMER_ABSOLUTE;
		t->value_sec = e->deadline_sec;
		t->value_nsec = e->deadline_nsec;
	}
	if (e->signal_pending)
		t->arm |= RESTORER_TIMER_FIRE;
}

/* Whether the process had signal signo pending (process-wide) at the dump. */
static bool shared_pending(const TaskCoreEntry *core, int signo)
{
	for (size_t i = 0; i < core->n_shared_pending_signals; i++) {
		int got;

		if (core->shared_pending_signals[i].len < sizeof(got))
			continue;
		memcpy(&got, core->shared_pending_signals[i].data, sizeof(got)); /* si_signo */
		if (got == signo)
			return true;
	}
	return false;
}

int resume_timers_fill(const TaskCoreEntry *core, struct resume_region *r, struct restorer_args *a)
{
	struct restorer_timer *timers;

	for (size_t i = 0; i < core->n_itimers; i++) {
		const ItimerEntry *e = core->itimers[i];
		struct restorer_itimer *v = &a->itimers[e->which];

		*v = (struct restorer_itimer){
		    .interval_sec = e->interval_sec,
		    .interval_usec = e->interval_usec,
		    .value_sec = e->value_sec,
		    .value_usec = e->value_usec,
		};
		/* A periodic ITIMER_REAL that expired reads "0 left" until its SIGALRM is taken,
		 * when the kernel arms it again; setitimer() with 0 left would disarm it instead.
		 * With its SIGALRM restored pending, it is armed for one period. */
		if (e->which == ITIMER_REAL && !v->value_sec && !v->value_usec &&
		    (v->interval_sec || v->interval_usec) && shared_pending(core, SIGALRM)) {
			v->value_sec = v->interval_sec;
			v->value_usec = v->interval_usec;
		}
		a->itimers_set |= 1u << e->which;
	}
	if (!core->n_posix_timers)
		return 0;
	timers = resume_region_alloc(r, core->n_posix_timers * sizeof(*timers));
	if (!timers)
		return -ENOSPC;
	for (size_t i = 0; i < core->n_posix_timers; i++) {
		const PosixTimerEntry *e = core->posix_timers[i];
		struct restorer_timer *t = &timers[i];

		memset(t, 0, sizeof(*t));
		t->id = e->id;
		t->clock = e->clock;
		t->read_clock = timers_read_clock(e->clock);
		t->notify = (int32_t)e->notify;
		t->signo = e->signo;
		t->tid = e->has_notify_tid ? e->notify_tid : 0;
		t->sigval = e->sigval;
		t->interval_sec = e->interval_sec;
		t->interval_nsec = e->interval_nsec;
		arm_mode(e, t);
	}
	a->timers = (uint64_t)(uintptr_t)timers;
	a->n_timers = (uint32_t)core->n_posix_timers;
	a->timer_ids_linear = !resume_timers_ids_by_prctl();
	return 0;
}
