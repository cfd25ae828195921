/* fd/kind.h: the interface of an fd kind plugin, and what the generic fd code offers to one.
 * A kind is one file in src/fd/ holding everything about it — how it is recognised, what it
 * dumps (its record in files.img), its restore-time image check, its identity for shared
 * descriptions, which files it needs opened first, how it is opened, and a per-task step after
 * every fd is installed — and one line in src/fd/kinds.c. The generic code never names a kind.
 * docs/architecture.md, "How to add an fd kind", walks through eventfd.c as an example. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fd/fdinfo-parse.h"
#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"

struct fd_dump_ctx;
struct fd_restore_ctx;
struct fd_install_ctx;
struct image_set;

/* Everything known about one fd of a frozen task before a kind looks at it. */
struct fd_params {
	pid_t pid;
	int fd;	      /* number in the task; -1 for cwd and root */
	int local_fd; /* borrowed local copy: the same open file description */
	struct stat st;
	struct fdinfo info; /* generic fdinfo lines; flags without O_CLOEXEC; mnt_id 0 when only
			     * the unique id is known */
	uint64_t mnt_id_unique; /* statx's unique mount id; 0 when unknown */
	const char *link;	/* readlink text, " (deleted)" removed */
	bool is_deleted;	/* readlink text ended with " (deleted)" */
	long fs_type;		/* fstatfs f_type of FIFOs and memfd candidates, else 0 */
	const char *fdinfo;	/* the task's fdinfo text when it was read (devices, anon inodes),
				 * else NULL: fd_params_fdinfo() reads it */
	size_t fdinfo_len;
	int sock_family, sock_type, sock_protocol; /* sockets: SO_DOMAIN, SO_TYPE, SO_PROTOCOL;
						    * else 0 */
	bool fdinfo_is_head; /* fdinfo holds only the first lines of a longer text (an epoll
			      * set, inotify watches): fd_params_fdinfo() reads it whole */
};

struct fd_kind {
	const char *name; /* for logs and show: "eventfd" */
	FdType type;	  /* its value in proto/fdinfo.proto; selects the kind at restore */

	/* ---- dump ---- */
	/* True if this kind handles the fd. Called in the registry's order; must make no
	 * syscalls (everything it may look at is in p). */
	bool (*recognise)(const struct fd_params *p);
	/* Optional: what separates open file descriptions that look alike otherwise (same
	 * inode, offset and flags: every eventfd shares one anon inode). Only fds whose
	 * identities are equal are compared with kcmp. */
	uint64_t (*identity)(const struct fd_params *p);
	/* Fills the kind's part of fe (id, type, flags, pos and fown are set) for the first fd
	 * of an open file description, with storage from fd_dump_alloc(). A state the kind
	 * cannot restore is refused here: one log line naming pid, fd and why, -ENOTSUP.
	 * Returns 0 or -errno (logged). */
	int (*dump)(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe);
	/* Optional: runs once after every task's fds were dumped and before any image is
	 * written: the checks that span the tree (a socket's peer is in it) and state read for
	 * several files together (both ends of a TCP connection). It may still change the records
	 * its dump made. Returns 0 or -errno (logged: the dump fails, the tree keeps running). */
	int (*dump_finish)(struct fd_dump_ctx *ctx);
	/* Optional: runs once when the dump ends, just before the tree is killed (tree_dies) or
	 * let go (a failed dump, --leave-running): what the kind changed on live files for the
	 * dump (TCP repair mode) is put back, or left for the kill; its state is freed. Also
	 * called, with tree_dies false, if the dump never got as far as finishing. */
	void (*dump_end)(struct fd_dump_ctx *ctx, bool tree_dies);

	/* Optional: runs for each file of the kind once every task's fds are dumped, for a file
	 * whose record names files of other tasks (a tty slave's master); fd_dump_ctx_file()
	 * lists them all. A state the kind cannot restore is refused here as in dump. Returns 0
	 * or -errno (logged). */
	int (*dump_finish_file)(struct fd_dump_ctx *ctx, FileEntry *fe);

	/* ---- restore ---- */
	/* Optional: checks fe (record rec of files.img) against the image set before anything is
	 * created, with restore's own rules; dump runs it too before it lets the tree go.
	 * Returns 0, or -EBADMSG after one log line. */
	int (*validate)(const struct image_set *set, size_t rec, const FileEntry *fe);
	/* Optional: the ids of files that must be open before fe is opened (a tty slave's
	 * master). Writes at most max ids and returns how many it has in all. */
	size_t (*deps)(const FileEntry *fe, uint32_t *ret_ids, size_t max);
	/* Opens fe in the process that holds the tree's whole file table (the restored root
	 * task), O_CLOEXEC set. Its offset, F_SETFL flags and owner are set afterwards by the
	 * generic code. Returns 0 with *ret_fd owned by the caller, or -errno (logged). */
	int (*open)(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd);
	/* Optional: true if fe can be opened on a worker thread, needing nothing but its own
	 * record and no other file (large tables of plain files open in parallel). */
	bool (*opens_alone)(const FileEntry *fe);
	/* Optional: runs in every task holding the file, once per task, after all of that
	 * task's fds are at their numbers (epoll registrations, a controlling terminal).
	 * fd is one of the numbers the file has in the task. Returns 0 or -errno (logged). */
	int (*after_install)(const struct fd_install_ctx *t, const FileEntry *fe, int fd);
	/* True if the file can be opened only once every task of the tree exists (a pidfd of
	 * one of them). The root task opens it then, with a context that reaches no mount (no
	 * path may be opened), and hands it to each task holding it (fd/restore-late.h). */
	bool opens_late;
	/* True if after_install needs every task of the tree to exist, with its session and
	 * group (a terminal's foreground group): the tasks then meet before that step. */
	bool after_install_needs_tree;
};

/* ---- the registry (kinds.c) -------------------------------------------------------------- */

/* The kind of a dumped file, or NULL for a type no kind has. */
const struct fd_kind *fd_kind_by_type(FdType type);
/* The first kind that recognises p, or NULL. */
const struct fd_kind *fd_kind_recognise(const struct fd_params *p);
/* Every kind, for listings (show, docs): *ret_n of them. */
const struct fd_kind *const *fd_kind_all(size_t *ret_n);

/* ---- dump-side help for kinds (dump.c, dump-data.c) --------------------------------------- */

/* size zeroed bytes that live as long as ctx; NULL on ENOMEM. */
void *fd_dump_alloc(struct fd_dump_ctx *ctx, size_t size);
/* A record of protobuf-c type `type` initialised with `init` (its *__INIT), or NULL. */
#define FD_DUMP_NEW(ctx, type, init)                                                               \
	({                                                                                         \
		type *fd_new_ = fd_dump_alloc((ctx), sizeof(type));                                \
		if (fd_new_)                                                                       \
			*fd_new_ = (type)init;                                                     \
		fd_new_;                                                                           \
	})
/* A copy of s that lives as long as ctx; NULL on ENOMEM. */
char *fd_dump_strdup(struct fd_dump_ctx *ctx, const char *s);
/* Resolves the mount p was opened from (through the dump's resolver: a mount of the tree,
 * minicr's namespace, or a detached mount) and sets fe->reg to a new path record (path,
 * mount, dev, ino, size, mode, rdev, unlinked). Returns 0 or -errno (logged). */
int fd_dump_reg_path(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe);
/* The task's fdinfo text for p, whole: the probe's, or read from the local copy's fdinfo when
 * the probe has none or kept only its head (the lines a kind reads describe the open file
 * description, which both show alike). The text lives as long as ctx. Returns 0 or -errno
 * (logged). */
int fd_params_fdinfo(struct fd_dump_ctx *ctx, const struct fd_params *p, const char **ret_text,
		     size_t *ret_len);
/* Sends one record of file-data.img (a kind's own data: socket queues). The entry and its data
 * are borrowed for the call only. Returns 0 or -errno (logged). */
int fd_dump_data(struct fd_dump_ctx *ctx, const FileDataEntry *entry);
/* A kind's own state for the whole dump (what spans tasks: sockets and their peers), one slot
 * per fd type, NULL until the kind sets it; the kind frees it in its dump_end. */
void **fd_dump_kind_state(struct fd_dump_ctx *ctx, FdType type);
/* --tcp-established: connections to peers outside the tree may be dumped. */
bool fd_dump_tcp_established(const struct fd_dump_ctx *ctx);
/* The same, always read now from the local copy: for a kind that changed what fdinfo shows
 * (a timerfd brought up to date by timerfd_gettime). */
int fd_params_fdinfo_now(struct fd_dump_ctx *ctx, const struct fd_params *p, const char **ret_text,
			 size_t *ret_len);
/* Opens (O_PATH) the root of a mount the tree or minicr can reach: the one with old id
 * mnt_id_old when nonzero, else one of superblock major:minor. Returns the fd, -ENOENT (not
 * logged) when there is none, or -errno (logged). */
int fd_dump_open_mount(struct fd_dump_ctx *ctx, uint32_t mnt_id_old, uint32_t major,
		       uint32_t minor);
/* The fds of the task being dumped, in fd order, for a kind whose state names other fds of
 * its task (an epoll's targets). Borrowed; valid while that task's fds are dumped. */
size_t fd_dump_task_fds(const struct fd_dump_ctx *ctx, const struct fd_params **ret);
/* Every file dumped so far: ids 1..n (the dump_finish steps see the whole tree's). */
size_t fd_dump_n_files(const struct fd_dump_ctx *ctx);
const FileEntry *fd_dump_file(const struct fd_dump_ctx *ctx, size_t i);
/* --shell-job was given: terminals the tree did not open may be dumped. */
bool fd_dump_shell_job(const struct fd_dump_ctx *ctx);
/* Calls fn(arg, tree_runs_on) once: from fd_dump_release() with true when the dump lets the
 * tree run on (the kind puts back what its dump took), else with false when the context is
 * freed (the kind only frees). Returns 0 or -ENOMEM (logged; fn is then called at once with
 * true). */
int fd_dump_defer(struct fd_dump_ctx *ctx, void (*fn)(void *arg, bool tree_runs_on), void *arg);
/* Largest FileDataEntry.data chunk, bytes. */
#define FD_DATA_CHUNK_MAX (1U << 20)
/* Sends the contents of the file behind p->local_fd (read through a fresh descriptor, so no
 * offset moves) as FILE_DATA_KIND_FILE chunks owned by file id owner_id. Returns the size
 * dumped, or -errno (logged). */
int64_t fd_dump_contents(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t owner_id);
/* Sends the bytes buffered in the pipe or FIFO behind p->local_fd, once per pipe_id, as
 * FILE_DATA_KIND_PIPE chunks, without consuming them. Returns 0 or -errno (logged). */
int fd_dump_pipe_data(struct fd_dump_ctx *ctx, const struct fd_params *p, uint64_t pipe_id);

/* A value a kind keeps for the rest of the dump under (tag, key), e.g. which file of an inode
 * carries its contents; tags are made with FD_KEEP_TAG() as on the restore side. Returns 0 or
 * -ENOMEM (logged). */
int fd_dump_keep(struct fd_dump_ctx *ctx, uint64_t tag, uint64_t key, uint64_t value);
/* The value kept under (tag, key) in *ret_value: 0, or -ENOENT. */
int fd_dump_lookup(const struct fd_dump_ctx *ctx, uint64_t tag, uint64_t key, uint64_t *ret_value);

/* One 64-bit key for an inode of a given device. */
static inline uint64_t fd_inode_key(uint64_t dev, uint64_t ino)
{
	return (dev * 0x9e3779b97f4a7c15ULL) ^ ino;
}

/* ---- restore-side help for kinds (restore-file.c, restore-data.c, open-beneath.c) ---------- */

/* Opens reg->path beneath its mount's root without following symlinks out of the mount or
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
/* The flags open() takes for a file whose fdinfo showed flags: what F_SETFL and O_CLOEXEC
 * cannot set, without O_CREAT-like ones; O_PATH keeps only O_DIRECTORY and O_NOFOLLOW. */
uint32_t fd_open_flags(uint32_t flags);
/* Opens /proc/self/fd/fd with flags (plus O_CLOEXEC): another open file description of the
 * same file. Returns the fd or -errno (logged). */
int fd_reopen(int fd, uint32_t flags);

/* A kind keeps fds in the restore context (a pipe's ends, a memfd, an unlinked file) so that
 * the other files of the same object find them. Keys are (tag, key); a kind makes its tags
 * with FD_KEEP_TAG(its type, a number of its own), so kinds never collide. */
#define FD_KEEP_TAG(type, n) ((uint64_t)(type) << 8 | (uint64_t)(n))
/* Keeps fd (taking ownership, also on failure; fd -1 records the key alone) under
 * (tag, key). Returns 0 or -ENOMEM (logged). */
int fd_restore_keep(struct fd_restore_ctx *ctx, uint64_t tag, uint64_t key, int fd);
/* A kept fd (borrowed; -1 for a key kept alone), or -ENOENT. */
int fd_restore_lookup(const struct fd_restore_ctx *ctx, uint64_t tag, uint64_t key);
/* Hands a kept fd over to the caller: the key stays, kept alone (-1). Returns the fd, -1 if the
 * key was kept alone, or -ENOENT. */
int fd_restore_take(struct fd_restore_ctx *ctx, uint64_t tag, uint64_t key);
/* The image set being restored (its files and file-data records), for kinds whose objects span
 * several files. */
const struct image_set *fd_restore_image_set(const struct fd_restore_ctx *ctx);
/* The fd (borrowed) of file file_id, opened earlier in this table: a file the kind named in
 * its deps (a pty slave's master). -ENOENT if it is not open. */
int fd_restore_file_fd(const struct fd_restore_ctx *ctx, uint32_t file_id);
/* --shell-job was given to restore: terminals the tree did not open are reconnected to minicr's
 * own. */
bool fd_restore_shell_job(const struct fd_restore_ctx *ctx);
/* Runs fn(arg) when ctx is freed, after its kept fds are closed, in this process only (not in
 * tasks forked meanwhile): to reap a helper process. Returns 0 or -ENOMEM (logged). */
int fd_restore_defer(struct fd_restore_ctx *ctx, void (*fn)(void *arg), void *arg);

/* A kind's own state for the whole restore, made zeroed (size bytes) by the first call with
 * tag and returned again by later ones. release(state), if given, runs when the context is
 * freed — once every file of the tree is open, or after a failure — before the kept fds are
 * closed: the place to undo what the kind made in the filesystem. Not for opens_alone kinds
 * (their opens run on several threads). NULL on ENOMEM. */
void *fd_restore_state(struct fd_restore_ctx *ctx, uint64_t tag, size_t size,
		       void (*release)(void *state));
/* The lowest number the restored root task holds file file_id at, or -1. A kind that makes many
 * files at once (socket pairs) may put each there: installing it then costs nothing, and it
 * sits on no other file's number. Safe on worker threads. */
int fd_restore_target(const struct fd_restore_ctx *ctx, uint32_t file_id);

/* ---- after-install help ----------------------------------------------------------------- */

/* The task the after_install step runs in. */
pid_t fd_install_pid(const struct fd_install_ctx *t);
/* A number at which file `file_id` sits in that task, or -ENOENT. */
int fd_install_fd_of(const struct fd_install_ctx *t, uint32_t file_id);
/* The record of file file_id of the image set (another file a kind's step needs: a pty slave's
 * master), or NULL. */
const FileEntry *fd_install_file(const struct fd_install_ctx *t, uint32_t file_id);
/* True in exactly one of the tasks holding file `file_id`: the first in the image's task order
 * (parents before children). For steps that must happen once per file (arming a timer). */
bool fd_install_is_first_holder(const struct fd_install_ctx *t, uint32_t file_id);
