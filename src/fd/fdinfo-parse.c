/* fdinfo-parse.c: /proc/PID/fdinfo/N text to struct fdinfo. No syscalls, no logging. */
#include "fd/fdinfo-parse.h"

#include <errno.h>
#include <string.h>

/* Parses an unsigned number in base 8, 10 or 16 from [p, end), allowing leading blanks
 * and trailing blanks only. */
static int parse_u64(const char *p, const char *end, unsigned int base, uint64_t *ret)
{
	uint64_t v = 0;
	bool any = false;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end; p++) {
		unsigned int d;
		char c = *p;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			break;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
		any = true;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (!any || p != end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_u32(const char *p, const char *end, unsigned int base, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(p, end, base, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

enum {
	SEEN_POS = 1 << 0,
	SEEN_FLAGS = 1 << 1,
	SEEN_MNT_ID = 1 << 2,
};

/* One "key:<blanks>value" line; value is [val, end). */
static int parse_line(struct fdinfo *fi, const char *key, size_t key_len, const char *val,
		      const char *end, unsigned int *seen)
{
#define KEY_IS(s) (key_len == sizeof(s) - 1 && memcmp(key, s, key_len) == 0)
	uint64_t v;
	int r = 0;

	if (KEY_IS("pos")) {
		r = parse_u64(val, end, 10, &fi->pos);
		*seen |= SEEN_POS;
	} else if (KEY_IS("flags")) {
		r = parse_u32(val, end, 8, &fi->flags);
		*seen |= SEEN_FLAGS;
	} else if (KEY_IS("mnt_id")) {
		r = parse_u32(val, end, 10, &fi->mnt_id);
		*seen |= SEEN_MNT_ID;
	} else if (KEY_IS("ino")) {
		r = parse_u64(val, end, 10, &fi->ino);
		fi->has_ino = true;
	} else if (KEY_IS("eventfd-count")) {
		r = parse_u64(val, end, 16, &fi->eventfd_count);
		fi->has_eventfd_count = true;
	} else if (KEY_IS("eventfd-id")) {
		r = parse_u32(val, end, 10, &fi->eventfd_id);
		fi->has_eventfd_id = true;
	} else if (KEY_IS("eventfd-semaphore")) {
		r = parse_u64(val, end, 10, &v);
		if (r == 0 && v > 1)
			r = -EINVAL;
		fi->eventfd_semaphore = v == 1;
		fi->has_eventfd_semaphore = true;
	}
	return r;
#undef KEY_IS
}

int fdinfo_parse(const char *buf, size_t len, struct fdinfo *ret)
{
	struct fdinfo fi = {0};
	const char *p = buf, *end = buf + len;
	unsigned int seen = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon;
		int r;

		if (!eol)
			eol = end;
		/* (1) "key:" — lines without a colon (e.g. continuation text) are skipped */
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			r = parse_line(&fi, p, (size_t)(colon - p), colon + 1, eol, &seen);
			if (r < 0)
				return r;
		}
		p = eol + 1;
	}
	if (seen != (SEEN_POS | SEEN_FLAGS | SEEN_MNT_ID))
		return -EINVAL;
	*ret = fi;
	return 0;
}
