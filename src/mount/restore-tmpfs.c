/* tmpfs-restore.c: recreate a tmpfs's files from file-data.img records. */
#define LOG_PREFIX "tmpfs: "
#include "mount/restore-tmpfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "base/log.h"
#include "base/util.h"

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
		fd = dup(root_fd);
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

static int set_owner_and_time(int dir_fd, const char *name, const FileDataEntry *e)
{
	if (e->has_uid && e->has_gid &&
	    fchownat(dir_fd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (e->has_mtime_ns) {
		struct timespec times[2] = {
		    {.tv_nsec = UTIME_OMIT},
		    {.tv_sec = e->mtime_ns / 1000000000LL, .tv_nsec = e->mtime_ns % 1000000000LL},
		};

		if (utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	return 0;
}

/* One chunk of a regular file; the first chunk creates it. */
static int restore_chunk(int dir_fd, const char *name, const FileDataEntry *e)
{
	uint64_t off = e->has_offset ? e->offset : 0;
	cleanup_close int fd = -EBADF;
	int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (off == 0 ? O_CREAT | O_EXCL : 0);

	fd = openat(dir_fd, name, flags, 0600);
	if (fd < 0)
		return -errno;
	if (e->has_total_size && ftruncate(fd, (off_t)e->total_size) < 0)
		return -errno;
	if (e->has_data && e->data.len &&
	    pwrite(fd, e->data.data, e->data.len, (off_t)off) != (ssize_t)e->data.len)
		return errno ? -errno : -EIO;
	/* The mode, not the umask, decides the permissions. */
	if (e->has_mode && fchmod(fd, e->mode & 07777) < 0)
		return -errno;
	return 0;
}

static int restore_entry(int dir_fd, const char *name, const FileDataEntry *e)
{
	mode_t mode = e->has_mode ? e->mode : S_IFREG | 0600;
	int r;

	if (e->link_to) {
		cleanup_close int target_dir = -EBADF;
		const char *target_name;

		target_dir = open_parent(dir_fd, e->link_to, &target_name);
		if (target_dir < 0)
			return target_dir;
		return linkat(target_dir, target_name, dir_fd, name, 0) < 0 ? -errno : 0;
	}
	if (S_ISDIR(mode)) {
		if (mkdirat(dir_fd, name, 0700) < 0)
			return -errno;
		r = fchmodat(dir_fd, name, mode & 07777, 0) < 0 ? -errno : 0;
	} else if (S_ISLNK(mode)) {
		cleanup_free char *target =
		    e->has_data ? strndup((const char *)e->data.data, e->data.len) : NULL;

		if (!target)
			return -EINVAL;
		r = symlinkat(target, dir_fd, name) < 0 ? -errno : 0;
	} else if (S_ISREG(mode)) {
		r = restore_chunk(dir_fd, name, e);
	} else {
		return 0;
	}
	return r < 0 ? r : set_owner_and_time(dir_fd, name, e);
}

static bool is_mine(const FileDataEntry *e, uint64_t mnt_key)
{
	return e->kind == FILE_DATA_KIND__FILE_DATA_KIND_TMPFS && e->owner_id == mnt_key &&
	       e->path && *e->path;
}

int tmpfs_restore_contents(int root_fd, const char *what, uint64_t mnt_key,
			   FileDataEntry *const *data, size_t n_data)
{
	for (size_t i = 0; i < n_data; i++) {
		const FileDataEntry *e = data[i];
		cleanup_close int dir_fd = -EBADF;
		const char *name;
		int r;

		if (!is_mine(e, mnt_key))
			continue;
		dir_fd = open_parent(root_fd, e->path, &name);
		r = dir_fd < 0 ? dir_fd : restore_entry(dir_fd, name, e);
		if (r < 0) {
			errno = -r;
			return pr_errno("cannot restore '%s' in the tmpfs of %s", e->path, what);
		}
	}
	/* Creating entries changed their directories' times: put those back last, deepest
	 * first (records come parents first). */
	for (size_t i = n_data; i-- > 0;) {
		const FileDataEntry *e = data[i];
		cleanup_close int dir_fd = -EBADF;
		const char *name;

		if (!is_mine(e, mnt_key) || !e->has_mode || !S_ISDIR(e->mode))
			continue;
		dir_fd = open_parent(root_fd, e->path, &name);
		if (dir_fd < 0 || set_owner_and_time(dir_fd, name, e) < 0)
			return pr_errno("cannot set the time of '%s' in the tmpfs of %s", e->path,
					what);
	}
	return 0;
}
