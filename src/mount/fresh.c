/* mount/fresh.c: a superblock only the tree had and whose files need not be saved (proc, sysfs,
 * devpts, mqueue, cgroup, a disk filesystem on its device): restore makes a new one from its type,
 * source and options, once per dumped superblock; every mount of it binds from that one. */
#define LOG_PREFIX "mount-fresh: "
#include "mount/kind.h"

#include <errno.h>
#include <unistd.h>

#include "base/log.h"

/* Asked last: whatever no other kind describes is made anew. */
static bool fresh_recognise(const struct mount_dump_view *v)
{
	(void)v;
	return true;
}

static int fresh_source(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
			const char **ret_sub)
{
	int fd = mount_build_sb_get(b, spec->dev_major, spec->dev_minor), r;

	/* a new superblock shows its whole filesystem: the mount's root is below its root */
	*ret_sub = spec->root;
	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	fd = mount_fresh_create(spec);
	if (fd < 0)
		return fd;
	r = mount_fresh_finish(spec, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = mount_build_sb_put(b, spec->dev_major, spec->dev_minor, fd);
	if (r < 0)
		return r;
	*ret_fd = fd;
	return 0;
}

const struct mount_kind mount_kind_fresh = {
    .name = "fresh",
    .kind = MNT_KIND__MNT_KIND_FRESH,
    .recognise = fresh_recognise,
    .source = fresh_source,
};
