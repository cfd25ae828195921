/* fd/restore-late.c: the tree-wide meeting where late files are opened and handed out (see
 * restore-late.h). Messages are SOCK_SEQPACKET records: a check-in carries the task's index
 * and one fd, the end of its reply pair; a reply carries up to LATE_BATCH file indices and as
 * many fds, and an empty reply ends the list. */
#define LOG_PREFIX "restore: "
#include "fd/restore-late.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/kind.h"
#include "fd/restore-file.h"
#include "image-set/image-set.h"

/* fds per reply: below the kernel's SCM_MAX_FD (253). */
#define LATE_BATCH 200

struct restore_late {
	const struct image_set *set;
	int root_fd; /* the root's end: check-ins arrive here */
	int task_fd; /* every task's end */
	int min_fd;  /* received fds are moved at or above this number */
};

struct checkin {
	uint32_t task_idx;
};

struct reply {
	uint32_t n;
	uint32_t files[LATE_BATCH];
};

static bool opens_late(const FileEntry *fe)
{
	const struct fd_kind *kind = fd_kind_by_type(fe->type);

	return kind && kind->opens_late;
}

bool restore_late_needed(const struct image_set *set)
{
	for (size_t i = 0; i < set->n_files; i++) {
		const struct fd_kind *kind = fd_kind_by_type(set->files[i]->type);

		if (kind && (kind->opens_late || kind->after_install_needs_tree))
			return true;
	}
	return false;
}

struct restore_late *restore_late_free(struct restore_late *l)
{
	if (!l)
		return NULL;
	if (l->root_fd >= 0)
		close(l->root_fd);
	if (l->task_fd >= 0)
		close(l->task_fd);
	free(l);
	return NULL;
}

/* Moves fd at or above min_fd. Returns the new fd or -errno (logged); fd is closed. */
static int move_up(int fd, int min_fd)
{
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	int r = moved < 0 ? pr_errno("cannot move fd %d above %d", fd, min_fd) : moved;

	close(fd);
	return r;
}

int restore_late_new(const struct image_set *set, struct restore_late **ret)
{
	struct restore_late *l = calloc(1, sizeof(*l));
	int pair[2];

	if (!l)
		return -ENOMEM;
	l->set = set;
	l->min_fd = set->max_fd + 1;
	l->root_fd = l->task_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		int r = pr_errno("cannot make the socket pair of the late files");

		free(l);
		return r;
	}
	l->root_fd = move_up(pair[0], l->min_fd);
	l->task_fd = move_up(pair[1], l->min_fd);
	if (l->root_fd < 0 || l->task_fd < 0) {
		int r = l->root_fd < 0 ? l->root_fd : l->task_fd;

		restore_late_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* Sends a record with n fds (n may be 0). Returns 0 or -errno (logged). */
static int send_fds(int sock, const void *data, size_t len, const int *fds, size_t n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * LATE_BATCH)] = {0};
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)len)
		return pr_errno("cannot send %zu late file(s)", n);
	return 0;
}

/* Receives a record of at most len bytes and its fds (O_CLOEXEC). Returns the number of fds,
 * -EPROTO for a short or truncated record, or -errno (logged); -ECONNRESET, not logged, at
 * the end of the stream. */
static int recv_fds(int sock, void *data, size_t len, size_t min_len, int *fds, size_t max)
{
	char cbuf[CMSG_SPACE(sizeof(int) * LATE_BATCH)];
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t got;
	size_t n = 0;

	do
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return pr_errno("cannot receive late files");
	if (got == 0)
		return -ECONNRESET; /* the root gave up, and said why */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (n < max)
					fds[n++] = fd;
				else
					close(fd);
			}
		}
	if ((size_t)got < min_len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		pr_err("cannot receive late files: malformed record of %zd bytes", got);
		return -EPROTO;
	}
	return (int)n;
}

/* The late files task task_idx holds, once each: their indices into files[]. */
static size_t late_files_of(const struct image_set *set, size_t task_idx, bool *seen,
			    uint32_t *files)
{
	const struct restore_task *task = &set->tasks[task_idx];
	size_t n = 0;

	for (size_t k = 0; k < task->n_fds; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);

		if (f >= 0 && !seen[f] && opens_late(set->files[f])) {
			seen[f] = true;
			files[n++] = (uint32_t)f;
		}
	}
	for (size_t i = 0; i < n; i++)
		seen[files[i]] = false;
	return n;
}

/* Root: sends task its late files over reply, then an empty record. */
static int send_task(struct restore_late *l, int reply, size_t task_idx, const int *opened,
		     bool *seen, uint32_t *files)
{
	size_t n = late_files_of(l->set, task_idx, seen, files);
	struct reply msg;
	int fds[LATE_BATCH];

	for (size_t from = 0; from < n; from += LATE_BATCH) {
		size_t k = n - from < LATE_BATCH ? n - from : LATE_BATCH;
		int r;

		msg.n = (uint32_t)k;
		for (size_t i = 0; i < k; i++) {
			msg.files[i] = files[from + i];
			fds[i] = opened[files[from + i]];
		}
		r = send_fds(reply, &msg, offsetof(struct reply, files) + k * sizeof(uint32_t), fds,
			     k);
		if (r < 0)
			return r;
	}
	msg.n = 0;
	return send_fds(reply, &msg, offsetof(struct reply, files), NULL, 0);
}

/* Root: every other task's check-in, then the late files opened and handed out. */
static int meet_as_root(struct restore_late *l, struct fd_restore_ctx *ctx, int *fds)
{
	const struct image_set *set = l->set;
	size_t n_others = set->n_tasks - 1;
	cleanup_free int *replies = calloc(set->n_tasks, sizeof(int));
	cleanup_free bool *seen = calloc(set->n_files ? set->n_files : 1, sizeof(bool));
	cleanup_free uint32_t *files = calloc(set->n_files ? set->n_files : 1, sizeof(uint32_t));
	size_t got = 0;
	int r = 0;

	if (!replies || !seen || !files)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_tasks; i++)
		replies[i] = -1;
	/* (1) every task exists once each has checked in */
	while (got < n_others && r == 0) {
		struct checkin in;
		int reply;

		r = recv_fds(l->root_fd, &in, sizeof(in), sizeof(in), &reply, 1);
		if (r < 0)
			break;
		if (r != 1 || in.task_idx == 0 || in.task_idx >= set->n_tasks ||
		    replies[in.task_idx] >= 0) {
			if (r == 1)
				close(reply);
			pr_err("cannot hand out late files: bad check-in of task %u", in.task_idx);
			r = -EPROTO;
			break;
		}
		replies[in.task_idx] = reply;
		got++;
		r = 0;
	}
	/* (2) the late files, each opened once */
	if (r == 0)
		r = restore_fault("late");
	for (size_t i = 0; i < set->n_files && r == 0; i++) {
		if (!opens_late(set->files[i]))
			continue;
		r = fd_restore_file(ctx, set->files[i], &fds[i]);
		if (r == 0 && fds[i] < l->min_fd) {
			fds[i] = move_up(fds[i], l->min_fd);
			r = fds[i] < 0 ? fds[i] : 0;
		}
	}
	/* (3) each task gets its own; the root keeps those it holds */
	for (size_t k = 1; k < set->n_tasks; k++) {
		if (r == 0 && replies[k] >= 0)
			r = send_task(l, replies[k], k, fds, seen, files);
		if (replies[k] >= 0)
			close(replies[k]);
	}
	if (r == 0) {
		size_t n = late_files_of(set, 0, seen, files);

		for (size_t i = 0; i < n; i++)
			seen[files[i]] = true;
	}
	for (size_t i = 0; i < set->n_files; i++)
		if (fds[i] >= 0 && (r < 0 || !seen[i])) {
			close(fds[i]);
			fds[i] = -1;
		}
	return r;
}

/* Any other task: checks in, then takes its late files until the empty record. */
static int meet_as_task(struct restore_late *l, size_t task_idx, int *fds)
{
	struct checkin in = {.task_idx = (uint32_t)task_idx};
	cleanup_close int mine = -EBADF, theirs = -EBADF;
	int pair[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return pr_errno("cannot make the late-file pair of task %zu", task_idx);
	mine = pair[0];
	theirs = pair[1];
	r = send_fds(l->task_fd, &in, sizeof(in), &theirs, 1);
	if (r < 0)
		return r;
	close(TAKE_FD(theirs));
	for (;;) {
		struct reply msg;
		int got[LATE_BATCH];

		r = recv_fds(mine, &msg, sizeof(msg), offsetof(struct reply, files), got,
			     LATE_BATCH);
		if (r < 0)
			return r;
		if (msg.n == 0 && r == 0)
			return 0;
		if ((size_t)r != msg.n || msg.n > LATE_BATCH) {
			for (int i = 0; i < r; i++)
				close(got[i]);
			pr_err("cannot receive late files: %d fds for %u files", r, msg.n);
			return -EPROTO;
		}
		for (uint32_t i = 0; i < msg.n; i++) {
			uint32_t f = msg.files[i];

			if (f >= l->set->n_files || fds[f] >= 0) {
				close(got[i]);
				continue;
			}
			fds[f] = got[i] >= l->min_fd ? got[i] : move_up(got[i], l->min_fd);
			if (fds[f] < 0)
				return fds[f];
		}
	}
}

int restore_late_meet(struct restore_late *l, size_t task_idx, struct fd_restore_ctx *ctx, int *fds)
{
	int r;

	for (size_t i = 0; i < l->set->n_files; i++)
		fds[i] = -1;
	r = task_idx == 0 ? meet_as_root(l, ctx, fds) : meet_as_task(l, task_idx, fds);
	if (r < 0)
		for (size_t i = 0; i < l->set->n_files; i++)
			if (fds[i] >= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
	return r;
}
