/* One open file description shared by a dup within a task and by a child across fork: moving
 * the offset through one fd moves it for the others. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

int main(void)
{
	char path[] = "/tmp/minicr-scn-shared.XXXXXX";
	int fd, dupfd, status, sync_pipe[2];
	pid_t child;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "abcdefgh", 8) != 8 || pipe(sync_pipe) < 0)
		scenario_skip("setup: %m");
	unlink(path); /* the file is kept only through fd: an unlinked file, too */
	lseek(fd, 2, SEEK_SET);
	dupfd = dup(fd);

	child = fork();
	if (child == 0) {
		char c;

		/* The child moves the shared offset once the parent tells it to. */
		close(sync_pipe[1]);
		if (read(sync_pipe[0], &c, 1) != 1)
			_exit(2);
		_exit(lseek(fd, 6, SEEK_SET) == 6 ? 0 : 3);
	}
	close(sync_pipe[0]);

	scenario_ready();
	scenario_wait();

	scenario_check(lseek(dupfd, 0, SEEK_CUR) == 2, "dup'd fd offset before the child moves it");
	if (write(sync_pipe[1], "go", 1) != 1)
		scenario_fail("cannot wake the child: %m");
	if (waitpid(child, &status, 0) != child)
		scenario_fail("child %d is not our child any more: %m", child);
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	scenario_check(lseek(fd, 0, SEEK_CUR) == 6, "offset not shared with the child");
	scenario_check(lseek(dupfd, 0, SEEK_CUR) == 6, "offset not shared with the dup");
	scenario_pass();
}
