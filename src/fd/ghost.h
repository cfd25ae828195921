/* fd/ghost.h: paths removed while an fd held them, for every kind reached by a path (reg,
 * dir, opath, fifo, chrdev). The dump saves what nothing else can give back: owner, mode and
 * times of the inode, the contents of a regular file with no name left, a symlink's target, or
 * the file handle of a file whose opened name is gone but which has other names. Restore makes
 * the inode again (or finds it by its handle), gives it the removed name for as long as the
 * restore opens files, and removes that name again once every file is open, so readlink of the
 * restored fd shows "<path> (deleted)" as before. A name taken meanwhile by another file is
 * borrowed for an instant (renameat2 RENAME_EXCHANGE) and given back. Nothing this module makes
 * in the filesystem outlives the restore. */
#pragma once

#include "fd/kind.h"

/* Adds reg->removed to fe (whose path record is set, with unlinked) for p, whose link ended in
 * " (deleted)", and stores a regular file's contents once per inode. Refuses (one line,
 * -ENOTSUP) a path it cannot rebuild: a socket, a removed name of a linked file on a filesystem
 * without file handles, anything on a read-only mount. Returns 0 or -errno (logged). */
int fd_ghost_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe);

/* Opens the inode of fe's removed path with flags (O_CLOEXEC added) through a dentry of the
 * dumped name. Returns the fd or -errno (logged). */
int fd_ghost_open(struct fd_restore_ctx *ctx, const FileEntry *fe, uint32_t flags);

/* The image check of fe's removed-path record (rec of files.img). Returns 0 or -EBADMSG
 * (logged). */
int fd_ghost_validate(const struct image_set *set, size_t rec, const FileEntry *fe);
