/* fd/sock.c: helpers of the socket kinds: the namespace check, SOL_SOCKET options, and queues.
 * A queue is read with MSG_PEEK from a peek offset of 0, each peek moving the offset on, so the
 * socket keeps every byte; its old SO_PEEK_OFF is put back. */
#define LOG_PREFIX "fd-sock: "
#include "fd/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/sock-diag.h"
#include "image-set/image-set.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif

/* ---- the kinds' dump state ------------------------------------------------------------- */

/* The shape every socket kind's state starts with. */
struct sock_state_head {
	struct sock_diag *diag;
};

void *sock_dump_state(struct fd_dump_ctx *ctx, FdType type, size_t size)
{
	void **slot = fd_dump_kind_state(ctx, type);
	struct sock_state_head *st = *slot;

	if (st)
		return st;
	st = calloc(1, size);
	if (!st)
		return NULL;
	st->diag = sock_diag_new();
	if (!st->diag) {
		free(st);
		return NULL;
	}
	*slot = st;
	return st;
}

void sock_dump_state_free(struct fd_dump_ctx *ctx, FdType type)
{
	void **slot = fd_dump_kind_state(ctx, type);
	struct sock_state_head *st = *slot;

	if (!st)
		return;
	sock_diag_free(st->diag);
	free(st);
	*slot = NULL;
}

/* ---- namespace ---------------------------------------------------------------------------- */

int sock_in_own_netns(int sk_fd)
{
	static ino_t own_ino;
	struct stat st;
	int ns_fd;

	if (!own_ino) {
		if (stat("/proc/self/ns/net", &st) < 0)
			return pr_errno("cannot read minicr's network namespace");
		own_ino = st.st_ino;
	}
	ns_fd = ioctl(sk_fd, SIOCGSKNS);
	if (ns_fd < 0)
		return pr_errno("cannot read the network namespace of a socket");
	if (fstat(ns_fd, &st) < 0) {
		int r = pr_errno("cannot read the network namespace of a socket");

		close(ns_fd);
		return r;
	}
	close(ns_fd);
	return st.st_ino == own_ino;
}

/* ---- options ------------------------------------------------------------------------------ */

static int get_int(int fd, int level, int name, int *ret)
{
	socklen_t len = sizeof(*ret);

	return getsockopt(fd, level, name, ret, &len) < 0 ? -errno : 0;
}

/* The boolean and integer options of SOL_SOCKET, by the fields of their record. */
struct opt_field {
	int name;
	unsigned int what;
	size_t has_off, val_off;
	bool is_bool;
};

#define OPT_BOOL(n, w, f)                                                                          \
	{                                                                                          \
		n, w, offsetof(SkOptsEntry, has_##f), offsetof(SkOptsEntry, f), true               \
	}
#define OPT_UINT(n, w, f)                                                                          \
	{                                                                                          \
		n, w, offsetof(SkOptsEntry, has_##f), offsetof(SkOptsEntry, f), false              \
	}

static const struct opt_field opt_fields[] = {
    OPT_BOOL(SO_PASSCRED, SOCK_OPT_PASS, passcred),
    OPT_BOOL(SO_PASSSEC, SOCK_OPT_PASS, passsec),
    OPT_BOOL(SO_PASSPIDFD, SOCK_OPT_PASS, passpidfd),
    OPT_BOOL(SO_REUSEADDR, SOCK_OPT_INET, reuseaddr),
    OPT_BOOL(SO_REUSEPORT, SOCK_OPT_INET, reuseport),
    OPT_BOOL(SO_KEEPALIVE, SOCK_OPT_INET, keepalive),
    OPT_BOOL(SO_BROADCAST, SOCK_OPT_INET, broadcast),
    OPT_BOOL(SO_OOBINLINE, SOCK_OPT_INET, oobinline),
    OPT_BOOL(SO_TIMESTAMP_OLD, SOCK_OPT_INET, timestamp),
    OPT_UINT(SO_PRIORITY, SOCK_OPT_INET, priority),
    OPT_UINT(SO_MARK, SOCK_OPT_INET, mark),
    OPT_UINT(SO_RCVLOWAT, SOCK_OPT_INET, rcvlowat),
};

int sock_opts_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, unsigned int what,
		   SkOptsEntry **ret)
{
	SkOptsEntry *o = FD_DUMP_NEW(ctx, SkOptsEntry, SK_OPTS_ENTRY__INIT);
	int v, r;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(opt_fields); i++) {
		const struct opt_field *f = &opt_fields[i];

		if (!(f->what & what))
			continue;
		r = get_int(p->local_fd, SOL_SOCKET, f->name, &v);
		/* SO_PASSPIDFD is 6.5+; an option the kernel lacks was never set */
		if (r == -ENOPROTOOPT)
			continue;
		if (r < 0) {
			errno = -r;
			return pr_errno("cannot read option %d of socket fd %d of task %d", f->name,
					p->fd, (int)p->pid);
		}
		*(protobuf_c_boolean *)((char *)o + f->has_off) = true;
		if (f->is_bool)
			*(protobuf_c_boolean *)((char *)o + f->val_off) = v != 0;
		else
			*(uint32_t *)((char *)o + f->val_off) = (uint32_t)v;
	}
	if (what & SOCK_OPT_PEEK) {
		r = get_int(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &v);
		if (r < 0 && r != -EOPNOTSUPP && r != -ENOPROTOOPT) {
			errno = -r;
			return pr_errno("cannot read SO_PEEK_OFF of socket fd %d of task %d", p->fd,
					(int)p->pid);
		}
		if (r == 0 && v >= 0) {
			o->has_peek_off = true;
			o->peek_off = v;
		}
	}
	if (what & SOCK_OPT_BUFS) {
		int snd, rcv;

		if ((r = get_int(p->local_fd, SOL_SOCKET, SO_SNDBUF, &snd)) < 0 ||
		    (r = get_int(p->local_fd, SOL_SOCKET, SO_RCVBUF, &rcv)) < 0) {
			errno = -r;
			return pr_errno("cannot read the buffer sizes of socket fd %d of task %d",
					p->fd, (int)p->pid);
		}
		o->has_sndbuf = o->has_rcvbuf = true;
		o->sndbuf = (uint32_t)snd;
		o->rcvbuf = (uint32_t)rcv;
	}
	if (what & SOCK_OPT_INET) {
		struct linger l;
		socklen_t len = sizeof(l);
		char dev[IFNAMSIZ] = "";

		if (getsockopt(p->local_fd, SOL_SOCKET, SO_LINGER, &l, &len) < 0)
			return pr_errno("cannot read SO_LINGER of socket fd %d of task %d", p->fd,
					(int)p->pid);
		if (l.l_onoff) {
			o->has_linger_on = o->has_linger = true;
			o->linger_on = true;
			o->linger = (uint32_t)l.l_linger;
		}
		len = sizeof(dev);
		if (getsockopt(p->local_fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) < 0)
			return pr_errno("cannot read SO_BINDTODEVICE of socket fd %d of task %d",
					p->fd, (int)p->pid);
		if (len > 0 && dev[0]) {
			dev[IFNAMSIZ - 1] = 0;
			o->bind_dev = fd_dump_strdup(ctx, dev);
			if (!o->bind_dev)
				return -ENOMEM;
		}
	}
	*ret = o;
	return 0;
}

int sock_set_bufs(int fd, uint32_t sndbuf, uint32_t rcvbuf, uint32_t file_id)
{
	/* the kernel doubles what it is given; the forced options skip net.core.*mem_max */
	int snd = (int)(sndbuf / 2), rcv = (int)(rcvbuf / 2);

	if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		return pr_errno("cannot set the send buffer of socket file %u to %u", file_id,
				sndbuf);
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		return pr_errno("cannot set the receive buffer of socket file %u to %u", file_id,
				rcvbuf);
	return 0;
}

static uint32_t default_snd, default_rcv;

static void read_default_bufs(void)
{
	cleanup_free char *w = NULL, *r = NULL;

	default_snd = read_file_at(AT_FDCWD, "/proc/sys/net/core/wmem_default", &w) > 0
			  ? (uint32_t)strtoul(w, NULL, 10)
			  : 0;
	default_rcv = read_file_at(AT_FDCWD, "/proc/sys/net/core/rmem_default", &r) > 0
			  ? (uint32_t)strtoul(r, NULL, 10)
			  : 0;
}

/* What a new socket gets (net.core.wmem_default, rmem_default), read once (sockets are
 * rebuilt on several threads); 0 if unknown. */
static void default_bufs(uint32_t *ret_snd, uint32_t *ret_rcv)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, read_default_bufs);
	*ret_snd = default_snd;
	*ret_rcv = default_rcv;
}

int sock_opts_restore(int fd, const SkOptsEntry *o, unsigned int what, uint32_t file_id)
{
	int r;

	if (!o)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(opt_fields); i++) {
		const struct opt_field *f = &opt_fields[i];
		int v;

		if (!(f->what & what) ||
		    !*(const protobuf_c_boolean *)((const char *)o + f->has_off))
			continue;
		v = f->is_bool ? *(const protobuf_c_boolean *)((const char *)o + f->val_off)
			       : (int)*(const uint32_t *)((const char *)o + f->val_off);
		/* only what differs from a new socket's defaults, which are all 0 here */
		if (!v)
			continue;
		if (setsockopt(fd, SOL_SOCKET, f->name, &v, sizeof(v)) < 0)
			return pr_errno("cannot set option %d of socket file %u", f->name, file_id);
	}
	if ((what & SOCK_OPT_PEEK) && o->has_peek_off &&
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &o->peek_off, sizeof(o->peek_off)) < 0)
		return pr_errno("cannot set SO_PEEK_OFF of socket file %u", file_id);
	if (what & (SOCK_OPT_BUFS | SOCK_OPT_BUFS_CHANGED)) {
		uint32_t snd = o->has_sndbuf ? o->sndbuf : 0, rcv = o->has_rcvbuf ? o->rcvbuf : 0;
		uint32_t def_snd, def_rcv;

		/* a new socket has the defaults already, unless they were changed meanwhile */
		default_bufs(&def_snd, &def_rcv);
		if (!(what & SOCK_OPT_BUFS_CHANGED) && snd == def_snd)
			snd = 0;
		if (rcv == def_rcv)
			rcv = 0;
		r = sock_set_bufs(fd, snd, rcv, file_id);
		if (r < 0)
			return r;
	}
	if (what & SOCK_OPT_INET) {
		if (o->linger_on) {
			struct linger l = {.l_onoff = 1, .l_linger = (int)o->linger};

			if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
				return pr_errno("cannot set SO_LINGER of socket file %u", file_id);
		}
		if (o->bind_dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->bind_dev,
					      (socklen_t)strlen(o->bind_dev)) < 0)
			return pr_errno("cannot bind socket file %u to device '%s'", file_id,
					o->bind_dev);
	}
	return 0;
}

/* ---- queues at dump ----------------------------------------------------------------------- */

/* Room for any control message a peek may bring: fds (refused), credentials, a pidfd. */
#define CMSG_ROOM (CMSG_SPACE(253 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) + 256)

struct peek {
	uint8_t *buf;
	size_t size;
	union {
		/* a cmsghdr's alignment (CMSG_ALIGN): the struct itself ends in a flexible array,
		 * which clang refuses anywhere but at the end of a struct */
		size_t align;
		char bytes[CMSG_ROOM];
	} control;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char addr_out[INET6_ADDRSTRLEN + 16]; /* the source as stored: see encode_addr() */
	size_t addr_out_len;
	bool has_creds, has_fds;
	struct ucred creds;
	int flags;
};

/* Looks at the control messages of one peek: closes whatever fds the kernel put into minicr
 * (in-flight SCM_RIGHTS, a sender's pidfd) and keeps the credentials. */
static void peek_control(struct peek *pk, struct msghdr *mh)
{
	pk->has_creds = pk->has_fds = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS || c->cmsg_type == SCM_PIDFD) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[256];

			if (c->cmsg_type == SCM_RIGHTS)
				pk->has_fds = true;
			if (n > ARRAY_SIZE(fds))
				n = ARRAY_SIZE(fds);
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
			for (size_t i = 0; i < n; i++)
				close(fds[i]);
		} else if (c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&pk->creds, CMSG_DATA(c), sizeof(pk->creds));
			/* pid 0: the message carries no credentials (none were asked for when it
			 * was sent), and a message sent again without them shows the same */
			pk->has_creds = pk->creds.pid != 0;
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		pk->has_fds = true;
}

/* The source address as file-data.img keeps it: a unix name's bytes (sun_path, empty for an
 * unnamed sender), or "ADDR PORT" text for IPv4 and IPv6. */
static void encode_addr(struct peek *pk)
{
	const struct sockaddr_storage *a = &pk->addr;
	char text[INET6_ADDRSTRLEN];
	size_t off = offsetof(struct sockaddr_un, sun_path);

	pk->addr_out_len = 0;
	if (a->ss_family == AF_UNIX && pk->addr_len > off && pk->addr_len <= sizeof(*a)) {
		pk->addr_out_len = pk->addr_len - off;
		memcpy(pk->addr_out, ((const struct sockaddr_un *)a)->sun_path, pk->addr_out_len);
	} else if (a->ss_family == AF_INET &&
		   inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, text,
			     sizeof(text))) {
		pk->addr_out_len =
		    (size_t)snprintf(pk->addr_out, sizeof(pk->addr_out), "%s %u", text,
				     ntohs(((const struct sockaddr_in *)a)->sin_port));
	} else if (a->ss_family == AF_INET6 &&
		   inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, text,
			     sizeof(text))) {
		pk->addr_out_len =
		    (size_t)snprintf(pk->addr_out, sizeof(pk->addr_out), "%s %u", text,
				     ntohs(((const struct sockaddr_in6 *)a)->sin6_port));
	}
}

/* One peek at the current peek offset. Returns the message's full length (datagrams) or the
 * bytes read (streams), -EAGAIN at the end of the queue, or another -errno. */
static ssize_t peek_one(int fd, struct peek *pk, bool is_stream)
{
	struct iovec iov = {.iov_base = pk->buf, .iov_len = pk->size};
	struct msghdr mh = {
	    .msg_name = &pk->addr,
	    .msg_namelen = sizeof(pk->addr),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = pk->control.bytes,
	    .msg_controllen = sizeof(pk->control.bytes),
	};
	ssize_t n = recvmsg(
	    fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (is_stream ? 0 : MSG_TRUNC));

	if (n < 0)
		return -errno;
	pk->addr_len = mh.msg_namelen;
	pk->flags = mh.msg_flags;
	encode_addr(pk);
	peek_control(pk, &mh);
	return n;
}

static int emit_msg(struct fd_dump_ctx *ctx, uint32_t file_id, const struct peek *pk, size_t len,
		    bool with_addr, bool with_creds)
{
	FileDataEntry e = FILE_DATA_ENTRY__INIT;
	SkCredsEntry creds = SK_CREDS_ENTRY__INIT;
	size_t off = 0;

	/* a message larger than a chunk goes in several records, the first with the total */
	do {
		size_t n = len - off < FD_DATA_CHUNK_MAX ? len - off : FD_DATA_CHUNK_MAX;
		int r;

		e.kind = FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE;
		e.owner_id = file_id;
		e.has_offset = true;
		e.offset = off;
		e.has_data = true;
		e.data.data = pk->buf + off;
		e.data.len = n;
		e.has_total_size = off == 0;
		e.total_size = len;
		e.has_sk_addr = off == 0 && with_addr;
		e.sk_addr.data = (uint8_t *)pk->addr_out;
		e.sk_addr.len = pk->addr_out_len;
		e.sk_creds = NULL;
		if (off == 0 && with_creds && pk->has_creds) {
			creds.pid = pk->creds.pid;
			creds.uid = pk->creds.uid;
			creds.gid = pk->creds.gid;
			e.sk_creds = &creds;
		}
		r = fd_dump_data(ctx, &e);
		if (r < 0)
			return r;
		off += n;
	} while (off < len);
	return 0;
}

static void note_pid(struct sock_queue_result *res, int32_t pid)
{
	for (size_t i = 0; i < res->n_pids && i < SOCK_QUEUE_PIDS_MAX; i++)
		if (res->pids[i] == pid)
			return;
	if (res->n_pids < SOCK_QUEUE_PIDS_MAX)
		res->pids[res->n_pids] = pid;
	res->n_pids++;
}

static void note_addr(struct sock_queue_result *res, const struct peek *pk)
{
	size_t len = pk->addr_out_len <= sizeof(res->addrs[0].bytes) ? pk->addr_out_len : 0;

	for (size_t i = 0; i < res->n_addrs && i < SOCK_QUEUE_PIDS_MAX; i++)
		if (res->addrs[i].len == len && memcmp(res->addrs[i].bytes, pk->addr_out, len) == 0)
			return;
	if (res->n_addrs < SOCK_QUEUE_PIDS_MAX) {
		memcpy(res->addrs[res->n_addrs].bytes, pk->addr_out, len);
		res->addrs[res->n_addrs].len = len;
	}
	res->n_addrs++;
}

static int peek_all(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t file_id,
		    bool is_stream, bool with_addr, bool with_creds, bool rcv_shut, struct peek *pk,
		    struct sock_queue_result *res)
{
	int offset = 0;

	for (;;) {
		ssize_t n = peek_one(p->local_fd, pk, is_stream);
		int r;

		if (n == -EAGAIN || (n == 0 && is_stream))
			return 0;
		if (n < 0) {
			errno = (int)-n;
			return pr_errno("cannot read the queue of socket fd %d of task %d (%s)",
					p->fd, (int)p->pid, p->link);
		}
		if (pk->has_fds) {
			pr_err(
			    "cannot dump fd %d of task %d (%s): file descriptors in flight in its "
			    "queue (SCM_RIGHTS) are not supported",
			    p->fd, (int)p->pid, p->link);
			return -ENOTSUP;
		}
		if ((size_t)n > pk->size) {
			/* a datagram larger than the buffer: peek it again whole */
			size_t size = (size_t)n;
			uint8_t *buf = realloc(pk->buf, size);

			if (!buf)
				return -ENOMEM;
			pk->buf = buf;
			pk->size = size;
			if (setsockopt(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &offset,
				       sizeof(offset)) < 0)
				return pr_errno("cannot move the peek offset of socket fd %d of "
						"task %d",
						p->fd, (int)p->pid);
			continue;
		}
		/* a socket shut for reading answers 0 at the end of its datagrams too */
		if (n == 0 && !is_stream && rcv_shut && pk->addr_len == 0 && !pk->has_creds)
			return 0;
		r = emit_msg(ctx, file_id, pk, (size_t)n, with_addr, with_creds);
		if (r < 0)
			return r;
		if (with_creds && pk->has_creds)
			note_pid(res, pk->creds.pid);
		if (with_addr)
			note_addr(res, pk);
		res->msgs++;
		res->bytes += (uint64_t)n;
		/* a failure half way through the queue must leave it whole */
		if (dump_fault("sock-queue") < 0)
			return -EIO;
		offset += (int)n;
		if (offset < 0) {
			pr_err("cannot dump fd %d of task %d (%s): its queue holds more than 2 GiB",
			       p->fd, (int)p->pid, p->link);
			return -EFBIG;
		}
	}
}

int sock_queue_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t file_id,
		    bool is_stream, bool with_addr, bool with_creds, bool rcv_shut,
		    struct sock_queue_result *ret)
{
	struct peek pk = {.size = 64u << 10};
	struct sock_queue_result res = {0};
	int old_off, zero = 0, r, r2;

	r = get_int(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &old_off);
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot read SO_PEEK_OFF of socket fd %d of task %d", p->fd,
				(int)p->pid);
	}
	pk.buf = malloc(pk.size);
	if (!pk.buf)
		return -ENOMEM;
	if (setsockopt(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		free(pk.buf);
		return pr_errno("cannot set SO_PEEK_OFF of socket fd %d of task %d", p->fd,
				(int)p->pid);
	}
	r = peek_all(ctx, p, file_id, is_stream, with_addr, with_creds, rcv_shut, &pk, &res);
	free(pk.buf);
	/* the socket must come out as it went in, whatever happened */
	if (setsockopt(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &old_off, sizeof(old_off)) < 0) {
		r2 = pr_errno("cannot put SO_PEEK_OFF of socket fd %d of task %d back", p->fd,
			      (int)p->pid);
		if (r == 0)
			r = r2;
	}
	if (r == 0)
		*ret = res;
	return r;
}

/* ---- queues at restore -------------------------------------------------------------------- */

/* One queue of one socket file: its records form a list through next[], in record order. */
struct sock_queue {
	uint32_t first; /* index in set->data + 1; 0: empty */
	uint32_t msgs;
	uint64_t bytes;
};

struct sock_queues {
	const struct image_set *set;
	struct sock_queue *by_file[2]; /* per files.img index: SK_QUEUE, SK_SEND */
	uint32_t *next;		       /* per file-data.img record: the queue's next one + 1 */
};

static int queue_slot(int kind)
{
	return kind == FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE	? 0
	       : kind == FILE_DATA_KIND__FILE_DATA_KIND_SK_SEND ? 1
								: -1;
}

static struct sock_queue *queue_of(const struct sock_queues *q, int kind, uint32_t owner)
{
	int k = queue_slot(kind);
	ssize_t f = k >= 0 ? image_set_file(q->set, owner) : -1;

	return f >= 0 ? &q->by_file[k][f] : NULL;
}

static void sock_queues_release(void *state)
{
	struct sock_queues *q = state;

	free(q->by_file[0]);
	free(q->by_file[1]);
	free(q->next);
}

/* Fills q (zeroed) with the index of set's queues. Returns 0 or -ENOMEM (logged). */
static int sock_queues_build(struct sock_queues *q, const struct image_set *set)
{
	size_t n_files = set->n_files ? set->n_files : 1;

	q->by_file[0] = calloc(n_files, sizeof(*q->by_file[0]));
	q->by_file[1] = calloc(n_files, sizeof(*q->by_file[1]));
	q->next = calloc(set->n_data ? set->n_data : 1, sizeof(*q->next));
	if (!q->by_file[0] || !q->by_file[1] || !q->next || set->n_data >= UINT32_MAX) {
		sock_queues_release(q);
		*q = (struct sock_queues){0};
		return pr_neg(-ENOMEM, "cannot index socket queues");
	}
	q->set = set;
	/* backwards, each record put first: every list ends up in record order */
	for (size_t i = set->n_data; i-- > 0;) {
		const FileDataEntry *e = set->data[i];
		struct sock_queue *sq = queue_of(q, e->kind, e->owner_id);

		if (!sq)
			continue;
		q->next[i] = sq->first;
		sq->first = (uint32_t)i + 1;
		sq->bytes += e->data.len;
		if (!e->has_offset || e->offset == 0)
			sq->msgs++;
	}
	return 0;
}

int sock_queues_of(struct fd_restore_ctx *ctx, const struct sock_queues **ret)
{
	struct sock_queues *q =
	    fd_restore_state(ctx, SOCK_STATE_QUEUES, sizeof(*q), sock_queues_release);
	int r;

	if (!q)
		return pr_neg(-ENOMEM, "cannot index socket queues");
	if (!q->set) {
		r = sock_queues_build(q, fd_restore_image_set(ctx));
		if (r < 0)
			return r;
	}
	*ret = q;
	return 0;
}

int sock_queues_each(const struct sock_queues *q, int kind, uint32_t owner, sock_msg_fn fn,
		     void *opaque)
{
	const struct sock_queue *sq = queue_of(q, kind, owner);
	uint32_t s = sq ? sq->first : 0;

	while (s) {
		const FileDataEntry *e = q->set->data[s - 1];
		struct sock_msg m = {
		    .data = e->data.data, .len = e->data.len, .creds = e->sk_creds};
		cleanup_free uint8_t *joined = NULL;
		int r;

		if (e->has_sk_addr && e->sk_addr.len) {
			m.addr = e->sk_addr.data;
			m.addr_len = e->sk_addr.len;
		}
		s = q->next[s - 1];
		if (e->has_total_size && e->total_size > e->data.len) {
			/* the message goes on in the next records (offset > 0) */
			size_t off = e->data.len;

			if (e->total_size > (1ULL << 31))
				return image_set_bad(q->set,
						     "file-data.img: socket message of file %u is "
						     "%lu bytes",
						     owner, (unsigned long)e->total_size);
			joined = malloc(e->total_size);
			if (!joined)
				return -ENOMEM;
			memcpy(joined, e->data.data, e->data.len);
			while (off < e->total_size && s) {
				const FileDataEntry *c = q->set->data[s - 1];

				if (!c->has_offset || c->offset != off ||
				    c->data.len > e->total_size - off)
					break;
				memcpy(joined + off, c->data.data, c->data.len);
				off += c->data.len;
				s = q->next[s - 1];
			}
			if (off != e->total_size)
				return image_set_bad(q->set,
						     "file-data.img: socket message of file %u is "
						     "cut short",
						     owner);
			m.data = joined;
			m.len = off;
		}
		r = fn(opaque, &m);
		if (r < 0)
			return r;
	}
	return 0;
}

uint64_t sock_queues_bytes(const struct sock_queues *q, int kind, uint32_t owner,
			   uint32_t *ret_msgs)
{
	const struct sock_queue *sq = queue_of(q, kind, owner);

	if (ret_msgs)
		*ret_msgs = sq ? sq->msgs : 0;
	return sq ? sq->bytes : 0;
}

int sock_send_msg(int fd, const struct sock_msg *m, const void *to, size_t to_len, uint32_t file_id)
{
	union {
		struct cmsghdr align;
		char bytes[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = {.iov_base = (void *)m->data, .iov_len = m->len};
	struct msghdr mh = {
	    .msg_name = (void *)to,
	    .msg_namelen = (socklen_t)to_len,
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	size_t done = 0;

	if (m->creds) {
		struct cmsghdr *c;
		struct ucred uc = {
		    .pid = m->creds->pid, .uid = m->creds->uid, .gid = m->creds->gid};

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.bytes;
		mh.msg_controllen = sizeof(control.bytes);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
	}
	do {
		ssize_t n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno("cannot queue %zu bytes for socket file %u", m->len,
					file_id);
		/* a stream may take a message in parts; a datagram goes whole or fails */
		done += (size_t)n;
		iov.iov_base = (char *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	} while (done < m->len);
	return 0;
}
