/* A process whose working directory is on an orphaned tmpfs: it changed into a directory of a
 * tmpfs that was then lazily unmounted, and keeps no fd on it. Its cwd alone reaches the
 * filesystem. After restore the cwd must be a directory of the same relative path on an
 * unattached mount of a tmpfs with the same limits, with the files below and beside it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "scenario.h"

static char base[] = "/tmp/minicr-scn-orphancwd.XXXXXX";
static char mnt[64];

static void cleanup(void)
{
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	rmdir(base);
}

static void put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		scenario_skip("create %s: %m", path);
	close(fd);
}

static void check_file(const char *path, const char *want)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	scenario_check(fd >= 0, "open %s from the cwd: %m", path);
	n = read(fd, buf, sizeof(buf));
	scenario_check(n == (ssize_t)strlen(want) && !memcmp(buf, want, n), "%s: contents differ",
		       path);
	close(fd);
}

int main(void)
{
	struct statfs before, after;
	char link[256], p[128];
	struct stat st;
	ssize_t n;
	int mnt_id, fd;

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(mnt, sizeof(mnt), "%s/m", base);
	if (mkdir(mnt, 0755) < 0 ||
	    mount("minicr-orphancwd", mnt, "tmpfs", MS_NOEXEC, "size=2m") < 0)
		scenario_skip("mount tmpfs: %m");
	snprintf(p, sizeof(p), "%s/work", mnt);
	mkdir(p, 0750);
	snprintf(p, sizeof(p), "%s/work/here", mnt);
	put(p, "in the working directory\n");
	snprintf(p, sizeof(p), "%s/beside", mnt);
	put(p, "beside it\n");
	snprintf(p, sizeof(p), "%s/work", mnt);
	if (chdir(p) < 0 || statfs(".", &before) < 0)
		scenario_skip("chdir %s: %m", p);
	if (umount2(mnt, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");

	scenario_ready();
	scenario_wait();

	n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
	scenario_check(n > 0, "readlink cwd: %m");
	link[n] = '\0';
	scenario_check(!strcmp(link, "/work"), "the cwd shows '%s', expected '/work'", link);
	scenario_check(stat(".", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
		       "the cwd: mode %04o", st.st_mode & 07777);
	check_file("here", "in the working directory\n");
	check_file("../beside", "beside it\n");
	scenario_check(statfs(".", &after) == 0 && after.f_type == before.f_type &&
			   after.f_blocks == before.f_blocks && after.f_files == before.f_files &&
			   after.f_flags == before.f_flags,
		       "statfs: type %#lx blocks %lu files %lu flags %#lx",
		       (unsigned long)after.f_type, (unsigned long)after.f_blocks,
		       (unsigned long)after.f_files, (unsigned long)after.f_flags);
	fd = open(".", O_PATH | O_CLOEXEC);
	scenario_check(fd >= 0 && scenario_fdinfo(fd, NULL, NULL, &mnt_id) == 1,
		       "the mount of the cwd: %m");
	scenario_check(!scenario_mount_is_listed(mnt_id), "mount %d is in mountinfo", mnt_id);
	scenario_pass();
}
