/* fd/epoll-parse.h: one item line of an epoll's fdinfo. Pure: no syscalls, no logging. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "tfd: <fd> events: <hex> data: <hex> pos:<n> ino:<hex> sdev:<hex>" */
struct epoll_tfd {
	int32_t tfd;	 /* the fd number the target was added with (the item's key) */
	uint32_t events; /* EPOLLIN..., EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLWAKEUP */
	uint64_t data;
	uint64_t pos;  /* the target's file offset */
	uint64_t ino;  /* the target's inode */
	uint32_t sdev; /* its superblock, in the kernel's encoding: major << 20 | minor */
};

/* The prefix of an item line. */
#define EPOLL_TFD_PREFIX "tfd:"

/* Parses one item line (without its newline). Returns 0, or -EINVAL when a field is missing
 * or malformed. *ret is set only on success. */
int epoll_parse_tfd(const char *line, size_t len, struct epoll_tfd *ret);

/* The kernel's dev_t encoding in fdinfo lines (sdev:) as major and minor. */
static inline uint32_t fdinfo_sdev_major(uint32_t sdev)
{
	return sdev >> 20;
}

static inline uint32_t fdinfo_sdev_minor(uint32_t sdev)
{
	return sdev & 0xfffff;
}
