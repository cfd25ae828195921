/* Unix socket pairs with everything a pair can hold across a dump:
 *   - stream, seqpacket and datagram pairs with data queued in both directions (message
 *     boundaries kept for seqpacket and datagram, an empty datagram included);
 *   - a stream pair filled until its writer would block (the full buffer), read back whole;
 *   - an end dup'ed (one open file description: O_NONBLOCK set through the dup shows on it);
 *   - a pair shared with a child by fork, data queued both ways; a pair with nothing queued
 *     whose one end only the child holds;
 *   - SHUT_WR on one end (its peer reads the data, then EOF), a peer closed with data left;
 *   - SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_PEEK_OFF, O_NONBLOCK;
 *   - many pairs (more than restore rebuilds on one thread), every type in turn, with messages,
 *     shutdowns and options, between pipes and closed numbers (so the numbers they come back
 *     at are not one run), one of them held by the child alone.
 * After restore every queue is read back and compared, options are compared with the values
 * read before the dump, and the pairs still talk. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

static int getopt_int(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
		return -2;
	return v;
}

static void fill(char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(seed * 31 + i * 7);
}

static bool read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool expect_stream(int fd, size_t len, unsigned int seed)
{
	char *want = malloc(len), *got = malloc(len);
	bool ok = want && got && read_exact(fd, got, len);

	if (ok) {
		fill(want, len, seed);
		ok = memcmp(want, got, len) == 0;
	}
	free(want);
	free(got);
	return ok;
}

static bool write_stream(int fd, size_t len, unsigned int seed)
{
	char *buf = malloc(len);
	bool ok = buf != NULL;

	if (ok) {
		fill(buf, len, seed);
		ok = write(fd, buf, len) == (ssize_t)len;
	}
	free(buf);
	return ok;
}

/* One message of exactly len bytes, filled from seed. */
static bool expect_msg(int fd, size_t len, unsigned int seed)
{
	char want[8192], got[8193];
	ssize_t n = recv(fd, got, sizeof(got), MSG_DONTWAIT);

	fill(want, len, seed);
	return n == (ssize_t)len && memcmp(want, got, len) == 0;
}

static bool send_msg(int fd, size_t len, unsigned int seed)
{
	char buf[8192];

	fill(buf, len, seed);
	return send(fd, buf, len, 0) == (ssize_t)len;
}

static const size_t seq_sizes[] = {1, 100, 5000, 37};

#define N_MANY 300
static const int many_types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
static int many[N_MANY][2], many_pipes[N_MANY / 50][2];

/* Pair i: a message each way (but back on every fourth), SHUT_WR of end 0 on every seventh
 * stream pair, SO_PASSCRED on end 1 of every fifth. */
static bool many_back(int i)
{
	return i % 4 != 0;
}

static bool many_shut(int i)
{
	return i % 3 == 0 && i % 7 == 3;
}

static void make_many(void)
{
	int holes[N_MANY / 40 + 1], n_holes = 0;

	for (int i = 0; i < N_MANY; i++) {
		int type = many_types[i % 3];

		if (i % 50 == 25 && pipe(many_pipes[i / 50]) < 0)
			scenario_skip("pipe: %m");
		if (i % 40 == 13 && (holes[n_holes++] = dup(0)) < 0)
			scenario_skip("dup: %m");
		if (socketpair(AF_UNIX, type, 0, many[i]) < 0)
			scenario_skip("socketpair: %m");
		if (!send_msg(many[i][0], 10 + (size_t)(i % 50), (unsigned)i) ||
		    (many_back(i) && !send_msg(many[i][1], 5, 1000 + (unsigned)i)))
			scenario_skip("send: %m");
		if (many_shut(i) && shutdown(many[i][0], SHUT_WR) < 0)
			scenario_skip("shutdown: %m");
		if (i % 5 == 2 &&
		    setsockopt(many[i][1], SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
			scenario_skip("setsockopt: %m");
	}
	for (int k = 0; k < n_holes; k++)
		close(holes[k]);
	for (int k = 0; k < N_MANY / 50; k++)
		if (write(many_pipes[k][1], "p", 1) != 1)
			scenario_skip("write: %m");
}

/* One message of len bytes from seed on fd, whole (a stream gives it in parts). */
static bool expect_one(int fd, int type, size_t len, unsigned int seed)
{
	return type == SOCK_STREAM ? expect_stream(fd, len, seed) : expect_msg(fd, len, seed);
}

static void check_many(void)
{
	char c;

	for (int i = 0; i < N_MANY; i++) {
		int type = many_types[i % 3], *sv = many[i];

		if (i == N_MANY - 1)
			continue; /* the child's */
		scenario_check(expect_one(sv[1], type, 10 + (size_t)(i % 50), (unsigned)i),
			       "pair %d: the message to end 1 differs", i);
		if (many_back(i))
			scenario_check(expect_one(sv[0], type, 5, 1000 + (unsigned)i),
				       "pair %d: the message to end 0 differs", i);
		scenario_check(recv(sv[0], &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
			       "pair %d: end 0 should be empty", i);
		if (many_shut(i))
			scenario_check(recv(sv[1], &c, 1, MSG_DONTWAIT) == 0,
				       "pair %d: SHUT_WR of end 0 is lost", i);
		else
			scenario_check(recv(sv[1], &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
				       "pair %d: end 1 should be empty", i);
		scenario_check(getopt_int(sv[1], SO_PASSCRED) == (i % 5 == 2),
			       "pair %d: SO_PASSCRED differs", i);
		scenario_check(getopt_int(sv[0], SO_TYPE) == type &&
				   getopt_int(sv[1], SO_TYPE) == type,
			       "pair %d: the type differs", i);
		scenario_check(send_msg(sv[1], 3, 2000 + (unsigned)i) &&
				   expect_one(sv[0], type, 3, 2000 + (unsigned)i),
			       "pair %d does not talk", i);
	}
	for (int k = 0; k < N_MANY / 50; k++)
		scenario_check(read(many_pipes[k][0], &c, 1) == 1 && c == 'p',
			       "pipe %d between the pairs lost its byte", k);
}

int main(void)
{
	int st[2], sq[2], dg[2], full[2], shut[2], gone[2], shared[2], quiet[2], ctl[2], dupfd;
	size_t full_len = 0;
	int sndbuf, rcvbuf, status;
	char c, buf[4096];
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, full) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, shut) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, gone) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, shared) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, quiet) < 0 || pipe(ctl) < 0)
		scenario_skip("socketpair: %m");

	/* stream: several writes each way */
	if (!write_stream(st[0], 1000, 1) || !write_stream(st[0], 3000, 2) ||
	    !write_stream(st[1], 777, 3))
		scenario_skip("write: %m");
	/* seqpacket and datagram: boundaries, both ways, an empty datagram */
	for (size_t i = 0; i < 4; i++)
		if (!send_msg(sq[0], seq_sizes[i], (unsigned)i) ||
		    !send_msg(dg[1], seq_sizes[i], 10 + (unsigned)i))
			scenario_skip("send: %m");
	if (!send_msg(sq[1], 42, 20) || !send_msg(dg[0], 0, 0) || !send_msg(dg[0], 9, 21))
		scenario_skip("send: %m");
	/* the full buffer: write until the kernel says no more */
	fcntl(full[0], F_SETFL, O_NONBLOCK);
	fill(buf, sizeof(buf), 99);
	for (;;) {
		ssize_t n = write(full[0], buf, sizeof(buf));

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			scenario_skip("filling: %m");
		full_len += (size_t)n;
	}
	/* a dup'ed end; O_NONBLOCK through the dup is the description's */
	dupfd = dup(st[1]);
	fcntl(dupfd, F_SETFL, O_NONBLOCK);
	/* shutdown and a closed peer */
	if (!write_stream(shut[0], 500, 30) || shutdown(shut[0], SHUT_WR) < 0 ||
	    !send_msg(gone[0], 300, 31) || close(gone[0]) < 0)
		scenario_skip("shutdown: %m");
	/* options */
	sndbuf = 65536;
	rcvbuf = 50000;
	if (setsockopt(sq[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
	    setsockopt(sq[1], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0 ||
	    setsockopt(dg[0], SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0 ||
	    setsockopt(st[0], SOL_SOCKET, SO_PEEK_OFF, &(int){3}, sizeof(int)) < 0)
		scenario_skip("setsockopt: %m");
	sndbuf = getopt_int(sq[0], SO_SNDBUF);
	rcvbuf = getopt_int(sq[1], SO_RCVBUF);
	make_many();

	/* a pair shared with a child: the child answers after the restore */
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0) {
		sigset_t all;

		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		close(shared[0]);
		close(quiet[0]);
		close(many[N_MANY - 1][0]);
		if (read(ctl[0], &c, 1) != 1)
			_exit(10);
		if (!expect_stream(shared[1], 2000, 40))
			_exit(11);
		/* the last of the many pairs: end 1 only, in the child alone */
		if (!expect_one(many[N_MANY - 1][1], many_types[(N_MANY - 1) % 3],
				10 + (size_t)((N_MANY - 1) % 50), N_MANY - 1))
			_exit(13);
		/* a pair with nothing queued, one end in the child alone */
		if (write(quiet[1], "q", 1) != 1)
			_exit(14);
		_exit(write_stream(shared[1], 100, 41) ? 0 : 12);
	}
	close(shared[1]);
	close(quiet[1]);
	close(many[N_MANY - 1][1]);
	if (!write_stream(shared[0], 2000, 40))
		scenario_skip("write: %m");

	scenario_ready();
	scenario_wait();

	/* stream */
	scenario_check(expect_stream(st[1], 1000, 1) && expect_stream(st[1], 3000, 2),
		       "stream data from end 0 differs");
	{
		char peek[8];

		scenario_check(recv(st[0], peek, 4, MSG_PEEK) == 4, "cannot peek on end 0");
		fill(buf, 777, 3);
		scenario_check(memcmp(peek, buf + 3, 4) == 0, "SO_PEEK_OFF 3 is lost");
		scenario_check(
		    setsockopt(st[0], SOL_SOCKET, SO_PEEK_OFF, &(int){-1}, sizeof(int)) == 0,
		    "cannot clear SO_PEEK_OFF");
	}
	scenario_check(expect_stream(st[0], 777, 3), "stream data from end 1 differs");
	scenario_check(fcntl(st[1], F_GETFL) & O_NONBLOCK,
		       "O_NONBLOCK set through the dup is lost");
	scenario_check(read(st[1], buf, 1) < 0 && errno == EAGAIN,
		       "end 1 should be empty, nonblocking");
	scenario_check(write(dupfd, "x", 1) == 1 && read(st[0], &c, 1) == 1 && c == 'x',
		       "the dup'ed end does not reach the peer");
	/* seqpacket and datagram */
	for (size_t i = 0; i < 4; i++) {
		scenario_check(expect_msg(sq[1], seq_sizes[i], (unsigned)i),
			       "seqpacket message %zu differs", i);
		scenario_check(expect_msg(dg[0], seq_sizes[i], 10 + (unsigned)i),
			       "datagram %zu differs", i);
	}
	scenario_check(expect_msg(sq[0], 42, 20), "seqpacket message back differs");
	scenario_check(expect_msg(dg[1], 0, 0), "the empty datagram is lost");
	scenario_check(expect_msg(dg[1], 9, 21), "datagram back differs");
	scenario_check(recv(dg[0], buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		       "extra datagrams appeared");
	/* the full buffer */
	{
		size_t got = 0;
		char want[4096];

		fill(want, sizeof(want), 99);
		while (got < full_len) {
			ssize_t n =
			    recv(full[1], buf, sizeof(buf) - (got % sizeof(buf)), MSG_DONTWAIT);

			if (n <= 0)
				break;
			scenario_check(memcmp(buf, want + (got % sizeof(want)), (size_t)n) == 0,
				       "full buffer corrupted at %zu", got);
			got += (size_t)n;
		}
		scenario_check(got == full_len, "full buffer: %zu of %zu bytes", got, full_len);
		scenario_check(recv(full[1], buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
			       "full buffer: extra bytes");
		scenario_check(write(full[0], "y", 1) == 1,
			       "full buffer: cannot write after reading");
	}
	/* shutdown and closed peer */
	scenario_check(expect_stream(shut[1], 500, 30) && read(shut[1], &c, 1) == 0,
		       "SHUT_WR: data then EOF expected");
	scenario_check(send(shut[0], "z", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
		       "SHUT_WR: the shut end can still send");
	scenario_check(expect_msg(gone[1], 300, 31), "data from the closed peer is lost");
	scenario_check(recv(gone[1], buf, 1, MSG_DONTWAIT) == 0,
		       "no EOF after the closed peer's data");
	scenario_check(send(gone[1], "z", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
		       "sending to a closed peer should fail with EPIPE");
	/* options */
	scenario_check(getopt_int(sq[0], SO_SNDBUF) == sndbuf, "SO_SNDBUF %d, want %d",
		       getopt_int(sq[0], SO_SNDBUF), sndbuf);
	scenario_check(getopt_int(sq[1], SO_RCVBUF) == rcvbuf, "SO_RCVBUF %d, want %d",
		       getopt_int(sq[1], SO_RCVBUF), rcvbuf);
	scenario_check(getopt_int(dg[0], SO_PASSCRED) == 1, "SO_PASSCRED is lost");
	scenario_check(getopt_int(dg[1], SO_PASSCRED) == 0, "SO_PASSCRED appeared");
	scenario_check(getopt_int(st[0], SO_TYPE) == SOCK_STREAM &&
			   getopt_int(sq[0], SO_TYPE) == SOCK_SEQPACKET &&
			   getopt_int(dg[0], SO_TYPE) == SOCK_DGRAM,
		       "socket types differ");
	/* the pairs still talk */
	scenario_check(send_msg(sq[1], 5, 50) && expect_msg(sq[0], 5, 50),
		       "seqpacket does not talk");
	scenario_check(send_msg(dg[0], 6, 51) && expect_msg(dg[1], 6, 51),
		       "datagram pair does not talk");
	check_many();
	/* the child */
	scenario_check(write(ctl[1], "g", 1) == 1, "cannot wake the child");
	scenario_check(waitpid(child, &status, 0) == child, "cannot wait for the child");
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %d)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	scenario_check(expect_stream(shared[0], 100, 41), "the child's answer differs");
	scenario_check(read(quiet[0], &c, 1) == 1 && c == 'q',
		       "the quiet pair held by the child does not talk");
	scenario_pass();
}
