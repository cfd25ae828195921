/* fd/probe.c: per-fd facts of a task's fd table, gathered on several threads for large
 * tables. Each thread probes a contiguous range of fds and keeps its link texts in its own
 * buffer, so the threads share nothing they write. */
#define LOG_PREFIX "fd: "
#include "fd/probe.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/compat.h"
#include "fd/list.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/util.h"

/* Below this many fds a thread costs more to start than it saves. */
#define PROBE_PARALLEL_MIN 512
#define DELETED_SUFFIX	   " (deleted)"

struct text_buf {
	char *data;
	size_t len, cap;
};

/* What the threads share (read-only but for their own slots). */
struct probe_job {
	int fd_dirfd, fdinfo_dirfd;
	const struct fd_local *fds;
	struct fd_probe *probes;
	size_t *link_offs;	/* into the range's text, made pointers after the join */
	size_t *fdinfo_offs;	/* the same for fdinfo texts */
	struct text_buf *texts; /* one per range */
	int *errors;		/* per range: -ENOMEM left the range incomplete */
};

struct fd_probe_set {
	struct fd_probe *probes;
	size_t n;
	struct text_buf *texts; /* one per range; the links point into them */
	size_t n_texts;
};

static int text_append_len(struct text_buf *t, const char *s, size_t len, size_t *ret_off)
{

	if (t->len + len > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16384;
		char *bigger;

		while (cap < t->len + len)
			cap *= 2;
		bigger = realloc(t->data, cap);
		if (!bigger)
			return -ENOMEM;
		t->data = bigger;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, len);
	*ret_off = t->len;
	t->len += len;
	return 0;
}

static int text_append(struct text_buf *t, const char *s, size_t *ret_off)
{
	return text_append_len(t, s, strlen(s) + 1, ret_off);
}

static void fail(struct fd_probe *p, enum fd_probe_step step, int error)
{
	p->failed = step;
	p->error = error;
}

/* One statx for the stat fields and the mount id: the unique id where the kernel has it
 * (Linux 6.8+), else the old one. */
static int stat_local(int local_fd, struct fd_probe *p)
{
	struct statx stx;

	if (statx(local_fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID_UNIQUE, &stx) < 0)
		return -errno;
	p->st = (struct stat){
	    .st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
	    .st_ino = stx.stx_ino,
	    .st_mode = stx.stx_mode,
	    .st_nlink = stx.stx_nlink,
	    .st_uid = stx.stx_uid,
	    .st_gid = stx.stx_gid,
	    .st_rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor),
	    .st_size = (off_t)stx.stx_size,
	};
	if (stx.stx_mask & STATX_MNT_ID_UNIQUE)
		p->mnt_id_unique = stx.stx_mnt_id;
	else if (stx.stx_mask & STATX_MNT_ID)
		p->info.mnt_id = (uint32_t)stx.stx_mnt_id;
	return 0;
}

/* Files whose offset and flags the local copy tells as well as procfs (F_GETFL returns what
 * fdinfo shows but O_CLOEXEC, which the parasite reported). Other kinds (devices, anon inodes
 * with counters) read fdinfo. */
static bool info_from_local(const struct fd_local *l, const struct stat *st)
{
	mode_t type = st->st_mode & S_IFMT;

	return l->cloexec >= 0 && (type == S_IFREG || type == S_IFDIR || type == S_IFIFO ||
				   type == S_IFLNK || type == S_IFSOCK);
}

/* What a socket kind is recognised by: its family, type and protocol. */
static void read_socket_info(int local_fd, struct fd_probe *p)
{
	socklen_t len = sizeof(int);

	if (getsockopt(local_fd, SOL_SOCKET, SO_DOMAIN, &p->sock_family, &len) < 0 ||
	    (len = sizeof(int), getsockopt(local_fd, SOL_SOCKET, SO_TYPE, &p->sock_type, &len)) <
		0 ||
	    (len = sizeof(int),
	     getsockopt(local_fd, SOL_SOCKET, SO_PROTOCOL, &p->sock_protocol, &len)) < 0)
		fail(p, FD_PROBE_SOCKET, -errno);
}

static void read_local_info(int local_fd, struct fd_probe *p)
{
	int flags = fcntl(local_fd, F_GETFL);
	off_t pos;

	if (flags < 0)
		return fail(p, FD_PROBE_FLAGS, -errno);
	p->info.flags = (uint32_t)flags;
	pos = (flags & O_PATH) || S_ISSOCK(p->st.st_mode) ? 0 : lseek(local_fd, 0, SEEK_CUR);
	if (pos < 0 && errno != ESPIPE)
		return fail(p, FD_PROBE_OFFSET, -errno);
	p->info.pos = pos < 0 ? 0 : (uint64_t)pos;
}

/* Reads /proc/PID/fdinfo/N through the task's fdinfo directory into p->info, and keeps its
 * text for the fd's kind. Returns 0, or -ENOMEM when the text cannot be kept. */
static int read_fdinfo(int fdinfo_dirfd, int fd, struct fd_probe *p, struct text_buf *text,
		       size_t *ret_off)
{
	char name[16], buf[4096];
	cleanup_close int infofd = -EBADF;
	ssize_t len;
	int r;

	snprintf(name, sizeof(name), "%d", fd);
	infofd = openat(fdinfo_dirfd, name, O_RDONLY | O_CLOEXEC);
	if (infofd < 0) {
		fail(p, FD_PROBE_FDINFO_OPEN, -errno);
		return 0;
	}
	len = read_full(infofd, buf, sizeof(buf) - 1);
	if (len < 0) {
		fail(p, FD_PROBE_FDINFO_READ, (int)len);
		return 0;
	}
	if ((size_t)len == sizeof(buf) - 1) {
		/* long kind-specific tails (epoll, inotify): keep whole lines only; a kind that
		 * needs them all reads its own copy (fd_params_fdinfo) */
		char *nl = memrchr(buf, '\n', sizeof(buf) - 1);

		len = nl ? nl - buf + 1 : 0;
		p->fdinfo_is_head = true;
	}
	buf[len] = '\0';
	r = fdinfo_parse(buf, (size_t)len, &p->info);
	if (r < 0) {
		fail(p, FD_PROBE_FDINFO_PARSE, r);
		return 0;
	}
	p->has_fdinfo = true;
	p->fdinfo_len = (size_t)len;
	return text_append_len(text, buf, (size_t)len + 1, ret_off);
}

int fd_probe_read_link(int dirfd, const char *name, char *buf, size_t size, bool *ret_deleted)
{
	size_t suffix = sizeof(DELETED_SUFFIX) - 1;
	ssize_t len = readlinkat(dirfd, name, buf, size - 1);

	if (len < 0)
		return -errno;
	buf[len] = '\0';
	*ret_deleted = false;
	if ((size_t)len > suffix && strcmp(buf + len - suffix, DELETED_SUFFIX) == 0) {
		buf[len - suffix] = '\0';
		*ret_deleted = true;
	}
	return 0;
}

bool fd_probe_really_deleted(int dirfd, const char *root, const char *link, const struct stat *st)
{
	char path[PATH_MAX + 64];
	struct stat live;

	if (st->st_nlink == 0 || link[0] != '/')
		return true;
	if ((size_t)snprintf(path, sizeof(path), "%s%s" DELETED_SUFFIX, root, link) >= sizeof(path))
		return true;
	return fstatat(dirfd, path, &live, AT_SYMLINK_NOFOLLOW) < 0 || live.st_dev != st->st_dev ||
	       live.st_ino != st->st_ino;
}

static long fs_type_of(int local_fd)
{
	struct statfs sfs;

	/* a failure leaves 0: no kind that needs the type matches */
	return fstatfs(local_fd, &sfs) == 0 ? (long)sfs.f_type : 0;
}

/* Fills probe i; a failure of the fd is kept in the probe. Returns 0, or -ENOMEM when the
 * link cannot be stored. */
static int probe_one(const struct probe_job *job, struct text_buf *text, size_t i)
{
	const struct fd_local *l = &job->fds[i];
	struct fd_probe *p = &job->probes[i];
	char link[PATH_MAX];
	int ret;

	ret = stat_local(l->local_fd, p);
	if (ret < 0) {
		fail(p, FD_PROBE_STAT, ret);
		return 0;
	}
	if (info_from_local(l, &p->st))
		read_local_info(l->local_fd, p);
	else if (read_fdinfo(job->fdinfo_dirfd, l->fd, p, text, &job->fdinfo_offs[i]) < 0)
		return -ENOMEM;
	if (p->failed)
		return 0;
	if (S_ISFIFO(p->st.st_mode))
		p->fs_type = fs_type_of(l->local_fd);
	if (S_ISSOCK(p->st.st_mode) && !(p->info.flags & O_PATH)) {
		read_socket_info(l->local_fd, p);
		if (p->failed)
			return 0;
		/* what the kernel shows for a socket, without a procfs lookup */
		snprintf(link, sizeof(link), "socket:[%lu]", (unsigned long)p->st.st_ino);
	} else if (p->fs_type == PIPEFS_MAGIC) {
		/* what the kernel shows for a pipe, without a procfs lookup */
		snprintf(link, sizeof(link), "pipe:[%lu]", (unsigned long)p->st.st_ino);
	} else {
		char name[16];

		snprintf(name, sizeof(name), "%d", l->fd);
		ret = fd_probe_read_link(job->fd_dirfd, name, link, sizeof(link), &p->is_deleted);
		if (ret < 0) {
			fail(p, FD_PROBE_LINK, ret);
			return 0;
		}
		if (p->is_deleted && p->st.st_nlink > 0 &&
		    !fd_probe_really_deleted(job->fd_dirfd, "../root", link, &p->st)) {
			/* a live name that ends in " (deleted)" itself: the suffix was stripped
			 * from what readlink gave, so it fits again */
			strcat(link, DELETED_SUFFIX);
			p->is_deleted = false;
		}
	}
	if (!p->has_fdinfo && strncmp(link, "anon_inode:", 11) == 0) {
		/* an anon inode that looks like a regular file: its counters are only in fdinfo */
		if (read_fdinfo(job->fdinfo_dirfd, l->fd, p, text, &job->fdinfo_offs[i]) < 0)
			return -ENOMEM;
		if (p->failed)
			return 0;
	}
	if (!p->fs_type && strncmp(link, "/memfd:", 7) == 0)
		p->fs_type = fs_type_of(l->local_fd);
	return text_append(text, link, &job->link_offs[i]);
}

static void probe_range(void *opaque, size_t range, size_t from, size_t to)
{
	const struct probe_job *job = opaque;

	for (size_t i = from; i < to && !job->errors[range]; i++)
		job->errors[range] = probe_one(job, &job->texts[range], i);
}

int fd_probe_task(pid_t pid, int fd_dirfd, int fdinfo_dirfd, const struct fd_local *fds,
		  size_t n_fds, struct fd_probe_set **ret_set)
{
	cleanup(fd_probe_set_freep) struct fd_probe_set *set = NULL;
	cleanup_free size_t *link_offs = NULL, *fdinfo_offs = NULL;
	size_t n_ranges = parallel_n_ranges(n_fds, PROBE_PARALLEL_MIN);
	int errors[PARALLEL_MAX_THREADS] = {0};
	uint64_t start = monotonic_ns();
	struct probe_job job;

	set = calloc(1, sizeof(*set));
	link_offs = calloc(n_fds ? n_fds : 1, sizeof(*link_offs));
	fdinfo_offs = calloc(n_fds ? n_fds : 1, sizeof(*fdinfo_offs));
	if (set) {
		set->probes = calloc(n_fds ? n_fds : 1, sizeof(*set->probes));
		set->texts = calloc(n_ranges, sizeof(*set->texts));
	}
	if (!set || !link_offs || !fdinfo_offs || !set->probes || !set->texts)
		return pr_neg(-ENOMEM, "cannot probe the fds of task %d", (int)pid);
	set->n = n_fds;
	set->n_texts = n_ranges;
	job = (struct probe_job){
	    .fd_dirfd = fd_dirfd,
	    .fdinfo_dirfd = fdinfo_dirfd,
	    .fds = fds,
	    .probes = set->probes,
	    .link_offs = link_offs,
	    .fdinfo_offs = fdinfo_offs,
	    .texts = set->texts,
	    .errors = errors,
	};
	parallel_run(n_fds, n_ranges, probe_range, &job);
	for (size_t k = 0; k < n_ranges; k++)
		if (errors[k])
			return pr_neg(errors[k], "cannot probe the fds of task %d", (int)pid);
	/* the texts stopped growing: offsets become pointers */
	for (size_t k = 0; k < n_ranges; k++) {
		size_t from, to;

		parallel_range_bounds(n_fds, n_ranges, k, &from, &to);
		for (size_t i = from; i < to; i++) {
			struct fd_probe *p = &set->probes[i];

			if (p->failed)
				continue;
			p->link = set->texts[k].data + link_offs[i];
			if (p->has_fdinfo)
				p->fdinfo = set->texts[k].data + fdinfo_offs[i];
		}
	}
	pr_debug("task %d: probed %zu fds on %zu thread(s) in %.1f ms", (int)pid, n_fds, n_ranges,
		 (double)(monotonic_ns() - start) / 1e6);
	*ret_set = TAKE_PTR(set);
	return 0;
}

const struct fd_probe *fd_probe_at(const struct fd_probe_set *set, size_t i)
{
	return &set->probes[i];
}

int fd_probe_report(const struct fd_probe *p, pid_t pid, int fd)
{
	static const char *const what[] = {
	    [FD_PROBE_STAT] = "stat",
	    [FD_PROBE_FLAGS] = "read the flags of",
	    [FD_PROBE_OFFSET] = "read the offset of",
	    [FD_PROBE_FDINFO_OPEN] = "open fdinfo of",
	    [FD_PROBE_FDINFO_READ] = "read fdinfo of",
	    [FD_PROBE_FDINFO_PARSE] = "parse fdinfo of",
	    [FD_PROBE_LINK] = "read the link of",
	    [FD_PROBE_SOCKET] = "read the family of socket",
	};

	if (p->failed == FD_PROBE_OK || p->failed >= ARRAY_SIZE(what) || p->error >= 0)
		return pr_neg(-EINVAL, "fd %d of task %d: no probe failure to report", fd,
			      (int)pid);
	return pr_neg(p->error, "cannot %s fd %d of task %d", what[p->failed], fd, (int)pid);
}

struct fd_probe_set *fd_probe_set_free(struct fd_probe_set *set)
{
	if (!set)
		return NULL;
	for (size_t k = 0; k < set->n_texts; k++)
		free(set->texts[k].data);
	free(set->texts);
	free(set->probes);
	free(set);
	return NULL;
}
