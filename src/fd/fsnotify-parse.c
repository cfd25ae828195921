/* fd/fsnotify-parse.c: inotify watch and fanotify group and mark lines of fdinfo. No syscalls,
 * no logging. */
#include "fd/fsnotify-parse.h"

#include <errno.h>
#include <string.h>

#include "fd/fdinfo-parse.h"

static int field_u32(const char *line, size_t len, const char *key, uint32_t *ret)
{
	uint64_t v;
	int r = fdinfo_field_u64(line, len, key, 16, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_handle(const char *line, size_t len, struct fsnotify_handle *ret)
{
	uint32_t type;
	size_t n;

	if (field_u32(line, len, "fhandle-bytes", &ret->bytes) < 0 ||
	    field_u32(line, len, "fhandle-type", &type) < 0 || type > INT32_MAX ||
	    fdinfo_field_hex(line, len, "f_handle", ret->data, sizeof(ret->data), &n) < 0 ||
	    n != ret->bytes)
		return -EINVAL;
	ret->type = (int32_t)type;
	return 0;
}

int inotify_parse_wd(const char *line, size_t len, struct inotify_wd *ret)
{
	struct inotify_wd w = {0};
	uint32_t wd;

	if (len < sizeof(INOTIFY_WD_PREFIX) - 1 ||
	    memcmp(line, INOTIFY_WD_PREFIX, sizeof(INOTIFY_WD_PREFIX) - 1) != 0)
		return -EINVAL;
	if (field_u32(line, len, "wd", &wd) < 0 || wd > INT32_MAX ||
	    fdinfo_field_u64(line, len, "ino", 16, &w.ino) < 0 ||
	    field_u32(line, len, "sdev", &w.sdev) < 0 ||
	    field_u32(line, len, "mask", &w.mask) < 0 ||
	    field_u32(line, len, "ignored_mask", &w.ignored_mask) < 0 ||
	    parse_handle(line, len, &w.handle) < 0)
		return -EINVAL;
	w.wd = (int32_t)wd;
	*ret = w;
	return 0;
}

static int parse_mark(const char *line, size_t len, struct fanotify_mark *m)
{
	const char *val;
	size_t val_len;

	if (fdinfo_field(line, len, "ino", &val, &val_len) == 0) {
		m->kind = FANOTIFY_MARK_INODE;
		if (fdinfo_field_u64(line, len, "ino", 16, &m->ino) < 0 ||
		    field_u32(line, len, "sdev", &m->sdev) < 0 ||
		    parse_handle(line, len, &m->handle) < 0)
			return -EINVAL;
	} else if (fdinfo_field(line, len, "mnt_id", &val, &val_len) == 0) {
		m->kind = FANOTIFY_MARK_MOUNT;
		if (field_u32(line, len, "mnt_id", &m->mnt_id) < 0)
			return -EINVAL;
	} else if (fdinfo_field(line, len, "sdev", &val, &val_len) == 0) {
		m->kind = FANOTIFY_MARK_SB;
		if (field_u32(line, len, "sdev", &m->sdev) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (field_u32(line, len, "mflags", &m->mflags) < 0 ||
	    field_u32(line, len, "mask", &m->mask) < 0 ||
	    field_u32(line, len, "ignored_mask", &m->ignored_mask) < 0)
		return -EINVAL;
	return 0;
}

int fanotify_parse_line(const char *line, size_t len, struct fanotify_group *ret_group,
			struct fanotify_mark *ret_mark)
{
	const char *val;
	size_t val_len;

	if (len < sizeof(FANOTIFY_PREFIX) - 1 ||
	    memcmp(line, FANOTIFY_PREFIX, sizeof(FANOTIFY_PREFIX) - 1) != 0)
		return -EINVAL;
	if (fdinfo_field(line, len, "event-flags", &val, &val_len) == 0) {
		struct fanotify_group g;

		if (field_u32(line, len, "flags", &g.flags) < 0 ||
		    field_u32(line, len, "event-flags", &g.event_flags) < 0)
			return -EINVAL;
		*ret_group = g;
		return 1;
	} else {
		struct fanotify_mark m = {0};

		if (parse_mark(line, len, &m) < 0)
			return -EINVAL;
		*ret_mark = m;
		return 2;
	}
}
