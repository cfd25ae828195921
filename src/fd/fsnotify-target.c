/* fd/fsnotify-target.c: the files, mounts and filesystems inotify watches and fanotify marks
 * are on (see fsnotify-target.h). */
#define LOG_PREFIX "fd-fsnotify: "
#include "fd/fsnotify-target.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/epoll-parse.h"
#include "fd/probe.h"

/* Distinct superblocks watched by one fd: few. */
#define MOUNTS_MAX 16

struct fsnotify_targets {
	struct fd_dump_ctx *ctx;
	const struct fd_params *p;
	struct {
		uint32_t sdev;
		int fd; /* a mount root of it, or -1 when none is reachable */
		bool owned;
	} mounts[MOUNTS_MAX];
	size_t n_mounts;
};

struct fsnotify_targets *fsnotify_targets_new(struct fd_dump_ctx *ctx, const struct fd_params *p)
{
	struct fsnotify_targets *t = calloc(1, sizeof(*t));

	if (t) {
		t->ctx = ctx;
		t->p = p;
	}
	return t;
}

void fsnotify_targets_free(struct fsnotify_targets *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_mounts; i++)
		if (t->mounts[i].owned)
			close(t->mounts[i].fd);
	free(t);
}

static dev_t sdev_to_dev(uint32_t sdev)
{
	return makedev(fdinfo_sdev_major(sdev), fdinfo_sdev_minor(sdev));
}

/* An fd on filesystem sdev to decode handles through: a mount root, else an fd of the task on
 * it (the only way to a filesystem mounted nowhere but on a detached mount). -1 if none. */
static int fs_fd(struct fsnotify_targets *t, uint32_t sdev)
{
	const struct fd_params *fds;
	size_t n_fds, k;
	dev_t dev = sdev_to_dev(sdev);
	int fd;

	for (k = 0; k < t->n_mounts; k++)
		if (t->mounts[k].sdev == sdev)
			return t->mounts[k].fd;
	if (t->n_mounts == MOUNTS_MAX) {
		/* forget the oldest */
		if (t->mounts[0].owned)
			close(t->mounts[0].fd);
		memmove(&t->mounts[0], &t->mounts[1], (MOUNTS_MAX - 1) * sizeof(t->mounts[0]));
		t->n_mounts--;
	}
	k = t->n_mounts++;
	t->mounts[k].sdev = sdev;
	fd = fd_dump_open_mount(t->ctx, 0, major(dev), minor(dev));
	t->mounts[k].owned = fd >= 0;
	if (fd < 0) {
		n_fds = fd_dump_task_fds(t->ctx, &fds);
		for (size_t i = 0; i < n_fds && fd < 0; i++)
			if (fds[i].st.st_dev == dev)
				fd = fds[i].local_fd;
	}
	t->mounts[k].fd = fd;
	return fd;
}

/* fd_params of a local fd, as the probe would make them, for fd_dump_reg_path(). */
static int params_of(const struct fsnotify_targets *t, int fd, char *link, size_t link_size,
		     struct fd_params *ret)
{
	char name[32];
	struct statx stx;
	int r;

	*ret = (struct fd_params){.pid = t->p->pid, .fd = t->p->fd, .local_fd = fd, .link = link};
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID_UNIQUE, &stx) < 0)
		return -errno;
	ret->st = (struct stat){
	    .st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
	    .st_ino = stx.stx_ino,
	    .st_mode = stx.stx_mode,
	    .st_nlink = stx.stx_nlink,
	    .st_size = (off_t)stx.stx_size,
	    .st_rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor),
	};
	if (stx.stx_mask & STATX_MNT_ID_UNIQUE)
		ret->mnt_id_unique = stx.stx_mnt_id;
	else
		ret->info.mnt_id = (uint32_t)stx.stx_mnt_id;
	ret->info.flags = O_PATH;
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	r = fd_probe_read_link(AT_FDCWD, name, link, link_size, &ret->is_deleted);
	return r;
}

/* The path record of the file behind local fd (closed here). */
static int reg_of(struct fsnotify_targets *t, const char *what, int fd, RegFileEntry **ret_reg)
{
	FileEntry fe = FILE_ENTRY__INIT;
	struct fd_params p;
	char link[PATH_MAX];
	int r = params_of(t, fd, link, sizeof(link), &p);

	if (r < 0) {
		errno = -r;
		r = pr_errno("cannot dump %s of fd %d of task %d", what, t->p->fd, (int)t->p->pid);
	} else {
		r = fd_dump_reg_path(t->ctx, &p, &fe);
	}
	close(fd);
	if (r < 0)
		return r;
	*ret_reg = fe.reg;
	return 0;
}

/* open_by_handle_at() through fs_fd's mount. The kernel takes no O_PATH fd there (mount roots
 * are opened O_PATH, so no event reaches the tree's watchers) but takes the cwd: minicr enters
 * the directory for that one call. */
static int open_handle(int fs_fd, struct file_handle *fh)
{
	cleanup_close int cwd = -EBADF;
	int fd = open_by_handle_at(fs_fd, fh, O_PATH | O_CLOEXEC), saved;

	if (fd >= 0 || errno != EBADF)
		return fd;
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(fs_fd) < 0)
		return -1;
	fd = open_by_handle_at(AT_FDCWD, fh, O_PATH | O_CLOEXEC);
	saved = errno;
	if (fchdir(cwd) < 0)
		pr_warn("cannot go back to minicr's working directory: %m");
	errno = saved;
	return fd;
}

int fsnotify_target_inode(struct fsnotify_targets *t, const char *what, uint32_t sdev,
			  const struct fsnotify_handle *h, RegFileEntry **ret_reg, int *ret_fd)
{
	struct file_handle *fh;
	const struct fd_params *fds;
	size_t n_fds;
	struct stat st;
	int mount_fd = fs_fd(t, sdev), fd;

	if (mount_fd < 0) {
		pr_err(
		    "cannot dump %s of fd %d of task %d: its filesystem %u:%u is mounted nowhere "
		    "minicr can reach",
		    what, t->p->fd, (int)t->p->pid, fdinfo_sdev_major(sdev),
		    fdinfo_sdev_minor(sdev));
		return -ENOTSUP;
	}
	fh = malloc(sizeof(*fh) + h->bytes);
	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = h->bytes;
	fh->handle_type = h->type;
	memcpy(fh->f_handle, h->data, h->bytes);
	fd = open_handle(mount_fd, fh);
	free(fh);
	if (fd < 0)
		return pr_errno("cannot open %s of fd %d of task %d by its file handle", what,
				t->p->fd, (int)t->p->pid);
	if (fstat(fd, &st) < 0) {
		int r =
		    pr_errno("cannot stat %s of fd %d of task %d", what, t->p->fd, (int)t->p->pid);

		close(fd);
		return r;
	}
	if (S_ISLNK(st.st_mode)) {
		close(fd);
		pr_err("cannot dump %s of fd %d of task %d: it is on a symbolic link", what,
		       t->p->fd, (int)t->p->pid);
		return -ENOTSUP;
	}
	if (st.st_nlink > 0)
		return reg_of(t, what, fd, ret_reg);
	/* unlinked: only the fds that hold it reach it still */
	close(fd);
	n_fds = fd_dump_task_fds(t->ctx, &fds);
	for (size_t i = 0; i < n_fds; i++)
		if (fds[i].st.st_dev == st.st_dev && fds[i].st.st_ino == st.st_ino) {
			*ret_reg = NULL;
			*ret_fd = fds[i].fd;
			return 0;
		}
	pr_err("cannot dump %s of fd %d of task %d: it is on inode %lu, unlinked since, which no "
	       "fd of the task holds",
	       what, t->p->fd, (int)t->p->pid, (unsigned long)st.st_ino);
	return -ENOTSUP;
}

int fsnotify_target_mount(struct fsnotify_targets *t, const char *what, uint32_t mnt_id,
			  uint32_t sdev, RegFileEntry **ret_reg)
{
	dev_t dev = sdev_to_dev(sdev);
	int fd = mnt_id ? fd_dump_open_mount(t->ctx, mnt_id, 0, 0)
			: fd_dump_open_mount(t->ctx, 0, major(dev), minor(dev));

	if (fd == -ENOENT) {
		if (mnt_id)
			pr_err(
			    "cannot dump %s of fd %d of task %d: mount %u is in no mount table of "
			    "the tree",
			    what, t->p->fd, (int)t->p->pid, mnt_id);
		else
			pr_err("cannot dump %s of fd %d of task %d: filesystem %u:%u is mounted "
			       "nowhere minicr can reach",
			       what, t->p->fd, (int)t->p->pid, major(dev), minor(dev));
		return -ENOTSUP;
	}
	if (fd < 0)
		return fd;
	return reg_of(t, what, fd, ret_reg);
}

int fsnotify_target_open(struct fd_restore_ctx *ctx, const RegFileEntry *reg)
{
	return fd_restore_open_path(ctx, reg, O_PATH);
}
