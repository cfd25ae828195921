/* parse-num.h: the hex digit reader the /proc and fdinfo parsers share. Header-only, so each
 * pure parser still builds alone into its fuzz target. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit c, or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads hex digits from s, up to end (NULL: up to the first non-digit, a NUL included), into
 * *ret. Returns how many it read: 0 when there is none or the value needs more than 64 bits
 * (*ret is then unchanged). */
static inline size_t parse_hex_u64(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;
	int d;

	for (; (!end || s + n < end) && (d = hex_digit(s[n])) >= 0; n++) {
		if (v >> 60)
			return 0;
		v = v << 4 | (unsigned int)d;
	}
	if (n)
		*ret = v;
	return n;
}
