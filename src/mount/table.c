/* mount/table.c: collect the mounts of one namespace and index them with hash maps, so building
 * and every lookup stay linear/O(1) even with tens of thousands of mounts. */
#include "mount/table.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define LOG_PREFIX "mount-table: "
#include "base/compat.h"
#include "base/arena.h"
#include "base/hmap.h"
#include "base/log.h"
#include "mount/mountinfo-parse.h"
#include "base/util.h"

/* ---- the table --------------------------------------------------------------------------- */

struct mount_table {
	struct mount_entry *entries;	  /* collection order */
	const struct mount_entry **order; /* parent-first */
	size_t n_entries;
	enum mount_table_method method;
	pid_t pid;
	uint64_t ns_id;
	uint64_t ns_ino;
	bool has_unique_ids;
	struct hmap index;	     /* (INDEX_*, key) -> entry index */
	struct mountinfo *mountinfo; /* owns the strings of a mountinfo-built table */
	struct arena strings;	     /* owns the strings of a statmount-built table */
};

static uint64_t dev_key(uint32_t major, uint32_t minor)
{
	return ((uint64_t)major << 32) | minor;
}

static struct mount_table *mount_table_new(size_t n_max)
{
	struct mount_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->entries = calloc(n_max ? n_max : 1, sizeof(*t->entries));
	t->order = calloc(n_max ? n_max : 1, sizeof(*t->order));
	if (!t->entries || !t->order)
		return mount_table_free(t);
	return t;
}

struct mount_table *mount_table_free(struct mount_table *t)
{
	if (!t)
		return NULL;
	hmap_clear(&t->index);
	mountinfo_free(t->mountinfo);
	arena_free(&t->strings);
	free(t->order);
	free(t->entries);
	free(t);
	return NULL;
}

void mount_table_freep(struct mount_table **t)
{
	mount_table_free(*t);
}

/* What the index keys entries by. */
enum {
	INDEX_ID = 1,  /* unique id */
	INDEX_OLD = 2, /* old 32-bit id */
	INDEX_DEV = 3, /* superblock: the first mount of its same-superblock chain */
};

static const struct mount_entry *index_get(const struct mount_table *t, uint64_t kind, uint64_t key)
{
	const struct hmap_slot *s = hmap_find(&t->index, kind, key);

	return s ? &t->entries[s->value] : NULL;
}

/* Fills the index and links same-superblock chains (in collection order). For ids that
 * appear twice (malformed input) the first mount stays. */
static int index_entries(struct mount_table *t)
{
	if (hmap_reserve(&t->index, 3 * t->n_entries) < 0)
		return -ENOMEM;
	/* Walking backwards and prepending keeps each superblock chain in collection order. */
	for (size_t i = t->n_entries; i-- > 0;) {
		struct mount_entry *e = &t->entries[i];
		uint64_t dk = dev_key(e->dev_major, e->dev_minor);
		struct hmap_slot *head = hmap_find(&t->index, INDEX_DEV, dk);

		e->next_same_dev = head ? &t->entries[head->value] : NULL;
		if (head)
			head->value = i;
		else if (hmap_put(&t->index, INDEX_DEV, dk, i) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < t->n_entries; i++) {
		const struct mount_entry *e = &t->entries[i];

		if (t->has_unique_ids && !hmap_find(&t->index, INDEX_ID, e->mnt_id) &&
		    hmap_put(&t->index, INDEX_ID, e->mnt_id, i) < 0)
			return -ENOMEM;
		if (!hmap_find(&t->index, INDEX_OLD, e->mnt_id_old) &&
		    hmap_put(&t->index, INDEX_OLD, e->mnt_id_old, i) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void link_parents(struct mount_table *t)
{
	size_t i;

	for (i = 0; i < t->n_entries; i++) {
		struct mount_entry *e = &t->entries[i];
		const struct mount_entry *p;

		if (t->has_unique_ids)
			p = e->parent_id == e->mnt_id ? NULL : index_get(t, INDEX_ID, e->parent_id);
		else
			p = e->parent_id_old == e->mnt_id_old
				? NULL
				: index_get(t, INDEX_OLD, e->parent_id_old);
		e->parent = p;
	}
}

/* Parent-first order: a breadth-first walk from the roots over child lists built by counting,
 * so the whole sort is linear. Mounts caught in a parent cycle (malformed input) go last. */
static int order_parent_first(struct mount_table *t)
{
	size_t n = t->n_entries, i, head = 0, tail = 0;
	cleanup_free size_t *first_child = calloc(n + 1, sizeof(size_t));
	cleanup_free size_t *children = calloc(n ? n : 1, sizeof(size_t));
	cleanup_free bool *placed = calloc(n ? n : 1, sizeof(bool));

	if (!first_child || !children || !placed)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (t->entries[i].parent)
			first_child[t->entries[i].parent - t->entries + 1]++;
	for (i = 0; i < n; i++)
		first_child[i + 1] += first_child[i];
	{
		cleanup_free size_t *fill = malloc((n ? n : 1) * sizeof(size_t));

		if (!fill)
			return -ENOMEM;
		memcpy(fill, first_child, n * sizeof(size_t));
		for (i = 0; i < n; i++) {
			const struct mount_entry *p = t->entries[i].parent;

			if (p)
				children[fill[p - t->entries]++] = i;
		}
	}
	for (i = 0; i < n; i++)
		if (!t->entries[i].parent) {
			t->order[tail++] = &t->entries[i];
			placed[i] = true;
		}
	while (head < tail) {
		size_t idx = (size_t)(t->order[head++] - t->entries), c;

		for (c = first_child[idx]; c < first_child[idx + 1]; c++) {
			t->order[tail++] = &t->entries[children[c]];
			placed[children[c]] = true;
		}
	}
	for (i = 0; i < n; i++)
		if (!placed[i])
			t->order[tail++] = &t->entries[i];
	return 0;
}

/* The kernel shows a root removed from its filesystem with "//deleted" appended (a bind whose
 * source directory was removed): the path and the fact are kept apart. The strings belong to
 * the table. */
static void strip_deleted(struct mount_table *t)
{
	static const char suffix[] = "//deleted";

	for (size_t i = 0; i < t->n_entries; i++) {
		struct mount_entry *e = &t->entries[i];
		size_t len = strlen(e->root), n = sizeof(suffix) - 1;

		if (len > n && strcmp(e->root + len - n, suffix) == 0) {
			((char *)e->root)[len - n] = '\0';
			e->root_deleted = true;
			if (!*e->root)
				e->root = "/";
		}
	}
}

static int finish_table(struct mount_table *t)
{
	int r;

	strip_deleted(t);
	r = index_entries(t);

	if (r < 0)
		return r;
	link_parents(t);
	return order_parent_first(t);
}

int mount_table_from_mountinfo(const char *buf, size_t len, pid_t pid, uint64_t ns_id,
			       struct mount_table **ret_table)
{
	cleanup(mountinfo_freep) struct mountinfo *mi = NULL;
	cleanup(mount_table_freep) struct mount_table *t = NULL;
	size_t i;
	int r;

	r = mountinfo_parse(buf, len, &mi);
	if (r < 0)
		return r;
	t = mount_table_new(mi->n_entries);
	if (!t)
		return -ENOMEM;
	for (i = 0; i < mi->n_entries; i++) {
		const struct mountinfo_entry *m = &mi->entries[i];
		struct mount_entry *e = &t->entries[i];

		e->mnt_id_old = m->mnt_id;
		e->parent_id_old = m->parent_id;
		e->dev_major = m->dev_major;
		e->dev_minor = m->dev_minor;
		e->root = m->root;
		e->mountpoint = m->mountpoint;
		e->fstype = m->fstype;
		e->source = m->source;
		e->options = m->fs_opts;
		e->mnt_attr = m->mnt_attr;
		e->sb_flags = m->sb_flags;
		e->propagation = m->propagation;
		e->shared_id = m->shared_id;
		e->master_id = m->master_id;
		e->propagate_from = m->propagate_from;
		e->ns_id = ns_id;
	}
	t->n_entries = mi->n_entries;
	t->method = MOUNT_TABLE_METHOD_MOUNTINFO;
	t->pid = pid;
	t->ns_id = ns_id;
	t->mountinfo = TAKE_PTR(mi);
	r = finish_table(t);
	if (r < 0)
		return r;
	*ret_table = TAKE_PTR(t);
	return 0;
}

/* ---- listmount() + statmount() ----------------------------------------------------------- */

#define STATMOUNT_WANT                                                                             \
	(MINICR_STATMOUNT_SB_BASIC | MINICR_STATMOUNT_MNT_BASIC |                                  \
	 MINICR_STATMOUNT_PROPAGATE_FROM | MINICR_STATMOUNT_MNT_ROOT |                             \
	 MINICR_STATMOUNT_MNT_POINT | MINICR_STATMOUNT_FS_TYPE | MINICR_STATMOUNT_MNT_NS_ID |      \
	 MINICR_STATMOUNT_MNT_OPTS | MINICR_STATMOUNT_SB_SOURCE)

int mount_ns_get_id(int nsfd, uint64_t *ret_id)
{
	/* NS_GET_MNTNS_ID = _IOR(NSIO, 0x5, __u64), Linux 6.9+ (absent from the 6.1 headers). */
	uint64_t id = 0;

	if (ioctl(nsfd, _IOR(0xb7, 0x5, uint64_t), &id) < 0)
		return -errno;
	*ret_id = id;
	return 0;
}

/* Lists every mount id of namespace ns_id. Returns the count, or -errno (not logged). */
static ssize_t list_mount_ids(uint64_t ns_id, uint64_t **ret_ids)
{
	cleanup_free uint64_t *ids = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		struct minicr_mnt_id_req req = {
		    .size = MINICR_MNT_ID_REQ_SIZE_VER1,
		    .mnt_id = MINICR_LSMT_ROOT,
		    .param = n ? ids[n - 1] : 0,
		    .mnt_ns_id = ns_id,
		};
		size_t space;
		long got;

		if (cap - n < 1024) {
			size_t new_cap = cap ? cap * 2 : 4096;
			uint64_t *bigger = realloc(ids, new_cap * sizeof(*ids));

			if (!bigger)
				return -ENOMEM;
			ids = bigger;
			cap = new_cap;
		}
		space = cap - n;
		got = sys_listmount(&req, ids + n, space, 0);
		if (got < 0)
			return -errno;
		n += (size_t)got;
		if ((size_t)got < space)
			break;
	}
	*ret_ids = TAKE_PTR(ids);
	return (ssize_t)n;
}

/* statmount() of one id into *buf, growing it on EOVERFLOW. Returns 0 or -errno (not logged). */
static int stat_mount(uint64_t mnt_id, uint64_t ns_id, struct minicr_statmount **buf,
		      size_t *buf_size)
{
	struct minicr_mnt_id_req req = {
	    .size = MINICR_MNT_ID_REQ_SIZE_VER1,
	    .mnt_id = mnt_id,
	    .param = STATMOUNT_WANT,
	    .mnt_ns_id = ns_id,
	};

	for (;;) {
		struct minicr_statmount *bigger;

		if (sys_statmount(&req, *buf, *buf_size, 0) == 0)
			return 0;
		if (errno != EOVERFLOW || *buf_size >= (1U << 24))
			return -errno;
		bigger = realloc(*buf, *buf_size * 2);
		if (!bigger)
			return -ENOMEM;
		*buf = bigger;
		*buf_size *= 2;
	}
}

static const char *sm_str(struct mount_table *t, const struct minicr_statmount *sm, uint64_t bit,
			  uint32_t off)
{
	return arena_strdup(&t->strings, (sm->mask & bit) ? sm->str + off : "");
}

static int fill_from_statmount(struct mount_table *t, struct mount_entry *e,
			       const struct minicr_statmount *sm)
{
	e->mnt_id = sm->mnt_id;
	e->parent_id = sm->mnt_parent_id;
	e->mnt_id_old = sm->mnt_id_old;
	e->parent_id_old = sm->mnt_parent_id_old;
	e->dev_major = sm->sb_dev_major;
	e->dev_minor = sm->sb_dev_minor;
	e->sb_flags = sm->sb_flags;
	e->mnt_attr = sm->mnt_attr;
	e->propagation = (uint32_t)sm->mnt_propagation;
	e->shared_id = sm->mnt_peer_group;
	e->master_id = sm->mnt_master;
	e->propagate_from = (sm->mask & MINICR_STATMOUNT_PROPAGATE_FROM) ? sm->propagate_from : 0;
	e->ns_id = (sm->mask & MINICR_STATMOUNT_MNT_NS_ID) ? sm->mnt_ns_id : t->ns_id;
	e->root = sm_str(t, sm, MINICR_STATMOUNT_MNT_ROOT, sm->mnt_root);
	e->mountpoint = sm_str(t, sm, MINICR_STATMOUNT_MNT_POINT, sm->mnt_point);
	e->fstype = sm_str(t, sm, MINICR_STATMOUNT_FS_TYPE, sm->fs_type);
	e->source = sm_str(t, sm, MINICR_STATMOUNT_SB_SOURCE, sm->sb_source);
	e->options = sm_str(t, sm, MINICR_STATMOUNT_MNT_OPTS, sm->mnt_opts);
	if (!e->root || !e->mountpoint || !e->fstype || !e->source || !e->options)
		return -ENOMEM;
	return 0;
}

/* Returns 0, or -errno (not logged) when listmount cannot be used for this namespace;
 * -ENOMEM is the only error that is not a reason to fall back. */
static int collect_listmount(pid_t pid, uint64_t ns_id, uint64_t ns_ino,
			     struct mount_table **ret_table)
{
	cleanup(mount_table_freep) struct mount_table *t = NULL;
	cleanup_free uint64_t *ids = NULL;
	cleanup_free struct minicr_statmount *sm = NULL;
	size_t sm_size = 4096, i, n_roots = 0;
	ssize_t n;
	int r;

	n = list_mount_ids(ns_id, &ids);
	if (n < 0)
		return (int)n;
	t = mount_table_new((size_t)n);
	sm = malloc(sm_size);
	if (!t || !sm)
		return -ENOMEM;
	t->ns_id = ns_id;
	for (i = 0; i < (size_t)n; i++) {
		r = stat_mount(ids[i], ns_id, &sm, &sm_size);
		if (r == -ENOENT)
			continue; /* unmounted since listmount() */
		if (r < 0)
			return r;
		r = fill_from_statmount(t, &t->entries[t->n_entries], sm);
		if (r < 0)
			return r;
		t->n_entries++;
	}
	if (!t->ns_id && t->n_entries) /* queried as "the caller's namespace" */
		t->ns_id = t->entries[0].ns_id;
	t->method = MOUNT_TABLE_METHOD_LISTMOUNT;
	t->pid = pid;
	t->ns_ino = ns_ino;
	t->has_unique_ids = true;
	r = finish_table(t);
	if (r < 0)
		return r;
	/* listmount(LSMT_ROOT) lists the whole namespace since 6.10; 6.8/6.9 list only the root's
	 * children. A table with orphans is such a partial list: use mountinfo instead. */
	for (i = 0; i < t->n_entries; i++)
		if (!t->entries[i].parent)
			n_roots++;
	if (n_roots > 1)
		return -EOPNOTSUPP;
	*ret_table = TAKE_PTR(t);
	return 0;
}

static int collect_mountinfo(pid_t pid, uint64_t ns_id, uint64_t ns_ino,
			     struct mount_table **ret_table)
{
	cleanup_free char *buf = NULL;
	char path[64];
	ssize_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	len = read_file_at(AT_FDCWD, path, &buf);
	if (len < 0) {
		errno = (int)-len;
		return pr_errno("cannot read '%s'", path);
	}
	r = mount_table_from_mountinfo(buf, (size_t)len, pid, ns_id, ret_table);
	if (r == -EINVAL)
		return pr_neg(r, "malformed '%s'", path);
	if (r < 0)
		return pr_neg(r, "cannot parse '%s'", path);
	(*ret_table)->ns_ino = ns_ino;
	return 0;
}

int mount_table_collect(pid_t pid, unsigned int flags, struct mount_table **ret_table)
{
	cleanup_close int nsfd = -EBADF;
	struct stat st;
	uint64_t ns_id = 0;
	bool is_own_ns = false;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return pr_errno("cannot open '%s'", path);
	if (fstat(nsfd, &st) < 0)
		return pr_errno("cannot stat '%s'", path);
	r = mount_ns_get_id(nsfd, &ns_id);
	if (r < 0) {
		struct stat own;

		pr_debug("no NS_GET_MNTNS_ID for '%s' (%s)", path, strerror(-r));
		/* Our own namespace needs no id: mnt_ns_id = 0 means the caller's. */
		is_own_ns = stat("/proc/self/ns/mnt", &own) == 0 && own.st_ino == st.st_ino &&
			    own.st_dev == st.st_dev;
	}

	/* statmount(2)/listmount(2) need Linux 6.8+ and the namespace's id; fall back to
	 * mountinfo when either is missing or we lack privileges over that namespace. */
	if (!(flags & MOUNT_TABLE_FORCE_MOUNTINFO) && (ns_id || is_own_ns)) {
		r = collect_listmount(pid, ns_id, (uint64_t)st.st_ino, ret_table);
		if (r == 0)
			return 0;
		if (r == -ENOMEM)
			return pr_neg(r, "cannot collect mounts of task %d", (int)pid);
		if (flags & MOUNT_TABLE_FORCE_LISTMOUNT)
			return pr_neg(r, "cannot list mounts of task %d with listmount()",
				      (int)pid);
		pr_debug("listmount() for task %d: %s, using mountinfo", (int)pid, strerror(-r));
	} else if (flags & MOUNT_TABLE_FORCE_LISTMOUNT) {
		errno = ENOTSUP;
		return pr_errno("no mount namespace id for task %d", (int)pid);
	}
	return collect_mountinfo(pid, ns_id, (uint64_t)st.st_ino, ret_table);
}

void mount_table_set_root_stat(struct mount_table *t, const struct mount_entry *m, uint32_t mode,
			       uint32_t uid, uint32_t gid)
{
	struct mount_entry *e = &t->entries[m - t->entries];

	e->root_mode = mode;
	e->root_uid = uid;
	e->root_gid = gid;
}

/* ---- accessors -------------------------------------------------------------------------- */

size_t mount_table_size(const struct mount_table *t)
{
	return t->n_entries;
}

const struct mount_entry *mount_table_get(const struct mount_table *t, size_t i)
{
	return i < t->n_entries ? t->order[i] : NULL;
}

enum mount_table_method mount_table_method(const struct mount_table *t)
{
	return t->method;
}

pid_t mount_table_pid(const struct mount_table *t)
{
	return t->pid;
}

uint64_t mount_table_ns_id(const struct mount_table *t)
{
	return t->ns_id;
}

uint64_t mount_table_ns_ino(const struct mount_table *t)
{
	return t->ns_ino;
}

bool mount_table_has_unique_ids(const struct mount_table *t)
{
	return t->has_unique_ids;
}

const struct mount_entry *mount_table_find(const struct mount_table *t, uint64_t mnt_id)
{
	return index_get(t, INDEX_ID, mnt_id);
}

const struct mount_entry *mount_table_find_old(const struct mount_table *t, uint32_t mnt_id_old)
{
	return index_get(t, INDEX_OLD, mnt_id_old);
}

const struct mount_entry *mount_table_find_dev(const struct mount_table *t, uint32_t major,
					       uint32_t minor)
{
	return index_get(t, INDEX_DEV, dev_key(major, minor));
}
