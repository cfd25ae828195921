/* fdinfo-parse.h: parse the text of /proc/PID/fdinfo/N into numbers. Pure: no syscalls, no
 * logging; the caller knows which pid and fd the text came from and logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdinfo {
	uint64_t pos;	 /* file offset, bytes */
	uint32_t flags;	 /* open flags (octal in the text), O_CLOEXEC included */
	uint32_t mnt_id; /* 32-bit mount id */
	uint64_t ino;	 /* inode number */
	bool has_ino;

	/* eventfd */
	bool has_eventfd_count;
	uint64_t eventfd_count; /* hexadecimal in the text */
	bool has_eventfd_id;
	uint32_t eventfd_id;
	bool has_eventfd_semaphore;
	bool eventfd_semaphore;
};

/* Parses len bytes of fdinfo text (need not be NUL-terminated). The "pos", "flags" and
 * "mnt_id" lines are required; unknown lines are skipped. Returns 0, or -EINVAL on a
 * missing required line or a malformed value. *ret is set only on success. */
int fdinfo_parse(const char *buf, size_t len, struct fdinfo *ret);
