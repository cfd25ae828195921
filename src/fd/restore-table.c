/* restore-fds.c: open every file of the tree once in the root task, then install each task's
 * fds at their numbers. The table is placed wherever open() puts it; installing resolves
 * collisions by moving a table fd that sits on a wanted number, so the fd limit only has to
 * hold the table plus one task's fds at any time, not the sum of both. */
#define LOG_PREFIX "restore: "
#include "fd/restore-table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/parallel.h"
#include "base/fault.h"
#include "image-set/image-set.h"
#include "base/hmap.h"
#include "base/progress.h"
#include "base/util.h"
#include "fd/kind.h"
#include "fd/restore-late.h"
#include "fd/locks.h"

/* Below this many files a thread costs more to start than it saves. */
#define OPEN_PARALLEL_MIN 512

struct restore_fdtable {
	const struct image_set *set;
	int fd_limit;
	int *cur;	 /* per file index: the fd holding it, or -1 */
	int *who;	 /* per fd number below fd_limit: the file index held there, or -1 */
	bool *installed; /* per fd number: a dumped fd of this task */
	size_t *first_holder; /* per file index: the first task (image order) with an fd on it */
	struct restore_late *late; /* files opened once the tree exists; NULL when none */
	bool shell_job;
	int *late_fds;		   /* per file index, in a task: its late file's fd, or -1 */
	struct fd_locks_plan *locks; /* which task sets which lock */
	int root_fd, cwd_fd; /* a task's root and cwd kept for restore_fds_enter_fs(), or -1 */
};

struct restore_fdtable *restore_fds_free(struct restore_fdtable *t)
{
	if (!t)
		return NULL;
	if (t->cur)
		for (size_t i = 0; i < t->set->n_files; i++)
			if (t->cur[i] >= 0 && !(t->installed && t->installed[t->cur[i]]))
				close(t->cur[i]);
	closep(&t->root_fd);
	closep(&t->cwd_fd);
	free(t->cur);
	free(t->who);
	free(t->installed);
	free(t->first_holder);
	restore_late_free(t->late);
	if (t->late_fds)
		for (size_t i = 0; i < t->set->n_files; i++)
			if (t->late_fds[i] >= 0)
				close(t->late_fds[i]);
	free(t->late_fds);
	fd_locks_plan_free(t->locks);
	free(t);
	return NULL;
}

static void restore_fds_freep(struct restore_fdtable **t)
{
	restore_fds_free(*t);
}

static int open_file(struct fd_restore_ctx *ctx, const struct image_set *set,
		     struct restore_fdtable *t, size_t i, int fd_limit)
{
	int fd, r = fd_restore_file(ctx, set->files[i], &fd);

	if (r < 0)
		return r;
	if (fd >= fd_limit) {
		close(fd);
		pr_err("cannot restore file %u: fd %d is above the limit %d", set->files[i]->id, fd,
		       fd_limit);
		return -EMFILE;
	}
	t->cur[i] = fd;
	return fd_restore_ctx_note_file(ctx, set->files[i]->id, fd) < 0 ? -ENOMEM : 0;
}

/* Most kinds depend on nothing; a few (a tty slave on its master) name files to open first.
 * Kinds are trusted not to make cycles, but a bad image may: a file met again while its own
 * dependencies are being opened is refused. */
#define DEPS_MAX 64

static int open_one(struct fd_restore_ctx *ctx, const struct image_set *set,
		    struct restore_fdtable *t, bool *visiting, size_t i, int fd_limit)
{
	const FileEntry *fe = set->files[i];
	const struct fd_kind *kind = fd_kind_by_type(fe->type);
	uint32_t deps[DEPS_MAX];
	size_t n_deps;
	int r = 0;

	if (t->cur[i] >= 0 || (kind && kind->opens_late))
		return 0;
	n_deps = kind && kind->deps ? kind->deps(fe, deps, DEPS_MAX) : 0;
	if (n_deps > DEPS_MAX) {
		pr_err("cannot restore file %u: it depends on %zu files, more than %d", fe->id,
		       n_deps, DEPS_MAX);
		return -E2BIG;
	}
	visiting[i] = true;
	for (size_t k = 0; k < n_deps && r == 0; k++) {
		ssize_t d = image_set_file(set, deps[k]);

		if (d < 0 || visiting[d]) {
			pr_err("cannot restore file %u: file %u it depends on is %s", fe->id,
			       deps[k], d < 0 ? "missing" : "in a dependency cycle");
			r = -EINVAL;
		} else {
			r = open_one(ctx, set, t, visiting, (size_t)d, fd_limit);
		}
	}
	visiting[i] = false;
	return r < 0 ? r : open_file(ctx, set, t, i, fd_limit);
}

/* Files that need no other file of the table (plain files reopened by path): the bulk of a
 * large table, and the part worth opening on several threads. */
static bool opens_alone(const FileEntry *fe)
{
	const struct fd_kind *kind = fd_kind_by_type(fe->type);

	return kind && kind->opens_alone && kind->opens_alone(fe);
}

/* Makes this process's fd table hold n_files more fds up front: growing it while several
 * threads share it waits for an RCU grace period each time. */
static int grow_fd_table(size_t n_files, int fd_limit)
{
	cleanup_close int root_fd = open("/", O_PATH | O_CLOEXEC);
	size_t want = n_files + 64;
	int fd;

	if (root_fd < 0)
		return -errno;
	fd = fcntl(root_fd, F_DUPFD_CLOEXEC, want < (size_t)fd_limit ? (int)want : fd_limit - 1);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

struct open_job {
	struct fd_restore_ctx *ctx;
	const struct image_set *set;
	struct restore_fdtable *t;
};

/* Puts fd at number target when that is free, so installing it later costs nothing; returns
 * the fd to keep. Another thread's file may hold target: then fd stays where it is. */
static int place_at(int fd, int target)
{
	int moved;

	if (target < 0 || fd == target)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, target);
	if (moved == target) {
		close(fd);
		return moved;
	}
	if (moved >= 0)
		close(moved);
	return fd;
}

/* Opens what it can of one range, silently: a file that fails here is opened again by the
 * serial pass, which logs why. Each range writes only its own t->cur slots. */
static void open_range(void *opaque, size_t range, size_t from, size_t to)
{
	const struct open_job *job = opaque;

	(void)range;
	log_mute_thread(true);
	for (size_t i = from; i < to; i++) {
		const FileEntry *fe = job->set->files[i];
		int fd;

		if (!opens_alone(fe) || fd_restore_file(job->ctx, fe, &fd) < 0)
			continue;
		fd = place_at(fd, fd_restore_target(job->ctx, fe->id));
		if (fd >= job->t->fd_limit)
			close(fd);
		else
			job->t->cur[i] = fd;
	}
	log_mute_thread(false);
}

/* Opens the files that open alone on several threads. Best effort: whatever is not opened
 * here is left to the serial pass. */
static void open_in_parallel(struct fd_restore_ctx *ctx, const struct image_set *set,
			     struct restore_fdtable *t, size_t n_ranges)
{
	if (grow_fd_table(set->n_files, t->fd_limit) < 0)
		return;
	parallel_run(set->n_files, n_ranges, open_range,
		     &(struct open_job){.ctx = ctx, .set = set, .t = t});
}

/* Which task a file's once-only step (arming a timer) belongs to: the first that holds it. */
static int find_first_holders(struct restore_fdtable *t)
{
	const struct image_set *set = t->set;

	t->first_holder = malloc((set->n_files ? set->n_files : 1) * sizeof(size_t));
	if (!t->first_holder)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++)
		t->first_holder[i] = SIZE_MAX;
	for (size_t k = set->n_tasks; k-- > 0;)
		for (size_t j = 0; j < set->tasks[k].n_fds; j++)
			t->first_holder[image_set_file(set, set->tasks[k].fds[j]->file_id)] = k;
	return 0;
}

static int arm_async(const FileEntry *fe, int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_ASYNC) < 0 || fcntl(fd, F_SETFL, flags) < 0)
		return pr_errno("cannot arm O_ASYNC of file %u at fd %d", fe->id, fd);
	return 0;
}

int restore_fds_open(const struct image_set *set, const struct fd_restore_callbacks *cb,
		     int fd_limit, struct restore_fdtable **ret)
{
	cleanup(restore_fds_freep) struct restore_fdtable *t = calloc(1, sizeof(*t));
	/* the set is the one restored, for the kinds that read it */
	struct fd_restore_callbacks cbs = *cb;
	cleanup(fd_restore_ctx_freep) struct fd_restore_ctx *ctx = NULL;
	cleanup_free bool *visiting = NULL;
	struct progress progress;
	size_t n_ranges;
	int r;

	if (!t)
		return -ENOMEM;
	t->set = set;
	t->fd_limit = fd_limit;
	t->shell_job = cb->shell_job;
	t->root_fd = t->cwd_fd = -EBADF;
	t->cur = malloc((set->n_files ? set->n_files : 1) * sizeof(int));
	if (!t->cur)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++)
		t->cur[i] = -1;
	r = find_first_holders(t);
	if (r < 0)
		return r;
	cbs.set = set;
	ctx = fd_restore_ctx_new(&cbs);
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_data; i++) {
		const FileDataEntry *e = set->data[i];

		if (e->kind != FILE_DATA_KIND__FILE_DATA_KIND_FILE &&
		    e->kind != FILE_DATA_KIND__FILE_DATA_KIND_PIPE)
			continue;
		r = fd_restore_ctx_add_data(ctx, e);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			pr_err("invalid image set: file-data.img record %zu is malformed", i);
			return r;
		}
	}
	r = restore_fault("files");
	if (r < 0)
		return r;
	/* one context for all, so the ends of a pipe (and sharers of a memfd or an unlinked
	 * file) find each other; files that open alone go first, in parallel */
	n_ranges = parallel_n_ranges(set->n_files, OPEN_PARALLEL_MIN);
	if (n_ranges > 1 && set->n_tasks > 0) {
		open_in_parallel(ctx, set, t, n_ranges);
		for (size_t i = 0; i < set->n_files; i++)
			if (t->cur[i] >= 0 &&
			    fd_restore_ctx_note_file(ctx, set->files[i]->id, t->cur[i]) < 0)
				return -ENOMEM;
	}
	visiting = calloc(set->n_files ? set->n_files : 1, sizeof(*visiting));
	t->locks = fd_locks_plan_new(set);
	if (!visiting || !t->locks)
		return -ENOMEM;
	progress_start(&progress, "files opened", "files", set->n_files, 1);
	for (size_t i = 0; i < set->n_files; i++) {
		r = open_one(ctx, set, t, visiting, i, fd_limit);
		if (r < 0)
			break;
		progress_add(&progress, 1);
	}
	progress_end(&progress);
	if (r < 0)
		return r;
	if (restore_late_needed(set)) {
		r = restore_late_new(set, &t->late);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(t);
	return 0;
}

static int cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Moves the table fd at number n (file g) to another free number. */
static int relocate(struct restore_fdtable *t, int n)
{
	int g = t->who[n];
	int m = fcntl(n, F_DUPFD_CLOEXEC, 0);

	if (m < 0)
		return pr_errno("cannot move file %u away from fd %d", t->set->files[g]->id, n);
	if (m >= t->fd_limit) {
		close(m);
		errno = EMFILE;
		return pr_errno("cannot move file %u away from fd %d", t->set->files[g]->id, n);
	}
	close(n);
	t->who[n] = -1;
	t->who[m] = g;
	t->cur[g] = m;
	return 0;
}

/* The root file of the task when it must chroot: not the root of its mount namespace. */
static bool needs_chroot(const struct image_set *set, const FsEntry *fs)
{
	const RegFileEntry *reg;

	if (!fs->has_root_file_id)
		return false;
	reg = set->files[image_set_file(set, fs->root_file_id)]->reg;
	return !(reg && !reg->detached && reg->path && strcmp(reg->path, "/") == 0);
}

/* Enters root_fd (when set) and cwd_fd: fchdir to the root, chroot("."), then fchdir to the
 * cwd. */
static int enter_fs(const FsEntry *fs, const char *root_path, const char *cwd_path, int root_fd,
		    int cwd_fd)
{
	if (root_fd >= 0) {
		if (fchdir(root_fd) < 0)
			return pr_errno("cannot enter root '%s' of task %d", root_path, fs->pid);
		if (chroot(".") < 0)
			return pr_errno("cannot chroot task %d to '%s'", fs->pid, root_path);
	}
	if (cwd_fd >= 0 && fchdir(cwd_fd) < 0)
		return pr_errno("cannot enter cwd '%s' of task %d", cwd_path, fs->pid);
	return 0;
}

static const char *file_path(const struct image_set *set, bool has, uint32_t id)
{
	const FileEntry *fe = has ? set->files[image_set_file(set, id)] : NULL;

	return fe && fe->reg && fe->reg->path ? fe->reg->path : "?";
}

/* Step 3 of installing: the task's root, cwd and umask; with defer, root and cwd are only kept
 * (above every fd number of the tree) for restore_fds_enter_fs(). */
static int task_fs(struct restore_fdtable *t, const FsEntry *fs, bool defer)
{
	const struct image_set *set = t->set;
	int root_fd = needs_chroot(set, fs) ? t->cur[image_set_file(set, fs->root_file_id)] : -1;
	int cwd_fd = fs->has_cwd_file_id ? t->cur[image_set_file(set, fs->cwd_file_id)] : -1;

	if (fs->has_umask)
		umask((mode_t)fs->umask & 0777);
	if (!defer)
		return enter_fs(fs, file_path(set, fs->has_root_file_id, fs->root_file_id),
				file_path(set, fs->has_cwd_file_id, fs->cwd_file_id), root_fd,
				cwd_fd);
	if (root_fd >= 0 && (t->root_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, set->max_fd + 1)) < 0)
		return pr_errno("cannot keep the root of task %d", fs->pid);
	if (cwd_fd >= 0 && (t->cwd_fd = fcntl(cwd_fd, F_DUPFD_CLOEXEC, set->max_fd + 1)) < 0)
		return pr_errno("cannot keep the cwd of task %d", fs->pid);
	return 0;
}

int restore_fds_enter_fs(struct restore_fdtable *t, size_t task_idx)
{
	const struct image_set *set = t->set;
	const FsEntry *fs = set->tasks[task_idx].fs;
	int r =
	    enter_fs(fs, file_path(set, fs->has_root_file_id, fs->root_file_id),
		     file_path(set, fs->has_cwd_file_id, fs->cwd_file_id), t->root_fd, t->cwd_fd);

	closep(&t->root_fd);
	closep(&t->cwd_fd);
	t->root_fd = t->cwd_fd = -EBADF;
	return r;
}

/* What an after-install step sees of its task. */
struct fd_install_ctx {
	const struct restore_fdtable *table;
	const struct restore_task *task;
	size_t task_idx;
	struct hmap fd_of; /* (file_id, 0) -> fd number, filled on first use */
};

pid_t fd_install_pid(const struct fd_install_ctx *t)
{
	return t->task->pst->pid;
}

const FileEntry *fd_install_file(const struct fd_install_ctx *t, uint32_t file_id)
{
	ssize_t f = image_set_file(t->table->set, file_id);

	return f >= 0 ? t->table->set->files[f] : NULL;
}

bool fd_install_is_first_holder(const struct fd_install_ctx *t, uint32_t file_id)
{
	ssize_t f = image_set_file(t->table->set, file_id);

	return f >= 0 && t->table->first_holder[f] == t->task_idx;
}

int fd_install_fd_of(const struct fd_install_ctx *t, uint32_t file_id)
{
	struct hmap *fd_of = (struct hmap *)&t->fd_of; /* a cache: filled once, then read */
	struct hmap_slot *s;

	if (!fd_of->n && t->task->n_fds) {
		if (hmap_reserve(fd_of, t->task->n_fds) < 0)
			return -ENOMEM;
		for (size_t k = 0; k < t->task->n_fds; k++)
			if (!hmap_find(fd_of, t->task->fds[k]->file_id, 0) &&
			    hmap_put(fd_of, t->task->fds[k]->file_id, 0,
				     (size_t)t->task->fds[k]->fd) < 0)
				return -ENOMEM;
	}
	s = hmap_find(fd_of, file_id, 0);
	return s ? (int)s->value : -ENOENT;
}

/* Step 5 of installing: each file of the task whose kind has an after-install step, once;
 * O_ASYNC armed again; then the locks of its files. Locks go last: no fd of the task is closed
 * after them (closing any fd of an inode drops the process's POSIX locks on it). */
static int after_install(struct restore_fdtable *t, size_t task_idx)
{
	const struct image_set *set = t->set;
	const struct restore_task *task = &set->tasks[task_idx];
	struct fd_install_ctx ctx = {.table = t, .task = task, .task_idx = task_idx};
	cleanup_free bool *done = calloc(set->n_files ? set->n_files : 1, sizeof(*done));
	int r = 0;

	if (!done)
		return -ENOMEM;
	/* the last task, so the fault finds every other task's step done */
	if (task_idx == set->n_tasks - 1 && (r = restore_fault("after-install")) < 0)
		return r;
	for (size_t k = 0; k < task->n_fds && r == 0; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);
		const FileEntry *fe = set->files[f];
		const struct fd_kind *kind = fd_kind_by_type(fe->type);

		if (done[f] || !kind || !kind->after_install)
			continue;
		done[f] = true;
		r = kind->after_install(&ctx, fe, task->fds[k]->fd);
	}
	hmap_clear(&ctx.fd_of);
	/* O_ASYNC signals carry the fd number the flag was set at (si_fd), and the file was
	 * opened at another number: the first task holding a file arms it again at its first
	 * number there */
	memset(done, 0, set->n_files * sizeof(*done));
	for (size_t k = 0; k < task->n_fds && r == 0; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);

		if (!(set->files[f]->flags & O_ASYNC) || done[f] || t->first_holder[f] != task_idx)
			continue;
		done[f] = true;
		r = arm_async(set->files[f], task->fds[k]->fd);
	}
	memset(done, 0, set->n_files * sizeof(*done));
	for (size_t k = 0; k < task->n_fds && r == 0; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);

		if (done[f] || !set->files[f]->n_locks)
			continue;
		done[f] = true;
		r = fd_locks_restore(t->locks, set, task_idx, (size_t)f, task->fds[k]->fd);
	}
	return r;
}

int restore_fds_member_fs(struct restore_fdtable *t, size_t task_idx, bool defer_fs)
{
	return task_fs(t, t->set->tasks[task_idx].fs, defer_fs);
}

/* Meets the other tasks (restore-late.h) and puts the late files this task holds at their
 * numbers: those are free now, and the fds received sit above every dumped number. */
static int install_late(struct restore_fdtable *t, size_t task_idx)
{
	const struct image_set *set = t->set;
	const struct restore_task *task = &set->tasks[task_idx];
	struct fd_restore_callbacks cb = {.set = set, .shell_job = t->shell_job};
	cleanup(fd_restore_ctx_freep) struct fd_restore_ctx *ctx = NULL;
	int r;

	t->late_fds = malloc((set->n_files ? set->n_files : 1) * sizeof(int));
	if (!t->late_fds)
		return -ENOMEM;
	if (task_idx == 0) {
		/* late kinds open no path: the mounts are gone by now */
		ctx = fd_restore_ctx_new(&cb);
		if (!ctx)
			return -ENOMEM;
	}
	r = restore_late_meet(t->late, task_idx, ctx, t->late_fds);
	t->late = restore_late_free(t->late);
	/* the fds a kind kept in ctx sit at numbers the task may want: gone before placing */
	ctx = fd_restore_ctx_free(ctx);
	if (r < 0)
		return r;
	for (size_t k = 0; k < task->n_fds && r == 0; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);

		if (t->late_fds[f] >= 0)
			r = fd_restore_install(task->fds[k], t->late_fds[f]);
	}
	for (size_t i = 0; i < set->n_files; i++)
		if (t->late_fds[i] >= 0) {
			close(t->late_fds[i]);
			t->late_fds[i] = -1;
		}
	return r;
}

int restore_fds_install(struct restore_fdtable *t, size_t task_idx, bool defer_fs)
{
	const struct image_set *set = t->set;
	const struct restore_task *task = &set->tasks[task_idx];
	cleanup_free uint32_t *need = calloc(set->n_files ? set->n_files : 1, sizeof(*need));
	cleanup_free int *drop = NULL;
	size_t n_drop = 0;
	int r;

	t->who = malloc((size_t)t->fd_limit * sizeof(int));
	t->installed = calloc((size_t)t->fd_limit, sizeof(bool));
	if (!need || !t->who || !t->installed)
		return -ENOMEM;
	memset(t->who, 0xff, (size_t)t->fd_limit * sizeof(int));
	for (size_t k = 0; k < task->n_fds; k++)
		need[image_set_file(set, task->fds[k]->file_id)]++;
	if (task->fs->has_cwd_file_id)
		need[image_set_file(set, task->fs->cwd_file_id)]++;
	if (task->fs->has_root_file_id)
		need[image_set_file(set, task->fs->root_file_id)]++;
	/* step 1: drop the files this task does not use, in runs: a task of a large tree
	 * inherits every file of the tree and keeps a few */
	drop = malloc((set->n_files ? set->n_files : 1) * sizeof(*drop));
	if (!drop)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++) {
		if (t->cur[i] < 0)
			continue;
		if (!need[i]) {
			drop[n_drop++] = t->cur[i];
			t->cur[i] = -1;
		} else {
			t->who[t->cur[i]] = (int)i;
		}
	}
	qsort(drop, n_drop, sizeof(*drop), cmp_fd);
	close_all(drop, n_drop);
	/* step 2: each fd at its number */
	for (size_t k = 0; k < task->n_fds; k++) {
		const FdEntry *e = task->fds[k];
		int f = (int)image_set_file(set, e->file_id), n = e->fd, old = t->cur[f];

		if (old < 0)
			continue; /* a late file: placed once the tree has met */
		if (t->who[n] >= 0 && t->who[n] != f) {
			r = relocate(t, n);
			if (r < 0)
				return r;
			old = t->cur[f];
		}
		r = fd_restore_install(e, old);
		if (r < 0)
			return r;
		t->installed[n] = true;
		t->who[n] = f;
		if (old != n && !t->installed[old]) {
			close(old);
			t->who[old] = -1;
		}
		t->cur[f] = n;
		need[f]--;
	}
	/* step 3: cwd, root, umask; then nothing but the task's own fds stays open */
	r = task_fs(t, task->fs, defer_fs);
	if (r < 0)
		return r;
	n_drop = 0;
	for (size_t i = 0; i < set->n_files; i++) {
		if (t->cur[i] >= 0 && !t->installed[t->cur[i]])
			drop[n_drop++] = t->cur[i];
		t->cur[i] = -1;
	}
	qsort(drop, n_drop, sizeof(*drop), cmp_fd);
	close_all(drop, n_drop);
	/* step 4: the late files, once every task of the tree exists */
	if (t->late) {
		r = install_late(t, task_idx);
		if (r < 0)
			return r;
	}
	/* step 5: the kinds' own work once the table is exactly the task's */
	return after_install(t, task_idx);
}
