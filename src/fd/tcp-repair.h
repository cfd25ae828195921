/* fd/tcp-repair.h: established TCP connections through TCP_REPAIR (CAP_NET_ADMIN). Dump puts the
 * socket in repair mode (so a killed tree sends neither FIN nor RST) and reads its sequence
 * numbers, options, window and both queues; restore makes a socket in repair mode with the same
 * state, which leaves repair mode once every file of the tree exists. Internal to src/fd/. */
#pragma once

#include <stdbool.h>

#include "fd/kind.h"
#include "fd-inet.pb-c.h"

/* Turns repair mode on for the socket behind p and reads its state into a new record
 * (*ret) and its queues into file-data.img records of file fe->id. Returns 0 or -errno
 * (logged); on success the socket is left in repair mode: tcp_repair_leave() ends it. */
int tcp_repair_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, const FileEntry *fe,
		    TcpRepairEntry **ret);
/* Ends repair mode without a window probe (the dump failed or the tree goes on). */
void tcp_repair_leave(int fd);

/* Rebuilds the connection of ie on fd (a new TCP socket of its family): repair mode, bound to
 * its source, sequence numbers, connected without a handshake, options, queues, window. The
 * socket stays in repair mode. Returns 0 or -errno (logged). */
int tcp_repair_restore(struct fd_restore_ctx *ctx, int fd, const FileEntry *fe,
		       const InetSkEntry *ie, const void *src, size_t src_len, const void *dst,
		       size_t dst_len);
/* Leaves repair mode: the connection runs again (a window probe tells the peer). Returns 0 or
 * -errno (logged). */
int tcp_repair_finish(int fd, uint32_t file_id);
