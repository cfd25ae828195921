/* A client and a server process that keep exchanging numbered messages while they are dumped
 * and restored: over a TCP connection and a unix stream connection, both accepted from
 * listeners of the server. The client sends message n on both, the server checks it is the n
 * it expects on each and answers n, the client checks the answers: one lost or duplicated
 * byte breaks the sequence. After SIGUSR1 (so after the restore in cr mode) they go on for
 * 2000 more messages, then stop, and the server checks the client's verdict. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define STOP UINT64_MAX
#define MORE 2000

static bool io_all(int fd, void *buf, size_t len, bool is_write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = is_write ? write(fd, (char *)buf + done, len - done)
				     : read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* Exit statuses of the client. */
enum { CLIENT_OK, CLIENT_IO, CLIENT_SEQ };

static __attribute__((noreturn)) void client(int tcp, int ux)
{
	for (uint64_t n = 0;; n++) {
		uint64_t got_tcp, got_ux;

		if (!io_all(tcp, &n, sizeof(n), true) || !io_all(ux, &n, sizeof(n), true) ||
		    !io_all(tcp, &got_tcp, sizeof(got_tcp), false) ||
		    !io_all(ux, &got_ux, sizeof(got_ux), false))
			_exit(CLIENT_IO);
		if (got_tcp == STOP && got_ux == STOP)
			_exit(CLIENT_OK);
		if (got_tcp != n || got_ux != n)
			_exit(CLIENT_SEQ);
	}
}

static bool usr1_pending(void)
{
	sigset_t set;

	return sigpending(&set) == 0 && sigismember(&set, SIGUSR1);
}

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	socklen_t len = sizeof(a), ulen;
	int lt, lu, ct, cu, st, su, status;
	uint64_t expect = 0, stop_at = STOP;
	pid_t child;

	ulen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)snprintf(u.sun_path + 1, sizeof(u.sun_path) - 1,
					    "minicr-chat-%d", (int)getpid()));
	lt = socket(AF_INET, SOCK_STREAM, 0);
	lu = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lt < 0 || lu < 0 || bind(lt, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lt, 1) < 0 || getsockname(lt, (struct sockaddr *)&a, &len) < 0 ||
	    bind(lu, (struct sockaddr *)&u, ulen) < 0 || listen(lu, 1) < 0)
		scenario_skip("listeners: %m");

	{
		sigset_t usr1;

		/* the client never sees the driver's SIGUSR1 */
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
	}
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0) {
		ct = socket(AF_INET, SOCK_STREAM, 0);
		cu = socket(AF_UNIX, SOCK_STREAM, 0);
		if (ct < 0 || cu < 0 || connect(ct, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    connect(cu, (struct sockaddr *)&u, ulen) < 0)
			_exit(CLIENT_IO);
		client(ct, cu);
	}
	st = accept(lt, NULL, NULL);
	su = accept(lu, NULL, NULL);
	if (st < 0 || su < 0)
		scenario_fail("accept: %m");
	scenario_ready(); /* both connections exist: the dump finds them talking */
	for (;;) {
		uint64_t n_tcp, n_ux, answer;

		if (!io_all(st, &n_tcp, sizeof(n_tcp), false) ||
		    !io_all(su, &n_ux, sizeof(n_ux), false))
			scenario_fail("server: the client went away at message %llu",
				      (unsigned long long)expect);
		if (n_tcp != expect || n_ux != expect)
			scenario_fail("server: message %llu came as %llu (TCP) and %llu (unix)",
				      (unsigned long long)expect, (unsigned long long)n_tcp,
				      (unsigned long long)n_ux);
		if (stop_at == STOP && usr1_pending())
			stop_at = expect + MORE;
		answer = expect == stop_at ? STOP : expect;
		if (!io_all(st, &answer, sizeof(answer), true) ||
		    !io_all(su, &answer, sizeof(answer), true))
			scenario_fail("server: cannot answer message %llu",
				      (unsigned long long)expect);
		if (answer == STOP)
			break;
		expect++;
	}
	if (waitpid(child, &status, 0) != child)
		scenario_fail("waitpid: %m");
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == CLIENT_OK, "client: %s",
		       WIFEXITED(status) && WEXITSTATUS(status) == CLIENT_SEQ
			   ? "an answer came out of sequence"
			   : "its connections broke");
	scenario_check(expect > MORE, "only %llu messages", (unsigned long long)expect);
	scenario_pass();
}
