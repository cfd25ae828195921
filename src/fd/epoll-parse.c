/* fd/epoll-parse.c: an epoll item line of fdinfo to struct epoll_tfd. No syscalls, no logging. */
#include "fd/epoll-parse.h"

#include <errno.h>

#include "fd/fdinfo-parse.h"

int epoll_parse_tfd(const char *line, size_t len, struct epoll_tfd *ret)
{
	uint64_t tfd, events, data, pos, ino, sdev;

	if (fdinfo_field_u64(line, len, "tfd", 10, &tfd) < 0 ||
	    fdinfo_field_u64(line, len, "events", 16, &events) < 0 ||
	    fdinfo_field_u64(line, len, "data", 16, &data) < 0 ||
	    fdinfo_field_u64(line, len, "pos", 10, &pos) < 0 ||
	    fdinfo_field_u64(line, len, "ino", 16, &ino) < 0 ||
	    fdinfo_field_u64(line, len, "sdev", 16, &sdev) < 0)
		return -EINVAL;
	if (tfd > INT32_MAX || events > UINT32_MAX || sdev > UINT32_MAX)
		return -EINVAL;
	*ret = (struct epoll_tfd){
	    .tfd = (int32_t)tfd,
	    .events = (uint32_t)events,
	    .data = data,
	    .pos = pos,
	    .ino = ino,
	    .sdev = (uint32_t)sdev,
	};
	return 0;
}
