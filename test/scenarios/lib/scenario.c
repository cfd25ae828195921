/* scenario.c: the scenario side of the driver contract (see scenario.h). */
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void write_marker(const char *env, const char *text)
{
	const char *path = getenv(env);
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "scenario: cannot write %s '%s': %m\n", env, path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* Field 22 of /proc/self/stat: the start time, in clock ticks after boot. */
static unsigned long long start_time(void)
{
	char buf[1024], *p;
	unsigned long long t = 0;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		       "%*d %*d %llu",
		       &t);
	fclose(f);
	return t;
}

static unsigned long long ready_start_time;

bool scenario_was_restored(void)
{
	return start_time() != ready_start_time;
}

void scenario_ready(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigset_t block;

	/* Install the handler and block SIGUSR1 before announcing readiness, so a signal sent
	 * the moment the driver sees the marker is never lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	ready_start_time = start_time();
	write_marker("SCENARIO_READY", "ready\n");
}

void scenario_wait(void)
{
	sigset_t wait_mask;

	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	while (!got_usr1)
		sigsuspend(&wait_mask);
}

void scenario_pass(void)
{
	write_marker("SCENARIO_RESULT", "PASS\n");
	exit(0);
}

__attribute__((noreturn, format(printf, 3, 0))) static void finish(const char *kind, int status,
								     const char *fmt, va_list ap)
{
	char msg[512];
	char line[600];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(line, sizeof(line), "%s: %s\n", kind, msg);
	write_marker("SCENARIO_RESULT", line);
	fputs(line, stderr);
	exit(status);
}

void scenario_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finish("FAIL", 1, fmt, ap);
}

void scenario_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finish("SKIP", 77, fmt, ap);
}

int scenario_fdinfo(int fd, long long *ret_pos, unsigned int *ret_flags, int *ret_mnt_id)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (ret_pos && sscanf(line, "pos: %lld", ret_pos) == 1)
			found++;
		if (ret_flags && sscanf(line, "flags: %o", ret_flags) == 1)
			found++;
		if (ret_mnt_id && sscanf(line, "mnt_id: %d", ret_mnt_id) == 1)
			found++;
	}
	fclose(f);
	return found;
}

void scenario_private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		scenario_skip("cannot unshare the mount namespace: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		scenario_skip("cannot make / rprivate: %s", strerror(errno));
}

bool scenario_mount_is_listed(int mnt_id)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool listed = false;
	int id;

	if (!f)
		return false;
	while (!listed && fgets(line, sizeof(line), f))
		listed = sscanf(line, "%d ", &id) == 1 && id == mnt_id;
	fclose(f);
	return listed;
}

int scenario_mnt_id(int fd)
{
	int mnt_id = -1;

	if (scenario_fdinfo(fd, NULL, NULL, &mnt_id) != 1)
		scenario_fail("no mnt_id for fd %d", fd);
	return mnt_id;
}

const char *scenario_fd_path(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

long scenario_blocked_syscall(int tid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr;
}
