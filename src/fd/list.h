/* fd/list.h: which fds a task has, and local copies of them. Reads /proc and uses pidfds;
 * never changes the task. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One fd of a task and the caller's local copy of it (a dup of the same open file
 * description: from the parasite over SCM_RIGHTS, or pidfd_getfd()). */
struct fd_local {
	int fd;	      /* number in the task */
	int local_fd; /* in this process; owned by whoever filled the array */
	int cloexec;  /* FD_CLOEXEC as the parasite saw it (0 or 1), or -1 when unknown: then
		       * /proc/PID/fdinfo/N is read for it. Known, it lets regular files,
		       * directories, pipes and FIFOs skip procfs except one readlink. */
};

/* How many fds task pid has open: the size of /proc/PID/fd (Linux 6.2+). Returns it, 0 when
 * the kernel does not count them (or there are none), or -errno (logged). */
int fd_count(pid_t pid);

/* The size of task pid's fd table (FDSize in /proc/PID/status): every fd is below it.
 * Returns it or -errno (logged). */
int fd_table_size(pid_t pid);

/* Lists the fd numbers of task pid from /proc/PID/fd, ascending. *ret_fds is malloc'ed
 * (free()), set only on success. Returns the count, or -errno (logged). */
int fd_list(pid_t pid, int **ret_fds);

/* Makes local copies of the given fds of pid with pidfd_getfd() (a parasite-free
 * alternative to the SCM_RIGHTS drain; needs ptrace rights over pid), cloexec -1.
 * *ret_locals is malloc'ed; release it with fd_local_free(). Returns 0, or -errno (logged). */
int fd_local_getfd(pid_t pid, const int *fds, size_t n_fds, struct fd_local **ret_locals);
/* Closes every local_fd and frees the array. NULL-safe. */
void fd_local_free(struct fd_local *locals, size_t n_fds);

/* The first of fds of task pid that SCM_RIGHTS cannot carry (the kernel refuses io_uring files
 * there), which makes a parasite drain fail; for the one line that says why. Returns its
 * number, or -ENOENT. Not logged. */
int fd_find_unpassable(pid_t pid, const int *fds, size_t n_fds);

/* The umask of task pid (Umask in /proc/PID/status). Returns 0 or -errno (logged). */
int fd_task_umask(pid_t pid, uint32_t *ret);
