/* dump-images.h: turn the dump's in-memory results (mount tables, detached mounts, files, the
 * process tree, kernel features) into image records. Knows the record layouts, not the order
 * of the dump sequence. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct detached_ctx;
struct dump_cgroups;
struct detached_mount;
struct fd_dump_ctx;
struct kerndat;
struct mount_entry;
struct mount_table;
struct seize_tree;

/* Each writes one image into img_dirfd. Return 0 or -errno (logged). */
int dump_write_files(int img_dirfd, const struct fd_dump_ctx *fds);
int dump_write_detached(int img_dirfd, const struct detached_ctx *detached);
/* own: minicr's namespace (superblocks it shows are bound from at restore); walked: the mounts
 * whose superblock's contents went to file-data.img. Each mount gets its kind. */
int dump_write_mounts(int img_dirfd, const struct mount_table *table, uint64_t ns_key,
		      const struct mount_table *own, const struct mount_entry *const *walked,
		      size_t n_walked);
/* ns_keys[i]: the mount namespace key of tree->tasks[i]; cgroups: theirs (NULL: none recorded). */
int dump_write_pstree(int img_dirfd, const struct seize_tree *tree, const uint64_t *ns_keys,
		      const struct dump_cgroups *cgroups);
int dump_write_inventory(int img_dirfd, pid_t root_pid, const struct kerndat *kd,
			 struct mount_table *const *tables, size_t n_tables, uint64_t own_ns_key);
