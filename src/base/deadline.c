/* deadline.c: a timer signal aimed at one thread (see deadline.h). */
#include "base/deadline.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* SIGALRM: minicr uses it for nothing else; the handler is installed without SA_RESTART so
 * that it interrupts the wait it lands in. */
#define DEADLINE_SIGNAL SIGALRM

static volatile sig_atomic_t has_passed;
static struct sigaction saved_action;

static void on_deadline(int sig)
{
	(void)sig;
	has_passed = 1;
}

int deadline_arm(struct deadline *dl, unsigned int seconds)
{
	struct sigaction sa = {.sa_handler = on_deadline};
	struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = DEADLINE_SIGNAL};
	struct itimerspec when = {
	    .it_value = {.tv_sec = seconds},
	    .it_interval = {.tv_nsec = DEADLINE_RETRY_MS * 1000 * 1000},
	};
	timer_t timer;

	*dl = (struct deadline){.seconds = seconds};
	if (seconds == 0)
		return 0;
	has_passed = 0;
	ev._sigev_un._tid = gettid(); /* sigev_notify_thread_id: glibc names only the union */
	sigemptyset(&sa.sa_mask);
	if (sigaction(DEADLINE_SIGNAL, &sa, &saved_action) < 0)
		return pr_errno("cannot install the handler of the %u s time limit", seconds);
	if (timer_create(CLOCK_MONOTONIC, &ev, &timer) < 0) {
		int ret = pr_errno("cannot create the timer of the %u s time limit", seconds);

		sigaction(DEADLINE_SIGNAL, &saved_action, NULL);
		return ret;
	}
	if (timer_settime(timer, 0, &when, NULL) < 0) {
		int ret = pr_errno("cannot start the timer of the %u s time limit", seconds);

		timer_delete(timer);
		sigaction(DEADLINE_SIGNAL, &saved_action, NULL);
		return ret;
	}
	dl->timer = timer;
	dl->is_armed = true;
	return 0;
}

bool deadline_passed(const struct deadline *dl)
{
	return dl->is_armed && has_passed;
}

void deadline_disarm(struct deadline *dl)
{
	if (!dl->is_armed)
		return;
	timer_delete(dl->timer);
	sigaction(DEADLINE_SIGNAL, &saved_action, NULL);
	dl->is_armed = false;
}
