/* restore-fault.h: fault injection for the restore steps, so tests can prove that a failure at
 * any step leaves nothing behind: MINICR_FAULT=<step> makes that step fail with EIO. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Steps, in order: validate, detached, detached-mountpoint, mntns, files (unix-create,
 * unix-queues and inet while sockets are opened), fork (of the last task), install (in the
 * last task), late (the root task opening the files that wait for the whole tree),
 * after-install (the kinds' last steps, in the last task), ready (in the last task) and attrs
 * (the tracer's, in the first task finished); restorer-thp, restorer-mlock, restorer-itimer,
 * restorer-timer and restorer-timer-arm are read by resume-args.c and fail inside the restorer
 * blob, and timer-restore-ids (resume-timers.c) makes the kernel look as if it had no
 * PR_TIMER_CREATE_RESTORE_IDS. Returns 0, or -EIO after logging one line when the step is the
 * one named by MINICR_FAULT. One step may fail without failing the restore: unix-lone-pairs
 * (the fast pass for socket pairs, whose pairs the general steps then make; its line is
 * muted). */
static inline int restore_fault(const char *step)
{
	const char *f = getenv("MINICR_FAULT");

	if (!f || strcmp(f, step) != 0)
		return 0;
	log_print(LOG_ERROR, __FILE__, __LINE__, 0, "restore: injected fault at step '%s'", step);
	return -EIO;
}

/* The same for dump steps of the fd kinds (the socket kinds' sock-diag, sock-queue, tcp-repair
 * and sock-finish) and of the tasks (task-attrs and timers: between the syscalls injected to read
 * them): -EIO
 * after one line naming the step when MINICR_FAULT names it. The dump then fails and must leave
 * every socket of the tree as it was. */
static inline int dump_fault(const char *step)
{
	const char *f = getenv("MINICR_FAULT");

	if (!f || strcmp(f, step) != 0)
		return 0;
	log_print(LOG_ERROR, __FILE__, __LINE__, 0, "dump: injected fault at step '%s'", step);
	return -EIO;
}
