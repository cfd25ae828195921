/* mount/build.h: the state shared by the two rebuilds of mounts (restore-ns.c for a namespace,
 * restore-detached.c for unattached mounts): where live mounts of a superblock are found, the
 * superblocks kinds made, and the generic step from a mount_spec to an unattached clone of its
 * root. Runs in the restored root task; makes mounts through fds only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "detached-mnt.pb-c.h"
#include "mnt.pb-c.h"
#include "mount/kind.h"

struct image_set;
struct mount_table;

/* Mounts made by the caller that may serve as bind sources, asked before the live table: the
 * root fd (borrowed) of one whose superblock and root contain spec's, and spec->root below it.
 * Returns 0, or -ENOENT. */
typedef int (*mount_build_made_fn)(void *opaque, const struct mount_spec *spec, int *ret_fd,
				   const char **ret_sub);

/* NULL on ENOMEM. */
struct mount_build *mount_build_new(const struct image_set *set);
/* Closes every fd it keeps; NULL-safe; returns NULL. */
struct mount_build *mount_build_free(struct mount_build *b);
static inline void mount_build_freep(struct mount_build **b)
{
	mount_build_free(*b);
}

/* The mounts of the namespace the build works in (borrowed; NULL: none), and its root. Live
 * sources are opened beneath root_fd by mountpoint, never through a symlink. */
void mount_build_set_live(struct mount_build *b, const struct mount_table *live, int root_fd);
void mount_build_set_made(struct mount_build *b, mount_build_made_fn made, void *opaque);

/* spec of a mount of a namespace image, or of a detached mount; `what` is stored in buf. */
void mount_spec_of_mnt(const MntEntry *e, char *buf, size_t size, struct mount_spec *ret);
void mount_spec_of_detached(const DetachedMntEntry *e, char *buf, size_t size,
			    struct mount_spec *ret);

/* spec's kind finds or makes its superblock; returns its source fd (borrowed) and spec->root
 * below it. Returns 0 or -errno (logged). */
int mount_build_source(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
		       const char **ret_sub);
/* An O_PATH fd of spec's root inside the source its kind provides (owned by the caller).
 * Returns it or -errno (logged). */
int mount_build_open_root(struct mount_build *b, const struct mount_spec *spec);
/* An unattached clone of spec's root (open_tree(OPEN_TREE_CLONE) of its source + sub): the fd
 * is owned by the caller. Returns it or -errno (logged). */
int mount_build_clone(struct mount_build *b, const struct mount_spec *spec);

/* MOUNT_ATTR_* bits minicr restores on a mount. */
#define MOUNT_BUILD_ATTRS                                                                          \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |            \
	 MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MINICR_MOUNT_ATTR_NOSYMFOLLOW)
/* Sets exactly the MOUNT_BUILD_ATTRS of attr (and propagation when nonzero, MS_* value) on the
 * mount behind fd. Returns 0 or -errno (logged, naming what). */
int mount_set_attrs(int fd, uint64_t attr, uint64_t propagation, const char *what);
