/* timerfds, signalfds and eventfds, held by the process and by a child that inherited them:
 *   - an expired one-shot timer with one unread expiration (exactly one after restore, not
 *     two: the child holds it too, and the timer is armed once);
 *   - a periodic timer left unread for a while: no fewer expirations after restore (the
 *     kernel counts those past the first only when asked);
 *   - a one-hour timer with a two-hour period: the time left goes on, the period is kept;
 *   - a TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET realtime timer: its deadline is kept;
 *   - a CLOCK_BOOTTIME_ALARM periodic timer where the kernel permits one: it keeps firing;
 *   - a signalfd for SIGUSR2 and SIGRTMIN+1 with a pending SIGUSR2 and two queued RT signals:
 *     each read exactly once, in order, through the restored signalfd;
 *   - an eventfd in semaphore mode, and one at its maximum counter. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define EVENTFD_MAX 0xfffffffffffffffeULL

static uint64_t fdinfo_value(int fd, const char *key)
{
	char path[64], line[256];
	unsigned long long v = 0;
	size_t key_len = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		scenario_fail("cannot open %s: %m", path);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ':')
			v = strtoull(line + key_len + 1, NULL, 0);
	fclose(f);
	return v;
}

static uint64_t read_u64(int fd, const char *what)
{
	uint64_t v = 0;
	ssize_t n = read(fd, &v, sizeof(v));

	scenario_check(n == sizeof(v), "%s: read gave %zd (%m)", what, n);
	return v;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

static void check_signal(int sfd, int signo, int value)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sfd, &si, sizeof(si));

	scenario_check(n == sizeof(si), "signalfd: no signal %d to read (%zd, %m)", signo, n);
	scenario_check((int)si.ssi_signo == signo, "signalfd: got signal %u, expected %d",
		       si.ssi_signo, signo);
	if (value >= 0)
		scenario_check(si.ssi_int == value, "signalfd: signal %d carries %d, expected %d",
			       signo, si.ssi_int, value);
}

int main(void)
{
	int once, periodic, hour, absolute, alarm_fd, sfd, sem, full, cmd[2];
	struct itimerspec its = {0}, cur;
	struct timespec now;
	sigset_t mask;
	uint64_t periodic_seen, v;
	time_t deadline;
	pid_t child;
	int status;

	/* (1) timers */
	once = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	periodic = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	hour = timerfd_create(CLOCK_MONOTONIC, 0);
	absolute = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	alarm_fd = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
	if (once < 0 || periodic < 0 || hour < 0 || absolute < 0)
		scenario_skip("timerfd_create: %m");
	its.it_value.tv_nsec = 1000;
	timerfd_settime(once, 0, &its, NULL);
	its = (struct itimerspec){.it_interval.tv_nsec = 10000000, .it_value.tv_nsec = 10000000};
	timerfd_settime(periodic, 0, &its, NULL);
	its = (struct itimerspec){.it_interval.tv_sec = 7200, .it_value.tv_sec = 3600};
	timerfd_settime(hour, 0, &its, NULL);
	clock_gettime(CLOCK_REALTIME, &now);
	deadline = now.tv_sec + 3600;
	its = (struct itimerspec){.it_value.tv_sec = deadline};
	if (timerfd_settime(absolute, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		scenario_skip("timerfd_settime(ABSTIME|CANCEL_ON_SET): %m");
	if (alarm_fd >= 0) {
		its = (struct itimerspec){.it_interval.tv_nsec = 50000000,
					  .it_value.tv_nsec = 50000000};
		timerfd_settime(alarm_fd, 0, &its, NULL);
	}
	if (!readable(once, 5000))
		scenario_skip("the one-shot timer did not expire");
	/* (2) signals: blocked, pending, read through a signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK);
	if (sfd < 0)
		scenario_skip("signalfd: %m");
	kill(getpid(), SIGUSR2);
	sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 7});
	sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 8});
	/* (3) eventfds */
	sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	full = eventfd(0, EFD_NONBLOCK);
	v = EVENTFD_MAX;
	if (sem < 0 || full < 0 || write(full, &v, sizeof(v)) != sizeof(v))
		scenario_skip("eventfd: %m");
	/* (4) a child holding every one of them */
	if (pipe(cmd) < 0)
		scenario_skip("pipe: %m");
	child = fork();
	if (child == 0) {
		char c;

		close(cmd[1]);
		_exit(read(cmd[0], &c, 1) == 1 ? 0 : 1);
	}
	close(cmd[0]);
	/* let the periodic timer count expirations nobody reads; timerfd_gettime() makes fdinfo
	 * count them all (the kernel moves an expired periodic timer on only when asked) */
	usleep(100000);
	timerfd_gettime(periodic, &cur);
	periodic_seen = fdinfo_value(periodic, "ticks");
	if (periodic_seen < 5)
		scenario_skip("the periodic timer counted %lu expirations in 100 ms",
			      (unsigned long)periodic_seen);

	scenario_ready();
	scenario_wait();

	scenario_check(read_u64(once, "one-shot timer") == 1, "one-shot timer: not one expiration");
	scenario_check(read(once, &v, sizeof(v)) < 0 && errno == EAGAIN,
		       "one-shot timer: more than one expiration");
	v = read_u64(periodic, "periodic timer");
	scenario_check(v >= periodic_seen, "periodic timer: %lu expirations, %lu before the dump",
		       (unsigned long)v, (unsigned long)periodic_seen);
	scenario_check(timerfd_gettime(hour, &cur) == 0, "timerfd_gettime: %m");
	scenario_check(cur.it_interval.tv_sec == 7200 && cur.it_interval.tv_nsec == 0,
		       "hour timer: period %ld.%09ld", (long)cur.it_interval.tv_sec,
		       cur.it_interval.tv_nsec);
	scenario_check(cur.it_value.tv_sec > 3000 && cur.it_value.tv_sec < 3600,
		       "hour timer: %ld s left", (long)cur.it_value.tv_sec);
	scenario_check(fdinfo_value(absolute, "settime flags") ==
			   (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET),
		       "absolute timer: settime flags %lu",
		       (unsigned long)fdinfo_value(absolute, "settime flags"));
	scenario_check(timerfd_gettime(absolute, &cur) == 0, "timerfd_gettime: %m");
	clock_gettime(CLOCK_REALTIME, &now);
	scenario_check(labs((long)(now.tv_sec + cur.it_value.tv_sec - deadline)) <= 1,
		       "absolute timer: deadline moved by %ld s",
		       (long)(now.tv_sec + cur.it_value.tv_sec - deadline));
	if (alarm_fd >= 0)
		scenario_check(readable(alarm_fd, 5000),
			       "alarm timer: no expiration after restore");
	check_signal(sfd, SIGUSR2, -1);
	check_signal(sfd, SIGRTMIN + 1, 7);
	check_signal(sfd, SIGRTMIN + 1, 8);
	scenario_check(!readable(sfd, 0), "signalfd: a signal twice");
	for (int i = 0; i < 3; i++)
		scenario_check(read_u64(sem, "semaphore eventfd") == 1, "semaphore eventfd");
	scenario_check(read(sem, &v, sizeof(v)) < 0 && errno == EAGAIN,
		       "semaphore eventfd: counter above 3");
	v = 1;
	scenario_check(write(full, &v, sizeof(v)) < 0 && errno == EAGAIN,
		       "full eventfd: room for one more");
	scenario_check(read_u64(full, "full eventfd") == EVENTFD_MAX, "full eventfd: counter");
	scenario_check(write(cmd[1], "x", 1) == 1, "cannot release the child");
	scenario_check(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0,
		       "the child did not exit cleanly");
	scenario_pass();
}
