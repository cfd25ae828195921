/* parasite-rpc.c: the control socket shared with the parasite, from minicr's side. */
#define LOG_PREFIX "parasite: "
#include "task/parasite-rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "base/log.h"
#include "base/util.h"
#include "parasite/parasite-abi.h"

/* How long the parasite may take to connect or answer before minicr gives up on it. */
#define PARASITE_TIMEOUT_MS 10000
#define POLL_SLICE_MS	    50

struct parasite_rpc {
	pid_t pid;
	int listen_fd;
	int sock_fd;
	parasite_rpc_watch_fn watch;
	void *opaque;
};

static bool same_ns(int a_fd, int b_fd)
{
	struct stat a, b;

	return fstat(a_fd, &a) == 0 && fstat(b_fd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* A socket keeps the namespace it was created in, so minicr switches to the task's only for
 * socket()+bind()+listen(). */
static int listen_in_task_netns(pid_t pid, struct sockaddr_un *addr, socklen_t *ret_len)
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
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	task_ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (task_ns_fd < 0)
		return pr_errno("cannot open %s", path);
	if (!same_ns(self_ns_fd, task_ns_fd)) {
		if (setns(task_ns_fd, CLONE_NEWNET) < 0)
			return pr_errno("cannot enter the network namespace of task %d", pid);
		switched = true;
		pr_debug("control socket for task %d is created in its network namespace", pid);
	}

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* abstract name: sun_path[0] = '\0' */
	n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "minicr-parasite-%d-%d-%u",
		     (int)getpid(), (int)pid, counter++);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		ret = pr_errno("cannot create the control socket for task %d", pid);
	else if (bind(fd, (struct sockaddr *)addr, len) < 0)
		ret = pr_errno("cannot bind the control socket for task %d", pid);
	else if (listen(fd, 1) < 0)
		ret = pr_errno("cannot listen on the control socket for task %d", pid);

	if (switched && setns(self_ns_fd, CLONE_NEWNET) < 0) {
		/* minicr would now run in the wrong namespace: nothing sensible can follow */
		ret = pr_errno("cannot return to minicr's network namespace");
	}
	if (ret < 0)
		return ret;
	*ret_len = len;
	return TAKE_FD(fd);
}

int parasite_rpc_listen(pid_t pid, parasite_rpc_watch_fn watch, void *opaque,
			struct parasite_rpc **ret_rpc, struct sockaddr_un *ret_addr,
			socklen_t *ret_addr_len)
{
	struct parasite_rpc *rpc = calloc(1, sizeof(*rpc));
	int fd;

	if (!rpc)
		return -ENOMEM;
	fd = listen_in_task_netns(pid, ret_addr, ret_addr_len);
	if (fd < 0) {
		free(rpc);
		return fd;
	}
	rpc->pid = pid;
	rpc->listen_fd = fd;
	rpc->sock_fd = -EBADF;
	rpc->watch = watch;
	rpc->opaque = opaque;
	*ret_rpc = rpc;
	return 0;
}

/* Waits until fd is readable, asking the watch callback between slices: a parasite that
 * crashed never answers. Returns 0, or -errno (logged). */
static int wait_readable(struct parasite_rpc *rpc, int fd)
{
	int waited = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ret;

		ret = poll(&pfd, 1, POLL_SLICE_MS);
		if (ret < 0 && errno != EINTR)
			return pr_errno("cannot poll the control socket of task %d", rpc->pid);
		if (ret > 0)
			return 0;
		ret = rpc->watch(rpc->opaque);
		if (ret < 0)
			return ret;
		waited += POLL_SLICE_MS;
		if (waited >= PARASITE_TIMEOUT_MS) {
			pr_err("parasite in task %d did not answer in %d ms", rpc->pid,
			       PARASITE_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
	}
}

int parasite_rpc_accept(struct parasite_rpc *rpc)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd, ret;

		ret = wait_readable(rpc, rpc->listen_fd);
		if (ret < 0)
			return ret;
		fd = accept4(rpc->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (fd < 0)
			return pr_errno("cannot accept the parasite of task %d", rpc->pid);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		    cred.pid == rpc->pid) {
			rpc->sock_fd = fd;
			close(rpc->listen_fd);
			rpc->listen_fd = -EBADF;
			return 0;
		}
		pr_warn("refused a connection from pid %d on the socket of task %d", (int)cred.pid,
			rpc->pid);
		close(fd);
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
	case PARASITE_CMD_LIST_FDS:
		return "LIST_FDS";
	default:
		return "?";
	}
}

int parasite_rpc_send(struct parasite_rpc *rpc, uint32_t cmd, const void *payload, uint32_t len)
{
	struct parasite_msg_hdr hdr = {.cmd = cmd, .len = len};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};

	if (sendmsg(rpc->sock_fd, &msg, MSG_NOSIGNAL) < 0)
		return pr_errno("cannot send %s to the parasite in task %d", cmd_name(cmd),
				rpc->pid);
	return 0;
}

static void print_parasite_log(const struct parasite_rpc *rpc, const void *payload, size_t len)
{
	struct parasite_log rec;
	enum log_level level;

	if (len < sizeof(rec))
		return;
	memcpy(&rec, payload, sizeof(rec));
	rec.text[sizeof(rec.text) - 1] = '\0';
	level = rec.level > LOG_DEBUG ? LOG_DEBUG : (enum log_level)rec.level;
	log_print(level, NULL, 0, 0, "parasite[%d]: %s", rpc->pid, rec.text);
}

/* The fds of one message, all closed on every error path. */
static size_t take_fds(struct msghdr *msg, int *fds, size_t max_fds)
{
	size_t n_fds = 0;

	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t n_in;
		int *data;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n_in = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		data = (int *)CMSG_DATA(cmsg);
		for (size_t k = 0; k < n_in; k++) {
			if (fds && n_fds < max_fds)
				fds[n_fds++] = data[k];
			else
				close(data[k]);
		}
	}
	return n_fds;
}

/* Checks one received message against the reply expected. Returns 0 for the reply, 1 for a
 * log record, or -errno (logged). */
static int check_message(const struct parasite_rpc *rpc, const struct msghdr *msg, ssize_t n,
			 const struct parasite_msg_hdr *hdr, uint32_t cmd)
{
	if (n == 0) {
		pr_err("parasite in task %d closed the control socket", rpc->pid);
		return -EPIPE;
	}
	if ((size_t)n < sizeof(*hdr) || hdr->len != (size_t)n - sizeof(*hdr)) {
		pr_err("malformed message from the parasite in task %d", rpc->pid);
		return -EBADMSG;
	}
	if (msg->msg_flags & MSG_CTRUNC) {
		/* the kernel drops passed fds that minicr has no room for */
		pr_err("fds from the parasite in task %d were cut off (minicr's fd limit?)",
		       rpc->pid);
		return -EBADMSG;
	}
	if (msg->msg_flags & MSG_TRUNC) {
		pr_err("truncated message from the parasite in task %d", rpc->pid);
		return -EBADMSG;
	}
	if (hdr->cmd == PARASITE_CMD_LOG)
		return 1;
	if (hdr->cmd != cmd) {
		pr_err("parasite in task %d answered %s to %s", rpc->pid, cmd_name(hdr->cmd),
		       cmd_name(cmd));
		return -EBADMSG;
	}
	return 0;
}

int parasite_rpc_recv(struct parasite_rpc *rpc, uint32_t cmd, int *ret_remote, void *buf,
		      size_t buf_len, size_t *ret_len, int *fds, size_t max_fds, size_t *ret_n_fds)
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
		size_t n_fds, payload_len;
		ssize_t n;
		int ret;

		ret = wait_readable(rpc, rpc->sock_fd);
		if (ret < 0)
			return ret;
		n = recvmsg(rpc->sock_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return pr_errno("cannot receive from the parasite in task %d", rpc->pid);
		n_fds = take_fds(&msg, fds, max_fds);
		ret = check_message(rpc, &msg, n, &in.hdr, cmd);
		if (ret != 0) {
			if (ret == 1)
				print_parasite_log(rpc, in.bytes + sizeof(in.hdr), in.hdr.len);
			close_all(fds, n_fds);
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
			close_all(fds, n_fds);
		*ret_remote = in.hdr.ret;
		return 0;
	}
}

struct parasite_rpc *parasite_rpc_free(struct parasite_rpc *rpc)
{
	if (!rpc)
		return NULL;
	if (rpc->sock_fd >= 0)
		close(rpc->sock_fd);
	if (rpc->listen_fd >= 0)
		close(rpc->listen_fd);
	free(rpc);
	return NULL;
}
