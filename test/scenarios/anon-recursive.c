/* An anonymous tree with children: open_tree(OPEN_TREE_CLONE | AT_RECURSIVE) of a tmpfs that has
 * two mounts below it — another tmpfs on a/ (then unmounted at its source, so the clone is the
 * only mount of that filesystem: its files must be saved) and a read-only bind on b/. The
 * process keeps the mount fd, a file opened through a/ and a directory opened through b/. After
 * restore the tree must be back whole and unattached: each fd on its own mount of it, with the
 * same paths; and move_mount() of the mount fd must attach all three mounts at once, at the same
 * relative places, b/ still read-only, the open file on a/. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "scenario.h"

#define INNER "on the child tmpfs\n"

static char base[] = "/tmp/minicr-scn-anonrec.XXXXXX";
static char src[64], target[64];

static void cleanup(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/a", target);
	umount2(p, MNT_DETACH);
	snprintf(p, sizeof(p), "%s/b", target);
	umount2(p, MNT_DETACH);
	umount2(target, MNT_DETACH);
	snprintf(p, sizeof(p), "%s/b", src);
	umount2(p, MNT_DETACH);
	umount2(src, MNT_DETACH);
	rmdir(target);
	rmdir(src);
	rmdir(base);
}

static void at(char *buf, size_t size, const char *dir, const char *rel)
{
	snprintf(buf, size, "%s/%s", dir, rel);
}

int main(void)
{
	char p[128], buf[128];
	struct statfs sfs_before, sfs;
	struct statvfs sv;
	struct stat st, via;
	int tree_fd, file_fd, dir_fd, mnt_tree, mnt_file, mnt_dir, fd;

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	at(src, sizeof(src), base, "src");
	at(target, sizeof(target), base, "target");
	if (mkdir(src, 0755) < 0 || mkdir(target, 0755) < 0 ||
	    mount("minicr-anonrec", src, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
	at(p, sizeof(p), src, "a");
	mkdir(p, 0755);
	at(p, sizeof(p), src, "b");
	mkdir(p, 0755);
	at(p, sizeof(p), src, "c");
	mkdir(p, 0755);
	at(p, sizeof(p), src, "c/seen-in-b");
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	close(fd);
	at(p, sizeof(p), src, "a");
	if (fd < 0 || mount("minicr-anonrec-a", p, "tmpfs", MS_NODEV, "size=2m,nr_inodes=64") < 0)
		scenario_skip("mount the child tmpfs: %m");
	at(p, sizeof(p), src, "a/inner");
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, INNER, strlen(INNER)) != (ssize_t)strlen(INNER) ||
	    fstatfs(fd, &sfs_before) < 0)
		scenario_skip("create %s: %m", p);
	close(fd);
	at(p, sizeof(p), src, "c");
	at(buf, sizeof(buf), src, "b");
	if (mount(p, buf, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, buf, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		scenario_skip("bind c on b: %m");

	tree_fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | AT_RECURSIVE);
	if (tree_fd < 0)
		scenario_skip("open_tree(OPEN_TREE_CLONE | AT_RECURSIVE): %m");
	/* the child tmpfs lives on in the clone only */
	at(p, sizeof(p), src, "a");
	if (umount(p) < 0)
		scenario_skip("umount %s: %m", p);
	file_fd = openat(tree_fd, "a/inner", O_RDONLY);
	dir_fd = openat(tree_fd, "b", O_RDONLY | O_DIRECTORY);
	if (file_fd < 0 || dir_fd < 0)
		scenario_skip("open through the clone: %m");

	scenario_ready();
	scenario_wait();

	mnt_tree = scenario_mnt_id(tree_fd);
	mnt_file = scenario_mnt_id(file_fd);
	mnt_dir = scenario_mnt_id(dir_fd);
	scenario_check(mnt_tree != mnt_file && mnt_tree != mnt_dir && mnt_file != mnt_dir,
		       "the fds share mounts: tree %d, a/inner %d, b %d", mnt_tree, mnt_file,
		       mnt_dir);
	scenario_check(!scenario_mount_is_listed(mnt_tree) && !scenario_mount_is_listed(mnt_file) &&
			   !scenario_mount_is_listed(mnt_dir),
		       "a mount of the tree is in mountinfo");
	scenario_check(!strcmp(scenario_fd_path(file_fd, buf, sizeof(buf)), "/a/inner"),
		       "the file shows '%s'", buf);
	scenario_check(!strcmp(scenario_fd_path(dir_fd, buf, sizeof(buf)), "/b"),
		       "the directory shows '%s'", buf);
	scenario_check(fstatfs(file_fd, &sfs) == 0 && sfs.f_blocks == sfs_before.f_blocks &&
			   sfs.f_files == sfs_before.f_files && sfs.f_flags == sfs_before.f_flags,
		       "the child tmpfs: blocks %lu files %lu flags %#lx",
		       (unsigned long)sfs.f_blocks, (unsigned long)sfs.f_files,
		       (unsigned long)sfs.f_flags);
	scenario_check(read(file_fd, buf, sizeof(buf)) == (ssize_t)strlen(INNER) &&
			   !memcmp(buf, INNER, strlen(INNER)),
		       "a/inner: contents differ");
	scenario_check(fstatat(dir_fd, "seen-in-b", &st, 0) == 0, "b does not show c: %m");
	scenario_check(fstatvfs(dir_fd, &sv) == 0 && (sv.f_flag & ST_RDONLY), "b is not read-only");

	scenario_check(move_mount(tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0,
		       "move_mount of the restored tree: %m");
	scenario_check(scenario_mount_is_listed(mnt_tree) && scenario_mount_is_listed(mnt_file) &&
			   scenario_mount_is_listed(mnt_dir),
		       "not every mount of the tree was attached");
	at(p, sizeof(p), target, "a/inner");
	scenario_check(stat(p, &via) == 0 && fstat(file_fd, &st) == 0 && via.st_ino == st.st_ino &&
			   via.st_dev == st.st_dev,
		       "%s is not the open file", p);
	at(p, sizeof(p), target, "b/seen-in-b");
	scenario_check(stat(p, &st) == 0, "%s: %m", p);
	at(p, sizeof(p), target, "b/new");
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	scenario_check(fd < 0, "b is writable once attached");
	cleanup();
	scenario_pass();
}
