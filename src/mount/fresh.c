/* mount/fresh.c: a superblock only the tree had and whose files need not be saved (proc, sysfs,
 * devpts, mqueue, cgroup, a disk filesystem on its device): restore makes a new one from its type,
 * source and options, once per dumped superblock; every mount of it binds from that one. */
#define LOG_PREFIX "mount-fresh: "
#include "mount/kind.h"

/* Asked last: whatever no other kind describes is made anew. */
static bool fresh_recognise(const struct mount_dump_view *v)
{
	(void)v;
	return true;
}

static int fresh_source(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
			const char **ret_sub)
{
	return mount_sb_source(b, spec, NULL, ret_fd, ret_sub);
}

const struct mount_kind mount_kind_fresh = {
    .name = "fresh",
    .kind = MNT_KIND__MNT_KIND_FRESH,
    .recognise = fresh_recognise,
    .source = fresh_source,
};
