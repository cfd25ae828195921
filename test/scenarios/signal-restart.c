/* A SIGUSR2 handler installed with SA_RESTART|SA_SIGINFO and a mask, and a thread dumped while
 * blocked in read() on a pipe. After SIGUSR1 the main thread checks the disposition is intact,
 * sends SIGUSR2 to the reader, waits for the handler to run, then writes the pipe: the handler
 * must have run exactly once, in the reader, and its read() must be restarted by the kernel and
 * return the data rather than EINTR. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define PIPE_DATA   "after the handler"
#define POLL_NS	    1000000
#define POLL_ROUNDS 10000 /* 10 s at POLL_NS: a hang guard, not a timing assertion */
/* The sa_flags bits a program chooses (SA_RESTORER is glibc's, so it is not compared). */
#define USER_FLAGS (SA_RESTART | SA_SIGINFO | SA_NODEFER | SA_RESETHAND | SA_ONSTACK | SA_NOCLDSTOP)

static int pipe_fds[2];
static atomic_int reader_tid;
static atomic_int reader_done;
static atomic_int n_handled;
static atomic_int handler_tid;
static atomic_int handler_code;
static ssize_t reader_len;
static int reader_errno;
static char reader_buf[64];

static void on_usr2(int sig, siginfo_t *info, void *ucontext)
{
	(void)sig;
	(void)ucontext;
	atomic_store(&handler_tid, gettid());
	atomic_store(&handler_code, info->si_code);
	atomic_fetch_add(&n_handled, 1);
}

static void *reader_main(void *arg)
{
	(void)arg;
	atomic_store(&reader_tid, gettid());
	/* One read() call: with SA_RESTART the kernel restarts it after the handler. */
	reader_len = read(pipe_fds[0], reader_buf, sizeof(reader_buf) - 1);
	reader_errno = reader_len < 0 ? errno : 0;
	atomic_store(&reader_done, 1);
	return NULL;
}

/* Polls (bounded) until *var == value. */
static bool wait_value(atomic_int *var, int value)
{
	struct timespec ts = {0, POLL_NS};

	for (int round = 0; round < POLL_ROUNDS; round++) {
		if (atomic_load(var) == value)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static bool wait_reader_in_read(void)
{
	struct timespec ts = {0, POLL_NS};

	for (int round = 0; round < POLL_ROUNDS; round++) {
		int tid = atomic_load(&reader_tid);

		if (tid && scenario_blocked_syscall(tid) == SYS_read)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void check_disposition(void)
{
	struct sigaction old;

	scenario_check(sigaction(SIGUSR2, NULL, &old) == 0, "sigaction(SIGUSR2): %m");
	scenario_check(old.sa_sigaction == on_usr2, "SIGUSR2 handler is %p, expected %p",
		       (void *)old.sa_sigaction, (void *)on_usr2);
	scenario_check((old.sa_flags & USER_FLAGS) == (SA_RESTART | SA_SIGINFO),
		       "SIGUSR2 sa_flags %#x, expected SA_RESTART|SA_SIGINFO", old.sa_flags);
	for (int sig = 1; sig < 32; sig++) { /* the standard signals */
		bool want = sig == SIGHUP || sig == SIGTERM || sig == SIGWINCH;

		scenario_check(sigismember(&old.sa_mask, sig) == want,
			       "SIGUSR2 sa_mask: signal %d is %s", sig, want ? "missing" : "extra");
	}
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_usr2, .sa_flags = SA_RESTART | SA_SIGINFO};
	pthread_t reader;
	sigset_t usr1;

	if (pipe(pipe_fds) < 0)
		scenario_skip("pipe: %m");
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGWINCH);
	if (sigaction(SIGUSR2, &sa, NULL) < 0)
		scenario_skip("sigaction: %m");
	/* The reader inherits a mask blocking SIGUSR1: the driver's signal is for main only. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&reader, NULL, reader_main, NULL))
		scenario_skip("pthread_create failed");
	if (!wait_reader_in_read())
		scenario_fail("the reader never blocked in read()");

	scenario_ready();
	scenario_wait();

	check_disposition();
	scenario_check(!atomic_load(&reader_done), "read() returned before any data: %zd (%s)",
		       reader_len, strerror(reader_errno));
	scenario_check(pthread_kill(reader, SIGUSR2) == 0, "pthread_kill");
	scenario_check(wait_value(&n_handled, 1), "the SIGUSR2 handler never ran");
	/* The handler has returned into the restarted read(), or will shortly: either way the
	 * data written now must come out of that same read() call. */
	scenario_check(!atomic_load(&reader_done), "read() returned after the handler: %zd (%s)",
		       reader_len, strerror(reader_errno));
	scenario_check(write(pipe_fds[1], PIPE_DATA, strlen(PIPE_DATA)) ==
			   (ssize_t)strlen(PIPE_DATA),
		       "write to the pipe: %m");
	scenario_check(wait_value(&reader_done, 1), "the reader never returned (in syscall %ld)",
		       scenario_blocked_syscall(atomic_load(&reader_tid)));
	pthread_join(reader, NULL);
	scenario_check(reader_len >= 0, "read() failed: %s", strerror(reader_errno));
	scenario_check(reader_len == (ssize_t)strlen(PIPE_DATA) &&
			   memcmp(reader_buf, PIPE_DATA, strlen(PIPE_DATA)) == 0,
		       "the reader got %zd bytes '%.*s', expected '%s'", reader_len,
		       (int)reader_len, reader_buf, PIPE_DATA);
	scenario_check(atomic_load(&n_handled) == 1, "the handler ran %d times, expected once",
		       atomic_load(&n_handled));
	scenario_check(atomic_load(&handler_tid) == atomic_load(&reader_tid),
		       "the handler ran in thread %d, not in the reader %d",
		       atomic_load(&handler_tid), atomic_load(&reader_tid));
	scenario_check(atomic_load(&handler_code) == SI_TKILL, "si_code %d, expected SI_TKILL",
		       atomic_load(&handler_code));
	check_disposition();
	scenario_pass();
}
