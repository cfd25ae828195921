/* fd.h: the fd table of a task. Dump: list a task's fds, read their fdinfo, classify each
 * local copy and dispatch to one struct fd_type_ops per fd kind (fd-reg.c, fd-pipe.c, ...),
 * giving FdEntry and FileEntry records; open file descriptions shared within or across
 * tasks get one file id (kcmp). Restore: reopen one FileEntry as an fd in this process.
 * This module neither seizes tasks nor writes images: the caller owns both. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"
#include "fd/fdinfo-parse.h"

/* ---- callbacks the caller passes in --------------------------------------------------- */

/* Where a reg-file fd's mount is and which path to store for it. */
struct fd_mount_ref {
	uint64_t mnt_id;     /* unique 64-bit mount id (or a detached-mnt.img id when detached) */
	uint64_t mnt_ns_id;  /* namespace whose table holds mnt_id; 0 when unknown */
	uint32_t mnt_id_old; /* old 32-bit id of the mount */
	bool detached;	     /* the mount is in no namespace: path is relative to its root */
	char path[PATH_MAX]; /* path to store: absolute in its namespace, or relative to the
			      * detached mount's root */
};

/* Resolves the mount of fd `fd` of task `pid` (fd is -1 for a task's cwd and root).
 * local_fd is a borrowed local copy, mnt_id_old its old 32-bit mount id and mnt_id_unique its
 * unique one as far as known (0: unknown; at least one is set), link_path the readlink text
 * without any " (deleted)" suffix. Fills *ret and returns 0, or logs one line (pid, fd,
 * path, mnt_id) and returns -errno, which fails the dump. */
typedef int (*fd_resolve_mount_fn)(void *opaque, pid_t pid, int fd, int local_fd,
				   uint32_t mnt_id_old, uint64_t mnt_id_unique,
				   const char *link_path, struct fd_mount_ref *ret);

/* Receives one chunk of contents (unlinked files, memfds, pipe and FIFO buffers). The entry
 * and its data are borrowed for the duration of the call only. Returns 0 or -errno (logged
 * by the sink). */
typedef int (*fd_data_sink_fn)(void *opaque, const FileDataEntry *entry);

struct fd_dump_callbacks {
	fd_resolve_mount_fn resolve_mount; /* required */
	fd_data_sink_fn data_sink;	   /* required */
	void *opaque;			   /* passed to both */
};

/* Largest FileDataEntry.data chunk this module produces, bytes. */
#define FD_DATA_CHUNK_MAX (1U << 20)

/* ---- dump --------------------------------------------------------------------------------- */

/* One fd of a task and the caller's local copy of it (a dup of the same open file
 * description: from the parasite over SCM_RIGHTS, or pidfd_getfd()). */
struct fd_local {
	int fd;	      /* number in the task */
	int local_fd; /* in this process; owned by whoever filled the array */
	int cloexec;  /* FD_CLOEXEC as the parasite saw it (0 or 1), or -1 when unknown: then
		       * /proc/PID/fdinfo/N is read for it. Known, it lets regular files,
		       * directories, pipes and FIFOs skip procfs except one readlink. */
};

/* Dump state for a whole tree: file ids and shared-file identity span every task. */
struct fd_dump_ctx;

/* Returns a new context (callbacks are copied), or NULL on ENOMEM. */
struct fd_dump_ctx *fd_dump_ctx_new(const struct fd_dump_callbacks *cb);
/* NULL-safe; frees every FileEntry it handed out. Returns NULL. */
struct fd_dump_ctx *fd_dump_ctx_free(struct fd_dump_ctx *ctx);
static inline void fd_dump_ctx_freep(struct fd_dump_ctx **ctx)
{
	fd_dump_ctx_free(*ctx);
}

/* How many fds task pid has open: the size of /proc/PID/fd (Linux 6.2+). Returns it, 0 when
 * the kernel does not count them (or there are none), or -errno (logged). */
int fd_count(pid_t pid);

/* The size of task pid's fd table (FDSize in /proc/PID/status): every fd is below it.
 * Returns it or -errno (logged). */
int fd_table_size(pid_t pid);

/* Lists the fd numbers of task pid from /proc/PID/fd, ascending. *ret_fds is malloc'ed
 * (free()), set only on success. Returns the count, or -errno (logged). */
int fd_list(pid_t pid, int **ret_fds);

/* Makes local copies of the given fds of pid with pidfd_getfd() (a parasite-free
 * alternative to the SCM_RIGHTS drain; needs ptrace rights over pid), cloexec -1.
 * *ret_locals is malloc'ed; release it with fd_local_free(). Returns 0, or -errno (logged). */
int fd_local_getfd(pid_t pid, const int *fds, size_t n_fds, struct fd_local **ret_locals);
/* Closes every local_fd and frees the array. NULL-safe. */
void fd_local_free(struct fd_local *locals, size_t n_fds);

/* Dumps the fd table of task pid: for each fds[i], reads its fdinfo (from /proc/PID/fdinfo/N,
 * or from the local copy when fds[i].cloexec is known), the fd link, classifies fds[i].local_fd,
 * dumps new open files through the kind's ops (their contents go to the data sink) and fills
 * (*ret_entries)[i] (fd, file_id, type, cloexec). The task must stay frozen (kcmp compares fds of
 * live tasks). *ret_entries is a malloc'ed array of n_fds entries with no owned pointers: free()
 * it. Returns 0, or -errno after one log line (an unsupported kind gives "cannot dump fd N of task
 * P: unsupported kind 'K' (LINK)" and -ENOTSUP). */
int fd_dump_task(struct fd_dump_ctx *ctx, pid_t pid, const struct fd_local *fds, size_t n_fds,
		 FdEntry **ret_entries);

/* Dumps the cwd and root of task pid as two new reg FileEntry records (directories, opened
 * O_PATH on restore) plus the umask. *ret is filled (no owned pointers). Returns 0 or -errno
 * (logged). */
int fd_dump_fs(struct fd_dump_ctx *ctx, pid_t pid, FsEntry *ret);

/* The files dumped so far, in file-id order (ids are 1..n): every FileEntry to write to
 * files.img. Borrowed from ctx. Returns NULL when i >= count. */
size_t fd_dump_ctx_n_files(const struct fd_dump_ctx *ctx);
const FileEntry *fd_dump_ctx_file(const struct fd_dump_ctx *ctx, size_t i);

/* ---- restore ----------------------------------------------------------------------------- */

/* Returns a borrowed directory fd that reg->path (its leading '/' ignored) is opened
 * beneath: the namespace's root for an attached mount, the detached mount's tree fd
 * otherwise. Returns >= 0, or -errno after logging. */
typedef int (*fd_mount_root_fn)(void *opaque, const RegFileEntry *reg);

struct fd_restore_callbacks {
	fd_mount_root_fn mount_root; /* required for REG, FIFO and CHRDEV files */
	void *opaque;
};

/* Restore state for one process that reopens files: the pipes, FIFOs, memfds and unlinked
 * files already created here (so their other ends and sharers find them), and the contents
 * to write into them. Restore every FileEntry of the tree through one context, and free it
 * only once every task holds its fds: the fds it keeps hold pipes and FIFOs open (their
 * data would go with the last end). */
struct fd_restore_ctx;

struct fd_restore_ctx *fd_restore_ctx_new(const struct fd_restore_callbacks *cb);
/* NULL-safe; closes the fds the context keeps (not the ones it returned). Returns NULL. */
struct fd_restore_ctx *fd_restore_ctx_free(struct fd_restore_ctx *ctx);
static inline void fd_restore_ctx_freep(struct fd_restore_ctx **ctx)
{
	fd_restore_ctx_free(*ctx);
}

/* Registers a file-data.img record; it is borrowed and must outlive ctx. FILE and PIPE
 * records are used; TMPFS records (the mount code's) are ignored. Returns 0, -EINVAL (not
 * logged) for a malformed record, or -ENOMEM. */
int fd_restore_ctx_add_data(struct fd_restore_ctx *ctx, const FileDataEntry *entry);

/* Opens the open file description described by fe in this process, with its flags, offset,
 * contents and owner, and O_CLOEXEC set. Call it once per FileEntry (file id) and share the
 * fd among every FdEntry with that file_id (dup it, pass it to other tasks). On success
 * *ret_fd is owned by the caller. Returns 0, or -errno (logged). */
int fd_restore_file(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd);

/* Puts file_fd at number fde->fd with fde->cloexec (dup3; file_fd stays open). Returns 0 or
 * -errno (logged). */
int fd_restore_install(const FdEntry *fde, int file_fd);

/* ---- the interface of the fd kind files (fd-*.c) ---------------------------------------- */

/* Everything known about one fd before it is dumped. */
struct fd_params {
	pid_t pid;
	int fd;	      /* number in the task; -1 for cwd and root */
	int local_fd; /* borrowed local copy */
	struct stat st;
	struct fdinfo info; /* flags with O_CLOEXEC cleared; mnt_id 0 when only the unique
			     * id is known */
	uint64_t mnt_id_unique; /* statx's unique mount id; 0 when unknown */
	const char *link;   /* readlink text, " (deleted)" removed */
	bool is_deleted;    /* readlink text ended with " (deleted)" */
	long fs_type;	    /* fstatfs f_type, or 0 when not looked at */
};

struct fd_type_ops {
	FdType type;
	const char *name;
	/* True if this kind handles the fd. Only st, info, link, is_deleted are filled, and
	 * fs_type for S_ISFIFO and memfd candidates. */
	bool (*matches)(const struct fd_params *p);
	/* Fills the kind-specific parts of fe (id, type, flags, pos are already set), using
	 * fd_file_pipe() and friends and fd_dump_strdup() for storage. Returns 0 or -errno
	 * (logged). */
	int (*dump)(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe);
	/* Opens fe in this process with O_CLOEXEC. Returns 0 or -errno (logged). */
	int (*restore)(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd);
};

extern const struct fd_type_ops fd_reg_ops;
extern const struct fd_type_ops fd_chrdev_ops;
extern const struct fd_type_ops fd_pipe_ops;
extern const struct fd_type_ops fd_fifo_ops;
extern const struct fd_type_ops fd_memfd_ops;
extern const struct fd_type_ops fd_eventfd_ops;

/* Helpers for the kind files. */

/* Calls the resolver and fills fe->reg (path, mount, dev, ino, size, mode, rdev). The path
 * string lives in ctx. Returns 0 or -errno (logged by the resolver or here). */
int fd_dump_reg_path(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe);
/* The kind-specific sub-record of a FileEntry made by fd_dump_task(): sets fe->pipe (...)
 * to storage that lives as long as the dump context, and returns it. */
PipeFileEntry *fd_file_pipe(FileEntry *fe);
MemfdFileEntry *fd_file_memfd(FileEntry *fe);
EventfdFileEntry *fd_file_eventfd(FileEntry *fe);
/* Copies a string into storage owned by ctx; NULL on ENOMEM. */
char *fd_dump_strdup(struct fd_dump_ctx *ctx, const char *s);
/* Sends the contents of the file behind p->local_fd (read through a fresh descriptor, so
 * no offset moves) as FILE_DATA_KIND_FILE chunks owned by file id owner_id. Returns the
 * size dumped, or -errno (logged). */
int64_t fd_dump_contents(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t owner_id);
/* Sends the bytes buffered in the pipe or FIFO behind p->local_fd, once per pipe_id, as
 * FILE_DATA_KIND_PIPE chunks, without consuming them. Returns 0 or -errno (logged). */
int fd_dump_pipe_data(struct fd_dump_ctx *ctx, const struct fd_params *p, uint64_t pipe_id);

/* Opens reg->path beneath the caller's mount root without following symlinks out or
 * through magic links, with flags (O_CLOEXEC is added; O_CREAT/O_TRUNC/O_EXCL ignored), and
 * checks the file type against reg->mode. Returns the fd, or -errno (logged). */
int fd_restore_open_path(struct fd_restore_ctx *ctx, const RegFileEntry *reg, uint32_t flags);
/* Opens the directory holding reg->path beneath the mount root (O_PATH). Returns the fd or
 * -errno (logged). */
int fd_restore_open_parent(struct fd_restore_ctx *ctx, const RegFileEntry *reg);
/* Writes the FILE_DATA_KIND_FILE chunks of owner_id into fd at their offsets and truncates
 * it to their total size. Returns 0 or -errno (logged). */
int fd_restore_contents(struct fd_restore_ctx *ctx, uint64_t owner_id, int fd);
/* Writes the FILE_DATA_KIND_PIPE chunks of pipe_id into the pipe write end fd. Returns 0 or
 * -errno (logged). */
int fd_restore_pipe_data(struct fd_restore_ctx *ctx, uint64_t pipe_id, int fd);
/* Opens /proc/self/fd/fd with flags (plus O_CLOEXEC): another open file description of the
 * same file. Returns the fd or -errno (logged). */
int fd_reopen(int fd, uint32_t flags);
/* What the restore context keeps fds for, keyed by an id of the kind. */
enum fd_keep_kind {
	FD_KEEP_PIPE_READ = 1, /* key: pipe_id */
	FD_KEEP_PIPE_WRITE,    /* key: pipe_id */
	FD_KEEP_FIFO,	       /* key: pipe_id; an O_RDWR end that keeps the FIFO open */
	FD_KEEP_MEMFD,	       /* key: memfd inode */
	FD_KEEP_UNLINKED,      /* key: fd_inode_key(dev, ino) of the unlinked file */
	FD_KEEP_GIVEN,	       /* key: (pipe_id << 1 | end); fd -1: that pipe() end is handed out */
};

/* One 64-bit key for an inode of a given device. */
static inline uint64_t fd_inode_key(uint64_t dev, uint64_t ino)
{
	return (dev * 0x9e3779b97f4a7c15ULL) ^ ino;
}
/* Keeps fd (taking ownership, also on failure) under (kind, key) for later
 * fd_restore_ctx_lookup(). Returns 0 or -ENOMEM (logged). */
int fd_restore_ctx_keep(struct fd_restore_ctx *ctx, enum fd_keep_kind kind, uint64_t key, int fd);
/* A kept fd (borrowed), or -ENOENT. */
int fd_restore_ctx_lookup(const struct fd_restore_ctx *ctx, enum fd_keep_kind kind, uint64_t key);
