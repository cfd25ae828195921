/* fd/dump.c: the fd table of a frozen task to FdEntry and FileEntry records: probe every fd,
 * classify it through the kind registry, group the fds that share an open file description,
 * and let the kind of each new description fill its record. */
#define LOG_PREFIX "fd: "
#include "fd/dump.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/compat.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"
#include "fd/dump-data.h"
#include "fd/identity.h"
#include "fd/kind.h"
#include "fd/locks.h"
#include "fd/probe.h"

/* One open file description: its record and the generic sub-record kinds share. */
struct fd_file {
	FileEntry fe;
	FownEntry fown;
};

struct fd_dump_ctx {
	struct fd_dump_callbacks cb;
	struct fd_file **files; /* files[i] has id i + 1 */
	size_t n_files, cap_files;
	struct fd_identity *identity; /* which fds share a file, across the tree */
	struct fd_data_dump *data;    /* contents and pipe buffers */
	struct fd_locks_dump *locks;  /* locks and leases */
	struct arena arena;	      /* records and strings of the kinds */
	struct fd_mount_ref mount_ref; /* the resolver's answer, reused */
	struct hmap kept;	       /* fd_dump_keep(): (tag, key) -> value */
	struct {
		FdType type;
		void *state;
	} kind_state[8]; /* fd_dump_kind_state() */
	size_t n_kind_state;
	bool ended;
	const struct fd_params *task_fds; /* the task being dumped */
	size_t n_task_fds;
	struct {
		void (*fn)(void *arg, bool tree_runs_on);
		void *arg;
	} * deferred;
	size_t n_deferred;
};

struct fd_dump_ctx *fd_dump_ctx_new(const struct fd_dump_callbacks *cb)
{
	struct fd_dump_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->cb = *cb;
	ctx->identity = fd_identity_new();
	ctx->data = fd_data_dump_new(cb->data_sink, cb->opaque);
	ctx->locks = fd_locks_dump_new();
	if (!ctx->identity || !ctx->data || !ctx->locks)
		return fd_dump_ctx_free(ctx);
	return ctx;
}

void fd_dump_prefetch(struct fd_dump_ctx *ctx)
{
	fd_locks_dump_prefetch(ctx->locks);
}

struct fd_dump_ctx *fd_dump_ctx_free(struct fd_dump_ctx *ctx)
{
	if (!ctx)
		return NULL;
	fd_dump_end(ctx, false);
	for (size_t i = ctx->n_deferred; i-- > 0;)
		ctx->deferred[i].fn(ctx->deferred[i].arg, false);
	free(ctx->deferred);
	free(ctx->files);
	fd_identity_free(ctx->identity);
	fd_data_dump_free(ctx->data);
	fd_locks_dump_free(ctx->locks);
	hmap_clear(&ctx->kept);
	arena_free(&ctx->arena);
	free(ctx);
	return NULL;
}

size_t fd_dump_ctx_n_files(const struct fd_dump_ctx *ctx)
{
	return ctx->n_files;
}

const FileEntry *fd_dump_ctx_file(const struct fd_dump_ctx *ctx, size_t i)
{
	if (i >= ctx->n_files)
		return NULL;
	return &ctx->files[i]->fe;
}

void *fd_dump_alloc(struct fd_dump_ctx *ctx, size_t size)
{
	return arena_alloc(&ctx->arena, size);
}

char *fd_dump_strdup(struct fd_dump_ctx *ctx, const char *s)
{
	return arena_strdup(&ctx->arena, s);
}

size_t fd_dump_n_files(const struct fd_dump_ctx *ctx)
{
	return ctx->n_files;
}

const FileEntry *fd_dump_file(const struct fd_dump_ctx *ctx, size_t i)
{
	return fd_dump_ctx_file(ctx, i);
}

bool fd_dump_shell_job(const struct fd_dump_ctx *ctx)
{
	return ctx->cb.shell_job;
}

int fd_dump_defer(struct fd_dump_ctx *ctx, void (*fn)(void *arg, bool tree_runs_on), void *arg)
{
	void *more = reallocarray(ctx->deferred, ctx->n_deferred + 1, sizeof(*ctx->deferred));

	if (!more) {
		fn(arg, true);
		return pr_neg(-ENOMEM, "cannot keep a dump step to undo");
	}
	ctx->deferred = more;
	ctx->deferred[ctx->n_deferred].fn = fn;
	ctx->deferred[ctx->n_deferred].arg = arg;
	ctx->n_deferred++;
	return 0;
}

void fd_dump_release(struct fd_dump_ctx *ctx)
{
	if (!ctx)
		return;
	/* last taken, first put back */
	for (size_t i = ctx->n_deferred; i-- > 0;)
		ctx->deferred[i].fn(ctx->deferred[i].arg, true);
	ctx->n_deferred = 0;
}


int fd_dump_keep(struct fd_dump_ctx *ctx, uint64_t tag, uint64_t key, uint64_t value)
{
	if (hmap_put(&ctx->kept, tag, key, (size_t)value) < 0)
		return pr_neg(-ENOMEM, "cannot keep a value for the dump");
	return 0;
}

int fd_dump_lookup(const struct fd_dump_ctx *ctx, uint64_t tag, uint64_t key, uint64_t *ret_value)
{
	struct hmap_slot *s = hmap_find(&ctx->kept, tag, key);

	if (!s)
		return -ENOENT;
	*ret_value = s->value;
	return 0;
}

/* A new file record with id n_files + 1; NULL on ENOMEM. */
static struct fd_file *file_new(struct fd_dump_ctx *ctx)
{
	struct fd_file *f;

	if (ctx->n_files == ctx->cap_files) {
		size_t cap = ctx->cap_files ? ctx->cap_files * 2 : 256;
		struct fd_file **files = reallocarray(ctx->files, cap, sizeof(*files));

		if (!files)
			return NULL;
		ctx->files = files;
		ctx->cap_files = cap;
	}
	f = fd_dump_alloc(ctx, sizeof(*f));
	if (!f)
		return NULL;
	f->fe = (FileEntry)FILE_ENTRY__INIT;
	f->fown = (FownEntry)FOWN_ENTRY__INIT;
	ctx->files[ctx->n_files++] = f;
	f->fe.id = (uint32_t)ctx->n_files;
	return f;
}

/* ---- helpers for the kinds ----------------------------------------------------------------- */

int fd_dump_reg_path(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	struct fd_mount_ref *ref = &ctx->mount_ref;
	RegFileEntry *reg;
	int r;

	memset(ref, 0, offsetof(struct fd_mount_ref, path) + 1);
	r = ctx->cb.resolve_mount(ctx->cb.opaque, p->pid, p->fd, p->local_fd, p->info.mnt_id,
				  p->mnt_id_unique, p->link, ref);
	if (r < 0)
		return r;
	reg = FD_DUMP_NEW(ctx, RegFileEntry, REG_FILE_ENTRY__INIT);
	if (!reg)
		return -ENOMEM;
	reg->path = fd_dump_strdup(ctx, ref->path);
	if (!reg->path)
		return -ENOMEM;
	reg->has_mnt_id = reg->has_mnt_id_old = reg->has_detached = true;
	reg->mnt_id = ref->mnt_id;
	reg->mnt_id_old = ref->mnt_id_old;
	reg->detached = ref->detached;
	if (ref->is_mount_fd) {
		reg->has_mount_fd = true;
		reg->mount_fd = true;
	}
	if (ref->mnt_ns_id) {
		reg->has_mnt_ns_id = true;
		reg->mnt_ns_id = ref->mnt_ns_id;
	}
	reg->has_dev = reg->has_ino = reg->has_size = reg->has_mode = true;
	reg->dev = p->st.st_dev;
	reg->ino = p->st.st_ino;
	reg->size = (uint64_t)p->st.st_size;
	reg->mode = p->st.st_mode;
	if (S_ISCHR(p->st.st_mode) || S_ISBLK(p->st.st_mode)) {
		reg->has_rdev = true;
		reg->rdev = p->st.st_rdev;
	}
	if (p->is_deleted) {
		reg->has_unlinked = true;
		reg->unlinked = true;
	}
	fe->reg = reg;
	return 0;
}

int fd_params_fdinfo(struct fd_dump_ctx *ctx, const struct fd_params *p, const char **ret_text,
		     size_t *ret_len)
{
	if (p->fdinfo && !p->fdinfo_is_head) {
		*ret_text = p->fdinfo;
		*ret_len = p->fdinfo_len;
		return 0;
	}
	return fd_params_fdinfo_now(ctx, p, ret_text, ret_len);
}

int fd_params_fdinfo_now(struct fd_dump_ctx *ctx, const struct fd_params *p, const char **ret_text,
			 size_t *ret_len)
{
	char path[64];
	cleanup_free char *text = NULL;
	char *copy;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", p->local_fd);
	len = read_file_at(AT_FDCWD, path, &text);
	if (len < 0) {
		errno = (int)-len;
		return pr_errno("cannot read the fdinfo of fd %d of task %d", p->fd, (int)p->pid);
	}
	copy = fd_dump_alloc(ctx, (size_t)len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, (size_t)len + 1);
	*ret_text = copy;
	*ret_len = (size_t)len;
	return 0;
}

int fd_dump_open_mount(struct fd_dump_ctx *ctx, uint32_t mnt_id_old, uint32_t major, uint32_t minor)
{
	if (!ctx->cb.open_mount)
		return -ENOENT;
	return ctx->cb.open_mount(ctx->cb.opaque, mnt_id_old, major, minor);
}

size_t fd_dump_task_fds(const struct fd_dump_ctx *ctx, const struct fd_params **ret)
{
	*ret = ctx->task_fds;
	return ctx->n_task_fds;
}

int64_t fd_dump_contents(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t owner_id)
{
	return fd_data_dump_file(ctx->data, p, owner_id);
}

int fd_dump_pipe_data(struct fd_dump_ctx *ctx, const struct fd_params *p, uint64_t pipe_id)
{
	return fd_data_dump_pipe(ctx->data, p, pipe_id);
}

int fd_dump_data(struct fd_dump_ctx *ctx, const FileDataEntry *entry)
{
	return ctx->cb.data_sink(ctx->cb.opaque, entry);
}

void **fd_dump_kind_state(struct fd_dump_ctx *ctx, FdType type)
{
	for (size_t i = 0; i < ctx->n_kind_state; i++)
		if (ctx->kind_state[i].type == type)
			return &ctx->kind_state[i].state;
	/* one slot per kind type: the registry has far fewer kinds than slots */
	assert(ctx->n_kind_state < ARRAY_SIZE(ctx->kind_state));
	ctx->kind_state[ctx->n_kind_state].type = type;
	return &ctx->kind_state[ctx->n_kind_state++].state;
}

bool fd_dump_tcp_established(const struct fd_dump_ctx *ctx)
{
	return ctx->cb.tcp_established;
}

int fd_dump_finish(struct fd_dump_ctx *ctx)
{
	size_t n;
	const struct fd_kind *const *kinds = fd_kind_all(&n);

	for (size_t i = 0; i < ctx->n_files; i++) {
		FileEntry *fe = &ctx->files[i]->fe;
		const struct fd_kind *kind = fd_kind_by_type(fe->type);
		int r;

		if (kind && kind->dump_finish_file && (r = kind->dump_finish_file(ctx, fe)) < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		int r = kinds[i]->dump_finish ? kinds[i]->dump_finish(ctx) : 0;

		if (r < 0)
			return r;
	}
	/* every lock a task of the tree holds was found on one of its fds */
	return fd_locks_dump_finish(ctx->locks);
}

void fd_dump_end(struct fd_dump_ctx *ctx, bool tree_dies)
{
	size_t n;
	const struct fd_kind *const *kinds = fd_kind_all(&n);

	if (ctx->ended)
		return;
	ctx->ended = true;
	for (size_t i = 0; i < n; i++)
		if (kinds[i]->dump_end)
			kinds[i]->dump_end(ctx, tree_dies);
}

/* ---- classification ------------------------------------------------------------------------ */

/* What no kind recognises is named after its link: "socket:[5]" is a 'socket',
 * "anon_inode:[io_uring]" an 'io_uring', "anon_inode:bpf-map" a 'bpf-map'. */
static void unknown_kind_name(const struct fd_params *p, char *buf, size_t size)
{
	const char *colon = strchr(p->link, ':');

	if (p->link[0] != '/' && colon && strncmp(p->link, "anon_inode:", 11) == 0) {
		const char *name = p->link + 11;
		size_t len = strlen(name);

		if (len >= 2 && name[0] == '[' && name[len - 1] == ']')
			snprintf(buf, size, "%.*s", (int)(len - 2), name + 1);
		else
			snprintf(buf, size, "%s", name);
	} else if (p->link[0] != '/' && colon) {
		snprintf(buf, size, "%.*s", (int)(colon - p->link), p->link);
	} else {
		snprintf(buf, size, "unknown");
	}
}

static const struct fd_kind *classify(const struct fd_params *p)
{
	const struct fd_kind *kind = fd_kind_recognise(p);

	if (!kind) {
		char name[64];

		unknown_kind_name(p, name, sizeof(name));
		pr_err("cannot dump fd %d of task %d: unsupported kind '%s' (%s)", p->fd,
		       (int)p->pid, name, p->link);
	}
	return kind;
}

/* ---- dump ----------------------------------------------------------------------------------- */

/* Builds the record of a new open file through its kind. */
static int dump_new_file(struct fd_dump_ctx *ctx, const struct fd_kind *kind,
			 const struct fd_params *p, struct fd_file **ret_file)
{
	struct fd_file *f = file_new(ctx);
	int r;

	if (!f) {
		errno = ENOMEM;
		return pr_errno("cannot dump fd %d of task %d", p->fd, (int)p->pid);
	}
	f->fe.type = kind->type;
	f->fe.has_flags = true;
	f->fe.flags = p->info.flags;
	f->fe.has_pos = true;
	f->fe.pos = p->info.pos;
	/* The owner gets the O_ASYNC signals and those of a lease breaking: read it for
	 * files with either (a lease is on an inode /proc/locks names). */
	if (!(p->info.flags & O_PATH) &&
	    ((p->info.flags & O_ASYNC) || fd_locks_dump_maybe(ctx->locks, p->st.st_ino))) {
		struct f_owner_ex owner;
		int sig;

		if (fcntl(p->local_fd, F_GETOWN_EX, &owner) < 0 ||
		    (sig = fcntl(p->local_fd, F_GETSIG)) < 0) {
			ctx->n_files--;
			return pr_errno("cannot read the owner of fd %d of task %d", p->fd,
					(int)p->pid);
		}
		if ((p->info.flags & O_ASYNC) || owner.pid || sig) {
			f->fown.has_pid_type = f->fown.has_pid = f->fown.has_signum = true;
			f->fown.pid_type = (uint32_t)owner.type;
			f->fown.pid = owner.pid;
			f->fown.signum = (uint32_t)sig;
			f->fe.fown = &f->fown;
		}
	}
	r = kind->dump(ctx, p, &f->fe);
	if (r < 0) {
		ctx->n_files--;
		return r;
	}
	*ret_file = f;
	return 0;
}

static void params_of(const struct fd_probe *probe, pid_t pid, const struct fd_local *l,
		      struct fd_params *p)
{
	*p = (struct fd_params){
	    .pid = pid,
	    .fd = l->fd,
	    .local_fd = l->local_fd,
	    .st = probe->st,
	    .info = probe->info,
	    .mnt_id_unique = probe->mnt_id_unique,
	    .link = probe->link,
	    .is_deleted = probe->is_deleted,
	    .fs_type = probe->fs_type,
	    .fdinfo = probe->fdinfo,
	    .fdinfo_len = probe->fdinfo_len,
	    .sock_family = probe->sock_family,
	    .sock_type = probe->sock_type,
	    .sock_protocol = probe->sock_protocol,
	    .fdinfo_is_head = probe->fdinfo_is_head,
	};
	p->info.flags &= ~(uint32_t)O_CLOEXEC;
}

/* Where files that may share one open file description meet: same inode, offset, flags and
 * the kind's own identity (dup'd and inherited fds agree on all of them; anon inodes of one
 * kind are one inode). */
static void identity_key(const struct fd_params *p, const struct fd_kind *kind,
			 uint64_t ret_key[2])
{
	uint64_t extra = kind->identity ? kind->identity(p) : 0;

	ret_key[0] = fd_inode_key(p->st.st_dev, p->st.st_ino);
	ret_key[1] = (p->info.pos * 0xff51afd7ed558ccdULL ^ p->info.flags ^ (uint64_t)kind->type
		      << 40) + extra * 0xc4ceb9fe1a85ec53ULL;
}

/* Fills ret for fd i; a new open file (no earlier file) gets its record and *file_of set. */
static int dump_one_fd(struct fd_dump_ctx *ctx, const struct fd_local *l,
		       const struct fd_params *p, const struct fd_kind *kind, bool cloexec,
		       size_t file, size_t *file_of, FdEntry *ret)
{
	struct fd_file *f;

	if (file != FD_IDENTITY_NONE) {
		f = ctx->files[file];
	} else {
		int r = dump_new_file(ctx, kind, p, &f);

		if (r < 0)
			return r;
		*file_of = ctx->n_files - 1;
	}
	*ret = (FdEntry)FD_ENTRY__INIT;
	ret->fd = l->fd;
	ret->file_id = f->fe.id;
	ret->has_type = true;
	ret->type = f->fe.type;
	ret->has_cloexec = true;
	ret->cloexec = cloexec;
	return 0;
}

struct task_fds {
	struct fd_params *params;
	const struct fd_kind **kinds;
	size_t *file, *first, *file_of;
	uint64_t (*keys)[2];
};

static void task_fds_free(struct task_fds *t)
{
	free(t->params);
	free(t->kinds);
	free(t->file);
	free(t->first);
	free(t->file_of);
	free(t->keys);
}

static int task_fds_alloc(struct task_fds *t, size_t n)
{
	size_t k = n ? n : 1;

	t->params = calloc(k, sizeof(*t->params));
	t->kinds = calloc(k, sizeof(*t->kinds));
	t->file = malloc(k * sizeof(*t->file));
	t->first = malloc(k * sizeof(*t->first));
	t->file_of = malloc(k * sizeof(*t->file_of));
	t->keys = malloc(k * sizeof(*t->keys));
	return t->params && t->kinds && t->file && t->first && t->file_of && t->keys ? 0
										      : -ENOMEM;
}

int fd_dump_task(struct fd_dump_ctx *ctx, pid_t pid, const struct fd_local *fds, size_t n_fds,
		 FdEntry **ret_entries)
{
	cleanup_close int fd_dirfd = -EBADF, fdinfo_dirfd = -EBADF;
	cleanup(fd_probe_set_freep) struct fd_probe_set *probes = NULL;
	cleanup_free FdEntry *entries = NULL;
	struct task_fds t = {0};
	struct fd_identity_task task = {.pid = pid, .n_fds = n_fds, .fds = fds};
	struct progress progress;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fd_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_dirfd < 0)
		return pr_errno("cannot open '%s'", path);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	fdinfo_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdinfo_dirfd < 0)
		return pr_errno("cannot open '%s'", path);
	entries = calloc(n_fds ? n_fds : 1, sizeof(*entries));
	if (!entries || task_fds_alloc(&t, n_fds) < 0) {
		r = pr_neg(-ENOMEM, "cannot dump the fds of task %d", (int)pid);
		goto out;
	}
	r = fd_probe_task(pid, fd_dirfd, fdinfo_dirfd, fds, n_fds, &probes);
	if (r < 0)
		goto out;
	r = fd_locks_dump_load(ctx->locks);
	if (r == 0)
		r = fd_locks_dump_task(ctx->locks, pid);
	if (r < 0)
		goto out;
	/* step 1: what each fd is, in fd order so the first failure is the one logged */
	for (size_t i = 0; i < n_fds; i++) {
		const struct fd_probe *probe = fd_probe_at(probes, i);

		if (probe->failed) {
			r = fd_probe_report(probe, pid, fds[i].fd);
			goto out;
		}
		params_of(probe, pid, &fds[i], &t.params[i]);
		t.kinds[i] = classify(&t.params[i]);
		if (!t.kinds[i]) {
			r = -ENOTSUP;
			goto out;
		}
		identity_key(&t.params[i], t.kinds[i], t.keys[i]);
	}
	/* step 2: which fds share an open file, within the task and with earlier tasks' files */
	task.keys = (const uint64_t(*)[2])t.keys;
	r = fd_identity_sort(ctx->identity, &task, t.file, t.first);
	/* step 3: in fd order, each open file's record is made at its first fd */
	progress_start(&progress, "fds dumped", "fds", n_fds, 1);
	ctx->task_fds = t.params;
	ctx->n_task_fds = n_fds;
	for (size_t i = 0; i < n_fds && r == 0; i++) {
		size_t f = t.file[i] != FD_IDENTITY_NONE ? t.file[i]
			   : t.first[i] != i		  ? t.file_of[t.first[i]]
							  : FD_IDENTITY_NONE;
		/* the parasite's FD_CLOEXEC, else fdinfo's O_CLOEXEC */
		bool cloexec = fds[i].cloexec >= 0
				   ? fds[i].cloexec > 0
				   : (fd_probe_at(probes, i)->info.flags & O_CLOEXEC) != 0;

		r = dump_one_fd(ctx, &fds[i], &t.params[i], t.kinds[i], cloexec, f, &t.file_of[i],
				&entries[i]);
		if (r == 0 && fd_locks_dump_maybe(ctx->locks, t.params[i].st.st_ino)) {
			bool is_new = f == FD_IDENTITY_NONE;

			r = fd_locks_dump_fd(ctx->locks, ctx, &t.params[i],
					     &ctx->files[is_new ? t.file_of[i] : f]->fe, is_new);
		}
		progress_add(&progress, 1);
	}
	progress_end(&progress);
	ctx->task_fds = NULL;
	ctx->n_task_fds = 0;
	if (r == 0)
		r = fd_identity_commit(ctx->identity, &task, t.file_of);
	if (r == 0)
		*ret_entries = TAKE_PTR(entries);
out:
	task_fds_free(&t);
	return r;
}

/* ---- cwd and root ------------------------------------------------------------------------ */

/* cwd or root of pid as a new directory record. */
static int dump_fs_dir(struct fd_dump_ctx *ctx, pid_t pid, const char *which, uint32_t *ret_id)
{
	char path[64], link[PATH_MAX];
	struct fd_params p = {.pid = pid, .fd = -1, .link = link};
	cleanup_close int dirfd = -EBADF;
	const struct fd_kind *kind;
	struct statx stx;
	struct fd_file *f;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return pr_errno("cannot open the %s of task %d", which, (int)pid);
	p.local_fd = dirfd;
	r = fd_probe_read_link(AT_FDCWD, path, link, sizeof(link), &p.is_deleted);
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot read the %s link of task %d", which, (int)pid);
	}
	if (fstat(dirfd, &p.st) < 0)
		return pr_errno("cannot stat the %s of task %d", which, (int)pid);
	if (p.is_deleted && p.st.st_nlink > 0) {
		char root[64];

		snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
		if (!fd_probe_really_deleted(AT_FDCWD, root, link, &p.st)) {
			strcat(link, " (deleted)");
			p.is_deleted = false;
		}
	}
	if (statx(dirfd, "", AT_EMPTY_PATH, STATX_MNT_ID | STATX_MNT_ID_UNIQUE, &stx) < 0)
		return pr_errno("cannot read the mount id of the %s of task %d", which, (int)pid);
	if (stx.stx_mask & STATX_MNT_ID_UNIQUE)
		p.mnt_id_unique = stx.stx_mnt_id;
	else
		p.info.mnt_id = (uint32_t)stx.stx_mnt_id;
	p.info.flags = O_PATH | O_DIRECTORY;
	kind = classify(&p);
	if (!kind)
		return -ENOTSUP;
	r = dump_new_file(ctx, kind, &p, &f);
	if (r < 0)
		return r;
	*ret_id = f->fe.id;
	return 0;
}

int fd_dump_fs(struct fd_dump_ctx *ctx, pid_t pid, FsEntry *ret)
{
	FsEntry fs = FS_ENTRY__INIT;
	int r;

	fs.pid = pid;
	r = dump_fs_dir(ctx, pid, "cwd", &fs.cwd_file_id);
	if (r < 0)
		return r;
	r = dump_fs_dir(ctx, pid, "root", &fs.root_file_id);
	if (r < 0)
		return r;
	r = fd_task_umask(pid, &fs.umask);
	if (r < 0)
		return r;
	fs.has_cwd_file_id = fs.has_root_file_id = fs.has_umask = true;
	*ret = fs;
	return 0;
}
