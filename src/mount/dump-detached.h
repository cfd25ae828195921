/* mount/dump-detached.h: find the mount an fd was opened from, and resolve mounts that are in no
 * mount table into one record per mount with the list of its users: lazily unmounted mounts,
 * those whose filesystem no live mount shows any more (orphaned: its files are saved, or its
 * block device recorded), and anonymous ones (open_tree(OPEN_TREE_CLONE), fsmount()) with their
 * whole tree. Reads fds and the mount tables given; never changes any mount anyone can see. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mount_table;
struct mount_entry;
struct detached_ctx;
struct contents_dump;

/* The values of detached_mnt_method in proto/detached-mnt.proto. */
enum detached_method {
	DETACHED_METHOD_UNKNOWN = 0,
	DETACHED_METHOD_STATMOUNT_BY_FD = 1, /* statmount(STATMOUNT_BY_FD), Linux 7.0+ */
	DETACHED_METHOD_FILE_HANDLE = 2,     /* fstatfs + file handle through a live mount */
	DETACHED_METHOD_ANON_CLONE = 3,	     /* a clone of its anonymous tree, read in a scratch
					      * mount namespace */
};

struct detached_user {
	pid_t pid;
	int fd;
	char *path; /* relative to the detached mount's root, as readlink shows it */
};

/* One detached mount, shared by every fd (of any task) opened from it. Owned by the ctx. */
struct detached_mount {
	uint64_t id; /* unique mount id (statx STATX_MNT_ID_UNIQUE); 0 if the kernel has none */
	uint32_t mnt_id_old; /* 32-bit id from fdinfo */
	char *fstype;	    /* from the live mount, statmount, or the f_type magic; "" if unknown */
	char *source;	    /* superblock source; NULL if unknown (orphaned, file-handle method) */
	char *options;	    /* superblock options; NULL if unknown */
	char *root;	    /* the mount's root inside its filesystem; NULL if unknown */
	uint64_t mnt_attr;  /* MOUNT_ATTR_* of the detached mount itself */
	uint32_t dev_major; /* superblock device */
	uint32_t dev_minor;
	enum detached_method method;
	/* The live mount of the same superblock whose root contains root, to rebuild from at
	 * restore (bind root from it). NULL/0 when is_orphaned. */
	const struct mount_entry *source_mnt;
	uint64_t source_mnt_id; /* unique id (0 if its table has none) */
	uint32_t source_mnt_id_old;
	uint64_t source_ns_id;	     /* namespace of source_mnt (0 if unknown) */
	const char *source_mnt_root; /* source_mnt's root inside the filesystem */
	bool source_in_tree;	     /* source_mnt is in one of the tree's namespaces */
	/* No live mount of the superblock containing root is in any table: the files can only be
	 * reached through the fds, so their contents must be dumped. */
	bool is_orphaned;
	bool root_is_file; /* a single-file bind mount */
	uint32_t sb_flags; /* MS_RDONLY... of the superblock, where known */
	/* Orphaned tmpfs: the key owning the file-data.img records of its files, and the directory
	 * of the filesystem they are relative to. 0/NULL otherwise. */
	uint64_t contents_id;
	const char *contents_root;
	unsigned int inexact; /* DETACHED_INEXACT_*: what the dump could not read */
	/* Anonymous: in a mount namespace of its own (open_tree(OPEN_TREE_CLONE), fsmount()). */
	bool is_anonymous;
	bool is_attachable;  /* the root of its tree: move_mount() of it attaches the tree */
	uint64_t tree_key;   /* its tree's root mount */
	uint64_t parent_key; /* its parent in the tree; its own key for the root */
	char *mountpoint;    /* below the tree's root ("/x"); NULL for the root */
	struct detached_user *users;
	size_t n_users;
};

/* What a lazily unmounted mount of an orphaned filesystem could not tell before Linux 7.0; the
 * record holds stand-ins (see minicr(8), DETACHED MOUNTS). */
#define DETACHED_INEXACT_SOURCE	 (1U << 0) /* the filesystem type's name */
#define DETACHED_INEXACT_OPTIONS (1U << 1) /* what fstatfs() shows (tmpfs: size, nr_inodes) */
#define DETACHED_INEXACT_ROOT	 (1U << 2) /* "/": the files are placed at the root */

/* The id a detached mount is known by in the images (see mount_entry_key()). */
static inline uint64_t detached_mount_key(const struct detached_mount *dm)
{
	return dm->id ? dm->id : dm->mnt_id_old;
}

enum detached_fd_kind {
	DETACHED_FD_IN_TREE = 1,  /* the mount is in a table of the tree's namespaces */
	DETACHED_FD_OTHER_NS = 2, /* the mount is in a namespace outside the tree */
	DETACHED_FD_DETACHED = 3, /* the mount is in no namespace: lazily unmounted */
};

/* What the dumper knows about one fd of a task. */
struct detached_fd {
	pid_t pid;
	int fd;
	uint32_t mnt_id;	/* "mnt_id:" of /proc/PID/fdinfo/FD (the old 32-bit id); 0: unknown */
	uint64_t mnt_id_unique; /* statx STATX_MNT_ID_UNIQUE of the fd; 0: unknown, ask statx */
	const char *path; /* readlink of /proc/PID/fd/FD; NULL to read it from the local fd */
};

struct detached_result {
	enum detached_fd_kind kind;
	/* IN_TREE and OTHER_NS: the table and its mount. For OTHER_NS found by STATMOUNT_BY_FD in
	 * a namespace minicr has no table for, both are NULL and other_ns_id is set. */
	const struct mount_table *table;
	const struct mount_entry *mount;
	uint64_t other_ns_id;
	/* DETACHED: the shared record, owned by the ctx and valid until detached_ctx_free(). */
	const struct detached_mount *detached;
	/* DETACHED: the fd is the mount fd of an anonymous tree (an O_PATH fd of its root, as
	 * open_tree() or fsmount() return): restore gives back the tree itself through it. */
	bool is_mount_fd;
};

/* Context flags. */
#define DETACHED_CTX_NO_STATMOUNT_BY_FD (1U << 0) /* use the file-handle method even on 7.0+ */

/* Creates a resolver over the tree's tables and other tables minicr can see (its own
 * namespace, ...). The tables are not owned and must outlive the ctx. Probes the kernel for
 * STATMOUNT_BY_FD once. Returns 0 or -ENOMEM (not logged). */
int detached_ctx_new(struct mount_table *const *tree_tables, size_t n_tree,
		     struct mount_table *const *other_tables, size_t n_other, unsigned int flags,
		     struct detached_ctx **ret_ctx);
struct detached_ctx *detached_ctx_free(struct detached_ctx *ctx); /* NULL-safe, returns NULL */
void detached_ctx_freep(struct detached_ctx **ctx);

/* Classifies one fd and, when its mount is detached, resolves the mount (once per mount; later
 * fds of the same mount only add a user) and adds (pid, fd, path) to its users. fd is minicr's
 * local copy of the task's fd (pidfd_getfd, SCM_RIGHTS or open()); it is not kept.
 * Returns 0 and fills *ret, or -errno after logging one line naming pid, fd, path and mnt_id. */
int detached_resolve_fd(struct detached_ctx *ctx, int fd, const struct detached_fd *desc,
			struct detached_result *ret);

/* Once every fd of the tree went through detached_resolve_fd(): reads the anonymous trees
 * whole (their mounts without fds get records too), and saves through cd what the fds reach of
 * every orphaned tmpfs (one owner per filesystem). Returns 0, or -errno after one line naming
 * the mount and why it cannot be dumped. Closes the fds the ctx kept for this. */
int detached_ctx_finish(struct detached_ctx *ctx, struct contents_dump *cd);

/* The detached mounts found so far, in the order they were first seen. */
size_t detached_ctx_n_mounts(const struct detached_ctx *ctx);
const struct detached_mount *detached_ctx_mount(const struct detached_ctx *ctx, size_t i);
bool detached_ctx_has_statmount_by_fd(const struct detached_ctx *ctx);

/* Whether statmount() accepts STATMOUNT_BY_FD (Linux 7.0+): with mnt_fd = -1 the kernel
 * answers EBADF where the flag exists and EINVAL (or ENOSYS) where it does not. */
bool detached_probe_statmount_by_fd(void);
