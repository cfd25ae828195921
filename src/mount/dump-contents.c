/* mount/dump-contents.c: walk a filesystem (or save single files of it) into file-data.img
 * records. */
#define LOG_PREFIX "contents: "
#include "mount/dump-contents.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "file-data.pb-c.h"
#include "image-write.h"
#include "mount/dump-roots.h"
#include "mount/table.h"

#define CONTENTS_CHUNK (1U << 20)

/* What the path set keys its entries by. */
enum {
	SEEN_INODE = 1, /* (1, ino) -> the first path it was saved at */
	SEEN_PATH = 2,	/* (2, hash) -> a saved path (compared by the caller) */
};

struct contents_dump {
	struct image_writer *w;
	uint64_t owner;
	char *buf; /* CONTENTS_CHUNK bytes */
	size_t n_files;
	struct hmap seen;	 /* per filesystem: SEEN_* */
	struct arena seen_paths; /* the strings seen points to */
	struct arena record;	 /* one record's xattrs, freed once it is written */
	uint32_t walk_mnt_id;	 /* STATX_MNT_ID of the mount being walked */
};

struct contents_dump *contents_dump_new(struct image_writer *w)
{
	struct contents_dump *cd = calloc(1, sizeof(*cd));

	if (!cd)
		return NULL;
	cd->buf = malloc(CONTENTS_CHUNK);
	if (!cd->buf) {
		free(cd);
		return NULL;
	}
	cd->w = w;
	return cd;
}

struct contents_dump *contents_dump_free(struct contents_dump *cd)
{
	if (!cd)
		return NULL;
	hmap_clear(&cd->seen);
	arena_free(&cd->seen_paths);
	arena_free(&cd->record);
	free(cd->buf);
	free(cd);
	return NULL;
}

void contents_dump_begin(struct contents_dump *cd, uint64_t owner)
{
	hmap_clear(&cd->seen);
	arena_free(&cd->seen_paths);
	cd->owner = owner;
}

size_t contents_dump_n_files(const struct contents_dump *cd)
{
	return cd->n_files;
}

/* ---- what was saved ------------------------------------------------------------------------ */

const char *contents_dump_path_of(const struct contents_dump *cd, ino_t ino)
{
	const struct hmap_slot *s = hmap_find(&cd->seen, SEEN_INODE, ino);

	return s ? (const char *)s->value : NULL;
}

static bool path_seen(const struct contents_dump *cd, const char *path)
{
	uint64_t h = hmap_hash_bytes(path, strlen(path));

	for (const struct hmap_slot *s = hmap_find(&cd->seen, SEEN_PATH, h); s;
	     s = hmap_next(&cd->seen, s))
		if (strcmp((const char *)s->value, path) == 0)
			return true;
	return false;
}

/* Remembers path as saved, and as the first name of ino unless ino is 0 or known. Returns the
 * copy, or NULL on ENOMEM. */
static const char *remember(struct contents_dump *cd, const char *path, ino_t ino)
{
	char *copy = arena_strdup(&cd->seen_paths, path);

	if (!copy ||
	    hmap_put(&cd->seen, SEEN_PATH, hmap_hash_bytes(path, strlen(path)), (size_t)copy) < 0)
		return NULL;
	if (ino && !hmap_find(&cd->seen, SEEN_INODE, ino) &&
	    hmap_put(&cd->seen, SEEN_INODE, ino, (size_t)copy) < 0)
		return NULL;
	return copy;
}

/* ---- records ------------------------------------------------------------------------------- */

static void record_init(const struct contents_dump *cd, FileDataEntry *e, const char *path)
{
	*e = (FileDataEntry)FILE_DATA_ENTRY__INIT;
	e->kind = FILE_DATA_KIND__FILE_DATA_KIND_TMPFS;
	e->owner_id = cd->owner;
	e->path = (char *)path;
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static void record_stat(FileDataEntry *e, const struct stat *st)
{
	e->has_mode = e->has_uid = e->has_gid = e->has_mtime_ns = e->has_atime_ns = true;
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mtime_ns = ns_of(&st->st_mtim);
	e->atime_ns = ns_of(&st->st_atim);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		e->has_rdev = true;
		e->rdev = st->st_rdev;
	}
}

static void record_origin(FileDataEntry *e, FileDataOrigin origin)
{
	if (origin == FILE_DATA_ORIGIN__FILE_DATA_ORIGIN_WALKED)
		return;
	e->has_origin = true;
	e->origin = origin;
}

static int put(struct contents_dump *cd, FileDataEntry *e)
{
	int r = image_write_entry(cd->w, &e->base);

	arena_free(&cd->record);
	return r;
}

/* How a file is reached for its extended attributes: through fd, or by path (a /proc/self/fd
 * path; follow: whether its last component, a magic link, is followed). */
struct xattr_at {
	int fd;
	const char *path;
	bool follow;
};

static ssize_t xa_list(const struct xattr_at *at, char *buf, size_t size)
{
	if (at->fd >= 0)
		return flistxattr(at->fd, buf, size);
	return at->follow ? listxattr(at->path, buf, size) : llistxattr(at->path, buf, size);
}

static ssize_t xa_get(const struct xattr_at *at, const char *name, void *buf, size_t size)
{
	if (at->fd >= 0)
		return fgetxattr(at->fd, name, buf, size);
	return at->follow ? getxattr(at->path, name, buf, size)
			  : lgetxattr(at->path, name, buf, size);
}

/* Fills e->xattrs (storage in cd->record). Returns 0 or -errno (not logged). */
static int record_xattrs(struct contents_dump *cd, FileDataEntry *e, const struct xattr_at *at)
{
	char *names = NULL;
	ssize_t len;
	size_t n = 0;

	for (;;) {
		len = xa_list(at, NULL, 0);
		if (len < 0)
			return errno == ENOTSUP ? 0 : -errno;
		if (len == 0)
			return 0;
		names = arena_alloc(&cd->record, (size_t)len);
		if (!names)
			return -ENOMEM;
		len = xa_list(at, names, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE) /* ERANGE: one was added meanwhile */
			return -errno;
	}
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
		n++;
	e->xattrs = arena_alloc(&cd->record, n * sizeof(*e->xattrs));
	if (!e->xattrs)
		return -ENOMEM;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1) {
		FileDataXattr *x = arena_alloc(&cd->record, sizeof(*x));
		ssize_t vlen;
		void *value;

		if (!x)
			return -ENOMEM;
		*x = (FileDataXattr)FILE_DATA_XATTR__INIT;
		x->name = names + i;
		vlen = xa_get(at, x->name, NULL, 0);
		if (vlen < 0)
			return -errno;
		value = arena_alloc(&cd->record, (size_t)vlen + 1);
		if (!value)
			return -ENOMEM;
		vlen = xa_get(at, x->name, value, (size_t)vlen);
		if (vlen < 0)
			return -errno;
		x->has_value = true;
		x->value.data = value;
		x->value.len = (size_t)vlen;
		e->xattrs[e->n_xattrs++] = x;
	}
	return 0;
}

/* ---- one file ------------------------------------------------------------------------------ */

static int open_noatime(int dir_fd, const char *name, int flags)
{
	int fd = openat(dir_fd, name, flags | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);

	/* O_NOATIME needs the file's owner or CAP_FOWNER */
	if (fd < 0 && errno == EPERM)
		fd = openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* The contents of the regular file fd by runs of data: SEEK_DATA/SEEK_HOLE skip the holes of a
 * sparse file. The first record (e, with the metadata) carries total_size and the first run.
 * Returns 0 or -errno (logged). */
static int save_data(struct contents_dump *cd, int fd, const char *path, FileDataEntry *first,
		     off_t size)
{
	FileDataEntry chunk;
	bool is_first = true;
	off_t off = 0;

	first->has_total_size = first->has_offset = true;
	first->total_size = (uint64_t)size;
	first->offset = 0;
	while (off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), end;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole up to the end */
		if (data < 0)  /* no SEEK_DATA here: read it all */
			data = off;
		end = lseek(fd, data, SEEK_HOLE);
		if (end < 0 || end > size)
			end = size;
		for (off = data; off < end;) {
			size_t want = (size_t)(end - off) < CONTENTS_CHUNK ? (size_t)(end - off)
									   : CONTENTS_CHUNK;
			ssize_t n = pread(fd, cd->buf, want, off);
			FileDataEntry *e = is_first ? first : &chunk;
			int r;

			if (n < 0)
				return pr_errno("cannot read '%s'", path);
			if (n == 0) {
				end = off; /* shrank while read: the size recorded wins */
				break;
			}
			if (!is_first)
				record_init(cd, &chunk, path);
			e->has_offset = e->has_data = true;
			e->offset = (uint64_t)off;
			e->data.data = (uint8_t *)cd->buf;
			e->data.len = (size_t)n;
			r = put(cd, e);
			if (r < 0)
				return r;
			is_first = false;
			off += n;
		}
		off = end > off ? end : off;
	}
	return is_first ? put(cd, first) : 0;
}

/* A file that is not a directory, saved at path. Reached by name in dir_fd (walked), or through
 * fd (name NULL; an O_RDONLY fd of a regular file, an O_PATH fd of anything else). */
static int save_file(struct contents_dump *cd, int dir_fd, const char *name, int fd,
		     const char *path, const struct stat *st, FileDataOrigin origin)
{
	cleanup_close int own_fd = -EBADF;
	const char *first = contents_dump_path_of(cd, st->st_ino);
	char at_path[PATH_MAX + 32];
	struct xattr_at at = {.fd = -EBADF, .path = at_path};
	FileDataEntry e;
	ssize_t n;
	int r;

	record_init(cd, &e, path);
	if (first) {
		/* another name of a file already saved */
		e.link_to = (char *)first;
		if (!remember(cd, path, 0))
			return pr_neg(-ENOMEM, "cannot remember '%s'", path);
		return put(cd, &e);
	}
	if (!remember(cd, path, st->st_ino))
		return pr_neg(-ENOMEM, "cannot remember '%s'", path);
	cd->n_files++;
	record_stat(&e, st);
	record_origin(&e, origin);
	if (S_ISREG(st->st_mode) && !name) {
		at.fd = fd;
	} else if (S_ISREG(st->st_mode)) {
		fd = own_fd = open_noatime(dir_fd, name, O_RDONLY);
		if (fd < 0)
			return pr_errno("cannot open '%s'", path);
		at.fd = fd;
	} else if (name) {
		/* the entry itself, its last component not followed */
		if (snprintf(at_path, sizeof(at_path), "/proc/self/fd/%d/%s", dir_fd, name) >=
		    (int)sizeof(at_path))
			return pr_neg(-ENAMETOOLONG, "path too long: '%s'", path);
	} else {
		/* the magic link of an O_PATH fd leads to the file itself, never beyond it */
		snprintf(at_path, sizeof(at_path), "/proc/self/fd/%d", fd);
		at.follow = true;
	}
	r = record_xattrs(cd, &e, &at);
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot read the extended attributes of '%s'", path);
	}
	if (S_ISREG(st->st_mode))
		return save_data(cd, fd, path, &e, st->st_size);
	if (S_ISLNK(st->st_mode)) {
		n = name ? readlinkat(dir_fd, name, cd->buf, CONTENTS_CHUNK)
			 : readlinkat(fd, "", cd->buf, CONTENTS_CHUNK);
		if (n < 0)
			return pr_errno("cannot read symlink '%s'", path);
		e.has_data = e.has_total_size = true;
		e.data.data = (uint8_t *)cd->buf;
		e.data.len = (size_t)n;
		e.total_size = (uint64_t)n;
	}
	/* FIFOs, sockets and device nodes are their metadata */
	return put(cd, &e);
}

static int save_placeholder(struct contents_dump *cd, const char *path, mode_t type)
{
	FileDataEntry e;

	if (!remember(cd, path, 0))
		return pr_neg(-ENOMEM, "cannot remember '%s'", path);
	cd->n_files++;
	record_init(cd, &e, path);
	record_origin(&e, FILE_DATA_ORIGIN__FILE_DATA_ORIGIN_PLACEHOLDER);
	e.has_mode = true;
	e.mode = type | (S_ISDIR(type) ? 0755 : 0644);
	return put(cd, &e);
}

int contents_dump_parents(struct contents_dump *cd, const char *path)
{
	char dir[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(dir))
		return pr_neg(-ENAMETOOLONG, "path too long: '%s'", path);
	for (size_t i = 0; i < len; i++) {
		int r;

		if (path[i] != '/' || i == 0)
			continue;
		memcpy(dir, path, i);
		dir[i] = '\0';
		if (path_seen(cd, dir))
			continue;
		r = save_placeholder(cd, dir, S_IFDIR);
		if (r < 0)
			return r;
	}
	return 0;
}

int contents_dump_file(struct contents_dump *cd, int fd, const char *path)
{
	cleanup_close int rfd = -EBADF;
	char proc[64];
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return pr_errno("cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode) || path_seen(cd, path))
		return 0;
	r = contents_dump_parents(cd, path);
	if (r < 0)
		return r;
	if (S_ISREG(st.st_mode)) {
		/* a fresh open file description: reading must not move the task's offset */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		rfd = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC);
		if (rfd < 0 && errno == EPERM)
			rfd = open(proc, O_RDONLY | O_CLOEXEC);
		if (rfd < 0)
			return pr_errno("cannot reopen '%s'", path);
		fd = rfd;
	}
	return save_file(cd, -EBADF, NULL, fd, path, &st, FILE_DATA_ORIGIN__FILE_DATA_ORIGIN_FD);
}

/* ---- a walk -------------------------------------------------------------------------------- */

static int walk_dir(struct contents_dump *cd, int dir_fd, const char *prefix);

/* The mount id of name in dir_fd (a mount on it is crossed), or 0 when it cannot be told. */
static uint32_t mnt_id_of(int dir_fd, const char *name)
{
	struct statx stx;

	if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH), STATX_MNT_ID,
		  &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return (uint32_t)stx.stx_mnt_id;
}

static mode_t type_of_dirent(unsigned char d_type)
{
	switch (d_type) {
	case DT_DIR:
		return S_IFDIR;
	case DT_LNK:
		return S_IFLNK;
	case DT_FIFO:
		return S_IFIFO;
	case DT_SOCK:
		return S_IFSOCK;
	case DT_CHR:
		return S_IFCHR;
	case DT_BLK:
		return S_IFBLK;
	default:
		return S_IFREG;
	}
}

static int save_dir(struct contents_dump *cd, int dir_fd, const char *path, const struct stat *st)
{
	FileDataEntry e;
	int r;

	if (!remember(cd, path, st->st_ino))
		return pr_neg(-ENOMEM, "cannot remember '%s'", path);
	cd->n_files++;
	record_init(cd, &e, path);
	record_stat(&e, st);
	r = record_xattrs(cd, &e, &(struct xattr_at){.fd = dir_fd});
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot read the extended attributes of '%s'", path);
	}
	r = put(cd, &e);
	return r < 0 ? r : walk_dir(cd, dir_fd, path);
}

static int walk_entry(struct contents_dump *cd, int dir_fd, const struct dirent *de,
		      const char *prefix)
{
	char path[PATH_MAX];
	struct stat st;

	bool is_root = !strcmp(prefix, ".");
	uint32_t mnt_id;

	if (snprintf(path, sizeof(path), "%s%s%s", is_root ? "" : prefix, is_root ? "" : "/",
		     de->d_name) >= (int)sizeof(path))
		return pr_neg(-ENAMETOOLONG, "path too long under '%s'", prefix);
	mnt_id = mnt_id_of(dir_fd, de->d_name);
	if (cd->walk_mnt_id && mnt_id != cd->walk_mnt_id)
		/* a mount covers it (maybe of this same filesystem): what shows there is not this
		 * directory's entry, which is unreachable; keep its name and type */
		return save_placeholder(cd, path, type_of_dirent(de->d_type));
	if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno("cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		cleanup_close int sub_fd = open_noatime(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY);

		if (sub_fd < 0)
			return pr_errno("cannot open directory '%s'", path);
		return save_dir(cd, sub_fd, path, &st);
	}
	return save_file(cd, dir_fd, de->d_name, -EBADF, path, &st,
			 FILE_DATA_ORIGIN__FILE_DATA_ORIGIN_WALKED);
}

static int walk_dir(struct contents_dump *cd, int dir_fd, const char *prefix)
{
	struct dirent *de;
	DIR *dir;
	int fd, r = 0;

	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return pr_errno("cannot dup a directory fd");
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return pr_errno("cannot list directory '%s'", prefix);
	}
	while (r >= 0 && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = walk_entry(cd, dir_fd, de, prefix);
	}
	if (r >= 0 && errno)
		r = pr_errno("cannot list directory '%s'", prefix);
	closedir(dir);
	return r;
}

int contents_dump_tree(struct contents_dump *cd, int dir_fd, const char *prefix)
{
	cleanup_close int fd = -EBADF;
	const char *path = *prefix ? prefix : ".";
	struct stat st;
	int r;

	/* a fresh description opened for reading, without atime updates, at the same directory */
	fd = open_noatime(dir_fd, ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return pr_errno("cannot open directory '%s'", path);
	if (fstat(fd, &st) < 0)
		return pr_errno("cannot stat directory '%s'", path);
	if (contents_dump_path_of(cd, st.st_ino))
		return 0; /* inside a tree saved already */
	cd->walk_mnt_id = mnt_id_of(fd, "");
	if (*prefix) {
		r = contents_dump_parents(cd, prefix);
		if (r < 0)
			return r;
	}
	return save_dir(cd, fd, path, &st);
}

/* ---- a tmpfs of the tree's own namespace ------------------------------------------------- */

/* The mount to walk for a superblock: the one showing the most of it (shortest root). */
static const struct mount_entry *widest_mount(const struct mount_entry *first)
{
	const struct mount_entry *best = first;

	for (const struct mount_entry *m = first; m; m = m->next_same_dev)
		if (strlen(m->root) < strlen(best->root))
			best = m;
	return best;
}

static int walk_mount(struct contents_dump *cd, const struct mount_table *ns_table,
		      const struct mount_entry *m)
{
	/* opened from inside its namespace, even where another mount covers it; the walk skips
	 * what mounts on top of it hide */
	cleanup_close int root_fd = mount_root_open(ns_table, m);

	if (root_fd < 0)
		return root_fd;
	contents_dump_begin(cd, mount_entry_key(m));
	return contents_dump_tree(cd, root_fd, "");
}

static bool was_walked(const struct contents_ns_result *res, const struct mount_entry *m)
{
	for (size_t i = 0; i < res->n_walked; i++)
		if (res->walked[i]->dev_major == m->dev_major &&
		    res->walked[i]->dev_minor == m->dev_minor)
			return true;
	return false;
}

int contents_dump_namespace(struct contents_dump *cd, const struct mount_table *ns_table,
			    const struct mount_table *own_table, struct contents_ns_result *res)
{
	size_t n = mount_table_size(ns_table);

	for (size_t i = 0; i < n; i++) {
		const struct mount_entry *m = mount_table_get(ns_table, i), *first, *chosen;
		const struct mount_entry **walked;
		int r;

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
		r = walk_mount(cd, ns_table, chosen);
		if (r < 0)
			return r;
		walked = reallocarray(res->walked, res->n_walked + 1, sizeof(*walked));
		if (!walked)
			return pr_neg(-ENOMEM, "cannot allocate tmpfs mount keys");
		walked[res->n_walked++] = chosen;
		res->walked = walked;
	}
	return 0;
}
