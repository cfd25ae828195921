/* kerndat-parse.c: pure helpers for the kernel feature probes (see kerndat-parse.h). */
#include "base/kerndat-parse.h"
#include "base/parse-text.h"

#include <errno.h>
#include <string.h>

#include "base/kerndat.h"
#include "base/util.h"

static const char *skip_blanks_until(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *skip_field(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	return skip_blanks_until(p, end);
}

/* Parses hex digits up to a non-hex character; fails on no digits or overflow. */
static int parse_hex(const char **p, const char *end, uint64_t *ret)
{
	size_t n = parse_hex_u64(*p, end, ret);

	if (!n)
		return -EINVAL;
	*p += n;
	return 0;
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* One maps line: "start-end perms offset dev inode [name]". Only the range and name matter. */
static int parse_maps_line(const char *line, const char *end, struct kerndat_vdso_layout *l)
{
	struct kerndat_area area, *slot;
	const char *p = line, *name;
	size_t name_len;

	/* (1) range */
	if (parse_hex(&p, end, &area.start) < 0 || p >= end || *p != '-')
		return -EINVAL;
	p++;
	if (parse_hex(&p, end, &area.end) < 0 || area.end <= area.start)
		return -EINVAL;
	if (p >= end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	/* (2) perms, offset, dev and inode are always there; the name may be empty */
	p = skip_blanks_until(p, end);
	for (int i = 0; i < 4; i++) {
		if (p >= end)
			return -EINVAL;
		p = skip_field(p, end);
	}
	/* (3) name, without trailing blanks */
	name = p;
	name_len = (size_t)(end - p);
	while (name_len && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
		name_len--;

	if (name_is(name, name_len, "[vvar]"))
		slot = &l->vvar;
	else if (name_is(name, name_len, "[vvar_vclock]"))
		slot = &l->vvar_vclock;
	else if (name_is(name, name_len, "[vdso]"))
		slot = &l->vdso;
	else
		return 0;
	if (slot->end)
		return -EINVAL;
	*slot = area;
	return 0;
}

/* The present areas, sorted by address, must each end where the next begins. */
static bool areas_contiguous(const struct kerndat_vdso_layout *l)
{
	const struct kerndat_area *a[3];
	size_t n = 0;

	if (l->vvar.end)
		a[n++] = &l->vvar;
	if (l->vvar_vclock.end)
		a[n++] = &l->vvar_vclock;
	if (l->vdso.end)
		a[n++] = &l->vdso;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && a[j]->start < a[j - 1]->start; j--) {
			const struct kerndat_area *t = a[j];

			a[j] = a[j - 1];
			a[j - 1] = t;
		}
	for (size_t i = 1; i < n; i++)
		if (a[i - 1]->end != a[i]->start)
			return false;
	return true;
}

int kerndat_parse_vdso_layout(const char *maps, struct kerndat_vdso_layout *ret)
{
	struct kerndat_vdso_layout l = {0};
	const char *line = maps;

	while (*line) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);

		if (end > line) {
			int r = parse_maps_line(line, end, &l);

			if (r < 0)
				return r;
		}
		line = nl ? nl + 1 : end;
	}
	if (!l.vdso.end)
		return -ENOENT;
	l.is_contiguous = areas_contiguous(&l);
	*ret = l;
	return 0;
}

enum kerndat_answer kerndat_statmount_by_fd_answer(int err)
{
	switch (err) {
	case EBADF:
		return KERNDAT_PRESENT;
	case EINVAL:
		return KERNDAT_ABSENT;
	case ENOSYS:
		return KERNDAT_NO_SYSCALL;
	default:
		return KERNDAT_UNKNOWN;
	}
}

enum kerndat_answer kerndat_syscall_answer(int err)
{
	return err == ENOSYS ? KERNDAT_NO_SYSCALL : KERNDAT_PRESENT;
}

enum kerndat_answer kerndat_clone3_set_tid_answer(int err)
{
	switch (err) {
	case 0:
	case EEXIST:
		return KERNDAT_PRESENT;
	case ENOSYS:
		return KERNDAT_NO_SYSCALL;
	case E2BIG:  /* clone_args larger than a 5.3/5.4 kernel knows */
	case EINVAL: /* set_tid unknown, or the pid is out of range */
	case EPERM:  /* neither CAP_CHECKPOINT_RESTORE nor CAP_SYS_ADMIN */
		return KERNDAT_ABSENT;
	default:
		return KERNDAT_UNKNOWN;
	}
}

static size_t note_missing(bool ok, const char *name, size_t count, const char **ret, size_t n)
{
	if (ok)
		return count;
	if (ret && count < n)
		ret[count] = name;
	return count + 1;
}

size_t kerndat_missing_for_dump(const struct kerndat *kd, const char **ret_missing, size_t n)
{
	size_t c = 0;

	c = note_missing(kd->ptrace_seize, "ptrace_seize", c, ret_missing, n);
	c = note_missing(kd->ptrace_interrupt, "ptrace_interrupt", c, ret_missing, n);
	c = note_missing(kd->pidfd_open, "pidfd_open", c, ret_missing, n);
	c = note_missing(kd->pidfd_getfd, "pidfd_getfd", c, ret_missing, n);
	/* kcmp is the only way to tell which fds of different tasks share one open file */
	c = note_missing(kd->kcmp, "kcmp", c, ret_missing, n);
	/* fds on detached mounts are resolved by STATMOUNT_BY_FD, else through file handles */
	c = note_missing(kd->statmount_by_fd || kd->file_handles, "statmount_by_fd|file_handles", c,
			 ret_missing, n);
	c = note_missing(kd->cap_sys_ptrace, "cap_sys_ptrace", c, ret_missing, n);
	c = note_missing(kd->cap_sys_admin, "cap_sys_admin", c, ret_missing, n);
	/* open_by_handle_at() needs it; the fd-based statmount does not */
	c = note_missing(kd->statmount_by_fd || kd->cap_dac_read_search, "cap_dac_read_search", c,
			 ret_missing, n);
	return c;
}

size_t kerndat_missing_for_restore(const struct kerndat *kd, const char **ret_missing, size_t n)
{
	size_t c = 0;

	c = note_missing(kd->clone3_set_tid, "clone3_set_tid", c, ret_missing, n);
	c = note_missing(kd->pr_set_mm_map, "pr_set_mm_map", c, ret_missing, n);
	c = note_missing(kd->cap_sys_admin, "cap_sys_admin", c, ret_missing, n);
	c = note_missing(kd->cap_checkpoint_restore, "cap_checkpoint_restore", c, ret_missing, n);
	return c;
}
