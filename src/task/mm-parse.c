/* mm-parse.c: pure smaps parser, pagemap page selection, hole finding. */
#include "task/mm-parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/parse-text.h"

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

		p = skip_blanks(p);
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

static bool vmflags_has(const char *flags, const char *tok)
{
	for (const char *p = skip_blanks(flags); p[0] && p[1]; p = skip_blanks(p)) {
		if (p[0] == tok[0] && p[1] == tok[1] && (!p[2] || p[2] == ' '))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

uint32_t mm_vmflags_mlock(const char *vmflags)
{
	if (!vmflags_has(vmflags, "lo"))
		return VMA_MLOCK_NONE;
	return vmflags_has(vmflags, "lf") ? VMA_MLOCK_ON_FAULT : VMA_MLOCK_LOCKED;
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
	p = skip_blanks(p);
	if (end - p < 5)
		return -EINVAL;
	v->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	if (p[3] != 's' && p[3] != 'p')
		return -EINVAL;
	v->is_shared = p[3] == 's';
	p = skip_blanks(p + 4);
	if (parse_hex(&p, &v->pgoff) < 0)
		return -EINVAL;
	p = skip_blanks(p);
	if (parse_hex(&p, &maj) < 0 || *p++ != ':' || parse_hex(&p, &min) < 0)
		return -EINVAL;
	v->dev_major = (uint32_t)maj;
	v->dev_minor = (uint32_t)min;
	p = skip_blanks(p);
	if (parse_dec(&p, &v->ino) < 0)
		return -EINVAL;
	p = skip_blanks(p);
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
			const char *f = skip_blanks(p + 8);
			size_t len = (size_t)(end - f);

			if (len >= sizeof(cur->vmflags))
				len = sizeof(cur->vmflags) - 1;
			memcpy(cur->vmflags, f, len);
			cur->vmflags[len] = 0;
			while (len && cur->vmflags[len - 1] == ' ')
				cur->vmflags[--len] = 0;
			cur->madvise = madvise_from_vmflags(cur->vmflags, &cur->is_growsdown);
			cur->mlock = mm_vmflags_mlock(cur->vmflags);
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
