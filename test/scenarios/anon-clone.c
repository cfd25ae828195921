/* An anonymous mount: open_tree(OPEN_TREE_CLONE) of a directory of a tmpfs, given its own flags
 * (nosuid, noexec), and a file opened through it; the process keeps the mount fd and never
 * attaches it. After restore the mount fd must again be an unattached mount of that directory,
 * absent from mountinfo, with the file on it (same mount, path, offset); and move_mount() of
 * the mount fd must attach it exactly as it would have before the dump: the mount appears in
 * mountinfo at the target with its flags, the open file is on it, and it shows the same files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "scenario.h"

#define DATA "opened through an anonymous mount\n"

static char base[] = "/tmp/minicr-scn-anon.XXXXXX";
static char src[64], target[64];

static void cleanup(void)
{
	umount2(target, MNT_DETACH);
	umount2(src, MNT_DETACH);
	rmdir(target);
	rmdir(src);
	rmdir(base);
}

int main(void)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
	char path[128], buf[64];
	struct statvfs sv;
	struct stat st, via;
	int tree_fd, file_fd, mnt_tree, mnt_file;
	long long pos;

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(target, sizeof(target), "%s/target", base);
	if (mkdir(src, 0755) < 0 || mkdir(target, 0755) < 0 ||
	    mount("minicr-anon", src, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
	snprintf(path, sizeof(path), "%s/dir", src);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/dir/file", src);
	file_fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (file_fd < 0 || write(file_fd, DATA, strlen(DATA)) != (ssize_t)strlen(DATA))
		scenario_skip("create %s: %m", path);
	close(file_fd);
	snprintf(path, sizeof(path), "%s/dir", src);
	tree_fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE);
	if (tree_fd < 0)
		scenario_skip("open_tree(OPEN_TREE_CLONE): %m");
	if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		scenario_skip("mount_setattr: %m");
	file_fd = openat(tree_fd, "file", O_RDWR);
	if (file_fd < 0 || lseek(file_fd, 4, SEEK_SET) != 4)
		scenario_skip("open through the clone: %m");

	scenario_ready();
	scenario_wait();

	mnt_tree = scenario_mnt_id(tree_fd);
	mnt_file = scenario_mnt_id(file_fd);
	scenario_fdinfo(file_fd, &pos, NULL, NULL);
	scenario_check(mnt_tree == mnt_file, "the file is on mount %d, the tree is %d", mnt_file,
		       mnt_tree);
	scenario_check(!scenario_mount_is_listed(mnt_tree), "the tree %d is in mountinfo",
		       mnt_tree);
	scenario_check(!strcmp(scenario_fd_path(file_fd, buf, sizeof(buf)), "/file"),
		       "the file shows '%s', expected '/file'", buf);
	scenario_check(pos == 4, "file offset %lld, expected 4", pos);
	scenario_check(fstatvfs(tree_fd, &sv) == 0 && (sv.f_flag & ST_NOSUID) &&
			   (sv.f_flag & ST_NOEXEC) && !(sv.f_flag & ST_RDONLY),
		       "the tree's flags %#lx, expected nosuid,noexec", sv.f_flag);

	/* what the process would have done next, had it not been dumped */
	scenario_check(move_mount(tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0,
		       "move_mount of the restored mount fd: %m");
	scenario_check(scenario_mount_is_listed(mnt_tree), "the attached tree is not in mountinfo");
	scenario_check(scenario_mnt_id(file_fd) == mnt_tree, "the file left its mount");
	snprintf(path, sizeof(path), "%s/file", target);
	scenario_check(stat(path, &via) == 0 && fstat(file_fd, &st) == 0 &&
			   via.st_ino == st.st_ino && via.st_dev == st.st_dev,
		       "%s is not the open file", path);
	scenario_check(pwrite(file_fd, "O", 1, 0) == 1, "write: %m");
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		scenario_check(fd >= 0 && read(fd, buf, 1) == 1 && buf[0] == 'O',
			       "a write through the file is not seen at %s", path);
		close(fd);
	}
	scenario_check(statvfs(target, &sv) == 0 && (sv.f_flag & ST_NOSUID) &&
			   (sv.f_flag & ST_NOEXEC),
		       "the attached tree's flags %#lx", sv.f_flag);
	cleanup();
	scenario_pass();
}
