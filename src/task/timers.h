/* task/timers.h: what restore can rebuild of a process's interval and POSIX timers, shared by
 * the dump (dump-timers.c), the image checks (core-check.c) and the restore's arguments
 * (resume-args.c): which clocks and notifications, and how a timer's time is carried across.
 * Pure: no syscalls, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TIMERS_MAX_POSIX 65536 /* POSIX timers of one process in an image */
#define TIMERS_NSEC	 1000000000LL
#define TIMERS_USEC	 1000000LL
/* Without PR_TIMER_CREATE_RESTORE_IDS (Linux 6.15+) the restorer reaches an id by creating and
 * deleting timers until the kernel hands it out (it counts up from 0 in a new process): about
 * 1 us each, so ids stay below this. */
#define TIMERS_LINEAR_ID_MAX 65536

/* How a timer's expiry is carried across the restore: the kernel does not show whether a timer
 * was armed with TIMER_ABSTIME, so the clock decides. */
enum timers_clock_kind {
	TIMERS_CLOCK_UNKNOWN,
	/* CLOCK_REALTIME, CLOCK_TAI, CLOCK_REALTIME_ALARM: wall-clock time, which runs on while
	 * the tree is dumped: the expiry is kept on the clock */
	TIMERS_CLOCK_DEADLINE,
	/* CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM: counted from this boot, which a
	 * restore may follow: the time left starts running again at restore */
	TIMERS_CLOCK_ELAPSED,
	/* a process's or thread's CPU time, which does not run while it is dumped: the time left
	 * starts running again at restore */
	TIMERS_CLOCK_CPU,
};

enum timers_clock_kind timers_clock_kind(int32_t clock);

/* The clock clock_gettime() reads for a timer on clock (an _ALARM clock's time is its base
 * clock's; reading it needs an RTC). */
int32_t timers_read_clock(int32_t clock);

/* Whether a thread tid belongs to the process (the callers' own list of threads). */
typedef bool (*timers_is_thread_fn)(const void *opaque, pid_t tid);

/* Why a timer of process pid (n_threads threads) on clock cannot be restored, or NULL: a clock
 * timer_create() does not take, a CPU clock of another process or of a thread that is not one
 * of pid's, or CLOCK_THREAD_CPUTIME_ID (the creating thread's CPU time, which the kernel shows
 * as no thread at all) in a process of several threads. */
const char *timers_clock_refusal(int32_t clock, pid_t pid, size_t n_threads,
				 timers_is_thread_fn is_thread, const void *opaque);

/* Why a timer with this notification (TIMERS_SIGEV_*), signal and target thread cannot be
 * restored, or NULL. */
const char *timers_notify_refusal(uint32_t notify, int32_t signo, pid_t tid,
				  timers_is_thread_fn is_thread, const void *opaque);

/* A time the kernel takes: seconds and a fraction below one second (per is TIMERS_NSEC or
 * TIMERS_USEC). */
static inline bool timers_time_valid(int64_t sec, int64_t frac, int64_t per)
{
	return sec >= 0 && frac >= 0 && frac < per;
}
