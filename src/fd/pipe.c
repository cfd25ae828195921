/* fd/pipe.c: pipes. Dump: the pipe's identity (pipefs inode) and size, and the bytes in its
 * buffer without consuming them. Restore: one pipe() per pipe id holding that data; each
 * end is the pipe() fd for the first file that asks for it and a reopen for later ones. */
#define LOG_PREFIX "fd-pipe: "
#include "fd/kind.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "image-set/image-set.h"

/* What the restore context keeps per pipe id: the ends pipe() made, and which of them was
 * handed out already. */
#define KEEP_READ  FD_KEEP_TAG(FD_TYPE__FD_TYPE_PIPE, 0)
#define KEEP_WRITE FD_KEEP_TAG(FD_TYPE__FD_TYPE_PIPE, 1)
#define KEEP_GIVEN FD_KEEP_TAG(FD_TYPE__FD_TYPE_PIPE, 2) /* key: pipe_id << 1 | end */

static bool pipe_recognise(const struct fd_params *p)
{
	return S_ISFIFO(p->st.st_mode) && p->fs_type == PIPEFS_MAGIC && !(p->info.flags & O_PATH);
}

static int pipe_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	PipeFileEntry *pe = FD_DUMP_NEW(ctx, PipeFileEntry, PIPE_FILE_ENTRY__INIT);
	int size = fcntl(p->local_fd, F_GETPIPE_SZ);

	if (!pe)
		return -ENOMEM;
	if (size < 0)
		return pr_errno("cannot read the size of pipe fd %d of task %d", p->fd,
				(int)p->pid);
	fe->pipe = pe;
	pe->has_pipe_id = pe->has_pipe_size = true;
	pe->pipe_id = p->st.st_ino;
	pe->pipe_size = (uint32_t)size;
	return fd_dump_pipe_data(ctx, p, pe->pipe_id);
}

/* Makes the pipe of pipe_id with its size and data, kept in ctx. */
static int pipe_create(struct fd_restore_ctx *ctx, const PipeFileEntry *pe)
{
	int fds[2], r;
	cleanup_close int rfd = -EBADF, wfd = -EBADF;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return pr_errno("cannot create pipe %lu", (unsigned long)pe->pipe_id);
	rfd = fds[0];
	wfd = fds[1];
	if (pe->has_pipe_size && fcntl(wfd, F_SETPIPE_SZ, (int)pe->pipe_size) < 0)
		return pr_errno("cannot set the size of pipe %lu to %u", (unsigned long)pe->pipe_id,
				pe->pipe_size);
	r = fd_restore_pipe_data(ctx, pe->pipe_id, wfd);
	if (r < 0)
		return r;
	r = fd_restore_keep(ctx, KEEP_READ, pe->pipe_id, TAKE_FD(rfd));
	if (r < 0)
		return r;
	return fd_restore_keep(ctx, KEEP_WRITE, pe->pipe_id, TAKE_FD(wfd));
}

static int pipe_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const PipeFileEntry *pe = fe->pipe;
	uint32_t acc = fe->flags & O_ACCMODE;
	uint64_t end = acc == O_WRONLY ? KEEP_WRITE : KEEP_READ;
	uint64_t given_key;
	int fd, r;

	if (fd_restore_lookup(ctx, end, pe->pipe_id) < 0) {
		r = pipe_create(ctx, pe);
		if (r < 0)
			return r;
	}
	fd = fd_restore_lookup(ctx, end, pe->pipe_id);
	given_key = pe->pipe_id << 1 | (end == KEEP_WRITE);
	/* an O_RDWR end never came from pipe(): it was reopened through /proc */
	if (acc != O_RDWR && fd_restore_lookup(ctx, KEEP_GIVEN, given_key) == -ENOENT) {
		r = fd_restore_keep(ctx, KEEP_GIVEN, given_key, -1);
		if (r < 0)
			return r;
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return pr_errno("cannot duplicate an end of pipe %lu",
					(unsigned long)pe->pipe_id);
	} else {
		/* the kept ends hold the pipe open, so this does not block */
		fd = fd_reopen(fd, fe->flags);
		if (fd < 0)
			return fd;
	}
	*ret_fd = fd;
	return 0;
}

static int pipe_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	if (!fe->pipe || !fe->pipe->has_pipe_id)
		return image_set_bad(set, "files.img record %zu: pipe %u has no pipe id", rec,
				     fe->id);
	return 0;
}

const struct fd_kind fd_kind_pipe = {
    .name = "pipe",
    .type = FD_TYPE__FD_TYPE_PIPE,
    .recognise = pipe_recognise,
    .dump = pipe_dump,
    .validate = pipe_validate,
    .open = pipe_open,
};
