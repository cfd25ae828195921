/* procfs.c: read /proc/PID/{stat,status,limits} and memory maps. */
#include "base/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "base/util.h"

#define MAPS_BUF_FIRST (256u << 10)

static void proc_path(char *path, size_t size, pid_t pid, const char *name)
{
	if (pid)
		snprintf(path, size, "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, size, "/proc/self/%s", name);
}

/* The text of /proc/PID/name; -ESRCH when the task is gone. */
static ssize_t read_proc(pid_t pid, const char *name, char **ret_buf)
{
	char path[64];
	ssize_t len;

	proc_path(path, sizeof(path), pid, name);
	len = read_file_at(AT_FDCWD, path, ret_buf);
	return len == -ENOENT ? -ESRCH : len;
}

int procfs_read_stat(pid_t pid, struct procfs_stat *ret)
{
	cleanup_free char *buf = NULL;
	ssize_t len = read_proc(pid, "stat", &buf);

	if (len < 0)
		return (int)len;
	return procfs_parse_stat(buf, ret);
}

int procfs_read_status(pid_t pid, struct procfs_status *ret)
{
	cleanup_free char *buf = NULL;
	ssize_t len = read_proc(pid, "status", &buf);

	if (len < 0)
		return (int)len;
	return procfs_parse_status(buf, ret);
}

int procfs_read_limits(pid_t pid, struct procfs_limits *ret)
{
	cleanup_free char *buf = NULL;
	ssize_t len = read_proc(pid, "limits", &buf);

	if (len < 0)
		return (int)len;
	return procfs_parse_limits(buf, ret);
}

/* One pass over the file into a mapping of size bytes: the length, -ENOSPC if it did not fit. */
static ssize_t read_into(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = pread(fd, buf + len, size - len, (off_t)len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return (ssize_t)len;
		len += (size_t)n;
		if (len == size)
			return -ENOSPC;
	}
}

ssize_t procfs_read_maps(pid_t pid, bool with_smaps, char **ret_buf)
{
	cleanup_close int fd = -EBADF;
	size_t size = MAPS_BUF_FIRST;
	char path[64];

	proc_path(path, sizeof(path), pid, with_smaps ? "smaps" : "maps");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	for (;;) {
		/* the mapping exists before the first read and does not change size during it, so
		 * the map stays as it was while it is read */
		char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ssize_t len;
		char *copy;

		if (map == MAP_FAILED)
			return -errno;
		len = read_into(fd, map, size);
		if (len == -ENOSPC) {
			munmap(map, size);
			size *= 4;
			continue;
		}
		if (len < 0) {
			munmap(map, size);
			return len;
		}
		copy = malloc((size_t)len + 1);
		if (copy) {
			memcpy(copy, map, (size_t)len);
			copy[len] = '\0';
		}
		munmap(map, size);
		if (!copy)
			return -ENOMEM;
		*ret_buf = copy;
		return len;
	}
}
