/* mount/dump-scratch.h: a thread of minicr's with a mount namespace of its own, for looking at
 * mounts no namespace shows. A thread may leave minicr's namespace alone (unshare(CLONE_FS) gives
 * it its own root and cwd): it enters the namespace of a task of the tree (where that task's
 * anonymous mounts may be cloned) or makes a private copy of one, attaches what it needs to read
 * there, and everything it mounted goes away with the thread. Nothing any other process can see
 * changes. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mount_entry;
struct mount_table;

/* Runs fn(opaque) on a new thread that first enters the mount namespace of task pid (0: stays
 * in minicr's), and waits for it. Returns fn's result (fn logs its own failures), or -errno
 * when the thread cannot start or enter the namespace: logged unless quiet. */
int scratch_run(pid_t pid, int (*fn)(void *opaque), void *opaque, bool quiet);

/* In fn: turns the thread's namespace into a private copy of itself, where mounts propagate
 * nowhere. Returns 0 or -errno (logged). */
int scratch_private_ns(void);

/* In fn, after scratch_private_ns(): attaches the unattached mount (tree) mnt_fd over "/" and
 * collects the thread's mount table: *ret_root is mnt_fd's mount in it, the mountpoints of the
 * mounts below it are relative to it. Free the table with mount_table_free(). Returns 0 or
 * -errno (logged). */
int scratch_attach(int mnt_fd, struct mount_table **ret_table, const struct mount_entry **ret_root);
