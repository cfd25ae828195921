/* States of detached and anonymous mounts restore cannot rebuild, which dump must refuse with
 * one line while the tree carries on (test-dump-failures.sh). One program per state, chosen at
 * build time:
 *   REFUSED_ORPHAN_RAMFS  an fd on a lazily unmounted ramfs, mounted nowhere else: neither a
 *                         tmpfs (whose files are saved) nor a disk filesystem (whose device is
 *                         mounted again)
 *   REFUSED_ANON_OUTSIDE  files opened through an anonymous tree whose mount fd only a process
 *                         outside the tree holds: restored, the tree could not be attached
 *   REFUSED_ANON_SHARED   the mount fd of an open_tree() clone of a shared mount: a peer of it,
 *                         and the propagation of anonymous mounts is not restored
 * After SIGUSR1 the process checks that its fd still reads what it wrote. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define DATA "still here\n"

static char base[] = "/tmp/minicr-scn-refused.XXXXXX";
static char mnt[64];
static pid_t keeper;

static void cleanup(void)
{
	if (keeper > 0)
		kill(keeper, SIGKILL);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	rmdir(base);
}

static int make_file(int dir_fd)
{
	int fd = openat(dir_fd, "file", O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || write(fd, DATA, strlen(DATA)) != (ssize_t)strlen(DATA))
		scenario_skip("create a file: %m");
	return fd;
}

#if defined(REFUSED_ANON_OUTSIDE)
/* A process outside the tree (a session of its own, no descendant of this one) holding fd
 * until it is killed or the harness is done. */
static void hold_outside(int fd)
{
	int pipe_fds[2];
	pid_t pid;

	if (pipe(pipe_fds) < 0)
		scenario_skip("pipe: %m");
	pid = fork();
	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid == 0) {
		setsid();
		pid = fork();
		if (pid == 0) {
			for (int i = 0; i < 1024; i++)
				if (i != fd)
					close(i);
			for (int i = 0; i < 6000; i++)
				usleep(100000); /* killed by cleanup() long before */
			_exit(0);
		}
		if (write(pipe_fds[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		_exit(0);
	}
	if (read(pipe_fds[0], &keeper, sizeof(keeper)) != sizeof(keeper))
		scenario_skip("start the holder: %m");
	waitpid(pid, NULL, 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}
#endif

int main(void)
{
	char buf[32];
	int root_fd, fd;

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(mnt, sizeof(mnt), "%s/m", base);
	if (mkdir(mnt, 0755) < 0)
		scenario_skip("mkdir: %m");
#if defined(REFUSED_ORPHAN_RAMFS)
	if (mount("minicr-refused", mnt, "ramfs", 0, NULL) < 0)
		scenario_skip("mount ramfs: %m");
	root_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = root_fd < 0 ? -1 : make_file(root_fd);
	if (umount2(mnt, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");
#elif defined(REFUSED_ANON_OUTSIDE) || defined(REFUSED_ANON_SHARED)
	if (mount("minicr-refused", mnt, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
#if defined(REFUSED_ANON_SHARED)
	if (mount(NULL, mnt, NULL, MS_SHARED, NULL) < 0)
		scenario_skip("make it shared: %m");
#endif
	root_fd = open_tree(AT_FDCWD, mnt, OPEN_TREE_CLONE);
	fd = root_fd < 0 ? -1 : make_file(root_fd);
#if defined(REFUSED_ANON_OUTSIDE)
	/* a directory fd of the tree's root leads dump to the tree: all it lacks is the mount fd */
	if (openat(root_fd, ".", O_RDONLY | O_DIRECTORY) < 0)
		scenario_skip("open the tree's root: %m");
	hold_outside(root_fd);
	close(root_fd);
#endif
#else
#error "no REFUSED_* variant"
#endif
	if (fd < 0)
		scenario_skip("set up: %m");

	scenario_ready();
	scenario_wait();

	scenario_check(pread(fd, buf, sizeof(buf), 0) == (ssize_t)strlen(DATA) &&
			   !memcmp(buf, DATA, strlen(DATA)),
		       "the file does not read what was written");
	cleanup();
	scenario_pass();
}
