/* mount/restore-ns.c: rebuild the tree's mount namespaces. For each one the root task unshares a
 * private copy of minicr's namespace and reconciles it with the dumped table in linear time
 * (hashes on mountpoint and superblock): (1) keep the mounts that are the same (mountpoint,
 * superblock, root, parent), (2) clone bind sources that only the copy has, (3) detach what the
 * dumped namespace did not have, (4) put the dumped root in place when it is not the copy's
 * (pivot_root), (5) create the missing mounts parent first, each an unattached clone of its
 * root inside the superblock its kind finds or makes (mount/kind.h), attached through fds at its
 * mountpoint opened beneath its parent's root, never crossing another mount or a symlink, with
 * its per-mount flags. Superblocks a kind makes are shared by every namespace. Then peer groups
 * and masters are set across all of them (restore-propagation.c). */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/fault.h"
#include "base/hmap.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "image-set/image-set.h"
#include "mount/build.h"
#include "mount/restore-propagation.h"
#include "mount/table.h"

#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#endif

#define NONE SIZE_MAX

struct restore_ns {
	const struct image_set *set;
	struct mount_build *build;	     /* superblocks made once for every namespace */
	int own_ns_fd, own_root_fd, proc_fd; /* minicr's namespace, its root and /proc */
	int *ns_fd;			     /* per set->mntns */
	int *ns_root_fd;		     /* per set->mntns: what "/" is in it */
	int *mnt_fd;			     /* per set->mnts: a root kept after the build, or -1 */
	bool *keep;			     /* per set->mnts: its root is needed after the build */
};

/* One namespace being built. Indices are local: mount i is set->mnts[first + i]. */
struct ns_build {
	struct restore_ns *r;
	const struct image_set *set;
	size_t ns, first, n;
	struct mount_table *cur; /* the copy of minicr's namespace, as it was after unshare */
	size_t n_cur;
	int root_fd;		      /* the namespace's root: the copy's, then the dumped one */
	bool replace_root;	      /* the dumped root is not the copy's */
	size_t *match;		      /* per mount: index in cur, or NONE */
	bool *cur_matched;	      /* per cur mount */
	bool *owns_fs;		      /* per mount: its superblock is one this restore made */
	int *clone_fd;		      /* per mount: a prepared clone of its root, or -1 */
	int *root_fd_of;	      /* per mount: O_PATH fd of its root once it exists, or -1 */
	struct hmap by_dev;	      /* dumped device -> mounts that exist by now */
	char what[PATH_MAX * 4 + 64]; /* the mount being worked on, for messages */
	uint64_t start;		      /* for --explain */
	size_t n_made[8];	      /* per mount kind, mounts created */
};

static const MntEntry *mnt(const struct ns_build *st, size_t i)
{
	return st->set->mnts[st->first + i];
}

static size_t parent_of(const struct ns_build *st, size_t i)
{
	return (size_t)image_set_mnt(st->set, mnt(st, i)->parent_id) - st->first;
}

/* openat2 beneath dir_fd without following a symlink: a symlink restored into a tmpfs must not
 * redirect a mount; with no_xdev, without entering another mount either. Returns the fd or
 * -errno (not logged). */
static int open_at(int dir_fd, const char *path, int flags, bool no_xdev)
{
	struct open_how how = {
	    .flags = (uint64_t)flags | O_CLOEXEC | O_NOFOLLOW,
	    .resolve =
		RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (no_xdev ? RESOLVE_NO_XDEV : 0),
	};
	int fd;

	while (*path == '/')
		path++;
	fd = (int)syscall(__NR_openat2, dir_fd, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* path (absolute in the namespace) opened from its root. */
static int open_in_ns(const struct ns_build *st, const char *path, int flags)
{
	return open_at(st->root_fd, path, flags, false);
}

static const char *what_of(struct ns_build *st, size_t i)
{
	char mp[PATH_MAX * 4];

	snprintf(st->what, sizeof(st->what), "mount %lu ('%s') of namespace %lu",
		 (unsigned long)mnt(st, i)->mnt_id,
		 escape_path(mp, sizeof(mp), mnt(st, i)->mountpoint),
		 (unsigned long)st->set->mntns[st->ns].id);
	return st->what;
}

/* (1) match dumped mounts with the copy's, parent first, by mountpoint hash. Only mounts whose
 * superblock is a live one can be the same: a superblock only the tree had is gone. */
static int match_mounts(struct ns_build *st)
{
	struct hmap by_mp = {0};
	int r = hmap_reserve(&by_mp, st->n_cur);

	for (size_t c = 0; c < st->n_cur && r == 0; c++) {
		const char *mp = mount_table_get(st->cur, c)->mountpoint;

		r = hmap_put(&by_mp, hmap_hash_bytes(mp, strlen(mp)), 0, c);
	}
	for (size_t i = 0; i < st->n && r == 0; i++) {
		const MntEntry *d = mnt(st, i);
		const struct mount_entry *want_parent = NULL;

		st->match[i] = NONE;
		if (i > 0) {
			size_t pm = st->match[parent_of(st, i)];

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
			    strcmp(m->root, d->root) || m->root_deleted != d->root_deleted ||
			    (i > 0 && m->parent != want_parent) || (i == 0 && m->parent))
				continue;
			st->match[i] = c;
			st->cur_matched[c] = true;
			break;
		}
		/* a container's root of its own: put in place of the copy's */
		if (i == 0 && st->match[0] == NONE)
			st->replace_root = true;
	}
	hmap_clear(&by_mp);
	return r;
}

/* The id of the mount fd is on, comparable with m's (unique where the table has them). */
static uint64_t mount_id_of(int fd, const struct mount_entry *m)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, m->mnt_id ? STATX_MNT_ID_UNIQUE : STATX_MNT_ID, &stx) < 0)
		return 0;
	return stx.stx_mnt_id;
}

/* The root of mount i, which exists: kept since it was made, or, for a mount of the copy, its
 * mountpoint, checked to lead to it (a mount covered by another is out of reach). */
static int root_of(struct ns_build *st, size_t i)
{
	const struct mount_entry *m;
	int fd;

	if (st->root_fd_of[i] >= 0)
		return st->root_fd_of[i];
	if (st->match[i] == NONE) {
		pr_err("cannot rebuild %s: its root is not open (bug)", what_of(st, i));
		return -EINVAL;
	}
	m = mount_table_get(st->cur, st->match[i]);
	fd = open_in_ns(st, m->mountpoint, O_PATH);
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open %s", what_of(st, i));
	}
	if (mount_id_of(fd, m) != (m->mnt_id ? m->mnt_id : m->mnt_id_old)) {
		close(fd);
		pr_err("cannot reach %s: another mount covers it", what_of(st, i));
		return -EBUSY;
	}
	st->root_fd_of[i] = fd;
	return fd;
}

/* A dumped mount that exists by now and holds spec's root: its index, and spec->root below
 * its root. The newest mount of the superblock comes first: cloning it is cheap, while cloning
 * a mount with many children costs the kernel a walk over them. */
static size_t find_made(const struct ns_build *st, const struct mount_spec *spec,
			const char **ret_sub)
{
	size_t newest = NONE;

	for (const struct hmap_slot *s = hmap_find(&st->by_dev, spec->dev_major, spec->dev_minor);
	     s; s = hmap_next(&st->by_dev, s))
		if (path_below(spec->root, mnt(st, s->value)->root))
			newest = s->value;
	if (newest != NONE)
		*ret_sub = path_below(spec->root, mnt(st, newest)->root);
	return newest;
}

/* The build's lookup of made mounts (mount_build_made_fn). */
static int made_source(void *opaque, const struct mount_spec *spec, int *ret_fd,
		       const char **ret_sub)
{
	struct ns_build *st = opaque;
	size_t k = find_made(st, spec, ret_sub);

	if (k == NONE)
		return -ENOENT;
	*ret_fd = root_of(st, k);
	return *ret_fd < 0 ? *ret_fd : 0;
}

/* (2) binds whose source only the copy has (it is about to be detached) are cloned now. */
static int clone_copy_sources(struct ns_build *st)
{
	for (size_t i = 0; i < st->n; i++) {
		const MntEntry *d = mnt(st, i);
		struct mount_spec spec;
		const char *sub;
		int src_fd;

		if (st->match[i] != NONE || d->kind != MNT_KIND__MNT_KIND_BIND)
			continue;
		mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
		if (mount_build_find_live(st->r->build, &spec, &src_fd, &sub) < 0)
			continue;
		st->clone_fd[i] = mount_build_clone(st->r->build, &spec);
		if (st->clone_fd[i] < 0)
			return st->clone_fd[i];
	}
	return 0;
}

/* Detaches m, reached through its mountpoint: mounts that cover it (its own children on its
 * root, also extra) are at the top of that path and go first. Through the fd's magic link
 * (relative to minicr's /proc, the build's cwd), so the path walked was checked to hold no
 * symlink. */
static int detach_one(struct ns_build *st, const struct mount_entry *m)
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
		snprintf(proc, sizeof(proc), "self/fd/%d", fd);
		if ((st->r->proc_fd < 0 || umount2(proc, MNT_DETACH) < 0) &&
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

/* (3) detach every mount of the copy the dumped namespace did not have (with its subtree); the
 * copy's root stays (a dumped root of its own is put on top of it). */
static int detach_extra(struct ns_build *st)
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

/* fsconfig's read-only flag of the superblock behind sb_fd, set or cleared. */
static int sb_set_ro(int sb_fd, bool ro)
{
	cleanup_close int fs_fd = fspick(sb_fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);

	if (fs_fd < 0 || fsconfig(fs_fd, FSCONFIG_SET_FLAG, ro ? "ro" : "rw", NULL, 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
		return -errno;
	return 0;
}

/* Creates the missing mountpoint name (a directory, or a file for a single-file mount) in the
 * directory dir_fd of a superblock this restore made, through that superblock's own mount (the
 * parent mount may be read-only; a read-only superblock is opened up for the moment). */
static int make_mountpoint_in(struct ns_build *st, size_t i, int sb_fd, int dir_fd,
			      const char *name, bool is_file)
{
	int r = is_file ? mknodat(dir_fd, name, S_IFREG | 0644, 0) : mkdirat(dir_fd, name, 0755);

	if (r < 0 && errno == EROFS && sb_set_ro(sb_fd, false) == 0) {
		r = is_file ? mknodat(dir_fd, name, S_IFREG | 0644, 0)
			    : mkdirat(dir_fd, name, 0755);
		if (sb_set_ro(sb_fd, true) < 0)
			return pr_errno("cannot make the filesystem of %s read-only again",
					what_of(st, i));
	}
	if (r < 0 && errno != EEXIST)
		return pr_errno("cannot create the mountpoint of %s", what_of(st, i));
	return 0;
}

/* The missing mountpoint of mount i, made in its parent's superblock when this restore made it
 * (never in a filesystem outside the tree): missing directories on the way too. */
static int create_mountpoint(struct ns_build *st, size_t i, bool is_file)
{
	const MntEntry *d = mnt(st, i), *p = mnt(st, parent_of(st, i));
	cleanup_free char *in_fs = NULL;
	cleanup_close int dir_fd = -EBADF;
	char *name, *comp, *save = NULL;
	int sb_fd;

	if (!st->owns_fs[parent_of(st, i)]) {
		pr_err("cannot rebuild %s: its mountpoint is missing from a filesystem outside the "
		       "tree, which restore does not change",
		       what_of(st, i));
		return -ENOENT;
	}
	sb_fd = mount_build_sb_get(st->r->build, p->dev_major, p->dev_minor);
	if (sb_fd < 0) {
		pr_err("cannot rebuild %s: the filesystem of its parent is not one this restore "
		       "made",
		       what_of(st, i));
		return -ENOENT;
	}
	in_fs = path_join(p->root, path_below(d->mountpoint, p->mountpoint));
	if (!in_fs)
		return -ENOMEM;
	name = strrchr(in_fs, '/');
	*name++ = '\0';
	dir_fd = fcntl(sb_fd, F_DUPFD_CLOEXEC, 0);
	for (comp = strtok_r(in_fs, "/", &save); comp && dir_fd >= 0;
	     comp = strtok_r(NULL, "/", &save)) {
		int r = make_mountpoint_in(st, i, sb_fd, dir_fd, comp, false), fd;

		if (r < 0)
			return r;
		fd = open_at(dir_fd, comp, O_PATH | O_DIRECTORY, true);
		closep(&dir_fd);
		dir_fd = fd;
	}
	if (dir_fd < 0) {
		errno = -dir_fd;
		return pr_errno("cannot open the directory of the mountpoint of %s",
				what_of(st, i));
	}
	return make_mountpoint_in(st, i, sb_fd, dir_fd, name, is_file);
}

/* The mountpoint of mount i, opened beneath its parent's root without crossing another mount
 * or following a symlink: so it is the parent's own directory even where a mount covers the
 * path. A missing one is created (see create_mountpoint()); tree_fd is the mount to put
 * there, whose root tells a directory from a file. */
static int open_mountpoint(struct ns_build *st, size_t i, int tree_fd)
{
	const MntEntry *d = mnt(st, i);
	size_t p = parent_of(st, i);
	const char *rel = path_below(d->mountpoint, mnt(st, p)->mountpoint);
	struct stat sb;
	int parent_fd = root_of(st, p), fd, r;

	if (parent_fd < 0)
		return parent_fd;
	fd = open_at(parent_fd, rel, O_PATH, true);
	if (fd == -ENOENT) {
		r = create_mountpoint(st, i, fstat(tree_fd, &sb) == 0 && !S_ISDIR(sb.st_mode));
		if (r < 0)
			return r;
		fd = open_at(parent_fd, rel, O_PATH, true);
	}
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open the mountpoint of %s", what_of(st, i));
	}
	return fd;
}

/* A whole-mount bind of a source with the same flags, made with mount(2) through the fds'
 * /proc/self/fd links: unlike open_tree() + move_mount() it creates no anonymous namespace,
 * whose teardown per mount dominates at 10 000 mounts. Returns 0 when done, 1 when it does not
 * apply (the caller clones instead), or -errno (logged). */
static int bind_fast(struct ns_build *st, size_t i, const struct mount_spec *spec)
{
	const MntEntry *d = mnt(st, i);
	const char *rel = path_below(d->mountpoint, mnt(st, parent_of(st, i))->mountpoint);
	char src[64], dst[64];
	cleanup_close int mp_fd = -EBADF;
	const char *sub = "";
	size_t k;
	int src_fd, fd;

	/* a mount on its parent's root could not be reopened by its path afterwards */
	if (d->kind != MNT_KIND__MNT_KIND_BIND || st->r->proc_fd < 0 || !*rel)
		return 1;
	k = find_made(st, spec, &sub);
	if (k == NONE || *sub || ((mnt(st, k)->mnt_attr ^ d->mnt_attr) & MOUNT_BUILD_ATTRS))
		return 1;
	src_fd = root_of(st, k);
	if (src_fd < 0)
		return src_fd;
	mp_fd = open_mountpoint(st, i, src_fd);
	if (mp_fd < 0)
		return mp_fd;
	snprintf(src, sizeof(src), "self/fd/%d", src_fd);
	snprintf(dst, sizeof(dst), "self/fd/%d", mp_fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return pr_errno("cannot bind %s", what_of(st, i));
	fd = open_at(root_of(st, parent_of(st, i)), rel, O_PATH, false);
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open %s", what_of(st, i));
	}
	st->root_fd_of[i] = fd;
	return 0;
}

/* (5) one missing mount: a clone of its root inside the superblock its kind provides, with its
 * flags, attached at its mountpoint. */
static int create_mount(struct ns_build *st, size_t i)
{
	const MntEntry *d = mnt(st, i);
	cleanup_close int tree_fd = TAKE_FD(st->clone_fd[i]), mp_fd = -EBADF;
	struct mount_spec spec;
	int r;

	mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
	if (tree_fd < 0) {
		r = bind_fast(st, i, &spec);
		if (r <= 0)
			goto out;
		mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
		tree_fd = mount_build_clone(st->r->build, &spec);
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
	/* the clone is the mount's root now: kept for its children and bind sources */
	st->root_fd_of[i] = TAKE_FD(tree_fd);
out:
	if (r == 0)
		st->n_made[(size_t)d->kind < ARRAY_SIZE(st->n_made) ? d->kind : 0]++;
	if (r == 0 && log_get_level() >= LOG_DEBUG)
		pr_debug("%s %s: %s", what_of(st, i), d->fstype, mount_kind_by_kind(d->kind)->name);
	return r;
}

/* (4) the dumped root, when it is not the copy's (a container's root): attached on top of the
 * copy's root, which pivot_root() then takes away with everything below it. Where the copy's
 * root is the namespace's own first mount (an initramfs), which has no parent to pivot under,
 * it stays beneath: entering the namespace goes down to the topmost mount on its root anyway. */
static int replace_root(struct ns_build *st)
{
	const MntEntry *d = mnt(st, 0);
	cleanup_close int tree_fd = TAKE_FD(st->clone_fd[0]);
	struct mount_spec spec;
	int r;

	mount_spec_of_mnt(d, st->what, sizeof(st->what), &spec);
	if (tree_fd < 0)
		tree_fd = mount_build_clone(st->r->build, &spec);
	if (tree_fd < 0)
		return tree_fd;
	r = mount_set_attrs(tree_fd, d->mnt_attr, 0, what_of(st, 0));
	if (r < 0)
		return r;
	if (move_mount(tree_fd, "", st->root_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return pr_errno("cannot attach the root %s", what_of(st, 0));
	if (fchdir(tree_fd) < 0)
		return pr_errno("cannot enter the root %s", what_of(st, 0));
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return pr_errno("cannot detach the old root of namespace %lu",
					(unsigned long)st->set->mntns[st->ns].id);
	} else if (errno != EINVAL) {
		return pr_errno("cannot make %s the root", what_of(st, 0));
	}
	if (st->r->proc_fd >= 0 && fchdir(st->r->proc_fd) < 0)
		return pr_errno("cannot enter minicr's /proc");
	closep(&st->root_fd);
	st->root_fd = fcntl(tree_fd, F_DUPFD_CLOEXEC, 0);
	if (st->root_fd < 0)
		return pr_errno("cannot keep the root of namespace %lu",
				(unsigned long)st->set->mntns[st->ns].id);
	st->root_fd_of[0] = TAKE_FD(tree_fd);
	pr_debug("%s %s: %s, the namespace's root", what_of(st, 0), d->fstype,
		 mount_kind_by_kind(d->kind)->name);
	return 0;
}

/* The order mounts are attached in: parent first, depth first, and among a parent's children
 * those mounted on the parent's own root (covering it) after the others and their subtrees, so
 * nothing is attached on a mount that another one already covers. */
static int attach_order(const struct ns_build *st, size_t *order)
{
	size_t n = st->n, top = 0, n_out = 0;
	cleanup_free size_t *first = malloc((n + 1) * sizeof(size_t));
	cleanup_free size_t *kids = malloc(n * sizeof(size_t));
	cleanup_free size_t *stack = malloc(n * sizeof(size_t));
	cleanup_free size_t *parent = malloc(n * sizeof(size_t));

	if (!first || !kids || !stack || !parent)
		return -ENOMEM;
	memset(first, 0, (n + 1) * sizeof(size_t));
	for (size_t i = 1; i < n; i++) {
		parent[i] = parent_of(st, i);
		first[parent[i] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	/* children in image order, covering ones last; pushed reversed so they pop in order */
	for (int cover = 0; cover < 2; cover++)
		for (size_t i = 1; i < n; i++) {
			bool covers =
			    strcmp(mnt(st, i)->mountpoint, mnt(st, parent[i])->mountpoint) == 0;

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

static void build_free(struct ns_build *st)
{
	for (size_t i = 0; i < st->n; i++) {
		if (st->clone_fd && st->clone_fd[i] >= 0)
			close(st->clone_fd[i]);
		if (st->root_fd_of && st->root_fd_of[i] >= 0)
			close(st->root_fd_of[i]);
	}
	closep(&st->root_fd);
	free(st->match);
	free(st->owns_fs);
	free(st->clone_fd);
	free(st->root_fd_of);
	free(st->cur_matched);
	hmap_clear(&st->by_dev);
	mount_table_free(st->cur);
}

static int build_alloc(struct ns_build *st)
{
	size_t n = st->n;

	st->match = malloc(n * sizeof(size_t));
	st->owns_fs = calloc(n, sizeof(bool));
	st->clone_fd = malloc(n * sizeof(int));
	st->root_fd_of = malloc(n * sizeof(int));
	st->cur_matched = calloc(st->n_cur ? st->n_cur : 1, sizeof(bool));
	if (!st->match || !st->owns_fs || !st->clone_fd || !st->root_fd_of || !st->cur_matched ||
	    hmap_reserve(&st->by_dev, n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		st->clone_fd[i] = st->root_fd_of[i] = -1;
	return 0;
}

/* Mount i exists now: a bind source for the mounts after it, with its flags. */
static int made(struct ns_build *st, size_t i)
{
	const MntEntry *d = mnt(st, i);
	int r;

	if (st->match[i] != NONE &&
	    ((mount_table_get(st->cur, st->match[i])->mnt_attr ^ d->mnt_attr) &
	     MOUNT_BUILD_ATTRS)) {
		int fd = root_of(st, i);

		r = fd < 0 ? fd : mount_set_attrs(fd, d->mnt_attr, 0, what_of(st, i));
		if (r < 0)
			return r;
	}
	st->owns_fs[i] = st->match[i] == NONE && d->kind != MNT_KIND__MNT_KIND_BIND;
	return hmap_put(&st->by_dev, d->dev_major, d->dev_minor, i);
}

/* --explain: what the rebuild of one namespace kept and what it made. */
static void explain_build(const struct ns_build *st)
{
	size_t kept = 0;

	for (size_t i = 0; i < st->n; i++)
		kept += st->match[i] != NONE;
	explain(st->start, "unshare, open_tree, fsopen/fsmount, move_mount, mount_setattr",
		"rebuilt mount namespace %lu in a copy of minicr's%s: %zu mount(s) kept as they "
		"were, %zu bound from a live mount, %zu made anew, %zu tmpfs refilled with their "
		"files",
		(unsigned long)st->set->mntns[st->ns].id,
		st->replace_root ? " with its own root in place" : "", kept,
		st->n_made[MNT_KIND__MNT_KIND_BIND], st->n_made[MNT_KIND__MNT_KIND_FRESH],
		st->n_made[MNT_KIND__MNT_KIND_TMPFS]);
}

/* The roots later steps need (files, propagation) are handed to the context; the rest close. */
static int keep_roots(struct ns_build *st)
{
	for (size_t i = 0; i < st->n; i++) {
		size_t g = st->first + i;
		int fd;

		if (!st->r->keep[g])
			continue;
		fd = root_of(st, i);
		if (fd < 0)
			return fd;
		st->r->mnt_fd[g] = TAKE_FD(st->root_fd_of[i]);
	}
	return 0;
}

static int build_all(struct ns_build *st)
{
	cleanup_free size_t *order = malloc(st->n * sizeof(size_t));
	int r;

	if (!order)
		return -ENOMEM;
	r = attach_order(st, order);
	if (r < 0)
		return pr_neg(r, "cannot order the mounts of namespace %lu",
			      (unsigned long)st->set->mntns[st->ns].id);
	mount_build_set_live(st->r->build, st->cur, st->root_fd);
	if ((r = match_mounts(st)) < 0 || (r = clone_copy_sources(st)) < 0 ||
	    (r = detach_extra(st)) < 0)
		return r;
	/* kept mounts of the copy are reached now, before a new mount covers one */
	for (size_t i = 0; i < st->n; i++)
		if (st->match[i] != NONE && st->r->keep[st->first + i] && (r = root_of(st, i)) < 0)
			return r;
	r = 0;
	/* the copy's table is stale now: sources are the dumped mounts that exist */
	mount_build_set_live(st->r->build, NULL, -EBADF);
	mount_build_set_made(st->r->build, made_source, st);
	for (size_t k = 0; k < st->n; k++) {
		size_t i = order[k];

		if (i == 0 && st->replace_root)
			r = replace_root(st);
		else if (st->match[i] == NONE)
			r = create_mount(st, i);
		if (r < 0 || (r = made(st, i)) < 0)
			return r;
	}
	mount_build_set_made(st->r->build, NULL, NULL);
	r = keep_roots(st);
	if (r == 0)
		explain_build(st);
	return r;
}

/* Builds namespace ns in the caller's namespace, a fresh private copy of minicr's. */
static int build_ns(struct restore_ns *r, size_t ns)
{
	const struct image_set *set = r->set;
	struct ns_build st = {
	    .r = r,
	    .set = set,
	    .ns = ns,
	    .first = set->mntns[ns].first,
	    .n = set->mntns[ns].n_mnts,
	    .root_fd = -EBADF,
	};
	int ret;

	ret = mount_table_collect(getpid(), 0, &st.cur);
	if (ret < 0)
		return ret;
	st.n_cur = mount_table_size(st.cur);
	st.start = monotonic_ns();
	st.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st.root_fd < 0)
		ret = pr_errno("cannot open the root of mount namespace %lu",
			       (unsigned long)set->mntns[ns].id);
	else if ((ret = build_alloc(&st)) < 0)
		pr_err("cannot allocate the rebuild of mount namespace %lu",
		       (unsigned long)set->mntns[ns].id);
	else
		ret = build_all(&st);
	mount_build_set_live(r->build, NULL, -EBADF);
	mount_build_set_made(r->build, NULL, NULL);
	build_free(&st);
	return ret;
}

/* ---- the namespaces --------------------------------------------------------------------- */

/* Which mounts keep their root open once built: those files are opened beneath, those with a
 * propagation to set. */
static void mark_kept(struct restore_ns *r)
{
	const struct image_set *set = r->set;

	for (size_t i = 0; i < set->n_mnts; i++) {
		const MntEntry *m = set->mnts[i];

		r->keep[i] = m->shared_id || m->master_id ||
			     m->propagation == MNT_PROPAGATION__MNT_PROPAGATION_UNBINDABLE;
	}
	for (size_t f = 0; f < set->n_files; f++) {
		const RegFileEntry *reg = set->files[f]->reg;
		ssize_t m;

		if (!reg || reg->detached || !reg->has_mnt_ns_id ||
		    image_set_mntns(set, reg->mnt_ns_id) < 0)
			continue;
		m = image_set_mnt(set, reg->mnt_id);
		if (m >= 0)
			r->keep[m] = true;
	}
}

int restore_ns_new(const struct image_set *set, struct restore_ns **ret)
{
	struct restore_ns *r = calloc(1, sizeof(*r));
	size_t n_ns = set->n_mntns ? set->n_mntns : 1, n_mnts = set->n_mnts ? set->n_mnts : 1;

	if (!r)
		return -ENOMEM;
	r->set = set;
	r->own_ns_fd = r->own_root_fd = r->proc_fd = -EBADF;
	r->ns_fd = malloc(n_ns * sizeof(int));
	r->ns_root_fd = malloc(n_ns * sizeof(int));
	r->mnt_fd = malloc(n_mnts * sizeof(int));
	r->keep = calloc(n_mnts, sizeof(bool));
	r->build = mount_build_new(set);
	if (!r->ns_fd || !r->ns_root_fd || !r->mnt_fd || !r->keep || !r->build) {
		restore_ns_free(r);
		return pr_neg(-ENOMEM, "cannot allocate the rebuild of the mount namespaces");
	}
	for (size_t i = 0; i < set->n_mntns; i++)
		r->ns_fd[i] = r->ns_root_fd[i] = -EBADF;
	for (size_t i = 0; i < set->n_mnts; i++)
		r->mnt_fd[i] = -EBADF;
	mark_kept(r);
	r->own_ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	r->own_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->own_ns_fd < 0 || r->own_root_fd < 0) {
		int e = pr_errno("cannot open minicr's mount namespace");

		restore_ns_free(r);
		return e;
	}
	/* mount(2) reaches fds through /proc/self/fd; a rebuilt namespace may have no /proc */
	r->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	*ret = r;
	return 0;
}

struct restore_ns *restore_ns_free(struct restore_ns *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; r->ns_fd && i < r->set->n_mntns; i++) {
		closep(&r->ns_fd[i]);
		closep(&r->ns_root_fd[i]);
	}
	restore_ns_close_mount_roots(r);
	closep(&r->own_ns_fd);
	closep(&r->own_root_fd);
	closep(&r->proc_fd);
	mount_build_free(r->build);
	free(r->ns_fd);
	free(r->ns_root_fd);
	free(r->mnt_fd);
	free(r->keep);
	free(r);
	return NULL;
}

/* A private copy of minicr's namespace to build namespace ns in; its fd is kept. */
static int enter_copy(struct restore_ns *r, size_t ns)
{
	if (setns(r->own_ns_fd, CLONE_NEWNS) < 0)
		return pr_errno("cannot return to minicr's mount namespace");
	if (unshare(CLONE_NEWNS) < 0)
		return pr_errno("cannot create mount namespace %lu",
				(unsigned long)r->set->mntns[ns].id);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return pr_errno("cannot make the new mount namespace private");
	r->ns_fd[ns] = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (r->ns_fd[ns] < 0)
		return pr_errno("cannot open the new mount namespace");
	/* relative magic links (self/fd/N) work even once the copy's /proc is gone */
	if (r->proc_fd >= 0 && fchdir(r->proc_fd) < 0)
		return pr_errno("cannot enter minicr's /proc");
	return 0;
}

/* What a task entering namespace ns sees as "/": the topmost mount on its root. */
static int open_ns_root(struct restore_ns *r, size_t ns)
{
	if (setns(r->ns_fd[ns], CLONE_NEWNS) < 0)
		return pr_errno("cannot enter mount namespace %lu",
				(unsigned long)r->set->mntns[ns].id);
	r->ns_root_fd[ns] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->ns_root_fd[ns] < 0)
		return pr_errno("cannot open the root of mount namespace %lu",
				(unsigned long)r->set->mntns[ns].id);
	return 0;
}

static int build_namespaces(struct restore_ns *r, restore_ns_in_fn in_ns, void *opaque)
{
	const struct image_set *set = r->set;
	struct restore_propagation prop = {
	    .set = set,
	    .mnt_fd = r->mnt_fd,
	    .ns_fd = r->ns_fd,
	    .own_ns_fd = r->own_ns_fd,
	    .own_root_fd = r->own_root_fd,
	};
	int ret;

	for (size_t ns = 0; ns < set->n_mntns; ns++) {
		ret = enter_copy(r, ns);
		if (ret < 0)
			return ret;
		ret = restore_fault("mntns");
		if (ret < 0)
			return ret;
		ret = build_ns(r, ns);
		if (ret < 0)
			return ret;
		ret = open_ns_root(r, ns);
		if (ret < 0)
			return ret;
		if (in_ns && (ret = in_ns(opaque, ns)) < 0)
			return ret;
	}
	return set->n_mntns ? restore_propagation(&prop) : 0;
}

int restore_ns_build(struct restore_ns *r, restore_ns_in_fn in_ns, void *opaque)
{
	int ret = build_namespaces(r, in_ns, opaque);

	/* the superblocks made live on in the namespaces' mounts; the directories made again for
	 * removed roots go now, whether the build succeeded or not */
	r->build = mount_build_free(r->build);
	if (setns(r->own_ns_fd, CLONE_NEWNS) < 0 && ret == 0)
		return pr_errno("cannot return to minicr's mount namespace");
	return ret;
}

int restore_ns_mount_root(const struct restore_ns *r, size_t mnt_idx)
{
	return mnt_idx < r->set->n_mnts && r->mnt_fd[mnt_idx] >= 0 ? r->mnt_fd[mnt_idx] : -ENOENT;
}

void restore_ns_close_mount_roots(struct restore_ns *r)
{
	for (size_t i = 0; r->mnt_fd && i < r->set->n_mnts; i++) {
		closep(&r->mnt_fd[i]);
		r->mnt_fd[i] = -EBADF;
	}
}

int restore_ns_take(struct restore_ns *r, int ns, int min_fd, int *ret_ns_fd, int *ret_root_fd)
{
	int ns_fd = ns < 0 ? r->own_ns_fd : r->ns_fd[ns];
	int root_fd = ns < 0 ? r->own_root_fd : r->ns_root_fd[ns];

	ns_fd = fcntl(ns_fd, F_DUPFD_CLOEXEC, min_fd);
	root_fd = ns_fd < 0 ? -1 : fcntl(root_fd, F_DUPFD_CLOEXEC, min_fd);
	if (ns_fd < 0 || root_fd < 0) {
		int e = pr_errno("cannot keep the mount namespace of the task");

		if (ns_fd >= 0)
			close(ns_fd);
		return e;
	}
	for (size_t i = 0; i < r->set->n_mntns; i++) {
		closep(&r->ns_fd[i]);
		closep(&r->ns_root_fd[i]);
		r->ns_fd[i] = r->ns_root_fd[i] = -EBADF;
	}
	restore_ns_close_mount_roots(r);
	r->build = mount_build_free(r->build);
	closep(&r->own_ns_fd);
	closep(&r->own_root_fd);
	closep(&r->proc_fd);
	r->own_ns_fd = r->own_root_fd = r->proc_fd = -EBADF;
	*ret_ns_fd = ns_fd;
	*ret_root_fd = root_fd;
	return 0;
}
