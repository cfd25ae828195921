/* A program running in a pty, driven by its parent through the master:
 *
 *   root (holds the master, and a second pty left locked in packet mode)
 *   └── C   setsid(), the pty's slave as stdin/out/err and controlling terminal, /dev/tty open
 *       └── G   its own process group, the terminal's foreground group: an echo loop that
 *               reads a line (when told to, over a pipe) and writes "echo: <line>"
 *
 * At dump the pty holds typed input G has not read yet (a line and an unterminated rest) and
 * output the root has not read (G's last answer and the echo of what was typed). After
 * restore: the same pty number, settings and window size; the unread output comes exactly
 * once; G reads the pending line, then the rest completed by more typing, and keeps echoing;
 * C still has the pty as controlling terminal with G's group in the foreground, and its
 * /dev/tty still reaches it; the second pty is still locked and in packet mode. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "scenario.h"

struct report {
	pid_t sid, fg, dev_tty_sid;
	int ctty_ok;
};

static int master, go[2], cmd[2], rep[2];

/* G: one line per token, answered on stdout. */
static void __attribute__((noreturn)) echo_loop(void)
{
	char line[256], out[300], c;
	ssize_t n;

	for (;;) {
		if (read(go[0], &c, 1) != 1)
			_exit(0);
		n = read(0, line, sizeof(line) - 1);
		if (n <= 0)
			_exit(n < 0 ? 3 : 0);
		if (line[n - 1] == '\n')
			n--;
		n = snprintf(out, sizeof(out), "echo: %.*s\n", (int)n, line);
		if (write(1, out, (size_t)n) != n)
			_exit(4);
	}
}

/* C: the session leader; answers what its terminal looks like. */
static void __attribute__((noreturn)) leader(const char *slave_name)
{
	struct report r = {0};
	int slave, dev_tty;
	pid_t g;
	char c;

	close(go[1]);
	close(cmd[1]);
	close(rep[0]);
	close(master);
	if (setsid() < 0)
		_exit(10);
	slave = open(slave_name, O_RDWR); /* no O_NOCTTY: becomes the controlling terminal */
	if (slave < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		_exit(11);
	close(slave);
	dev_tty = open("/dev/tty", O_RDWR);
	if (dev_tty < 0)
		_exit(12);
	g = fork();
	if (g == 0) {
		setpgid(0, 0);
		echo_loop();
	}
	setpgid(g, g);
	if (tcsetpgrp(0, g) < 0)
		_exit(13);
	/* on each command, a report */
	while (read(cmd[0], &c, 1) == 1) {
		r.sid = getsid(0);
		r.fg = tcgetpgrp(0);
		r.ctty_ok = open("/dev/tty", O_RDWR | O_CLOEXEC) >= 0;
		if (ioctl(dev_tty, TIOCGSID, &r.dev_tty_sid) < 0)
			r.dev_tty_sid = -1;
		if (write(rep[1], &r, sizeof(r)) != sizeof(r))
			_exit(14);
	}
	kill(g, SIGKILL);
	waitpid(g, NULL, 0);
	_exit(0);
}

/* Waits until the master has at least n bytes to read (a hang guard, not a timing assertion). */
static void wait_queued(int n)
{
	for (int i = 0, q = 0; i < 1000 && q < n; i++) {
		if (ioctl(master, FIONREAD, &q) < 0 || q >= n)
			break;
		usleep(10000);
	}
}

/* Everything the master has to read within timeout_ms, appended to buf. */
static size_t drain(char *buf, size_t size, size_t len, const char *until, int timeout_ms)
{
	while (len < size - 1) {
		struct pollfd pfd = {master, POLLIN, 0};
		ssize_t n;

		buf[len] = 0;
		if (until && strstr(buf, until))
			break;
		if (poll(&pfd, 1, timeout_ms) != 1)
			break;
		n = read(master, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return len;
}

static void ask(struct report *r)
{
	struct pollfd pfd = {rep[0], POLLIN, 0};

	scenario_check(write(cmd[1], "?", 1) == 1, "cannot ask the session leader");
	scenario_check(poll(&pfd, 1, 10000) == 1 && read(rep[0], r, sizeof(*r)) == sizeof(*r),
		       "the session leader did not answer");
}

int main(void)
{
	struct winsize ws = {.ws_row = 40, .ws_col = 100}, ws_after;
	struct termios t_before, t_after;
	char name[64], name_after[64], pending_output[512], buf[2048];
	int locked = -1, packet = -1, second, on = 1, status;
	struct report r;
	pid_t c;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	second = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || second < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		scenario_skip("no pty: %m");
	if (ioctl(second, TIOCPKT, &on) < 0)
		scenario_skip("TIOCPKT: %m");
	ioctl(master, TIOCSWINSZ, &ws);
	if (pipe(go) < 0 || pipe(cmd) < 0 || pipe(rep) < 0)
		scenario_skip("pipe: %m");
	c = fork();
	if (c == 0)
		leader(name);
	close(go[0]);
	close(cmd[0]);
	close(rep[1]);
	/* a first exchange: the loop runs */
	ask(&r);
	if (r.fg == r.sid || r.fg <= 0)
		scenario_skip("the echo loop is not in the foreground");
	(void)!write(master, "hello\n", 6);
	(void)!write(go[1], "g", 1);
	drain(buf, sizeof(buf), 0, "echo: hello\r\n", 5000);
	if (!strstr(buf, "echo: hello\r\n"))
		scenario_skip("no echo from the loop: '%s'", buf);
	/* queued at dump: G's answer to "before" unread, "pending" and "partial" typed, unread */
	snprintf(pending_output, sizeof(pending_output),
		 "before\r\necho: before\r\npending\r\npartial");
	(void)!write(master, "before\n", 7);
	(void)!write(go[1], "g", 1);
	wait_queued(22); /* "before\r\necho: before\r\n" */
	(void)!write(master, "pending\npartial", 15);
	wait_queued((int)strlen(pending_output)); /* and their echo */
	tcgetattr(master, &t_before);

	scenario_ready();
	scenario_wait();

	/* the pty: same number where it was free (this devpts is the host's, shared with every
	 * other process: another may have taken the number meanwhile), settings and size */
	scenario_check(ptsname_r(master, name_after, sizeof(name_after)) == 0,
		       "no pty name after restore");
	scenario_check(!strcmp(name, name_after) || access(name, F_OK) == 0,
		       "pty '%s' came back as '%s', though '%s' is free", name, name_after, name);
	scenario_check(tcgetattr(master, &t_after) == 0 && t_after.c_lflag == t_before.c_lflag &&
			   t_after.c_iflag == t_before.c_iflag &&
			   t_after.c_oflag == t_before.c_oflag &&
			   !memcmp(t_after.c_cc, t_before.c_cc, sizeof(t_before.c_cc)),
		       "the settings of the pty changed");
	scenario_check(ioctl(master, TIOCGWINSZ, &ws_after) == 0 && ws_after.ws_row == 40 &&
			   ws_after.ws_col == 100,
		       "window size %ux%u", ws_after.ws_row, ws_after.ws_col);
	scenario_check(ioctl(second, TIOCGPTLCK, &locked) == 0 && locked == 1,
		       "the second pty is not locked");
	scenario_check(ioctl(second, TIOCGPKT, &packet) == 0 && packet == 1,
		       "the second pty is not in packet mode");
	/* the unread output, once */
	drain(buf, sizeof(buf), 0, NULL, 200);
	scenario_check(!strcmp(buf, pending_output), "unread output '%s', expected '%s'", buf,
		       pending_output);
	/* the pending line, then the rest completed */
	(void)!write(go[1], "g", 1);
	drain(buf, sizeof(buf), 0, "echo: pending\r\n", 5000);
	scenario_check(!strcmp(buf, "echo: pending\r\n"), "after restore: '%s'", buf);
	(void)!write(master, "-end\n", 5);
	(void)!write(go[1], "g", 1);
	drain(buf, sizeof(buf), 0, "echo: partial-end\r\n", 5000);
	scenario_check(!strcmp(buf, "-end\r\necho: partial-end\r\n"), "after restore: '%s'", buf);
	(void)!write(master, "again\n", 6);
	(void)!write(go[1], "g", 1);
	drain(buf, sizeof(buf), 0, "echo: again\r\n", 5000);
	scenario_check(strstr(buf, "echo: again\r\n"), "the loop stopped echoing: '%s'", buf);
	/* the session */
	ask(&r);
	scenario_check(r.sid == c, "the leader's session is %d", r.sid);
	scenario_check(r.fg != r.sid && r.fg > 0, "foreground group %d", r.fg);
	scenario_check(r.ctty_ok, "the leader has no controlling terminal");
	scenario_check(r.dev_tty_sid == c, "/dev/tty reaches session %d", r.dev_tty_sid);
	close(cmd[1]);
	close(go[1]);
	scenario_check(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "the session leader did not exit cleanly");
	scenario_pass();
}
