/* States minicr must refuse at dump, one per $SCENARIO_CASE, each leaving the process intact
 * (test-dump-failures.sh checks the one error line; after SIGUSR1 the process checks that its
 * fd still works):
 *   epoll-orphan    an epoll item whose target no fd of the process holds (its child does)
 *   pidfd-outside   a pidfd of a process outside the tree (the parent)
 *   pidfd-thread    a pidfd of a thread that is not its process's leader
 *   io_uring, userfaultfd, perf_event   kernel objects no syscall gives back */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static pid_t thread_tid;

static void *idle(void *arg)
{
	sigset_t usr1;

	(void)arg;
	/* the driver's SIGUSR1 is for the main thread only (see task-attrs.c) */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	__atomic_store_n(&thread_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	const char *c = getenv("SCENARIO_CASE");
	int fd = -1, p[2];
	pid_t child = 0;

	if (!c)
		scenario_skip("no SCENARIO_CASE");
	if (!strcmp(c, "epoll-orphan")) {
		/* the pipe the epoll watches stays with a child only */
		struct epoll_event ev = {.events = EPOLLIN};

		if (pipe(p) < 0)
			scenario_skip("pipe: %m");
		fd = epoll_create1(0);
		epoll_ctl(fd, EPOLL_CTL_ADD, p[0], &ev);
		child = fork();
		if (child == 0) {
			close(fd);
			(void)!write(p[1], "x", 1);
			for (;;)
				pause();
		}
		close(p[0]);
		close(p[1]);
	} else if (!strcmp(c, "pidfd-outside")) {
		fd = (int)syscall(SYS_pidfd_open, getppid(), 0);
	} else if (!strcmp(c, "pidfd-thread")) {
		pthread_t t;

		pthread_create(&t, NULL, idle, NULL);
		while (!__atomic_load_n(&thread_tid, __ATOMIC_ACQUIRE))
			sched_yield();
		fd = (int)syscall(SYS_pidfd_open, thread_tid, PIDFD_THREAD);
	} else if (!strcmp(c, "io_uring")) {
		struct io_uring_params params = {0};

		fd = (int)syscall(SYS_io_uring_setup, 4, &params);
	} else if (!strcmp(c, "userfaultfd")) {
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	} else if (!strcmp(c, "perf_event")) {
		struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE,
					    .size = sizeof(a),
					    .config = PERF_COUNT_SW_CPU_CLOCK,
					    .disabled = 1};

		fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	} else {
		scenario_skip("unknown case '%s'", c);
	}
	if (fd < 0)
		scenario_skip("%s: cannot be made here: %m", c);

	scenario_ready();
	scenario_wait();

	scenario_check(fcntl(fd, F_GETFD) >= 0, "%s: the fd is gone", c);
	if (!strcmp(c, "epoll-orphan")) {
		struct epoll_event ev;

		scenario_check(epoll_wait(fd, &ev, 1, 1000) == 1, "the epoll lost its item");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	scenario_pass();
}
