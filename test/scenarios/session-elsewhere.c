/* A layout restore cannot rebuild, which dump must refuse with the tree left running: the root
 * (a child subreaper) adopted Z, whose session is led by L, a live task of the tree that is not
 * Z's parent. Z's own parent X, a child of L, exited; nothing in the tree can fork Z into L's
 * session under the root again. After the refused dump every task must still be as it was. */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

static pid_t l_pid, z_pid;

static void kill_all(void)
{
	if (l_pid > 0)
		kill(l_pid, SIGKILL);
	if (z_pid > 0)
		kill(z_pid, SIGKILL);
}

int main(void)
{
	struct timespec ms = {0, 1000000};
	int pfd[2], st;
	pid_t root = getpid();

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || pipe(pfd) < 0)
		scenario_skip("setup: %m");
	atexit(kill_all);
	l_pid = fork();
	if (l_pid == 0) {
		pid_t x;

		if (setsid() < 0)
			_exit(1);
		x = fork();
		if (x == 0) {
			pid_t z = fork();

			if (z == 0) {
				for (int i = 0; getppid() != root && i < 10000; i++)
					nanosleep(&ms, NULL);
				z = getpid();
				if (write(pfd[1], &z, sizeof(z)) != sizeof(z))
					_exit(1);
				for (;;)
					pause();
			}
			_exit(0);
		}
		if (waitpid(x, &st, 0) != x)
			_exit(1);
		for (;;)
			pause();
	}
	if (l_pid < 0 || read(pfd[0], &z_pid, sizeof(z_pid)) != sizeof(z_pid))
		scenario_skip("fork: %m");
	scenario_ready();
	scenario_wait();
	scenario_check(kill(l_pid, 0) == 0 && kill(z_pid, 0) == 0, "L or Z is gone");
	scenario_check(getsid(z_pid) == l_pid && getsid(l_pid) == l_pid,
		       "sessions changed: Z in %d, L in %d", (int)getsid(z_pid), (int)getsid(l_pid));
	scenario_pass();
}
