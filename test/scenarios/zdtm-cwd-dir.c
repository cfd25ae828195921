/* zdtm protocol: the working directory inside the directory named by --dirname, a file opened
 * there by a relative name with O_APPEND, an O_DIRECTORY fd on it, and a child process blocked
 * in read() on a pipe. After SIGTERM: the cwd, the fds, the child and its pipe must be back. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], want[PATH_MAX], c = 0;
	struct stat st_dir, st_fd;
	int dirfd, fd, to_child[2], status;
	pid_t child;

	zdtm_init(argc, argv);
	zdtm_check(zdtm_dirname(), "--dirname is required");
	zdtm_check(mkdir(zdtm_dirname(), 0700) == 0, "mkdir '%s': %m", zdtm_dirname());
	zdtm_check(chdir(zdtm_dirname()) == 0, "chdir: %m");
	zdtm_check(getcwd(want, sizeof(want)), "getcwd: %m");
	fd = open("log", O_WRONLY | O_CREAT | O_APPEND, 0600);
	zdtm_check(fd >= 0 && write(fd, "before\n", 7) == 7, "cannot write 'log': %m");
	dirfd = open(".", O_RDONLY | O_DIRECTORY);
	zdtm_check(dirfd >= 0, "cannot open the directory: %m");
	zdtm_check(pipe(to_child) == 0, "pipe: %m");
	child = fork();
	zdtm_check(child >= 0, "fork: %m");
	if (child == 0) {
		/* the child takes no part in the protocol: only its parent answers SIGTERM */
		signal(SIGTERM, SIG_IGN);
		close(to_child[1]);
		_exit(read(to_child[0], &c, 1) == 1 && c == 'q' ? 0 : 3);
	}
	close(to_child[0]);

	zdtm_ready();
	zdtm_wait();

	zdtm_check(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "cwd is '%s', not '%s'", cwd,
		   want);
	zdtm_check(fcntl(fd, F_GETFL) & O_APPEND, "O_APPEND lost on fd %d", fd);
	zdtm_check(write(fd, "after\n", 6) == 6 && lseek(fd, 0, SEEK_CUR) == 13, "append position");
	zdtm_check(stat(".", &st_dir) == 0 && fstat(dirfd, &st_fd) == 0 &&
		       st_dir.st_ino == st_fd.st_ino && st_dir.st_dev == st_fd.st_dev,
		   "the directory fd no longer points to the cwd");
	zdtm_check(write(to_child[1], "q", 1) == 1, "the child's pipe: %m");
	zdtm_check(waitpid(child, &status, 0) == child, "the child %d is not ours any more", child);
	zdtm_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ended with 0x%x",
		   status);
	unlink("log");
	zdtm_pass();
}
