/* task/timers-parse.c: /proc/PID/timers to struct proc_timer (see timers-parse.h). No syscalls,
 * no logging. */
#include "task/timers-parse.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	const char *p, *end;
};

/* The next line (without its newline) into [*ret, *ret + *ret_len); false at the end. */
static bool next_line(struct cursor *c, const char **ret, size_t *ret_len)
{
	const char *nl;

	if (c->p >= c->end)
		return false;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	*ret = c->p;
	*ret_len = (size_t)((nl ? nl : c->end) - c->p);
	c->p = nl ? nl + 1 : c->end;
	return true;
}

/* A line "<key>: <rest>": the rest, or NULL. */
static const char *after_key(const char *line, size_t len, const char *key, size_t *ret_len)
{
	size_t k = strlen(key);

	if (len < k + 2 || memcmp(line, key, k) != 0 || line[k] != ':' || line[k + 1] != ' ')
		return NULL;
	*ret_len = len - k - 2;
	return line + k + 2;
}

/* A decimal int at [*p, end) in [min, max], which must be followed by end or by stop. */
static bool parse_int(const char **p, const char *end, char stop, long long min, long long max,
		      long long *ret)
{
	const char *s = *p;
	bool neg = false;
	long long v = 0;

	if (s < end && *s == '-') {
		neg = true;
		s++;
	}
	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (LLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max || (s < end && *s != stop) || (s == end && stop))
		return false;
	*p = s;
	*ret = v;
	return true;
}

/* "<hex digits>" up to 16 of them, the whole rest of the line (%px: no "0x"). */
static bool parse_hex64(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end || end - s > 16)
		return false;
	for (; s < end; s++) {
		int d = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
						 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*ret = v;
	return true;
}

/* "signal: <signo>/<hex>" */
static bool parse_signal(const char *s, size_t len, struct proc_timer *t)
{
	const char *end = s + len;
	long long signo;

	if (!parse_int(&s, end, '/', INT32_MIN, INT32_MAX, &signo))
		return false;
	t->signo = (int32_t)signo;
	return parse_hex64(s + 1, end, &t->sigval);
}

/* "notify: <signal|none|thread>/<pid|tid>.<n>" */
static bool parse_notify(const char *s, size_t len, struct proc_timer *t)
{
	static const struct {
		const char *word;
		uint32_t notify;
	} kinds[] = {{"signal/", TIMERS_SIGEV_SIGNAL},
		     {"none/", TIMERS_SIGEV_NONE},
		     {"thread/", TIMERS_SIGEV_THREAD}};
	const char *end = s + len;
	size_t i, k = 0;
	long long pid;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = strlen(kinds[i].word);
		if (len >= k && memcmp(s, kinds[i].word, k) == 0)
			break;
	}
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return false;
	t->notify = kinds[i].notify;
	s += k;
	if (end - s >= 4 && memcmp(s, "tid.", 4) == 0)
		t->notify |= TIMERS_SIGEV_THREAD_ID;
	else if (end - s < 4 || memcmp(s, "pid.", 4) != 0)
		return false;
	s += 4;
	/* pid_nr_ns() of a pid gone from the reader's namespace is 0 */
	if (!parse_int(&s, end, 0, 0, INT32_MAX, &pid))
		return false;
	t->notify_pid = (pid_t)pid;
	return true;
}

static bool parse_block(struct cursor *c, const char *first, size_t first_len, struct proc_timer *t)
{
	const char *line, *v;
	size_t len, vlen;
	long long n;

	v = after_key(first, first_len, "ID", &vlen);
	if (!v || !parse_int(&v, v + vlen, 0, 0, INT32_MAX, &n))
		return false;
	t->id = (int32_t)n;
	if (!next_line(c, &line, &len) || !(v = after_key(line, len, "signal", &vlen)) ||
	    !parse_signal(v, vlen, t))
		return false;
	if (!next_line(c, &line, &len) || !(v = after_key(line, len, "notify", &vlen)) ||
	    !parse_notify(v, vlen, t))
		return false;
	if (!next_line(c, &line, &len) || !(v = after_key(line, len, "ClockID", &vlen)) ||
	    !parse_int(&v, v + vlen, 0, INT32_MIN, INT32_MAX, &n))
		return false;
	t->clock = (int32_t)n;
	return true;
}

int timers_parse(const char *text, size_t len, struct proc_timer **ret_timers)
{
	struct cursor c = {text, text + len};
	struct proc_timer *timers = NULL;
	size_t n = 0, cap = 0;
	const char *line;
	size_t line_len;

	while (next_line(&c, &line, &line_len)) {
		if (n == cap) {
			size_t bigger = cap ? cap * 2 : 8;
			struct proc_timer *p;

			if (bigger > INT_MAX / 2) {
				free(timers);
				return -EINVAL;
			}
			p = reallocarray(timers, bigger, sizeof(*p));
			if (!p) {
				free(timers);
				return -ENOMEM;
			}
			timers = p;
			cap = bigger;
		}
		memset(&timers[n], 0, sizeof(timers[n]));
		if (!parse_block(&c, line, line_len, &timers[n])) {
			free(timers);
			return -EINVAL;
		}
		n++;
	}
	*ret_timers = timers;
	return (int)n;
}
