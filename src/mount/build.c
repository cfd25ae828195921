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
};

struct mount_build {
	const struct image_set *set;
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

struct mount_build *mount_build_free(struct mount_build *b)
{
	if (!b)
		return NULL;
	for (size_t i = 0; i < b->fds.cap; i++)
		if (b->fds.slots[i].used)
			close((int)b->fds.slots[i].value);
	hmap_clear(&b->fds);
	free(b);
	return NULL;
}

void mount_build_set_live(struct mount_build *b, const struct mount_table *live, int root_fd)
{
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
	snprintf(buf, size, "mount %lu ('%s')", (unsigned long)e->mnt_id,
		 e->mountpoint ? e->mountpoint : "?");
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
	struct stat st;
	int fd;

	if (s)
		return (int)s->value;
	while (*rel == '/')
		rel++;
	fd = (int)syscall(__NR_openat2, b->live_root_fd, *rel ? rel : ".", &how, sizeof(how));
	if (fd < 0)
		return pr_errno("cannot open mount '%s'", m->mountpoint);
	if (fstat(fd, &st) < 0 || major(st.st_dev) != m->dev_major ||
	    minor(st.st_dev) != m->dev_minor) {
		close(fd);
		return -ENOENT;
	}
	if (hmap_put(&b->fds, KEEP_LIVE, key, (size_t)fd) < 0) {
		close(fd);
		return pr_neg(-ENOMEM, "cannot keep the root of mount '%s'", m->mountpoint);
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

int mount_build_open_root(struct mount_build *b, const struct mount_spec *spec)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *sub;
	int src_fd, fd, r;

	r = mount_build_source(b, spec, &src_fd, &sub);
	if (r < 0)
		return r;
	while (*sub == '/')
		sub++;
	fd = *sub ? (int)syscall(__NR_openat2, src_fd, sub, &how, sizeof(how))
		  : fcntl(src_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return pr_errno("cannot open the root '%s' of %s in its filesystem", spec->root,
				spec->what);
	return fd;
}

int mount_build_clone(struct mount_build *b, const struct mount_spec *spec)
{
	cleanup_close int root_fd = mount_build_open_root(b, spec);
	int tree_fd;

	if (root_fd < 0)
		return root_fd;
	tree_fd = open_tree(root_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree_fd < 0)
		return pr_errno("cannot clone the root '%s' of %s", spec->root, spec->what);
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
