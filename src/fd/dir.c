/* fd/dir.c: directories (open dir fds, and every task's cwd and root), reopened by path
 * beneath their mount's root; a removed one is made again for the restore by fd/ghost.c. */
#define LOG_PREFIX "fd-dir: "
#include "fd/kind.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "fd/ghost.h"
#include "image-set/image-set.h"

static bool dir_recognise(const struct fd_params *p)
{
	return S_ISDIR(p->st.st_mode) && p->link[0] == '/';
}

static int dir_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	int r = fd_dump_reg_path(ctx, p, fe);

	if (r < 0 || !p->is_deleted)
		return r;
	return fd_ghost_dump(ctx, p, fe);
}

static int dir_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int fd = fe->reg->unlinked ? fd_ghost_open(ctx, fe, fe->flags)
				   : fd_restore_open_path(ctx, fe->reg, fe->flags);

	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

static int dir_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	int r = image_set_check_reg(set, rec, fe);

	return r < 0 ? r : fd_ghost_validate(set, rec, fe);
}

static bool dir_opens_alone(const FileEntry *fe)
{
	return !fe->reg->unlinked;
}

const struct fd_kind fd_kind_dir = {
    .name = "dir",
    .type = FD_TYPE__FD_TYPE_DIR,
    .recognise = dir_recognise,
    .dump = dir_dump,
    .validate = dir_validate,
    .open = dir_open,
    .opens_alone = dir_opens_alone,
};
