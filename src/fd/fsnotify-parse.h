/* fd/fsnotify-parse.h: the watch and mark lines of inotify and fanotify fdinfo. Pure: no
 * syscalls, no logging. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The kernel's MAX_HANDLE_SZ. */
#define FSNOTIFY_HANDLE_MAX 128

/* A file handle as fdinfo shows it (fhandle-bytes, fhandle-type, f_handle). */
struct fsnotify_handle {
	uint32_t bytes;
	int32_t type;
	uint8_t data[FSNOTIFY_HANDLE_MAX];
};

#define INOTIFY_WD_PREFIX "inotify wd:"

/* "inotify wd:<hex> ino:<hex> sdev:<hex> mask:<hex> ignored_mask:<hex> fhandle-bytes:<hex>
 * fhandle-type:<hex> f_handle:<hex bytes>" */
struct inotify_wd {
	int32_t wd;
	uint64_t ino;
	uint32_t sdev; /* major << 20 | minor */
	uint32_t mask;
	uint32_t ignored_mask;
	struct fsnotify_handle handle;
};

/* Returns 0, or -EINVAL when a field is missing, malformed or out of range. */
int inotify_parse_wd(const char *line, size_t len, struct inotify_wd *ret);

#define FANOTIFY_PREFIX "fanotify "

/* "fanotify flags:<hex> event-flags:<hex>": the group. */
struct fanotify_group {
	uint32_t flags;	      /* fanotify_init() flags */
	uint32_t event_flags; /* fanotify_init() event_f_flags */
};

enum fanotify_mark_kind {
	FANOTIFY_MARK_INODE = 1, /* "fanotify ino:... sdev:... ... f_handle:..." */
	FANOTIFY_MARK_MOUNT,	 /* "fanotify mnt_id:..." */
	FANOTIFY_MARK_SB,	 /* "fanotify sdev:..." */
};

struct fanotify_mark {
	enum fanotify_mark_kind kind;
	uint64_t ino;	 /* INODE */
	uint32_t sdev;	 /* INODE, SB */
	uint32_t mnt_id; /* MOUNT: the old 32-bit id */
	uint32_t mflags; /* FAN_MARK_IGNORED_SURV_MODIFY, _EVICTABLE, _IGNORE */
	uint32_t mask;
	uint32_t ignored_mask;
	struct fsnotify_handle handle; /* INODE */
};

/* Parses a "fanotify " line (without its newline): the group line (returns 1, *ret_group
 * set) or a mark line (returns 2, *ret_mark set). Returns -EINVAL for anything else. */
int fanotify_parse_line(const char *line, size_t len, struct fanotify_group *ret_group,
			struct fanotify_mark *ret_mark);
