/* image-path.c: refuse image paths that could escape where they must stay. Any byte but NUL
 * is allowed in a name. */
#include "image-path.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

static int refuse(const char **ret_reason, const char *reason)
{
	if (ret_reason)
		*ret_reason = reason;
	return -EINVAL;
}

int image_path_check_len(const char *path, size_t len, unsigned flags, const char **ret_reason)
{
	size_t comp_start = 0;

	if (!path)
		return refuse(ret_reason, "path is missing");
	if (len == 0)
		return refuse(ret_reason, "path is empty");
	if (len >= PATH_MAX)
		return refuse(ret_reason, "path is too long");
	if ((flags & IMAGE_PATH_SINGLE_NAME) && len == 1 && path[0] == '.')
		return refuse(ret_reason, "name is '.'");
	if (path[0] == '/' && !(flags & IMAGE_PATH_ALLOW_ABSOLUTE))
		return refuse(ret_reason, "path is absolute where it must be relative");

	/* One pass over the bytes; a component ends at each '/' and at the end. */
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)path[i] : '/';

		/* every other byte is a valid name byte: names are shown escaped, never refused */
		if (i < len && c == '\0')
			return refuse(ret_reason, "path contains a NUL byte");
		if (c != '/')
			continue;
		if (i < len && (flags & IMAGE_PATH_SINGLE_NAME))
			return refuse(ret_reason, "name contains '/'");
		if (i - comp_start == 2 && path[comp_start] == '.' && path[comp_start + 1] == '.')
			return refuse(ret_reason, "path contains a '..' component");
		comp_start = i + 1;
	}
	return 0;
}

int image_path_check(const char *path, unsigned flags, const char **ret_reason)
{
	if (!path)
		return refuse(ret_reason, "path is missing");
	return image_path_check_len(path, strlen(path), flags, ret_reason);
}
