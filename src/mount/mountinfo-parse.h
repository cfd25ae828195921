/* mountinfo.h: parse the text of /proc/PID/mountinfo into an array of entries.
 * Pure: no syscalls, no logging. Strings are unescaped (\040 -> ' ') and owned by the result. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Propagation bits, the same values as MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE and MS_SHARED (and
 * as statmount()'s mnt_propagation), so both collectors agree. */
#define MOUNTINFO_PROP_UNBINDABLE (1U << 17)
#define MOUNTINFO_PROP_PRIVATE	  (1U << 18)
#define MOUNTINFO_PROP_SLAVE	  (1U << 19)
#define MOUNTINFO_PROP_SHARED	  (1U << 20)

/* Superblock flags found at the start of the super options (the same values as MS_* / SB_*). */
#define MOUNTINFO_SB_RDONLY	 (1U << 0)
#define MOUNTINFO_SB_SYNCHRONOUS (1U << 4)
#define MOUNTINFO_SB_MANDLOCK	 (1U << 6)
#define MOUNTINFO_SB_DIRSYNC	 (1U << 7)
#define MOUNTINFO_SB_LAZYTIME	 (1U << 25)

struct mountinfo_entry {
	uint32_t mnt_id;    /* (1) old 32-bit mount id */
	uint32_t parent_id; /* (2) */
	uint32_t dev_major; /* (3) superblock device */
	uint32_t dev_minor;
	const char *root;	 /* (4) root of the mount inside its filesystem */
	const char *mountpoint;	 /* (5) relative to the reading task's root */
	const char *mount_opts;	 /* (6) per-mount options, raw ("rw,nosuid,relatime") */
	uint64_t mnt_attr;	 /* (6) as MOUNT_ATTR_* bits */
	uint32_t propagation;	 /* (7) MOUNTINFO_PROP_* bits; PRIVATE when no tag is present */
	uint64_t shared_id;	 /* (7) shared:N, 0 if absent */
	uint64_t master_id;	 /* (7) master:N, 0 if absent */
	uint64_t propagate_from; /* (7) propagate_from:N, 0 if absent */
	const char *fstype;	 /* (9) "type" or "type.subtype" */
	const char *source;	 /* (10) may be empty */
	const char *super_opts;	 /* (11) raw super options ("rw,size=1024k") */
	const char *fs_opts; /* (11) super options without the leading sb flags ("size=1024k") */
	uint32_t sb_flags;   /* (11) MOUNTINFO_SB_* from the leading ro/rw,sync,dirsync,... */
};

struct mountinfo {
	struct mountinfo_entry *entries; /* in file order */
	size_t n_entries;
	char *text; /* private: the unescaped copy the entries' strings point into */
};

/* Parses len bytes of mountinfo text (need not be NUL-terminated). Returns 0, -EINVAL for a
 * malformed line, or -ENOMEM. *ret is set only on success; free it with mountinfo_free(). */
int mountinfo_parse(const char *buf, size_t len, struct mountinfo **ret);

/* Parses one line (no newline) in place: line is modified and the entry's strings point into it.
 * Returns 0 or -EINVAL. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *ret_entry);

/* Maps a comma-separated per-mount option list to MOUNT_ATTR_* bits. Unknown options are ignored.
 */
uint64_t mountinfo_mount_opts_to_attr(const char *opts);

struct mountinfo *mountinfo_free(struct mountinfo *mi); /* NULL-safe, returns NULL */
void mountinfo_freep(struct mountinfo **mi);
