/* Unit tests for timers-parse.c and timers.c: /proc/PID/timers as this machine's 6.18 kernel
 * prints it (three timers of one process: SIGEV_SIGNAL on CLOCK_MONOTONIC, the default signal
 * on CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE on CLOCK_REALTIME; a SIGEV_THREAD_ID one), malformed
 * text, and which clocks and notifications restore refuses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "task/timers-parse.h"
#include "task/timers.h"

static const char three[] = "ID: 2\n"
			    "signal: 37/0000000000001234\n"
			    "notify: none/pid.3435\n"
			    "ClockID: 0\n"
			    "ID: 1\n"
			    "signal: 14/0000000000000000\n"
			    "notify: signal/pid.3435\n"
			    "ClockID: -6\n"
			    "ID: 0\n"
			    "signal: 37/0000000000001234\n"
			    "notify: signal/pid.3435\n"
			    "ClockID: 1\n";

static int parse(const char *text, struct proc_timer **ret)
{
	return timers_parse(text, strlen(text), ret);
}

Test(timers_parse, parses_every_block_in_file_order)
{
	struct proc_timer *t = NULL;

	cr_assert_eq(parse(three, &t), 3);
	cr_assert_eq(t[0].id, 2);
	cr_assert_eq(t[0].signo, 37);
	cr_assert_eq(t[0].sigval, 0x1234);
	cr_assert_eq(t[0].notify, TIMERS_SIGEV_NONE);
	cr_assert_eq(t[0].notify_pid, 3435);
	cr_assert_eq(t[0].clock, 0);
	cr_assert_eq(t[1].signo, 14);
	cr_assert_eq(t[1].notify, TIMERS_SIGEV_SIGNAL);
	cr_assert_eq(t[1].clock, -6);
	cr_assert_eq(t[2].id, 0);
	cr_assert_eq(t[2].clock, 1);
	free(t);
}

Test(timers_parse, marks_a_thread_target)
{
	struct proc_timer *t = NULL;

	cr_assert_eq(parse("ID: 7\nsignal: 34/00000000deadbeef\nnotify: signal/tid.3436\n"
			   "ClockID: 7",
			   &t),
		     1);
	cr_assert_eq(t[0].notify, TIMERS_SIGEV_SIGNAL | TIMERS_SIGEV_THREAD_ID);
	cr_assert_eq(t[0].notify_pid, 3436);
	cr_assert_eq(t[0].sigval, 0xdeadbeef);
	cr_assert_eq(t[0].clock, 7);
	free(t);
}

Test(timers_parse, an_empty_file_has_no_timers)
{
	struct proc_timer *t = (struct proc_timer *)1;

	cr_assert_eq(timers_parse("", 0, &t), 0);
	cr_assert_null(t);
}

Test(timers_parse, refuses_malformed_text)
{
	static const char *const bad[] = {
	    "ID: 1\n",
	    "ID: x\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 1\n",
	    "ID: -1\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 1\n",
	    "ID: 1\nsignal: 14\nnotify: signal/pid.1\nClockID: 1\n",
	    "ID: 1\nsignal: 14/00000000000000001\nnotify: signal/pid.1\nClockID: 1\n",
	    "ID: 1\nsignal: 14/0\nnotify: sometimes/pid.1\nClockID: 1\n",
	    "ID: 1\nsignal: 14/0\nnotify: signal/gid.1\nClockID: 1\n",
	    "ID: 1\nsignal: 14/0\nnotify: signal/pid.1\nClock: 1\n",
	    "ID: 1\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 1x\n",
	    "ID: 1\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 99999999999\n",
	};
	struct proc_timer *t = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &t), -EINVAL, "accepted: %s", bad[i]);
	cr_assert_null(t);
}

/* a CPU clock id: ~pid << 3 | bits, computed without shifting a negative value */
static int32_t cpu_clock(pid_t pid, int bits)
{
	return (int32_t)(~(uint32_t)pid << 3 | (uint32_t)bits);
}

static bool is_3436(const void *opaque, pid_t tid)
{
	(void)opaque;
	return tid == 3435 || tid == 3436;
}

Test(timers, refuses_clocks_restore_cannot_make)
{
	/* CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME_ALARM */
	cr_assert_null(timers_clock_refusal(1, 3435, 2, is_3436, NULL));
	cr_assert_null(timers_clock_refusal(0, 3435, 2, is_3436, NULL));
	cr_assert_null(timers_clock_refusal(9, 3435, 2, is_3436, NULL));
	/* CLOCK_MONOTONIC_RAW takes no timers */
	cr_assert_not_null(timers_clock_refusal(4, 3435, 2, is_3436, NULL));
	/* CLOCK_PROCESS_CPUTIME_ID as /proc shows it: -6 (~0 << 3 | SCHED 2) */
	cr_assert_null(timers_clock_refusal(-6, 3435, 2, is_3436, NULL));
	/* the process's own CPU clock by pid, and another process's */
	cr_assert_null(timers_clock_refusal(cpu_clock(3435, 2), 3435, 2, is_3436, NULL));
	cr_assert_not_null(timers_clock_refusal(cpu_clock(4000, 2), 3435, 2, is_3436, NULL));
	/* CLOCK_THREAD_CPUTIME_ID (-2): fine alone, unknown thread among several */
	cr_assert_null(timers_clock_refusal(-2, 3435, 1, is_3436, NULL));
	cr_assert_not_null(timers_clock_refusal(-2, 3435, 2, is_3436, NULL));
	/* a thread's CPU clock by tid: one of ours, or not */
	cr_assert_null(timers_clock_refusal(cpu_clock(3436, 4 | 1), 3435, 2, is_3436, NULL));
	cr_assert_not_null(timers_clock_refusal(cpu_clock(4001, 4 | 1), 3435, 2, is_3436, NULL));
	cr_assert_eq(timers_read_clock(8), 0);
	cr_assert_eq(timers_read_clock(9), 7);
}

Test(timers, refuses_notifications_restore_cannot_make)
{
	cr_assert_null(timers_notify_refusal(TIMERS_SIGEV_NONE, 0, 0, is_3436, NULL));
	cr_assert_null(timers_notify_refusal(TIMERS_SIGEV_SIGNAL, 14, 0, is_3436, NULL));
	cr_assert_not_null(timers_notify_refusal(TIMERS_SIGEV_SIGNAL, 65, 0, is_3436, NULL));
	cr_assert_null(timers_notify_refusal(TIMERS_SIGEV_SIGNAL | TIMERS_SIGEV_THREAD_ID, 34, 3436,
					     is_3436, NULL));
	cr_assert_not_null(timers_notify_refusal(TIMERS_SIGEV_SIGNAL | TIMERS_SIGEV_THREAD_ID, 34,
						 0, is_3436, NULL));
	cr_assert_not_null(timers_notify_refusal(8, 14, 0, is_3436, NULL));
}
