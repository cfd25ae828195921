/* fd/eventfd.c: eventfds. Dump: the counter and semaphore mode from fdinfo. Restore: eventfd()
 * with that counter. This file is the worked example of docs/architecture.md, "How to add an
 * fd kind". */
#define LOG_PREFIX "fd-eventfd: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* Recognised by its anon inode name alone; its counter is in the task's fdinfo, which the
 * probe reads for every anon inode. */
static bool eventfd_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[eventfd]") == 0 && p->fdinfo;
}

/* Every eventfd is the same anon inode: the kernel's per-eventfd id (5.2+) tells them apart,
 * so kcmp only compares fds that may really share one. */
static uint64_t eventfd_identity(const struct fd_params *p)
{
	uint64_t id = 0;

	(void)fdinfo_get_u64(p->fdinfo, p->fdinfo_len, "eventfd-id", 10, &id);
	return id;
}

static int eventfd_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	EventfdFileEntry *ee = FD_DUMP_NEW(ctx, EventfdFileEntry, EVENTFD_FILE_ENTRY__INIT);
	bool semaphore = false;
	int r;

	if (!ee)
		return -ENOMEM;
	r = fdinfo_get_u64(p->fdinfo, p->fdinfo_len, "eventfd-count", 16, &ee->counter);
	/* the semaphore line exists since Linux 6.5; older kernels cannot tell the mode */
	if (r == 0 &&
	    (r = fdinfo_get_flag(p->fdinfo, p->fdinfo_len, "eventfd-semaphore", &semaphore)) ==
		-ENOENT)
		r = 0;
	if (r < 0) {
		pr_err("cannot parse the fdinfo of eventfd fd %d of task %d", p->fd, (int)p->pid);
		return r;
	}
	ee->has_counter = ee->has_semaphore = true;
	ee->semaphore = semaphore;
	fe->eventfd = ee;
	return 0;
}

static int eventfd_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const EventfdFileEntry *ee = fe->eventfd;
	uint64_t counter = ee && ee->has_counter ? ee->counter : 0;
	int flags = EFD_CLOEXEC, fd;

	(void)ctx;
	if (ee && ee->semaphore)
		flags |= EFD_SEMAPHORE;
	if (fe->flags & O_NONBLOCK)
		flags |= EFD_NONBLOCK;
	/* eventfd() takes an unsigned int: larger counters are written after */
	fd = eventfd(counter <= UINT_MAX ? (unsigned int)counter : 0, flags);
	if (fd < 0)
		return pr_errno("cannot create an eventfd for file %u", fe->id);
	if (counter > UINT_MAX && write(fd, &counter, sizeof(counter)) != sizeof(counter)) {
		int r = pr_errno("cannot set the counter of eventfd file %u to %lu", fe->id,
				 (unsigned long)counter);

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

const struct fd_kind fd_kind_eventfd = {
    .name = "eventfd",
    .type = FD_TYPE__FD_TYPE_EVENTFD,
    .recognise = eventfd_recognise,
    .identity = eventfd_identity,
    .dump = eventfd_dump,
    .open = eventfd_open,
};
