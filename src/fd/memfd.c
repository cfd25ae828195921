/* fd/memfd.c: memfds. Dump: name, inode, mode, seals and contents. Restore: memfd_create()
 * once per inode, contents written back, mode and seals set, then reopened per file. */
#define LOG_PREFIX "fd-memfd: "
#include "fd/kind.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "image-set/image-set.h"

#define MEMFD_PREFIX "/memfd:"
/* memfd_create() takes names of at most 249 bytes */
#define MEMFD_NAME_MAX 249
/* The memfd made per inode, kept for the other files of the same inode. */
#define KEEP_MEMFD FD_KEEP_TAG(FD_TYPE__FD_TYPE_MEMFD, 0)

static bool memfd_recognise(const struct fd_params *p)
{
	return strncmp(p->link, MEMFD_PREFIX, sizeof(MEMFD_PREFIX) - 1) == 0 && p->is_deleted &&
	       S_ISREG(p->st.st_mode) && p->st.st_nlink == 0 && p->fs_type == TMPFS_MAGIC;
}

static int memfd_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	MemfdFileEntry *me = FD_DUMP_NEW(ctx, MemfdFileEntry, MEMFD_FILE_ENTRY__INIT);
	cleanup_close int own_fd = -EBADF;
	int seals_fd = p->local_fd, seals;
	int64_t size;

	if (!me)
		return -ENOMEM;
	fe->memfd = me;
	if (p->info.flags & O_PATH) {
		seals_fd = own_fd = fd_reopen(p->local_fd, O_RDONLY);
		if (own_fd < 0)
			return own_fd;
	}
	seals = fcntl(seals_fd, F_GET_SEALS);
	if (seals < 0)
		return pr_errno("cannot read the seals of memfd fd %d of task %d", p->fd,
				(int)p->pid);
	me->name = fd_dump_strdup(ctx, p->link + sizeof(MEMFD_PREFIX) - 1);
	if (!me->name)
		return -ENOMEM;
	me->has_inode = me->has_size = me->has_seals = me->has_mode = true;
	me->inode = p->st.st_ino;
	me->seals = (uint32_t)seals;
	me->mode = p->st.st_mode;
	size = fd_dump_contents(ctx, p, fe->id);
	if (size < 0)
		return (int)size;
	me->size = (uint64_t)size;
	return 0;
}

/* The memfd of fe's inode, made, filled and sealed. Kept in ctx; returns it (borrowed). */
static int memfd_create_filled(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	const MemfdFileEntry *me = fe->memfd;
	char name[MEMFD_NAME_MAX + 1];
	cleanup_close int fd = -EBADF;
	unsigned int mfd_flags = MFD_CLOEXEC;
	uint32_t seals = me->has_seals ? me->seals : 0;
	int r;

	/* a memfd made without MFD_ALLOW_SEALING shows exactly F_SEAL_SEAL */
	if (seals != F_SEAL_SEAL)
		mfd_flags |= MFD_ALLOW_SEALING;
	snprintf(name, sizeof(name), "%s", me->name ? me->name : "");
	fd = memfd_create(name, mfd_flags);
	if (fd < 0)
		return pr_errno("cannot create memfd '%s'", name);
	r = fd_restore_contents(ctx, fe->id, fd);
	if (r < 0)
		return r;
	if (me->has_mode && fchmod(fd, me->mode & 07777) < 0)
		return pr_errno("cannot set mode 0%o on memfd '%s'", me->mode & 07777, name);
	if ((mfd_flags & MFD_ALLOW_SEALING) && seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
		return pr_errno("cannot add seals 0x%x to memfd '%s'", seals, name);
	r = fd_restore_keep(ctx, KEEP_MEMFD, me->inode, fd);
	if (r < 0) {
		fd = -EBADF; /* closed by fd_restore_keep() */
		return r;
	}
	return TAKE_FD(fd);
}

static int memfd_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	cleanup_close int fd = -EBADF;
	int mfd;

	mfd = fd_restore_lookup(ctx, KEEP_MEMFD, fe->memfd->inode);
	if (mfd < 0) {
		mfd = memfd_create_filled(ctx, fe);
		if (mfd < 0)
			return mfd;
	}
	fd = fd_reopen(mfd, fe->flags);
	if (fd < 0)
		return fd;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int memfd_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	if (!fe->memfd || !fe->memfd->has_inode)
		return image_set_bad(set, "files.img record %zu: memfd %u has no memfd record", rec,
				     fe->id);
	if (fe->memfd->name && strchr(fe->memfd->name, '/'))
		return image_set_bad(set, "files.img record %zu: memfd name '%s' holds a '/'", rec,
				     fe->memfd->name);
	return 0;
}

const struct fd_kind fd_kind_memfd = {
    .name = "memfd",
    .type = FD_TYPE__FD_TYPE_MEMFD,
    .recognise = memfd_recognise,
    .dump = memfd_dump,
    .validate = memfd_validate,
    .open = memfd_open,
};
