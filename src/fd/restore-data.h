/* fd/restore-data.h: the dumped contents (FILE_DATA_KIND_FILE and _PIPE chunks of
 * file-data.img) indexed by owner, written back into new files and pipes. Internal to src/fd/:
 * kinds reach it through fd_restore_contents() and fd_restore_pipe_data() in fd/kind.h. */
#pragma once

#include <stdint.h>

#include "file-data.pb-c.h"

struct fd_data_restore;

/* NULL on ENOMEM. */
struct fd_data_restore *fd_data_restore_new(void);
/* NULL-safe; the registered records are borrowed, not freed. Returns NULL. */
struct fd_data_restore *fd_data_restore_free(struct fd_data_restore *d);
/* See fd_restore_ctx_add_data(). */
int fd_data_restore_add(struct fd_data_restore *d, const FileDataEntry *entry);
/* See fd_restore_contents() and fd_restore_pipe_data(). */
int fd_data_restore_file(const struct fd_data_restore *d, uint64_t owner_id, int fd);
int fd_data_restore_pipe(const struct fd_data_restore *d, uint64_t pipe_id, int fd);
