/* dump-attrs.h: the attributes a task sets for itself that the kernel keeps outside its memory
 * and registers, read at dump into its core record: per thread the scheduling policy and
 * parameters (sched_getattr), CPU affinity, timer slack and I/O priority; per process the OOM score
 * adjustment, THP disable and mlockall(MCL_FUTURE). A state restore could not rebuild is refused
 * here with one line. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"

struct parasite_task_state;

/* Storage behind the fields dump_attrs_thread() sets in a ThreadCoreEntry. */
struct dump_thread_attrs {
	SchedEntry sched;
	uint8_t *cpus; /* malloc'd affinity mask */
	size_t cpus_len;
};

/* Reads thread tid's scheduling attributes, affinity, timer slack and I/O priority (from
 * minicr: no
 * injection) and points e's fields at attrs. Returns 0, -ENOTSUP for a state restore cannot
 * rebuild, or -errno (each logged once). Free attrs with dump_attrs_thread_free() either way. */
int dump_attrs_thread(pid_t pid, pid_t tid, ThreadCoreEntry *e, struct dump_thread_attrs *attrs);
void dump_attrs_thread_free(struct dump_thread_attrs *attrs);

/* Reads the process's OOM score adjustment, and takes its THP disable mode and whether
 * mlockall(MCL_FUTURE) is in force from what its parasite reported (state), into core. Returns
 * 0, -ENOTSUP, or -errno (each logged once). */
int dump_attrs_process(pid_t pid, const struct parasite_task_state *state, TaskCoreEntry *core);
