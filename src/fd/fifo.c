/* fd/fifo.c: named pipes. Dump: the path (as a reg record), the pipe identity and the bytes
 * in the buffer. Restore: open the FIFO O_RDWR once, so that opening either end does not
 * block and the data written back stays, then reopen it with each file's flags. A FIFO whose
 * name was removed is made again by fd/ghost.c. */
#define LOG_PREFIX "fd-fifo: "
#include "fd/kind.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fd/ghost.h"
#include "image-set/image-set.h"

/* The O_RDWR end kept open per FIFO, keyed by pipe id. */
#define KEEP_ANCHOR FD_KEEP_TAG(FD_TYPE__FD_TYPE_FIFO, 0)

/* FIFO ids live beside pipefs inode numbers: the top bit keeps them apart. */
#define FIFO_ID_BIT (1ULL << 63)

static bool fifo_recognise(const struct fd_params *p)
{
	return S_ISFIFO(p->st.st_mode) && p->fs_type != PIPEFS_MAGIC && p->fs_type != 0 &&
	       !(p->info.flags & O_PATH) && p->link[0] == '/';
}

static int fifo_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	PipeFileEntry *pe;
	int size, r;

	r = fd_dump_reg_path(ctx, p, fe);
	if (r == 0 && p->is_deleted)
		r = fd_ghost_dump(ctx, p, fe);
	if (r < 0)
		return r;
	size = fcntl(p->local_fd, F_GETPIPE_SZ);
	if (size < 0)
		return pr_errno("cannot read the size of FIFO fd %d of task %d", p->fd,
				(int)p->pid);
	pe = FD_DUMP_NEW(ctx, PipeFileEntry, PIPE_FILE_ENTRY__INIT);
	if (!pe)
		return -ENOMEM;
	fe->pipe = pe;
	pe->has_pipe_id = pe->has_pipe_size = true;
	pe->pipe_id = FIFO_ID_BIT | fd_inode_key(p->st.st_dev, p->st.st_ino);
	pe->pipe_size = (uint32_t)size;
	return fd_dump_pipe_data(ctx, p, pe->pipe_id);
}

static int fifo_open_anchor(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	const PipeFileEntry *pe = fe->pipe;
	cleanup_close int fd = -EBADF;
	int r, queued = 0;

	fd = fe->reg->unlinked ? fd_ghost_open(ctx, fe, O_RDWR | O_NONBLOCK)
			       : fd_restore_open_path(ctx, fe->reg, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (pe->has_pipe_size && fcntl(fd, F_SETPIPE_SZ, (int)pe->pipe_size) < 0)
		return pr_errno("cannot set the size of FIFO '%s' to %u",
				fe->reg->path, pe->pipe_size);
	if (ioctl(fd, FIONREAD, &queued) < 0)
		return pr_errno("cannot count the bytes in FIFO '%s'",
				fe->reg->path);
	if (queued > 0) {
		/* someone outside the restored tree holds the FIFO open: its bytes are live */
		pr_warn("FIFO '%s' already holds %d bytes, not writing the dumped ones",
			fe->reg->path, queued);
	} else {
		r = fd_restore_pipe_data(ctx, pe->pipe_id, fd);
		if (r < 0)
			return r;
	}
	return fd_restore_keep(ctx, KEEP_ANCHOR, pe->pipe_id, TAKE_FD(fd));
}

static int fifo_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int anchor, fd, r;

	anchor = fd_restore_lookup(ctx, KEEP_ANCHOR, fe->pipe->pipe_id);
	if (anchor < 0) {
		r = fifo_open_anchor(ctx, fe);
		if (r < 0)
			return r;
		anchor = fd_restore_lookup(ctx, KEEP_ANCHOR, fe->pipe->pipe_id);
	}
	fd = fd_reopen(anchor, fe->flags);
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

static int fifo_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	int r = image_set_check_reg(set, rec, fe);

	if (r == 0)
		r = fd_ghost_validate(set, rec, fe);
	if (r < 0)
		return r;
	if (!fe->pipe || !fe->pipe->has_pipe_id)
		return image_set_bad(set, "files.img record %zu: fifo %u has no pipe record", rec,
				     fe->id);
	return 0;
}

const struct fd_kind fd_kind_fifo = {
    .name = "fifo",
    .type = FD_TYPE__FD_TYPE_FIFO,
    .recognise = fifo_recognise,
    .dump = fifo_dump,
    .validate = fifo_validate,
    .open = fifo_open,
};
