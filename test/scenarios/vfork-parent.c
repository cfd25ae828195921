/* A vfork() parent: it waits in the kernel, deaf to everything but SIGKILL, until its child
 * calls exec or exits, so no PTRACE_INTERRUPT can stop it. The dump must give up after
 * --timeout with one line that says so, and leave both running. The child (which runs on the
 * parent's memory, so it keeps to system calls and its own stack) announces readiness, then
 * waits until the driver's SIGUSR1 is pending on the parent and exits; the parent, free again,
 * checks that the child ended as it should. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

/* Is SIGUSR1 pending on the process ppid (ShdPnd in its status)? */
static int usr1_pending_on(pid_t ppid)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)ppid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "ShdPnd:");
	if (!p)
		return -1;
	return (strtoull(p + 7, NULL, 16) >> (SIGUSR1 - 1)) & 1;
}

int main(void)
{
	const char *ready = getenv("SCENARIO_READY");
	pid_t parent = getpid(), child;
	int status;

	if (!ready)
		scenario_skip("no SCENARIO_READY");
	/* the handler and the blocked SIGUSR1 for the parent; the marker comes from the child */
	if (setenv("SCENARIO_READY", "/dev/null", 1) < 0)
		scenario_skip("setenv: %m");
	scenario_ready();

	child = vfork();
	if (child == 0) {
		const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "ready\n", 6) != 6)
			_exit(2);
		close(fd);
		for (int i = 0; i < 60 * 100; i++) { /* a hang guard of a minute */
			int r = usr1_pending_on(parent);

			if (r != 0)
				_exit(r == 1 ? 0 : 3);
			nanosleep(&tick, NULL);
		}
		_exit(4);
	}
	if (child < 0)
		scenario_fail("vfork: %m");
	scenario_wait();
	scenario_check(waitpid(child, &status, 0) == child, "the child is gone: %m");
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "the child ended with status %#x, not on the parent's SIGUSR1", status);
	scenario_pass();
}
