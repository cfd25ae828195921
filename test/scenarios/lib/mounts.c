/* mounts.c: read and compare mount tables for the scenarios (see mounts.h). */
#include "mounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static char *next_field(char **p)
{
	char *s = *p, *e;

	while (*s == ' ')
		s++;
	e = strchr(s, ' ');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = s + strlen(s);
	}
	return s;
}

static int parse_line(char *line, struct mnt_line *m)
{
	char *p = line, *f;

	memset(m, 0, sizeof(*m));
	if (sscanf(next_field(&p), "%d", &m->id) != 1 ||
	    sscanf(next_field(&p), "%d", &m->parent) != 1 ||
	    sscanf(next_field(&p), "%u:%u", &m->major, &m->minor) != 2)
		return -EINVAL;
	m->root = unescape(next_field(&p));
	m->mountpoint = unescape(next_field(&p));
	m->opts = strdup(next_field(&p));
	while (*(f = next_field(&p)) && strcmp(f, "-") != 0) {
		if (!strncmp(f, "shared:", 7))
			m->shared = atol(f + 7);
		else if (!strncmp(f, "master:", 7))
			m->master = atol(f + 7);
		else if (!strncmp(f, "propagate_from:", 15))
			m->propagate_from = atol(f + 15);
		else if (!strcmp(f, "unbindable"))
			m->unbindable = true;
	}
	m->fstype = strdup(next_field(&p));
	m->source = unescape(next_field(&p));
	m->super = strdup(next_field(&p));
	return m->root && m->mountpoint && m->opts && m->fstype && m->source && m->super ? 0
											 : -ENOMEM;
}

const struct mnt_line *mnt_line_of(const struct mnt_table *t, int id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->lines[i].id == id)
			return &t->lines[i];
	return NULL;
}

const struct mnt_line *mnt_line_at(const struct mnt_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->lines[i].key, key))
			return &t->lines[i];
	return NULL;
}

const char *mnt_key_of(const struct mnt_table *t, int id)
{
	const struct mnt_line *m = mnt_line_of(t, id);

	return m ? m->key : NULL;
}

/* Depth in the stack of mounts on one mountpoint: ancestors on the same mountpoint. */
static int make_keys(struct mnt_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct mnt_line *m = &t->lines[i];
		const struct mnt_line *p = mnt_line_of(t, m->parent);
		int depth = 0;

		for (size_t hops = 0;
		     p && p != m && !strcmp(p->mountpoint, m->mountpoint) && hops < t->n; hops++) {
			depth++;
			p = mnt_line_of(t, p->parent);
		}
		if (asprintf(&m->key, "%s#%d", m->mountpoint, depth) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct mnt_line *p = mnt_line_of(t, t->lines[i].parent);

		t->lines[i].parent_key = strdup(p && p != &t->lines[i] ? p->key : "");
		if (!t->lines[i].parent_key)
			return -ENOMEM;
	}
	return 0;
}

int mnt_table_read(pid_t pid, struct mnt_table *t)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int r = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	memset(t, 0, sizeof(*t));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		struct mnt_line *more = realloc(t->lines, (t->n + 1) * sizeof(*more));

		line[strcspn(line, "\n")] = '\0';
		if (!more) {
			r = -ENOMEM;
			break;
		}
		t->lines = more;
		r = parse_line(line, &t->lines[t->n]);
		if (r == 0)
			t->n++;
	}
	free(line);
	fclose(f);
	return r < 0 ? r : make_keys(t);
}

void mnt_table_free(struct mnt_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct mnt_line *m = &t->lines[i];

		free(m->root);
		free(m->mountpoint);
		free(m->opts);
		free(m->fstype);
		free(m->source);
		free(m->super);
		free(m->key);
		free(m->parent_key);
	}
	free(t->lines);
	memset(t, 0, sizeof(*t));
}

void mnt_table_forget(struct mnt_table *t, const char *mountpoint)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct mnt_line *m = &t->lines[i];

		if (strcmp(m->mountpoint, mountpoint) != 0) {
			t->lines[k++] = *m;
			continue;
		}
		free(m->root);
		free(m->mountpoint);
		free(m->opts);
		free(m->fstype);
		free(m->source);
		free(m->super);
		free(m->key);
		free(m->parent_key);
	}
	t->n = k;
}

/* from -> to must stay one to one: each number has one image and one preimage. */
static bool map_one(unsigned long *from, unsigned long *to, size_t *n, size_t cap, unsigned long a,
		    unsigned long b)
{
	for (size_t i = 0; i < *n; i++)
		if (from[i] == a || to[i] == b)
			return from[i] == a && to[i] == b;
	if (*n == cap)
		return false;
	from[*n] = a;
	to[*n] = b;
	(*n)++;
	return true;
}

static bool map_group(struct mnt_map *map, long a, long b)
{
	if (!a || !b)
		return a == b;
	return map_one((unsigned long *)map->group_from, (unsigned long *)map->group_to,
		       &map->n_groups, 256, (unsigned long)a, (unsigned long)b);
}

static char diff_msg[1024];

const char *mnt_table_diff(const struct mnt_table *before, const struct mnt_table *after,
			   struct mnt_map *map)
{
	if (before->n != after->n) {
		snprintf(diff_msg, sizeof(diff_msg), "%zu mounts before, %zu after", before->n,
			 after->n);
		for (size_t i = 0; i < before->n; i++)
			if (!mnt_line_at(after, before->lines[i].key)) {
				snprintf(diff_msg, sizeof(diff_msg),
					 "%zu mounts before, %zu after: '%s' is missing", before->n,
					 after->n, before->lines[i].key);
				break;
			}
		return diff_msg;
	}
	for (size_t i = 0; i < before->n; i++) {
		const struct mnt_line *b = &before->lines[i], *a = mnt_line_at(after, b->key);
		const char *what = NULL;

		if (!a)
			what = "it is missing";
		else if (strcmp(a->parent_key, b->parent_key))
			what = "its parent differs";
		else if (strcmp(a->root, b->root))
			what = "its root differs";
		else if (strcmp(a->opts, b->opts))
			what = "its mount flags differ";
		else if (strcmp(a->fstype, b->fstype) || strcmp(a->source, b->source))
			what = "its filesystem differs";
		else if (strcmp(a->super, b->super))
			what = "its superblock options differ";
		else if (!map_one(map->dev_from, map->dev_to, &map->n_devs, 256,
				  (unsigned long)b->major << 20 | b->minor,
				  (unsigned long)a->major << 20 | a->minor))
			what = "its superblock differs (devices do not map one to one)";
		else if (!map_group(map, b->shared, a->shared))
			what = "its peer group differs";
		else if (!map_group(map, b->master, a->master))
			what = "its master differs";
		else if (!map_group(map, b->propagate_from, a->propagate_from))
			what = "its propagate_from differs";
		else if (a->unbindable != b->unbindable)
			what = "unbindable differs";
		if (what) {
			snprintf(diff_msg, sizeof(diff_msg),
				 "mount '%s': %s (before: %s %s %s shared:%ld master:%ld %s %s; "
				 "after: %s %s %s shared:%ld master:%ld %s %s)",
				 b->key, what, b->root, b->opts, b->parent_key, b->shared,
				 b->master, b->fstype, b->super, a ? a->root : "-",
				 a ? a->opts : "-", a ? a->parent_key : "-", a ? a->shared : 0,
				 a ? a->master : 0, a ? a->fstype : "-", a ? a->super : "-");
			return diff_msg;
		}
	}
	return NULL;
}

int mnt_id_of_fd(pid_t pid, int fd)
{
	char path[64], line[256];
	int id = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", &id) == 1)
			break;
	fclose(f);
	return id;
}
