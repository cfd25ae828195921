/* parasite-rpc.h: minicr's end of the parasite's control socket: a unix SOCK_SEQPACKET socket
 * with an abstract name in the task's network namespace, one connection accepted from the task,
 * framed messages (parasite-abi.h) with fds passed by SCM_RIGHTS, the parasite's log records
 * printed as they come. It knows nothing of ptrace: while it waits it asks its watch callback
 * whether the parasite still runs. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

struct parasite_rpc;

/* Called every few tens of milliseconds while a reply is awaited: 0 if the parasite may still
 * answer, -errno (already logged) if it cannot any more. */
typedef int (*parasite_rpc_watch_fn)(void *opaque);

/* Creates the listening socket (socket+bind+listen after a setns() into the network namespace
 * of task pid and back, since abstract names are per net ns) and its address for the parasite.
 * Returns 0 or -errno (logged). */
int parasite_rpc_listen(pid_t pid, parasite_rpc_watch_fn watch, void *opaque,
			struct parasite_rpc **ret_rpc, struct sockaddr_un *ret_addr,
			socklen_t *ret_addr_len);

/* Accepts the parasite's connection (only a peer whose SO_PEERCRED pid is the task's), then
 * closes the listening socket. Returns 0 or -errno (logged). */
int parasite_rpc_accept(struct parasite_rpc *rpc);

/* Sends cmd with payload. Returns 0 or -errno (logged). */
int parasite_rpc_send(struct parasite_rpc *rpc, uint32_t cmd, const void *payload, uint32_t len);

/* Receives the reply to cmd, printing log records that come first. The parasite's result (0 or
 * -errno from inside the task, not logged) goes to *ret_remote, the payload to buf (*ret_len
 * bytes, may be NULL), fds to fds (*ret_n_fds, O_CLOEXEC, owned by the caller; may be NULL).
 * Returns 0 if a reply came, or -errno (logged) if none can come. */
int parasite_rpc_recv(struct parasite_rpc *rpc, uint32_t cmd, int *ret_remote, void *buf,
		      size_t buf_len, size_t *ret_len, int *fds, size_t max_fds, size_t *ret_n_fds);

/* Closes both sockets; the parasite then sees end of file. NULL-safe, returns NULL. */
struct parasite_rpc *parasite_rpc_free(struct parasite_rpc *rpc);
