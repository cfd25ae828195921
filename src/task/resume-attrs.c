/* resume-attrs.c: the attributes minicr, as the tracer, gives a restored process once the blob
 * is done and before any thread runs again: per thread the CPU affinity, the scheduling policy
 * and parameters, the timer slack, the I/O priority; per process the OOM score adjustment. And the
 * checks, at load (and so at dump), that this machine can give them.
 *
 * Why from the tracer and not in the blob: minicr holds CAP_SYS_NICE whatever credentials the
 * blob has given the task by then, so a raised priority or a real-time policy is never held
 * back by the task's own uid, RLIMIT_NICE or RLIMIT_RTPRIO (which the blob sets before the
 * credentials); every thread exists by then, and a SCHED_DEADLINE thread could not have
 * created the others (the kernel refuses fork and clone to deadline tasks); timer slack and
 * oom_score_adj of another task are set through /proc, which the restored mount namespace may
 * not have; and a failure is logged by minicr where its errno is born. */
#define LOG_PREFIX "resume: "
#include "task/resume-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"
#include "task/core-check.h"
#include "task/sched-attr.h"

#define CPU_ONLINE_PATH "/sys/devices/system/cpu/online"
#define CPULIST_TEXT	256 /* for messages */

struct thread_attrs {
	pid_t tid;
	bool has_sched;
	struct minicr_sched_attr sched;
	uint8_t *cpus; /* NULL: keep */
	size_t cpus_len;
	bool has_slack;
	uint64_t slack;
	bool has_ioprio;
	int ioprio;
};

struct resume_attrs {
	bool has_oom;
	int oom;
	size_t n;
	struct thread_attrs threads[];
};

/* ---- checks, in minicr -------------------------------------------------------------------- */

static bool masks_meet(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	for (size_t i = 0; i < a_len && i < b_len; i++)
		if (a[i] & b[i])
			return true;
	return false;
}

/* A restored thread is in minicr's cgroup: a mask that meets minicr's own affinity can be set
 * (the common case, one syscall); else the kernel takes any online CPU of the cpuset. */
static int check_affinity(const struct resume_task *rt, const ThreadCoreEntry *t)
{
	uint8_t usable[CORE_CHECK_CPU_MASK_MAX];
	char have[CPULIST_TEXT], want[CPULIST_TEXT];
	cleanup_free char *online = NULL;
	long len;
	int ret;

	len = syscall(SYS_sched_getaffinity, 0, sizeof(usable), usable);
	if (len < 0)
		return pr_errno("cannot read minicr's own CPU affinity");
	if (masks_meet(t->cpus_allowed.data, t->cpus_allowed.len, usable, (size_t)len))
		return 0;
	ret = (int)read_file_at(AT_FDCWD, CPU_ONLINE_PATH, &online);
	if (ret < 0)
		return pr_neg(ret, "cannot read '%s'", CPU_ONLINE_PATH);
	ret = procfs_parse_cpulist(online, usable, sizeof(usable));
	if (ret < 0) {
		pr_err("cannot parse '%s': '%s'", CPU_ONLINE_PATH, online);
		return -EINVAL;
	}
	if (masks_meet(t->cpus_allowed.data, t->cpus_allowed.len, usable, sizeof(usable)))
		return 0;
	pr_err("cannot restore task %d: thread %d may only run on CPUs %s, and none of them is "
	       "online here (online: %s)",
	       (int)rt->pid, t->tid,
	       procfs_format_cpulist(t->cpus_allowed.data, t->cpus_allowed.len, want, sizeof(want)),
	       procfs_format_cpulist(usable, sizeof(usable), have, sizeof(have)));
	return -ENOTSUP;
}

/* pid 0: minicr's own. */
static int read_oom_score_adj(pid_t pid, int *ret)
{
	cleanup_free char *buf = NULL;
	char path[64];
	long value;
	ssize_t len;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/oom_score_adj");
	len = read_file_at(AT_FDCWD, path, &buf);
	if (len < 0)
		return pr_neg((int)len, "cannot read '%s'", path);
	buf[strcspn(buf, "\n")] = 0;
	if (parse_long(buf, -1000, 1000, &value) < 0) {
		pr_err("cannot parse '%s': '%s'", path, buf);
		return -EINVAL;
	}
	*ret = (int)value;
	return 0;
}

static int write_number(const char *path, long long value)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	char text[32];
	int len = snprintf(text, sizeof(text), "%lld\n", value);

	if (fd < 0 || write(fd, text, (size_t)len) != len)
		return -errno;
	return 0;
}

/* A restored process inherits minicr's oom_score_adj and the floor below which only
 * CAP_SYS_RESOURCE may lower it (oom_score_adj_min, which /proc does not show, and which is at
 * most the current value). A value at or above minicr's own is always allowed; a lower one is
 * tried on minicr itself, and minicr's own value put back at once. */
static int check_oom_score_adj(const struct resume_task *rt, int want)
{
	struct procfs_status own;
	int cur, ret;

	ret = read_oom_score_adj(0, &cur);
	if (ret < 0 || want >= cur)
		return ret;
	if (procfs_read_status(0, &own) < 0)
		return pr_neg(-EIO, "cannot read minicr's own capabilities");
	if (own.cap_eff & (1ull << CAP_SYS_RESOURCE))
		return 0;
	ret = write_number("/proc/self/oom_score_adj", want);
	if (ret == -EACCES) {
		pr_err("cannot restore task %d: its oom_score_adj of %d is below minicr's own %d, "
		       "and lowering it that far needs CAP_SYS_RESOURCE",
		       (int)rt->pid, want, cur);
		return -EPERM;
	}
	if (ret < 0)
		return pr_neg(ret, "cannot try an oom_score_adj of %d on minicr", want);
	ret = write_number("/proc/self/oom_score_adj", cur);
	if (ret < 0)
		return pr_neg(ret, "cannot put minicr's own oom_score_adj of %d back", cur);
	return 0;
}

int resume_attrs_check(const struct resume_task *rt)
{
	const TaskCoreEntry *core = rt->core;
	int ret;

	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->has_cpus_allowed) {
			ret = check_affinity(rt, core->threads[i]);
			if (ret < 0)
				return ret;
		}
	if (core->has_oom_score_adj)
		return check_oom_score_adj(rt, core->oom_score_adj);
	return 0;
}

/* ---- what is kept between load and finish ------------------------------------------------- */

/* The fair classes' time slice reads the same whether a thread chose it or not (EEVDF's custom
 * slice, Linux 6.12+): a dumped slice equal to minicr's own is the default and is not set. */
static uint64_t default_fair_slice(void)
{
	struct minicr_sched_attr own = {0};

	if (minicr_sched_getattr(0, &own) < 0 || !minicr_sched_is_fair(own.sched_policy))
		return 0;
	return own.sched_runtime;
}

static void keep_sched(struct thread_attrs *ta, const SchedEntry *s, uint64_t fair_slice)
{
	struct minicr_sched_attr *a = &ta->sched;

	ta->has_sched = true;
	a->sched_policy = s->policy;
	a->sched_flags = s->flags;
	a->sched_nice = s->nice;
	if (s->policy == MINICR_SCHED_FIFO || s->policy == MINICR_SCHED_RR)
		a->sched_priority = s->priority;
	if (s->policy == MINICR_SCHED_DEADLINE) {
		a->sched_runtime = s->runtime;
		a->sched_deadline = s->deadline;
		a->sched_period = s->period;
	} else if (minicr_sched_is_fair(s->policy) && s->runtime != fair_slice) {
		a->sched_runtime = s->runtime;
	}
}

int resume_attrs_keep(struct resume_task *rt)
{
	const TaskCoreEntry *core = rt->core;
	struct resume_attrs *ra;
	uint64_t fair_slice = default_fair_slice();

	ra = calloc(1, sizeof(*ra) + core->n_threads * sizeof(ra->threads[0]));
	if (!ra)
		return pr_neg(-ENOMEM, "cannot allocate the attributes of task %d", (int)rt->pid);
	rt->attrs = ra;
	ra->has_oom = core->has_oom_score_adj;
	ra->oom = core->oom_score_adj;
	ra->n = core->n_threads;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCoreEntry *t = core->threads[i];
		struct thread_attrs *ta = &ra->threads[i];

		ta->tid = t->tid;
		if (t->sched)
			keep_sched(ta, t->sched, fair_slice);
		if (t->has_cpus_allowed) {
			ta->cpus = malloc(t->cpus_allowed.len);
			if (!ta->cpus)
				return pr_neg(-ENOMEM, "cannot allocate an affinity mask");
			memcpy(ta->cpus, t->cpus_allowed.data, t->cpus_allowed.len);
			ta->cpus_len = t->cpus_allowed.len;
		}
		ta->has_slack = t->has_timer_slack_ns;
		ta->slack = t->timer_slack_ns;
		ta->has_ioprio = t->has_ioprio;
		ta->ioprio = (int)t->ioprio;
	}
	return 0;
}

void resume_attrs_free(struct resume_attrs *ra)
{
	if (!ra)
		return;
	for (size_t i = 0; i < ra->n; i++)
		free(ra->threads[i].cpus);
	free(ra);
}

/* ---- apply, from the tracer --------------------------------------------------------------- */

/* A real-time or deadline policy keeps the nice value the thread had under a fair one: that is
 * set first, with a fair policy, then the real policy. */
static int apply_sched(pid_t pid, const struct thread_attrs *ta)
{
	struct minicr_sched_attr a = ta->sched;

	if (!minicr_sched_is_fair(a.sched_policy)) {
		struct minicr_sched_attr fair = {.sched_policy = MINICR_SCHED_NORMAL,
						 .sched_nice = a.sched_nice};

		if (minicr_sched_setattr(ta->tid, &fair) < 0)
			return pr_errno(
			    "cannot set the nice value %d of restored thread %d of task "
			    "%d",
			    a.sched_nice, (int)ta->tid, (int)pid);
	}
	if (minicr_sched_setattr(ta->tid, &a) < 0)
		return pr_errno("cannot set scheduling policy %" PRIu32 " (priority %" PRIu32
				", nice %d, flags %#" PRIx64 ") of restored thread %d of task %d",
				a.sched_policy, a.sched_priority, a.sched_nice, a.sched_flags,
				(int)ta->tid, (int)pid);
	return 0;
}

/* Timer slack through /proc/TID (minicr has CAP_SYS_NICE); the kernel keeps none for real-time
 * threads and may refuse a value silently, so what it holds afterwards is compared. */
static int apply_slack(pid_t pid, const struct thread_attrs *ta)
{
	cleanup_free char *buf = NULL;
	char path[64];
	long now = -1;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/timerslack_ns", (int)ta->tid);
	for (int pass = 0; pass < 2; pass++) {
		free(buf);
		buf = NULL;
		ret = (int)read_file_at(AT_FDCWD, path, &buf);
		if (ret < 0)
			return pr_neg(ret, "cannot read '%s'", path);
		buf[strcspn(buf, "\n")] = 0;
		if (parse_long(buf, 0, LONG_MAX, &now) < 0) {
			pr_err("cannot parse '%s': '%s'", path, buf);
			return -EINVAL;
		}
		if ((uint64_t)now == ta->slack)
			return 0;
		if (pass == 0 && (ret = write_number(path, (long long)ta->slack)) < 0)
			return pr_neg(ret,
				      "cannot set the timer slack of restored thread %d of task "
				      "%d to %" PRIu64 " ns",
				      (int)ta->tid, (int)pid, ta->slack);
	}
	pr_err("cannot set the timer slack of restored thread %d of task %d: %" PRIu64
	       " ns written, the kernel keeps %ld",
	       (int)ta->tid, (int)pid, ta->slack, now);
	return -EIO;
}

static int apply_thread(pid_t pid, const struct thread_attrs *ta)
{
	int ret;

	/* affinity first: a deadline policy needs every CPU of its root domain allowed */
	if (ta->cpus && syscall(SYS_sched_setaffinity, ta->tid, ta->cpus_len, ta->cpus) < 0)
		return pr_errno("cannot set the CPU affinity of restored thread %d of task %d",
				(int)ta->tid, (int)pid);
	/* then the policy: changing it may reset the timer slack */
	if (ta->has_sched) {
		ret = apply_sched(pid, ta);
		if (ret < 0)
			return ret;
	}
	if (ta->has_slack) {
		ret = apply_slack(pid, ta);
		if (ret < 0)
			return ret;
	}
	/* a thread inherited minicr's I/O priority, which may not be the default */
	if (ta->has_ioprio && minicr_ioprio_get(ta->tid) != ta->ioprio &&
	    minicr_ioprio_set(ta->tid, ta->ioprio) < 0)
		return pr_errno("cannot set the I/O priority %#x of restored thread %d of task %d",
				ta->ioprio, (int)ta->tid, (int)pid);
	return 0;
}

int resume_attrs_apply(const struct resume_task *rt, pid_t pid)
{
	const struct resume_attrs *ra = rt->attrs;
	char path[64];
	int ret, cur;

	ret = restore_fault("attrs");
	if (ret < 0 || !ra)
		return ret;
	for (size_t i = 0; i < ra->n; i++) {
		ret = apply_thread(pid, &ra->threads[i]);
		if (ret < 0)
			return ret;
	}
	if (!ra->has_oom)
		return 0;
	ret = read_oom_score_adj(pid, &cur);
	if (ret < 0 || cur == ra->oom)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	ret = write_number(path, ra->oom);
	if (ret < 0)
		return pr_neg(ret, "cannot set the oom_score_adj of restored task %d to %d",
			      (int)pid, ra->oom);
	return 0;
}
