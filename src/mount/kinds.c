/* mount/kinds.c: the registry of mount kinds. At dump the first kind that recognises a mount's
 * superblock describes it, so the catch-all (fresh) comes last. Adding a kind is one line. */
#include "mount/kind.h"

#include "base/util.h"

/* One line per kind: X(name) stands for `const struct mount_kind mount_kind_<name>` in
 * mount/<name>.c. */
#define MOUNT_KINDS(X)                                                                             \
	X(tmpfs)                                                                                   \
	X(bind)                                                                                    \
	X(fresh)

#define DECLARE(name) extern const struct mount_kind mount_kind_##name;
#define ADDRESS(name) &mount_kind_##name,
MOUNT_KINDS(DECLARE)
static const struct mount_kind *const kinds[] = {MOUNT_KINDS(ADDRESS)};

const struct mount_kind *mount_kind_by_kind(MntKind kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->kind == kind && kind != MNT_KIND__MNT_KIND_UNKNOWN)
			return kinds[i];
	return NULL;
}

const struct mount_kind *mount_kind_recognise(const struct mount_dump_view *v)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->recognise(v))
			return kinds[i];
	return NULL;
}
