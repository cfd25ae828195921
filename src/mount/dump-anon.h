/* mount/dump-anon.h: anonymous mounts, made by open_tree(OPEN_TREE_CLONE) or fsmount(): in no
 * namespace's table, like a lazily unmounted mount, but still in a mount namespace of their own
 * while the fd open_tree()/fsmount() returned lives, so move_mount() can attach the tree.
 * Tells the two apart and reads such a tree whole, children included, without touching it:
 * a clone of it is attached in a scratch namespace (dump-scratch.h) and read there. */
#pragma once

#include <sys/types.h>

struct mount_entry;
struct mount_table;

/* Whether the mount fd is on is in an anonymous namespace. The kernel clones mounts of an
 * anonymous namespace (open_tree(OPEN_TREE_CLONE)) but never a lazily unmounted one, and clones
 * a tree open_tree() made only from the namespace it was made in: the clone is tried from task
 * holder's namespace, then from minicr's, and closed at once. Returns 1, 0, or -errno (logged). */
int anon_probe(pid_t holder, int fd);

/* The mounts of the anonymous tree whose root root_fd is on (an fd of task holder): *ret_table
 * is a scratch namespace's table where a clone of the tree is attached over "/", *ret_root the
 * clone's root in it; the mounts below it are the tree's, with their mountpoints relative to its
 * root, in parent-first order. Free the table with mount_table_free(). Returns 0 or -errno
 * (logged). */
int anon_tree_read(pid_t holder, int root_fd, struct mount_table **ret_table,
		   const struct mount_entry **ret_root);
