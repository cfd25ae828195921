/* An orphaned tmpfs reached only through regular-file fds: no directory fd, so dump cannot walk
 * it and saves those files alone, at the paths the kernel shows for them, with placeholders
 * for their directories. Two fds on two names of one file (a hard link) and an fd on an
 * unlinked file. After restore: the same relative paths, contents, modes, offsets, one inode
 * behind both names, the unlinked file still unlinked, and the fds on one unattached mount of a
 * tmpfs with the same limits. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "scenario.h"

#define DATA "only a file fd reaches this\n"
#define GONE "unlinked while open\n"

static char base[] = "/tmp/minicr-scn-orphanf.XXXXXX";
static char mnt[64];

static void cleanup(void)
{
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	rmdir(base);
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

static void check_data(int fd, const char *want, mode_t mode)
{
	char buf[64];
	struct stat st;

	scenario_check(fstat(fd, &st) == 0 && (st.st_mode & 07777) == mode &&
			   st.st_size == (off_t)strlen(want),
		       "fd %d: mode %04o size %lld", fd, st.st_mode & 07777, (long long)st.st_size);
	scenario_check(pread(fd, buf, sizeof(buf), 0) == (ssize_t)strlen(want) &&
			   !memcmp(buf, want, strlen(want)),
		       "fd %d: contents differ", fd);
}

int main(void)
{
	struct statfs before, after;
	struct stat st1, st2, st3;
	int fd1, fd2, gone, mnt1, mnt2, mnt3;
	long long pos;
	char p[128];

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(mnt, sizeof(mnt), "%s/m", base);
	if (mkdir(mnt, 0755) < 0 || mount("minicr-orphanf", mnt, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
	snprintf(p, sizeof(p), "%s/a", mnt);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/a/b", mnt);
	mkdir(p, 0711);
	snprintf(p, sizeof(p), "%s/a/b/file", mnt);
	fd1 = open(p, O_RDWR | O_CREAT | O_EXCL, 0640);
	if (fd1 < 0 || write(fd1, DATA, strlen(DATA)) != (ssize_t)strlen(DATA) ||
	    fchmod(fd1, 0640) < 0)
		scenario_skip("create %s: %m", p);
	lseek(fd1, 5, SEEK_SET);
	{
		char hard[128];

		snprintf(hard, sizeof(hard), "%s/other", mnt);
		if (link(p, hard) < 0)
			scenario_skip("link: %m");
		fd2 = open(hard, O_RDONLY);
	}
	snprintf(p, sizeof(p), "%s/a/gone", mnt);
	gone = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd2 < 0 || gone < 0 || write(gone, GONE, strlen(GONE)) != (ssize_t)strlen(GONE) ||
	    unlink(p) < 0 || fstatfs(fd1, &before) < 0)
		scenario_skip("open: %m");
	if (umount2(mnt, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");

	scenario_ready();
	scenario_wait();

	scenario_fdinfo(fd1, &pos, NULL, &mnt1);
	scenario_fdinfo(fd2, NULL, NULL, &mnt2);
	scenario_fdinfo(gone, NULL, NULL, &mnt3);
	scenario_check(mnt1 == mnt2 && mnt2 == mnt3, "the fds are on mounts %d, %d, %d", mnt1, mnt2,
		       mnt3);
	scenario_check(!scenario_mount_is_listed(mnt1), "mount %d is in mountinfo", mnt1);
	check_path(fd1, "/a/b/file");
	check_path(fd2, "/other");
	{
		/* an unlinked file is made anew in its directory: its old name is gone */
		char proc[64], link[256];
		ssize_t n;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", gone);
		n = readlink(proc, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		scenario_check(!strncmp(link, "/a/", 3) && strstr(link, " (deleted)"),
			       "the unlinked file shows '%s', expected '/a/... (deleted)'", link);
	}
	scenario_check(pos == 5, "offset %lld, expected 5", pos);
	check_data(fd1, DATA, 0640);
	check_data(fd2, DATA, 0640);
	check_data(gone, GONE, 0600);
	scenario_check(fstat(fd1, &st1) == 0 && fstat(fd2, &st2) == 0 && st1.st_ino == st2.st_ino &&
			   st1.st_nlink == 2,
		       "the two names are not one file (nlink %lu)", (unsigned long)st1.st_nlink);
	scenario_check(fstat(gone, &st3) == 0 && st3.st_nlink == 0 && st3.st_dev == st1.st_dev,
		       "the unlinked file: nlink %lu", (unsigned long)st3.st_nlink);
	scenario_check(fstatfs(fd1, &after) == 0 && after.f_type == before.f_type &&
			   after.f_blocks == before.f_blocks && after.f_files == before.f_files &&
			   after.f_flags == before.f_flags,
		       "statfs: type %#lx blocks %lu files %lu flags %#lx",
		       (unsigned long)after.f_type, (unsigned long)after.f_blocks,
		       (unsigned long)after.f_files, (unsigned long)after.f_flags);
	/* one file: a write through one name shows through the other */
	scenario_check(pwrite(fd1, "O", 1, 0) == 1, "write: %m");
	scenario_check(pread(fd2, p, 1, 0) == 1 && p[0] == 'O', "the names do not share data");
	scenario_pass();
}
