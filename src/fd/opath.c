/* fd/opath.c: O_PATH fds on anything but a directory (regular files, symlinks opened with
 * O_NOFOLLOW, devices, FIFOs), reopened by path beneath their mount's root; one whose name was
 * removed goes through fd/ghost.c. */
#define LOG_PREFIX "fd-opath: "
#include "fd/kind.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "fd/ghost.h"
#include "image-set/image-set.h"

static bool opath_recognise(const struct fd_params *p)
{
	return (p->info.flags & O_PATH) && p->link[0] == '/' && !S_ISDIR(p->st.st_mode);
}

static int opath_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	int r = fd_dump_reg_path(ctx, p, fe);

	if (r < 0 || !p->is_deleted)
		return r;
	return fd_ghost_dump(ctx, p, fe);
}

static int opath_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int fd = fe->reg->unlinked ? fd_ghost_open(ctx, fe, fe->flags)
				   : fd_restore_open_path(ctx, fe->reg, fe->flags);

	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

static int opath_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	int r = image_set_check_reg(set, rec, fe);

	return r < 0 ? r : fd_ghost_validate(set, rec, fe);
}

static bool opath_opens_alone(const FileEntry *fe)
{
	return !fe->reg->unlinked;
}

const struct fd_kind fd_kind_opath = {
    .name = "opath",
    .type = FD_TYPE__FD_TYPE_OPATH,
    .recognise = opath_recognise,
    .dump = opath_dump,
    .validate = opath_validate,
    .open = opath_open,
    .opens_alone = opath_opens_alone,
};
