/* fdinfo-parse.c: /proc/PID/fdinfo/N text to struct fdinfo and key lookups. No syscalls, no
 * logging. */
#include "fd/fdinfo-parse.h"
#include "base/parse-text.h"

#include <errno.h>
#include <string.h>

/* Parses an unsigned number in base 8, 10 or 16 from [p, end), allowing leading blanks
 * and trailing blanks only. */
int fdinfo_parse_u64(const char *p, const char *end, unsigned int base, uint64_t *ret)
{
	uint64_t v = 0;
	bool any = false;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end; p++) {
		int digit = hex_digit(*p);
		unsigned int d;

		if (digit < 0)
			break;
		d = (unsigned int)digit;
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
	int r = fdinfo_parse_u64(p, end, base, &v);

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
	int r = 0;

	if (KEY_IS("pos")) {
		r = fdinfo_parse_u64(val, end, 10, &fi->pos);
		*seen |= SEEN_POS;
	} else if (KEY_IS("flags")) {
		r = parse_u32(val, end, 8, &fi->flags);
		*seen |= SEEN_FLAGS;
	} else if (KEY_IS("mnt_id")) {
		r = parse_u32(val, end, 10, &fi->mnt_id);
		*seen |= SEEN_MNT_ID;
	} else if (KEY_IS("ino")) {
		r = fdinfo_parse_u64(val, end, 10, &fi->ino);
		fi->has_ino = true;
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

int fdinfo_get(const char *buf, size_t len, const char *key, const char **ret_val,
	       size_t *ret_len)
{
	size_t key_len = strlen(key);
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > key_len && memcmp(p, key, key_len) == 0 &&
		    p[key_len] == ':') {
			*ret_val = p + key_len + 1;
			*ret_len = (size_t)(eol - *ret_val);
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

int fdinfo_get_u64(const char *buf, size_t len, const char *key, unsigned int base,
		   uint64_t *ret)
{
	const char *val;
	size_t val_len;
	int r = fdinfo_get(buf, len, key, &val, &val_len);

	if (r < 0)
		return r;
	return fdinfo_parse_u64(val, val + val_len, base, ret);
}

int fdinfo_get_flag(const char *buf, size_t len, const char *key, bool *ret)
{
	uint64_t v;
	int r = fdinfo_get_u64(buf, len, key, 10, &v);

	if (r < 0)
		return r;
	if (v > 1)
		return -EINVAL;
	*ret = v == 1;
	return 0;
}

int fdinfo_parse_s64(const char *p, const char *end, int64_t *ret)
{
	bool negative = false;
	uint64_t v;
	int r;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '-') {
		negative = true;
		p++;
		/* a blank between the sign and the digits is not a number */
		if (p < end && (*p == ' ' || *p == '\t'))
			return -EINVAL;
	}
	r = fdinfo_parse_u64(p, end, 10, &v);
	if (r < 0)
		return r;
	if (v > (uint64_t)INT64_MAX + (negative ? 1 : 0))
		return -EINVAL;
	*ret = negative ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int fdinfo_get_pair(const char *buf, size_t len, const char *key, int64_t *ret_a, int64_t *ret_b)
{
	const char *val, *end, *open, *comma, *close;
	int64_t a, b;
	size_t val_len;
	int r = fdinfo_get(buf, len, key, &val, &val_len);

	if (r < 0)
		return r;
	end = val + val_len;
	open = memchr(val, '(', val_len);
	if (!open)
		return -EINVAL;
	comma = memchr(open, ',', (size_t)(end - open));
	close = comma ? memchr(comma, ')', (size_t)(end - comma)) : NULL;
	if (!close)
		return -EINVAL;
	/* nothing but blanks around the parentheses */
	for (const char *p = val; p < open; p++)
		if (*p != ' ' && *p != '\t')
			return -EINVAL;
	for (const char *p = close + 1; p < end; p++)
		if (*p != ' ' && *p != '\t')
			return -EINVAL;
	if (fdinfo_parse_s64(open + 1, comma, &a) < 0 || fdinfo_parse_s64(comma + 1, close, &b) < 0)
		return -EINVAL;
	*ret_a = a;
	*ret_b = b;
	return 0;
}

int fdinfo_next_line(const char *buf, size_t len, const char *prefix, size_t *cursor,
		     const char **ret_line, size_t *ret_len)
{
	size_t prefix_len = strlen(prefix);

	while (*cursor < len) {
		const char *p = buf + *cursor, *end = buf + len;
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		*cursor = (size_t)(eol - buf) + 1;
		if ((size_t)(eol - p) >= prefix_len && memcmp(p, prefix, prefix_len) == 0) {
			*ret_line = p;
			*ret_len = (size_t)(eol - p);
			return 1;
		}
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int fdinfo_field(const char *line, size_t len, const char *key, const char **ret_val,
		 size_t *ret_len)
{
	size_t key_len = strlen(key);
	const char *end = line + len;

	for (const char *p = line; p + key_len < end; p++) {
		const char *v;

		if ((p != line && !is_blank(p[-1])) || memcmp(p, key, key_len) != 0 ||
		    p[key_len] != ':')
			continue;
		v = p + key_len + 1;
		while (v < end && is_blank(*v))
			v++;
		*ret_val = v;
		while (v < end && !is_blank(*v))
			v++;
		*ret_len = (size_t)(v - *ret_val);
		return 0;
	}
	return -ENOENT;
}

int fdinfo_field_u64(const char *line, size_t len, const char *key, unsigned int base,
		     uint64_t *ret)
{
	const char *val;
	size_t val_len;
	int r = fdinfo_field(line, len, key, &val, &val_len);

	if (r < 0)
		return r;
	return fdinfo_parse_u64(val, val + val_len, base, ret);
}

int fdinfo_field_hex(const char *line, size_t len, const char *key, uint8_t *out, size_t max,
		     size_t *ret_len)
{
	const char *val;
	size_t val_len;
	int r = fdinfo_field(line, len, key, &val, &val_len);

	if (r < 0)
		return r;
	if (val_len % 2 || val_len / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < val_len / 2; i++) {
		int hi = hex_digit(val[2 * i]), lo = hex_digit(val[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret_len = val_len / 2;
	return 0;
}
