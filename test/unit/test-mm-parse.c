/* Unit tests for mm-parse.c (smaps parsing, pagemap page selection, hole
 * finding) and for the embedded restorer blob's layout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "task/mm-parse.h"
#include "restorer-blob.h"

static const char smaps_text[] =
    "55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 247498                     /usr/bin/cat\n"
    "Size:                  8 kB\n"
    "VmFlags: rd mr mw me dw \n"
    "55d0c2000000-55d0c2021000 rw-p 00000000 00:00 0                          [heap]\n"
    "VmFlags: rd wr mr mw me ac hg \n"
    "7f0000000000-7f0000001000 rw-s 00000000 00:01 1234                       /dev/zero (deleted)\n"
    "VmFlags: rd wr sh mr mw me ms dd \n"
    "7f0000001000-7f0000002000 rw-s 00001000 00:01 99                         /memfd:my file "
    "(deleted)\n"
    "VmFlags: rd wr sh mr mw me ms \n"
    "7f0000002000-7f0000003000 r--p 00000000 fe:00 42                         /tmp/a b (deleted)\n"
    "VmFlags: rd mr mw me \n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "VmFlags: rd wr mr mw me gd ac \n"
    "7ffd00100000-7ffd00104000 r--p 00000000 00:00 0                          [vvar]\n"
    "VmFlags: rd mr pf io de dd sd \n"
    "7ffd00104000-7ffd00106000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
    "VmFlags: rd mr pf io de dd sd \n"
    "7ffd00106000-7ffd00108000 r-xp 00000000 00:00 0                          [vdso]\n"
    "VmFlags: rd ex mr mw me de sd \n"
    "7ffd00200000-7ffd00201000 ---p 00000000 00:00 0 \n"
    "VmFlags: mr mw me nh \n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

Test(mm_parse, parses_smaps_kinds_and_flags)
{
	struct mm_vma *v = NULL;
	size_t n = 0;

	cr_assert_eq(mm_parse_smaps(smaps_text, &v, &n), 0);
	cr_assert_eq(n, 11);
	cr_assert_eq(v[0].kind, VMA_KIND_FILE_PRIVATE);
	cr_assert_eq(v[0].prot, PROT_READ);
	cr_assert_str_eq(v[0].path, "/usr/bin/cat");
	cr_assert_eq(v[0].ino, 247498);
	cr_assert_eq(v[0].dev_major, 0xfe);
	cr_assert_str_eq(v[0].vmflags, "rd mr mw me dw");
	cr_assert_eq(v[1].kind, VMA_KIND_ANON);
	cr_assert_eq(v[1].madvise, VMA_MADV_HUGEPAGE);
	cr_assert_eq(v[1].prot, PROT_READ | PROT_WRITE);
	cr_assert_eq(v[2].kind, VMA_KIND_SHMEM);
	cr_assert(v[2].is_deleted);
	cr_assert(v[2].is_shared);
	cr_assert_eq(v[2].madvise, VMA_MADV_DONTDUMP);
	cr_assert_eq(v[3].kind, VMA_KIND_SHMEM);
	cr_assert_str_eq(v[3].path, "/memfd:my file");
	cr_assert_eq(v[3].pgoff, 0x1000);
	cr_assert_eq(v[4].kind, VMA_KIND_UNSUPPORTED);
	cr_assert_str_eq(v[4].path, "/tmp/a b");
	cr_assert_eq(v[5].kind, VMA_KIND_ANON);
	cr_assert(v[5].is_growsdown);
	cr_assert_eq(v[6].kind, VMA_KIND_VVAR);
	cr_assert_eq(v[7].kind, VMA_KIND_VVAR_VCLOCK);
	cr_assert_eq(v[8].kind, VMA_KIND_VDSO);
	cr_assert_eq(v[8].prot, PROT_READ | PROT_EXEC);
	cr_assert_eq(v[9].kind, VMA_KIND_ANON);
	cr_assert_eq(v[9].prot, 0);
	cr_assert_eq(v[9].madvise, VMA_MADV_NOHUGEPAGE);
	cr_assert_eq(v[10].kind, VMA_KIND_VSYSCALL);
	cr_assert_eq(v[10].start, 0xffffffffff600000ull);
	free(v);
}

Test(mm_parse, reads_mlock_state_from_vmflags)
{
	static const char text[] = "00400000-00401000 rw-p 00000000 00:00 0 \n"
				   "VmFlags: rd wr mr mw me lo ac \n"
				   "00401000-00402000 rw-p 00000000 00:00 0 \n"
				   "VmFlags: rd wr mr mw me lo lf \n"
				   "00402000-00403000 rw-p 00000000 00:00 0 \n"
				   "VmFlags: rd wr mr mw me ac sd\n";
	struct mm_vma *v = NULL;
	size_t n = 0;

	cr_assert_eq(mm_parse_smaps(text, &v, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(v[0].mlock, VMA_MLOCK_LOCKED);
	cr_assert_eq(v[1].mlock, VMA_MLOCK_ON_FAULT);
	cr_assert_eq(v[2].mlock, VMA_MLOCK_NONE);
	free(v);
	/* whole two-letter tokens only: "lof" or "xlo" are not "lo"; lf without lo is no lock */
	cr_assert_eq(mm_vmflags_mlock("rd lof xlo"), VMA_MLOCK_NONE);
	cr_assert_eq(mm_vmflags_mlock("lf rd"), VMA_MLOCK_NONE);
	cr_assert_eq(mm_vmflags_mlock("lo"), VMA_MLOCK_LOCKED);
	cr_assert_eq(mm_vmflags_mlock("  lf  lo "), VMA_MLOCK_ON_FAULT);
	cr_assert_eq(mm_vmflags_mlock(""), VMA_MLOCK_NONE);
}

Test(mm_parse, rejects_overlapping_and_malformed_smaps)
{
	struct mm_vma *v = NULL;
	size_t n = 0;

	cr_assert_eq(mm_parse_smaps("2000-3000 rw-p 0 00:00 0\n1000-2800 rw-p 0 00:00 0\n", &v, &n),
		     -EINVAL);
	cr_assert_eq(mm_parse_smaps("3000-2000 rw-p 0 00:00 0\n", &v, &n), -EINVAL);
	cr_assert_eq(mm_parse_smaps("1000-2000 rwxq 0 00:00 0\n", &v, &n), -EINVAL);
	cr_assert_eq(mm_parse_smaps("Size: 4 kB\n", &v, &n), -EINVAL);
	cr_assert_eq(mm_parse_smaps("1000-2001 rw-p 0 00:00 0\n", &v, &n), -EINVAL);
}

Test(mm_parse, takes_the_later_line_of_a_mapping_that_grew_while_read)
{
	struct mm_vma *v = NULL;
	size_t n = 0;

	/* minicr reads its own smaps in chunks and may grow its heap in between */
	cr_assert_eq(mm_parse_smaps("1000-2000 rw-p 0 00:00 0 [heap]\nVmFlags: rd wr\n"
				    "1000-5000 rw-p 0 00:00 0 [heap]\nVmFlags: rd wr mr\n"
				    "9000-a000 r--p 0 00:00 0\n",
				    &v, &n),
		     0);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0].end, 0x5000);
	cr_assert_str_eq(v[0].vmflags, "rd wr mr");
	cr_assert_eq(v[1].start, 0x9000);
	free(v);
}

Test(mm_parse, reads_maps_without_vmflags)
{
	struct mm_vma *v = NULL;
	size_t n = 0;

	cr_assert_eq(mm_parse_smaps("1000-2000 rw-p 00000000 00:00 0\n", &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].vmflags, "");
	cr_assert_str_eq(v[0].path, "");
	cr_assert_eq(v[0].kind, VMA_KIND_ANON);
	free(v);
}

Test(mm_parse, selects_pages_by_vma_kind)
{
	/* present anon, swapped, absent, present file page, present COW page */
	uint64_t e[] = {PME_PRESENT, PME_SWAP, 0,	   PME_PRESENT | PME_FILE,
			PME_PRESENT, 0,	       PME_PRESENT};
	size_t pos = 0, first, count;

	cr_assert(mm_next_page_run(e, 7, VMA_KIND_ANON, &pos, &first, &count));
	cr_assert_eq(first, 0);
	cr_assert_eq(count, 2);
	cr_assert(mm_next_page_run(e, 7, VMA_KIND_ANON, &pos, &first, &count));
	cr_assert_eq(first, 3);
	cr_assert_eq(count, 2);
	cr_assert(mm_next_page_run(e, 7, VMA_KIND_ANON, &pos, &first, &count));
	cr_assert_eq(first, 6);
	cr_assert_eq(count, 1);
	cr_assert_not(mm_next_page_run(e, 7, VMA_KIND_ANON, &pos, &first, &count));

	/* private file mappings keep only the copy-on-write copies */
	pos = 0;
	cr_assert(mm_next_page_run(e, 7, VMA_KIND_FILE_PRIVATE, &pos, &first, &count));
	cr_assert_eq(first, 0);
	cr_assert_eq(count, 2);
	cr_assert(mm_next_page_run(e, 7, VMA_KIND_FILE_PRIVATE, &pos, &first, &count));
	cr_assert_eq(first, 4);
	cr_assert_eq(count, 1);
	cr_assert_not(mm_page_is_dumped(PME_PRESENT, VMA_KIND_FILE_SHARED));
	cr_assert_not(mm_page_is_dumped(PME_PRESENT, VMA_KIND_VDSO));
}

Test(mm_parse, finds_the_middle_of_the_largest_hole)
{
	uint64_t starts[] = {0x10000, 0x100000, 0x7f0000000000};
	uint64_t ends[] = {0x20000, 0x200000, 0x7f0000100000};
	uint64_t addr = 0;

	cr_assert_eq(mm_find_hole(starts, ends, 3, 0x10000, 0x7ffffffff000, 0x10000, &addr), 0);
	cr_assert_gt(addr, 0x200000);
	cr_assert_lt(addr + 0x10000, 0x7f0000000000);
	cr_assert_eq(addr & 0xfff, 0);
	/* roughly the middle of [0x200000, 0x7f0000000000) */
	cr_assert_gt(addr, 0x3f0000000000);
	cr_assert_lt(addr, 0x400000000000);
	cr_assert_eq(mm_find_hole(starts, ends, 3, 0x10000, 0x30000, 0x100000, &addr), -ENOSPC);
}

Test(mm_parse, finds_holes_between_overlapping_ranges)
{
	uint64_t starts[] = {0x10000, 0x18000, 0x50000};
	uint64_t ends[] = {0x40000, 0x20000, 0x60000};
	uint64_t addr = 0;

	cr_assert_eq(mm_find_hole(starts, ends, 3, 0x10000, 0x60000, 0x10000, &addr), 0);
	cr_assert_eq(addr, 0x40000);
}

Test(restorer_blob, is_small_and_starts_with_its_entry)
{
	cr_assert_gt(sizeof(minicr_restorer_blob), 16);
	cr_assert_lt(sizeof(minicr_restorer_blob), 64 * 1024);
	/* restorer-head.S: and $-16, %rsp */
	cr_assert_eq(minicr_restorer_blob[0], 0x48);
	cr_assert_eq(minicr_restorer_blob[1], 0x83);
	cr_assert_eq(minicr_restorer_blob[2], 0xe4);
	cr_assert_eq(minicr_restorer_blob[3], 0xf0);
}
