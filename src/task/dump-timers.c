/* task/dump-timers.c: a process's interval and POSIX timers (see dump-timers.h). */
#define LOG_PREFIX "task-dump: "
#include "task/dump-timers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/util.h"
#include "parasite/parasite-abi.h"
#include "task/inject.h"
#include "task/timers-parse.h"
#include "task/timers.h"

#define SIGINFO_SIZE 128

/* the kernel's struct __kernel_itimerspec on x86_64 */
struct k_itimerspec {
	int64_t interval_sec, interval_nsec, value_sec, value_nsec;
};

struct tid_list {
	const pid_t *tids;
	size_t n;
};

static bool is_thread(const void *opaque, pid_t tid)
{
	const struct tid_list *l = opaque;

	for (size_t i = 0; i < l->n; i++)
		if (l->tids[i] == tid)
			return true;
	return false;
}

/* One injected syscall that reads into buf; a failure of the call itself is logged here. */
static int read_inside(struct inject *inj, pid_t pid, const char *what, long nr, long arg0,
		       void *buf, size_t len, long *ret_value)
{
	unsigned long args[6] = {(unsigned long)arg0, buf ? INJECT_SCRATCH : 0};
	long value;
	int ret;

	ret = buf ? inject_syscall_buf(inj, nr, args, buf, len, &value)
		  : inject_syscall(inj, nr, args, INJECT_CONT_SIGRETURN, &value);
	if (ret < 0)
		return pr_neg(ret, "cannot read %s of task %d", what, (int)pid);
	if (value < 0)
		return pr_neg((int)value, "cannot read %s of task %d", what, (int)pid);
	if (ret_value)
		*ret_value = value;
	return 0;
}

static int read_itimers(pid_t pid, const struct parasite_task_state *state, TaskCoreEntry *core,
			struct dump_timers *dt)
{
	size_t n = 0;

	if (state->itimers_ret < 0)
		return pr_neg(state->itimers_ret, "cannot read the interval timers of task %d",
			      (int)pid);
	for (int which = 0; which < 3; which++) {
		const struct parasite_itimerval *v = &state->itimers[which];
		ItimerEntry *e = &dt->itimers[n];

		/* a disarmed timer keeps the period it was last given (setitimer stores it) */
		if (!v->value_sec && !v->value_usec && !v->interval_sec && !v->interval_usec)
			continue;
		itimer_entry__init(e);
		e->which = (uint32_t)which;
		e->has_value_sec = e->has_value_usec = e->has_interval_sec = e->has_interval_usec =
		    true;
		e->value_sec = v->value_sec;
		e->value_usec = v->value_usec;
		e->interval_sec = v->interval_sec;
		e->interval_usec = v->interval_usec;
		dt->itimer_ptrs[n++] = e;
	}
	core->n_itimers = n;
	core->itimers = dt->itimer_ptrs;
	return 0;
}

static int read_proc_timers(pid_t pid, struct proc_timer **ret, int *ret_n)
{
	cleanup_free char *text = NULL;
	char path[64];
	ssize_t len;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/timers", (int)pid);
	len = read_file_at(AT_FDCWD, path, &text);
	if (len < 0)
		return pr_neg((int)len, "cannot read '%s'", path);
	n = timers_parse(text, (size_t)len, ret);
	if (n == -ENOMEM)
		return pr_neg(n, "cannot allocate the timers of task %d", (int)pid);
	if (n < 0) {
		pr_err("cannot parse '%s'", path);
		return n;
	}
	*ret_n = n;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct proc_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The refusals of timers.h, with the task and timer named. */
static int check_timer(pid_t pid, const struct proc_timer *t, const struct tid_list *threads)
{
	const char *why = timers_clock_refusal(t->clock, pid, threads->n, is_thread, threads);

	if (!why)
		why = timers_notify_refusal(t->notify, t->signo, t->notify_pid, is_thread, threads);
	if (!why)
		return 0;
	pr_err("cannot dump task %d: POSIX timer %d (clock %d) has %s", (int)pid, t->id, t->clock,
	       why);
	return -ENOTSUP;
}

/* The wall-clock expiry of a timer whose time left is v: the kernel reads the same clock. */
static int add_deadline(pid_t pid, PosixTimerEntry *e)
{
	struct timespec now;
	int64_t nsec;

	if (timers_clock_kind(e->clock) != TIMERS_CLOCK_DEADLINE ||
	    (!e->value_sec && !e->value_nsec))
		return 0;
	if (clock_gettime(timers_read_clock(e->clock), &now) < 0)
		return pr_errno("cannot read clock %d for POSIX timer %d of task %d", e->clock,
				e->id, (int)pid);
	nsec = now.tv_nsec + e->value_nsec;
	e->has_deadline_sec = e->has_deadline_nsec = true;
	e->deadline_sec = now.tv_sec + e->value_sec + nsec / TIMERS_NSEC;
	e->deadline_nsec = nsec % TIMERS_NSEC;
	return 0;
}

static int read_posix_timer(pid_t pid, struct inject *inj, const struct proc_timer *t,
			    PosixTimerEntry *e)
{
	struct k_itimerspec v = {0};
	char what[48];
	long overrun = 0;
	int ret;

	snprintf(what, sizeof(what), "POSIX timer %d", t->id);
	ret = read_inside(inj, pid, what, __NR_timer_gettime, t->id, &v, sizeof(v), NULL);
	if (ret == 0)
		ret = read_inside(inj, pid, what, __NR_timer_getoverrun, t->id, NULL, 0, &overrun);
	if (ret < 0)
		return ret;
	/* what timer_getoverrun() answers until the timer's next signal is taken; timer_settime()
	 * sets it to 0 and nothing sets it to anything else */
	if (overrun) {
		pr_err("cannot dump task %d: POSIX timer %d has an overrun count of %ld from its "
		       "last signal, which a restore cannot set again",
		       (int)pid, t->id, overrun);
		return -ENOTSUP;
	}
	posix_timer_entry__init(e);
	e->id = t->id;
	e->clock = t->clock;
	e->has_notify = e->has_signo = e->has_sigval = true;
	e->notify = t->notify;
	e->signo = t->signo;
	e->sigval = t->sigval;
	if (t->notify & TIMERS_SIGEV_THREAD_ID) {
		e->has_notify_tid = true;
		e->notify_tid = t->notify_pid;
	}
	e->has_value_sec = e->has_value_nsec = e->has_interval_sec = e->has_interval_nsec = true;
	e->value_sec = v.value_sec;
	e->value_nsec = v.value_nsec;
	e->interval_sec = v.interval_sec;
	e->interval_nsec = v.interval_nsec;
	/* a disarmed CPU timer still shows the period it had */
	if (!v.value_sec && !v.value_nsec)
		e->interval_sec = e->interval_nsec = 0;
	e->has_overrun = true;
	e->overrun = (int32_t)overrun;
	return add_deadline(pid, e);
}

static int read_posix_timers(pid_t pid, const struct tid_list *threads, TaskCoreEntry *core,
			     struct dump_timers *dt)
{
	cleanup(inject_freep) struct inject *inj = NULL;
	cleanup_free struct proc_timer *timers = NULL;
	int n = 0, ret, ret2;

	ret = read_proc_timers(pid, &timers, &n);
	if (ret < 0 || n == 0)
		return ret;
	if (n > TIMERS_MAX_POSIX) {
		pr_err("cannot dump task %d: it has %d POSIX timers, more than the %d minicr "
		       "restores",
		       (int)pid, n, TIMERS_MAX_POSIX);
		return -ENOTSUP;
	}
	qsort(timers, (size_t)n, sizeof(*timers), cmp_id);
	for (int i = 0; i < n; i++) {
		ret = check_timer(pid, &timers[i], threads);
		if (ret < 0)
			return ret;
	}
	dt->posix = calloc((size_t)n, sizeof(*dt->posix));
	dt->posix_ptrs = calloc((size_t)n, sizeof(*dt->posix_ptrs));
	if (!dt->posix || !dt->posix_ptrs)
		return pr_neg(-ENOMEM, "cannot allocate the timers of task %d", (int)pid);
	ret = inject_prepare(pid, 0, &inj);
	if (ret < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		/* tests: a failure between injections, which the cure must undo */
		ret = i == n - 1 ? dump_fault("timers") : 0;
		if (ret == 0)
			ret = read_posix_timer(pid, inj, &timers[i], &dt->posix[i]);
		if (ret < 0)
			break;
		dt->posix_ptrs[i] = &dt->posix[i];
		dt->n_posix = (size_t)i + 1;
	}
	/* the injections blocked the task's signals: put its mask and registers back */
	ret2 = inject_cure(inj);
	if (ret < 0)
		return ret;
	if (ret2 < 0)
		return ret2;
	core->n_posix_timers = dt->n_posix;
	core->posix_timers = dt->posix_ptrs;
	return 0;
}

int dump_timers_read(pid_t pid, const struct parasite_task_state *state, const pid_t *tids,
		     size_t n_tids, TaskCoreEntry *core, struct dump_timers *dt)
{
	struct tid_list threads = {tids, n_tids};
	int ret;

	memset(dt, 0, sizeof(*dt));
	ret = read_itimers(pid, state, core, dt);
	if (ret == 0)
		ret = read_posix_timers(pid, &threads, core, dt);
	return ret;
}

/* ---- pending timer signals ----------------------------------------------------------------- */

/* The timer (of dt) that queued a siginfo, if it is a timer signal: SI_TIMER, si_timerid. */
static PosixTimerEntry *timer_of(struct dump_timers *dt, const siginfo_t *si)
{
	for (size_t i = 0; i < dt->n_posix; i++)
		if (dt->posix[i].id == si->si_timerid)
			return &dt->posix[i];
	return NULL;
}

/* Whether e's signal goes to the queue of thread tid (0: the process's shared queue). */
static bool queues_to(const PosixTimerEntry *e, pid_t tid)
{
	if (e->notify == TIMERS_SIGEV_NONE)
		return false;
	if (e->notify & TIMERS_SIGEV_THREAD_ID)
		return tid == e->notify_tid;
	return tid == 0;
}

/* Keeps the entries of sigs[0..*n) that are no timer's at the front, in order; the others
 * move behind them (an in-place stable partition: a task has few pending signals). */
static void take_from(pid_t pid, pid_t tid, struct dump_timers *dt, ProtobufCBinaryData *sigs,
		      size_t *n)
{
	size_t kept = 0;
	char where[32] = "";

	if (tid)
		snprintf(where, sizeof(where), " for thread %d", (int)tid);
	for (size_t i = 0; i < *n; i++) {
		ProtobufCBinaryData keep = sigs[i];
		PosixTimerEntry *e;
		siginfo_t si;

		if (sigs[i].len == SIGINFO_SIZE) {
			memcpy(&si, sigs[i].data, sizeof(si));
			if (si.si_code == SI_TIMER) {
				e = timer_of(dt, &si);
				if (e && queues_to(e, tid) && e->signo == si.si_signo &&
				    !e->signal_pending &&
				    (e->interval_sec || e->interval_nsec ||
				     (!e->value_sec && !e->value_nsec))) {
					/* periodic (going on once this one is delivered), or
					 * one-shot and done */
					e->has_signal_pending = e->signal_pending = true;
				} else {
					pr_info("task %d: signal %d of POSIX timer %d pending%s is "
						"left out: its timer was deleted or armed again "
						"since, so the kernel drops it",
						(int)pid, si.si_signo, si.si_timerid, where);
				}
				continue;
			}
		}
		memmove(&sigs[kept + 1], &sigs[kept], (i - kept) * sizeof(*sigs));
		sigs[kept++] = keep;
	}
	*n = kept;
}

void dump_timers_take_signals(pid_t pid, struct dump_timers *dt, TaskCoreEntry *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		take_from(pid, core->threads[i]->tid, dt, core->threads[i]->pending_signals,
			  &core->threads[i]->n_pending_signals);
	take_from(pid, 0, dt, core->shared_pending_signals, &core->n_shared_pending_signals);
}

void dump_timers_free(struct dump_timers *dt)
{
	free(dt->posix);
	free(dt->posix_ptrs);
	dt->posix = NULL;
	dt->posix_ptrs = NULL;
	dt->n_posix = 0;
}
