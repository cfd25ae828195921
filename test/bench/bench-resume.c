/* Benchmark of the transparent-resume path (task_dump + resume_task_*), not run by make check:
 *   ./test/bench/bench-resume [MB...]     (root; default: 100 1024)
 * For each size a victim (this program with --victim MB) fills MB of anonymous memory with a
 * pattern; it is dumped into a temporary directory, killed, recreated with clone3(set_tid) and
 * resumed; it then verifies its memory and reports. Prints dump and resume times and MB/s. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "parasite-ctl.h"
#include "resume.h"
#include "seize.h"
#include "task-dump.h"

#define REPORT_FD 3
#define CMD_FD	  4
#define IMG_FD	  5

static int victim_main(size_t mb)
{
	size_t n = (mb << 20) / 8;
	uint64_t *mem =
	    mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[16];
	ssize_t len;

	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ull;
	if (write(REPORT_FD, "READY\n", 6) != 6)
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

static int bench_one(const char *self, size_t mb)
{
	char tmpl[] = "/tmp/minicr-bench-resume.XXXXXX", line[64], arg[32], cmdline[128];
	int rep[2], cmd[2], img_dirfd, status, ret;
	struct seize_tree *tree = NULL;
	struct parasite_ctl *ctl = NULL;
	struct parasite_task_state state;
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
	if (read_line(rep[0], line, sizeof(line)) <= 0) {
		fprintf(stderr, "victim did not start\n");
		return -1;
	}
	close(rep[0]);
	close(cmd[1]);

	t0 = now_ms();
	ret = seize_tree(pid, &tree);
	if (ret == 0)
		ret = parasite_ctl_prepare(pid, &ctl);
	if (ret == 0)
		ret = parasite_ctl_infect(ctl);
	if (ret == 0)
		ret = parasite_ctl_get_task_state(ctl, &state);
	if (ret == 0)
		ret = parasite_ctl_cure(ctl);
	t1 = now_ms();
	if (ret == 0)
		ret = task_dump(img_dirfd, &tree->tasks[0], ctl, &state);
	t2 = now_ms();
	parasite_ctl_free(ctl);
	if (tree)
		seize_kill(tree);
	seize_tree_free(tree);
	waitpid(pid, &status, 0);
	if (ret < 0)
		return ret;
	printf("%6zu MB  dump: %8.1f ms total (%6.1f ms seize+parasite, %8.1f ms task_dump, "
	       "%7.0f MB/s)\n",
	       mb, t2 - t0, t1 - t0, t2 - t1, (double)mb / ((t2 - t1) / 1e3));

	ret = resume_task_load(img_dirfd, pid, &rt);
	if (ret < 0)
		return ret;
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
	if (ret < 0)
		return ret;
	printf("%6zu MB  resume: %7.1f ms clone3 to running (%7.0f MB/s)\n", mb, t3 - t0,
	       (double)mb / ((t3 - t0) / 1e3));
	if (write(cmd[1], "go\n", 3) != 3 || read_line(rep[0], line, sizeof(line)) <= 0 ||
	    strcmp(line, "PASS\n")) {
		fprintf(stderr, "restored victim did not verify its memory: '%s'\n", line);
		ret = -1;
	}
	waitpid(pid, &status, 0);
	close(rep[0]);
	close(cmd[1]);
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
