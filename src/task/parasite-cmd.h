/* parasite-cmd.h: the commands a running parasite serves (parasite-ctl.h starts it): list the
 * task's fds, receive dups of them, read state only the task itself can read. Each logs its
 * failures once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "parasite/parasite-abi.h"

struct parasite_ctl;

/* Lists the task's open fds below table_size (its fd table size, FDSize in /proc/PID/status)
 * from inside, without the parasite's own socket; O_PATH fds only with find_path_fds, which
 * costs a syscall per closed number. *ret_fds is malloc'ed, ascending, set only on success.
 * Returns the count or -errno (logged). */
int parasite_cmd_list_fds(struct parasite_ctl *ctl, int table_size, bool find_path_fds,
			  int **ret_fds);

/* Receives dups of the task's fds (any number; batches of PARASITE_MAX_FDS). On success
 * ret_local_fds[i] is an O_CLOEXEC fd of minicr on the same open file as the task's fds[i]
 * (owned by the caller) and ret_opts[i] (if not NULL) its per-fd options. Returns 0 or -errno
 * (logged; -EBADF names the fd that is not open). On failure no fd is left open. */
int parasite_cmd_drain_fds(struct parasite_ctl *ctl, const int *fds, size_t n_fds,
			   int *ret_local_fds, struct parasite_fd_opts *ret_opts);

/* Reads signal handlers, altstack, tid address, umask, personality, prctl state, interval
 * timers and the mlockall(MCL_FUTURE) mode of the task (main thread). Returns 0 or -errno
 * (logged). */
int parasite_cmd_get_task_state(struct parasite_ctl *ctl, struct parasite_task_state *ret_state);
