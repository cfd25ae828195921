/* mount/dump-detached.c: classify an fd's mount against the collected tables, and resolve the
 * mounts in none: anonymous ones by their tree (dump-anon.c), lazily unmounted ones with
 * statmount(STATMOUNT_BY_FD) (Linux 7.0+) or, before that, with fstatfs() plus a file handle
 * reopened through a live mount of the same superblock; an orphaned filesystem's files are saved
 * (dump-contents.c) or its device recorded (dump-orphaned.c). */
#include "mount/dump-detached.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "detached: "
#include "base/compat.h"
#include "base/hmap.h"
#include "base/path.h"
#include "base/log.h"
#include "mount/dump-anon.h"
#include "mount/dump-contents.h"
#include "mount/dump-orphaned.h"
#include "mount/table.h"
#include "base/util.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

#define DELETED_SUFFIX " (deleted)"

/* A file of an orphaned filesystem that no directory fd may reach: saved by itself. */
struct kept_file {
	int fd;	    /* local copy (one per inode: -EBADF for a further name of one kept already,
		     * and for an unlinked file, whose directory is all it needs) */
	char *path; /* below the mount's root */
	ino_t ino;
	bool is_unlinked;
};

/* A detached mount plus the bookkeeping callers do not see. */
struct group {
	struct detached_mount m;
	uint64_t key;
	size_t users_cap;
	pid_t holder;	     /* a task with an fd on it: its namespace may clone the tree */
	int walk_fd;	     /* a directory on the mount (to walk from its root), or -EBADF */
	int root_fd;	     /* anonymous: an fd of its tree's root, or -EBADF */
	bool has_mount_fd;   /* anonymous root: one fd was taken for the tree's mount fd */
	bool needs_contents; /* orphaned tmpfs: the files the fds reach are saved */
	bool is_fs_root;     /* its walk starts at inode 1: a tmpfs's root, likely the fs root */
	struct kept_file *files;
	size_t n_files, files_cap;
};

struct detached_ctx {
	struct mount_table **tables; /* the tree's first, then the others */
	size_t n_tree, n_tables;
	bool has_by_fd;
	struct group **groups; /* first-seen order */
	size_t n_groups, groups_cap;
	struct hmap by_key; /* (key, 0) -> index in groups */
	char reason[320];   /* why a mount cannot be dumped, for the one error line */
};

/* ---- helpers --------------------------------------------------------------------------- */

static struct group *map_get(const struct detached_ctx *ctx, uint64_t key)
{
	const struct hmap_slot *slot = hmap_find(&ctx->by_key, key, 0);

	return slot ? ctx->groups[slot->value] : NULL;
}

static int ctx_add_group(struct detached_ctx *ctx, struct group *g)
{
	if (ctx->n_groups == ctx->groups_cap) {
		size_t cap = ctx->groups_cap ? ctx->groups_cap * 2 : 16;
		struct group **bigger = realloc(ctx->groups, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		ctx->groups = bigger;
		ctx->groups_cap = cap;
	}
	if (hmap_put(&ctx->by_key, g->key, 0, ctx->n_groups) < 0)
		return -ENOMEM;
	ctx->groups[ctx->n_groups++] = g;
	return 0;
}

/* Closes the fds a group kept for detached_ctx_finish(). */
static void group_drop_fds(struct group *g)
{
	for (size_t i = 0; i < g->n_files; i++) {
		if (g->files[i].fd >= 0)
			close(g->files[i].fd);
		free(g->files[i].path);
	}
	free(g->files);
	g->files = NULL;
	g->n_files = g->files_cap = 0;
	if (g->walk_fd >= 0)
		close(g->walk_fd);
	if (g->root_fd >= 0)
		close(g->root_fd);
	g->walk_fd = g->root_fd = -EBADF;
}

static void group_free(struct group *g)
{
	size_t i;

	if (!g)
		return;
	group_drop_fds(g);
	for (i = 0; i < g->m.n_users; i++)
		free(g->m.users[i].path);
	free(g->m.users);
	free(g->m.fstype);
	free(g->m.source);
	free(g->m.options);
	free(g->m.root);
	free(g->m.mountpoint);
	free(g);
}

static struct group *group_new(uint64_t key)
{
	struct group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->key = key;
	g->walk_fd = g->root_fd = -EBADF;
	return g;
}

static void group_freep(struct group **g)
{
	group_free(*g);
}

static int group_add_user(struct group *g, const struct detached_fd *desc, const char *rel)
{
	struct detached_user *u;

	if (g->m.n_users == g->users_cap) {
		size_t cap = g->users_cap ? g->users_cap * 2 : 4;
		struct detached_user *bigger = realloc(g->m.users, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		g->m.users = bigger;
		g->users_cap = cap;
	}
	u = &g->m.users[g->m.n_users];
	u->path = strdup(rel);
	if (!u->path)
		return -ENOMEM;
	u->pid = desc->pid;
	u->fd = desc->fd;
	g->m.n_users++;
	return 0;
}

static int readlink_fd(int fd, char **ret)
{
	char proc[64], buf[PATH_MAX + 1];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

/* statx() of fd's mount id, as asked by mask. Returns the id, 0 if the kernel does not know
 * that kind of id, or -errno. glibc 2.36's struct statx lacks stx_mnt_id: it is the u64 at
 * offset 144. */
static int64_t fd_statx_mnt_id(int fd, unsigned int mask)
{
	struct statx stx;
	uint64_t id;

	_Static_assert(sizeof(stx) >= 152, "struct statx too small");
	memset(&stx, 0, sizeof(stx));
	if (statx(fd, "", AT_EMPTY_PATH, mask, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & mask))
		return 0;
	memcpy(&id, (const char *)&stx + 144, sizeof(id));
	return (int64_t)(id & INT64_MAX);
}

/* The unique (64-bit, Linux 6.8+; else 0) and old 32-bit mount ids of fd's mount. */
static int fd_mount_ids(int fd, uint64_t *ret_unique, uint32_t *ret_old)
{
	int64_t unique = fd_statx_mnt_id(fd, STATX_MNT_ID_UNIQUE);
	int64_t old = fd_statx_mnt_id(fd, STATX_MNT_ID);

	if (unique < 0)
		return (int)unique;
	if (old < 0)
		return (int)old;
	*ret_unique = (uint64_t)unique;
	*ret_old = (uint32_t)old;
	return 0;
}

/* Fills *old with fd's old 32-bit mount id unless it is already known. Returns 0 or -errno. */
static int fd_old_mount_id(int fd, uint32_t *old)
{
	int64_t id;

	if (*old)
		return 0;
	id = fd_statx_mnt_id(fd, STATX_MNT_ID);
	if (id < 0)
		return (int)id;
	*old = (uint32_t)id;
	return 0;
}

static uint64_t statfs_flags_to_attr(unsigned long f_flags)
{
	uint64_t attr = 0;

	if (f_flags & ST_RDONLY)
		attr |= MINICR_MOUNT_ATTR_RDONLY;
	if (f_flags & ST_NOSUID)
		attr |= MINICR_MOUNT_ATTR_NOSUID;
	if (f_flags & ST_NODEV)
		attr |= MINICR_MOUNT_ATTR_NODEV;
	if (f_flags & ST_NOEXEC)
		attr |= MINICR_MOUNT_ATTR_NOEXEC;
	if (f_flags & ST_NODIRATIME)
		attr |= MINICR_MOUNT_ATTR_NODIRATIME;
	if (f_flags & 0x2000) /* ST_NOSYMFOLLOW, Linux 5.10+ */
		attr |= MINICR_MOUNT_ATTR_NOSYMFOLLOW;
	if (f_flags & ST_NOATIME)
		attr |= MINICR_MOUNT_ATTR_NOATIME;
	else if (!(f_flags & ST_RELATIME))
		attr |= MINICR_MOUNT_ATTR_STRICTATIME;
	return attr;
}

/* Names for the f_type magics of filesystems an orphaned mount is likely to be on. */
static const char *fstype_from_magic(unsigned long magic)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
	    {0x01021994, "tmpfs"},     {0x858458f6, "ramfs"},
	    {0xef53, "ext4"},	       {0x58465342, "xfs"},
	    {0x9123683e, "btrfs"},     {0x794c7630, "overlay"},
	    {0x9fa0, "proc"},	       {0x62656572, "sysfs"},
	    {0x1cd1, "devpts"},	       {0x63677270, "cgroup2"},
	    {0x27e0eb, "cgroup"},      {0x65735546, "fuse"},
	    {0x6969, "nfs"},	       {0x73717368, "squashfs"},
	    {0x4d44, "vfat"},	       {0x42494e4d, "binfmt_misc"},
	    {0xcafe4a11, "bpf"},       {0x64626720, "debugfs"},
	    {0x74726163, "tracefs"},   {0x73636673, "securityfs"},
	    {0x5a3c69f0, "hugetlbfs"}, {0x2011bab0, "exfat"},
	    {0x3153464a, "jfs"},       {0xf2f52010, "f2fs"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].magic == magic)
			return names[i].name;
	return "";
}

/* ---- classification --------------------------------------------------------------------- */

static const struct mount_entry *table_lookup(const struct mount_table *t, uint64_t unique,
					      uint32_t old)
{
	if (unique && mount_table_has_unique_ids(t))
		return mount_table_find(t, unique);
	return mount_table_find_old(t, old);
}

/* ---- resolution: STATMOUNT_BY_FD (Linux 7.0+) ------------------------------------------- */

#define BY_FD_WANT                                                                                 \
	(MINICR_STATMOUNT_SB_BASIC | MINICR_STATMOUNT_MNT_BASIC | MINICR_STATMOUNT_MNT_ROOT |      \
	 MINICR_STATMOUNT_FS_TYPE | MINICR_STATMOUNT_MNT_NS_ID | MINICR_STATMOUNT_MNT_OPTS |       \
	 MINICR_STATMOUNT_SB_SOURCE)

bool detached_probe_statmount_by_fd(void)
{
	struct minicr_mnt_id_req req = {
	    .size = MINICR_MNT_ID_REQ_SIZE_VER1,
	    .mnt_fd = (uint32_t)-1,
	};
	struct minicr_statmount sm;

	return sys_statmount(&req, &sm, sizeof(sm), MINICR_STATMOUNT_BY_FD) < 0 && errno == EBADF;
}

static char *sm_strdup(const struct minicr_statmount *sm, uint64_t bit, uint32_t off)
{
	return strdup((sm->mask & bit) ? sm->str + off : "");
}

/* Fills root, fstype, source, options, attr and dev from the kernel. Returns 0, 1 when the
 * mount turns out to be attached in namespace *ret_ns_id, or -errno (not logged). */
static int resolve_by_statmount(int fd, struct detached_mount *m, uint64_t *ret_ns_id)
{
	struct minicr_mnt_id_req req = {
	    .size = MINICR_MNT_ID_REQ_SIZE_VER1,
	    .mnt_fd = (uint32_t)fd,
	    .param = BY_FD_WANT,
	};
	cleanup_free struct minicr_statmount *sm = NULL;
	size_t size = 4096;

	for (;;) {
		struct minicr_statmount *bigger = realloc(sm, size);

		if (!bigger)
			return -ENOMEM;
		sm = bigger;
		if (sys_statmount(&req, sm, size, MINICR_STATMOUNT_BY_FD) == 0)
			break;
		if (errno != EOVERFLOW || size >= (1U << 24))
			return -errno;
		size *= 2;
	}
	/* The kernel clears MNT_NS_ID for a mount that is in no namespace. */
	if ((sm->mask & MINICR_STATMOUNT_MNT_NS_ID) && sm->mnt_ns_id) {
		*ret_ns_id = sm->mnt_ns_id;
		return 1;
	}
	if (!(sm->mask & MINICR_STATMOUNT_MNT_ROOT))
		return -EOPNOTSUPP;
	m->root = sm_strdup(sm, MINICR_STATMOUNT_MNT_ROOT, sm->mnt_root);
	m->fstype = sm_strdup(sm, MINICR_STATMOUNT_FS_TYPE, sm->fs_type);
	m->source = sm_strdup(sm, MINICR_STATMOUNT_SB_SOURCE, sm->sb_source);
	m->options = sm_strdup(sm, MINICR_STATMOUNT_MNT_OPTS, sm->mnt_opts);
	if (!m->root || !m->fstype || !m->source || !m->options)
		return -ENOMEM;
	m->mnt_attr = sm->mnt_attr;
	m->sb_flags = sm->sb_flags;
	m->dev_major = sm->sb_dev_major;
	m->dev_minor = sm->sb_dev_minor;
	m->method = DETACHED_METHOD_STATMOUNT_BY_FD;
	return 0;
}

/* ---- resolution: file handle through a live mount (before Linux 7.0) -------------------- */

struct handle {
	struct file_handle fh;
	unsigned char space[MAX_HANDLE_SZ];
};

/* Opens live mount e of table t (through the collecting task's root, so it works for another
 * namespace) and checks that the open really landed on e, not on a mount stacked over it.
 * Only directories and regular files are opened for reading. Returns an fd or -errno. */
static int open_live_mount(const struct mount_table *t, const struct mount_entry *e)
{
	cleanup_close int path_fd = -EBADF;
	char *path = NULL;
	char proc[64];
	uint64_t unique = 0;
	uint32_t old = 0;
	struct stat st;
	int r;

	if (asprintf(&path, "/proc/%d/root%s", (int)mount_table_pid(t), e->mountpoint) < 0)
		return -ENOMEM;
	path_fd = open(path, O_PATH | O_CLOEXEC);
	free(path);
	if (path_fd < 0)
		return -errno;
	r = fd_mount_ids(path_fd, &unique, &old);
	if (r < 0)
		return r;
	if ((unique && e->mnt_id) ? unique != e->mnt_id : old != e->mnt_id_old)
		return -ENOENT; /* overmounted: the path leads to another mount */
	if (fstat(path_fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return -EOPNOTSUPP; /* opening a device or fifo could have side effects */
	/* open_by_handle_at() refuses O_PATH fds as mount_fd: reopen the same file for reading. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
	r = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	return r < 0 ? -errno : r;
}

/* The path of the file behind handle inside its filesystem, reopened through live_fd (a
 * readable fd of the root of a mount of the same superblock, whose root in the filesystem is
 * live_root) and checked against st (same inode). Returns 0 or -errno (not logged). */
static int path_in_fs_through(int live_fd, const char *live_root, struct handle *h,
			      const struct stat *st, char **ret_path)
{
	cleanup_close int file_fd = -EBADF, check_fd = -EBADF;
	cleanup_free char *prefix = NULL, *path = NULL;
	const char *rel;
	bool is_deleted;
	struct stat cst;
	int r;

	r = readlink_fd(live_fd, &prefix);
	if (r < 0)
		return r;
	file_fd = open_by_handle_at(live_fd, &h->fh, O_PATH | O_CLOEXEC);
	if (file_fd < 0)
		return -errno;
	r = readlink_fd(file_fd, &path);
	if (r < 0)
		return r;

	/* readlink of a file outside the live mount's root shows its path from the fs root
	 * without the mountpoint: the prefix test and the inode check below reject it. */
	if (!path_below(path, prefix))
		return -EXDEV;
	rel = strcmp(prefix, "/") == 0 ? path : path + strlen(prefix);
	if (!*rel)
		rel = "/";
	is_deleted = str_has_suffix(rel, DELETED_SUFFIX);
	if (!is_deleted) {
		/* Walk to it again by name: proves rel names this inode inside the live mount. */
		check_fd = strcmp(rel, "/") == 0
			       ? fcntl(live_fd, F_DUPFD_CLOEXEC, 0)
			       : openat(live_fd, rel + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (check_fd < 0)
			return -errno;
		if (fstat(check_fd, &cst) < 0)
			return -errno;
		if (cst.st_dev != st->st_dev || cst.st_ino != st->st_ino)
			return -EXDEV;
	}
	*ret_path = path_join(live_root, rel);
	return *ret_path ? 0 : -ENOMEM;
}

/* The same through live mount e of table t. */
static int path_in_fs_via(const struct mount_table *t, const struct mount_entry *e,
			  struct handle *h, const struct stat *st, char **ret_path)
{
	cleanup_close int live_fd = open_live_mount(t, e);

	if (live_fd < 0)
		return live_fd;
	return path_in_fs_through(live_fd, e->root, h, st, ret_path);
}

static bool sb_has_live_mount(const struct detached_ctx *ctx, dev_t dev)
{
	size_t i;

	for (i = 0; i < ctx->n_tables; i++)
		if (mount_table_find_dev(ctx->tables[i], major(dev), minor(dev)))
			return true;
	return false;
}

/* Tries every live mount of the superblock, whole-filesystem mounts first, until one yields
 * the fd's path inside the filesystem. Returns 0, or the last -errno (not logged). */
static int find_path_in_fs(const struct detached_ctx *ctx, int fd, const struct stat *st,
			   char **ret_path, const char **ret_fstype, const char **ret_reason)
{
	struct handle h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	int mnt_id_old, last = -ENOENT, pass;
	size_t i;

	if (name_to_handle_at(fd, "", &h.fh, &mnt_id_old, AT_EMPTY_PATH) < 0) {
		*ret_reason = "name_to_handle_at";
		return -errno;
	}
	*ret_reason = "open_by_handle_at through a live mount";
	/* Pass 0 uses mounts of the filesystem's root, which reach every file. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ctx->n_tables; i++) {
			const struct mount_table *t = ctx->tables[i];
			const struct mount_entry *e;

			for (e = mount_table_find_dev(t, major(st->st_dev), minor(st->st_dev)); e;
			     e = e->next_same_dev) {
				int r;

				if ((strcmp(e->root, "/") == 0) != (pass == 0))
					continue;
				r = path_in_fs_via(t, e, &h, st, ret_path);
				if (r == 0) {
					*ret_fstype = e->fstype;
					return 0;
				}
				pr_debug("no path through mount %u: %s", e->mnt_id_old,
					 strerror(-r));
				last = r;
			}
		}
	}
	return last;
}

static int resolve_by_file_handle(const struct detached_ctx *ctx, int fd, const char *rel,
				  const struct stat *st, struct detached_mount *m,
				  const char **ret_reason)
{
	cleanup_free char *in_fs = NULL, *rel_copy = NULL;
	const char *fstype = NULL;
	struct statfs sfs;
	int r;

	if (fstatfs(fd, &sfs) < 0) {
		*ret_reason = "fstatfs";
		return -errno;
	}
	m->method = DETACHED_METHOD_FILE_HANDLE;
	m->mnt_attr = statfs_flags_to_attr(sfs.f_flags);
	m->dev_major = major(st->st_dev);
	m->dev_minor = minor(st->st_dev);

	if (!sb_has_live_mount(ctx, st->st_dev)) {
		/* Orphaned: the detached mount was the superblock's last one. Root, source and
		 * options cannot be read before Linux 7.0: resolve_orphaned() finds what it can. */
		m->is_orphaned = true;
		m->fstype = strdup(fstype_from_magic((unsigned long)sfs.f_type));
		return m->fstype ? 0 : -ENOMEM;
	}
	r = find_path_in_fs(ctx, fd, st, &in_fs, &fstype, ret_reason);
	if (r < 0)
		return r;
	rel_copy = strdup(rel);
	if (!rel_copy)
		return -ENOMEM;
	/* An unlinked file reads back with the same suffix through both mounts. */
	if (str_has_suffix(in_fs, DELETED_SUFFIX)) {
		in_fs[strlen(in_fs) - strlen(DELETED_SUFFIX)] = '\0';
		/* the fd's path has the suffix too when it came unstripped, or when it is a
		 * live name that ends in " (deleted)" */
		if (str_has_suffix(rel_copy, DELETED_SUFFIX) && !str_has_suffix(in_fs, rel_copy))
			rel_copy[strlen(rel_copy) - strlen(DELETED_SUFFIX)] = '\0';
	}
	m->root = path_strip_suffix(in_fs, rel_copy);
	if (!m->root) {
		*ret_reason = "the path inside the filesystem does not end with the fd's path";
		return -errno;
	}
	m->fstype = strdup(fstype ? fstype : fstype_from_magic((unsigned long)sfs.f_type));
	return m->fstype ? 0 : -ENOMEM;
}

/* Picks the live mount to rebuild from: one of the same superblock whose root contains the
 * detached root, from the tree's namespaces first. Copies source and options from it when the
 * method did not give them. Sets is_orphaned when there is none. */
static int choose_source_mount(const struct detached_ctx *ctx, struct detached_mount *m)
{
	size_t i;

	for (i = 0; m->root && i < ctx->n_tables; i++) {
		const struct mount_table *t = ctx->tables[i];
		const struct mount_entry *e;

		for (e = mount_table_find_dev(t, m->dev_major, m->dev_minor); e;
		     e = e->next_same_dev) {
			if (!path_below(m->root, e->root))
				continue;
			m->source_mnt = e;
			m->source_mnt_id = e->mnt_id;
			m->source_mnt_id_old = e->mnt_id_old;
			m->source_ns_id = e->ns_id;
			m->source_mnt_root = e->root;
			m->source_in_tree = i < ctx->n_tree;
			if (!m->source)
				m->source = strdup(e->source);
			if (!m->options)
				m->options = strdup(e->options);
			if (!m->source || !m->options)
				return -ENOMEM;
			return 0;
		}
	}
	m->is_orphaned = true;
	return 0;
}

/* The root of a disk filesystem's lazily unmounted mount before Linux 7.0: the fd's file
 * reopened by handle through live_fd, a mount of the same superblock at its root. */
static int root_through(int live_fd, int fd, const char *rel, const struct stat *st,
			char **ret_root)
{
	struct handle h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	cleanup_free char *in_fs = NULL, *rel_copy = NULL;
	int mnt_id_old, r;

	if (name_to_handle_at(fd, "", &h.fh, &mnt_id_old, AT_EMPTY_PATH) < 0)
		return -errno;
	r = path_in_fs_through(live_fd, "/", &h, st, &in_fs);
	if (r < 0)
		return r;
	rel_copy = strdup(rel);
	if (!rel_copy)
		return -ENOMEM;
	if (str_has_suffix(in_fs, DELETED_SUFFIX) && str_has_suffix(rel_copy, DELETED_SUFFIX)) {
		in_fs[strlen(in_fs) - strlen(DELETED_SUFFIX)] = '\0';
		rel_copy[strlen(rel_copy) - strlen(DELETED_SUFFIX)] = '\0';
	}
	*ret_root = path_strip_suffix(in_fs, rel_copy);
	return *ret_root ? 0 : -errno;
}

/* A disk filesystem no live mount shows: restore mounts its block device again. Before Linux
 * 7.0 the device is mounted again now (the same superblock), to read what statmount() would
 * tell. fd, rel and st are the first fd on the mount (fd < 0: the record is complete). */
static int resolve_orphaned_disk(struct detached_ctx *ctx, int fd, const char *rel,
				 const struct stat *st, struct detached_mount *m,
				 const char **ret_reason)
{
	cleanup_free char *node = NULL;
	struct orphaned_disk disk;
	struct statfs sfs;
	int r;

	r = orphaned_device_node(m->dev_major, m->dev_minor, m->source, &node);
	if (r == -ENODEV)
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "its %s filesystem (dev %u:%u) is mounted nowhere else (orphaned) and is "
			 "not on a block device; only a tmpfs (its files are saved) or a disk "
			 "filesystem (its device is mounted again) can be rebuilt",
			 m->fstype && *m->fstype ? m->fstype : "unknown", m->dev_major,
			 m->dev_minor);
	else if (r == -ENOENT)
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "its %s filesystem is mounted nowhere else (orphaned), and its block "
			 "device %u:%u has no node in /dev to mount it again from",
			 m->fstype && *m->fstype ? m->fstype : "unknown", m->dev_major,
			 m->dev_minor);
	else if (r < 0)
		snprintf(ctx->reason, sizeof(ctx->reason), "cannot find block device %u:%u",
			 m->dev_major, m->dev_minor);
	if (r < 0) {
		*ret_reason = ctx->reason;
		return r == -ENODEV ? -ENOTSUP : r;
	}
	if (m->method != DETACHED_METHOD_FILE_HANDLE) {
		free(m->source);
		m->source = TAKE_PTR(node);
		return 0;
	}
	if (fstatfs(fd, &sfs) < 0) {
		*ret_reason = "fstatfs";
		return -errno;
	}
	r = orphaned_disk_remount(node, (unsigned long)sfs.f_type, st->st_dev, &disk);
	if (r < 0) {
		*ret_reason = NULL; /* logged */
		return r;
	}
	free(m->fstype);
	m->fstype = TAKE_PTR(disk.fstype);
	m->source = TAKE_PTR(disk.source);
	m->options = TAKE_PTR(disk.options);
	m->sb_flags = disk.sb_flags;
	r = root_through(disk.root_fd, fd, rel, st, &m->root);
	orphaned_disk_done(&disk);
	if (r < 0)
		*ret_reason = "the file handle through the device mounted again";
	return r;
}

/* A filesystem no live mount shows any more (orphaned): a tmpfs's files are saved by
 * detached_ctx_finish(), a disk filesystem's device is recorded, anything else is refused.
 * fd, rel and st as for resolve_orphaned_disk(). */
static int resolve_orphaned(struct detached_ctx *ctx, int fd, const char *rel,
			    const struct stat *st, struct group *g, const char **ret_reason)
{
	struct detached_mount *m = &g->m;
	dev_t dev = makedev(m->dev_major, m->dev_minor);
	int r;

	if (!m->fstype || strcmp(m->fstype, "tmpfs") != 0)
		return resolve_orphaned_disk(ctx, fd, rel, st, m, ret_reason);
	if (sb_has_live_mount(ctx, dev)) {
		/* a copy of its files would be another filesystem than the one mounted there */
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "its tmpfs is mounted elsewhere, but no mount shows its root '%s'",
			 m->root ? m->root : "?");
		*ret_reason = ctx->reason;
		return -EXDEV;
	}
	g->needs_contents = true;
	if (m->method != DETACHED_METHOD_FILE_HANDLE)
		return 0;
	/* before Linux 7.0: stand-ins, said so in the record */
	m->inexact = DETACHED_INEXACT_ROOT | DETACHED_INEXACT_SOURCE | DETACHED_INEXACT_OPTIONS;
	m->root = strdup("/");
	m->source = strdup("tmpfs");
	r = orphaned_tmpfs_options(fd, &m->options);
	if (r < 0) {
		*ret_reason = "fstatfs";
		return r;
	}
	return m->root && m->source ? 0 : -ENOMEM;
}

/* Builds the record for a detached mount seen for the first time. Returns 0, 1 if statmount
 * says the mount is attached in namespace *ret_ns_id, or -errno (not logged; *ret_reason says
 * which step failed, or is NULL when that step logged). */
static int resolve_new(struct detached_ctx *ctx, int fd, const char *rel, const struct stat *st,
		       struct group *g, uint64_t *ret_ns_id, const char **ret_reason)
{
	struct detached_mount *m = &g->m;
	int r = -EOPNOTSUPP;

	if (ctx->has_by_fd) {
		r = resolve_by_statmount(fd, m, ret_ns_id);
		if (r == 1 || r == -ENOMEM)
			return r;
		if (r < 0)
			pr_debug("statmount(STATMOUNT_BY_FD) on fd %d: %s, trying a file handle",
				 fd, strerror(-r));
	}
	if (r < 0) {
		free(m->root);
		free(m->fstype);
		free(m->source);
		free(m->options);
		m->root = m->fstype = m->source = m->options = NULL;
		r = resolve_by_file_handle(ctx, fd, rel, st, m, ret_reason);
		if (r < 0)
			return r;
	}
	/* A single-file bind: the fd sits on the mount's root and is not a directory. */
	m->root_is_file = strcmp(rel, "/") == 0 && !S_ISDIR(st->st_mode);
	r = choose_source_mount(ctx, m);
	if (r < 0) {
		*ret_reason = "out of memory";
		return r;
	}
	return m->is_orphaned ? resolve_orphaned(ctx, fd, rel, st, g, ret_reason) : 0;
}

/* ---- what finish needs of a mount's fds ---------------------------------------------------- */

/* Keeps a local copy of fd when detached_ctx_finish() will need it: a directory to walk an
 * orphaned tmpfs or an anonymous tree from, the tree's root, a file of an orphaned tmpfs that
 * may be reached by nothing else (an unlinked one only for its directory). */
static int group_keep(struct group *g, int fd, const char *rel, const struct stat *st)
{
	struct kept_file *f;
	int *slot = NULL;

	if (!g->needs_contents && !g->m.is_anonymous)
		return 0;
	if (g->m.is_anonymous && !strcmp(rel, "/"))
		slot = &g->root_fd;
	else if (S_ISDIR(st->st_mode))
		slot = &g->walk_fd;
	if (slot) {
		if (*slot < 0)
			*slot = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		return *slot < 0 ? -errno : 0;
	}
	if (g->m.is_anonymous)
		return 0; /* reached from the tree's root */
	if (g->n_files == g->files_cap) {
		size_t cap = g->files_cap ? g->files_cap * 2 : 4;
		struct kept_file *bigger = realloc(g->files, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		g->files = bigger;
		g->files_cap = cap;
	}
	f = &g->files[g->n_files];
	f->path = strdup(rel);
	if (!f->path)
		return -ENOMEM;
	f->ino = st->st_ino;
	f->is_unlinked = st->st_nlink == 0;
	f->fd = -EBADF;
	for (size_t i = 0; i < g->n_files && !f->is_unlinked; i++)
		if (g->files[i].ino == f->ino && g->files[i].fd >= 0)
			goto out; /* another name of an inode kept already: no second fd */
	if (!f->is_unlinked && (f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		free(f->path);
		return -errno;
	}
out:
	g->n_files++;
	return 0;
}

/* Adds (pid, fd, path) to g's users and keeps what finish needs; says whether the fd is the
 * mount fd of an anonymous tree: an O_PATH fd of its root, like those open_tree() and
 * fsmount() return (a task's cwd or root is never one). */
static int group_use(struct group *g, int fd, const struct detached_fd *desc, const char *rel,
		     const struct stat *st, struct detached_result *res)
{
	int r = group_add_user(g, desc, rel);

	if (r == 0 && (g->needs_contents || g->m.is_anonymous)) {
		struct stat own;

		if (!st && fstat(fd, &own) < 0)
			return -errno;
		r = group_keep(g, fd, rel, st ? st : &own);
	}
	if (r < 0)
		return r;
	res->is_mount_fd = false;
	if (g->m.is_anonymous && !g->has_mount_fd && desc->fd >= 0 && !strcmp(rel, "/")) {
		int flags = fcntl(fd, F_GETFL);

		if (flags >= 0 && (flags & O_PATH)) {
			g->has_mount_fd = true;
			res->is_mount_fd = true;
		}
	}
	return 0;
}

/* ---- public ------------------------------------------------------------------------------ */

int detached_ctx_new(struct mount_table *const *tree_tables, size_t n_tree,
		     struct mount_table *const *other_tables, size_t n_other, unsigned int flags,
		     struct detached_ctx **ret_ctx)
{
	cleanup(detached_ctx_freep) struct detached_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	ctx->tables = calloc(n_tree + n_other + 1, sizeof(*ctx->tables));
	if (!ctx->tables)
		return -ENOMEM;
	if (n_tree)
		memcpy(ctx->tables, tree_tables, n_tree * sizeof(*ctx->tables));
	if (n_other)
		memcpy(ctx->tables + n_tree, other_tables, n_other * sizeof(*ctx->tables));
	ctx->n_tree = n_tree;
	ctx->n_tables = n_tree + n_other;
	ctx->has_by_fd =
	    !(flags & DETACHED_CTX_NO_STATMOUNT_BY_FD) && detached_probe_statmount_by_fd();
	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

struct detached_ctx *detached_ctx_free(struct detached_ctx *ctx)
{
	size_t i;

	if (!ctx)
		return NULL;
	for (i = 0; i < ctx->n_groups; i++)
		group_free(ctx->groups[i]);
	free(ctx->groups);
	hmap_clear(&ctx->by_key);
	free(ctx->tables);
	free(ctx);
	return NULL;
}

void detached_ctx_freep(struct detached_ctx **ctx)
{
	detached_ctx_free(*ctx);
}

int detached_resolve_fd(struct detached_ctx *ctx, int fd, const struct detached_fd *desc,
			struct detached_result *ret)
{
	cleanup_free char *own_path = NULL;
	cleanup(group_freep) struct group *g = NULL;
	struct detached_result res = {0};
	const char *rel = desc->path, *reason = "";
	uint64_t unique = 0, key, ns_id = 0;
	uint32_t old = 0;
	struct stat st;
	size_t i;
	int r;

	if (desc->mnt_id_unique) {
		unique = desc->mnt_id_unique;
		old = desc->mnt_id;
	} else {
		r = fd_mount_ids(fd, &unique, &old);
		if (r < 0)
			return pr_neg(r, "cannot statx fd %d of task %d ('%s', mnt_id %u)",
				      desc->fd, (int)desc->pid, rel ? rel : "?", desc->mnt_id);
		if (old && desc->mnt_id && old != desc->mnt_id)
			pr_warn("fd %d of task %d: fdinfo mnt_id %u but the local copy is on %u, "
				"ignoring",
				desc->fd, (int)desc->pid, desc->mnt_id, old);
		if (desc->mnt_id)
			old = desc->mnt_id;
	}

	/* (1) a mount of one of the collected namespaces */
	for (i = 0; i < ctx->n_tables; i++) {
		const struct mount_entry *e;

		/* a table without unique ids (from mountinfo) needs the old id */
		if (!old && !(unique && mount_table_has_unique_ids(ctx->tables[i]))) {
			r = fd_old_mount_id(fd, &old);
			if (r < 0)
				return pr_neg(r, "cannot statx fd %d of task %d ('%s')", desc->fd,
					      (int)desc->pid, rel ? rel : "?");
		}
		e = table_lookup(ctx->tables[i], unique, old);
		if (e) {
			ret->kind = i < ctx->n_tree ? DETACHED_FD_IN_TREE : DETACHED_FD_OTHER_NS;
			ret->table = ctx->tables[i];
			ret->mount = e;
			ret->other_ns_id = 0;
			ret->detached = NULL;
			return 0;
		}
	}

	/* (2) in no table: detached (or from a namespace we have no table of). Group by mount. */
	r = fd_old_mount_id(fd, &old);
	if (r < 0)
		return pr_neg(r, "cannot statx fd %d of task %d ('%s')", desc->fd, (int)desc->pid,
			      rel ? rel : "?");
	key = unique ? unique : ((1ULL << 63) | old);
	if (!rel) {
		r = readlink_fd(fd, &own_path);
		if (r < 0)
			return pr_neg(r, "cannot read the path of fd %d of task %d (mnt_id %u)",
				      desc->fd, (int)desc->pid, old);
		rel = own_path;
	}
	res.kind = DETACHED_FD_DETACHED;
	{
		struct group *known = map_get(ctx, key);

		if (known) {
			r = group_use(known, fd, desc, rel, NULL, &res);
			if (r < 0)
				return pr_neg(r, "cannot record fd %d of task %d", desc->fd,
					      (int)desc->pid);
			res.detached = &known->m;
			*ret = res;
			return 0;
		}
	}

	/* (3) first fd on this mount: resolve it once for all its users */
	if (fstat(fd, &st) < 0)
		return pr_errno("cannot stat fd %d of task %d ('%s', mnt_id %u)", desc->fd,
				(int)desc->pid, rel, old);
	g = group_new(key);
	if (!g)
		return pr_neg(-ENOMEM, "cannot resolve fd %d of task %d", desc->fd, (int)desc->pid);
	g->m.id = unique;
	g->m.mnt_id_old = old;
	g->holder = desc->pid;
	/* an anonymous mount is read with its whole tree once every fd is known */
	r = anon_probe(desc->pid, fd);
	if (r < 0)
		return r;
	if (r == 1) {
		g->m.is_anonymous = true;
		g->m.dev_major = major(st.st_dev);
		g->m.dev_minor = minor(st.st_dev);
		r = 0;
	} else {
		r = resolve_new(ctx, fd, rel, &st, g, &ns_id, &reason);
	}
	if (r == 1) {
		ret->kind = DETACHED_FD_OTHER_NS;
		ret->table = NULL;
		ret->mount = NULL;
		ret->other_ns_id = ns_id;
		ret->detached = NULL;
		return 0;
	}
	if (r < 0 && !reason)
		return r;
	if (r < 0)
		return pr_neg(
		    r,
		    "cannot resolve the detached mount of fd %d of task %d ('%s', mnt_id %u): %s",
		    desc->fd, (int)desc->pid, rel, old, reason);
	r = group_use(g, fd, desc, rel, &st, &res);
	if (r == 0)
		r = ctx_add_group(ctx, g);
	if (r < 0)
		return pr_neg(r, "cannot record fd %d of task %d", desc->fd, (int)desc->pid);
	res.detached = &TAKE_PTR(g)->m;
	*ret = res;
	return 0;
}

/* ---- finish: anonymous trees ------------------------------------------------------------- */

/* The key fd's mount is known by (see detached_mount_key()). */
static int fd_key(int fd, uint64_t *ret_key)
{
	uint64_t unique = 0;
	uint32_t old = 0;
	int r = fd_mount_ids(fd, &unique, &old);

	if (r < 0)
		return r;
	*ret_key = unique ? unique : ((1ULL << 63) | old);
	return 0;
}

/* Climbs `..` from the directory dir_fd: to the root of its mount (cross false), or on through
 * the mounts above it to the root of its whole tree, where `..` goes nowhere (cross true; the
 * root of a lazily unmounted or anonymous tree is its own parent). Returns an O_PATH fd or
 * -errno (not logged). */
static int climb(int dir_fd, bool cross)
{
	cleanup_close int cur = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st, ust;
	uint64_t key, ukey;
	int r;

	if (cur < 0 || fstat(cur, &st) < 0)
		return -errno;
	r = fd_key(cur, &key);
	if (r < 0)
		return r;
	for (;;) {
		cleanup_close int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (up < 0 || fstat(up, &ust) < 0)
			return -errno;
		r = fd_key(up, &ukey);
		if (r < 0)
			return r;
		if ((ust.st_dev == st.st_dev && ust.st_ino == st.st_ino && ukey == key) ||
		    (!cross && ukey != key))
			return TAKE_FD(cur);
		closep(&cur);
		cur = TAKE_FD(up);
		st = ust;
		key = ukey;
	}
}

/* Whether e is root or below it. */
static bool in_tree(const struct mount_entry *e, const struct mount_entry *root)
{
	for (; e; e = e->parent)
		if (e == root)
			return true;
	return false;
}

/* Opens the root of the mount at mountpoint (below the tree's root top_fd) without following a
 * symlink, and checks it is one: a mount covered by another one on the same mountpoint cannot
 * be reached. Returns an O_PATH fd or -errno (not logged). */
static int open_tree_mount(int top_fd, const char *mountpoint)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = mountpoint;
	struct statx stx;
	int fd;

	while (*rel == '/')
		rel++;
	fd = (int)syscall(__NR_openat2, top_fd, *rel ? rel : ".", &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0 ||
	    !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		close(fd);
		return -EXDEV;
	}
	return fd;
}

/* Fills g, a mount of an anonymous tree, from its entry e in the scratch table. */
static int fill_anon(struct detached_ctx *ctx, struct group *g, const struct mount_entry *e,
		     bool is_root)
{
	struct detached_mount *m = &g->m;
	const char *reason = NULL;
	int r;

	if (e->propagation & (MS_SHARED | MS_SLAVE)) {
		pr_err("cannot dump anonymous mount %lu ('%s' of %s %s): it is %s, and the "
		       "propagation of anonymous mounts is not restored",
		       (unsigned long)g->key, is_root ? "/" : e->mountpoint, e->fstype, e->source,
		       (e->propagation & MS_SHARED) ? "shared" : "a slave");
		return -ENOTSUP;
	}
	free(m->fstype);
	free(m->source);
	free(m->options);
	free(m->root);
	free(m->mountpoint);
	m->fstype = strdup(e->fstype);
	m->source = strdup(e->source);
	m->options = strdup(e->options);
	m->root = strdup(e->root);
	m->mountpoint = is_root ? NULL : strdup(e->mountpoint);
	if (!m->fstype || !m->source || !m->options || !m->root || (!is_root && !m->mountpoint))
		return pr_neg(-ENOMEM, "cannot record anonymous mount %lu", (unsigned long)g->key);
	m->mnt_attr = e->mnt_attr;
	m->sb_flags = e->sb_flags;
	m->dev_major = e->dev_major;
	m->dev_minor = e->dev_minor;
	m->method = DETACHED_METHOD_ANON_CLONE;
	m->is_anonymous = true;
	m->is_attachable = is_root;
	r = choose_source_mount(ctx, m);
	if (r == 0 && m->is_orphaned)
		r = resolve_orphaned(ctx, -EBADF, NULL, NULL, g, &reason);
	if (r < 0 && reason)
		pr_err("cannot dump anonymous mount %lu ('%s' of %s %s): %s", (unsigned long)g->key,
		       is_root ? "/" : e->mountpoint, e->fstype, e->source, reason);
	return r;
}

/* The group of key, made when no fd was on it. */
static struct group *group_get(struct detached_ctx *ctx, uint64_t key)
{
	struct group *g = map_get(ctx, key);

	if (g)
		return g;
	g = group_new(key);
	if (!g)
		return NULL;
	if (key & (1ULL << 63))
		g->m.mnt_id_old = (uint32_t)key;
	else
		g->m.id = key;
	if (ctx_add_group(ctx, g) < 0) {
		group_free(g);
		return NULL;
	}
	return g;
}

/* Reads the anonymous tree whose root top_fd is on (key root_key) and fills the records of its
 * mounts, making those no fd was on. */
static int read_tree(struct detached_ctx *ctx, pid_t holder, int top_fd, uint64_t root_key)
{
	cleanup(mount_table_freep) struct mount_table *t = NULL;
	cleanup_free struct group **groups = NULL;
	const struct mount_entry *root;
	uint64_t tree_id = 0;
	size_t n;
	int r;

	r = anon_tree_read(holder, top_fd, &t, &root);
	if (r < 0)
		return r;
	n = mount_table_size(t);
	groups = calloc(n ? n : 1, sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mount_entry *e = mount_table_get(t, i);
		cleanup_close int mnt_fd = -EBADF;
		const struct group *parent = NULL;
		uint64_t key = root_key;
		struct group *g;

		if (!in_tree(e, root))
			continue;
		if (e != root) {
			/* the original mount at the same place in the original tree */
			mnt_fd = open_tree_mount(top_fd, e->mountpoint);
			r = mnt_fd < 0 ? mnt_fd : fd_key(mnt_fd, &key);
			if (r < 0) {
				errno = -r;
				return pr_errno("cannot dump the anonymous mount tree %lu: cannot "
						"reach its mount at '%s'",
						(unsigned long)root_key, e->mountpoint);
			}
			for (size_t k = 0; k < i; k++)
				if (mount_table_get(t, k) == e->parent)
					parent = groups[k];
		}
		g = groups[i] = group_get(ctx, key);
		if (!g)
			return pr_neg(-ENOMEM, "cannot record anonymous mount %lu",
				      (unsigned long)key);
		if (g->m.tree_key) {
			pr_err("cannot dump the anonymous mount tree %lu: two of its mounts are on "
			       "'%s', the lower one cannot be reached",
			       (unsigned long)root_key, e->mountpoint);
			return -EXDEV;
		}
		if (!g->holder)
			g->holder = holder;
		r = fill_anon(ctx, g, e, e == root);
		if (r < 0)
			return r;
		if (e == root)
			tree_id = detached_mount_key(&g->m);
		g->m.tree_key = tree_id;
		g->m.parent_key = parent ? detached_mount_key(&parent->m) : tree_id;
		/* the mount's files are reached from the tree's root */
		if (g->needs_contents && g->walk_fd < 0)
			g->walk_fd =
			    e == root ? fcntl(top_fd, F_DUPFD_CLOEXEC, 0) : TAKE_FD(mnt_fd);
	}
	return 0;
}

/* A task's fd on a mount of the tree rooted at group root. */
static const struct detached_user *some_user(const struct detached_mount *m)
{
	return m->n_users ? &m->users[0] : NULL;
}

static int finish_anon_trees(struct detached_ctx *ctx)
{
	size_t n = ctx->n_groups;
	int r;

	for (size_t i = 0; i < n; i++) {
		struct group *g = ctx->groups[i];
		cleanup_close int top = -EBADF;
		uint64_t key;

		if (!g->m.is_anonymous || g->m.tree_key)
			continue;
		if (g->root_fd >= 0)
			top = fcntl(g->root_fd, F_DUPFD_CLOEXEC, 0);
		else if (g->walk_fd >= 0)
			top = climb(g->walk_fd, true);
		else
			continue; /* files only: reached from another fd's tree, or refused below */
		r = top < 0 ? top : fd_key(top, &key);
		if (r < 0) {
			errno = -r;
			return pr_errno("cannot find the root of the anonymous tree of mount %lu",
					(unsigned long)g->key);
		}
		if (map_get(ctx, key) && map_get(ctx, key)->m.tree_key)
			continue;
		r = read_tree(ctx, g->holder, top, key);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ctx->n_groups; i++) {
		const struct group *g = ctx->groups[i];
		const struct detached_user *u = some_user(&g->m);

		if (g->m.is_anonymous && !g->m.tree_key) {
			pr_err("cannot dump fd %d of task %d ('%s'): it is on an anonymous mount "
			       "(open_tree, fsmount) whose tree no directory fd of the dumped "
			       "tree leads to",
			       u ? u->fd : -1, u ? (int)u->pid : 0, u ? u->path : "?");
			return -ENOTSUP;
		}
		if (g->m.is_attachable && !g->has_mount_fd) {
			pr_err("cannot dump anonymous mount tree %lu (%s %s): no task of the tree "
			       "holds its mount fd (the O_PATH fd open_tree() or fsmount() "
			       "returned), without which it could not be attached after restore",
			       (unsigned long)g->key, g->m.fstype, g->m.source);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* ---- finish: the files of orphaned tmpfs filesystems -------------------------------------- */

/* The kept fd of f's inode, or -EBADF for an unlinked file. */
static int kept_fd_of(const struct group *g, const struct kept_file *f)
{
	if (f->is_unlinked || f->fd >= 0)
		return f->fd;
	for (size_t i = 0; i < g->n_files; i++)
		if (g->files[i].ino == f->ino && g->files[i].fd >= 0)
			return g->files[i].fd;
	return -EBADF;
}

/* Where the records of group g go: below its root. */
static int contents_path(const struct group *g, const char *rel, char *buf, size_t size)
{
	const char *root = g->m.root ? g->m.root : "/";

	while (*rel == '/')
		rel++;
	while (*root == '/')
		root++;
	if (snprintf(buf, size, "%s%s%s", root, *root && *rel ? "/" : "", rel) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* Before Linux 7.0 the root of a lazily unmounted mount of an orphaned tmpfs is unknown: the
 * first one is taken to be the root of the filesystem; another one is placed where an inode it
 * shows was saved already, or refused. */
static int settle_root(struct group *g, const struct group *first, const struct contents_dump *cd,
		       int root_fd)
{
	const char *at = NULL;
	cleanup_free char *root = NULL;
	struct stat st;

	if (!(g->m.inexact & DETACHED_INEXACT_ROOT) || g == first)
		return 0;
	if (root_fd >= 0 && fstat(root_fd, &st) == 0)
		at = contents_dump_path_of(cd, st.st_ino);
	/* saved paths are relative to the filesystem's root: "." or "a/b" */
	if (at) {
		if (asprintf(&root, "/%s", strcmp(at, ".") ? at : "") < 0)
			root = NULL;
	} else {
		for (size_t i = 0; i < g->n_files && !root; i++) {
			cleanup_free char *full = NULL;

			if (g->files[i].fd < 0 || fstat(g->files[i].fd, &st) < 0)
				continue;
			at = contents_dump_path_of(cd, st.st_ino);
			if (at && asprintf(&full, "/%s", at) >= 0)
				root = path_strip_suffix(full, g->files[i].path);
		}
	}
	if (!root) {
		pr_err("cannot dump detached mount %lu: its tmpfs (dev %u:%u) is orphaned and also "
		       "reached through detached mount %lu, and before Linux 7.0 where its root "
		       "lies in that filesystem cannot be told",
		       (unsigned long)g->key, g->m.dev_major, g->m.dev_minor,
		       (unsigned long)first->key);
		return -ENOTSUP;
	}
	free(g->m.root);
	g->m.root = TAKE_PTR(root);
	return 0;
}

static int compare_roots(const void *a, const void *b)
{
	const struct group *ga = *(struct group *const *)a, *gb = *(struct group *const *)b;
	bool ka = !(ga->m.inexact & DETACHED_INEXACT_ROOT),
	     kb = !(gb->m.inexact & DETACHED_INEXACT_ROOT);

	if (ka != kb)
		return ka ? -1 : 1;
	return (int)strlen(ga->m.root ? ga->m.root : "/") -
	       (int)strlen(gb->m.root ? gb->m.root : "/");
}

/* Saves one orphaned tmpfs: the trees below every directory fd first (shallowest root first, so
 * each is walked once), then the files the fds reach that no walk saw. */
static int save_orphan(struct detached_ctx *ctx, struct contents_dump *cd, struct group *first)
{
	cleanup_free struct group **list = calloc(ctx->n_groups, sizeof(*list));
	char path[PATH_MAX];
	size_t n = 0;
	int r;

	if (!list)
		return pr_neg(-ENOMEM, "cannot save the files of detached mount %lu",
			      (unsigned long)first->key);
	for (size_t i = 0; i < ctx->n_groups; i++) {
		struct group *g = ctx->groups[i];
		cleanup_close int root_fd = -EBADF;
		struct stat st;

		if (!g->needs_contents || g->m.dev_major != first->m.dev_major ||
		    g->m.dev_minor != first->m.dev_minor)
			continue;
		list[n++] = g;
		if (g->walk_fd >= 0 && (root_fd = climb(g->walk_fd, false)) >= 0 &&
		    fstat(root_fd, &st) == 0)
			g->is_fs_root = st.st_ino == 1;
	}
	qsort(list, n, sizeof(*list), compare_roots);
	first = list[0];
	contents_dump_begin(cd, detached_mount_key(&first->m));
	for (size_t i = 0; i < n; i++) {
		struct group *g = list[i];
		cleanup_close int root_fd = -EBADF;

		if (g->walk_fd < 0)
			continue;
		root_fd = climb(g->walk_fd, false);
		if (root_fd < 0) {
			errno = -root_fd;
			return pr_errno("cannot reach the root of detached mount %lu",
					(unsigned long)g->key);
		}
		r = settle_root(g, first, cd, root_fd);
		if (r == 0)
			r = contents_path(g, "", path, sizeof(path));
		if (r == 0)
			r = contents_dump_tree(cd, root_fd, path);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct group *g = list[i];

		if (g->walk_fd < 0) {
			r = settle_root(g, first, cd, -EBADF);
			if (r < 0)
				return r;
		}
		for (size_t k = 0; k < g->n_files; k++) {
			const struct kept_file *f = &g->files[k];
			int fd = kept_fd_of(g, f);

			r = contents_path(g, f->path, path, sizeof(path));
			if (r < 0)
				return pr_neg(r, "path too long: '%s'", f->path);
			/* an unlinked file is made beside its name: its directory is enough */
			r = fd >= 0 ? contents_dump_file(cd, fd, path)
				    : contents_dump_parents(cd, path);
			if (r < 0)
				return r;
		}
		g->m.contents_id = detached_mount_key(&first->m);
		g->m.contents_root = "/";
	}
	return 0;
}

int detached_ctx_finish(struct detached_ctx *ctx, struct contents_dump *cd)
{
	int r = finish_anon_trees(ctx);

	for (size_t i = 0; r == 0 && i < ctx->n_groups; i++) {
		struct group *g = ctx->groups[i];

		if (g->needs_contents && !g->m.contents_id)
			r = save_orphan(ctx, cd, g);
	}
	for (size_t i = 0; i < ctx->n_groups; i++)
		group_drop_fds(ctx->groups[i]);
	return r;
}

size_t detached_ctx_n_mounts(const struct detached_ctx *ctx)
{
	return ctx->n_groups;
}

const struct detached_mount *detached_ctx_mount(const struct detached_ctx *ctx, size_t i)
{
	return i < ctx->n_groups ? &ctx->groups[i]->m : NULL;
}

bool detached_ctx_has_statmount_by_fd(const struct detached_ctx *ctx)
{
	return ctx->has_by_fd;
}
