/* mount/bind.c: a superblock that a live mount outside the tree still shows (a host filesystem,
 * a bind of one): restore binds from that mount. Dump records nothing more than the mount's
 * device and root; restore finds a live mount of the device whose root holds it. */
#define LOG_PREFIX "mount-bind: "
#include "mount/kind.h"

#include <errno.h>

#include "base/log.h"

static bool bind_recognise(const struct mount_dump_view *v)
{
	return v->sb_is_live && !v->contents_dumped;
}

static int bind_source(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
		       const char **ret_sub)
{
	int r = mount_build_find_live(b, spec, ret_fd, ret_sub);

	if (r == -ENOENT)
		pr_err("cannot rebuild %s (%s, dev %u:%u, root '%s'): no live mount of its "
		       "filesystem holds that root",
		       spec->what, spec->fstype ? spec->fstype : "?", spec->dev_major,
		       spec->dev_minor, spec->root);
	return r;
}

const struct mount_kind mount_kind_bind = {
    .name = "bind",
    .kind = MNT_KIND__MNT_KIND_BIND,
    .needs_live = true,
    .recognise = bind_recognise,
    .source = bind_source,
};
