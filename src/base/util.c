/* util.c: small I/O and parsing helpers with no knowledge of minicr's data. */
#include "base/util.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>

ssize_t read_file_at(int dirfd, const char *path, char **ret_buf)
{
	cleanup_close int fd = -EBADF;
	cleanup_free char *buf = NULL;
	size_t size = 4096, len = 0;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 >= size) {
			char *bigger = realloc(buf, size * 2);

			if (!bigger)
				return -ENOMEM;
			buf = bigger;
			size *= 2;
		}
		n = read_full(fd, buf + len, size - len - 1);
		if (n < 0)
			return n;
		len += (size_t)n;
		if (len + 1 < size) /* read_full stopped short: the end of the file */
			break;
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	return (ssize_t)len;
}

int raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return rl.rlim_cur > INT_MAX ? INT_MAX : (int)rl.rlim_cur;
}

void close_all(const int *fds, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i + 1;

		while (j < n && fds[j] == fds[j - 1] + 1)
			j++;
		if (j - i == 1 || close_range((unsigned int)fds[i], (unsigned int)fds[j - 1], 0) < 0)
			for (size_t k = i; k < j; k++)
				close(fds[k]);
		i = j;
	}
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int parse_long(const char *s, long min, long max, long *ret_value)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret_value = v;
	return 0;
}
