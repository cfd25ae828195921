/* fd/inotify.c: inotify instances. Dump: every watch of fdinfo's "inotify wd:" lines, with its
 * mask and the watched file (fd/fsnotify-target.c: by path, or by the fd of the task holding a
 * file unlinked since). Restore: inotify_init1() with the table; each watch added with its own
 * wd (INOTIFY_IOC_SETNEXTWD, then inotify_add_watch on "/proc/self/fd/N" of the file reopened
 * O_PATH); the watches on unlinked files in after_install of the dumping task, which holds
 * them. Events queued at dump are not kept (a warning says how many bytes); the events the
 * restore itself causes (files reopened, unlinked files made again) are read away before the
 * task runs. */
#define LOG_PREFIX "fd-inotify: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/fsnotify-target.h"
#include "image-set/image-set.h"

#ifndef INOTIFY_IOC_SETNEXTWD
#define INOTIFY_IOC_SETNEXTWD _IOW('I', 0, int32_t) /* CONFIG_CHECKPOINT_RESTORE */
#endif

static bool inotify_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:inotify") == 0 && p->fdinfo;
}

/* ---- dump ------------------------------------------------------------------------------- */

static int watch_cmp(const void *a, const void *b)
{
	const InotifyWatch *x = *(InotifyWatch *const *)a, *y = *(InotifyWatch *const *)b;

	return (x->wd > y->wd) - (x->wd < y->wd);
}

/* Queued events are not kept: say so. */
static void warn_queued(const struct fd_params *p, const char *kind)
{
	int queued = 0;

	if (ioctl(p->local_fd, FIONREAD, &queued) == 0 && queued > 0)
		pr_warn("%s fd %d of task %d: %d bytes of queued events are not kept", kind, p->fd,
			(int)p->pid, queued);
}

static int dump_watch(struct fd_dump_ctx *ctx, struct fsnotify_targets *targets,
		      const struct fd_params *p, const char *line, size_t len, InotifyWatch **ret)
{
	InotifyWatch *w = FD_DUMP_NEW(ctx, InotifyWatch, INOTIFY_WATCH__INIT);
	struct inotify_wd wd;
	char what[48];
	int unlinked_fd = -1, r;

	if (!w)
		return -ENOMEM;
	if (inotify_parse_wd(line, len, &wd) < 0) {
		pr_err("cannot parse a watch of inotify fd %d of task %d: '%.*s'", p->fd,
		       (int)p->pid, (int)len, line);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "inotify watch %d", wd.wd);
	r = fsnotify_target_inode(targets, what, wd.sdev, &wd.handle, &w->reg, &unlinked_fd);
	if (r < 0)
		return r;
	w->wd = wd.wd;
	w->has_mask = true;
	w->mask = wd.mask;
	if (!w->reg) {
		w->has_unlinked_fd = true;
		w->unlinked_fd = unlinked_fd;
	}
	*ret = w;
	return 0;
}

static int inotify_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	InotifyFileEntry *ie = FD_DUMP_NEW(ctx, InotifyFileEntry, INOTIFY_FILE_ENTRY__INIT);
	struct fsnotify_targets *targets;
	size_t cursor = 0, len, line_len, n = 0;
	const char *text, *line;
	int r;

	if (!ie)
		return -ENOMEM;
	r = fd_params_fdinfo(ctx, p, &text, &len);
	if (r < 0)
		return r;
	while (fdinfo_next_line(text, len, INOTIFY_WD_PREFIX, &cursor, &line, &line_len) == 1)
		n++;
	ie->watches = fd_dump_alloc(ctx, (n ? n : 1) * sizeof(*ie->watches));
	targets = fsnotify_targets_new(ctx, p);
	if (!ie->watches || !targets) {
		fsnotify_targets_free(targets);
		return -ENOMEM;
	}
	cursor = 0;
	while (r == 0 && ie->n_watches < n &&
	       fdinfo_next_line(text, len, INOTIFY_WD_PREFIX, &cursor, &line, &line_len) == 1) {
		r = dump_watch(ctx, targets, p, line, line_len, &ie->watches[ie->n_watches]);
		if (r == 0)
			ie->n_watches++;
	}
	fsnotify_targets_free(targets);
	if (r < 0)
		return r;
	qsort(ie->watches, ie->n_watches, sizeof(*ie->watches), watch_cmp);
	warn_queued(p, "inotify");
	ie->has_pid = true;
	ie->pid = p->pid;
	fe->inotify = ie;
	return 0;
}

/* ---- restore ---------------------------------------------------------------------------- */

static int inotify_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const InotifyFileEntry *ie = fe->inotify;
	const struct restore_task *task = NULL;

	if (!ie || !ie->has_pid)
		return image_set_bad(set, "files.img record %zu: inotify file %u has no task", rec,
				     fe->id);
	for (size_t i = 0; i < set->n_tasks && !task; i++)
		if (set->tasks[i].pst->pid == ie->pid)
			task = &set->tasks[i];
	if (!task)
		return image_set_bad(set,
				     "files.img record %zu: inotify file %u names task %d, absent "
				     "from pstree.img",
				     rec, fe->id, ie->pid);
	for (size_t i = 0; i < ie->n_watches; i++) {
		const InotifyWatch *w = ie->watches[i];
		FileEntry watched = *fe;
		bool found = false;
		int r;

		if (w->wd <= 0 || (i > 0 && w->wd <= ie->watches[i - 1]->wd))
			return image_set_bad(
			    set,
			    "files.img record %zu: inotify file %u: watch %d out of "
			    "order",
			    rec, fe->id, w->wd);
		if (w->reg) {
			watched.reg = w->reg;
			if ((r = image_set_check_reg(set, rec, &watched)) < 0)
				return r;
			continue;
		}
		for (size_t k = 0; k < task->n_fds && w->has_unlinked_fd && !found; k++)
			found = task->fds[k]->fd == w->unlinked_fd;
		if (!found)
			return image_set_bad(
			    set,
			    "files.img record %zu: inotify file %u: watch %d names "
			    "no file",
			    rec, fe->id, w->wd);
	}
	return 0;
}

/* Adds watch w on the file behind path_fd with its own wd. */
static int add_watch(int fd, const InotifyWatch *w, int path_fd)
{
	char path[32];
	int wd;

	if (ioctl(fd, INOTIFY_IOC_SETNEXTWD, w->wd) < 0)
		return pr_errno("cannot set the next inotify watch to %d", w->wd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", path_fd);
	wd = inotify_add_watch(fd, path, w->mask);
	if (wd < 0)
		return pr_errno("cannot add inotify watch %d (mask %#x)", w->wd, w->mask);
	if (wd != w->wd) {
		pr_err("cannot add inotify watch %d: the kernel gave %d", w->wd, wd);
		return -EEXIST;
	}
	return 0;
}

static int inotify_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const InotifyFileEntry *ie = fe->inotify;
	cleanup_close int fd = -EBADF;
	int r;

	fd = inotify_init1(IN_CLOEXEC | ((fe->flags & O_NONBLOCK) ? IN_NONBLOCK : 0));
	if (fd < 0)
		return pr_errno("cannot create an inotify instance for file %u", fe->id);
	for (size_t i = 0; i < ie->n_watches; i++) {
		cleanup_close int path_fd = -EBADF;

		if (!ie->watches[i]->reg)
			continue;
		path_fd = fsnotify_target_open(ctx, ie->watches[i]->reg);
		if (path_fd < 0)
			return path_fd;
		r = add_watch(fd, ie->watches[i], path_fd);
		if (r < 0)
			return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Reads away the events the restore caused. */
static int drain(int fd, pid_t pid)
{
	int flags = fcntl(fd, F_GETFL);
	char buf[4096];
	ssize_t n;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return pr_errno("cannot read the restore's events from inotify fd %d of task %d",
				fd, (int)pid);
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
	if (fcntl(fd, F_SETFL, flags) < 0)
		return pr_errno("cannot set the flags of inotify fd %d of task %d", fd, (int)pid);
	return 0;
}

static int inotify_after_install(const struct fd_install_ctx *t, const FileEntry *fe, int fd)
{
	const InotifyFileEntry *ie = fe->inotify;
	pid_t pid = fd_install_pid(t);
	int r;

	if (ie->pid != pid)
		return 0;
	for (size_t i = 0; i < ie->n_watches; i++)
		if (!ie->watches[i]->reg &&
		    (r = add_watch(fd, ie->watches[i], ie->watches[i]->unlinked_fd)) < 0)
			return r;
	/* the next watch gets one past the last (the kernel's cursor itself is not shown) */
	if (ie->n_watches && ie->watches[ie->n_watches - 1]->wd < INT32_MAX &&
	    ioctl(fd, INOTIFY_IOC_SETNEXTWD, ie->watches[ie->n_watches - 1]->wd + 1) < 0)
		return pr_errno("cannot set the next watch of inotify fd %d of task %d", fd,
				(int)pid);
	return drain(fd, pid);
}

const struct fd_kind fd_kind_inotify = {
    .name = "inotify",
    .type = FD_TYPE__FD_TYPE_INOTIFY,
    .recognise = inotify_recognise,
    .dump = inotify_dump,
    .validate = inotify_validate,
    .open = inotify_open,
    .after_install = inotify_after_install,
};
