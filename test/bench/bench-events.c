/* bench-events: whole dump and restore rounds of one process holding event fds:
 *   epoll N     one epoll with N targets (N eventfds, each added with its own data)
 *   timerfd N   N armed periodic timerfds
 * Default: epoll 100 1000 10000, timerfd 10 100 1000. Each round dumps the process (which kills
 * it) and restores it with -d (it resumes); the medians of 5 rounds, wall clock, and the ms
 * per 1000 fds, which stay flat when the cost is linear. Not run by make check:
 *   MINICR=./minicr test/bench/bench-events [epoll|timerfd N...]
 * Needs root. Not a test: it asserts nothing about time. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5

static const char *minicr;
static char work[] = "/tmp/minicr-bench-events.XXXXXX";

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close_range(3, ~0U, 0);
		execl(minicr, minicr, a1, a2, a3, a4, a5, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The restored process is minicr's orphan, reparented to init: wait until its pid is free. */
static void gone(pid_t pid)
{
	char p[64];
	struct timespec pause = {0, 1000000};

	snprintf(p, sizeof(p), "/proc/%d", pid);
	kill(pid, SIGKILL);
	while (access(p, F_OK) == 0) {
		waitpid(pid, NULL, WNOHANG);
		nanosleep(&pause, NULL);
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void victim_epoll(int n)
{
	int epfd = epoll_create1(0);

	for (int i = 0; i < n; i++) {
		int fd = eventfd(i & 1, EFD_NONBLOCK);
		struct epoll_event ev = {.events = EPOLLIN | (i % 3 ? 0 : EPOLLET),
					 .data.u64 = 0x1000000ULL * (uint64_t)i};

		if (fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			_exit(2);
	}
}

static void victim_timerfd(int n)
{
	for (int i = 0; i < n; i++) {
		int fd = timerfd_create(i % 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME, TFD_NONBLOCK);
		struct itimerspec its = {.it_interval.tv_sec = 3600, .it_value.tv_sec = 60 + i};

		if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
			_exit(2);
	}
}

/* A victim in its own session with fds 0-2 on /dev/null. */
static pid_t start(void (*fn)(int), int n)
{
	int pfd[2];
	char c;
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		for (int fd = 0; fd < 3; fd++)
			dup2(devnull, fd);
		close(devnull);
		close(pfd[0]);
		setsid();
		raise_nofile();
		fn(n);
		if (write(pfd[1], "r", 1) != 1)
			_exit(2);
		close(pfd[1]);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		fprintf(stderr, "bench-events: the victim failed to start\n");
		exit(1);
	}
	close(pfd[0]);
	return pid;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench(const char *what, void (*fn)(int), int n)
{
	char dir[PATH_MAX], pidbuf[16];
	double td[RUNS], tr[RUNS];
	pid_t pid = start(fn, n);

	snprintf(dir, sizeof(dir), "%s/img-%s-%d", work, what, n);
	mkdir(dir, 0700);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	for (int i = 0; i < RUNS; i++) {
		double t0 = now();

		if (run("dump", "-t", pidbuf, "-D", dir) != 0) {
			printf("%-8s %6d: dump failed (round %d)\n", what, n, i + 1);
			gone(pid);
			return;
		}
		td[i] = now() - t0;
		gone(pid);
		/* a process with thousands of fds gives its pid number back some 20 to 40 ms after
		 * its /proc entry is gone (measured on 6.18): until then clone3(set_tid) says
		 * EEXIST and the restore fails at once; the round starts again then */
		for (int k = 0;; k++) {
			struct timespec pause = {0, 10000000};

			t0 = now();
			if (run("restore", "-D", dir, "-d", NULL) == 0)
				break;
			if (k == 100) {
				printf("%-8s %6d: restore failed (round %d)\n", what, n, i + 1);
				return;
			}
			nanosleep(&pause, NULL);
		}
		tr[i] = now() - t0;
	}
	gone(pid);
	qsort(td, RUNS, sizeof(td[0]), cmp_double);
	qsort(tr, RUNS, sizeof(tr[0]), cmp_double);
	printf("%-8s %6d: dump %8.1f ms (%6.1f ms/1000), restore %8.1f ms (%6.1f ms/1000)\n", what,
	       n, td[RUNS / 2] * 1e3, td[RUNS / 2] * 1e6 / n, tr[RUNS / 2] * 1e3,
	       tr[RUNS / 2] * 1e6 / n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const int epoll_sizes[] = {100, 1000, 10000}, timer_sizes[] = {10, 100, 1000};
	const char *what = argc > 1 ? argv[1] : "all";

	minicr = getenv("MINICR") ? getenv("MINICR") : "./minicr";
	if (geteuid() != 0) {
		fprintf(stderr, "bench-events: needs root\n");
		return 77;
	}
	if (!mkdtemp(work))
		die("mkdtemp");
	if (argc > 2) {
		for (int i = 2; i < argc; i++)
			bench(what, strcmp(what, "epoll") ? victim_timerfd : victim_epoll,
			      atoi(argv[i]));
	} else {
		if (strcmp(what, "timerfd") != 0)
			for (size_t i = 0; i < sizeof(epoll_sizes) / sizeof(epoll_sizes[0]); i++)
				bench("epoll", victim_epoll, epoll_sizes[i]);
		if (strcmp(what, "epoll") != 0)
			for (size_t i = 0; i < sizeof(timer_sizes) / sizeof(timer_sizes[0]); i++)
				bench("timerfd", victim_timerfd, timer_sizes[i]);
	}
	if (fork() == 0)
		execlp("rm", "rm", "-rf", work, (char *)NULL);
	wait(NULL);
	return 0;
}
