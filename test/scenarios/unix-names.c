/* Unix socket names and connections made by name, across a dump:
 *   - a stream listener bound to an absolute path (mode 0640, owner 1234:5678) with one
 *     accepted connection holding data both ways, and 3 clients waiting in its accept queue
 *     (unnamed, bound to an abstract name, autobound) that are accepted after the restore, in
 *     their order, and talk;
 *   - a seqpacket listener bound to a relative name from another directory;
 *   - a listener in the abstract namespace with a client waiting;
 *   - a datagram socket whose path was unlinked after bind, with a peer connected to it that
 *     has queued messages: the path stays gone, the peer still reaches it;
 *   - a datagram server (SO_PASSCRED) with three clients connected to it (path-bound,
 *     abstract-bound, unnamed): queued datagrams keep their order and sender addresses;
 * and the socket files the dumped process leaves behind are taken over by the restore. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "scenario.h"

struct name {
	struct sockaddr_un a;
	socklen_t len;
};

static char dir[64];

static struct name path_name(const char *base)
{
	struct name n = {.a.sun_family = AF_UNIX};

	snprintf(n.a.sun_path, sizeof(n.a.sun_path), "%s/%s", dir, base);
	n.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(n.a.sun_path) + 1);
	return n;
}

static struct name abstract_name(const char *what)
{
	struct name n = {.a.sun_family = AF_UNIX};
	int len = snprintf(n.a.sun_path + 1, sizeof(n.a.sun_path) - 1, "minicr-%s-%d", what,
			   (int)getpid());

	n.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
	return n;
}

static int sock_at(int type, const struct name *bind_to)
{
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || (bind_to && bind(fd, (const struct sockaddr *)&bind_to->a, bind_to->len) < 0))
		scenario_skip("socket/bind: %m");
	return fd;
}

static void connect_to(int fd, const struct name *n)
{
	if (connect(fd, (const struct sockaddr *)&n->a, n->len) < 0)
		scenario_skip("connect to '%s': %m",
			      n->a.sun_path[0] ? n->a.sun_path : n->a.sun_path + 1);
}

static struct name local_name(int fd)
{
	struct name n = {.len = sizeof(n.a)};

	getsockname(fd, (struct sockaddr *)&n.a, &n.len);
	return n;
}

static struct name peer_name(int fd)
{
	struct name n = {.len = sizeof(n.a)};

	getpeername(fd, (struct sockaddr *)&n.a, &n.len);
	return n;
}

static bool same(const struct name *a, const struct name *b)
{
	return a->len == b->len && memcmp(&a->a, &b->a, a->len) == 0;
}

static bool talk(int a, int b, const char *msg)
{
	char buf[64];
	ssize_t n;

	if (send(a, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		return false;
	n = recv(b, buf, sizeof(buf), MSG_DONTWAIT);
	return n == (ssize_t)strlen(msg) && memcmp(buf, msg, (size_t)n) == 0;
}

static bool recv_is(int fd, const char *msg, const struct name *from)
{
	struct name n = {.len = sizeof(n.a)};
	char buf[64];
	ssize_t len = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&n.a, &n.len);

	return len == (ssize_t)strlen(msg) && memcmp(buf, msg, (size_t)len) == 0 &&
	       (!from || same(&n, from));
}

int main(void)
{
	struct name lpath, rel = {.a.sun_family = AF_UNIX}, abs_l, gone, gpath, c1path, c2abs,
			   p2abs;
	struct name pnames[3], c3name;
	int l, a, s_a, p[3], r, al, ap, u, d, g, c1, c2, c3, fd;
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/minicr-unix-names.XXXXXX");
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");

	/* a listener by absolute path, its accepted connection, three clients waiting */
	lpath = path_name("listen.sock");
	l = sock_at(SOCK_STREAM, &lpath);
	if (chmod(lpath.a.sun_path, 0640) < 0 || chown(lpath.a.sun_path, 1234, 5678) < 0 ||
	    listen(l, 8) < 0)
		scenario_skip("listener: %m");
	a = sock_at(SOCK_STREAM, NULL);
	connect_to(a, &lpath);
	s_a = accept4(l, NULL, NULL, 0);
	if (s_a < 0 || send(a, "to server", 9, 0) != 9 || send(s_a, "to client", 9, 0) != 9)
		scenario_skip("accepted connection: %m");
	p2abs = abstract_name("p2");
	p[0] = sock_at(SOCK_STREAM, NULL);
	p[1] = sock_at(SOCK_STREAM, &p2abs);
	p[2] = sock_at(SOCK_STREAM, NULL);
	{
		struct sockaddr_un autobind = {.sun_family = AF_UNIX};

		if (bind(p[2], (struct sockaddr *)&autobind, sizeof(sa_family_t)) < 0)
			scenario_skip("autobind: %m");
	}
	for (int i = 0; i < 3; i++) {
		connect_to(p[i], &lpath);
		pnames[i] = local_name(p[i]);
	}

	/* a relative name bound from the directory */
	if (chdir(dir) < 0)
		scenario_skip("chdir: %m");
	snprintf(rel.a.sun_path, sizeof(rel.a.sun_path), "rel.sock");
	rel.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 9);
	r = sock_at(SOCK_SEQPACKET, &rel);
	if (listen(r, 1) < 0 || chdir("/") < 0)
		scenario_skip("relative listener: %m");

	/* an abstract listener with a client waiting */
	abs_l = abstract_name("listen");
	al = sock_at(SOCK_STREAM, &abs_l);
	if (listen(al, 2) < 0)
		scenario_skip("listen: %m");
	ap = sock_at(SOCK_STREAM, NULL);
	connect_to(ap, &abs_l);

	/* a datagram socket unlinked after bind, its peer's messages queued */
	gone = path_name("gone.sock");
	u = sock_at(SOCK_DGRAM, &gone);
	d = sock_at(SOCK_DGRAM, NULL);
	connect_to(d, &gone);
	if (unlink(gone.a.sun_path) < 0 || send(d, "before", 6, 0) != 6)
		scenario_skip("unlinked: %m");

	/* many-to-one datagrams with their senders' names */
	gpath = path_name("dgram.sock");
	g = sock_at(SOCK_DGRAM, &gpath);
	if (setsockopt(g, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
		scenario_skip("SO_PASSCRED: %m");
	c1path = path_name("c1.sock");
	c2abs = abstract_name("c2");
	c1 = sock_at(SOCK_DGRAM, &c1path);
	c2 = sock_at(SOCK_DGRAM, &c2abs);
	c3 = sock_at(SOCK_DGRAM, NULL);
	connect_to(c1, &gpath);
	connect_to(c2, &gpath);
	connect_to(c3, &gpath);
	if (send(c1, "one", 3, 0) != 3 || send(c2, "two", 3, 0) != 3 ||
	    send(c3, "three", 5, 0) != 5 || send(c1, "four", 4, 0) != 4)
		scenario_skip("send: %m");
	c3name = (struct name){.len = 0}; /* an unnamed sender shows no address */

	scenario_ready();
	scenario_wait();

	/* the listener's file, name, and its connections */
	scenario_check(stat(lpath.a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode),
		       "socket file gone");
	scenario_check((st.st_mode & 07777) == 0640 && st.st_uid == 1234 && st.st_gid == 5678,
		       "socket file mode %o owner %d:%d", st.st_mode & 07777, st.st_uid, st.st_gid);
	{
		struct name ln = local_name(l), an = peer_name(a), sn = local_name(s_a);

		scenario_check(same(&ln, &lpath), "listener name changed");
		scenario_check(same(&an, &lpath), "client's peer name changed");
		scenario_check(same(&sn, &lpath), "accepted socket's name changed");
	}
	scenario_check(recv_is(s_a, "to server", NULL) && recv_is(a, "to client", NULL),
		       "accepted connection lost its data");
	scenario_check(talk(a, s_a, "again") && talk(s_a, a, "back"),
		       "accepted connection is dead");
	scenario_check(fcntl(l, F_SETFL, O_NONBLOCK) == 0, "fcntl: %m");
	for (int i = 0; i < 3; i++) {
		int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
		struct name pn;

		scenario_check(s >= 0, "waiting client %d was not accepted: %m", i);
		pn = peer_name(s);
		scenario_check(same(&pn, &pnames[i]), "waiting client %d came out of order", i);
		scenario_check(talk(p[i], s, "hello") && talk(s, p[i], "welcome"),
			       "waiting client %d does not talk", i);
		close(s);
	}
	scenario_check(accept4(l, NULL, NULL, SOCK_NONBLOCK) < 0 && errno == EAGAIN,
		       "extra clients in the accept queue");
	/* the relative name */
	{
		struct name rn = local_name(r), to = path_name("rel.sock");

		scenario_check(same(&rn, &rel), "relative name changed");
		fd = sock_at(SOCK_SEQPACKET, NULL);
		connect_to(fd, &to);
		scenario_check(accept4(r, NULL, NULL, 0) >= 0, "cannot reach the relative name");
	}
	/* the abstract listener */
	{
		struct name an = local_name(al);
		int s = accept4(al, NULL, NULL, SOCK_NONBLOCK);

		scenario_check(same(&an, &abs_l), "abstract name changed");
		scenario_check(s >= 0 && talk(ap, s, "abs"), "abstract client does not talk");
	}
	/* the unlinked name */
	{
		struct name un = local_name(u);

		scenario_check(access(gone.a.sun_path, F_OK) < 0 && errno == ENOENT,
			       "the unlinked name came back");
		scenario_check(same(&un, &gone), "unlinked socket's name changed");
		scenario_check(recv_is(u, "before", NULL), "message to the unlinked socket lost");
		scenario_check(talk(d, u, "after"), "peer of the unlinked socket cannot reach it");
	}
	/* datagrams in order, with their senders */
	scenario_check(recv_is(g, "one", &c1path), "datagram 1 or its sender differs");
	scenario_check(recv_is(g, "two", &c2abs), "datagram 2 or its sender differs");
	scenario_check(recv_is(g, "three", &c3name), "datagram 3 or its sender differs");
	scenario_check(recv_is(g, "four", &c1path), "datagram 4 or its sender differs");
	scenario_check(recv(g, &fd, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "extra datagrams");
	scenario_check(talk(c2, g, "five") && talk(c3, g, "six"),
		       "clients cannot reach the server");
	scenario_check(send(c1, "seven", 5, 0) == 5 && recv_is(g, "seven", &c1path),
		       "client 1 cannot reach the server");
	unlink(lpath.a.sun_path);
	unlink(gpath.a.sun_path);
	unlink(c1path.a.sun_path);
	{
		struct name rp = path_name("rel.sock");

		unlink(rp.a.sun_path);
	}
	rmdir(dir);
	scenario_pass();
}
