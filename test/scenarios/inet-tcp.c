/* TCP across a dump, all on loopback inside the tree:
 *   - an IPv4 listener (SO_REUSEADDR, backlog 16) with one accepted connection that has 1 MiB
 *     unread in each direction (in the receivers' queues and the senders' send queues), and 3
 *     clients waiting in its accept queue, accepted after the restore in their order;
 *   - an IPv6 dual-stack listener with an IPv4 client accepted and talking, and an IPv6
 *     v6-only listener bound to ::1 with a client waiting;
 *   - options: TCP_NODELAY, SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT, SO_LINGER, IP_TOS,
 *     IPV6_V6ONLY, SO_BINDTODEVICE.
 * After the restore every byte comes out once and in order, and every connection talks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scenario.h"

#define BIG (1u << 20)

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 ? -2 : v;
}

static int setopt(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

static int listener(int family, const char *addr, int v6only, int backlog,
		    struct sockaddr_storage *ret)
{
	int fd = socket(family, SOCK_STREAM, 0);
	socklen_t len = sizeof(*ret);

	memset(ret, 0, sizeof(*ret));
	ret->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, addr, &((struct sockaddr_in *)ret)->sin_addr);
	else
		inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)ret)->sin6_addr);
	if (fd < 0 || setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    (family == AF_INET6 && setopt(fd, SOL_IPV6, IPV6_V6ONLY, v6only) < 0) ||
	    bind(fd, (struct sockaddr *)ret,
		 family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) <
		0 ||
	    listen(fd, backlog) < 0 || getsockname(fd, (struct sockaddr *)ret, &len) < 0)
		scenario_skip("listener %s: %m", addr);
	return fd;
}

static int client(int family, const struct sockaddr_storage *to)
{
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)to,
			      to->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						       : sizeof(struct sockaddr_in6)) < 0)
		scenario_skip("connect: %m");
	return fd;
}

/* to, with its address replaced by the IPv4 loopback (for the dual-stack listener's port) */
static struct sockaddr_storage v4_of(const struct sockaddr_storage *v6)
{
	struct sockaddr_storage a = {0};
	struct sockaddr_in *s = (struct sockaddr_in *)&a;

	s->sin_family = AF_INET;
	s->sin_port = ((const struct sockaddr_in6 *)v6)->sin6_port;
	s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static unsigned char pattern(size_t i, unsigned int seed)
{
	return (unsigned char)((i * 131 + seed) ^ (i >> 9));
}

/* Writes BIG bytes of the pattern without blocking; false if the kernel takes fewer. */
static bool write_big(int fd, unsigned int seed)
{
	unsigned char *buf = malloc(BIG);
	size_t done = 0;

	for (size_t i = 0; buf && i < BIG; i++)
		buf[i] = pattern(i, seed);
	while (buf && done < BIG) {
		ssize_t n = send(fd, buf + done, BIG - done, MSG_DONTWAIT);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	free(buf);
	return done == BIG;
}

/* Reads BIG bytes (10 s at most without progress) and compares them with the pattern. */
static bool read_big(int fd, unsigned int seed, size_t *ret_got)
{
	static unsigned char buf[65536];
	size_t got = 0;

	while (got < BIG) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 10000) != 1)
			break;
		n = recv(fd, buf, sizeof(buf) < BIG - got ? sizeof(buf) : BIG - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(got + (size_t)i, seed)) {
				*ret_got = got + (size_t)i;
				return false;
			}
		got += (size_t)n;
	}
	*ret_got = got;
	return got == BIG;
}

static bool talk(int a, int b)
{
	char buf[8];
	struct pollfd p = {.fd = b, .events = POLLIN};

	return send(a, "ping", 4, MSG_NOSIGNAL) == 4 && poll(&p, 1, 10000) == 1 &&
	       recv(b, buf, sizeof(buf), 0) == 4 && memcmp(buf, "ping", 4) == 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0 &&
	       ((const struct sockaddr_in6 *)a)->sin6_port ==
		   ((const struct sockaddr_in6 *)b)->sin6_port;
}

int main(void)
{
	struct sockaddr_storage a4, a6, a6only, v4;
	struct sockaddr_storage pending_name[3];
	int l4, l6, l6only, c, s, p[3], dc, ds, pc6;
	struct linger lg = {.l_onoff = 1, .l_linger = 5};
	size_t got;

	l4 = listener(AF_INET, "127.0.0.1", 0, 16, &a4);
	l6 = listener(AF_INET6, "::", 0, 4, &a6);
	l6only = listener(AF_INET6, "::1", 1, 4, &a6only);
	if (setsockopt(l6only, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2) < 0)
		scenario_skip("SO_BINDTODEVICE: %m");

	/* the accepted connection with 1 MiB unread each way */
	c = client(AF_INET, &a4);
	s = accept(l4, NULL, NULL);
	if (s < 0 || setopt(c, SOL_SOCKET, SO_SNDBUF, 2 << 20) < 0 ||
	    setopt(s, SOL_SOCKET, SO_SNDBUF, 2 << 20) < 0)
		scenario_skip("accept: %m");
	if (!write_big(c, 1) || !write_big(s, 2))
		scenario_skip("the kernel would not take 1 MiB each way");
	if (setopt(c, SOL_TCP, TCP_NODELAY, 1) < 0 || setopt(s, SOL_SOCKET, SO_KEEPALIVE, 1) < 0 ||
	    setopt(s, SOL_TCP, TCP_KEEPIDLE, 77) < 0 || setopt(s, SOL_TCP, TCP_KEEPINTVL, 7) < 0 ||
	    setopt(s, SOL_TCP, TCP_KEEPCNT, 3) < 0 ||
	    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0 ||
	    setopt(c, SOL_IP, IP_TOS, 0x10) < 0)
		scenario_skip("options: %m");

	/* three clients waiting to be accepted */
	for (int i = 0; i < 3; i++) {
		socklen_t len = sizeof(pending_name[i]);

		p[i] = client(AF_INET, &a4);
		getsockname(p[i], (struct sockaddr *)&pending_name[i], &len);
	}
	/* dual stack: an IPv4 client of the IPv6 listener, accepted */
	v4 = v4_of(&a6);
	dc = client(AF_INET, &v4);
	ds = accept(l6, NULL, NULL);
	if (ds < 0)
		scenario_skip("accept: %m");
	/* a v6-only listener with a client waiting */
	pc6 = client(AF_INET6, &a6only);

	scenario_ready();
	scenario_wait();

	scenario_check(read_big(s, 1, &got), "client to server: %zu of %u bytes came through", got,
		       BIG);
	scenario_check(read_big(c, 2, &got), "server to client: %zu of %u bytes came through", got,
		       BIG);
	scenario_check(talk(c, s) && talk(s, c), "the accepted connection does not talk");
	scenario_check(opt(c, SOL_TCP, TCP_NODELAY) == 1, "TCP_NODELAY lost");
	scenario_check(opt(s, SOL_SOCKET, SO_KEEPALIVE) == 1 &&
			   opt(s, SOL_TCP, TCP_KEEPIDLE) == 77 &&
			   opt(s, SOL_TCP, TCP_KEEPINTVL) == 7 && opt(s, SOL_TCP, TCP_KEEPCNT) == 3,
		       "keepalive settings lost");
	{
		struct linger got_lg;
		socklen_t len = sizeof(got_lg);

		scenario_check(getsockopt(c, SOL_SOCKET, SO_LINGER, &got_lg, &len) == 0 &&
				   got_lg.l_onoff == 1 && got_lg.l_linger == 5,
			       "SO_LINGER lost");
	}
	scenario_check(opt(c, SOL_IP, IP_TOS) == 0x10, "IP_TOS lost (%d)", opt(c, SOL_IP, IP_TOS));
	scenario_check(opt(l4, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR lost");
	scenario_check(opt(c, SOL_SOCKET, SO_REUSEADDR) == 0, "SO_REUSEADDR appeared");
	scenario_check(opt(l6, SOL_IPV6, IPV6_V6ONLY) == 0 &&
			   opt(l6only, SOL_IPV6, IPV6_V6ONLY) == 1,
		       "IPV6_V6ONLY differs");
	{
		char dev[16] = "";
		socklen_t len = sizeof(dev);

		scenario_check(getsockopt(l6only, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) == 0 &&
				   strcmp(dev, "lo") == 0,
			       "SO_BINDTODEVICE lost ('%s')", dev);
	}
	fcntl(l4, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int a = accept(l4, (struct sockaddr *)&peer, &len);

		scenario_check(a >= 0, "waiting client %d was not accepted: %m", i);
		scenario_check(same_addr(&peer, &pending_name[i]), "waiting client %d out of order",
			       i);
		scenario_check(talk(p[i], a) && talk(a, p[i]), "waiting client %d does not talk",
			       i);
	}
	scenario_check(accept(l4, NULL, NULL) < 0 && errno == EAGAIN, "extra waiting clients");
	scenario_check(talk(dc, ds) && talk(ds, dc), "the dual-stack connection does not talk");
	{
		int a = accept(l6only, NULL, NULL);

		scenario_check(a >= 0 && talk(pc6, a), "the IPv6 client does not talk");
	}
	scenario_pass();
}
