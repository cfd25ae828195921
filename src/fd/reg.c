/* fd-reg.c: regular files, directories and O_PATH fds, reopened by path beneath the mount
 * root; unlinked files are recreated from their dumped contents. */
#define LOG_PREFIX "fd-reg: "
#include "fd/fd.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static bool reg_matches(const struct fd_params *p)
{
	mode_t type = p->st.st_mode & S_IFMT;

	if (p->link[0] != '/')
		return false;
	/* a removed directory or a removed name of a still linked file cannot be reopened */
	if (p->is_deleted && (type == S_IFDIR || p->st.st_nlink > 0))
		return false;
	/* a deleted "/memfd:" name that fd-memfd.c did not take is a hugetlbfs memfd */
	if (p->is_deleted && strncmp(p->link, "/memfd:", 7) == 0)
		return false;
	if (p->info.flags & O_PATH)
		return true;
	return type == S_IFREG || type == S_IFDIR || type == S_IFLNK;
}

static int reg_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	int r = fd_dump_reg_path(ctx, p, fe);
	int64_t size;

	if (r < 0 || !p->is_deleted)
		return r;
	size = fd_dump_contents(ctx, p, fe->id);
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
static int reg_restore_unlinked(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	const RegFileEntry *reg = fe->reg;
	uint64_t key = fd_inode_key(reg->dev, reg->ino);
	int fd = fd_restore_ctx_lookup(ctx, FD_KEEP_UNLINKED, key), r;

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
		r = fd_restore_ctx_keep(ctx, FD_KEEP_UNLINKED, key, TAKE_FD(tmpfd));
		if (r < 0)
			return r;
	}
	return fd_reopen(fd, fe->flags);
}

static int reg_restore(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	cleanup_close int fd = -EBADF;

	if (!fe->reg) {
		pr_err("file %u: no reg record", fe->id);
		return -EINVAL;
	}
	if (fe->reg->unlinked)
		fd = reg_restore_unlinked(ctx, fe);
	else
		fd = fd_restore_open_path(ctx, fe->reg, fe->flags);
	if (fd < 0)
		return fd;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

const struct fd_type_ops fd_reg_ops = {
    .type = FD_TYPE__FD_TYPE_REG,
    .name = "reg",
    .matches = reg_matches,
    .dump = reg_dump,
    .restore = reg_restore,
};
