/* restore-detached.h: rebuild the mounts that fds were opened from but that are in no mount
 * namespace (lazily unmounted), as unattached mounts whose root fds files are opened beneath.
 * Runs in the restored root task; the mounts it makes are never left attached anywhere. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

struct image_set;
struct restore_detached;

/* Creates an empty context for set's detached mounts. Returns NULL on ENOMEM. */
struct restore_detached *restore_detached_new(const struct image_set *set,
					      enum cli_detached_method method);
/* The pass that follows runs in the tree's namespace with dumped id ns_id (0: minicr's own):
 * detached mounts bound from a mount of that namespace are built in it. */
void restore_detached_set_ns(struct restore_detached *d, uint64_t ns_id);

/* Rebuilds every detached mount not rebuilt yet whose source filesystem has a live mount in the
 * caller's mount namespace. METHOD clone: open_tree(OPEN_TREE_CLONE) + mount_setattr on the
 * unattached tree. METHOD mountpoint: in a throwaway copy of the caller's namespace, a fresh
 * /.minicr.detached.XXXXXX directory in a tmpfs of that copy (so a restore killed at any
 * instant leaves none anywhere), bind + flags, root opened, umount2(MNT_DETACH), rmdir.
 * With is_final, a mount still without a source fails. Returns 0 or -errno (logged, naming
 * the mount). */
int restore_detached_prepare(struct restore_detached *d, bool is_final);
/* Checks, changing nothing, that every detached mount of set has a source to be rebuilt from:
 * a live mount of its filesystem holding its root, in minicr's namespace or in the tree's own
 * namespace as the images describe it. Returns 0 or -ENOENT (logged, naming the mount). */
int restore_detached_check(const struct image_set *set);
/* The root fd (borrowed) that files of detached mount id are opened beneath: the mount's own,
 * or for a mount of an anonymous tree the tree's (its mount fd). -ENOENT (logged) if none. */
int restore_detached_root(const struct restore_detached *d, uint64_t id);
/* Closes every root fd: the unattached mounts live on only through the files opened beneath
 * them. NULL-safe, returns NULL. */
struct restore_detached *restore_detached_free(struct restore_detached *d);
