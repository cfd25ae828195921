/* fd/ghost.c: paths removed while an fd held them (see ghost.h). The dump keeps the inode's
 * owner, mode and times and what rebuilds it. The restore works in three steps:
 *
 *   1. the inode: made again once under a temporary name in the directory of its path
 *      (".minicr-ghost.<pid>.<n>": a regular file with its contents, a FIFO, a symlink, a
 *      device node), made with O_TMPFILE (a file that was O_TMPFILE and never linked, so
 *      linkat() still works on it), or found by its file handle (a file with other names);
 *   2. the name: the inode is linked (a directory made) at the removed path and opened there;
 *      a directory missing on the way is made too. When another file holds the name now, it
 *      is exchanged with a temporary name for the moment of the open and given back;
 *   3. at the end (fd_restore_state's release, once every file is open or the restore failed):
 *      every name this module made is removed, children first, the inodes get their times, and
 *      the directories that were there get their mtime back.
 *
 * The descriptions of one inode and path all open the same name, so readlink shows the same
 * "<path> (deleted)" on each, as at dump. Names are made only through directory fds below the
 * mount root, never following a symlink. */
#define LOG_PREFIX "fd-ghost: "
#include "fd/ghost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/restore-file.h"
#include "image-set/image-set.h"

/* Dump: inode key -> the file id whose file-data.img chunks hold the inode's contents. */
#define TAG_CONTENTS FD_KEEP_TAG(FD_TYPE__FD_TYPE_REG, 1)
/* Restore: this module's state in the restore context. */
#define TAG_STATE FD_KEEP_TAG(FD_TYPE__FD_TYPE_REG, 2)

/* O_TMPFILE without its O_DIRECTORY part, as fdinfo shows it. */
#define TMPFILE_BIT 020000000

/* ---- dump ------------------------------------------------------------------------------- */

static void describe(const struct fd_params *p, char *buf, size_t size)
{
	if (p->fd < 0)
		snprintf(buf, size, "the cwd or root of task %d", (int)p->pid);
	else
		snprintf(buf, size, "fd %d of task %d", p->fd, (int)p->pid);
}

static int refuse(const struct fd_params *p, const char *why)
{
	char what[64];

	describe(p, what, sizeof(what));
	pr_err("cannot dump %s: '%s' was removed, and %s", what, p->link, why);
	return -ENOTSUP;
}

/* d_tmpfile() names an O_TMPFILE inode "#<ino>", and linkat() does not rename it. */
static bool is_tmpfile_name(const char *link, uint64_t ino)
{
	const char *base = strrchr(link, '/');
	char want[24];

	snprintf(want, sizeof(want), "#%lu", (unsigned long)ino);
	return base && strcmp(base + 1, want) == 0;
}

/* Another name of p's inode in the directory its removed name was in, looked up through the
 * task's root; NULL when there is none, or for a detached mount (no path leads there). */
static char *other_name(struct fd_dump_ctx *ctx, const struct fd_params *p)
{
	char dir[PATH_MAX + 32], *slash;
	struct dirent *de;
	char *found = NULL;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/root%s", (int)p->pid, p->link);
	slash = strrchr(dir, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	d = opendir(dir);
	while (d && !found && (de = readdir(d)))
		if (de->d_ino == p->st.st_ino && de->d_name[0] != '.') {
			char path[PATH_MAX];
			struct stat st;
			int fd = dirfd(d);

			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    st.st_ino != p->st.st_ino || st.st_dev != p->st.st_dev)
				continue;
			snprintf(path, sizeof(path), "%.*s/%s",
				 (int)(strrchr(p->link, '/') - p->link), p->link, de->d_name);
			found = fd_dump_strdup(ctx, path);
		}
	if (d)
		closedir(d);
	return found;
}

static int dump_handle(struct fd_dump_ctx *ctx, const struct fd_params *p, RemovedPathEntry *rm)
{
	struct {
		struct file_handle fh;
		unsigned char space[MAX_HANDLE_SZ];
	} h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	uint8_t *copy;
	int mnt_id;

	if (name_to_handle_at(p->local_fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0) {
		char why[160];

		snprintf(why, sizeof(why),
			 "the file keeps other names, but its filesystem gives no file handle to "
			 "find it by (%s)",
			 strerror(errno));
		return refuse(p, why);
	}
	copy = fd_dump_alloc(ctx, h.fh.handle_bytes ? h.fh.handle_bytes : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, h.fh.f_handle, h.fh.handle_bytes);
	rm->has_linked = rm->has_handle = rm->has_handle_type = true;
	rm->linked = true;
	/* A tmpfs the restore makes again from its contents has new inodes, which no handle
	 * finds: a sibling name does. */
	rm->other_name = other_name(ctx, p);
	rm->handle.data = copy;
	rm->handle.len = h.fh.handle_bytes;
	rm->handle_type = h.fh.handle_type;
	return 0;
}

/* A regular file's contents, once per inode: later files of the inode name the first. */
static int dump_contents(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe,
			 RemovedPathEntry *rm)
{
	uint64_t key = fd_inode_key(p->st.st_dev, p->st.st_ino), owner;
	int64_t size;

	rm->has_data_id = true;
	if (fd_dump_lookup(ctx, TAG_CONTENTS, key, &owner) == 0) {
		rm->data_id = (uint32_t)owner;
		return 0;
	}
	size = fd_dump_contents(ctx, p, fe->id);
	if (size < 0)
		return (int)size;
	fe->reg->size = (uint64_t)size;
	rm->data_id = fe->id;
	return fd_dump_keep(ctx, TAG_CONTENTS, key, fe->id);
}

static int dump_target(struct fd_dump_ctx *ctx, const struct fd_params *p, RemovedPathEntry *rm)
{
	char target[PATH_MAX];
	ssize_t len = readlinkat(p->local_fd, "", target, sizeof(target));
	uint8_t *copy;

	if (len < 0)
		return pr_errno("cannot read the target of symlink '%s' (fd %d of task %d)",
				p->link, p->fd, (int)p->pid);
	copy = fd_dump_alloc(ctx, (size_t)len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, target, (size_t)len);
	rm->has_target = true;
	rm->target.data = copy;
	rm->target.len = (size_t)len;
	return 0;
}

int fd_ghost_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	RemovedPathEntry *rm;
	struct statvfs vfs;
	struct statx stx;
	int r = 0;

	if (statx(p->local_fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) <
	    0)
		return pr_errno("cannot stat removed '%s' (fd %d of task %d)",
				p->link, p->fd, (int)p->pid);
	if (fstatvfs(p->local_fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return refuse(p, "its mount is read-only: restore could not make it again");
	rm = FD_DUMP_NEW(ctx, RemovedPathEntry, REMOVED_PATH_ENTRY__INIT);
	if (!rm)
		return -ENOMEM;
	rm->has_uid = rm->has_gid = rm->has_atime_ns = rm->has_mtime_ns = true;
	rm->uid = stx.stx_uid;
	rm->gid = stx.stx_gid;
	rm->atime_ns = stx.stx_atime.tv_sec * 1000000000LL + stx.stx_atime.tv_nsec;
	rm->mtime_ns = stx.stx_mtime.tv_sec * 1000000000LL + stx.stx_mtime.tv_nsec;
	if (!S_ISDIR(stx.stx_mode) && stx.stx_nlink > 0) {
		r = dump_handle(ctx, p, rm);
	} else {
		switch (stx.stx_mode & S_IFMT) {
		case S_IFREG:
			if (is_tmpfile_name(p->link, p->st.st_ino)) {
				rm->has_tmpfile = true;
				rm->tmpfile = true;
			}
			r = dump_contents(ctx, p, fe, rm);
			break;
		case S_IFLNK:
			r = dump_target(ctx, p, rm);
			break;
		case S_IFDIR:
		case S_IFIFO:
		case S_IFCHR:
		case S_IFBLK:
			break;
		default:
			return refuse(p, "minicr cannot make this kind of file again");
		}
	}
	if (r < 0)
		return r;
	fe->reg->removed = rm;
	return 0;
}

/* path[0..len) as a string, for messages. */
static const char *prefix(const char *path, size_t len, char *buf)
{
	snprintf(buf, PATH_MAX, "%.*s", (int)len, path);
	return buf;
}
#define PREFIX(path, len) prefix((path), (len), (char[PATH_MAX]){0})

/* ---- restore: state ----------------------------------------------------------------------- */

/* A directory opened (O_PATH) below a mount root, for making names in it. */
struct ghost_dir {
	int root;   /* the mount root walked from (borrowed) */
	char *path; /* below it, without a leading '/'; "" is the root */
	int fd;	    /* O_PATH; the root's own fd for "" (borrowed) */
	bool made;  /* made by this restore, removed at the end */
	bool has_mtime;
	struct timespec mtime; /* a directory that was there: its mtime before the restore */
};

/* A name this restore made: removed at the end, after the names made after it. */
struct ghost_name {
	size_t dir; /* of its directory */
	int root;   /* the mount root of path */
	char *path; /* its whole path below that root */
	char *name; /* points into path */
	bool is_dir;
	bool is_ghost_dir; /* a removed directory of the dump, not only a way to a removed path */
	bool has_times;
	struct timespec times[2];
};

/* A rebuilt inode, once per inode key. */
struct ghost_object {
	size_t name; /* temporary name (names index), when made under one */
	int fd;	     /* an O_TMPFILE file; -1 otherwise */
	bool has_name;
	bool tmpfile_given; /* its O_TMPFILE description went to a file already */
	bool has_times;
	struct timespec times[2];
};

/* How a later file of the same inode and path finds the dentry. */
struct ghost_placed {
	size_t name; /* a kept name: open it again */
	int fd;	     /* a name that is gone already: reopen this O_PATH fd; -1 otherwise */
};

struct ghost_state {
	struct ghost_dir *dirs;
	size_t n_dirs, cap_dirs;
	struct hmap dir_index; /* (root, hash(path)) -> dirs index */
	struct ghost_name *names;
	size_t n_names, cap_names;
	struct hmap made_index; /* (root, hash(path)) -> names index of a directory made */
	struct ghost_object *objects;
	size_t n_objects, cap_objects;
	struct hmap object_index; /* (inode key, 0) -> objects index */
	struct ghost_placed *placed;
	size_t n_placed, cap_placed;
	struct hmap placed_index; /* (inode key, hash(path)) -> placed index */
	unsigned int counter;	  /* for temporary names */
};

/* Grows *array (of n elements of size each, cap of them) by one; NULL on ENOMEM. */
static void *grow(void **array, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t bigger_cap = *cap ? *cap * 2 : 16;
		void *bigger = reallocarray(*array, bigger_cap, size);

		if (!bigger)
			return NULL;
		*array = bigger;
		*cap = bigger_cap;
	}
	memset((char *)*array + *n * size, 0, size);
	return (char *)*array + (*n)++ * size;
}

static uint64_t path_hash(const char *path, size_t len)
{
	return hmap_hash_bytes(path, len);
}

static void set_times(const struct timespec *t, int dirfd, const char *name, int flags)
{
	(void)utimensat(dirfd, name, t, flags);
}

/* Step 3: undoes what the restore made, newest first, and closes everything. */
static void ghost_release(void *opaque)
{
	struct ghost_state *g = opaque;

	for (size_t i = g->n_names; i-- > 0;) {
		struct ghost_name *n = &g->names[i];
		int dirfd = g->dirs[n->dir].fd;

		if (n->has_times)
			set_times(n->times, dirfd, n->name, AT_SYMLINK_NOFOLLOW);
		if (unlinkat(dirfd, n->name, n->is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
			pr_err("cannot remove '%s', made for the restore: %s",
			       n->path, strerror(errno));
		free(n->path);
	}
	for (size_t i = 0; i < g->n_objects; i++) {
		struct ghost_object *o = &g->objects[i];

		if (o->fd >= 0 && o->has_times)
			set_times(o->times, o->fd, "", AT_EMPTY_PATH);
		if (o->fd >= 0)
			close(o->fd);
	}
	for (size_t i = 0; i < g->n_placed; i++)
		if (g->placed[i].fd >= 0)
			close(g->placed[i].fd);
	/* the directories that were there get their mtime back, deepest first */
	for (size_t i = g->n_dirs; i-- > 0;) {
		struct ghost_dir *d = &g->dirs[i];

		if (d->has_mtime && !d->made) {
			struct timespec t[2] = {{.tv_nsec = UTIME_OMIT}, d->mtime};

			set_times(t, d->fd, "", AT_EMPTY_PATH);
		}
		if (d->path[0])
			close(d->fd);
		free(d->path);
	}
	free(g->dirs);
	free(g->names);
	free(g->objects);
	free(g->placed);
	hmap_clear(&g->dir_index);
	hmap_clear(&g->made_index);
	hmap_clear(&g->object_index);
	hmap_clear(&g->placed_index);
}

static struct ghost_state *state_of(struct fd_restore_ctx *ctx)
{
	return fd_restore_state(ctx, TAG_STATE, sizeof(struct ghost_state), ghost_release);
}

/* ---- restore: directories ------------------------------------------------------------------ */

static ssize_t find_dir(const struct ghost_state *g, int root, const char *path, size_t len)
{
	for (struct hmap_slot *s = hmap_find(&g->dir_index, (uint64_t)root, path_hash(path, len));
	     s; s = hmap_next(&g->dir_index, s)) {
		const struct ghost_dir *d = &g->dirs[s->value];

		if (strlen(d->path) == len && memcmp(d->path, path, len) == 0)
			return (ssize_t)s->value;
	}
	return -1;
}

static ssize_t find_made(const struct ghost_state *g, int root, const char *path, size_t len)
{
	for (struct hmap_slot *s = hmap_find(&g->made_index, (uint64_t)root, path_hash(path, len));
	     s; s = hmap_next(&g->made_index, s)) {
		const struct ghost_name *n = &g->names[s->value];

		if (strlen(n->path) == len && memcmp(n->path, path, len) == 0)
			return (ssize_t)s->value;
	}
	return -1;
}

static ssize_t add_dir(struct ghost_state *g, int root, const char *path, size_t len, int fd,
		       bool made)
{
	struct ghost_dir *d = grow((void **)&g->dirs, &g->n_dirs, &g->cap_dirs, sizeof(*d));
	size_t i;

	if (!d)
		return -ENOMEM;
	i = g->n_dirs - 1;
	d->root = root;
	d->fd = fd;
	d->made = made;
	d->path = strndup(path, len);
	if (!d->path || hmap_put(&g->dir_index, (uint64_t)root, path_hash(path, len), i) < 0) {
		g->n_dirs--;
		free(d->path);
		return -ENOMEM;
	}
	return (ssize_t)i;
}

/* Before the first name is made or removed in a directory that was there: its mtime, put back
 * at the end. */
static void note_mtime(struct ghost_state *g, size_t dir)
{
	struct ghost_dir *d = &g->dirs[dir];
	struct statx stx;

	if (d->made || d->has_mtime)
		return;
	if (statx(d->fd, "", AT_EMPTY_PATH, STATX_MTIME, &stx) == 0) {
		d->has_mtime = true;
		d->mtime.tv_sec = stx.stx_mtime.tv_sec;
		d->mtime.tv_nsec = stx.stx_mtime.tv_nsec;
	}
}

/* Records a name made in directory dir (path: its whole path, len bytes). */
static ssize_t add_name(struct ghost_state *g, size_t dir, int root, const char *path, size_t len,
			bool is_dir)
{
	struct ghost_name *n = grow((void **)&g->names, &g->n_names, &g->cap_names, sizeof(*n));
	const char *slash;

	if (!n)
		return -ENOMEM;
	n->dir = dir;
	n->root = root;
	n->is_dir = is_dir;
	n->path = strndup(path, len);
	if (!n->path) {
		g->n_names--;
		return -ENOMEM;
	}
	slash = strrchr(n->path, '/');
	n->name = slash ? (char *)slash + 1 : n->path;
	if (is_dir &&
	    hmap_put(&g->made_index, (uint64_t)root, path_hash(path, len), g->n_names - 1) < 0)
		return -ENOMEM;
	return (ssize_t)(g->n_names - 1);
}

/* The directory at path[0..len) below root, opened once (O_PATH); directories missing on the
 * way are made (0700, removed at the end). Returns its dirs index or -errno (logged). */
static ssize_t open_dir(struct ghost_state *g, int root, const char *path, size_t len)
{
	ssize_t found = find_dir(g, root, path, len), parent;
	const char *comp;
	size_t parent_len;
	char name[NAME_MAX + 1];
	int fd;

	if (found >= 0)
		return found;
	if (len == 0)
		return add_dir(g, root, "", 0, root, false);
	comp = memrchr(path, '/', len);
	parent_len = comp ? (size_t)(comp - path) : 0;
	comp = comp ? comp + 1 : path;
	if ((size_t)(path + len - comp) > NAME_MAX || comp == path + len) {
		pr_err("cannot walk to '%s': a bad component", PREFIX(path, len));
		return -EINVAL;
	}
	memcpy(name, comp, (size_t)(path + len - comp));
	name[path + len - comp] = '\0';
	parent = open_dir(g, root, path, parent_len);
	if (parent < 0)
		return parent;
	fd = openat(g->dirs[parent].fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		ssize_t made;

		note_mtime(g, (size_t)parent);
		if (mkdirat(g->dirs[parent].fd, name, 0700) < 0)
			return pr_errno("cannot make directory '%s' for the restore",
					PREFIX(path, len));
		made = add_name(g, (size_t)parent, root, path, len, true);
		if (made < 0)
			return made;
		fd =
		    openat(g->dirs[parent].fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return pr_errno("cannot open directory '%s'", PREFIX(path, len));
	found = add_dir(g, root, path, len, fd, find_made(g, root, path, len) >= 0);
	if (found < 0)
		close(fd);
	return found;
}

/* ---- restore: names -------------------------------------------------------------------------- */

/* Where an inode is taken from to get a new name: linkat() from (dirfd, name, flags), or, with
 * dirfd -1, a new directory. */
struct source {
	int dirfd;
	const char *name;
	int flags;
};

static int make_at(const struct source *src, int dirfd, const char *name)
{
	if (src->dirfd < 0)
		return mkdirat(dirfd, name, 0700) < 0 ? -errno : 0;
	return linkat(src->dirfd, src->name, dirfd, name, src->flags) < 0 ? -errno : 0;
}

static void temp_name(struct ghost_state *g, char *buf, size_t size)
{
	snprintf(buf, size, ".minicr-ghost.%d.%u", (int)getpid(), g->counter++);
}

/* Opens a name this module just made, with the file's own flags, following no symlink (but
 * for O_PATH|O_NOFOLLOW, which opens the symlink itself). */
static int open_flags_at(int dirfd, const char *name, uint32_t flags)
{
	struct open_how how = {
	    .flags = fd_open_flags(flags) | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS) {
		/* before Linux 5.6 */
		struct stat st;

		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISLNK(st.st_mode) && !(flags & O_NOFOLLOW))
			return -ELOOP;
		fd = openat(dirfd, name, (int)how.flags);
	}
	return fd < 0 ? -errno : fd;
}

/* The name is held by another file: exchange it with a temporary name holding src's inode,
 * open it, and give the name back. Returns the fd or -errno (logged). */
static int open_borrowed(struct ghost_state *g, size_t dir, const char *name, const char *path,
			 const struct source *src, uint32_t flags)
{
	int dirfd = g->dirs[dir].fd, r, fd;
	int rmflag = src->dirfd < 0 ? AT_REMOVEDIR : 0;
	char temp[64];

	do {
		temp_name(g, temp, sizeof(temp));
		r = make_at(src, dirfd, temp);
	} while (r == -EEXIST);
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot make a temporary name beside '%s'", path);
	}
	if (renameat2(dirfd, temp, dirfd, name, RENAME_EXCHANGE) < 0) {
		int err = errno;

		if (err != EINVAL && err != EOPNOTSUPP) {
			(void)unlinkat(dirfd, temp, rmflag);
			errno = err;
			return pr_errno("cannot borrow the name '%s' from the file that holds it",
					path);
		}
		/* the filesystem cannot exchange names: the temporary name is shown instead */
		fd = open_flags_at(dirfd, temp, flags);
		(void)unlinkat(dirfd, temp, rmflag);
		if (fd < 0) {
			errno = -fd;
			return pr_errno("cannot open '%s'", path);
		}
		pr_warn("'%s' is another file now and its filesystem cannot exchange names: the "
			"restored fd shows '%s' in that directory instead",
			path, temp);
		return fd;
	}
	fd = open_flags_at(dirfd, name, flags);
	/* Give the name back: over a file of ours, so the name is never missing; a directory of
	 * ours is removed first, as rmdir leaves it (renamed over, it would keep its size). */
	if ((rmflag || renameat2(dirfd, temp, dirfd, name, 0) < 0) &&
	    (unlinkat(dirfd, name, rmflag) < 0 ||
	     renameat2(dirfd, temp, dirfd, name, RENAME_NOREPLACE) < 0)) {
		r = pr_errno("cannot give '%s' back to the file that holds it: it is left at '%s'",
			     path, temp);
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open '%s'", path);
	}
	return fd;
}

/* ---- restore: inodes ------------------------------------------------------------------- */

static void times_of(const RemovedPathEntry *rm, struct timespec t[2])
{
	t[0] = (struct timespec){rm->atime_ns / 1000000000LL, rm->atime_ns % 1000000000LL};
	t[1] = (struct timespec){rm->mtime_ns / 1000000000LL, rm->mtime_ns % 1000000000LL};
}

static int set_owner_and_mode(int dirfd, const char *name, const RegFileEntry *reg, int flags)
{
	const RemovedPathEntry *rm = reg->removed;

	if (rm && (rm->has_uid || rm->has_gid) &&
	    fchownat(dirfd, name, rm->has_uid ? rm->uid : (uid_t)-1,
		     rm->has_gid ? rm->gid : (gid_t)-1, flags | AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno("cannot give '%s' its owner %u:%u", reg->path,
				rm->uid, rm->gid);
	if (!S_ISLNK(reg->mode)) {
		char proc[64];

		/* chmod after chown, which drops the set-id bits */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
		if ((flags & AT_EMPTY_PATH) ? chmod(proc, reg->mode & 07777) < 0
					    : fchmodat(dirfd, name, reg->mode & 07777, 0) < 0)
			return pr_errno("cannot give '%s' its mode 0%o", reg->path,
					reg->mode & 07777);
	}
	return 0;
}

/* Makes the inode under a temporary name of dir: a regular file with its contents, a FIFO, a
 * symlink, a device node. */
static int make_temp_inode(struct fd_restore_ctx *ctx, struct ghost_state *g, size_t dir,
			   const FileEntry *fe, char *temp, size_t size)
{
	const RegFileEntry *reg = fe->reg;
	const RemovedPathEntry *rm = reg->removed;
	int dirfd = g->dirs[dir].fd, r;

	for (;;) {
		temp_name(g, temp, size);
		switch (reg->mode & S_IFMT) {
		case S_IFREG: {
			cleanup_close int fd = openat(
			    dirfd, temp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);

			if (fd < 0) {
				r = -errno;
				break;
			}
			r = fd_restore_contents(ctx, rm && rm->has_data_id ? rm->data_id : fe->id,
						fd);
			if (r < 0) {
				(void)unlinkat(dirfd, temp, 0);
				return r;
			}
			break;
		}
		case S_IFLNK: {
			char target[PATH_MAX];

			memcpy(target, rm->target.data, rm->target.len);
			target[rm->target.len] = '\0';
			r = symlinkat(target, dirfd, temp) < 0 ? -errno : 0;
			break;
		}
		default:
			r = mknodat(dirfd, temp, (reg->mode & S_IFMT) | 0600,
				    reg->has_rdev ? (dev_t)reg->rdev : 0) < 0
				? -errno
				: 0;
			break;
		}
		if (r != -EEXIST)
			break;
	}
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot make '%s' again beside its old name",
				reg->path);
	}
	return set_owner_and_mode(dirfd, temp, reg, 0);
}

/* An O_TMPFILE file made again with its contents: with the access mode of the file that was
 * opened O_TMPFILE when that is fe, so that description keeps the flag. */
static int make_tmpfile(struct fd_restore_ctx *ctx, struct ghost_state *g, size_t dir,
			const FileEntry *fe, struct ghost_object *o)
{
	const RegFileEntry *reg = fe->reg;
	const RemovedPathEntry *rm = reg->removed;
	uint32_t acc =
	    (fe->flags & TMPFILE_BIT) && (fe->flags & O_ACCMODE) == O_WRONLY ? O_WRONLY : O_RDWR;
	uint32_t keep =
	    (fe->flags & TMPFILE_BIT) ? fe->flags & (O_SYNC | O_DSYNC | O_LARGEFILE) : 0;
	int fd, r;

	fd = openat(g->dirs[dir].fd, ".", (int)(O_TMPFILE | acc | keep | O_CLOEXEC), 0600);
	if (fd < 0)
		return pr_errno("cannot make O_TMPFILE '%s' again", reg->path);
	o->fd = fd;
	r = fd_restore_contents(ctx, rm->has_data_id ? rm->data_id : fe->id, fd);
	if (r < 0)
		return r;
	return set_owner_and_mode(fd, "", reg, AT_EMPTY_PATH);
}

/* The object of fe's inode, made at its first file. */
static ssize_t object_of(struct fd_restore_ctx *ctx, struct ghost_state *g, size_t dir,
			 const FileEntry *fe)
{
	const RegFileEntry *reg = fe->reg;
	const RemovedPathEntry *rm = reg->removed;
	uint64_t key = fd_inode_key(reg->dev, reg->ino);
	struct hmap_slot *s = hmap_find(&g->object_index, key, 0);
	struct ghost_object *o;
	char temp[64];
	ssize_t i;
	int r;

	if (s)
		return (ssize_t)s->value;
	o = grow((void **)&g->objects, &g->n_objects, &g->cap_objects, sizeof(*o));
	if (!o)
		return -ENOMEM;
	i = (ssize_t)g->n_objects - 1;
	o->fd = -1;
	if (rm) {
		o->has_times = true;
		times_of(rm, o->times);
	}
	if (rm && rm->tmpfile) {
		r = make_tmpfile(ctx, g, dir, fe, o);
	} else {
		note_mtime(g, dir);
		r = make_temp_inode(ctx, g, dir, fe, temp, sizeof(temp));
		if (r == 0) {
			size_t plen = strlen(g->dirs[dir].path);
			char path[PATH_MAX];
			ssize_t n;

			snprintf(path, sizeof(path), "%s%s%s", g->dirs[dir].path, plen ? "/" : "",
				 temp);
			n = add_name(g, dir, g->dirs[dir].root, path, strlen(path), false);
			if (n < 0)
				return n;
			o = &g->objects[i];
			o->name = (size_t)n;
			o->has_name = true;
			g->names[n].has_times = o->has_times;
			memcpy(g->names[n].times, o->times, sizeof(o->times));
			o->has_times = false; /* set through the name */
		}
	}
	if (r < 0)
		return r;
	if (hmap_put(&g->object_index, key, 0, (size_t)i) < 0)
		return -ENOMEM;
	return i;
}

/* A file with other names: its inode found again by the dumped handle, O_PATH. */
static int open_by_handle(struct ghost_state *g, size_t dir, const RegFileEntry *reg)
{
	const RemovedPathEntry *rm = reg->removed;
	struct {
		struct file_handle fh;
		unsigned char space[MAX_HANDLE_SZ];
	} h;
	cleanup_close int mount_fd = -EBADF;
	char proc[64];
	struct stat st;
	int fd;

	/* open_by_handle_at() wants an fd of the filesystem that is not O_PATH */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", g->dirs[dir].fd);
	mount_fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return pr_errno("cannot open the directory of '%s'", reg->path);
	h.fh.handle_bytes = (unsigned int)rm->handle.len;
	h.fh.handle_type = rm->handle_type;
	memcpy(h.fh.f_handle, rm->handle.data, rm->handle.len);
	fd = open_by_handle_at(mount_fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0 && rm->other_name) {
		/* the handle finds nothing (a tmpfs made again): the other name does */
		const char *other = strrchr(rm->other_name, '/');

		fd = openat(g->dirs[dir].fd, other ? other + 1 : rm->other_name,
			    O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == (reg->mode & S_IFMT))
			return fd;
		if (fd >= 0)
			close(fd);
		fd = -1;
		errno = ESTALE;
	}
	if (fd < 0) {
		if (errno == ESTALE)
			pr_err(
			    "cannot reopen '%s': the file it named is gone (its other names were "
			    "removed since the dump)",
			    reg->path);
		else
			pr_errno("cannot reopen '%s' by its file handle", reg->path);
		return -ESTALE;
	}
	if (fstat(fd, &st) < 0 || st.st_ino != reg->ino ||
	    (st.st_mode & S_IFMT) != (reg->mode & S_IFMT)) {
		close(fd);
		pr_err("cannot reopen '%s': its file handle leads to another file",
		       reg->path);
		return -ESTALE;
	}
	return fd;
}

/* ---- restore: the open ----------------------------------------------------------------------- */

/* Step 2 for a name that is free: the inode gets it until the end. Returns the fd, -EEXIST
 * when the name is taken (not logged), or -errno (logged). */
static int open_at_free_name(struct ghost_state *g, size_t dir, const char *path, size_t len,
			     const char *name, const struct source *src, uint32_t flags,
			     ssize_t *ret_name)
{
	int dirfd = g->dirs[dir].fd, r, fd;
	ssize_t n;

	note_mtime(g, dir);
	r = make_at(src, dirfd, name);
	if (r == -EEXIST)
		return r;
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot give '%s' its name again",
				PREFIX(path, len));
	}
	n = add_name(g, dir, g->dirs[dir].root, path, len, src->dirfd < 0);
	if (n < 0)
		return (int)n;
	*ret_name = n;
	fd = open_flags_at(dirfd, name, flags);
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open '%s'", PREFIX(path, len));
	}
	return fd;
}

/* fd is of reg's type and, when ino is not 0, that inode. */
static bool same_inode(int fd, const RegFileEntry *reg, ino_t ino)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == (reg->mode & S_IFMT) &&
	       (!ino || st.st_ino == ino);
}

/* Opens fe's removed path with flags: through the name kept from an earlier file of the same
 * inode and path, or made now. */
static int open_removed(struct fd_restore_ctx *ctx, struct ghost_state *g, const FileEntry *fe,
			uint32_t flags)
{
	const RegFileEntry *reg = fe->reg;
	const RemovedPathEntry *rm = reg->removed;
	bool is_dir = S_ISDIR(reg->mode), linked = rm && rm->linked;
	const char *path = reg->path, *name;
	uint64_t key = fd_inode_key(reg->dev, reg->ino);
	cleanup_close int handle_fd = -EBADF;
	struct source src = {.dirfd = -1};
	struct hmap_slot *s;
	ino_t ino = 0;
	ssize_t dir, obj = -1, n = -1;
	size_t len;
	int root, fd;

	/* the path below the root of the mount it was on */
	root = fd_restore_mount_root(ctx, reg, &path);
	if (root < 0)
		return root;
	while (*path == '/')
		path++;
	len = strlen(path);
	name = memrchr(path, '/', len);
	dir = open_dir(g, root, path, name ? (size_t)(name - path) : 0);
	if (dir < 0)
		return (int)dir;
	name = name ? name + 1 : path;

	/* a later file of the same inode and path opens the same name */
	s = hmap_find(&g->placed_index, key, path_hash(path, len));
	if (s) {
		const struct ghost_placed *p = &g->placed[s->value];

		fd = p->fd >= 0 ? fd_reopen(p->fd, flags)
				: open_flags_at(g->dirs[g->names[p->name].dir].fd,
						g->names[p->name].name, flags);
		if (fd >= 0 && same_inode(fd, reg, 0))
			return fd;
		if (fd >= 0)
			close(fd);
		pr_err("cannot open '%s' again: its name leads elsewhere now",
		       reg->path);
		return -ESTALE;
	}

	/* step 1: the inode */
	if (linked) {
		struct stat st;

		handle_fd = open_by_handle(g, (size_t)dir, reg);
		if (handle_fd < 0)
			return handle_fd;
		if (fstat(handle_fd, &st) < 0)
			return pr_errno("cannot stat '%s'", reg->path);
		ino = st.st_ino;
		src = (struct source){handle_fd, "", AT_EMPTY_PATH};
	} else if (!is_dir) {
		obj = object_of(ctx, g, (size_t)dir, fe);
		if (obj < 0)
			return (int)obj;
		if (g->objects[obj].fd >= 0) {
			/* O_TMPFILE: no name to give; its first O_TMPFILE file takes the fd */
			struct ghost_object *o = &g->objects[obj];

			if ((flags & TMPFILE_BIT) && !o->tmpfile_given) {
				o->tmpfile_given = true;
				fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
				return fd < 0 ? pr_errno("cannot duplicate '%s'",
							 reg->path)
					      : fd;
			}
			return fd_reopen(o->fd, flags);
		}
		src = (struct source){g->dirs[g->names[g->objects[obj].name].dir].fd,
				      g->names[g->objects[obj].name].name, 0};
	} else {
		/* a directory made at its path before (on the way to another removed path) */
		ssize_t made = find_made(g, root, path, len);

		/* unless it is the removed directory of another inode that had the same path */
		if (made >= 0 && !g->names[made].is_ghost_dir) {
			fd = open_flags_at(g->dirs[g->names[made].dir].fd, g->names[made].name,
					   flags);
			if (fd < 0) {
				errno = -fd;
				return pr_errno("cannot open '%s'", reg->path);
			}
			n = made;
			goto placed;
		}
	}

	/* step 2: the name */
	fd = open_at_free_name(g, (size_t)dir, path, len, name, &src, flags, &n);
	if (fd == -EEXIST) {
		n = -1;
		fd = open_borrowed(g, (size_t)dir, name, reg->path, &src, is_dir ? O_PATH : flags);
	}
	if (fd < 0)
		return fd;
placed:
	if (!same_inode(fd, reg, ino)) {
		close(fd);
		pr_err("cannot reopen '%s': another file took its place meanwhile",
		       reg->path);
		return -ESTALE;
	}
	if (is_dir) {
		/* a removed directory of the dump: its owner, mode and, at the end, its times */
		int r = set_owner_and_mode(fd, "", reg, AT_EMPTY_PATH);

		if (r < 0) {
			close(fd);
			return r;
		}
		if (n >= 0) {
			g->names[n].is_ghost_dir = true;
			if (rm) {
				g->names[n].has_times = true;
				times_of(rm, g->names[n].times);
			}
		} else if (rm) {
			struct timespec t[2];

			times_of(rm, t);
			set_times(t, fd, "", AT_EMPTY_PATH);
		}
		if (n < 0 && (flags & O_PATH) == 0) {
			/* borrowed: the directory is gone already; the file wants its own flags */
			int reopened = fd_reopen(fd, flags);

			close(fd);
			if (reopened < 0)
				return reopened;
			fd = reopened;
		}
	}
	/* Later files of the inode and path open the kept name, or reopen a directory whose
	 * borrowed name is gone already; a borrowed name of another file is borrowed again. */
	if (n >= 0 || is_dir) {
		struct ghost_placed *p =
		    grow((void **)&g->placed, &g->n_placed, &g->cap_placed, sizeof(*p));

		if (!p ||
		    hmap_put(&g->placed_index, key, path_hash(path, len), g->n_placed - 1) < 0) {
			close(fd);
			return -ENOMEM;
		}
		p->name = n >= 0 ? (size_t)n : 0;
		p->fd = n >= 0 ? -1 : fd_reopen(fd, O_PATH | O_DIRECTORY);
		if (n < 0 && p->fd < 0) {
			close(fd);
			return p->fd;
		}
	}
	return fd;
}

int fd_ghost_open(struct fd_restore_ctx *ctx, const FileEntry *fe, uint32_t flags)
{
	struct ghost_state *g = state_of(ctx);

	if (!g)
		return pr_neg(-ENOMEM, "cannot restore removed '%s'", fe->reg->path);
	return open_removed(ctx, g, fe, flags);
}

/* ---- validation --------------------------------------------------------------------------- */

int fd_ghost_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const RegFileEntry *reg = fe->reg;
	const RemovedPathEntry *rm = reg ? reg->removed : NULL;
	const char *base;

	if (!reg || !reg->unlinked)
		return 0;
	base = reg->path ? strrchr(reg->path, '/') : NULL;
	base = base ? base + 1 : reg->path;
	if (!base || !*base || strcmp(base, ".") == 0)
		return image_set_bad(set, "files.img record %zu: removed path '%s' of file %u has no "
				     "name",
				     rec, reg->path ? reg->path : "", fe->id);
	if (!reg->has_mode)
		return image_set_bad(set, "files.img record %zu: removed file %u has no mode", rec,
				     fe->id);
	if (!rm)
		return 0; /* an image of an older minicr: a regular file with its contents */
	if (rm->linked &&
	    (!rm->has_handle || rm->handle.len == 0 || rm->handle.len > MAX_HANDLE_SZ))
		return image_set_bad(set, "files.img record %zu: removed file %u has a bad file handle",
				     rec, fe->id);
	if (rm->linked)
		return 0;
	if (S_ISLNK(reg->mode) &&
	    (!rm->has_target || rm->target.len == 0 || rm->target.len >= PATH_MAX ||
	     memchr(rm->target.data, '\0', rm->target.len)))
		return image_set_bad(set, "files.img record %zu: removed symlink %u has a bad target",
				     rec, fe->id);
	if (S_ISREG(reg->mode) && rm->has_data_id && image_set_file(set, rm->data_id) < 0)
		return image_set_bad(set, "files.img record %zu: the contents of removed file %u are "
				     "those of file %u, absent from files.img",
				     rec, fe->id, rm->data_id);
	if (rm->tmpfile && !S_ISREG(reg->mode))
		return image_set_bad(set,
		    "files.img record %zu: O_TMPFILE file %u is not a regular file", rec, fe->id);
	if (!S_ISREG(reg->mode) && !S_ISDIR(reg->mode) && !S_ISLNK(reg->mode) &&
	    !S_ISFIFO(reg->mode) && !S_ISCHR(reg->mode) && !S_ISBLK(reg->mode))
		return image_set_bad(set, "files.img record %zu: removed file %u has type 0%o", rec,
				     fe->id, reg->mode & S_IFMT);
	return 0;
}
