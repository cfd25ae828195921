/* core-check.h: the checks of one task's core, mm and pagemap images that restore runs before
 * it changes anything, and that dump runs on what it is about to publish. Pure: no syscalls;
 * logs one line per refusal (naming the image, record and reason). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "mm.pb-c.h"

#define CORE_CHECK_PAGE_SIZE 4096ull
#define CORE_CHECK_TASK_SIZE 0x7ffffffff000ull /* x86_64 user address space, 4-level paging */
#define CORE_CHECK_NLIMITS   16		       /* RLIMIT_CPU .. RLIMIT_RTTIME */
#define CORE_CHECK_CPU_MASK_MAX 1024		  /* bytes of an affinity mask: 8192 CPUs */

/* The loaded images of one task. runs are the pagemap records in file order; pages_size is the
 * size of the raw page data in pages-<pid>.img. */
struct task_images {
	pid_t pid;
	const TaskCoreEntry *core;
	const MmEntry *mm;
	PageRunEntry *const *runs;
	size_t n_runs;
	uint64_t pages_size;
};

/* Everything resume relies on in these images: pids, threads' registers and xstate sizes,
 * signals, seccomp filters, credentials, resource limits, scheduling parameters (what
 * sched_setattr accepts), affinity masks, timer slack, OOM score adjustment, THP and mlockall
 * modes, interval and POSIX timers (ids in order, clocks, notifications and target threads
 * timer_create takes, well-formed times), mappings (with their mlock state) (in order, in range, a
 * supported kind, file paths absolute and within the path rules, shared memory with an
 * identity), auxv, the executable's path, and page runs inside mappings that hold pages and
 * inside the pages image. Returns 0, or -EBADMSG after one log line. */
int task_images_validate(const struct task_images *ti);
