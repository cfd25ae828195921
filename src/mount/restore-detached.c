/* restore-detached.c: detached (lazily unmounted) mounts, rebuilt from a live mount of the same
 * superblock. Both methods end in the same observable state: the files opened beneath the root
 * fd sit on a mount that is in no namespace, with the dumped per-mount flags, and readlink of
 * them shows the path relative to that mount's root. */
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
#include "mount/table.h"
#include "base/fault.h"
#include "image-set/image-set.h"
#include "base/util.h"

#define DETACHED_DIR_PREFIX "/.minicr.detached."

#define ATTR_ALL                                                                                   \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |            \
	 MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MINICR_MOUNT_ATTR_NOSYMFOLLOW)

struct restore_detached {
	const struct restore_set *set;
	enum cli_detached_method method;
	int *root_fds; /* per set->detached[i]; -EBADF until prepared */
};

struct restore_detached *restore_detached_new(const struct restore_set *set,
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
	ssize_t i = restore_set_detached(d->set, id);

	if (i < 0 || d->root_fds[i] < 0) {
		pr_err("detached mount %lu was not rebuilt", (unsigned long)id);
		return -ENOENT;
	}
	return d->root_fds[i];
}

/* The part of root below prefix, or NULL if prefix does not contain root. */
static const char *path_below(const char *root, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (strncmp(root, prefix, n) != 0 || (root[n] != '\0' && root[n] != '/'))
		return NULL;
	return root + n;
}

/* A live mount of d's superblock in table t whose root contains d->root. */
static const struct mount_entry *find_source(const struct mount_table *t, const DetachedMntEntry *e)
{
	const struct mount_entry *m =
	    e->has_source_mnt_id ? mount_table_find(t, e->source_mnt_id) : NULL;

	if (m && m->dev_major == e->dev_major && m->dev_minor == e->dev_minor &&
	    path_below(e->root, m->root))
		return m;
	for (m = mount_table_find_dev(t, e->dev_major, e->dev_minor); m; m = m->next_same_dev)
		if (path_below(e->root, m->root))
			return m;
	return NULL;
}

/* Opens the directory (or file) of the detached mount's root through its source mount,
 * without following any symlink on the way. Returns an O_PATH fd or -errno (logged). */
static int open_source(const DetachedMntEntry *e, const struct mount_entry *src)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	cleanup_close int mp_fd = -EBADF;
	const char *sub = path_below(e->root, src->root);
	int fd;

	mp_fd = open(src->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mp_fd < 0)
		return pr_errno("cannot open '%s', the source of detached mount %lu",
				src->mountpoint, (unsigned long)e->id);
	while (*sub == '/')
		sub++;
	fd = (int)syscall(__NR_openat2, mp_fd, *sub ? sub : ".", &how, sizeof(how));
	if (fd < 0)
		return pr_errno("cannot open root '%s' of detached mount %lu beneath '%s'", e->root,
				(unsigned long)e->id, src->mountpoint);
	return fd;
}

static int set_attr(int fd, const DetachedMntEntry *e)
{
	struct mount_attr attr = {
	    .attr_set = e->mnt_attr & ATTR_ALL,
	    .attr_clr = ATTR_ALL,
	    .propagation = MS_PRIVATE,
	};

	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return pr_errno("cannot set flags 0x%lx on detached mount %lu",
				(unsigned long)e->mnt_attr, (unsigned long)e->id);
	return 0;
}

/* METHOD clone: an unattached copy of the source's subtree root, never visible anywhere. */
static int prepare_clone(const DetachedMntEntry *e, int src_fd)
{
	cleanup_close int tree_fd = -EBADF;
	int r;

	tree_fd = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree_fd < 0)
		return pr_errno("cannot clone the source of detached mount %lu",
				(unsigned long)e->id);
	r = set_attr(tree_fd, e);
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

/* METHOD mountpoint, the talk's: bind the source at a fresh mountpoint, set the flags, take the
 * mount's root, then MNT_DETACH it and remove the mountpoint. The caller runs this in a
 * throwaway copy of the target namespace, with root_fd a tmpfs of that copy, so neither the
 * mount nor the mountpoint is ever visible outside it, and both go with the copy even if the
 * task (or minicr) dies half-way. */
static int prepare_mountpoint(int root_fd, const DetachedMntEntry *e, int src_fd)
{
	bool is_file = e->root_is_file;
	cleanup_close int mp_fd = -EBADF, fd = -EBADF;
	char name[64], src_path[64], mp_path[64];
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
	snprintf(src_path, sizeof(src_path), "/proc/self/fd/%d", src_fd);
	snprintf(mp_path, sizeof(mp_path), "/proc/self/fd/%d", mp_fd);
	if (mount(src_path, mp_path, NULL, MS_BIND, NULL) < 0) {
		r = pr_errno("cannot bind the source of detached mount %lu on '/%s'",
			     (unsigned long)e->id, name);
		goto out_rmdir;
	}
	fd = openat(root_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = pr_errno("cannot open the temporary mount '/%s'", name);
		goto out_umount;
	}
	r = set_attr(fd, e);
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

int restore_detached_prepare(struct restore_detached *d, bool is_final)
{
	const struct restore_set *set = d->set;
	cleanup(mount_table_freep) struct mount_table *table = NULL;
	cleanup_close int back_ns_fd = -EBADF, root_fd = -EBADF;
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
	fd = mount_table_collect(getpid(), 0, &table);
	if (fd < 0)
		goto out_ns;
	if (d->method == CLI_DETACHED_MOUNTPOINT) {
		root_fd = scratch_tmpfs();
		if (root_fd < 0) {
			fd = root_fd;
			goto out_ns;
		}
	}
	for (size_t i = 0; i < set->n_detached; i++) {
		const DetachedMntEntry *e = set->detached[i];
		const struct mount_entry *src;
		cleanup_close int src_fd = -EBADF;

		if (d->root_fds[i] >= 0)
			continue;
		if (e->orphaned) {
			pr_err(
			    "cannot restore detached mount %lu (%s, dev %u:%u): no live mount of "
			    "its filesystem existed at dump (orphaned), which is not supported",
			    (unsigned long)e->id, e->fstype ? e->fstype : "?", e->dev_major,
			    e->dev_minor);
			fd = -ENOTSUP;
			goto out_ns;
		}
		src = find_source(table, e);
		if (!src) {
			if (!is_final)
				continue;
			fd = -ENOENT;
			pr_err(
			    "cannot restore detached mount %lu (%s, dev %u:%u, root '%s'): no live "
			    "mount of its filesystem holds that root",
			    (unsigned long)e->id, e->fstype ? e->fstype : "?", e->dev_major,
			    e->dev_minor, e->root);
			goto out_ns;
		}
		src_fd = open_source(e, src);
		if (src_fd < 0) {
			fd = src_fd;
			goto out_ns;
		}
		if (d->method == CLI_DETACHED_CLONE)
			fd = prepare_clone(e, src_fd);
		else
			fd = prepare_mountpoint(root_fd, e, src_fd);
		if (fd < 0)
			goto out_ns;
		pr_debug("detached mount %lu rebuilt from mount %u ('%s')", (unsigned long)e->id,
			 src->mnt_id_old, src->mountpoint);
		d->root_fds[i] = fd;
	}
	fd = 0;
out_ns:
	if (back_ns_fd >= 0 && setns(back_ns_fd, CLONE_NEWNS) < 0 && fd >= 0)
		return pr_errno("cannot return from the scratch mount namespace");
	return fd < 0 ? fd : 0;
}
