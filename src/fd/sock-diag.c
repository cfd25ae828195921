/* fd/sock-diag.c: NETLINK_SOCK_DIAG dumps of unix and inet sockets, indexed by inode. A socket
 * made in minicr's network namespace answers for that namespace only, which is the one the
 * socket kinds support. */
#define LOG_PREFIX "sock-diag: "
#include "fd/sock-diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"

#define RECV_BUF (64u << 10)

struct inet_table {
	bool collected;
	bool has_no_handler; /* sock_diag answered that it has no handler for the protocol */
	struct sock_diag_inet *socks;
	size_t n, cap;
	struct hmap by_ino; /* (ino, 0) -> index */
};

struct sock_diag {
	bool unix_collected;
	bool unix_has_no_handler;
	struct sock_diag_unix *unix_socks;
	size_t n_unix, cap_unix;
	struct hmap unix_by_ino;
	struct inet_table inet[4]; /* (v4, v6) x (tcp, udp) */
};

struct sock_diag *sock_diag_new(void)
{
	return calloc(1, sizeof(struct sock_diag));
}

struct sock_diag *sock_diag_free(struct sock_diag *d)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->n_unix; i++)
		free(d->unix_socks[i].icons);
	free(d->unix_socks);
	hmap_clear(&d->unix_by_ino);
	for (size_t i = 0; i < ARRAY_SIZE(d->inet); i++) {
		free(d->inet[i].socks);
		hmap_clear(&d->inet[i].by_ino);
	}
	free(d);
	return NULL;
}

/* Sends one dump request (req, len bytes, after the netlink header) and hands every answer to
 * fn. Returns 0, DIAG_NO_HANDLER when sock_diag has no handler for the family or protocol
 * (not logged: a kernel without IPv6 has no such sockets; without the diag module, see
 * no_handler()), or -errno (logged, naming what). */
#define DIAG_NO_HANDLER 1
static int diag_dump(const void *req, size_t len, const char *what,
		     int (*fn)(void *opaque, const struct nlmsghdr *h), void *opaque)
{
	struct {
		struct nlmsghdr h;
		char body[128];
	} msg = {0};
	struct sockaddr_nl nladdr = {.nl_family = AF_NETLINK};
	cleanup_free char *buf = malloc(RECV_BUF);
	cleanup_close int fd = -EBADF;

	if (!buf)
		return -ENOMEM;
	if (dump_fault("sock-diag") < 0)
		return -EIO;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return pr_errno("cannot open a sock_diag socket for %s", what);
	msg.h.nlmsg_len = (uint32_t)(NLMSG_LENGTH(len));
	msg.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.h.nlmsg_seq = 1;
	memcpy(msg.body, req, len);
	if (sendto(fd, &msg, msg.h.nlmsg_len, 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) < 0)
		return pr_errno("cannot ask sock_diag for %s", what);
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_BUF, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno("cannot read sock_diag's answer for %s", what);
		if (n == 0) {
			pr_err("cannot read sock_diag's answer for %s: it ended early", what);
			return -EPROTO;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			int r;

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error == -ENOENT || e->error == -EAFNOSUPPORT)
					return DIAG_NO_HANDLER;
				errno = -e->error;
				return pr_errno("sock_diag refused to list %s", what);
			}
			r = fn(opaque, h);
			if (r < 0)
				return r;
		}
	}
}

/* ---- unix ---------------------------------------------------------------------------------- */

static int unix_add(void *opaque, const struct nlmsghdr *h)
{
	struct sock_diag *d = opaque;
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	struct sock_diag_unix *s;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	if (d->n_unix == d->cap_unix) {
		size_t cap = d->cap_unix ? d->cap_unix * 2 : 256;
		struct sock_diag_unix *socks = reallocarray(d->unix_socks, cap, sizeof(*socks));

		if (!socks)
			return -ENOMEM;
		d->unix_socks = socks;
		d->cap_unix = cap;
	}
	s = &d->unix_socks[d->n_unix];
	*s = (struct sock_diag_unix){
	    .ino = m->udiag_ino, .type = m->udiag_type, .state = m->udiag_state};
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t alen = RTA_PAYLOAD(a);
		const void *p = RTA_DATA(a);

		switch (a->rta_type) {
		case UNIX_DIAG_NAME:
			s->name_len = alen < sizeof(s->name) ? alen : sizeof(s->name);
			memcpy(s->name, p, s->name_len);
			break;
		case UNIX_DIAG_VFS:
			if (alen >= sizeof(struct unix_diag_vfs)) {
				const struct unix_diag_vfs *v = p;

				s->has_vfs = true;
				s->vfs_dev = v->udiag_vfs_dev;
				s->vfs_ino = v->udiag_vfs_ino;
			}
			break;
		case UNIX_DIAG_PEER:
			if (alen >= sizeof(uint32_t)) {
				s->has_peer = true;
				s->peer_ino = *(const uint32_t *)p;
			}
			break;
		case UNIX_DIAG_ICONS:
			s->n_icons = alen / sizeof(uint32_t);
			if (s->n_icons) {
				s->icons = calloc(s->n_icons, sizeof(*s->icons));
				if (!s->icons)
					return -ENOMEM;
				for (size_t i = 0; i < s->n_icons; i++)
					s->icons[i] = ((const uint32_t *)p)[i];
			}
			break;
		case UNIX_DIAG_RQLEN:
			if (alen >= sizeof(struct unix_diag_rqlen)) {
				const struct unix_diag_rqlen *q = p;

				s->rqueue = q->udiag_rqueue;
				s->wqueue = q->udiag_wqueue;
			}
			break;
		case UNIX_DIAG_MEMINFO:
			if (alen >= SK_MEMINFO_SNDBUF * sizeof(uint32_t) + sizeof(uint32_t)) {
				s->has_meminfo = true;
				s->rcvbuf = ((const uint32_t *)p)[SK_MEMINFO_RCVBUF];
				s->sndbuf = ((const uint32_t *)p)[SK_MEMINFO_SNDBUF];
			}
			break;
		case UNIX_DIAG_SHUTDOWN:
			if (alen >= 1)
				s->shutdown = *(const uint8_t *)p;
			break;
		default:
			break;
		}
	}
	if (hmap_put(&d->unix_by_ino, s->ino, 0, d->n_unix) < 0) {
		free(s->icons);
		return -ENOMEM;
	}
	d->n_unix++;
	return 0;
}

/* The kernel builds sock_diag's handlers as modules (unix_diag, inet_diag with tcp_diag and
 * udp_diag) that it loads on the first question, through modprobe; where that cannot happen
 * (no modprobe, or a kernel built without them) it answers as if it knew no such socket. A
 * socket minicr holds is then one it cannot describe: refused with the module's name. */
static int no_handler(const char *what, const char *module, const char *config)
{
	pr_err("cannot dump %s: the kernel's sock_diag cannot describe them (module %s, %s, not "
	       "loaded and not loadable)",
	       what, module, config);
	return -ENOTSUP;
}

static int unix_collect(struct sock_diag *d)
{
	struct unix_diag_req req = {
	    .sdiag_family = AF_UNIX,
	    .udiag_states = ~0U,
	    .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
			  UDIAG_SHOW_RQLEN | UDIAG_SHOW_MEMINFO,
	    .udiag_cookie = {~0U, ~0U},
	};
	int r = diag_dump(&req, sizeof(req), "unix sockets", unix_add, d);

	if (r == -ENOMEM)
		pr_err("cannot list unix sockets: out of memory");
	if (r == DIAG_NO_HANDLER) {
		d->unix_has_no_handler = true;
		r = 0;
	}
	if (r == 0)
		d->unix_collected = true;
	return r;
}

int sock_diag_unix_find(struct sock_diag *d, uint64_t ino, const struct sock_diag_unix **ret)
{
	struct hmap_slot *s;

	if (!d->unix_collected) {
		int r = unix_collect(d);

		if (r < 0)
			return r;
	}
	if (d->unix_has_no_handler)
		return no_handler("unix sockets", "unix_diag", "CONFIG_UNIX_DIAG");
	s = hmap_find(&d->unix_by_ino, ino, 0);
	if (!s)
		return -ENOENT;
	*ret = &d->unix_socks[s->value];
	return 0;
}

const struct sock_diag_unix *sock_diag_unix_all(const struct sock_diag *d, size_t *ret_n)
{
	*ret_n = d->n_unix;
	return d->unix_socks;
}

/* ---- inet ---------------------------------------------------------------------------------- */

static struct inet_table *inet_table(const struct sock_diag *d, int family, int protocol)
{
	size_t i = (family == AF_INET6 ? 2 : 0) + (protocol == IPPROTO_UDP ? 1 : 0);

	return (struct inet_table *)&d->inet[i];
}

struct inet_add_ctx {
	struct inet_table *t;
	int protocol;
};

static int inet_add(void *opaque, const struct nlmsghdr *h)
{
	struct inet_add_ctx *c = opaque;
	struct inet_table *t = c->t;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	struct sock_diag_inet *s;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct sock_diag_inet *socks = reallocarray(t->socks, cap, sizeof(*socks));

		if (!socks)
			return -ENOMEM;
		t->socks = socks;
		t->cap = cap;
	}
	s = &t->socks[t->n];
	*s = (struct sock_diag_inet){
	    .ino = m->idiag_inode,
	    .family = m->idiag_family,
	    .protocol = (uint8_t)c->protocol,
	    .state = m->idiag_state,
	    .sport = ntohs(m->id.idiag_sport),
	    .dport = ntohs(m->id.idiag_dport),
	    .ifindex = m->id.idiag_if,
	    .rqueue = m->idiag_rqueue,
	    .wqueue = m->idiag_wqueue,
	};
	memcpy(s->src, m->id.idiag_src, 16);
	memcpy(s->dst, m->id.idiag_dst, 16);
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (RTA_PAYLOAD(a) < 1)
			continue;
		if (a->rta_type == INET_DIAG_SHUTDOWN)
			s->shutdown = *(const uint8_t *)RTA_DATA(a);
		else if (a->rta_type == INET_DIAG_SKV6ONLY) {
			s->has_v6only = true;
			s->v6only = *(const uint8_t *)RTA_DATA(a) != 0;
		}
	}
	if (s->ino && hmap_put(&t->by_ino, s->ino, 0, t->n) < 0)
		return -ENOMEM;
	t->n++;
	return 0;
}

static int inet_collect(struct sock_diag *d, int family, int protocol)
{
	struct inet_diag_req_v2 req = {
	    .sdiag_family = (uint8_t)family,
	    .sdiag_protocol = (uint8_t)protocol,
	    .idiag_states = ~0U,
	};
	struct inet_add_ctx c = {.t = inet_table(d, family, protocol), .protocol = protocol};
	char what[32];
	int r;

	snprintf(what, sizeof(what), "%s%s sockets", protocol == IPPROTO_UDP ? "UDP" : "TCP",
		 family == AF_INET6 ? "v6" : "v4");
	r = diag_dump(&req, sizeof(req), what, inet_add, &c);
	if (r == -ENOMEM)
		pr_err("cannot list %s: out of memory", what);
	if (r == DIAG_NO_HANDLER) {
		c.t->has_no_handler = true;
		r = 0;
	}
	if (r == 0)
		c.t->collected = true;
	return r;
}

int sock_diag_inet_collect(struct sock_diag *d, int family, int protocol)
{
	return inet_table(d, family, protocol)->collected ? 0 : inet_collect(d, family, protocol);
}

int sock_diag_inet_find(struct sock_diag *d, int family, int protocol, uint64_t ino,
			const struct sock_diag_inet **ret)
{
	struct inet_table *t = inet_table(d, family, protocol);
	struct hmap_slot *s;
	int r = sock_diag_inet_collect(d, family, protocol);

	if (r < 0)
		return r;
	if (t->has_no_handler)
		return no_handler(protocol == IPPROTO_UDP ? "UDP sockets" : "TCP sockets",
				  protocol == IPPROTO_UDP ? "udp_diag" : "inet_diag and tcp_diag",
				  protocol == IPPROTO_UDP
				      ? "CONFIG_INET_UDP_DIAG"
				      : "CONFIG_INET_DIAG, CONFIG_INET_TCP_DIAG");
	s = hmap_find(&t->by_ino, ino, 0);
	if (!s)
		return -ENOENT;
	*ret = &t->socks[s->value];
	return 0;
}

const struct sock_diag_inet *sock_diag_inet_all(const struct sock_diag *d, int family, int protocol,
						size_t *ret_n)
{
	const struct inet_table *t = inet_table(d, family, protocol);

	*ret_n = t->n;
	return t->socks;
}
