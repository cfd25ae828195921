/* tmpfs-dump.h: the contents of tmpfs filesystems that live only in the dumped tree's own mount
 * namespace. Nothing outside the tree can give them back, so every directory, regular file and
 * symlink goes into file-data.img as FILE_DATA_KIND_TMPFS records:
 *   owner_id  the key of the mount that was walked (mount_entry_key())
 *   path      relative to that mount's root, no leading '/'; parents before children
 *   mode      st_mode including the file type; uid, gid, mtime_ns
 *   data      file contents in chunks (offset, total_size on the first), or a symlink's target
 *   link_to   instead of everything else: this path is another name (hard link) of the file
 *             already recorded at link_to */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct image_writer;
struct mount_entry;
struct mount_table;

struct tmpfs_dump_result {
	/* the mounts that were walked, one per superblock: entries of the namespace tables, valid
	 * while those live; the array is malloc'ed (free()) */
	const struct mount_entry **walked;
	size_t n_walked;
	size_t n_files;
};

/* Walks one mount of every tmpfs superblock of ns_table that no mount of own_table shares.
 * Appends to *res. Returns 0 or -errno (logged). */
int tmpfs_dump_namespace(const struct mount_table *ns_table, const struct mount_table *own_table,
			 struct image_writer *w, struct tmpfs_dump_result *res);
