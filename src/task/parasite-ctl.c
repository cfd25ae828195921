/* parasite-ctl.c: syscall injection, parasite loading, the control socket, and cure. */
#define LOG_PREFIX "parasite: "
#include "task/parasite-ctl.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

#include "base/compat.h"
#include "base/log.h"
#include "parasite-blob.h"
#include "task/seize.h"
#include "base/util.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif

#define PAGE_SIZE_BYTES 4096UL
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE_BYTES - 1) & ~(PAGE_SIZE_BYTES - 1))
/* blob | one page of init args | stack */
#define PARASITE_ARGS_SIZE  PAGE_SIZE_BYTES
#define PARASITE_STACK_SIZE (64UL * 1024)
/* How long the parasite may take to connect or answer before we give up on it. */
#define PARASITE_TIMEOUT_MS 10000
#define POLL_SLICE_MS	    50
#define XSTATE_MAX	    (64 * 1024)

/* syscall; int3; then int3 padding up to the word we save */
static const uint8_t syscall_stub[8] = {0x0f, 0x05, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};

struct parasite_ctl {
	pid_t pid;
	int mem_fd;
	struct user_regs_struct saved_regs;
	void *saved_xstate;
	size_t xstate_len;
	uint64_t saved_sigmask;
	bool is_sigmask_changed;
	unsigned long syscall_ip;
	uint8_t saved_code[sizeof(syscall_stub)];

	unsigned long area_addr; /* the parasite mapping, 0 if none */
	size_t area_len;
	int listen_fd;
	int sock_fd;
	int remote_sock_fd;
	bool is_running; /* the task executes the parasite and the host must not inject */
	bool is_cured;
};

/* ---- memory and registers ------------------------------------------------------------------ */

static int mem_write(struct parasite_ctl *ctl, unsigned long addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(ctl->mem_fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return pr_errno("cannot write %zu bytes at %#lx of task %d", len, addr, ctl->pid);
}

static int mem_read(struct parasite_ctl *ctl, unsigned long addr, void *buf, size_t len)
{
	ssize_t n = pread(ctl->mem_fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return pr_errno("cannot read %zu bytes at %#lx of task %d", len, addr, ctl->pid);
}

static int set_regs(struct parasite_ctl *ctl, const struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_SETREGS, ctl->pid, 0, regs) < 0)
		return pr_errno("cannot set registers of task %d", ctl->pid);
	return 0;
}

/* Picks the start of the first executable VMA that is not a kernel special mapping. */
static int find_syscall_ip(pid_t pid, unsigned long *ret_ip)
{
	cleanup_fclose FILE *f = NULL;
	char path[64], line[512];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[5];
		int name_at = 0;

		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3)
			continue;
		if (perms[2] != 'x' || end - start < sizeof(syscall_stub))
			continue;
		/* a file mapping: not [vdso]/[vsyscall]/[uprobes], and not anonymous code (a JIT,
		 * or another ctl's parasite) that may go away */
		if (name_at <= 0 || line[name_at] == '[' || line[name_at] == '\n' ||
		    line[name_at] == '\0')
			continue;
		*ret_ip = start;
		return 0;
	}
	pr_err("task %d has no executable mapping to run syscalls from", pid);
	return -ENOEXEC;
}

static int save_state(struct parasite_ctl *ctl)
{
	struct iovec iov;
	void *xstate;

	if (ptrace(PTRACE_GETREGS, ctl->pid, 0, &ctl->saved_regs) < 0)
		return pr_errno("cannot get registers of task %d", ctl->pid);
	if (ctl->saved_regs.cs != 0x33) {
		/* __USER_CS: the stub and the blob are 64-bit code */
		pr_err("task %d does not run 64-bit code (cs %#llx)", ctl->pid, ctl->saved_regs.cs);
		return -EOPNOTSUPP;
	}
	xstate = malloc(XSTATE_MAX);
	if (!xstate)
		return -ENOMEM;
	iov.iov_base = xstate;
	iov.iov_len = XSTATE_MAX;
	if (ptrace(PTRACE_GETREGSET, ctl->pid, (void *)NT_X86_XSTATE, &iov) < 0) {
		int ret = pr_errno("cannot get xstate of task %d", ctl->pid);

		free(xstate);
		return ret;
	}
	ctl->saved_xstate = realloc(xstate, iov.iov_len) ?: xstate;
	ctl->xstate_len = iov.iov_len;
	if (ptrace(PTRACE_GETSIGMASK, ctl->pid, sizeof(uint64_t), &ctl->saved_sigmask) < 0)
		return pr_errno("cannot get signal mask of task %d", ctl->pid);
	return 0;
}

/* Puts back the registers, xstate and signal mask saved by parasite_ctl_prepare(). */
static int restore_state(struct parasite_ctl *ctl)
{
	struct iovec iov = {ctl->saved_xstate, ctl->xstate_len};
	int ret = 0;

	if (ptrace(PTRACE_SETREGS, ctl->pid, 0, &ctl->saved_regs) < 0)
		ret = pr_errno("cannot restore registers of task %d", ctl->pid);
	if (ptrace(PTRACE_SETREGSET, ctl->pid, (void *)NT_X86_XSTATE, &iov) < 0 && !ret)
		ret = pr_errno("cannot restore xstate of task %d", ctl->pid);
	if (ctl->is_sigmask_changed) {
		if (ptrace(PTRACE_SETSIGMASK, ctl->pid, sizeof(uint64_t), &ctl->saved_sigmask) <
			0 &&
		    !ret)
			ret = pr_errno("cannot restore signal mask of task %d", ctl->pid);
		else
			ctl->is_sigmask_changed = false;
	}
	return ret;
}

/* Keeps signals from running the task's handlers while our code runs in it. SIGKILL and
 * SIGSTOP stay deliverable (the kernel ignores them in the mask). */
static int block_signals(struct parasite_ctl *ctl)
{
	uint64_t all = ~0ULL;

	if (ctl->is_sigmask_changed)
		return 0;
	if (ptrace(PTRACE_SETSIGMASK, ctl->pid, sizeof(uint64_t), &all) < 0)
		return pr_errno("cannot block signals of task %d", ctl->pid);
	ctl->is_sigmask_changed = true;
	return 0;
}

/* ---- running code in the task -------------------------------------------------------------- */

enum stop_kind {
	STOP_TRAP,   /* our int3 (or the parasite's final int3) */
	STOP_SIGNAL, /* the task stopped on another signal: our code faulted */
};

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Handles one wait status of the running task. Returns 1 if it is still running (a group stop
 * or interrupt trap we resumed), 0 with *ret_kind set if it stopped for us, or -errno. */
static int handle_status(struct parasite_ctl *ctl, int status, enum stop_kind *ret_kind,
			 int *ret_sig)
{
	int event, sig;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		pr_err("task %d died while running injected code (status %#x)", ctl->pid, status);
		return -ESRCH;
	}
	if (!WIFSTOPPED(status))
		return 1;
	event = status >> 16;
	sig = WSTOPSIG(status);
	if (event == PTRACE_EVENT_STOP || (event == 0 && is_stop_signal(sig))) {
		/* a job-control stop reached the task: with PTRACE_SEIZE the group stays stopped
		 * and re-stops at detach, so let our code finish first */
		if (ptrace(PTRACE_CONT, ctl->pid, 0, event ? 0 : sig) < 0)
			return pr_errno("cannot resume task %d", ctl->pid);
		return 1;
	}
	if (event != 0) {
		if (ptrace(PTRACE_CONT, ctl->pid, 0, 0) < 0)
			return pr_errno("cannot resume task %d", ctl->pid);
		return 1;
	}
	*ret_sig = sig;
	*ret_kind = sig == SIGTRAP ? STOP_TRAP : STOP_SIGNAL;
	return 0;
}

/* Waits (blocking) until the task stops for us. */
static int wait_stop(struct parasite_ctl *ctl, enum stop_kind *ret_kind, int *ret_sig)
{
	for (;;) {
		int status, ret;

		if (waitpid(ctl->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return pr_errno("cannot wait for task %d", ctl->pid);
		}
		ret = handle_status(ctl, status, ret_kind, ret_sig);
		if (ret <= 0)
			return ret;
	}
}

int parasite_ctl_syscall(struct parasite_ctl *ctl, long nr, const unsigned long args[6],
			 long *ret_value)
{
	static const unsigned long no_args[6];
	struct user_regs_struct regs = ctl->saved_regs;
	enum stop_kind kind;
	int ret, ret2, sig = 0;

	if (ctl->is_running) {
		pr_err("cannot inject a syscall into task %d while its parasite runs", ctl->pid);
		return -EBUSY;
	}
	if (!args)
		args = no_args;
	ctl->is_cured = false; /* the signal mask below must be put back */
	ret = block_signals(ctl);
	if (ret < 0)
		return ret;
	regs.rax = (unsigned long)nr;
	regs.orig_rax = (unsigned long)-1; /* no syscall-restart fix-up on the way out */
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	regs.rip = ctl->syscall_ip;
	ret = mem_write(ctl, ctl->syscall_ip, syscall_stub, sizeof(syscall_stub));
	if (ret < 0)
		return ret;
	ret = set_regs(ctl, &regs);
	if (ret < 0)
		goto out_restore_code;
	if (ptrace(PTRACE_CONT, ctl->pid, 0, 0) < 0) {
		ret = pr_errno("cannot resume task %d", ctl->pid);
		goto out_restore_regs;
	}
	ret = wait_stop(ctl, &kind, &sig);
	if (ret < 0)
		goto out_restore_code;
	if (ptrace(PTRACE_GETREGS, ctl->pid, 0, &regs) < 0) {
		ret = pr_errno("cannot get registers of task %d", ctl->pid);
		goto out_restore_regs;
	}
	if (kind != STOP_TRAP || regs.rip != ctl->syscall_ip + 3) {
		pr_err("injected syscall %ld in task %d stopped with signal %d at %#llx", nr,
		       ctl->pid, sig, regs.rip);
		ret = -EFAULT;
		goto out_restore_regs;
	}
	*ret_value = (long)regs.rax;
out_restore_regs:
	ret2 = set_regs(ctl, &ctl->saved_regs);
	if (ret2 < 0 && ret >= 0)
		ret = ret2;
out_restore_code:
	ret2 = mem_write(ctl, ctl->syscall_ip, ctl->saved_code, sizeof(ctl->saved_code));
	if (ret2 < 0 && ret >= 0)
		ret = ret2;
	return ret;
}

int parasite_ctl_syscall_buf(struct parasite_ctl *ctl, long nr, const unsigned long args[6],
			     void *buf, size_t len, long *ret_value)
{
	uint8_t saved_stack[PARASITE_CTL_SCRATCH_MAX];
	unsigned long real_args[6], scratch;
	int ret, ret2;

	if (len > PARASITE_CTL_SCRATCH_MAX) {
		pr_err("scratch of %zu bytes is too large for task %d", len, ctl->pid);
		return -EINVAL;
	}
	/* below the 128-byte red zone, where the interrupted code keeps nothing alive */
	scratch = (ctl->saved_regs.rsp - 128 - PARASITE_CTL_SCRATCH_MAX) & ~15UL;
	for (int i = 0; i < 6; i++)
		real_args[i] = args && args[i] == PARASITE_CTL_SCRATCH ? scratch
			       : args				       ? args[i]
								       : 0;
	ret = mem_read(ctl, scratch, saved_stack, len);
	if (ret < 0)
		return ret;
	ret = mem_write(ctl, scratch, buf, len);
	if (ret < 0)
		return ret;
	ret = parasite_ctl_syscall(ctl, nr, real_args, ret_value);
	if (ret >= 0)
		ret = mem_read(ctl, scratch, buf, len);
	ret2 = mem_write(ctl, scratch, saved_stack, len);
	return ret < 0 ? ret : ret2;
}

/* Runs a syscall and turns a remote failure into a logged -errno. */
static int remote_call(struct parasite_ctl *ctl, const char *what, long nr,
		       const unsigned long args[6], long *ret_value)
{
	long value;
	int ret;

	ret = parasite_ctl_syscall(ctl, nr, args, &value);
	if (ret < 0)
		return ret;
	if (value < 0 && value > -4096) {
		errno = (int)-value;
		return pr_errno("%s in task %d failed", what, ctl->pid);
	}
	if (ret_value)
		*ret_value = value;
	return 0;
}

int parasite_ctl_prepare(pid_t pid, struct parasite_ctl **ret_ctl)
{
	struct parasite_ctl *ctl;
	char path[64];
	int ret;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->pid = pid;
	ctl->listen_fd = ctl->sock_fd = ctl->mem_fd = -EBADF;
	ctl->remote_sock_fd = -1;
	ctl->is_cured = true; /* nothing to undo until we change the task */

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	ctl->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctl->mem_fd < 0) {
		ret = pr_errno("cannot open %s", path);
		goto out_free;
	}
	ret = save_state(ctl);
	if (ret < 0)
		goto out_free;
	ret = find_syscall_ip(pid, &ctl->syscall_ip);
	if (ret < 0)
		goto out_free;
	ret = mem_read(ctl, ctl->syscall_ip, ctl->saved_code, sizeof(ctl->saved_code));
	if (ret < 0)
		goto out_free;
	ctl->is_cured = false;
	*ret_ctl = ctl;
	return 0;
out_free:
	parasite_ctl_free(ctl);
	return ret;
}

/* ---- the control socket --------------------------------------------------------------------- */

static bool same_ns(int a_fd, int b_fd)
{
	struct stat a, b;

	return fstat(a_fd, &a) == 0 && fstat(b_fd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Creates the listening socket in the task's network namespace: abstract unix names are per
 * net ns, and the parasite connects from inside the task. A socket keeps the namespace it was
 * created in, so minicr switches there only for socket()+bind()+listen(). */
static int listen_in_task_netns(struct parasite_ctl *ctl, struct sockaddr_un *addr,
				socklen_t *ret_len)
{
	static unsigned int counter;
	cleanup_close int self_ns_fd = -EBADF, task_ns_fd = -EBADF, fd = -EBADF;
	bool switched = false;
	socklen_t len;
	char path[64];
	int ret = 0, n;

	self_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_ns_fd < 0)
		return pr_errno("cannot open /proc/self/ns/net");
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)ctl->pid);
	task_ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (task_ns_fd < 0)
		return pr_errno("cannot open %s", path);
	if (!same_ns(self_ns_fd, task_ns_fd)) {
		if (setns(task_ns_fd, CLONE_NEWNET) < 0)
			return pr_errno("cannot enter the network namespace of task %d", ctl->pid);
		switched = true;
		pr_debug("control socket for task %d is created in its network namespace",
			 ctl->pid);
	}

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* abstract name: sun_path[0] = '\0' */
	n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "minicr-parasite-%d-%d-%u",
		     (int)getpid(), (int)ctl->pid, counter++);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		ret = pr_errno("cannot create the control socket for task %d", ctl->pid);
	else if (bind(fd, (struct sockaddr *)addr, len) < 0)
		ret = pr_errno("cannot bind the control socket for task %d", ctl->pid);
	else if (listen(fd, 1) < 0)
		ret = pr_errno("cannot listen on the control socket for task %d", ctl->pid);

	if (switched && setns(self_ns_fd, CLONE_NEWNET) < 0) {
		/* minicr would now run in the wrong namespace: nothing sensible can follow */
		ret = pr_errno("cannot return to minicr's network namespace");
	}
	if (ret < 0)
		return ret;
	*ret_len = len;
	return TAKE_FD(fd);
}

/* Marks the parasite as gone after it hit its final trap (or crashed). */
static void parasite_stopped(struct parasite_ctl *ctl, enum stop_kind kind, int sig)
{
	struct user_regs_struct regs;

	ctl->is_running = false;
	if (kind == STOP_TRAP && ptrace(PTRACE_GETREGS, ctl->pid, 0, &regs) == 0) {
		long value = (long)regs.rax;

		if (value < 0)
			pr_err("parasite in task %d exited: %s", ctl->pid, strerror((int)-value));
		else
			pr_err("parasite in task %d exited unexpectedly", ctl->pid);
	} else {
		pr_err("parasite in task %d crashed with signal %d", ctl->pid, sig);
	}
}

/* Waits until fd is readable while the parasite runs, watching the task: a parasite that
 * traps or crashes never answers. Returns 0, or -errno (logged). */
static int wait_readable(struct parasite_ctl *ctl, int fd)
{
	int waited = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		enum stop_kind kind;
		int status, sig = 0, ret;
		pid_t w;

		ret = poll(&pfd, 1, POLL_SLICE_MS);
		if (ret < 0 && errno != EINTR)
			return pr_errno("cannot poll the control socket of task %d", ctl->pid);
		if (ret > 0)
			return 0;
		w = waitpid(ctl->pid, &status, __WALL | WNOHANG);
		if (w < 0)
			return pr_errno("cannot wait for task %d", ctl->pid);
		if (w > 0) {
			ret = handle_status(ctl, status, &kind, &sig);
			if (ret < 0) {
				ctl->is_running = false;
				return ret;
			}
			if (ret == 0) {
				parasite_stopped(ctl, kind, sig);
				return -EPIPE;
			}
		}
		waited += POLL_SLICE_MS;
		if (waited >= PARASITE_TIMEOUT_MS) {
			pr_err("parasite in task %d did not answer in %d ms", ctl->pid,
			       PARASITE_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
	}
}

static const char *cmd_name(uint32_t cmd)
{
	switch (cmd) {
	case PARASITE_CMD_HELLO:
		return "HELLO";
	case PARASITE_CMD_LOG:
		return "LOG";
	case PARASITE_CMD_DRAIN_FDS:
		return "DRAIN_FDS";
	case PARASITE_CMD_GET_TASK_STATE:
		return "GET_TASK_STATE";
	case PARASITE_CMD_FINI:
		return "FINI";
	case PARASITE_CMD_LIST_FDS:
		return "LIST_FDS";
	default:
		return "?";
	}
}

static int send_cmd(struct parasite_ctl *ctl, uint32_t cmd, const void *payload, uint32_t len)
{
	struct parasite_msg_hdr hdr = {.cmd = cmd, .len = len};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};

	if (sendmsg(ctl->sock_fd, &msg, MSG_NOSIGNAL) < 0)
		return pr_errno("cannot send %s to the parasite in task %d", cmd_name(cmd),
				ctl->pid);
	return 0;
}

static void print_parasite_log(const struct parasite_ctl *ctl, const void *payload, size_t len)
{
	struct parasite_log rec;
	enum log_level level;

	if (len < sizeof(rec))
		return;
	memcpy(&rec, payload, sizeof(rec));
	rec.text[sizeof(rec.text) - 1] = '\0';
	level = rec.level > LOG_DEBUG ? LOG_DEBUG : (enum log_level)rec.level;
	log_print(level, NULL, 0, 0, "parasite[%d]: %s", ctl->pid, rec.text);
}

/* Receives the reply to cmd, printing log records that come first. Payload goes to buf
 * (*ret_len bytes), fds to fds (*ret_n_fds, O_CLOEXEC, owned by the caller). Returns the
 * parasite's ret (0 or -errno, not logged) or a transport -errno (logged). */
static int recv_reply(struct parasite_ctl *ctl, uint32_t cmd, void *buf, size_t buf_len,
		      size_t *ret_len, int *fds, size_t max_fds, size_t *ret_n_fds)
{
	union {
		unsigned char bytes[PARASITE_MSG_MAX];
		struct parasite_msg_hdr hdr;
	} in;
	union {
		char buf[CMSG_SPACE(sizeof(int) * PARASITE_MAX_FDS)];
		struct cmsghdr align;
	} control;

	for (;;) {
		struct iovec iov = {in.bytes, sizeof(in.bytes)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		size_t n_fds = 0, payload_len;
		struct cmsghdr *cmsg;
		ssize_t n;
		int ret;

		ret = wait_readable(ctl, ctl->sock_fd);
		if (ret < 0)
			return ret;
		n = recvmsg(ctl->sock_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return pr_errno("cannot receive from the parasite in task %d", ctl->pid);
		/* collect fds first so that every error path below can close them */
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			size_t k, n_in;
			int *data;

			if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			n_in = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			data = (int *)CMSG_DATA(cmsg);
			for (k = 0; k < n_in; k++) {
				if (fds && n_fds < max_fds)
					fds[n_fds++] = data[k];
				else
					close(data[k]);
			}
		}
		ret = 0;
		if (n == 0) {
			pr_err("parasite in task %d closed the control socket", ctl->pid);
			ret = -EPIPE;
		} else if ((size_t)n < sizeof(in.hdr) || in.hdr.len != (size_t)n - sizeof(in.hdr)) {
			pr_err("malformed message from the parasite in task %d", ctl->pid);
			ret = -EBADMSG;
		} else if (msg.msg_flags & MSG_CTRUNC) {
			/* the kernel drops passed fds that minicr has no room for */
			pr_err("fds from the parasite in task %d were cut off (minicr's fd limit?)",
			       ctl->pid);
			ret = -EBADMSG;
		} else if (msg.msg_flags & MSG_TRUNC) {
			pr_err("truncated message from the parasite in task %d", ctl->pid);
			ret = -EBADMSG;
		} else if (in.hdr.cmd == PARASITE_CMD_LOG) {
			print_parasite_log(ctl, in.bytes + sizeof(in.hdr), in.hdr.len);
			ret = 1;
		} else if (in.hdr.cmd != cmd) {
			pr_err("parasite in task %d answered %s to %s", ctl->pid,
			       cmd_name(in.hdr.cmd), cmd_name(cmd));
			ret = -EBADMSG;
		}
		if (ret != 0) {
			for (size_t k = 0; k < n_fds; k++)
				close(fds[k]);
			if (ret < 0)
				return ret;
			continue;
		}
		payload_len = in.hdr.len < buf_len ? in.hdr.len : buf_len;
		if (buf)
			memcpy(buf, in.bytes + sizeof(in.hdr), payload_len);
		if (ret_len)
			*ret_len = payload_len;
		if (ret_n_fds)
			*ret_n_fds = n_fds;
		else
			for (size_t k = 0; k < n_fds; k++)
				close(fds[k]);
		return in.hdr.ret;
	}
}

/* Accepts the parasite's connection, refusing any other peer in the namespace. */
static int accept_parasite(struct parasite_ctl *ctl)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd, ret;

		ret = wait_readable(ctl, ctl->listen_fd);
		if (ret < 0)
			return ret;
		fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (fd < 0)
			return pr_errno("cannot accept the parasite of task %d", ctl->pid);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		    cred.pid == ctl->pid) {
			ctl->sock_fd = fd;
			return 0;
		}
		pr_warn("refused a connection from pid %d on the socket of task %d", (int)cred.pid,
			ctl->pid);
		close(fd);
	}
}

/* ---- infect and cure ------------------------------------------------------------------------ */

static int load_blob(struct parasite_ctl *ctl, const struct sockaddr_un *addr, socklen_t len)
{
	struct parasite_init_args init = {0};
	size_t blob_len = PAGE_ALIGN(sizeof(minicr_parasite_blob));

	if (seize_fault("infect")) {
		errno = EIO;
		return pr_errno("cannot write the parasite into task %d (MINICR_FAULT)", ctl->pid);
	}
	init.addr_len = len;
	init.log_level = (uint32_t)log_get_level();
	memcpy(init.addr, addr, len);
	if (mem_write(ctl, ctl->area_addr, minicr_parasite_blob, sizeof(minicr_parasite_blob)) <
		0 ||
	    mem_write(ctl, ctl->area_addr + blob_len, &init, sizeof(init)) < 0)
		return -EIO;
	return 0;
}

static int start_blob(struct parasite_ctl *ctl)
{
	struct user_regs_struct regs = ctl->saved_regs;
	size_t blob_len = PAGE_ALIGN(sizeof(minicr_parasite_blob));
	int ret;

	regs.rip = ctl->area_addr; /* head.S is at offset 0 */
	regs.rdi = ctl->area_addr + blob_len;
	regs.rsp = ctl->area_addr + ctl->area_len - 64;
	regs.orig_rax = (unsigned long)-1;
	regs.rax = 0;
	ret = set_regs(ctl, &regs);
	if (ret < 0)
		return ret;
	if (ptrace(PTRACE_CONT, ctl->pid, 0, 0) < 0)
		return pr_errno("cannot start the parasite in task %d", ctl->pid);
	ctl->is_running = true;
	return 0;
}

static int receive_hello(struct parasite_ctl *ctl)
{
	struct parasite_hello hello;
	size_t len = 0;
	int ret;

	ret = recv_reply(ctl, PARASITE_CMD_HELLO, &hello, sizeof(hello), &len, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (len != sizeof(hello)) {
		pr_err("malformed hello from the parasite in task %d", ctl->pid);
		return -EBADMSG;
	}
	ctl->remote_sock_fd = hello.sock_fd;
	pr_debug("parasite in task %d is up (socket fd %d in the task)", ctl->pid, hello.sock_fd);
	return 0;
}

int parasite_ctl_infect(struct parasite_ctl *ctl)
{
	unsigned long args[6] = {0};
	struct sockaddr_un addr;
	socklen_t addr_len = 0;
	long value = 0;
	int ret;

	if (ctl->area_addr || ctl->is_running) {
		pr_err("task %d is already infected", ctl->pid);
		return -EALREADY;
	}
	ctl->is_cured = false;
	ctl->area_len =
	    PAGE_ALIGN(sizeof(minicr_parasite_blob)) + PARASITE_ARGS_SIZE + PARASITE_STACK_SIZE;
	args[1] = ctl->area_len;
	args[2] = PROT_READ | PROT_WRITE | PROT_EXEC;
	args[3] = MAP_PRIVATE | MAP_ANONYMOUS;
	args[4] = (unsigned long)-1;
	ret = remote_call(ctl, "mmap of the parasite area", __NR_mmap, args, &value);
	if (ret < 0)
		goto out_cure;
	ctl->area_addr = (unsigned long)value;

	ret = listen_in_task_netns(ctl, &addr, &addr_len);
	if (ret < 0)
		goto out_cure;
	ctl->listen_fd = ret;
	ret = load_blob(ctl, &addr, addr_len);
	if (ret < 0)
		goto out_cure;
	ret = start_blob(ctl);
	if (ret < 0)
		goto out_cure;
	ret = accept_parasite(ctl);
	if (ret < 0)
		goto out_cure;
	ret = receive_hello(ctl);
	if (ret < 0)
		goto out_cure;
	close(ctl->listen_fd);
	ctl->listen_fd = -EBADF;
	return 0;
out_cure:
	(void)parasite_ctl_cure(ctl);
	return ret;
}

const struct user_regs_struct *parasite_ctl_saved_regs(const struct parasite_ctl *ctl)
{
	return &ctl->saved_regs;
}

const void *parasite_ctl_saved_xstate(const struct parasite_ctl *ctl, size_t *ret_len)
{
	*ret_len = ctl->xstate_len;
	return ctl->saved_xstate;
}

uint64_t parasite_ctl_saved_sigmask(const struct parasite_ctl *ctl)
{
	return ctl->saved_sigmask;
}

int parasite_ctl_remote_sock_fd(const struct parasite_ctl *ctl)
{
	return ctl->is_running ? ctl->remote_sock_fd : -1;
}

/* recv_reply()'s errors of the transport itself, which it logged already. */
static bool is_transport_error(int ret)
{
	return ret == -EPIPE || ret == -ETIMEDOUT || ret == -EBADMSG || ret == -ESRCH;
}

static int drain_batch(struct parasite_ctl *ctl, const int *fds, size_t n_fds, int *ret_local_fds,
		       struct parasite_fd_opts *ret_opts)
{
	struct parasite_drain_args req = {.n_fds = (uint32_t)n_fds};
	struct parasite_drain_reply reply;
	size_t len = 0, n_received = 0;
	int ret;

	for (size_t i = 0; i < n_fds; i++)
		req.fds[i] = fds[i];
	ret = send_cmd(
	    ctl, PARASITE_CMD_DRAIN_FDS, &req,
	    (uint32_t)(offsetof(struct parasite_drain_args, fds) + n_fds * sizeof(int32_t)));
	if (ret < 0)
		return ret;
	ret = recv_reply(ctl, PARASITE_CMD_DRAIN_FDS, &reply, sizeof(reply), &len, ret_local_fds,
			 n_fds, &n_received);
	if (ret == -EBADF && len >= offsetof(struct parasite_drain_reply, opts)) {
		pr_err("fd %d of task %d is not open", reply.bad_fd, ctl->pid);
		return ret;
	}
	if (ret < 0) {
		if (!is_transport_error(ret))
			pr_neg(ret, "parasite in task %d cannot drain fds", ctl->pid);
		return ret;
	}
	if (n_received != n_fds || reply.n_fds != n_fds ||
	    len < offsetof(struct parasite_drain_reply, opts) + n_fds * sizeof(reply.opts[0])) {
		pr_err("parasite in task %d sent %zu of %zu fds", ctl->pid, n_received, n_fds);
		for (size_t i = 0; i < n_received; i++)
			close(ret_local_fds[i]);
		return -EBADMSG;
	}
	if (ret_opts)
		memcpy(ret_opts, reply.opts, n_fds * sizeof(reply.opts[0]));
	return 0;
}

int parasite_ctl_drain_fds(struct parasite_ctl *ctl, const int *fds, size_t n_fds,
			   int *ret_local_fds, struct parasite_fd_opts *ret_opts)
{
	size_t done = 0;
	int ret = 0;

	if (!ctl->is_running) {
		pr_err("no parasite runs in task %d", ctl->pid);
		return -ENOTCONN;
	}
	if (seize_fault("drain")) {
		errno = EIO;
		return pr_errno("cannot send DRAIN_FDS to the parasite in task %d (MINICR_FAULT)",
				ctl->pid);
	}
	while (done < n_fds) {
		size_t n = n_fds - done < PARASITE_MAX_FDS ? n_fds - done : PARASITE_MAX_FDS;

		ret = drain_batch(ctl, fds + done, n, ret_local_fds + done,
				  ret_opts ? ret_opts + done : NULL);
		if (ret < 0)
			break;
		done += n;
	}
	if (ret < 0)
		for (size_t i = 0; i < done; i++)
			close(ret_local_fds[i]);
	return ret;
}

int parasite_ctl_list_fds(struct parasite_ctl *ctl, int table_size, bool find_path_fds,
			  int **ret_fds)
{
	cleanup_free int *fds = NULL;
	size_t n = 0, cap = 0;
	int from = 0;

	if (!ctl->is_running) {
		pr_err("no parasite runs in task %d", ctl->pid);
		return -ENOTCONN;
	}
	do {
		struct parasite_list_args req = {
		    .from = from, .to = table_size, .find_path_fds = find_path_fds};
		struct parasite_list_reply reply;
		size_t len = 0;
		int ret;

		ret = send_cmd(ctl, PARASITE_CMD_LIST_FDS, &req, sizeof(req));
		if (ret < 0)
			return ret;
		ret = recv_reply(ctl, PARASITE_CMD_LIST_FDS, &reply, sizeof(reply), &len, NULL, 0,
				 NULL);
		if (ret < 0) {
			if (!is_transport_error(ret))
				pr_neg(ret, "parasite in task %d cannot list its fds", ctl->pid);
			return ret;
		}
		if (len < offsetof(struct parasite_list_reply, fds) ||
		    reply.n_fds > PARASITE_LIST_MAX ||
		    len < offsetof(struct parasite_list_reply, fds) + reply.n_fds * sizeof(int32_t) ||
		    reply.next <= from || reply.next > table_size) {
			pr_err("malformed fd list from the parasite in task %d", ctl->pid);
			return -EBADMSG;
		}
		if (n + reply.n_fds > cap) {
			int *bigger;

			cap = (n + reply.n_fds) * 2;
			bigger = realloc(fds, cap * sizeof(*fds));
			if (!bigger)
				return pr_neg(-ENOMEM, "cannot list the fds of task %d", ctl->pid);
			fds = bigger;
		}
		for (uint32_t i = 0; i < reply.n_fds; i++)
			fds[n++] = reply.fds[i];
		from = reply.next;
	} while (from < table_size);
	if (n > INT_MAX)
		return -E2BIG;
	*ret_fds = n ? TAKE_PTR(fds) : calloc(1, sizeof(int));
	if (!*ret_fds)
		return -ENOMEM;
	return (int)n;
}

int parasite_ctl_get_task_state(struct parasite_ctl *ctl, struct parasite_task_state *ret_state)
{
	size_t len = 0;
	int ret;

	if (!ctl->is_running) {
		pr_err("no parasite runs in task %d", ctl->pid);
		return -ENOTCONN;
	}
	if (seize_fault("state")) {
		errno = EIO;
		return pr_errno(
		    "cannot send GET_TASK_STATE to the parasite in task %d (MINICR_FAULT)",
		    ctl->pid);
	}
	ret = send_cmd(ctl, PARASITE_CMD_GET_TASK_STATE, NULL, 0);
	if (ret < 0)
		return ret;
	ret = recv_reply(ctl, PARASITE_CMD_GET_TASK_STATE, ret_state, sizeof(*ret_state), &len,
			 NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (len != sizeof(*ret_state)) {
		pr_err("malformed task state from the parasite in task %d", ctl->pid);
		return -EBADMSG;
	}
	return 0;
}

/* Asks the parasite to finish and waits for its final trap. Returns 0 or -errno (logged). */
static int stop_parasite_fini(struct parasite_ctl *ctl)
{
	enum stop_kind kind;
	int ret, sig = 0;

	if (seize_fault("cure")) {
		errno = EIO;
		return pr_errno("cannot send FINI to the parasite in task %d (MINICR_FAULT)",
				ctl->pid);
	}
	ret = send_cmd(ctl, PARASITE_CMD_FINI, NULL, 0);
	if (ret < 0)
		return ret;
	ret = recv_reply(ctl, PARASITE_CMD_FINI, NULL, 0, NULL, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	/* the parasite closes its socket and hits int3 right after the ack */
	ret = wait_stop(ctl, &kind, &sig);
	if (ret < 0)
		return ret;
	ctl->is_running = false;
	if (kind != STOP_TRAP) {
		pr_err("parasite in task %d crashed with signal %d after FINI", ctl->pid, sig);
		return -EFAULT;
	}
	ctl->remote_sock_fd = -1;
	return 0;
}

/* A parasite that cannot be talked to: stop the task where it is and close the parasite's
 * socket from outside. */
static int stop_parasite_forced(struct parasite_ctl *ctl)
{
	enum stop_kind kind;
	int ret, sig = 0;

	if (ctl->is_running) {
		if (ptrace(PTRACE_INTERRUPT, ctl->pid, 0, 0) < 0)
			return pr_errno("cannot interrupt the parasite in task %d", ctl->pid);
		for (;;) {
			int status;

			if (waitpid(ctl->pid, &status, __WALL) < 0) {
				if (errno == EINTR)
					continue;
				return pr_errno("cannot wait for task %d", ctl->pid);
			}
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				pr_err("task %d died while running the parasite", ctl->pid);
				ctl->is_running = false;
				return -ESRCH;
			}
			if (!WIFSTOPPED(status))
				continue;
			if ((status >> 16) == PTRACE_EVENT_STOP)
				break; /* our interrupt, or a group stop: stopped either way */
			ret = handle_status(ctl, status, &kind, &sig);
			if (ret < 0)
				return ret;
			if (ret == 0)
				break; /* trapped or crashed: stopped too */
		}
		ctl->is_running = false;
	}
	if (ctl->remote_sock_fd >= 0) {
		unsigned long args[6] = {(unsigned long)ctl->remote_sock_fd};
		long value;

		ret = parasite_ctl_syscall(ctl, __NR_close, args, &value);
		if (ret < 0)
			return ret;
		/* -EBADF: the parasite had closed it already */
		ctl->remote_sock_fd = -1;
	}
	return 0;
}

int parasite_ctl_cure(struct parasite_ctl *ctl)
{
	int ret = 0, ret2;

	if (!ctl || ctl->is_cured)
		return 0;
	if (ctl->is_running) {
		ret = stop_parasite_fini(ctl);
		if (ret < 0) {
			ret2 = stop_parasite_forced(ctl);
			if (ret2 < 0)
				return ret2; /* the task cannot be stopped: nothing more is safe */
		}
	} else if (ctl->remote_sock_fd >= 0) {
		ret2 = stop_parasite_forced(ctl);
		if (ret2 < 0 && !ret)
			ret = ret2;
	}
	if (ctl->sock_fd >= 0) {
		close(ctl->sock_fd);
		ctl->sock_fd = -EBADF;
	}
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		ctl->listen_fd = -EBADF;
	}
	if (ctl->area_addr) {
		unsigned long args[6] = {ctl->area_addr, ctl->area_len};

		ret2 = remote_call(ctl, "munmap of the parasite area", __NR_munmap, args, NULL);
		if (ret2 < 0 && !ret)
			ret = ret2;
		if (ret2 == 0)
			ctl->area_addr = 0;
	}
	ret2 = restore_state(ctl);
	if (ret2 < 0 && !ret)
		ret = ret2;
	ctl->is_cured = true;
	return ret;
}

struct parasite_ctl *parasite_ctl_free(struct parasite_ctl *ctl)
{
	if (!ctl)
		return NULL;
	(void)parasite_ctl_cure(ctl);
	if (ctl->sock_fd >= 0)
		close(ctl->sock_fd);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (ctl->mem_fd >= 0)
		close(ctl->mem_fd);
	free(ctl->saved_xstate);
	free(ctl);
	return NULL;
}

void parasite_ctl_freep(struct parasite_ctl **ctl)
{
	parasite_ctl_free(*ctl);
}
