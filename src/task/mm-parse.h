/* mm-parse.h: parse smaps (stat and status are procfs-parse.h's), choose pages from pagemap
 * entries, plan the restore-time layout (the largest hole). Pure: takes buffers, makes no
 * syscalls and does not log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a VMA is, as far as dump and restore care (stored in vma_entry.kind). */
enum vma_kind {
	VMA_KIND_UNKNOWN = 0,
	VMA_KIND_ANON,	       /* private anonymous, incl. [heap], [stack], [anon:...] */
	VMA_KIND_FILE_PRIVATE, /* MAP_PRIVATE of a file: pages come from the file unless COWed */
	VMA_KIND_FILE_SHARED,  /* MAP_SHARED of a regular file: content lives in the file */
	VMA_KIND_SHMEM,	       /* MAP_SHARED anonymous (/dev/zero (deleted)) or of a memfd */
	VMA_KIND_VVAR,	       /* [vvar] */
	VMA_KIND_VVAR_VCLOCK,  /* [vvar_vclock] */
	VMA_KIND_VDSO,	       /* [vdso] */
	VMA_KIND_VSYSCALL,     /* [vsyscall]: above TASK_SIZE, never touched */
	VMA_KIND_UNSUPPORTED,  /* deleted files, SysV shm, device mappings... (see path) */
};

/* madvise() hints replayed at restore, from smaps VmFlags (vma_entry.madvise). */
enum {
	VMA_MADV_HUGEPAGE = 1u << 0,   /* hg */
	VMA_MADV_NOHUGEPAGE = 1u << 1, /* nh */
	VMA_MADV_DONTDUMP = 1u << 2,   /* dd */
	VMA_MADV_DONTFORK = 1u << 3,   /* dc */
	VMA_MADV_WIPEONFORK = 1u << 4, /* wf */
	VMA_MADV_MERGEABLE = 1u << 5,  /* mg */
};

/* mlock state of a VMA, from smaps VmFlags (vma_entry.mlock), replayed with mlock2(). */
enum {
	VMA_MLOCK_NONE = 0,
	VMA_MLOCK_LOCKED = 1,	/* lo: mlock(), pages resident */
	VMA_MLOCK_ON_FAULT = 2, /* lo lf: mlock2(MLOCK_ONFAULT), locked as they are touched */
};

struct mm_vma {
	uint64_t start, end; /* [start, end), page aligned */
	uint64_t pgoff;	     /* bytes */
	uint32_t prot;	     /* PROT_* */
	bool is_shared;	     /* 's' in the permissions */
	bool is_growsdown;   /* VmFlags gd */
	bool is_deleted;     /* path ends in " (deleted)" (removed from the path) */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint32_t madvise; /* VMA_MADV_* */
	uint32_t mlock;	  /* VMA_MLOCK_* */
	enum vma_kind kind;
	char path[4096];  /* "" for anonymous; "[heap]", "/usr/lib/..." */
	char vmflags[96]; /* the VmFlags value as printed, "" if absent */
};

/* Parses /proc/PID/smaps (or maps: VmFlags then stay empty). Returns 0 and sets *ret_vmas
 * (malloc'd, free()) and *ret_n; -EINVAL for malformed text, -ENOMEM. */
int mm_parse_smaps(const char *buf, struct mm_vma **ret_vmas, size_t *ret_n);

/* The VMA_MLOCK_* state that a VmFlags value ("rd wr mr mw me lo lf ac") shows. */
uint32_t mm_vmflags_mlock(const char *vmflags);

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PME_PRESENT (1ull << 63)
#define PME_SWAP    (1ull << 62)
#define PME_FILE    (1ull << 61) /* file page or shared anon */

/* Which pagemap entries hold data the image must keep: in anonymous and shared-memory VMAs
 * every present or swapped page; in private file VMAs only present pages that are not file pages
 * (copy-on-write copies). */
bool mm_page_is_dumped(uint64_t pme, enum vma_kind kind);

/* Finds the next run of dumped pages at or after *pos in entries[0..n). Returns true and sets
 * ret_first and ret_count (and moves pos past the run), or false when none is left. */
bool mm_next_page_run(const uint64_t *entries, size_t n, enum vma_kind kind, size_t *pos,
		      size_t *ret_first, size_t *ret_count);

/* A hole for a bootstrap region of size bytes among the sorted, non-overlapping ranges
 * [starts[i], ends[i]) and inside [lo, hi): the middle of the largest hole, page aligned.
 * Returns 0 and sets *ret_addr, or -ENOSPC if no hole is big enough. */
int mm_find_hole(const uint64_t *starts, const uint64_t *ends, size_t n, uint64_t lo, uint64_t hi,
		 uint64_t size, uint64_t *ret_addr);
