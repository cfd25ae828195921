/* parasite.c: the dump-time parasite. It runs inside a seized task on its own stack, connects to
 * minicr's control socket and serves commands until the socket closes: drain fds with
 * SCM_RIGHTS, list fds, and report state only the task can read. minicr normally stops it and
 * cures the task from outside; if minicr dies instead, the socket closes and the parasite puts
 * the task back itself (parasite_cure()). Freestanding: raw syscalls, no libc, no globals with
 * pointers, dispatch by switch. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parasite-abi.h"
#include "syscall.h"

/* uapi values, spelled out so no libc header is needed */
#define P_AF_UNIX		 1
#define P_SOCK_SEQPACKET	 5
#define P_SOCK_CLOEXEC		 02000000
#define P_SOL_SOCKET		 1
#define P_SCM_RIGHTS		 1
#define P_MSG_NOSIGNAL		 0x4000
#define P_F_GETFD		 1
#define P_F_GETSIG		 11
#define P_F_GETOWN_EX		 16
#define P_F_GETOWNER_UIDS	 17
#define P_PR_GET_PDEATHSIG	 2
#define P_PR_GET_DUMPABLE	 3
#define P_PR_GET_NAME		 16
#define P_PR_GET_SECUREBITS	 27
#define P_PR_GET_TIMERSLACK	 30
#define P_PR_GET_CHILD_SUBREAPER 37
#define P_PR_GET_NO_NEW_PRIVS	 39
#define P_PR_GET_TID_ADDRESS	 40
#define P_PR_GET_THP_DISABLE	 42
#define P_PAGE_SIZE		 4096
#define P_PROT_READ		 1
#define P_MAP_PRIVATE		 0x02
#define P_MAP_ANONYMOUS		 0x20
#define P_MADV_DONTNEED		 4
#define P_MCL_FUTURE		 2
#define P_MCL_ONFAULT		 4
#define P_POLLNVAL		 0x20
#define P_RLIMIT_NOFILE		 7
#define P_SIG_BLOCK		 0
#define P_SIG_UNBLOCK		 1
#define P_SIGCHLD		 17
#define P_SIGURG		 23
#define P_SIGWINCH		 28
#define P_SIG_DFL		 0
#define P_SIG_IGN		 1
#define P_EBADF			 9
#define P_EINVAL		 22
#define P_EPROTO		 71

struct p_iovec {
	void *base;
	size_t len;
};

struct p_msghdr {
	void *name;
	int namelen;
	struct p_iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	int flags;
};

struct p_cmsghdr {
	size_t len;
	int level;
	int type;
};

struct p_stack {
	uint64_t sp;
	int32_t flags;
	uint64_t size;
};

struct p_owner {
	int32_t type;
	int32_t pid;
};

#define P_CMSG_ALIGN(len) (((len) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1))
#define P_CMSG_SPACE(len) (P_CMSG_ALIGN(sizeof(struct p_cmsghdr)) + P_CMSG_ALIGN(len))
#define P_CMSG_LEN(len)	  (P_CMSG_ALIGN(sizeof(struct p_cmsghdr)) + (len))

/* head.S: the arguments the host wrote (hidden, so reached PC-relative: no relocation) */
extern struct parasite_init_args parasite_args __attribute__((visibility("hidden")));

int parasite_main(void);
void parasite_cure(void) __attribute__((noreturn));
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

/* gcc may emit calls to these for struct copies and zeroing even when freestanding. The
 * attribute stops gcc from turning the loops back into calls to themselves (clang does not
 * do that with -ffreestanding and has no such attribute). */
#if defined(__clang__)
#define NO_LOOP_TO_CALL
#else
#define NO_LOOP_TO_CALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

NO_LOOP_TO_CALL void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

NO_LOOP_TO_CALL void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

union msg_buf {
	struct parasite_msg_hdr hdr;
	unsigned char bytes[PARASITE_MSG_MAX];
	uint64_t align;
};

static long send_msg(int sock_fd, uint32_t cmd, int32_t ret, const void *payload, uint32_t len,
		     const int *fds, uint32_t n_fds)
{
	struct parasite_msg_hdr hdr = {.cmd = cmd, .ret = ret, .len = len};
	struct p_iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, len}};
	union {
		unsigned char buf[P_CMSG_SPACE(sizeof(int) * PARASITE_MAX_FDS)];
		uint64_t align;
	} control;
	struct p_msghdr msg = {.iov = iov, .iovlen = len ? 2 : 1};

	if (n_fds) {
		struct p_cmsghdr *cmsg = (struct p_cmsghdr *)control.buf;
		int *data = (int *)(control.buf + P_CMSG_ALIGN(sizeof(struct p_cmsghdr)));

		cmsg->len = P_CMSG_LEN(sizeof(int) * n_fds);
		cmsg->level = P_SOL_SOCKET;
		cmsg->type = P_SCM_RIGHTS;
		for (uint32_t i = 0; i < n_fds; i++)
			data[i] = fds[i];
		msg.control = control.buf;
		msg.controllen = P_CMSG_SPACE(sizeof(int) * n_fds);
	}
	return sys_sendmsg(sock_fd, &msg, P_MSG_NOSIGNAL);
}

/* Sends "<text><value>" as a log record; value < 0 appends nothing numeric. Best effort. */
static void plog(int sock_fd, uint32_t level, const char *text, long value)
{
	struct parasite_log rec;
	size_t n = 0;

	memset(&rec, 0, sizeof(rec));
	rec.level = level;
	while (text[n] && n < sizeof(rec.text) - 24) {
		rec.text[n] = text[n];
		n++;
	}
	if (value >= 0) {
		char digits[24];
		int k = 0;

		do {
			digits[k++] = (char)('0' + value % 10);
			value /= 10;
		} while (value);
		while (k)
			rec.text[n++] = digits[--k];
	}
	rec.text[n] = '\0';
	(void)send_msg(sock_fd, PARASITE_CMD_LOG, 0, &rec, sizeof(rec), NULL, 0);
}

static long drain_fds(int sock_fd, const struct parasite_drain_args *args, uint32_t len)
{
	struct parasite_drain_reply reply;
	uint32_t reply_len;

	memset(&reply, 0, sizeof(reply));
	if (len < offsetof(struct parasite_drain_args, fds) || args->n_fds == 0 ||
	    args->n_fds > PARASITE_MAX_FDS ||
	    len < offsetof(struct parasite_drain_args, fds) + args->n_fds * sizeof(int32_t))
		return send_msg(sock_fd, PARASITE_CMD_DRAIN_FDS, -P_EINVAL, NULL, 0, NULL, 0);

	for (uint32_t i = 0; i < args->n_fds; i++) {
		struct parasite_fd_opts *o = &reply.opts[i];
		struct p_owner owner = {0, 0};
		uint32_t uids[2] = {0, 0};
		int fd = args->fds[i];
		long ret;

		ret = sys_fcntl(fd, P_F_GETFD, 0);
		if (ret < 0 || fd == sock_fd) {
			reply.bad_fd = fd;
			return send_msg(sock_fd, PARASITE_CMD_DRAIN_FDS, -P_EBADF, &reply,
					sizeof(reply.n_fds) + sizeof(reply.bad_fd), NULL, 0);
		}
		o->fd_flags = (uint32_t)ret;
		if (sys_fcntl(fd, P_F_GETOWN_EX, &owner) == 0) {
			o->own_type = owner.type;
			o->own_pid = owner.pid;
		}
		if (sys_fcntl(fd, P_F_GETOWNER_UIDS, uids) == 0) {
			o->own_uid = uids[0];
			o->own_euid = uids[1];
		}
		ret = sys_fcntl(fd, P_F_GETSIG, 0);
		o->signum = ret < 0 ? 0 : (int32_t)ret;
	}
	reply.n_fds = args->n_fds;
	reply_len = (uint32_t)(offsetof(struct parasite_drain_reply, opts) +
			       args->n_fds * sizeof(struct parasite_fd_opts));
	return send_msg(sock_fd, PARASITE_CMD_DRAIN_FDS, 0, &reply, reply_len, args->fds,
			args->n_fds);
}

struct p_pollfd {
	int32_t fd;
	int16_t events;
	int16_t revents;
};

/* fds per poll() of LIST_FDS */
#define LIST_CHUNK 256

struct p_rlimit {
	uint64_t cur;
	uint64_t max;
};

/* poll() refuses more entries than the soft RLIMIT_NOFILE, which a task may have lowered below
 * its fd table size (fds opened before stay open): poll at most that many at once. The limit is
 * at least 1 here, since the parasite's own socket fits under it. */
static int32_t list_chunk_size(void)
{
	struct p_rlimit lim = {0, 0};

	if (sys_prlimit64(0, P_RLIMIT_NOFILE, 0, &lim) < 0 || lim.cur >= LIST_CHUNK)
		return LIST_CHUNK;
	return lim.cur > 0 ? (int32_t)lim.cur : 1;
}

/* poll() with no events and no timeout marks every number that is not an open fd POLLNVAL
 * (O_PATH fds too: poll cannot use them): one syscall answers for a whole chunk of numbers,
 * where procfs costs a lookup per fd. */
static long list_fds(int sock_fd, const struct parasite_list_args *args, uint32_t len)
{
	struct parasite_list_reply reply;
	struct p_pollfd chunk[LIST_CHUNK];
	int32_t fd, step = list_chunk_size();

	if (len < sizeof(*args) || args->from < 0 || args->to < args->from)
		return send_msg(sock_fd, PARASITE_CMD_LIST_FDS, -P_EINVAL, NULL, 0, NULL, 0);
	reply.n_fds = 0;
	for (fd = args->from; fd < args->to && reply.n_fds + LIST_CHUNK <= PARASITE_LIST_MAX;) {
		int32_t n = args->to - fd < step ? args->to - fd : step;
		long ret;

		for (int32_t i = 0; i < n; i++)
			chunk[i] = (struct p_pollfd){fd + i, 0, 0};
		ret = sys_poll(chunk, n, 0);
		if (ret < 0)
			return send_msg(sock_fd, PARASITE_CMD_LIST_FDS, (int32_t)ret, NULL, 0, NULL,
					0);
		for (int32_t i = 0; i < n; i++) {
			bool is_open = !(chunk[i].revents & P_POLLNVAL) ||
				       (args->find_path_fds && sys_fcntl(chunk[i].fd, P_F_GETFD, 0) >= 0);

			if (is_open && chunk[i].fd != sock_fd)
				reply.fds[reply.n_fds++] = chunk[i].fd;
		}
		fd += n;
	}
	reply.next = fd;
	return send_msg(sock_fd, PARASITE_CMD_LIST_FDS, 0, &reply,
			(uint32_t)(offsetof(struct parasite_list_reply, fds) +
				   reply.n_fds * sizeof(int32_t)),
			NULL, 0);
}

/* mlockall(MCL_FUTURE) shows only on mappings made after it, so one page is mapped now: locked,
 * it refuses MADV_DONTNEED; locked without MCL_ONFAULT, it was populated at once (mincore). The
 * page is in the arguments while it exists, for the self-cure. Returns the MCL_* flags in force,
 * or -errno. */
static long probe_mlock_future(void)
{
	unsigned char resident = 0;
	long addr, ret;

	addr = sys_mmap(0, P_PAGE_SIZE, P_PROT_READ, P_MAP_PRIVATE | P_MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		return addr;
	parasite_args.probe_addr = (uint64_t)addr;
	parasite_args.probe_len = P_PAGE_SIZE;
	ret = sys_madvise(addr, P_PAGE_SIZE, P_MADV_DONTNEED);
	if (ret == -P_EINVAL) {
		ret = sys_mincore(addr, P_PAGE_SIZE, &resident);
		if (ret == 0)
			ret = (resident & 1) ? P_MCL_FUTURE : P_MCL_FUTURE | P_MCL_ONFAULT;
	}
	if (sys_munmap(addr, P_PAGE_SIZE) == 0)
		parasite_args.probe_len = 0; /* else the cure tries again */
	return ret;
}

static long get_task_state(int sock_fd)
{
	struct parasite_task_state st;
	struct p_stack ss = {0, 0, 0};
	uint64_t tid_address = 0, slack;
	int32_t value = 0;
	long ret;

	memset(&st, 0, sizeof(st));
	for (int sig = 1; sig <= PARASITE_NSIG; sig++) {
		ret = sys_rt_sigaction(sig, 0, &st.sigactions[sig - 1], 8);
		if (ret < 0)
			plog(sock_fd, 1, "rt_sigaction failed for signal ", sig);
	}
	if (sys_sigaltstack(0, &ss) == 0) {
		st.altstack_sp = ss.sp;
		st.altstack_size = ss.size;
		st.altstack_flags = ss.flags;
	}
	if (sys_prctl(P_PR_GET_TID_ADDRESS, &tid_address, 0, 0, 0) == 0)
		st.tid_address = tid_address;
	/* umask() can only be read by setting it: put the old value straight back */
	st.umask = (uint32_t)sys_umask(0);
	(void)sys_umask(st.umask);
	st.personality = (uint32_t)sys_personality(0xffffffffUL);
	st.brk = (uint64_t)sys_brk(0);
	st.dumpable = (int32_t)sys_prctl(P_PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (sys_prctl(P_PR_GET_PDEATHSIG, &value, 0, 0, 0) == 0)
		st.pdeathsig = value;
	value = 0;
	if (sys_prctl(P_PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) == 0)
		st.child_subreaper = value;
	st.no_new_privs = (int32_t)sys_prctl(P_PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	st.securebits = (int32_t)sys_prctl(P_PR_GET_SECUREBITS, 0, 0, 0, 0);
	slack = (uint64_t)sys_prctl(P_PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if ((long)slack < 0)
		st.timerslack_ret = (int32_t)(long)slack;
	else
		st.timerslack_ns = slack;
	(void)sys_prctl(P_PR_GET_NAME, st.name, 0, 0, 0);
	st.thp_disable = (int32_t)sys_prctl(P_PR_GET_THP_DISABLE, 0, 0, 0, 0);
	for (int which = 0; which < 3 && !st.itimers_ret; which++)
		st.itimers_ret = (int32_t)sys_getitimer(which, &st.itimers[which]);
	st.mlock_future = (int32_t)probe_mlock_future();
	return send_msg(sock_fd, PARASITE_CMD_GET_TASK_STATE, 0, &st, sizeof(st), NULL, 0);
}

/* Serves requests until the host closes the socket (0) or an error (-errno). */
static long serve(int sock_fd)
{
	union msg_buf req;

	for (;;) {
		struct p_iovec iov = {req.bytes, sizeof(req.bytes)};
		struct p_msghdr msg = {.iov = &iov, .iovlen = 1};
		const void *payload = req.bytes + sizeof(req.hdr);
		long n, ret;

		n = sys_recvmsg(sock_fd, &msg, 0);
		if (n < 0)
			return n;
		if (n == 0)
			return 0; /* the host closed the socket, or died */
		if ((size_t)n < sizeof(req.hdr) || req.hdr.len != (size_t)n - sizeof(req.hdr))
			return -P_EPROTO;

		switch (req.hdr.cmd) {
		case PARASITE_CMD_DRAIN_FDS:
			ret = drain_fds(sock_fd, payload, req.hdr.len);
			break;
		case PARASITE_CMD_GET_TASK_STATE:
			ret = get_task_state(sock_fd);
			break;
		case PARASITE_CMD_LIST_FDS:
			ret = list_fds(sock_fd, payload, req.hdr.len);
			break;
		default:
			plog(sock_fd, 0, "unknown command ", req.hdr.cmd);
			ret = send_msg(sock_fd, req.hdr.cmd, -P_EINVAL, NULL, 0, NULL, 0);
			break;
		}
		if (ret < 0)
			return ret;
	}
}

/* Without a socket the parasite cannot tell minicr why it gives up, and curing the task now
 * would let it run on while minicr still holds its registers of before: it leaves the error
 * where minicr reads it and stops on a signal minicr sees at once. The signal is one the task
 * ignores (its default action, or SIG_IGN): if minicr is gone, it is delivered and nothing
 * happens, and the parasite cures the task. */
static void report_failure(long err)
{
	static const int candidates[] = {P_SIGURG, P_SIGWINCH, P_SIGCHLD};

	parasite_args.error = (int32_t)err;
	for (unsigned int i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		struct parasite_sigaction act;
		int sig = candidates[i];
		uint64_t mask = 1ULL << (sig - 1);

		if (sys_rt_sigaction(sig, 0, &act, 8) < 0 ||
		    (act.handler != P_SIG_DFL && act.handler != P_SIG_IGN))
			continue;
		sys_rt_sigprocmask(P_SIG_UNBLOCK, &mask, 0, 8);
		sys_tgkill(sys_getpid(), sys_gettid(), sig);
		sys_rt_sigprocmask(P_SIG_BLOCK, &mask, 0, 8);
		return;
	}
}

int parasite_main(void)
{
	const struct parasite_init_args *args = &parasite_args;
	struct parasite_hello hello;
	long sock_fd, ret;

	sock_fd = sys_socket(P_AF_UNIX, P_SOCK_SEQPACKET | P_SOCK_CLOEXEC, 0);
	if (sock_fd < 0) {
		report_failure(sock_fd);
		return (int)sock_fd;
	}
	/* from here on, a cure from any path closes it */
	parasite_args.sock_fd = (int32_t)sock_fd;
	ret = sys_connect(sock_fd, args->addr, args->addr_len);
	if (ret < 0) {
		report_failure(ret);
		return (int)ret;
	}

	hello.sock_fd = (int32_t)sock_fd;
	hello.pid = (int32_t)sys_getpid();
	hello.tid = (int32_t)sys_gettid();
	hello.pad = 0;
	ret = send_msg((int)sock_fd, PARASITE_CMD_HELLO, 0, &hello, sizeof(hello), NULL, 0);
	if (ret < 0) {
		report_failure(ret);
		return (int)ret;
	}
	if (args->log_level >= 3)
		plog((int)sock_fd, 3, "serving on socket fd ", sock_fd);
	return (int)serve((int)sock_fd);
}

/* The last two steps in one go: the area stops being executable, then the task's frame puts
 * back everything minicr changed. mprotect() runs from the task's own `syscall; ret`, since the
 * next instruction fetched from this blob would fault; its `ret` takes the frame's first word,
 * the task's rt_sigreturn sequence, with rsp then just past it, where rt_sigreturn expects it. */
static void __attribute__((noreturn)) return_to_task(const struct parasite_init_args *args)
{
	__asm__ volatile("movq %[frame], %%rsp\n\t"
			 "jmp *%[syscall_ret]"
			 :
			 : "a"((long)__NR_mprotect), "D"(args->area_addr), "S"(args->area_len),
			   "d"((long)args->cure_prot), [frame] "r"(args->frame_addr),
			   [syscall_ret] "r"(args->syscall_ret)
			 : "memory");
	__builtin_unreachable();
}

void parasite_cure(void)
{
	/* the task must keep no trace of the parasite: its socket goes first */
	if (parasite_args.sock_fd >= 0)
		sys_close(parasite_args.sock_fd);
	parasite_args.sock_fd = -1;
	/* made in a hole, so nothing else of the task is there (a hole already: no-op) */
	if (parasite_args.probe_len)
		sys_munmap(parasite_args.probe_addr, parasite_args.probe_len);
	parasite_args.probe_len = 0;
	return_to_task(&parasite_args);
}
