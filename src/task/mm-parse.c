/* mm-parse.c: pure parsers for smaps, stat and status, pagemap page selection, hole finding. */
#include "task/mm-parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl : p + strlen(p);
}

static int parse_hex(const char **p, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(*p, &end, 16);
	if (end == *p || errno)
		return -EINVAL;
	*p = end;
	return 0;
}

static int parse_dec(const char **p, uint64_t *ret)
{
	char *end;

	if (**p == '-')
		return -EINVAL;
	errno = 0;
	*ret = strtoull(*p, &end, 10);
	if (end == *p || errno)
		return -EINVAL;
	*p = end;
	return 0;
}

static uint32_t madvise_from_vmflags(const char *flags, bool *ret_growsdown)
{
	uint32_t bits = 0;
	const char *p = flags;

	*ret_growsdown = false;
	while (*p) {
		char tok[3] = {0};

		p = skip_spaces(p);
		if (!p[0] || !p[1])
			break;
		tok[0] = p[0];
		tok[1] = p[1];
		if (!strcmp(tok, "gd"))
			*ret_growsdown = true;
		else if (!strcmp(tok, "hg"))
			bits |= VMA_MADV_HUGEPAGE;
		else if (!strcmp(tok, "nh"))
			bits |= VMA_MADV_NOHUGEPAGE;
		else if (!strcmp(tok, "dd"))
			bits |= VMA_MADV_DONTDUMP;
		else if (!strcmp(tok, "dc"))
			bits |= VMA_MADV_DONTFORK;
		else if (!strcmp(tok, "wf"))
			bits |= VMA_MADV_WIPEONFORK;
		else if (!strcmp(tok, "mg"))
			bits |= VMA_MADV_MERGEABLE;
		p += 2;
		while (*p && *p != ' ')
			p++;
	}
	return bits;
}

static enum vma_kind classify(const struct mm_vma *v)
{
	if (!strcmp(v->path, "[vvar]"))
		return VMA_KIND_VVAR;
	if (!strcmp(v->path, "[vvar_vclock]"))
		return VMA_KIND_VVAR_VCLOCK;
	if (!strcmp(v->path, "[vdso]"))
		return VMA_KIND_VDSO;
	if (!strcmp(v->path, "[vsyscall]"))
		return VMA_KIND_VSYSCALL;
	if (v->is_shared) {
		/* shared anonymous memory is a deleted shmem file; memfds are "/memfd:NAME" */
		if ((v->is_deleted && !strcmp(v->path, "/dev/zero")) ||
		    !strncmp(v->path, "/memfd:", 7))
			return VMA_KIND_SHMEM;
		if (v->path[0] == '/' && !v->is_deleted && !strncmp(v->path, "/SYSV", 5))
			return VMA_KIND_UNSUPPORTED;
		if (v->path[0] == '/' && !v->is_deleted)
			return VMA_KIND_FILE_SHARED;
		return VMA_KIND_UNSUPPORTED;
	}
	if (v->ino == 0 && (v->path[0] == 0 || v->path[0] == '['))
		return v->path[0] == '[' && strcmp(v->path, "[heap]") &&
			       strcmp(v->path, "[stack]") && strncmp(v->path, "[anon:", 6)
			   ? VMA_KIND_UNSUPPORTED
			   : VMA_KIND_ANON;
	if (!strncmp(v->path, "/memfd:", 7))
		return VMA_KIND_UNSUPPORTED;
	if (v->path[0] == '/' && !v->is_deleted)
		return VMA_KIND_FILE_PRIVATE;
	return VMA_KIND_UNSUPPORTED;
}

/* (1) start-end (2) perms (3) offset (4) maj:min (5) inode (6) path, possibly with spaces */
static int parse_header(const char *p, const char *end, struct mm_vma *v)
{
	uint64_t maj, min;
	size_t len;

	memset(v, 0, sizeof(*v));
	if (parse_hex(&p, &v->start) < 0 || *p++ != '-' || parse_hex(&p, &v->end) < 0)
		return -EINVAL;
	if (v->end <= v->start || (v->start | v->end) & 0xfff)
		return -EINVAL;
	p = skip_spaces(p);
	if (end - p < 5)
		return -EINVAL;
	v->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	if (p[3] != 's' && p[3] != 'p')
		return -EINVAL;
	v->is_shared = p[3] == 's';
	p = skip_spaces(p + 4);
	if (parse_hex(&p, &v->pgoff) < 0)
		return -EINVAL;
	p = skip_spaces(p);
	if (parse_hex(&p, &maj) < 0 || *p++ != ':' || parse_hex(&p, &min) < 0)
		return -EINVAL;
	v->dev_major = (uint32_t)maj;
	v->dev_minor = (uint32_t)min;
	p = skip_spaces(p);
	if (parse_dec(&p, &v->ino) < 0)
		return -EINVAL;
	p = skip_spaces(p);
	if (p > end)
		return -EINVAL;
	len = (size_t)(end - p);
	if (len >= sizeof(v->path))
		return -EINVAL;
	memcpy(v->path, p, len);
	v->path[len] = 0;
	if (len > 10 && !strcmp(v->path + len - 10, " (deleted)")) {
		v->is_deleted = true;
		v->path[len - 10] = 0;
	}
	return 0;
}

static bool is_header(const char *p, const char *end)
{
	/* header lines start with a hex range; attribute lines with "Name:" */
	for (; p < end && *p != ' '; p++)
		if (*p == ':')
			return false;
	return true;
}

int mm_parse_smaps(const char *buf, struct mm_vma **ret_vmas, size_t *ret_n)
{
	struct mm_vma *vmas = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	const char *p = buf;

	while (*p) {
		const char *end = line_end(p);

		if (end == p) {
			p++;
			continue;
		}
		if (is_header(p, end)) {
			if (n == cap) {
				struct mm_vma *bigger;

				cap = cap ? cap * 2 : 32;
				bigger = realloc(vmas, cap * sizeof(*vmas));
				if (!bigger) {
					free(vmas);
					return -ENOMEM;
				}
				vmas = bigger;
			}
			cur = &vmas[n];
			if (parse_header(p, end, cur) < 0) {
				free(vmas);
				return -EINVAL;
			}
			/* A process reading its own smaps in several read()s may grow its heap in
			 * between: the kernel then shows that mapping again, from the same start,
			 * with its new end. The later line is the true one. */
			if (n > 0 && cur->start == vmas[n - 1].start &&
			    cur->end >= vmas[n - 1].end) {
				vmas[n - 1] = *cur;
				cur = &vmas[n - 1];
			} else if (n > 0 && cur->start < vmas[n - 1].end) {
				free(vmas);
				return -EINVAL;
			} else {
				n++;
			}
		} else if (cur && !strncmp(p, "VmFlags:", 8)) {
			const char *f = skip_spaces(p + 8);
			size_t len = (size_t)(end - f);

			if (len >= sizeof(cur->vmflags))
				len = sizeof(cur->vmflags) - 1;
			memcpy(cur->vmflags, f, len);
			cur->vmflags[len] = 0;
			while (len && cur->vmflags[len - 1] == ' ')
				cur->vmflags[--len] = 0;
			cur->madvise = madvise_from_vmflags(cur->vmflags, &cur->is_growsdown);
		} else if (!cur) {
			free(vmas);
			return -EINVAL;
		}
		p = *end ? end + 1 : end;
	}
	for (size_t i = 0; i < n; i++)
		vmas[i].kind = classify(&vmas[i]);
	*ret_vmas = vmas;
	*ret_n = n;
	return 0;
}

/* Finds field number nr (1-based, as in proc(5)) after the comm, which may hold spaces and ')'. */
static int stat_field(const char *buf, int nr, uint64_t *ret)
{
	const char *p = strrchr(buf, ')');
	int field = 2;

	if (!p || nr < 3)
		return -EINVAL;
	p++;
	while (field < nr) {
		p = skip_spaces(p);
		if (!*p || *p == '\n')
			return -EINVAL;
		field++;
		if (field == nr)
			break;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	if (*p == '-') {
		/* only a few fields may be negative; the caller reads none of them as unsigned */
		return -EINVAL;
	}
	return parse_dec(&p, ret);
}

int mm_parse_stat(const char *buf, struct mm_stat *ret_stat)
{
	static const int nrs[] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51, 38};
	uint64_t v[sizeof(nrs) / sizeof(nrs[0])];

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (stat_field(buf, nrs[i], &v[i]) < 0)
			return -EINVAL;
	ret_stat->start_code = v[0];
	ret_stat->end_code = v[1];
	ret_stat->start_stack = v[2];
	ret_stat->start_data = v[3];
	ret_stat->end_data = v[4];
	ret_stat->start_brk = v[5];
	ret_stat->arg_start = v[6];
	ret_stat->arg_end = v[7];
	ret_stat->env_start = v[8];
	ret_stat->env_end = v[9];
	ret_stat->exit_signal = (int)v[10];
	return 0;
}

static const char *status_line(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	const char *p = buf;

	while (*p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return skip_spaces(p + klen + 1);
		p = line_end(p);
		if (*p)
			p++;
	}
	return NULL;
}

static int status_u32s(const char *buf, const char *key, uint32_t *out, size_t n)
{
	const char *p = status_line(buf, key);

	if (!p)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		p = skip_spaces(p);
		if (parse_dec(&p, &v) < 0 || v > UINT32_MAX)
			return -EINVAL;
		out[i] = (uint32_t)v;
	}
	return 0;
}

static void status_hex(const char *buf, const char *key, uint64_t *out)
{
	const char *p = status_line(buf, key);

	*out = 0;
	if (p)
		(void)parse_hex(&p, out);
}

int mm_parse_status(const char *buf, struct mm_status_creds *ret_creds)
{
	struct mm_status_creds c;
	const char *p;

	memset(&c, 0, sizeof(c));
	if (status_u32s(buf, "Uid", c.uids, 4) < 0 || status_u32s(buf, "Gid", c.gids, 4) < 0)
		return -EINVAL;
	p = status_line(buf, "Groups");
	if (p) {
		const char *end = line_end(p);

		while (p < end) {
			uint64_t v;

			p = skip_spaces(p);
			if (p >= end)
				break;
			if (parse_dec(&p, &v) < 0 || v > UINT32_MAX || c.n_groups == MM_MAX_GROUPS)
				return -EINVAL;
			c.groups[c.n_groups++] = (uint32_t)v;
		}
	}
	status_hex(buf, "CapInh", &c.cap_inh);
	status_hex(buf, "CapPrm", &c.cap_prm);
	status_hex(buf, "CapEff", &c.cap_eff);
	status_hex(buf, "CapBnd", &c.cap_bnd);
	status_hex(buf, "CapAmb", &c.cap_amb);
	p = status_line(buf, "NoNewPrivs");
	c.no_new_privs = p && *p == '1';
	p = status_line(buf, "Seccomp");
	c.seccomp_mode = p && *p >= '0' && *p <= '2' ? *p - '0' : 0;
	p = status_line(buf, "x86_Thread_features");
	if (p) {
		const char *end = line_end(p);
		const char *s = strstr(p, "shstk");

		c.has_shadow_stack = s && s < end;
	}
	*ret_creds = c;
	return 0;
}

bool mm_page_is_dumped(uint64_t pme, enum vma_kind kind)
{
	switch (kind) {
	case VMA_KIND_ANON:
	case VMA_KIND_SHMEM:
		return pme & (PME_PRESENT | PME_SWAP);
	case VMA_KIND_FILE_PRIVATE:
		/* a swapped page of a private file mapping is always an anonymous COW copy */
		return (pme & PME_SWAP) || ((pme & PME_PRESENT) && !(pme & PME_FILE));
	default:
		return false;
	}
}

bool mm_next_page_run(const uint64_t *entries, size_t n, enum vma_kind kind, size_t *pos,
		      size_t *ret_first, size_t *ret_count)
{
	size_t i = *pos, first;

	while (i < n && !mm_page_is_dumped(entries[i], kind))
		i++;
	if (i == n) {
		*pos = n;
		return false;
	}
	first = i;
	while (i < n && mm_page_is_dumped(entries[i], kind))
		i++;
	*ret_first = first;
	*ret_count = i - first;
	*pos = i;
	return true;
}

int mm_find_hole(const uint64_t *starts, const uint64_t *ends, size_t n, uint64_t lo, uint64_t hi,
		 uint64_t size, uint64_t *ret_addr)
{
	uint64_t best_start = 0, best_len = 0, prev = lo;

	for (size_t i = 0; i <= n; i++) {
		uint64_t next = i < n ? starts[i] : hi;

		if (next > hi)
			next = hi;
		if (next > prev && next - prev > best_len) {
			best_len = next - prev;
			best_start = prev;
		}
		if (i < n && ends[i] > prev)
			prev = ends[i];
		if (prev >= hi)
			break;
	}
	if (best_len < size)
		return -ENOSPC;
	*ret_addr = (best_start + (best_len - size) / 2) & ~0xfffull;
	if (*ret_addr < best_start)
		*ret_addr = best_start;
	return 0;
}
