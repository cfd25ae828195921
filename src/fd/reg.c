/* fd/reg.c: regular files, reopened by path beneath their mount's root; those whose opened
 * name was removed (unlinked, O_TMPFILE, or renamed over while other names remain) go through
 * fd/ghost.c. */
#define LOG_PREFIX "fd-reg: "
#include "fd/kind.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fd/ghost.h"
#include "image-set/image-set.h"

static bool reg_recognise(const struct fd_params *p)
{
	if (p->link[0] != '/')
		return false;
	/* a deleted "/memfd:" name that the memfd kind did not take is a hugetlbfs memfd */
	if (p->is_deleted && strncmp(p->link, "/memfd:", 7) == 0)
		return false;
	return S_ISREG(p->st.st_mode) && !(p->info.flags & O_PATH);
}

static int reg_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	int r = fd_dump_reg_path(ctx, p, fe);

	if (r < 0 || !p->is_deleted)
		return r;
	return fd_ghost_dump(ctx, p, fe);
}

static int reg_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	cleanup_close int fd = -EBADF;

	if (fe->reg->unlinked)
		fd = fd_ghost_open(ctx, fe, fe->flags);
	else
		fd = fd_restore_open_path(ctx, fe->reg, fe->flags);
	if (fd < 0)
		return fd;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int reg_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	int r = image_set_check_reg(set, rec, fe);

	return r < 0 ? r : fd_ghost_validate(set, rec, fe);
}

/* A file reopened by path needs nothing else: large tables open these on several threads. */
static bool reg_opens_alone(const FileEntry *fe)
{
	return !fe->reg->unlinked;
}

const struct fd_kind fd_kind_reg = {
    .name = "reg",
    .type = FD_TYPE__FD_TYPE_REG,
    .recognise = reg_recognise,
    .dump = reg_dump,
    .validate = reg_validate,
    .open = reg_open,
    .opens_alone = reg_opens_alone,
};
