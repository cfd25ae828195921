/* fd/dump-data.h: contents that exist only inside the dumped files (unlinked files, memfds,
 * pipe and FIFO buffers) turned into FileDataEntry chunks for a sink. Internal to src/fd/:
 * kinds reach it through fd_dump_contents() and fd_dump_pipe_data() in fd/kind.h. */
#pragma once

#include <stdint.h>

#include "fd/dump.h"

struct fd_params;
struct fd_data_dump;

/* NULL on ENOMEM. */
struct fd_data_dump *fd_data_dump_new(fd_data_sink_fn sink, void *opaque);
/* NULL-safe; returns NULL. */
struct fd_data_dump *fd_data_dump_free(struct fd_data_dump *d);
/* See fd_dump_contents(). */
int64_t fd_data_dump_file(struct fd_data_dump *d, const struct fd_params *p, uint32_t owner_id);
/* See fd_dump_pipe_data(). */
int fd_data_dump_pipe(struct fd_data_dump *d, const struct fd_params *p, uint64_t pipe_id);
