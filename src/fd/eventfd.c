/* fd-eventfd.c: eventfds. Dump: the counter and semaphore mode from fdinfo. Restore:
 * eventfd() with that counter. */
#define LOG_PREFIX "fd-eventfd: "
#include "fd/fd.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static bool eventfd_matches(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[eventfd]") == 0 && p->info.has_eventfd_count;
}

static int eventfd_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	EventfdFileEntry *ee = fd_file_eventfd(fe);

	(void)ctx;
	ee->has_counter = ee->has_semaphore = true;
	ee->counter = p->info.eventfd_count;
	ee->semaphore = p->info.has_eventfd_semaphore && p->info.eventfd_semaphore;
	return 0;
}

static int eventfd_restore(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
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

const struct fd_type_ops fd_eventfd_ops = {
    .type = FD_TYPE__FD_TYPE_EVENTFD,
    .name = "eventfd",
    .matches = eventfd_matches,
    .dump = eventfd_dump,
    .restore = eventfd_restore,
};
