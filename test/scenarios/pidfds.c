/* pidfds of processes of the tree and of exited ones:
 *   - a pidfd on a child, shared with a second child (one open file description: a flag set
 *     by the second child is seen by the parent), which can signal it and wait for it, and
 *     which an epoll watches (its item is added once the late pidfd is in place);
 *   - a PIDFD_THREAD | PIDFD_NONBLOCK pidfd on the process itself;
 *   - two pidfds on a child that exited with status 42 and was reaped, and one on a child
 *     killed by SIGTERM: they poll readable, waitid(P_PIDFD) gives ECHILD, the two refer to
 *     one process (one pidfs inode), and where the kernel keeps exit statuses (6.15+) the
 *     status is the same. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_GET_INFO	_IOWR(0xFF, 11, struct pidfd_info)
#define PIDFD_INFO_EXIT (1ULL << 3)

static int pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static long fdinfo_pid(int fd)
{
	char path[64], line[256];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		scenario_fail("cannot open %s: %m", path);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "Pid: %ld", &pid);
	fclose(f);
	return pid;
}

/* The exit status the kernel keeps for an exited process, or -1 where it keeps none. */
static int kept_status(int pidfd)
{
	struct pidfd_info info = {.mask = PIDFD_INFO_EXIT};

	if (ioctl(pidfd, PIDFD_GET_INFO, &info) < 0 || !(info.mask & PIDFD_INFO_EXIT))
		return -1;
	return info.exit_code;
}

static void check_dead(int pidfd, const char *what)
{
	struct pollfd pfd = {pidfd, POLLIN, 0};
	siginfo_t si;

	scenario_check(fdinfo_pid(pidfd) == -1, "%s: Pid %ld, expected -1", what,
		       fdinfo_pid(pidfd));
	scenario_check(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "%s: not readable", what);
	scenario_check(waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) < 0 &&
			   errno == ECHILD,
		       "%s: waitid: %m", what);
}

static pid_t fork_waiting(const int cmd[2], int ack_fd, int shared)
{
	int cmd_fd = cmd[0];
	pid_t pid = fork();
	char c;

	if (pid != 0)
		return pid;
	close(cmd[1]);
	/* on the command: set O_NONBLOCK on the shared pidfd, acknowledge, wait for the end */
	if (read(cmd_fd, &c, 1) != 1)
		_exit(1);
	if (shared >= 0 && fcntl(shared, F_SETFL, O_NONBLOCK) < 0)
		_exit(2);
	if (write(ack_fd, "a", 1) != 1)
		_exit(3);
	while (read(cmd_fd, &c, 1) == 1)
		;
	_exit(0);
}

int main(void)
{
	int cmd[2], ack[2], pc, self, epfd, dead1, dead2, killed, status42, status_term;
	struct stat st1, st2;
	pid_t child, sharer, exited, term;
	siginfo_t si;
	char c;

	if (pipe(cmd) < 0 || pipe(ack) < 0)
		scenario_skip("pipe: %m");
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	pc = pidfd_open(child, 0);
	self = pidfd_open(getpid(), PIDFD_THREAD | O_NONBLOCK);
	if (pc < 0 || self < 0)
		scenario_skip("pidfd_open: %m");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pc,
				  &(struct epoll_event){.events = EPOLLIN, .data.u64 = 7}) < 0)
		scenario_skip("epoll: %m");
	sharer = fork_waiting(cmd, ack[1], pc);
	exited = fork();
	if (exited == 0)
		_exit(42);
	term = fork();
	if (term == 0) {
		pause();
		_exit(0);
	}
	dead1 = pidfd_open(exited, 0);
	dead2 = pidfd_open(exited, 0);
	killed = pidfd_open(term, 0);
	if (dead1 < 0 || dead2 < 0 || killed < 0)
		scenario_skip("pidfd_open: %m");
	kill(term, SIGTERM);
	if (waitpid(exited, NULL, 0) != exited || waitpid(term, NULL, 0) != term)
		scenario_skip("waitpid: %m");
	status42 = kept_status(dead1);
	status_term = kept_status(killed);

	scenario_ready();
	scenario_wait();

	/* the live ones */
	{
		struct epoll_event ev;

		scenario_check(epoll_wait(epfd, &ev, 1, 0) == 0, "the epoll reports a live child");
	}
	scenario_check(fdinfo_pid(pc) == child, "child pidfd: Pid %ld, expected %d", fdinfo_pid(pc),
		       (int)child);
	scenario_check(fdinfo_pid(self) == getpid(), "own pidfd: Pid %ld", fdinfo_pid(self));
	scenario_check((fcntl(self, F_GETFL) & (O_EXCL | O_NONBLOCK)) == (O_EXCL | O_NONBLOCK),
		       "own pidfd: flags %#o", fcntl(self, F_GETFL));
	scenario_check(!(fcntl(pc, F_GETFL) & O_NONBLOCK), "child pidfd: O_NONBLOCK already");
	scenario_check(write(cmd[1], "s", 1) == 1 && read(ack[0], &c, 1) == 1,
		       "the sharer did not answer");
	scenario_check(fcntl(pc, F_GETFL) & O_NONBLOCK,
		       "child pidfd: the flag its sharer set is not seen (not one description)");
	scenario_check(syscall(SYS_pidfd_send_signal, pc, SIGKILL, NULL, 0) == 0,
		       "pidfd_send_signal: %m");
	/* the epoll reports the exit; the description is non-blocking now, so waitid comes
	 * after it */
	{
		struct epoll_event ev;

		scenario_check(epoll_wait(epfd, &ev, 1, 10000) == 1 && ev.data.u64 == 7,
			       "the epoll did not report the child's exit: %m");
	}
	scenario_check(waitid((idtype_t)P_PIDFD, (id_t)pc, &si, WEXITED) == 0 &&
			   si.si_pid == child && si.si_code == CLD_KILLED &&
			   si.si_status == SIGKILL,
		       "waitid(P_PIDFD) on the child: %m");
	/* the exited ones */
	check_dead(dead1, "exited pidfd");
	check_dead(dead2, "second exited pidfd");
	check_dead(killed, "killed pidfd");
	scenario_check(fstat(dead1, &st1) == 0 && fstat(dead2, &st2) == 0 &&
			   st1.st_ino == st2.st_ino,
		       "the two pidfds of one exited process refer to two processes");
	scenario_check(fstat(killed, &st2) == 0 && st1.st_ino != st2.st_ino,
		       "pidfds of two exited processes refer to one");
	scenario_check(kept_status(dead1) == status42, "exited pidfd: status %d, was %d",
		       kept_status(dead1), status42);
	scenario_check(kept_status(killed) == status_term, "killed pidfd: status %d, was %d",
		       kept_status(killed), status_term);
	close(cmd[1]);
	scenario_check(waitpid(sharer, &status42, 0) == sharer && WIFEXITED(status42) &&
			   WEXITSTATUS(status42) == 0,
		       "the sharer did not exit cleanly");
	scenario_pass();
}
