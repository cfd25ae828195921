/* An orphaned tmpfs: mounted, filled, opened (a directory fd and a file fd), then lazily
 * unmounted, so no mount anywhere shows the filesystem any more; only the fds reach it. After
 * restore the fds must sit on an unattached mount, absent from mountinfo and not attachable,
 * of a tmpfs with the same limits and flags (statfs), whose files came back with their
 * contents, sizes, modes, owners, times, extended attributes, a hard link, a symlink and the
 * holes of a sparse file; a file beside the directory (reached with "..") too, since dump walks
 * from the mount's root. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "scenario.h"

#define OPTS	    "size=4m,nr_inodes=200,mode=750"
#define SPARSE_AT   (1 << 20)
#define SPARSE_SIZE (2 << 20)
#define FILE_TAIL   " file on an orphaned tmpfs\n"
#define FILE_DATA   "a" FILE_TAIL
#define MTIME	    1234567890

static char base[] = "/tmp/minicr-scn-orphan.XXXXXX";
static char mnt[64], attach_dir[64];

static void cleanup(void)
{
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	rmdir(attach_dir);
	rmdir(base);
}

static void put(int dir_fd, const char *name, mode_t mode, const char *data)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || (data && write(fd, data, strlen(data)) != (ssize_t)strlen(data)) ||
	    fchmod(fd, mode) < 0)
		scenario_skip("create %s: %m", name);
	close(fd);
}

static void build(int root_fd)
{
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = MTIME}};
	int fd;

	if (mkdirat(root_fd, "d", 0710) < 0 || mkdirat(root_fd, "d/sub", 0700) < 0)
		scenario_skip("mkdir: %m");
	put(root_fd, "top", 0604, "beside the directory\n");
	put(root_fd, "d/file", 0640, FILE_DATA);
	put(root_fd, "d/sub/deep", 0600, "deep\n");
	if (linkat(root_fd, "d/file", root_fd, "d/hard", 0) < 0 ||
	    symlinkat("sub/deep", root_fd, "d/link") < 0 ||
	    fchownat(root_fd, "d/sub/deep", 4321, 8765, 0) < 0 ||
	    utimensat(root_fd, "d/sub/deep", times, 0) < 0)
		scenario_skip("link, symlink, chown, utimensat: %m");
	fd = openat(root_fd, "d/sparse", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, SPARSE_SIZE) < 0 || pwrite(fd, "x", 1, SPARSE_AT) != 1 ||
	    fsetxattr(fd, "user.minicr", "sparse", 6, 0) < 0)
		scenario_skip("sparse file: %m");
	close(fd);
}

static void check_file(int dir_fd, const char *name, mode_t mode, const char *data)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && fstat(fd, &st) == 0, "open %s: %m", name);
	scenario_check((st.st_mode & 07777) == mode, "%s: mode %04o, expected %04o", name,
		       st.st_mode & 07777, mode);
	n = read(fd, buf, sizeof(buf));
	scenario_check(n == (ssize_t)strlen(data) && st.st_size == n && !memcmp(buf, data, n),
		       "%s: %zd bytes, size %lld, contents differ", name, n, (long long)st.st_size);
	close(fd);
}

static void check_tree(int dir_fd)
{
	struct stat st, hard, root;
	char buf[64];
	ssize_t n;
	int fd;

	check_file(dir_fd, "file", 0640, FILE_DATA);
	check_file(dir_fd, "sub/deep", 0600, "deep\n");
	check_file(dir_fd, "../top", 0604, "beside the directory\n");
	scenario_check(fstatat(dir_fd, "file", &st, 0) == 0 &&
			   fstatat(dir_fd, "hard", &hard, 0) == 0 && st.st_ino == hard.st_ino &&
			   st.st_nlink == 2,
		       "d/hard is no longer a hard link of d/file");
	n = readlinkat(dir_fd, "link", buf, sizeof(buf) - 1);
	scenario_check(n == 8 && !memcmp(buf, "sub/deep", 8), "d/link: symlink target lost");
	scenario_check(fstatat(dir_fd, "sub/deep", &st, 0) == 0 && st.st_uid == 4321 &&
			   st.st_gid == 8765 && st.st_mtim.tv_sec == MTIME,
		       "d/sub/deep: owner %u:%u mtime %lld", st.st_uid, st.st_gid,
		       (long long)st.st_mtim.tv_sec);
	scenario_check(fstat(dir_fd, &st) == 0 && (st.st_mode & 07777) == 0710,
		       "d: mode %04o, expected 0710", st.st_mode & 07777);
	scenario_check(fstatat(dir_fd, "..", &root, 0) == 0 && (root.st_mode & 07777) == 0750,
		       "the root: mode %04o, expected 0750 (mode=750)", root.st_mode & 07777);
	fd = openat(dir_fd, "sparse", O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == SPARSE_SIZE,
		       "d/sparse: size %lld", (long long)st.st_size);
	scenario_check(st.st_blocks * 512 <= 16384, "d/sparse: %lld bytes allocated: holes lost",
		       (long long)st.st_blocks * 512);
	scenario_check(pread(fd, buf, 1, SPARSE_AT) == 1 && buf[0] == 'x', "d/sparse: data lost");
	scenario_check(fgetxattr(fd, "user.minicr", buf, sizeof(buf)) == 6 &&
			   !memcmp(buf, "sparse", 6),
		       "d/sparse: user.minicr lost");
	close(fd);
}

static void check_statfs(int fd, const struct statfs *want, const char *what)
{
	struct statfs sfs;

	scenario_check(fstatfs(fd, &sfs) == 0, "fstatfs %s: %m", what);
	scenario_check(
	    sfs.f_type == want->f_type && sfs.f_bsize == want->f_bsize &&
		sfs.f_blocks == want->f_blocks && sfs.f_files == want->f_files &&
		sfs.f_namelen == want->f_namelen && sfs.f_flags == want->f_flags,
	    "%s: statfs type %#lx blocks %lu files %lu flags %#lx, expected %#lx %lu %lu "
	    "%#lx",
	    what, (unsigned long)sfs.f_type, (unsigned long)sfs.f_blocks,
	    (unsigned long)sfs.f_files, (unsigned long)sfs.f_flags, (unsigned long)want->f_type,
	    (unsigned long)want->f_blocks, (unsigned long)want->f_files,
	    (unsigned long)want->f_flags);
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

/* A lazily unmounted mount cannot be attached again; a restored one must not be either. */
static void check_not_attachable(int dir_fd)
{
	int root = openat(dir_fd, "..", O_PATH | O_CLOEXEC);

	scenario_check(root >= 0, "open the mount's root: %m");
	if (move_mount(root, "", AT_FDCWD, attach_dir, MOVE_MOUNT_F_EMPTY_PATH) == 0) {
		umount2(attach_dir, MNT_DETACH);
		scenario_fail("the detached mount could be attached with move_mount()");
	}
	close(root);
}

int main(void)
{
	struct statfs before;
	int root_fd, dir_fd, file_fd, mnt_dir, mnt_file;
	long long pos;

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(mnt, sizeof(mnt), "%s/m", base);
	snprintf(attach_dir, sizeof(attach_dir), "%s/attach", base);
	if (mkdir(mnt, 0755) < 0 || mkdir(attach_dir, 0755) < 0)
		scenario_skip("mkdir: %m");
	if (mount("minicr-orphan", mnt, "tmpfs", MS_NOSUID | MS_NODEV, OPTS) < 0)
		scenario_skip("mount tmpfs: %m");
	root_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		scenario_skip("open %s: %m", mnt);
	build(root_fd);
	dir_fd = openat(root_fd, "d", O_RDONLY | O_DIRECTORY);
	file_fd = openat(root_fd, "d/file", O_RDWR);
	if (dir_fd < 0 || file_fd < 0 || lseek(file_fd, 7, SEEK_SET) != 7 ||
	    fstatfs(file_fd, &before) < 0)
		scenario_skip("open: %m");
	close(root_fd);
	if (umount2(mnt, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");
	rmdir(mnt);

	scenario_ready();
	scenario_wait();

	scenario_fdinfo(dir_fd, NULL, NULL, &mnt_dir);
	scenario_fdinfo(file_fd, &pos, NULL, &mnt_file);
	scenario_check(mnt_dir == mnt_file, "the fds are on mounts %d and %d", mnt_dir, mnt_file);
	scenario_check(!scenario_mount_is_listed(mnt_dir), "mount %d is in mountinfo", mnt_dir);
	check_path(dir_fd, "/d");
	check_path(file_fd, "/d/file");
	scenario_check(pos == 7, "file offset %lld, expected 7", pos);
	check_statfs(dir_fd, &before, "the directory fd");
	check_statfs(file_fd, &before, "the file fd");
	check_tree(dir_fd);
	check_not_attachable(dir_fd);
	/* the file fd is d/file: writing through it shows through the directory fd */
	scenario_check(pwrite(file_fd, "A", 1, 0) == 1, "write: %m");
	check_file(dir_fd, "hard", 0640, "A" FILE_TAIL);
	scenario_pass();
}
