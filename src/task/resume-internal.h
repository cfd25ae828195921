/* resume-internal.h: the state shared by resume.c (load, enter: in the restored process) and
 * resume-finish.c (the tracer side in minicr). Not for other modules: they use resume.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "mm.pb-c.h"

struct resume_task {
	pid_t pid;
	int img_dirfd;
	bool is_seized;
	bool leave_stopped;
	TaskCoreEntry *core;
	MmEntry *mm;
	PageRunEntry **runs;
	size_t n_runs;
	uint64_t pages_size;
	/* runs of DIRECT_RUN_MIN and more are read with O_DIRECT (decided at load) */
	bool has_direct_pages;
	/* per entry of mm->vmas: index into the shared-memory registry of resume.c, or -1 */
	int *shm_idx;
	/* a MAP_SHARED page made at load and inherited by the task: minicr sets *is_seized_flag
	 * and wakes the futex once it has seized the task, which waits for that in enter() */
	uint32_t *is_seized_flag;
	/* resume_task_set_fs(): where mapped files are opened, and the task's last step */
	int path_root_fd;
	int (*enter_fs)(void *opaque);
	void *enter_opaque;
};
