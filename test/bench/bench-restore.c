/* bench-restore: wall time of `minicr restore -d --leave-stopped` for one process holding N fds
 * (N distinct open file descriptions), for a process in its own mount namespace with N bind
 * mounts, for a tree of N processes each in a mount namespace of its own with 100 bind mounts
 * (mntns), and for the same tree and mounts in one namespace (onens, its baseline). Images come
 * from `minicr dump` of real victims. Not run by make check:
 *   MINICR=./minicr test/bench/bench-restore [fds|sockets|mounts|mntns|onens|tree|paused|kinds N...]
 * kinds: one process holding N fds of one file kind, for each of plain (N descriptions of one
 * file, as fds), rmdirs (removed directories), unlinked (unlinked files of 4 KiB) and locked
 * (files with a flock, a POSIX or an OFD lock); default 1000 10000.
 * Default: tree 1 10 100 (full dump and restore -d with resume of a tree of N processes, 1 MB of
 * memory each), paused 100 1000 (a parent with N - 1 paused children, one file each; per
 * process figures too), fds 10 1000 10000 19000, mounts 10 1000 10000, onens and mntns 1 10
 * 100. Needs root; runs in its own private mount namespace. Prints one line per case: the
 * median of 5 dumps (--leave-running) and of 5 restores, wall clock and the CPU time of minicr
 * plus the restored tree up to the moment it stands restored (steadier than wall time on a
 * loaded machine). The tree's CPU is read from its clock before it is killed: its exit is not
 * restore's work (a process dying with 10 000 sockets spends some 20 ms freeing them, one with
 * 10 000 plain files 2 ms).
 * Images go to DIR/images, on the disk of /tmp, or with BENCH_TMPFS=1 on a tmpfs there (the
 * cost of minicr without the filesystem's). Each round of a tree dumps into a directory of its
 * own: replacing the last round's images deleted thousands of files right before the next dump
 * created as many, and ext4 without a journal (this VM's root) then checks every recently
 * deleted inode on each create, a filesystem cost that grew with the square of the tree. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5

static const char *minicr;
static char work[] = "/tmp/minicr-bench-restore.XXXXXX";
static char images[256]; /* where the image dirs go: work/images (a tmpfs with BENCH_TMPFS) */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
	       const char *a6)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		close_range(3, ~0U, 0);
		execl(minicr, minicr, a1, a2, a3, a4, a5, a6, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int n_arg;

static void victim_fds(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/file", work);
	for (int i = 0; i < n_arg; i++)
		if (open(path, O_RDONLY) < 0)
			_exit(3);
}

/* n_arg fds of socketpairs, 1 KiB queued on each pair. */
static void victim_sockets(void)
{
	char kib[1024];

	memset(kib, 'q', sizeof(kib));
	for (int i = 0; i + 1 < n_arg; i += 2) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
		    write(sv[0], kib, sizeof(kib)) != sizeof(kib))
			_exit(3);
	}
}

static const char *kind_arg;

static void victim_kind(void)
{
	static const char block[4096] = "bench";
	char path[PATH_MAX];

	for (int i = 0; i < n_arg; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%c%d", work, kind_arg[0], i);
		if (strcmp(kind_arg, "plain") == 0) {
			snprintf(path, sizeof(path), "%s/file", work);
			fd = open(path, O_RDONLY);
		} else if (strcmp(kind_arg, "rmdirs") == 0) {
			fd = mkdir(path, 0700) == 0 ? open(path, O_RDONLY | O_DIRECTORY) : -1;
			if (fd >= 0 && rmdir(path) < 0)
				fd = -1;
		} else if (strcmp(kind_arg, "unlinked") == 0) {
			fd = open(path, O_RDWR | O_CREAT, 0600);
			if (fd >= 0 &&
			    (write(fd, block, sizeof(block)) != sizeof(block) || unlink(path) < 0))
				fd = -1;
		} else {
			struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};

			fd = open(path, O_RDWR | O_CREAT, 0600);
			if (fd >= 0 && (i % 3 == 0   ? flock(fd, LOCK_EX)
					: i % 3 == 1 ? fcntl(fd, F_SETLK, &fl)
						     : fcntl(fd, F_OFD_SETLK, &fl)) < 0)
				fd = -1;
		}
		if (fd < 0)
			_exit(3);
	}
}

static void victim_mounts(void)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(3);
	snprintf(src, sizeof(src), "%s/m", work);
	if (mount("benchfs", src, "tmpfs", 0, "size=1m") < 0)
		_exit(4);
	snprintf(dst, sizeof(dst), "%s/m/src", work);
	mkdir(dst, 0755);
	for (int i = 0; i < n_arg; i++) {
		snprintf(dst, sizeof(dst), "%s/m/d%d", work, i);
		mkdir(dst, 0755);
	}
	snprintf(src, sizeof(src), "%s/m/src", work);
	for (int i = 0; i < n_arg; i++) {
		snprintf(dst, sizeof(dst), "%s/m/d%d", work, i);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			_exit(5);
	}
}

#define MNTNS_MOUNTS 100

/* A mount namespace of the mntns case: a tmpfs and MNTNS_MOUNTS binds of its subdirectory. */
static void mntns_setup(void)
{
	char path[PATH_MAX], dst[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(3);
	snprintf(path, sizeof(path), "%s/m", work);
	if (mount("benchfs", path, "tmpfs", 0, "size=1m") < 0)
		_exit(4);
	snprintf(path, sizeof(path), "%s/m/src", work);
	mkdir(path, 0755);
	for (int i = 0; i < MNTNS_MOUNTS; i++) {
		snprintf(dst, sizeof(dst), "%s/m/d%d", work, i);
		if (mkdir(dst, 0755) < 0 || mount(path, dst, NULL, MS_BIND, NULL) < 0)
			_exit(5);
	}
}

/* n_arg processes (the root and n_arg - 1 children), each in a mount namespace of its own. */
static void victim_mntns(void)
{
	int pfd[2];
	char c;

	if (pipe(pfd) < 0)
		_exit(3);
	for (int i = 1; i < n_arg; i++)
		if (fork() == 0) {
			close(pfd[0]);
			mntns_setup();
			if (write(pfd[1], "r", 1) != 1)
				_exit(2);
			close(pfd[1]);
			for (;;)
				pause();
		}
	close(pfd[1]);
	for (int i = 1; i < n_arg; i++)
		if (read(pfd[0], &c, 1) != 1)
			_exit(6);
	close(pfd[0]);
	mntns_setup();
}

/* The same tree and mounts in one namespace: the root makes 100 * n_arg bind mounts, then
 * n_arg - 1 children that share its namespace (the baseline mntns is compared with). */
static void victim_onens(void)
{
	char path[PATH_MAX], dst[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(3);
	snprintf(path, sizeof(path), "%s/m", work);
	if (mount("benchfs", path, "tmpfs", 0, "size=1m") < 0)
		_exit(4);
	snprintf(path, sizeof(path), "%s/m/src", work);
	mkdir(path, 0755);
	for (int i = 0; i < MNTNS_MOUNTS * n_arg; i++) {
		snprintf(dst, sizeof(dst), "%s/m/d%d", work, i);
		if (mkdir(dst, 0755) < 0 || mount(path, dst, NULL, MS_BIND, NULL) < 0)
			_exit(5);
	}
	for (int i = 1; i < n_arg; i++)
		if (fork() == 0)
			for (;;)
				pause();
}

/* A flat tree: the root and n_arg - 1 children, each with 1 MB of dirty memory. */
static void victim_tree(void)
{
	for (int i = 1; i < n_arg; i++) {
		if (fork() == 0) {
			char *mem = malloc(1 << 20);

			if (mem)
				memset(mem, i, 1 << 20);
			for (;;)
				pause();
		}
	}
}

/* A parent and n_arg - 1 paused children, each holding one file of its own. */
static void victim_paused(void)
{
	char path[PATH_MAX];

	for (int i = 1; i < n_arg; i++) {
		if (fork() == 0) {
			snprintf(path, sizeof(path), "%s/f%d", work, i);
			if (open(path, O_RDWR | O_CREAT, 0644) < 0)
				_exit(3);
			for (;;)
				pause();
		}
	}
}

/* Kills the process group of a tree and reaps all of it (this process is the subreaper). */
static void tree_gone(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
}

/* Starts a victim in its own session with fds 0-2 on /dev/null, built by fn. */
static pid_t start(void (*fn)(void))
{
	int pfd[2];
	char c;
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR), w = fcntl(pfd[1], F_DUPFD, 30000 - 1);

		if (w < 0)
			w = pfd[1];
		for (int fd = 0; fd < 3; fd++)
			dup2(devnull, fd);
		close_range(3, (unsigned)w - 1, 0);
		close_range((unsigned)w + 1, ~0U, 0);
		setsid();
		fn();
		if (write(w, "r", 1) != 1)
			_exit(2);
		close(w);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		fprintf(stderr, "victim failed\n");
		exit(1);
	}
	close(pfd[0]);
	return pid;
}

/* CPU time of reaped children (minicr, and whatever minicr reaped). */
static double children_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU time of a live process (all its threads, the finished ones too), in seconds. */
static double process_cpu(pid_t pid)
{
	struct timespec ts;
	clockid_t clock;

	if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench(const char *what, void (*fn)(void), int n)
{
	char dir[PATH_MAX], pidbuf[16];
	double t[RUNS], cpu[RUNS], cpu_exit[RUNS], td[RUNS];
	pid_t pid;

	n_arg = n;
	snprintf(dir, sizeof(dir), "%s/img-%s-%d", images, what, n);
	mkdir(dir, 0700);
	pid = start(fn);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	for (int i = 0; i < RUNS; i++) {
		double t0 = now();

		if (run("dump", "-t", pidbuf, "-D", dir, "--leave-running") != 0) {
			printf("%-7s %6d: dump failed\n", what, n);
			tree_gone(pid);
			return;
		}
		td[i] = now() - t0;
	}
	qsort(td, RUNS, sizeof(td[0]), cmp_double);
	if (run("dump", "-t", pidbuf, "-D", dir, NULL) != 0) {
		printf("%-8s %6d: dump failed\n", what, n);
		tree_gone(pid);
		return;
	}
	tree_gone(pid);
	for (int i = 0; i < RUNS; i++) {
		double t0 = now(), c0 = children_cpu();
		int st = run("restore", "-D", dir, "-d", "--leave-stopped", NULL);

		t[i] = now() - t0;
		/* minicr is reaped; the tree (pid, one process) stands stopped */
		cpu[i] = children_cpu() - c0 + process_cpu(pid);
		tree_gone(pid);
		cpu_exit[i] = children_cpu() - c0;
		if (st != 0) {
			printf("%-8s %6d: restore failed (%d)\n", what, n, st);
			return;
		}
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	qsort(cpu, RUNS, sizeof(cpu[0]), cmp_double);
	qsort(cpu_exit, RUNS, sizeof(cpu_exit[0]), cmp_double);
	printf("%-8s %6d: dump %8.1f ms, restore %8.1f ms wall (medians of %d, restore min %.1f), "
	       "%.1f ms cpu (%.1f with the tree's exit)\n",
	       what, n, td[RUNS / 2] * 1e3, t[RUNS / 2] * 1e3, RUNS, t[0] * 1e3,
	       cpu[RUNS / 2] * 1e3, cpu_exit[RUNS / 2] * 1e3);
	fflush(stdout);
}

/* Full rounds on a tree of n processes: dump (which kills it), then restore -d with transparent
 * resume; both timed (wall, and CPU: minicr, plus for a restore the tree until it is reaped),
 * medians of RUNS rounds. */
static void bench_tree(const char *what, void (*fn)(void), int n)
{
	char dir[PATH_MAX], pidbuf[16];
	double td[RUNS], tr[RUNS], cd[RUNS], cr[RUNS];
	pid_t pid;

	n_arg = n;
	pid = start(fn);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	/* a restored tree's own CPU time is counted when it is reaped, after the next dump */
	for (int i = 0; i < RUNS; i++) {
		double t0, c0, c1;

		/* a directory per round: see the comment at the top */
		snprintf(dir, sizeof(dir), "%s/img-%s-%d.%d", images, what, n, i);
		mkdir(dir, 0700);
		t0 = now();
		c0 = children_cpu();

		if (run("dump", "-t", pidbuf, "-D", dir, NULL) != 0) {
			printf("%-7s %6d: dump failed\n", what, n);
			tree_gone(pid);
			return;
		}
		td[i] = now() - t0;
		cd[i] = children_cpu() - c0;
		c1 = children_cpu();
		tree_gone(pid);
		if (i > 0)
			cr[i - 1] += children_cpu() - c1;
		t0 = now();
		c0 = children_cpu();
		if (run("restore", "-D", dir, "-d", NULL, NULL) != 0) {
			printf("%-7s %6d: restore failed\n", what, n);
			tree_gone(pid);
			return;
		}
		tr[i] = now() - t0;
		cr[i] = children_cpu() - c0;
	}
	{
		double c1 = children_cpu();

		tree_gone(pid);
		cr[RUNS - 1] += children_cpu() - c1;
	}
	qsort(td, RUNS, sizeof(td[0]), cmp_double);
	qsort(tr, RUNS, sizeof(tr[0]), cmp_double);
	qsort(cd, RUNS, sizeof(cd[0]), cmp_double);
	qsort(cr, RUNS, sizeof(cr[0]), cmp_double);
	printf("%-7s %6d: dump %8.1f ms (%.2f ms/process, %.1f ms cpu), restore %8.1f ms "
	       "(%.2f ms/process, %.1f ms cpu) wall, medians of %d rounds\n",
	       what, n, td[RUNS / 2] * 1e3, td[RUNS / 2] * 1e3 / n, cd[RUNS / 2] * 1e3,
	       tr[RUNS / 2] * 1e3, tr[RUNS / 2] * 1e3 / n, cr[RUNS / 2] * 1e3, RUNS);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const int fds_default[] = {10, 1000, 10000, 19000};
	static const int trees_default[] = {1, 10, 100};
	static const int paused_default[] = {100, 1000};
	static const int mounts_default[] = {10, 1000, 10000};
	static const int mntns_default[] = {1, 10, 100};
	static const int sockets_default[] = {10, 1000, 10000};
	static const int kinds_default[] = {1000, 10000};
	static const char *const kinds[] = {"plain", "rmdirs", "unlinked", "locked"};
	struct rlimit rl;
	char path[PATH_MAX];

	minicr = getenv("MINICR") ? getenv("MINICR") : "./minicr";
	if (geteuid() != 0) {
		printf("bench-restore needs root\n");
		return 77;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("private mount namespace");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!mkdtemp(work))
		die("mkdtemp");
	snprintf(images, sizeof(images), "%s/images", work);
	mkdir(images, 0700);
	if (getenv("BENCH_TMPFS") && mount("bench-images", images, "tmpfs", 0, NULL) < 0)
		die("tmpfs for the images");
	snprintf(path, sizeof(path), "%s/file", work);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	snprintf(path, sizeof(path), "%s/m", work);
	mkdir(path, 0755);
	if (argc > 1 && strcmp(argv[1], "kinds") == 0) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			kind_arg = kinds[k];
			for (int i = 2; i < (argc > 2 ? argc : 4); i++)
				bench(kinds[k], victim_kind,
				      argc > 2 ? atoi(argv[i]) : kinds_default[i - 2]);
		}
	} else if (argc > 2 && strcmp(argv[1], "tree") == 0) {
		for (int i = 2; i < argc; i++)
			bench_tree("tree", victim_tree, atoi(argv[i]));
	} else if (argc > 2 && strcmp(argv[1], "paused") == 0) {
		for (int i = 2; i < argc; i++)
			bench_tree("paused", victim_paused, atoi(argv[i]));
	} else if (argc > 2) {
		for (int i = 2; i < argc; i++)
			bench(argv[1],
			      !strcmp(argv[1], "fds")	    ? victim_fds
			      : !strcmp(argv[1], "sockets") ? victim_sockets
			      : !strcmp(argv[1], "mntns")   ? victim_mntns
			      : !strcmp(argv[1], "onens")   ? victim_onens
							    : victim_mounts,
			      atoi(argv[i]));
	} else {
		for (size_t i = 0; i < sizeof(trees_default) / sizeof(trees_default[0]); i++)
			bench_tree("tree", victim_tree, trees_default[i]);
		for (size_t i = 0; i < sizeof(paused_default) / sizeof(paused_default[0]); i++)
			bench_tree("paused", victim_paused, paused_default[i]);
		for (size_t i = 0; i < sizeof(fds_default) / sizeof(fds_default[0]); i++)
			bench("fds", victim_fds, fds_default[i]);
		for (size_t i = 0; i < sizeof(sockets_default) / sizeof(sockets_default[0]); i++)
			bench("sockets", victim_sockets, sockets_default[i]);
		for (size_t i = 0; i < sizeof(mounts_default) / sizeof(mounts_default[0]); i++)
			bench("mounts", victim_mounts, mounts_default[i]);
		for (size_t i = 0; i < sizeof(mntns_default) / sizeof(mntns_default[0]); i++) {
			bench("onens", victim_onens, mntns_default[i]);
			bench("mntns", victim_mntns, mntns_default[i]);
		}
	}
	if (getenv("BENCH_KEEP")) {
		printf("images kept in %s\n", work);
		return 0;
	}
	if (getenv("BENCH_TMPFS"))
		umount2(images, MNT_DETACH);
	snprintf(path, sizeof(path), "rm -rf %s", work);
	return system(path) == 0 ? 0 : 1;
}
