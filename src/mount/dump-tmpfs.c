/* tmpfs-dump.c: walk a namespace-private tmpfs and write its files as records. */
#define LOG_PREFIX "tmpfs: "
#include "mount/dump-tmpfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "file-data.pb-c.h"
#include "image-write.h"
#include "base/arena.h"
#include "base/hmap.h"
#include "base/log.h"
#include "mount/dump-roots.h"
#include "mount/table.h"
#include "base/util.h"

#define TMPFS_CHUNK (1U << 20)

struct walk {
	struct image_writer *w;
	uint64_t owner;
	uint64_t mnt_id; /* STATX_MNT_ID of the walked mount: other mounts on top are not walked */
	char *buf; /* TMPFS_CHUNK bytes */
	size_t n_files;
	/* the first path seen of each regular file with several links, so later names become
	 * links: (ino, 0) -> the path, kept in link_paths */
	struct hmap links;
	struct arena link_paths;
};

/* Returns the first path of ino, or NULL after remembering path as it. */
static const char *link_seen(struct walk *wk, ino_t ino, const char *path, int *ret_err)
{
	const struct hmap_slot *seen = hmap_find(&wk->links, ino, 0);
	char *copy;

	*ret_err = 0;
	if (seen)
		return (const char *)seen->value;
	copy = arena_strdup(&wk->link_paths, path);
	if (!copy || hmap_put(&wk->links, ino, 0, (size_t)copy) < 0)
		*ret_err = -ENOMEM;
	return NULL;
}

static int write_record(struct walk *wk, const char *path, const struct stat *st,
			uint64_t offset, const void *data, size_t len, int64_t total)
{
	FileDataEntry e = FILE_DATA_ENTRY__INIT;

	e.kind = FILE_DATA_KIND__FILE_DATA_KIND_TMPFS;
	e.owner_id = wk->owner;
	e.path = (char *)path;
	e.has_mode = e.has_uid = e.has_gid = e.has_mtime_ns = true;
	e.mode = st->st_mode;
	e.uid = st->st_uid;
	e.gid = st->st_gid;
	e.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	e.has_offset = true;
	e.offset = offset;
	if (data) {
		e.has_data = true;
		e.data.data = (uint8_t *)data;
		e.data.len = len;
	}
	if (total >= 0) {
		e.has_total_size = true;
		e.total_size = (uint64_t)total;
	}
	return image_write_entry(wk->w, &e.base);
}

static int dump_regular(struct walk *wk, int dirfd, const char *name, const char *path,
			const struct stat *st)
{
	cleanup_close int fd = -EBADF;
	uint64_t off = 0;
	int ret;

	if (st->st_nlink > 1) {
		const char *first = link_seen(wk, st->st_ino, path, &ret);

		if (ret < 0)
			return pr_neg(ret, "cannot remember the links of tmpfs file '%s'", path);
		if (first) {
			FileDataEntry e = FILE_DATA_ENTRY__INIT;

			e.kind = FILE_DATA_KIND__FILE_DATA_KIND_TMPFS;
			e.owner_id = wk->owner;
			e.path = (char *)path;
			e.link_to = (char *)first;
			return image_write_entry(wk->w, &e.base);
		}
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open tmpfs file '%s'", path);
	if (st->st_size == 0)
		return write_record(wk, path, st, 0, NULL, 0, 0);
	for (;;) {
		ssize_t n = read_full(fd, wk->buf, TMPFS_CHUNK);

		if (n < 0)
			return pr_neg((int)n, "cannot read tmpfs file '%s'", path);
		if (n == 0)
			break;
		ret = write_record(wk, path, st, off, wk->buf, (size_t)n,
				   off == 0 ? (int64_t)st->st_size : -1);
		if (ret < 0)
			return ret;
		off += (uint64_t)n;
	}
	return 0;
}

static int walk_dir(struct walk *wk, int dirfd, const char *prefix);

static bool is_other_mount(const struct walk *wk, int dirfd, const char *name)
{
	struct statx stx;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return true; /* cannot tell: do not walk into it */
	return stx.stx_mnt_id != wk->mnt_id;
}

static int dump_entry(struct walk *wk, int dirfd, const char *name, const char *prefix)
{
	char path[PATH_MAX];
	struct stat st;
	int ret;

	if (snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", name) >=
	    (int)sizeof(path))
		return pr_neg(-ENAMETOOLONG, "tmpfs path too long under '%s'", prefix);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno("cannot stat tmpfs file '%s'", path);
	if (S_ISDIR(st.st_mode) && is_other_mount(wk, dirfd, name))
		return 0; /* a mount on top of a directory (maybe a bind of this same filesystem):
			   * what it shows is not this directory's contents */
	wk->n_files++;
	if (S_ISDIR(st.st_mode)) {
		cleanup_close int subfd = -EBADF;

		ret = write_record(wk, path, &st, 0, NULL, 0, -1);
		if (ret < 0)
			return ret;
		subfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (subfd < 0)
			return pr_errno("cannot open tmpfs directory '%s'", path);
		return walk_dir(wk, subfd, path);
	}
	if (S_ISREG(st.st_mode))
		return dump_regular(wk, dirfd, name, path, &st);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, wk->buf, TMPFS_CHUNK);

		if (n < 0)
			return pr_errno("cannot read tmpfs symlink '%s'", path);
		return write_record(wk, path, &st, 0, wk->buf, (size_t)n, n);
	}
	pr_warn("tmpfs file '%s' is neither a directory, a regular file nor a symlink, ignoring",
		path);
	return 0;
}

static int walk_dir(struct walk *wk, int dirfd, const char *prefix)
{
	struct dirent *de;
	DIR *dir;
	int fd, ret = 0;

	fd = dup(dirfd);
	if (fd < 0)
		return pr_errno("cannot dup a tmpfs directory fd");
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return pr_errno("cannot list tmpfs directory '%s'", prefix);
	}
	while (ret >= 0 && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		ret = dump_entry(wk, dirfd, de->d_name, prefix);
	}
	closedir(dir);
	return ret;
}

/* The mount to walk for a superblock: the one showing the most of it (shortest root). */
static const struct mount_entry *widest_mount(const struct mount_entry *first)
{
	const struct mount_entry *best = first;

	for (const struct mount_entry *m = first; m; m = m->next_same_dev)
		if (strlen(m->root) < strlen(best->root))
			best = m;
	return best;
}

static int walk_mount(const struct mount_table *ns_table, const struct mount_entry *m,
		      struct walk *wk)
{
	/* opened from inside its namespace, even where another mount covers it */
	cleanup_close int rootfd = mount_root_open(ns_table, m);
	struct statx stx;

	if (rootfd < 0)
		return rootfd;
	if (statx(rootfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return pr_errno("cannot stat tmpfs mount '%s'", m->mountpoint);
	wk->owner = mount_entry_key(m);
	wk->mnt_id = stx.stx_mnt_id;
	return walk_dir(wk, rootfd, "");
}

/* Forgets the links seen: inode numbers are only unique within one superblock. */
static void links_forget(struct walk *wk)
{
	hmap_clear(&wk->links);
	arena_free(&wk->link_paths);
}

static bool was_walked(const struct tmpfs_dump_result *res, const struct mount_entry *m)
{
	for (size_t i = 0; i < res->n_walked; i++)
		if (res->walked[i]->dev_major == m->dev_major &&
		    res->walked[i]->dev_minor == m->dev_minor)
			return true;
	return false;
}

static int walk_private_mounts(const struct mount_table *ns_table,
			       const struct mount_table *own_table, struct walk *wk,
			       struct tmpfs_dump_result *res)
{
	size_t n = mount_table_size(ns_table);

	for (size_t i = 0; i < n; i++) {
		const struct mount_entry *m = mount_table_get(ns_table, i), *first, *chosen;
		const struct mount_entry **walked;
		int ret;

		if (strcmp(m->fstype, "tmpfs") != 0)
			continue;
		if (own_table && mount_table_find_dev(own_table, m->dev_major, m->dev_minor))
			continue; /* still reachable from outside the tree at restore */
		if (was_walked(res, m))
			continue; /* seen in another namespace of the tree */
		/* One walk per superblock: decide when meeting its first mount, so the chain of
		 * its mounts is followed once, not once per mount. */
		first = mount_table_find_dev(ns_table, m->dev_major, m->dev_minor);
		if (first != m)
			continue;
		chosen = widest_mount(first);
		ret = walk_mount(ns_table, chosen, wk);
		links_forget(wk);
		if (ret < 0)
			return ret;
		walked = reallocarray(res->walked, res->n_walked + 1, sizeof(*walked));
		if (!walked)
			return pr_neg(-ENOMEM, "cannot allocate tmpfs mount keys");
		walked[res->n_walked++] = chosen;
		res->walked = walked;
	}
	res->n_files += wk->n_files;
	return 0;
}

int tmpfs_dump_namespace(const struct mount_table *ns_table, const struct mount_table *own_table,
			 struct image_writer *w, struct tmpfs_dump_result *res)
{
	cleanup_free char *buf = malloc(TMPFS_CHUNK);
	struct walk wk = {.w = w, .buf = buf};

	if (!buf)
		return pr_neg(-ENOMEM, "cannot allocate the tmpfs copy buffer");
	return walk_private_mounts(ns_table, own_table, &wk, res);
}
