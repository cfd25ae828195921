/* procfs-parse.c: /proc/PID/stat, status and limits text into structs, CPU lists into bitmaps
 * and back. Pure. */
#include "base/procfs-parse.h"
#include "base/parse-text.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An unsigned decimal at *p, at most max; advances *p past it. strtoull would accept signs and
 * blanks, so the digits are read here. */
static int parse_udec(const char **p, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*ret = v;
	*p = s;
	return 0;
}

static int parse_uhex(const char **p, uint64_t *ret)
{
	size_t n = parse_hex_u64(*p, NULL, ret);

	if (!n)
		return -EINVAL;
	*p += n;
	return 0;
}

static bool at_field_end(const char *p)
{
	return *p == ' ' || *p == '\n' || *p == '\0';
}

/* ---- stat ------------------------------------------------------------------------------------ */

/* Where each field after the state goes: pids, then the mm fields. */
static int store_stat_field(struct procfs_stat *st, int nr, const char *tok)
{
	uint64_t v;
	const char *p = tok;

	switch (nr) {
	case 4:
	case 5:
	case 6:
		if (parse_udec(&p, INT_MAX, &v) < 0 || !at_field_end(p))
			return -EINVAL;
		*(nr == 4 ? &st->ppid : nr == 5 ? &st->pgid : &st->sid) = (pid_t)v;
		return 0;
	case 26:
	case 27:
	case 28:
	case 38:
	case 45:
	case 46:
	case 47:
	case 48:
	case 49:
	case 50:
	case 51:
	case 52:
		break;
	default:
		return 0;
	}
	/* the exit signal of a thread is -1 */
	if (nr == 38 && p[0] == '-' && p[1] == '1' && at_field_end(p + 2)) {
		st->exit_signal = -1;
		return 0;
	}
	if (parse_udec(&p, nr == 38 || nr == 52 ? INT_MAX : UINT64_MAX, &v) < 0 ||
	    !at_field_end(p))
		return -EINVAL;
	switch (nr) {
	case 26:
		st->start_code = v;
		break;
	case 27:
		st->end_code = v;
		break;
	case 28:
		st->start_stack = v;
		break;
	case 38:
		st->exit_signal = (int)v;
		break;
	case 45:
		st->start_data = v;
		break;
	case 46:
		st->end_data = v;
		break;
	case 47:
		st->start_brk = v;
		break;
	case 48:
		st->arg_start = v;
		break;
	case 49:
		st->arg_end = v;
		break;
	case 50:
		st->env_start = v;
		break;
	case 51:
		st->env_end = v;
		break;
	default:
		st->exit_code = (int)v;
		break;
	}
	return 0;
}

int procfs_parse_stat(const char *buf, struct procfs_stat *ret)
{
	struct procfs_stat st = {0};
	const char *open, *close, *p = buf;
	size_t comm_len;
	uint64_t pid;
	int nr;

	/* (1) pid, then " (" */
	if (parse_udec(&p, INT_MAX, &pid) < 0 || pid == 0 || p[0] != ' ' || p[1] != '(')
		return -EINVAL;
	st.pid = (pid_t)pid;
	open = p + 1;
	/* (2) comm: up to the LAST ')', since comm itself may hold ')' and spaces */
	close = strrchr(open, ')');
	if (!close)
		return -EINVAL;
	comm_len = (size_t)(close - open - 1);
	if (comm_len >= sizeof(st.comm))
		return -EINVAL;
	memcpy(st.comm, open + 1, comm_len);
	/* (3) " S" */
	p = close + 1;
	if (p[0] != ' ' || p[1] == '\0' || p[1] == ' ' || p[1] == '\n' || !at_field_end(p + 2))
		return -EINVAL;
	st.state = p[1];
	p += 2;
	/* (4..) one token per field; ppid, pgid and sid are mandatory */
	for (nr = 4; nr <= 52; nr++) {
		if (*p != ' ' || p[1] == ' ' || p[1] == '\n' || p[1] == '\0')
			break;
		p++;
		if (store_stat_field(&st, nr, p) < 0)
			return -EINVAL;
		while (!at_field_end(p))
			p++;
	}
	if (nr <= 6)
		return -EINVAL;
	st.has_mm = nr > 51;
	st.has_exit_code = nr > 52;
	*ret = st;
	return 0;
}

/* ---- status ---------------------------------------------------------------------------------- */

/* The value of "key:" at the start of a line, blanks skipped; NULL when absent. */
static const char *status_value(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	const char *p = buf;

	while (*p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return skip_blanks(p + klen + 1);
		p = line_end(p);
		if (*p)
			p++;
	}
	return NULL;
}

static int status_ids(const char *buf, const char *key, uint32_t *out)
{
	const char *p = status_value(buf, key);

	if (!p)
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		uint64_t v;

		p = skip_blanks(p);
		if (parse_udec(&p, UINT32_MAX, &v) < 0)
			return -EINVAL;
		out[i] = (uint32_t)v;
	}
	return 0;
}

static int status_hex(const char *buf, const char *key, uint64_t *out)
{
	const char *p = status_value(buf, key);

	*out = 0;
	return p ? parse_uhex(&p, out) : 0;
}

static int status_groups(const char *buf, struct procfs_status *c)
{
	const char *p = status_value(buf, "Groups"), *end;

	if (!p)
		return 0;
	end = line_end(p);
	for (;;) {
		uint64_t v;

		p = skip_blanks(p);
		if (p >= end)
			return 0;
		if (c->n_groups == PROCFS_MAX_GROUPS || parse_udec(&p, UINT32_MAX, &v) < 0)
			return -EINVAL;
		c->groups[c->n_groups++] = (uint32_t)v;
	}
}

int procfs_parse_status(const char *buf, struct procfs_status *ret)
{
	struct procfs_status c;
	const char *p;
	uint64_t v;

	memset(&c, 0, sizeof(c));
	if (status_ids(buf, "Uid", c.uids) < 0 || status_ids(buf, "Gid", c.gids) < 0 ||
	    status_groups(buf, &c) < 0)
		return -EINVAL;
	if (status_hex(buf, "CapInh", &c.cap_inh) < 0 ||
	    status_hex(buf, "CapPrm", &c.cap_prm) < 0 ||
	    status_hex(buf, "CapEff", &c.cap_eff) < 0 ||
	    status_hex(buf, "CapBnd", &c.cap_bnd) < 0 || status_hex(buf, "CapAmb", &c.cap_amb) < 0)
		return -EINVAL;
	p = status_value(buf, "NoNewPrivs");
	c.no_new_privs = p && *p == '1';
	p = status_value(buf, "Seccomp");
	if (p) {
		if (parse_udec(&p, 2, &v) < 0)
			return -EINVAL;
		c.seccomp_mode = (int)v;
	}
	p = status_value(buf, "x86_Thread_features");
	if (p) {
		const char *end = line_end(p), *s = strstr(p, "shstk");

		c.has_shadow_stack = s && s < end;
	}
	p = status_value(buf, "Umask");
	if (p) {
		uint64_t mask = 0;

		/* printed as %#04o: octal digits */
		for (; *p >= '0' && *p <= '7' && mask <= 07777; p++)
			mask = mask * 8 + (uint64_t)(*p - '0');
		if (mask > 07777 || !at_field_end(p))
			return -EINVAL;
		c.has_umask = true;
		c.umask = (uint32_t)mask;
	}
	p = status_value(buf, "FDSize");
	if (p) {
		if (parse_udec(&p, INT_MAX, &c.fd_size) < 0)
			return -EINVAL;
		c.has_fd_size = true;
	}
	*ret = c;
	return 0;
}

/* ---- limits ---------------------------------------------------------------------------------- */

#define LIMITS_VALUE_COL 26 /* "%-25s " */

static int parse_limit(const char **p, uint64_t *ret)
{
	*p = skip_blanks(*p);
	if (!strncmp(*p, "unlimited", 9) && at_field_end(*p + 9)) {
		*p += 9;
		*ret = PROCFS_RLIM_INFINITY;
		return 0;
	}
	if (parse_udec(p, UINT64_MAX - 1, ret) < 0 || !at_field_end(*p))
		return -EINVAL;
	return 0;
}

int procfs_parse_limits(const char *buf, struct procfs_limits *ret)
{
	struct procfs_limits l;
	const char *p = buf;

	memset(&l, 0, sizeof(l));
	if (strncmp(p, "Limit ", 6) != 0)
		return -EINVAL;
	p = line_end(p);
	while (*p) {
		const char *row = p + 1, *end = line_end(row);

		p = end;
		if (row == end)
			continue;
		if (l.n == PROCFS_NLIMITS || end - row < LIMITS_VALUE_COL + 1 ||
		    row[LIMITS_VALUE_COL - 1] != ' ')
			return -EINVAL;
		row += LIMITS_VALUE_COL;
		if (parse_limit(&row, &l.cur[l.n]) < 0 || parse_limit(&row, &l.max[l.n]) < 0 ||
		    row > end)
			return -EINVAL;
		l.n++;
	}
	*ret = l;
	return 0;
}

static int parse_cpu(const char **p, unsigned long *ret)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	*ret = strtoul(*p, &end, 10);
	if (errno)
		return -ERANGE;
	*p = end;
	return 0;
}

int procfs_parse_cpulist(const char *buf, uint8_t *mask, size_t size)
{
	const char *p = buf;

	memset(mask, 0, size);
	if (!*p || !strcmp(p, "\n"))
		return 0;
	for (;;) {
		unsigned long first, last;
		int r = parse_cpu(&p, &first);

		if (r < 0)
			return r;
		last = first;
		if (*p == '-') {
			p++;
			r = parse_cpu(&p, &last);
			if (r < 0)
				return r;
		}
		if (last < first)
			return -EINVAL;
		if (last / 8 >= size)
			return -ERANGE;
		for (unsigned long cpu = first; cpu <= last; cpu++)
			mask[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
		if (*p == ',') {
			p++;
			continue;
		}
		return !*p || !strcmp(p, "\n") ? 0 : -EINVAL;
	}
}

static bool cpu_is_set(const uint8_t *mask, size_t size, size_t cpu)
{
	return cpu / 8 < size && (mask[cpu / 8] >> (cpu % 8)) & 1;
}

char *procfs_format_cpulist(const uint8_t *mask, size_t size, char *buf, size_t buf_size)
{
	size_t len = 0;

	if (buf_size)
		buf[0] = 0;
	for (size_t cpu = 0; cpu < size * 8; cpu++) {
		size_t last = cpu;
		int n;

		if (!cpu_is_set(mask, size, cpu))
			continue;
		while (cpu_is_set(mask, size, last + 1))
			last++;
		if (last == cpu)
			n = snprintf(buf + len, buf_size - len, "%s%zu", len ? "," : "", cpu);
		else
			n = snprintf(buf + len, buf_size - len, "%s%zu-%zu", len ? "," : "", cpu,
				     last);
		if (n < 0 || (size_t)n >= buf_size - len) {
			/* no room: end in "..." where it still fits */
			if (buf_size >= 4)
				memcpy(buf + (len < buf_size - 4 ? len : buf_size - 4), "...", 4);
			return buf;
		}
		len += (size_t)n;
		cpu = last;
	}
	return buf;
}
