/* show-task.c: the readable summary `minicr show` adds below a task's core record: the syscall
 * each thread was stopped in, named by libseccomp; each thread's scheduling, CPUs and timer
 * slack; its seccomp filters with the syscalls they test, named the same way; its capability
 * sets, named by libcap; its OOM score adjustment, THP and mlockall modes; its interval and
 * POSIX timers. */
#include "show-task.h"

#include <inttypes.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/user.h>

#include "base/procfs-parse.h"
#include "base/util.h"
#include "core.pb-c.h"
#include "task/sched-attr.h"
#include "task/timers-parse.h"
#include "task/timers.h"

/* The name of x86_64 syscall nr, or its number when libseccomp does not know it. */
static void print_syscall(FILE *out, long nr)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);

	if (name)
		fprintf(out, "%s (%ld)", name, nr);
	else
		fprintf(out, "syscall %ld", nr);
	free(name);
}

static void print_thread(FILE *out, const ThreadCoreEntry *t)
{
	struct user_regs_struct regs;

	if (!t->has_gpregs || t->gpregs.len < sizeof(regs))
		return;
	memcpy(&regs, t->gpregs.data, sizeof(regs));
	fprintf(out, "    # thread %d: ", t->tid);
	if ((long)regs.orig_rax < 0) {
		fprintf(out, "running user code at 0x%llx\n", (unsigned long long)regs.rip);
		return;
	}
	fputs("stopped in ", out);
	print_syscall(out, (long)regs.orig_rax);
	/* dump rewound an interrupted syscall so that it runs again on resume */
	fputs(regs.rax == regs.orig_rax ? ", restarted on resume\n" : "\n", out);
}

static const char *policy_name(uint32_t policy)
{
	static const char *const names[] = {"SCHED_OTHER",    "SCHED_FIFO", "SCHED_RR",
					    "SCHED_BATCH",    "SCHED_ISO",  "SCHED_IDLE",
					    "SCHED_DEADLINE", "SCHED_EXT"};

	return policy < ARRAY_SIZE(names) ? names[policy] : "an unknown policy";
}

/* "# thread 12: SCHED_RR priority 5, nice 2, reset on fork, CPUs 0-3, timer slack 50000 ns" */
static void print_thread_attrs(FILE *out, const ThreadCoreEntry *t)
{
	const SchedEntry *s = t->sched;
	char cpus[256];

	if (!s && !t->has_cpus_allowed && !t->has_timer_slack_ns && !t->has_ioprio)
		return;
	fprintf(out, "    # thread %d:", t->tid);
	if (s) {
		fprintf(out, " %s", policy_name(s->policy));
		if (s->priority)
			fprintf(out, " priority %u", s->priority);
		if (s->policy == MINICR_SCHED_DEADLINE)
			fprintf(out,
				" runtime %" PRIu64 " deadline %" PRIu64 " period %" PRIu64 " ns",
				s->runtime, s->deadline, s->period);
		fprintf(out, ", nice %d", s->nice);
		if (s->flags & MINICR_SCHED_FLAG_RESET_ON_FORK)
			fputs(", reset on fork", out);
	}
	if (t->has_cpus_allowed)
		fprintf(out, ", CPUs %s",
			procfs_format_cpulist(t->cpus_allowed.data, t->cpus_allowed.len, cpus,
					      sizeof(cpus)));
	if (t->has_timer_slack_ns)
		fprintf(out, ", timer slack %" PRIu64 " ns", t->timer_slack_ns);
	if (t->has_ioprio && t->ioprio)
		fprintf(out, ", I/O class %u level %u", t->ioprio >> MINICR_IOPRIO_CLASS_SHIFT,
			t->ioprio & 7);
	fputc('\n', out);
}

/* "# oom_score_adj 321, THP disabled, mlockall(MCL_FUTURE | MCL_ONFAULT)" */
static void print_process_attrs(FILE *out, const TaskCoreEntry *core)
{
	if (!core->has_oom_score_adj && !core->has_thp_disable && !core->has_mlock_future)
		return;
	fputs("    #", out);
	if (core->has_oom_score_adj)
		fprintf(out, " oom_score_adj %d,", core->oom_score_adj);
	if (core->has_thp_disable)
		fputs(core->thp_disable == 3   ? " THP disabled except where advised,"
		      : core->thp_disable == 1 ? " THP disabled,"
					       : " THP allowed,",
		      out);
	if (core->has_mlock_future)
		fputs(core->mlock_future == 6	? " mlockall(MCL_FUTURE | MCL_ONFAULT)\n"
		      : core->mlock_future == 2 ? " mlockall(MCL_FUTURE)\n"
						: " no mlockall(MCL_FUTURE)\n",
		      out);
	else
		fputc('\n', out);
}

/* "# ITIMER_REAL: 2.500000 s left, every 0.500000 s" */
static void print_itimers(FILE *out, const TaskCoreEntry *core)
{
	static const char *const names[] = {"ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"};

	for (size_t i = 0; i < core->n_itimers; i++) {
		const ItimerEntry *e = core->itimers[i];

		fprintf(out, "    # %s: ", e->which < 3 ? names[e->which] : "an unknown itimer");
		if (e->value_sec || e->value_usec)
			fprintf(out, "%" PRId64 ".%06" PRId64 " s left", e->value_sec,
				e->value_usec);
		else
			fputs("disarmed", out);
		if (e->interval_sec || e->interval_usec)
			fprintf(out, ", every %" PRId64 ".%06" PRId64 " s", e->interval_sec,
				e->interval_usec);
		fputc('\n', out);
	}
}

static void print_clock(FILE *out, int32_t clock)
{
	static const char *const names[] = {
	    [0] = "CLOCK_REALTIME",	  [1] = "CLOCK_MONOTONIC",	[7] = "CLOCK_BOOTTIME",
	    [8] = "CLOCK_REALTIME_ALARM", [9] = "CLOCK_BOOTTIME_ALARM", [11] = "CLOCK_TAI",
	};
	static const char *const cpu[] = {"profiling", "virtual", "scheduler"};
	pid_t owner = (pid_t) ~(clock >> 3);

	if (clock >= 0 && (size_t)clock < ARRAY_SIZE(names) && names[clock]) {
		fputs(names[clock], out);
	} else if (clock < 0 && (clock & 3) < 3) {
		fprintf(out, "the %s CPU time of ", cpu[clock & 3]);
		if (owner == 0)
			fputs(clock & 4 ? "the creating thread" : "the process", out);
		else
			fprintf(out, "%s %d", clock & 4 ? "thread" : "process", (int)owner);
	} else {
		fprintf(out, "clock %d", clock);
	}
}

/* "# POSIX timer 3: CLOCK_MONOTONIC, signal 35 (value 0x2a) to thread 12, 0.200000000 s
 * left, every 0.100000000 s, its signal pending" */
static void print_posix_timers(FILE *out, const TaskCoreEntry *core)
{
	for (size_t i = 0; i < core->n_posix_timers; i++) {
		const PosixTimerEntry *e = core->posix_timers[i];

		fprintf(out, "    # POSIX timer %d: ", e->id);
		print_clock(out, e->clock);
		if (e->notify == TIMERS_SIGEV_NONE)
			fputs(", no signal", out);
		else
			fprintf(out, ", signal %d (value %#" PRIx64 ") to %s%.0d", e->signo,
				e->sigval,
				e->notify & TIMERS_SIGEV_THREAD_ID ? "thread " : "the process",
				e->notify & TIMERS_SIGEV_THREAD_ID ? e->notify_tid : 0);
		if (e->value_sec || e->value_nsec)
			fprintf(out, ", %" PRId64 ".%09" PRId64 " s left", e->value_sec,
				e->value_nsec);
		else
			fputs(", disarmed", out);
		if (e->interval_sec || e->interval_nsec)
			fprintf(out, ", every %" PRId64 ".%09" PRId64 " s", e->interval_sec,
				e->interval_nsec);
		if (e->has_deadline_sec)
			fprintf(out, ", expires at %" PRId64 ".%09" PRId64 " on its clock",
				e->deadline_sec, e->deadline_nsec);
		if (e->signal_pending)
			fputs(", its signal pending", out);
		if (e->overrun)
			fprintf(out, ", last overrun %d", e->overrun);
		fputc('\n', out);
	}
}

/* A classic BPF filter (sock_filter: u16 code, u8 jt, u8 jf, u32 k): the syscall numbers its
 * "jeq #k" tests compare against, in the order they appear, each named once. */
static void print_filter(FILE *out, size_t idx, const ProtobufCBinaryData *f)
{
	size_t n = f->len / 8, shown = 0;
	long seen[64];

	fprintf(out, "    # seccomp filter %zu: %zu instructions", idx, n);
	for (size_t i = 0; i < n; i++) {
		uint16_t code;
		uint32_t k;
		bool dup = false;

		memcpy(&code, f->data + i * 8, sizeof(code));
		memcpy(&k, f->data + i * 8 + 4, sizeof(k));
		if (code != 0x15 /* BPF_JMP | BPF_JEQ | BPF_K */ || k > 4096)
			continue;
		for (size_t s = 0; s < shown && !dup; s++)
			dup = seen[s] == (long)k;
		if (dup || shown == ARRAY_SIZE(seen))
			continue;
		fputs(shown ? ", " : "; tests ", out);
		print_syscall(out, (long)k);
		seen[shown++] = (long)k;
	}
	fputc('\n', out);
}

/* Effective, permitted and inheritable sets in libcap's text form ("cap_chown,cap_kill=eip"). */
static void print_caps(FILE *out, const CredsEntry *c)
{
	cap_t caps = cap_init();
	char *text;

	if (!caps)
		return;
	for (cap_value_t v = 0; v < 64; v++) {
		const struct {
			cap_flag_t flag;
			uint64_t mask;
		} sets[] = {{CAP_EFFECTIVE, c->cap_eff},
			    {CAP_PERMITTED, c->cap_prm},
			    {CAP_INHERITABLE, c->cap_inh}};

		for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
			if (sets[s].mask & (1ULL << v))
				(void)cap_set_flag(caps, sets[s].flag, 1, &v, CAP_SET);
	}
	text = cap_to_text(caps, NULL);
	if (text)
		fprintf(out, "    # capabilities: %s\n", text);
	cap_free(text);
	cap_free(caps);
}

/* A 64-bit set (bounding, ambient) as capability names. */
static void print_cap_set(FILE *out, const char *what, uint64_t mask)
{
	size_t n = 0;

	fprintf(out, "    # %s set:", what);
	for (cap_value_t v = 0; v < 64; v++) {
		char *name;

		if (!(mask & (1ULL << v)))
			continue;
		name = cap_to_name(v);
		fprintf(out, "%s%s", n++ ? "," : " ", name ? name : "?");
		cap_free(name);
	}
	fputs(n ? "\n" : " (empty)\n", out);
}

void show_task_core(FILE *out, const TaskCoreEntry *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		print_thread(out, core->threads[i]);
	for (size_t i = 0; i < core->n_threads; i++)
		print_thread_attrs(out, core->threads[i]);
	print_process_attrs(out, core);
	print_itimers(out, core);
	print_posix_timers(out, core);
	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		print_filter(out, i, &core->seccomp_filters[i]);
	if (core->creds) {
		print_caps(out, core->creds);
		print_cap_set(out, "bounding", core->creds->cap_bnd);
		print_cap_set(out, "ambient", core->creds->cap_amb);
	}
}
