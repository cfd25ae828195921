/* fd/fsnotify-target.h: what an inotify watch or a fanotify mark is on, shared by both kinds.
 * Dump: the inode fdinfo names by superblock and file handle is opened through a mount of
 * that filesystem (or an fd of the task on it: a detached mount), and named by its path like
 * any file reached by one; an inode unlinked since can be reached only through an fd of the
 * task that holds it. Mount and filesystem marks are named by the root of a mount. Restore:
 * an O_PATH fd on it, for the "/proc/self/fd/N" the kernel's calls take. */
#pragma once

#include "fd/kind.h"
#include "fd/fsnotify-parse.h"

/* Dump state for one inotify or fanotify fd: mounts opened once per superblock. */
struct fsnotify_targets;

struct fsnotify_targets *fsnotify_targets_new(struct fd_dump_ctx *ctx, const struct fd_params *p);
void fsnotify_targets_free(struct fsnotify_targets *t); /* NULL-safe */

/* The inode (sdev in fdinfo's encoding, handle h): *ret_reg its path record, or, when it was
 * unlinked, *ret_reg NULL and *ret_fd the fd of the task that holds it. what names the watch
 * or mark in log lines. Returns 0, -ENOTSUP (logged: no way to reach it) or -errno (logged). */
int fsnotify_target_inode(struct fsnotify_targets *t, const char *what, uint32_t sdev,
			  const struct fsnotify_handle *h, RegFileEntry **ret_reg, int *ret_fd);
/* The root of the mount with old id mnt_id (mnt_id != 0), or of a mount of superblock sdev:
 * its path record. Returns 0, -ENOTSUP (logged) or -errno (logged). */
int fsnotify_target_mount(struct fsnotify_targets *t, const char *what, uint32_t mnt_id,
			  uint32_t sdev, RegFileEntry **ret_reg);

/* Restore: an O_PATH fd on reg's file (directories included), O_CLOEXEC. Returns it or -errno
 * (logged). */
int fsnotify_target_open(struct fd_restore_ctx *ctx, const RegFileEntry *reg);
