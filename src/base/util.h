/* util.h: cleanup attributes, ownership transfer and tiny helpers shared by every module.
 * No module-specific logic lives here. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved_errno = errno;
		close(*fd);
		errno = saved_errno;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define cleanup(fn)     __attribute__((cleanup(fn)))
#define cleanup_free    cleanup(freep)
#define cleanup_close   cleanup(closep)
#define cleanup_fclose  cleanup(fclosep)

/* Hands an fd or pointer over to a new owner, leaving the cleanup variable empty. */
#define TAKE_FD(fd)                                                                               \
	({                                                                                        \
		int fd__ = (fd);                                                                  \
		(fd) = -EBADF;                                                                    \
		fd__;                                                                             \
	})
#define TAKE_PTR(p)                                                                               \
	({                                                                                        \
		__typeof__(p) p__ = (p);                                                          \
		(p) = NULL;                                                                       \
		p__;                                                                              \
	})

/* CLOCK_MONOTONIC in nanoseconds, for the debug timings. */
static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Reads a whole small file (procfs, sysfs) relative to dirfd into a NUL-terminated buffer.
 * Returns the length, or -errno (not logged). *ret_buf is set only on success. */
ssize_t read_file_at(int dirfd, const char *path, char **ret_buf);

/* Raises the soft RLIMIT_NOFILE of this process to its hard limit. Returns the limit (capped at
 * INT_MAX), or -errno (not logged). */
int raise_fd_limit(void);

/* Closes fds[0..n): runs of consecutive numbers with one close_range() each (an fd table
 * received in batches is mostly one run), single fds with close(). */
void close_all(const int *fds, size_t n);

/* Writes all of buf, retrying short writes and EINTR. Returns 0 or -errno (not logged). */
int write_all(int fd, const void *buf, size_t len);

/* Reads exactly len bytes unless EOF comes first. Returns bytes read or -errno (not logged). */
ssize_t read_full(int fd, void *buf, size_t len);

/* Parses a decimal integer that must fill the whole string. Returns 0 or -EINVAL/-ERANGE. */
int parse_long(const char *s, long min, long max, long *ret_value);
