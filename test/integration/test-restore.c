/* Integration test for `minicr restore`: real victims are dumped with the build tree's minicr
 * ($MINICR), restored with --leave-stopped, and checked from the outside through /proc: pids,
 * parents, sessions, groups, fd numbers, flags, offsets, inode identity, shared descriptions
 * (kcmp), pipe data, detached mounts (both methods), a rebuilt mount namespace with tmpfs
 * contents; then failures (taken pid, missing detached source, corrupt image, every
 * MINICR_FAULT step) must give one error line and leave no process, mount or directory.
 * Runs in its own private mount namespace. Exit 0 pass, 1 fail, 77 skip. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "base/compat.h"

#define MAX_TASKS 8
#define MAX_FDS	  1400 /* the large-table victim holds 1200 */
#define KCMP_FILE 0

static const char *minicr;
static char work[] = "/tmp/minicr-test-restore.XXXXXX";

static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *at(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	int len = snprintf(b, PATH_MAX, "%s/", work);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + len, PATH_MAX - (size_t)len, fmt, ap);
	va_end(ap);
	return b;
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, off = 0;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	while ((n = read(fd, buf + off, sizeof(buf) - 1 - (size_t)off)) > 0)
		off += n;
	buf[off] = '\0';
	close(fd);
	return buf;
}

static bool pid_exists(pid_t pid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d", pid);
	return access(p, F_OK) == 0;
}

/* ---- running minicr ------------------------------------------------------------------------ */

static char errtext[8192];

/* Runs minicr with args (NULL-terminated); MINICR_FAULT=fault when given. Returns the exit
 * status; stderr lands in errtext. */
static int run_minicr(const char *fault, ...)
{
	const char *argv[16] = {minicr};
	int pfd[2], status, argc = 1;
	ssize_t n, off = 0;
	va_list ap;
	pid_t pid;

	va_start(ap, fault);
	while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(pfd[1], 2);
		close_range(3, ~0U, 0);
		if (fault)
			setenv("MINICR_FAULT", fault, 1);
		else
			unsetenv("MINICR_FAULT");
		execv(minicr, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], errtext + off, sizeof(errtext) - 1 - (size_t)off)) > 0)
		off += n;
	errtext[off] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid minicr");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_error_lines(const char *text)
{
	int n = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, "minicr: error", 13) == 0)
			n++;
	return n;
}

/* ---- victims --------------------------------------------------------------------------------- */

static int ready_wfd = -1;

static void signal_ready(void)
{
	if (write(ready_wfd, "r", 1) != 1)
		_exit(3);
	close(ready_wfd);
}

/* Moves fd to number target. */
static void place(int fd, int target)
{
	if (fd != target) {
		dup2(fd, target);
		close(fd);
	}
}

static void __attribute__((noreturn)) idle(void)
{
	for (;;)
		pause();
}

/* Starts fn in a new session with only the ready pipe open, waits for n_ready bytes. */
static pid_t start_victim(void (*fn)(void), int n_ready)
{
	int pfd[2];
	char buf[MAX_TASKS];
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		ready_wfd = fcntl(pfd[1], F_DUPFD, 200);
		close_range(0, 199, 0);
		close_range(201, ~0U, 0);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 1);
		dup2(devnull, 2);
		setsid();
		fn();
		_exit(2);
	}
	close(pfd[1]);
	for (int got = 0; got < n_ready;) {
		ssize_t n = read(pfd[0], buf, (size_t)(n_ready - got));

		if (n <= 0) {
			int st = 0;

			waitpid(pid, &st, WNOHANG);
			fprintf(stderr, "victim never became ready (status 0x%x)\n", st);
			exit(1);
		}
		got += (int)n;
	}
	close(pfd[0]);
	return pid;
}

/* Victim 1: a tree of four tasks, three sessions/groups, shared and private descriptions. */
static void victim_tree(void)
{
	int p[2];

	umask(027);
	if (chdir(at("dir")) < 0)
		_exit(4);
	int fd = open(at("file"), O_RDWR);
	place(fd, 3);
	lseek(3, 5, SEEK_SET);
	dup2(3, 7);
	fd = open(at("file"), O_RDONLY | O_APPEND);
	place(fd, 4);
	lseek(4, 2, SEEK_SET);
	if (pipe(p) < 0)
		_exit(4);
	p[0] = fcntl(p[0], F_DUPFD, 100);
	p[1] = fcntl(p[1], F_DUPFD, 100);
	place(p[0], 5);
	place(p[1], 6);
	fcntl(6, F_SETFL, O_NONBLOCK);
	if (write(6, "hello", 5) != 5)
		_exit(4);
	fd = open(at("dir"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	dup3(fd, 9, O_CLOEXEC);
	if (fd != 9)
		close(fd);
	if (fork() == 0) { /* C1: its own group; G: its own session */
		setpgid(0, 0);
		fd = open(at("file2"), O_WRONLY);
		place(fd, 12);
		lseek(12, 3, SEEK_SET);
		close(4);
		if (fork() == 0) {
			setsid();
			dup2(5, 20);
			signal_ready();
			idle();
		}
		signal_ready();
		idle();
	}
	if (fork() == 0) { /* C2: stays in the root's group */
		close(7);
		signal_ready();
		idle();
	}
	signal_ready();
	idle();
}

/* Victim 2: fds on a bind mount that is lazily unmounted after it is ready. */
static void victim_detached(void)
{
	int fd = open(at("B/file"), O_RDONLY);

	place(fd, 3);
	lseek(3, 1, SEEK_SET);
	fd = open(at("B/dir"), O_RDONLY | O_DIRECTORY);
	place(fd, 4);
	fd = open(at("B"), O_PATH);
	place(fd, 5);
	signal_ready();
	idle();
}

/* Victim 3: a mount namespace of its own: a tmpfs with contents, a read-only bind of part of
 * it, a shared tmpfs below, cwd inside the bind. */
static void victim_mntns(void)
{
	int fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(4);
	if (mount("nsfs", at("ns"), "tmpfs", 0, "size=1m") < 0)
		_exit(5);
	mkdir(at("ns/a"), 0755);
	mkdir(at("ns/a/b"), 0700);
	mkdir(at("ns/m"), 0755);
	fd = open(at("ns/a/f"), O_CREAT | O_WRONLY, 0640);
	if (write(fd, "data", 4) != 4)
		_exit(6);
	close(fd);
	if (mount(at("ns/a"), at("ns/m"), NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, at("ns/m"), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0 ||
	    mount("t2", at("ns/a/b"), "tmpfs", 0, NULL) < 0 ||
	    mount(NULL, at("ns/a/b"), NULL, MS_SHARED, NULL) < 0)
		_exit(7);
	fd = open(at("ns/m/f"), O_RDONLY);
	place(fd, 3);
	if (chdir(at("ns/m")) < 0)
		_exit(8);
	signal_ready();
	idle();
}

/* Victim 4: a table big enough for the dump and the restore to spread it over threads:
 * LARGE_FDS fds on LARGE_FILES files, at distinct offsets, in three flag sets, every tenth a
 * dup of the one before; with large_with_socket, a netlink socket in the middle of the table. */
#define LARGE_FDS   1200
#define LARGE_FILES 40
static bool large_with_socket;

static void victim_large(void)
{
	struct rlimit rl;
	int last = -1;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 0; i < LARGE_FDS; i++) {
		static const int flags[] = {O_RDONLY, O_WRONLY | O_APPEND, O_RDWR | O_NONBLOCK};
		int fd;

		bool is_socket = large_with_socket && i == LARGE_FDS / 2;

		if (is_socket)
			fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		else if (i % 10 == 9)
			fd = dup(last);
		else
			fd = open(at("big/f%d", i % LARGE_FILES), flags[i % 3]);
		if (fd < 0)
			_exit(4);
		if (!is_socket && i % 10 != 9 && !(flags[i % 3] & O_APPEND) &&
		    lseek(fd, i, SEEK_SET) != i)
			_exit(4);
		last = fd;
	}
	signal_ready();
	idle();
}

/* ---- snapshots from the outside ---------------------------------------------------------- */

struct fd_snap {
	int fd;
	unsigned long pos, flags;
	int mnt_id;
	dev_t dev;
	ino_t ino;
	char link[256];
};

struct task_snap {
	pid_t pid, ppid, pgid, sid;
	char umask[16];
	char cwd[256];
	int n_fds;
	struct fd_snap fds[MAX_FDS];
};

static int cmp_fd(const void *a, const void *b)
{
	return ((const struct fd_snap *)a)->fd - ((const struct fd_snap *)b)->fd;
}

static void snap_task(pid_t pid, struct task_snap *t)
{
	char path[128], *s;
	DIR *d;
	struct dirent *de;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	s = strrchr(slurp(path), ')');
	if (!s || sscanf(s + 2, "%*c %d %d %d", &t->ppid, &t->pgid, &t->sid) != 3)
		t->ppid = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	s = strstr(slurp(path), "Umask:");
	if (s)
		sscanf(s, "Umask: %15s", t->umask);
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	(void)!readlink(path, t->cwd, sizeof(t->cwd) - 1);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	while (d && (de = readdir(d)) && t->n_fds < MAX_FDS) {
		struct fd_snap *f;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		f = &t->fds[t->n_fds++];
		f->fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, f->fd);
		(void)!readlink(path, f->link, sizeof(f->link) - 1);
		if (stat(path, &st) == 0) {
			f->dev = st.st_dev;
			f->ino = st.st_ino;
		}
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, f->fd);
		s = slurp(path);
		sscanf(s, "pos: %lu flags: %lo mnt_id: %d", &f->pos, &f->flags, &f->mnt_id);
	}
	if (d)
		closedir(d);
	qsort(t->fds, (size_t)t->n_fds, sizeof(t->fds[0]), cmp_fd);
}

/* kcmp(KCMP_FILE) between every pair of fds of the tasks: 1 when the same description. */
static int share_matrix(const struct task_snap *t, int n, char *out, size_t size)
{
	size_t k = 0;

	for (int a = 0; a < n; a++)
		for (int i = 0; i < t[a].n_fds; i++)
			for (int b = 0; b < n; b++)
				for (int j = 0; j < t[b].n_fds; j++) {
					long r = syscall(SYS_kcmp, t[a].pid, t[b].pid, KCMP_FILE,
							 t[a].fds[i].fd, t[b].fds[j].fd);

					if (k + 1 < size)
						out[k++] = r == 0 ? '1' : '0';
				}
	out[k] = '\0';
	return (int)k;
}

static bool warned_nofollow;

static void compare_tasks(const struct task_snap *a, const struct task_snap *b, bool same_mounts)
{
	CHECK(a->pid == b->pid, "pid %d vs %d", a->pid, b->pid);
	CHECK(a->ppid == b->ppid, "task %d: ppid %d, restored %d", a->pid, a->ppid, b->ppid);
	CHECK(a->pgid == b->pgid, "task %d: pgid %d, restored %d", a->pid, a->pgid, b->pgid);
	CHECK(a->sid == b->sid, "task %d: sid %d, restored %d", a->pid, a->sid, b->sid);
	CHECK(!strcmp(a->umask, b->umask), "task %d: umask %s, restored %s", a->pid, a->umask,
	      b->umask);
	CHECK(!strcmp(a->cwd, b->cwd), "task %d: cwd %s, restored %s", a->pid, a->cwd, b->cwd);
	CHECK(a->n_fds == b->n_fds, "task %d: %d fds, restored %d", a->pid, a->n_fds, b->n_fds);
	for (int i = 0; i < a->n_fds && i < b->n_fds; i++) {
		const struct fd_snap *x = &a->fds[i], *y = &b->fds[i];

		CHECK(x->fd == y->fd, "task %d: fd %d, restored %d", a->pid, x->fd, y->fd);
		CHECK(x->pos == y->pos, "task %d fd %d: pos %lu, restored %lu", a->pid, x->fd,
		      x->pos, y->pos);
		/* fd.c reopens with O_NOFOLLOW added, which fdinfo shows (reported to the fd
		 * engine's owner); every other flag must match */
		CHECK((x->flags & ~(unsigned long)O_NOFOLLOW) ==
			  (y->flags & ~(unsigned long)O_NOFOLLOW),
		      "task %d fd %d: flags 0%lo, restored 0%lo", a->pid, x->fd, x->flags,
		      y->flags);
		if (x->flags != y->flags && !warned_nofollow) {
			fprintf(stderr, "note: fd %d of task %d gained O_NOFOLLOW on restore\n",
				x->fd, a->pid);
			warned_nofollow = true;
		}
		CHECK(!strcmp(x->link, y->link) || !strncmp(x->link, "pipe:", 5),
		      "task %d fd %d: '%s', restored '%s'", a->pid, x->fd, x->link, y->link);
		if (strncmp(x->link, "pipe:", 5) && same_mounts) {
			CHECK(x->dev == y->dev && x->ino == y->ino, "task %d fd %d: inode changed",
			      a->pid, x->fd);
			CHECK(x->mnt_id == y->mnt_id, "task %d fd %d: mnt_id %d, restored %d",
			      a->pid, x->fd, x->mnt_id, y->mnt_id);
		}
	}
}

/* Children of pid, in the order /proc lists them (creation order). */
static int children_of(pid_t pid, pid_t *out, int max)
{
	char path[64];
	char *s;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	s = slurp(path);
	for (char *tok = strtok(s, " \n"); tok && n < max; tok = strtok(NULL, " \n"))
		out[n++] = atoi(tok);
	return n;
}

/* The tasks of the tree, once each has closed its end of the ready pipe (fd 200). */
static int tree_pids(pid_t root, pid_t *out)
{
	char path[64];
	int n = 1;

	out[0] = root;
	for (int i = 0; i < n; i++)
		n += children_of(out[i], out + n, MAX_TASKS - n);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/200", out[i]);
		while (access(path, F_OK) == 0)
			sched_yield();
	}
	return n;
}

static void kill_and_reap(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		while (pid_exists(pids[i]))
			waitpid(-1, NULL, __WALL); /* we are the subreaper */
}

/* Dumps the tree (which minicr kills) and waits until every pid of it is gone. */
static int dump_tree(pid_t root, const pid_t *pids, int n, const char *dir)
{
	char pidbuf[16];
	int st;

	mkdir(dir, 0700);
	snprintf(pidbuf, sizeof(pidbuf), "%d", root);
	st = run_minicr(NULL, "dump", "-t", pidbuf, "-D", dir, NULL);
	if (st != 0) {
		fprintf(stderr, "dump of %d failed (%d): %s", root, st, errtext);
		kill_and_reap(pids, n);
		return -1;
	}
	kill_and_reap(pids, n);
	return 0;
}

static bool no_detached_dirs(void)
{
	DIR *d = opendir("/");
	struct dirent *de;
	bool clean = true;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, ".minicr.detached.", 17)) {
			fprintf(stderr, "leftover '/%s'\n", de->d_name);
			clean = false;
		}
	if (d)
		closedir(d);
	return clean;
}

static char mountinfo_before[1 << 16];

/* The checks every failed restore must pass: exit 1, one error line, nothing left. */
static void check_failure(const char *what, int st, const pid_t *pids, int n, const char *expect)
{
	CHECK(st == 1, "%s: exit status %d, want 1 (%s)", what, st, errtext);
	CHECK(count_error_lines(errtext) == 1, "%s: want one error line, got: %s", what, errtext);
	if (expect)
		CHECK(strstr(errtext, expect) != NULL, "%s: error lacks '%s': %s", what, expect,
		      errtext);
	for (int i = 0; i < n; i++)
		CHECK(!pid_exists(pids[i]), "%s: task %d left behind", what, pids[i]);
	CHECK(no_detached_dirs(), "%s: a temporary mountpoint was left in /", what);
	CHECK(!strcmp(mountinfo_before, slurp("/proc/self/mountinfo")),
	      "%s: minicr's mount table changed", what);
	kill_and_reap(pids, n);
}

static int restore(const char *dir, const char *method, const char *fault)
{
	char opt[64];

	snprintf(opt, sizeof(opt), "--detached-mounts=%s", method ? method : "clone");
	return run_minicr(fault, "restore", "-D", dir, "-d", "--leave-stopped", opt, NULL);
}

/* ---- scenarios ----------------------------------------------------------------------------- */

static void test_tree(void)
{
	static struct task_snap before[MAX_TASKS], after[MAX_TASKS];
	char share_before[4096], share_after[4096], buf[16];
	pid_t pids[MAX_TASKS];
	int n, fd, st;
	char dir[PATH_MAX];
	static const char *faults[] = {"validate", "files", "fork", "install", "ready", "attrs"};

	snprintf(dir, sizeof(dir), "%s", at("img-tree"));

	fd = open(at("file"), O_CREAT | O_WRONLY, 0644);
	if (write(fd, "0123456789", 10) != 10)
		die("write");
	close(fd);
	close(open(at("file2"), O_CREAT | O_WRONLY, 0644));
	mkdir(at("dir"), 0755);

	pids[0] = start_victim(victim_tree, 4);
	n = tree_pids(pids[0], pids);
	CHECK(n == 4, "victim tree has %d tasks", n);
	for (int i = 0; i < n; i++)
		snap_task(pids[i], &before[i]);
	share_matrix(before, n, share_before, sizeof(share_before));
	if (dump_tree(pids[0], pids, n, dir) < 0) {
		check_failures++;
		return;
	}

	st = restore(dir, NULL, NULL);
	CHECK(st == 0, "restore: exit %d: %s", st, errtext);
	for (int i = 0; i < n; i++) {
		snap_task(pids[i], &after[i]);
		compare_tasks(&before[i], &after[i], true);
	}
	share_matrix(after, n, share_after, sizeof(share_after));
	CHECK(!strcmp(share_before, share_after), "shared descriptions differ:\n%s\n%s",
	      share_before, share_after);
	/* the pipe's buffered bytes, read through the restored read end */
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/fd/5", pids[0]);
		fd = open(path, O_RDONLY | O_NONBLOCK);
	}
	CHECK(fd >= 0, "cannot open the restored pipe: %m");
	if (fd >= 0) {
		ssize_t len = read(fd, buf, sizeof(buf));

		CHECK(len == 5 && !memcmp(buf, "hello", 5), "pipe data: %zd bytes", len);
		close(fd);
	}
	kill_and_reap(pids, n);

	/* failures: a taken pid (root, then a child), a corrupt image, every fault step */
	for (int k = 0; k < 2; k++) {
		pid_t want = pids[k == 0 ? 0 : n - 1], got;
		struct minicr_clone_args args = {.exit_signal = SIGCHLD,
						 .set_tid = (uint64_t)(uintptr_t)&want,
						 .set_tid_size = 1};

		got = (pid_t)sys_clone3(&args, sizeof(args));
		if (got == 0)
			idle();
		CHECK(got == want, "cannot take pid %d: %m", want);
		st = restore(dir, NULL, NULL);
		char expect[64];
		snprintf(expect, sizeof(expect), "pid %d is in use", want);
		kill(got, SIGKILL);
		waitpid(got, NULL, 0);
		pid_t others[MAX_TASKS];
		int m = 0;
		for (int i = 0; i < n; i++)
			if (pids[i] != want)
				others[m++] = pids[i];
		check_failure("taken pid", st, others, m, expect);
	}
	for (size_t k = 0; k < sizeof(faults) / sizeof(faults[0]); k++) {
		st = restore(dir, NULL, faults[k]);
		check_failure(faults[k], st, pids, n, faults[k]);
	}
	{
		char cmd[PATH_MAX * 6];
		char bad[PATH_MAX];
		struct stat sb;

		snprintf(bad, sizeof(bad), "%s", at("img-corrupt"));
		snprintf(cmd, sizeof(cmd), "cp -r %s %s", dir, bad);
		if (system(cmd) != 0)
			die("cp");
		if (stat(at("img-corrupt/files.img"), &sb) < 0 ||
		    truncate(at("img-corrupt/files.img"), sb.st_size - 3) < 0)
			die("truncate");
		st = restore(bad, NULL, NULL);
		check_failure("corrupt files.img", st, pids, n, "files.img");
		/* an incomplete set: a child's fs image gone */
		snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -r %s %s && rm %s/fs-%d.img", bad, dir,
			 bad, bad, pids[n - 1]);
		if (system(cmd) != 0)
			die("cp");
		st = restore(bad, NULL, NULL);
		check_failure("missing fs image", st, pids, n, "is missing");
	}
}

static void test_detached(void)
{
	static const char *methods[] = {"clone", "mountpoint"};
	char dir[PATH_MAX];
	pid_t pid;
	int fd;

	snprintf(dir, sizeof(dir), "%s", at("img-detached"));
	mkdir(at("A"), 0755);
	mkdir(at("B"), 0755);
	if (mount("probefs", at("A"), "tmpfs", 0, "size=1m") < 0)
		die("mount tmpfs");
	mkdir(at("A/sub"), 0755);
	mkdir(at("A/sub/dir"), 0755);
	fd = open(at("A/sub/file"), O_CREAT | O_WRONLY, 0644);
	if (write(fd, "hello", 5) != 5)
		die("write");
	close(fd);
	if (mount(at("A/sub"), at("B"), NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, at("B"), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
		die("bind");
	pid = start_victim(victim_detached, 1);
	tree_pids(pid, &pid);
	if (umount2(at("B"), MNT_DETACH) < 0)
		die("umount2");
	strcpy(mountinfo_before, slurp("/proc/self/mountinfo"));
	if (dump_tree(pid, &pid, 1, dir) < 0) {
		check_failures++;
		return;
	}
	for (size_t k = 0; k < 2; k++) {
		static struct task_snap t;
		struct statvfs sv;
		char path[128], mi[64], buf[8];
		int st = restore(dir, methods[k], NULL);

		CHECK(st == 0, "restore --detached-mounts=%s: exit %d: %s", methods[k], st,
		      errtext);
		snap_task(pid, &t);
		CHECK(t.n_fds == 6, "%s: %d fds", methods[k], t.n_fds);
		if (t.n_fds == 6) {
			CHECK(!strcmp(t.fds[3].link, "/file") && !strcmp(t.fds[4].link, "/dir") &&
				  !strcmp(t.fds[5].link, "/"),
			      "%s: links %s %s %s", methods[k], t.fds[3].link, t.fds[4].link,
			      t.fds[5].link);
			CHECK(t.fds[3].mnt_id == t.fds[4].mnt_id &&
				  t.fds[4].mnt_id == t.fds[5].mnt_id,
			      "%s: the fds are on mounts %d %d %d", methods[k], t.fds[3].mnt_id,
			      t.fds[4].mnt_id, t.fds[5].mnt_id);
			CHECK(t.fds[3].pos == 1, "%s: offset %lu", methods[k], t.fds[3].pos);
			snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
			snprintf(mi, sizeof(mi), "\n%d ", t.fds[3].mnt_id);
			CHECK(!strstr(slurp(path), mi), "%s: mount %d is attached", methods[k],
			      t.fds[3].mnt_id);
			snprintf(path, sizeof(path), "/proc/%d/fd/3", pid);
			CHECK(statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY) &&
				  (sv.f_flag & ST_NOSUID),
			      "%s: flags 0x%lx", methods[k], sv.f_flag);
			fd = open(path, O_RDONLY);
			CHECK(fd >= 0 && pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5),
			      "%s: contents", methods[k]);
			if (fd >= 0)
				close(fd);
		}
		CHECK(no_detached_dirs(), "%s: temporary mountpoint left", methods[k]);
		CHECK(!strcmp(mountinfo_before, slurp("/proc/self/mountinfo")),
		      "%s: minicr's mount table changed", methods[k]);
		kill_and_reap(&pid, 1);
	}
	check_failure("detached fault", restore(dir, "clone", "detached"), &pid, 1, "detached");
	check_failure("mountpoint fault", restore(dir, "mountpoint", "detached-mountpoint"), &pid,
		      1, "detached-mountpoint");
	/* the source filesystem gone: restore must refuse, naming the mount */
	if (umount2(at("A"), MNT_DETACH) < 0)
		die("umount A");
	strcpy(mountinfo_before, slurp("/proc/self/mountinfo"));
	for (size_t k = 0; k < 2; k++)
		check_failure("missing source", restore(dir, methods[k], NULL), &pid, 1,
			      "detached mount");
}

/* The mountinfo lines below work, without ids, devices and peer group numbers. */
static void mount_summary(pid_t pid, char *out, size_t size)
{
	char path[64], *s, *save = NULL;
	size_t off = 0;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	s = slurp(path);
	out[0] = '\0';
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char root[256], mp[256], opts[256], rest[512];

		if (!strstr(l, work))
			continue;
		if (sscanf(l, "%*d %*d %*s %255s %255s %255s %511[^\n]", root, mp, opts, rest) != 4)
			continue;
		for (char *p = rest; *p; p++) /* shared:N -> shared:_ */
			if (*p >= '0' && *p <= '9' && p > rest && p[-1] == ':')
				while (*p >= '0' && *p <= '9')
					*p++ = '_';
		off +=
		    (size_t)snprintf(out + off, size - off, "%s %s %s %s\n", root, mp, opts, rest);
		if (off >= size)
			break;
	}
}

static void test_mntns(void)
{
	char before[4096], after[4096], path[PATH_MAX], dir[PATH_MAX];
	static struct task_snap t0, t1;
	pid_t pid;
	int fd, st;

	snprintf(dir, sizeof(dir), "%s", at("img-mntns"));
	mkdir(at("ns"), 0755);
	pid = start_victim(victim_mntns, 1);
	tree_pids(pid, &pid);
	mount_summary(pid, before, sizeof(before));
	snap_task(pid, &t0);
	strcpy(mountinfo_before, slurp("/proc/self/mountinfo"));
	if (dump_tree(pid, &pid, 1, dir) < 0) {
		check_failures++;
		return;
	}
	st = restore(dir, NULL, NULL);
	CHECK(st == 0, "restore of a mount namespace: exit %d: %s", st, errtext);
	mount_summary(pid, after, sizeof(after));
	CHECK(!strcmp(before, after), "mount namespace differs:\n%s---\n%s", before, after);
	snap_task(pid, &t1);
	compare_tasks(&t0, &t1, false);
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, at("ns/a/f"));
	fd = open(path, O_RDONLY);
	char buf[8] = "";
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "data", 4),
	      "tmpfs contents lost ('%s')", buf);
	if (fd >= 0)
		close(fd);
	CHECK(!strcmp(mountinfo_before, slurp("/proc/self/mountinfo")),
	      "minicr's mount table changed");
	kill_and_reap(&pid, 1);
	check_failure("mntns fault", restore(dir, NULL, "mntns"), &pid, 1, "mntns");
}

/* A table of 1200 fds, which the dump probes and the restore opens on several threads: every
 * fd comes back as it was, dups stay dups; a missing file and an unsupported fd in the middle
 * each give one error line. */
static void test_large_table(void)
{
	static struct task_snap t0, t1;
	static bool shared[MAX_FDS];
	char dir[PATH_MAX], pidbuf[16], expect[64];
	pid_t pid;
	int st;

	snprintf(dir, sizeof(dir), "%s", at("img-large"));
	mkdir(at("big"), 0755);
	for (int i = 0; i < LARGE_FILES; i++) {
		int fd = open(at("big/f%d", i), O_CREAT | O_WRONLY, 0644);

		if (fd < 0 || ftruncate(fd, 4096) < 0)
			die("big file");
		close(fd);
	}
	pid = start_victim(victim_large, 1);
	tree_pids(pid, &pid);
	snap_task(pid, &t0);
	CHECK(t0.n_fds == LARGE_FDS + 3, "large victim has %d fds", t0.n_fds);
	for (int i = 0; i + 1 < t0.n_fds; i++)
		shared[i] = syscall(SYS_kcmp, pid, pid, KCMP_FILE, t0.fds[i].fd,
				    t0.fds[i + 1].fd) == 0;
	if (dump_tree(pid, &pid, 1, dir) < 0) {
		check_failures++;
		return;
	}
	st = restore(dir, NULL, NULL);
	CHECK(st == 0, "restore of %d fds: exit %d: %s", LARGE_FDS, st, errtext);
	snap_task(pid, &t1);
	compare_tasks(&t0, &t1, true);
	/* dups (each next to its original) share their description again, other fds do not */
	for (int i = 0; i + 1 < t1.n_fds && i + 1 < t0.n_fds; i++) {
		long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, t1.fds[i].fd, t1.fds[i + 1].fd);

		CHECK((r == 0) == shared[i], "fds %d and %d: kcmp %ld, shared before: %d",
		      t1.fds[i].fd, t1.fds[i + 1].fd, r, shared[i]);
	}
	kill_and_reap(&pid, 1);

	/* a file gone since the dump: one line naming it, nothing left behind */
	if (rename(at("big/f7"), at("big/f7.away")) < 0)
		die("rename");
	st = restore(dir, NULL, NULL);
	check_failure("missing file of a large table", st, &pid, 1, "big/f7");
	if (rename(at("big/f7.away"), at("big/f7")) < 0)
		die("rename");

	/* an unsupported fd in the middle of a large table: one line naming it, the victim runs */
	large_with_socket = true;
	pid = start_victim(victim_large, 1);
	large_with_socket = false;
	tree_pids(pid, &pid);
	snap_task(pid, &t0);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	st = run_minicr(NULL, "dump", "-t", pidbuf, "-D", at("img-large-socket"), NULL);
	snprintf(expect, sizeof(expect), "fd %d of task %d: unsupported kind 'netlink socket'",
		 t0.fds[LARGE_FDS / 2 + 3].fd, pid);
	CHECK(st != 0 && count_error_lines(errtext) == 1 && strstr(errtext, expect),
	      "dump of a large table with a socket: exit %d, want one line with '%s': %s", st,
	      expect, errtext);
	CHECK(pid_exists(pid), "the victim did not survive the failed dump");
	kill_and_reap(&pid, 1);
}

static pid_t main_pid;

/* Removes the work directory however the test ends (victims exit through _exit). */
static void remove_work(void)
{
	char cmd[PATH_MAX + 16];

	if (getpid() != main_pid)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	(void)!system(cmd);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skipped: restore needs root (clone3 set_tid, mounts)\n");
		return 77;
	}
	minicr = getenv("MINICR");
	if (!minicr || access(minicr, X_OK) < 0) {
		printf("skipped: MINICR does not name the minicr binary\n");
		return 77;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("skipped: cannot make a private mount namespace: %m\n");
		return 77;
	}
	/* orphans of the victims and of restored trees come back to us to be reaped */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (!mkdtemp(work))
		die("mkdtemp");
	main_pid = getpid();
	atexit(remove_work);
	strcpy(mountinfo_before, slurp("/proc/self/mountinfo"));
	test_tree();
	test_detached();
	test_mntns();
	test_large_table();
	if (check_failures) {
		printf("test-restore: %d check(s) failed\n", check_failures);
		return 1;
	}
	printf("test-restore: all checks passed\n");
	return 0;
}
