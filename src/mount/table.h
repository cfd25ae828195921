/* mount-table.h: the mount table of one mount namespace, collected with listmount()/statmount()
 * (Linux 6.8+) or from /proc/PID/mountinfo, indexed by unique id, old id and superblock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum mount_table_method {
	MOUNT_TABLE_METHOD_LISTMOUNT = 1, /* listmount() + statmount() */
	MOUNT_TABLE_METHOD_MOUNTINFO = 2, /* /proc/PID/mountinfo */
};

struct mount_entry {
	uint64_t mnt_id;     /* unique 64-bit id; 0 when collected from mountinfo */
	uint64_t parent_id;  /* unique id of the parent; 0 when unknown */
	uint32_t mnt_id_old; /* 32-bit id as in mountinfo and fdinfo */
	uint32_t parent_id_old;
	uint32_t dev_major; /* superblock device */
	uint32_t dev_minor;
	const char *root;	/* root of the mount inside its filesystem */
	bool root_deleted;	/* that root was removed from its filesystem ("//deleted") */
	const char *mountpoint; /* path in the namespace */
	const char *fstype;	/* "tmpfs", "fuse.sshfs" */
	const char *source;	/* superblock source; may be empty */
	const char *options;	/* superblock (fs) options without ro/rw/sync... */
	uint64_t mnt_attr;	/* MOUNT_ATTR_* bits of this mount */
	uint32_t sb_flags;    /* SB_RDONLY, SB_SYNCHRONOUS, SB_DIRSYNC, SB_LAZYTIME (MS_* values) */
	uint32_t propagation; /* MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE bits */
	uint64_t shared_id;   /* peer group when shared, else 0 */
	uint64_t master_id;   /* master's peer group when slave, else 0 */
	uint64_t propagate_from; /* nearest dominating peer group visible, else 0 */
	uint64_t ns_id;		 /* mount namespace id; 0 when the kernel cannot tell */
	/* of a removed root, its mode and owner (mount_table_set_root_stat()); else 0 */
	uint32_t root_mode, root_uid, root_gid;

	const struct mount_entry *parent;	 /* NULL for the namespace root */
	const struct mount_entry *next_same_dev; /* next mount of the same superblock, or NULL */
};

struct mount_table;

/* The id a mount is known by in the images: its unique 64-bit id, or the 32-bit id where the
 * table came from mountinfo on a kernel without unique ids. */
static inline uint64_t mount_entry_key(const struct mount_entry *m)
{
	return m->mnt_id ? m->mnt_id : m->mnt_id_old;
}

/* Collection flags. */
#define MOUNT_TABLE_FORCE_MOUNTINFO (1U << 0) /* skip listmount(); benchmarks and tests */
#define MOUNT_TABLE_FORCE_LISTMOUNT (1U << 1) /* fail rather than fall back to mountinfo */

/* Collects the mount table of the mount namespace of task pid (getpid() for minicr's own).
 * Uses listmount()/statmount() when the kernel has them and the namespace can be queried,
 * else /proc/PID/mountinfo. Logs once on failure and returns -errno; *ret_table is set only
 * on success. Free with mount_table_free(). */
int mount_table_collect(pid_t pid, unsigned int flags, struct mount_table **ret_table);

/* Builds a table from mountinfo text already read (for tests); pid and ns_id are recorded as
 * given. Returns 0, -EINVAL (malformed, not logged) or -ENOMEM. */
int mount_table_from_mountinfo(const char *buf, size_t len, pid_t pid, uint64_t ns_id,
			       struct mount_table **ret_table);

struct mount_table *mount_table_free(struct mount_table *t); /* NULL-safe, returns NULL */
void mount_table_freep(struct mount_table **t);

/* Accessors. The entries belong to the table and live as long as it does. */
size_t mount_table_size(const struct mount_table *t);
/* The i-th mount in parent-first order (every parent comes before its children). */
const struct mount_entry *mount_table_get(const struct mount_table *t, size_t i);
enum mount_table_method mount_table_method(const struct mount_table *t);
pid_t mount_table_pid(const struct mount_table *t);	  /* the task it was collected through */
uint64_t mount_table_ns_id(const struct mount_table *t);  /* 0 if unknown */
uint64_t mount_table_ns_ino(const struct mount_table *t); /* inode of /proc/PID/ns/mnt */
bool mount_table_has_unique_ids(const struct mount_table *t);

/* O(1) lookups; NULL when absent. */
const struct mount_entry *mount_table_find(const struct mount_table *t, uint64_t mnt_id);
const struct mount_entry *mount_table_find_old(const struct mount_table *t, uint32_t mnt_id_old);
/* The first mount of the superblock dev; follow ->next_same_dev for the others. */
const struct mount_entry *mount_table_find_dev(const struct mount_table *t, uint32_t major,
					       uint32_t minor);

/* Records the mode and owner of m's root (a removed one, which restore recreates). */
void mount_table_set_root_stat(struct mount_table *t, const struct mount_entry *m, uint32_t mode,
			       uint32_t uid, uint32_t gid);

/* Reads the 64-bit id of the mount namespace behind nsfd (NS_GET_MNTNS_ID, Linux 6.9+).
 * Returns 0 and sets *ret_id, or -errno (not logged). */
int mount_ns_get_id(int nsfd, uint64_t *ret_id);
