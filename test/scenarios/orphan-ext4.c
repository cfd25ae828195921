/* An orphaned disk filesystem: ext4 on a loop device, mounted, a subdirectory bound elsewhere,
 * the first mount gone, then the bind lazily unmounted: the fds (a directory, a file, the
 * mount's root) are all that reaches the filesystem, through a mount whose root is /sub. The
 * block device stays, so restore mounts it again rather than copying files: the fds must come
 * back on an unattached, unlisted, not attachable mount of the device's filesystem, with the
 * root /sub (nothing above it visible), the same paths, offsets, contents and flags. Skips
 * where there are no loop devices, no mke2fs or no ext4. */
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define EXT4_MAGIC 0xef53
#define FILE_DATA  "on an ext4 no mount shows\n"

static char base[] = "/tmp/minicr-scn-ext4.XXXXXX";
static char image[96], disk[64], bind_dir[64], attach_dir[64], loop_dev[32];

static void cleanup(void)
{
	int fd;

	umount2(attach_dir, MNT_DETACH);
	umount2(bind_dir, MNT_DETACH);
	umount2(disk, MNT_DETACH);
	rmdir(attach_dir);
	rmdir(bind_dir);
	rmdir(disk);
	rmdir(base);
	unlink(image);
	/* the device goes once its filesystem is released: at once, or when the last fd on the
	 * detached mount closes (LOOP_CLR_FD on a busy device sets autoclear) */
	fd = loop_dev[0] ? open(loop_dev, O_RDWR | O_CLOEXEC) : -1;
	if (fd >= 0) {
		ioctl(fd, LOOP_CLR_FD, 0);
		close(fd);
	}
	loop_dev[0] = '\0';
}

static void make_ext4(const char *path)
{
	static const char *const mke2fs[] = {"mke2fs", "/sbin/mke2fs", "/usr/sbin/mke2fs"};
	int status = -1;
	pid_t pid = fork();

	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		for (size_t i = 0; i < sizeof(mke2fs) / sizeof(mke2fs[0]); i++)
			execvp(mke2fs[i], (char *const[]){(char *)mke2fs[i], "-q", "-F", "-t",
							  "ext4", (char *)path, NULL});
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		scenario_skip("mke2fs -t ext4 failed (status %d): e2fsprogs missing?", status);
}

/* Keeps the loop device configured while nothing else holds it — between the dump, which kills
 * this process and with it the only mount of the filesystem, and the restore — and lets it go
 * once the scenario has a verdict, or the harness removed the directory it would be in (or after
 * ten minutes): the device is set to clear itself
 * when its last user closes it, so no device outlives the scenario, however it ends. The keeper
 * is no descendant of the dumped process and in a session of its own. */
static bool has_verdict(const char *result, const char *dir)
{
	return !result || access(result, F_OK) == 0 || access(dir, F_OK) < 0;
}

static void start_keeper(int dev_fd)
{
	const char *result = getenv("SCENARIO_RESULT");
	struct loop_info64 info;
	char dir[PATH_MAX];
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s", result ? result : "/");
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	if (ioctl(dev_fd, LOOP_GET_STATUS64, &info) < 0)
		scenario_skip("LOOP_GET_STATUS64: %m");
	info.lo_flags |= LO_FLAGS_AUTOCLEAR;
	if (ioctl(dev_fd, LOOP_SET_STATUS64, &info) < 0)
		scenario_skip("LOOP_SET_STATUS64: %m");
	pid = fork();
	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		for (int fd = 0; fd < 1024; fd++)
			if (fd != dev_fd)
				close(fd);
		for (int i = 0; i < 6000 && !has_verdict(result, dir); i++)
			usleep(100000);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* Attaches image to a free loop device; the device name goes to loop_dev. */
static void attach_loop(void)
{
	int ctl, n, dev_fd, img_fd;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		scenario_skip("no loop devices here (/dev/loop-control: %m)");
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		scenario_skip("no free loop device: %m");
	snprintf(loop_dev, sizeof(loop_dev), "/dev/loop%d", n);
	dev_fd = open(loop_dev, O_RDWR | O_CLOEXEC);
	img_fd = open(image, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0 || img_fd < 0 || ioctl(dev_fd, LOOP_SET_FD, img_fd) < 0) {
		loop_dev[0] = '\0';
		scenario_skip("attach %s to a loop device: %m", image);
	}
	close(img_fd);
	start_keeper(dev_fd);
	close(dev_fd);
	unlink(image); /* the loop device holds it */
}

static void put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data) || fsync(fd) < 0)
		scenario_skip("create %s: %m", path);
	close(fd);
}

static void check_path(int fd, const char *want)
{
	char proc[64], link[256];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, link, sizeof(link) - 1);
	scenario_check(n > 0, "readlink %s: %m", proc);
	link[n] = '\0';
	scenario_check(!strcmp(link, want), "fd %d shows '%s', expected '%s'", fd, link, want);
}

int main(void)
{
	struct statfs before, after;
	struct stat st, dev_st;
	int dir_fd, file_fd, root_fd, mnt_dir, mnt_file, mnt_root, fd;
	long long pos;
	char p[128], buf[64];

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	snprintf(image, sizeof(image), "%s.img", base);
	snprintf(disk, sizeof(disk), "%s/disk", base);
	snprintf(bind_dir, sizeof(bind_dir), "%s/bind", base);
	snprintf(attach_dir, sizeof(attach_dir), "%s/attach", base);
	atexit(cleanup);
	fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 16 << 20) < 0)
		scenario_skip("create %s: %m", image);
	close(fd);
	make_ext4(image);
	attach_loop();
	if (mkdir(disk, 0755) < 0 || mkdir(bind_dir, 0755) < 0 || mkdir(attach_dir, 0755) < 0)
		scenario_skip("mkdir: %m");
	if (mount(loop_dev, disk, "ext4", MS_NOSUID, NULL) < 0)
		scenario_skip("mount ext4 from %s: %m", loop_dev);
	snprintf(p, sizeof(p), "%s/top", disk);
	put(p, "above the detached mount's root\n");
	snprintf(p, sizeof(p), "%s/sub", disk);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/dir", disk);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sub/file", disk);
	put(p, FILE_DATA);
	snprintf(p, sizeof(p), "%s/sub", disk);
	if (mount(p, bind_dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, bind_dir, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL) < 0 ||
	    umount(disk) < 0)
		scenario_skip("bind %s: %m", p);
	snprintf(p, sizeof(p), "%s/dir", bind_dir);
	dir_fd = open(p, O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof(p), "%s/file", bind_dir);
	file_fd = open(p, O_RDWR);
	root_fd = open(bind_dir, O_PATH);
	if (dir_fd < 0 || file_fd < 0 || root_fd < 0 || lseek(file_fd, 3, SEEK_SET) != 3 ||
	    fstatfs(file_fd, &before) < 0)
		scenario_skip("open through the bind: %m");
	if (umount2(bind_dir, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");

	scenario_ready();
	scenario_wait();

	scenario_fdinfo(dir_fd, NULL, NULL, &mnt_dir);
	scenario_fdinfo(file_fd, &pos, NULL, &mnt_file);
	scenario_fdinfo(root_fd, NULL, NULL, &mnt_root);
	scenario_check(mnt_dir == mnt_file && mnt_file == mnt_root,
		       "the fds are on mounts %d %d %d", mnt_dir, mnt_file, mnt_root);
	scenario_check(!scenario_mount_is_listed(mnt_dir), "mount %d is in mountinfo", mnt_dir);
	check_path(dir_fd, "/dir");
	check_path(file_fd, "/file");
	check_path(root_fd, "/");
	scenario_check(pos == 3, "file offset %lld, expected 3", pos);
	scenario_check(pread(file_fd, buf, sizeof(buf), 0) == (ssize_t)strlen(FILE_DATA) &&
			   !memcmp(buf, FILE_DATA, strlen(FILE_DATA)),
		       "file contents differ");
	scenario_check(
	    stat(loop_dev, &dev_st) == 0 && fstat(file_fd, &st) == 0 && st.st_dev == dev_st.st_rdev,
	    "the file is on device %u:%u, not on %s", major(st.st_dev), minor(st.st_dev), loop_dev);
	scenario_check(fstatfs(root_fd, &after) == 0 && after.f_type == EXT4_MAGIC &&
			   after.f_flags == before.f_flags && after.f_blocks == before.f_blocks,
		       "statfs: type %#lx flags %#lx, expected ext4 and %#lx",
		       (unsigned long)after.f_type, (unsigned long)after.f_flags,
		       (unsigned long)before.f_flags);
	scenario_check(fstatat(root_fd, "dir", &st, 0) == 0 && (st.st_mode & 07777) == 0700,
		       "dir below the root: %m");
	/* the mount's root is /sub: what lies above it cannot be seen */
	scenario_check(fstatat(root_fd, "top", &st, 0) < 0 &&
			   fstatat(root_fd, "../top", &st, 0) < 0,
		       "the mount's root is not /sub: 'top' is visible");
	scenario_check(move_mount(root_fd, "", AT_FDCWD, attach_dir, MOVE_MOUNT_F_EMPTY_PATH) < 0,
		       "the detached mount could be attached with move_mount()");
	close(dir_fd);
	close(file_fd);
	close(root_fd);
	cleanup(); /* before the verdict, which a harness may answer with SIGKILL */
	scenario_pass();
}
