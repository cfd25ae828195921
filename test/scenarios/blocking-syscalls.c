/* Threads dumped while blocked in syscalls: a long nanosleep, read() on an empty pipe, FUTEX_WAIT
 * on a private futex, and the main thread in sigsuspend. After SIGUSR1 the main thread writes
 * the pipe, wakes the futex and wakes the sleeper through a flag (plus a signal to cut the
 * sleep short); each thread must come back with the right data. A nanosleep interrupted by the
 * restore may return EINTR once (its restart block cannot be carried over); read() and an
 * untimed FUTEX_WAIT restart transparently and must never fail. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define PIPE_DATA    "data written after the restore"
#define FUTEX_VALUE  0x5ca1ab1e
#define LONG_SLEEP_S 100000
#define POLL_NS	     1000000
#define POLL_ROUNDS  10000 /* 10 s at POLL_NS: a hang guard, not a timing assertion */

enum { SLEEPER, READER, FUTEX_WAITER, N_THREADS };

static const char *const thread_names[N_THREADS] = {"sleeper", "reader", "futex waiter"};

struct thread_state {
	pthread_t thread;
	atomic_int tid;
	atomic_int done;
	int err;   /* errno of an unexpected failure, 0 if none */
	char *why; /* what failed, NULL if nothing */
};

static struct thread_state threads[N_THREADS];
static int pipe_fds[2];
static atomic_int futex_word;
static atomic_int wake_sleeper;
static int sleeper_n_eintr;
static char reader_buf[64];
static ssize_t reader_len;

static void on_usr2(int sig)
{
	(void)sig;
}

static void *sleeper_main(void *arg)
{
	struct thread_state *t = arg;
	struct timespec req = {LONG_SLEEP_S, 0}, rem;

	atomic_store(&t->tid, gettid());
	for (;;) {
		if (nanosleep(&req, &rem) == 0) {
			t->why = "nanosleep completed without being woken";
			break;
		}
		if (errno != EINTR) {
			t->err = errno;
			t->why = "nanosleep failed";
			break;
		}
		if (atomic_load(&wake_sleeper))
			break;
		/* Not woken by us: the restore interrupted the sleep. Sleep on for the rest. */
		sleeper_n_eintr++;
		req = rem;
	}
	atomic_store(&t->done, 1);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct thread_state *t = arg;

	atomic_store(&t->tid, gettid());
	reader_len = read(pipe_fds[0], reader_buf, sizeof(reader_buf) - 1);
	if (reader_len < 0) {
		t->err = errno;
		t->why = "read failed";
	}
	atomic_store(&t->done, 1);
	return NULL;
}

static void *futex_waiter_main(void *arg)
{
	struct thread_state *t = arg;

	atomic_store(&t->tid, gettid());
	/* A return of 0 with the word unchanged is a legal spurious wake-up: wait again. */
	while (atomic_load(&futex_word) == 0) {
		if (syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) < 0 &&
		    errno != EAGAIN) {
			t->err = errno;
			t->why = "FUTEX_WAIT failed";
			break;
		}
	}
	atomic_store(&t->done, 1);
	return NULL;
}

/* The syscall number the thread is blocked in, from /proc/self/task/TID/syscall; -1 if it
 * is running or the file cannot be read. */
static bool wait_blocked(int i, long nr, long alt_nr)
{
	struct timespec ts = {0, POLL_NS};

	for (int round = 0; round < POLL_ROUNDS; round++) {
		int tid = atomic_load(&threads[i].tid);
		long cur = tid ? scenario_blocked_syscall(tid) : -1;

		if (cur == nr || cur == alt_nr)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Sets the flag, then signals the sleeper until it notices: a signal that lands just before
 * it enters nanosleep would otherwise be lost. */
static bool wake_sleeper_thread(void)
{
	struct timespec ts = {0, POLL_NS};

	atomic_store(&wake_sleeper, 1);
	for (int round = 0; round < POLL_ROUNDS; round++) {
		if (atomic_load(&threads[SLEEPER].done))
			return true;
		pthread_kill(threads[SLEEPER].thread, SIGUSR2);
		nanosleep(&ts, NULL);
	}
	return false;
}

static void wait_done(int i)
{
	struct timespec ts = {0, POLL_NS};

	for (int round = 0; round < POLL_ROUNDS; round++) {
		if (atomic_load(&threads[i].done))
			return;
		nanosleep(&ts, NULL);
	}
	scenario_fail("the %s never returned from its syscall (in syscall %ld)", thread_names[i],
		      scenario_blocked_syscall(atomic_load(&threads[i].tid)));
}

int main(void)
{
	void *(*const mains[N_THREADS])(void *) = {sleeper_main, reader_main, futex_waiter_main};
	struct sigaction sa = {.sa_handler = on_usr2}; /* no SA_RESTART: nanosleep gets EINTR */
	sigset_t usr1;

	if (pipe(pipe_fds) < 0)
		scenario_skip("pipe: %m");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	/* Threads inherit a mask blocking SIGUSR1: the driver's signal is for main only. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	for (int i = 0; i < N_THREADS; i++)
		if (pthread_create(&threads[i].thread, NULL, mains[i], &threads[i]))
			scenario_skip("pthread_create failed");
	/* Dump only once each thread sits in its syscall (glibc's nanosleep is clock_nanosleep). */
	if (!wait_blocked(SLEEPER, SYS_nanosleep, SYS_clock_nanosleep) ||
	    !wait_blocked(READER, SYS_read, SYS_read) ||
	    !wait_blocked(FUTEX_WAITER, SYS_futex, SYS_futex))
		scenario_fail("the threads never blocked in their syscalls");

	scenario_ready();
	scenario_wait();

	for (int i = 0; i < N_THREADS; i++)
		scenario_check(!atomic_load(&threads[i].done),
			       "the %s returned before being woken: %s (%s)", thread_names[i],
			       threads[i].why ? threads[i].why : "no error",
			       strerror(threads[i].err));
	scenario_check(write(pipe_fds[1], PIPE_DATA, strlen(PIPE_DATA)) ==
			   (ssize_t)strlen(PIPE_DATA),
		       "write to the pipe: %m");
	atomic_store(&futex_word, FUTEX_VALUE);
	scenario_check(syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) >= 0,
		       "FUTEX_WAKE: %m");
	scenario_check(wake_sleeper_thread(), "the sleeper never woke up (in syscall %ld)",
		       scenario_blocked_syscall(atomic_load(&threads[SLEEPER].tid)));
	for (int i = 0; i < N_THREADS; i++) {
		wait_done(i);
		pthread_join(threads[i].thread, NULL);
		scenario_check(!threads[i].why, "the %s: %s (%s)", thread_names[i], threads[i].why,
			       strerror(threads[i].err));
	}
	scenario_check(sleeper_n_eintr <= 1, "nanosleep returned EINTR %d times before the wake",
		       sleeper_n_eintr);
	scenario_check(reader_len == (ssize_t)strlen(PIPE_DATA) &&
			   memcmp(reader_buf, PIPE_DATA, strlen(PIPE_DATA)) == 0,
		       "the reader got %zd bytes '%.*s', expected '%s'", reader_len,
		       (int)(reader_len > 0 ? reader_len : 0), reader_buf, PIPE_DATA);
	scenario_check(atomic_load(&futex_word) == FUTEX_VALUE, "futex word changed");
	scenario_pass();
}
