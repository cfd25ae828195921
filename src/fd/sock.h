/* fd/sock.h: what the socket kinds (unix.c, inet.c, tcp-repair.c) share: the network namespace
 * check, options of every socket (SOL_SOCKET), queued messages read without consuming them at
 * dump and written back at restore (FILE_DATA_KIND_SK_* records of file-data.img). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd/kind.h"
#include "fd-sock.pb-c.h"

struct fd_dump_ctx;
struct fd_params;
struct image_set;

/* ---- dump -------------------------------------------------------------------------------- */

/* True if the socket sk_fd lives in minicr's own network namespace (the only one restored).
 * Returns 1, 0, or -errno (logged). */
int sock_in_own_netns(int sk_fd);

/* A socket kind's dump state (fd_dump_kind_state(ctx, type)), calloc'ed with `size` bytes on
 * first use. Its first member must be the `struct sock_diag *` this makes with it, which
 * sock_dump_state_free() frees with the state. NULL on ENOMEM. */
void *sock_dump_state(struct fd_dump_ctx *ctx, FdType type, size_t size);
/* Frees the state of kind `type` (NULL-safe) and clears its slot. */
void sock_dump_state_free(struct fd_dump_ctx *ctx, FdType type);

/* Which options sock_opts_dump() reads and sock_opts_restore() sets. */
enum {
	SOCK_OPT_PASS = 1 << 0,		/* SO_PASSCRED, SO_PASSSEC, SO_PASSPIDFD */
	SOCK_OPT_PEEK = 1 << 1,		/* SO_PEEK_OFF */
	SOCK_OPT_BUFS = 1 << 2,		/* SO_SNDBUF, SO_RCVBUF */
	SOCK_OPT_INET = 1 << 3,		/* reuse, keepalive, linger, device, priority, mark, ... */
	SOCK_OPT_BUFS_CHANGED = 1 << 4, /* restore: the buffers, the send buffer raised since the
					 * socket was made (a new one has the defaults) */
};

/* Reads the options `what` of the socket behind p into a new record (fields left unset keep
 * their defaults). Returns 0 or -errno (logged). */
int sock_opts_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, unsigned int what,
		   SkOptsEntry **ret);

/* What sock_queue_dump() found. */
#define SOCK_QUEUE_PIDS_MAX 8
struct sock_queue_result {
	uint32_t msgs;
	uint64_t bytes;
	int32_t pids[SOCK_QUEUE_PIDS_MAX]; /* distinct sender pids of credentials recorded */
	size_t n_pids;			   /* may exceed SOCK_QUEUE_PIDS_MAX */
	struct {
		uint8_t bytes[128]; /* a distinct source address (with_addr), as stored */
		size_t len;
	} addrs[SOCK_QUEUE_PIDS_MAX];
	size_t n_addrs; /* may exceed SOCK_QUEUE_PIDS_MAX */
};

/* Reads the receive queue of the socket behind p without consuming it (SO_PEEK_OFF is put back
 * as it was) and sends it as FILE_DATA_KIND_SK_QUEUE records owned by file_id, one per message
 * (is_stream: runs of bytes that share their credentials). with_addr records each message's
 * source address, with_creds its sender's credentials (the receiver has SO_PASSCRED); rcv_shut
 * says the socket is shut for reading (a datagram queue then ends with a 0). Refuses
 * (-ENOTSUP, one line naming pid, fd and inode) file descriptors in flight (SCM_RIGHTS).
 * Returns 0, or -errno (logged). */
int sock_queue_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t file_id,
		    bool is_stream, bool with_addr, bool with_creds, bool rcv_shut,
		    struct sock_queue_result *ret);

/* ---- restore ----------------------------------------------------------------------------- */

/* One queued message, its parts joined. */
struct sock_msg {
	const uint8_t *data;
	size_t len;
	const uint8_t *addr; /* source address: a unix name (sun_path bytes), "ADDR PORT" text
			      * for IPv4 and IPv6; NULL for none */
	size_t addr_len;
	const SkCredsEntry *creds; /* or NULL */
};

struct sock_queues;

/* The FILE_DATA_KIND_SK_* records of the image set being restored, indexed by owner: built on
 * first use and kept for the whole restore (the socket kinds share it; its state tag is
 * SOCK_STATE_QUEUES, in the unix kind's tag space). Returns 0 and sets *ret (borrowed), or
 * -ENOMEM (logged). */
#define SOCK_STATE_QUEUES FD_KEEP_TAG(FD_TYPE__FD_TYPE_UNIXSK, 0x80)
int sock_queues_of(struct fd_restore_ctx *ctx, const struct sock_queues **ret);

typedef int (*sock_msg_fn)(void *opaque, const struct sock_msg *m);
/* Calls fn for each message of owner's queue of that kind (SK_QUEUE, SK_SEND), in order; stops
 * at the first negative return and returns it. Returns 0, -EBADMSG for malformed records
 * (logged), or fn's error. */
int sock_queues_each(const struct sock_queues *q, int kind, uint32_t owner, sock_msg_fn fn,
		     void *opaque);
/* Bytes and messages queued for owner (kind SK_QUEUE or SK_SEND). */
uint64_t sock_queues_bytes(const struct sock_queues *q, int kind, uint32_t owner,
			   uint32_t *ret_msgs);

/* Sends one message on fd (a nonblocking write that must go through whole: the buffers were
 * raised to hold the queue), to addr when given, with creds when given. Returns 0 or -errno
 * (logged, naming file_id). */
int sock_send_msg(int fd, const struct sock_msg *m, const void *to, size_t to_len,
		  uint32_t file_id);

/* Sets SO_SNDBUF and SO_RCVBUF (forced: CAP_NET_ADMIN lifts net.core.*mem_max) so that
 * getsockopt reports the given values again; 0 leaves one alone. Returns 0 or -errno
 * (logged). */
int sock_set_bufs(int fd, uint32_t sndbuf, uint32_t rcvbuf, uint32_t file_id);

/* Sets the options `what` of o on fd. Returns 0 or -errno (logged). */
int sock_opts_restore(int fd, const SkOptsEntry *o, unsigned int what, uint32_t file_id);
