/* direct-io.c: statx(STATX_DIOALIGN) and a second, O_DIRECT open of a file. */
#define LOG_PREFIX "direct-io: "
#include "base/direct-io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "base/compat.h"
#include "base/log.h"

/* The alignments statx reports, or -EOPNOTSUPP (debug-logged) where direct I/O in whole pages
 * is not on offer. STATX_DIOALIGN needs Linux 6.1+; older kernels leave it out of stx_mask, and
 * so do file systems without direct I/O (tmpfs, ramfs, ...). */
static int check_alignment(int fd, const char *name)
{
	struct statx stx;

	memset(&stx, 0, sizeof(stx));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0)
		return pr_errno("cannot statx '%s'", name);
	if (!(stx.stx_mask & STATX_DIOALIGN) || !stx.stx_dio_mem_align ||
	    !stx.stx_dio_offset_align) {
		pr_debug("'%s': the file system reports no direct I/O", name);
		return -EOPNOTSUPP;
	}
	if (DIRECT_IO_ALIGN % stx.stx_dio_mem_align || DIRECT_IO_ALIGN % stx.stx_dio_offset_align) {
		pr_debug("'%s': direct I/O wants memory alignment %u and offset alignment %u, "
			 "more than %u",
			 name, stx.stx_dio_mem_align, stx.stx_dio_offset_align, DIRECT_IO_ALIGN);
		return -EOPNOTSUPP;
	}
	return 0;
}

int direct_io_reopen(int dirfd, const char *name, int fd, int flags)
{
	int direct_fd, ret;

	ret = check_alignment(fd, name);
	if (ret < 0)
		return ret;
	direct_fd = openat(dirfd, name, flags | O_DIRECT | O_CLOEXEC);
	if (direct_fd >= 0)
		return direct_fd;
	if (errno == EINVAL) {
		pr_debug("'%s': open with O_DIRECT refused (EINVAL)", name);
		return -EOPNOTSUPP;
	}
	return pr_errno("cannot open '%s' with O_DIRECT", name);
}
