/* deadline.h: a time limit on the blocking waits of one thread. Once the limit has passed, a
 * timer signal interrupts the thread's blocking system calls (they fail with EINTR) every
 * DEADLINE_RETRY_MS, so a wait entered just after a check still ends; the caller then asks
 * deadline_passed(). Only one deadline at a time per process. */
#pragma once

#include <stdbool.h>
#include <time.h>

#define DEADLINE_RETRY_MS 100

struct deadline {
	bool is_armed;
	unsigned int seconds;
	timer_t timer; /* when armed */
};

/* Arms a limit of seconds from now for the calling thread; 0 seconds arms nothing (no limit).
 * Returns 0 or -errno (logged). */
int deadline_arm(struct deadline *dl, unsigned int seconds);

/* True once the limit of an armed deadline has passed. */
bool deadline_passed(const struct deadline *dl);

/* Stops the timer and puts back the signal's former disposition. Idempotent. */
void deadline_disarm(struct deadline *dl);
