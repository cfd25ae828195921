/* restore-mntns.h: rebuild the tree's own mount namespace in the root task: a private copy of
 * minicr's namespace reconciled with the dumped table (mounts that match are kept, others
 * removed, missing ones created parent first: binds from a mount of the same superblock,
 * fresh filesystems with their options), per-mount flags, propagation, tmpfs contents. */
#pragma once

struct image_set;

/* unshare(CLONE_NEWNS) in the caller, then rebuilds set's namespace there. Returns 0 or -errno
 * (logged, naming the mount). A failure leaves the caller in a half-built namespace of its
 * own, which disappears with it. */
int restore_mntns_build(const struct image_set *set);
