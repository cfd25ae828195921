/* Integration test for task-dump.c and resume.c without the restore sequence: a victim (this
 * program run with --victim: glibc, dynamically linked, several threads, AVX-512 values live in
 * zmm16/xmm15/k1, a counting loop in nanosleep, a thread blocked in read() on a pipe, an
 * SA_RESTART handler, a queued pending signal, a heap pattern and 100 MB of dirty memory) is
 * seized, infected, cured and dumped, killed, and recreated with clone3(set_tid = old pid);
 * the child calls resume_task_enter(), this process resume_task_finish(). The victim then
 * checks itself (counters continue, memory intact, registers intact, threads alive,
 * /proc/self/maps identical line for line, the handler runs, the pending signal is there) and
 * reports over a pipe. Exits 0 pass, 1 fail, 77 skip (needs root). */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "task/parasite-cmd.h"
#include "task/parasite-ctl.h"
#include "task/resume.h"
#include "task/seize.h"
#include "task/dump-core.h"
#include "task/dump-mm.h"
#include "base/util.h"

#define N_COUNTERS 2
#define HEAP_SIZE  (1u << 20)
#define BIG_SIZE   (100ull << 20)
#define REPORT_FD  3
#define CMD_FD	   4
#define IMG_FD	   5
#define QUEUED_VAL 42

/* ---- the victim ------------------------------------------------------------------------------ */


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

static volatile uint64_t counters[N_COUNTERS], shadows[N_COUNTERS];
static volatile uint64_t main_counter;
static volatile int consistency_failed;
static volatile int n_started;
static volatile sig_atomic_t n_sigusr1;
static uint8_t *heap;
static uint64_t *big;
static uint64_t *shm_anon, *shm_memfd;
static volatile uint8_t *cow_page;
static uint8_t cow_orig;
static int victim_as_user; /* --victim-user: uid/gid 1000, no_new_privs and a seccomp filter */

#define SHM_SIZE   (4 * 4096)
#define VICTIM_UID 1000
static char maps_before[1 << 16], maps_after[1 << 16];
static ssize_t maps_before_len;

static uint64_t zpat[8] __attribute__((aligned(64))) = {
    0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull, 0x4444444444444444ull,
    0x5555555555555555ull, 0x6666666666666666ull, 0x7777777777777777ull, 0x8888888888888888ull};
static uint64_t xpat[2]
    __attribute__((aligned(16))) = {0xdeadbeefcafef00dull, 0x0123456789abcdefull};
static uint64_t kpat = 0xa5a5a5a5a5a5a5a5ull;
static uint64_t zout[8] __attribute__((aligned(64))), xout[2] __attribute__((aligned(16))), kout;
static volatile uint64_t avx_checks;
static volatile int avx_failed, has_avx512;

static void on_sigusr1(int sig)
{
	(void)sig;
	n_sigusr1++;
}

static ssize_t raw_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

static void *counter_thread(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct timespec ts = {0, 200000};

	__atomic_add_fetch(&n_started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint64_t c = counters[i];

		if (shadows[i] != c * 3 + 1)
			consistency_failed = 1;
		counters[i] = c + 1;
		shadows[i] = (c + 1) * 3 + 1;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The vector registers stay loaded for the thread's whole life: the loop only compares them
 * against memory (integer code) and sleeps with a raw syscall, so nothing else touches them. */
__attribute__((target("avx512f"))) static void *avx_thread(void *arg)
{
	struct timespec ts = {0, 300000};

	(void)arg;
	__atomic_add_fetch(&n_started, 1, __ATOMIC_SEQ_CST);
	__asm__ volatile("vmovdqu64 (%[zp]), %%zmm16\n\t"
			 "vmovdqu (%[xp]), %%xmm15\n\t"
			 "kmovq (%[kp]), %%k1\n\t"
			 "1:\n\t"
			 "vmovdqu64 %%zmm16, (%[zo])\n\t"
			 "vmovdqu %%xmm15, (%[xo])\n\t"
			 "kmovq %%k1, (%[ko])\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "2:\n\t"
			 "movq (%[zo],%%rcx,8), %%rax\n\t"
			 "cmpq (%[zp],%%rcx,8), %%rax\n\t"
			 "jne 9f\n\t"
			 "incl %%ecx\n\t"
			 "cmpl $8, %%ecx\n\t"
			 "jne 2b\n\t"
			 "movq (%[xo]), %%rax\n\t"
			 "cmpq (%[xp]), %%rax\n\t"
			 "jne 9f\n\t"
			 "movq 8(%[xo]), %%rax\n\t"
			 "cmpq 8(%[xp]), %%rax\n\t"
			 "jne 9f\n\t"
			 "movq (%[ko]), %%rax\n\t"
			 "cmpq (%[kp]), %%rax\n\t"
			 "jne 9f\n\t"
			 "lock incq (%[cnt])\n\t"
			 "movl $35, %%eax\n\t" /* nanosleep */
			 "movq %[ts], %%rdi\n\t"
			 "xorl %%esi, %%esi\n\t"
			 "syscall\n\t"
			 "jmp 1b\n\t"
			 "9:\n\t"
			 :
			 : [zp] "r"(zpat), [xp] "r"(xpat), [kp] "r"(&kpat), [zo] "r"(zout),
			   [xo] "r"(xout), [ko] "r"(&kout), [cnt] "r"(&avx_checks), [ts] "r"(&ts)
			 : "rax", "rcx", "rdi", "rsi", "r11", "memory", "xmm15", "xmm16", "k1");
	avx_failed = 1;
	return NULL;
}

static int report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return (int)write(REPORT_FD, buf, (size_t)len);
}

/* Shared memory objects are recreated, so their inode (5th field) differs: compare the rest. */
static bool same_line(const char *a, size_t la, const char *b, size_t lb)
{
	const char *ia, *ib;

	if (la == lb && !memcmp(a, b, la))
		return true;
	if (!memmem(a, la, "(deleted)", 9) || !memmem(b, lb, "(deleted)", 9))
		return false;
	ia = a;
	ib = b;
	for (int f = 0; f < 4; f++) {
		ia = strchr(ia, ' ') + 1;
		ib = strchr(ib, ' ') + 1;
	}
	if (ia - a != ib - b || memcmp(a, b, (size_t)(ia - a)))
		return false;
	ia += strcspn(ia, " ");
	ib += strcspn(ib, " ");
	/* the path column is padded after the inode: compare from the path on */
	while (*ia == ' ')
		ia++;
	while (*ib == ' ')
		ib++;
	return (a + la) - ia == (b + lb) - ib && !memcmp(ia, ib, (size_t)((a + la) - ia));
}

static const char *first_diff(const char *a, const char *b, char *out, size_t size)
{
	while (*a && *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');

		if (!ea || !eb)
			break;
		if (!same_line(a, (size_t)(ea - a), b, (size_t)(eb - b))) {
			snprintf(out, size, "before '%.*s' after '%.*s'", (int)(ea - a), a,
				 (int)(eb - b), b);
			return out;
		}
		a = ea + 1;
		b = eb + 1;
	}
	if (*a || *b) {
		snprintf(out, size, "different number of lines");
		return out;
	}
	return NULL;
}

static void verify_and_exit(void)
{
	uint64_t c0[N_COUNTERS], m0 = main_counter, a0 = avx_checks;
	struct timespec ts = {0, 30 * 1000000}, t1, t2;
	sigset_t set;
	siginfo_t info;
	struct timespec zero = {0, 0};
	char diff[1024];
	const char *d;

	for (int i = 0; i < N_COUNTERS; i++)
		c0[i] = counters[i];
	clock_gettime(CLOCK_MONOTONIC, &t1); /* the vdso must be back in place */
	nanosleep(&ts, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (t2.tv_sec * 1000000000ll + t2.tv_nsec <= t1.tv_sec * 1000000000ll + t1.tv_nsec) {
		report("FAIL clock_gettime does not advance\n");
		_exit(1);
	}
	for (int i = 0; i < N_COUNTERS; i++)
		if (counters[i] <= c0[i]) {
			report("FAIL counter thread %d is not running\n", i);
			_exit(1);
		}
	if (main_counter <= m0) {
		report("FAIL the main thread is not counting\n");
		_exit(1);
	}
	if (consistency_failed) {
		report("FAIL a counter lost or repeated an iteration\n");
		_exit(1);
	}
	if (has_avx512 && (avx_failed || avx_checks <= a0)) {
		report("FAIL AVX-512 registers: failed=%d checks %llu -> %llu\n", avx_failed,
		       (unsigned long long)a0, (unsigned long long)avx_checks);
		_exit(1);
	}
	for (size_t i = 0; i < HEAP_SIZE; i++)
		if (heap[i] != (uint8_t)(i * 7 + 3)) {
			report("FAIL heap pattern differs at %zu\n", i);
			_exit(1);
		}
	for (size_t i = 0; i < BIG_SIZE / 8; i++)
		if (big[i] != i * 0x9e3779b97f4a7c15ull) {
			report("FAIL big memory differs at qword %zu\n", i);
			_exit(1);
		}
	{
		char comm[32] = "";

		if (raw_read_file("/proc/thread-self/comm", comm, sizeof(comm)) < 0 ||
		    strcmp(comm, "victim-reader\n")) {
			report("FAIL thread name is '%s'\n", comm);
			_exit(1);
		}
	}
	if (n_sigusr1 < 1) {
		report("FAIL the SIGUSR1 handler did not run\n");
		_exit(1);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigtimedwait(&set, &info, &zero) != SIGUSR2 || info.si_code != SI_QUEUE ||
	    info.si_value.sival_int != QUEUED_VAL) {
		report("FAIL the queued SIGUSR2 was lost\n");
		_exit(1);
	}
	for (size_t i = 0; i < SHM_SIZE / 8; i++)
		if (shm_anon[i] != i + 1 || shm_memfd[i] != ~i) {
			report("FAIL shared memory differs at qword %zu\n", i);
			_exit(1);
		}
	if (cow_page[0] != (uint8_t)(cow_orig + 1)) {
		report("FAIL the copy-on-write page of a private file mapping was lost\n");
		_exit(1);
	}
	if (victim_as_user) {
		uid_t r, e, su;

		errno = 0;
		if (getpriority(PRIO_PROCESS, 0) != -1 || errno != EPERM) {
			report("FAIL the seccomp filter is gone\n");
			_exit(1);
		}
		if (getresuid(&r, &e, &su) || r != VICTIM_UID || e != VICTIM_UID ||
		    su != VICTIM_UID || getgid() != VICTIM_UID || getgroups(0, NULL) != 0 ||
		    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
			report("FAIL credentials were not restored: uid %d %d %d gid %d groups %d "
			       "nnp %d\n",
			       (int)r, (int)e, (int)su, (int)getgid(), getgroups(0, NULL),
			       prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
			_exit(1);
		}
	}
	if (raw_read_file("/proc/self/maps", maps_after, sizeof(maps_after)) < 0) {
		report("FAIL cannot read maps\n");
		_exit(1);
	}
	d = first_diff(maps_before, maps_after, diff, sizeof(diff));
	if (d) {
		report("FAIL /proc/self/maps changed: %s\n", d);
		_exit(1);
	}
	report("PASS counters %llu %llu main %llu avx %llu\n", (unsigned long long)counters[0],
	       (unsigned long long)counters[1], (unsigned long long)main_counter,
	       (unsigned long long)avx_checks);
	_exit(0);
}

static void *reader_thread(void *arg)
{
	char buf[16];
	ssize_t n;

	(void)arg;
	prctl(PR_SET_NAME, "victim-reader", 0, 0, 0); /* restored per thread with PR_SET_NAME */
	__atomic_add_fetch(&n_started, 1, __ATOMIC_SEQ_CST);
	do
		n = read(CMD_FD, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(1);
	verify_and_exit();
	return NULL;
}

static int victim_main(void)
{
	struct sigaction sa;
	struct timespec ts = {0, 1000000};
	pthread_t th;
	sigset_t set;
	int n_threads = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread: stays pending */
	has_avx512 = __builtin_cpu_supports("avx512f");

	heap = malloc(HEAP_SIZE);
	big = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!heap || big == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < HEAP_SIZE; i++)
		heap[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < BIG_SIZE / 8; i++)
		big[i] = i * 0x9e3779b97f4a7c15ull;
	shm_anon = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	{
		int mfd = memfd_create("minicr-test", 0);
		int efd = open("/proc/self/exe", O_RDONLY);

		if (mfd < 0 || ftruncate(mfd, SHM_SIZE) < 0 || efd < 0)
			return 1;
		shm_memfd = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		cow_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, efd, 0);
		close(mfd);
		close(efd);
	}
	if (shm_anon == MAP_FAILED || shm_memfd == MAP_FAILED || cow_page == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < SHM_SIZE / 8; i++) {
		shm_anon[i] = i + 1;
		shm_memfd[i] = ~i;
	}
	cow_orig = cow_page[0];
	cow_page[0] = (uint8_t)(cow_orig + 1);
	if (victim_as_user) {
		struct sock_filter filter[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpriority, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {ARRAY_SIZE(filter), filter};

		/* glibc changes the credentials of every thread: there is only one yet */
		if (setgroups(0, NULL) || setresgid(VICTIM_UID, VICTIM_UID, VICTIM_UID) ||
		    setresuid(VICTIM_UID, VICTIM_UID, VICTIM_UID))
			return 1;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			return 1;
	}
	shadows[0] = shadows[1] = 1;
	for (int i = 0; i < N_COUNTERS; i++, n_threads++)
		if (pthread_create(&th, NULL, counter_thread, (void *)(intptr_t)i))
			return 1;
	if (has_avx512) {
		if (pthread_create(&th, NULL, avx_thread, NULL))
			return 1;
		n_threads++;
	}
	if (pthread_create(&th, NULL, reader_thread, NULL))
		return 1;
	n_threads++;
	while (n_started < n_threads)
		sched_yield();
	maps_before_len = raw_read_file("/proc/self/maps", maps_before, sizeof(maps_before));
	if (maps_before_len < 0)
		return 1;
	if (write(REPORT_FD, "READY\n", 6) != 6)
		return 1;
	for (;;) {
		main_counter++;
		nanosleep(&ts, NULL);
	}
}

/* --victim-shared: a parent and its child share anonymous and memfd memory. After the restore
 * the child writes a mark when told to (command pipe); the parent, which polls the shared
 * memory all along, sees it only if both still map one object, and reports. */
#define SHARED_MARK 0x5eed5eed5eed5eedull

static int shared_victim_main(void)
{
	struct timespec ts = {0, 1000000};
	int mfd = memfd_create("minicr-shared", 0);
	char buf[8];
	pid_t child;

	shm_anon = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mfd < 0 || ftruncate(mfd, SHM_SIZE) < 0 || shm_anon == MAP_FAILED)
		return 1;
	shm_memfd = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	if (shm_memfd == MAP_FAILED)
		return 1;
	for (size_t i = 1; i < SHM_SIZE / 8; i++) {
		shm_anon[i] = i + 1;
		shm_memfd[i] = ~i;
	}
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		ssize_t n;

		do
			n = read(CMD_FD, buf, sizeof(buf));
		while (n < 0 && errno == EINTR);
		__atomic_store_n(&shm_anon[0], SHARED_MARK, __ATOMIC_SEQ_CST);
		__atomic_store_n(&shm_memfd[0], SHARED_MARK, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	if (report("READY %d\n", (int)child) < 0)
		return 1;
	while (__atomic_load_n(&shm_anon[0], __ATOMIC_SEQ_CST) != SHARED_MARK ||
	       __atomic_load_n(&shm_memfd[0], __ATOMIC_SEQ_CST) != SHARED_MARK)
		nanosleep(&ts, NULL);
	for (size_t i = 1; i < SHM_SIZE / 8; i++)
		if (shm_anon[i] != i + 1 || shm_memfd[i] != ~i) {
			report("FAIL shared memory differs at qword %zu\n", i);
			_exit(1);
		}
	report("PASS shared memory is shared again\n");
	_exit(0);
}

/* ---- the test -------------------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Gives the child the victim's fd layout: 0-2 /dev/null, 3 report pipe, 4 command pipe, and
 * optionally 5 = the image directory; nothing else. */
static int setup_fds(int report_wfd, int cmd_rfd, int img_dirfd)
{
	int devnull = open("/dev/null", O_RDWR);
	int r = fcntl(report_wfd, F_DUPFD, 100), c = fcntl(cmd_rfd, F_DUPFD, 100);
	int i = img_dirfd >= 0 ? fcntl(img_dirfd, F_DUPFD, 100) : -1;

	if (devnull < 0 || r < 0 || c < 0 || (img_dirfd >= 0 && i < 0))
		return -1;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(devnull, fd) < 0)
			return -1;
	if (dup2(r, REPORT_FD) < 0 || dup2(c, CMD_FD) < 0 || (i >= 0 && dup2(i, IMG_FD) < 0))
		return -1;
	syscall(SYS_close_range, i >= 0 ? IMG_FD + 1 : CMD_FD + 1, ~0u, 0);
	return 0;
}

static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, 1);

		if (n <= 0)
			break;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = 0;
	return (int)len;
}

static pid_t start_victim(const char *self, const char *mode, int *ret_report_rfd, int *ret_cmd_wfd)
{
	int rep[2], cmd[2];
	pid_t pid;

	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (setup_fds(rep[1], cmd[0], -1) < 0)
			_exit(2);
		execl(self, self, mode, (char *)NULL);
		_exit(2);
	}
	close(rep[1]);
	close(cmd[0]);
	*ret_report_rfd = rep[0];
	*ret_cmd_wfd = cmd[1];
	return pid;
}

static int dump_victim(pid_t pid, int img_dirfd)
{
	struct seize_tree *tree = NULL;
	struct parasite_ctl *ctl = NULL;
	struct parasite_task_state state;
	int ret;

	ret = seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree);
	if (ret < 0)
		return ret;
	ret = parasite_ctl_prepare(pid, &ctl);
	if (ret == 0)
		ret = parasite_ctl_infect(ctl);
	if (ret == 0)
		ret = parasite_cmd_get_task_state(ctl, &state);
	/* as dump.c does: task_dump() cures the task itself */
	if (ret == 0)
		ret = dump_one(img_dirfd, &tree->tasks[0], ctl, &state);
	parasite_ctl_free(ctl);
	if (ret == 0)
		seize_kill(tree);
	seize_tree_free(tree);
	return ret;
}

static pid_t clone3_with_pid(pid_t pid)
{
	pid_t tid = pid;
	struct minicr_clone_args args = {
	    .exit_signal = SIGCHLD,
	    .set_tid = (uint64_t)(uintptr_t)&tid,
	    .set_tid_size = 1,
	};
	pid_t child = -1;

	/* the pid may still be held for a moment after /proc/PID went away */
	for (int i = 0; i < 1000; i++) {
		child = (pid_t)syscall(__NR_clone3, &args, sizeof(args));
		if (child >= 0 || errno != EEXIST)
			break;
		if (i == 0) {
			char path[64], stat[256] = "";

			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			if (raw_read_file(path, stat, sizeof(stat)) < 0)
				snprintf(stat, sizeof(stat), "(no /proc entry)");
			fprintf(stderr, "note: pid %d is still in use: %s\n", pid, stat);
		}
		usleep(1000);
	}
	return child;
}

/* Removes the images of a passing run, keeps and names them after a failure; returns failed. */
static int finish_images(const char *dir, int failed)
{
	char cmdline[128];

	if (failed) {
		fprintf(stderr, "images kept in %s\n", dir);
		return failed;
	}
	snprintf(cmdline, sizeof(cmdline), "rm -rf %s", dir);
	if (system(cmdline) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return failed;
}

static int run(const char *self, const char *mode, bool leave_stopped)
{
	char tmpl[] = "/tmp/minicr-test-resume.XXXXXX", line[512];
	cleanup(resume_set_freep) struct resume_set *set = NULL;
	struct resume_task *rt = NULL;
	int report_rfd, cmd_wfd, img_dirfd, status, rep[2], cmd[2];
	double t0, t1, t2;
	union sigval val = {.sival_int = QUEUED_VAL};
	pid_t pid, child;
	int ret, failed = 0;

	if (!mkdtemp(tmpl))
		return 1;
	img_dirfd = open(tmpl, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	printf("victim mode %s\n", mode);
	pid = start_victim(self, mode, &report_rfd, &cmd_wfd);
	if (pid < 0 || img_dirfd < 0)
		return 1;
	if (read_line(report_rfd, line, sizeof(line)) <= 0 || strcmp(line, "READY\n")) {
		fprintf(stderr, "FAIL victim did not start: '%s'\n", line);
		kill(pid, SIGKILL);
		return 1;
	}
	usleep(50000); /* let every thread settle in its loop */
	sigqueue(pid, SIGUSR2, val);

	t0 = now_ms();
	ret = dump_victim(pid, img_dirfd);
	t1 = now_ms();
	if (ret < 0) {
		fprintf(stderr, "FAIL dump: %s\n", strerror(-ret));
		kill(pid, SIGKILL);
		return 1;
	}
	waitpid(pid, &status, 0);
	close(report_rfd);
	close(cmd_wfd);
	printf("dump of task %d: %.1f ms\n", pid, t1 - t0);

	ret = resume_set_new(1, &set);
	if (ret == 0)
		ret = resume_task_load(set, img_dirfd, pid, &rt);
	if (ret < 0) {
		fprintf(stderr, "FAIL load: %s\n", strerror(-ret));
		return 1;
	}
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
		return 1;
	t1 = now_ms();
	child = clone3_with_pid(pid);
	if (child < 0) {
		fprintf(stderr, "FAIL clone3(set_tid=%d): %s\n", pid, strerror(errno));
		return 1;
	}
	if (child == 0) {
		if (setup_fds(rep[1], cmd[0], img_dirfd) < 0)
			_exit(2);
		resume_task_set_img_dirfd(rt, IMG_FD);
		resume_task_enter(rt);
		_exit(3);
	}
	close(rep[1]);
	close(cmd[0]);
	resume_task_set_leave_stopped(rt, leave_stopped);
	ret = resume_task_finish(rt, pid);
	t2 = now_ms();
	resume_task_free(rt);
	if (ret < 0) {
		fprintf(stderr, "FAIL finish: %s\n", strerror(-ret));
		waitpid(pid, &status, 0);
		return 1;
	}
	printf("resume of task %d: %.1f ms (clone3 to running)\n", pid, t2 - t1);
	if (leave_stopped) {
		/* --leave-stopped: group-stopped at the dumped state until SIGCONT */
		if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status) ||
		    WSTOPSIG(status) != SIGSTOP) {
			fprintf(stderr, "FAIL leave-stopped task %d is not stopped (0x%x)\n", pid,
				status);
			failed = 1;
		}
		kill(pid, SIGCONT);
	}

	kill(pid, SIGUSR1);
	usleep(20000);
	if (write(cmd[1], "check\n", 6) != 6)
		failed = 1;
	if (read_line(rep[0], line, sizeof(line)) <= 0) {
		fprintf(stderr, "FAIL no report from the restored victim\n");
		failed = 1;
	} else {
		printf("victim: %s", line);
		if (strncmp(line, "PASS", 4))
			failed = 1;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "FAIL restored victim ended with status 0x%x\n", status);
		failed = 1;
	}
	return finish_images(tmpl, failed);
}

static bool pid_is_gone(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	for (int i = 0; i < 5000; i++) {
		if (access(path, F_OK) < 0)
			return true;
		usleep(1000);
	}
	return false;
}

static int dump_tree(pid_t root, int img_dirfd)
{
	struct seize_tree *tree = NULL;
	int ret;

	ret = seize_tree(root, SEIZE_TIMEOUT_DEFAULT, &tree);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < tree->n_tasks && ret == 0; i++) {
		struct parasite_ctl *ctl = NULL;
		struct parasite_task_state state;

		ret = parasite_ctl_prepare(tree->tasks[i].pid, &ctl);
		if (ret == 0)
			ret = parasite_ctl_infect(ctl);
		if (ret == 0)
			ret = parasite_cmd_get_task_state(ctl, &state);
		if (ret == 0)
			ret = dump_one(img_dirfd, &tree->tasks[i], ctl, &state);
		parasite_ctl_free(ctl);
	}
	if (ret == 0)
		seize_kill(tree);
	seize_tree_free(tree);
	return ret;
}

/* Two processes sharing memory, dumped as one tree and restored as two children of this
 * process (who is whose parent is not what this checks). */
static int run_shared(const char *self)
{
	char tmpl[] = "/tmp/minicr-test-resume.XXXXXX", line[512];
	cleanup(resume_set_freep) struct resume_set *set = NULL;
	struct resume_task *rt[2] = {NULL, NULL};
	int report_rfd, cmd_wfd, img_dirfd, status, rep[2], cmd[2], ret, failed = 0;
	pid_t pids[2];

	printf("victim mode --victim-shared\n");
	if (!mkdtemp(tmpl))
		return 1;
	img_dirfd = open(tmpl, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	pids[0] = start_victim(self, "--victim-shared", &report_rfd, &cmd_wfd);
	if (pids[0] < 0 || img_dirfd < 0)
		return 1;
	if (read_line(report_rfd, line, sizeof(line)) <= 0 ||
	    sscanf(line, "READY %d", &pids[1]) != 1) {
		fprintf(stderr, "FAIL shared victim did not start: '%s'\n", line);
		kill(pids[0], SIGKILL);
		return 1;
	}
	usleep(20000);
	ret = dump_tree(pids[0], img_dirfd);
	if (ret < 0) {
		fprintf(stderr, "FAIL dump of the shared tree: %s\n", strerror(-ret));
		kill(pids[1], SIGKILL);
		kill(pids[0], SIGKILL);
		return 1;
	}
	waitpid(pids[0], &status, 0);
	close(report_rfd);
	close(cmd_wfd);
	if (!pid_is_gone(pids[1])) {
		fprintf(stderr, "FAIL task %d does not go away\n", pids[1]);
		return 1;
	}
	ret = resume_set_new(2, &set);
	if (ret < 0) {
		fprintf(stderr, "FAIL resume set: %s\n", strerror(-ret));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		ret = resume_task_load(set, img_dirfd, pids[i], &rt[i]);
		if (ret < 0) {
			fprintf(stderr, "FAIL load %d: %s\n", pids[i], strerror(-ret));
			return 1;
		}
	}
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		pid_t child = clone3_with_pid(pids[i]);

		if (child < 0) {
			fprintf(stderr, "FAIL clone3(set_tid=%d): %s\n", pids[i], strerror(errno));
			return 1;
		}
		if (child == 0) {
			if (setup_fds(rep[1], cmd[0], img_dirfd) < 0)
				_exit(2);
			resume_task_set_img_dirfd(rt[i], IMG_FD);
			resume_task_enter(rt[i]);
			_exit(3);
		}
	}
	close(rep[1]);
	close(cmd[0]);
	for (int i = 0; i < 2; i++) {
		ret = resume_task_finish(rt[i], pids[i]);
		if (ret < 0) {
			fprintf(stderr, "FAIL finish %d: %s\n", pids[i], strerror(-ret));
			failed = 1;
		}
	}
	for (int i = 0; i < 2; i++)
		resume_task_free(rt[i]);
	if (!failed && write(cmd[1], "w\n", 2) != 2)
		failed = 1;
	if (!failed && read_line(rep[0], line, sizeof(line)) <= 0) {
		fprintf(stderr, "FAIL no report from the restored shared victim\n");
		failed = 1;
	} else if (!failed) {
		printf("victim: %s", line);
		if (strncmp(line, "PASS", 4))
			failed = 1;
	}
	for (int i = 0; i < 2; i++) {
		if (failed)
			kill(pids[i], SIGKILL);
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "FAIL restored task %d ended with status 0x%x\n", pids[i],
				status);
			failed = 1;
		}
	}
	return finish_images(tmpl, failed);
}

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t len;

	if (argc > 1 && !strcmp(argv[1], "--victim"))
		return victim_main();
	if (argc > 1 && !strcmp(argv[1], "--victim-shared"))
		return shared_victim_main();
	if (argc > 1 && !strcmp(argv[1], "--victim-user")) {
		victim_as_user = 1;
		return victim_main();
	}
	if (geteuid() != 0) {
		printf("SKIP: test-resume needs root (ptrace, clone3 set_tid, PR_SET_MM_MAP)\n");
		return 77;
	}
	log_init(getenv("MINICR_DEBUG") ? LOG_DEBUG : LOG_WARN, -1);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return 1;
	self[len] = 0;
	if (run(self, "--victim", false))
		return 1;
	if (run(self, "--victim-user", true))
		return 1;
	return run_shared(self) ? 1 : 0;
}
