/* sched-attr.h: the sched_getattr(2)/sched_setattr(2) interface as the 6.x kernel uapi has it
 * (the build machine's 6.1 headers and glibc 2.36 have no wrappers) and ioprio_get/set, shared
 * by the dump and the restore of thread attributes. */
#pragma once

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct sched_attr, SCHED_ATTR_SIZE_VER1 (56 bytes: with the utilization clamps). */
struct minicr_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};
_Static_assert(sizeof(struct minicr_sched_attr) == 56, "sched_attr VER1");

#define MINICR_SCHED_NORMAL   0
#define MINICR_SCHED_FIFO     1
#define MINICR_SCHED_RR	      2
#define MINICR_SCHED_BATCH    3
#define MINICR_SCHED_IDLE     5
#define MINICR_SCHED_DEADLINE 6
#define MINICR_SCHED_EXT      7 /* sched_ext, Linux 6.12+ */

#define MINICR_SCHED_FLAG_RESET_ON_FORK 0x01
#define MINICR_SCHED_FLAG_RECLAIM	0x02
#define MINICR_SCHED_FLAG_DL_OVERRUN	0x04
#define MINICR_SCHED_FLAGS_RESTORED                                                                \
	(MINICR_SCHED_FLAG_RESET_ON_FORK | MINICR_SCHED_FLAG_RECLAIM | MINICR_SCHED_FLAG_DL_OVERRUN)
#define MINICR_SCHED_CAPACITY_SCALE 1024 /* the utilization clamps' range is 0..1024 */

static inline int minicr_sched_getattr(pid_t tid, struct minicr_sched_attr *attr)
{
	return (int)syscall(SYS_sched_getattr, tid, attr, sizeof(*attr), 0);
}

static inline int minicr_sched_setattr(pid_t tid, struct minicr_sched_attr *attr)
{
	attr->size = sizeof(*attr);
	return (int)syscall(SYS_sched_setattr, tid, attr, 0);
}

/* ioprio_get(2)/ioprio_set(2) of one thread (IOPRIO_WHO_PROCESS takes a tid). */
#define MINICR_IOPRIO_WHO_PROCESS 1
#define MINICR_IOPRIO_CLASS_SHIFT 13
#define MINICR_IOPRIO_CLASS_MAX	  3 /* IOPRIO_CLASS_IDLE */

static inline int minicr_ioprio_get(pid_t tid)
{
	return (int)syscall(SYS_ioprio_get, MINICR_IOPRIO_WHO_PROCESS, tid);
}

static inline int minicr_ioprio_set(pid_t tid, int ioprio)
{
	return (int)syscall(SYS_ioprio_set, MINICR_IOPRIO_WHO_PROCESS, tid, ioprio);
}

/* Policies whose threads carry a nice value the kernel applies (the fair classes). */
static inline int minicr_sched_is_fair(uint32_t policy)
{
	return policy == MINICR_SCHED_NORMAL || policy == MINICR_SCHED_BATCH ||
	       policy == MINICR_SCHED_IDLE || policy == MINICR_SCHED_EXT;
}
