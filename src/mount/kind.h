/* mount/kind.h: the interface of a mount kind plugin, and what the generic mount code offers to
 * one. A mount kind says how restore obtains a mount's superblock: bind from a live mount
 * (bind.c), a new one from its type, source and options (fresh.c), a new tmpfs filled with its
 * dumped contents (tmpfs.c). Every mount, in a namespace or detached, is then a clone of its root
 * inside that superblock, attached at its mountpoint (restore-ns.c) or kept unattached
 * (restore-detached.c): the generic code never names a kind. One file per kind, one line in
 * src/mount/kinds.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnt.pb-c.h"

struct image_set;
struct mount_entry;
struct mount_build;

/* What dump knows of a mount when it chooses its kind. */
struct mount_dump_view {
	const struct mount_entry *m;
	bool sb_is_live;      /* a mount of its superblock is in minicr's namespace */
	bool contents_dumped; /* its superblock's files were saved (a tmpfs only the tree sees) */
};

/* A mount to rebuild, whether it comes from mnt-<ns>.img or detached-mnt.img. */
struct mount_spec {
	MntKind kind;
	uint64_t id;	  /* its image key */
	const char *what; /* for messages: "mount 123 ('/x')", "detached mount 45" */
	const char *fstype, *source, *options;
	const char *root; /* the mount's root inside its filesystem */
	uint32_t dev_major, dev_minor;
	uint32_t sb_flags;	   /* MS_RDONLY...: superblock flags */
	uint64_t contents_id;	   /* TMPFS: owner of the FILE_DATA_KIND_TMPFS records */
	const char *contents_root; /* TMPFS: the root the records are relative to */
	bool root_is_file;	   /* a single-file bind mount */
	/* the root was removed from its filesystem: made again (a directory of this mode and
	 * owner) until the mount is attached (build.c) */
	bool root_deleted;
	uint32_t root_mode, root_uid, root_gid;
};

struct mount_kind {
	const char *name; /* for logs and show: "tmpfs" */
	MntKind kind;	  /* its value in proto/mnt.proto */
	bool needs_live;  /* binds from a live mount: only where one is (not a made superblock) */

	/* ---- dump ---- */
	/* True if this kind describes v's superblock; asked in the registry's order. */
	bool (*recognise)(const struct mount_dump_view *v);

	/* ---- restore ---- */
	/* Optional: checks spec against the image set before anything is created (dump runs it
	 * too). Returns 0, or -EBADMSG after one line (image_set_bad()). */
	int (*validate)(const struct image_set *set, const struct mount_spec *spec);
	/* Finds or makes a mount of spec's superblock whose root contains spec->root: sets *ret_fd
	 * (an O_PATH fd of that mount's root, borrowed: the build or the kind owns it) and
	 * *ret_sub (spec->root below it, "" or "/a/b"). A kind that makes a superblock makes it
	 * once per dumped superblock (mount_build_sb_get/put). Returns 0 or -errno (logged,
	 * naming spec->what). */
	int (*source)(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
		      const char **ret_sub);
};

/* ---- the registry (kinds.c) -------------------------------------------------------------- */

const struct mount_kind *mount_kind_by_kind(MntKind kind);
/* The first kind that recognises v (the last one, fresh, takes anything). */
const struct mount_kind *mount_kind_recognise(const struct mount_dump_view *v);

/* ---- what the build offers to kinds (build.c) ---------------------------------------------- */

/* A live mount of spec's superblock whose root contains spec->root, in the namespace being
 * built (the mounts made so far, then the ones it had) or in minicr's: its root fd (borrowed)
 * and spec->root below it. Returns 0, -ENOENT (not logged) or -errno (logged). */
int mount_build_find_live(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
			  const char **ret_sub);
/* The root fd of a superblock a kind made earlier for dumped device (major, minor), or -ENOENT.
 */
int mount_build_sb_get(const struct mount_build *b, uint32_t major, uint32_t minor);
/* Keeps mnt_fd (an unattached mount of a new superblock's root; ownership passes, also on
 * failure) as the superblock of dumped device (major, minor). Returns 0 or -ENOMEM (logged). */
int mount_build_sb_put(struct mount_build *b, uint32_t major, uint32_t minor, int mnt_fd);
/* The image set being restored (contents records, other mounts). */
const struct image_set *mount_build_set(const struct mount_build *b);

/* Makes a new superblock of spec's type from its source and options (fsopen, fsconfig,
 * fsmount), read-write until the caller has filled it; the superblock's read-only flag is
 * applied by mount_fresh_finish(). Returns the unattached mount fd of its root or -errno
 * (logged). Shared by the kinds that make a superblock. */
int mount_fresh_create(const struct mount_spec *spec);
/* Makes the new superblock behind mnt_fd read-only if spec's was. Returns 0 or -errno (logged). */
int mount_fresh_finish(const struct mount_spec *spec, int mnt_fd);
/* Fills a new superblock (mnt_fd: its root) before it is made read-only. Returns 0 or -errno
 * (logged). */
typedef int (*mount_sb_fill_fn)(struct mount_build *b, const struct mount_spec *spec, int mnt_fd);
/* The source step of a kind that makes its superblock: the one made earlier for spec's dumped
 * device, or a new one (mount_fresh_create, fill when given, mount_fresh_finish) kept in the
 * build; *ret_sub is spec->root. Returns 0 or -errno (logged). */
int mount_sb_source(struct mount_build *b, const struct mount_spec *spec, mount_sb_fill_fn fill,
		    int *ret_fd, const char **ret_sub);
