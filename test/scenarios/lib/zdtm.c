/* zdtm.c: the zdtm protocol (see zdtm.h). The started process forks the daemon and waits for
 * either SIGTERM (the daemon is ready) or SIGCHLD (it died), both blocked and taken with
 * sigwaitinfo(), so neither can be lost. */
#include "zdtm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pidfile, *outfile, *filename, *dirname_opt;
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

__attribute__((noreturn)) static void usage(const char *prog, const char *why)
{
	fprintf(stderr,
		"%s: %s\nusage: %s --pidfile=FILE --outfile=FILE [--filename=PATH] "
		"[--dirname=PATH]\n",
		prog, why, prog);
	exit(2);
}

/* Takes "--name=value" or "--name value" at argv[*i]; true when argv[*i] is --name. */
static bool take_option(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len) != 0)
		return false;
	if (argv[*i][len] == '=') {
		*ret = argv[*i] + len + 1;
		return true;
	}
	if (argv[*i][len] != '\0')
		return false;
	if (*i + 1 >= argc)
		usage(argv[0], "an option lacks its value");
	*ret = argv[++*i];
	return true;
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!take_option(argc, argv, &i, "--pidfile", &pidfile) &&
		    !take_option(argc, argv, &i, "--outfile", &outfile) &&
		    !take_option(argc, argv, &i, "--filename", &filename) &&
		    !take_option(argc, argv, &i, "--dirname", &dirname_opt))
			usage(argv[0], "unknown argument");
	}
	if (!pidfile || !outfile)
		usage(argv[0], "--pidfile and --outfile are required");
}

/* The started process: wait for the daemon's word, then publish its pid. */
__attribute__((noreturn)) static void wait_for_daemon(pid_t daemon)
{
	sigset_t set;
	siginfo_t si;
	FILE *f;
	int status;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		if (sigwaitinfo(&set, &si) < 0) {
			if (errno == EINTR)
				continue;
			perror("zdtm: sigwaitinfo");
			exit(1);
		}
		if (si.si_signo == SIGTERM && si.si_pid == daemon)
			break;
		if (si.si_signo == SIGCHLD && waitpid(daemon, &status, WNOHANG) == daemon) {
			fprintf(stderr, "zdtm: the test ended before it was ready (status 0x%x)\n",
				status);
			exit(1);
		}
	}
	f = fopen(pidfile, "wxe");
	if (!f || fprintf(f, "%d\n", (int)daemon) < 0 || fclose(f) != 0) {
		fprintf(stderr, "zdtm: cannot write pidfile '%s': %m\n", pidfile);
		kill(daemon, SIGKILL);
		exit(1);
	}
	exit(0);
}

void zdtm_init(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigset_t set;
	pid_t pid;
	int fd;

	parse(argc, argv);
	/* Blocked before the fork: the daemon's SIGTERM and SIGCHLD wait in the parent's queue,
	 * and the daemon takes SIGTERM only in zdtm_wait(). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid = fork();
	if (pid < 0) {
		perror("zdtm: fork");
		exit(1);
	}
	if (pid > 0)
		wait_for_daemon(pid);

	if (setsid() < 0) {
		perror("zdtm: setsid");
		exit(1);
	}
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

const char *zdtm_filename(void)
{
	return filename;
}

const char *zdtm_dirname(void)
{
	return dirname_opt;
}

void zdtm_ready(void)
{
	pid_t parent = getppid();

	if (parent <= 1 || kill(parent, SIGTERM) < 0) {
		fprintf(stderr, "zdtm: the starting process is gone: %m\n");
		exit(1);
	}
}

void zdtm_wait(void)
{
	sigset_t mask;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGTERM);
	while (!got_term)
		sigsuspend(&mask);
}

/* Writes line to O.inprogress, then renames it to O, so O is never seen half written. */
__attribute__((noreturn)) static void finish(const char *line, int status)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.inprogress", outfile);
	f = fopen(tmp, "we");
	if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, outfile) < 0) {
		fprintf(stderr, "zdtm: cannot write outfile '%s': %m\n", outfile);
		exit(1);
	}
	exit(status);
}

void zdtm_pass(void)
{
	finish("PASS\n", 0);
}

void zdtm_fail(const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "FAIL: %s\n", msg);
	fputs(line, stderr);
	finish(line, 1);
}
