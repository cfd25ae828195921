/* bench-dump: whole `minicr dump` runs, timed from outside, with the size of the images.
 *   bench-dump fds [N...]      one process holding N fds of a realistic mix of kinds
 *                              (default 10 1000 10000 19000)
 *   bench-dump mounts [N...]   one process in a mount namespace with N bind mounts
 *                              (default 10 1000 10000)
 *   bench-dump kinds [N...]    one process holding N fds of one file kind, for each of: plain
 *                              (N descriptions of one file), rmdirs (removed directories),
 *                              unlinked (unlinked files of 4 KiB), locked (files with a flock,
 *                              a POSIX or an OFD lock); default 1000 10000
 * Each figure is the median of 5 dumps with --leave-running of the same live process (and the
 * best wall time, and minicr's median CPU time, user + system). Needs
 * root; prints a table. Not a test: it asserts nothing about time. */
#include <dirent.h>
#include <stdbool.h>
#include <sys/file.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5

static const char *minicr_path;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Opens n fds in a realistic mix, per 16: 9 distinct regular files, 3 dups of them, one pipe
 * (2 fds), one /dev/null and one directory. Every file is in dir. */
static void hold_fds(long n, const char *dir)
{
	struct rlimit rl;
	long have = 0, files = 0;
	int last = -1;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (have < n) {
		long slot = have % 16;
		char path[256];
		int fd, p[2];

		if (slot < 9) {
			snprintf(path, sizeof(path), "%s/f%ld", dir, files++);
			fd = open(path, O_RDWR | O_CREAT, 0600);
			last = fd;
		} else if (slot < 12) {
			fd = dup(last);
		} else if (slot == 12 && have + 2 <= n) {
			fd = pipe(p) == 0 ? p[1] : -1;
			have++;
		} else if (slot == 14) {
			fd = open("/dev/null", O_WRONLY);
		} else {
			fd = open(dir, O_RDONLY | O_DIRECTORY);
		}
		if (fd < 0)
			_exit(2);
		have++;
	}
}

/* n fds of socketpairs (n / 2 pairs), 1 KiB queued on each pair. */
static void hold_sockets(long n)
{
	struct rlimit rl;
	char kib[1024];

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	memset(kib, 'q', sizeof(kib));
	for (long i = 0; i + 1 < n; i += 2) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
		    write(sv[0], kib, sizeof(kib)) != sizeof(kib))
			_exit(2);
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* n fds of one kind in dir (see the header); returns false for an unknown kind. */
static bool hold_kind(const char *kind, long n, const char *dir)
{
	static const char block[4096] = "bench";
	char path[256];

	raise_nofile();
	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%c%ld", dir, kind[0], i);
		if (strcmp(kind, "plain") == 0) {
			snprintf(path, sizeof(path), "%s/plain", dir);
			fd = open(path, O_RDONLY | O_CREAT, 0600);
		} else if (strcmp(kind, "rmdirs") == 0) {
			fd = mkdir(path, 0700) == 0 ? open(path, O_RDONLY | O_DIRECTORY) : -1;
			if (fd >= 0 && rmdir(path) < 0)
				fd = -1;
		} else if (strcmp(kind, "unlinked") == 0) {
			fd = open(path, O_RDWR | O_CREAT, 0600);
			if (fd >= 0 &&
			    (write(fd, block, sizeof(block)) != sizeof(block) || unlink(path) < 0))
				fd = -1;
		} else if (strcmp(kind, "locked") == 0) {
			struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};

			fd = open(path, O_RDWR | O_CREAT, 0600);
			if (fd >= 0 && (i % 3 == 0   ? flock(fd, LOCK_EX)
					: i % 3 == 1 ? fcntl(fd, F_SETLK, &fl)
						     : fcntl(fd, F_OFD_SETLK, &fl)) < 0)
				fd = -1;
		} else {
			return false;
		}
		if (fd < 0)
			_exit(2);
	}
	return true;
}

/* A private mount namespace with n bind mounts of one tmpfs directory. */
static void hold_mounts(long n, const char *dir)
{
	char src[256], dst[256];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(3);
	if (mount("bench", dir, "tmpfs", 0, "size=1m") < 0)
		_exit(3);
	snprintf(src, sizeof(src), "%s/src", dir);
	mkdir(src, 0755);
	for (long i = 0; i < n; i++) {
		snprintf(dst, sizeof(dst), "%s/m%ld", dir, i);
		if (mkdir(dst, 0755) < 0 || mount(src, dst, NULL, MS_BIND, NULL) < 0)
			_exit(3);
	}
}

static pid_t start_victim(const char *what, long n, const char *dir)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		setsid();
		if (strcmp(what, "fds") == 0)
			hold_fds(n, dir);
		else if (strcmp(what, "sockets") == 0)
			hold_sockets(n);
		else if (!hold_kind(what, n, dir))
			hold_mounts(n, dir);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "bench-dump: the %s victim with %ld failed to start\n", what, n);
		exit(1);
	}
	close(ready[0]);
	return pid;
}

static long long dir_size(const char *path)
{
	long long total = 0;
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct stat st;

		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
			total += st.st_size;
	}
	closedir(d);
	return total;
}

/* Returns the wall time; *ret_cpu_ms gets minicr's own CPU time (user + system), which
 * stays meaningful when other work shares the machine. */
static double dump_once(pid_t victim, const char *images, double *ret_cpu_ms)
{
	char pid_arg[16];
	double start = now_ms();
	struct rusage ru;
	int status;
	pid_t pid;

	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)victim);
	pid = fork();
	if (pid == 0) {
		execl(minicr_path, "minicr", "dump", "-t", pid_arg, "-D", images, "--leave-running",
		      (char *)NULL);
		_exit(127);
	}
	wait4(pid, &status, 0, &ru);
	*ret_cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-dump: minicr dump failed (status %#x)\n", status);
		kill(victim, SIGKILL);
		exit(1);
	}
	return now_ms() - start;
}

static void bench(const char *what, long n)
{
	char dir[] = "/tmp/minicr-bench.XXXXXX", images[64], mnt[64];
	double times[RUNS], cpu[RUNS];
	pid_t victim;

	if (!mkdtemp(dir))
		exit(1);
	snprintf(images, sizeof(images), "%s/img", dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	mkdir(mnt, 0755);
	victim = start_victim(what, n, mnt);
	for (int i = 0; i < RUNS; i++)
		times[i] = dump_once(victim, images, &cpu[i]);
	qsort(times, RUNS, sizeof(times[0]), cmp_double);
	qsort(cpu, RUNS, sizeof(cpu[0]), cmp_double);
	printf("%-8s %8ld %12.1f %12.1f %12.1f %14lld\n", what, n, times[RUNS / 2], times[0],
	       cpu[RUNS / 2], dir_size(images));
	fflush(stdout);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	wait(NULL);
}

int main(int argc, char **argv)
{
	static const long fd_sizes[] = {10, 1000, 10000, 19000};
	static const long mount_sizes[] = {10, 1000, 10000};
	static const long socket_sizes[] = {10, 1000, 10000};
	static const long kind_sizes[] = {1000, 10000};
	static const char *const kinds[] = {"plain", "rmdirs", "unlinked", "locked"};
	const char *what = argc > 1 ? argv[1] : "all";

	minicr_path = getenv("MINICR") ? getenv("MINICR") : "./minicr";
	if (geteuid() != 0) {
		fprintf(stderr, "bench-dump: needs root (ptrace, mount namespaces)\n");
		return 77;
	}
	printf("%-8s %8s %12s %12s %12s %14s\n", "victim", "N", "median ms", "best ms", "cpu ms",
	       "image bytes");
	if (strcmp(what, "kinds") == 0) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			for (int i = 2; i < (argc > 2 ? argc : 2 + 2); i++)
				bench(kinds[k], argc > 2 ? atol(argv[i]) : kind_sizes[i - 2]);
		return 0;
	}
	if (argc > 2) {
		for (int i = 2; i < argc; i++)
			bench(what, atol(argv[i]));
		return 0;
	}
	if (strcmp(what, "all") == 0 || strcmp(what, "fds") == 0)
		for (size_t i = 0; i < sizeof(fd_sizes) / sizeof(fd_sizes[0]); i++)
			bench("fds", fd_sizes[i]);
	if (strcmp(what, "all") == 0 || strcmp(what, "sockets") == 0)
		for (size_t i = 0; i < sizeof(socket_sizes) / sizeof(socket_sizes[0]); i++)
			bench("sockets", socket_sizes[i]);
	if (strcmp(what, "all") == 0 || strcmp(what, "mounts") == 0)
		for (size_t i = 0; i < sizeof(mount_sizes) / sizeof(mount_sizes[0]); i++)
			bench("mounts", mount_sizes[i]);
	return 0;
}
