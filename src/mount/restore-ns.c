/* restore-mntns.c: rebuild the tree's mount namespace. The root task unshares a private copy
 * of minicr's namespace and reconciles it with the dumped table in linear time (hashes on
 * mountpoint and superblock): (1) match the mounts that are the same (mountpoint, superblock,
 * root, parent), (2) clone bind sources that only the copy has, (3) detach what the dumped
 * namespace did not have, (4) create the missing mounts parent first, as binds of a mount of
 * the same superblock or as fresh filesystems with their contents, (5) per-mount flags,
 * (6) propagation groups. */
#define LOG_PREFIX "restore: "
#include "mount/restore-ns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/path.h"
#include "mount/table.h"
#include "base/fault.h"
#include "image-set/image-set.h"
#include "mount/restore-tmpfs.h"
#include "base/util.h"

#ifndef MOVE_MOUNT_SET_GROUP
#define MOVE_MOUNT_SET_GROUP 0x00000100
#endif

#define ATTR_ALL                                                                                   \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |            \
	 MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MINICR_MOUNT_ATTR_NOSYMFOLLOW)
#define NONE SIZE_MAX

/* A string-keyed chained hash over indices, for mountpoints. */
struct str_index {
	size_t *head, *next, mask;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t hash_dev(uint32_t major, uint32_t minor)
{
	return ((uint64_t)major << 32 | minor) * 0x9e3779b97f4a7c15ULL;
}

static uint64_t hash_ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL >> 7;
}

static int str_index_init(struct str_index *x, size_t n)
{
	size_t buckets = 16;

	while (buckets < 2 * n)
		buckets *= 2;
	x->head = malloc(buckets * sizeof(size_t));
	x->next = malloc((n ? n : 1) * sizeof(size_t));
	if (!x->head || !x->next)
		return -ENOMEM;
	memset(x->head, 0xff, buckets * sizeof(size_t));
	x->mask = buckets - 1;
	return 0;
}

static void str_index_add(struct str_index *x, uint64_t h, size_t i)
{
	x->next[i] = x->head[h & x->mask];
	x->head[h & x->mask] = i;
}

static void str_index_free(struct str_index *x)
{
	free(x->head);
	free(x->next);
}

struct mntns_state {
	const struct image_set *set;
	struct mount_table *cur;
	size_t n_cur;
	size_t *match;		 /* per dumped mount: index in cur, or NONE */
	bool *cur_matched;	 /* per cur mount */
	bool *created;		 /* per dumped mount: exists in the new namespace */
	int *clone_fd;		 /* per dumped mount: a prepared bind source tree, or -1 */
	uint64_t *clone_attr;	 /* per dumped mount: MOUNT_ATTR_* its prepared tree has */
	int *root_fd;		 /* per dumped mount: O_PATH fd of its root once used as a source */
	struct str_index by_dev; /* dumped mounts that exist by now, by superblock */
	size_t recent;		 /* the mount created last from a tree fd, or NONE */
	int recent_fd;		 /* that tree fd, now the mount's root */
};

/* (1) match dumped mounts with the copy's, parent first, by mountpoint hash. */
static int match_mounts(struct mntns_state *st)
{
	const struct image_set *set = st->set;
	struct str_index by_mp;
	int r = str_index_init(&by_mp, st->n_cur);

	if (r < 0)
		goto out;
	for (size_t c = 0; c < st->n_cur; c++)
		str_index_add(&by_mp, hash_str(mount_table_get(st->cur, c)->mountpoint), c);
	for (size_t i = 0; i < set->n_mnts; i++) {
		const MntEntry *d = set->mnts[i];
		const struct mount_entry *want_parent = NULL;

		st->match[i] = NONE;
		if (i > 0) {
			size_t pm = st->match[image_set_mnt(set, d->parent_id)];

			if (pm == NONE)
				continue;
			want_parent = mount_table_get(st->cur, pm);
		}
		for (size_t c = by_mp.head[hash_str(d->mountpoint) & by_mp.mask]; c != NONE;
		     c = by_mp.next[c]) {
			const struct mount_entry *m = mount_table_get(st->cur, c);

			if (st->cur_matched[c] || m->dev_major != d->dev_major ||
			    m->dev_minor != d->dev_minor || strcmp(m->mountpoint, d->mountpoint) ||
			    strcmp(m->root, d->root) || (i > 0 && m->parent != want_parent))
				continue;
			st->match[i] = c;
			st->cur_matched[c] = true;
			st->created[i] = true;
			break;
		}
		if (i == 0 && st->match[0] == NONE) {
			pr_err(
			    "cannot rebuild mount namespace %lu: its root (dev %u:%u, '%s') is not "
			    "minicr's root",
			    (unsigned long)set->mnt_ns_id, d->dev_major, d->dev_minor, d->root);
			r = -ENOTSUP;
			goto out;
		}
	}
out:
	str_index_free(&by_mp);
	return r;
}

/* Opens dir + sub without following symlinks (O_PATH). Returns the fd or -errno (not logged). */
static int open_below(const char *dir, const char *sub)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	cleanup_close int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (dfd < 0)
		return -errno;
	while (*sub == '/')
		sub++;
	fd = (int)syscall(__NR_openat2, dfd, *sub ? sub : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* An unattached copy of the mount root below base_fd + sub (base_fd: an O_PATH fd of a mount's
 * root), for a bind mount of d. Returns the tree fd or -errno (logged). */
static int clone_below(int base_fd, const char *dir, const char *sub, const MntEntry *d)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	cleanup_close int fd = -EBADF;
	int tree_fd;

	while (*sub == '/')
		sub++;
	if (*sub) {
		fd = (int)syscall(__NR_openat2, base_fd, sub, &how, sizeof(how));
		if (fd < 0)
			return pr_errno("cannot open the bind source '%s/%s' of mount '%s'", dir,
					sub, d->mountpoint);
	}
	tree_fd =
	    open_tree(*sub ? fd : base_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree_fd < 0)
		return pr_errno("cannot clone the bind source '%s/%s' of mount '%s'", dir, sub,
				d->mountpoint);
	return tree_fd;
}

static int clone_from(const char *dir, const char *sub, const MntEntry *d)
{
	cleanup_close int fd = open_below(dir, sub);
	int tree_fd;

	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open the bind source '%s%s' of mount '%s'", dir, sub,
				d->mountpoint);
	}
	tree_fd = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree_fd < 0)
		return pr_errno("cannot clone the bind source '%s%s' of mount '%s'", dir, sub,
				d->mountpoint);
	return tree_fd;
}

/* (2) binds whose source only the copy has (it is about to be detached) are cloned now. */
static int clone_copy_sources(struct mntns_state *st)
{
	const struct image_set *set = st->set;

	for (size_t i = 1; i < set->n_mnts; i++) {
		const MntEntry *d = set->mnts[i];
		const struct mount_entry *m;
		const char *sub;

		if (st->match[i] != NONE)
			continue;
		for (m = mount_table_find_dev(st->cur, d->dev_major, d->dev_minor); m;
		     m = m->next_same_dev)
			if ((sub = path_below(d->root, m->root)))
				break;
		if (!m)
			continue;
		st->clone_fd[i] = clone_from(m->mountpoint, sub, d);
		if (st->clone_fd[i] < 0)
			return st->clone_fd[i];
		st->clone_attr[i] = m->mnt_attr;
	}
	return 0;
}

/* (3) detach every mount of the copy the dumped namespace did not have (with its subtree). */
static int detach_extra(struct mntns_state *st)
{
	bool *gone = calloc(st->n_cur ? st->n_cur : 1, sizeof(bool));
	struct str_index by_ptr = {0};
	int r = str_index_init(&by_ptr, st->n_cur);

	if (!gone || r < 0) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t c = 0; c < st->n_cur; c++)
		str_index_add(&by_ptr, hash_ptr(mount_table_get(st->cur, c)), c);
	for (size_t c = 1; c < st->n_cur; c++) {
		const struct mount_entry *m = mount_table_get(st->cur, c);
		bool parent_gone = false;

		if (st->cur_matched[c])
			continue;
		/* parent-first order: a parent that is gone took this one with it */
		for (size_t k = by_ptr.head[hash_ptr(m->parent) & by_ptr.mask];
		     m->parent && k != NONE; k = by_ptr.next[k])
			if (mount_table_get(st->cur, k) == m->parent) {
				parent_gone = gone[k];
				break;
			}
		gone[c] = true;
		if (parent_gone)
			continue;
		if (umount2(m->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
			r = pr_errno("cannot remove mount '%s' from the rebuilt namespace",
				     m->mountpoint);
			break;
		}
	}
out:
	free(gone);
	str_index_free(&by_ptr);
	return r;
}

static int set_attr_fd(int fd, const char *path, uint64_t attr_bits, const char *mp)
{
	struct mount_attr attr = {.attr_set = attr_bits & ATTR_ALL, .attr_clr = ATTR_ALL};

	if (mount_setattr(fd, path, fd == AT_FDCWD ? 0 : AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return pr_errno("cannot set flags 0x%lx on mount '%s'", (unsigned long)attr_bits,
				mp);
	return 0;
}

/* Makes the mountpoint when a fresh parent filesystem lacks it: a directory, or a file when
 * tree_fd (the mount to put there, or -1) is a file. */
static int ensure_mountpoint(const char *path, int tree_fd)
{
	cleanup_free char *copy = NULL;
	struct stat sb;
	bool is_dir;

	if (lstat(path, &sb) == 0)
		return 0;
	is_dir = tree_fd < 0 || fstat(tree_fd, &sb) < 0 || S_ISDIR(sb.st_mode);
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (char *s = copy + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return pr_errno("cannot create mountpoint '%s'", path);
		*s = '/';
	}
	if (is_dir ? mkdir(path, 0755) < 0 && errno != EEXIST
		   : mknod(path, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
		return pr_errno("cannot create mountpoint '%s'", path);
	return 0;
}

/* Writes the dumped files of a fresh tmpfs; every path is created beneath the mount's root
 * without following symlinks. */
static int fill_tmpfs(const struct image_set *set, const MntEntry *d)
{
	cleanup_close int root_fd = open(d->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root_fd < 0)
		return pr_errno("cannot open tmpfs '%s'", d->mountpoint);
	return tmpfs_restore_contents(root_fd, d->mountpoint, d->mnt_id, set->data, set->n_data);
}

/* A mount of d's superblock already in the new namespace whose root holds d's root. */
static ssize_t find_bind_source(struct mntns_state *st, size_t i, const char **ret_sub)
{
	const struct image_set *set = st->set;
	const MntEntry *d = set->mnts[i];

	/* The newest mount of the superblock comes first: cloning it is cheap, while cloning a
	 * mount with many children costs the kernel a walk over them (has_locked_children). */
	for (size_t k = st->by_dev.head[hash_dev(d->dev_major, d->dev_minor) & st->by_dev.mask];
	     k != NONE; k = st->by_dev.next[k]) {
		const MntEntry *s = set->mnts[k];

		if (k < i && st->created[k] && s->dev_major == d->dev_major &&
		    s->dev_minor == d->dev_minor && (*ret_sub = path_below(d->root, s->root)))
			return (ssize_t)k;
	}
	return -1;
}

/* A whole-mount bind with the source's flags, made with mount(2) through the source root's
 * /proc/self/fd link: unlike open_tree() + move_mount() it creates no anonymous namespace, whose
 * teardown per mount dominates at 10 000 mounts. Returns 0 when done, 1 when it does not apply
 * (the caller clones instead), or -errno (logged). */
static int bind_fast(struct mntns_state *st, size_t i, int base_fd, const char *sub,
		     uint64_t src_attr)
{
	const MntEntry *d = st->set->mnts[i];
	char src[64];
	int r, fd;

	while (*sub == '/')
		sub++;
	if (*sub || ((src_attr ^ d->mnt_attr) & ATTR_ALL))
		return 1;
	r = ensure_mountpoint(d->mountpoint, base_fd);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", base_fd);
	if (mount(src, d->mountpoint, NULL, MS_BIND, NULL) < 0) {
		if (errno == ENOENT)
			return 1; /* no /proc here */
		return pr_errno("cannot bind mount %lu on '%s'", (unsigned long)d->mnt_id,
				d->mountpoint);
	}
	fd = open(d->mountpoint, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open mount '%s'", d->mountpoint);
	closep(&st->recent_fd);
	st->recent = i;
	st->recent_fd = fd;
	st->created[i] = true;
	return 0;
}

/* (4) + (5) one missing mount: bind or fresh, contents, flags. */
static int create_mount(struct mntns_state *st, size_t i)
{
	const struct image_set *set = st->set;
	const MntEntry *d = set->mnts[i];
	const char *sub = "";
	cleanup_close int tree_fd = TAKE_FD(st->clone_fd[i]);
	bool is_fresh = false;
	int r;

	uint64_t tree_attr = st->clone_attr[i];

	if (tree_fd < 0) {
		ssize_t k = find_bind_source(st, i, &sub);

		if (k >= 0) {
			const char *mp = set->mnts[k]->mountpoint;
			int base_fd;

			/* the tree fd of the previous bind is its root: no path lookup */
			if (k == (ssize_t)st->recent) {
				base_fd = st->recent_fd;
			} else {
				if (st->root_fd[k] < 0)
					st->root_fd[k] = open(mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (st->root_fd[k] < 0)
					return pr_errno("cannot open the bind source '%s' of mount "
							"'%s'",
							mp, d->mountpoint);
				base_fd = st->root_fd[k];
			}
			tree_attr = set->mnts[k]->mnt_attr;
			r = bind_fast(st, i, base_fd, sub, tree_attr);
			if (r <= 0)
				return r;
			tree_fd = clone_below(base_fd, mp, sub, d);
			if (tree_fd < 0)
				return tree_fd;
		}
	}
	if (tree_fd >= 0) {
		if ((tree_attr ^ d->mnt_attr) & ATTR_ALL) {
			r = set_attr_fd(tree_fd, "", d->mnt_attr, d->mountpoint);
			if (r < 0)
				return r;
		}
		r = ensure_mountpoint(d->mountpoint, tree_fd);
		if (r < 0)
			return r;
		if (move_mount(tree_fd, "", AT_FDCWD, d->mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return pr_errno("cannot bind mount %lu on '%s'", (unsigned long)d->mnt_id,
					d->mountpoint);
		closep(&st->recent_fd);
		st->recent = i;
		st->recent_fd = TAKE_FD(tree_fd);
	} else {
		const char *opts = d->options && *d->options ? d->options : NULL;
		unsigned long flags = d->has_sb_flags ? (d->sb_flags & MS_RDONLY) : 0;

		is_fresh = true;
		r = ensure_mountpoint(d->mountpoint, -1);
		if (r < 0)
			return r;
		/* the superblock is read-write until its contents are in */
		if (mount(d->source && *d->source ? d->source : "none", d->mountpoint, d->fstype,
			  flags & ~(unsigned long)MS_RDONLY, opts) < 0)
			return pr_errno("cannot mount %s on '%s' (mount %lu, options '%s')",
					d->fstype, d->mountpoint, (unsigned long)d->mnt_id,
					opts ? opts : "");
		if (strcmp(d->fstype, "tmpfs") == 0 && d->contents_dumped) {
			r = fill_tmpfs(set, d);
			if (r < 0)
				return r;
		}
		if ((flags & MS_RDONLY) &&
		    mount(NULL, d->mountpoint, NULL, MS_REMOUNT | MS_RDONLY, opts) < 0)
			return pr_errno("cannot make filesystem '%s' read-only", d->mountpoint);
		r = set_attr_fd(AT_FDCWD, d->mountpoint, d->mnt_attr, d->mountpoint);
		if (r < 0)
			return r;
	}
	pr_debug("mount %lu %s on '%s' %s", (unsigned long)d->mnt_id, d->fstype, d->mountpoint,
		 is_fresh ? "created" : "bound");
	st->created[i] = true;
	return 0;
}

static int set_propagation(const char *path, uint64_t propagation)
{
	struct mount_attr attr = {.propagation = propagation};

	if (mount_setattr(AT_FDCWD, path, 0, &attr, sizeof(attr)) < 0)
		return pr_errno("cannot set the propagation of mount '%s'", path);
	return 0;
}

/* (6) shared peer groups and slaves: the first member of a group is made shared, the others
 * join it with MOVE_MOUNT_SET_GROUP; a slave joins its master's group, then turns slave. */
static int restore_propagation(struct mntns_state *st)
{
	const struct image_set *set = st->set;
	int r;

	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < set->n_mnts; i++) {
			const MntEntry *d = set->mnts[i];
			uint64_t group = pass == 0 ? d->master_id : d->shared_id;
			ssize_t leader = -1;

			if (!group)
				continue;
			for (size_t k = 0; k < set->n_mnts && leader < 0; k++)
				if (set->mnts[k]->shared_id == group && (pass == 0 || k < i))
					leader = (ssize_t)k;
			if (pass == 0 && leader < 0) {
				pr_debug("master group %lu of '%s' is outside the namespace",
					 (unsigned long)group, d->mountpoint);
				continue;
			}
			if (pass == 0) {
				/* the master's group gets shared first, then this joins and slaves
				 */
				r = set_propagation(set->mnts[leader]->mountpoint, MS_SHARED);
				if (r < 0)
					return r;
			}
			if (leader < 0) {
				r = set_propagation(d->mountpoint, MS_SHARED);
			} else if (move_mount(AT_FDCWD, set->mnts[leader]->mountpoint, AT_FDCWD,
					      d->mountpoint, MOVE_MOUNT_SET_GROUP) < 0) {
				r = pr_errno("cannot put mount '%s' in the peer group of '%s'",
					     d->mountpoint, set->mnts[leader]->mountpoint);
			} else {
				r = pass == 0 ? set_propagation(d->mountpoint, MS_SLAVE) : 0;
			}
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < set->n_mnts; i++)
		if (set->mnts[i]->propagation == MNT_PROPAGATION__MNT_PROPAGATION_UNBINDABLE &&
		    (r = set_propagation(set->mnts[i]->mountpoint, MS_UNBINDABLE)) < 0)
			return r;
	return 0;
}

int restore_mntns_build(const struct image_set *set)
{
	struct mntns_state st = {.set = set, .recent = NONE, .recent_fd = -EBADF};
	size_t n = set->n_mnts;
	int r;

	if (unshare(CLONE_NEWNS) < 0)
		return pr_errno("cannot create the tree's mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return pr_errno("cannot make the new mount namespace private");
	r = restore_fault("mntns");
	if (r < 0)
		return r;
	r = mount_table_collect(getpid(), 0, &st.cur);
	if (r < 0)
		return r;
	st.n_cur = mount_table_size(st.cur);
	st.match = malloc(n * sizeof(size_t));
	st.created = calloc(n, sizeof(bool));
	st.clone_fd = malloc(n * sizeof(int));
	st.clone_attr = calloc(n, sizeof(uint64_t));
	st.root_fd = malloc(n * sizeof(int));
	st.cur_matched = calloc(st.n_cur ? st.n_cur : 1, sizeof(bool));
	if (!st.match || !st.created || !st.clone_fd || !st.clone_attr || !st.root_fd ||
	    !st.cur_matched || str_index_init(&st.by_dev, n) < 0) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		st.clone_fd[i] = -1;
		st.root_fd[i] = -1;
	}
	if ((r = match_mounts(&st)) < 0 || (r = clone_copy_sources(&st)) < 0 ||
	    (r = detach_extra(&st)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const MntEntry *d = set->mnts[i];

		if (st.match[i] == NONE) {
			r = create_mount(&st, i);
		} else if ((mount_table_get(st.cur, st.match[i])->mnt_attr ^ d->mnt_attr) &
			   ATTR_ALL) {
			r = set_attr_fd(AT_FDCWD, d->mountpoint, d->mnt_attr, d->mountpoint);
		}
		if (r < 0)
			goto out;
		/* only mounts that exist now can be bind sources */
		str_index_add(&st.by_dev, hash_dev(d->dev_major, d->dev_minor), i);
	}
	r = restore_propagation(&st);
out:
	for (size_t i = 0; i < n; i++) {
		if (st.clone_fd && st.clone_fd[i] >= 0)
			close(st.clone_fd[i]);
		if (st.root_fd && st.root_fd[i] >= 0)
			close(st.root_fd[i]);
	}
	closep(&st.recent_fd);
	free(st.clone_attr);
	free(st.root_fd);
	free(st.match);
	free(st.created);
	free(st.clone_fd);
	free(st.cur_matched);
	str_index_free(&st.by_dev);
	mount_table_free(st.cur);
	return r;
}
