/* A process whose every per-task attribute differs from what it inherited: umask, every rlimit,
 * supplementary groups, ignored, caught, blocked and pending signals, no_new_privs and a seccomp
 * filter, a shrunk capability bounding set and an ambient capability, CPU affinity, transparent
 * huge pages disabled, a locked page and pages locked on fault, mlockall(MCL_FUTURE |
 * MCL_ONFAULT), nice, the timer slack, the scheduling policy, the OOM score adjustment; threads
 * with their own name, mask, affinity, nice, timer slack, I/O priority,
 * SCHED_FLAG_RESET_ON_FORK, a round-robin and a deadline policy; and a child running under other
 * credentials with its own OOM score adjustment, timer slack, I/O priority and THP mode. After the
 * restore it checks each of them; the driver's --probe (proc-fields.sh) compares every /proc field
 * besides. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

/* Soft limits below the inherited ones, hard limits left (raising them back needs
 * CAP_SYS_RESOURCE, which the machine's root may lack) except where lowering is harmless. */
static const struct {
	int resource;
	const char *name;
	rlim_t soft;
} limits[] = {
    {RLIMIT_CPU, "cpu", 100000},
    {RLIMIT_FSIZE, "fsize", 1ULL << 40},
    {RLIMIT_DATA, "data", 1ULL << 40},
    {RLIMIT_STACK, "stack", 6ULL << 20},
    {RLIMIT_CORE, "core", 1ULL << 20},
    {RLIMIT_RSS, "rss", 1ULL << 38},
    {RLIMIT_NPROC, "nproc", 4321},
    {RLIMIT_NOFILE, "nofile", 900},
    {RLIMIT_MEMLOCK, "memlock", 16ULL << 20},
    {RLIMIT_AS, "as", 1ULL << 44},
    {RLIMIT_LOCKS, "locks", 1000},
    {RLIMIT_SIGPENDING, "sigpending", 4000},
    {RLIMIT_MSGQUEUE, "msgqueue", 100000},
    {RLIMIT_NICE, "nice", 5},
    {RLIMIT_RTPRIO, "rtprio", 3},
    {RLIMIT_RTTIME, "rttime", 1000000000},
};

/* sched_setattr(2)'s struct (linux/sched/types.h clashes with glibc's sched.h) */
struct sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#define PR_THP_DISABLE_EXCEPT_ADVISED_ (1 << 1) /* Linux 6.18 */
#define IOPRIO_WHO_PROCESS	       1
#define IOPRIO_BE_6		       (2 << 13 | 6) /* best effort, level 6 */
#define IOPRIO_IDLE		       (3 << 13)

static const gid_t groups[] = {4, 24, 1234};
static char locked_page[4096] __attribute__((aligned(4096)));
static volatile sig_atomic_t usr2_seen;

static void on_usr2(int sig)
{
	(void)sig;
	usr2_seen = 1;
}

static void set_limits(void)
{
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl;

		getrlimit(limits[i].resource, &rl);
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < limits[i].soft)
			continue; /* cannot go there without raising the hard limit */
		rl.rlim_cur = limits[i].soft;
		if (limits[i].resource == RLIMIT_NOFILE)
			rl.rlim_max = 10000;
		if (setrlimit(limits[i].resource, &rl) < 0)
			scenario_skip("setrlimit %s: %m", limits[i].name);
	}
}

static void check_limits(void)
{
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl;

		getrlimit(limits[i].resource, &rl);
		scenario_check(rl.rlim_cur == limits[i].soft ||
				   (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < limits[i].soft),
			       "rlimit %s soft is %llu, set %llu", limits[i].name,
			       (unsigned long long)rl.rlim_cur, (unsigned long long)limits[i].soft);
		if (limits[i].resource == RLIMIT_NOFILE)
			scenario_check(rl.rlim_max == 10000, "rlimit nofile hard is %llu, set 10000",
				       (unsigned long long)rl.rlim_max);
	}
}

/* Allows every syscall but acct(2), which fails with EPERM: a filter that is observable. */
static void install_seccomp(void)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_acct, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		scenario_skip("seccomp: %m");
}

/* Keeps CAP_NET_BIND_SERVICE ambient (it must be permitted and inheritable first) and drops
 * CAP_SYS_BOOT from the bounding set. */
static void set_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		scenario_skip("capget: %m");
	data[0].inheritable |= 1U << CAP_NET_BIND_SERVICE;
	if (syscall(SYS_capset, &hdr, data) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) < 0 ||
	    prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) < 0)
		scenario_skip("capabilities: %m");
}

/* A thread that sets its own attributes; main checks them from outside after the restore. */
struct attr_thread {
	const char *name;
	struct sched_attr attr; /* what the thread asks for */
	int cpu;		/* its one allowed CPU, -1: every online CPU, -2: inherited */
	unsigned long slack;	/* timer slack, 0: inherited */
	int ioprio;		/* I/O priority (class << 13 | level), 0: inherited */
	pid_t tid;
	bool is_set;
	unsigned long got_slack; /* what it reads back: real-time threads keep none */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *attr_thread_main(void *arg)
{
	struct attr_thread *t = arg;
	sigset_t quit;
	cpu_set_t cpus;

	prctl(PR_SET_NAME, t->name);
	sigemptyset(&quit);
	sigaddset(&quit, SIGQUIT);
	/* the driver's SIGUSR1 is for the main thread only: taken here, it would set the flag
	 * while the main thread slept on in sigsuspend() */
	sigaddset(&quit, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &quit, NULL);
	t->tid = (pid_t)syscall(SYS_gettid);
	if (t->cpu != -2) {
		CPU_ZERO(&cpus);
		if (t->cpu >= 0)
			CPU_SET(t->cpu, &cpus);
		else
			for (int c = 0; c < get_nprocs(); c++)
				CPU_SET(c, &cpus);
		if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
			t->tid = -errno;
	}
	if (t->slack && prctl(PR_SET_TIMERSLACK, t->slack) < 0)
		t->tid = -errno;
	if (t->ioprio && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, t->ioprio) < 0)
		t->tid = -errno;
	/* a real-time policy keeps the nice value the thread had before */
	if (t->attr.sched_nice && setpriority(PRIO_PROCESS, 0, t->attr.sched_nice) < 0)
		t->tid = -errno;
	t->attr.size = sizeof(t->attr);
	if (t->tid > 0 && syscall(SYS_sched_setattr, 0, &t->attr, 0) < 0)
		t->tid = -errno;
	t->got_slack = (unsigned long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	pthread_mutex_lock(&lock);
	t->is_set = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	for (;;)
		pause();
	return NULL;
}

/* Starts t and waits until it has set its attributes; false if the kernel refused them. */
static bool start_thread(struct attr_thread *t)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, attr_thread_main, t))
		scenario_skip("pthread_create");
	pthread_mutex_lock(&lock);
	while (!t->is_set)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return t->tid > 0;
}

static unsigned long read_slack(pid_t tid)
{
	char path[64];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/timerslack_ns", (int)tid);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%lu", &v) != 1)
		v = (unsigned long)-1;
	if (f)
		fclose(f);
	return v;
}

static void check_thread(const struct attr_thread *t)
{
	struct sched_attr a = {0};
	cpu_set_t cpus;

	scenario_check(syscall(SYS_sched_getattr, t->tid, &a, sizeof(a), 0) == 0,
		       "sched_getattr of thread %s: %m", t->name);
	/* sched_getattr shows the nice value of fair threads only */
	errno = 0;
	a.sched_nice = getpriority(PRIO_PROCESS, (id_t)t->tid);
	scenario_check(errno == 0, "getpriority of thread %s: %m", t->name);
	scenario_check(
	    a.sched_policy == t->attr.sched_policy && a.sched_priority == t->attr.sched_priority &&
		a.sched_nice == t->attr.sched_nice &&
		(a.sched_flags & SCHED_FLAG_RESET_ON_FORK) ==
		    (t->attr.sched_flags & SCHED_FLAG_RESET_ON_FORK),
	    "thread %s: policy %u priority %u nice %d flags %#llx, set %u %u %d %#llx", t->name,
	    a.sched_policy, a.sched_priority, a.sched_nice, (unsigned long long)a.sched_flags,
	    t->attr.sched_policy, t->attr.sched_priority, t->attr.sched_nice,
	    (unsigned long long)t->attr.sched_flags);
	if (t->attr.sched_policy == SCHED_DEADLINE)
		scenario_check(a.sched_runtime == t->attr.sched_runtime &&
				   a.sched_deadline == t->attr.sched_deadline &&
				   a.sched_period == t->attr.sched_period,
			       "thread %s: deadline parameters", t->name);
	CPU_ZERO(&cpus);
	sched_getaffinity(t->tid, sizeof(cpus), &cpus);
	if (t->cpu >= 0)
		scenario_check(CPU_COUNT(&cpus) == 1 && CPU_ISSET(t->cpu, &cpus),
			       "thread %s: CPU affinity", t->name);
	else if (t->cpu == -1)
		scenario_check(CPU_COUNT(&cpus) == get_nprocs(), "thread %s: CPU affinity",
			       t->name);
	scenario_check(read_slack(t->tid) == t->got_slack, "thread %s: timer slack %lu, was %lu",
		       t->name, read_slack(t->tid), t->got_slack);
	scenario_check(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, t->tid) == t->ioprio,
		       "thread %s: I/O priority %ld, set %d", t->name,
		       syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, t->tid), t->ioprio);
}

/* The VmFlags line of our mapping that contains addr. */
static bool vma_flags(const void *addr, char *flags, size_t size)
{
	unsigned long a = (unsigned long)addr, start, end;
	char line[512];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= start && a < end;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, size, "%.200s", line + 8);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static bool vma_has(const void *addr, const char *flag)
{
	char flags[256], tok[8];

	snprintf(tok, sizeof(tok), " %s", flag);
	return vma_flags(addr, flags, sizeof(flags)) && strstr(flags, tok);
}

/* A child under uid/gid 1000 that dies with its parent. */
static volatile sig_atomic_t child_check;

static void on_child_check(int sig)
{
	(void)sig;
	child_check = 1;
}

/* A child under uid/gid 1000 that dies with its parent; on SIGUSR2 it checks what only it can
 * read of itself and exits 0 if all is as it was. */
static pid_t start_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid > 0)
		return pid;
	/* raising one's own oom_score_adj needs no privilege (the file is root's once the uid
	 * changes); THP disabled only where not advised (Linux 6.18; older kernels keep the
	 * inherited full disable) */
	FILE *f = fopen("/proc/self/oom_score_adj", "we");
	if (!f || fprintf(f, "500\n") < 0 || fclose(f) != 0)
		_exit(1);
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		_exit(1);
	umask(077);
	/* after the uid change, which clears it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED_, 0, 0);
	int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), pdeathsig = 0;
	prctl(PR_SET_TIMERSLACK, 345678);
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_IDLE);
	/* blocked but while it waits: a signal that came just before pause() would be lost */
	sigset_t usr2, waiting;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, &waiting);
	sigdelset(&waiting, SIGUSR2);
	signal(SIGUSR2, on_child_check);
	/* last, and without MCL_ONFAULT (the parent has it with): new mappings come locked and
	 * populated */
	if (mlockall(MCL_FUTURE) < 0)
		_exit(1);
	while (!child_check)
		sigsuspend(&waiting);
	char *later = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool future = later != MAP_FAILED && vma_has(later, "lo") && !vma_has(later, "lf");
	errno = 0;
	_exit(future && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == thp &&
		      prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 345678 &&
		      syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == IOPRIO_IDLE &&
		      prctl(PR_GET_PDEATHSIG, &pdeathsig, 0, 0, 0) == 0 && pdeathsig == SIGKILL &&
		      getpriority(PRIO_PROCESS, 0) == 3 && errno == 0 &&
		      sched_getscheduler(0) == SCHED_BATCH
		  ? 0
		  : 1);
}

static int read_oom(pid_t pid)
{
	char path[64];
	int oom = -2000;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%d", &oom) != 1)
		oom = -2000;
	if (f)
		fclose(f);
	return oom;
}

int main(void)
{
	struct sched_param param = {0};
	struct sigaction sa = {.sa_handler = on_usr2};
	cpu_set_t cpus;
	sigset_t blocked;
	pid_t child;
	char *onfault;
	bool has_deadline;
	/* its own CPU (the last one), nice, timer slack and reset-on-fork; round robin with a nice
	 * value kept underneath; a deadline thread (every CPU: the kernel requires it) */
	struct attr_thread named = {.name = "attr-thread",
				    .attr = {.sched_policy = SCHED_OTHER,
					     .sched_flags = SCHED_FLAG_RESET_ON_FORK,
					     .sched_nice = 7},
				    .cpu = get_nprocs() - 1,
				    .slack = 234567,
				    .ioprio = IOPRIO_BE_6};
	struct attr_thread rr = {
	    .name = "attr-rr",
	    .attr = {.sched_policy = SCHED_RR, .sched_priority = 5, .sched_nice = 2},
	    .cpu = -2};
	struct attr_thread dl = {.name = "attr-deadline",
				 .attr = {.sched_policy = SCHED_DEADLINE,
					  .sched_nice = -4,
					  .sched_runtime = 2000000,
					  .sched_deadline = 30000000,
					  .sched_period = 50000000},
				 .cpu = -1};

	umask(027);
	set_limits();
	if (setgroups(sizeof(groups) / sizeof(groups[0]), groups) < 0)
		scenario_skip("setgroups: %m");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	kill(getpid(), SIGINT); /* stays pending: blocked in every thread */
	set_capabilities();
	install_seccomp();
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
		scenario_skip("sched_setaffinity: %m");
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		scenario_skip("PR_SET_THP_DISABLE: %m");
	if (mlock(locked_page, sizeof(locked_page)) < 0)
		scenario_skip("mlock: %m");
	/* two of four pages locked as they are touched, one of them touched */
	onfault = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (onfault == MAP_FAILED ||
	    syscall(SYS_mlock2, onfault + 4096, 2 * 4096, MLOCK_ONFAULT) < 0)
		scenario_skip("mlock2(MLOCK_ONFAULT): %m");
	onfault[4096] = 'x';
	if (setpriority(PRIO_PROCESS, 0, 3) < 0 || prctl(PR_SET_TIMERSLACK, 123456) < 0)
		scenario_skip("nice, timer slack: %m");
	if (sched_setscheduler(0, SCHED_BATCH, &param) < 0)
		scenario_skip("SCHED_BATCH: %m");
	FILE *f = fopen("/proc/self/oom_score_adj", "we");
	if (!f || fprintf(f, "321\n") < 0 || fclose(f) != 0)
		scenario_skip("oom_score_adj: %m");
	if (!start_thread(&named))
		scenario_skip("thread attributes: %s", strerror(-named.tid));
	if (!start_thread(&rr))
		scenario_skip("SCHED_RR: %s", strerror(-rr.tid));
	has_deadline = start_thread(&dl);
	if (!has_deadline)
		fprintf(stderr, "task-attrs: SCHED_DEADLINE refused (%s): not checked\n",
			strerror(-dl.tid));
	child = start_child();
	/* last: only mappings made from now on are locked */
	if (mlockall(MCL_FUTURE | MCL_ONFAULT) < 0)
		scenario_skip("mlockall: %m");

	scenario_ready();
	scenario_wait();

	scenario_check(umask(027) == 027, "umask changed");
	check_limits();
	gid_t now[16];
	int n = getgroups(16, now);
	scenario_check(n == 3 && memcmp(now, groups, sizeof(groups)) == 0, "supplementary groups");
	scenario_check(signal(SIGPIPE, SIG_IGN) == SIG_IGN, "SIGPIPE no longer ignored");
	sigaction(SIGUSR2, NULL, &sa);
	scenario_check(sa.sa_handler == on_usr2 && (sa.sa_flags & SA_RESTART) &&
			   sigismember(&sa.sa_mask, SIGALRM),
		       "SIGUSR2 handler, flags or mask");
	raise(SIGUSR2);
	scenario_check(usr2_seen, "SIGUSR2 handler not run");
	sigset_t pending;
	sigpending(&pending);
	scenario_check(sigismember(&pending, SIGINT), "pending SIGINT lost");
	scenario_check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs lost");
	scenario_check(syscall(SYS_acct, NULL) < 0 && errno == EPERM, "seccomp filter lost");
	scenario_check(prctl(PR_CAPBSET_READ, CAP_SYS_BOOT, 0, 0, 0) == 0, "bounding set");
	scenario_check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) == 1,
		       "ambient capability lost");
	CPU_ZERO(&cpus);
	sched_getaffinity(0, sizeof(cpus), &cpus);
	scenario_check(CPU_COUNT(&cpus) == 1 && CPU_ISSET(0, &cpus), "CPU affinity");
	scenario_check(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "THP disable lost");
	errno = 0;
	scenario_check(getpriority(PRIO_PROCESS, 0) == 3 && errno == 0, "nice");
	scenario_check(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456, "timer slack");
	scenario_check(sched_getscheduler(0) == SCHED_BATCH, "scheduling policy");
	scenario_check(read_oom(getpid()) == 321, "oom_score_adj");
	check_thread(&named);
	check_thread(&rr);
	if (has_deadline)
		check_thread(&dl);
	/* locked memory: the page (lo), the pages locked on fault (lo lf), a new mapping (lo lf:
	 * MCL_FUTURE | MCL_ONFAULT) */
	scenario_check(vma_has(locked_page, "lo") && !vma_has(locked_page, "lf"), "mlock lost");
	scenario_check(vma_has(onfault + 4096, "lo") && vma_has(onfault + 4096, "lf") &&
			   vma_has(onfault + 2 * 4096, "lf") && !vma_has(onfault, "lo") &&
			   !vma_has(onfault + 3 * 4096, "lo"),
		       "MLOCK_ONFAULT lost");
	scenario_check(onfault[4096] == 'x', "locked page contents");
	char *later = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	scenario_check(later != MAP_FAILED && vma_has(later, "lo") && vma_has(later, "lf"),
		       "mlockall(MCL_FUTURE | MCL_ONFAULT) lost");
	scenario_check(read_oom(child) == 500, "the child's oom_score_adj");
	scenario_check(read_slack(child) == 345678, "the child's timer slack");
	int status = 0;
	kill(child, SIGUSR2);
	scenario_check(
	    waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child's THP mode, timer slack, I/O priority, parent death signal, nice, policy or "
	    "mlockall(MCL_FUTURE) (status %#x)",
	    status);
	scenario_pass();
}
