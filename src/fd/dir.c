/* fd/dir.c: directories (open dir fds, and every task's cwd and root), reopened by path
 * beneath their mount's root. */
#define LOG_PREFIX "fd-dir: "
#include "fd/kind.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "image-set/image-set.h"

static bool dir_recognise(const struct fd_params *p)
{
	/* a removed directory cannot be reopened by its name */
	return S_ISDIR(p->st.st_mode) && p->link[0] == '/' && !p->is_deleted;
}

static int dir_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	return fd_dump_reg_path(ctx, p, fe);
}

static int dir_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int fd = fd_restore_open_path(ctx, fe->reg, fe->flags);

	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

static int dir_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	return image_set_check_reg(set, rec, fe);
}

static bool dir_opens_alone(const FileEntry *fe)
{
	(void)fe;
	return true;
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
