/* restore-images.c: load the image set and check it as a whole before anything is restored. */
#define LOG_PREFIX "images: "
#include "image-set/image-set.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fd/kind.h"
#include "fd/locks.h"
#include "mount/build.h"
#include "mount/kind.h"
#include "image-path.h"
#include "image-read.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "task/cgroup-check.h"
#include "task/tree-plan.h"

#define PID_MAX_LIMIT 4194304 /* the kernel's upper bound for pid_max on 64-bit */
/* restore's service fds (log, status pipe, images dir) sit just below min(limit, this) */
#define SERVICE_FD_CEILING 65536
#define SERVICE_FDS	   3

int image_set_fd_limit(int nofile)
{
	return (nofile < SERVICE_FD_CEILING ? nofile : SERVICE_FD_CEILING) - SERVICE_FDS;
}

/* Reads every record of (kind, id) into a growing array. Missing optional files give 0
 * records. Returns 0 or -errno (logged). */
static int read_all(int img_dirfd, enum image_kind kind, uint64_t id, bool optional,
		    void ***ret_msgs, size_t *ret_n)
{
	cleanup(image_reader_freep) struct image_reader *r = NULL;
	void **msgs = NULL;
	size_t n = 0, cap = 0;
	int ret;

	ret = image_reader_open(img_dirfd, kind, id, &r);
	if (ret == -ENOENT) {
		char name[IMAGE_NAME_MAX];

		*ret_msgs = NULL;
		*ret_n = 0;
		if (optional)
			return 0;
		(void)image_file_name(kind, id, name, sizeof(name));
		pr_err("image set is incomplete: '%s' is missing", name);
		return -ENOENT;
	}
	if (ret < 0)
		return ret;
	for (;;) {
		ProtobufCMessage *msg;

		ret = image_read_entry(r, &msg);
		if (ret < 0)
			goto fail;
		if (ret == 0)
			break;
		if (n == cap) {
			void **m;

			cap = cap ? cap * 2 : 16;
			m = realloc(msgs, cap * sizeof(*m));
			if (!m) {
				protobuf_c_message_free_unpacked(msg, NULL);
				errno = ENOMEM;
				ret = pr_errno("cannot read image '%s'", image_reader_name(r));
				goto fail;
			}
			msgs = m;
		}
		msgs[n++] = msg;
	}
	*ret_msgs = msgs;
	*ret_n = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(msgs[i], NULL);
	free(msgs);
	return ret;
}

static void free_all(void **msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(msgs[i], NULL);
	free(msgs);
}

struct image_set *image_set_free(struct image_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n_tasks; i++) {
		free_all((void **)set->tasks[i].fds, set->tasks[i].n_fds);
		if (set->tasks[i].fs)
			fs_entry__free_unpacked(set->tasks[i].fs, NULL);
	}
	free(set->tasks);
	free_all((void **)set->pstree, set->n_tasks);
	free_all((void **)set->files, set->n_files);
	free_all((void **)set->detached, set->n_detached);
	free_all((void **)set->data, set->n_data);
	free_all((void **)set->mnts, set->n_mnts);
	if (set->inv)
		inventory_entry__free_unpacked(set->inv, NULL);
	free(set->file_order);
	free(set->detached_order);
	free(set->mnt_order);
	free(set->mnt_ns);
	free(set->mntns);
	free(set);
	return NULL;
}

void image_set_freep(struct image_set **set)
{
	image_set_free(*set);
}

/* ---- id indexes ---------------------------------------------------------------------------- */

typedef uint64_t (*key_fn)(const void *msg);

static uint64_t file_key(const void *m)
{
	return ((const FileEntry *)m)->id;
}
static uint64_t detached_key(const void *m)
{
	return ((const DetachedMntEntry *)m)->id;
}
static uint64_t mnt_key(const void *m)
{
	return ((const MntEntry *)m)->mnt_id;
}

struct sort_ctx {
	void **msgs;
	key_fn key;
};

static int cmp_index(const void *a, const void *b, void *opaque)
{
	const struct sort_ctx *c = opaque;
	uint64_t ka = c->key(c->msgs[*(const size_t *)a]), kb = c->key(c->msgs[*(const size_t *)b]);

	return ka < kb ? -1 : ka > kb;
}

/* Builds the sorted index and reports the first duplicate key through *ret_dup. */
static int build_index(void **msgs, size_t n, key_fn key, size_t **ret_order, ssize_t *ret_dup)
{
	struct sort_ctx c = {msgs, key};
	size_t *order = malloc((n ? n : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_index, &c);
	*ret_dup = -1;
	for (size_t i = 1; i < n; i++)
		if (key(msgs[order[i]]) == key(msgs[order[i - 1]])) {
			*ret_dup = (ssize_t)order[i];
			break;
		}
	*ret_order = order;
	return 0;
}

static ssize_t lookup(void **msgs, const size_t *order, size_t n, key_fn key, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k = key(msgs[order[mid]]);

		if (k == id)
			return (ssize_t)order[mid];
		if (k < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

ssize_t image_set_file(const struct image_set *set, uint32_t id)
{
	/* minicr numbers files 1..n in order: then the id is the index */
	if (id >= 1 && id <= set->n_files && set->files[id - 1]->id == id)
		return (ssize_t)id - 1;
	return lookup((void **)set->files, set->file_order, set->n_files, file_key, id);
}

ssize_t image_set_detached(const struct image_set *set, uint64_t id)
{
	return lookup((void **)set->detached, set->detached_order, set->n_detached, detached_key,
		      id);
}

ssize_t image_set_mnt(const struct image_set *set, uint64_t mnt_id)
{
	return lookup((void **)set->mnts, set->mnt_order, set->n_mnts, mnt_key, mnt_id);
}

size_t image_set_mnt_ns(const struct image_set *set, size_t mnt_idx)
{
	return set->mnt_ns[mnt_idx];
}

ssize_t image_set_mntns(const struct image_set *set, uint64_t ns_id)
{
	/* a tree has a handful of namespaces, a hundred at most in practice */
	for (size_t i = 0; i < set->n_mntns; i++)
		if (set->mntns[i].id == ns_id)
			return (ssize_t)i;
	return -1;
}

const char *image_set_path_in_mnt(const struct image_set *set, size_t mnt_idx, const char *path)
{
	const char *below = path_below(path, set->mnts[mnt_idx]->mountpoint);

	return below && *below == '\0' ? "" : below;
}

/* ---- checks -------------------------------------------------------------------------------- */

#define bad(fmt, ...) image_set_bad(set, fmt, ##__VA_ARGS__)

int image_set_bad(const struct image_set *set, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (set->for_dump)
		pr_err("cannot dump: restore would refuse the images: %s", msg);
	else
		pr_err("invalid image set: %s", msg);
	return -EBADMSG;
}

static int check_path(const struct image_set *set, const char *img, size_t rec, const char *what,
		      const char *path, bool must_be_absolute)
{
	const char *reason = NULL;

	if (!path)
		return bad("%s record %zu: no %s", img, rec, what);
	if (image_path_check(path, IMAGE_PATH_ALLOW_ABSOLUTE, &reason) < 0)
		return bad("%s record %zu: %s '%s': %s", img, rec, what, path, reason);
	if (must_be_absolute && path[0] != '/')
		return bad("%s record %zu: %s '%s' is not absolute", img, rec, what, path);
	return 0;
}

static long read_pid_max(void)
{
	cleanup_free char *buf = NULL;
	long v;

	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/pid_max", &buf) < 0)
		return PID_MAX_LIMIT;
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_long(buf, 1, PID_MAX_LIMIT, &v) < 0)
		return PID_MAX_LIMIT;
	return v;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static ssize_t task_index(const struct image_set *set, size_t upto, pid_t pid)
{
	for (size_t i = 0; i < upto; i++)
		if (set->pstree[i]->pid == pid)
			return (ssize_t)i;
	return -1;
}

/* Sessions and groups as tree-plan.c can rebuild them, whatever minicr's own session. */
static int check_sessions(const struct image_set *set)
{
	cleanup_free struct tree_plan_in *in = reallocarray(NULL, set->n_tasks, sizeof(*in));

	if (!in)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_tasks; i++)
		in[i] = (struct tree_plan_in){.pid = set->pstree[i]->pid,
					      .pgid = set->pstree[i]->pgid,
					      .sid = set->pstree[i]->sid,
					      .parent = set->tasks[i].parent};
	return tree_plan_check(in, set->n_tasks, 0, 0);
}

static int check_pstree(struct image_set *set)
{
	long pid_max = read_pid_max();
	cleanup_free int *tids = NULL;
	size_t n_tids = 0;

	if (set->n_tasks == 0)
		return bad("pstree.img holds no process");
	for (size_t i = 0; i < set->n_tasks; i++)
		n_tids += 1 + set->pstree[i]->n_threads;
	tids = malloc(n_tids * sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	n_tids = 0;
	for (size_t i = 0; i < set->n_tasks; i++) {
		const PstreeEntry *p = set->pstree[i];
		struct restore_task *t = &set->tasks[i];

		t->pst = p;
		t->parent = -1;
		if (p->pid <= 0 || p->pid >= pid_max)
			return bad("pstree.img record %zu: pid %d is out of range 1..%ld", i,
				   p->pid, pid_max - 1);
		tids[n_tids++] = p->pid;
		if (p->n_threads > 0 && p->threads[0] != p->pid)
			return bad("pstree.img record %zu: first thread %d is not pid %d", i,
				   p->threads[0], p->pid);
		for (size_t k = 1; k < p->n_threads; k++) {
			if (p->threads[k] <= 0 || p->threads[k] >= pid_max)
				return bad("pstree.img record %zu: tid %d is out of range", i,
					   p->threads[k]);
			tids[n_tids++] = p->threads[k];
		}
		if (i == 0) {
			if (set->inv->has_root_pid && set->inv->root_pid != p->pid)
				return bad("inventory root pid %d is not the first process %d",
					   set->inv->root_pid, p->pid);
		} else {
			ssize_t parent = task_index(set, i, p->ppid);

			if (parent < 0)
				return bad(
				    "pstree.img record %zu: parent %d of task %d is not listed "
				    "before it",
				    i, p->ppid, p->pid);
			t->parent = (int)parent;
		}
		if (p->has_files_owner &&
		    (t->parent < 0 ||
		     p->files_owner != (set->pstree[t->parent]->has_files_owner
					    ? set->pstree[t->parent]->files_owner
					    : set->pstree[t->parent]->pid)))
			return bad("task %d shares the fd table of %d, which is not its parent's",
				   p->pid, p->files_owner);
	}
	qsort(tids, n_tids, sizeof(*tids), cmp_int);
	for (size_t i = 1; i < n_tids; i++)
		if (tids[i] == tids[i - 1])
			return bad("pstree.img: pid %d is listed twice", tids[i]);
	return check_sessions(set);
}

int image_set_check_reg(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const RegFileEntry *reg = fe->reg;
	int r;

	if (!reg)
		return bad("files.img record %zu: file %u has no path record", rec, fe->id);
	r = check_path(set, "files.img", rec, "path", reg->path, !reg->detached);
	if (r < 0)
		return r;
	if (reg->detached) {
		ssize_t k = image_set_detached(set, reg->mnt_id);

		if (k < 0)
			return bad("files.img record %zu: file %u ('%s') is on detached mount %lu, "
				   "absent from detached-mnt.img",
				   rec, fe->id, reg->path, (unsigned long)reg->mnt_id);
		if (reg->mount_fd && !set->detached[k]->attachable)
			return bad(
			    "files.img record %zu: file %u is the mount fd of detached mount "
			    "%lu, which is not the root of an anonymous tree",
			    rec, fe->id, (unsigned long)reg->mnt_id);
	} else if (reg->mount_fd) {
		return bad("files.img record %zu: file %u is a mount fd on an attached mount", rec,
			   fe->id);
	} else if (reg->has_mnt_ns_id && image_set_mntns(set, reg->mnt_ns_id) >= 0) {
		/* reopened beneath the root of its mount in the rebuilt namespace */
		ssize_t m = image_set_mnt(set, reg->mnt_id);

		if (m < 0 || set->mntns[set->mnt_ns[m]].id != reg->mnt_ns_id)
			return bad("files.img record %zu: file %u ('%s') is on mount %lu, absent "
				   "from mnt-%lu.img",
				   rec, fe->id, reg->path, (unsigned long)reg->mnt_id,
				   (unsigned long)reg->mnt_ns_id);
		if (!image_set_path_in_mnt(set, (size_t)m, reg->path))
			return bad("files.img record %zu: file %u ('%s') is not below the "
				   "mountpoint '%s' of its mount %lu",
				   rec, fe->id, reg->path, set->mnts[m]->mountpoint,
				   (unsigned long)reg->mnt_id);
	} else if (reg->has_mnt_ns_id && set->root_mnt_ns_id &&
		   reg->mnt_ns_id != set->root_mnt_ns_id) {
		return bad("files.img record %zu: file %u ('%s') is on mount %lu of mount "
			   "namespace %lu, neither the tree's nor minicr's",
			   rec, fe->id, reg->path, (unsigned long)reg->mnt_id,
			   (unsigned long)reg->mnt_ns_id);
	}
	return 0;
}

static int check_files(struct image_set *set)
{
	ssize_t dup;
	int r;

	r = build_index((void **)set->files, set->n_files, file_key, &set->file_order, &dup);
	if (r < 0)
		return r;
	if (dup >= 0)
		return bad("files.img record %zd: file id %u is used twice", dup,
			   set->files[dup]->id);
	for (size_t i = 0; i < set->n_files; i++)
		if (!fd_kind_by_type(set->files[i]->type))
			return bad("files.img record %zu: file %u has unsupported type %d", i,
				   set->files[i]->id, (int)set->files[i]->type);
	return 0;
}

/* Each file checked by its kind, once the tasks are loaded: a kind may name a task and its fds
 * (an epoll's items). */
static int check_kinds(const struct image_set *set)
{
	for (size_t i = 0; i < set->n_files; i++) {
		const FileEntry *fe = set->files[i];
		const struct fd_kind *kind = fd_kind_by_type(fe->type);
		int r;

		if (kind->validate && (r = kind->validate(set, i, fe)) < 0)
			return r;
	}
	return 0;
}

/* An anonymous tree is attachable only while its mount fd is open: one of the files must be it.
 */
static int check_mount_fds(const struct image_set *set)
{
	for (size_t i = 0; i < set->n_detached; i++) {
		const DetachedMntEntry *d = set->detached[i];
		bool found = false;

		if (!d->attachable)
			continue;
		for (size_t k = 0; k < set->n_files && !found; k++) {
			const RegFileEntry *reg = set->files[k]->reg;

			found = reg && reg->detached && reg->mount_fd && reg->mnt_id == d->id;
		}
		if (!found)
			return bad("anonymous mount tree %lu has no mount fd in files.img",
				   (unsigned long)d->id);
	}
	return 0;
}

static int check_file_ref(const struct image_set *set, const char *img, size_t rec, uint32_t id,
			  const char *what)
{
	if (image_set_file(set, id) < 0)
		return bad("%s record %zu: %s file id %u is absent from files.img", img, rec, what,
			   id);
	return 0;
}

static int load_task(int img_dirfd, struct image_set *set, size_t i, int fd_limit)
{
	struct restore_task *t = &set->tasks[i];
	pid_t pid = t->pst->pid;
	char img[IMAGE_NAME_MAX];
	cleanup_free int *nums = NULL;
	ProtobufCMessage *fs = NULL;
	int r;

	r = read_all(img_dirfd, IMAGE_FDINFO, (uint64_t)pid, false, (void ***)&t->fds, &t->n_fds);
	if (r < 0)
		return r;
	r = image_read_single(img_dirfd, IMAGE_FS, (uint64_t)pid, &fs);
	if (r == -ENOENT)
		return bad("image set is incomplete: 'fs-%d.img' is missing", pid);
	if (r < 0)
		return r;
	t->fs = (FsEntry *)fs;
	(void)image_file_name(IMAGE_FDINFO, (uint64_t)pid, img, sizeof(img));
	nums = malloc((t->n_fds ? t->n_fds : 1) * sizeof(*nums));
	if (!nums)
		return -ENOMEM;
	for (size_t k = 0; k < t->n_fds; k++) {
		const FdEntry *e = t->fds[k];
		ssize_t f;

		if (e->fd < 0 || e->fd >= fd_limit)
			return bad("%s record %zu: fd %d is out of range 0..%d", img, k, e->fd,
				   fd_limit - 1);
		f = image_set_file(set, e->file_id);
		if (f < 0)
			return bad(
			    "%s record %zu: fd %d refers to file id %u, absent from files.img", img,
			    k, e->fd, e->file_id);
		if (e->has_type && e->type != set->files[f]->type)
			return bad("%s record %zu: fd %d has type %d, its file %u type %d", img, k,
				   e->fd, (int)e->type, e->file_id, (int)set->files[f]->type);
		nums[k] = e->fd;
		if (e->fd > set->max_fd)
			set->max_fd = e->fd;
	}
	qsort(nums, t->n_fds, sizeof(*nums), cmp_int);
	for (size_t k = 1; k < t->n_fds; k++)
		if (nums[k] == nums[k - 1])
			return bad("%s: fd %d is listed twice", img, nums[k]);
	if (t->fs->pid != pid)
		return bad("fs-%d.img is for pid %d", pid, t->fs->pid);
	if (t->fs->has_cwd_file_id &&
	    (r = check_file_ref(set, "fs image", 0, t->fs->cwd_file_id, "cwd")) < 0)
		return r;
	if (t->fs->has_root_file_id &&
	    (r = check_file_ref(set, "fs image", 0, t->fs->root_file_id, "root")) < 0)
		return r;
	return 0;
}

static int cmp_fd_entry(const void *a, const void *b)
{
	int x = (*(FdEntry *const *)a)->fd, y = (*(FdEntry *const *)b)->fd;

	return x < y ? -1 : x > y;
}

/* A task sharing another's fd table (CLONE_FILES) has the same fds: one table is restored. */
static int check_shared_tables(struct image_set *set)
{
	for (size_t i = 0; i < set->n_tasks; i++) {
		const struct restore_task *t = &set->tasks[i], *o;
		ssize_t owner;

		if (!t->pst->has_files_owner)
			continue;
		owner = task_index(set, i, t->pst->files_owner);
		if (owner < 0)
			return bad("task %d shares the fd table of %d, absent from the tree",
				   t->pst->pid, t->pst->files_owner);
		o = &set->tasks[owner];
		if (o->n_fds != t->n_fds)
			return bad("task %d shares the fd table of %d but has %zu fds, not %zu",
				   t->pst->pid, o->pst->pid, t->n_fds, o->n_fds);
		qsort(t->fds, t->n_fds, sizeof(*t->fds), cmp_fd_entry);
		qsort(o->fds, o->n_fds, sizeof(*o->fds), cmp_fd_entry);
		for (size_t k = 0; k < t->n_fds; k++)
			if (t->fds[k]->fd != o->fds[k]->fd || t->fds[k]->file_id != o->fds[k]->file_id)
				return bad("task %d shares the fd table of %d but its fd %d differs",
					   t->pst->pid, o->pst->pid, t->fds[k]->fd);
	}
	return 0;
}

/* A mount's kind (proto/mnt.proto) must be one this minicr has, and pass its own checks. */
static int check_mount_kind(const struct image_set *set, const char *img, size_t rec,
			    const struct mount_spec *spec)
{
	const struct mount_kind *kind = mount_kind_by_kind(spec->kind);

	if (!kind)
		return bad("%s record %zu: %s has unknown mount kind %d", img, rec, spec->what,
			   (int)spec->kind);
	return kind->validate ? kind->validate(set, spec) : 0;
}

/* One namespace's mounts: the root first at '/', every other mount after its parent, in the
 * same namespace, on a mountpoint below its parent's. */
static int check_mntns(struct image_set *set, size_t ns)
{
	const struct image_mntns *n = &set->mntns[ns];
	char img[IMAGE_NAME_MAX], what[PATH_MAX + 64];
	struct mount_spec spec;
	int r;

	(void)image_file_name(IMAGE_MNT, n->id, img, sizeof(img));
	if (n->n_mnts == 0)
		return bad("%s holds no mount", img);
	for (size_t k = 0; k < n->n_mnts; k++) {
		size_t i = n->first + k;
		const MntEntry *m = set->mnts[i];
		ssize_t p;

		if ((r = check_path(set, img, k, "mountpoint", m->mountpoint, true)) < 0 ||
		    (r = check_path(set, img, k, "root", m->root, true)) < 0)
			return r;
		if (!m->fstype || !*m->fstype)
			return bad("%s record %zu: mount %lu has no filesystem type", img, k,
				   (unsigned long)m->mnt_id);
		mount_spec_of_mnt(m, what, sizeof(what), &spec);
		r = check_mount_kind(set, img, k, &spec);
		if (r < 0)
			return r;
		if (k == 0) {
			if (strcmp(m->mountpoint, "/") != 0)
				return bad("%s: the first mount is at '%s', not '/'", img,
					   m->mountpoint);
			continue;
		}
		p = image_set_mnt(set, m->parent_id);
		if (p < 0 || (size_t)p < n->first || (size_t)p >= i)
			return bad("%s record %zu: parent %lu of mount %lu is not listed before it",
				   img, k, (unsigned long)m->parent_id, (unsigned long)m->mnt_id);
		if (!path_below(m->mountpoint, set->mnts[p]->mountpoint))
			return bad("%s record %zu: mountpoint '%s' of mount %lu is not below its "
				   "parent's '%s'",
				   img, k, m->mountpoint, (unsigned long)m->mnt_id,
				   set->mnts[p]->mountpoint);
	}
	return 0;
}

static int check_mnts(struct image_set *set)
{
	ssize_t dup;
	int r;

	r = build_index((void **)set->mnts, set->n_mnts, mnt_key, &set->mnt_order, &dup);
	if (r < 0)
		return r;
	if (dup >= 0)
		return bad("mnt-%lu.img: mount id %lu is listed twice in the tree's namespaces",
			   (unsigned long)set->mntns[set->mnt_ns[dup]].id,
			   (unsigned long)set->mnts[dup]->mnt_id);
	for (size_t ns = 0; ns < set->n_mntns; ns++) {
		r = check_mntns(set, ns);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An anonymous tree: its root is attachable and its own tree; every other mount has a
 * mountpoint and a parent in the same tree, and following parents reaches the root. */
static int check_anonymous(const struct image_set *set, size_t i)
{
	const DetachedMntEntry *d = set->detached[i];
	const DetachedMntEntry *p = d;
	ssize_t k;
	int r;

	if (!d->anonymous)
		return d->attachable ? bad("detached mount %lu is attachable but not anonymous",
					   (unsigned long)d->id)
				     : 0;
	k = image_set_detached(set, d->tree_id);
	if (k < 0 || !set->detached[k]->anonymous || set->detached[k]->tree_id != d->tree_id ||
	    !set->detached[k]->attachable)
		return bad("detached mount %lu: its anonymous tree %lu has no root record",
			   (unsigned long)d->id, (unsigned long)d->tree_id);
	if (d->tree_id == d->id)
		return d->mountpoint
			   ? bad("detached mount %lu: the root of an anonymous tree has a "
				 "mountpoint",
				 (unsigned long)d->id)
			   : 0;
	if (d->attachable)
		return bad("detached mount %lu: only the root of an anonymous tree is attachable",
			   (unsigned long)d->id);
	r = check_path(set, "detached-mnt.img", i, "mountpoint", d->mountpoint, true);
	if (r < 0)
		return r;
	for (size_t steps = 0; p->id != d->tree_id; steps++) {
		k = image_set_detached(set, p->parent_id);
		if (k < 0 || steps > set->n_detached || set->detached[k]->tree_id != d->tree_id)
			return bad("detached mount %lu: its parents do not lead to the root of its "
				   "anonymous tree %lu",
				   (unsigned long)d->id, (unsigned long)d->tree_id);
		p = set->detached[k];
	}
	return 0;
}

/* ---- propagation -------------------------------------------------------------------------- */

static bool mnt_contains(const MntEntry *outer, const MntEntry *inner)
{
	return outer->dev_major == inner->dev_major && outer->dev_minor == inner->dev_minor &&
	       path_below(inner->root, outer->root);
}

/* Restore joins mounts into peer groups with MOVE_MOUNT_SET_GROUP, which copies a group only
 * to a mount whose root lies within the source's: every member of a group must lie within its
 * widest member, and a slave group's widest member within a mount of its master group. */
static int check_propagation(struct image_set *set)
{
	struct hmap leaders = {0}, shared = {0};
	int r = hmap_reserve(&leaders, set->n_mnts);

	if (r == 0)
		r = hmap_reserve(&shared, set->n_mnts);
	/* the widest member of each (peer group, master) */
	for (size_t i = 0; i < set->n_mnts && r == 0; i++) {
		const MntEntry *m = set->mnts[i];
		struct hmap_slot *s;

		if (!m->shared_id && !m->master_id)
			continue;
		if (m->shared_id && (r = hmap_put(&shared, m->shared_id, 0, i)) < 0)
			break;
		s = hmap_find(&leaders, m->shared_id, m->master_id);
		if (!s)
			r = hmap_put(&leaders, m->shared_id, m->master_id, i);
		else if (strlen(m->root) < strlen(set->mnts[s->value]->root))
			s->value = i;
	}
	for (size_t i = 0; i < set->n_mnts && r == 0; i++) {
		const MntEntry *m = set->mnts[i], *leader;
		bool has_master = false;

		if (!m->shared_id && !m->master_id)
			continue;
		if (m->shared_mountpoint &&
		    (r = check_path(set, "mnt image", i, "shared mountpoint", m->shared_mountpoint,
				    true)) < 0)
			break;
		leader = set->mnts[hmap_find(&leaders, m->shared_id, m->master_id)->value];
		if (!mnt_contains(leader, m))
			r = bad(
			    "mount %lu ('%s') of namespace %lu: its peer group %lu has no member "
			    "whose root holds every member's root ('%s' is not within '%s'), "
			    "which restore cannot rebuild",
			    (unsigned long)m->mnt_id, m->mountpoint,
			    (unsigned long)set->mntns[set->mnt_ns[i]].id,
			    (unsigned long)m->shared_id, m->root, leader->root);
		if (r < 0 || leader != m || !m->master_id)
			continue;
		for (const struct hmap_slot *s = hmap_find(&shared, m->master_id, 0);
		     s && !has_master; s = hmap_next(&shared, s))
			has_master = mnt_contains(set->mnts[s->value], m);
		/* a group the tree has no mount of: joined through minicr's namespace */
		if (!hmap_find(&shared, m->master_id, 0) && m->master_mountpoint)
			has_master = check_path(set, "mnt image", i, "master mountpoint",
						m->master_mountpoint, true) == 0;
		if (!has_master)
			r = bad(
			    "mount %lu ('%s') of namespace %lu is a slave of peer group %lu, but "
			    "no mount of that group in the tree's namespaces or in minicr's holds "
			    "its root '%s'",
			    (unsigned long)m->mnt_id, m->mountpoint,
			    (unsigned long)set->mntns[set->mnt_ns[i]].id,
			    (unsigned long)m->master_id, m->root);
	}
	hmap_clear(&leaders);
	hmap_clear(&shared);
	return r;
}

static int check_detached(struct image_set *set)
{
	char what[64];
	struct mount_spec spec;
	ssize_t dup;
	int r;

	r = build_index((void **)set->detached, set->n_detached, detached_key, &set->detached_order,
			&dup);
	if (r < 0)
		return r;
	if (dup >= 0)
		return bad("detached-mnt.img record %zd: mount id %lu is listed twice", dup,
			   (unsigned long)set->detached[dup]->id);
	for (size_t i = 0; i < set->n_detached; i++) {
		const DetachedMntEntry *d = set->detached[i];

		/* no live mount to bind from: its files were saved, or its device is mounted */
		if (d->orphaned && d->kind == MNT_KIND__MNT_KIND_BIND)
			return bad("detached mount %lu (%s, dev %u:%u) has no live mount of its "
				   "filesystem (orphaned) to be bound from",
				   (unsigned long)d->id, d->fstype ? d->fstype : "?", d->dev_major,
				   d->dev_minor);
		if ((r = check_path(set, "detached-mnt.img", i, "root", d->root, true)) < 0)
			return r;
		mount_spec_of_detached(d, what, sizeof(what), &spec);
		r = check_mount_kind(set, "detached-mnt.img", i, &spec);
		if (r < 0)
			return r;
		if (d->source_mnt_root && (r = check_path(set, "detached-mnt.img", i, "source root",
							  d->source_mnt_root, true)) < 0)
			return r;
		for (size_t k = 0; k < d->n_users; k++)
			if (d->users[k]->path &&
			    (r = check_path(set, "detached-mnt.img", i, "user path",
					    d->users[k]->path, false)) < 0)
				return r;
		if ((r = check_anonymous(set, i)) < 0)
			return r;
	}
	return 0;
}

static int check_data(struct image_set *set)
{
	for (size_t i = 0; i < set->n_data; i++) {
		const FileDataEntry *e = set->data[i];
		int r;

		if (e->has_data && e->data.len > FD_DATA_CHUNK_MAX)
			return bad("file-data.img record %zu: chunk of %zu bytes exceeds %u", i,
				   e->data.len, FD_DATA_CHUNK_MAX);
		switch (e->kind) {
		case FILE_DATA_KIND__FILE_DATA_KIND_FILE:
			if (e->owner_id > UINT32_MAX ||
			    image_set_file(set, (uint32_t)e->owner_id) < 0)
				return bad("file-data.img record %zu: file %lu is absent from "
					   "files.img",
					   i, (unsigned long)e->owner_id);
			break;
		case FILE_DATA_KIND__FILE_DATA_KIND_PIPE:
			break;
		case FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE:
		case FILE_DATA_KIND__FILE_DATA_KIND_SK_SEND:
			/* a socket's queue: its owner is the socket's file */
			if (e->owner_id > UINT32_MAX ||
			    image_set_file(set, (uint32_t)e->owner_id) < 0)
				return bad("file-data.img record %zu: socket %lu is absent from "
					   "files.img",
					   i, (unsigned long)e->owner_id);
			break;
		case FILE_DATA_KIND__FILE_DATA_KIND_TMPFS:
			if (image_set_mnt(set, e->owner_id) < 0 &&
			    image_set_detached(set, e->owner_id) < 0)
				return bad(
				    "file-data.img record %zu: tmpfs mount %lu is absent from "
				    "the tree's mount namespaces and from detached-mnt.img",
				    i, (unsigned long)e->owner_id);
			r = check_path(set, "file-data.img", i, "path", e->path, false);
			if (r >= 0 && e->link_to)
				r = check_path(set, "file-data.img", i, "link_to", e->link_to,
					       false);
			if (r < 0)
				return r;
			break;
		default:
			return bad("file-data.img record %zu: unknown kind %d", i, (int)e->kind);
		}
	}
	return 0;
}

/* Which namespace each task lived in: minicr's own (restored in minicr's), or one of the tree's,
 * each of which must have its mnt image. */
static int check_mnt_ns(struct image_set *set)
{
	const InventoryEntry *inv = set->inv;

	set->root_mnt_ns_id = inv->has_root_mnt_ns_id ? inv->root_mnt_ns_id : 0;
	set->mntns = calloc(set->n_tasks, sizeof(*set->mntns));
	if (!set->mntns)
		return -ENOMEM;
	for (size_t t = 0; t < set->n_tasks; t++) {
		const PstreeEntry *p = set->pstree[t];
		ssize_t ns;
		bool has_img = false;

		set->tasks[t].mntns = -1;
		if (!p->has_mnt_ns_id ||
		    (inv->has_root_mnt_ns_id && p->mnt_ns_id == inv->root_mnt_ns_id))
			continue;
		ns = image_set_mntns(set, p->mnt_ns_id);
		if (ns < 0) {
			for (size_t i = 0; i < inv->n_mnt_ns_ids; i++)
				has_img |= inv->mnt_ns_ids[i] == p->mnt_ns_id;
			if (!has_img)
				return bad("mount namespace %lu of task %d has no mnt image",
					   (unsigned long)p->mnt_ns_id, p->pid);
			ns = (ssize_t)set->n_mntns++;
			set->mntns[ns].id = p->mnt_ns_id;
		}
		set->tasks[t].mntns = (int)ns;
	}
	return 0;
}

/* Reads every namespace's mnt image into one array, namespace after namespace. */
static int load_mnts(int img_dirfd, struct image_set *set)
{
	int r;

	for (size_t ns = 0; ns < set->n_mntns; ns++) {
		MntEntry **mnts, **all;
		size_t n;

		r = read_all(img_dirfd, IMAGE_MNT, set->mntns[ns].id, false, (void ***)&mnts, &n);
		if (r < 0)
			return r;
		all = reallocarray(set->mnts, set->n_mnts + n + 1, sizeof(*all));
		if (!all) {
			free_all((void **)mnts, n);
			return -ENOMEM;
		}
		set->mnts = all;
		if (n)
			memcpy(set->mnts + set->n_mnts, mnts, n * sizeof(*mnts));
		free(mnts);
		set->mntns[ns].first = set->n_mnts;
		set->mntns[ns].n_mnts = n;
		set->n_mnts += n;
	}
	set->mnt_ns = malloc((set->n_mnts ? set->n_mnts : 1) * sizeof(*set->mnt_ns));
	if (!set->mnt_ns)
		return -ENOMEM;
	for (size_t ns = 0; ns < set->n_mntns; ns++)
		for (size_t k = 0; k < set->mntns[ns].n_mnts; k++)
			set->mnt_ns[set->mntns[ns].first + k] = ns;
	r = check_mnts(set);
	return r < 0 ? r : check_propagation(set);
}

static int load(int img_dirfd, int fd_limit, bool for_dump, struct image_set **ret_set)
{
	cleanup(image_set_freep) struct image_set *set = calloc(1, sizeof(*set));
	int r;

	if (!set)
		return -ENOMEM;
	set->max_fd = -1;
	set->for_dump = for_dump;
	r = image_read_inventory(img_dirfd, &set->inv);
	if (r < 0)
		return r;
	r = read_all(img_dirfd, IMAGE_PSTREE, 0, false, (void ***)&set->pstree, &set->n_tasks);
	if (r < 0)
		return r;
	set->tasks = calloc(set->n_tasks ? set->n_tasks : 1, sizeof(*set->tasks));
	if (!set->tasks)
		return -ENOMEM;
	if ((r = check_pstree(set)) < 0 || (r = cgroup_check_images(set)) < 0 ||
	    (r = check_mnt_ns(set)) < 0)
		return r;
	r = load_mnts(img_dirfd, set);
	if (r < 0)
		return r;
	r = read_all(img_dirfd, IMAGE_DETACHED_MNT, 0, true, (void ***)&set->detached,
		     &set->n_detached);
	if (r < 0 || (r = check_detached(set)) < 0)
		return r;
	r = read_all(img_dirfd, IMAGE_FILES, 0, false, (void ***)&set->files, &set->n_files);
	if (r < 0 || (r = check_files(set)) < 0 || (r = check_mount_fds(set)) < 0)
		return r;
	for (size_t i = 0; i < set->n_tasks; i++) {
		r = load_task(img_dirfd, set, i, fd_limit);
		if (r < 0)
			return r;
	}
	r = check_shared_tables(set);
	if (r < 0)
		return r;
	r = check_kinds(set);
	if (r < 0)
		return r;
	r = fd_locks_validate(set);
	if (r < 0)
		return r;
	r = read_all(img_dirfd, IMAGE_FILE_DATA, 0, true, (void ***)&set->data, &set->n_data);
	if (r < 0 || (r = check_data(set)) < 0)
		return r;
	*ret_set = TAKE_PTR(set);
	return 0;
}

int image_set_load(int img_dirfd, int fd_limit, struct image_set **ret_set)
{
	return load(img_dirfd, fd_limit, false, ret_set);
}

int image_set_check_for_dump(int img_dirfd, int fd_limit)
{
	struct image_set *set = NULL;
	int r = load(img_dirfd, fd_limit, true, &set);

	image_set_free(set);
	return r;
}
