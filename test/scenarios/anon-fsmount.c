/* A filesystem made with fsopen()/fsconfig()/fsmount() and never attached: a tmpfs with its own
 * source and options, mounted nowhere, its files created through the mount fd. Both parts at
 * once: the filesystem is orphaned (its files are saved) and the mount anonymous (attachable).
 * After restore the mount fd must be an unattached mount of a tmpfs with the same limits and
 * flags holding the same files, the open file on it; move_mount() must attach it, and
 * mountinfo must then show its source and options. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "scenario.h"

#define DATA "made through an fsmount() fd\n"

static char base[] = "/tmp/minicr-scn-fsmount.XXXXXX";
static char target[64];

static void cleanup(void)
{
	umount2(target, MNT_DETACH);
	rmdir(target);
	rmdir(base);
}

/* The mountinfo line of mount id: its source and superblock options. */
static bool find_line(int mnt_id, char *source, char *opts)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found = false;
	int id;

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *tail = strstr(line, " - ");

		found = sscanf(line, "%d ", &id) == 1 && id == mnt_id && tail &&
			sscanf(tail, " - %*s %255s %1023s", source, opts) == 2;
	}
	if (f)
		fclose(f);
	return found;
}

int main(void)
{
	struct statfs before, after;
	char source[256], opts[1024], buf[64], p[128];
	int fs_fd, mnt_fd, file_fd, mnt, fd;
	struct stat st, via;

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(target, sizeof(target), "%s/target", base);
	if (mkdir(target, 0755) < 0)
		scenario_skip("mkdir: %m");
	fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs_fd < 0 || fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", "minicr-fsmount", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_SET_STRING, "size", "3m", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", "0751", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		scenario_skip("fsopen/fsconfig tmpfs: %m");
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	close(fs_fd);
	if (mnt_fd < 0)
		scenario_skip("fsmount: %m");
	if (mkdirat(mnt_fd, "dir", 0700) < 0)
		scenario_skip("mkdirat: %m");
	file_fd = openat(mnt_fd, "dir/file", O_RDWR | O_CREAT | O_EXCL, 0620);
	if (file_fd < 0 || write(file_fd, DATA, strlen(DATA)) != (ssize_t)strlen(DATA) ||
	    fchmod(file_fd, 0620) < 0 || fstatfs(mnt_fd, &before) < 0)
		scenario_skip("create through the mount fd: %m");

	scenario_ready();
	scenario_wait();

	mnt = scenario_mnt_id(mnt_fd);
	scenario_check(scenario_mnt_id(file_fd) == mnt, "the file is not on the fsmount() mount");
	scenario_check(!scenario_mount_is_listed(mnt), "mount %d is in mountinfo", mnt);
	scenario_check(!strcmp(scenario_fd_path(file_fd, buf, sizeof(buf)), "/dir/file"),
		       "the file shows '%s'", buf);
	scenario_check(fstatfs(mnt_fd, &after) == 0 && after.f_type == before.f_type &&
			   after.f_blocks == before.f_blocks && after.f_files == before.f_files &&
			   after.f_flags == before.f_flags,
		       "statfs: blocks %lu files %lu flags %#lx, expected %lu %lu %#lx",
		       (unsigned long)after.f_blocks, (unsigned long)after.f_files,
		       (unsigned long)after.f_flags, (unsigned long)before.f_blocks,
		       (unsigned long)before.f_files, (unsigned long)before.f_flags);
	scenario_check(fstat(mnt_fd, &st) == 0 && (st.st_mode & 07777) == 0751,
		       "the root: mode %04o, expected 0751", st.st_mode & 07777);
	scenario_check(pread(file_fd, buf, sizeof(buf), 0) == (ssize_t)strlen(DATA) &&
			   !memcmp(buf, DATA, strlen(DATA)),
		       "dir/file: contents differ");

	scenario_check(move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0,
		       "move_mount of the restored fsmount() fd: %m");
	scenario_check(find_line(mnt, source, opts), "the attached mount %d is not in mountinfo",
		       mnt);
	scenario_check(!strcmp(source, "minicr-fsmount") && strstr(opts, "size=3072k") &&
			   strstr(opts, "mode=751"),
		       "mountinfo: source '%s' options '%s'", source, opts);
	snprintf(p, sizeof(p), "%s/dir/file", target);
	scenario_check(stat(p, &via) == 0 && fstat(file_fd, &st) == 0 && via.st_ino == st.st_ino &&
			   (via.st_mode & 07777) == 0620,
		       "%s is not the open file", p);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0, "open %s: %m", p);
	close(fd);
	cleanup();
	scenario_pass();
}
