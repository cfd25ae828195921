/* task/timers-parse.h: the text of /proc/PID/timers (Linux 3.10+, CONFIG_CHECKPOINT_RESTORE):
 * one block of four lines per POSIX timer of the process,
 *     ID: <id>
 *     signal: <signo>/<sigev_value, 16 hex digits>
 *     notify: <signal|none|thread>/<pid|tid>.<the pid or tid signals go to>
 *     ClockID: <clockid>
 * newest first. Pure: no syscalls, no logging; the caller knows whose file it read and logs. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* sigev_notify values as the kernel keeps them (asm-generic/siginfo.h) */
#define TIMERS_SIGEV_SIGNAL    0
#define TIMERS_SIGEV_NONE      1
#define TIMERS_SIGEV_THREAD    2
#define TIMERS_SIGEV_THREAD_ID 4

struct proc_timer {
	int32_t id;
	int32_t signo;	  /* as given to timer_create, unchecked for SIGEV_NONE */
	uint64_t sigval;  /* sigev_value */
	uint32_t notify;  /* TIMERS_SIGEV_*: SIGNAL, NONE or THREAD, with THREAD_ID for "tid" */
	pid_t notify_pid; /* the process ("pid") or thread ("tid") its signals go to */
	int32_t clock;	  /* clockid_t; CPU clocks are negative */
};

/* Parses len bytes of text (need not end in NUL) into *ret_timers (malloc'ed, in the file's
 * order; NULL when there are none). Returns the number of timers, -EINVAL for text that is not
 * that format (a missing or unknown line, a number out of range), or -ENOMEM. *ret_timers is
 * set only on success. */
int timers_parse(const char *text, size_t len, struct proc_timer **ret_timers);
