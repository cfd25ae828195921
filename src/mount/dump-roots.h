/* mount/dump-roots.h: open the root of a mount of one of the tree's namespaces from inside that
 * namespace, whatever covers it: a helper process enters the namespace (its root is then the
 * namespace's, whatever the tasks' chroots), opens the mountpoint without following a symlink
 * and checks the mount id; a mount covered by later mounts (an overmount, or a mount on a
 * directory another mount hides) is opened in a private copy of the namespace where exactly the
 * mounts on top of it and of its ancestors are taken away. The tree's namespace is not changed.
 */
#pragma once

struct mount_table;
struct mount_entry;

/* The root of mount m of table t (collected through task mount_table_pid(t)): an O_RDONLY fd
 * for a directory, O_PATH for anything else. Returns the fd or -errno (logged, naming the
 * mount). */
int mount_root_open(const struct mount_table *t, const struct mount_entry *m);

/* For every mount of t whose root was removed from its filesystem: the mode and owner of that
 * root, read from inside the namespace and kept in t, which restore makes the directory again
 * with. A removed root that is not a directory (a bind of a removed file, whose contents go with
 * it) is refused. Returns 0 or -errno (logged, naming the mount). */
int mount_stat_removed_roots(struct mount_table *t);
