/* mount/restore-contents.c: recreate a filesystem's files from file-data.img records, in two
 * passes: first every name with its data (parents first, as the records come), then, deepest
 * first, what creating names and writing data would disturb: owner (chown clears set-id bits
 * and file capabilities), mode, extended attributes, times. */
#define LOG_PREFIX "contents: "
#include "mount/restore-contents.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

/* The directory holding path's last component, opened beneath root_fd without following any
 * symlink; *ret_name points into path. Returns the fd or -errno (not logged). */
static int open_parent(int root_fd, const char *path, const char **ret_name)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd;

	if (!slash) {
		*ret_name = path;
		fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*ret_name = slash + 1;
	fd = (int)syscall(__NR_openat2, root_fd, dir, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static bool is_mine(const FileDataEntry *e, uint64_t owner)
{
	return e->kind == FILE_DATA_KIND__FILE_DATA_KIND_TMPFS && e->owner_id == owner && e->path &&
	       *e->path;
}

static bool is_root(const FileDataEntry *e)
{
	return !strcmp(e->path, ".");
}

/* A later run of data of a regular file: the first record has its size (older images repeat
 * the metadata on every run). */
static bool is_chunk(const FileDataEntry *e)
{
	return !e->link_to && !e->has_total_size && e->has_data &&
	       (!e->has_mode || S_ISREG(e->mode));
}

/* ---- pass 1: names and data ---------------------------------------------------------------- */

/* A regular file's record: the first creates it and sets its size (holes stay holes), every
 * one writes its run of data. */
static int write_file(int dir_fd, const char *name, const FileDataEntry *e)
{
	bool is_first = !is_chunk(e);
	cleanup_close int fd = -EBADF;

	fd = openat(dir_fd, name,
		    O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (is_first ? O_CREAT | O_EXCL : 0), 0600);
	if (fd < 0)
		return -errno;
	if (e->has_total_size && ftruncate(fd, (off_t)e->total_size) < 0)
		return -errno;
	if (e->has_data && e->data.len &&
	    pwrite(fd, e->data.data, e->data.len, (off_t)(e->has_offset ? e->offset : 0)) !=
		(ssize_t)e->data.len)
		return errno ? -errno : -EIO;
	return 0;
}

/* Creates the entry of e, name in dir_fd; link targets are relative to root_fd. */
static int create_entry(int root_fd, int dir_fd, const char *name, const FileDataEntry *e)
{
	mode_t mode = e->has_mode ? e->mode : S_IFREG | 0600;

	if (e->link_to) {
		cleanup_close int target_dir = -EBADF;
		const char *target_name;

		target_dir = open_parent(root_fd, e->link_to, &target_name);
		if (target_dir < 0)
			return target_dir;
		return linkat(target_dir, target_name, dir_fd, name, 0) < 0 ? -errno : 0;
	}
	if (S_ISDIR(mode))
		return mkdirat(dir_fd, name, 0700) < 0 ? -errno : 0;
	if (S_ISREG(mode))
		return write_file(dir_fd, name, e);
	if (S_ISLNK(mode)) {
		cleanup_free char *target =
		    e->has_data ? strndup((const char *)e->data.data, e->data.len) : NULL;

		if (!target)
			return -EINVAL;
		return symlinkat(target, dir_fd, name) < 0 ? -errno : 0;
	}
	if (S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) || S_ISBLK(mode))
		return mknodat(dir_fd, name, (mode & S_IFMT) | 0600,
			       e->has_rdev ? (dev_t)e->rdev : 0) < 0
			   ? -errno
			   : 0;
	return -EINVAL;
}

/* ---- pass 2: metadata ---------------------------------------------------------------------- */

/* Where a record's file is for the metadata calls: name in dir_fd, not followed. */
struct entry_at {
	int dir_fd;
	const char *name;
	int nofollow; /* AT_SYMLINK_NOFOLLOW or 0 */
	char xattr_path[4200];
};

static int set_xattrs(const struct entry_at *at, const FileDataEntry *e)
{
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const FileDataXattr *x = e->xattrs[i];
		const void *value = x->has_value ? (const void *)x->value.data : "";
		size_t len = x->has_value ? x->value.len : 0;
		int r = at->nofollow ? lsetxattr(at->xattr_path, x->name, value, len, 0)
				     : setxattr(at->xattr_path, x->name, value, len, 0);

		if (r < 0)
			return -errno;
	}
	return 0;
}

/* A recorded time for utimensat()/futimens(); UTIME_OMIT for one not recorded. */
static struct timespec recorded_time(bool has, int64_t ns)
{
	if (!has)
		return (struct timespec){.tv_nsec = UTIME_OMIT};
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000LL),
				 .tv_nsec = (long)(ns % 1000000000LL)};
}

/* The entry's atime and mtime, as utimensat() and futimens() take them. */
static void entry_times(const FileDataEntry *e, struct timespec times[2])
{
	times[0] = recorded_time(e->has_atime_ns, (int64_t)e->atime_ns);
	times[1] = recorded_time(e->has_mtime_ns, (int64_t)e->mtime_ns);
}

static int set_metadata(const struct entry_at *at, const FileDataEntry *e)
{
	struct timespec times[2];
	int r;

	if (e->has_uid && e->has_gid &&
	    fchownat(at->dir_fd, at->name, e->uid, e->gid, at->nofollow) < 0)
		return -errno;
	/* after the owner: chown clears the set-id bits */
	if (e->has_mode && !S_ISLNK(e->mode) &&
	    fchmodat(at->dir_fd, at->name, e->mode & 07777, 0) < 0)
		return -errno;
	r = set_xattrs(at, e);
	if (r < 0)
		return r;
	entry_times(e, times);
	if ((e->has_atime_ns || e->has_mtime_ns) &&
	    utimensat(at->dir_fd, at->name, times, at->nofollow) < 0)
		return -errno;
	return 0;
}

/* The root's own metadata, through a directory fd reopened from root_fd (which may be O_PATH):
 * no /proc path, since the namespace it is restored into may have none mounted yet. */
static int restore_root_metadata(int root_fd, const FileDataEntry *e)
{
	cleanup_close int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct timespec times[2];

	if (fd < 0)
		return -errno;
	if (e->has_uid && e->has_gid && fchown(fd, e->uid, e->gid) < 0)
		return -errno;
	/* after the owner: chown clears the set-id bits */
	if (e->has_mode && fchmod(fd, e->mode & 07777) < 0)
		return -errno;
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const FileDataXattr *x = e->xattrs[i];

		if (fsetxattr(fd, x->name, x->has_value ? (const void *)x->value.data : "",
			      x->has_value ? x->value.len : 0, 0) < 0)
			return -errno;
	}
	entry_times(e, times);
	if ((e->has_atime_ns || e->has_mtime_ns) && futimens(fd, times) < 0)
		return -errno;
	return 0;
}

static int restore_metadata(int root_fd, const FileDataEntry *e)
{
	cleanup_close int dir_fd = -EBADF;
	struct entry_at at = {.nofollow = AT_SYMLINK_NOFOLLOW};

	if (is_root(e))
		return restore_root_metadata(root_fd, e);
	dir_fd = open_parent(root_fd, e->path, &at.name);
	if (dir_fd < 0)
		return dir_fd;
	at.dir_fd = dir_fd;
	if (snprintf(at.xattr_path, sizeof(at.xattr_path), "/proc/self/fd/%d/%s", dir_fd,
		     at.name) >= (int)sizeof(at.xattr_path))
		return -ENAMETOOLONG;
	return set_metadata(&at, e);
}

int contents_restore(int root_fd, const char *what, uint64_t owner, FileDataEntry *const *data,
		     size_t n_data)
{
	for (size_t i = 0; i < n_data; i++) {
		const FileDataEntry *e = data[i];
		cleanup_close int dir_fd = -EBADF;
		const char *name;
		int r;

		if (!is_mine(e, owner) || is_root(e))
			continue;
		dir_fd = open_parent(root_fd, e->path, &name);
		r = dir_fd < 0 ? dir_fd : create_entry(root_fd, dir_fd, name, e);
		if (r < 0) {
			errno = -r;
			return pr_errno("cannot restore '%s' in the filesystem of %s", e->path,
					what);
		}
	}
	/* deepest first: records come parents first */
	for (size_t i = n_data; i-- > 0;) {
		const FileDataEntry *e = data[i];
		int r;

		if (!is_mine(e, owner) || e->link_to || !e->has_mode || is_chunk(e))
			continue;
		r = restore_metadata(root_fd, e);
		if (r < 0) {
			errno = -r;
			return pr_errno(
			    "cannot restore the owner, mode, attributes or times of '%s' "
			    "in the filesystem of %s",
			    e->path, what);
		}
	}
	return 0;
}
