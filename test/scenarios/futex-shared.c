/* A parent and its child synchronised through a (non-private) futex in MAP_SHARED|MAP_ANONYMOUS
 * memory. The child is dumped blocked in FUTEX_WAIT; after SIGUSR1 the parent stores a value and
 * FUTEX_WAKEs; the child must see the value through the shared page, answer in it and exit 0,
 * and the parent must still be able to reap it. A restore that gives the two processes private
 * copies of the page leaves the child waiting forever. */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define REQUEST	    0x600dcafe
#define ANSWER(v)   ((v) ^ 0x0f0f0f0f)
#define POLL_NS	    1000000
#define POLL_ROUNDS 10000 /* 10 s at POLL_NS: a hang guard, not a timing assertion */

struct shared {
	atomic_int futex_word;
	atomic_int answer;
	atomic_int child_errno;
	uint8_t filler[4096 - 3 * sizeof(atomic_int)]; /* the rest of the page, patterned */
};

static long futex(atomic_int *word, int op, int val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static __attribute__((noreturn)) void child_main(struct shared *sh)
{
	int value;

	/* A return of 0 with the word unchanged is a legal spurious wake-up: wait again. */
	while ((value = atomic_load(&sh->futex_word)) == 0) {
		if (futex(&sh->futex_word, FUTEX_WAIT, 0) < 0 && errno != EAGAIN) {
			atomic_store(&sh->child_errno, errno);
			_exit(2);
		}
	}
	if (value != REQUEST)
		_exit(3);
	for (size_t i = 0; i < sizeof(sh->filler); i++)
		if (sh->filler[i] != (uint8_t)(i * 7))
			_exit(4);
	atomic_store(&sh->answer, ANSWER(value));
	_exit(0);
}

int main(void)
{
	struct timespec ts = {0, POLL_NS};
	struct shared *sh;
	sigset_t usr1;
	int status = 0, round;
	pid_t child, reaped = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		scenario_skip("mmap MAP_SHARED|MAP_ANONYMOUS: %m");
	for (size_t i = 0; i < sizeof(sh->filler); i++)
		sh->filler[i] = (uint8_t)(i * 7);

	/* The child inherits a mask blocking SIGUSR1: the driver's signal is for the parent. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0)
		child_main(sh);
	for (round = 0; round < POLL_ROUNDS && scenario_blocked_syscall(child) != SYS_futex;
	     round++)
		nanosleep(&ts, NULL);
	if (round == POLL_ROUNDS)
		scenario_fail("the child never blocked in FUTEX_WAIT");

	scenario_ready();
	scenario_wait();

	scenario_check(waitpid(child, &status, WNOHANG) == 0,
		       "the child %d is gone or not our child before the wake (status %#x): %m",
		       child, status);
	atomic_store(&sh->futex_word, REQUEST);
	scenario_check(futex(&sh->futex_word, FUTEX_WAKE, 1) >= 0, "FUTEX_WAKE: %m");
	for (round = 0; round < POLL_ROUNDS; round++) {
		reaped = waitpid(child, &status, WNOHANG);
		if (reaped != 0)
			break;
		nanosleep(&ts, NULL);
	}
	if (reaped == 0) {
		long nr = scenario_blocked_syscall(child);

		kill(child, SIGKILL);
		scenario_fail("the child %d never saw the wake (in syscall %ld, answer %#x)", child,
			      nr, atomic_load(&sh->answer));
	}
	scenario_check(reaped == child, "waitpid(%d) returned %d: %m", child, reaped);
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "the child exited with status %#x (child errno %d)", status,
		       atomic_load(&sh->child_errno));
	scenario_check(atomic_load(&sh->answer) == ANSWER(REQUEST), "answer %#x, expected %#x",
		       atomic_load(&sh->answer), ANSWER(REQUEST));
	scenario_pass();
}
