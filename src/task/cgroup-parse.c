/* cgroup-parse.c: see cgroup-parse.h. */
#include "task/cgroup-parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void cgroup_lines_free(struct cgroup_line *lines, size_t n)
{
	if (!lines)
		return;
	for (size_t i = 0; i < n; i++) {
		free(lines[i].controllers);
		free(lines[i].path);
	}
	free(lines);
}

/* One line, without its newline: (1) the hierarchy id, (2) the controllers, (3) the path, which
 * may itself hold colons. */
static int parse_line(const char *line, size_t len, struct cgroup_line *ret)
{
	const char *c1 = memchr(line, ':', len), *c2, *end = line + len;
	char id[16];
	long v;

	if (!c1 || c1 == line || (size_t)(c1 - line) >= sizeof(id))
		return -EINVAL;
	memcpy(id, line, (size_t)(c1 - line));
	id[c1 - line] = '\0';
	if (parse_long(id, 0, UINT32_MAX, &v) < 0)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2 || c2 + 1 == end || c2[1] != '/')
		return -EINVAL;
	if (memchr(line, '\0', len))
		return -EINVAL;
	ret->hierarchy_id = (uint32_t)v;
	ret->controllers = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	ret->path = strndup(c2 + 1, (size_t)(end - c2 - 1));
	if (!ret->controllers || !ret->path) {
		free(ret->controllers);
		free(ret->path);
		return -ENOMEM;
	}
	return 0;
}

int cgroup_parse(const char *buf, struct cgroup_line **ret_lines)
{
	struct cgroup_line *lines = NULL;
	size_t n = 0;
	const char *p = buf;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct cgroup_line *grown;
		int r;

		if (len > 0) {
			grown = reallocarray(lines, n + 1, sizeof(*lines));
			if (!grown) {
				cgroup_lines_free(lines, n);
				return -ENOMEM;
			}
			lines = grown;
			r = parse_line(p, len, &lines[n]);
			if (r < 0) {
				cgroup_lines_free(lines, n);
				return r;
			}
			n++;
		}
		p += len + (nl ? 1 : 0);
	}
	*ret_lines = lines;
	return (int)n;
}

/* A controller name as the kernel spells them ("cpu", "net_cls", "perf_event"). */
static bool is_controller_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* The NAME of name=NAME: the kernel takes letters, digits, '_', '.' and '-'. */
static bool is_hierarchy_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* Whether the comma-separated list has the token tok of length len. */
static bool has_token(const char *list, const char *tok, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && memcmp(p, tok, len) == 0)
			return true;
		p += n + (p[n] ? 1 : 0);
	}
	return false;
}

const char *cgroup_controllers_invalid(const char *controllers)
{
	bool has_name = false;

	if (!controllers[0])
		return NULL;
	for (const char *p = controllers;;) {
		size_t n = strcspn(p, ",");

		if (n > 5 && memcmp(p, "name=", 5) == 0) {
			if (has_name)
				return "two name= in one hierarchy";
			if (!is_hierarchy_name(p + 5, n - 5))
				return "a hierarchy name holds a character the kernel refuses";
			has_name = true;
		} else if (!is_controller_name(p, n)) {
			return "not a list of controller names";
		}
		/* the same token again further on */
		if (p[n] && has_token(p + n + 1, p, n))
			return "a controller is listed twice";
		if (!p[n])
			return NULL;
		p += n + 1;
	}
}

const char *cgroup_path_invalid(const char *path)
{
	if (path[0] != '/')
		return "not absolute";
	if (strcmp(path, "/") == 0)
		return NULL;
	for (const char *p = path + 1;;) {
		size_t n = strcspn(p, "/");

		if (n == 0)
			return "an empty component";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "a '.' or '..' component";
		if (!p[n])
			return NULL;
		p += n + 1;
	}
}

/* Every token of a is in b. */
static bool tokens_within(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		size_t n = strcspn(p, ",");

		if (n && !has_token(b, p, n))
			return false;
		p += n + (p[n] ? 1 : 0);
	}
	return true;
}

bool cgroup_same_hierarchy(const char *a, const char *b)
{
	return tokens_within(a, b) && tokens_within(b, a);
}

/* A v1 superblock option that names no controller: the mount's own flags and settings. */
static bool is_plain_option(const char *opt, size_t len)
{
	static const char *const plain[] = {"rw",
					    "ro",
					    "noprefix",
					    "xattr",
					    "clone_children",
					    "cpuset_v2_mode",
					    "favordynmods",
					    "nofavordynmods"};

	if (len > 5 && memcmp(opt, "name=", 5) == 0)
		return false;
	if (memchr(opt, '=', len)) /* release_agent=PATH and the like */
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		if (strlen(plain[i]) == len && memcmp(opt, plain[i], len) == 0)
			return true;
	return false;
}

bool cgroup_mount_is(const char *fstype, const char *super_opts, const char *controllers)
{
	if (!controllers[0])
		return strcmp(fstype, "cgroup2") == 0;
	if (strcmp(fstype, "cgroup") != 0)
		return false;
	if (!tokens_within(controllers, super_opts))
		return false;
	/* and nothing more: a hierarchy that also holds other controllers is another one */
	for (const char *p = super_opts; *p;) {
		size_t n = strcspn(p, ",");

		if (n && !is_plain_option(p, n) && !has_token(controllers, p, n))
			return false;
		p += n + (p[n] ? 1 : 0);
	}
	return true;
}

const char *cgroup_hierarchy_name(char *buf, size_t size, const char *controllers)
{
	if (!controllers[0])
		snprintf(buf, size, "cgroup v2");
	else
		snprintf(buf, size, "cgroup v1 hierarchy %s", controllers);
	return buf;
}
