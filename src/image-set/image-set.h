/* restore-images.h: read a whole image set into memory and validate it (versions, cross
 * references, pids, fd numbers, paths) before restore touches the system. Reads files only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "detached-mnt.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mnt.pb-c.h"
#include "pstree.pb-c.h"

struct restore_task {
	const PstreeEntry *pst;
	int parent;    /* index of the parent task, -1 for the root */
	int mntns;     /* index in image_set.mntns of its mount namespace; -1: minicr's own */
	FdEntry **fds; /* fdinfo-<pid>.img records, owned */
	size_t n_fds;
	FsEntry *fs; /* fs-<pid>.img, owned */
};

/* One mount namespace of the tree: its mnt-<id>.img, loaded into image_set.mnts. */
struct image_mntns {
	uint64_t id;
	size_t first; /* its mounts are mnts[first .. first + n_mnts), its root first */
	size_t n_mnts;
};

struct image_set {
	InventoryEntry *inv;
	PstreeEntry **pstree;
	struct restore_task *tasks; /* same order as pstree.img: parents before children */
	size_t n_tasks;
	FileEntry **files;
	size_t n_files;
	DetachedMntEntry **detached;
	size_t n_detached;
	FileDataEntry **data;
	size_t n_data;
	/* The tree's own mount namespaces (every namespace a task lived in but minicr's), each
	 * rebuilt at restore, in the order their first task appears; their mounts are in mnts,
	 * namespace after namespace, each parent first. Tasks that lived in minicr's namespace
	 * (root_mnt_ns_id) are restored in minicr's. */
	uint64_t root_mnt_ns_id; /* 0 when the images do not say */
	struct image_mntns *mntns;
	size_t n_mntns;
	MntEntry **mnts;
	size_t n_mnts;
	int max_fd;    /* the highest fd number of any task */
	bool for_dump; /* checked by a dump before it publishes: failures say so */
	/* private: sorted id -> index maps; the namespace of each mount */
	size_t *file_order, *detached_order, *mnt_order, *mnt_ns;
};

/* The fd numbers a restore can give the tree's files under an RLIMIT_NOFILE of nofile: restore
 * keeps a few service fds at the top of the range. Dump checks its images against the same
 * bound. */
int image_set_fd_limit(int nofile);

/* Reads and validates every image of the set in img_dirfd: the one "can this be restored?"
 * check of the images, which restore runs before it creates anything, dump runs on the set it
 * is about to publish (before it lets the tree go), and show runs on what it decodes. fd
 * numbers must stay below fd_limit. Returns 0 and sets *ret_set, or -errno after one log line
 * naming the image, record and reason. Nothing outside the process is changed. */
int image_set_load(int img_dirfd, int fd_limit, struct image_set **ret_set);
/* The same checks, run by dump on the set it is about to publish; a failure is logged as
 * "cannot dump: restore would refuse the images: <reason>". Returns 0 or -errno. */
int image_set_check_for_dump(int img_dirfd, int fd_limit);
struct image_set *image_set_free(struct image_set *set); /* NULL-safe, returns NULL */
void image_set_freep(struct image_set **set);

/* Logs "invalid image set: <message>" (from a dump: "cannot dump: restore would refuse the
 * images: <message>") once and returns -EBADMSG: the one way checks of the set (here and in
 * the kinds' validate hooks) report. */
int image_set_bad(const struct image_set *set, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Checks the path record of a file reached by a path (record rec of files.img): present, a
 * clean path, on a mount the set has. Returns 0 or -EBADMSG (logged). */
int image_set_check_reg(const struct image_set *set, size_t rec, const FileEntry *fe);

/* O(log n) lookups by id; -1 when absent. */
ssize_t image_set_file(const struct image_set *set, uint32_t id);
ssize_t image_set_detached(const struct image_set *set, uint64_t id);
ssize_t image_set_mnt(const struct image_set *set, uint64_t mnt_id);
/* The namespace (index in set->mntns) a mount of set->mnts belongs to. */
size_t image_set_mnt_ns(const struct image_set *set, size_t mnt_idx);
/* The index in set->mntns of namespace ns_id, or -1 (minicr's own, or unknown). */
ssize_t image_set_mntns(const struct image_set *set, uint64_t ns_id);
/* The path of reg (a file of a mount of set->mnts at index mnt_idx) below that mount's root:
 * "" for the root itself, else "/a/b"; NULL when the path is not below its mountpoint. */
const char *image_set_path_in_mnt(const struct image_set *set, size_t mnt_idx, const char *path);
