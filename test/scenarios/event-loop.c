/* An event loop: one epoll over a periodic timerfd, an expired one-shot timerfd, a signalfd, a
 * pipe, an eventfd and an inotify watch, fed by a child that, every few milliseconds, writes
 * a sequence number into the pipe, adds one to the eventfd, queues a numbered real-time signal
 * to its parent every 10th time and creates a file every 50th. The loop is dumped while it
 * waits in epoll_wait and keeps running after restore until the driver's SIGUSR1 (read through
 * the signalfd) and some more events; then it stops the child and checks that no message,
 * count or signal was missed or doubled across the dump, that the one-shot timer's expiration
 * came exactly once, and that the periodic timer and the inotify watch kept reporting (events
 * queued in the inotify instance at dump are not kept: its numbers may skip, never repeat). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

enum { EV_TIMER = 1, EV_ONCE, EV_SIGNAL, EV_PIPE, EV_COUNTER, EV_INOTIFY };

struct feed_report {
	uint32_t messages, signals, files;
};

static char dir[] = "/tmp/minicr-scn-loop.XXXXXX";

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* The child: messages until told to stop, then what it sent. */
static void __attribute__((noreturn)) feed(int pipe_w, int efd, int stop_r, int report_w)
{
	struct feed_report r = {0};
	struct timespec pause = {0, 5000000};
	uint64_t one = 1;
	char name[128];

	for (uint32_t seq = 1;; seq++) {
		struct pollfd pfd = {stop_r, POLLIN, 0};

		if (poll(&pfd, 1, 0) == 1)
			break;
		if (write(pipe_w, &seq, sizeof(seq)) != sizeof(seq) ||
		    write(efd, &one, sizeof(one)) != sizeof(one))
			_exit(2);
		r.messages = seq;
		if (seq % 10 == 0) {
			if (sigqueue(getppid(), SIGRTMIN + 1,
				     (union sigval){.sival_int = (int)(seq / 10)}) < 0)
				_exit(3);
			r.signals++;
		}
		if (seq % 50 == 0) {
			snprintf(name, sizeof(name), "%s/f%u", dir, seq);
			close(open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
			r.files++;
		}
		while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
			;
		pause.tv_nsec = 5000000;
	}
	_exit(write(report_w, &r, sizeof(r)) == sizeof(r) ? 0 : 4);
}

struct counts {
	uint32_t last_msg, last_sig, last_file;
	uint64_t counter, ticks, once;
	uint32_t files_seen;
	bool usr1;
};

static void handle(int fd, int kind, struct counts *c)
{
	union {
		uint32_t seqs[256];
		struct signalfd_siginfo si[16];
		char inotify[4096] __attribute__((aligned(8)));
	} buf;
	uint64_t v;
	ssize_t n;

	switch (kind) {
	case EV_PIPE:
		n = read(fd, buf.seqs, sizeof(buf.seqs));
		for (ssize_t i = 0; i < n / 4; i++) {
			scenario_check(buf.seqs[i] == c->last_msg + 1, "message %u after %u",
				       buf.seqs[i], c->last_msg);
			c->last_msg = buf.seqs[i];
		}
		break;
	case EV_COUNTER:
		if (read(fd, &v, sizeof(v)) == sizeof(v))
			c->counter += v;
		break;
	case EV_TIMER:
		if (read(fd, &v, sizeof(v)) == sizeof(v))
			c->ticks += v;
		break;
	case EV_ONCE:
		if (read(fd, &v, sizeof(v)) == sizeof(v))
			c->once += v;
		break;
	case EV_SIGNAL:
		n = read(fd, buf.si, sizeof(buf.si));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(buf.si[0]); i++) {
			if ((int)buf.si[i].ssi_signo == SIGUSR1) {
				c->usr1 = true;
				continue;
			}
			scenario_check(buf.si[i].ssi_int == (int)c->last_sig + 1,
				       "signal %d after %u", buf.si[i].ssi_int, c->last_sig);
			c->last_sig++;
		}
		break;
	case EV_INOTIFY:
		n = read(fd, buf.inotify, sizeof(buf.inotify));
		for (char *p = buf.inotify; n > 0 && p < buf.inotify + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			unsigned int seq = 0;

			if (e->len && sscanf(e->name, "f%u", &seq) == 1) {
				scenario_check(seq > c->last_file, "file %u after %u", seq,
					       c->last_file);
				c->last_file = seq;
				c->files_seen++;
			}
			p += sizeof(*e) + e->len;
		}
		break;
	}
}

static void loop_once(int epfd, const int *fds, struct counts *c, int timeout_ms)
{
	struct epoll_event evs[8];
	int n = epoll_wait(epfd, evs, 8, timeout_ms);

	scenario_check(n >= 0 || errno == EINTR, "epoll_wait: %m");
	for (int i = 0; i < n; i++)
		handle(fds[evs[i].data.u32], (int)evs[i].data.u32, c);
}

int main(void)
{
	struct itimerspec periodic = {.it_interval.tv_nsec = 20000000,
				      .it_value.tv_nsec = 20000000};
	struct itimerspec soon = {.it_value.tv_nsec = 1000};
	int p[2], stop[2], report[2], fds[8], epfd, status;
	struct counts c = {0}, at_usr1;
	struct feed_report r;
	sigset_t mask;
	pid_t child;

	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(remove_dir);
	sigemptyset(&mask);
	sigaddset(&mask, SIGRTMIN + 1);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (pipe2(p, O_NONBLOCK) < 0 || pipe(stop) < 0 || pipe(report) < 0)
		scenario_skip("pipe: %m");
	fds[EV_TIMER] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	fds[EV_ONCE] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	fds[EV_SIGNAL] = signalfd(-1, &mask, SFD_NONBLOCK);
	fds[EV_PIPE] = p[0];
	fds[EV_COUNTER] = eventfd(0, EFD_NONBLOCK);
	fds[EV_INOTIFY] = inotify_init1(IN_NONBLOCK);
	epfd = epoll_create1(0);
	for (int k = EV_TIMER; k <= EV_INOTIFY; k++)
		if (fds[k] < 0 || epfd < 0)
			scenario_skip("event fd %d: %m", k);
	if (inotify_add_watch(fds[EV_INOTIFY], dir, IN_CREATE) < 0)
		scenario_skip("inotify_add_watch: %m");
	child = fork();
	if (child == 0) {
		close(stop[1]);
		close(report[0]);
		feed(p[1], fds[EV_COUNTER], stop[0], report[1]);
	}
	close(p[1]);
	close(stop[0]);
	close(report[1]);
	timerfd_settime(fds[EV_TIMER], 0, &periodic, NULL);
	timerfd_settime(fds[EV_ONCE], 0, &soon, NULL);
	/* the one-shot timer's expiration stays unread until after restore */
	for (int k = EV_TIMER; k <= EV_INOTIFY; k++)
		if (k != EV_ONCE && epoll_ctl(epfd, EPOLL_CTL_ADD, fds[k],
					      &(struct epoll_event){.events = EPOLLIN,
								    .data.u32 = (uint32_t)k}) < 0)
			scenario_skip("epoll_ctl: %m");
	/* run a while, so every source has reported */
	while (c.last_sig < 2 || c.files_seen < 1)
		loop_once(epfd, fds, &c, 1000);

	scenario_ready();
	while (!c.usr1)
		loop_once(epfd, fds, &c, -1);
	at_usr1 = c;
	epoll_ctl(epfd, EPOLL_CTL_ADD, fds[EV_ONCE],
		  &(struct epoll_event){.events = EPOLLIN, .data.u32 = EV_ONCE});
	/* after restore, more of everything (a hang guard bounds the wait) */
	for (int i = 0;
	     i < 1000 && (c.last_msg < at_usr1.last_msg + 100 || c.ticks < at_usr1.ticks + 2 ||
			  c.files_seen < at_usr1.files_seen + 2 || c.once == 0);
	     i++)
		loop_once(epfd, fds, &c, 100);
	scenario_check(write(stop[1], "s", 1) == 1, "cannot stop the child");
	scenario_check(read(report[0], &r, sizeof(r)) == sizeof(r), "no report from the child");
	scenario_check(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0,
		       "the child failed (status %#x)", status);
	/* what was in flight when it stopped */
	for (int i = 0; i < 50 && (c.last_msg < r.messages || c.last_sig < r.signals ||
				   c.counter < r.messages);
	     i++)
		loop_once(epfd, fds, &c, 100);
	scenario_check(c.last_msg == r.messages, "%u messages read, %u sent", c.last_msg,
		       r.messages);
	scenario_check(c.counter == r.messages, "eventfd counted %lu, %u added",
		       (unsigned long)c.counter, r.messages);
	scenario_check(c.last_sig == r.signals, "%u signals read, %u sent", c.last_sig, r.signals);
	scenario_check(c.once == 1, "the one-shot timer expired %lu times", (unsigned long)c.once);
	scenario_check(c.ticks > at_usr1.ticks, "the periodic timer stopped");
	scenario_check(c.files_seen > at_usr1.files_seen, "no file creation seen after SIGUSR1");
	scenario_check(c.last_msg > at_usr1.last_msg + 50, "the loop did not go on");
	scenario_pass();
}
