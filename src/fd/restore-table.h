/* restore-fds.h: the file table of a restore. The root task opens every open file description
 * of the tree once (so shared descriptions stay shared across fds and tasks); its children
 * inherit that table, and each task then moves the files it uses to their dumped fd numbers,
 * sets cwd, root and umask, and closes the rest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fd/restore-file.h"

struct image_set;
struct restore_fdtable;

/* Opens every FileEntry of set in this process (fd_restore_file()), each after the files its
 * kind depends on, files reached by a path beneath the directory fd that cb->mount_root returns.
 * The fds land at the lowest free numbers below fd_limit. Returns 0 and sets *ret, or -errno
 * (logged). */
int restore_fds_open(const struct image_set *set, const struct fd_restore_callbacks *cb,
		     int fd_limit, struct restore_fdtable **ret);

/* In task task_idx (a fork of the opener): puts each of its files at its dumped number with
 * its close-on-exec flag, moving table fds out of the way when a number is taken, enters its
 * cwd and root (with defer_fs, only keeps them for restore_fds_enter_fs(): a task that enters
 * its mount namespace later must not lose them), sets its umask, closes every other table fd,
 * and runs the after-install step of each of its files whose kind has one. Returns 0 or -errno
 * (logged). The table must not be used afterwards except for restore_fds_enter_fs() and to
 * free it. */
int restore_fds_install(struct restore_fdtable *t, size_t task_idx, bool defer_fs);
/* Enters the root and cwd that restore_fds_install(defer_fs) kept, and closes them. Returns 0 or
 * -errno (logged). */
int restore_fds_enter_fs(struct restore_fdtable *t, size_t task_idx);

/* In a task that shares the fd table of another task of the tree (CLONE_FILES), whose
 * restore_fds_install() puts the fds: enters its own cwd and root (defer_fs: keeps them, as
 * restore_fds_install() does) and sets its umask, while the table still holds every file.
 * Returns 0 or -errno (logged). */
int restore_fds_member_fs(struct restore_fdtable *t, size_t task_idx, bool defer_fs);

/* Frees the table's memory; closes the fds still held unless they were installed. NULL-safe. */
struct restore_fdtable *restore_fds_free(struct restore_fdtable *t);
