/* libFuzzer target for the fdinfo parsers: the generic lines, the key lookups kinds use, the
 * item-line iterator and fields, and the parsers of multi-line kinds (epoll items, inotify
 * watches, fanotify groups and marks). Inputs are
 * capped at 64 KiB. */
#include <stddef.h>
#include <stdint.h>

#include "fd/epoll-parse.h"
#include "fd/fdinfo-parse.h"
#include "fd/fsnotify-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *line;
	size_t cursor = 0, len;
	struct fdinfo fi;
	struct epoll_tfd tfd;
	struct inotify_wd wd;
	struct fanotify_group group;
	struct fanotify_mark mark;
	int64_t a, b;
	uint64_t v;
	bool flag;
	uint8_t hex[128];

	if (size > 65536)
		return 0;
	(void)fdinfo_parse(text, size, &fi);
	(void)fdinfo_get_u64(text, size, "eventfd-count", 16, &v);
	(void)fdinfo_get_flag(text, size, "eventfd-semaphore", &flag);
	(void)fdinfo_get_u64(text, size, "settime flags", 8, &v);
	(void)fdinfo_get_pair(text, size, "it_value", &a, &b);
	while (fdinfo_next_line(text, size, EPOLL_TFD_PREFIX, &cursor, &line, &len) == 1)
		(void)epoll_parse_tfd(line, len, &tfd);
	cursor = 0;
	while (fdinfo_next_line(text, size, INOTIFY_WD_PREFIX, &cursor, &line, &len) == 1)
		(void)inotify_parse_wd(line, len, &wd);
	cursor = 0;
	while (fdinfo_next_line(text, size, FANOTIFY_PREFIX, &cursor, &line, &len) == 1)
		(void)fanotify_parse_line(line, len, &group, &mark);
	cursor = 0;
	while (fdinfo_next_line(text, size, "", &cursor, &line, &len) == 1) {
		(void)fdinfo_field_u64(line, len, "mask", 16, &v);
		(void)fdinfo_field_hex(line, len, "f_handle", hex, sizeof(hex), &len);
	}
	return 0;
}
