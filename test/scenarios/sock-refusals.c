/* Socket states restore cannot rebuild: the dump must refuse each with one line naming the pid,
 * fd and inode, and leave the tree running; after SIGUSR1 the same, never-restored process
 * checks that the state is intact. The case is chosen by the program's name:
 *   unix-refuse-peer        a stream socket whose peer belongs to a process outside the tree
 *   unix-refuse-scm         a file descriptor in flight (SCM_RIGHTS sent, not received)
 *   unix-refuse-unaccepted  a client that wrote data before its listener accepted it
 *   inet-refuse-peer        a TCP connection to a process outside the tree
 *   inet-external           the same, dumped with --tcp-established: after the restore the
 *                           connection goes on with the outside process, which saw nothing */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

/* A process outside the tree (orphaned at once, so not a descendant) holding one end. */
static void outside_peer(int *ret_fd)
{
	int sv[2], status;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		scenario_skip("socketpair: %m");
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0) {
		if (fork() != 0)
			_exit(0);
		/* the echo daemon: answers one ping, ends at EOF */
		char buf[16];

		close(sv[0]);
		setsid();
		for (;;) {
			ssize_t n = read(sv[1], buf, sizeof(buf));

			if (n <= 0)
				_exit(0);
			if (write(sv[1], "pong", 4) != 4)
				_exit(1);
		}
	}
	waitpid(child, &status, 0);
	close(sv[1]);
	*ret_fd = sv[0];
}

/* A TCP echo server outside the tree (orphaned at once) and a connection to it with a message
 * of each side still queued. */
static int outside_tcp_peer(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, status;
	pid_t child;
	char buf[16];

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		scenario_skip("listener: %m");
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		c = accept(l, NULL, NULL);
		close(l);
		if (c < 0 || write(c, "hello", 5) != 5)
			_exit(1);
		/* answers every ping with a pong, ends at EOF or after a minute */
		alarm(60);
		for (;;) {
			ssize_t n = read(c, buf, 4);

			if (n <= 0)
				_exit(0);
			if (write(c, "pong", 4) != 4)
				_exit(1);
		}
	}
	waitpid(child, &status, 0);
	close(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 || write(c, "ping", 4) != 4)
		scenario_skip("connect: %m");
	return c;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int sv[2], pfd[2], l = -1, c = -1, s;
	char buf[16];

	(void)argc;
	if (strcmp(name, "unix-refuse-peer") == 0) {
		outside_peer(&s);
		scenario_ready();
		scenario_wait();
		scenario_check(write(s, "ping", 4) == 4 && read(s, buf, 4) == 4 &&
				   memcmp(buf, "pong", 4) == 0,
			       "the outside peer does not answer");
		close(s);
		scenario_pass();
	}
	if (strcmp(name, "unix-refuse-scm") == 0) {
		union {
			struct cmsghdr align;
			char bytes[CMSG_SPACE(sizeof(int))];
		} control = {0};
		struct iovec iov = {.iov_base = "f", .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = control.bytes,
				    .msg_controllen = sizeof(control.bytes)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		int got;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pfd) < 0 ||
		    write(pfd[1], "in", 2) != 2)
			scenario_skip("setup: %m");
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pfd[0], sizeof(int));
		if (sendmsg(sv[0], &mh, 0) != 1)
			scenario_skip("sendmsg: %m");
		close(pfd[0]);
		scenario_ready();
		scenario_wait();
		iov.iov_base = buf;
		mh.msg_controllen = sizeof(control.bytes);
		scenario_check(recvmsg(sv[1], &mh, 0) == 1, "the message in flight is lost");
		cm = CMSG_FIRSTHDR(&mh);
		scenario_check(cm && cm->cmsg_type == SCM_RIGHTS, "the fd in flight is lost");
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
		scenario_check(read(got, buf, 2) == 2 && memcmp(buf, "in", 2) == 0,
			       "the fd in flight lost its pipe");
		scenario_pass();
	}
	if (strcmp(name, "unix-refuse-unaccepted") == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		socklen_t len =
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				(size_t)snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
						 "minicr-unaccepted-%d", (int)getpid()));

		l = socket(AF_UNIX, SOCK_STREAM, 0);
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 4) < 0 ||
		    connect(c, (struct sockaddr *)&a, len) < 0 || write(c, "early", 5) != 5)
			scenario_skip("setup: %m");
		scenario_ready();
		scenario_wait();
		s = accept(l, NULL, NULL);
		scenario_check(s >= 0 && read(s, buf, 5) == 5 && memcmp(buf, "early", 5) == 0,
			       "the unaccepted client's data is lost");
		scenario_pass();
	}
	if (strcmp(name, "inet-refuse-peer") == 0 || strcmp(name, "inet-external") == 0) {
		struct pollfd p;

		s = outside_tcp_peer();
		scenario_ready();
		scenario_wait();
		/* the greeting, then the answer to the ping sent before the dump, then a new one */
		p = (struct pollfd){.fd = s, .events = POLLIN};
		scenario_check(poll(&p, 1, 10000) == 1 && read(s, buf, 5) == 5 &&
				   memcmp(buf, "hello", 5) == 0,
			       "the greeting from outside is lost");
		scenario_check(poll(&p, 1, 10000) == 1 && read(s, buf, 4) == 4 &&
				   memcmp(buf, "pong", 4) == 0,
			       "the answer from outside is lost");
		scenario_check(write(s, "ping", 4) == 4 && poll(&p, 1, 10000) == 1 &&
				   read(s, buf, 4) == 4 && memcmp(buf, "pong", 4) == 0,
			       "the connection to the outside is dead");
		close(s);
		scenario_pass();
	}
	scenario_skip("unknown case '%s'", name);
}
