/* One orphaned tmpfs behind two lazily unmounted mounts: the whole filesystem (a directory fd on
 * its root) and a read-only bind of its subdirectory sub (a directory and a file below it).
 * Restore must make one new tmpfs for both, so the two mounts still show the same files (one
 * inode behind sub/x/f and the bind's x/f), each mount with its own root and flags. Before
 * Linux 7.0 nothing tells where the bind's root is: dump finds it by an inode the other mount's
 * walk saw. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "scenario.h"

static char base[] = "/tmp/minicr-scn-orphan2.XXXXXX";
static char whole[64], bind_dir[64];

static void cleanup(void)
{
	umount2(bind_dir, MNT_DETACH);
	umount2(whole, MNT_DETACH);
	rmdir(bind_dir);
	rmdir(whole);
	rmdir(base);
}

int main(void)
{
	int root_fd, x_fd, file_fd, fd;
	struct stat via_root, via_bind;
	struct statvfs sv;
	char p[128], buf[64];

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(whole, sizeof(whole), "%s/whole", base);
	snprintf(bind_dir, sizeof(bind_dir), "%s/bind", base);
	if (mkdir(whole, 0755) < 0 || mkdir(bind_dir, 0755) < 0 ||
	    mount("minicr-orphan2", whole, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
	snprintf(p, sizeof(p), "%s/sub", whole);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/x", whole);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/x/f", whole);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "shared\n", 7) != 7)
		scenario_skip("create %s: %m", p);
	close(fd);
	snprintf(p, sizeof(p), "%s/sub", whole);
	if (mount(p, bind_dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, bind_dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		scenario_skip("bind: %m");
	root_fd = open(whole, O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof(p), "%s/x", bind_dir);
	x_fd = open(p, O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof(p), "%s/x/f", bind_dir);
	file_fd = open(p, O_RDONLY);
	if (root_fd < 0 || x_fd < 0 || file_fd < 0)
		scenario_skip("open: %m");
	if (umount2(bind_dir, MNT_DETACH) < 0 || umount2(whole, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");

	scenario_ready();
	scenario_wait();

	scenario_check(scenario_mnt_id(root_fd) != scenario_mnt_id(x_fd) &&
			   scenario_mnt_id(x_fd) == scenario_mnt_id(file_fd),
		       "mounts: root fd %d, x %d, x/f %d", scenario_mnt_id(root_fd),
		       scenario_mnt_id(x_fd), scenario_mnt_id(file_fd));
	scenario_check(!scenario_mount_is_listed(scenario_mnt_id(root_fd)) &&
			   !scenario_mount_is_listed(scenario_mnt_id(x_fd)),
		       "a mount is in mountinfo");
	scenario_check(!strcmp(scenario_fd_path(root_fd, buf, sizeof(buf)), "/"),
		       "the root fd shows '%s'", buf);
	scenario_check(!strcmp(scenario_fd_path(x_fd, buf, sizeof(buf)), "/x"),
		       "the bind's directory shows '%s', expected '/x'", buf);
	scenario_check(fstatat(root_fd, "sub/x/f", &via_root, 0) == 0 &&
			   fstat(file_fd, &via_bind) == 0 && via_root.st_ino == via_bind.st_ino &&
			   via_root.st_dev == via_bind.st_dev,
		       "the two mounts do not show one filesystem");
	scenario_check(fstatvfs(x_fd, &sv) == 0 && (sv.f_flag & ST_RDONLY),
		       "the bind is not read-only");
	scenario_check(fstatvfs(root_fd, &sv) == 0 && !(sv.f_flag & ST_RDONLY),
		       "the whole is read-only");
	fd = openat(root_fd, "sub/x/f", O_WRONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && pwrite(fd, "S", 1, 0) == 1, "write through the whole: %m");
	close(fd);
	scenario_check(pread(file_fd, buf, 1, 0) == 1 && buf[0] == 'S', "the bind does not see it");
	scenario_pass();
}
