/* task-dump.h: the per-process state a transparent resume needs, written at dump time:
 * core-<pid>.img (per thread: registers, xstate, signal mask, rseq, robust list, tid address,
 * altstack; per process: signal actions, credentials, seccomp) and mm-<pid>.img,
 * pagemap-<pid>.img, pages-<pid>.img (the address space and its data pages). */
#pragma once

#include <stdint.h>

#include "core.pb-c.h"

struct seize_task;
struct parasite_ctl;
struct parasite_task_state;

/* The part of a process's dump that needs its parasite running (its report, state, is in):
 * initialises core and puts the process attributes into it (dump-attrs.h). Returns 0 or -errno
 * (logged once). */
int task_dump_running(const struct seize_task *task, const struct parasite_task_state *state,
		      TaskCoreEntry *core);

/* Dumps the rest of one seized process, after task_dump_running() filled core. Called by
 * dump.c after the fd drain and the task-state query, before parasite_ctl_free(ctl). It cures
 * the task itself first, if dump.c has not yet (parasite_ctl_cure() is idempotent): rseq
 * configuration, pending signals and the other ptrace queries need the main thread in a ptrace
 * stop, and the memory image must not hold the parasite. ctl still provides the registers,
 * xstate and signal mask saved before minicr touched the task; state is what the parasite
 * reported (sigactions, altstack, tid address, brk, umask, dumpable, ...). Secondary threads get
 * injected queries (inject.h) of their own. Refuses, with one error line naming the pid and the
 * reason, what resume cannot rebuild (shadow stacks, strict seccomp, deleted files, SysV shm,
 * device mappings, a different vdso layout). core points into this call's own storage
 * afterwards: do not use it again. Returns 0 or -errno (logged once). */
int task_dump(int img_dirfd, const struct seize_task *task, struct parasite_ctl *ctl,
	      const struct parasite_task_state *state, TaskCoreEntry *core,
	      const uint64_t own_special_sizes[3]);
