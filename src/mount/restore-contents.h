/* mount/restore-contents.h: write back the files of a filesystem from the FILE_DATA_KIND_TMPFS
 * records mount/dump-contents.c wrote (see dump-contents.h for their meaning), into a new,
 * empty filesystem the restore made. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "file-data.pb-c.h"

/* Recreates, beneath the directory root_fd (the contents root in the new filesystem), every
 * record of data whose owner is owner: directories, files with their contents and holes,
 * symlinks, hard links, FIFOs, sockets and device nodes, then their owners, modes, extended
 * attributes and times ("." is root_fd itself). Paths are opened beneath root_fd only, never
 * through a symlink. what names the mount in messages. Returns 0 or -errno (logged once). */
int contents_restore(int root_fd, const char *what, uint64_t owner, FileDataEntry *const *data,
		     size_t n_data);
