/* dump-images.c: image records from the dump's results. */
#define LOG_PREFIX "dump: "
#include "dump-images.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "config.h"
#include "detached-mnt.pb-c.h"
#include "mount/dump-detached.h"
#include "fd/dump.h"
#include "image-write.h"
#include "inventory.pb-c.h"
#include "base/kerndat.h"
#include "base/log.h"
#include "base/path.h"
#include "mnt.pb-c.h"
#include "mount/kind.h"
#include "mount/table.h"
#include "pstree.pb-c.h"
#include "task/dump-cgroup.h"
#include "task/seize.h"
#include "base/util.h"

/* Writes n records produced by get(i) into a new image; one error path for every list. */
static int write_records(int img_dirfd, enum image_kind kind, uint64_t id, size_t n,
			 const ProtobufCMessage *(*get)(const void *src, size_t i, void *scratch),
			 const void *src, void *scratch)
{
	struct image_writer *w;
	int ret;

	ret = image_writer_open(img_dirfd, kind, id, &w);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		ret = image_write_entry(w, get(src, i, scratch));
		if (ret < 0) {
			image_writer_free(w);
			return ret;
		}
	}
	return image_writer_close(w);
}

/* ---- files.img ---- */

static const ProtobufCMessage *get_file(const void *src, size_t i, void *scratch)
{
	(void)scratch;
	return &fd_dump_ctx_file(src, i)->base;
}

int dump_write_files(int img_dirfd, const struct fd_dump_ctx *fds)
{
	return write_records(img_dirfd, IMAGE_FILES, 0, fd_dump_ctx_n_files(fds), get_file, fds,
			     NULL);
}

/* ---- detached-mnt.img ---- */

struct detached_scratch {
	DetachedMntEntry entry;
	DetachedMntUserEntry *users;
	DetachedMntUserEntry **user_ptrs;
	size_t cap;
	char *inexact[3];
};

static const ProtobufCMessage *get_detached(const void *src, size_t i, void *scratch)
{
	const struct detached_mount *dm = detached_ctx_mount(src, i);
	struct detached_scratch *s = scratch;
	DetachedMntEntry *e = &s->entry;
	struct mount_dump_view view;

	detached_mnt_entry__init(e);
	e->id = detached_mount_key(dm);
	e->has_mnt_id_old = true;
	e->mnt_id_old = dm->mnt_id_old;
	e->fstype = dm->fstype;
	e->source = dm->source;
	e->options = dm->options;
	e->root = dm->root;
	e->has_mnt_attr = true;
	e->mnt_attr = dm->mnt_attr;
	e->has_dev_major = e->has_dev_minor = true;
	e->dev_major = dm->dev_major;
	e->dev_minor = dm->dev_minor;
	e->has_method = true;
	e->method = (DetachedMntMethod)dm->method;
	e->has_orphaned = true;
	e->orphaned = dm->is_orphaned;
	e->has_root_is_file = true;
	e->root_is_file = dm->root_is_file;
	e->has_sb_flags = true;
	e->sb_flags = dm->sb_flags;
	/* a live mount of its superblock to bind from; an orphaned tmpfs whose files were saved;
	 * an orphaned disk filesystem whose device is mounted again */
	view = (struct mount_dump_view){
	    .sb_is_live = !dm->is_orphaned,
	    .contents_dumped = dm->contents_id != 0,
	};
	e->has_kind = true;
	e->kind = mount_kind_recognise(&view)->kind;
	if (dm->contents_id) {
		e->has_contents_id = true;
		e->contents_id = dm->contents_id;
		e->contents_root = (char *)dm->contents_root;
	}
	e->n_inexact = 0;
	e->inexact = s->inexact;
	if (dm->inexact & DETACHED_INEXACT_SOURCE)
		s->inexact[e->n_inexact++] = "source";
	if (dm->inexact & DETACHED_INEXACT_OPTIONS)
		s->inexact[e->n_inexact++] = "options";
	if (dm->inexact & DETACHED_INEXACT_ROOT)
		s->inexact[e->n_inexact++] = "root";
	if (dm->is_anonymous) {
		e->has_anonymous = e->has_attachable = e->has_tree_id = e->has_parent_id = true;
		e->anonymous = true;
		e->attachable = dm->is_attachable;
		e->tree_id = dm->tree_key;
		e->parent_id = dm->parent_key;
		e->mountpoint = dm->mountpoint;
	}
	if (!dm->is_orphaned) {
		e->has_source_mnt_id = e->has_source_ns_id = true;
		e->source_mnt_id = dm->source_mnt ? mount_entry_key(dm->source_mnt) : 0;
		e->source_ns_id = dm->source_ns_id;
		e->source_mnt_root = (char *)dm->source_mnt_root;
	}
	for (size_t u = 0; u < dm->n_users && u < s->cap; u++) {
		detached_mnt_user_entry__init(&s->users[u]);
		s->users[u].pid = dm->users[u].pid;
		s->users[u].fd = dm->users[u].fd;
		s->users[u].path = dm->users[u].path;
		s->user_ptrs[u] = &s->users[u];
	}
	e->n_users = dm->n_users < s->cap ? dm->n_users : s->cap;
	e->users = s->user_ptrs;
	return &e->base;
}

int dump_write_detached(int img_dirfd, const struct detached_ctx *detached)
{
	size_t n = detached_ctx_n_mounts(detached), cap = 0;
	struct detached_scratch s = {0};
	int ret;

	for (size_t i = 0; i < n; i++)
		if (detached_ctx_mount(detached, i)->n_users > cap)
			cap = detached_ctx_mount(detached, i)->n_users;
	s.cap = cap;
	s.users = calloc(cap + 1, sizeof(*s.users));
	s.user_ptrs = calloc(cap + 1, sizeof(*s.user_ptrs));
	if (!s.users || !s.user_ptrs) {
		free(s.users);
		free(s.user_ptrs);
		return pr_neg(-ENOMEM, "cannot allocate detached mount records");
	}
	ret = write_records(img_dirfd, IMAGE_DETACHED_MNT, 0, n, get_detached, detached, &s);
	free(s.users);
	free(s.user_ptrs);
	return ret;
}

/* ---- mnt-<ns>.img ---- */

struct mount_scratch {
	MntEntry entry;
	uint64_t ns_key;
	const struct mount_table *own;
	bool own_is_tree; /* the table written is minicr's own (not rebuilt at restore) */
	const struct mount_entry *const *walked;
	size_t n_walked;
};

static MntPropagation propagation_of(uint32_t ms)
{
	if (ms & MS_UNBINDABLE)
		return MNT_PROPAGATION__MNT_PROPAGATION_UNBINDABLE;
	if (ms & MS_SLAVE)
		return MNT_PROPAGATION__MNT_PROPAGATION_SLAVE;
	if (ms & MS_SHARED)
		return MNT_PROPAGATION__MNT_PROPAGATION_SHARED;
	return MNT_PROPAGATION__MNT_PROPAGATION_PRIVATE;
}

/* The walked mount of m's superblock, if its contents were saved (the walked list holds one
 * mount per private tmpfs superblock: a handful). */
static const struct mount_entry *walked_of(const struct mount_scratch *s,
					   const struct mount_entry *m)
{
	for (size_t i = 0; i < s->n_walked; i++)
		if (s->walked[i]->dev_major == m->dev_major &&
		    s->walked[i]->dev_minor == m->dev_minor)
			return s->walked[i];
	return NULL;
}

/* A mount of minicr's namespace in peer group `group` whose root holds m's root (a host's shared
 * mount the tree's copy is a slave or a peer of): restore joins that group through it. */
static const char *group_in_own(const struct mount_scratch *s, const struct mount_entry *m,
				uint64_t group)
{
	if (!group || !s->own || s->own_is_tree)
		return NULL;
	for (const struct mount_entry *o = mount_table_find_dev(s->own, m->dev_major, m->dev_minor);
	     o; o = o->next_same_dev)
		if (o->shared_id == group && path_below(m->root, o->root))
			return o->mountpoint;
	return NULL;
}

static const ProtobufCMessage *get_mount(const void *src, size_t i, void *scratch)
{
	const struct mount_entry *m = mount_table_get(src, i);
	struct mount_scratch *s = scratch;
	MntEntry *e = &s->entry;
	const struct mount_entry *walked;
	struct mount_dump_view view;

	mnt_entry__init(e);
	e->mnt_id = mount_entry_key(m);
	e->has_parent_id = true;
	e->parent_id = m->parent ? mount_entry_key(m->parent) : e->mnt_id;
	e->has_mnt_id_old = e->has_parent_id_old = true;
	e->mnt_id_old = m->mnt_id_old;
	e->parent_id_old = m->parent_id_old;
	e->has_dev_major = e->has_dev_minor = true;
	e->dev_major = m->dev_major;
	e->dev_minor = m->dev_minor;
	e->root = (char *)m->root;
	if (m->root_deleted) {
		e->has_root_deleted = e->has_root_mode = e->has_root_uid = e->has_root_gid = true;
		e->root_deleted = true;
		e->root_mode = m->root_mode;
		e->root_uid = m->root_uid;
		e->root_gid = m->root_gid;
	}
	e->mountpoint = (char *)m->mountpoint;
	e->fstype = (char *)m->fstype;
	e->source = (char *)m->source;
	e->options = (char *)m->options;
	e->has_mnt_attr = e->has_propagation = e->has_sb_flags = e->has_ns_id = true;
	e->mnt_attr = m->mnt_attr;
	e->propagation = propagation_of(m->propagation);
	e->sb_flags = m->sb_flags;
	e->ns_id = s->ns_key;
	if (m->shared_id) {
		e->has_shared_id = true;
		e->shared_id = m->shared_id;
		e->shared_mountpoint = (char *)group_in_own(s, m, m->shared_id);
	}
	if (m->master_id) {
		e->has_master_id = true;
		e->master_id = m->master_id;
		e->master_mountpoint = (char *)group_in_own(s, m, m->master_id);
	}
	walked = walked_of(s, m);
	view = (struct mount_dump_view){
	    .m = m,
	    .sb_is_live = s->own && mount_table_find_dev(s->own, m->dev_major, m->dev_minor),
	    .contents_dumped = walked != NULL,
	};
	e->has_kind = true;
	e->kind = mount_kind_recognise(&view)->kind;
	if (walked) {
		e->has_contents_dumped = true;
		e->contents_dumped = walked == m;
		e->has_contents_id = true;
		e->contents_id = mount_entry_key(walked);
		e->contents_root = (char *)walked->root;
	}
	return &e->base;
}

int dump_write_mounts(int img_dirfd, const struct mount_table *table, uint64_t ns_key,
		      const struct mount_table *own, const struct mount_entry *const *walked,
		      size_t n_walked)
{
	struct mount_scratch s = {
	    .ns_key = ns_key,
	    .own = own,
	    .own_is_tree = own == table,
	    .walked = walked,
	    .n_walked = n_walked,
	};

	return write_records(img_dirfd, IMAGE_MNT, ns_key, mount_table_size(table), get_mount,
			     table, &s);
}

/* ---- pstree.img ---- */

struct pstree_scratch {
	PstreeEntry entry;
	const uint64_t *ns_keys;
	const struct dump_cgroups *cgroups;
	int32_t *tids;
};

static const ProtobufCMessage *get_task(const void *src, size_t i, void *scratch)
{
	const struct seize_task *t = &((const struct seize_tree *)src)->tasks[i];
	struct pstree_scratch *s = scratch;
	PstreeEntry *e = &s->entry;
	size_t n = 0;

	pstree_entry__init(e);
	e->pid = t->pid;
	e->has_ppid = e->has_pgid = e->has_sid = e->has_mnt_ns_id = true;
	e->ppid = i == 0 ? 0 : t->ppid;
	e->pgid = t->pgid;
	e->sid = t->sid;
	e->mnt_ns_id = s->ns_keys[i];
	e->comm = (char *)t->comm;
	e->has_files_owner = t->files_owner != 0;
	e->files_owner = t->files_owner;
	/* The main thread first, then the others in ascending order. */
	s->tids[n++] = t->pid;
	for (size_t k = 0; k < t->n_tids; k++)
		if (t->tids[k] != t->pid)
			s->tids[n++] = t->tids[k];
	e->n_threads = n;
	e->threads = s->tids;
	if (s->cgroups)
		e->n_cgroups = dump_cgroups_of(s->cgroups, i, &e->cgroups);
	return &e->base;
}

int dump_write_pstree(int img_dirfd, const struct seize_tree *tree, const uint64_t *ns_keys,
		      const struct dump_cgroups *cgroups)
{
	struct pstree_scratch s = {.ns_keys = ns_keys, .cgroups = cgroups};
	size_t max_tids = 1;
	int ret;

	for (size_t i = 0; i < tree->n_tasks; i++)
		if (tree->tasks[i].n_tids + 1 > max_tids)
			max_tids = tree->tasks[i].n_tids + 1;
	s.tids = calloc(max_tids, sizeof(*s.tids));
	if (!s.tids)
		return pr_neg(-ENOMEM, "cannot allocate the process tree records");
	ret = write_records(img_dirfd, IMAGE_PSTREE, 0, tree->n_tasks, get_task, tree, &s);
	free(s.tids);
	return ret;
}

/* ---- inventory.img ---- */

int dump_write_inventory(int img_dirfd, pid_t root_pid, const struct kerndat *kd,
			 struct mount_table *const *tables, size_t n_tables, uint64_t own_ns_key)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	KernelFeaturesEntry features = KERNEL_FEATURES_ENTRY__INIT;
	cleanup_free uint64_t *ns_ids = NULL;
	struct timespec ts;

	ns_ids = calloc(n_tables + 1, sizeof(*ns_ids));
	if (!ns_ids)
		return pr_neg(-ENOMEM, "cannot allocate the inventory");
	for (size_t i = 0; i < n_tables; i++)
		ns_ids[i] = mount_table_ns_id(tables[i]) ? mount_table_ns_id(tables[i])
							  : mount_table_ns_ino(tables[i]);

	features.has_statmount = features.has_statmount_by_fd = features.has_listmount = true;
	features.statmount = kd->statmount;
	features.statmount_by_fd = kd->statmount_by_fd;
	features.listmount = kd->listmount;
	features.has_mnt_id_unique = features.has_file_handles = true;
	features.mnt_id_unique = kd->statx_mnt_id_unique;
	features.file_handles = kd->file_handles;
	features.has_pidfd_getfd = features.has_rseq = true;
	features.pidfd_getfd = kd->pidfd_getfd;
	features.rseq = kd->rseq;

	clock_gettime(CLOCK_REALTIME, &ts);
	inv.format_version = IMAGE_FORMAT_VERSION;
	inv.has_root_pid = inv.has_dump_time_ns = inv.has_root_mnt_ns_id = true;
	inv.root_pid = root_pid;
	inv.kernel_release = (char *)kd->release;
	inv.features = &features;
	inv.dump_time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	inv.minicr_version = (char *)PACKAGE_VERSION;
	inv.n_mnt_ns_ids = n_tables;
	inv.mnt_ns_ids = ns_ids;
	inv.root_mnt_ns_id = own_ns_key;
	return image_write_single(img_dirfd, IMAGE_INVENTORY, 0, &inv.base);
}
