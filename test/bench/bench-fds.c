/* bench-fds: time the fd-table dump (fd_list + pidfd_getfd + classify + records) of a child
 * holding N fds, for several N, and print a table. Not run by make check.
 *
 *   bench-fds [N...]         default: 10 1000 10000 19000
 *
 * The child's fds mix distinct regular files, dups, pipes, eventfds and O_PATH fds. A last row
 * opens one file N times (the worst case for the shared-file identity: every fd in one inode's
 * tree). Each size runs with close-on-exec unknown (fdinfo read per fd, the pidfd_getfd way) and
 * given (as the parasite reports it: files, directories and pipes skip procfs but for one
 * readlink). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "fd/dump.h"
#include "fd/kind.h"
#include "fd/restore-file.h"
#include "base/util.h"

#define N_FILES 20000
#define RUNS	3

static char dir[64];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this process (user + system): less sensitive to other load than wall time. */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void die(const char *what)
{
	perror(what);
	_exit(1);
}

/* Opens n fds in the calling child: per 20, 10 distinct regular files, 4 dups of earlier
 * fds, 2 pipes (4 fds), 1 eventfd and 1 O_PATH fd; or n opens of one file when same_inode. */
static void child_fill(int n, bool same_inode)
{
	char path[128];
	int count = 0;

	while (count < n) {
		int kind = same_inode ? 0 : count % 20, fd = -1;

		if (kind < 10 || kind == 19) {
			snprintf(path, sizeof(path), "%s/f%d", dir,
				 same_inode ? 0 : count % N_FILES);
			fd = open(path, kind == 19 ? O_PATH : O_RDWR);
		} else if (kind < 14) {
			fd = dup(count / 2);
		} else if (kind < 18 && count + 2 <= n) {
			int p[2];

			if (pipe(p) < 0)
				die("pipe");
			count += 2;
			continue;
		} else if (kind == 18) {
			fd = eventfd((unsigned int)count, 0);
		} else {
			fd = open("/dev/null", O_RDONLY);
		}
		if (fd < 0)
			die("open");
		count++;
	}
}

static pid_t start_child(int n, bool same_inode)
{
	int sync[2];
	pid_t pid;
	char c;

	if (pipe2(sync, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int keep = fcntl(sync[1], F_DUPFD, 19990);

		if (keep < 0)
			die("dup");
		close_range(0, 19989, 0);
		child_fill(n, same_inode);
		close(keep);
		for (;;)
			pause();
	}
	close(sync[1]);
	while (read(sync[0], &c, 1) > 0)
		;
	close(sync[0]);
	return pid;
}

static int resolve_mount(void *opaque, pid_t pid, int fd, int local_fd, uint32_t mnt_id_old,
			 uint64_t mnt_id_unique, const char *link_path, struct fd_mount_ref *ret)
{
	(void)opaque, (void)pid, (void)fd, (void)local_fd;
	/* the timing needs no exact ids */
	ret->mnt_id = mnt_id_unique ? mnt_id_unique : mnt_id_old;
	ret->mnt_id_old = mnt_id_old;
	snprintf(ret->path, sizeof(ret->path), "%s", link_path);
	return 0;
}

static int count_data(void *opaque, const FileDataEntry *entry)
{
	*(size_t *)opaque += entry->data.len;
	return 0;
}

struct timing {
	double list, getfd, dump, total, cpu_dump, cpu_total;
	int n_fds;
	size_t n_files;
};

static int run_once(int n, bool same_inode, bool cloexec_given, struct timing *t)
{
	size_t data = 0;
	struct fd_dump_callbacks cb = {
	    .resolve_mount = resolve_mount, .data_sink = count_data, .opaque = &data};
	cleanup(fd_dump_ctx_freep) struct fd_dump_ctx *ctx = fd_dump_ctx_new(&cb);
	cleanup_free int *fds = NULL;
	cleanup_free FdEntry *entries = NULL;
	struct fd_local *locals = NULL;
	pid_t pid = start_child(n, same_inode);
	double t0, t1, t2, t3, c0, c2, c3;
	int n_fds, r;

	c0 = cpu_ms();
	t0 = now_ms();
	n_fds = fd_list(pid, &fds);
	t1 = now_ms();
	r = n_fds < 0 ? n_fds : fd_local_getfd(pid, fds, (size_t)n_fds, &locals);
	for (int i = 0; r == 0 && cloexec_given && i < n_fds; i++)
		locals[i].cloexec = 0;
	t2 = now_ms();
	c2 = cpu_ms();
	r = r < 0 ? r : fd_dump_task(ctx, pid, locals, (size_t)n_fds, &entries);
	t3 = now_ms();
	c3 = cpu_ms();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (r < 0)
		return r;
	*t = (struct timing){.list = t1 - t0,
			     .getfd = t2 - t1,
			     .dump = t3 - t2,
			     .total = t3 - t0,
			     .cpu_dump = c3 - c2,
			     .cpu_total = c3 - c0,
			     .n_fds = n_fds,
			     .n_files = fd_dump_ctx_n_files(ctx)};
	fd_local_free(locals, (size_t)n_fds);
	return 0;
}

static int cmp_total(const void *a, const void *b)
{
	double x = ((const struct timing *)a)->total, y = ((const struct timing *)b)->total;

	return (x > y) - (x < y);
}

static int bench(int n, bool same_inode, bool cloexec_given)
{
	struct timing t[RUNS], *m;

	for (int i = 0; i < RUNS; i++) {
		int r = run_once(n, same_inode, cloexec_given, &t[i]);

		if (r < 0) {
			fprintf(stderr, "bench-fds: dump of %d fds failed: %s\n", n, strerror(-r));
			return 1;
		}
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_total);
	m = &t[RUNS / 2];
	printf("%-10s %-8s %6d %6zu %8.2f %8.2f %8.2f %8.2f %8.2f | %8.2f %8.2f %7.2f\n",
	       same_inode ? "one-inode" : "mix", cloexec_given ? "given" : "fdinfo", m->n_fds,
	       m->n_files, m->list, m->getfd, m->dump, m->total, t[0].total, m->cpu_dump,
	       m->cpu_total, m->cpu_total * 1e3 / (m->n_fds ? m->n_fds : 1));
	return 0;
}

int main(int argc, char **argv)
{
	static const int defaults[] = {10, 1000, 10000, 19000};
	struct rlimit rl;
	char path[128];
	int ret = 0, max_n = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			perror("setrlimit");
	}
	snprintf(dir, sizeof(dir), "/tmp/minicr-bench-fds.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	for (int i = 0; i < N_FILES; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			die("create");
		close(fd);
	}
	printf("fd-table dump of one task (median of %d runs; RLIMIT_NOFILE %lu)\n", RUNS,
	       (unsigned long)rl.rlim_cur);
	printf("%-10s %-8s %6s %6s %8s %8s %8s %8s %8s | %8s %8s %7s\n", "fds", "cloexec", "N",
	       "files", "list", "getfd", "dump", "total", "best", "cpu-dump", "cpu-all", "us/fd");
	printf("(wall ms: list = fd_list, getfd = pidfd_getfd of all, dump = fd_dump_task; cpu: "
	       "user+sys ms of this process; us/fd = cpu-all per fd)\n");
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			int n = atoi(argv[i]);

			ret |= bench(n, false, false);
			ret |= bench(n, false, true);
			max_n = n > max_n ? n : max_n;
		}
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
			ret |= bench(defaults[i], false, false);
		for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
			ret |= bench(defaults[i], false, true);
		max_n = defaults[ARRAY_SIZE(defaults) - 1];
	}
	ret |= bench(max_n, true, false);
	ret |= bench(max_n, true, true);
	for (int i = 0; i < N_FILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return ret;
}
