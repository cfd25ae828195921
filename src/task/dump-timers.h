/* task/dump-timers.h: the interval timers and POSIX timers of one seized process. The POSIX
 * ones are listed by /proc/PID/timers; their time, and the interval timers, exist only inside
 * the process: the parasite calls getitimer(), timer_gettime() and timer_getoverrun() are
 * injected there. A timer
 * signal still pending becomes part of its timer's record, since restore has the timer queue
 * it again. Refuses, with one line, what restore cannot rebuild (timers.h). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "core.pb-c.h"

struct parasite_task_state;

struct dump_timers {
	ItimerEntry itimers[3];
	ItimerEntry *itimer_ptrs[3];
	PosixTimerEntry *posix;
	PosixTimerEntry **posix_ptrs;
	size_t n_posix;
};

/* Reads the timers of process pid, whose threads are tids (pid among them): the interval
 * timers from what its parasite reported (state), the POSIX timers, if it has any, by syscalls
 * injected into its main thread (inject.h: seized and stopped, no parasite running), which is
 * cured after. Sets core->itimers and core->posix_timers to records dt owns (free with
 * dump_timers_free(), also on failure). Returns 0, -ENOTSUP for a timer restore cannot rebuild,
 * or another -errno; every failure is logged once. */
int dump_timers_read(pid_t pid, const struct parasite_task_state *state, const pid_t *tids,
		     size_t n_tids, TaskCoreEntry *core, struct dump_timers *dt);

/* Once every pending signal of the task is in core (its threads' and the shared ones): takes
 * out each one a POSIX timer of dt queued and marks the timer signal_pending instead; a timer
 * signal the kernel would drop when it is dequeued (its timer was deleted or armed again since)
 * is left out too, with an info line. Entries are moved, not freed: the arrays keep their
 * length for whoever frees them, and the counts in core shrink. */
void dump_timers_take_signals(pid_t pid, struct dump_timers *dt, TaskCoreEntry *core);

void dump_timers_free(struct dump_timers *dt);
