/* dump-attrs.c: scheduling, affinity and timer slack of each thread, OOM score adjustment, THP
 * disable and mlockall(MCL_FUTURE) of each process (see dump-attrs.h). */
#define LOG_PREFIX "task-dump: "
#include "task/dump-attrs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"
#include "parasite/parasite-abi.h"
#include "task/sched-attr.h"

#define CPU_MASK_MAX 1024 /* bytes: 8192 CPUs, the kernel's NR_CPUS maximum */

/* A small decimal file of /proc (oom_score_adj, timerslack_ns). */
static int read_proc_number(const char *path, long min, long max, long *ret)
{
	cleanup_free char *buf = NULL;
	ssize_t len = read_file_at(AT_FDCWD, path, &buf);

	if (len < 0)
		return pr_neg((int)len, "cannot read '%s'", path);
	buf[strcspn(buf, "\n")] = 0;
	if (parse_long(buf, min, max, ret) < 0) {
		pr_err("cannot parse '%s': '%s'", path, buf);
		return -EINVAL;
	}
	return 0;
}

static int read_sched(pid_t pid, pid_t tid, SchedEntry *s)
{
	struct minicr_sched_attr attr = {0};
	uint32_t policy;
	int nice;

	if (minicr_sched_getattr(tid, &attr) < 0)
		return pr_errno("cannot read the scheduling attributes of thread %d", (int)tid);
	policy = attr.sched_policy;
	/* A kernel with utilization clamps reports 0..1024 by default (util_max 0: none); a
	 * real-time thread's default minimum is a sysctl's, so only its maximum is judged. */
	if (attr.sched_util_max && (attr.sched_util_max != MINICR_SCHED_CAPACITY_SCALE ||
				    (minicr_sched_is_fair(policy) && attr.sched_util_min != 0))) {
		pr_err(
		    "cannot dump thread %d of task %d: it has utilization clamps (util_min %" PRIu32
		    ", util_max %" PRIu32 "), which minicr does not restore",
		    (int)tid, (int)pid, attr.sched_util_min, attr.sched_util_max);
		return -ENOTSUP;
	}
	/* sched_getattr tells the nice value of fair threads only; a real-time thread keeps one */
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (nice == -1 && errno)
		return pr_errno("cannot read the nice value of thread %d", (int)tid);
	sched_entry__init(s);
	s->policy = policy;
	s->has_flags = s->has_nice = s->has_priority = true;
	s->flags = attr.sched_flags;
	s->nice = nice;
	s->priority = attr.sched_priority;
	s->has_runtime = true;
	s->runtime = attr.sched_runtime;
	if (policy == MINICR_SCHED_DEADLINE) {
		s->has_deadline = s->has_period = true;
		s->deadline = attr.sched_deadline;
		s->period = attr.sched_period;
	}
	return 0;
}

static int read_affinity(pid_t tid, struct dump_thread_attrs *attrs)
{
	uint8_t mask[CPU_MASK_MAX];
	long len = syscall(SYS_sched_getaffinity, tid, sizeof(mask), mask);

	if (len < 0)
		return pr_errno("cannot read the CPU affinity of thread %d", (int)tid);
	/* the kernel fills nr_cpu_ids bits rounded up to longs: drop the zero tail */
	while (len > 0 && !mask[len - 1])
		len--;
	attrs->cpus = malloc(len ? (size_t)len : 1);
	if (!attrs->cpus)
		return pr_neg(-ENOMEM, "cannot allocate an affinity mask");
	memcpy(attrs->cpus, mask, (size_t)len);
	attrs->cpus_len = (size_t)len;
	return 0;
}

int dump_attrs_thread(pid_t pid, pid_t tid, ThreadCoreEntry *e, struct dump_thread_attrs *attrs)
{
	char path[64];
	long slack;
	int ret, ioprio;

	memset(attrs, 0, sizeof(*attrs));
	ret = read_sched(pid, tid, &attrs->sched);
	if (ret < 0)
		return ret;
	ret = read_affinity(tid, attrs);
	if (ret < 0)
		return ret;
	/* /proc/TID is the thread's own directory (task/TID has no timerslack_ns) */
	snprintf(path, sizeof(path), "/proc/%d/timerslack_ns", (int)tid);
	ret = read_proc_number(path, 0, LONG_MAX, &slack);
	if (ret < 0)
		return ret;
	ioprio = minicr_ioprio_get(tid);
	if (ioprio < 0)
		return pr_errno("cannot read the I/O priority of thread %d", (int)tid);
	e->sched = &attrs->sched;
	e->has_cpus_allowed = true;
	e->cpus_allowed.data = attrs->cpus;
	e->cpus_allowed.len = attrs->cpus_len;
	e->has_timer_slack_ns = true;
	e->timer_slack_ns = (uint64_t)slack;
	e->has_ioprio = true;
	e->ioprio = (uint32_t)ioprio;
	return 0;
}

void dump_attrs_thread_free(struct dump_thread_attrs *attrs)
{
	free(attrs->cpus);
	attrs->cpus = NULL;
}

int dump_attrs_process(pid_t pid, const struct parasite_task_state *state, TaskCoreEntry *core)
{
	char path[64];
	long oom;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	ret = read_proc_number(path, -1000, 1000, &oom);
	if (ret < 0)
		return ret;
	if (state->thp_disable < 0)
		return pr_neg(state->thp_disable, "cannot read the THP disable mode of task %d",
			      (int)pid);
	if (state->mlock_future == -EAGAIN) {
		/* only a mapping that would be locked counts against RLIMIT_MEMLOCK */
		pr_err("cannot dump task %d: it has mlockall(MCL_FUTURE) in force and its "
		       "RLIMIT_MEMLOCK used up, so minicr cannot tell whether MCL_ONFAULT is set",
		       (int)pid);
		return -ENOTSUP;
	}
	if (state->mlock_future < 0)
		return pr_neg(state->mlock_future,
			      "cannot tell the mlockall(MCL_FUTURE) mode of task %d", (int)pid);
	/* tests: a failure while the parasite runs, which the cure must undo */
	ret = dump_fault("task-attrs");
	if (ret < 0)
		return ret;
	core->has_oom_score_adj = true;
	core->oom_score_adj = (int32_t)oom;
	core->has_thp_disable = core->has_mlock_future = true;
	core->thp_disable = (uint32_t)state->thp_disable;
	core->mlock_future = (uint32_t)state->mlock_future;
	return 0;
}
