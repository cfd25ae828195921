/* fd/locks-parse.c: /proc/locks and fdinfo `lock:` lines to struct lock_line. No syscalls, no
 * logging. */
#include "fd/locks-parse.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fd/fdinfo-parse.h"

struct token {
	const char *p;
	size_t len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next blank-separated token of [*p, end), or false at the end. */
static bool next_token(const char **p, const char *end, struct token *ret)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	if (s == end)
		return false;
	ret->p = s;
	while (s < end && !is_blank(*s))
		s++;
	ret->len = (size_t)(s - ret->p);
	*p = s;
	return true;
}

static bool token_is(const struct token *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->p, word, t->len) == 0;
}

static enum lock_class parse_class(const struct token *t)
{
	static const struct {
		const char *word;
		enum lock_class cls;
	} classes[] = {
	    {"POSIX", LOCK_CLASS_POSIX}, {"FLOCK", LOCK_CLASS_FLOCK}, {"OFDLCK", LOCK_CLASS_OFD},
	    {"LEASE", LOCK_CLASS_LEASE}, {"DELEG", LOCK_CLASS_DELEG}, {"ACCESS", LOCK_CLASS_ACCESS},
	};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (token_is(t, classes[i].word))
			return classes[i].cls;
	return LOCK_CLASS_UNKNOWN;
}

static enum lock_mode parse_mode(const struct token *t)
{
	static const struct {
		const char *word;
		enum lock_mode mode;
	} modes[] = {
	    {"ADVISORY", LOCK_MODE_ADVISORY}, {"MANDATORY", LOCK_MODE_MANDATORY},
	    {"ACTIVE", LOCK_MODE_ACTIVE},     {"BREAKING", LOCK_MODE_BREAKING},
	    {"BREAKER", LOCK_MODE_BREAKER},   {"*NOINODE*", LOCK_MODE_NOINODE},
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (token_is(t, modes[i].word))
			return modes[i].mode;
	return LOCK_MODE_UNKNOWN;
}

static int parse_type(const struct token *t, short *ret)
{
	if (token_is(t, "READ"))
		*ret = F_RDLCK;
	else if (token_is(t, "WRITE"))
		*ret = F_WRLCK;
	else if (token_is(t, "UNLCK"))
		*ret = F_UNLCK;
	else
		return -EINVAL;
	return 0;
}

static int parse_u64(const struct token *t, unsigned int base, uint64_t *ret)
{
	return fdinfo_parse_u64(t->p, t->p + t->len, base, ret);
}

static int parse_pid(const struct token *t, pid_t *ret)
{
	uint64_t v;

	if (token_is(t, "-1")) {
		*ret = -1;
		return 0;
	}
	if (parse_u64(t, 10, &v) < 0 || v > INT32_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

/* "maj:min:ino" with maj and min in hex, or "<none>:0". */
static int parse_inode(const struct token *t, struct lock_line *l)
{
	const char *end = t->p + t->len, *c1, *c2;
	uint64_t maj, min;

	if (token_is(t, "<none>:0")) {
		l->has_inode = false;
		return 0;
	}
	c1 = memchr(t->p, ':', t->len);
	if (!c1)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2)
		return -EINVAL;
	if (fdinfo_parse_u64(t->p, c1, 16, &maj) < 0 ||
	    fdinfo_parse_u64(c1 + 1, c2, 16, &min) < 0 ||
	    fdinfo_parse_u64(c2 + 1, end, 10, &l->ino) < 0 || maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	l->has_inode = true;
	l->maj = (unsigned int)maj;
	l->min = (unsigned int)min;
	return 0;
}

int locks_parse_line(const char *line, size_t len, struct lock_line *ret)
{
	const char *p = line, *end = line + len;
	struct lock_line l = {0};
	struct token t;

	/* (1) an optional "lock:" prefix (fdinfo), then "<id>:" */
	if (!next_token(&p, end, &t))
		return -EINVAL;
	if (token_is(&t, "lock:") && !next_token(&p, end, &t))
		return -EINVAL;
	if (t.len < 2 || t.p[t.len - 1] != ':')
		return -EINVAL;
	/* (2) "->" marks a blocked request, indented by its depth */
	if (!next_token(&p, end, &t))
		return -EINVAL;
	if (token_is(&t, "->")) {
		l.is_waiter = true;
		if (!next_token(&p, end, &t))
			return -EINVAL;
	}
	/* (3) class and mode; an unknown word is kept as UNKNOWN for the caller to refuse */
	l.cls = parse_class(&t);
	if (!next_token(&p, end, &t))
		return -EINVAL;
	l.mode = parse_mode(&t);
	/* (4) type, pid, device and inode, range */
	if (!next_token(&p, end, &t) || parse_type(&t, &l.type) < 0)
		return -EINVAL;
	if (!next_token(&p, end, &t) || parse_pid(&t, &l.pid) < 0)
		return -EINVAL;
	if (!next_token(&p, end, &t) || parse_inode(&t, &l) < 0)
		return -EINVAL;
	if (!next_token(&p, end, &t) || parse_u64(&t, 10, &l.start) < 0)
		return -EINVAL;
	if (!next_token(&p, end, &t))
		return -EINVAL;
	if (token_is(&t, "EOF"))
		l.to_eof = true;
	else if (parse_u64(&t, 10, &l.end) < 0 || l.end < l.start)
		return -EINVAL;
	if (next_token(&p, end, &t))
		return -EINVAL;
	*ret = l;
	return 0;
}

/* The line at *cursor, without its newline; moves *cursor past the newline. */
static bool next_line(const char **cursor, const char *end, const char **ret_line, size_t *ret_len)
{
	const char *s = *cursor, *nl;

	if (s >= end)
		return false;
	nl = memchr(s, '\n', (size_t)(end - s));
	*ret_line = s;
	*ret_len = (size_t)((nl ? nl : end) - s);
	*cursor = nl ? nl + 1 : end;
	return true;
}

int locks_parse_next(const char **cursor, const char *end, struct lock_line *ret)
{
	const char *line;
	size_t len;

	do {
		if (!next_line(cursor, end, &line, &len))
			return 0;
	} while (len == 0);
	return locks_parse_line(line, len, ret) < 0 ? -EINVAL : 1;
}

int locks_parse_fdinfo_next(const char **cursor, const char *end, struct lock_line *ret)
{
	const char *line;
	size_t len;

	for (;;) {
		if (!next_line(cursor, end, &line, &len))
			return 0;
		if (len >= 5 && memcmp(line, "lock:", 5) == 0)
			return locks_parse_line(line, len, ret) < 0 ? -EINVAL : 1;
	}
}

const char *lock_class_name(enum lock_class cls)
{
	switch (cls) {
	case LOCK_CLASS_POSIX:
		return "POSIX";
	case LOCK_CLASS_FLOCK:
		return "FLOCK";
	case LOCK_CLASS_OFD:
		return "OFD";
	case LOCK_CLASS_LEASE:
		return "LEASE";
	case LOCK_CLASS_DELEG:
		return "DELEG";
	case LOCK_CLASS_ACCESS:
		return "ACCESS";
	case LOCK_CLASS_UNKNOWN:
		break;
	}
	return "UNKNOWN";
}

const char *lock_type_name(short type)
{
	return type == F_RDLCK ? "READ" : type == F_WRLCK ? "WRITE" : "UNLCK";
}
