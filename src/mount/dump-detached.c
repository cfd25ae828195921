/* mount/dump-detached.c: classify an fd's mount against the collected tables, and resolve lazily
 * unmounted mounts with statmount(STATMOUNT_BY_FD) (Linux 7.0+) or, before that, with fstatfs()
 * plus a file handle reopened through a live mount of the same superblock. */
#include "mount/dump-detached.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "detached: "
#include "base/compat.h"
#include "base/hmap.h"
#include "base/path.h"
#include "base/log.h"
#include "mount/table.h"
#include "base/util.h"

#define DELETED_SUFFIX " (deleted)"

/* A detached mount plus the bookkeeping callers do not see. */
struct group {
	struct detached_mount m;
	uint64_t key;
	size_t users_cap;
};

struct detached_ctx {
	struct mount_table **tables; /* the tree's first, then the others */
	size_t n_tree, n_tables;
	bool has_by_fd;
	struct group **groups; /* first-seen order */
	size_t n_groups, groups_cap;
	struct hmap by_key; /* (key, 0) -> index in groups */
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

static void group_free(struct group *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->m.n_users; i++)
		free(g->m.users[i].path);
	free(g->m.users);
	free(g->m.fstype);
	free(g->m.source);
	free(g->m.options);
	free(g->m.root);
	free(g);
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

/* The path of the file behind handle inside its filesystem, reopened through live mount e and
 * checked against st (same inode). Returns 0 or -errno (not logged). */
static int path_in_fs_via(const struct mount_table *t, const struct mount_entry *e,
			  struct handle *h, const struct stat *st, char **ret_path)
{
	cleanup_close int live_fd = -EBADF, file_fd = -EBADF, check_fd = -EBADF;
	cleanup_free char *prefix = NULL, *path = NULL;
	const char *rel;
	bool is_deleted;
	struct stat cst;
	int r;

	live_fd = open_live_mount(t, e);
	if (live_fd < 0)
		return live_fd;
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
	*ret_path = path_join(e->root, rel);
	return *ret_path ? 0 : -ENOMEM;
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
		/* Orphaned: the detached mount was the superblock's last one. Only what the fds
		 * reach is left; root, source and options cannot be recovered before Linux 7.0. */
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
	if (str_has_suffix(in_fs, DELETED_SUFFIX) && str_has_suffix(rel_copy, DELETED_SUFFIX)) {
		in_fs[strlen(in_fs) - strlen(DELETED_SUFFIX)] = '\0';
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

/* Builds the record for a detached mount seen for the first time. Returns 0, 1 if statmount
 * says the mount is attached in namespace *ret_ns_id, or -errno (not logged; *ret_reason says
 * which step failed). */
static int resolve_new(const struct detached_ctx *ctx, int fd, const char *rel,
		       const struct stat *st, struct detached_mount *m, uint64_t *ret_ns_id,
		       const char **ret_reason)
{
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
	if (r < 0)
		*ret_reason = "out of memory";
	return r;
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
			r = group_add_user(known, desc, rel);
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
	g = calloc(1, sizeof(*g));
	if (!g)
		return pr_neg(-ENOMEM, "cannot resolve fd %d of task %d", desc->fd, (int)desc->pid);
	g->key = key;
	g->m.id = unique;
	g->m.mnt_id_old = old;
	r = resolve_new(ctx, fd, rel, &st, &g->m, &ns_id, &reason);
	if (r == 1) {
		ret->kind = DETACHED_FD_OTHER_NS;
		ret->table = NULL;
		ret->mount = NULL;
		ret->other_ns_id = ns_id;
		ret->detached = NULL;
		return 0;
	}
	if (r < 0)
		return pr_neg(
		    r,
		    "cannot resolve the detached mount of fd %d of task %d ('%s', mnt_id %u): %s",
		    desc->fd, (int)desc->pid, rel, old, reason);
	r = group_add_user(g, desc, rel);
	if (r == 0)
		r = ctx_add_group(ctx, g);
	if (r < 0)
		return pr_neg(r, "cannot record fd %d of task %d", desc->fd, (int)desc->pid);
	res.detached = &TAKE_PTR(g)->m;
	*ret = res;
	return 0;
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
