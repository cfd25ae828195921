/* fd/dump.h: dump the fd tables of a frozen tree. For each fd of a task: probe it, find which
 * earlier fd (of this or an earlier task) shares its open file description (kcmp), and for a
 * new description let its kind (fd/kind.h) fill a FileEntry; each fd gets an FdEntry. The
 * caller resolves mounts and stores contents through callbacks; this module neither seizes
 * tasks nor writes images. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd/list.h"
#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"

/* Where a path-based fd's mount is and which path to store for it. */
struct fd_mount_ref {
	uint64_t mnt_id;     /* unique 64-bit mount id (or a detached-mnt.img id when detached) */
	uint64_t mnt_ns_id;  /* namespace whose table holds mnt_id; 0 when unknown */
	uint32_t mnt_id_old; /* old 32-bit id of the mount */
	bool detached;	     /* the mount is in no namespace: path is relative to its root */
	bool is_mount_fd;    /* the mount fd of anonymous tree mnt_id (an O_PATH fd of its root) */
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

/* Opens (O_PATH) the root of a mount the tree or minicr can reach: the one whose old 32-bit id
 * is mnt_id_old when that is nonzero, else one of superblock major:minor. For kinds that name
 * mounts or filesystems, not files (an inotify watch's handle is opened through it, a
 * fanotify mount mark names it). Returns the fd, -ENOENT (not logged) when there is none, or
 * -errno (logged). */
typedef int (*fd_open_mount_fn)(void *opaque, uint32_t mnt_id_old, uint32_t major, uint32_t minor);

struct fd_dump_callbacks {
	fd_resolve_mount_fn resolve_mount; /* required */
	fd_data_sink_fn data_sink;	   /* required */
	fd_open_mount_fn open_mount;	   /* optional: without it, no mount is found */
	void *opaque;			   /* passed to all */
	bool tcp_established;		   /* --tcp-established */
	bool shell_job; /* --shell-job: terminals the tree did not open are dumped as such */
};

/* Dump state for a whole tree: file ids and shared-file identity span every task. */
struct fd_dump_ctx;

/* Returns a new context (callbacks are copied), or NULL on ENOMEM. */
struct fd_dump_ctx *fd_dump_ctx_new(const struct fd_dump_callbacks *cb);
/* NULL-safe; frees every FileEntry it handed out. Returns NULL. */
struct fd_dump_ctx *fd_dump_ctx_free(struct fd_dump_ctx *ctx);
/* Starts, on a thread of its own, what the first task's fds will need from the whole system
 * (/proc/locks), so that it overlaps the work before. Only once the tree is frozen. */
void fd_dump_prefetch(struct fd_dump_ctx *ctx);
static inline void fd_dump_ctx_freep(struct fd_dump_ctx **ctx)
{
	fd_dump_ctx_free(*ctx);
}

/* Dumps the fd table of task pid: probes every fds[i] (fdinfo from /proc/PID/fdinfo/N, or from
 * the local copy when fds[i].cloexec is known), classifies it through the kinds, dumps each new
 * open file description through its kind (contents go to the data sink) and fills
 * (*ret_entries)[i] (fd, file_id, type, cloexec). The task must stay frozen (kcmp compares fds
 * of live tasks). *ret_entries is a malloc'ed array of n_fds entries with no owned pointers:
 * free() it. Returns 0, or -errno after one log line (a kind no plugin handles gives "cannot
 * dump fd N of task P: unsupported kind 'K' (LINK)" and -ENOTSUP). */
int fd_dump_task(struct fd_dump_ctx *ctx, pid_t pid, const struct fd_local *fds, size_t n_fds,
		 FdEntry **ret_entries);

/* Dumps the cwd and root of task pid as two new directory FileEntry records (opened O_PATH on
 * restore) plus the umask. *ret is filled (no owned pointers). Returns 0 or -errno (logged). */
int fd_dump_fs(struct fd_dump_ctx *ctx, pid_t pid, FsEntry *ret);

/* Runs the dump_end step of every kind (at most once): tree_dies before the tree is killed,
 * false before it is let go. */
void fd_dump_end(struct fd_dump_ctx *ctx, bool tree_dies);
/* After every task's fds: the kinds' dump_finish steps (a tty slave finds its master among the
 * files of the whole tree, a socket its peer), then checks that every lock a task of the tree
 * holds was found on one of its fds. Returns 0, or -errno after one log line (-ENOTSUP:
 * refused). */
int fd_dump_finish(struct fd_dump_ctx *ctx);
/* The tree is let go running (a failed dump, --leave-running): the kinds put back what their
 * dump took (a terminal's queued bytes). Call it before releasing the tree; without the call,
 * freeing the context drops it. */
void fd_dump_release(struct fd_dump_ctx *ctx);

/* The files dumped so far, in file-id order (ids are 1..n): every FileEntry to write to
 * files.img. Borrowed from ctx; NULL when i >= count. */
size_t fd_dump_ctx_n_files(const struct fd_dump_ctx *ctx);
const FileEntry *fd_dump_ctx_file(const struct fd_dump_ctx *ctx, size_t i);
