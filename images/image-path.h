/* image-path.h: checks on paths read from images before restore uses them, so a hostile image
 * cannot make restore open files outside the mount or directory a path must stay in.
 * Pure: no syscalls, no logging; the caller logs the reason with the file and record. */
#pragma once

#include <stddef.h>

enum image_path_flags {
	IMAGE_PATH_ALLOW_ABSOLUTE = 1 << 0, /* may start with '/' (paths in a mount namespace) */
	IMAGE_PATH_SINGLE_NAME = 1 << 1,    /* one component: no '/' at all (memfd names) */
};

/* Checks len bytes at path (which need not be NUL-terminated). Refused: NULL, empty, PATH_MAX
 * bytes or longer, an embedded NUL, a `..` component anywhere, and a leading '/' unless
 * IMAGE_PATH_ALLOW_ABSOLUTE. Every other byte (tabs, newlines, backslashes, non-UTF-8) is a
 * valid name byte: names are bytes, shown escaped, never refused. `.` components and repeated
 * slashes are harmless and allowed. Returns 0, or -EINVAL and sets *ret_reason (a static
 * string; ret_reason may be NULL). */
int image_path_check_len(const char *path, size_t len, unsigned flags, const char **ret_reason);

/* image_path_check_len() of a NUL-terminated string (NULL is refused). */
int image_path_check(const char *path, unsigned flags, const char **ret_reason);
