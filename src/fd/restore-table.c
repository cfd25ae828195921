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
#include "base/util.h"

/* Below this many files a thread costs more to start than it saves. */
#define OPEN_PARALLEL_MIN 512

struct restore_fdtable {
	const struct restore_set *set;
	int fd_limit;
	int *cur;	 /* per file index: the fd holding it, or -1 */
	int *who;	 /* per fd number below fd_limit: the file index held there, or -1 */
	bool *installed; /* per fd number: a dumped fd of this task */
};

struct restore_fdtable *restore_fds_free(struct restore_fdtable *t)
{
	if (!t)
		return NULL;
	if (t->cur)
		for (size_t i = 0; i < t->set->n_files; i++)
			if (t->cur[i] >= 0 && !(t->installed && t->installed[t->cur[i]]))
				close(t->cur[i]);
	free(t->cur);
	free(t->who);
	free(t->installed);
	free(t);
	return NULL;
}

static void restore_fds_freep(struct restore_fdtable **t)
{
	restore_fds_free(*t);
}

static int open_one(struct fd_restore_ctx *ctx, const struct restore_set *set,
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
	return 0;
}

/* Files reopened by path (not unlinked) need no other file of the table: the bulk of a large
 * table, and the part worth opening on several threads. */
static bool opens_alone(const FileEntry *fe)
{
	return fe->type == FD_TYPE__FD_TYPE_REG && fe->reg && !fe->reg->unlinked;
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
	const struct restore_set *set;
	struct restore_fdtable *t;
	const int *target; /* per file: the number the root task wants it at, or -1 */
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
		fd = place_at(fd, job->target[i]);
		if (fd >= job->t->fd_limit)
			close(fd);
		else
			job->t->cur[i] = fd;
	}
	log_mute_thread(false);
}

/* Opens the files that open alone on several threads. Best effort: whatever is not opened
 * here is left to the serial pass. */
static void open_in_parallel(struct fd_restore_ctx *ctx, const struct restore_set *set,
			     struct restore_fdtable *t, size_t n_ranges)
{
	cleanup_free int *target = malloc(set->n_files * sizeof(*target));
	const struct restore_task *root = &set->tasks[0];

	if (!target || grow_fd_table(set->n_files, t->fd_limit) < 0)
		return;
	for (size_t i = 0; i < set->n_files; i++)
		target[i] = -1;
	for (size_t k = 0; k < root->n_fds; k++) {
		ssize_t f = restore_set_file(set, root->fds[k]->file_id);
		int n = root->fds[k]->fd;

		if (f >= 0 && n < t->fd_limit && (target[f] < 0 || n < target[f]))
			target[f] = n;
	}
	parallel_run(set->n_files, n_ranges, open_range,
		     &(struct open_job){.ctx = ctx, .set = set, .t = t, .target = target});
}

int restore_fds_open(const struct restore_set *set, fd_mount_root_fn mount_root, void *opaque,
		     int fd_limit, struct restore_fdtable **ret)
{
	cleanup(restore_fds_freep) struct restore_fdtable *t = calloc(1, sizeof(*t));
	struct fd_restore_callbacks cb = {.mount_root = mount_root, .opaque = opaque};
	cleanup(fd_restore_ctx_freep) struct fd_restore_ctx *ctx = NULL;
	size_t n_ranges;
	int r;

	if (!t)
		return -ENOMEM;
	t->set = set;
	t->fd_limit = fd_limit;
	t->cur = malloc((set->n_files ? set->n_files : 1) * sizeof(int));
	if (!t->cur)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++)
		t->cur[i] = -1;
	ctx = fd_restore_ctx_new(&cb);
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
	if (n_ranges > 1 && set->n_tasks > 0)
		open_in_parallel(ctx, set, t, n_ranges);
	for (size_t i = 0; i < set->n_files; i++) {
		if (t->cur[i] >= 0)
			continue;
		r = open_one(ctx, set, t, i, fd_limit);
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

/* Enters the task's root and cwd: fchdir to the root, chroot("."), then fchdir to the cwd. */
static int enter_fs(struct restore_fdtable *t, const FsEntry *fs)
{
	const struct restore_set *set = t->set;

	if (fs->has_root_file_id) {
		ssize_t f = restore_set_file(set, fs->root_file_id);
		const RegFileEntry *reg = set->files[f]->reg;
		bool is_ns_root = reg && !reg->detached && reg->path && strcmp(reg->path, "/") == 0;

		if (!is_ns_root) {
			if (fchdir(t->cur[f]) < 0)
				return pr_errno("cannot enter root '%s' of task %d",
						reg && reg->path ? reg->path : "?", fs->pid);
			if (chroot(".") < 0)
				return pr_errno("cannot chroot task %d to '%s'", fs->pid,
						reg && reg->path ? reg->path : "?");
		}
	}
	if (fs->has_cwd_file_id) {
		ssize_t f = restore_set_file(set, fs->cwd_file_id);

		if (fchdir(t->cur[f]) < 0)
			return pr_errno("cannot enter cwd '%s' of task %d",
					set->files[f]->reg && set->files[f]->reg->path
					    ? set->files[f]->reg->path
					    : "?",
					fs->pid);
	}
	if (fs->has_umask)
		umask((mode_t)fs->umask & 0777);
	return 0;
}

int restore_fds_enter_fs(struct restore_fdtable *t, size_t task_idx)
{
	return enter_fs(t, t->set->tasks[task_idx].fs);
}

int restore_fds_install(struct restore_fdtable *t, size_t task_idx)
{
	const struct restore_set *set = t->set;
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
		need[restore_set_file(set, task->fds[k]->file_id)]++;
	if (task->fs->has_cwd_file_id)
		need[restore_set_file(set, task->fs->cwd_file_id)]++;
	if (task->fs->has_root_file_id)
		need[restore_set_file(set, task->fs->root_file_id)]++;
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
		int f = (int)restore_set_file(set, e->file_id), n = e->fd, old = t->cur[f];

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
	r = enter_fs(t, task->fs);
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
	return 0;
}
