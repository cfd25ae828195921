/* dump.c: the dump sequence: seize the tree → collect mount tables → infect each process →
 * drain and classify its fds, resolve their mounts → write images → cure → kill or release.
 * Images are written into a private directory inside the images dir and published as one set
 * only when everything succeeded (dump-publish.h), so a failed dump leaves the images dir as
 * it was. */
#define LOG_PREFIX "dump: "
#include "dump.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "cli.h"
#include "mount/dump-contents.h"
#include "mount/dump-detached.h"
#include "dump-images.h"
#include "dump-publish.h"
#include "fd/dump.h"
#include "image-set/image-set.h"
#include "image-write.h"
#include "base/hmap.h"
#include "base/kerndat.h"
#include "base/log.h"
#include "mount/dump-roots.h"
#include "mount/table.h"
#include "task/parasite-cmd.h"
#include "task/parasite-ctl.h"
#include "task/seize.h"
#include "task/dump-cgroup.h"
#include "task/dump-core.h"
#include "task/dump-mm.h"
#include "task/resume.h"
#include "task/task-ns.h"
#include "task/tree-plan.h"
#include "task/files-share.h"
#include "task/mm-share.h"
#include "base/util.h"

/* The most processes infected at once (dump_group()); parasite_ctl.h's batches hold them. */
#define DUMP_GROUP_MAX PARASITE_CTL_BATCH_MAX

/* One process of the tree while it is being dumped. */
struct dump_task {
	const struct seize_task *task;
	struct parasite_ctl *ctl;
	uint64_t mnt_ns_key; /* the mount namespace's key: see ns_key() */
};

struct dump {
	const struct cli_options *opts;
	struct dump_publish *publish;
	int tmp_dirfd; /* where images are written until the dump succeeded (borrowed) */
	struct kerndat kd;
	struct seize_tree *tree;
	struct dump_task *tasks;
	size_t n_tasks;
	struct mount_table **ns_tables; /* one per mount namespace of the tree */
	size_t n_ns;
	struct mount_table *own_table; /* minicr's namespace, when the tree is not in it */
	uint64_t own_ns_key;
	struct detached_ctx *detached;
	struct fd_dump_ctx *fds;
	struct image_writer *file_data;
	size_t n_fds;
	int fd_limit; /* minicr's, raised to the hard limit: a task's fds are all held at once */
	uint64_t own_special_sizes[3]; /* minicr's vdso layout, which each task's must match */
	struct contents_ns_result tmpfs;
	struct dump_cgroups *cgroups; /* NULL with --manage-cgroups=ignore */
};

/* fds minicr keeps besides a task's local copies: images, directories, sockets, probes, and
 * the /proc/PID/mem fd and parasite socket of each task of a dump group (dump_group()). */
#define DUMP_OWN_FDS 64

/* A mount namespace is named by its 64-bit id where the kernel has one (6.9+), else by the
 * inode of its nsfs file; both are unique while the namespace lives. */
static uint64_t table_ns_key(const struct mount_table *t)
{
	return mount_table_ns_id(t) ? mount_table_ns_id(t) : mount_table_ns_ino(t);
}

/* The mount table of minicr's own namespace: collected for it, or one of the tree's. */
static const struct mount_table *own_table(const struct dump *d)
{
	for (size_t i = 0; i < d->n_ns && !d->own_table; i++)
		if (table_ns_key(d->ns_tables[i]) == d->own_ns_key)
			return d->ns_tables[i];
	return d->own_table;
}

/* ---- mount namespaces -------------------------------------------------------------------- */

static int task_ns_ino(pid_t pid, uint64_t *ret_ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (stat(path, &st) < 0)
		return pr_errno("cannot read the mount namespace of task %d", (int)pid);
	*ret_ino = st.st_ino;
	return 0;
}

static struct mount_table *table_by_ino(const struct dump *d, uint64_t ino)
{
	for (size_t i = 0; i < d->n_ns; i++)
		if (mount_table_ns_ino(d->ns_tables[i]) == ino)
			return d->ns_tables[i];
	return NULL;
}

/* One table per mount namespace of the tree (a tree has very few namespaces, so the search
 * over them is cheap), plus minicr's own when the tree lives elsewhere: an fd from minicr's
 * namespace is then "outside the tree", not detached. */
static int collect_mount_tables(struct dump *d)
{
	struct mount_table *t;
	uint64_t own_ino;
	int ret;

	if (seize_fault("mounts"))
		return pr_neg(-EIO, "cannot collect mount tables (injected fault)");
	d->ns_tables = calloc(d->n_tasks, sizeof(*d->ns_tables));
	if (!d->ns_tables)
		return pr_neg(-ENOMEM, "cannot allocate mount tables");
	for (size_t i = 0; i < d->n_tasks; i++) {
		uint64_t ino;

		ret = task_ns_ino(d->tasks[i].task->pid, &ino);
		if (ret < 0)
			return ret;
		t = table_by_ino(d, ino);
		if (!t) {
			ret = mount_table_collect(d->tasks[i].task->pid, 0, &t);
			if (ret < 0)
				return ret;
			d->ns_tables[d->n_ns++] = t;
			ret = mount_stat_removed_roots(t);
			if (ret < 0)
				return ret;
		}
		d->tasks[i].mnt_ns_key = table_ns_key(t);
	}

	ret = task_ns_ino(getpid(), &own_ino);
	if (ret < 0)
		return ret;
	t = table_by_ino(d, own_ino);
	if (t) {
		d->own_ns_key = table_ns_key(t);
	} else {
		ret = mount_table_collect(getpid(), 0, &d->own_table);
		if (ret < 0)
			return ret;
		d->own_ns_key = table_ns_key(d->own_table);
	}
	ret = detached_ctx_new(d->ns_tables, d->n_ns, d->own_table ? &d->own_table : NULL,
			       d->own_table ? 1 : 0, 0, &d->detached);
	if (ret < 0)
		return pr_neg(ret, "cannot set up detached-mount resolution");
	return 0;
}

/* --explain: the mount tables the fds are looked up in. */
static void explain_tables(const struct dump *d, uint64_t start)
{
	for (size_t i = 0; i < d->n_ns; i++) {
		const struct mount_table *t = d->ns_tables[i];
		bool by_listmount = mount_table_method(t) == MOUNT_TABLE_METHOD_LISTMOUNT;

		explain(start, by_listmount ? "listmount, statmount" : "/proc/PID/mountinfo",
			"mount namespace %" PRIu64 " of task %d: %zu mounts%s", table_ns_key(t),
			(int)mount_table_pid(t), mount_table_size(t),
			table_ns_key(t) == d->own_ns_key ? " (minicr's own)" : "");
	}
}

/* ---- fds --------------------------------------------------------------------------------- */

static int refuse_outside_mount(pid_t pid, int fd, const char *link_path, uint64_t mnt_id)
{
	pr_err("cannot dump fd %d of task %d ('%s'): its mount %" PRIu64
	       " belongs to a mount namespace outside the dumped tree",
	       fd, (int)pid, link_path, mnt_id);
	return -EXDEV;
}

/* --explain: where an fd's mount was found; for a detached one, how it was resolved. */
static void explain_mount_of(pid_t pid, int fd, const char *path, const struct detached_result *res,
			     uint64_t start)
{
	const struct detached_mount *dm = res->detached;
	char who[48];

	if (fd >= 0)
		snprintf(who, sizeof(who), "task %d: fd %d", (int)pid, fd);
	else
		snprintf(who, sizeof(who), "task %d: its cwd or root", (int)pid);
	if (res->kind == DETACHED_FD_OTHER_NS && res->mount)
		explain(start, "statx, fdinfo",
			"%s ('%s') is on mount %u of minicr's own namespace, outside the tree's: "
			"reopened there at restore",
			who, path, res->mount->mnt_id_old);
	if (res->kind != DETACHED_FD_DETACHED)
		return;
	if (dm->n_users > 1) {
		explain(start, "statx", "%s ('%s') is on the same detached mount %u", who, path,
			dm->mnt_id_old);
		return;
	}
	if (dm->method == DETACHED_METHOD_STATMOUNT_BY_FD)
		explain(start, "statmount(STATMOUNT_BY_FD)",
			"%s ('%s') is on mount %u, which no mount table lists: detached; resolved "
			"by statmount on the fd itself: %s, root %s%s",
			who, path, dm->mnt_id_old, dm->fstype, dm->root ? dm->root : "?",
			dm->is_orphaned ? ", its filesystem mounted nowhere else (orphaned)" : "");
	else if (dm->source_mnt)
		explain(start, "name_to_handle_at, open_by_handle_at, fstatfs",
			"%s ('%s') is on mount %u, which no mount table lists: detached; resolved "
			"with a file handle through mount %u ('%s') -> root %s",
			who, path, dm->mnt_id_old, dm->source_mnt->mnt_id_old,
			dm->source_mnt->mountpoint, dm->root ? dm->root : "?");
	else
		explain(
		    start, "fstatfs",
		    "%s ('%s') is on mount %u, which no mount table lists: detached; no live mount "
		    "of its %s filesystem exists (orphaned)",
		    who, path, dm->mnt_id_old, dm->fstype);
}

static int resolve_mount(void *opaque, pid_t pid, int fd, int local_fd, uint32_t mnt_id_old,
			 uint64_t mnt_id_unique, const char *link_path, struct fd_mount_ref *ret)
{
	struct dump *d = opaque;
	struct detached_fd desc = {.pid = pid,
				   .fd = fd,
				   .mnt_id = mnt_id_old,
				   .mnt_id_unique = mnt_id_unique,
				   .path = link_path};
	struct detached_result res;
	uint64_t start = log_explaining ? monotonic_ns() : 0;
	int r;

	r = detached_resolve_fd(d->detached, local_fd, &desc, &res);
	if (r < 0)
		return r;
	if (log_explaining)
		explain_mount_of(pid, fd, link_path, &res, start);
	switch (res.kind) {
	case DETACHED_FD_IN_TREE:
		ret->mnt_id = mount_entry_key(res.mount);
		ret->mnt_ns_id = table_ns_key(res.table);
		ret->mnt_id_old = res.mount->mnt_id_old;
		ret->detached = false;
		break;
	case DETACHED_FD_DETACHED:
		ret->mnt_id = detached_mount_key(res.detached);
		ret->mnt_ns_id = 0;
		ret->mnt_id_old = res.detached->mnt_id_old;
		ret->detached = true;
		ret->is_mount_fd = res.is_mount_fd;
		break;
	case DETACHED_FD_OTHER_NS:
		/* A file from minicr's own namespace (typically stdio inherited from outside
		 * before the tree unshared its namespace) is reopened from there at restore. */
		if (!res.table || table_ns_key(res.table) != d->own_ns_key)
			return refuse_outside_mount(pid, fd, link_path,
						    mnt_id_old ? mnt_id_old : mnt_id_unique);
		ret->mnt_id = mount_entry_key(res.mount);
		ret->mnt_ns_id = d->own_ns_key;
		ret->mnt_id_old = res.mount->mnt_id_old;
		ret->detached = false;
		break;
	default:
		return refuse_outside_mount(pid, fd, link_path,
					    mnt_id_old ? mnt_id_old : mnt_id_unique);
	}
	if (strlen(link_path) >= sizeof(ret->path)) {
		pr_err("cannot dump fd %d of task %d: path too long", fd, (int)pid);
		return -ENAMETOOLONG;
	}
	strcpy(ret->path, link_path);
	return 0;
}

/* The root of mount e of table t, if it is that mount (not covered by another): O_PATH fd, or
 * -1. Reached through the namespace's task, so it works for any namespace of the tree. */
static int open_mount_root(const struct mount_table *t, const struct mount_entry *e)
{
	char path[PATH_MAX];
	struct statx stx;
	int fd;

	if (snprintf(path, sizeof(path), "/proc/%d/root%s", (int)mount_table_pid(t),
		     e->mountpoint) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    (uint32_t)stx.stx_mnt_id != e->mnt_id_old) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The root of a mount of table t: the one with old id mnt_id_old, else one of major:minor, a
 * mount of the whole filesystem first (its root holds every file). Returns an fd or -1. */
static int open_mount_in(const struct mount_table *t, uint32_t mnt_id_old, uint32_t major,
			 uint32_t minor)
{
	const struct mount_entry *e;

	if (mnt_id_old) {
		e = mount_table_find_old(t, mnt_id_old);
		return e ? open_mount_root(t, e) : -1;
	}
	for (int whole = 1; whole >= 0; whole--)
		for (e = mount_table_find_dev(t, major, minor); e; e = e->next_same_dev) {
			int fd;

			if (whole != (strcmp(e->root, "/") == 0))
				continue;
			fd = open_mount_root(t, e);
			if (fd >= 0)
				return fd;
		}
	return -1;
}

/* The tree's namespaces first, then minicr's own. */
static int open_mount(void *opaque, uint32_t mnt_id_old, uint32_t major, uint32_t minor)
{
	struct dump *d = opaque;
	int fd;

	for (size_t i = 0; i < d->n_ns; i++) {
		fd = open_mount_in(d->ns_tables[i], mnt_id_old, major, minor);
		if (fd >= 0)
			return fd;
	}
	if (d->own_table && (fd = open_mount_in(d->own_table, mnt_id_old, major, minor)) >= 0)
		return fd;
	return -ENOENT;
}

static int write_file_data(void *opaque, const FileDataEntry *entry)
{
	struct dump *d = opaque;

	return image_write_entry(d->file_data, &entry->base);
}

/* Drains the task's listed fds over the parasite's socket, classifies them and writes
 * fdinfo-<pid>.img and fs-<pid>.img. */
static int dump_task_fds(struct dump *d, struct dump_task *t, const int *fds, size_t n_fds)
{
	uint64_t start = monotonic_ns();
	cleanup_free struct parasite_fd_opts *opts = NULL;
	cleanup_free struct fd_local *locals = NULL;
	cleanup_free int *local_fds = NULL;
	cleanup_free FdEntry *entries = NULL;
	struct image_writer *w = NULL;
	pid_t pid = t->task->pid;
	FsEntry fs;
	int ret;

	if (n_fds + DUMP_OWN_FDS > (size_t)d->fd_limit) {
		pr_err("cannot dump task %d: it has %zu fds, more than minicr can hold at once under "
		       "its fd limit of %d (raise the hard RLIMIT_NOFILE)",
		       (int)pid, n_fds, d->fd_limit);
		return -EMFILE;
	}
	opts = calloc(n_fds + 1, sizeof(*opts));
	locals = calloc(n_fds + 1, sizeof(*locals));
	local_fds = calloc(n_fds + 1, sizeof(*local_fds));
	if (!opts || !locals || !local_fds)
		return pr_neg(-ENOMEM, "cannot allocate the fd table of task %d", (int)pid);
	if (n_fds > 0) {
		ret = parasite_cmd_drain_fds(t->ctl, fds, n_fds, local_fds, opts);
		if (ret < 0) {
			/* the drain names no fd: say which kind the kernel would not pass */
			int bad = fd_find_unpassable(pid, fds, n_fds);

			if (bad >= 0)
				pr_err("cannot dump fd %d of task %d: unsupported kind 'io_uring' "
				       "(anon_inode:[io_uring]: its files cannot be passed between "
				       "processes, nor rebuilt)",
				       bad, (int)pid);
			return ret;
		}
	}
	for (size_t i = 0; i < n_fds; i++) {
		locals[i].fd = fds[i];
		locals[i].local_fd = local_fds[i];
		locals[i].cloexec = (opts[i].fd_flags & FD_CLOEXEC) ? 1 : 0;
	}
	pr_debug("task %d: drained %zu fds in %.1f ms", (int)pid, n_fds,
		 (double)(monotonic_ns() - start) / 1e6);
	ret = fd_dump_task(d->fds, pid, locals, n_fds, &entries);
	for (size_t i = 0; i < n_fds; i++)
		close(local_fds[i]);
	if (ret < 0)
		return ret;
	pr_debug("task %d: classified %zu fds in %.1f ms", (int)pid, n_fds,
		 (double)(monotonic_ns() - start) / 1e6);
	explain(start, "parasite: poll, SCM_RIGHTS; kcmp",
		"task %d: %zu fds taken from inside the task by the parasite and classified",
		(int)pid, n_fds);

	ret = image_writer_open(d->tmp_dirfd, IMAGE_FDINFO, (uint64_t)pid, &w);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_fds && ret >= 0; i++)
		ret = image_write_entry(w, &entries[i].base);
	if (ret < 0) {
		image_writer_free(w);
		return ret;
	}
	ret = image_writer_close(w);
	if (ret < 0)
		return ret;
	d->n_fds += n_fds;

	ret = fd_dump_fs(d->fds, pid, &fs);
	if (ret < 0)
		return ret;
	return image_write_single(d->tmp_dirfd, IMAGE_FS, (uint64_t)pid, &fs.base);
}

/* ---- one process ------------------------------------------------------------------------ */

/* The task's open fds, ascending, without the parasite's socket. Where the kernel counts them
 * (n_open > 0, taken before infection) the parasite lists them from inside, far cheaper than
 * /proc/PID/fd; fewer than counted means O_PATH fds, which a slower second pass finds. */
static int list_task_fds(struct dump_task *t, int n_open, int **ret_fds)
{
	pid_t pid = t->task->pid;
	int table_size = fd_table_size(pid), n;

	if (table_size < 0)
		return table_size;
	n = parasite_cmd_list_fds(t->ctl, table_size, false, ret_fds);
	if (n >= 0 && n < n_open) {
		free(*ret_fds);
		n = parasite_cmd_list_fds(t->ctl, table_size, true, ret_fds);
	}
	if (n >= 0 && n != n_open) {
		free(*ret_fds);
		pr_err("cannot dump task %d: its fd table changed while it was frozen (%d fds, then "
		       "%d; is it shared with a task outside the tree?)",
		       (int)pid, n_open, n);
		return -EBUSY;
	}
	return n;
}

/* What a process of a group carries from before its infection to its dump after the cure. */
struct group_task {
	int n_open; /* fds counted before the infection, 0 where the kernel does not count */
	int *fds;   /* the fds listed from /proc where it does not (n_fds of them) */
	int n_fds;
	struct parasite_task_state state;
	TaskCoreEntry core;
};

/* Counts (or, on kernels that do not count, lists) the task's fds before the parasite's socket
 * is among them, then prepares its infection. */
static int before_infection(struct dump_task *t, struct group_task *g)
{
	g->n_open = fd_count(t->task->pid);
	if (g->n_open < 0)
		return g->n_open;
	if (g->n_open == 0) {
		g->n_fds = fd_list(t->task->pid, &g->fds);
		if (g->n_fds < 0)
			return g->n_fds;
	}
	return parasite_ctl_prepare(t->task->pid, &t->ctl);
}

/* What needs the parasite: the fds, the state only the task can read, the process attributes. */
static int while_infected(struct dump *d, struct dump_task *t, struct group_task *g)
{
	int ret;

	if (g->n_open > 0) {
		g->n_fds = list_task_fds(t, g->n_open, &g->fds);
		if (g->n_fds < 0)
			return g->n_fds;
	}
	ret = dump_task_fds(d, t, g->fds, (size_t)g->n_fds);
	free(TAKE_PTR(g->fds));
	if (ret < 0)
		return ret;
	ret = parasite_cmd_get_task_state(t->ctl, &g->state);
	if (ret < 0)
		return ret;
	return task_dump_running(t->task, &g->state, &g->core);
}

/* The first failure of a group step; -ECANCELED marks a task the step left out after it. */
static int first_error(const int *rets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rets[i] < 0 && rets[i] != -ECANCELED)
			return rets[i];
	for (size_t i = 0; i < n; i++)
		if (rets[i] < 0)
			return rets[i];
	return 0;
}

/* Dumps tasks [from, to): each is infected, drained and cured with the others, so that they run
 * their injected calls side by side while minicr goes on with the next one; on a VM each wake-up
 * of a task or of minicr on the other CPU costs tens of microseconds, a dozen times a task. */
static int dump_group(struct dump *d, size_t from, size_t to, struct group_task *group)
{
	struct parasite_ctl *ctls[DUMP_GROUP_MAX];
	int rets[DUMP_GROUP_MAX], ret = 0;
	size_t n = to - from;

	memset(group, 0, n * sizeof(*group));
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = before_infection(&d->tasks[from + i], &group[i]);
		ctls[i] = d->tasks[from + i].ctl;
	}
	if (ret == 0) {
		parasite_ctl_infect_many(ctls, n, rets);
		ret = first_error(rets, n);
	}
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = while_infected(d, &d->tasks[from + i], &group[i]);
	if (ret == 0) {
		parasite_ctl_cure_many(ctls, n, rets);
		ret = first_error(rets, n);
	}
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = task_dump(d->tmp_dirfd, d->tasks[from + i].task, ctls[i], &group[i].state,
				&group[i].core, d->own_special_sizes);
	/* dumped and cured: its /proc/PID/mem fd and saved xstate need not wait for the whole
	 * tree (a tree of thousands would hold as many fds) */
	for (size_t i = 0; i < n && ret == 0; i++)
		d->tasks[from + i].ctl = parasite_ctl_free(d->tasks[from + i].ctl);
	for (size_t i = 0; i < n; i++)
		free(TAKE_PTR(group[i].fds));
	return ret;
}

/* Does task j share its fd table with one of tasks [from, j)? Its fd count would then take in
 * their parasites' sockets. (No two share an address space: mm_share_check() refused that.) */
static bool shares_with_group(const struct dump *d, size_t from, size_t j)
{
	const struct seize_task *t = d->tasks[j].task;

	for (size_t k = from; k < j; k++) {
		const struct seize_task *o = d->tasks[k].task;

		if (t->files_owner &&
		    (o->pid == t->files_owner || o->files_owner == t->files_owner))
			return true;
	}
	return false;
}

static size_t group_end(const struct dump *d, size_t from)
{
	size_t to = from + 1;

	while (to < d->n_tasks && to - from < DUMP_GROUP_MAX && !shares_with_group(d, from, to))
		to++;
	return to;
}

/* Test hook: MINICR_FAULT=exit kills the last process of the tree while it is seized, as if
 * it had died mid-dump; the dump must notice and leave the rest of the tree running. */
static void inject_task_exit(struct dump *d)
{
	if (d->n_tasks > 0 && seize_fault("exit"))
		kill(d->tasks[d->n_tasks - 1].task->pid, SIGKILL);
}

static int dump_tasks(struct dump *d)
{
	int ret;

	cleanup_free struct group_task *group = calloc(DUMP_GROUP_MAX, sizeof(*group));

	if (!group)
		return pr_neg(-ENOMEM, "cannot allocate the dump of %d tasks at once",
			      DUMP_GROUP_MAX);
	inject_task_exit(d);
	for (size_t from = 0, to; from < d->n_tasks; from = to) {
		to = group_end(d, from);
		ret = dump_group(d, from, to, group);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Cures every infected process, a group at a time; returns the first error. */
static int cure_tasks(struct dump *d)
{
	int ret = 0;

	for (size_t from = 0; from < d->n_tasks; from += DUMP_GROUP_MAX) {
		size_t n = d->n_tasks - from < DUMP_GROUP_MAX ? d->n_tasks - from : DUMP_GROUP_MAX;
		struct parasite_ctl *ctls[DUMP_GROUP_MAX];
		int rets[DUMP_GROUP_MAX];

		for (size_t i = 0; i < n; i++)
			ctls[i] = d->tasks[from + i].ctl;
		parasite_ctl_cure_many(ctls, n, rets);
		for (size_t i = 0; i < n; i++) {
			d->tasks[from + i].ctl = parasite_ctl_free(d->tasks[from + i].ctl);
			if (rets[i] < 0 && ret == 0)
				ret = rets[i];
		}
	}
	return ret;
}

/* ---- the sequence ------------------------------------------------------------------------- */

static int set_up_tasks(struct dump *d)
{
	d->tasks = calloc(d->tree->n_tasks, sizeof(*d->tasks));
	if (!d->tasks)
		return pr_neg(-ENOMEM, "cannot allocate %zu tasks", d->tree->n_tasks);
	for (size_t i = 0; i < d->tree->n_tasks; i++) {
		const struct seize_task *task = &d->tree->tasks[i];

		if (task->is_zombie) {
			pr_err("cannot dump task %d: it is a zombie (exited, not yet reaped by its "
			       "parent %d)",
			       (int)task->pid, (int)task->ppid);
			return -ENOTSUP;
		}
		d->tasks[d->n_tasks++].task = task;
	}
	return 0;
}

/* Tasks in namespaces restore does not rebuild are refused before the tree is touched. */
static int check_namespaces(struct dump *d)
{
	for (size_t i = 0; i < d->n_tasks; i++) {
		int r = task_ns_check(d->tasks[i].task->pid);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Sessions and groups restore could not rebuild are refused before the tree is touched. */
static int check_sessions(struct dump *d)
{
	cleanup_free struct tree_plan_in *in = reallocarray(NULL, d->n_tasks, sizeof(*in));
	struct hmap index = {0}; /* (pid, 0) -> its task index */
	int ret = 0;

	if (!in)
		return pr_neg(-ENOMEM, "cannot allocate the process tree plan");
	/* a parent comes before its children in the seized tree */
	for (size_t i = 0; i < d->n_tasks && ret == 0; i++) {
		const struct seize_task *t = d->tasks[i].task;
		const struct hmap_slot *parent = hmap_find(&index, (uint64_t)t->ppid, 0);

		in[i] = (struct tree_plan_in){.pid = t->pid, .pgid = t->pgid, .sid = t->sid,
					      .parent = parent ? (int)parent->value : -1};
		ret = hmap_put(&index, (uint64_t)t->pid, 0, i);
	}
	hmap_clear(&index);
	if (ret < 0)
		return pr_neg(ret, "cannot allocate the process tree plan");
	return tree_plan_check(in, d->n_tasks, 0, 0);
}

static int write_pstree(struct dump *d)
{
	cleanup_free uint64_t *ns_keys = calloc(d->n_tasks, sizeof(*ns_keys));

	if (!ns_keys)
		return pr_neg(-ENOMEM, "cannot allocate the process tree records");
	for (size_t i = 0; i < d->n_tasks; i++)
		ns_keys[i] = d->tasks[i].mnt_ns_key;
	return dump_write_pstree(d->tmp_dirfd, d->tree, ns_keys, d->cgroups);
}

static int write_images(struct dump *d)
{
	int ret;

	if (seize_fault("images"))
		return pr_neg(-EIO, "cannot write images (injected fault)");
	ret = dump_write_files(d->tmp_dirfd, d->fds);
	if (ret < 0)
		return ret;
	ret = dump_write_detached(d->tmp_dirfd, d->detached);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < d->n_ns; i++) {
		ret =
		    dump_write_mounts(d->tmp_dirfd, d->ns_tables[i], table_ns_key(d->ns_tables[i]),
				      own_table(d), d->tmpfs.walked, d->tmpfs.n_walked);
		if (ret < 0)
			return ret;
	}
	ret = write_pstree(d);
	if (ret < 0)
		return ret;
	return dump_write_inventory(d->tmp_dirfd, d->opts->tree_pid, &d->kd, d->ns_tables,
				    d->n_ns, d->own_ns_key);
}

/* Rule 1, what dump writes restore accepts: the set about to be published is read back through
 * restore's own checks, so a state restore would refuse fails the dump (with restore's reason)
 * while the tree can still be let go. */
static int check_restorable(struct dump *d)
{
	int ret;

	if (seize_fault("check"))
		return pr_neg(-EIO, "cannot check the images (injected fault)");
	ret = image_set_check_for_dump(d->tmp_dirfd, image_set_fd_limit(d->fd_limit));
	/* and each task's core, mm and pagemap images, as resume_task_load() checks them */
	for (size_t i = 0; i < d->n_tasks && ret == 0; i++)
		ret = resume_task_check(d->tmp_dirfd, d->tasks[i].task->pid);
	return ret;
}

/* Filesystems only the tree reaches hold files no other mount can give back at restore: tmpfs
 * mounts of the tree's own namespaces, and orphaned ones behind detached or anonymous mounts.
 * Their contents go to file-data.img. */
static int dump_private_contents(struct dump *d)
{
	cleanup(contents_dump_freep) struct contents_dump *cd = contents_dump_new(d->file_data);
	const struct mount_table *own = own_table(d);

	if (!cd)
		return pr_neg(-ENOMEM, "cannot allocate the contents buffer");
	for (size_t i = 0; i < d->n_ns; i++) {
		int ret;

		if (table_ns_key(d->ns_tables[i]) == d->own_ns_key)
			continue;
		ret = contents_dump_namespace(cd, d->ns_tables[i], own, &d->tmpfs);
		if (ret < 0)
			return ret;
	}
	return detached_ctx_finish(d->detached, cd);
}

static void dump_free(struct dump *d)
{
	image_writer_free(d->file_data);
	free(d->tmpfs.walked);
	fd_dump_ctx_free(d->fds);
	detached_ctx_free(d->detached);
	for (size_t i = 0; i < d->n_ns; i++)
		mount_table_free(d->ns_tables[i]);
	free(d->ns_tables);
	mount_table_free(d->own_table);
	free(d->tasks);
	dump_cgroups_free(d->cgroups);
	seize_tree_free(d->tree);
	dump_publish_free(d->publish);
}

int dump_run(const struct cli_options *opts)
{
	struct dump d = {.opts = opts, .tmp_dirfd = -EBADF};
	struct fd_dump_callbacks cb = {
	    .resolve_mount = resolve_mount,
	    .data_sink = write_file_data,
	    .open_mount = open_mount,
	    .opaque = &d,
	    .tcp_established = opts->criu.tcp_established,
	    .shell_job = opts->criu.shell_job,
	};
	uint64_t start = monotonic_ns();
	int ret;

	d.fd_limit = raise_fd_limit();
	if (d.fd_limit < 0) {
		ret = pr_neg(d.fd_limit, "cannot raise the fd limit");
		goto out_free;
	}
	kerndat_probe_in_process(&d.kd);
	ret = mem_own_special_sizes(d.own_special_sizes);
	if (ret < 0)
		goto out_free;
	pr_debug("kernel probed in %.1f ms", (double)(monotonic_ns() - start) / 1e6);
	ret = dump_publish_open(opts->images_dir, &d.publish);
	if (ret < 0)
		goto out_free;
	d.tmp_dirfd = dump_publish_dirfd(d.publish);

	ret = seize_tree(opts->tree_pid, opts->timeout, &d.tree);
	if (ret < 0)
		goto out_remove_images;
	/* the tree is frozen: what its fds need from the whole system can be read from now */
	d.fds = fd_dump_ctx_new(&cb);
	if (!d.fds) {
		ret = pr_neg(-ENOMEM, "cannot allocate the fd dump state");
		goto out_release_tree;
	}
	fd_dump_prefetch(d.fds);
	ret = set_up_tasks(&d);
	if (ret == 0)
		ret = check_namespaces(&d);
	if (ret == 0)
		ret = check_sessions(&d);
	if (ret == 0 && cli_manage_cgroups(opts))
		ret = dump_cgroups_collect(d.tree, &d.cgroups);
	if (ret == 0)
		ret = files_share_detect(d.tree);
	if (ret == 0)
		ret = mm_share_check(d.tree);
	if (ret < 0)
		goto out_release_tree;
	pr_debug("tree seized in %.1f ms", (double)(monotonic_ns() - start) / 1e6);
	explain(start, "PTRACE_SEIZE, PTRACE_INTERRUPT",
		"froze the tree of %d: %zu task(s), every thread stopped", (int)opts->tree_pid,
		d.n_tasks);
	ret = collect_mount_tables(&d);
	if (ret < 0)
		goto out_release_tree;
	pr_debug("mount tables collected in %.1f ms", (double)(monotonic_ns() - start) / 1e6);
	explain_tables(&d, start);
	ret = image_writer_open(d.tmp_dirfd, IMAGE_FILE_DATA, 0, &d.file_data);
	if (ret < 0)
		goto out_release_tree;

	ret = dump_tasks(&d);
	if (ret < 0)
		goto out_cure;
	ret = fd_dump_finish(d.fds);
	if (ret < 0)
		goto out_cure;
	ret = dump_private_contents(&d);
	if (ret < 0)
		goto out_cure;
	ret = image_writer_close(TAKE_PTR(d.file_data));
	if (ret < 0)
		goto out_cure;
	pr_debug("tasks dumped in %.1f ms", (double)(monotonic_ns() - start) / 1e6);
	ret = write_images(&d);
	if (ret < 0)
		goto out_cure;
	ret = check_restorable(&d);
	if (ret < 0)
		goto out_cure;
	explain(start, NULL, "wrote the images; restore's own checks accept them");
	ret = cure_tasks(&d);
	if (ret < 0)
		goto out_release_tree;
	ret = dump_publish_commit(d.publish);
	if (ret < 0)
		goto out_release_tree;

	explain(start, "PTRACE_INTERRUPT, mprotect, PTRACE_SETREGS",
		"cured every task: no parasite, code or register of "
		"minicr left in them; images published");
	fd_dump_end(d.fds, !opts->leave_running);
	if (opts->leave_running) {
		fd_dump_release(d.fds);
		seize_release(d.tree);
	} else {
		seize_kill(d.tree);
	}
	explain(start, opts->leave_running ? "PTRACE_DETACH" : "SIGKILL",
		opts->leave_running ? "let the tree run on" : "killed the tree");
	pr_info("dumped %zu task(s), %zu fd(s), %zu mount namespace(s), %zu detached mount(s) "
		"into '%s' in %.1f ms",
		d.n_tasks, d.n_fds, d.n_ns, detached_ctx_n_mounts(d.detached), opts->images_dir,
		(double)(monotonic_ns() - start) / 1e6);
	dump_free(&d);
	return 0;

out_cure:
	(void)cure_tasks(&d);
out_release_tree:
	if (d.fds) {
		fd_dump_end(d.fds, false);
		fd_dump_release(d.fds);
	}
	if (d.tree)
		seize_release(d.tree);
out_remove_images:
	d.file_data = image_writer_free(d.file_data);
out_free:
	dump_free(&d);
	return ret;
}
