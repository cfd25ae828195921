/* Integration test for seize.c and parasite-ctl.c: a multi-threaded victim tree (pipe, file at an
 * offset, seccomp filter, memory pattern, a group-stopped child) is seized, infected, drained,
 * queried, cured and released, and must then find itself intact. The same runs again with
 * MINICR_FAULT at each step. Needs ptrace rights: exits 77 (skip) without them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fd/dump.h"
#include "fd/kind.h"
#include "fd/restore-file.h"
#include "base/log.h"
#include "task/inject.h"
#include "task/parasite-cmd.h"
#include "task/parasite-ctl.h"
#include "base/procfs.h"
#include "task/pstree.h"
#include "task/seize.h"
#include "base/util.h"

#define N_THREADS    3
#define PATTERN_SIZE (1024 * 1024)
#define FILE_OFFSET  123
#define CLOEXEC_FD   100
#define PATH_FD	     150 /* an O_PATH fd, which poll() does not see */
#define XMM_MAGIC    0x5a5aa5a51234abcdULL
#define PIPE_DATA    "unread pipe data"
#define N_EXTRA_FDS  300

/* ---- the victim ------------------------------------------------------------------------------ */

struct victim_report {
	uint64_t handler;
	uint64_t altstack;
	pid_t child;
	int file_fd;
	int pipe_rd;
};

static volatile unsigned long thread_counters[N_THREADS];
static volatile int thread_failed;
static char maps_snapshot[65536];
static ssize_t maps_snapshot_len;
static char maps_now[65536];

static volatile sig_atomic_t n_sigusr2;

static void victim_handler(int sig)
{
	(void)sig;
	n_sigusr2++;
}

/* Reads a /proc file with raw read(): no stdio buffer, so the heap does not change under us. */
static ssize_t raw_read_file(const char *path, char *buf, size_t size)
{
	ssize_t len = 0, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + len, size - (size_t)len)) > 0)
		len += n;
	close(fd);
	return len;
}

static void *victim_thread(void *arg)
{
	size_t idx = (size_t)arg;
	unsigned long n = 0;
	double acc = 0;

	/* acc lives in an xmm register, n in a GP one: a broken restore shows as a mismatch */
	for (;;) {
		acc += 1.0;
		n++;
		if (acc != (double)n)
			thread_failed = 1;
		thread_counters[idx] = n;
	}
	return NULL;
}

/* read() as a raw syscall with a magic value in xmm0 across it: the main thread runs the
 * parasite while blocked here, so this checks the syscall restart and the xstate restore. */
static long read_checking_xmm(int fd, void *buf, size_t len, int *xmm_ok)
{
	uint64_t out;
	long ret;

	__asm__ volatile("movq %[magic], %%xmm0\n\t"
			 "syscall\n\t"
			 "movq %%xmm0, %[out]"
			 : "=a"(ret), [out] "=r"(out)
			 : "a"((long)SYS_read), "D"((long)fd), "S"(buf),
			   "d"(len), [magic] "r"(XMM_MAGIC)
			 : "rcx", "r11", "memory", "xmm0");
	*xmm_ok = out == XMM_MAGIC;
	return ret;
}

static void victim_reply(int report_fd, const char *msg)
{
	(void)!write(report_fd, msg, strlen(msg));
}

static const char *victim_check(unsigned char *pattern, int file_fd, int pipe_rd, int xmm_ok,
				int n_sigusr2_expected)
{
	unsigned long before[N_THREADS];
	struct sigaction sa;
	int avail = 0;

	if (!xmm_ok)
		return "FAIL xmm0 changed across the blocked read";
	for (size_t i = 0; i < PATTERN_SIZE; i++)
		if (pattern[i] != (unsigned char)(i * 7 + 3))
			return "FAIL memory pattern";
	maps_now[0] = 0;
	if (raw_read_file("/proc/self/maps", maps_now, sizeof(maps_now)) != maps_snapshot_len ||
	    memcmp(maps_now, maps_snapshot, (size_t)maps_snapshot_len) != 0)
		return "FAIL /proc/self/maps changed";
	if (lseek(file_fd, 0, SEEK_CUR) != FILE_OFFSET)
		return "FAIL file offset";
	if (ioctl(pipe_rd, FIONREAD, &avail) < 0 || avail != (int)strlen(PIPE_DATA))
		return "FAIL pipe data";
	if (sigaction(SIGUSR2, NULL, &sa) < 0 || sa.sa_handler != victim_handler)
		return "FAIL sigaction";
	if (umask(027) != 027)
		return "FAIL umask";
	if (thread_failed)
		return "FAIL thread registers";
	if (n_sigusr2 != n_sigusr2_expected)
		return "FAIL the SIGUSR2 sent while seized was lost or doubled";
	for (int i = 0; i < N_THREADS; i++)
		before[i] = thread_counters[i];
	for (int spins = 0;; spins++) {
		int all_moved = 1;

		for (int i = 0; i < N_THREADS; i++)
			all_moved &= thread_counters[i] != before[i];
		if (all_moved)
			break;
		if (spins > 1000)
			return "FAIL threads stopped";
		usleep(1000);
	}
	return "OK";
}

/* PTRACE_O_SUSPEND_SECCOMP needs CAP_SYS_ADMIN (bit 21 of CapEff). */
static int has_cap_sys_admin(void)
{
	char *status = NULL, *line;
	unsigned long long caps = 0;

	if (read_file_at(AT_FDCWD, "/proc/self/status", &status) < 0)
		return 0;
	line = strstr(status, "\nCapEff:");
	if (line)
		caps = strtoull(line + strlen("\nCapEff:"), NULL, 16);
	free(status);
	return (caps >> 21) & 1;
}

static int victim_install_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ret;

	if (!ctx)
		return -1;
	/* The parasite calls personality(): it survives only if seccomp is suspended. Without
	 * CAP_SYS_ADMIN minicr cannot suspend it, so filter a syscall nobody here makes. */
	ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS,
			       has_cap_sys_admin() ? SCMP_SYS(personality) : SCMP_SYS(acct), 0);
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

static void __attribute__((noreturn)) victim_main(int report_fd, int cmd_fd)
{
	struct victim_report rep = {0};
	struct sigaction sa = {0};
	stack_t ss = {0};
	unsigned char *pattern;
	int pipefd[2], child_pipe[2], file_fd, xmm_ok = 1;
	char tmpl[] = "/tmp/minicr-test-parasite-XXXXXX";
	pthread_t threads[N_THREADS];

	prctl(PR_SET_NAME, "victim-main");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	umask(027);
	sa.sa_handler = victim_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	/* a shell without job control starts background jobs with SIGINT ignored; the check wants
	 * a default action read back as such */
	signal(SIGINT, SIG_DFL);
	ss.ss_size = 65536;
	ss.ss_sp =
	    mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sigaltstack(&ss, NULL);

	pattern =
	    mmap(NULL, PATTERN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < PATTERN_SIZE; i++)
		pattern[i] = (unsigned char)(i * 7 + 3);

	if (pipe(pipefd) < 0 || write(pipefd[1], PIPE_DATA, strlen(PIPE_DATA)) < 0)
		_exit(2);
	fcntl(pipefd[0], F_SETOWN, getpid());
	fcntl(pipefd[0], F_SETSIG, SIGUSR1);
	file_fd = mkstemp(tmpl);
	if (file_fd < 0)
		_exit(2);
	unlink(tmpl);
	for (int i = 0; i < 10; i++)
		(void)!write(file_fd, "0123456789abcdefghij", 20);
	lseek(file_fd, FILE_OFFSET, SEEK_SET);
	if (dup3(file_fd, CLOEXEC_FD, O_CLOEXEC) < 0)
		_exit(2);
	{
		int path_fd = open("/", O_PATH);

		if (path_fd < 0 || dup2(path_fd, PATH_FD) != PATH_FD)
			_exit(2);
		close(path_fd);
	}
	/* enough fds for more than one SCM_RIGHTS batch */
	for (int i = 0; i < N_EXTRA_FDS; i++)
		if (dup(pipefd[1]) < 0)
			_exit(2);
	if (victim_install_seccomp() < 0)
		_exit(3);

	/* a child process, so the tree has two processes (the test group-stops it) */
	if (pipe(child_pipe) < 0)
		_exit(2);
	rep.child = fork();
	if (rep.child == 0) {
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(child_pipe[1]);
		while (read(child_pipe[0], &c, 1) != 0)
			;
		_exit(0);
	}
	close(child_pipe[0]);
	for (size_t i = 0; i < N_THREADS; i++)
		pthread_create(&threads[i], NULL, victim_thread, (void *)i);

	/* settle: every thread has run, so no more lazy mappings appear */
	for (int i = 0; i < N_THREADS; i++)
		while (thread_counters[i] == 0)
			;
	maps_snapshot_len = raw_read_file("/proc/self/maps", maps_snapshot, sizeof(maps_snapshot));

	rep.handler = (uint64_t)(uintptr_t)victim_handler;
	rep.altstack = (uint64_t)(uintptr_t)ss.ss_sp;
	rep.file_fd = file_fd;
	rep.pipe_rd = pipefd[0];
	(void)!write(report_fd, &rep, sizeof(rep));

	for (;;) {
		char cmd = 0;
		long n = read_checking_xmm(cmd_fd, &cmd, 1, &xmm_ok);

		if (n < 0 && n == -EINTR)
			continue;
		if (n <= 0 || cmd == 'q')
			_exit(0);
		/* '0'..'9': check yourself, expecting that many SIGUSR2 so far */
		if (cmd >= '0' && cmd <= '9')
			victim_reply(report_fd,
				     victim_check(pattern, file_fd, pipefd[0], xmm_ok, cmd - '0'));
	}
}

/* ---- the test side -----------------------------------------------------------------------------
 */

struct victim {
	pid_t pid;
	int report_fd;
	int cmd_fd;
	struct victim_report rep;
};

static int start_victim(struct victim *v)
{
	int report[2], cmd[2];

	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
		return -1;
	v->pid = fork();
	if (v->pid < 0)
		return -1;
	if (v->pid == 0) {
		close(report[0]);
		close(cmd[1]);
		victim_main(report[1], cmd[0]);
	}
	close(report[1]);
	close(cmd[0]);
	v->report_fd = report[0];
	v->cmd_fd = cmd[1];
	if (read_full(v->report_fd, &v->rep, sizeof(v->rep)) != sizeof(v->rep))
		return -1;
	return 0;
}

/* Asks the victim to check itself; returns 1 if it answered OK. */
static int victim_is_intact(struct victim *v, const char *when, int n_signals)
{
	char answer[128] = "", cmd = (char)('0' + n_signals);
	ssize_t n;

	if (write(v->cmd_fd, &cmd, 1) != 1) {
		fprintf(stderr, "FAIL %s: victim is gone\n", when);
		return 0;
	}
	n = read(v->report_fd, answer, sizeof(answer) - 1);
	if (n > 0)
		answer[n] = '\0';
	if (strcmp(answer, "OK") != 0) {
		fprintf(stderr, "FAIL %s: victim says '%s'\n", when, n > 0 ? answer : "(nothing)");
		return 0;
	}
	return 1;
}

static char proc_state(pid_t pid)
{
	struct procfs_stat st;

	return procfs_read_stat(pid, &st) == 0 ? st.state : '?';
}

/* maps plus "fd -> target" lines: what must be identical before and after a cure */
/* The Rss of the task's [stack] mapping in smaps, -1 if not found. */
static long stack_rss_kb(pid_t pid)
{
	char path[64], *smaps = NULL, *at;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	if (read_file_at(AT_FDCWD, path, &smaps) < 0)
		return -1;
	at = strstr(smaps, "[stack]\n");
	if (at)
		at = strstr(at, "\nRss:");
	if (at)
		kb = strtol(at + 5, NULL, 10);
	free(smaps);
	return kb;
}

static char *task_fingerprint(pid_t pid)
{
	char path[64], link[PATH_MAX + 1], *maps = NULL, *out;
	size_t size = 0;
	FILE *f;
	DIR *dir;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (read_file_at(AT_FDCWD, path, &maps) < 0)
		return NULL;
	f = open_memstream(&out, &size);
	fputs(maps, f);
	free(maps);
	/* minicr's frame and parasite live below the stack pointer: no page of the main stack
	 * may stay resident because of them */
	fprintf(f, "[stack] Rss: %ld kB\n", stack_rss_kb(pid));
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		char fdpath[PATH_MAX];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%s", pid, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		fprintf(f, "fd %s -> %s\n", de->d_name, link);
	}
	if (dir)
		closedir(dir);
	fclose(f);
	return out;
}

/* The task's open fds, leaving out the parasite's own socket. */
static size_t list_fds(pid_t pid, int skip_fd, int *fds, size_t max)
{
	char path[64];
	size_t n = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir)) && n < max) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd != skip_fd)
			fds[n++] = fd;
	}
	if (dir)
		closedir(dir);
	return n;
}

/* The parasite's own list equals procfs's: without O_PATH fds on the fast pass, with them when
 * asked. */
static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void check_listed(struct parasite_ctl *ctl, pid_t pid, const int *procfs, size_t n)
{
	int size = fd_table_size(pid), fds[512];

	memcpy(fds, procfs, n * sizeof(*fds));
	qsort(fds, n, sizeof(*fds), cmp_int);

	for (int pass = 0; pass < 2; pass++) {
		bool find_path_fds = pass == 1;
		int *listed = NULL, n_listed;
		size_t k = 0;

		n_listed = parasite_cmd_list_fds(ctl, size, find_path_fds, &listed);
		CHECK(n_listed >= 0, "LIST_FDS of task %d: %d", pid, n_listed);
		for (int j = 0; j < n_listed; j++) {
			while (k < n && !find_path_fds && fds[k] == PATH_FD)
				k++;
			CHECK(k < n && listed[j] == fds[k], "task %d: listed fd %d, procfs %d", pid,
			      listed[j], k < n ? fds[k] : -1);
			k++;
		}
		while (k < n && !find_path_fds && fds[k] == PATH_FD)
			k++;
		CHECK(k == n, "task %d: %zu of %zu fds listed (find_path_fds %d)", pid, k, n,
		      find_path_fds);
		free(listed);
	}
}

static void check_drained(pid_t pid, const struct victim *v, const int *fds, const int *local,
			  const struct parasite_fd_opts *opts, size_t n)
{
	int seen_file = 0, seen_cloexec = 0, seen_pipe = 0;

	for (size_t i = 0; i < n; i++) {
		long same = syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, local[i], fds[i]);

		CHECK(same == 0, "fd %d of %d: kcmp says %ld (%m)", fds[i], pid, same);
		if (pid != v->pid)
			continue;
		if (fds[i] == v->rep.file_fd) {
			seen_file = 1;
			CHECK(lseek(local[i], 0, SEEK_CUR) == FILE_OFFSET, "drained file offset");
			CHECK(!(opts[i].fd_flags & FD_CLOEXEC), "file fd must not be cloexec");
		}
		if (fds[i] == CLOEXEC_FD) {
			seen_cloexec = 1;
			CHECK(opts[i].fd_flags & FD_CLOEXEC, "fd %d must be cloexec", CLOEXEC_FD);
		}
		if (fds[i] == v->rep.pipe_rd) {
			seen_pipe = 1;
			CHECK(opts[i].signum == SIGUSR1, "pipe F_GETSIG %d", opts[i].signum);
			CHECK(opts[i].own_pid == v->pid, "pipe owner %d", opts[i].own_pid);
			CHECK(opts[i].own_type == F_OWNER_PID, "pipe owner type %d",
			      opts[i].own_type);
		}
	}
	if (pid == v->pid) {
		CHECK(seen_file && seen_cloexec && seen_pipe, "victim fds were not all drained");
		CHECK(n > N_EXTRA_FDS, "only %zu fds drained", n);
	}
}

static void check_task_state(const struct victim *v, const struct parasite_task_state *st)
{
	const struct parasite_sigaction *usr2 = &st->sigactions[SIGUSR2 - 1];

	CHECK(usr2->handler == v->rep.handler, "SIGUSR2 handler %#llx, want %#llx",
	      (unsigned long long)usr2->handler, (unsigned long long)v->rep.handler);
	CHECK(usr2->flags & SA_RESTART, "SIGUSR2 flags %#llx", (unsigned long long)usr2->flags);
	CHECK(st->sigactions[SIGINT - 1].handler == (uint64_t)(uintptr_t)SIG_DFL, "SIGINT handler");
	CHECK(st->altstack_sp == v->rep.altstack, "altstack %#llx",
	      (unsigned long long)st->altstack_sp);
	CHECK(st->umask == 027, "umask %o", st->umask);
	CHECK(st->tid_address != 0, "tid address");
	CHECK(st->pdeathsig == SIGKILL, "pdeathsig %d", st->pdeathsig);
	CHECK(st->no_new_privs == 1, "no_new_privs %d (libseccomp sets it)", st->no_new_privs);
	CHECK(strcmp(st->name, "victim-main") == 0, "name '%.16s'", st->name);
}

/* Per-thread state through syscall injection with a scratch buffer: every thread of the victim
 * has its own clear_child_tid, and only the main thread has an altstack. */
static void check_thread_state(const struct seize_task *task, const struct victim *v)
{
	uint64_t main_tid_address = 0;

	for (size_t k = 0; k < task->n_tids; k++) {
		struct inject *inj = NULL;
		unsigned long args[6] = {PR_GET_TID_ADDRESS, INJECT_SCRATCH};
		unsigned long ss_args[6] = {0, INJECT_SCRATCH};
		uint64_t tid_address = 0;
		stack_t ss = {0};
		long value = -1;

		if (inject_prepare(task->tids[k], 0, &inj) < 0) {
			CHECK(0, "prepare thread %d", task->tids[k]);
			continue;
		}
		CHECK(inject_syscall_buf(inj, SYS_prctl, args, &tid_address, sizeof(tid_address),
					 &value) == 0 &&
			  value == 0 && tid_address != 0,
		      "PR_GET_TID_ADDRESS of thread %d: %ld", task->tids[k], value);
		CHECK(inject_syscall_buf(inj, SYS_sigaltstack, ss_args, &ss, sizeof(ss), &value) ==
			      0 &&
			  value == 0,
		      "sigaltstack of thread %d: %ld", task->tids[k], value);
		if (task->tids[k] == task->pid) {
			main_tid_address = tid_address;
			CHECK((uint64_t)(uintptr_t)ss.ss_sp == v->rep.altstack, "main altstack");
		} else {
			CHECK(tid_address != main_tid_address, "thread %d shares clear_child_tid",
			      task->tids[k]);
			/* no altstack, or (under ASan) one of its own */
			CHECK(ss.ss_flags == SS_DISABLE ||
				  (uint64_t)(uintptr_t)ss.ss_sp != v->rep.altstack,
			      "thread %d altstack flags %d", task->tids[k], ss.ss_flags);
		}
		CHECK(inject_cure(inj) == 0, "cure thread %d", task->tids[k]);
		inject_free(inj);
	}
}

/* seize -> infect every process -> drain all fds -> task state -> cure -> release, as dump
 * will do it. With verify set, checks what comes back. Returns 0 or the first -errno. */
static int run_dump_steps(const struct victim *v, int verify)
{
	cleanup(seize_tree_freep) struct seize_tree *tree = NULL;
	struct parasite_ctl *ctls[8] = {0};
	char *before[8] = {0};
	size_t n_ctls = 0;
	int ret;

	ret = seize_tree(v->pid, SEIZE_TIMEOUT_DEFAULT, &tree);
	if (ret < 0)
		return ret;
	if (verify) {
		CHECK(tree->n_tasks == 2, "tree has %zu tasks", tree->n_tasks);
		CHECK(tree->tasks[0].n_tids == N_THREADS + 1, "victim has %zu threads",
		      tree->tasks[0].n_tids);
		CHECK(tree->tasks[0].ppid == getpid(), "victim ppid %d", tree->tasks[0].ppid);
		CHECK(tree->is_seccomp_suspended || !has_cap_sys_admin(), "seccomp not suspended");
		if (tree->n_tasks == 2) {
			CHECK(tree->tasks[1].pid == v->rep.child, "child pid");
			CHECK(tree->tasks[1].was_stopped, "child should be seen group-stopped");
			CHECK(tree->tasks[1].ppid == v->pid, "child ppid");
		}
	}
	/* a signal that arrives while the tree is frozen must reach its handler after release */
	if (verify)
		kill(v->pid, SIGUSR2);
	if (verify) {
		char *fp_before = task_fingerprint(v->pid), *fp_after;

		check_thread_state(&tree->tasks[0], v);
		fp_after = task_fingerprint(v->pid);
		CHECK(fp_before && fp_after && strcmp(fp_before, fp_after) == 0,
		      "per-thread queries changed maps or fds");
		free(fp_before);
		free(fp_after);
	}
	for (size_t i = 0; i < tree->n_tasks && i < ARRAY_SIZE(ctls); i++) {
		before[i] = task_fingerprint(tree->tasks[i].pid);
		ret = parasite_ctl_prepare(tree->tasks[i].pid, &ctls[i]);
		if (ret < 0)
			goto out_cure;
		n_ctls++;
		if (verify && i == 0) {
			const struct user_regs_struct *regs = parasite_ctl_saved_regs(ctls[i]);
			size_t xstate_len = 0;

			/* the main thread waits in read(): the saved registers say so */
			CHECK(regs->orig_rax == SYS_read, "saved orig_rax %lld",
			      (long long)regs->orig_rax);
			CHECK(parasite_ctl_saved_xstate(ctls[i], &xstate_len) && xstate_len >= 576,
			      "saved xstate of %zu bytes", xstate_len);
		}
		ret = parasite_ctl_infect(ctls[i]);
		if (ret < 0)
			goto out_cure;
	}
	for (size_t i = 0; i < n_ctls; i++) {
		int fds[512], local[512];
		struct parasite_fd_opts opts[512];
		struct parasite_task_state st;
		size_t n = list_fds(tree->tasks[i].pid, parasite_ctl_remote_sock_fd(ctls[i]), fds,
				    ARRAY_SIZE(fds));

		if (verify)
			check_listed(ctls[i], tree->tasks[i].pid, fds, n);
		ret = parasite_cmd_drain_fds(ctls[i], fds, n, local, opts);
		if (ret < 0)
			goto out_cure;
		if (verify)
			check_drained(tree->tasks[i].pid, v, fds, local, opts, n);
		for (size_t k = 0; k < n; k++)
			close(local[k]);
		ret = parasite_cmd_get_task_state(ctls[i], &st);
		if (ret < 0)
			goto out_cure;
		if (verify && i == 0)
			check_task_state(v, &st);
	}
	if (verify) {
		/* a bad fd is refused with one clear error, and the parasite keeps serving */
		int bad = 999, local;

		CHECK(parasite_cmd_drain_fds(ctls[0], &bad, 1, &local, NULL) == -EBADF,
		      "draining a closed fd must fail with EBADF");
	}
out_cure:
	for (size_t i = 0; i < n_ctls; i++) {
		int ret2 = parasite_ctl_cure(ctls[i]);
		char *after;

		if (ret2 < 0 && ret == 0)
			ret = ret2;
		after = task_fingerprint(tree->tasks[i].pid);
		CHECK(before[i] && after && strcmp(before[i], after) == 0,
		      "task %d: maps or fds differ after cure:\n--- before\n%s--- after\n%s",
		      tree->tasks[i].pid, before[i], after);
		free(after);
		parasite_ctl_free(ctls[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(before); i++)
		free(before[i]);
	seize_release(tree);
	return ret;
}

static int capture_log_of_missing_pid(void)
{
	char buf[1024] = "", want[128];
	int pipefd[2], lines = 0;
	pid_t pid;
	ssize_t n;
	struct seize_tree *tree = NULL;
	enum log_level level;
	int ret;

	/* a pid that just existed and was reaped: not in use right now */
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	level = log_get_level();
	log_init(LOG_WARN, pipefd[1]);
	ret = seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree);
	log_init(level, -1);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	close(pipefd[1]);
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	snprintf(want, sizeof(want), "cannot seize task %d: no such process", pid);
	CHECK(ret == -ESRCH && !tree, "seize of a missing pid returned %d", ret);
	CHECK(strstr(buf, want) && lines == 1, "missing pid: want one line with '%s', got '%s'",
	      want, buf);
	return 0;
}

static void test_zombie_root(void)
{
	struct seize_tree *tree = NULL;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	for (int i = 0; i < 1000 && proc_state(pid) != 'Z'; i++)
		usleep(1000);
	fprintf(stderr, "--- a zombie root (the error below is expected)\n");
	CHECK(seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree) == -ESRCH && !tree, "seizing a zombie root must fail");
	waitpid(pid, NULL, 0);
}

/* ---- a tree that forks and spawns threads all the time ----------------------------------------
 */

static void *short_thread(void *arg)
{
	return arg;
}

static void *thread_spawner(void *arg)
{
	for (;;) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_thread, NULL) == 0)
			pthread_join(t, NULL);
	}
	return arg;
}

static void __attribute__((noreturn)) churn(void)
{
	pthread_t t;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pthread_create(&t, NULL, thread_spawner, NULL);
	for (;;) {
		pid_t c = fork();

		if (c == 0)
			_exit(0);
		if (c > 0)
			waitpid(c, NULL, 0);
	}
}

/* Every thread listed in /proc of every seized task is in the tree and ptrace-stopped, and
 * every child of a seized task is in the tree. */
static void check_tree_frozen(const struct seize_tree *tree)
{
	for (size_t i = 0; i < tree->n_tasks; i++) {
		const struct seize_task *task = &tree->tasks[i];
		pid_t *tids = NULL, *children = NULL;
		size_t n_tids = 0, n_children = 0;

		if (task->is_zombie)
			continue;
		CHECK(pstree_read_threads(task->pid, &tids, &n_tids) == 0, "threads of %d",
		      task->pid);
		CHECK(n_tids == task->n_tids, "task %d: %zu threads in /proc, %zu seized",
		      task->pid, n_tids, task->n_tids);
		for (size_t k = 0; k < n_tids && k < task->n_tids; k++) {
			CHECK(tids[k] == task->tids[k], "task %d: thread %d not seized", task->pid,
			      tids[k]);
			CHECK(proc_state(tids[k]) == 't', "thread %d is '%c', not stopped", tids[k],
			      proc_state(tids[k]));
		}
		CHECK(pstree_read_children(task->pid, &children, &n_children) >= 0, "children");
		for (size_t k = 0; k < n_children; k++) {
			bool found = false;

			for (size_t j = 0; j < tree->n_tasks; j++)
				found |= tree->tasks[j].pid == children[k];
			CHECK(found, "child %d of %d is not in the tree", children[k], task->pid);
		}
		free(tids);
		free(children);
	}
}

static void test_churning_tree(void)
{
	pid_t pid = fork();
	int n_seized = 0;

	if (pid == 0) {
		if (fork() == 0)
			churn();
		churn();
	}
	usleep(50000);
	for (int i = 0; i < 20; i++) {
		struct seize_tree *tree = NULL;

		if (seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree) < 0)
			continue;
		n_seized++;
		check_tree_frozen(tree);
		for (size_t k = 0; k < tree->n_tasks; k++) {
			struct parasite_ctl *ctl = NULL;
			struct parasite_task_state st;

			if (tree->tasks[k].is_zombie)
				continue;
			CHECK(parasite_ctl_prepare(tree->tasks[k].pid, &ctl) == 0 &&
				  parasite_ctl_infect(ctl) == 0 &&
				  parasite_cmd_get_task_state(ctl, &st) == 0 &&
				  parasite_ctl_cure(ctl) == 0,
			      "infecting churning task %d", tree->tasks[k].pid);
			parasite_ctl_free(ctl);
		}
		seize_tree_free(tree);
	}
	CHECK(n_seized == 20, "churning tree seized %d of 20 times", n_seized);
	CHECK(kill(pid, 0) == 0 && proc_state(pid) != 'Z', "churning tree died");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A task in its own network namespace: the control socket must be created in there. */
static void test_own_netns(void)
{
	struct seize_tree *tree = NULL;
	struct parasite_ctl *ctl = NULL;
	struct parasite_task_state st;
	int ready[2];
	char c;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		(void)!write(ready[1], &c, 1);
		/* nanosleep restarts through restart_syscall (-ERESTART_RESTARTBLOCK) */
		for (;;)
			nanosleep(&(struct timespec){.tv_sec = 10}, NULL);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		printf("note: cannot create a network namespace, skipping that case\n");
		goto out;
	}
	CHECK(seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree) == 0, "seize a task in its own net ns");
	if (!tree)
		goto out;
	CHECK(parasite_ctl_prepare(pid, &ctl) == 0 && parasite_ctl_infect(ctl) == 0 &&
		  parasite_cmd_get_task_state(ctl, &st) == 0 && parasite_ctl_cure(ctl) == 0,
	      "infect a task in its own net ns");
	parasite_ctl_free(ctl);
	seize_tree_free(tree);
	/* detached, it goes back to sleep in pause() */
	for (int i = 0; i < 1000 && proc_state(pid) != 'S'; i++)
		usleep(1000);
	CHECK(proc_state(pid) == 'S', "net ns task is '%c' after release", proc_state(pid));
out:
	close(ready[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A task whose soft RLIMIT_NOFILE is below its fd table size (fds opened before the limit was
 * lowered stay open): poll() refuses more entries than the limit, so LIST_FDS must list in
 * chunks the limit allows. With a limit of 0 the parasite cannot even open its socket: it must
 * say so at once, and the task must be left as it was. */
static void test_fd_limit_below_table(rlim_t limit)
{
	struct seize_tree *tree = NULL;
	struct parasite_ctl *ctl = NULL;
	int ready[2], *listed = NULL, n_listed = -1, size;
	char c = 0;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct rlimit lim = {limit, limit};

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* 100 fds up to 163: the table grows to 256 entries */
		for (int fd = 64; fd < 164; fd++)
			if (dup2(ready[1], fd) != fd)
				_exit(1);
		c = setrlimit(RLIMIT_NOFILE, &lim) == 0 ? 'y' : 'n';
		(void)!write(ready[1], &c, 1);
		for (;;)
			pause();
	}
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		CHECK(0, "fd limit %lu: the child could not set it up", (unsigned long)limit);
		goto out;
	}
	CHECK(seize_tree(pid, SEIZE_TIMEOUT_DEFAULT, &tree) == 0, "seize the task with fd limit %lu",
	      (unsigned long)limit);
	if (!tree)
		goto out;
	size = fd_table_size(pid);
	CHECK(size >= 164, "fd table of %d entries", size);
	if (limit == 0) {
		/* no fd at all for the parasite's socket: it says so, the task is left intact */
		fprintf(stderr, "--- RLIMIT_NOFILE 0 (the error below is expected)\n");
		CHECK(parasite_ctl_prepare(pid, &ctl) == 0 && parasite_ctl_infect(ctl) == -EMFILE,
		      "infecting a task with RLIMIT_NOFILE 0 must fail with EMFILE");
	} else if (parasite_ctl_prepare(pid, &ctl) == 0 && parasite_ctl_infect(ctl) == 0) {
		n_listed = parasite_cmd_list_fds(ctl, size, false, &listed);
		/* 0..2, the pipe's two ends, the 100 dups */
		CHECK(n_listed == fd_count(pid) - 1 && n_listed >= 104,
		      "fd limit %lu below a table of %d: listed %d fds of %d", (unsigned long)limit,
		      size, n_listed, fd_count(pid) - 1);
	} else {
		CHECK(0, "infecting the task with fd limit %lu", (unsigned long)limit);
	}
	free(listed);
	CHECK(parasite_ctl_cure(ctl) == 0, "cure the task with fd limit %lu", (unsigned long)limit);
	parasite_ctl_free(ctl);
	seize_tree_free(tree);
	/* released, it goes back to its pause() */
	for (int i = 0; i < 1000 && proc_state(pid) != 'S'; i++)
		usleep(1000);
	CHECK(proc_state(pid) == 'S', "task with fd limit %lu is '%c' after release",
	      (unsigned long)limit, proc_state(pid));
out:
	close(ready[0]);
	close(ready[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int ptrace_permitted(void)
{
	pid_t pid = fork();
	int ok, status;

	if (pid == 0) {
		pause();
		_exit(0);
	}
	ok = ptrace(PTRACE_SEIZE, pid, 0, 0) == 0;
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
	return ok;
}

int main(void)
{
	static const char *const steps[] = {"seize", "infect", "drain", "state", "cure"};
	struct victim v;
	char *fault_env = getenv("MINICR_FAULT");
	cleanup(seize_tree_freep) struct seize_tree *tree = NULL;
	int status;

	if (fault_env)
		unsetenv("MINICR_FAULT");
	if (!ptrace_permitted()) {
		printf("SKIP: ptrace is not permitted here (%m)\n");
		return 77;
	}
	log_init(getenv("MINICR_TEST_DEBUG") ? LOG_DEBUG : LOG_WARN, -1);

	capture_log_of_missing_pid();
	test_zombie_root();

	if (start_victim(&v) < 0) {
		fprintf(stderr, "FAIL: cannot start the victim\n");
		return 1;
	}
	CHECK(victim_is_intact(&v, "before any seize", 0), "victim self-check before seize");

	{
		struct pstree *snapshot = NULL;

		CHECK(pstree_collect(v.pid, &snapshot) == 0 && snapshot->n_procs == 2 &&
			  snapshot->procs[0].n_tids == N_THREADS + 1 &&
			  snapshot->procs[1].stat.pid == v.rep.child &&
			  snapshot->procs[1].stat.ppid == v.pid &&
			  strcmp(snapshot->procs[0].stat.comm, "victim-main") == 0,
		      "pstree_collect of the victim tree");
		pstree_free(snapshot);
	}

	/* the child starts group-stopped: it must be seized as such and stay stopped */
	kill(v.rep.child, SIGSTOP);
	for (int i = 0; i < 1000 && proc_state(v.rep.child) != 'T'; i++)
		usleep(1000);
	CHECK(run_dump_steps(&v, 1) == 0, "the full seize/infect/drain/cure cycle failed");
	CHECK(victim_is_intact(&v, "after cure and release", 1), "victim intact after release");
	/* after the detach it must run into its group stop again, not on to its read() */
	for (int i = 0; i < 1000 && strchr("Rt", proc_state(v.rep.child)); i++)
		usleep(1000);
	CHECK(proc_state(v.rep.child) == 'T', "group-stopped child must stay stopped, is '%c'",
	      proc_state(v.rep.child));
	kill(v.rep.child, SIGCONT);

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		int ret;

		setenv("MINICR_FAULT", steps[i], 1);
		fprintf(stderr, "--- MINICR_FAULT=%s (the errors below are expected)\n", steps[i]);
		ret = run_dump_steps(&v, 0);
		unsetenv("MINICR_FAULT");
		CHECK(ret < 0, "MINICR_FAULT=%s did not make the run fail", steps[i]);
		CHECK(victim_is_intact(&v, steps[i], 1), "victim intact after MINICR_FAULT=%s",
		      steps[i]);
	}

	test_churning_tree();
	test_own_netns();
	test_fd_limit_below_table(164);
	test_fd_limit_below_table(0);

	/* dump's default end: kill the whole tree */
	CHECK(seize_tree(v.pid, SEIZE_TIMEOUT_DEFAULT, &tree) == 0, "final seize");
	if (tree) {
		pid_t child = v.rep.child;

		seize_kill(tree);
		CHECK(waitpid(v.pid, &status, WNOHANG) <= 0 || WIFSIGNALED(status),
		      "victim not killed");
		for (int i = 0; i < 1000 && kill(child, 0) == 0 && proc_state(child) != 'Z'; i++)
			usleep(1000);
		CHECK(kill(child, 0) < 0 || proc_state(child) == 'Z', "victim child survived kill");
	}

	if (check_failures) {
		fprintf(stderr, "%d check(s) failed\n", check_failures);
		return 1;
	}
	printf("PASS: seize, infect, drain, task state, cure, release, faults, kill\n");
	return 0;
}
