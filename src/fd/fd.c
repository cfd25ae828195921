/* fd.c: the fd table of a task: list, fdinfo, classification, shared-file identity, and the
 * dispatch of dump and restore through the fd kind tables. */
#define LOG_PREFIX "fd: "
#include "fd/fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compat.h"
#include "fd/identity.h"
#include "fd/probe.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif

/* Kinds tried in order: the specific ones before the catch-all reg. */
static const struct fd_type_ops *const fd_kinds[] = {
    &fd_pipe_ops, &fd_fifo_ops, &fd_memfd_ops, &fd_eventfd_ops, &fd_chrdev_ops, &fd_reg_ops,
};

static const struct fd_type_ops *fd_kind_by_type(FdType type)
{
	for (size_t i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->type == type)
			return fd_kinds[i];
	return NULL;
}

/* ---- dump state ------------------------------------------------------------------------------ */

#define NO_NODE	    SIZE_MAX
#define SLAB_FILES  1024
#define ARENA_BLOCK 65536

/* One open file description: its record and where it was first seen. */
struct fd_file {
	FileEntry fe;
	FownEntry fown;
	RegFileEntry reg;
	PipeFileEntry pipe;
	MemfdFileEntry memfd;
	EventfdFileEntry eventfd;
};

struct arena_block {
	struct arena_block *next;
	size_t used;
	char data[];
};

struct fd_dump_ctx {
	struct fd_dump_callbacks cb;
	struct fd_file **slabs; /* files[i] = slabs[i / SLAB_FILES][i % SLAB_FILES] */
	size_t n_slabs;
	size_t n_files;
	struct fd_identity *identity; /* which fds share a file, across the tree */
	struct hmap pipes_dumped; /* (pipe_id, 0) -> 0 */
	struct arena_block *arena;
	char *buf; /* FD_DATA_CHUNK_MAX bytes, allocated on first use */
	int scratch_pipe[2];
	int scratch_pipe_size;
	struct fd_mount_ref mount_ref; /* the resolver's answer, reused */
};

struct fd_dump_ctx *fd_dump_ctx_new(const struct fd_dump_callbacks *cb)
{
	struct fd_dump_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->cb = *cb;
	ctx->scratch_pipe[0] = ctx->scratch_pipe[1] = -EBADF;
	ctx->identity = fd_identity_new();
	if (!ctx->identity) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

struct fd_dump_ctx *fd_dump_ctx_free(struct fd_dump_ctx *ctx)
{
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < ctx->n_slabs; i++)
		free(ctx->slabs[i]);
	free(ctx->slabs);
	fd_identity_free(ctx->identity);
	hmap_clear(&ctx->pipes_dumped);
	while (ctx->arena) {
		struct arena_block *next = ctx->arena->next;

		free(ctx->arena);
		ctx->arena = next;
	}
	free(ctx->buf);
	closep(&ctx->scratch_pipe[0]);
	closep(&ctx->scratch_pipe[1]);
	free(ctx);
	return NULL;
}

static struct fd_file *file_at(const struct fd_dump_ctx *ctx, size_t i)
{
	return &ctx->slabs[i / SLAB_FILES][i % SLAB_FILES];
}

size_t fd_dump_ctx_n_files(const struct fd_dump_ctx *ctx)
{
	return ctx->n_files;
}

const FileEntry *fd_dump_ctx_file(const struct fd_dump_ctx *ctx, size_t i)
{
	if (i >= ctx->n_files)
		return NULL;
	return &file_at(ctx, i)->fe;
}

/* A new file record with id n_files + 1; NULL on ENOMEM. */
static struct fd_file *file_new(struct fd_dump_ctx *ctx, size_t *ret_index)
{
	struct fd_file *f;

	if (ctx->n_files == ctx->n_slabs * SLAB_FILES) {
		struct fd_file **slabs = realloc(ctx->slabs, (ctx->n_slabs + 1) * sizeof(*slabs));

		if (!slabs)
			return NULL;
		ctx->slabs = slabs;
		slabs[ctx->n_slabs] = malloc(SLAB_FILES * sizeof(struct fd_file));
		if (!slabs[ctx->n_slabs])
			return NULL;
		ctx->n_slabs++;
	}
	*ret_index = ctx->n_files;
	f = file_at(ctx, ctx->n_files++);
	*f = (struct fd_file){
	    .fe = FILE_ENTRY__INIT,
	    .fown = FOWN_ENTRY__INIT,
	    .reg = REG_FILE_ENTRY__INIT,
	    .pipe = PIPE_FILE_ENTRY__INIT,
	    .memfd = MEMFD_FILE_ENTRY__INIT,
	    .eventfd = EVENTFD_FILE_ENTRY__INIT,
	};
	f->fe.id = (uint32_t)ctx->n_files;
	return f;
}

/* Drops the file just made by file_new() (its dump failed). */
static void file_drop_last(struct fd_dump_ctx *ctx)
{
	ctx->n_files--;
}

char *fd_dump_strdup(struct fd_dump_ctx *ctx, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if (!ctx->arena || ARENA_BLOCK - ctx->arena->used < len) {
		size_t size = len > ARENA_BLOCK ? len : ARENA_BLOCK;
		struct arena_block *b = malloc(sizeof(*b) + size);

		if (!b)
			return NULL;
		b->used = 0;
		b->next = ctx->arena;
		ctx->arena = b;
	}
	p = ctx->arena->data + ctx->arena->used;
	ctx->arena->used += len;
	memcpy(p, s, len);
	return p;
}

/* ---- shared open file descriptions -------------------------------------------------------- */

/* Where files that may share one open file description meet: same inode, offset, flags and
 * eventfd id (dup'd and inherited fds agree on all of them; anon inodes are one inode). */
static void identity_key(const struct fd_probe *probe, uint64_t ret_key[2])
{
	uint32_t flags = probe->info.flags & ~(uint32_t)O_CLOEXEC;

	ret_key[0] = fd_inode_key(probe->st.st_dev, probe->st.st_ino);
	ret_key[1] = probe->info.pos * 0xff51afd7ed558ccdULL ^ flags ^
		     (uint64_t)probe->info.eventfd_id << 32;
}

/* ---- classification ---------------------------------------------------------------------- */

static bool is_tty_major(unsigned int maj)
{
	/* 4, 5: tty/console; 136-143: pts */
	return maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

/* A short name for a kind minicr does not dump, for the error message. */
static void unsupported_kind_name(const struct fd_params *p, char *buf, size_t size)
{
	static const struct {
		const char *link, *name;
	} anon[] = {
	    {"anon_inode:[eventpoll]", "epoll"},	 {"anon_inode:inotify", "inotify"},
	    {"anon_inode:[fanotify]", "fanotify"},	 {"anon_inode:[timerfd]", "timerfd"},
	    {"anon_inode:[signalfd]", "signalfd"},	 {"anon_inode:[pidfd]", "pidfd"},
	    {"anon_inode:[io_uring]", "io_uring"},	 {"anon_inode:bpf-map", "bpf-map"},
	    {"anon_inode:[userfaultfd]", "userfaultfd"},
	};
	const char *colon;

	if (S_ISSOCK(p->st.st_mode)) {
		snprintf(buf, size, "socket");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(anon); i++) {
		if (strcmp(p->link, anon[i].link) == 0) {
			snprintf(buf, size, "%s", anon[i].name);
			return;
		}
	}
	if (S_ISCHR(p->st.st_mode) && is_tty_major(major(p->st.st_rdev))) {
		snprintf(buf, size, "tty");
		return;
	}
	if (S_ISBLK(p->st.st_mode)) {
		snprintf(buf, size, "block device");
		return;
	}
	if (p->is_deleted && strncmp(p->link, "/memfd:", 7) == 0) {
		snprintf(buf, size, "hugetlbfs memfd");
		return;
	}
	if (p->is_deleted && S_ISDIR(p->st.st_mode)) {
		snprintf(buf, size, "removed directory");
		return;
	}
	if (p->is_deleted && p->st.st_nlink > 0) {
		snprintf(buf, size, "removed path of a linked file");
		return;
	}
	/* "anon_inode:[x]", "pidfd:[n]", "net:[n]": the text before the colon */
	colon = strchr(p->link, ':');
	if (p->link[0] != '/' && colon) {
		if (strncmp(p->link, "anon_inode:", 11) == 0)
			snprintf(buf, size, "%s", p->link + 11);
		else
			snprintf(buf, size, "%.*s", (int)(colon - p->link), p->link);
		return;
	}
	snprintf(buf, size, "unknown");
}

static bool needs_fs_type(const struct fd_params *p)
{
	return S_ISFIFO(p->st.st_mode) || strncmp(p->link, "/memfd:", 7) == 0;
}

static const struct fd_type_ops *classify(struct fd_params *p)
{
	if (!p->fs_type && needs_fs_type(p)) {
		struct statfs sfs;

		/* an fstatfs failure leaves fs_type 0: no kind that needs it matches */
		if (fstatfs(p->local_fd, &sfs) == 0)
			p->fs_type = (long)sfs.f_type;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->matches(p))
			return fd_kinds[i];
	return NULL;
}

/* ---- dump ----------------------------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int fd_list(pid_t pid, int **ret_fds)
{
	char path[64];
	cleanup_free int *fds = NULL;
	size_t n = 0, cap = 0;
	DIR *dir;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return pr_errno("cannot list fds of task %d: cannot open '%s'", (int)pid, path);
	while ((errno = 0, de = readdir(dir))) {
		long v;

		if (de->d_name[0] == '.')
			continue;
		if (parse_long(de->d_name, 0, INT_MAX, &v) < 0)
			continue;
		if (n == cap) {
			int *bigger;

			cap = cap ? cap * 2 : 64;
			bigger = realloc(fds, cap * sizeof(*fds));
			if (!bigger) {
				closedir(dir);
				errno = ENOMEM;
				return pr_errno("cannot list fds of task %d", (int)pid);
			}
			fds = bigger;
		}
		fds[n++] = (int)v;
	}
	if (errno) {
		int r = pr_errno("cannot read '%s'", path);

		closedir(dir);
		return r;
	}
	closedir(dir);
	if (n > INT_MAX)
		return -E2BIG;
	qsort(fds, n, sizeof(*fds), cmp_int);
	*ret_fds = n ? TAKE_PTR(fds) : calloc(1, sizeof(int));
	if (!*ret_fds)
		return -ENOMEM;
	return (int)n;
}

void fd_local_free(struct fd_local *locals, size_t n_fds)
{
	if (!locals)
		return;
	for (size_t i = 0; i < n_fds; i++)
		closep(&locals[i].local_fd);
	free(locals);
}

int fd_local_getfd(pid_t pid, const int *fds, size_t n_fds, struct fd_local **ret_locals)
{
	cleanup_close int pidfd = -EBADF;
	struct fd_local *locals;

	pidfd = sys_pidfd_open(pid, 0);
	if (pidfd < 0)
		return pr_errno("cannot open a pidfd for task %d", (int)pid);
	locals = calloc(n_fds ? n_fds : 1, sizeof(*locals));
	if (!locals)
		return -ENOMEM;
	for (size_t i = 0; i < n_fds; i++)
		locals[i] = (struct fd_local){.fd = fds[i], .local_fd = -EBADF, .cloexec = -1};
	for (size_t i = 0; i < n_fds; i++) {
		/* pidfd_getfd() sets O_CLOEXEC on the copy */
		locals[i].local_fd = sys_pidfd_getfd(pidfd, fds[i], 0);
		if (locals[i].local_fd < 0) {
			int r = pr_errno("cannot copy fd %d of task %d (pidfd_getfd)", fds[i],
					 (int)pid);

			fd_local_free(locals, n_fds);
			return r;
		}
	}
	*ret_locals = locals;
	return 0;
}

/* Builds the record of a new open file through its kind; *ret_index is its index. */
static int dump_new_file(struct fd_dump_ctx *ctx, struct fd_params *p, struct fd_file **ret_file,
			 size_t *ret_index)
{
	const struct fd_type_ops *ops = classify(p);
	struct fd_file *f;
	size_t index;
	int r;

	if (!ops) {
		char kind[64];

		unsupported_kind_name(p, kind, sizeof(kind));
		pr_err("cannot dump fd %d of task %d: unsupported kind '%s' (%s)", p->fd,
		       (int)p->pid, kind, p->link);
		return -ENOTSUP;
	}
	f = file_new(ctx, &index);
	if (!f) {
		errno = ENOMEM;
		return pr_errno("cannot dump fd %d of task %d", p->fd, (int)p->pid);
	}
	f->fe.type = ops->type;
	f->fe.has_flags = true;
	f->fe.flags = p->info.flags;
	f->fe.has_pos = true;
	f->fe.pos = p->info.pos;
	f->fe.reg = NULL;
	if (p->info.flags & O_ASYNC) {
		struct f_owner_ex owner;
		int sig;

		if (fcntl(p->local_fd, F_GETOWN_EX, &owner) < 0 ||
		    (sig = fcntl(p->local_fd, F_GETSIG)) < 0) {
			r = pr_errno("cannot read the owner of fd %d of task %d", p->fd,
				     (int)p->pid);
			file_drop_last(ctx);
			return r;
		}
		f->fown.has_pid_type = f->fown.has_pid = f->fown.has_signum = true;
		f->fown.pid_type = (uint32_t)owner.type;
		f->fown.pid = owner.pid;
		f->fown.signum = (uint32_t)sig;
		f->fe.fown = &f->fown;
	}
	r = ops->dump(ctx, p, &f->fe);
	if (r < 0) {
		file_drop_last(ctx);
		return r;
	}
	*ret_file = f;
	*ret_index = index;
	return 0;
}

/* Fills ret for fd i; a new open file (first[i] == i, no earlier file) gets its record and
 * *file_of set. */
static int dump_one_fd(struct fd_dump_ctx *ctx, pid_t pid, const struct fd_local *l,
		       const struct fd_probe *probe, size_t file, size_t *file_of, FdEntry *ret)
{
	char link[PATH_MAX];
	struct fd_params p = {
	    .pid = pid,
	    .fd = l->fd,
	    .local_fd = l->local_fd,
	    .st = probe->st,
	    .info = probe->info,
	    .mnt_id_unique = probe->mnt_id_unique,
	    .link = link,
	    .is_deleted = probe->is_deleted,
	    .fs_type = probe->fs_type,
	};
	struct fd_file *f;
	bool cloexec;

	cloexec = l->cloexec >= 0 ? l->cloexec > 0 : (p.info.flags & O_CLOEXEC) != 0;
	p.info.flags &= ~(uint32_t)O_CLOEXEC;
	if (file != FD_IDENTITY_NONE) {
		f = file_at(ctx, file);
	} else {
		int r;

		snprintf(link, sizeof(link), "%s", probe->link);
		r = dump_new_file(ctx, &p, &f, file_of);
		if (r < 0)
			return r;
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

int fd_dump_task(struct fd_dump_ctx *ctx, pid_t pid, const struct fd_local *fds, size_t n_fds,
		 FdEntry **ret_entries)
{
	cleanup_close int fd_dirfd = -EBADF, fdinfo_dirfd = -EBADF;
	cleanup(fd_probe_set_freep) struct fd_probe_set *probes = NULL;
	cleanup_free FdEntry *entries = NULL;
	cleanup_free size_t *file = NULL, *first = NULL, *file_of = NULL;
	cleanup_free uint64_t(*keys)[2] = NULL;
	struct fd_identity_task task = {.pid = pid, .n_fds = n_fds, .fds = fds};
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
	file = malloc((n_fds ? n_fds : 1) * sizeof(*file));
	first = malloc((n_fds ? n_fds : 1) * sizeof(*first));
	file_of = malloc((n_fds ? n_fds : 1) * sizeof(*file_of));
	keys = malloc((n_fds ? n_fds : 1) * sizeof(*keys));
	if (!entries || !file || !first || !file_of || !keys)
		return pr_neg(-ENOMEM, "cannot dump the fds of task %d", (int)pid);
	r = fd_probe_task(pid, fd_dirfd, fdinfo_dirfd, fds, n_fds, &probes);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_fds; i++)
		if (fd_probe_at(probes, i)->failed)
			return fd_probe_report(fd_probe_at(probes, i), pid, fds[i].fd);
	/* which fds share an open file: within the task and with earlier tasks' files */
	for (size_t i = 0; i < n_fds; i++)
		identity_key(fd_probe_at(probes, i), keys[i]);
	task.keys = (const uint64_t(*)[2])keys;
	r = fd_identity_sort(ctx->identity, &task, file, first);
	/* in fd order: each open file's record is made at its first fd */
	for (size_t i = 0; i < n_fds && r == 0; i++) {
		size_t f = file[i] != FD_IDENTITY_NONE ? file[i]
			   : first[i] != i		? file_of[first[i]]
							: FD_IDENTITY_NONE;

		r = dump_one_fd(ctx, pid, &fds[i], fd_probe_at(probes, i), f, &file_of[i],
				&entries[i]);
	}
	if (r == 0)
		r = fd_identity_commit(ctx->identity, &task, file_of);
	if (r < 0)
		return r;
	*ret_entries = TAKE_PTR(entries);
	return 0;
}

/* cwd or root of pid as a new reg file record. */
static int dump_fs_dir(struct fd_dump_ctx *ctx, pid_t pid, const char *which, uint32_t *ret_id)
{
	char path[64], link[PATH_MAX];
	struct fd_params p = {.pid = pid, .fd = -1, .link = link};
	cleanup_close int dirfd = -EBADF;
	struct statx stx;
	struct fd_file *f;
	size_t index;
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
	if (statx(dirfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return pr_errno("cannot read the mount id of the %s of task %d", which, (int)pid);
	p.info.mnt_id = (uint32_t)stx.stx_mnt_id;
	p.info.flags = O_PATH | O_DIRECTORY;
	r = dump_new_file(ctx, &p, &f, &index);
	if (r < 0)
		return r;
	*ret_id = f->fe.id;
	return 0;
}

/* /proc/PID/status through the one reader; logs once. */
static int read_status(pid_t pid, struct procfs_status *ret)
{
	int r = procfs_read_status(pid, ret);

	if (r < 0)
		return pr_neg(r, "cannot read /proc/%d/status", (int)pid);
	return 0;
}

static int read_umask(pid_t pid, uint32_t *ret)
{
	struct procfs_status status;
	int r = read_status(pid, &status);

	if (r < 0)
		return r;
	if (!status.has_umask) {
		pr_err("cannot find the umask of task %d in /proc/%d/status", (int)pid, (int)pid);
		return -EINVAL;
	}
	*ret = status.umask;
	return 0;
}

int fd_count(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (stat(path, &st) < 0)
		return pr_errno("cannot stat '%s'", path);
	return st.st_size > INT_MAX ? INT_MAX : (int)st.st_size;
}

int fd_table_size(pid_t pid)
{
	struct procfs_status status;
	int r = read_status(pid, &status);

	if (r < 0)
		return r;
	if (!status.has_fd_size) {
		pr_err("cannot find the fd table size of task %d in /proc/%d/status", (int)pid,
		       (int)pid);
		return -EINVAL;
	}
	return status.fd_size > INT_MAX ? INT_MAX : (int)status.fd_size;
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
	r = read_umask(pid, &fs.umask);
	if (r < 0)
		return r;
	fs.has_cwd_file_id = fs.has_root_file_id = fs.has_umask = true;
	*ret = fs;
	return 0;
}

/* ---- helpers for the kinds: dump side ----------------------------------------------------- */

static struct fd_file *file_of(FileEntry *fe)
{
	return (struct fd_file *)((char *)fe - offsetof(struct fd_file, fe));
}

int fd_dump_reg_path(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	struct fd_file *f = file_of(fe);
	struct fd_mount_ref *ref = &ctx->mount_ref;
	int r;

	memset(ref, 0, offsetof(struct fd_mount_ref, path) + 1);
	r = ctx->cb.resolve_mount(ctx->cb.opaque, p->pid, p->fd, p->local_fd, p->info.mnt_id,
				  p->mnt_id_unique, p->link, ref);
	if (r < 0)
		return r;
	f->reg.path = fd_dump_strdup(ctx, ref->path);
	if (!f->reg.path)
		return -ENOMEM;
	f->reg.has_mnt_id = f->reg.has_mnt_id_old = f->reg.has_detached = true;
	f->reg.mnt_id = ref->mnt_id;
	f->reg.mnt_id_old = ref->mnt_id_old;
	f->reg.detached = ref->detached;
	if (ref->mnt_ns_id) {
		f->reg.has_mnt_ns_id = true;
		f->reg.mnt_ns_id = ref->mnt_ns_id;
	}
	f->reg.has_dev = f->reg.has_ino = f->reg.has_size = f->reg.has_mode = true;
	f->reg.dev = p->st.st_dev;
	f->reg.ino = p->st.st_ino;
	f->reg.size = (uint64_t)p->st.st_size;
	f->reg.mode = p->st.st_mode;
	if (S_ISCHR(p->st.st_mode) || S_ISBLK(p->st.st_mode)) {
		f->reg.has_rdev = true;
		f->reg.rdev = p->st.st_rdev;
	}
	if (p->is_deleted) {
		f->reg.has_unlinked = true;
		f->reg.unlinked = true;
	}
	fe->reg = &f->reg;
	return 0;
}

PipeFileEntry *fd_file_pipe(FileEntry *fe)
{
	fe->pipe = &file_of(fe)->pipe;
	return fe->pipe;
}

MemfdFileEntry *fd_file_memfd(FileEntry *fe)
{
	fe->memfd = &file_of(fe)->memfd;
	return fe->memfd;
}

EventfdFileEntry *fd_file_eventfd(FileEntry *fe)
{
	fe->eventfd = &file_of(fe)->eventfd;
	return fe->eventfd;
}

static char *dump_buf(struct fd_dump_ctx *ctx)
{
	if (!ctx->buf)
		ctx->buf = malloc(FD_DATA_CHUNK_MAX);
	return ctx->buf;
}

static int emit_chunk(struct fd_dump_ctx *ctx, FileDataKind kind, uint64_t owner_id,
		      uint64_t offset, const void *data, size_t len, bool first, uint64_t total)
{
	FileDataEntry e = FILE_DATA_ENTRY__INIT;

	e.kind = kind;
	e.owner_id = owner_id;
	e.has_offset = true;
	e.offset = offset;
	e.has_data = true;
	e.data.data = (uint8_t *)data;
	e.data.len = len;
	if (first) {
		e.has_total_size = true;
		e.total_size = total;
	}
	return ctx->cb.data_sink(ctx->cb.opaque, &e);
}

int64_t fd_dump_contents(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t owner_id)
{
	cleanup_close int rfd = -EBADF;
	char *buf = dump_buf(ctx);
	struct stat st;
	off_t off = 0;
	bool first = true;
	int r;

	if (!buf)
		return -ENOMEM;
	r = fd_reopen(p->local_fd, O_RDONLY);
	if (r < 0)
		return r;
	rfd = r;
	if (fstat(rfd, &st) < 0)
		return pr_errno("cannot stat fd %d of task %d", p->fd, (int)p->pid);
	while (off < st.st_size) {
		/* (1) skip holes: only extents with data are stored */
		off_t data = lseek(rfd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return pr_errno("cannot seek data of fd %d of task %d", p->fd, (int)p->pid);
		hole = lseek(rfd, data, SEEK_HOLE);
		if (hole < 0)
			return pr_errno("cannot seek a hole of fd %d of task %d", p->fd,
					(int)p->pid);
		if (hole > st.st_size)
			hole = st.st_size;
		/* (2) the extent in chunks of at most FD_DATA_CHUNK_MAX */
		for (off = data; off < hole;) {
			size_t want = (size_t)(hole - off) < FD_DATA_CHUNK_MAX
					  ? (size_t)(hole - off)
					  : FD_DATA_CHUNK_MAX;
			ssize_t n = pread(rfd, buf, want, off);

			if (n < 0)
				return pr_errno("cannot read the contents of fd %d of task %d",
						p->fd, (int)p->pid);
			if (n == 0) {
				hole = off; /* the file shrank */
				break;
			}
			r = emit_chunk(ctx, FILE_DATA_KIND__FILE_DATA_KIND_FILE, owner_id,
				       (uint64_t)off, buf, (size_t)n, first, (uint64_t)st.st_size);
			if (r < 0)
				return r;
			first = false;
			off += n;
		}
		if (hole <= data)
			break;
	}
	if (first) {
		r = emit_chunk(ctx, FILE_DATA_KIND__FILE_DATA_KIND_FILE, owner_id, 0, buf, 0, true,
			       (uint64_t)st.st_size);
		if (r < 0)
			return r;
	}
	return st.st_size;
}

static int scratch_pipe(struct fd_dump_ctx *ctx, int size)
{
	if (ctx->scratch_pipe[0] < 0) {
		if (pipe2(ctx->scratch_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
			ctx->scratch_pipe[0] = ctx->scratch_pipe[1] = -EBADF;
			return pr_errno("cannot create a scratch pipe");
		}
		ctx->scratch_pipe_size = fcntl(ctx->scratch_pipe[0], F_GETPIPE_SZ);
	}
	if (ctx->scratch_pipe_size < size) {
		int r = fcntl(ctx->scratch_pipe[1], F_SETPIPE_SZ, size);

		if (r < 0)
			return pr_errno("cannot grow the scratch pipe to %d bytes", size);
		ctx->scratch_pipe_size = r;
	}
	return 0;
}

int fd_dump_pipe_data(struct fd_dump_ctx *ctx, const struct fd_params *p, uint64_t pipe_id)
{
	cleanup_close int own_fd = -EBADF;
	int rfd = p->local_fd, size, r;
	uint32_t acc = p->info.flags & O_ACCMODE;
	char *buf = dump_buf(ctx);
	ssize_t copied, done = 0;

	if (!buf)
		return -ENOMEM;
	if (hmap_find(&ctx->pipes_dumped, pipe_id, 0))
		return 0;
	if (hmap_put(&ctx->pipes_dumped, pipe_id, 0, 0) < 0)
		return -ENOMEM;
	if (acc == O_WRONLY) {
		/* tee() reads from a read end: open one on the same pipe */
		r = fd_reopen(p->local_fd, O_RDONLY | O_NONBLOCK);
		if (r < 0)
			return r;
		rfd = own_fd = r;
	}
	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0)
		return pr_errno("cannot read the size of pipe %lu (fd %d of task %d)",
				(unsigned long)pipe_id, p->fd, (int)p->pid);
	r = scratch_pipe(ctx, size);
	if (r < 0)
		return r;
	/* tee duplicates the buffers: the live pipe keeps its data */
	copied = tee(rfd, ctx->scratch_pipe[1], (size_t)size, SPLICE_F_NONBLOCK);
	if (copied < 0 && errno != EAGAIN)
		return pr_errno("cannot copy the data of pipe %lu (fd %d of task %d)",
				(unsigned long)pipe_id, p->fd, (int)p->pid);
	if (copied <= 0)
		return 0;
	while (done < copied) {
		size_t want = (size_t)(copied - done) < FD_DATA_CHUNK_MAX ? (size_t)(copied - done)
									  : FD_DATA_CHUNK_MAX;
		ssize_t n = read_full(ctx->scratch_pipe[0], buf, want);

		if (n < 0) {
			errno = (int)-n;
			return pr_errno("cannot read the scratch pipe");
		}
		if ((size_t)n != want) {
			pr_err("scratch pipe: %zd bytes instead of %zu", n, want);
			return -EIO;
		}
		r = emit_chunk(ctx, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, pipe_id, (uint64_t)done,
			       buf, want, done == 0, (uint64_t)copied);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

/* ---- restore ----------------------------------------------------------------------------- */

struct data_ref {
	const FileDataEntry *entry;
	size_t next; /* index of the next chunk of the same owner, or NO_NODE */
};

struct fd_restore_ctx {
	struct fd_restore_callbacks cb;
	struct hmap kept; /* (kind, key) -> fd */
	struct hmap data; /* (kind, owner_id) -> (head index << 32 | ...) see data_tail */
	struct data_ref *refs;
	size_t n_refs, cap_refs;
	size_t *tails; /* per ref: tail of its chain when it is a head */
};

struct fd_restore_ctx *fd_restore_ctx_new(const struct fd_restore_callbacks *cb)
{
	struct fd_restore_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->cb = *cb;
	return ctx;
}

struct fd_restore_ctx *fd_restore_ctx_free(struct fd_restore_ctx *ctx)
{
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < ctx->kept.cap; i++)
		if (ctx->kept.slots[i].used && (int)ctx->kept.slots[i].value >= 0)
			close((int)ctx->kept.slots[i].value);
	hmap_clear(&ctx->kept);
	hmap_clear(&ctx->data);
	free(ctx->refs);
	free(ctx->tails);
	free(ctx);
	return NULL;
}

int fd_restore_ctx_add_data(struct fd_restore_ctx *ctx, const FileDataEntry *entry)
{
	struct hmap_slot *head;
	size_t i;

	if (entry->kind == FILE_DATA_KIND__FILE_DATA_KIND_TMPFS)
		return 0;
	if (entry->kind != FILE_DATA_KIND__FILE_DATA_KIND_FILE &&
	    entry->kind != FILE_DATA_KIND__FILE_DATA_KIND_PIPE)
		return -EINVAL;
	if (entry->has_data && entry->data.len > FD_DATA_CHUNK_MAX)
		return -EINVAL;
	if (ctx->n_refs == ctx->cap_refs) {
		size_t cap = ctx->cap_refs ? ctx->cap_refs * 2 : 64;
		struct data_ref *refs = realloc(ctx->refs, cap * sizeof(*refs));
		size_t *tails;

		if (!refs)
			return -ENOMEM;
		ctx->refs = refs;
		tails = realloc(ctx->tails, cap * sizeof(*tails));
		if (!tails)
			return -ENOMEM;
		ctx->tails = tails;
		ctx->cap_refs = cap;
	}
	i = ctx->n_refs;
	ctx->refs[i] = (struct data_ref){.entry = entry, .next = NO_NODE};
	head = hmap_find(&ctx->data, (uint64_t)entry->kind, entry->owner_id);
	if (head) {
		ctx->refs[ctx->tails[head->value]].next = i;
		ctx->tails[head->value] = i;
	} else {
		if (hmap_put(&ctx->data, (uint64_t)entry->kind, entry->owner_id, i) < 0)
			return -ENOMEM;
		ctx->tails[i] = i;
	}
	ctx->n_refs++;
	return 0;
}

static size_t data_head(const struct fd_restore_ctx *ctx, FileDataKind kind, uint64_t owner_id)
{
	struct hmap_slot *s = hmap_find(&ctx->data, (uint64_t)kind, owner_id);

	return s ? s->value : NO_NODE;
}

int fd_restore_contents(struct fd_restore_ctx *ctx, uint64_t owner_id, int fd)
{
	uint64_t total = 0;

	for (size_t i = data_head(ctx, FILE_DATA_KIND__FILE_DATA_KIND_FILE, owner_id); i != NO_NODE;
	     i = ctx->refs[i].next) {
		const FileDataEntry *e = ctx->refs[i].entry;
		uint64_t off = e->has_offset ? e->offset : 0;
		size_t done = 0;

		if (e->has_total_size && e->total_size > total)
			total = e->total_size;
		while (e->has_data && done < e->data.len) {
			ssize_t n = pwrite(fd, e->data.data + done, e->data.len - done,
					   (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return pr_errno("cannot write the contents of file %lu",
						(unsigned long)owner_id);
			done += (size_t)n;
		}
		if (off + done > total)
			total = off + done;
	}
	if (ftruncate(fd, (off_t)total) < 0)
		return pr_errno("cannot set the size of file %lu to %lu", (unsigned long)owner_id,
				(unsigned long)total);
	return 0;
}

int fd_restore_pipe_data(struct fd_restore_ctx *ctx, uint64_t pipe_id, int fd)
{
	uint64_t expect = 0;

	for (size_t i = data_head(ctx, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, pipe_id); i != NO_NODE;
	     i = ctx->refs[i].next) {
		const FileDataEntry *e = ctx->refs[i].entry;
		int r;

		if ((e->has_offset ? e->offset : 0) != expect) {
			pr_err("pipe %lu: data chunk at offset %lu, expected %lu",
			       (unsigned long)pipe_id, (unsigned long)e->offset,
			       (unsigned long)expect);
			return -EINVAL;
		}
		if (!e->has_data)
			continue;
		if (e->has_total_size && e->total_size > (uint64_t)INT_MAX) {
			pr_err("pipe %lu: %lu bytes of data is too much", (unsigned long)pipe_id,
			       (unsigned long)e->total_size);
			return -EINVAL;
		}
		if (e->has_total_size) {
			int size = fcntl(fd, F_GETPIPE_SZ);

			if (size >= 0 && (uint64_t)size < e->total_size &&
			    fcntl(fd, F_SETPIPE_SZ, (int)e->total_size) < 0)
				return pr_errno("cannot grow pipe %lu to %lu bytes",
						(unsigned long)pipe_id,
						(unsigned long)e->total_size);
		}
		r = write_all(fd, e->data.data, e->data.len);
		if (r < 0) {
			errno = -r;
			return pr_errno("cannot write the data of pipe %lu",
					(unsigned long)pipe_id);
		}
		expect += e->data.len;
	}
	return 0;
}

int fd_restore_ctx_keep(struct fd_restore_ctx *ctx, enum fd_keep_kind kind, uint64_t key, int fd)
{
	if (hmap_put(&ctx->kept, (uint64_t)kind, key, (size_t)fd) < 0) {
		close(fd);
		errno = ENOMEM;
		return pr_errno("cannot keep an fd for restore");
	}
	return 0;
}

int fd_restore_ctx_lookup(const struct fd_restore_ctx *ctx, enum fd_keep_kind kind, uint64_t key)
{
	struct hmap_slot *s = hmap_find(&ctx->kept, (uint64_t)kind, key);

	return s ? (int)s->value : -ENOENT;
}

/* Flags open()/openat2() accept, from what fdinfo shows. */
#define FD_OPEN_FLAGS                                                                              \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_LARGEFILE |           \
	 O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_PATH)
/* Flags F_SETFL changes. */
#define FD_SETFL_FLAGS (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

static uint32_t open_flags(uint32_t flags)
{
	if (flags & O_PATH)
		return flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW);
	return flags & FD_OPEN_FLAGS;
}

/* openat() that walks one component at a time without following any symlink, for kernels
 * without openat2() (Linux < 5.6). */
static int open_beneath_walk(int dirfd, const char *path, int flags)
{
	cleanup_free char *copy = strdup(path);
	cleanup_close int cur = -EBADF;
	char *comp, *next;
	int at = dirfd;

	if (!copy)
		return -ENOMEM;
	for (comp = copy; (next = strchr(comp, '/')); comp = next) {
		int nfd;

		*next++ = '\0';
		if (!*comp || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0)
			return -EXDEV;
		nfd = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			return -errno;
		closep(&cur);
		at = cur = nfd;
	}
	if (strcmp(comp, "..") == 0)
		return -EXDEV;
	if (!*comp)
		comp = ".";
	/* The dumped path is already resolved, so its last component is a symlink only for an
	 * O_NOFOLLOW fd on the link itself; anything else must not lead out of the mount. */
	if (!(flags & O_NOFOLLOW)) {
		struct stat st;

		if (fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
	}
	flags = openat(at, comp, flags);
	return flags < 0 ? -errno : flags;
}

/* The root of a single-file bind mount is the file itself: reopen that O_PATH fd with the
 * file's own flags through its /proc/self/fd link. */
static int reopen_root_file(int rootfd, uint32_t flags)
{
	char proc[64];
	struct stat st;
	int fd;

	if (fstat(rootfd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rootfd);
	fd = open(proc, (int)(open_flags(flags) | O_CLOEXEC));
	return fd < 0 ? -errno : fd;
}

static int open_beneath(int dirfd, const char *path, uint32_t flags)
{
	/* No O_NOFOLLOW unless the dumped flags had it: it would stay visible in the restored
	 * file's flags. RESOLVE_BENEATH keeps every symlink inside the mount. */
	struct open_how how = {
	    .flags = open_flags(flags) | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path) {
		fd = reopen_root_file(dirfd, flags);
		if (fd != -EISDIR)
			return fd;
		path = ".";
	}
	fd = (int)syscall(__NR_openat2, dirfd, path, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return -errno;
	return open_beneath_walk(dirfd, path, (int)how.flags);
}

static int mount_root(struct fd_restore_ctx *ctx, const RegFileEntry *reg)
{
	if (!ctx->cb.mount_root) {
		pr_err("cannot reopen '%s': no mount root given", reg->path);
		return -EINVAL;
	}
	return ctx->cb.mount_root(ctx->cb.opaque, reg);
}

int fd_restore_open_path(struct fd_restore_ctx *ctx, const RegFileEntry *reg, uint32_t flags)
{
	cleanup_close int fd = -EBADF;
	struct stat st;
	int root;

	if (!reg->path) {
		pr_err("cannot reopen a file without a path");
		return -EINVAL;
	}
	root = mount_root(ctx, reg);
	if (root < 0)
		return root;
	fd = open_beneath(root, reg->path, flags);
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open '%s' (mount %lu%s)", reg->path,
				(unsigned long)reg->mnt_id, reg->detached ? ", detached" : "");
	}
	if (reg->has_mode) {
		if (fstat(fd, &st) < 0)
			return pr_errno("cannot stat '%s'", reg->path);
		if ((st.st_mode & S_IFMT) != (reg->mode & S_IFMT)) {
			pr_err("cannot reopen '%s': file type 0%o, was 0%o at dump", reg->path,
			       st.st_mode & S_IFMT, reg->mode & S_IFMT);
			return -ESTALE;
		}
	}
	return TAKE_FD(fd);
}

int fd_restore_open_parent(struct fd_restore_ctx *ctx, const RegFileEntry *reg)
{
	cleanup_free char *dir = NULL;
	char *slash;
	int root, fd;

	if (!reg->path) {
		pr_err("cannot reopen a file without a path");
		return -EINVAL;
	}
	dir = strdup(reg->path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	root = mount_root(ctx, reg);
	if (root < 0)
		return root;
	fd = open_beneath(root, dir, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open the directory of '%s'", reg->path);
	}
	return fd;
}

int fd_reopen(int fd, uint32_t flags)
{
	char path[32];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, (int)(open_flags(flags) | O_CLOEXEC));
	if (nfd < 0)
		return pr_errno("cannot reopen fd %d with flags 0%o", fd, flags);
	return nfd;
}

static int fd_restore_pos(const FileEntry *fe, int fd)
{
	if (!fe->has_pos || fe->pos == 0 || (fe->flags & O_PATH))
		return 0;
	if (lseek(fd, (off_t)fe->pos, SEEK_SET) != (off_t)fe->pos)
		return pr_errno("cannot restore offset %lu of file %u", (unsigned long)fe->pos,
				fe->id);
	return 0;
}

/* F_SETFL flags the kind's open did not give, the owner, and O_ASYNC last. */
static int restore_flags_and_owner(const FileEntry *fe, int fd)
{
	int cur;

	if (fe->flags & O_PATH)
		return 0;
	cur = fcntl(fd, F_GETFL);
	if (cur < 0)
		return pr_errno("cannot read the flags of restored file %u", fe->id);
	if (((uint32_t)cur & FD_SETFL_FLAGS) != (fe->flags & FD_SETFL_FLAGS) &&
	    fcntl(fd, F_SETFL, ((uint32_t)cur & ~FD_SETFL_FLAGS) | (fe->flags & FD_SETFL_FLAGS)) <
		0)
		return pr_errno("cannot set flags 0%o on restored file %u", fe->flags, fe->id);
	if (fe->fown && (fe->fown->pid || fe->fown->signum)) {
		struct f_owner_ex owner = {.type = (int)fe->fown->pid_type, .pid = fe->fown->pid};

		if (fe->fown->pid && fcntl(fd, F_SETOWN_EX, &owner) < 0)
			return pr_errno("cannot set owner %d of restored file %u", owner.pid,
					fe->id);
		if (fcntl(fd, F_SETSIG, (int)fe->fown->signum) < 0)
			return pr_errno("cannot set signal %u of restored file %u",
					fe->fown->signum, fe->id);
	}
	if ((fe->flags & O_ASYNC) && fcntl(fd, F_SETFL, cur | O_ASYNC) < 0)
		return pr_errno("cannot set O_ASYNC on restored file %u", fe->id);
	return 0;
}

int fd_restore_file(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const struct fd_type_ops *ops = fd_kind_by_type(fe->type);
	cleanup_close int fd = -EBADF;
	int r;

	if (!ops) {
		pr_err("cannot restore file %u: unknown type %d", fe->id, (int)fe->type);
		return -EINVAL;
	}
	r = ops->restore(ctx, fe, &fd);
	if (r < 0)
		return r;
	/* The offset belongs to every open file description; kinds without one have pos 0. */
	r = fd_restore_pos(fe, fd);
	if (r < 0)
		return r;
	r = restore_flags_and_owner(fe, fd);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int fd_restore_install(const FdEntry *fde, int file_fd)
{
	int flags = fde->has_cloexec && fde->cloexec ? O_CLOEXEC : 0;

	if (file_fd == fde->fd) {
		if (fcntl(file_fd, F_SETFD, flags ? FD_CLOEXEC : 0) < 0)
			return pr_errno("cannot set close-on-exec of fd %d", fde->fd);
		return 0;
	}
	if (dup3(file_fd, fde->fd, flags) < 0)
		return pr_errno("cannot put file %u at fd %d", fde->file_id, fde->fd);
	return 0;
}
