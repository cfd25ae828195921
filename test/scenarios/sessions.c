/* Sessions and process groups as real programs leave them, with their leaders gone. The root
 * (a session leader through the launcher) is a child subreaper, as a service manager or a
 * container's init is, so orphans come back to it:
 *
 *   daemon   D: setsid(), forks E, exits; E forks E1. E and E1 stay in session D, group D,
 *            whose leader is dead (a double-forking daemon).
 *   job      J1: its own group; J2 joins it; J1 exits. J2 stays in group J1 of the root's
 *            session (a shell job whose group leader died).
 *   born     P forks C, then calls setsid(): P leads a session that is not the root's, while
 *            its child C stays in the root's session and group.
 *   nested   S: setsid(), forks X, which makes its own group and forks Y; S and X exit. Y is
 *            in session S and group X, both leaders dead.
 *
 * Each member reports its pid/ppid/pgid/sid, blocks in read(), and after the restore reports
 * them again; the root compares them with the records, checks itself, kills the members. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define REPORT_TIMEOUT_MS 10000

enum { M_E, M_E1, M_J2, M_P, M_C, M_Y, N_MEMBERS };
static const char *const names[N_MEMBERS] = {"E", "E1", "J2", "P", "C", "Y"};

struct ids {
	pid_t pid, ppid, pgid, sid;
};

struct report {
	int member;
	struct ids ids;
};

static int cmd_pipes[N_MEMBERS][2];
static int report_pipe[2];
static int job_pipe[2]; /* releases J1 once J2 joined its group */
static struct ids recorded[N_MEMBERS];

static struct ids ids_now(void)
{
	return (struct ids){getpid(), getppid(), getpgrp(), getsid(0)};
}

static void send_report(int member)
{
	struct report r = {member, ids_now()};

	if (write(report_pipe[1], &r, sizeof(r)) != sizeof(r))
		_exit(2);
}

static pid_t root_pid;

/* A member's life: report, wait for the command, report again, then wait to be killed. An
 * orphan reports once it has been reparented to the root. */
static __attribute__((noreturn)) void member(int m)
{
	struct timespec ms = {0, 1000000};
	char c;

	for (int i = 0; (m == M_E || m == M_Y) && getppid() != root_pid && i < 10000; i++)
		nanosleep(&ms, NULL);
	send_report(m);
	if (read(cmd_pipes[m][0], &c, 1) != 1)
		_exit(3);
	send_report(m);
	for (;;)
		pause();
}

/* Forks fn's process and waits for it: an intermediate that exits once its work is done. */
static void run_and_reap(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid == 0) {
		fn();
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		scenario_skip("an intermediate process failed (status %#x)", st);
}

static void wait_report(struct report *r)
{
	struct pollfd pfd = {report_pipe[0], POLLIN, 0};

	if (poll(&pfd, 1, REPORT_TIMEOUT_MS) != 1)
		scenario_fail("no report within %d ms", REPORT_TIMEOUT_MS);
	scenario_check(read(report_pipe[0], r, sizeof(*r)) == sizeof(*r), "short report");
	scenario_check(r->member >= 0 && r->member < N_MEMBERS, "report from member %d",
		       r->member);
}

/* The daemon's intermediate: a new session, one child left behind in it. */
static void daemon_main(void)
{
	if (setsid() < 0)
		_exit(1);
	if (fork() == 0) {
		if (fork() == 0)
			member(M_E1);
		member(M_E);
	}
}

static void nested_main(void)
{
	if (setsid() < 0)
		_exit(1);
	if (fork() == 0) {
		if (setpgid(0, 0) < 0)
			_exit(1);
		if (fork() == 0)
			member(M_Y);
		_exit(0);
	}
	/* X exits at once; S waits for it so Y is orphaned before the readiness report */
	if (wait(NULL) < 0)
		_exit(1);
}

static pid_t job_leader;

static void job_leader_main(void)
{
	/* J1: made a group leader by the root (as a shell does), lives until J2 joined */
	char c;

	if (read(job_pipe[0], &c, 1) != 1)
		_exit(1);
}

static void born_main(void)
{
	if (fork() == 0)
		member(M_C);
	/* P is in the root's group: setsid() is allowed, and leaves C behind */
	if (setsid() < 0)
		_exit(1);
	member(M_P);
}

static pid_t members[N_MEMBERS];

static void kill_members(void)
{
	for (int i = 0; i < N_MEMBERS; i++)
		if (members[i] > 0)
			kill(members[i], SIGKILL);
}

int main(void)
{
	struct ids root = ids_now(), now;
	pid_t born, j2;
	struct report r;
	sigset_t usr1;
	int st;

	root_pid = root.pid;
	if (root.sid != root.pid)
		scenario_skip("the root is not a session leader (run it through the launcher)");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		scenario_skip("PR_SET_CHILD_SUBREAPER: %m");
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	for (int i = 0; i < N_MEMBERS; i++)
		if (pipe(cmd_pipes[i]) < 0)
			scenario_skip("pipe: %m");
	if (pipe(report_pipe) < 0 || pipe(job_pipe) < 0)
		scenario_skip("pipe: %m");
	atexit(kill_members);

	run_and_reap(daemon_main);
	run_and_reap(nested_main);
	/* the job: J1 leads a group, J2 joins it, J1 exits */
	job_leader = fork();
	if (job_leader == 0) {
		job_leader_main();
		_exit(0);
	}
	if (job_leader < 0 || setpgid(job_leader, job_leader) < 0)
		scenario_skip("job leader: %m");
	j2 = fork();
	if (j2 == 0) {
		if (setpgid(0, job_leader) < 0)
			_exit(1);
		member(M_J2);
	}
	if (j2 < 0)
		scenario_skip("fork: %m");
	born = fork();
	if (born == 0)
		born_main();
	if (born < 0)
		scenario_skip("fork: %m");

	for (int i = 0; i < N_MEMBERS; i++) {
		wait_report(&r);
		recorded[r.member] = r.ids;
		members[r.member] = r.ids.pid;
		if (r.member == M_J2) {
			/* J2 is in J1's group: let J1 go */
			scenario_check(write(job_pipe[1], "j", 1) == 1, "release J1: %m");
		}
	}
	scenario_check(waitpid(job_leader, &st, 0) == job_leader, "reap J1: %m");
	scenario_check(recorded[M_E].ppid == root.pid && recorded[M_E].sid != root.sid &&
			   recorded[M_E].pgid == recorded[M_E].sid,
		       "E was not left in a dead session under the root");
	scenario_check(recorded[M_Y].ppid == root.pid && recorded[M_Y].pgid != recorded[M_Y].sid,
		       "Y was not left in a dead group of a dead session");
	scenario_check(recorded[M_J2].pgid == job_leader && recorded[M_J2].sid == root.sid,
		       "J2 is not in J1's group");
	scenario_check(recorded[M_C].sid == root.sid && recorded[M_P].sid == born,
		       "P (%d, sid %d) or C (sid %d) are not where they were meant to be", born,
		       recorded[M_P].sid, recorded[M_C].sid);

	scenario_ready();
	scenario_wait();

	now = ids_now();
	scenario_check(now.pid == root.pid && now.pgid == root.pgid && now.sid == root.sid,
		       "root pid/pgid/sid %d/%d/%d, expected %d/%d/%d", now.pid, now.pgid, now.sid,
		       root.pid, root.pgid, root.sid);
	scenario_check(prctl(PR_GET_CHILD_SUBREAPER, &st) == 0 && st == 1,
		       "the root is no longer a child subreaper");
	for (int i = 0; i < N_MEMBERS; i++)
		scenario_check(write(cmd_pipes[i][1], "c", 1) == 1, "command member %s: %m",
			       names[i]);
	for (int i = 0; i < N_MEMBERS; i++) {
		const struct ids *want;

		wait_report(&r);
		want = &recorded[r.member];
		scenario_check(r.ids.pid == want->pid && r.ids.ppid == want->ppid &&
				   r.ids.pgid == want->pgid && r.ids.sid == want->sid,
			       "member %s: pid/ppid/pgid/sid %d/%d/%d/%d, expected %d/%d/%d/%d",
			       names[r.member], r.ids.pid, r.ids.ppid, r.ids.pgid, r.ids.sid,
			       want->pid, want->ppid, want->pgid, want->sid);
	}
	kill_members();
	scenario_pass();
}
