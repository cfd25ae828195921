/* A job on the user's terminal, run under script(1) by test-shell-job.sh: stdin, stdout and
 * stderr are the slave of a pty whose master (script) is outside the tree, and it leads its
 * session and group. Dumped with --shell-job, restored with --shell-job from another terminal:
 * its three fds are that terminal now, it is its foreground job, /dev/tty reaches it, and it
 * can write there and read from it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "scenario.h"

static void check_terminal(const char *when)
{
	int fd;

	for (int i = 0; i < 3; i++)
		scenario_check(isatty(i), "%s: fd %d is no terminal", when, i);
	scenario_check(ttyname(0) != NULL, "%s: stdin has no terminal name", when);
	scenario_check(tcgetpgrp(0) == getpgrp(), "%s: not the foreground job (%d, group %d)", when,
		       (int)tcgetpgrp(0), (int)getpgrp());
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	scenario_check(fd >= 0, "%s: no controlling terminal: %m", when);
	close(fd);
}

int main(void)
{
	/* what script(1) inherited from its caller is not the job's */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	check_terminal("before the dump");
	printf("before-dump on %s\n", ttyname(1));
	fflush(stdout);

	scenario_ready();
	scenario_wait();

	check_terminal("after restore");
	printf("after-restore on %s\n", ttyname(1));
	fflush(stdout);
	scenario_check(!ferror(stdout), "cannot write to the terminal");
	scenario_pass();
}
