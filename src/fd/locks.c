/* fd/locks.c: flock, POSIX record locks, OFD locks and leases, dumped from the victim's fdinfo
 * and set again after restore. The kernel shows a POSIX lock only in the fdinfo of its owner
 * (the fd table that set it) and on the open file description it was set through; flock, OFD
 * locks and leases belong to the description and show in the fdinfo of every holder. */
#define LOG_PREFIX "fd-locks: "
#include "fd/locks.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/kind.h"
#include "fd/locks-parse.h"
#include "image-set/image-set.h"

/* ---- dump ------------------------------------------------------------------------------- */

/* A POSIX lock seen on a task's fd but owned through a fd table it shares with another
 * process: that process records it, and must be in the tree. */
struct shared_owner {
	pid_t task, owner;
	struct lock_line lock;
};

struct fd_locks_dump {
	pthread_t loader; /* fd_locks_dump_prefetch()'s thread, while is_loading */
	bool is_loading;
	int load_error; /* what the passes met: 0, or -errno of a read or of the indexing */
	bool is_index_error;
	bool loaded;
	bool every_fd;		/* /proc/locks never read the same twice: read every fdinfo */
	struct hmap inos;	/* (ino, 0): inodes /proc/locks names */
	struct lock_line *held; /* the locks /proc/locks shows held (no blocked requests) */
	size_t n_held;
	struct hmap held_index; /* (ino, lock_key) -> held index: each distinct lock once */
	struct hmap found;	/* (ino, lock_key): such a lock was found on an fd */
	struct hmap tasks;	/* (pid, 0): tasks whose fds were dumped */
	struct hmap posix_read; /* (pid, file id): POSIX lines taken for this task and file */
	struct shared_owner *shared;
	size_t n_shared;
};

struct fd_locks_dump *fd_locks_dump_new(void)
{
	return calloc(1, sizeof(struct fd_locks_dump));
}

struct fd_locks_dump *fd_locks_dump_free(struct fd_locks_dump *d)
{
	if (!d)
		return NULL;
	if (d->is_loading)
		pthread_join(d->loader, NULL);
	hmap_clear(&d->inos);
	hmap_clear(&d->held_index);
	hmap_clear(&d->found);
	hmap_clear(&d->tasks);
	hmap_clear(&d->posix_read);
	free(d->held);
	free(d->shared);
	free(d);
	return NULL;
}

/* What tells two locks of one inode apart in the cross-check. */
static uint64_t lock_key(const struct lock_line *l)
{
	uint64_t k = (uint64_t)l->cls * 0x9e3779b97f4a7c15ULL;

	k ^= ((uint64_t)(uint16_t)l->type << 32 | (uint32_t)l->pid) * 0xff51afd7ed558ccdULL;
	k ^= l->start * 0xc4ceb9fe1a85ec53ULL;
	k ^= (l->to_eof ? UINT64_MAX : l->end) + 0x632be59bd9b4e019ULL;
	return k;
}

/* Adds the held locks of one /proc/locks text to d, each distinct lock once. */
static int take_proc_locks(struct fd_locks_dump *d, const char *text, size_t len, size_t *cap)
{
	const char *cursor = text, *end = text + len;
	struct lock_line l;
	int r;

	while ((r = locks_parse_next(&cursor, end, &l)) != 0) {
		if (r < 0)
			continue; /* a line of a format to come: the fd's own lines will tell */
		if (l.is_waiter || !l.has_inode || hmap_find(&d->held_index, l.ino, lock_key(&l)))
			continue;
		if (!hmap_find(&d->inos, l.ino, 0) && hmap_put(&d->inos, l.ino, 0, 0) < 0)
			return -ENOMEM;
		if (d->n_held == *cap) {
			struct lock_line *bigger;

			*cap = *cap ? *cap * 2 : 64;
			bigger = reallocarray(d->held, *cap, sizeof(*bigger));
			if (!bigger)
				return -ENOMEM;
			d->held = bigger;
		}
		if (hmap_put(&d->held_index, l.ino, lock_key(&l), d->n_held) < 0)
			return -ENOMEM;
		d->held[d->n_held++] = l;
	}
	return 0;
}

/* Passes over /proc/locks before it is given up on as a guide. */
#define LOCKS_PASSES 4

/* The passes, without logging (they may run on the loader thread): 0, or -errno of a read or
 * (is_index_error) -ENOMEM of the indexing. */
static int read_passes(struct fd_locks_dump *d)
{
	cleanup_free char *last = NULL;
	ssize_t last_len = -1;
	size_t cap = 0;

	/* The kernel shows /proc/locks a page per read(), walking its lists by position: locks
	 * other processes take or drop meanwhile shift the rest, and a line can be skipped (seen
	 * here: one lock of 10 000 missed while another process locked and unlocked files).
	 * The tree is frozen, so its locks stay put: two passes that read the same text were
	 * not disturbed. When none agree, every fd's fdinfo is read instead. */
	for (int pass = 0; pass < LOCKS_PASSES && !d->loaded; pass++) {
		char *text = NULL;
		ssize_t len = read_file_at(AT_FDCWD, "/proc/locks", &text);

		if (len < 0)
			return (int)len;
		if (take_proc_locks(d, text, (size_t)len, &cap) < 0) {
			free(text);
			d->is_index_error = true;
			return -ENOMEM;
		}
		d->loaded = len == last_len && memcmp(text, last, (size_t)len) == 0;
		free(last);
		last = text;
		last_len = len;
	}
	if (!d->loaded)
		d->every_fd = true;
	return 0;
}

static void *load_in_background(void *opaque)
{
	struct fd_locks_dump *d = opaque;

	d->load_error = read_passes(d);
	return NULL;
}

void fd_locks_dump_prefetch(struct fd_locks_dump *d)
{
	if (!d->loaded && !d->is_loading)
		d->is_loading = pthread_create(&d->loader, NULL, load_in_background, d) == 0;
}

int fd_locks_dump_load(struct fd_locks_dump *d)
{
	int r;

	if (d->is_loading) {
		pthread_join(d->loader, NULL);
		d->is_loading = false;
		r = d->load_error;
	} else if (d->loaded) {
		return 0;
	} else {
		r = read_passes(d);
	}
	if (r < 0 && d->is_index_error)
		return pr_neg(r, "cannot index '/proc/locks'");
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot read '/proc/locks'");
	}
	if (d->every_fd)
		pr_debug("/proc/locks changed while it was read %d times: reading the locks of "
			 "every fd",
			 LOCKS_PASSES);
	d->loaded = true;
	pr_debug("/proc/locks: %zu held locks on %zu inodes", d->n_held, d->inos.n);
	return 0;
}

bool fd_locks_dump_maybe(const struct fd_locks_dump *d, uint64_t ino)
{
	/* the loader still fills what follows: any inode may have locks */
	if (d->is_loading)
		return true;
	return d->every_fd || (d->inos.n && hmap_find(&d->inos, ino, 0));
}

static int refuse(const struct fd_params *p, const struct lock_line *l, const char *why)
{
	pr_err("cannot dump fd %d of task %d: it holds a %s %s lock (%s), which minicr cannot "
	       "restore: %s",
	       p->fd, (int)p->pid, lock_class_name(l->cls), lock_type_name(l->type),
	       p->link, why);
	return -ENOTSUP;
}

/* Appends a record of l to fe->locks; the array doubles inside the dump's arena. */
static int add_lock(struct fd_dump_ctx *ctx, FileEntry *fe, const struct lock_line *l,
		    FileLockKind kind)
{
	FileLockEntry *e = FD_DUMP_NEW(ctx, FileLockEntry, FILE_LOCK_ENTRY__INIT);
	size_t n = fe->n_locks;

	if (!e)
		return -ENOMEM;
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		FileLockEntry **bigger = fd_dump_alloc(ctx, (n ? 2 * n : 4) * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		if (n)
			memcpy(bigger, fe->locks, n * sizeof(*bigger));
		fe->locks = bigger;
	}
	e->kind = kind;
	e->type = (uint32_t)l->type;
	if (kind == FILE_LOCK_KIND__FILE_LOCK_POSIX || kind == FILE_LOCK_KIND__FILE_LOCK_OFD) {
		e->has_start = e->has_len = true;
		e->start = l->start;
		e->len = l->to_eof ? 0 : l->end - l->start + 1;
	}
	if (l->pid > 0) {
		e->has_pid = true;
		e->pid = l->pid;
	}
	fe->locks[n] = e;
	fe->n_locks = n + 1;
	return 0;
}

static int note_found(struct fd_locks_dump *d, const struct lock_line *l)
{
	if (hmap_find(&d->found, l->ino, lock_key(l)))
		return 0;
	return hmap_put(&d->found, l->ino, lock_key(l), 1) < 0 ? -ENOMEM : 0;
}

/* A POSIX lock line whose pid is not the task's: the fd table is shared with that process
 * (clone(CLONE_FILES)) when kcmp says so, and that process records the lock as its own. */
static int posix_of_other(struct fd_locks_dump *d, const struct fd_params *p,
			  const struct lock_line *l)
{
	struct shared_owner *bigger;

	if (l->pid <= 0 || syscall(SYS_kcmp, p->pid, l->pid, KCMP_FILES, 0, 0) != 0)
		return refuse(p, l,
			      "it was set by another process (an fd table shared once and no "
			      "more)");
	bigger = reallocarray(d->shared, d->n_shared + 1, sizeof(*bigger));
	if (!bigger)
		return -ENOMEM;
	d->shared = bigger;
	d->shared[d->n_shared++] =
	    (struct shared_owner){.task = p->pid, .owner = l->pid, .lock = *l};
	return 0;
}

/* One lock line of fd p; is_new_file and first_in_task say which classes it is read for. */
static int take_line(struct fd_locks_dump *d, struct fd_dump_ctx *ctx, const struct fd_params *p,
		     FileEntry *fe, const struct lock_line *l, bool is_new_file, bool first_in_task)
{
	FileLockKind kind;
	int r;

	switch (l->cls) {
	case LOCK_CLASS_POSIX:
		if (!first_in_task)
			return 0;
		kind = FILE_LOCK_KIND__FILE_LOCK_POSIX;
		break;
	case LOCK_CLASS_FLOCK:
		kind = FILE_LOCK_KIND__FILE_LOCK_FLOCK;
		break;
	case LOCK_CLASS_OFD:
		kind = FILE_LOCK_KIND__FILE_LOCK_OFD;
		break;
	case LOCK_CLASS_LEASE:
		kind = FILE_LOCK_KIND__FILE_LOCK_LEASE;
		break;
	default:
		return refuse(p, l, "an unknown kind of lock");
	}
	if (kind != FILE_LOCK_KIND__FILE_LOCK_POSIX && !is_new_file)
		return 0; /* the description's locks were taken at its first fd */
	if (kind == FILE_LOCK_KIND__FILE_LOCK_LEASE && l->mode != LOCK_MODE_ACTIVE)
		return refuse(p, l, "the lease is being broken");
	if (kind != FILE_LOCK_KIND__FILE_LOCK_LEASE && l->mode != LOCK_MODE_ADVISORY)
		return refuse(p, l, "not an advisory lock");
	if (l->type != F_RDLCK && l->type != F_WRLCK)
		return refuse(p, l, "neither a read nor a write lock");
	if (kind == FILE_LOCK_KIND__FILE_LOCK_POSIX && l->pid != p->pid)
		return posix_of_other(d, p, l);
	if (l->start > INT64_MAX || (!l->to_eof && l->end > INT64_MAX))
		return refuse(p, l, "its range is beyond what fcntl() can set");
	r = add_lock(ctx, fe, l, kind);
	if (r == 0)
		r = note_found(d, l);
	if (r < 0)
		return pr_neg(r, "cannot record the locks of fd %d of task %d", p->fd, (int)p->pid);
	return 0;
}

int fd_locks_dump_fd(struct fd_locks_dump *d, struct fd_dump_ctx *ctx, const struct fd_params *p,
		     FileEntry *fe, bool is_new_file)
{
	cleanup_free char *text = NULL;
	const char *cursor, *end;
	bool first_in_task = !hmap_find(&d->posix_read, (uint64_t)p->pid, fe->id);
	struct lock_line l;
	char path[64];
	ssize_t len;
	int r;

	if (!is_new_file && !first_in_task)
		return 0;
	if (first_in_task && hmap_put(&d->posix_read, (uint64_t)p->pid, fe->id, 0) < 0)
		return pr_neg(-ENOMEM, "cannot record the locks of fd %d of task %d", p->fd,
			      (int)p->pid);
	/* the victim's fdinfo: only there does the kernel show the task's POSIX locks */
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)p->pid, p->fd);
	len = read_file_at(AT_FDCWD, path, &text);
	if (len < 0) {
		errno = (int)-len;
		return pr_errno("cannot read the locks of fd %d of task %d", p->fd, (int)p->pid);
	}
	cursor = text;
	end = text + len;
	while ((r = locks_parse_fdinfo_next(&cursor, end, &l)) != 0) {
		if (r < 0) {
			pr_err("cannot dump fd %d of task %d: a lock line of its fdinfo does not "
			       "parse",
			       p->fd, (int)p->pid);
			return -ENOTSUP;
		}
		r = take_line(d, ctx, p, fe, &l, is_new_file, first_in_task);
		if (r < 0)
			return r;
	}
	return 0;
}

int fd_locks_dump_task(struct fd_locks_dump *d, pid_t pid)
{
	if (hmap_find(&d->tasks, (uint64_t)pid, 0))
		return 0;
	return hmap_put(&d->tasks, (uint64_t)pid, 0, 0) < 0
		   ? pr_neg(-ENOMEM, "cannot record task %d", (int)pid)
		   : 0;
}

int fd_locks_dump_finish(struct fd_locks_dump *d)
{
	for (size_t i = 0; i < d->n_shared; i++) {
		const struct shared_owner *s = &d->shared[i];

		if (!hmap_find(&d->tasks, (uint64_t)s->owner, 0)) {
			pr_err("cannot dump task %d: process %d, which shares its fd table and is "
			       "not in the tree, holds a POSIX %s lock on inode %lu",
			       (int)s->task, (int)s->owner, lock_type_name(s->lock.type),
			       (unsigned long)s->lock.ino);
			return -ENOTSUP;
		}
	}
	/* OFD locks show no pid: only POSIX, flock and leases are checked. Two flock locks that
	 * look alike (one process, one file, two descriptions) count as one: /proc/locks may
	 * show a lock twice when other processes lock between its reads. */
	for (size_t i = 0; i < d->n_held; i++) {
		const struct lock_line *l = &d->held[i];

		if (l->cls != LOCK_CLASS_POSIX && l->cls != LOCK_CLASS_FLOCK &&
		    l->cls != LOCK_CLASS_LEASE)
			continue;
		if (l->pid <= 0 || !hmap_find(&d->tasks, (uint64_t)l->pid, 0))
			continue;
		if (hmap_find(&d->found, l->ino, lock_key(l)))
			continue;
		pr_err("cannot dump task %d: it holds a %s %s lock on inode %02x:%02x:%lu through "
		       "no open fd (a memory mapping, or an fd passed out of the tree), which "
		       "minicr cannot restore",
		       (int)l->pid, lock_class_name(l->cls), lock_type_name(l->type), l->maj,
		       l->min, (unsigned long)l->ino);
		return -ENOTSUP;
	}
	return 0;
}

/* ---- restore ---------------------------------------------------------------------------- */

static const char *kind_name(FileLockKind kind)
{
	switch (kind) {
	case FILE_LOCK_KIND__FILE_LOCK_POSIX:
		return "POSIX";
	case FILE_LOCK_KIND__FILE_LOCK_FLOCK:
		return "FLOCK";
	case FILE_LOCK_KIND__FILE_LOCK_OFD:
		return "OFD";
	case FILE_LOCK_KIND__FILE_LOCK_LEASE:
		return "LEASE";
	default:
		return "unknown";
	}
}

static bool has_locks(const struct image_set *set)
{
	for (size_t i = 0; i < set->n_files; i++)
		if (set->files[i]->n_locks)
			return true;
	return false;
}

/* (file index, pid) -> task index of every task holding a file that has locks; (file index,
 * 0) -> the first of them. */
static int index_holders(const struct image_set *set, struct hmap *holders)
{
	for (size_t t = 0; t < set->n_tasks; t++) {
		const struct restore_task *task = &set->tasks[t];

		for (size_t k = 0; k < task->n_fds; k++) {
			ssize_t f = image_set_file(set, task->fds[k]->file_id);
			uint64_t pid = (uint64_t)task->pst->pid;

			if (f < 0 || !set->files[f]->n_locks ||
			    hmap_find(holders, (uint64_t)f, pid))
				continue;
			if (!hmap_find(holders, (uint64_t)f, 0) &&
			    hmap_put(holders, (uint64_t)f, 0, t) < 0)
				return -ENOMEM;
			if (hmap_put(holders, (uint64_t)f, pid, t) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int check_lock(const struct image_set *set, const FileEntry *fe, size_t rec,
		      const FileLockEntry *l, const struct hmap *holders, size_t f)
{
	if (l->kind != FILE_LOCK_KIND__FILE_LOCK_POSIX &&
	    l->kind != FILE_LOCK_KIND__FILE_LOCK_FLOCK &&
	    l->kind != FILE_LOCK_KIND__FILE_LOCK_OFD && l->kind != FILE_LOCK_KIND__FILE_LOCK_LEASE)
		return image_set_bad(set, "files.img record %zu: file %u has a lock of unknown kind %d",
				     rec, fe->id, (int)l->kind);
	if (l->type != F_RDLCK && l->type != F_WRLCK)
		return image_set_bad(set, "files.img record %zu: file %u has a %s lock of type %u", rec,
				     fe->id, kind_name(l->kind), l->type);
	if (l->start > INT64_MAX || l->len > INT64_MAX || l->start + l->len > (uint64_t)INT64_MAX)
		return image_set_bad(set, "files.img record %zu: file %u has a %s lock beyond the "
				     "largest offset",
				     rec, fe->id, kind_name(l->kind));
	if (!hmap_find(holders, f, 0))
		return image_set_bad(set, "files.img record %zu: file %u has locks but no task holds it",
				     rec, fe->id);
	if (l->kind == FILE_LOCK_KIND__FILE_LOCK_POSIX &&
	    (!l->has_pid || l->pid <= 0 || !hmap_find(holders, f, (uint64_t)l->pid)))
		return image_set_bad(set,
		    "files.img record %zu: file %u has a POSIX lock of process %d, "
		    "which does not hold it",
		    rec, fe->id, l->has_pid ? l->pid : 0);
	if ((fe->flags & O_PATH))
		return image_set_bad(set, "files.img record %zu: O_PATH file %u has a lock", rec,
				     fe->id);
	return 0;
}

int fd_locks_validate(const struct image_set *set)
{
	struct hmap holders = {0};
	int r = 0;

	if (!has_locks(set))
		return 0;
	if (index_holders(set, &holders) < 0) {
		hmap_clear(&holders);
		return pr_neg(-ENOMEM, "cannot check the locks of the image set");
	}
	for (size_t i = 0; i < set->n_files && r == 0; i++) {
		const FileEntry *fe = set->files[i];
		size_t n_flock = 0, n_lease = 0;

		for (size_t k = 0; k < fe->n_locks && r == 0; k++) {
			r = check_lock(set, fe, i, fe->locks[k], &holders, i);
			n_flock += fe->locks[k]->kind == FILE_LOCK_KIND__FILE_LOCK_FLOCK;
			n_lease += fe->locks[k]->kind == FILE_LOCK_KIND__FILE_LOCK_LEASE;
		}
		if (r == 0 && (n_flock > 1 || n_lease > 1))
			r = image_set_bad(set,
			    "files.img record %zu: file %u has %zu flock locks and %zu "
			    "leases; an open file holds one of each at most",
			    i, fe->id, n_flock, n_lease);
	}
	hmap_clear(&holders);
	return r;
}

struct fd_locks_plan {
	struct hmap holders; /* see index_holders() */
};

struct fd_locks_plan *fd_locks_plan_new(const struct image_set *set)
{
	struct fd_locks_plan *plan = calloc(1, sizeof(*plan));

	if (!plan)
		return NULL;
	if (has_locks(set) && index_holders(set, &plan->holders) < 0)
		return fd_locks_plan_free(plan);
	return plan;
}

struct fd_locks_plan *fd_locks_plan_free(struct fd_locks_plan *plan)
{
	if (!plan)
		return NULL;
	hmap_clear(&plan->holders);
	free(plan);
	return NULL;
}

/* The task that sets lock l of an open file description (file f): the one that set it at dump
 * when it still holds the file (so /proc/locks shows the same pid), else the first holder. */
static bool sets_description_lock(const struct fd_locks_plan *plan, size_t f,
				  const FileLockEntry *l, size_t task_idx)
{
	struct hmap_slot *s = NULL;

	if (l->has_pid && l->pid > 0)
		s = hmap_find(&plan->holders, f, (uint64_t)l->pid);
	if (!s)
		s = hmap_find(&plan->holders, f, 0);
	return s && s->value == task_idx;
}

static int set_lock(const FileLockEntry *l, int fd)
{
	struct flock fl = {
	    .l_type = (short)l->type,
	    .l_whence = SEEK_SET,
	    .l_start = (off_t)l->start,
	    .l_len = (off_t)l->len,
	};

	switch (l->kind) {
	case FILE_LOCK_KIND__FILE_LOCK_POSIX:
		return fcntl(fd, F_SETLK, &fl);
	case FILE_LOCK_KIND__FILE_LOCK_OFD:
		return fcntl(fd, F_OFD_SETLK, &fl);
	case FILE_LOCK_KIND__FILE_LOCK_FLOCK:
		return flock(fd, (l->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
	case FILE_LOCK_KIND__FILE_LOCK_LEASE:
		return fcntl(fd, F_SETLEASE, (int)l->type);
	default:
		errno = EINVAL;
		return -1;
	}
}

int fd_locks_restore(const struct fd_locks_plan *plan, const struct image_set *set, size_t task_idx,
		     size_t file_idx, int fd)
{
	const FileEntry *fe = set->files[file_idx];
	pid_t pid = set->tasks[task_idx].pst->pid;
	int err;

	for (size_t k = 0; k < fe->n_locks; k++) {
		const FileLockEntry *l = fe->locks[k];
		bool mine = l->kind == FILE_LOCK_KIND__FILE_LOCK_POSIX
				? l->pid == pid
				: sets_description_lock(plan, file_idx, l, task_idx);

		if (!mine)
			continue;
		if (set_lock(l, fd) == 0)
			continue;
		err = errno;
		if (err == EAGAIN || errno == EWOULDBLOCK || errno == EACCES)
			pr_err(
			    "cannot restore the %s %s lock on bytes %lu+%lu of fd %d of task %d: "
			    "someone outside the tree holds the file or a conflicting lock",
			    kind_name(l->kind), l->type == F_WRLCK ? "WRITE" : "READ",
			    (unsigned long)l->start, (unsigned long)l->len, fd, (int)pid);
		else
			pr_err(
			    "cannot restore the %s %s lock on bytes %lu+%lu of fd %d of task %d: "
			    "%s",
			    kind_name(l->kind), l->type == F_WRLCK ? "WRITE" : "READ",
			    (unsigned long)l->start, (unsigned long)l->len, fd, (int)pid,
			    strerror(err));
		return -err;
	}
	return 0;
}

ssize_t fd_locks_posix_of_task(const struct image_set *set, size_t task_idx,
			       struct fd_posix_lock **ret)
{
	const struct restore_task *task = &set->tasks[task_idx];
	struct fd_posix_lock *locks = NULL;
	struct hmap seen = {0};
	size_t n = 0, cap = 0;

	*ret = NULL;
	for (size_t k = 0; k < task->n_fds; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);
		const FileEntry *fe = set->files[f];

		if (!fe->n_locks || hmap_find(&seen, (uint64_t)f, 0))
			continue;
		if (hmap_put(&seen, (uint64_t)f, 0, 0) < 0)
			goto nomem;
		for (size_t i = 0; i < fe->n_locks; i++) {
			const FileLockEntry *l = fe->locks[i];

			if (l->kind != FILE_LOCK_KIND__FILE_LOCK_POSIX || l->pid != task->pst->pid)
				continue;
			if (n == cap) {
				struct fd_posix_lock *bigger;

				cap = cap ? cap * 2 : 8;
				bigger = reallocarray(locks, cap, sizeof(*bigger));
				if (!bigger)
					goto nomem;
				locks = bigger;
			}
			locks[n++] = (struct fd_posix_lock){.fd = task->fds[k]->fd,
							    .type = (short)l->type,
							    .start = l->start,
							    .len = l->len};
		}
	}
	hmap_clear(&seen);
	*ret = locks;
	return (ssize_t)n;
nomem:
	hmap_clear(&seen);
	free(locks);
	return pr_neg(-ENOMEM, "cannot list the locks of task %d", (int)task->pst->pid);
}
