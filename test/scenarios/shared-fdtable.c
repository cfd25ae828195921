/* Two processes sharing one fd table: the child was created with clone(CLONE_FILES) without
 * CLONE_THREAD. After the restore the table must still be one: an fd the child closes is gone
 * in the parent, an fd the parent opens is there in the child, and the files opened before
 * the dump are where they were in both.
 *
 * With the environment variable SHARED_FDTABLE_SIBLINGS set, the parent instead gives two
 * children its table and then takes a table of its own (unshare(CLONE_FILES)): the children
 * share a table their parent no longer has, which restore cannot rebuild and dump must refuse
 * with the tree left running. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

static int cmd[2], ack[2];
static int f1, f2;
static pid_t child;

static void kill_child(void)
{
	if (child > 0)
		kill(child, SIGKILL);
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The child obeys: 'c' closes f1, 'n' checks that the fd number that follows is open, 'x'
 * exits. It answers each with one byte: '+' done, '-' not so. */
static __attribute__((noreturn)) void child_main(void)
{
	for (;;) {
		char c, r = '+';
		int n;

		if (read(cmd[0], &c, 1) != 1)
			_exit(1);
		if (c == 'x')
			_exit(0);
		if (c == 'c')
			r = close(f1) == 0 ? '+' : '-';
		if (c == 'n')
			r = read(cmd[0], &n, sizeof(n)) == sizeof(n) && is_open(n) ? '+' : '-';
		if (write(ack[1], &r, 1) != 1)
			_exit(1);
	}
}

static pid_t clone_files(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
}

static char ask(char c, const int *arg)
{
	char r = 0;

	scenario_check(write(cmd[1], &c, 1) == 1, "command: %m");
	if (arg)
		scenario_check(write(cmd[1], arg, sizeof(*arg)) == sizeof(*arg), "command: %m");
	scenario_check(read(ack[0], &r, 1) == 1, "no answer from the child");
	return r;
}

static __attribute__((noreturn)) void siblings(void)
{
	pid_t a = clone_files(), b;

	if (a == 0)
		for (;;)
			pause();
	b = clone_files();
	if (b == 0)
		for (;;)
			pause();
	if (a < 0 || b < 0 || unshare(CLONE_FILES) < 0)
		scenario_skip("clone/unshare: %m");
	scenario_ready();
	scenario_wait();
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	scenario_pass();
}

int main(void)
{
	int n, st;

	if (getenv("SHARED_FDTABLE_SIBLINGS"))
		siblings();
	f1 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	f2 = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (f1 < 0 || f2 < 0 || pipe(cmd) < 0 || pipe(ack) < 0)
		scenario_skip("setup: %m");
	child = clone_files();
	if (child < 0)
		scenario_skip("clone(CLONE_FILES): %m");
	if (child == 0)
		child_main();
	atexit(kill_child);
	scenario_ready();
	scenario_wait();

	scenario_check(is_open(f1) && is_open(f2), "fds %d and %d are not open after the restore",
		       f1, f2);
	scenario_check(ask('c', NULL) == '+', "the child could not close fd %d", f1);
	scenario_check(!is_open(f1), "fd %d closed by the child is still open in the parent: the "
				     "fd tables are no longer shared",
		       f1);
	scenario_check(is_open(f2), "fd %d is gone", f2);
	n = open("/dev/null", O_WRONLY | O_CLOEXEC);
	scenario_check(n >= 0, "open: %m");
	scenario_check(ask('n', &n) == '+', "fd %d opened by the parent is not open in the child",
		       n);
	scenario_check(write(cmd[1], "x", 1) == 1, "command: %m");
	scenario_check(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		       "the child ended with status %#x", st);
	child = 0;
	scenario_pass();
}
