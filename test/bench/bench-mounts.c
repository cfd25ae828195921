/* bench-mounts: how long collecting a mount table takes with N bind mounts (listmount+statmount
 * and mountinfo), and resolving N fds that share one detached mount. Runs in a private mount
 * namespace of a child; needs root. Not part of make check: run ./bench-mounts [N...]. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount/dump-detached.h"
#include "base/log.h"
#include "mount/table.h"

#define N_RUNS 5

static char base[] = "/tmp/minicr-bench-mounts.XXXXXX";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The best of N_RUNS collections, in milliseconds. */
static double time_collect(unsigned int flags, size_t *ret_n)
{
	double best = 1e18;
	int run;

	for (run = 0; run < N_RUNS; run++) {
		struct mount_table *t = NULL;
		double t0 = now_ms(), dt;

		if (mount_table_collect(getpid(), flags, &t) < 0)
			exit(1);
		dt = now_ms() - t0;
		if (dt < best)
			best = dt;
		*ret_n = mount_table_size(t);
		mount_table_free(t);
	}
	return best;
}

/* Mean cost of an old-id and a superblock lookup over the whole table, in ns. */
static double time_lookups(void)
{
	struct mount_table *t = NULL;
	size_t i, n, found = 0;
	double t0, dt;

	if (mount_table_collect(getpid(), 0, &t) < 0)
		exit(1);
	n = mount_table_size(t);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		const struct mount_entry *e = mount_table_get(t, i);

		found += mount_table_find_old(t, e->mnt_id_old) == e;
		found += mount_table_find(t, e->mnt_id) == e;
		found += mount_table_find_dev(t, e->dev_major, e->dev_minor) != NULL;
	}
	dt = now_ms() - t0;
	if (found != 3 * n)
		fprintf(stderr, "lookup mismatch\n");
	mount_table_free(t);
	return dt * 1e6 / (double)(3 * n);
}

/* Opens n_fds fds on one bind mount, detaches it, and times resolving all of them. */
static double time_detached_fds(const char *src, size_t n_fds, size_t *ret_groups)
{
	char b[256], f[300];
	struct mount_table *t = NULL;
	struct detached_ctx *ctx = NULL;
	int *fds = calloc(n_fds, sizeof(int));
	size_t i;
	double t0, dt;

	snprintf(b, sizeof(b), "%s/detached", base);
	snprintf(f, sizeof(f), "%s/file", b);
	if (!fds || mkdir(b, 0755) < 0 || mount(src, b, NULL, MS_BIND, NULL) < 0)
		die("detached bind");
	for (i = 0; i < n_fds; i++) {
		fds[i] = open(f, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die("open");
	}
	if (umount2(b, MNT_DETACH) < 0)
		die("umount2");
	if (mount_table_collect(getpid(), 0, &t) < 0)
		exit(1);
	if (detached_ctx_new(&t, 1, NULL, 0, 0, &ctx) < 0)
		exit(1);
	t0 = now_ms();
	for (i = 0; i < n_fds; i++) {
		struct detached_fd desc = {.pid = getpid(), .fd = fds[i], .path = "/file"};
		struct detached_result res;

		if (detached_resolve_fd(ctx, fds[i], &desc, &res) < 0)
			exit(1);
	}
	dt = now_ms() - t0;
	*ret_groups = detached_ctx_n_mounts(ctx);
	detached_ctx_free(ctx);
	mount_table_free(t);
	for (i = 0; i < n_fds; i++)
		close(fds[i]);
	free(fds);
	rmdir(b);
	return dt;
}

static void bench_one(size_t n)
{
	char tdir[256], srcdir[300], mp[320];
	size_t i, n_list = 0, n_info = 0, n_groups = 0;
	double setup, lm, mi, lk, df;
	struct rlimit rl;

	snprintf(tdir, sizeof(tdir), "%s/t", base);
	snprintf(srcdir, sizeof(srcdir), "%s/src", tdir);
	if (mkdir(tdir, 0755) < 0 || mount("benchfs", tdir, "tmpfs", 0, NULL) < 0)
		die("tmpfs");
	if (mkdir(srcdir, 0755) < 0)
		die("src");
	snprintf(mp, sizeof(mp), "%s/file", srcdir);
	close(open(mp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	setup = now_ms();
	for (i = 0; i < n; i++) {
		snprintf(mp, sizeof(mp), "%s/m%zu", tdir, i);
		if (mkdir(mp, 0755) < 0 || mount(srcdir, mp, NULL, MS_BIND, NULL) < 0)
			die(mp);
	}
	setup = now_ms() - setup;
	lm = time_collect(MOUNT_TABLE_FORCE_LISTMOUNT, &n_list);
	mi = time_collect(MOUNT_TABLE_FORCE_MOUNTINFO, &n_info);
	lk = time_lookups();
	/* Only the soft limit: raising the hard one needs CAP_SYS_RESOURCE. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
	df = time_detached_fds(srcdir, n + 64 < rl.rlim_cur ? n : rl.rlim_cur - 64, &n_groups);
	printf("%8zu %8zu %14.2f %14.2f %12.1f %14.2f %8zu %12.0f\n", n, n_list, lm, mi, lk, df,
	       n_groups, setup);
	if (n_list != n_info)
		printf("         (listmount saw %zu mounts, mountinfo %zu)\n", n_list, n_info);
	if (umount2(tdir, MNT_DETACH) < 0)
		die("umount2");
	rmdir(tdir);
}

static int run(int argc, char **argv)
{
	static const size_t defaults[] = {10, 1000, 10000};
	int i;

	if (unshare(CLONE_NEWNS) < 0)
		die("unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / rprivate");
	if (!mkdtemp(base))
		die("mkdtemp");
	printf("%8s %8s %14s %14s %12s %14s %8s %12s\n", "binds", "table", "listmount_ms",
	       "mountinfo_ms", "lookup_ns", "N_fds_detach_ms", "records", "setup_ms");
	if (argc > 1)
		for (i = 1; i < argc; i++)
			bench_one(strtoul(argv[i], NULL, 10));
	else
		for (i = 0; i < 3; i++)
			bench_one(defaults[i]);
	rmdir(base);
	return 0;
}

int main(int argc, char **argv)
{
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "bench-mounts needs root\n");
		return 77;
	}
	log_init(LOG_WARN, -1);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		exit(run(argc, argv));
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
