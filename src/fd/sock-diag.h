/* fd/sock-diag.h: what the kernel's sock_diag netlink interface tells about the sockets of
 * minicr's network namespace: one dump of every unix socket, and one of every TCP and UDP
 * socket per address family, taken at the first question and kept for the dump (the tree is
 * frozen, so its sockets do not change meanwhile). Used by the socket kinds at dump only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOCK_DIAG_UNIX_NAME_MAX 108 /* sizeof(sun_path) */

struct sock_diag_unix {
	uint64_t ino;
	uint8_t type;	  /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint8_t state;	  /* TCP_ESTABLISHED, TCP_LISTEN, TCP_CLOSE */
	uint8_t shutdown; /* RCV_SHUTDOWN (1) | SEND_SHUTDOWN (2) */
	size_t name_len;  /* bytes of name; 0: unnamed */
	char name[SOCK_DIAG_UNIX_NAME_MAX];
	bool has_vfs; /* bound to a path: the socket file's device and inode */
	uint32_t vfs_dev;
	uint64_t vfs_ino;
	bool has_peer; /* connected: peer_ino is the peer's inode, 0 for a peer that is gone or
			* not accepted yet */
	uint64_t peer_ino;
	uint64_t *icons; /* listener: inodes of the clients waiting to be accepted, oldest first
			  * (0: a client that has closed) */
	size_t n_icons;
	uint32_t rqueue; /* listener: connections waiting; else bytes queued for reading
			  * (datagram: of the first message only) */
	uint32_t wqueue; /* listener: its backlog; else bytes sent and not yet read by the peer */
	bool has_meminfo;
	uint32_t rcvbuf, sndbuf;
};

struct sock_diag_inet {
	uint64_t ino; /* 0 for a connection not accepted yet, and for time-wait entries */
	uint8_t family, protocol, state, shutdown;
	uint8_t src[16], dst[16]; /* network order; 4 bytes used for AF_INET */
	uint16_t sport, dport;	  /* host order */
	uint32_t ifindex;
	uint32_t rqueue, wqueue; /* listener: queue length and backlog; else bytes unread and
				  * unacknowledged */
	bool has_v6only, v6only;
};

struct sock_diag;

/* NULL on ENOMEM. Nothing is asked of the kernel before the first lookup. */
struct sock_diag *sock_diag_new(void);
struct sock_diag *sock_diag_free(struct sock_diag *d); /* NULL-safe; returns NULL */

/* The unix socket of inode ino in minicr's network namespace. Returns 0 and sets *ret
 * (borrowed), -ENOENT when there is none, or -errno after one log line (the dump failed;
 * -ENOTSUP: the kernel's sock_diag cannot describe unix sockets at all, its module missing). */
int sock_diag_unix_find(struct sock_diag *d, uint64_t ino, const struct sock_diag_unix **ret);
/* Every unix socket of the namespace (after a successful lookup), for searches by name. */
const struct sock_diag_unix *sock_diag_unix_all(const struct sock_diag *d, size_t *ret_n);

/* The TCP or UDP socket (protocol IPPROTO_TCP/UDP) of inode ino and family AF_INET/AF_INET6;
 * same returns as sock_diag_unix_find(). */
int sock_diag_inet_find(struct sock_diag *d, int family, int protocol, uint64_t ino,
			const struct sock_diag_inet **ret);
/* Lists the sockets of that family and protocol now, if not done yet. Returns 0 or -errno
 * (logged). */
int sock_diag_inet_collect(struct sock_diag *d, int family, int protocol);
/* Every socket of that family and protocol (after a successful lookup), embryos included. */
const struct sock_diag_inet *sock_diag_inet_all(const struct sock_diag *d, int family, int protocol,
						size_t *ret_n);
