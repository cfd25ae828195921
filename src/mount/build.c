/* mount/build.c: from a dumped mount to an unattached clone of its root, through its kind. */
#define LOG_PREFIX "mount: "
#include "mount/build.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/hmap.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "mount/table.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

/* What the build keeps fds for. */
enum {
	KEEP_SB = 1,   /* key: dumped device: the root of a superblock a kind made */
	KEEP_LIVE = 2, /* key: address of a live table entry: that mount's root, once opened */
	KEEP_GONE = 3, /* a KEEP_LIVE fd closed when its table went */
};

/* A directory made again for a removed root, removed again when the build ends. */
struct remade {
	int dir_fd; /* its parent */
	char *name;
	char *alt;    /* the root, made under another name: that name; else NULL */
	char *key;    /* "<major>:<minor>:<path in the filesystem>", for the other mounts of it */
	bool is_root; /* the removed root itself, not a missing directory above it */
};

struct mount_build {
	const struct image_set *set;
	struct remade *remade;
	size_t n_remade;
	const struct mount_table *live;
	int live_root_fd;
	mount_build_made_fn made;
	void *made_opaque;
	struct hmap fds; /* (KEEP_*, key) -> fd */
};

struct mount_build *mount_build_new(const struct image_set *set)
{
	struct mount_build *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->set = set;
	b->live_root_fd = -EBADF;
	return b;
}

/* The directories made for removed roots go again, the deepest first: the mounts made from them
 * show "//deleted" as they did. */
static void remove_remade(struct mount_build *b)
{
	while (b->n_remade > 0) {
		struct remade *r = &b->remade[--b->n_remade];

		if (unlinkat(r->dir_fd, r->name, AT_REMOVEDIR) < 0)
			pr_warn(
			    "cannot remove the directory '%s' made for a removed mount root: %m, "
			    "ignoring",
			    r->name);
		close(r->dir_fd);
		free(r->name);
		free(r->alt);
		free(r->key);
	}
	free(b->remade);
	b->remade = NULL;
}

struct mount_build *mount_build_free(struct mount_build *b)
{
	if (!b)
		return NULL;
	remove_remade(b);
	for (size_t i = 0; i < b->fds.cap; i++)
		if (b->fds.slots[i].used && b->fds.slots[i].a != KEEP_GONE)
			close((int)b->fds.slots[i].value);
	hmap_clear(&b->fds);
	free(b);
	return NULL;
}

void mount_build_set_live(struct mount_build *b, const struct mount_table *live, int root_fd)
{
	/* the roots opened for the previous table: its entries' addresses may come again */
	for (size_t i = 0; i < b->fds.cap; i++) {
		struct hmap_slot *s = &b->fds.slots[i];

		if (s->used && s->a == KEEP_LIVE) {
			close((int)s->value);
			s->a = KEEP_GONE;
			s->value = (size_t)-1;
		}
	}
	b->live = live;
	b->live_root_fd = root_fd;
}

void mount_build_set_made(struct mount_build *b, mount_build_made_fn made, void *opaque)
{
	b->made = made;
	b->made_opaque = opaque;
}

const struct image_set *mount_build_set(const struct mount_build *b)
{
	return b->set;
}

static uint64_t dev_key(uint32_t major, uint32_t minor)
{
	return (uint64_t)major << 32 | minor;
}

int mount_build_sb_get(const struct mount_build *b, uint32_t major, uint32_t minor)
{
	const struct hmap_slot *s = hmap_find(&b->fds, KEEP_SB, dev_key(major, minor));

	return s ? (int)s->value : -ENOENT;
}

int mount_build_sb_put(struct mount_build *b, uint32_t major, uint32_t minor, int mnt_fd)
{
	if (hmap_put(&b->fds, KEEP_SB, dev_key(major, minor), (size_t)mnt_fd) < 0) {
		close(mnt_fd);
		return pr_neg(-ENOMEM, "cannot keep a superblock");
	}
	return 0;
}

void mount_spec_of_mnt(const MntEntry *e, char *buf, size_t size, struct mount_spec *ret)
{
	char mp[PATH_MAX];

	snprintf(buf, size, "mount %lu ('%s')", (unsigned long)e->mnt_id,
		 e->mountpoint ? escape_path(mp, sizeof(mp), e->mountpoint) : "?");
	*ret = (struct mount_spec){
	    .kind = e->kind,
	    .id = e->mnt_id,
	    .what = buf,
	    .fstype = e->fstype,
	    .source = e->source,
	    .options = e->options,
	    .root = e->root,
	    .dev_major = e->dev_major,
	    .dev_minor = e->dev_minor,
	    .sb_flags = e->sb_flags,
	    .contents_id = e->contents_id,
	    .contents_root = e->contents_root,
	    .root_deleted = e->root_deleted,
	    .root_mode = e->root_mode,
	    .root_uid = e->root_uid,
	    .root_gid = e->root_gid,
	};
}

void mount_spec_of_detached(const DetachedMntEntry *e, char *buf, size_t size,
			    struct mount_spec *ret)
{
	snprintf(buf, size, "detached mount %lu", (unsigned long)e->id);
	*ret = (struct mount_spec){
	    .kind = e->kind,
	    .id = e->id,
	    .what = buf,
	    .fstype = e->fstype,
	    .source = e->source,
	    .options = e->options,
	    .root = e->root,
	    .dev_major = e->dev_major,
	    .dev_minor = e->dev_minor,
	    .sb_flags = e->sb_flags,
	    .contents_id = e->contents_id,
	    .contents_root = e->contents_root,
	    .root_is_file = e->root_is_file,
	};
}

/* The root of live mount m, opened beneath the namespace root without following a
 * symlink, and checked to be m: a mount covered by a later one on the same mountpoint is not
 * reachable by its path. Returns a borrowed fd, -ENOENT when covered, or -errno (logged). */
static int live_root(struct mount_build *b, const struct mount_entry *m)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	uint64_t key = (uint64_t)(uintptr_t)m;
	const struct hmap_slot *s = hmap_find(&b->fds, KEEP_LIVE, key);
	const char *rel = m->mountpoint;
	char esc[PATH_MAX * 4];
	struct stat st;
	int fd;

	if (s)
		return (int)s->value;
	while (*rel == '/')
		rel++;
	fd = (int)syscall(__NR_openat2, b->live_root_fd, *rel ? rel : ".", &how, sizeof(how));
	if (fd < 0)
		return pr_errno("cannot open mount '%s'",
				escape_path(esc, sizeof(esc), m->mountpoint));
	if (fstat(fd, &st) < 0 || major(st.st_dev) != m->dev_major ||
	    minor(st.st_dev) != m->dev_minor) {
		close(fd);
		return -ENOENT;
	}
	if (hmap_put(&b->fds, KEEP_LIVE, key, (size_t)fd) < 0) {
		close(fd);
		return pr_neg(-ENOMEM, "cannot keep the root of mount '%s'",
			      escape_path(esc, sizeof(esc), m->mountpoint));
	}
	return fd;
}

int mount_build_find_live(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
			  const char **ret_sub)
{
	if (b->made && b->made(b->made_opaque, spec, ret_fd, ret_sub) == 0)
		return 0;
	if (!b->live)
		return -ENOENT;
	for (const struct mount_entry *m =
		 mount_table_find_dev(b->live, spec->dev_major, spec->dev_minor);
	     m; m = m->next_same_dev) {
		const char *sub = path_below(spec->root, m->root);
		int fd;

		if (!sub)
			continue;
		fd = live_root(b, m);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return fd;
		*ret_fd = fd;
		*ret_sub = sub;
		return 0;
	}
	return -ENOENT;
}

int mount_build_source(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
		       const char **ret_sub)
{
	const struct mount_kind *kind = mount_kind_by_kind(spec->kind);

	if (!kind) {
		pr_err("cannot rebuild %s: unknown mount kind %d", spec->what, (int)spec->kind);
		return -EINVAL;
	}
	return kind->source(b, spec, ret_fd, ret_sub);
}

static int remember_remade(struct mount_build *b, int dir_fd, const char *name, const char *key,
			   bool is_root)
{
	struct remade *more = reallocarray(b->remade, b->n_remade + 1, sizeof(*more));
	struct remade *r;

	if (!more)
		return -ENOMEM;
	b->remade = more;
	r = &b->remade[b->n_remade];
	r->dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	r->name = strdup(name);
	r->alt = NULL;
	r->key = strdup(key);
	r->is_root = is_root;
	if (r->dir_fd < 0 || !r->name || !r->key) {
		closep(&r->dir_fd);
		free(r->name);
		free(r->key);
		return -ENOMEM;
	}
	b->n_remade++;
	return 0;
}

/* The directory name in dir_fd, made with mode and owner (the removed root) or 0755. */
static int make_dir(int dir_fd, const char *name, const struct mount_spec *spec, bool is_root)
{
	if (mkdirat(dir_fd, name, 0700) < 0)
		return -errno;
	if (is_root &&
	    (fchownat(dir_fd, name, spec->root_uid, spec->root_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	     fchmodat(dir_fd, name, spec->root_mode & 07777, 0) < 0))
		return -errno;
	if (!is_root && fchmodat(dir_fd, name, 0755, 0) < 0)
		return -errno;
	return 0;
}

/* The remade root of spec beneath src_fd at sub (the last name replaced by alt, if set). */
static int open_remade(const struct mount_spec *spec, int src_fd, const char *sub, const char *alt)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	cleanup_free char *path = NULL;
	char esc[PATH_MAX * 4];
	const char *slash = strrchr(sub, '/');
	int fd;

	if (alt && asprintf(&path, "%.*s/%s", slash ? (int)(slash - sub) : 0, sub, alt) < 0)
		return -ENOMEM;
	sub = path ? path : sub;
	while (*sub == '/')
		sub++;
	fd = (int)syscall(__NR_openat2, src_fd, *sub ? sub : ".", &how, sizeof(how));
	if (fd < 0)
		return pr_errno("cannot open the remade root '%s' of %s",
				escape_path(esc, sizeof(esc), spec->root), spec->what);
	return fd;
}

/* A root removed from its filesystem cannot be attached as it is: the kernel refuses to attach a
 * mount whose root is unlinked. Its directory is made again at its path (and the missing ones
 * above it), beneath the source the kind gave, the mount is made from it, and the directories
 * are removed again when the build ends, once every mount is attached. A name now taken by
 * another file gets a directory beside it instead. Returns an O_PATH fd of the directory or
 * -errno (logged). */
static int remake_removed_root(struct mount_build *b, const struct mount_spec *spec, int src_fd,
			       const char *sub)
{
	cleanup_free char *copy = strdup(sub), *key = NULL;
	cleanup_close int cur = fcntl(src_fd, F_DUPFD_CLOEXEC, 0);
	char *comp, *next, alt[64];

	if (!copy || cur < 0 ||
	    asprintf(&key, "%u:%u:%s", spec->dev_major, spec->dev_minor, spec->root) < 0)
		return pr_neg(-ENOMEM, "cannot make the removed root of %s again", spec->what);
	/* made for another mount of it (in another namespace): reached through this source,
	 * which may be a mount of the namespace being built (the remembered parent may not) */
	for (size_t i = 0; i < b->n_remade; i++)
		if (b->remade[i].is_root && strcmp(b->remade[i].key, key) == 0)
			return open_remade(spec, src_fd, sub, b->remade[i].alt);
	for (comp = copy; comp; comp = next) {
		bool is_last;
		int fd, r;

		while (*comp == '/')
			comp++;
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		is_last = !next || !*next;
		if (!*comp)
			break;
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && is_last) {
			/* taken since: the root gets another name beside it */
			close(fd);
			snprintf(alt, sizeof(alt), ".minicr-removed.%d.%zu", (int)getpid(),
				 b->n_remade);
			pr_warn("%s: its removed root '%s' is taken by a new directory; it is made "
				"as '%s' beside it",
				spec->what, spec->root, alt);
			comp = alt;
			fd = -ENOENT;
		} else if (fd < 0) {
			fd = -errno;
		}
		if (fd == -ENOENT) {
			r = make_dir(cur, comp, spec, is_last);
			if (r == 0)
				r = remember_remade(b, cur, comp, is_last ? key : "", is_last);
			if (r == 0 && comp == alt &&
			    !(b->remade[b->n_remade - 1].alt = strdup(alt)))
				r = -ENOMEM;
			if (r < 0) {
				errno = -r;
				return pr_errno("cannot make the removed root '%s' of %s again",
						spec->root, spec->what);
			}
			fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			return pr_errno("cannot open '%s' on the way to the removed root of %s",
					comp, spec->what);
		closep(&cur);
		cur = fd;
		if (is_last)
			break;
	}
	return TAKE_FD(cur);
}

int mount_build_open_root(struct mount_build *b, const struct mount_spec *spec)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char esc[PATH_MAX * 4];
	const char *sub;
	int src_fd, fd, r;

	r = mount_build_source(b, spec, &src_fd, &sub);
	if (r < 0)
		return r;
	if (spec->root_deleted)
		return remake_removed_root(b, spec, src_fd, sub);
	while (*sub == '/')
		sub++;
	fd = *sub ? (int)syscall(__NR_openat2, src_fd, sub, &how, sizeof(how))
		  : fcntl(src_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return pr_errno("cannot open the root '%s' of %s in its filesystem",
				escape_path(esc, sizeof(esc), spec->root), spec->what);
	return fd;
}

int mount_build_clone(struct mount_build *b, const struct mount_spec *spec)
{
	cleanup_close int root_fd = mount_build_open_root(b, spec);
	char esc[PATH_MAX * 4];
	int tree_fd;

	if (root_fd < 0)
		return root_fd;
	tree_fd = open_tree(root_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree_fd < 0)
		return pr_errno("cannot clone the root '%s' of %s",
				escape_path(esc, sizeof(esc), spec->root), spec->what);
	return tree_fd;
}

int mount_set_attrs(int fd, uint64_t attr, uint64_t propagation, const char *what)
{
	struct mount_attr a = {
	    .attr_set = attr & MOUNT_BUILD_ATTRS,
	    .attr_clr = MOUNT_BUILD_ATTRS,
	    .propagation = propagation,
	};

	if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return pr_errno("cannot set flags 0x%lx on %s", (unsigned long)attr, what);
	return 0;
}
