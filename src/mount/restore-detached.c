/* restore-detached.c: the mounts in no namespace's table, each a clone of its root in a
 * superblock its kind provides (a live mount, a new tmpfs filled with the saved files, a block
 * device mounted again). A lazily unmounted one: both methods end in the same observable state,
 * the files opened beneath the root fd sit on a mount that is in no namespace, with the dumped
 * per-mount flags, and readlink of them shows the path relative to that mount's root; it cannot
 * be attached (an open_tree(OPEN_TREE_CLONE) clone is in an anonymous namespace only while the
 * fd open_tree() returned is open: the kernel dissolves the namespace when minicr closes it,
 * and the mount is then in none). An anonymous tree is built as one, children moved onto their
 * mountpoints in it, and its root's fd is the one the task gets as its mount fd: it stays
 * attachable as long as the task holds it. */
#define LOG_PREFIX "restore: "
#include "mount/restore-detached.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/path.h"
#include "mount/build.h"
#include "mount/table.h"
#include "base/fault.h"
#include "image-set/image-set.h"
#include "base/util.h"

#define DETACHED_DIR_PREFIX "/.minicr.detached."

struct restore_detached {
	const struct image_set *set;
	enum cli_detached_method method;
	int *root_fds; /* per set->detached[i]; -EBADF until prepared */
	const struct mount_table *live; /* during a pass: the namespace it runs in */
	uint64_t ns_id;			/* that namespace's dumped id; 0: minicr's own */
};

struct restore_detached *restore_detached_new(const struct image_set *set,
					      enum cli_detached_method method)
{
	struct restore_detached *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->set = set;
	d->method = method;
	d->root_fds = malloc((set->n_detached ? set->n_detached : 1) * sizeof(int));
	if (!d->root_fds) {
		free(d);
		return NULL;
	}
	for (size_t i = 0; i < set->n_detached; i++)
		d->root_fds[i] = -EBADF;
	return d;
}

struct restore_detached *restore_detached_free(struct restore_detached *d)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->set->n_detached; i++)
		if (d->root_fds[i] >= 0)
			close(d->root_fds[i]);
	free(d->root_fds);
	free(d);
	return NULL;
}

int restore_detached_root(const struct restore_detached *d, uint64_t id)
{
	ssize_t i = image_set_detached(d->set, id);

	/* the kernel shows the paths of files on an anonymous tree from the tree's root, across
	 * its mounts; opened beneath that root they land on the mount they were on */
	if (i >= 0 && d->set->detached[i]->anonymous)
		i = image_set_detached(d->set, d->set->detached[i]->tree_id);
	if (i < 0 || d->root_fds[i] < 0) {
		pr_err("detached mount %lu was not rebuilt", (unsigned long)id);
		return -ENOENT;
	}
	return d->root_fds[i];
}

/* METHOD clone: an unattached clone of the root, never visible anywhere. */
static int prepare_clone(struct mount_build *b, const struct mount_spec *spec, uint64_t attr)
{
	cleanup_close int tree_fd = mount_build_clone(b, spec);
	int r;

	if (tree_fd < 0)
		return tree_fd;
	r = mount_set_attrs(tree_fd, attr, MS_PRIVATE, spec->what);
	if (r < 0)
		return r;
	return TAKE_FD(tree_fd);
}

/* Creates /.minicr.detached.XXXXXX (a directory, or a file for a single-file mount) with a
 * random name in root_fd, the scratch namespace's own tmpfs; mkdirat and O_EXCL never follow a
 * symlink at the name. */
static int make_mountpoint(int root_fd, bool is_file, char *name, size_t size)
{
	for (int tries = 0; tries < 100; tries++) {
		uint64_t rnd = 0;
		int r;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return pr_errno("cannot draw a random name");
		snprintf(name, size, "%s%012llx", &DETACHED_DIR_PREFIX[1], /* no leading slash */
			 (unsigned long long)(rnd & 0xffffffffffffULL));
		if (is_file) {
			r = openat(root_fd, name,
				   O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (r >= 0) {
				close(r);
				return 0;
			}
		} else if (mkdirat(root_fd, name, 0700) == 0) {
			return 0;
		}
		if (errno != EEXIST)
			return pr_errno("cannot create the temporary mountpoint '/%s'", name);
	}
	errno = EEXIST;
	return pr_errno("cannot create a temporary mountpoint in '/'");
}

/* METHOD mountpoint, the talk's: attach a clone of the source (a bind of it, made through fds)
 * at a fresh mountpoint, set the flags, take the mount's root, then MNT_DETACH it and remove the
 * mountpoint. The caller runs this in a throwaway copy of the target namespace, with root_fd a
 * tmpfs of that copy, so neither the mount nor the mountpoint is ever visible outside it, and
 * both go with the copy even if the task (or minicr) dies half-way. */
static int prepare_mountpoint(int root_fd, const DetachedMntEntry *e, const struct mount_spec *spec,
			      int tree_fd)
{
	bool is_file = e->root_is_file;
	cleanup_close int mp_fd = -EBADF, fd = -EBADF;
	char name[64], mp_path[64];
	int r;

	r = make_mountpoint(root_fd, is_file, name, sizeof(name));
	if (r < 0)
		return r;
	mp_fd =
	    openat(root_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | (is_file ? 0 : O_DIRECTORY));
	if (mp_fd < 0) {
		r = pr_errno("cannot open the temporary mountpoint '/%s'", name);
		goto out_rmdir;
	}
	snprintf(mp_path, sizeof(mp_path), "/proc/self/fd/%d", mp_fd);
	if (move_mount(tree_fd, "", mp_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0) {
		r = pr_errno("cannot attach the source of detached mount %lu on '/%s'",
			     (unsigned long)e->id, name);
		goto out_rmdir;
	}
	fd = openat(root_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = pr_errno("cannot open the temporary mount '/%s'", name);
		goto out_umount;
	}
	r = mount_set_attrs(fd, e->mnt_attr, MS_PRIVATE, spec->what);
	if (r < 0)
		goto out_umount;
	r = restore_fault("detached-mountpoint");
	if (r < 0)
		goto out_umount;
	if (umount2(mp_path, MNT_DETACH) < 0) {
		r = pr_errno("cannot detach the temporary mount '/%s'", name);
		goto out_umount;
	}
	if (unlinkat(root_fd, name, is_file ? 0 : AT_REMOVEDIR) < 0)
		return pr_errno("cannot remove the temporary mountpoint '/%s'", name);
	return TAKE_FD(fd);
out_umount:
	(void)umount2(mp_path, MNT_DETACH);
out_rmdir:
	(void)unlinkat(root_fd, name, is_file ? 0 : AT_REMOVEDIR);
	return r;
}

/* Enters a private copy of the current mount namespace for the mountpoint method. Returns the
 * fd of the namespace to return to, or -errno (logged). */
static int enter_scratch_ns(void)
{
	cleanup_close int ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (ns_fd < 0)
		return pr_errno("cannot open the current mount namespace");
	if (unshare(CLONE_NEWNS) < 0)
		return pr_errno("cannot create a scratch mount namespace");
	/* Without this a mount on a shared "/" would propagate into the target namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		int r = pr_errno("cannot make the scratch mount namespace private");

		(void)setns(ns_fd, CLONE_NEWNS);
		return r;
	}
	return TAKE_FD(ns_fd);
}

/* A tmpfs of the scratch namespace, attached over its "/" (path lookups from the root still
 * start below it, so /proc stays reachable): the temporary mountpoints are made in it, never on
 * a file system that outlives the namespace. Returns its mount fd or -errno (logged). */
static int scratch_tmpfs(void)
{
	cleanup_close int fs_fd = -EBADF, mnt_fd = -EBADF;

	fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return pr_errno("cannot create a tmpfs for the temporary mountpoints (Linux 5.2+)");
	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return pr_errno("cannot create a tmpfs for the temporary mountpoints");
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt_fd < 0)
		return pr_errno("cannot mount a tmpfs for the temporary mountpoints");
	/* binds need a target in the namespace they are made in */
	if (move_mount(mnt_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return pr_errno("cannot attach the tmpfs of the temporary mountpoints");
	return TAKE_FD(mnt_fd);
}

/* Whether e is bound from a mount of one of the tree's own namespaces, which only the pass in
 * that namespace (rebuilt) has: in minicr's, another filesystem may hold the device number the
 * dumped one had. */
static bool source_in_tree_ns(const struct image_set *set, const DetachedMntEntry *e)
{
	return e->kind == MNT_KIND__MNT_KIND_BIND && e->has_source_mnt_id &&
	       image_set_mntns(set, e->source_ns_id) >= 0 &&
	       image_set_mnt(set, e->source_mnt_id) >= 0;
}

/* Whether e may be built in the pass running now: one whose source is a mount of a tree's
 * namespace waits for the pass in that namespace (or the final one). */
static bool belongs_to_pass(const struct restore_detached *d, const DetachedMntEntry *e,
			    bool is_final)
{
	return is_final || !source_in_tree_ns(d->set, e) || e->source_ns_id == d->ns_id;
}

/* The spec of detached mount e for this pass. One bound from a mount of the namespace the pass
 * runs in finds that mount where the namespace's image put it, since the namespace was rebuilt
 * with superblocks made anew: a new tmpfs has another device number than the dumped one (the
 * same only when the kernel happens to reuse it). */
static void spec_of(const struct restore_detached *d, const DetachedMntEntry *e, char *what,
		    size_t size, struct mount_spec *ret)
{
	const struct image_set *set = d->set;
	const MntEntry *src;
	ssize_t k;

	mount_spec_of_detached(e, what, size, ret);
	if (ret->kind != MNT_KIND__MNT_KIND_BIND || !d->live || !d->ns_id ||
	    !e->has_source_mnt_id || e->source_ns_id != d->ns_id ||
	    (k = image_set_mnt(set, e->source_mnt_id)) < 0)
		return;
	src = set->mnts[k];
	if (src->kind == MNT_KIND__MNT_KIND_BIND)
		return; /* bound from a superblock that kept its device */
	for (size_t i = 0; i < mount_table_size(d->live); i++) {
		const struct mount_entry *m = mount_table_get(d->live, i);

		if (src->mountpoint && src->root && src->fstype &&
		    !strcmp(m->mountpoint, src->mountpoint) && !strcmp(m->root, src->root) &&
		    !strcmp(m->fstype, src->fstype)) {
			ret->dev_major = m->dev_major;
			ret->dev_minor = m->dev_minor;
		}
	}
}

void restore_detached_set_ns(struct restore_detached *d, uint64_t ns_id)
{
	d->ns_id = ns_id;
}

/* ---- anonymous trees ---------------------------------------------------------------------- */

/* A mount of the tree rooted at set->detached[root] (an anonymous record of that tree). */
static bool is_in_tree(const struct image_set *set, size_t root, const DetachedMntEntry *e)
{
	return e->anonymous && e->tree_id == set->detached[root]->id;
}

/* Attaches the clone child_fd on its mountpoint in the tree tree_fd. */
static int attach_child(int tree_fd, int child_fd, const DetachedMntEntry *e, const char *what)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = e->mountpoint;
	cleanup_close int mp_fd = -EBADF;

	while (*rel == '/')
		rel++;
	mp_fd = (int)syscall(__NR_openat2, tree_fd, *rel ? rel : ".", &how, sizeof(how));
	if (mp_fd < 0)
		return pr_errno("cannot open the mountpoint '%s' of %s in its anonymous tree",
				e->mountpoint, what);
	if (move_mount(child_fd, "", mp_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return pr_errno("cannot attach %s at '%s' of its anonymous tree", what,
				e->mountpoint);
	return 0;
}

/* Builds the anonymous tree rooted at record root: an unattached clone of the root, then every
 * other mount parent first, each given its flags before it is moved onto its mountpoint (the
 * kernel changes those of a tree's root only). The root's fd is the tree's mount fd. */
static int prepare_tree(struct restore_detached *d, struct mount_build *b, size_t root)
{
	const struct image_set *set = d->set;
	bool progress = true;
	int r;

	for (size_t pass = 0; progress; pass++) {
		progress = false;
		for (size_t i = 0; i < set->n_detached; i++) {
			const DetachedMntEntry *e = set->detached[i];
			cleanup_close int fd = -EBADF;
			char what[64];
			struct mount_spec spec;
			ssize_t parent = -1;

			if (d->root_fds[i] >= 0 || !is_in_tree(set, root, e))
				continue;
			if (i != root) {
				parent = image_set_detached(set, e->parent_id);
				if (parent < 0 || d->root_fds[parent] < 0)
					continue; /* after its parent */
			} else if (pass > 0) {
				continue;
			}
			spec_of(d, e, what, sizeof(what), &spec);
			fd = mount_build_clone(b, &spec);
			if (fd < 0)
				return fd;
			r = mount_set_attrs(fd, e->mnt_attr, MS_PRIVATE, spec.what);
			if (r == 0 && i != root)
				r = attach_child(d->root_fds[root], fd, e, spec.what);
			if (r < 0)
				return r;
			pr_debug("%s rebuilt in anonymous tree %lu (%s)", what,
				 (unsigned long)set->detached[root]->id,
				 mount_kind_by_kind(spec.kind)->name);
			d->root_fds[i] = TAKE_FD(fd);
			progress = true;
		}
	}
	for (size_t i = 0; i < set->n_detached; i++)
		if (is_in_tree(set, root, set->detached[i]) && d->root_fds[i] < 0) {
			pr_err("detached mount %lu: its parent %lu is not in its anonymous tree",
			       (unsigned long)set->detached[i]->id,
			       (unsigned long)set->detached[i]->parent_id);
			return -EINVAL;
		}
	return 0;
}

/* Whether spec can be rebuilt in this pass: a kind that binds from a live mount needs one in the
 * namespace the pass runs in; the first pass (in minicr's namespace) leaves the others to the
 * final one. */
static bool can_build_now(struct mount_build *b, const struct mount_spec *spec, bool is_final)
{
	const struct mount_kind *kind = mount_kind_by_kind(spec->kind);
	const char *sub;
	int fd;

	return is_final || !kind || !kind->needs_live ||
	       mount_build_find_live(b, spec, &fd, &sub) == 0;
}

static bool can_build_tree(const struct restore_detached *d, struct mount_build *b, size_t root,
			   bool is_final)
{
	const struct image_set *set = d->set;

	for (size_t i = 0; i < set->n_detached; i++) {
		char what[64];
		struct mount_spec spec;

		if (!is_in_tree(set, root, set->detached[i]))
			continue;
		if (!belongs_to_pass(d, set->detached[i], is_final))
			return false;
		spec_of(d, set->detached[i], what, sizeof(what), &spec);
		if (!can_build_now(b, &spec, is_final))
			return false;
	}
	return true;
}

int restore_detached_prepare(struct restore_detached *d, bool is_final)
{
	const struct image_set *set = d->set;
	cleanup(mount_table_freep) struct mount_table *table = NULL;
	cleanup(mount_build_freep) struct mount_build *b = NULL;
	cleanup_close int back_ns_fd = -EBADF, root_fd = -EBADF, live_root_fd = -EBADF;
	bool any = false;
	int r, fd = 0;

	for (size_t i = 0; i < set->n_detached; i++)
		any |= d->root_fds[i] < 0;
	if (!any)
		return 0;
	r = restore_fault("detached");
	if (r < 0)
		return r;
	if (d->method == CLI_DETACHED_MOUNTPOINT) {
		/* binds need a source in the namespace they are made in: work in the copy */
		back_ns_fd = enter_scratch_ns();
		if (back_ns_fd < 0)
			return back_ns_fd;
	}
	b = mount_build_new(set);
	live_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!b || live_root_fd < 0) {
		fd = b ? pr_errno("cannot open '/'") : -ENOMEM;
		goto out_ns;
	}
	fd = mount_table_collect(getpid(), 0, &table);
	if (fd < 0)
		goto out_ns;
	mount_build_set_live(b, table, live_root_fd);
	d->live = table;
	if (d->method == CLI_DETACHED_MOUNTPOINT) {
		root_fd = scratch_tmpfs();
		if (root_fd < 0) {
			fd = root_fd;
			goto out_ns;
		}
	}
	for (size_t i = 0; i < set->n_detached; i++) {
		const DetachedMntEntry *e = set->detached[i];
		char what[64];
		struct mount_spec spec;
		uint64_t start;

		if (d->root_fds[i] >= 0)
			continue;
		if (e->anonymous) {
			/* a whole tree at once, from its root, once all of it can be built */
			if (e->tree_id != e->id || !can_build_tree(d, b, i, is_final))
				continue;
			fd = prepare_tree(d, b, i);
			if (fd < 0)
				goto out_ns;
			continue;
		}
		if (!belongs_to_pass(d, e, is_final))
			continue;
		spec_of(d, e, what, sizeof(what), &spec);
		if (!can_build_now(b, &spec, is_final))
			continue;
		start = monotonic_ns();
		if (d->method == CLI_DETACHED_CLONE) {
			fd = prepare_clone(b, &spec, e->mnt_attr);
		} else {
			cleanup_close int tree_fd = mount_build_clone(b, &spec);

			fd = tree_fd < 0 ? tree_fd : prepare_mountpoint(root_fd, e, &spec, tree_fd);
		}
		if (fd < 0)
			goto out_ns;
		pr_debug("%s rebuilt (%s)", what, mount_kind_by_kind(spec.kind)->name);
		if (d->method == CLI_DETACHED_CLONE)
			explain(
			    start, "open_tree(OPEN_TREE_CLONE), mount_setattr",
			    "%s (%s, root %s) rebuilt as an unattached clone of its root: in no "
			    "namespace, never visible anywhere",
			    what, e->fstype ? e->fstype : "?", e->root ? e->root : "?");
		else
			explain(start,
				"open_tree(OPEN_TREE_CLONE), move_mount, mount_setattr, "
				"umount2(MNT_DETACH)",
				"%s (%s, root %s) rebuilt the talk's way: bound at a temporary "
				"mountpoint in a throwaway namespace, then lazily unmounted",
				what, e->fstype ? e->fstype : "?", e->root ? e->root : "?");
		d->root_fds[i] = fd;
	}
	fd = 0;
out_ns:
	d->live = NULL;
	if (back_ns_fd >= 0 && setns(back_ns_fd, CLONE_NEWNS) < 0 && fd >= 0)
		return pr_errno("cannot return from the scratch mount namespace");
	return fd < 0 ? fd : 0;
}

/* A mount of one of the tree's own namespaces (rebuilt before the detached mounts' final pass)
 * that will hold e's root. */
static bool has_source_in_set(const struct image_set *set, const DetachedMntEntry *e)
{
	for (size_t i = 0; i < set->n_mnts; i++) {
		const MntEntry *m = set->mnts[i];

		if (m->dev_major == e->dev_major && m->dev_minor == e->dev_minor && m->root &&
		    path_below(e->root, m->root))
			return true;
	}
	return false;
}

int restore_detached_check(const struct image_set *set)
{
	cleanup(mount_table_freep) struct mount_table *table = NULL;
	cleanup(mount_build_freep) struct mount_build *b = mount_build_new(set);
	cleanup_close int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (!set->n_detached)
		return 0;
	if (!b || root_fd < 0)
		return b ? pr_errno("cannot open '/'") : -ENOMEM;
	r = mount_table_collect(getpid(), 0, &table);
	if (r < 0)
		return r;
	mount_build_set_live(b, table, root_fd);
	for (size_t i = 0; i < set->n_detached; i++) {
		const DetachedMntEntry *e = set->detached[i];
		char what[64];
		struct mount_spec spec;

		mount_spec_of_detached(e, what, sizeof(what), &spec);
		if (!can_build_now(b, &spec, false) && !has_source_in_set(set, e)) {
			pr_err("cannot restore detached mount %lu (%s, dev %u:%u, root '%s'): no "
			       "live mount of its filesystem holds that root",
			       (unsigned long)e->id, e->fstype ? e->fstype : "?", e->dev_major,
			       e->dev_minor, e->root);
			return -ENOENT;
		}
	}
	return 0;
}
