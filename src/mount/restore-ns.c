/* mount/restore-ns.c: rebuild the tree's mount namespace. The root task unshares a private copy
 * of minicr's namespace and reconciles it with the dumped table in linear time (hashes on
 * mountpoint and superblock): (1) keep the mounts that are the same (mountpoint, superblock,
 * root, parent), (2) clone bind sources that only the copy has, (3) detach what the dumped
 * namespace did not have, (4) create the missing mounts parent first, each an unattached clone
 * of its root inside the superblock its kind finds or makes (mount/kind.h), attached through fds
 * at a mountpoint opened without following symlinks, with its per-mount flags, (5) propagation
 * groups. */
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
#include "base/fault.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "image-set/image-set.h"
#include "mount/build.h"
#include "mount/table.h"

#ifndef MOVE_MOUNT_SET_GROUP
#define MOVE_MOUNT_SET_GROUP 0x00000100
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif

#define NONE SIZE_MAX

struct mntns_state {
	const struct image_set *set;
	struct mount_table *cur; /* the copy of minicr's namespace, as it was after unshare */
	size_t n_cur;
	int root_fd;		 /* the new namespace's root */
	size_t *match;		 /* per dumped mount: index in cur, or NONE */
	bool *cur_matched;	 /* per cur mount */
	bool *created;		 /* per dumped mount: exists in the new namespace */
	bool *owns_fs;		 /* per dumped mount: its superblock is one this restore made */
	int *clone_fd;		 /* per dumped mount: a prepared clone of its root, or -1 */
	int *root_fd_of;	 /* per dumped mount: O_PATH fd of its root once used as a source */
	struct hmap by_dev;	 /* dumped device -> dumped mounts that exist by now */
	struct mount_build *build;
	char what[PATH_MAX + 64]; /* the mount being worked on, for messages */
	uint64_t start;		  /* for --explain */
	size_t n_made[8];	  /* per mount kind, mounts created */
};

/* Opens path (absolute in the new namespace) without following any symlink: a symlink restored
 * into a tmpfs must not redirect a mount. Returns the fd or -errno (not logged). */
static int open_in_ns(const struct mntns_state *st, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)flags | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	fd = (int)syscall(__NR_openat2, st->root_fd, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static const char *what_of(struct mntns_state *st, size_t i)
{
	const MntEntry *d = st->set->mnts[i];

	snprintf(st->what, sizeof(st->what), "mount %lu ('%s')", (unsigned long)d->mnt_id,
		 d->mountpoint);
	return st->what;
}

/* (1) match dumped mounts with the copy's, parent first, by mountpoint hash. Only mounts whose
 * superblock is a live one can be the same: a superblock only the tree had is gone. */
static int match_mounts(struct mntns_state *st)
{
	const struct image_set *set = st->set;
	struct hmap by_mp = {0};
	int r = hmap_reserve(&by_mp, st->n_cur);

	for (size_t c = 0; c < st->n_cur && r == 0; c++) {
		const char *mp = mount_table_get(st->cur, c)->mountpoint;

		r = hmap_put(&by_mp, hmap_hash_bytes(mp, strlen(mp)), 0, c);
	}
	for (size_t i = 0; i < set->n_mnts && r == 0; i++) {
		const MntEntry *d = set->mnts[i];
		const struct mount_entry *want_parent = NULL;

		st->match[i] = NONE;
		if (i > 0) {
			size_t pm = st->match[image_set_mnt(set, d->parent_id)];

			if (pm == NONE || d->kind != MNT_KIND__MNT_KIND_BIND)
				continue;
			want_parent = mount_table_get(st->cur, pm);
		}
		for (struct hmap_slot *s = hmap_find(
			 &by_mp, hmap_hash_bytes(d->mountpoint, strlen(d->mountpoint)), 0);
		     s; s = hmap_next(&by_mp, s)) {
			size_t c = s->value;
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
		}
	}
	hmap_clear(&by_mp);
	return r;
}

/* A dumped mount that exists by now and holds spec's root: its index, and spec->root below
 * its root. The newest mount of the superblock comes first: cloning it is cheap, while cloning
 * a mount with many children costs the kernel a walk over them. */
static size_t find_made(const struct mntns_state *st, const struct mount_spec *spec,
			const char **ret_sub)
{
	size_t newest = NONE;

	for (const struct hmap_slot *s = hmap_find(&st->by_dev, spec->dev_major, spec->dev_minor);
	     s; s = hmap_next(&st->by_dev, s))
		if (path_below(spec->root, st->set->mnts[s->value]->root))
			newest = s->value;
	if (newest != NONE)
		*ret_sub = path_below(spec->root, st->set->mnts[newest]->root);
	return newest;
}

/* The root of dumped mount k, which exists: the clone that was attached, or its mountpoint. */
static int made_root(struct mntns_state *st, size_t k, const char *for_what)
{
	const MntEntry *src = st->set->mnts[k];

	if (st->root_fd_of[k] < 0)
		st->root_fd_of[k] = open_in_ns(st, src->mountpoint, O_PATH);
	if (st->root_fd_of[k] < 0) {
		errno = -st->root_fd_of[k];
		return pr_errno("cannot open mount '%s', a source of %s", src->mountpoint,
				for_what);
	}
	return st->root_fd_of[k];
}

/* The build's lookup of made mounts (mount_build_made_fn). */
static int made_source(void *opaque, const struct mount_spec *spec, int *ret_fd,
		       const char **ret_sub)
{
	struct mntns_state *st = opaque;
	size_t k = find_made(st, spec, ret_sub);

	if (k == NONE)
		return -ENOENT;
	*ret_fd = made_root(st, k, spec->what);
	return *ret_fd < 0 ? *ret_fd : 0;
}

/* (2) binds whose source only the copy has (it is about to be detached) are cloned now. */
static int clone_copy_sources(struct mntns_state *st)
{
	const struct image_set *set = st->set;

	for (size_t i = 1; i < set->n_mnts; i++) {
		const MntEntry *d = set->mnts[i];
		struct mount_spec spec;
		const char *sub;
		int src_fd;

		if (st->match[i] != NONE || d->kind != MNT_KIND__MNT_KIND_BIND)
			continue;
		mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
		if (mount_build_find_live(st->build, &spec, &src_fd, &sub) < 0)
			continue;
		st->clone_fd[i] = mount_build_clone(st->build, &spec);
		if (st->clone_fd[i] < 0)
			return st->clone_fd[i];
	}
	return 0;
}

/* The id of the mount fd is on, comparable with m's (unique where the table has them). */
static uint64_t mount_id_of(int fd, const struct mount_entry *m)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, m->mnt_id ? STATX_MNT_ID_UNIQUE : STATX_MNT_ID, &stx) < 0)
		return 0;
	return stx.stx_mnt_id;
}

/* Detaches m, reached through its mountpoint: mounts that cover it (its own children on its
 * root, also extra) are at the top of that path and go first. Through the fd's magic link, so
 * the path walked was checked to hold no symlink. */
static int detach_one(struct mntns_state *st, const struct mount_entry *m)
{
	uint64_t want = m->mnt_id ? m->mnt_id : m->mnt_id_old;

	for (int depth = 0; depth < 4096; depth++) {
		cleanup_close int fd = open_in_ns(st, m->mountpoint, O_PATH);
		char proc[64];
		uint64_t top;

		if (fd < 0) {
			errno = -fd;
			return pr_errno("cannot open mount '%s' to remove it", m->mountpoint);
		}
		top = mount_id_of(fd, m);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (umount2(proc, MNT_DETACH) < 0 &&
		    umount2(m->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return pr_errno("cannot remove mount '%s' from the rebuilt namespace",
					m->mountpoint);
		if (top == want || !top)
			return 0;
	}
	pr_err("cannot remove mount '%s' from the rebuilt namespace: too many mounts cover it",
	       m->mountpoint);
	return -ELOOP;
}

/* (3) detach every mount of the copy the dumped namespace did not have (with its subtree). */
static int detach_extra(struct mntns_state *st)
{
	bool *gone = calloc(st->n_cur ? st->n_cur : 1, sizeof(bool));
	struct hmap by_ptr = {0};
	int r = gone ? hmap_reserve(&by_ptr, st->n_cur) : -ENOMEM;

	for (size_t c = 0; c < st->n_cur && r == 0; c++)
		r = hmap_put(&by_ptr, (uint64_t)(uintptr_t)mount_table_get(st->cur, c), 0, c);
	for (size_t c = 1; c < st->n_cur && r == 0; c++) {
		const struct mount_entry *m = mount_table_get(st->cur, c);
		const struct hmap_slot *parent =
		    hmap_find(&by_ptr, (uint64_t)(uintptr_t)m->parent, 0);

		if (st->cur_matched[c])
			continue;
		gone[c] = true;
		/* parent-first order: a parent that is gone took this one with it */
		if (!parent || !gone[parent->value])
			r = detach_one(st, m);
	}
	free(gone);
	hmap_clear(&by_ptr);
	return r;
}

/* The mountpoint of d, opened without following symlinks; a missing one is made only in a
 * filesystem this restore made (never in a filesystem outside the tree): a directory, or a file
 * for a single-file mount (tree_fd is the mount to put there). */
static int open_mountpoint(struct mntns_state *st, size_t i, int tree_fd)
{
	const MntEntry *d = st->set->mnts[i];
	ssize_t p = image_set_mnt(st->set, d->parent_id);
	cleanup_free char *dir = NULL;
	cleanup_close int dir_fd = -EBADF;
	const char *name;
	struct stat sb;
	int fd = open_in_ns(st, d->mountpoint, O_PATH);

	if (fd >= 0 || fd != -ENOENT)
		return fd < 0
			   ? (errno = -fd, pr_errno("cannot open mountpoint '%s'", d->mountpoint))
			   : fd;
	if (p < 0 || !st->owns_fs[p]) {
		pr_err("cannot rebuild %s: its mountpoint is missing from a filesystem outside the "
		       "tree, which restore does not change",
		       what_of(st, i));
		return -ENOENT;
	}
	dir = strdup(d->mountpoint);
	if (!dir)
		return -ENOMEM;
	name = strrchr(dir, '/');
	*(char *)name++ = '\0';
	dir_fd = open_in_ns(st, *dir ? dir : "/", O_PATH | O_DIRECTORY);
	if (dir_fd < 0) {
		errno = -dir_fd;
		return pr_errno("cannot open the directory of mountpoint '%s'", d->mountpoint);
	}
	if (fstat(tree_fd, &sb) == 0 && !S_ISDIR(sb.st_mode)
		? mknodat(dir_fd, name, S_IFREG | 0644, 0)
		: mkdirat(dir_fd, name, 0755))
		return pr_errno("cannot create mountpoint '%s'", d->mountpoint);
	fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open mountpoint '%s'", d->mountpoint);
	return fd;
}

/* A whole-mount bind of a source with the same flags, made with mount(2) through the fds'
 * /proc/self/fd links: unlike open_tree() + move_mount() it creates no anonymous namespace,
 * whose teardown per mount dominates at 10 000 mounts. Returns 0 when done, 1 when it does not
 * apply (the caller clones instead), or -errno (logged). */
static int bind_fast(struct mntns_state *st, size_t i, const struct mount_spec *spec)
{
	const MntEntry *d = st->set->mnts[i];
	char src[64], dst[64];
	cleanup_close int mp_fd = -EBADF;
	const char *sub = "";
	size_t k;
	int src_fd;

	if (d->kind != MNT_KIND__MNT_KIND_BIND)
		return 1;
	k = find_made(st, spec, &sub);
	if (k == NONE || *sub || ((st->set->mnts[k]->mnt_attr ^ d->mnt_attr) & MOUNT_BUILD_ATTRS))
		return 1;
	src_fd = made_root(st, k, spec->what);
	if (src_fd < 0)
		return src_fd;
	mp_fd = open_mountpoint(st, i, src_fd);
	if (mp_fd < 0)
		return mp_fd;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", src_fd);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", mp_fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		if (errno == ENOENT)
			return 1; /* no /proc here */
		return pr_errno("cannot bind %s", what_of(st, i));
	}
	return 0;
}

/* (4) one missing mount: a clone of its root inside the superblock its kind provides, with its
 * flags, attached at its mountpoint. */
static int create_mount(struct mntns_state *st, size_t i)
{
	const MntEntry *d = st->set->mnts[i];
	cleanup_close int tree_fd = TAKE_FD(st->clone_fd[i]), mp_fd = -EBADF;
	struct mount_spec spec;
	int r;

	mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
	if (tree_fd < 0) {
		r = bind_fast(st, i, &spec);
		if (r <= 0)
			goto out;
		mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
		tree_fd = mount_build_clone(st->build, &spec);
		if (tree_fd < 0)
			return tree_fd;
	}
	r = mount_set_attrs(tree_fd, d->mnt_attr, 0, what_of(st, i));
	if (r < 0)
		return r;
	mp_fd = open_mountpoint(st, i, tree_fd);
	if (mp_fd < 0)
		return mp_fd;
	if (move_mount(tree_fd, "", mp_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return pr_errno("cannot attach %s", what_of(st, i));
	/* the clone is the mount's root now: keep it for mounts that bind from this one */
	st->root_fd_of[i] = TAKE_FD(tree_fd);
out:
	if (r == 0) {
		st->owns_fs[i] = d->kind != MNT_KIND__MNT_KIND_BIND;
		st->n_made[(size_t)d->kind < ARRAY_SIZE(st->n_made) ? d->kind : 0]++;
		pr_debug("%s %s: %s", what_of(st, i), d->fstype, mount_kind_by_kind(d->kind)->name);
	}
	return r;
}

static int set_propagation(struct mntns_state *st, const char *path, uint64_t propagation)
{
	cleanup_close int fd = open_in_ns(st, path, O_PATH);
	struct mount_attr attr = {.propagation = propagation};

	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open mount '%s'", path);
	}
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return pr_errno("cannot set the propagation of mount '%s'", path);
	return 0;
}

static int join_group(struct mntns_state *st, const char *leader, const char *path)
{
	cleanup_close int from = open_in_ns(st, leader, O_PATH), to = open_in_ns(st, path, O_PATH);

	if (from < 0 || to < 0) {
		errno = from < 0 ? -from : -to;
		return pr_errno("cannot open mount '%s'", from < 0 ? leader : path);
	}
	if (move_mount(from, "", to, "",
		       MOVE_MOUNT_SET_GROUP | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return pr_errno("cannot put mount '%s' in the peer group of '%s'", path, leader);
	return 0;
}

/* (5) shared peer groups and slaves: the first member of a group is made shared, the others
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
				r = set_propagation(st, set->mnts[leader]->mountpoint, MS_SHARED);
				if (r < 0)
					return r;
			}
			if (leader < 0)
				r = set_propagation(st, d->mountpoint, MS_SHARED);
			else
				r = join_group(st, set->mnts[leader]->mountpoint, d->mountpoint);
			if (r == 0 && pass == 0 && leader >= 0)
				r = set_propagation(st, d->mountpoint, MS_SLAVE);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < set->n_mnts; i++)
		if (set->mnts[i]->propagation == MNT_PROPAGATION__MNT_PROPAGATION_UNBINDABLE &&
		    (r = set_propagation(st, set->mnts[i]->mountpoint, MS_UNBINDABLE)) < 0)
			return r;
	return 0;
}

/* The order mounts are attached in: parent first, depth first, and among a parent's children
 * those mounted on the parent's own root (covering it) after the others and their subtrees, so
 * no mountpoint is looked up through a mount that covers it. */
static int attach_order(const struct image_set *set, size_t *order)
{
	size_t n = set->n_mnts, top = 0, n_out = 0;
	cleanup_free size_t *first = malloc((n + 1) * sizeof(size_t));
	cleanup_free size_t *kids = malloc(n * sizeof(size_t));
	cleanup_free size_t *stack = malloc(n * sizeof(size_t));
	cleanup_free size_t *parent = malloc(n * sizeof(size_t));

	if (!first || !kids || !stack || !parent)
		return -ENOMEM;
	memset(first, 0, (n + 1) * sizeof(size_t));
	for (size_t i = 1; i < n; i++) {
		parent[i] = (size_t)image_set_mnt(set, set->mnts[i]->parent_id);
		first[parent[i] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	/* children in image order, covering ones last; pushed reversed so they pop in order */
	for (int cover = 0; cover < 2; cover++)
		for (size_t i = 1; i < n; i++) {
			const MntEntry *p = set->mnts[parent[i]];
			bool covers = strcmp(set->mnts[i]->mountpoint, p->mountpoint) == 0;

			if (covers == (cover == 1))
				kids[first[parent[i]]++] = i;
		}
	for (size_t i = n; i > 0; i--)
		first[i] = first[i - 1];
	first[0] = 0;
	stack[top++] = 0;
	while (top > 0) {
		size_t i = stack[--top];

		order[n_out++] = i;
		for (size_t k = first[i + 1]; k > first[i]; k--)
			stack[top++] = kids[k - 1];
	}
	return n_out == n ? 0 : -EINVAL;
}

static void state_free(struct mntns_state *st)
{
	size_t n = st->set->n_mnts;

	for (size_t i = 0; i < n; i++) {
		if (st->clone_fd && st->clone_fd[i] >= 0)
			close(st->clone_fd[i]);
		if (st->root_fd_of && st->root_fd_of[i] >= 0)
			close(st->root_fd_of[i]);
	}
	closep(&st->root_fd);
	free(st->match);
	free(st->created);
	free(st->owns_fs);
	free(st->clone_fd);
	free(st->root_fd_of);
	free(st->cur_matched);
	hmap_clear(&st->by_dev);
	mount_build_free(st->build);
	mount_table_free(st->cur);
}

static int state_alloc(struct mntns_state *st)
{
	size_t n = st->set->n_mnts;

	st->match = malloc(n * sizeof(size_t));
	st->created = calloc(n, sizeof(bool));
	st->owns_fs = calloc(n, sizeof(bool));
	st->clone_fd = malloc(n * sizeof(int));
	st->root_fd_of = malloc(n * sizeof(int));
	st->cur_matched = calloc(st->n_cur ? st->n_cur : 1, sizeof(bool));
	st->build = mount_build_new(st->set);
	if (!st->match || !st->created || !st->owns_fs || !st->clone_fd || !st->root_fd_of ||
	    !st->cur_matched || !st->build || hmap_reserve(&st->by_dev, n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		st->clone_fd[i] = st->root_fd_of[i] = -1;
	return 0;
}

/* --explain: what the rebuild kept and what it made. */
static void explain_build(const struct mntns_state *st)
{
	size_t kept = 0;

	for (size_t i = 0; i < st->set->n_mnts; i++)
		kept += st->match[i] != NONE;
	explain(
	    st->start, "unshare, open_tree, fsopen/fsmount, move_mount, mount_setattr",
	    "rebuilt mount namespace %lu in a copy of minicr's: %zu mount(s) kept as they were, "
	    "%zu bound from a live mount, %zu made anew, %zu tmpfs refilled with their files",
	    (unsigned long)st->set->mnt_ns_id, kept, st->n_made[MNT_KIND__MNT_KIND_BIND],
	    st->n_made[MNT_KIND__MNT_KIND_FRESH], st->n_made[MNT_KIND__MNT_KIND_TMPFS]);
}

static int build_all(struct mntns_state *st)
{
	const struct image_set *set = st->set;
	cleanup_free size_t *order = malloc(set->n_mnts * sizeof(size_t));
	int r;

	if (!order)
		return -ENOMEM;
	r = attach_order(set, order);
	if (r < 0)
		return pr_neg(r, "cannot order the mounts of namespace %lu",
			      (unsigned long)set->mnt_ns_id);
	mount_build_set_live(st->build, st->cur, st->root_fd);
	if ((r = match_mounts(st)) < 0 || (r = clone_copy_sources(st)) < 0 ||
	    (r = detach_extra(st)) < 0)
		return r;
	/* the copy's table is stale now: sources are the dumped mounts that exist */
	mount_build_set_live(st->build, NULL, -EBADF);
	mount_build_set_made(st->build, made_source, st);
	for (size_t k = 0; k < set->n_mnts; k++) {
		size_t i = order[k];
		const MntEntry *d = set->mnts[i];

		if (st->match[i] == NONE) {
			r = create_mount(st, i);
		} else if ((mount_table_get(st->cur, st->match[i])->mnt_attr ^ d->mnt_attr) &
			   MOUNT_BUILD_ATTRS) {
			cleanup_close int fd = open_in_ns(st, d->mountpoint, O_PATH);

			r = fd < 0
				? (errno = -fd, pr_errno("cannot open mount '%s'", d->mountpoint))
				: mount_set_attrs(fd, d->mnt_attr, 0, what_of(st, i));
		}
		if (r < 0)
			return r;
		st->created[i] = true;
		/* only mounts that exist now can be bind sources */
		r = hmap_put(&st->by_dev, d->dev_major, d->dev_minor, i);
		if (r < 0)
			return r;
	}
	r = restore_propagation(st);
	if (r == 0)
		explain_build(st);
	return r;
}

int restore_mntns_build(const struct image_set *set)
{
	struct mntns_state st = {.set = set, .root_fd = -EBADF};
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
	st.start = monotonic_ns();
	st.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st.root_fd < 0)
		r = pr_errno("cannot open the root of the new mount namespace");
	else if ((r = state_alloc(&st)) < 0)
		pr_err("cannot allocate the rebuild of mount namespace %lu",
		       (unsigned long)set->mnt_ns_id);
	else
		r = build_all(&st);
	state_free(&st);
	return r;
}
