/* task-dump.h: the per-process state a transparent resume needs, written at dump time:
 * core-<pid>.img (per thread: registers, xstate, signal mask, rseq, robust list, tid address,
 * altstack; per process: signal actions, credentials, seccomp) and mm-<pid>.img,
 * pagemap-<pid>.img, pages-<pid>.img (the address space and its data pages). */
#pragma once

struct seize_task;
struct parasite_ctl;
struct parasite_task_state;

/* Dumps one seized process whose main thread runs the parasite (ctl). Called by dump.c after
 * the fd drain and before the cure. Returns 0 or -errno (logged once). */
int task_dump(int img_dirfd, const struct seize_task *task, struct parasite_ctl *ctl,
	      const struct parasite_task_state *state);
