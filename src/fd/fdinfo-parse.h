/* fdinfo-parse.h: parse the text of /proc/PID/fdinfo/N. The generic lines every fd has go into
 * struct fdinfo; the lines of one kind (eventfd-count:, tfd:, clockid: ...) are looked up by
 * that kind's file with fdinfo_get_*(). Pure: no syscalls, no logging; the caller knows which
 * pid and fd the text came from and logs. */
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
};

/* Parses len bytes of fdinfo text (need not be NUL-terminated). The "pos", "flags" and
 * "mnt_id" lines are required; unknown lines are skipped. Returns 0, or -EINVAL on a
 * missing required line or a malformed value. *ret is set only on success. */
int fdinfo_parse(const char *buf, size_t len, struct fdinfo *ret);

/* The value of the first "key:" line of the text: [*ret_val, *ret_val + *ret_len), blanks
 * around it included. Returns 0, or -ENOENT when no line has that key. */
int fdinfo_get(const char *buf, size_t len, const char *key, const char **ret_val,
	       size_t *ret_len);
/* The first "key:" line's value as an unsigned number in base 8, 10 or 16. Returns 0, -ENOENT
 * (no such line) or -EINVAL (malformed or too large); *ret is set only on success. */
int fdinfo_get_u64(const char *buf, size_t len, const char *key, unsigned int base,
		   uint64_t *ret);
/* The first "key:" line's value as a 0/1 flag. Returns 0, -ENOENT or -EINVAL. */
int fdinfo_get_flag(const char *buf, size_t len, const char *key, bool *ret);
/* Parses [p, end) as an unsigned number in base 8, 10 or 16 with optional blanks around it.
 * Returns 0 or -EINVAL; *ret is set only on success. */
int fdinfo_parse_u64(const char *p, const char *end, unsigned int base, uint64_t *ret);
