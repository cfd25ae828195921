/* fd/ghost.h: unlinked regular files (st_nlink 0), shared by the kinds that reach a file by
 * path (reg, opath): their contents are dumped, and restore recreates the file unlinked in
 * its old directory with those contents and mode. */
#pragma once

#include "fd/kind.h"

/* Stores the contents of p's file for fe (whose path record is set). Returns 0 or -errno
 * (logged). */
int fd_ghost_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe);
/* The unlinked file of fe: made and filled once per inode, then reopened with fe's flags.
 * Returns the fd or -errno (logged). */
int fd_ghost_open(struct fd_restore_ctx *ctx, const FileEntry *fe);
