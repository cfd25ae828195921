/* fd/list.c: a task's fd numbers from /proc, its fd counts from /proc/PID/status and procfs,
 * and local copies made with pidfd_getfd(). */
#define LOG_PREFIX "fd: "
#include "fd/list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int fd_list(pid_t pid, int **ret_fds)
{
	char path[64];
	cleanup_free int *fds = NULL;
	size_t n = 0, cap = 0;
	DIR *dir;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return pr_errno("cannot list fds of task %d: cannot open '%s'", (int)pid, path);
	while ((errno = 0, de = readdir(dir))) {
		long v;

		if (de->d_name[0] == '.')
			continue;
		if (parse_long(de->d_name, 0, INT_MAX, &v) < 0)
			continue;
		if (n == cap) {
			int *bigger;

			cap = cap ? cap * 2 : 64;
			bigger = realloc(fds, cap * sizeof(*fds));
			if (!bigger) {
				closedir(dir);
				errno = ENOMEM;
				return pr_errno("cannot list fds of task %d", (int)pid);
			}
			fds = bigger;
		}
		fds[n++] = (int)v;
	}
	if (errno) {
		int r = pr_errno("cannot read '%s'", path);

		closedir(dir);
		return r;
	}
	closedir(dir);
	if (n > INT_MAX)
		return -E2BIG;
	qsort(fds, n, sizeof(*fds), cmp_int);
	*ret_fds = n ? TAKE_PTR(fds) : calloc(1, sizeof(int));
	if (!*ret_fds)
		return -ENOMEM;
	return (int)n;
}

void fd_local_free(struct fd_local *locals, size_t n_fds)
{
	if (!locals)
		return;
	for (size_t i = 0; i < n_fds; i++)
		closep(&locals[i].local_fd);
	free(locals);
}

int fd_local_getfd(pid_t pid, const int *fds, size_t n_fds, struct fd_local **ret_locals)
{
	cleanup_close int pidfd = -EBADF;
	struct fd_local *locals;

	pidfd = sys_pidfd_open(pid, 0);
	if (pidfd < 0)
		return pr_errno("cannot open a pidfd for task %d", (int)pid);
	locals = calloc(n_fds ? n_fds : 1, sizeof(*locals));
	if (!locals)
		return -ENOMEM;
	for (size_t i = 0; i < n_fds; i++)
		locals[i] = (struct fd_local){.fd = fds[i], .local_fd = -EBADF, .cloexec = -1};
	for (size_t i = 0; i < n_fds; i++) {
		/* pidfd_getfd() sets O_CLOEXEC on the copy */
		locals[i].local_fd = sys_pidfd_getfd(pidfd, fds[i], 0);
		if (locals[i].local_fd < 0) {
			int r = pr_errno("cannot copy fd %d of task %d (pidfd_getfd)", fds[i],
					 (int)pid);

			fd_local_free(locals, n_fds);
			return r;
		}
	}
	*ret_locals = locals;
	return 0;
}

/* /proc/PID/status through the one reader; logs once. */
static int read_status(pid_t pid, struct procfs_status *ret)
{
	int r = procfs_read_status(pid, ret);

	if (r < 0)
		return pr_neg(r, "cannot read /proc/%d/status", (int)pid);
	return 0;
}

int fd_task_umask(pid_t pid, uint32_t *ret)
{
	struct procfs_status status;
	int r = read_status(pid, &status);

	if (r < 0)
		return r;
	if (!status.has_umask) {
		pr_err("cannot find the umask of task %d in /proc/%d/status", (int)pid, (int)pid);
		return -EINVAL;
	}
	*ret = status.umask;
	return 0;
}

int fd_count(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (stat(path, &st) < 0)
		return pr_errno("cannot stat '%s'", path);
	return st.st_size > INT_MAX ? INT_MAX : (int)st.st_size;
}

int fd_table_size(pid_t pid)
{
	struct procfs_status status;
	int r = read_status(pid, &status);

	if (r < 0)
		return r;
	if (!status.has_fd_size) {
		pr_err("cannot find the fd table size of task %d in /proc/%d/status", (int)pid,
		       (int)pid);
		return -EINVAL;
	}
	return status.fd_size > INT_MAX ? INT_MAX : (int)status.fd_size;
}

int fd_find_unpassable(pid_t pid, const int *fds, size_t n_fds)
{
	char path[64], link[64];

	for (size_t i = 0; i < n_fds; i++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fds[i]);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = 0;
		if (strcmp(link, "anon_inode:[io_uring]") == 0)
			return fds[i];
	}
	return -ENOENT;
}
