/* tmpfs-restore.h: write back the contents of a namespace-private tmpfs from the
 * FILE_DATA_KIND_TMPFS records tmpfs-dump.c wrote (see tmpfs-dump.h for their meaning). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "file-data.pb-c.h"

/* Recreates, beneath the directory root_fd (the fresh tmpfs mount's root), every record of data
 * whose owner is mnt_key: directories, files with contents, symlinks, hard links, with their
 * modes, owners and modification times. Paths are opened beneath root_fd only, never through a
 * symlink. what names the mount in messages. Returns 0 or -errno (logged once). */
int tmpfs_restore_contents(int root_fd, const char *what, uint64_t mnt_key,
			   FileDataEntry *const *data, size_t n_data);
