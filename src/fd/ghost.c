/* fd/ghost.c: unlinked regular files. Nothing outside the dumped tree can give their contents
 * back, so the dump saves them; the restore makes an unlinked file with them in the same
 * directory, once per inode, and every file of that inode reopens it. */
#define LOG_PREFIX "fd-ghost: "
#include "fd/ghost.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* Tag of the unlinked files kept in the restore context, keyed by fd_inode_key(). */
#define KEEP_UNLINKED FD_KEEP_TAG(FD_TYPE__FD_TYPE_REG, 0)

int fd_ghost_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	int64_t size = fd_dump_contents(ctx, p, fe->id);

	if (size < 0)
		return (int)size;
	fe->reg->size = (uint64_t)size;
	return 0;
}

/* An unlinked file in dir with the given mode: O_TMPFILE where the filesystem has it, else a
 * created and at once removed name. */
static int create_unlinked(int dirfd, const char *path, mode_t mode)
{
	char name[64];
	int fd;

	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return pr_errno("cannot create an unlinked file beside '%s'", path);
	for (unsigned int i = 0;; i++) {
		snprintf(name, sizeof(name), ".minicr-unlinked.%d.%u", (int)getpid(), i);
		fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
			    mode & 07777);
		if (fd >= 0)
			break;
		if (errno != EEXIST || i > 1000)
			return pr_errno("cannot create a file beside '%s'", path);
	}
	if (unlinkat(dirfd, name, 0) < 0) {
		int r = pr_errno("cannot remove temporary file '%s' beside '%s'", name, path);

		close(fd);
		return r;
	}
	return fd;
}

/* The unlinked file of fe: made and filled once per inode, then reopened with fe's flags. */
int fd_ghost_open(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	const RegFileEntry *reg = fe->reg;
	uint64_t key = fd_inode_key(reg->dev, reg->ino);
	int fd = fd_restore_lookup(ctx, KEEP_UNLINKED, key), r;

	if (fd < 0) {
		cleanup_close int dirfd = -EBADF, tmpfd = -EBADF;

		dirfd = fd_restore_open_parent(ctx, reg);
		if (dirfd < 0)
			return dirfd;
		tmpfd = create_unlinked(dirfd, reg->path, reg->mode);
		if (tmpfd < 0)
			return tmpfd;
		r = fd_restore_contents(ctx, fe->id, tmpfd);
		if (r < 0)
			return r;
		if (fchmod(tmpfd, reg->mode & 07777) < 0)
			return pr_errno("cannot set mode 0%o on unlinked '%s'", reg->mode & 07777,
					reg->path);
		fd = tmpfd;
		r = fd_restore_keep(ctx, KEEP_UNLINKED, key, TAKE_FD(tmpfd));
		if (r < 0)
			return r;
	}
	return fd_reopen(fd, fe->flags);
}
