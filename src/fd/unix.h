/* fd/unix.h: the two halves of the unix socket kind: unix.c (recognise, dump, the checks across
 * the tree, validate) and unix-restore.c (every unix socket of the tree rebuilt at once, the
 * first time one is opened). Internal to src/fd/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd/kind.h"

/* Where unix-restore.c keeps each rebuilt socket until its file is opened (key: file id), and
 * the mark that the whole set was rebuilt (key 0, kept alone). */
#define UNIX_KEEP_SOCK FD_KEEP_TAG(FD_TYPE__FD_TYPE_UNIXSK, 0)
#define UNIX_KEEP_DONE FD_KEEP_TAG(FD_TYPE__FD_TYPE_UNIXSK, 1)

/* Rebuilds every unix socket of the image set in this process: created, bound, listening,
 * connected (pairs, accepted connections, clients waiting in accept queues, datagram peers),
 * queues refilled, shut down, options set; each kept under (UNIX_KEEP_SOCK, file id). Returns
 * 0 or -errno (logged). */
int unix_restore_all(struct fd_restore_ctx *ctx);

/* True for a name in the abstract namespace (a leading NUL byte). */
static inline bool unix_name_is_abstract(const uint8_t *name, size_t len)
{
	return len > 0 && name[0] == 0;
}
