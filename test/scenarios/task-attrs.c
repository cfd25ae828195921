/* A process whose every per-task attribute differs from what it inherited: umask, every rlimit,
 * supplementary groups, ignored, caught, blocked and pending signals, no_new_privs and a seccomp
 * filter, a shrunk capability bounding set and an ambient capability, CPU affinity, transparent
 * huge pages disabled, a locked page, nice, the timer slack, the scheduling policy, the OOM score
 * adjustment, a thread with its own name and mask, and a child running under other credentials.
 * After the restore it checks each of them; the driver's --probe (proc-fields.sh) compares
 * every /proc field besides. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static void *named_thread(void *arg)
{
	sigset_t quit;

	(void)arg;
	prctl(PR_SET_NAME, "attr-thread");
	sigemptyset(&quit);
	sigaddset(&quit, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &quit, NULL);
	for (;;)
		pause();
	return NULL;
}

/* A child under uid/gid 1000 that dies with its parent. */
static void start_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid > 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		_exit(1);
	umask(077);
	for (;;)
		pause();
}

int main(void)
{
	struct sched_param param = {0};
	struct sigaction sa = {.sa_handler = on_usr2};
	cpu_set_t cpus;
	sigset_t blocked;
	pthread_t thread;
	int oom;

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
	if (setpriority(PRIO_PROCESS, 0, 3) < 0 || prctl(PR_SET_TIMERSLACK, 123456) < 0)
		scenario_skip("nice, timer slack: %m");
	if (sched_setscheduler(0, SCHED_BATCH, &param) < 0)
		scenario_skip("SCHED_BATCH: %m");
	FILE *f = fopen("/proc/self/oom_score_adj", "we");
	if (!f || fprintf(f, "321\n") < 0 || fclose(f) != 0)
		scenario_skip("oom_score_adj: %m");
	if (pthread_create(&thread, NULL, named_thread, NULL))
		scenario_skip("pthread_create");
	start_child();

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
	f = fopen("/proc/self/oom_score_adj", "re");
	scenario_check(f && fscanf(f, "%d", &oom) == 1 && oom == 321, "oom_score_adj");
	scenario_pass();
}
