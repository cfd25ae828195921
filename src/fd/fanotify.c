/* fd/fanotify.c: fanotify groups. Dump: the group's flags and event flags, and every mark of
 * fdinfo: inode marks by the watched file (fd/fsnotify-target.c), mount marks by the root of
 * their mount, filesystem marks by the root of a mount of the filesystem; masks, ignore masks
 * and mark flags. Restore: fanotify_init() with the table; each mark added on
 * "/proc/self/fd/N" of its file reopened O_PATH (marks on unlinked files in after_install of
 * the dumping task, which holds them). Queued events are not kept (a warning says how many
 * bytes), nor pending permission events: the process waiting for one asks again when it runs. */
#define LOG_PREFIX "fd-fanotify: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fd/fsnotify-target.h"
#include "image-set/image-set.h"

static bool fanotify_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[fanotify]") == 0 && p->fdinfo;
}

/* ---- dump ------------------------------------------------------------------------------- */

static const char *const kind_names[] = {
    [FANOTIFY_MARK_KIND__FANOTIFY_MARK_INODE] = "inode",
    [FANOTIFY_MARK_KIND__FANOTIFY_MARK_MOUNT] = "mount",
    [FANOTIFY_MARK_KIND__FANOTIFY_MARK_FILESYSTEM] = "filesystem",
};

static int dump_mark(struct fsnotify_targets *targets, const struct fanotify_mark *m, size_t i,
		     FanotifyMark *fm)
{
	char what[48];
	int unlinked_fd = -1;

	fm->has_mflags = fm->has_mask = fm->has_ignored_mask = true;
	fm->mflags = m->mflags;
	fm->mask = m->mask;
	fm->ignored_mask = m->ignored_mask;
	switch (m->kind) {
	case FANOTIFY_MARK_INODE:
		fm->kind = FANOTIFY_MARK_KIND__FANOTIFY_MARK_INODE;
		snprintf(what, sizeof(what), "fanotify mark %zu (inode)", i);
		if (fsnotify_target_inode(targets, what, m->sdev, &m->handle, &fm->reg,
					  &unlinked_fd) < 0)
			return -ENOTSUP;
		if (!fm->reg) {
			fm->has_unlinked_fd = true;
			fm->unlinked_fd = unlinked_fd;
		}
		return 0;
	case FANOTIFY_MARK_MOUNT:
		fm->kind = FANOTIFY_MARK_KIND__FANOTIFY_MARK_MOUNT;
		snprintf(what, sizeof(what), "fanotify mark %zu (mount)", i);
		return fsnotify_target_mount(targets, what, m->mnt_id, 0, &fm->reg);
	case FANOTIFY_MARK_SB:
		fm->kind = FANOTIFY_MARK_KIND__FANOTIFY_MARK_FILESYSTEM;
		snprintf(what, sizeof(what), "fanotify mark %zu (filesystem)", i);
		return fsnotify_target_mount(targets, what, 0, m->sdev, &fm->reg);
	}
	return -EINVAL;
}

static int dump_lines(struct fd_dump_ctx *ctx, const struct fd_params *p, const char *text,
		      size_t len, FanotifyFileEntry *fa)
{
	struct fsnotify_targets *targets = fsnotify_targets_new(ctx, p);
	size_t cursor = 0, line_len, n = 0;
	bool has_group = false;
	const char *line;
	int r = 0;

	while (fdinfo_next_line(text, len, FANOTIFY_PREFIX, &cursor, &line, &line_len) == 1)
		n++;
	fa->marks = fd_dump_alloc(ctx, (n ? n : 1) * sizeof(*fa->marks));
	if (!targets || !fa->marks) {
		fsnotify_targets_free(targets);
		return -ENOMEM;
	}
	cursor = 0;
	while (r == 0 &&
	       fdinfo_next_line(text, len, FANOTIFY_PREFIX, &cursor, &line, &line_len) == 1) {
		struct fanotify_group g;
		struct fanotify_mark m;
		FanotifyMark *fm;

		switch (fanotify_parse_line(line, line_len, &g, &m)) {
		case 1:
			has_group = true;
			fa->has_flags = fa->has_event_flags = true;
			fa->flags = g.flags;
			fa->event_flags = g.event_flags;
			break;
		case 2:
			fm = FD_DUMP_NEW(ctx, FanotifyMark, FANOTIFY_MARK__INIT);
			if (!fm) {
				r = -ENOMEM;
				break;
			}
			r = dump_mark(targets, &m, fa->n_marks, fm);
			if (r == 0)
				fa->marks[fa->n_marks++] = fm;
			break;
		default:
			pr_err("cannot parse a line of fanotify fd %d of task %d: '%.*s'", p->fd,
			       (int)p->pid, (int)line_len, line);
			r = -EINVAL;
		}
	}
	fsnotify_targets_free(targets);
	if (r == 0 && !has_group) {
		pr_err("cannot dump fanotify fd %d of task %d: its fdinfo has no group line", p->fd,
		       (int)p->pid);
		r = -EINVAL;
	}
	return r;
}

static int fanotify_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	FanotifyFileEntry *fa = FD_DUMP_NEW(ctx, FanotifyFileEntry, FANOTIFY_FILE_ENTRY__INIT);
	const char *text;
	size_t len;
	int queued = 0, r;

	if (!fa)
		return -ENOMEM;
	r = fd_params_fdinfo(ctx, p, &text, &len);
	if (r < 0)
		return r;
	r = dump_lines(ctx, p, text, len, fa);
	if (r < 0)
		return r;
	if (ioctl(p->local_fd, FIONREAD, &queued) == 0 && queued > 0)
		pr_warn("fanotify fd %d of task %d: %d bytes of queued events are not kept", p->fd,
			(int)p->pid, queued);
	fa->has_pid = true;
	fa->pid = p->pid;
	fe->fanotify = fa;
	return 0;
}

/* ---- restore ---------------------------------------------------------------------------- */

static int fanotify_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const FanotifyFileEntry *fa = fe->fanotify;
	const struct restore_task *task = NULL;

	if (!fa || !fa->has_flags || !fa->has_pid)
		return image_set_bad(set, "files.img record %zu: fanotify file %u has no group",
				     rec, fe->id);
	for (size_t i = 0; i < set->n_tasks && !task; i++)
		if (set->tasks[i].pst->pid == fa->pid)
			task = &set->tasks[i];
	if (!task)
		return image_set_bad(set,
				     "files.img record %zu: fanotify file %u names task %d, "
				     "absent from pstree.img",
				     rec, fe->id, fa->pid);
	for (size_t i = 0; i < fa->n_marks; i++) {
		const FanotifyMark *m = fa->marks[i];
		FileEntry marked = *fe;
		bool found = false;
		int r;

		if (m->kind < FANOTIFY_MARK_KIND__FANOTIFY_MARK_INODE ||
		    m->kind > FANOTIFY_MARK_KIND__FANOTIFY_MARK_FILESYSTEM)
			return image_set_bad(set,
					     "files.img record %zu: fanotify file %u: mark %zu of "
					     "unknown kind %d",
					     rec, fe->id, i, (int)m->kind);
		if (m->reg) {
			marked.reg = m->reg;
			if ((r = image_set_check_reg(set, rec, &marked)) < 0)
				return r;
			continue;
		}
		for (size_t k = 0; k < task->n_fds && m->has_unlinked_fd && !found; k++)
			found = task->fds[k]->fd == m->unlinked_fd;
		if (!found || m->kind != FANOTIFY_MARK_KIND__FANOTIFY_MARK_INODE)
			return image_set_bad(
			    set,
			    "files.img record %zu: fanotify file %u: mark %zu names "
			    "no file",
			    rec, fe->id, i);
	}
	return 0;
}

/* Adds mark m on the file behind path_fd: its mask, then its ignore mask. */
static int add_mark(int fd, const FanotifyMark *m, int path_fd)
{
	unsigned int base = FAN_MARK_ADD | (m->mflags & FAN_MARK_EVICTABLE);
	char path[32];

	if (m->kind == FANOTIFY_MARK_KIND__FANOTIFY_MARK_MOUNT)
		base |= FAN_MARK_MOUNT;
	else if (m->kind == FANOTIFY_MARK_KIND__FANOTIFY_MARK_FILESYSTEM)
		base |= FAN_MARK_FILESYSTEM;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", path_fd);
	if (m->mask && fanotify_mark(fd, base, m->mask, AT_FDCWD, path) < 0)
		return pr_errno("cannot add a fanotify %s mark (mask %#x)", kind_names[m->kind],
				m->mask);
	if (m->ignored_mask) {
		unsigned int flags =
		    base | (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY) |
		    ((m->mflags & FAN_MARK_IGNORE) ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK);

		if (fanotify_mark(fd, flags, m->ignored_mask, AT_FDCWD, path) < 0)
			return pr_errno("cannot add the ignore mask %#x of a fanotify %s mark",
					m->ignored_mask, kind_names[m->kind]);
	}
	return 0;
}

static int fanotify_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const FanotifyFileEntry *fa = fe->fanotify;
	cleanup_close int fd = -EBADF;
	int r;

	/* the group's flags as they were (fdinfo shows them); close-on-exec comes after */
	fd = fanotify_init(fa->flags, fa->event_flags);
	if (fd < 0)
		return pr_errno("cannot create a fanotify group (flags %#x, event flags %#x) for "
				"file %u",
				fa->flags, fa->event_flags, fe->id);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return pr_errno("cannot set close-on-exec on fanotify file %u", fe->id);
	for (size_t i = 0; i < fa->n_marks; i++) {
		cleanup_close int path_fd = -EBADF;

		if (!fa->marks[i]->reg)
			continue;
		path_fd = fsnotify_target_open(ctx, fa->marks[i]->reg);
		if (path_fd < 0)
			return path_fd;
		r = add_mark(fd, fa->marks[i], path_fd);
		if (r < 0)
			return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int fanotify_after_install(const struct fd_install_ctx *t, const FileEntry *fe, int fd)
{
	const FanotifyFileEntry *fa = fe->fanotify;
	int r;

	if (fa->pid != fd_install_pid(t))
		return 0;
	for (size_t i = 0; i < fa->n_marks; i++)
		if (!fa->marks[i]->reg &&
		    (r = add_mark(fd, fa->marks[i], fa->marks[i]->unlinked_fd)) < 0)
			return r;
	return 0;
}

const struct fd_kind fd_kind_fanotify = {
    .name = "fanotify",
    .type = FD_TYPE__FD_TYPE_FANOTIFY,
    .recognise = fanotify_recognise,
    .dump = fanotify_dump,
    .validate = fanotify_validate,
    .open = fanotify_open,
    .after_install = fanotify_after_install,
};
