/* Two mount namespaces in one tree: the root task has a private namespace, its child unshares
 * another one after the fork and mounts a tmpfs there that only it sees, holding an fd on a
 * file in it. After the restore the child must again be in a namespace of its own (not its
 * parent's), see its tmpfs and the file through its fd, while the parent does not see the
 * tmpfs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define MARK "only in the child's namespace\n"

static char dir[] = "/tmp/minicr-scn-mntns2.XXXXXX";

static ino_t ns_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return stat(path, &st) < 0 ? 0 : st.st_ino;
}

/* The child: its own namespace and tmpfs, a file open in it; on SIGUSR1 it checks both. */
static int child(int ready_fd)
{
	char path[128], buf[64] = "";
	sigset_t set;
	int fd, sig;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("minicr-scn-child", dir, "tmpfs", 0, "size=1m") < 0)
		return 10;
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, MARK, strlen(MARK)) != (ssize_t)strlen(MARK))
		return 11;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (write(ready_fd, "r", 1) != 1)
		return 12;
	close(ready_fd);
	if (sigwait(&set, &sig) != 0)
		return 13;
	if (pread(fd, buf, sizeof(buf) - 1, 0) != (ssize_t)strlen(MARK) || strcmp(buf, MARK))
		return 20; /* the fd lost its file */
	if (access(path, F_OK) < 0)
		return 21; /* the tmpfs is not mounted in the child's namespace */
	return 0;
}

int main(void)
{
	int ready[2], status;
	char c, path[128];
	pid_t pid;

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	if (pipe2(ready, O_CLOEXEC) < 0)
		scenario_skip("pipe: %m");
	pid = fork();
	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid == 0) {
		close(ready[0]);
		_exit(child(ready[1]));
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		scenario_skip("the child could not set up its namespace (status %d)",
			      WEXITSTATUS(status));
	}
	close(ready[0]);

	scenario_ready();
	scenario_wait();

	snprintf(path, sizeof(path), "%s/file", dir);
	scenario_check(ns_ino(pid) && ns_ino(pid) != ns_ino(getpid()),
		       "the child is no longer in a namespace of its own");
	scenario_check(access(path, F_OK) < 0 && errno == ENOENT,
		       "the child's tmpfs is visible in the parent's namespace");
	kill(pid, SIGUSR1);
	scenario_check(waitpid(pid, &status, 0) == pid, "cannot wait for the child: %m");
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "the child's check failed (status 0x%x)", status);
	rmdir(dir);
	scenario_pass();
}
