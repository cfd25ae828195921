/* fd/inet.c: IPv4 and IPv6 TCP and UDP sockets (dual-stack included) of the network namespace
 * minicr runs in. Dump: addresses, state and options; a listener's backlog and the clients of
 * the tree waiting in its accept queue; a UDP socket's queued datagrams with their sources; an
 * established connection through TCP repair (tcp-repair.c). After every task: each connection's
 * other end is looked up in the tree; an end outside it is refused unless --tcp-established.
 * Restore: each socket on its own (TCP sockets bind with SO_REUSEADDR until their real value
 * is set back, so listeners and their accepted connections share their port again); a client
 * waiting to be accepted connects anew once its listener listens; queued datagrams are sent
 * again from their source address through a raw socket; repaired connections leave repair
 * mode once every file of the tree exists (after_install). */
#define LOG_PREFIX "fd-inet: "
#include "fd/kind.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/fault.h"
#include "base/util.h"
#include "fd/sock-diag.h"
#include "fd/sock.h"
#include "fd/tcp-repair.h"
#include "image-set/image-set.h"

struct inet_dumped {
	FileEntry *fe;
	pid_t pid;
	int fd;
	int repair_fd; /* a copy of a socket left in repair mode, or -1 */
	bool pending;  /* a client waiting in a listener's accept queue */
	struct sockaddr_storage src, dst;
};

struct inet_state {
	struct sock_diag *diag; /* first: sock_dump_state() makes and frees it */
	struct inet_dumped *socks;
	size_t n, cap;
};

static bool inet_recognise(const struct fd_params *p)
{
	return S_ISSOCK(p->st.st_mode) && !(p->info.flags & O_PATH) &&
	       (p->sock_family == AF_INET || p->sock_family == AF_INET6) &&
	       ((p->sock_type == SOCK_STREAM && p->sock_protocol == IPPROTO_TCP) ||
		(p->sock_type == SOCK_DGRAM && p->sock_protocol == IPPROTO_UDP));
}

static struct inet_state *state_of(struct fd_dump_ctx *ctx)
{
	return sock_dump_state(ctx, FD_TYPE__FD_TYPE_INETSK, sizeof(struct inet_state));
}

static void inet_dump_end(struct fd_dump_ctx *ctx, bool tree_dies)
{
	struct inet_state *st = *fd_dump_kind_state(ctx, FD_TYPE__FD_TYPE_INETSK);

	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		if (st->socks[i].repair_fd < 0)
			continue;
		/* a tree that dies closes its connections in repair mode: no FIN, no RST, so the
		 * restored ends (or the peer outside) find them as they were */
		if (!tree_dies)
			tcp_repair_leave(st->socks[i].repair_fd);
		close(st->socks[i].repair_fd);
	}
	free(st->socks);
	sock_dump_state_free(ctx, FD_TYPE__FD_TYPE_INETSK);
}

/* ---- addresses ------------------------------------------------------------------------------ */

static uint16_t addr_port(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
					      : ((const struct sockaddr_in *)a)->sin_port);
}

static const void *addr_bytes(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
					: (const void *)&((const struct sockaddr_in *)a)->sin_addr;
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* The address as 16 bytes: IPv4 as its v4-mapped IPv6 form, so both families compare. */
static void addr_norm(int family, const void *bytes, uint8_t out[16])
{
	if (family == AF_INET6) {
		memcpy(out, bytes, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, bytes, 4);
}

static void sa_norm(const struct sockaddr_storage *a, uint8_t out[16])
{
	addr_norm(a->ss_family, addr_bytes(a), out);
}

static char *addr_text(struct fd_dump_ctx *ctx, const struct sockaddr_storage *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->ss_family, addr_bytes(a), buf, sizeof(buf)))
		return NULL;
	return fd_dump_strdup(ctx, buf);
}

static bool addr_is_any(const struct sockaddr_storage *a)
{
	static const uint8_t zero[16];

	return memcmp(addr_bytes(a), zero, addr_len(a->ss_family)) == 0;
}

/* Parses text and port into a sockaddr of family (IPv4 text in an IPv6 socket becomes a
 * v4-mapped address). Returns its length, or 0 for bad text. */
static size_t addr_parse(int family, const char *text, uint32_t port, struct sockaddr_storage *a)
{
	memset(a, 0, sizeof(*a));
	if (!text || port > 65535)
		return 0;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, text, &s6->sin6_addr) == 1 ? sizeof(*s6) : 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)a;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, text, &s4->sin_addr) == 1 ? sizeof(*s4) : 0;
}

/* ---- options -----------------------------------------------------------------------------------
 */

struct ip_opt {
	int level, name;
	size_t has_off, val_off;
	bool is_bool, tcp_only, udp_only;
	int family; /* 0: both */
};

#define IOPT(l, n, f, b, t, u, fam)                                                                \
	{                                                                                          \
		l, n, offsetof(InetSkEntry, has_##f), offsetof(InetSkEntry, f), b, t, u, fam       \
	}

static const struct ip_opt ip_opts[] = {
    IOPT(SOL_IP, IP_TOS, tos, false, false, false, AF_INET),
    IOPT(SOL_IPV6, IPV6_TCLASS, tos, false, false, false, AF_INET6),
    IOPT(SOL_IPV6, IPV6_V6ONLY, v6only, true, false, false, AF_INET6),
    IOPT(SOL_IP, IP_FREEBIND, freebind, true, false, false, 0),
    IOPT(SOL_IP, IP_TRANSPARENT, transparent, true, false, false, 0),
    IOPT(SOL_IP, IP_PKTINFO, pktinfo, true, false, true, AF_INET),
    IOPT(SOL_IPV6, IPV6_RECVPKTINFO, pktinfo, true, false, true, AF_INET6),
    IOPT(SOL_IP, IP_RECVERR, recverr, true, false, false, AF_INET),
    IOPT(SOL_IPV6, IPV6_RECVERR, recverr, true, false, false, AF_INET6),
    IOPT(SOL_TCP, TCP_NODELAY, nodelay, true, true, false, 0),
    IOPT(SOL_TCP, TCP_CORK, cork, true, true, false, 0),
    IOPT(SOL_UDP, UDP_CORK, cork, true, false, true, 0),
    IOPT(SOL_TCP, TCP_KEEPIDLE, keepidle, false, true, false, 0),
    IOPT(SOL_TCP, TCP_KEEPINTVL, keepintvl, false, true, false, 0),
    IOPT(SOL_TCP, TCP_KEEPCNT, keepcnt, false, true, false, 0),
    IOPT(SOL_TCP, TCP_USER_TIMEOUT, user_timeout, false, true, false, 0),
    IOPT(SOL_TCP, TCP_DEFER_ACCEPT, defer_accept, false, true, false, 0),
};

static bool opt_applies(const struct ip_opt *o, const InetSkEntry *ie)
{
	bool tcp = ie->protocol == IPPROTO_TCP;

	return (!o->family || o->family == (int)ie->family) && !(o->tcp_only && !tcp) &&
	       !(o->udp_only && tcp);
}

static int dump_ip_opts(struct fd_dump_ctx *ctx, const struct fd_params *p, InetSkEntry *ie)
{
	char cong[32] = "";
	socklen_t len;

	for (size_t i = 0; i < ARRAY_SIZE(ip_opts); i++) {
		const struct ip_opt *o = &ip_opts[i];
		int v = 0;

		if (!opt_applies(o, ie))
			continue;
		len = sizeof(v);
		if (getsockopt(p->local_fd, o->level, o->name, &v, &len) < 0) {
			if (errno == ENOPROTOOPT || errno == EOPNOTSUPP)
				continue;
			return pr_errno("cannot read option %d/%d of fd %d of task %d", o->level,
					o->name, p->fd, (int)p->pid);
		}
		*(protobuf_c_boolean *)((char *)ie + o->has_off) = true;
		if (o->is_bool)
			*(protobuf_c_boolean *)((char *)ie + o->val_off) = v != 0;
		else
			*(uint32_t *)((char *)ie + o->val_off) = (uint32_t)v;
	}
	if (ie->protocol == IPPROTO_TCP) {
		len = sizeof(cong) - 1;
		if (getsockopt(p->local_fd, SOL_TCP, TCP_CONGESTION, cong, &len) == 0 && cong[0]) {
			ie->congestion = fd_dump_strdup(ctx, cong);
			if (!ie->congestion)
				return -ENOMEM;
		}
	}
	return 0;
}

static int restore_ip_opts(int fd, const InetSkEntry *ie, uint32_t file_id)
{
	for (size_t i = 0; i < ARRAY_SIZE(ip_opts); i++) {
		const struct ip_opt *o = &ip_opts[i];
		int v;

		if (!opt_applies(o, ie) ||
		    !*(const protobuf_c_boolean *)((const char *)ie + o->has_off))
			continue;
		/* TCP_CORK waits for the connection: a corked repaired socket holds its data */
		v = o->is_bool ? *(const protobuf_c_boolean *)((const char *)ie + o->val_off)
			       : (int)*(const uint32_t *)((const char *)ie + o->val_off);
		if (o->is_bool && !v)
			continue;
		if (setsockopt(fd, o->level, o->name, &v, sizeof(v)) < 0)
			return pr_errno("cannot set option %d/%d of socket file %u", o->level,
					o->name, file_id);
	}
	if (ie->congestion && setsockopt(fd, SOL_TCP, TCP_CONGESTION, ie->congestion,
					 (socklen_t)strlen(ie->congestion)) < 0)
		return pr_errno("cannot set congestion control '%s' of socket file %u",
				ie->congestion, file_id);
	return 0;
}

/* ---- dump
 * ----------------------------------------------------------------------------------------- */

#define REFUSE(p, fmt, ...)                                                                        \
	(pr_err("cannot dump fd %d of task %d (%s): " fmt, (p)->fd, (int)(p)->pid, (p)->link,      \
		##__VA_ARGS__),                                                                    \
	 -ENOTSUP)

static const char *const tcp_state_names[] = {
    [SK_STATE__SK_SYN_SENT] = "SYN-SENT",    [SK_STATE__SK_SYN_RECV] = "SYN-RECV",
    [SK_STATE__SK_FIN_WAIT1] = "FIN-WAIT-1", [SK_STATE__SK_FIN_WAIT2] = "FIN-WAIT-2",
    [SK_STATE__SK_TIME_WAIT] = "TIME-WAIT",  [SK_STATE__SK_CLOSE_WAIT] = "CLOSE-WAIT",
    [SK_STATE__SK_LAST_ACK] = "LAST-ACK",    [SK_STATE__SK_CLOSING] = "CLOSING",
};

/* The entry of the connection's other end in the namespace's tables (either family: an IPv4
 * client's other end may be a dual-stack IPv6 socket), or NULL. */
static int other_end(struct sock_diag *diag, const struct sockaddr_storage *src,
		     const struct sockaddr_storage *dst, const struct sock_diag_inet **ret)
{
	static const int families[] = {AF_INET, AF_INET6};
	uint8_t s16[16], d16[16], e_src[16], e_dst[16];

	sa_norm(src, s16);
	sa_norm(dst, d16);
	for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
		const struct sock_diag_inet *all;
		size_t n;
		int r = sock_diag_inet_collect(diag, families[f], IPPROTO_TCP);

		if (r < 0)
			return r;
		all = sock_diag_inet_all(diag, families[f], IPPROTO_TCP, &n);
		for (size_t i = 0; i < n; i++) {
			if (all[i].sport != addr_port(dst) || all[i].dport != addr_port(src) ||
			    all[i].state == SK_STATE__SK_TIME_WAIT ||
			    all[i].state == SK_STATE__SK_LISTEN)
				continue;
			addr_norm(families[f], all[i].src, e_src);
			addr_norm(families[f], all[i].dst, e_dst);
			if (memcmp(e_src, d16, 16) == 0 && memcmp(e_dst, s16, 16) == 0) {
				*ret = &all[i];
				return 0;
			}
		}
	}
	*ret = NULL;
	return 0;
}

static int dump_tcp(struct fd_dump_ctx *ctx, struct inet_state *st, const struct fd_params *p,
		    FileEntry *fe, InetSkEntry *ie, struct inet_dumped *u)
{
	const struct sock_diag_inet *peer;
	int r;

	switch (ie->state) {
	case SK_STATE__SK_CLOSE:
	case SK_STATE__SK_LISTEN:
		return 0;
	case SK_STATE__SK_ESTABLISHED:
		break;
	default:
		return REFUSE(p, "TCP connections in state %s are not supported",
			      (size_t)ie->state < ARRAY_SIZE(tcp_state_names) &&
				      tcp_state_names[ie->state]
				  ? tcp_state_names[ie->state]
				  : "?");
	}
	r = other_end(st->diag, &u->src, &u->dst, &peer);
	if (r < 0)
		return r;
	if (peer && peer->ino == 0) {
		/* its other end is in an accept queue: restore connects it anew, which needs
		 * that nothing was sent on it yet */
		int outq = 0;

		if (ioctl(p->local_fd, SIOCOUTQ, &outq) < 0)
			return pr_errno("cannot read the queue of fd %d of task %d", p->fd,
					(int)p->pid);
		if (peer->rqueue > 0 || outq > 0 || ie->queued_bytes > 0)
			return REFUSE(p,
				      "it waits to be accepted with data already sent, which only "
				      "accept() could read");
		u->pending = true;
		return 0;
	}
	if (!peer && !fd_dump_tcp_established(ctx))
		return REFUSE(p,
			      "its peer %s port %u is outside the dumped tree (see "
			      "--tcp-established)",
			      ie->dst_addr, ie->dst_port);
	r = tcp_repair_dump(ctx, p, fe, &ie->tcp);
	if (r < 0)
		return r;
	u->repair_fd = fcntl(p->local_fd, F_DUPFD_CLOEXEC, 0);
	if (u->repair_fd < 0) {
		r = pr_errno("cannot keep fd %d of task %d", p->fd, (int)p->pid);
		tcp_repair_leave(p->local_fd);
		return r;
	}
	return 0;
}

static int add_dumped(struct inet_state *st, const struct inet_dumped *u)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;
		struct inet_dumped *socks = reallocarray(st->socks, cap, sizeof(*socks));

		if (!socks)
			return -ENOMEM;
		st->socks = socks;
		st->cap = cap;
	}
	st->socks[st->n++] = *u;
	return 0;
}

static int inet_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	struct inet_state *st = state_of(ctx);
	InetSkEntry *ie = FD_DUMP_NEW(ctx, InetSkEntry, INET_SK_ENTRY__INIT);
	struct inet_dumped u = {.fe = fe, .pid = p->pid, .fd = p->fd, .repair_fd = -1};
	const struct sock_diag_inet *d = NULL;
	socklen_t len = sizeof(u.src);
	int r;

	if (!st || !ie)
		return pr_neg(-ENOMEM, "cannot dump fd %d of task %d", p->fd, (int)p->pid);
	r = sock_in_own_netns(p->local_fd);
	if (r == 0)
		return REFUSE(p, "the socket belongs to another network namespace, which minicr "
				 "does not restore");
	if (r < 0)
		return r;
	r = sock_diag_inet_find(st->diag, p->sock_family, p->sock_protocol, p->st.st_ino, &d);
	if (r < 0 && r != -ENOENT)
		return r;
	fe->inet_sk = ie;
	ie->has_ino = ie->has_family = ie->has_type = ie->has_protocol = ie->has_state = true;
	ie->ino = p->st.st_ino;
	ie->family = (uint32_t)p->sock_family;
	ie->type = (SkType)p->sock_type;
	ie->protocol = (uint32_t)p->sock_protocol;
	/* an unbound, unconnected socket is in no table */
	ie->state = d ? (SkState)d->state : SK_STATE__SK_CLOSE;
	if (d && d->shutdown) {
		ie->has_shutdown = true;
		ie->shutdown = d->shutdown;
	}
	if (getsockname(p->local_fd, (struct sockaddr *)&u.src, &len) < 0)
		return pr_errno("cannot read the address of fd %d of task %d", p->fd, (int)p->pid);
	ie->src_addr = addr_text(ctx, &u.src);
	ie->has_src_port = ie->has_bound = true;
	ie->src_port = addr_port(&u.src);
	ie->bound = ie->src_port != 0 || !addr_is_any(&u.src);
	len = sizeof(u.dst);
	if (getpeername(p->local_fd, (struct sockaddr *)&u.dst, &len) == 0) {
		ie->dst_addr = addr_text(ctx, &u.dst);
		ie->has_dst_port = true;
		ie->dst_port = addr_port(&u.dst);
	} else if (errno != ENOTCONN) {
		return pr_errno("cannot read the peer of fd %d of task %d", p->fd, (int)p->pid);
	}
	if (!ie->src_addr || (ie->has_dst_port && !ie->dst_addr))
		return -ENOMEM;
	if (ie->state == SK_STATE__SK_LISTEN) {
		ie->has_backlog = true;
		ie->backlog = d->wqueue;
	}
	r = sock_opts_dump(ctx, p, SOCK_OPT_INET | SOCK_OPT_BUFS | SOCK_OPT_PEEK, &ie->opts);
	if (r == 0)
		r = dump_ip_opts(ctx, p, ie);
	if (r < 0)
		return r;
	if (ie->protocol == IPPROTO_UDP) {
		struct sock_queue_result q;
		int outq = 0;

		if (ie->cork && ioctl(p->local_fd, SIOCOUTQ, &outq) == 0 && outq > 0)
			return REFUSE(p, "it holds corked UDP data not sent yet");
		r = sock_queue_dump(ctx, p, fe->id, false, true, false, ie->shutdown & 1, &q);
		if (r < 0)
			return r;
		ie->has_queued_msgs = ie->has_queued_bytes = true;
		ie->queued_msgs = q.msgs;
		ie->queued_bytes = q.bytes;
	} else {
		r = dump_tcp(ctx, st, p, fe, ie, &u);
		if (r < 0)
			return r;
	}
	r = add_dumped(st, &u);
	if (r < 0) {
		if (u.repair_fd >= 0) {
			tcp_repair_leave(u.repair_fd);
			close(u.repair_fd);
		}
		return pr_neg(r, "cannot dump fd %d of task %d", p->fd, (int)p->pid);
	}
	return 0;
}

/* ---- checks across the tree
 * ---------------------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint8_t a16[16], b16[16];

	sa_norm(a, a16);
	sa_norm(b, b16);
	return addr_port(a) == addr_port(b) && memcmp(a16, b16, 16) == 0;
}

static struct inet_dumped *tree_end(struct inet_state *st, const struct inet_dumped *u)
{
	for (size_t i = 0; i < st->n; i++) {
		struct inet_dumped *v = &st->socks[i];

		if (v != u && v->fe->inet_sk->protocol == IPPROTO_TCP &&
		    v->fe->inet_sk->state == SK_STATE__SK_ESTABLISHED &&
		    same_addr(&v->src, &u->dst) && same_addr(&v->dst, &u->src))
			return v;
	}
	return NULL;
}

/* A listener takes a client whose destination is its port and its address (or any address;
 * an IPv6 listener that is not v6-only takes IPv4 clients too, as v4-mapped addresses). */
static struct inet_dumped *listener_of(struct inet_state *st, const struct inet_dumped *c)
{
	uint8_t want[16], have[16];

	sa_norm(&c->dst, want);
	for (size_t i = 0; i < st->n; i++) {
		struct inet_dumped *l = &st->socks[i];
		const InetSkEntry *le = l->fe->inet_sk;
		bool v4_client = c->dst.ss_family == AF_INET ||
				 IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)want);

		if (le->protocol != IPPROTO_TCP || le->state != SK_STATE__SK_LISTEN ||
		    addr_port(&l->src) != addr_port(&c->dst))
			continue;
		if (l->src.ss_family == AF_INET && !v4_client)
			continue;
		if (l->src.ss_family == AF_INET6 && v4_client && le->v6only)
			continue;
		sa_norm(&l->src, have);
		if (addr_is_any(&l->src) || memcmp(have, want, 16) == 0)
			return l;
	}
	return NULL;
}

#define REFUSE_U(u, fmt, ...)                                                                      \
	(pr_err("cannot dump fd %d of task %d (socket:[%lu]): " fmt, (u)->fd, (int)(u)->pid,       \
		(unsigned long)(u)->fe->inet_sk->ino, ##__VA_ARGS__),                              \
	 -ENOTSUP)

/* Sequence numbers of both ends must agree: what one end has acknowledged, the other has. */
static int check_pair(const struct inet_dumped *a, const struct inet_dumped *b)
{
	const TcpRepairEntry *ta = a->fe->inet_sk->tcp, *tb = b->fe->inet_sk->tcp;
	uint32_t una = ta->outq_seq - ta->outq_len;

	if ((int32_t)(tb->inq_seq - una) < 0 || (int32_t)(ta->outq_seq - tb->inq_seq) < 0)
		return REFUSE_U(a,
				"its connection with socket:[%lu] moved while it was dumped; "
				"dump again",
				(unsigned long)b->fe->inet_sk->ino);
	return 0;
}

static int check_listener_queue(struct inet_state *st, struct inet_dumped *l)
{
	size_t n;
	const InetSkEntry *le = l->fe->inet_sk;
	const struct sock_diag_inet *all =
	    sock_diag_inet_all(st->diag, (int)le->family, IPPROTO_TCP, &n);

	for (size_t i = 0; i < n; i++) {
		uint8_t from[16], c16[16];
		bool ours = false;

		if (all[i].ino || all[i].sport != addr_port(&l->src) ||
		    (all[i].state != SK_STATE__SK_ESTABLISHED &&
		     all[i].state != SK_STATE__SK_SYN_RECV))
			continue;
		addr_norm((int)le->family, all[i].dst, from);
		for (size_t k = 0; k < st->n && !ours; k++) {
			sa_norm(&st->socks[k].src, c16);
			ours = st->socks[k].pending &&
			       addr_port(&st->socks[k].src) == all[i].dport &&
			       memcmp(c16, from, 16) == 0;
		}
		if (!ours)
			return REFUSE_U(l,
					"a connection from outside the dumped tree (port %u) waits "
					"in its accept queue",
					all[i].dport);
	}
	return 0;
}

static int inet_dump_finish(struct fd_dump_ctx *ctx)
{
	struct inet_state *st = *fd_dump_kind_state(ctx, FD_TYPE__FD_TYPE_INETSK);

	if (!st)
		return 0;
	/* every dumped connection is in repair mode now: a failure must end it everywhere */
	if (dump_fault("sock-finish") < 0)
		return -EIO;
	for (size_t i = 0; i < st->n; i++) {
		struct inet_dumped *u = &st->socks[i], *v;
		InetSkEntry *ie = u->fe->inet_sk;
		int r;

		if (u->pending) {
			InetSkEntry *le;

			v = listener_of(st, u);
			if (!v)
				return REFUSE_U(u,
						"it waits to be accepted by a listener outside the "
						"dumped tree");
			le = v->fe->inet_sk;
			ie->has_listener_id = true;
			ie->listener_id = v->fe->id;
			le->accept_queue = reallocarray(le->accept_queue, le->n_accept_queue + 1,
							sizeof(*le->accept_queue));
			if (!le->accept_queue)
				return pr_neg(-ENOMEM, "cannot check the inet sockets of the tree");
			le->accept_queue[le->n_accept_queue++] = u->fe->id;
			continue;
		}
		if (!ie->tcp)
			continue;
		v = tree_end(st, u);
		if (!v && !fd_dump_tcp_established(ctx))
			return REFUSE_U(u,
					"its peer %s port %u is outside the dumped tree (see "
					"--tcp-established)",
					ie->dst_addr, ie->dst_port);
		if (!v) {
			ie->has_external = ie->external = true;
			continue;
		}
		ie->has_peer_id = true;
		ie->peer_id = v->fe->id;
		r = check_pair(u, v);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < st->n; i++) {
		struct inet_dumped *l = &st->socks[i];
		int r;

		if (l->fe->inet_sk->protocol == IPPROTO_TCP &&
		    l->fe->inet_sk->state == SK_STATE__SK_LISTEN &&
		    (r = check_listener_queue(st, l)) < 0)
			return r;
	}
	return 0;
}

/* The accept queues were grown with reallocarray: hand them to the dump's arena-free world by
 * freeing them when the dump ends. */
static void inet_dump_end_all(struct fd_dump_ctx *ctx, bool tree_dies)
{
	void **slot = fd_dump_kind_state(ctx, FD_TYPE__FD_TYPE_INETSK);
	struct inet_state *st = *slot;

	if (st)
		for (size_t i = 0; i < st->n; i++) {
			InetSkEntry *ie = st->socks[i].fe->inet_sk;

			free(ie->accept_queue);
			ie->accept_queue = NULL;
			ie->n_accept_queue = 0;
		}
	inet_dump_end(ctx, tree_dies);
}

/* ---- restore
 * ---------------------------------------------------------------------------------------- */

static const FileEntry *inet_file(const struct image_set *set, uint32_t id)
{
	ssize_t f = image_set_file(set, id);

	return f >= 0 && set->files[f]->type == FD_TYPE__FD_TYPE_INETSK && set->files[f]->inet_sk
		   ? set->files[f]
		   : NULL;
}

static int inet_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const InetSkEntry *ie = fe->inet_sk;
	struct sockaddr_storage a;
	const FileEntry *l;

	if (!ie)
		return image_set_bad(set, "files.img record %zu: inet socket %u has no record", rec,
				     fe->id);
	if ((ie->family != AF_INET && ie->family != AF_INET6) ||
	    !((ie->protocol == IPPROTO_TCP && ie->type == SK_TYPE__SK_STREAM) ||
	      (ie->protocol == IPPROTO_UDP && ie->type == SK_TYPE__SK_DGRAM)))
		return image_set_bad(set,
				     "files.img record %zu: inet socket %u: family %u, type %d, "
				     "protocol %u",
				     rec, fe->id, ie->family, (int)ie->type, ie->protocol);
	if (!addr_parse((int)ie->family, ie->src_addr, ie->src_port, &a) ||
	    (ie->has_dst_port && !addr_parse((int)ie->family, ie->dst_addr, ie->dst_port, &a)))
		return image_set_bad(set, "files.img record %zu: inet socket %u has a bad address",
				     rec, fe->id);
	if (ie->protocol == IPPROTO_TCP && ie->state != SK_STATE__SK_LISTEN &&
	    ie->state != SK_STATE__SK_CLOSE && ie->state != SK_STATE__SK_ESTABLISHED)
		return image_set_bad(set, "files.img record %zu: TCP socket %u has state %d", rec,
				     fe->id, (int)ie->state);
	if (ie->protocol == IPPROTO_TCP && ie->state == SK_STATE__SK_ESTABLISHED &&
	    !ie->has_listener_id && (!ie->tcp || !ie->has_dst_port))
		return image_set_bad(set,
				     "files.img record %zu: established TCP socket %u has no "
				     "repair state",
				     rec, fe->id);
	if (ie->has_listener_id &&
	    (!(l = inet_file(set, ie->listener_id)) || l->inet_sk->state != SK_STATE__SK_LISTEN))
		return image_set_bad(set,
				     "files.img record %zu: the listener %u of TCP socket %u is "
				     "not a listening socket of the set",
				     rec, ie->listener_id, fe->id);
	if (ie->has_peer_id && !inet_file(set, ie->peer_id))
		return image_set_bad(set,
				     "files.img record %zu: the peer %u of TCP socket %u is not an "
				     "inet socket of the set",
				     rec, ie->peer_id, fe->id);
	return 0;
}

static size_t inet_deps(const FileEntry *fe, uint32_t *ret_ids, size_t max)
{
	if (!fe->inet_sk || !fe->inet_sk->has_listener_id)
		return 0;
	if (max > 0)
		ret_ids[0] = fe->inet_sk->listener_id;
	return 1;
}

/* ---- UDP queues: each datagram sent again from its source, through a raw socket ----------------
 */

static uint16_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The IPv4 address a v4-mapped IPv6 address stands for, into out; false if a is not one. */
static bool v4_mapped(const struct in6_addr *a, struct in_addr *out)
{
	if (!IN6_IS_ADDR_V4MAPPED(a))
		return false;
	memcpy(out, &a->s6_addr[12], 4);
	return true;
}

struct udp_refill {
	const InetSkEntry *ie;
	uint32_t file_id;
	int raw4, raw6;
};

static int inject4(struct udp_refill *f, struct in_addr src, uint16_t sport, struct in_addr dst,
		   uint16_t dport, const struct sock_msg *m)
{
	size_t len = sizeof(struct iphdr) + sizeof(struct udphdr) + m->len;
	cleanup_free uint8_t *pkt = calloc(1, len);
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};

	if (!pkt)
		return -ENOMEM;
	if (f->raw4 < 0) {
		f->raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (f->raw4 < 0)
			return pr_errno("cannot create a raw socket to refill UDP socket file %u",
					f->file_id);
	}
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)len);
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	udp->source = htons(sport);
	udp->dest = htons(dport);
	udp->len = htons((uint16_t)(len - sizeof(*ip)));
	memcpy(udp + 1, m->data, m->len);
	if (sendto(f->raw4, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		return pr_errno("cannot refill UDP socket file %u", f->file_id);
	return 0;
}

static int inject6(struct udp_refill *f, const struct in6_addr *src, uint16_t sport,
		   const struct in6_addr *dst, uint16_t dport, const struct sock_msg *m)
{
	size_t ulen = sizeof(struct udphdr) + m->len, len = sizeof(struct ip6_hdr) + ulen;
	cleanup_free uint8_t *pkt = calloc(1, len);
	struct ip6_hdr *ip = (struct ip6_hdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = *dst};
	uint32_t pseudo = 0;
	uint16_t sum;

	if (!pkt)
		return -ENOMEM;
	if (f->raw6 < 0) {
		f->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (f->raw6 < 0)
			return pr_errno("cannot create a raw socket to refill UDP socket file %u",
					f->file_id);
	}
	ip->ip6_flow = htonl(6u << 28);
	ip->ip6_plen = htons((uint16_t)ulen);
	ip->ip6_nxt = IPPROTO_UDP;
	ip->ip6_hlim = 64;
	ip->ip6_src = *src;
	ip->ip6_dst = *dst;
	udp->source = htons(sport);
	udp->dest = htons(dport);
	udp->len = htons((uint16_t)ulen);
	memcpy(udp + 1, m->data, m->len);
	/* the UDP checksum covers a pseudo header: addresses, length, next header */
	pseudo = csum_add(pseudo, src, 16);
	pseudo = csum_add(pseudo, dst, 16);
	pseudo += (uint32_t)ulen + IPPROTO_UDP;
	sum = (uint16_t)~csum_add(pseudo, udp, ulen);
	udp->check = htons(sum ? sum : 0xffff);
	if (sendto(f->raw6, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		return pr_errno("cannot refill UDP socket file %u", f->file_id);
	return 0;
}

static int refill_udp(void *opaque, const struct sock_msg *m)
{
	struct udp_refill *f = opaque;
	struct sockaddr_storage self, from = {0};
	struct in_addr s4, d4;
	char text[INET6_ADDRSTRLEN + 16], *space;

	(void)addr_parse((int)f->ie->family, f->ie->src_addr, f->ie->src_port, &self);
	/* the source is "ADDR PORT" text */
	if (m->addr && m->addr_len < sizeof(text)) {
		memcpy(text, m->addr, m->addr_len);
		text[m->addr_len] = 0;
		space = strchr(text, ' ');
		if (space) {
			*space = 0;
			if (!addr_parse(strchr(text, ':') ? AF_INET6 : AF_INET, text,
					(uint32_t)strtoul(space + 1, NULL, 10), &from))
				from.ss_family = 0;
		}
	}
	if (from.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&from;

		if (self.ss_family == AF_INET)
			d4 = ((struct sockaddr_in *)&self)->sin_addr;
		else if (!v4_mapped(&((struct sockaddr_in6 *)&self)->sin6_addr, &d4))
			d4.s_addr = 0;
		if (!d4.s_addr)
			d4.s_addr = htonl(INADDR_LOOPBACK);
		return inject4(f, s->sin_addr, ntohs(s->sin_port), d4, f->ie->src_port, m);
	}
	if (from.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&from;
		struct in6_addr d6 = ((struct sockaddr_in6 *)&self)->sin6_addr;

		if (v4_mapped(&s->sin6_addr, &s4)) {
			if (!v4_mapped(&d6, &d4) || !d4.s_addr)
				d4.s_addr = htonl(INADDR_LOOPBACK);
			return inject4(f, s4, ntohs(s->sin6_port), d4, f->ie->src_port, m);
		}
		if (IN6_IS_ADDR_UNSPECIFIED(&d6))
			d6 = in6addr_loopback;
		return inject6(f, &s->sin6_addr, ntohs(s->sin6_port), &d6, f->ie->src_port, m);
	}
	pr_err("cannot refill UDP socket file %u: a datagram without a source address", f->file_id);
	return -EINVAL;
}

static int restore_udp_queue(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	const struct sock_queues *q;
	struct udp_refill f = {.ie = fe->inet_sk, .file_id = fe->id, .raw4 = -1, .raw6 = -1};
	int r;

	if (!fe->inet_sk->queued_msgs)
		return 0;
	r = sock_queues_of(ctx, &q);
	if (r == 0)
		r = sock_queues_each(q, FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE, fe->id, refill_udp,
				     &f);
	closep(&f.raw4);
	closep(&f.raw6);
	return r;
}

/* ---- open
 * --------------------------------------------------------------------------------------------- */

static int set_reuseaddr(int fd, bool on, uint32_t file_id)
{
	int v = on;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)) < 0)
		return pr_errno("cannot set SO_REUSEADDR of socket file %u", file_id);
	return 0;
}

static int open_socket(struct fd_restore_ctx *ctx, const FileEntry *fe, int fd)
{
	const InetSkEntry *ie = fe->inet_sk;
	bool tcp = ie->protocol == IPPROTO_TCP, reuse = ie->opts && ie->opts->reuseaddr;
	struct sockaddr_storage src, dst;
	size_t src_len = addr_parse((int)ie->family, ie->src_addr, ie->src_port, &src);
	size_t dst_len =
	    ie->has_dst_port ? addr_parse((int)ie->family, ie->dst_addr, ie->dst_port, &dst) : 0;
	int r;

	r = sock_opts_restore(fd, ie->opts, SOCK_OPT_INET | SOCK_OPT_BUFS, fe->id);
	if (r == 0)
		r = restore_ip_opts(fd, ie, fe->id);
	if (r < 0)
		return r;
	if (tcp && ie->tcp && !ie->has_listener_id)
		return tcp_repair_restore(ctx, fd, fe, ie, &src, src_len, &dst, dst_len);
	/* a TCP port is shared by a listener and the connections it accepted: every TCP bind
	 * passes with SO_REUSEADDR, which then gets its own value back */
	if (tcp && !reuse && (r = set_reuseaddr(fd, true, fe->id)) < 0)
		return r;
	if (ie->bound && bind(fd, (struct sockaddr *)&src, (socklen_t)src_len) < 0)
		return pr_errno("cannot bind socket file %u to %s port %u", fe->id, ie->src_addr,
				ie->src_port);
	if (ie->state == SK_STATE__SK_LISTEN &&
	    listen(fd, (int)(ie->has_backlog ? ie->backlog : 0)) < 0)
		return pr_errno("cannot listen on socket file %u", fe->id);
	if (!tcp) {
		r = restore_udp_queue(ctx, fe);
		if (r < 0)
			return r;
	}
	/* a client waiting in a listener's accept queue connects again: its listener (a
	 * dependency) listens already */
	if (dst_len && (!tcp || ie->has_listener_id) &&
	    connect(fd, (struct sockaddr *)&dst, (socklen_t)dst_len) < 0)
		return pr_errno("cannot connect socket file %u to %s port %u", fe->id, ie->dst_addr,
				ie->dst_port);
	if (tcp && !reuse && (r = set_reuseaddr(fd, false, fe->id)) < 0)
		return r;
	if (!tcp && ie->shutdown &&
	    shutdown(fd, ie->shutdown == 1   ? SHUT_RD
			 : ie->shutdown == 2 ? SHUT_WR
					     : SHUT_RDWR) < 0)
		return pr_errno("cannot shut down socket file %u", fe->id);
	return sock_opts_restore(fd, ie->opts, SOCK_OPT_PEEK, fe->id);
}

static int inet_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const InetSkEntry *ie = fe->inet_sk;
	cleanup_close int fd = -EBADF;
	int r = restore_fault("inet");

	if (r < 0)
		return r;
	fd = socket((int)ie->family, (int)ie->type | SOCK_CLOEXEC, (int)ie->protocol);
	if (fd < 0)
		return pr_errno("cannot create socket file %u", fe->id);
	r = open_socket(ctx, fe, fd);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Repaired connections run again once every file of the tree exists, so both ends of one are
 * there to talk. */
static int inet_after_install(const struct fd_install_ctx *t, const FileEntry *fe, int fd)
{
	(void)t;
	if (!fe->inet_sk->tcp || fe->inet_sk->has_listener_id)
		return 0;
	return tcp_repair_finish(fd, fe->id);
}

const struct fd_kind fd_kind_inet = {
    .name = "inet",
    .type = FD_TYPE__FD_TYPE_INETSK,
    .recognise = inet_recognise,
    .dump = inet_dump,
    .dump_finish = inet_dump_finish,
    .dump_end = inet_dump_end_all,
    .validate = inet_validate,
    .deps = inet_deps,
    .open = inet_open,
    .after_install = inet_after_install,
};
