/* escape.c: vis(3) from libbsd for the bytes that need it, UTF-8 passed through. */
#include "base/escape.h"

/* the NetBSD argument order of strnvis(); only vis() is used here */
#define LIBBSD_NETBSD_VIS
#include <bsd/vis.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

size_t escape_utf8_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t escape_bytes(char *out, size_t size, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t need = 0, written = 0;
	bool full = !out || size == 0;

	for (size_t i = 0; i < len;) {
		char piece[8];
		size_t n = 0, plen;

		if (p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\\' &&
		    (n = escape_utf8_len(p + i, len - i)) > 0) {
			memcpy(piece, p + i, n);
			plen = n;
		} else {
			/* \n, \t, \\, \ooo: one escape per byte, never ambiguous */
			char *end = vis(piece, p[i], VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL,
					i + 1 < len ? p[i + 1] : '\0');

			plen = (size_t)(end - piece);
			n = 1;
		}
		if (!full && written + plen < size) {
			memcpy(out + written, piece, plen);
			written += plen;
		} else {
			full = true; /* the rest does not fit whole: stop at this escape */
		}
		need += plen;
		i += n;
	}
	if (out && size)
		out[written] = '\0';
	return need;
}

const char *escape_path(char *out, size_t size, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;

	/* the usual name needs no escape: messages built per mount stay cheap */
	while (*p >= 0x20 && *p < 0x7f && *p != '\\')
		p++;
	if (!*p)
		return in;
	(void)escape_bytes(out, size, in, strlen(in));
	return out;
}
