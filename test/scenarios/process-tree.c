/* A multi-level tree with sessions and process groups:
 *
 *   root (session leader, via the launcher's setsid)
 *   ├── A   setpgid(0, 0): its own group in root's session
 *   │   └── A1  in A's group
 *   └── B   setsid(): its own session and group
 *       └── B1  in B's session and group
 *
 * Each member records pid/ppid/pgid/sid, reports them over a shared report pipe and blocks in
 * read() on its own command pipe. After SIGUSR1 the root commands every member to compare its
 * ids with the recorded ones and report again; A and B then reap their children and exit with
 * a status saying whether that worked, and the root reaps A and B. Descendants inherit a mask
 * blocking SIGUSR1, so only the root reacts to the driver. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define REPORT_TIMEOUT_MS 10000
#define POLL_NS		  1000000
#define POLL_ROUNDS	  10000 /* 10 s at POLL_NS: a hang guard, not a timing assertion */

enum { MEMBER_A, MEMBER_A1, MEMBER_B, MEMBER_B1, N_MEMBERS };
enum { REPORT_READY = 1, REPORT_CHECKED };
/* Exit statuses of a member; 0 means it checked itself and reaped its child. */
enum { EXIT_NO_COMMAND = 10, EXIT_REPORT, EXIT_WAITPID, EXIT_CHILD_STATUS };

static const char *const member_names[N_MEMBERS] = {"A", "A1", "B", "B1"};

struct ids {
	pid_t pid, ppid, pgid, sid;
};

/* Fixed-size records, far below PIPE_BUF, so concurrent writers never interleave. */
struct report {
	int member;
	int kind;
	struct ids ids;
};

static int cmd_pipes[N_MEMBERS][2];
static int report_pipe[2];
static struct ids recorded[N_MEMBERS];
static pid_t member_pids[N_MEMBERS];
static bool all_reaped;

static struct ids ids_now(void)
{
	return (struct ids){getpid(), getppid(), getpgrp(), getsid(0)};
}

static bool ids_equal(const struct ids *a, const struct ids *b)
{
	return a->pid == b->pid && a->ppid == b->ppid && a->pgid == b->pgid && a->sid == b->sid;
}

static void send_report(int member, int kind)
{
	struct report r = {member, kind, ids_now()};

	if (write(report_pipe[1], &r, sizeof(r)) != sizeof(r))
		_exit(EXIT_REPORT);
}

/* A descendant's life: report, wait for the command, report again, reap the child if any. */
static __attribute__((noreturn)) void member_main(int member, pid_t child)
{
	int status;
	char c;

	send_report(member, REPORT_READY);
	if (read(cmd_pipes[member][0], &c, 1) != 1)
		_exit(EXIT_NO_COMMAND);
	send_report(member, REPORT_CHECKED);
	if (child) {
		if (waitpid(child, &status, 0) != child)
			_exit(EXIT_WAITPID);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			_exit(EXIT_CHILD_STATUS);
	}
	_exit(0);
}

/* Forks a group leader (A: new group; B: new session) and its child (A1, B1). */
static pid_t fork_branch(int member, bool new_session)
{
	pid_t leader = fork(), child;

	if (leader != 0)
		return leader;
	if (new_session ? setsid() < 0 : setpgid(0, 0) < 0)
		_exit(EXIT_REPORT);
	child = fork();
	if (child < 0)
		_exit(EXIT_REPORT);
	if (child == 0) {
		/* Explicitly join the parent's group (where fork put it anyway). */
		if (setpgid(0, getpgid(getppid())) < 0)
			_exit(EXIT_REPORT);
		member_main(member + 1, 0);
	}
	member_main(member, child);
}

static void read_report(struct report *r, const char *what)
{
	struct pollfd pfd = {report_pipe[0], POLLIN, 0};
	ssize_t n;

	if (poll(&pfd, 1, REPORT_TIMEOUT_MS) != 1)
		scenario_fail("no %s report within %d ms", what, REPORT_TIMEOUT_MS);
	n = read(report_pipe[0], r, sizeof(*r));
	scenario_check(n == sizeof(*r), "short %s report (%zd bytes)", what, n);
	scenario_check(r->member >= 0 && r->member < N_MEMBERS, "%s report from member %d", what,
		       r->member);
}

static void collect_ready(pid_t root)
{
	const struct ids *a, *a1, *b, *b1;
	struct report r;

	for (int i = 0; i < N_MEMBERS; i++) {
		read_report(&r, "ready");
		scenario_check(r.kind == REPORT_READY, "member %s: report kind %d before the dump",
			       member_names[r.member], r.kind);
		recorded[r.member] = r.ids;
		member_pids[r.member] = r.ids.pid;
	}
	a = &recorded[MEMBER_A], a1 = &recorded[MEMBER_A1];
	b = &recorded[MEMBER_B], b1 = &recorded[MEMBER_B1];
	scenario_check(a->ppid == root && a->pgid == a->pid && a->sid == root,
		       "A was not set up as its own group in the root's session");
	scenario_check(a1->ppid == a->pid && a1->pgid == a->pid && a1->sid == root,
		       "A1 was not set up in A's group");
	scenario_check(b->ppid == root && b->pgid == b->pid && b->sid == b->pid,
		       "B was not set up as a session leader");
	scenario_check(b1->ppid == b->pid && b1->pgid == b->pid && b1->sid == b->pid,
		       "B1 was not set up in B's session");
}

static void collect_checked(void)
{
	bool seen[N_MEMBERS] = {false};
	struct report r;

	for (int i = 0; i < N_MEMBERS; i++) {
		const struct ids *want;

		read_report(&r, "check");
		want = &recorded[r.member];
		scenario_check(r.kind == REPORT_CHECKED && !seen[r.member],
			       "member %s: unexpected report kind %d", member_names[r.member],
			       r.kind);
		seen[r.member] = true;
		scenario_check(ids_equal(&r.ids, want),
			       "member %s: pid/ppid/pgid/sid %d/%d/%d/%d, expected %d/%d/%d/%d",
			       member_names[r.member], r.ids.pid, r.ids.ppid, r.ids.pgid, r.ids.sid,
			       want->pid, want->ppid, want->pgid, want->sid);
	}
}

static void reap(int member)
{
	struct timespec ts = {0, POLL_NS};
	pid_t pid = member_pids[member], reaped = 0;
	int status = 0;

	for (int round = 0; round < POLL_ROUNDS && reaped == 0; round++) {
		reaped = waitpid(pid, &status, WNOHANG);
		if (reaped == 0)
			nanosleep(&ts, NULL);
	}
	scenario_check(reaped != 0, "member %s (%d) never exited", member_names[member], pid);
	scenario_check(reaped == pid, "waitpid(%d) for member %s: %s", pid, member_names[member],
		       reaped < 0 ? strerror(errno) : "another pid");
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "member %s exited with status %#x (10 no command, 11 report, 12 waitpid, "
		       "13 child status; shifted by 8)",
		       member_names[member], status);
}

/* At any exit but a pass, no member may outlive the root (B's session would linger). */
static void kill_members(void)
{
	if (all_reaped)
		return;
	for (int i = 0; i < N_MEMBERS; i++)
		if (member_pids[i] > 0)
			kill(member_pids[i], SIGKILL);
}

int main(void)
{
	struct ids root_ids = ids_now();
	struct ids root_now;
	sigset_t usr1;

	if (root_ids.sid != root_ids.pid)
		scenario_skip("the root is not a session leader (run it through the launcher)");
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL); /* inherited by every descendant */
	for (int i = 0; i < N_MEMBERS; i++)
		if (pipe(cmd_pipes[i]) < 0)
			scenario_skip("pipe: %m");
	if (pipe(report_pipe) < 0)
		scenario_skip("pipe: %m");
	atexit(kill_members);
	member_pids[MEMBER_A] = fork_branch(MEMBER_A, false);
	member_pids[MEMBER_B] = fork_branch(MEMBER_B, true);
	if (member_pids[MEMBER_A] < 0 || member_pids[MEMBER_B] < 0)
		scenario_skip("fork: %m");
	collect_ready(root_ids.pid);

	scenario_ready();
	scenario_wait();

	root_now = ids_now();
	scenario_check(root_now.pid == root_ids.pid && root_now.pgid == root_ids.pgid &&
			   root_now.sid == root_ids.sid,
		       "root pid/pgid/sid %d/%d/%d, expected %d/%d/%d", root_now.pid, root_now.pgid,
		       root_now.sid, root_ids.pid, root_ids.pgid, root_ids.sid);
	for (int i = 0; i < N_MEMBERS; i++)
		scenario_check(write(cmd_pipes[i][1], "c", 1) == 1, "command member %s: %m",
			       member_names[i]);
	collect_checked();
	reap(MEMBER_A);
	reap(MEMBER_B);
	all_reaped = true;
	scenario_pass();
}
