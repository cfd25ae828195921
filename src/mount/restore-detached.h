/* restore-detached.h: rebuild the mounts that fds were opened from but that are in no mount
 * namespace (lazily unmounted), as unattached mounts whose root fds files are opened beneath.
 * Runs in the restored root task; the mounts it makes are never left attached anywhere. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

struct restore_set;
struct restore_detached;

/* Creates an empty context for set's detached mounts. Returns NULL on ENOMEM. */
struct restore_detached *restore_detached_new(const struct restore_set *set,
					      enum cli_detached_method method);
/* Rebuilds every detached mount not rebuilt yet whose source filesystem has a live mount in the
 * caller's mount namespace. METHOD clone: open_tree(OPEN_TREE_CLONE) + mount_setattr on the
 * unattached tree. METHOD mountpoint: in a throwaway copy of the caller's namespace, a fresh
 * /.minicr.detached.XXXXXX directory in a tmpfs of that copy (so a restore killed at any
 * instant leaves none anywhere), bind + flags, root opened, umount2(MNT_DETACH), rmdir.
 * With is_final, a mount still without a source fails. Returns 0 or -errno (logged, naming
 * the mount). */
int restore_detached_prepare(struct restore_detached *d, bool is_final);
/* The O_PATH root fd (borrowed) of detached mount id, or -ENOENT (logged). */
int restore_detached_root(const struct restore_detached *d, uint64_t id);
/* Closes every root fd: the unattached mounts live on only through the files opened beneath
 * them. NULL-safe, returns NULL. */
struct restore_detached *restore_detached_free(struct restore_detached *d);
