/* fd/restore-file.h: open one dumped open file description in this process: its kind opens it
 * (fd/kind.h), then the generic parts are put back (offset, F_SETFL flags, owner and signal,
 * O_ASYNC last); and put a file at its fd number. The context keeps what the kinds share
 * across files (a pipe's ends, a memfd, the dumped contents). */
#pragma once

#include <stdbool.h>

#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"

/* Returns a borrowed directory fd that a path (its leading '/' ignored) is opened beneath: the
 * root of reg's mount, or the root of the namespace it was in. *ret_path comes set to
 * reg->path; the callback points it at the part of it to open beneath the fd (below the
 * mount's root when the fd is that mount's). Returns >= 0, or -errno after logging. May run on
 * several threads at once. */
typedef int (*fd_mount_root_fn)(void *opaque, const RegFileEntry *reg, const char **ret_path);

struct image_set;

struct fd_restore_callbacks {
	fd_mount_root_fn mount_root; /* required for files reached by a path */
	void *opaque;
	const struct image_set *set; /* the set being restored, for fd_restore_image_set() */
	bool shell_job; /* --shell-job: reconnect terminals the tree did not open */
};

/* Restore state for the process that opens the tree's files. Free it only once every task
 * holds its fds: the fds it keeps hold pipes and FIFOs open (their data would go with the last
 * end). */
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

/* Records that file file_id is open at fd (borrowed) in the process holding the table, for
 * kinds that need a file they depend on (fd_restore_file_fd()). Returns 0 or -ENOMEM. */
int fd_restore_ctx_note_file(struct fd_restore_ctx *ctx, uint32_t file_id, int fd);

/* Puts file_fd at number fde->fd with fde->cloexec (dup3; file_fd stays open). Returns 0 or
 * -errno (logged). */
int fd_restore_install(const FdEntry *fde, int file_fd);

/* For open-beneath.c: the directory reg's path is opened beneath, and that path (*ret_path).
 * Returns >= 0 (borrowed) or -errno (logged; -EINVAL for a record without a path). */
int fd_restore_mount_root(struct fd_restore_ctx *ctx, const RegFileEntry *reg,
			  const char **ret_path);
