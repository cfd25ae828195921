/* An epoll whose items cover what the kernel keeps per item, held by the process and a child:
 *   - level-triggered, edge-triggered, EPOLLEXCLUSIVE and a fired EPOLLONESHOT item (only its
 *     flags left), each with its own 64-bit data;
 *   - targets of several kinds: pipes, an eventfd, a timerfd, another epoll;
 *   - an item added through an fd number that was then dup'ed away and closed (the target
 *     lives on at another number), and two items under one number (the first target dup'ed
 *     away, the number reused for a second one).
 *   - a hundred more plain items, so the dump checks a large set the fast way.
 * After restore the epoll's fdinfo lists the same items (number, events, data), each item is
 * still keyed by its old number (EPOLL_CTL_MOD through the dup'ed number fails as before), and
 * epoll_wait reports exactly the targets that are ready. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define MAX_ITEMS 160
#define N_BULK	  100 /* plain items besides: a set large enough for the dump's bulk check */

struct item {
	int tfd;
	unsigned int events;
	unsigned long long data;
};

static int items_of(int epfd, struct item *items)
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	f = fopen(path, "re");
	if (!f)
		scenario_fail("cannot open %s: %m", path);
	while (fgets(line, sizeof(line), f) && n < MAX_ITEMS)
		if (sscanf(line, "tfd: %d events: %x data: %llx", &items[n].tfd, &items[n].events,
			   &items[n].data) == 3)
			n++;
	fclose(f);
	return n;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->tfd != y->tfd)
		return x->tfd < y->tfd ? -1 : 1;
	return x->data < y->data ? -1 : x->data > y->data;
}

static void add(int epfd, int fd, unsigned int events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		scenario_skip("epoll_ctl(ADD, %d, %#x): %m", fd, events);
}

/* The data of every ready item, as a bit set of their low bytes. */
static uint64_t ready_set(int epfd)
{
	struct epoll_event evs[MAX_ITEMS];
	uint64_t set = 0;
	int n = epoll_wait(epfd, evs, MAX_ITEMS, 100);

	for (int i = 0; i < n; i++)
		set |= 1ULL << (evs[i].data.u64 & 63);
	return set;
}

#define DATA(k) (0x1122334455667700ULL | (k))
enum {
	LT_PIPE = 1,
	ET_PIPE,
	EXCL_EFD,
	ONESHOT,
	TIMER,
	NESTED,
	MOVED,
	SHARED_OLD,
	SHARED_NEW,
	IDLE_EFD,
	ONESHOT_PIPE
};

int main(void)
{
	int lt[2], et[2], moved[2], old[2], fresh[2], empty[2], efd, idle, timer, inner, inner_efd,
	    epfd;
	struct item before[MAX_ITEMS], after[MAX_ITEMS];
	struct itimerspec its = {.it_value.tv_nsec = 1000};
	int n_before, n_after, old_fd, cmd[2], status;
	uint64_t one = 1, want, got;
	struct epoll_event ev;
	pid_t child;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	inner = epoll_create1(0);
	efd = eventfd(1, EFD_NONBLOCK);
	idle = eventfd(0, EFD_NONBLOCK);
	inner_efd = eventfd(5, 0);
	timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (epfd < 0 || inner < 0 || efd < 0 || idle < 0 || inner_efd < 0 || timer < 0 ||
	    pipe(lt) < 0 || pipe(et) < 0 || pipe(moved) < 0 || pipe(old) < 0 ||
	    pipe2(empty, O_NONBLOCK) < 0)
		scenario_skip("setup: %m");
	timerfd_settime(timer, 0, &its, NULL);
	(void)!write(lt[1], "lt", 2);
	(void)!write(et[1], "et", 2);
	(void)!write(moved[1], "mv", 2);
	(void)!write(old[1], "ol", 2);
	add(inner, inner_efd, EPOLLIN, 99);
	add(epfd, lt[0], EPOLLIN, DATA(LT_PIPE));
	add(epfd, et[0], EPOLLIN | EPOLLET, DATA(ET_PIPE));
	add(epfd, efd, EPOLLIN | EPOLLEXCLUSIVE, DATA(EXCL_EFD));
	add(epfd, idle, EPOLLIN | EPOLLOUT | EPOLLONESHOT, DATA(ONESHOT));
	add(epfd, timer, EPOLLIN, DATA(TIMER));
	add(epfd, inner, EPOLLIN, DATA(NESTED));
	/* the same eventfd under a second number: not ready, its counter is 0 */
	add(epfd, dup(idle), EPOLLIN, DATA(IDLE_EFD));
	/* the moved pipe: added as moved[0], then renumbered */
	add(epfd, moved[0], EPOLLIN, DATA(MOVED));
	{
		int to = fcntl(moved[0], F_DUPFD, 40);

		close(moved[0]);
		moved[0] = to;
	}
	/* one number, two items: old[0] added, dup'ed away, its number reused by a new pipe */
	add(epfd, old[0], EPOLLIN, DATA(SHARED_OLD));
	old_fd = old[0];
	old[0] = fcntl(old_fd, F_DUPFD, 50);
	close(old_fd);
	if (pipe(fresh) < 0)
		scenario_skip("pipe: %m");
	if (fresh[0] != old_fd) {
		if (dup2(fresh[0], old_fd) < 0)
			scenario_skip("dup2: %m");
		close(fresh[0]);
		fresh[0] = old_fd;
	}
	(void)!write(fresh[1], "nw", 2);
	add(epfd, fresh[0], EPOLLIN, DATA(SHARED_NEW));
	add(epfd, empty[0], EPOLLIN | EPOLLONESHOT, DATA(ONESHOT_PIPE));
	for (int i = 0; i < N_BULK; i++) {
		int fd = eventfd(0, EFD_NONBLOCK);

		if (fd < 0)
			scenario_skip("eventfd: %m");
		add(epfd, fd, EPOLLIN, 0x5500000000000000ULL | (uint64_t)i);
	}
	/* fire the one-shot items (EPOLLOUT: an eventfd is writable; a byte in the pipe, read
	 * again so the pipe is empty at dump), and take the ET edge once */
	(void)!write(empty[1], "e", 1);
	got = ready_set(epfd);
	if (!(got & (1ULL << ONESHOT)) || !(got & (1ULL << ONESHOT_PIPE)) ||
	    !(got & (1ULL << ET_PIPE)))
		scenario_skip("expected one-shot and edge events, got %#lx", (unsigned long)got);
	(void)!read(empty[0], &one, 1);
	n_before = items_of(epfd, before);
	if (n_before != 11 + N_BULK)
		scenario_skip("fdinfo lists %d items", n_before);
	qsort(before, (size_t)n_before, sizeof(before[0]), item_cmp);
	/* a child holds the epoll and its targets too */
	if (pipe(cmd) < 0)
		scenario_skip("pipe: %m");
	child = fork();
	if (child == 0) {
		char c;

		close(cmd[1]);
		_exit(read(cmd[0], &c, 1) == 1 ? 0 : 1);
	}
	close(cmd[0]);

	scenario_ready();
	scenario_wait();

	n_after = items_of(epfd, after);
	scenario_check(n_after == n_before, "%d items after restore, %d before", n_after, n_before);
	qsort(after, (size_t)n_after, sizeof(after[0]), item_cmp);
	for (int i = 0; i < n_after; i++)
		scenario_check(after[i].tfd == before[i].tfd &&
				   after[i].events == before[i].events &&
				   after[i].data == before[i].data,
			       "item %d: tfd %d events %#x data %#llx, was tfd %d events %#x "
			       "data %#llx",
			       i, after[i].tfd, after[i].events, after[i].data, before[i].tfd,
			       before[i].events, before[i].data);
	/* the items keep their keys: the dup'ed-away target is not known by its new number */
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0};
	scenario_check(epoll_ctl(epfd, EPOLL_CTL_MOD, old[0], &ev) < 0 && errno == ENOENT,
		       "EPOLL_CTL_MOD through the dup'ed number: %m");
	scenario_check(epoll_ctl(epfd, EPOLL_CTL_MOD, moved[0], &ev) < 0 && errno == ENOENT,
		       "EPOLL_CTL_MOD through the moved number: %m");
	/* every ready target reported: level-triggered ones, the nested epoll, the timer, both
	 * items under one number and the moved one; the edge-triggered pipe may report again */
	want = 1ULL << LT_PIPE | 1ULL << EXCL_EFD | 1ULL << TIMER | 1ULL << NESTED | 1ULL << MOVED |
	       1ULL << SHARED_OLD | 1ULL << SHARED_NEW;
	got = ready_set(epfd) & ~(1ULL << ET_PIPE);
	scenario_check(got == want, "ready items %#lx, expected %#lx", (unsigned long)got,
		       (unsigned long)want);
	/* the idle eventfd becomes ready when written; the fired one-shot items stay quiet, and
	 * the empty pipe is still empty */
	one = 1;
	scenario_check(read(empty[0], &got, 1) < 0 && errno == EAGAIN,
		       "the empty pipe has data after restore");
	scenario_check(write(idle, &one, sizeof(one)) == sizeof(one), "eventfd write: %m");
	scenario_check(write(empty[1], "e", 1) == 1, "pipe write: %m");
	got = ready_set(epfd);
	scenario_check(got & (1ULL << IDLE_EFD), "the idle eventfd's item did not fire");
	scenario_check(!(got & (1ULL << ONESHOT)), "the fired one-shot item fired again");
	scenario_check(!(got & (1ULL << ONESHOT_PIPE)), "the fired one-shot pipe item fired again");
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = DATA(ONESHOT_PIPE)};
	scenario_check(epoll_ctl(epfd, EPOLL_CTL_MOD, empty[0], &ev) == 0, "re-arm: %m");
	scenario_check(ready_set(epfd) & (1ULL << ONESHOT_PIPE), "the re-armed item did not fire");
	scenario_check(write(cmd[1], "x", 1) == 1, "cannot release the child");
	scenario_check(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0,
		       "the child did not exit cleanly");
	scenario_pass();
}
