/* procfs.h: the one reader of /proc/PID/{stat,status,limits} (parsed by procfs-parse.c) and a
 * stable read of a memory map. Readers do not log: the caller, which knows why it asked, logs
 * once. pid 0 means the calling process (/proc/self). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/procfs-parse.h"

/* Each returns 0, -ESRCH if the task is gone, -EINVAL if the text does not parse, or another
 * -errno. *ret is set only on success. A thread id works as well as a pid. */
int procfs_read_stat(pid_t pid, struct procfs_stat *ret);
int procfs_read_status(pid_t pid, struct procfs_status *ret);
int procfs_read_limits(pid_t pid, struct procfs_limits *ret);

/* Reads /proc/PID/maps (smaps when with_smaps) whole, into a buffer that was mapped before the
 * first read and that nothing else uses: reading one's own map while malloc grows the heap
 * between two reads of the file shows the grown [heap] again, overlapping its first line.
 * Returns the length and sets *ret_buf (malloc'd, NUL-terminated), or -errno. */
ssize_t procfs_read_maps(pid_t pid, bool with_smaps, char **ret_buf);
