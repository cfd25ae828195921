/* crash-victim: a small tree that checks, as often as asked, that nothing of a dumper stayed in
 * it; driven by test/integration/test-dump-crash.sh, not by run.sh (it never ends by itself).
 * The root's main thread blocks in a raw read() with known values in callee-saved and xmm
 * registers; a worker thread keeps a floating-point invariant in registers; the root has an
 * altstack, signal handlers and a distinctive signal mask; one child blocks the same way. At
 * start each process records its memory map, a hash of every executable mapping's bytes, its
 * fds, signal mask and altstack. On SIGUSR1 the root checks itself, has the child check itself,
 * and writes "PASS N U" (N checks so far, U SIGUSR2 received) or "FAIL: <what>" to
 * $VICTIM_RESULT, then goes on: a test can check the same tree after each of many failed dumps.
 * Ready once $VICTIM_READY exists. $VICTIM_MEMORY_MB gives the root that many MB of distinct,
 * dirty pages, checked too; $VICTIM_FDS that many more fds (dups of /dev/null). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC_RBX  0x1111222233334444ULL
#define MAGIC_R12  0x5555666677778888ULL
#define MAGIC_R15  0x99990000aaaabbbbULL
#define MAGIC_XMM0 0x5a5aa5a51234abcdULL
#define BUF_MAX	   (256 * 1024)

struct snapshot {
	char maps[BUF_MAX];
	size_t maps_len;
	uint64_t code_hash;
	char fds[4096];
	uint64_t mask; /* the kernel's 64 signals */
	stack_t altstack;
};

static struct snapshot recorded;
static uint64_t *memory;
static size_t memory_words;
static char now_buf[BUF_MAX];
static volatile sig_atomic_t check_requested;
static volatile sig_atomic_t n_usr2;
static atomic_ulong worker_counter;
static atomic_int worker_failed;

static ssize_t read_whole(const char *path, char *buf, size_t size)
{
	ssize_t len = 0, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)len < size && (n = read(fd, buf + len, size - (size_t)len)) > 0)
		len += n;
	close(fd);
	return len;
}

/* FNV-1a over the bytes of every executable mapping, read in place. */
static uint64_t hash_code(const char *maps, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p = maps, *end = maps + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned long start, stop;
		char perms[8];

		if (!nl)
			break;
		if (sscanf(p, "%lx-%lx %7s", &start, &stop, perms) == 3 && perms[0] == 'r' &&
		    perms[2] == 'x' && !strstr(p, "[vsyscall]")) {
			for (const unsigned char *b = (const unsigned char *)start;
			     b < (const unsigned char *)stop; b++) {
				h ^= *b;
				h *= 0x100000001b3ULL;
			}
		}
		p = nl + 1;
	}
	return h;
}

static void list_fds(char *out, size_t size)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	size_t used = 0;
	int self;

	out[0] = 0;
	if (!dir)
		return;
	self = dirfd(dir);
	while ((de = readdir(dir))) {
		char path[300], link[256];
		ssize_t n;

		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = 0;
		used += (size_t)snprintf(out + used, size - used, "%s=%s\n", de->d_name, link);
		if (used >= size)
			break;
	}
	closedir(dir);
}

/* The kernel's part of the calling thread's signal mask: the first 8 bytes of a sigset_t (the
 * rest is whatever the stack held, as glibc leaves it). */
static uint64_t signal_mask(void)
{
	sigset_t set;
	uint64_t mask;

	pthread_sigmask(SIG_BLOCK, NULL, &set);
	memcpy(&mask, &set, sizeof(mask));
	return mask;
}

/* Taken twice by the callers: the first round's allocations (opendir) must not change the map
 * the second records. */
static void take_snapshot(struct snapshot *s)
{
	ssize_t n;

	list_fds(s->fds, sizeof(s->fds));
	n = read_whole("/proc/self/maps", s->maps, sizeof(s->maps));

	s->maps_len = n < 0 ? 0 : (size_t)n;
	s->code_hash = hash_code(s->maps, s->maps_len);
	list_fds(s->fds, sizeof(s->fds));
	s->mask = signal_mask();
	sigaltstack(NULL, &s->altstack);
}

/* NULL if the process is as recorded, else what differs. */
static const char *compare_snapshot(void)
{
	static char fds_now[4096];
	stack_t ss;
	ssize_t n = read_whole("/proc/self/maps", now_buf, sizeof(now_buf));

	if (n != (ssize_t)recorded.maps_len || memcmp(now_buf, recorded.maps, (size_t)n) != 0)
		return "its memory map changed";
	if (hash_code(now_buf, (size_t)n) != recorded.code_hash)
		return "the bytes of an executable mapping changed";
	list_fds(fds_now, sizeof(fds_now));
	if (strcmp(fds_now, recorded.fds) != 0)
		return "its fds changed";
	if (signal_mask() != recorded.mask)
		return "its signal mask changed";
	sigaltstack(NULL, &ss);
	if (ss.ss_sp != recorded.altstack.ss_sp || ss.ss_size != recorded.altstack.ss_size ||
	    ss.ss_flags != recorded.altstack.ss_flags)
		return "its altstack changed";
	if (atomic_load(&worker_failed))
		return "registers changed (of the worker, or across the blocked read)";
	/* a word of every page (each page is distinct): a page lost or swapped shows */
	for (size_t i = 0; i < memory_words; i += 4096 / sizeof(*memory))
		if (memory[i] != i * 0x9e3779b97f4a7c15ULL)
			return "its memory changed";
	return NULL;
}

static void open_fds(void)
{
	const char *n = getenv("VICTIM_FDS");
	struct rlimit lim;
	int fd;

	if (!n)
		return;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (long i = 1; n && fd >= 0 && i < atol(n); i++)
		if (dup(fd) < 0)
			exit(2);
}

static void fill_memory(void)
{
	const char *mb = getenv("VICTIM_MEMORY_MB");
	size_t len = mb ? (size_t)atol(mb) << 20 : 0;

	if (!len)
		return;
	memory = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED)
		exit(2);
	memory_words = len / sizeof(*memory);
	for (size_t i = 0; i < memory_words; i++)
		memory[i] = i * 0x9e3779b97f4a7c15ULL;
}

/* read(fd, buf, 1) as a raw syscall with known values in rbx, r12, r15 and xmm0 across it: a
 * thread put back with the wrong registers shows here. Returns the syscall's result, or -1000
 * when a register came back changed. */
static long read_checking_registers(int fd, char *buf)
{
	uint64_t rbx, r12, r15, xmm0;
	long ret;

	__asm__ volatile(
	    "movq %[m_rbx], %%rbx\n\t"
	    "movq %[m_r12], %%r12\n\t"
	    "movq %[m_r15], %%r15\n\t"
	    "movq %[m_xmm], %%xmm0\n\t"
	    "syscall\n\t"
	    "movq %%rbx, %[o_rbx]\n\t"
	    "movq %%r12, %[o_r12]\n\t"
	    "movq %%r15, %[o_r15]\n\t"
	    "movq %%xmm0, %[o_xmm]"
	    : "=a"(ret), [o_rbx] "=m"(rbx), [o_r12] "=m"(r12), [o_r15] "=m"(r15), [o_xmm] "=m"(xmm0)
	    : "a"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(1L), [m_rbx] "r"(MAGIC_RBX),
	      [m_r12] "r"(MAGIC_R12), [m_r15] "r"(MAGIC_R15), [m_xmm] "r"(MAGIC_XMM0)
	    : "rcx", "r11", "rbx", "r12", "r15", "xmm0", "memory");
	if (rbx != MAGIC_RBX || r12 != MAGIC_R12 || r15 != MAGIC_R15 || xmm0 != MAGIC_XMM0)
		return -1000;
	return ret;
}

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	n_usr2++;
}

static void *worker(void *arg)
{
	double acc = 0;
	unsigned long n = 0;
	sigset_t mask;

	(void)arg;
	/* the check signals are for the main thread's read: the kernel may hand a process-wide
	 * signal to any thread that does not block it */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	for (;;) {
		acc += 1.0;
		n++;
		if (acc != (double)n)
			atomic_store(&worker_failed, 1);
		atomic_store(&worker_counter, n);
	}
	return NULL;
}

static int worker_moves(void)
{
	unsigned long before = atomic_load(&worker_counter);

	for (int i = 0; i < 2000; i++) {
		if (atomic_load(&worker_counter) != before)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void set_up_process(void)
{
	struct sigaction sa = {0};
	stack_t ss = {0};
	sigset_t mask;

	sa.sa_handler = on_usr1; /* no SA_RESTART: the blocked read returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART | SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	ss.ss_size = 64 * 1024;
	ss.ss_sp =
	    mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sigaltstack(&ss, NULL);
	/* a mask that is neither empty nor full: SIGURG and SIGWINCH blocked */
	sigemptyset(&mask);
	sigaddset(&mask, SIGURG);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

/* Blocks in the register-checking read on fd; on SIGUSR1 or a byte runs check(). */
static void __attribute__((noreturn)) serve(int fd, const char *(*check)(void))
{
	for (;;) {
		char c;
		long n = read_checking_registers(fd, &c);

		if (n == -1000) {
			atomic_store(&worker_failed, 1); /* reported by the next check */
			n = -EINTR;
		}
		if (n == 0)
			_exit(0);
		if (n == -EINTR && !check_requested)
			continue;
		check_requested = 0;
		check();
	}
}

static int child_report[2], child_cmd[2];
static pid_t child;
static unsigned int n_checks;

/* The child answers with one byte: 'P', or the index+'a' of what differs. */
static const char *const child_failures[] = {
    "its memory map changed", "the bytes of an executable mapping changed",
    "its fds changed",	      "its signal mask changed",
    "its altstack changed",   "registers changed (of the worker, or across the blocked read)",
};

static const char *child_check(void)
{
	const char *what = compare_snapshot();
	char verdict = 'P';

	for (size_t i = 0; what && i < sizeof(child_failures) / sizeof(child_failures[0]); i++)
		if (!strcmp(what, child_failures[i]))
			verdict = (char)('a' + i);
	(void)!write(child_report[1], &verdict, 1);
	return NULL;
}

static void write_result(const char *text)
{
	const char *path = getenv("VICTIM_RESULT");
	char tmp[4200];
	int fd;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, text, strlen(text));
	close(fd);
	rename(tmp, path);
}

static const char *root_check(void)
{
	static char child_what[128];
	const char *what = compare_snapshot();
	char verdict = 0, text[256];

	if (!what && !worker_moves())
		what = "the worker thread stopped";
	if (!what) {
		/* the child checks itself when it reads a byte on its command pipe */
		if (write(child_cmd[1], "c", 1) != 1 || read(child_report[0], &verdict, 1) != 1)
			what = "the child is gone";
		else if (verdict != 'P' && verdict >= 'a' &&
			 verdict <
			     'a' + (char)(sizeof(child_failures) / sizeof(child_failures[0]))) {
			snprintf(child_what, sizeof(child_what), "the child: %s",
				 child_failures[verdict - 'a']);
			what = child_what;
		} else if (verdict != 'P') {
			what = "the child answered nonsense";
		}
	}
	n_checks++;
	if (what)
		snprintf(text, sizeof(text), "FAIL: %s\n", what);
	else
		snprintf(text, sizeof(text), "PASS %u %d\n", n_checks, (int)n_usr2);
	write_result(text);
	return NULL;
}

int main(void)
{
	const char *ready = getenv("VICTIM_READY");
	pthread_t thread;
	int pipefd[2];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (pipe2(child_report, O_CLOEXEC) < 0 || pipe2(child_cmd, O_CLOEXEC) < 0 ||
	    pipe2(pipefd, O_CLOEXEC) < 0)
		return 2;
	set_up_process();
	child = fork();
	if (child > 0) {
		fill_memory();
		open_fds();
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		take_snapshot(&recorded);
		take_snapshot(&recorded);
		(void)!write(child_report[1], "r", 1);
		serve(child_cmd[0], child_check);
	}
	if (pthread_create(&thread, NULL, worker, NULL) != 0)
		return 2;
	while (atomic_load(&worker_counter) == 0)
		;
	{
		char c;

		if (read(child_report[0], &c, 1) != 1)
			return 2;
	}
	take_snapshot(&recorded);
	take_snapshot(&recorded);
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
	}
	/* nothing ever writes to pipefd[1]: the read blocks until a signal */
	serve(pipefd[0], root_check);
}
