/* path.h: the path algebra minicr does on absolute paths that are byte strings: is one below
 * another, join, strip a suffix. Pure: no syscalls, no logging. A path component is what lies
 * between slashes, so "/ab" is not below "/a". */
#pragma once

#include <stdbool.h>

/* The part of path below prefix: "" when they are equal, "/b/c" for ("/a/b/c", "/a"), the
 * whole path for prefix "/". Trailing slashes of prefix are ignored. NULL when path is neither
 * prefix nor below it. The result points into path. */
const char *path_below(const char *path, const char *prefix);

/* root + rel, both absolute: ("/", "/a") -> "/a", ("/x", "/") -> "/x", ("/x", "/a") -> "/x/a".
 * malloc'ed; NULL on ENOMEM. */
char *path_join(const char *root, const char *rel);

/* The prefix of path that precedes its suffix rel (a mount's root, from a file's path in its
 * filesystem and the path readlink shows below the mount): ("/sub/f", "/f") -> "/sub",
 * ("/f", "/f") -> "/", (p, "/") -> p. malloc'ed; NULL with errno EXDEV when path does not end
 * with rel, or ENOMEM. */
char *path_strip_suffix(const char *path, const char *rel);

/* Whether s ends with suffix. */
bool str_has_suffix(const char *s, const char *suffix);
