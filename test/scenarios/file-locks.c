/* Locks and leases held at dump: flock (exclusive, and shared by two descriptions), POSIX
 * record locks of two ranges and types in the root process and one more range taken by a child
 * through the inherited description, POSIX locks on a file the process also maps shared (as
 * sqlite's WAL index is: the restore maps it through a helper fd, whose close would drop the
 * locks), OFD locks of two ranges, a read lease with its signal, a write lease.
 * After restore the lock table must be the same: /proc/locks shows the same lines for these
 * inodes (class, type, pid, range), and a second process sees every lock through F_GETLK,
 * F_OFD_GETLK and a refused flock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define MAX_LINES 32

static char dir[] = "/tmp/minicr-scn-locks.XXXXXX";
static char lines_before[MAX_LINES][128];
static int n_before;

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static int open_in_dir(const char *name, int flags)
{
	char path[128];
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, flags | O_CREAT, 0644);
	if (fd < 0)
		scenario_skip("cannot create '%s': %m", path);
	return fd;
}

/* The /proc/locks lines of the given inodes without their ordinal, sorted. */
static int locks_of(const ino_t *inos, int n_inos, char out[][128])
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (!f)
		scenario_fail("cannot read /proc/locks: %m");
	while (fgets(line, sizeof(line), f)) {
		char cls[16], mode[16], type[16], dev[64], start[32], end[32];
		long pid;
		unsigned long maj, min, ino;

		if (strstr(line, "->") ||
		    sscanf(line, "%*d: %15s %15s %15s %ld %63s %31s %31s", cls, mode, type, &pid,
			   dev, start, end) != 7 ||
		    sscanf(dev, "%lx:%lx:%lu", &maj, &min, &ino) != 3)
			continue;
		for (int i = 0; i < n_inos; i++) {
			if (inos[i] != (ino_t)ino || n >= MAX_LINES)
				continue;
			snprintf(out[n++], 128, "%s %s %s %ld %lu %s %s", cls, mode, type, pid, ino,
				 start, end);
		}
	}
	fclose(f);
	qsort(out, (size_t)n, 128, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void expect_posix(int fd, short type, off_t start, off_t len, pid_t owner, const char *what)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, F_GETLK, &fl) < 0)
		_exit(10);
	if (fl.l_type != type || fl.l_pid != owner || fl.l_start != start) {
		fprintf(stderr, "%s: type %d pid %d start %lld, want %d %d %lld\n", what, fl.l_type,
			fl.l_pid, (long long)fl.l_start, type, owner, (long long)start);
		_exit(11);
	}
}

/* A second process looks at every lock from outside. */
static void check_from_outside(pid_t root, pid_t child, const int *fds)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		scenario_fail("fork: %m");
	if (pid == 0) {
		char path[128];
		int a, b, c, e;
		struct flock ofd = {
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

		path_of(path, sizeof(path), "flock");
		a = open(path, O_RDWR);
		if (a < 0 || flock(a, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			_exit(20);
		path_of(path, sizeof(path), "posix");
		b = open(path, O_RDWR);
		expect_posix(b, F_WRLCK, 10, 5, root, "posix write lock");
		expect_posix(b, F_RDLCK, 100, 0, root, "posix read lock to EOF");
		expect_posix(b, F_WRLCK, 60, 10, child, "child's posix lock");
		expect_posix(b, F_UNLCK, 50, 10, 0, "an unlocked range");
		path_of(path, sizeof(path), "ofd");
		c = open(path, O_RDWR);
		if (c < 0 || fcntl(c, F_OFD_GETLK, &ofd) < 0 || ofd.l_type != F_WRLCK ||
		    ofd.l_pid != -1)
			_exit(30);
		ofd = (struct flock){
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 55, .l_len = 1};
		if (fcntl(c, F_OFD_GETLK, &ofd) < 0 || ofd.l_type != F_RDLCK || ofd.l_start != 50)
			_exit(31);
		path_of(path, sizeof(path), "shared");
		e = open(path, O_RDWR);
		if (e < 0 || flock(e, LOCK_SH | LOCK_NB) < 0 || flock(e, LOCK_EX | LOCK_NB) == 0)
			_exit(40);
		_exit(0);
	}
	(void)fds;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		scenario_fail("the checking process died");
	if (WEXITSTATUS(status) != 0)
		scenario_fail("the checking process saw a wrong lock (code %d)",
			      WEXITSTATUS(status));
}

/* However the scenario ends (a failed check exits too): nothing of it stays in /tmp. */
static void remove_dir(void)
{
	static const char *const names[] = {"flock",  "posix",	"ofd",	 "lease",
					    "shared", "mapped", "wlease"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[128];

		path_of(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	int a, b, c, d, e1, e2, m, w, cmd[2], ready[2], status;
	char *map;
	struct flock fl = {.l_whence = SEEK_SET};
	char lines_after[MAX_LINES][128];
	ino_t inos[7];
	struct stat st;
	pid_t child;
	char byte;

	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(remove_dir);
	a = open_in_dir("flock", O_RDWR);
	b = open_in_dir("posix", O_RDWR);
	c = open_in_dir("ofd", O_RDWR);
	d = open_in_dir("lease", O_RDONLY);
	e1 = open_in_dir("shared", O_RDWR);
	e2 = open_in_dir("shared", O_RDONLY);
	if (flock(a, LOCK_EX) < 0 || flock(e1, LOCK_SH) < 0 || flock(e2, LOCK_SH) < 0)
		scenario_skip("flock: %m");
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5};
	if (fcntl(b, F_SETLK, &fl) < 0)
		scenario_skip("F_SETLK: %m");
	fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0};
	if (fcntl(b, F_SETLK, &fl) < 0)
		scenario_skip("F_SETLK: %m");
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	if (fcntl(c, F_OFD_SETLK, &fl) < 0)
		scenario_skip("F_OFD_SETLK: %m");
	fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
	if (fcntl(c, F_OFD_SETLK, &fl) < 0)
		scenario_skip("F_OFD_SETLK: %m");
	if (fcntl(d, F_SETSIG, SIGRTMIN + 2) < 0 || fcntl(d, F_SETLEASE, F_RDLCK) < 0)
		scenario_skip("F_SETLEASE: %m");
	w = open_in_dir("wlease", O_RDWR);
	if (fcntl(w, F_SETLEASE, F_WRLCK) < 0)
		scenario_skip("F_SETLEASE F_WRLCK: %m");
	/* mapped through another description that was closed, locked through this one */
	m = open_in_dir("mapped", O_RDWR);
	if (ftruncate(m, 4096) < 0)
		scenario_skip("ftruncate: %m");
	{
		int mfd = open_in_dir("mapped", O_RDWR);

		map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		if (map == MAP_FAILED)
			scenario_skip("mmap: %m");
		close(mfd);
	}
	strcpy(map, "mapped");
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 120, .l_len = 1};
	if (fcntl(m, F_SETLK, &fl) < 0)
		scenario_skip("F_SETLK: %m");
	if (pipe(cmd) < 0 || pipe(ready) < 0)
		scenario_skip("pipe: %m");
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0) {
		sigset_t all;

		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		/* the root's end only: its death ends the wait below */
		close(cmd[1]);
		fl = (struct flock){
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 60, .l_len = 10};
		if (fcntl(b, F_SETLK, &fl) < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		/* after restore: the lock is still ours */
		if (read(cmd[0], &byte, 1) != 1)
			_exit(2);
		fl = (struct flock){
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 1};
		if (fcntl(b, F_GETLK, &fl) < 0 || fl.l_type != F_WRLCK || fl.l_pid != getppid())
			_exit(3);
		_exit(0);
	}
	close(cmd[0]);
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1) {
		kill(child, SIGKILL);
		scenario_skip("the child could not lock");
	}
	fstat(a, &st), inos[0] = st.st_ino;
	fstat(b, &st), inos[1] = st.st_ino;
	fstat(c, &st), inos[2] = st.st_ino;
	fstat(d, &st), inos[3] = st.st_ino;
	fstat(e1, &st), inos[4] = st.st_ino;
	fstat(m, &st), inos[5] = st.st_ino;
	fstat(w, &st), inos[6] = st.st_ino;
	n_before = locks_of(inos, 7, lines_before);

	scenario_ready();
	scenario_wait();

	int n_after = locks_of(inos, 7, lines_after);
	for (int i = 0; i < n_before || i < n_after; i++)
		scenario_check(i < n_before && i < n_after &&
				   strcmp(lines_before[i], lines_after[i]) == 0,
			       "/proc/locks line %d: '%s', was '%s' (%d lines, were %d)", i,
			       i < n_after ? lines_after[i] : "",
			       i < n_before ? lines_before[i] : "", n_after, n_before);
	scenario_check(fcntl(d, F_GETLEASE) == F_RDLCK, "lease: %d", fcntl(d, F_GETLEASE));
	scenario_check(fcntl(w, F_GETLEASE) == F_WRLCK, "write lease: %d", fcntl(w, F_GETLEASE));
	scenario_check(strcmp(map, "mapped") == 0, "the mapping of the locked file: '%s'", map);
	scenario_check(fcntl(d, F_GETSIG) == SIGRTMIN + 2, "lease signal %d", fcntl(d, F_GETSIG));
	check_from_outside(getpid(), child, NULL);
	if (write(cmd[1], "c", 1) != 1 || waitpid(child, &status, 0) != child)
		scenario_fail("cannot reach the locking child");
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "the child lost its view of the locks (status %d)", status);
	scenario_pass();
}
