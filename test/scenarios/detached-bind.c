/* fds on a lazily unmounted bind mount. MODE tmpfs: a tmpfs subdirectory; MODE disk: a
 * directory on the disk filesystem. The bind is remounted ro,nosuid before the detach, so the
 * detached mount has its own flags. After restore the fds must again share one detached mount,
 * absent from mountinfo and not attachable with move_mount() (a lazily unmounted mount is in no
 * namespace), with the same flags, relative paths, offsets and contents. */
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

#ifndef SCENARIO_ON_DISK
#define SCENARIO_ON_DISK 0
#define SCENARIO_BASE    "/tmp/minicr-scn-detached.XXXXXX"
#else
#define SCENARIO_BASE "/var/tmp/minicr-scn-detached.XXXXXX"
#endif

static void readlink_fd(int fd, char *buf, size_t len)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

static char base[] = SCENARIO_BASE;

/* Removes what the scenario made under base, however it ends (the tmpfs mount goes with the
 * scenario's private mount namespace). */
static void remove_base(void)
{
	static const char *const files[] = {"a/sub/file"};
	static const char *const dirs[] = {"a/sub/dir", "a/sub", "a", "b", "c", ""};
	char p[192];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", base, files[i]);
		unlink(p);
	}
	if (!SCENARIO_ON_DISK) {
		snprintf(p, sizeof(p), "%s/a", base);
		umount2(p, MNT_DETACH);
	}
	snprintf(p, sizeof(p), "%s/c", base);
	umount2(p, MNT_DETACH);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", base, dirs[i]);
		rmdir(p);
	}
}

int main(void)
{
	char a[128], b[128], c[128], p[192], link[256];
	int file_fd, dir_fd, root_fd, mnt_file, mnt_dir, mnt_root;
	struct statfs sfs;
	long long pos;
	char buf[8];

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(remove_base);
	snprintf(a, sizeof(a), "%s/a", base);
	snprintf(b, sizeof(b), "%s/b", base);
	snprintf(c, sizeof(c), "%s/c", base);
	mkdir(a, 0755);
	mkdir(b, 0755);
	mkdir(c, 0755);
	if (!SCENARIO_ON_DISK && mount("scenario", a, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
	snprintf(p, sizeof(p), "%s/sub", a);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/dir", a);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/file", a);
	file_fd = open(p, O_RDWR | O_CREAT, 0644);
	if (file_fd < 0 || write(file_fd, "detached", 8) != 8)
		scenario_skip("create %s: %m", p);
	close(file_fd);
	snprintf(p, sizeof(p), "%s/sub", a);
	if (mount(p, b, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, b, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
		scenario_skip("bind + remount: %m");

	snprintf(p, sizeof(p), "%s/file", b);
	file_fd = open(p, O_RDONLY);
	snprintf(p, sizeof(p), "%s/dir", b);
	dir_fd = open(p, O_RDONLY | O_DIRECTORY);
	root_fd = open(b, O_PATH);
	if (file_fd < 0 || dir_fd < 0 || root_fd < 0)
		scenario_skip("open through the bind: %m");
	lseek(file_fd, 3, SEEK_SET);
	if (umount2(b, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");
	scenario_fdinfo(file_fd, NULL, NULL, &mnt_file);

	scenario_ready();
	scenario_wait();

	scenario_fdinfo(file_fd, &pos, NULL, &mnt_file);
	scenario_fdinfo(dir_fd, NULL, NULL, &mnt_dir);
	scenario_fdinfo(root_fd, NULL, NULL, &mnt_root);
	scenario_check(mnt_file == mnt_dir && mnt_dir == mnt_root,
		       "fds no longer share one mount (%d %d %d)", mnt_file, mnt_dir, mnt_root);
	scenario_check(!scenario_mount_is_listed(mnt_file), "mount %d is listed in mountinfo",
		       mnt_file);
	readlink_fd(file_fd, link, sizeof(link));
	scenario_check(strcmp(link, "/file") == 0, "file fd path '%s', expected '/file'", link);
	readlink_fd(dir_fd, link, sizeof(link));
	scenario_check(strcmp(link, "/dir") == 0, "dir fd path '%s', expected '/dir'", link);
	readlink_fd(root_fd, link, sizeof(link));
	scenario_check(strcmp(link, "/") == 0, "root fd path '%s', expected '/'", link);
	scenario_check(fstatfs(file_fd, &sfs) == 0, "fstatfs: %m");
	scenario_check((sfs.f_flags & (ST_RDONLY | ST_NOSUID)) == (ST_RDONLY | ST_NOSUID),
		       "detached mount flags %#lx lack ro,nosuid", (unsigned long)sfs.f_flags);
	scenario_check(pos == 3, "file offset %lld, expected 3", pos);
	scenario_check(read(file_fd, buf, 5) == 5 && memcmp(buf, "ached", 5) == 0,
		       "file contents after restore");
	scenario_check(move_mount(root_fd, "", AT_FDCWD, c, MOVE_MOUNT_F_EMPTY_PATH) < 0,
		       "the detached mount could be attached with move_mount()");
	/* before the verdict, which a harness may answer with SIGKILL */
	remove_base();
	scenario_pass();
}
