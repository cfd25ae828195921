/* mount/dump-contents.h: save the files of a filesystem that nothing outside the dumped tree can
 * give back — a tmpfs only the tree's own namespace shows, or one no mount shows any more
 * (orphaned: reached through the tree's fds only) — as FILE_DATA_KIND_TMPFS records of
 * file-data.img, which mount/restore-contents.c writes back. The records of one owner (the key
 * of a mount of the filesystem) are relative to one directory of it, the contents_root of the
 * mounts that use them, and come parents first:
 *   path      "." for that directory itself, else "a/b"
 *   mode, uid, gid, atime_ns, mtime_ns, xattrs, rdev      on the first record of a file
 *   data      the contents by runs of data (offset; total_size on the first record, so holes
 *             stay holes), or a symlink's target
 *   link_to   instead of all that: another name (hard link) of the file recorded at link_to
 *   origin    WALKED (listed in its directory), FD (reached through an fd only: the kernel's
 *             path of that fd), PLACEHOLDER (not seen: a directory made to hold what is below
 *             it, or what a mount covers)
 * Reads only; files are opened O_NOATIME, so saving them changes no access time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct image_writer;
struct mount_entry;
struct mount_table;
struct contents_dump;

/* A saver writing to w (borrowed). NULL on ENOMEM. */
struct contents_dump *contents_dump_new(struct image_writer *w);
struct contents_dump *contents_dump_free(struct contents_dump *cd); /* NULL-safe; NULL */
static inline void contents_dump_freep(struct contents_dump **cd)
{
	*cd = contents_dump_free(*cd);
}

/* Starts the records of one filesystem, owned by owner: forgets the inodes and paths seen
 * before (inode numbers mean something within one filesystem only). */
void contents_dump_begin(struct contents_dump *cd, uint64_t owner);

/* Saves the directory dir_fd as prefix ("" for the contents root itself) and everything below it
 * on the same mount; a mount inside it is saved as a placeholder of what it covers. A directory
 * whose inode was saved already is skipped. Returns 0 or -errno (logged). */
int contents_dump_tree(struct contents_dump *cd, int dir_fd, const char *prefix);

/* Saves the file behind fd (any type but a directory), reached through an fd only, at path
 * (relative, no leading '/'), after placeholders for its directories not saved yet. A file whose
 * inode was saved already becomes a hard link to it when path is a new name. Returns 0 or -errno
 * (logged). */
int contents_dump_file(struct contents_dump *cd, int fd, const char *path);

/* Placeholders for the directories holding path that are not saved yet. Returns 0 or -errno
 * (logged). */
int contents_dump_parents(struct contents_dump *cd, const char *path);

/* The path an inode of the current filesystem was saved at first, or NULL. */
const char *contents_dump_path_of(const struct contents_dump *cd, ino_t ino);

/* Files saved so far, placeholders included. */
size_t contents_dump_n_files(const struct contents_dump *cd);

/* ---- a tmpfs of the tree's own namespace ------------------------------------------------- */

struct contents_ns_result {
	/* the mounts that were walked, one per superblock: entries of the namespace tables, valid
	 * while those live; the array is malloc'ed (free()) */
	const struct mount_entry **walked;
	size_t n_walked;
};

/* Saves, through one mount each (the one showing the most of it), every tmpfs superblock of
 * ns_table that no mount of own_table shares: its owner is that mount's key, its contents root
 * that mount's root. Appends to *res. Returns 0 or -errno (logged). */
int contents_dump_namespace(struct contents_dump *cd, const struct mount_table *ns_table,
			    const struct mount_table *own_table, struct contents_ns_result *res);
