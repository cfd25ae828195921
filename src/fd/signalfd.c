/* fd/signalfd.c: signalfds. Dump: the mask from fdinfo. Restore: signalfd() with that mask.
 * A signalfd reads the signals pending for whichever task reads it, so it names no task; the
 * signals pending at dump are in the core image and queued again by the restorer. */
#define LOG_PREFIX "fd-signalfd: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "image-set/image-set.h"

/* The kernel's sigset_t: one bit per signal 1..64. */
#define KERNEL_SIGSET_SIZE 8

static bool signalfd_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[signalfd]") == 0 && p->fdinfo;
}

static int signalfd_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	SignalfdFileEntry *se = FD_DUMP_NEW(ctx, SignalfdFileEntry, SIGNALFD_FILE_ENTRY__INIT);
	int r;

	if (!se)
		return -ENOMEM;
	r = fdinfo_get_u64(p->fdinfo, p->fdinfo_len, "sigmask", 16, &se->sigmask);
	if (r < 0) {
		pr_err("cannot parse the sigmask of signalfd fd %d of task %d", p->fd, (int)p->pid);
		return r == -ENOENT ? -EINVAL : r;
	}
	se->has_sigmask = true;
	fe->signalfd = se;
	return 0;
}

static int signalfd_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	if (!fe->signalfd || !fe->signalfd->has_sigmask)
		return image_set_bad(set, "files.img record %zu: signalfd file %u has no mask", rec,
				     fe->id);
	return 0;
}

static int signalfd_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	uint64_t mask = fe->signalfd->sigmask;
	int flags = SFD_CLOEXEC | ((fe->flags & O_NONBLOCK) ? SFD_NONBLOCK : 0);
	long fd;

	(void)ctx;
	/* the raw syscall takes the kernel's 64-bit mask as it was shown, signals 32 and 33
	 * (glibc's own) included */
	fd = syscall(SYS_signalfd4, -1, &mask, (size_t)KERNEL_SIGSET_SIZE, flags);
	if (fd < 0)
		return pr_errno("cannot create a signalfd with mask %#lx for file %u",
				(unsigned long)mask, fe->id);
	*ret_fd = (int)fd;
	return 0;
}

const struct fd_kind fd_kind_signalfd = {
    .name = "signalfd",
    .type = FD_TYPE__FD_TYPE_SIGNALFD,
    .recognise = signalfd_recognise,
    .dump = signalfd_dump,
    .validate = signalfd_validate,
    .open = signalfd_open,
};
