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
/* The same for a signed decimal number ("-1"). */
int fdinfo_parse_s64(const char *p, const char *end, int64_t *ret);
/* The first "key:" line's value as a pair "(a, b)" of signed decimal numbers (timerfd's
 * "it_value: (0, 899639493)"). Returns 0, -ENOENT or -EINVAL. */
int fdinfo_get_pair(const char *buf, size_t len, const char *key, int64_t *ret_a, int64_t *ret_b);

/* Multi-line kinds (epoll's "tfd:", inotify's "inotify wd:", fanotify's marks) have one line per
 * item. Starting with *cursor = 0, each call finds the next line that begins with prefix and
 * sets [*ret_line, *ret_line + *ret_len) to it (without its newline). Returns 1 for a line, 0
 * when there is none left. */
int fdinfo_next_line(const char *buf, size_t len, const char *prefix, size_t *cursor,
		     const char **ret_line, size_t *ret_len);
/* In one such line of blank-separated "key:value" fields (blanks may follow the colon), the
 * value of the field named key: [*ret_val, *ret_val + *ret_len), blanks excluded. The key must
 * start the line or follow a blank ("mask" never matches "ignored_mask"). Returns 0 or
 * -ENOENT. */
int fdinfo_field(const char *line, size_t len, const char *key, const char **ret_val,
		 size_t *ret_len);
/* The field's value as an unsigned number in base 8, 10 or 16. Returns 0, -ENOENT or
 * -EINVAL. */
int fdinfo_field_u64(const char *line, size_t len, const char *key, unsigned int base,
		     uint64_t *ret);
/* The field's value as bytes written in hex ("f_handle:e046a7005bd0795e"): at most max bytes
 * into out, *ret_len set. Returns 0, -ENOENT or -EINVAL (odd length, not hex, too long). */
int fdinfo_field_hex(const char *line, size_t len, const char *key, uint8_t *out, size_t max,
		     size_t *ret_len);
