/* parse-text.h: what the pure /proc, kernel-data and fdinfo text parsers share: hex digits, blanks
 * and line ends. Header-only, so each pure parser still builds alone into its fuzz target. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* p past any spaces and tabs (a NUL stops it). */
static inline const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The end of the line p is in: its newline, or the NUL that ends the text. */
static inline const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl : p + strlen(p);
}

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
