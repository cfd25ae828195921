/* mount/restore-ns.h: rebuild the tree's mount namespaces in the restored root task. Each one is
 * a private copy of minicr's namespace reconciled with its dumped table (the same mounts kept,
 * the others removed, the missing ones made through fds, parent first, overmounts after what
 * they cover; a namespace whose root is not minicr's gets its dumped root in its place), then
 * peer groups and masters are set across all of them (restore-propagation.c). What later steps
 * need is kept as fds: each namespace, its root, and the roots of the mounts that files are
 * opened beneath. The caller ends up back in minicr's namespace. */
#pragma once

#include <stddef.h>

struct image_set;
struct restore_ns;

/* Prepares the rebuild of set's namespaces; takes fds of minicr's namespace, root and /proc.
 * Returns 0 and sets *ret, or -errno (logged). Nothing is changed yet. */
int restore_ns_new(const struct image_set *set, struct restore_ns **ret);
/* Closes every fd it keeps; NULL-safe; returns NULL. */
struct restore_ns *restore_ns_free(struct restore_ns *r);

/* Called inside each namespace once it is built, before the next one (detached mounts whose
 * source lives there). Returns 0 or -errno (logged). */
typedef int (*restore_ns_in_fn)(void *opaque, size_t ns);

/* Builds every namespace of the set, then their propagation; returns with the caller in
 * minicr's namespace. Returns 0 or -errno (logged, naming the namespace and mount). A failure
 * leaves only namespaces that disappear with the caller. */
int restore_ns_build(struct restore_ns *r, restore_ns_in_fn in_ns, void *opaque);

/* The root (O_PATH fd, borrowed) of mount mnt_idx (an index of set->mnts) that files are
 * opened beneath, or -ENOENT (not logged) when none was kept. Safe on several threads. */
int restore_ns_mount_root(const struct restore_ns *r, size_t mnt_idx);
/* Closes the mount roots kept for files, once every file is open. */
void restore_ns_close_mount_roots(struct restore_ns *r);

/* For the task that enters namespace ns (an index of set->mntns, or -1 for minicr's): dups the
 * namespace's fd and root (an O_PATH fd of what "/" is in it, for paths as dumped) to numbers
 * of at least min_fd, sets them in *ret_ns_fd and *ret_root_fd (owned by the caller), and closes
 * every fd the context holds. Returns 0 or -errno (logged). */
int restore_ns_take(struct restore_ns *r, int ns, int min_fd, int *ret_ns_fd, int *ret_root_fd);
