/* UDP across a dump: an IPv4 server with datagrams queued from three clients (bound, unbound,
 * connected), an empty one among them; an IPv6 server on ::1; a dual-stack server with a
 * datagram from an IPv4 client; a connected client with the server's answers queued. After the
 * restore each datagram comes out once, in order, from its source address and port, and every
 * socket still sends and receives (the connected ones without an address). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scenario.h"

static socklen_t sa_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static int udp(int family, const char *addr, int v6only, struct sockaddr_storage *ret)
{
	int fd = socket(family, SOCK_DGRAM, 0);
	socklen_t len = sizeof(*ret);

	if (fd < 0)
		scenario_skip("socket: %m");
	if (family == AF_INET6 &&
	    setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
		scenario_skip("IPV6_V6ONLY: %m");
	if (addr) {
		memset(ret, 0, sizeof(*ret));
		ret->ss_family = (sa_family_t)family;
		if (family == AF_INET)
			inet_pton(AF_INET, addr, &((struct sockaddr_in *)ret)->sin_addr);
		else
			inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)ret)->sin6_addr);
		if (bind(fd, (struct sockaddr *)ret, sa_len(ret)) < 0 ||
		    getsockname(fd, (struct sockaddr *)ret, &len) < 0)
			scenario_skip("bind %s: %m", addr);
	}
	return fd;
}

/* What a receiver on loopback sees as the source of fd: its name, with the IPv4 loopback for an
 * address left to the kernel (0.0.0.0). */
static struct sockaddr_storage name_of(int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &len);
	if (a.ss_family == AF_INET && ((struct sockaddr_in *)&a)->sin_addr.s_addr == 0)
		((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* to with its address replaced by the IPv4 loopback */
static struct sockaddr_storage v4_loopback(const struct sockaddr_storage *to)
{
	struct sockaddr_storage a = {0};
	struct sockaddr_in *s = (struct sockaddr_in *)&a;

	s->sin_family = AF_INET;
	s->sin_port = ((const struct sockaddr_in6 *)to)->sin6_port;
	s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void send_to(int fd, const char *msg, const struct sockaddr_storage *to)
{
	if (sendto(fd, msg, strlen(msg), 0, (const struct sockaddr *)to, to ? sa_len(to) : 0) !=
	    (ssize_t)strlen(msg))
		scenario_skip("sendto: %m");
}

/* The port and address a v6 socket shows for an IPv4 sender. */
static bool same_source(const struct sockaddr_storage *got, const struct sockaddr_storage *want)
{
	if (got->ss_family == want->ss_family)
		return got->ss_family == AF_INET
			   ? memcmp(got, want, sizeof(struct sockaddr_in)) == 0
			   : memcmp(&((const struct sockaddr_in6 *)got)->sin6_addr,
				    &((const struct sockaddr_in6 *)want)->sin6_addr, 16) == 0 &&
				 ((const struct sockaddr_in6 *)got)->sin6_port ==
				     ((const struct sockaddr_in6 *)want)->sin6_port;
	if (got->ss_family == AF_INET6 && want->ss_family == AF_INET) {
		const struct sockaddr_in6 *g = (const struct sockaddr_in6 *)got;
		const struct sockaddr_in *w = (const struct sockaddr_in *)want;

		return IN6_IS_ADDR_V4MAPPED(&g->sin6_addr) && g->sin6_port == w->sin_port &&
		       memcmp(&g->sin6_addr.s6_addr[12], &w->sin_addr, 4) == 0;
	}
	return false;
}

static bool recv_is(int fd, const char *msg, const struct sockaddr_storage *from)
{
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	char buf[64];
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&got, &len);

	return n == (ssize_t)strlen(msg) && memcmp(buf, msg, (size_t)n) == 0 &&
	       (!from || same_source(&got, from));
}

int main(void)
{
	struct sockaddr_storage s4a, s6a, sda, b1a, unbound_a, conn_a, c6a, dv4a, none, dual_v4;
	int s4, s6, sd, b1, unbound, conn, c6, dv4;
	char c;

	s4 = udp(AF_INET, "127.0.0.1", 0, &s4a);
	s6 = udp(AF_INET6, "::1", 1, &s6a);
	sd = udp(AF_INET6, "::", 0, &sda);
	b1 = udp(AF_INET, "127.0.0.1", 0, &b1a);
	unbound = udp(AF_INET, NULL, 0, &none);
	conn = udp(AF_INET, NULL, 0, &none);
	c6 = udp(AF_INET6, "::1", 1, &c6a);
	dv4 = udp(AF_INET, NULL, 0, &none);
	if (connect(conn, (struct sockaddr *)&s4a, sa_len(&s4a)) < 0)
		scenario_skip("connect: %m");

	send_to(b1, "one", &s4a);
	send_to(unbound, "two", &s4a);
	send_to(conn, "", NULL);
	send_to(conn, "three", NULL);
	send_to(b1, "four", &s4a);
	unbound_a = name_of(unbound);
	conn_a = name_of(conn);
	/* answers to the connected client, queued on its side */
	send_to(s4, "answer1", &conn_a);
	send_to(s4, "answer2", &conn_a);
	send_to(c6, "six", &s6a);
	dual_v4 = v4_loopback(&sda);
	send_to(dv4, "dual", &dual_v4);
	dv4a = name_of(dv4);

	scenario_ready();
	scenario_wait();

	scenario_check(recv_is(s4, "one", &b1a), "datagram 1 or its source differs");
	scenario_check(recv_is(s4, "two", &unbound_a), "datagram 2 or its source differs");
	scenario_check(recv_is(s4, "", &conn_a), "the empty datagram or its source differs");
	scenario_check(recv_is(s4, "three", &conn_a), "datagram 3 or its source differs");
	scenario_check(recv_is(s4, "four", &b1a), "datagram 4 or its source differs");
	scenario_check(recv(s4, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "extra datagrams");
	scenario_check(recv_is(conn, "answer1", &s4a) && recv_is(conn, "answer2", &s4a),
		       "the connected client's datagrams differ");
	scenario_check(recv_is(s6, "six", &c6a), "the IPv6 datagram or its source differs");
	scenario_check(recv_is(sd, "dual", &dv4a), "the dual-stack datagram or its source differs");
	/* everything still works; the connected client without an address */
	send_to(conn, "again", NULL);
	scenario_check(recv_is(s4, "again", &conn_a), "the connected client lost its peer");
	send_to(s4, "back", &conn_a);
	scenario_check(recv_is(conn, "back", &s4a), "the connected client cannot receive");
	send_to(c6, "v6", &s6a);
	scenario_check(recv_is(s6, "v6", &c6a), "IPv6 does not work");
	scenario_pass();
}
