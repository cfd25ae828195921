/* task/timers.c: the clocks and notifications of timers that restore rebuilds (see timers.h). */
#include "task/timers.h"

#include "task/timers-parse.h"

/* uapi linux/time.h */
#define CLOCK_ID_REALTIME	0
#define CLOCK_ID_MONOTONIC	1
#define CLOCK_ID_BOOTTIME	7
#define CLOCK_ID_REALTIME_ALARM 8
#define CLOCK_ID_BOOTTIME_ALARM 9
#define CLOCK_ID_TAI		11
/* a CPU clock: ~pid << 3 | (per thread 4) | which (PROF 0, VIRT 1, SCHED 2); pid 0 is the
 * caller (the process, or with the thread bit the calling thread) */
#define CPUCLOCK_PERTHREAD 4
#define CPUCLOCK_WHICH(c)  ((c)&3)
#define CPUCLOCK_PID(c)	   ((pid_t) ~((c) >> 3))
#define SIGNAL_MAX	   64

enum timers_clock_kind timers_clock_kind(int32_t clock)
{
	if (clock < 0)
		return CPUCLOCK_WHICH(clock) < 3 ? TIMERS_CLOCK_CPU : TIMERS_CLOCK_UNKNOWN;
	switch (clock) {
	case CLOCK_ID_REALTIME:
	case CLOCK_ID_TAI:
	case CLOCK_ID_REALTIME_ALARM:
		return TIMERS_CLOCK_DEADLINE;
	case CLOCK_ID_MONOTONIC:
	case CLOCK_ID_BOOTTIME:
	case CLOCK_ID_BOOTTIME_ALARM:
		return TIMERS_CLOCK_ELAPSED;
	default:
		/* CLOCK_PROCESS/THREAD_CPUTIME_ID become CPU clocks at timer_create; the raw and
		 * coarse clocks take no timers */
		return TIMERS_CLOCK_UNKNOWN;
	}
}

int32_t timers_read_clock(int32_t clock)
{
	if (clock == CLOCK_ID_REALTIME_ALARM)
		return CLOCK_ID_REALTIME;
	if (clock == CLOCK_ID_BOOTTIME_ALARM)
		return CLOCK_ID_BOOTTIME;
	return clock;
}

const char *timers_clock_refusal(int32_t clock, pid_t pid, size_t n_threads,
				 timers_is_thread_fn is_thread, const void *opaque)
{
	pid_t owner;

	switch (timers_clock_kind(clock)) {
	case TIMERS_CLOCK_UNKNOWN:
		return "a clock timer_create() does not take";
	case TIMERS_CLOCK_DEADLINE:
	case TIMERS_CLOCK_ELAPSED:
		return NULL;
	case TIMERS_CLOCK_CPU:
		break;
	}
	owner = CPUCLOCK_PID(clock);
	if (!(clock & CPUCLOCK_PERTHREAD))
		return owner == 0 || owner == pid ? NULL : "the CPU time of another process";
	if (owner == 0)
		return n_threads == 1 ? NULL
				      : "CLOCK_THREAD_CPUTIME_ID in a process of several threads "
					"(the kernel does not show which thread it measures)";
	return is_thread(opaque, owner) ? NULL : "the CPU time of a thread of another process";
}

const char *timers_notify_refusal(uint32_t notify, int32_t signo, pid_t tid,
				  timers_is_thread_fn is_thread, const void *opaque)
{
	switch (notify) {
	case TIMERS_SIGEV_NONE:
		return NULL;
	case TIMERS_SIGEV_SIGNAL:
	case TIMERS_SIGEV_THREAD:
		break;
	case TIMERS_SIGEV_SIGNAL | TIMERS_SIGEV_THREAD_ID:
		if (tid <= 0 || !is_thread(opaque, tid))
			return "its signals go to a thread that is gone";
		break;
	default:
		return "an unknown notification";
	}
	return signo < 1 || signo > SIGNAL_MAX ? "a signal number out of range" : NULL;
}
