/* mountinfo.c: a parser for /proc/PID/mountinfo (see proc(5)). Pure: it works on a buffer,
 * makes no syscalls and does not log. */
#include "mount/mountinfo-parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compat.h"
#include "base/util.h"

/* A line has 10 fixed fields plus any number of optional ones; more than this is not a kernel. */
#define MOUNTINFO_MAX_FIELDS 64

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

static int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, UINT32_MAX, &v);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

/* The kernel escapes ' ', '\t', '\n' and '\\' as a backslash and three octal digits. Decodes in
 * place. A lone backslash, a value above 0377 or an embedded NUL is malformed. */
static int unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		unsigned v;

		if (*s != '\\') {
			*out++ = *s;
			continue;
		}
		if (s[1] < '0' || s[1] > '7' || s[2] < '0' || s[2] > '7' || s[3] < '0' ||
		    s[3] > '7')
			return -EINVAL;
		v = (unsigned)(s[1] - '0') * 64 + (unsigned)(s[2] - '0') * 8 +
		    (unsigned)(s[3] - '0');
		if (v == 0 || v > 0377)
			return -EINVAL;
		*out++ = (char)v;
		s += 3;
	}
	*out = '\0';
	return 0;
}

static bool opt_is(const char *opt, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(opt, name, len) == 0;
}

uint64_t mountinfo_mount_opts_to_attr(const char *opts)
{
	uint64_t attr = 0;
	bool has_atime_mode = false;

	while (*opts) {
		size_t len = strcspn(opts, ",");

		if (opt_is(opts, len, "ro"))
			attr |= MINICR_MOUNT_ATTR_RDONLY;
		else if (opt_is(opts, len, "nosuid"))
			attr |= MINICR_MOUNT_ATTR_NOSUID;
		else if (opt_is(opts, len, "nodev"))
			attr |= MINICR_MOUNT_ATTR_NODEV;
		else if (opt_is(opts, len, "noexec"))
			attr |= MINICR_MOUNT_ATTR_NOEXEC;
		else if (opt_is(opts, len, "nodiratime"))
			attr |= MINICR_MOUNT_ATTR_NODIRATIME;
		else if (opt_is(opts, len, "nosymfollow"))
			attr |= MINICR_MOUNT_ATTR_NOSYMFOLLOW;
		else if (opt_is(opts, len, "idmapped"))
			attr |= MINICR_MOUNT_ATTR_IDMAP;
		else if (opt_is(opts, len, "noatime")) {
			attr = (attr & ~MINICR_MOUNT_ATTR__ATIME) | MINICR_MOUNT_ATTR_NOATIME;
			has_atime_mode = true;
		} else if (opt_is(opts, len, "relatime")) {
			attr = (attr & ~MINICR_MOUNT_ATTR__ATIME) | MINICR_MOUNT_ATTR_RELATIME;
			has_atime_mode = true;
		} else if (opt_is(opts, len, "strictatime")) {
			attr = (attr & ~MINICR_MOUNT_ATTR__ATIME) | MINICR_MOUNT_ATTR_STRICTATIME;
			has_atime_mode = true;
		}
		opts += len;
		if (*opts == ',')
			opts++;
	}
	/* The kernel prints "relatime" or "noatime"; neither means strict atime updates. */
	if (!has_atime_mode)
		attr |= MINICR_MOUNT_ATTR_STRICTATIME;
	return attr;
}

/* Splits the leading superblock flags (printed first by the kernel) off the super options. */
static const char *split_sb_flags(const char *opts, uint32_t *ret_sb_flags)
{
	static const struct {
		const char *name;
		uint32_t flag;
	} sb_opts[] = {
	    {"ro", MOUNTINFO_SB_RDONLY},	{"rw", 0},
	    {"sync", MOUNTINFO_SB_SYNCHRONOUS}, {"dirsync", MOUNTINFO_SB_DIRSYNC},
	    {"mand", MOUNTINFO_SB_MANDLOCK},	{"lazytime", MOUNTINFO_SB_LAZYTIME},
	};
	uint32_t flags = 0;

	for (;;) {
		size_t len = strcspn(opts, ",");
		size_t i;

		for (i = 0; i < ARRAY_SIZE(sb_opts); i++)
			if (opt_is(opts, len, sb_opts[i].name))
				break;
		if (len == 0 || i == ARRAY_SIZE(sb_opts))
			break;
		flags |= sb_opts[i].flag;
		opts += len;
		if (*opts == ',')
			opts++;
	}
	*ret_sb_flags = flags;
	return opts;
}

static int parse_optional_field(char *field, struct mountinfo_entry *e)
{
	char *colon = strchr(field, ':');
	uint64_t v;

	if (strcmp(field, "unbindable") == 0) {
		e->propagation |= MOUNTINFO_PROP_UNBINDABLE;
		return 0;
	}
	if (!colon)
		return 0; /* proc(5): parsers must ignore optional fields they do not know */
	*colon = '\0';
	if (strcmp(field, "shared") == 0) {
		if (parse_u64(colon + 1, UINT64_MAX, &v) < 0 || v == 0)
			return -EINVAL;
		e->shared_id = v;
		e->propagation |= MOUNTINFO_PROP_SHARED;
	} else if (strcmp(field, "master") == 0) {
		if (parse_u64(colon + 1, UINT64_MAX, &v) < 0 || v == 0)
			return -EINVAL;
		e->master_id = v;
		e->propagation |= MOUNTINFO_PROP_SLAVE;
	} else if (strcmp(field, "propagate_from") == 0) {
		if (parse_u64(colon + 1, UINT64_MAX, &v) < 0 || v == 0)
			return -EINVAL;
		e->propagate_from = v;
	}
	*colon = ':';
	return 0;
}

static int parse_dev(char *field, struct mountinfo_entry *e)
{
	char *colon = strchr(field, ':');

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_u32(field, &e->dev_major) < 0 || parse_u32(colon + 1, &e->dev_minor) < 0)
		return -EINVAL;
	return 0;
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *ret_entry)
{
	struct mountinfo_entry e = {0};
	char *fields[MOUNTINFO_MAX_FIELDS];
	size_t n = 0, sep, i;
	char *p = line;

	/* (0) split on single spaces; escaping guarantees no field contains one */
	for (;;) {
		if (n == MOUNTINFO_MAX_FIELDS)
			return -EINVAL;
		fields[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	/* (7) optional fields end at a lone "-"; 6 fields precede them and 3 follow */
	for (sep = 6; sep < n; sep++)
		if (strcmp(fields[sep], "-") == 0)
			break;
	if (sep >= n || n - sep != 4)
		return -EINVAL;

	/* (1) (2) ids, (3) maj:min */
	if (parse_u32(fields[0], &e.mnt_id) < 0 || parse_u32(fields[1], &e.parent_id) < 0 ||
	    parse_dev(fields[2], &e) < 0)
		return -EINVAL;
	/* (4) root, (5) mountpoint: both absolute paths */
	for (i = 3; i <= 4; i++)
		if (unescape(fields[i]) < 0 || fields[i][0] != '/')
			return -EINVAL;
	e.root = fields[3];
	e.mountpoint = fields[4];
	/* (6) per-mount options */
	if (!fields[5][0])
		return -EINVAL;
	e.mount_opts = fields[5];
	e.mnt_attr = mountinfo_mount_opts_to_attr(fields[5]);
	/* (7) optional fields */
	for (i = 6; i < sep; i++) {
		if (!fields[i][0] || parse_optional_field(fields[i], &e) < 0)
			return -EINVAL;
	}
	if (!(e.propagation &
	      (MOUNTINFO_PROP_SHARED | MOUNTINFO_PROP_SLAVE | MOUNTINFO_PROP_UNBINDABLE)))
		e.propagation |= MOUNTINFO_PROP_PRIVATE;
	/* (9) fs type, (10) source, (11) super options */
	for (i = sep + 1; i < n; i++)
		if (unescape(fields[i]) < 0)
			return -EINVAL;
	if (!fields[sep + 1][0])
		return -EINVAL;
	e.fstype = fields[sep + 1];
	e.source = fields[sep + 2];
	e.super_opts = fields[sep + 3];
	e.fs_opts = split_sb_flags(e.super_opts, &e.sb_flags);

	*ret_entry = e;
	return 0;
}

int mountinfo_parse(const char *buf, size_t len, struct mountinfo **ret)
{
	cleanup(mountinfo_freep) struct mountinfo *mi = NULL;
	size_t n_lines = 0, i;
	char *line;

	if (memchr(buf, '\0', len))
		return -EINVAL;
	mi = calloc(1, sizeof(*mi));
	if (!mi)
		return -ENOMEM;
	mi->text = malloc(len + 1);
	if (!mi->text)
		return -ENOMEM;
	memcpy(mi->text, buf, len);
	mi->text[len] = '\0';

	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			n_lines++;
	if (len > 0 && buf[len - 1] != '\n')
		n_lines++;
	mi->entries = calloc(n_lines ? n_lines : 1, sizeof(*mi->entries));
	if (!mi->entries)
		return -ENOMEM;

	line = mi->text;
	while (*line) {
		char *nl = strchr(line, '\n');
		char *next = nl ? nl + 1 : line + strlen(line);
		int r;

		if (nl)
			*nl = '\0';
		r = mountinfo_parse_line(line, &mi->entries[mi->n_entries]);
		if (r < 0)
			return r;
		mi->n_entries++;
		line = next;
	}
	*ret = TAKE_PTR(mi);
	return 0;
}

struct mountinfo *mountinfo_free(struct mountinfo *mi)
{
	if (!mi)
		return NULL;
	free(mi->entries);
	free(mi->text);
	free(mi);
	return NULL;
}

void mountinfo_freep(struct mountinfo **mi)
{
	mountinfo_free(*mi);
}
