/* fd/unix.h: the two halves of the unix socket kind: unix.c (recognise, dump, the checks across
 * the tree, validate) and unix-restore.c (every unix socket of the tree rebuilt at once, the
 * first time one is opened). Internal to src/fd/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd/kind.h"

/* The rebuilt sockets, held until their files are opened: the kind's restore state, under this
 * tag. */
#define UNIX_STATE_REBUILT FD_KEEP_TAG(FD_TYPE__FD_TYPE_UNIXSK, 0)
struct unix_rebuilt {
	bool is_built; /* rebuilt (or failed to): once per restore */
	int *fds;      /* per files.img index: the socket, or -1 (none, or handed over) */
	size_t n;
};
/* Closes what was not handed over: the state's release. */
void unix_rebuilt_release(void *rebuilt);

/* Rebuilds every unix socket of the image set in this process: created, bound, listening,
 * connected (pairs, accepted connections, clients waiting in accept queues, datagram peers),
 * queues refilled, shut down, options set; each put into rb->fds (rb->n: the set's files).
 * Returns 0 or -errno (logged). */
int unix_restore_all(struct fd_restore_ctx *ctx, struct unix_rebuilt *rb);

/* True for a name in the abstract namespace (a leading NUL byte). */
static inline bool unix_name_is_abstract(const uint8_t *name, size_t len)
{
	return len > 0 && name[0] == 0;
}
