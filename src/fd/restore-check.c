/* fd/restore-check.c: restore --check-only's look at the files: every file reached by a path in
 * minicr's own mount namespace must still be there, with the same type, beneath that
 * namespace's root. Files of the tree's own namespace or of detached mounts need the mounts
 * rebuilt first and are checked by a real restore. Opens O_PATH only; changes nothing. */
#define LOG_PREFIX "restore: "
#include "fd/restore-check.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fd/kind.h"
#include "fd/restore-file.h"
#include "image-set/image-set.h"

static int root_of(void *opaque, const RegFileEntry *reg, const char **ret_path)
{
	(void)reg;
	(void)ret_path;
	return *(const int *)opaque;
}

/* A file reopened by its path in minicr's namespace (not rebuilt from dumped contents). */
static bool in_own_namespace(const struct image_set *set, const FileEntry *fe)
{
	const RegFileEntry *reg = fe->reg;

	if (!reg || reg->detached || reg->unlinked)
		return false;
	return !reg->has_mnt_ns_id || image_set_mntns(set, reg->mnt_ns_id) < 0;
}

int fd_check_paths(const struct image_set *set, int root_fd)
{
	struct fd_restore_callbacks cb = {.mount_root = root_of, .opaque = &root_fd};
	cleanup(fd_restore_ctx_freep) struct fd_restore_ctx *ctx = fd_restore_ctx_new(&cb);

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++) {
		const FileEntry *fe = set->files[i];
		int fd;

		if (!in_own_namespace(set, fe))
			continue;
		/* O_PATH with the dumped O_NOFOLLOW: what the file would be reopened as */
		fd = fd_restore_open_path(ctx, fe->reg, O_PATH | (fe->flags & O_NOFOLLOW));
		if (fd < 0)
			return fd;
		close(fd);
	}
	return 0;
}
