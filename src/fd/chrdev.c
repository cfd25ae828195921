/* fd/chrdev.c: character devices opened by path (/dev/null, /dev/zero, ...), reopened by
 * path and checked to be the same device; a removed device node is made again by fd/ghost.c.
 * Terminals are not handled here. */
#define LOG_PREFIX "fd-chrdev: "
#include "fd/kind.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "base/util.h"
#include "fd/ghost.h"
#include "image-set/image-set.h"

static bool is_tty(dev_t rdev)
{
	unsigned int maj = major(rdev);

	/* 4, 5: virtual consoles, tty, console, ptmx; 136-143: pseudo-terminal slaves */
	return maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

static bool chrdev_recognise(const struct fd_params *p)
{
	return S_ISCHR(p->st.st_mode) && !(p->info.flags & O_PATH) && p->link[0] == '/' &&
	       !is_tty(p->st.st_rdev);
}

static int chrdev_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	int r = fd_dump_reg_path(ctx, p, fe);

	if (r < 0 || !p->is_deleted)
		return r;
	return fd_ghost_dump(ctx, p, fe);
}

static int chrdev_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	cleanup_close int fd = -EBADF;
	struct stat st;

	fd = fe->reg->unlinked ? fd_ghost_open(ctx, fe, fe->flags)
			       : fd_restore_open_path(ctx, fe->reg, fe->flags);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return pr_errno("cannot stat '%s'", fe->reg->path);
	if (fe->reg->has_rdev && st.st_rdev != fe->reg->rdev) {
		pr_err("cannot reopen '%s': device %u:%u, was %u:%u at dump",
		       fe->reg->path, major(st.st_rdev), minor(st.st_rdev),
		       major(fe->reg->rdev), minor(fe->reg->rdev));
		return -ESTALE;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int chrdev_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	int r = image_set_check_reg(set, rec, fe);

	return r < 0 ? r : fd_ghost_validate(set, rec, fe);
}

const struct fd_kind fd_kind_chrdev = {
    .name = "chrdev",
    .type = FD_TYPE__FD_TYPE_CHRDEV,
    .recognise = chrdev_recognise,
    .dump = chrdev_dump,
    .validate = chrdev_validate,
    .open = chrdev_open,
};
