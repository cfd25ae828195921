/* escape.h: untrusted names (paths from targets and images, mountpoints, fs options) rendered so
 * that they print unambiguously on one line: printable ASCII and valid UTF-8 stay as they are,
 * every other byte — tabs, newlines, other control bytes, a backslash, a byte of invalid UTF-8 —
 * becomes a C-style escape made by libbsd's vis(3). Pure: no syscalls, no logging. */
#pragma once

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0 where the bytes are not
 * one: overlong forms, surrogates and code points above U+10FFFF are refused. */
size_t escape_utf8_len(const unsigned char *s, size_t len);

/* Writes the escaped form of len bytes at in to out (size bytes, always NUL-terminated when
 * size > 0; cut short at a whole escape when too small). Returns the length the whole escaped
 * form needs, without the NUL. */
size_t escape_bytes(char *out, size_t size, const char *in, size_t len);

/* The escaped form of the string in, for messages: in itself when nothing needs escaping, else
 * written to out (as escape_bytes()) and out returned. */
const char *escape_path(char *out, size_t size, const char *in);
