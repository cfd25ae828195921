/* A process and a child that shares its address space (clone(CLONE_VM) without CLONE_THREAD,
 * on a stack of its own with a guard page): restore would give each an address space of its
 * own, so the dump must refuse the tree with one line naming both, and leave them running. On
 * SIGUSR1 the parent checks that the child still counts in the memory they share. */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define STACK_SIZE (256 * 1024)

static atomic_long counter;

static int child_main(void *arg)
{
	const struct timespec tick = {.tv_nsec = 1000 * 1000};

	(void)arg;
	for (;;) {
		atomic_fetch_add(&counter, 1);
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* True once the child has counted on from here (bounded: a hang guard). */
static bool child_counts(void)
{
	const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
	long start = atomic_load(&counter);

	for (int i = 0; i < 500; i++) {
		if (atomic_load(&counter) > start + 2)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

int main(void)
{
	char *stack =
	    mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t child;
	int status;

	if (stack == MAP_FAILED || mprotect(stack, 4096, PROT_NONE) < 0)
		scenario_skip("stack: %m");
	child = clone(child_main, stack + STACK_SIZE, CLONE_VM | SIGCHLD, NULL);
	if (child < 0)
		scenario_skip("clone(CLONE_VM): %m");
	if (!child_counts())
		scenario_skip("the child does not run");

	scenario_ready();
	scenario_wait();

	scenario_check(child_counts(), "the child no longer counts in the shared memory");
	scenario_check(waitpid(child, &status, WNOHANG) == 0, "the child is gone");
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	scenario_pass();
}
