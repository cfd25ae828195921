/* Benchmark of the transparent-resume path (task_dump + resume_task_*), not run by make check:
 *   ./test/bench/bench-resume [MiB...]    (root; default: 100 1024)
 * For each size a victim (this program with --victim MiB) fills that many MiB of anonymous memory
 * with a pattern; it is dumped into a temporary directory on /tmp, killed, recreated with
 * clone3(set_tid) and resumed; it then verifies its memory and reports. Prints dump and resume
 * times and MiB/s, how much of the pages image the page cache held when the resume began, and
 * reference rates measured on the spot, to judge how near the machine's limits both come:
 *   - reading the victim's memory through /proc/PID/mem into a reused buffer (what dump does);
 *   - the pages writer alone, same file system and size, nothing read (dump's other half);
 *   - one O_DIRECT read of that file into fresh memory (what resume does with a cold image);
 *   - the first touch of fresh anonymous memory (every restored page is one).
 * It never drops caches and asserts nothing about time. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/direct-io.h"
#include "image.h"
#include "base/log.h"
#include "task/pages-writer.h"
#include "task/parasite-cmd.h"
#include "task/parasite-ctl.h"
#include "task/resume.h"
#include "task/seize.h"
#include "task/dump-core.h"
#include "task/dump-mm.h"

#define REPORT_FD 3
#define CMD_FD	  4
#define IMG_FD	  5


/* task_dump_running() and task_dump() with minicr's vdso layout, as dump.c calls them. */
static int dump_one(int img_dirfd, const struct seize_task *task, struct parasite_ctl *ctl,
		    const struct parasite_task_state *state)
{
	TaskCoreEntry core;
	uint64_t own[3];
	int ret = mem_own_special_sizes(own);

	if (ret == 0)
		ret = task_dump_running(task, state, &core);
	return ret < 0 ? ret : task_dump(img_dirfd, task, ctl, state, &core, own);
}

static int victim_main(size_t mb)
{
	size_t n = (mb << 20) / 8;
	uint64_t *mem =
	    mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[64];
	ssize_t len;

	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ull;
	len = snprintf(buf, sizeof(buf), "READY %" PRIxPTR "\n", (uintptr_t)mem);
	if (write(REPORT_FD, buf, (size_t)len) != len)
		return 1;
	do
		len = read(CMD_FD, buf, sizeof(buf));
	while (len < 0 && errno == EINTR);
	for (size_t i = 0; i < n; i++)
		if (mem[i] != i * 0x9e3779b97f4a7c15ull)
			return write(REPORT_FD, "FAIL\n", 5) == 5 ? 1 : 1;
	return write(REPORT_FD, "PASS\n", 5) == 5 ? 0 : 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double mib_per_s(uint64_t bytes, double ms)
{
	return (double)bytes / (1 << 20) / (ms / 1e3);
}

/* Reads size bytes of pid's memory at addr through /proc/PID/mem into one reused buffer of
 * the pages writer's size, as dump does. Returns MiB/s, or -1. */
static double ref_proc_mem_read(pid_t pid, uint64_t addr, uint64_t size)
{
	char path[64];
	void *buf = NULL;
	double t0, rate = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || posix_memalign(&buf, DIRECT_IO_ALIGN, PAGES_WRITER_BUF_SIZE))
		goto out;
	memset(buf, 0, PAGES_WRITER_BUF_SIZE);
	t0 = now_ms();
	for (uint64_t off = 0; off < size; off += PAGES_WRITER_BUF_SIZE) {
		size_t len = (size_t)(size - off < PAGES_WRITER_BUF_SIZE ? size - off
									 : PAGES_WRITER_BUF_SIZE);

		if (pread(fd, buf, len, (off_t)(addr + off)) != (ssize_t)len)
			goto out;
	}
	rate = mib_per_s(size, now_ms() - t0);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rate;
}

/* Writes a size-byte pages image (pages-0.img in dirfd) through the pages writer with nothing
 * to read: its ring of buffers is filled once, then written again as it is. Returns MiB/s, or
 * -1; *ret_is_direct tells whether the writer used O_DIRECT. */
static double ref_pages_write(int dirfd, uint64_t size, bool *ret_is_direct)
{
	struct pages_writer *w;
	double t0 = now_ms();
	uint64_t done = 0;

	if (pages_writer_open(dirfd, 0, size, &w) < 0)
		return -1;
	*ret_is_direct = pages_writer_is_direct(w);
	while (done < size) {
		size_t room, chunk;
		void *buf;

		if (pages_writer_next(w, &buf, &room) < 0) {
			pages_writer_free(w);
			return -1;
		}
		chunk = size - done < room ? (size_t)(size - done) : room;
		if (done < (uint64_t)PAGES_WRITER_N_BUFS * PAGES_WRITER_BUF_SIZE)
			memset(buf, 0x5a, chunk);
		if (pages_writer_commit(w, chunk) < 0) {
			pages_writer_free(w);
			return -1;
		}
		done += chunk;
	}
	if (pages_writer_close(w) < 0)
		return -1;
	return mib_per_s(size, now_ms() - t0);
}

/* Reads the data of pages-0.img into fresh anonymous memory with O_DIRECT (buffered where the
 * file system has no direct I/O), in reads of up to 256 MiB like the restorer's page runs.
 * Returns MiB/s, or -1. */
static double ref_read_into_fresh_memory(int dirfd, uint64_t size, bool is_direct)
{
	const uint64_t max_read = 256ull << 20;
	double t0, rate = -1;
	uint8_t *mem;
	int fd;

	fd = openat(dirfd, "pages-0.img", O_RDONLY | O_CLOEXEC | (is_direct ? O_DIRECT : 0));
	if (fd < 0)
		return -1;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		close(fd);
		return -1;
	}
	t0 = now_ms();
	for (uint64_t off = 0; off < size; off += max_read) {
		size_t len = (size_t)(size - off < max_read ? size - off : max_read);

		if (pread(fd, mem + off, len, (off_t)(IMAGE_RAW_DATA_OFFSET + off)) != (ssize_t)len)
			goto out;
	}
	rate = mib_per_s(size, now_ms() - t0);
out:
	munmap(mem, size);
	close(fd);
	return rate;
}

/* The first write to each page of fresh anonymous memory. Returns MiB/s, or -1. */
static double ref_first_touch(uint64_t size)
{
	uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, rate;

	if (mem == MAP_FAILED)
		return -1;
	t0 = now_ms();
	memset(mem, 1, size);
	rate = mib_per_s(size, now_ms() - t0);
	munmap(mem, size);
	return rate;
}

/* The share of a file's pages that the page cache holds (mincore of a mapping), or -1. */
static int cached_percent(int dirfd, const char *name)
{
	struct stat st;
	size_t n_pages, n_cached = 0;
	unsigned char *vec = NULL;
	void *map = MAP_FAILED;
	int fd, percent = -1;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		goto out;
	n_pages = ((size_t)st.st_size + 4095) / 4096;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(n_pages);
	if (map == MAP_FAILED || !vec || mincore(map, (size_t)st.st_size, vec) < 0)
		goto out;
	for (size_t i = 0; i < n_pages; i++)
		n_cached += vec[i] & 1;
	percent = (int)(100 * n_cached / n_pages);
out:
	free(vec);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return percent;
}

static int setup_fds(int report_wfd, int cmd_rfd, int img_dirfd)
{
	int devnull = open("/dev/null", O_RDWR);
	int r = fcntl(report_wfd, F_DUPFD, 100), c = fcntl(cmd_rfd, F_DUPFD, 100);
	int i = img_dirfd >= 0 ? fcntl(img_dirfd, F_DUPFD, 100) : -1;

	if (devnull < 0 || r < 0 || c < 0)
		return -1;
	for (int fd = 0; fd < 3; fd++)
		dup2(devnull, fd);
	if (dup2(r, REPORT_FD) < 0 || dup2(c, CMD_FD) < 0 || (i >= 0 && dup2(i, IMG_FD) < 0))
		return -1;
	syscall(SYS_close_range, i >= 0 ? IMG_FD + 1 : CMD_FD + 1, ~0u, 0);
	return 0;
}

static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size && read(fd, buf + len, 1) == 1)
		if (buf[len++] == '\n')
			break;
	buf[len] = 0;
	return (int)len;
}

/* The reference rates after a run, in a scratch directory next to the images. */
static void print_references(size_t mb, int img_dirfd, double proc_mem_read)
{
	uint64_t size = (uint64_t)mb << 20;
	bool is_direct = false;
	double write_rate, read_rate, touch_rate;
	int dirfd;

	if (mkdirat(img_dirfd, "ref", 0700) < 0 ||
	    (dirfd = openat(img_dirfd, "ref", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "cannot make the reference directory\n");
		return;
	}
	write_rate = ref_pages_write(dirfd, size, &is_direct);
	read_rate = ref_read_into_fresh_memory(dirfd, size, is_direct);
	touch_rate = ref_first_touch(size);
	close(dirfd);
	printf(
	    "%6zu MiB  dump refs:   /proc/PID/mem read %7.0f MiB/s, pages writer alone %7.0f MiB/s "
	    "(%s)\n",
	    mb, proc_mem_read, write_rate, is_direct ? "O_DIRECT" : "buffered");
	printf("%6zu MiB  resume refs: %s read into fresh memory %7.0f MiB/s, first touch of fresh "
	       "memory %7.0f MiB/s\n",
	       mb, is_direct ? "O_DIRECT" : "buffered", read_rate, touch_rate);
}

static int bench_one(const char *self, size_t mb)
{
	char tmpl[] = "/tmp/minicr-bench-resume.XXXXXX", line[64], arg[32], cmdline[128];
	char pages_name[IMAGE_NAME_MAX];
	int rep[2], cmd[2], img_dirfd, status, ret, cached;
	double proc_mem_read;
	uint64_t addr = 0;
	struct seize_tree *tree = NULL;
	struct parasite_ctl *ctl = NULL;
	struct parasite_task_state state;
	struct resume_set *set = NULL;
	struct resume_task *rt = NULL;
	double t0, t1, t2, t3;
	pid_t pid, child;

	if (!mkdtemp(tmpl) || (img_dirfd = open(tmpl, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
		return -1;
	snprintf(arg, sizeof(arg), "%zu", mb);
	pid = fork();
	if (pid == 0) {
		if (setup_fds(rep[1], cmd[0], -1) == 0)
			execl(self, self, "--victim", arg, (char *)NULL);
		_exit(2);
	}
	close(rep[1]);
	close(cmd[0]);
	if (read_line(rep[0], line, sizeof(line)) <= 0 ||
	    sscanf(line, "READY %" SCNx64, &addr) != 1) {
		fprintf(stderr, "victim did not start\n");
		return -1;
	}
	/* the victim waits in read(CMD_FD) until the dump: keep the write end open till then */
	proc_mem_read = ref_proc_mem_read(pid, addr, (uint64_t)mb << 20);

	t0 = now_ms();
	ret = seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree);
	if (ret == 0)
		ret = parasite_ctl_prepare(pid, &ctl);
	if (ret == 0)
		ret = parasite_ctl_infect(ctl);
	if (ret == 0)
		ret = parasite_cmd_get_task_state(ctl, &state);
	if (ret == 0)
		ret = parasite_ctl_cure(ctl);
	t1 = now_ms();
	if (ret == 0)
		ret = dump_one(img_dirfd, &tree->tasks[0], ctl, &state);
	t2 = now_ms();
	parasite_ctl_free(ctl);
	if (tree)
		seize_kill(tree);
	seize_tree_free(tree);
	waitpid(pid, &status, 0);
	close(rep[0]);
	close(cmd[1]);
	if (ret < 0)
		return ret;
	printf("%6zu MiB  dump: %8.1f ms total (%6.1f ms seize+parasite, %8.1f ms task_dump, "
	       "%7.0f MiB/s)\n",
	       mb, t2 - t0, t1 - t0, t2 - t1, mib_per_s((uint64_t)mb << 20, t2 - t1));

	(void)image_file_name(IMAGE_PAGES, (uint64_t)pid, pages_name, sizeof(pages_name));
	cached = cached_percent(img_dirfd, pages_name);
	ret = resume_set_new(1, &set);
	if (ret < 0)
		return ret;
	ret = resume_task_load(set, img_dirfd, pid, &rt);
	if (ret < 0) {
		resume_set_free(set);
		return ret;
	}
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
		return -1;
	t0 = now_ms();
	{
		pid_t tid = pid;
		struct minicr_clone_args args = {.exit_signal = SIGCHLD,
						 .set_tid = (uint64_t)(uintptr_t)&tid,
						 .set_tid_size = 1};

		child = (pid_t)syscall(__NR_clone3, &args, sizeof(args));
	}
	if (child < 0)
		return -errno;
	if (child == 0) {
		if (setup_fds(rep[1], cmd[0], img_dirfd) == 0) {
			resume_task_set_img_dirfd(rt, IMG_FD);
			resume_task_enter(rt);
		}
		_exit(3);
	}
	close(rep[1]);
	close(cmd[0]);
	ret = resume_task_finish(rt, pid);
	t3 = now_ms();
	resume_task_free(rt);
	set = resume_set_free(set);
	if (ret < 0)
		return ret;
	printf("%6zu MiB  resume: %7.1f ms clone3 to running (%7.0f MiB/s), %d%% of %s in the page "
	       "cache before\n",
	       mb, t3 - t0, mib_per_s((uint64_t)mb << 20, t3 - t0), cached, pages_name);
	if (write(cmd[1], "go\n", 3) != 3 || read_line(rep[0], line, sizeof(line)) <= 0 ||
	    strcmp(line, "PASS\n")) {
		fprintf(stderr, "restored victim did not verify its memory: '%s'\n", line);
		ret = -1;
	}
	waitpid(pid, &status, 0);
	close(rep[0]);
	close(cmd[1]);
	print_references(mb, img_dirfd, proc_mem_read);
	close(img_dirfd);
	snprintf(cmdline, sizeof(cmdline), "rm -rf %s", tmpl);
	if (system(cmdline) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
	return ret;
}

int main(int argc, char **argv)
{
	static const size_t defaults[] = {100, 1024};
	char self[4096];
	ssize_t len;
	int failed = 0;

	if (argc > 2 && !strcmp(argv[1], "--victim"))
		return victim_main(strtoul(argv[2], NULL, 10));
	if (geteuid() != 0) {
		printf("SKIP: bench-resume needs root\n");
		return 77;
	}
	log_init(LOG_WARN, -1);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return 1;
	self[len] = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed |= bench_one(self, strtoul(argv[i], NULL, 10)) < 0;
	} else {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			failed |= bench_one(self, defaults[i]) < 0;
	}
	return failed ? 1 : 0;
}
