/* fd/restore-late.h: files that can be opened only once every task of the tree exists (a pidfd
 * of one of them), and the tree-wide meeting point where they are opened and handed out. Before
 * any task is forked, the opener makes one socket pair; every task inherits it. Each task,
 * once its other fds are in place, checks in with the root task over it, sending the end of a
 * socket pair of its own; when every task has checked in (so every task of the tree exists,
 * with its session and group), the root opens the late files, once each, and sends every task
 * the ones it holds over its own pair. One open file description is so shared as it was. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct image_set;
struct fd_restore_ctx;
struct restore_late;

/* Whether the set needs the meeting: a file whose kind opens late, or a kind whose
 * after-install step needs the whole tree. */
bool restore_late_needed(const struct image_set *set);

/* In the opener, before any task is forked: the socket pair, at numbers above every dumped fd
 * (so installing the tasks' fds never touches it). Returns 0 or -errno (logged). */
int restore_late_new(const struct image_set *set, struct restore_late **ret);

/* In task task_idx, once each, after its other fds are installed: checks in and waits. In the
 * root (task 0): waits for every other task, opens each late file with ctx (fd_restore_file())
 * and sends each task those it holds. fds has one slot per file of the set: on return, the
 * slot of each late file this task holds is its fd (O_CLOEXEC, above every dumped number),
 * the others -1. Returns 0 or -errno (logged). */
int restore_late_meet(struct restore_late *l, size_t task_idx, struct fd_restore_ctx *ctx,
		      int *fds);

/* Closes the pair. NULL-safe; returns NULL. */
struct restore_late *restore_late_free(struct restore_late *l);
