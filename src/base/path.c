/* path.c: prefix and suffix arithmetic on absolute paths. */
#include "base/path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *path_below(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	return path + n;
}

char *path_join(const char *root, const char *rel)
{
	char *s;

	if (strcmp(rel, "/") == 0)
		return strdup(root);
	if (strcmp(root, "/") == 0)
		return strdup(rel);
	if (asprintf(&s, "%s%s", root, rel) < 0)
		return NULL;
	return s;
}

char *path_strip_suffix(const char *path, const char *rel)
{
	size_t lp = strlen(path), lr = strlen(rel);

	if (strcmp(rel, "/") == 0)
		return strdup(path);
	if (lr > lp || strcmp(path + lp - lr, rel) != 0) {
		errno = EXDEV;
		return NULL;
	}
	if (lp == lr)
		return strdup("/");
	return strndup(path, lp - lr);
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}
