/* Unit tests for gadget-scan.c: the instruction sequences injected syscalls run through are
 * found wherever they lie in a buffer, chunk edges included, and nothing else is taken for
 * them; and for gadget-cache.c, which hands a scan back for the same mapping only. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "task/gadget-cache.h"
#include "task/gadget-scan.h"
#include "task/mm-parse.h"

static const uint8_t syscall_ret[] = {0x0f, 0x05, 0xc3};
static const uint8_t vdso_syscall_ret[] = {0x0f, 0x05, 0x31, 0xd2, 0x31, 0xc9, 0x31,
					   0xf6, 0x31, 0xff, 0x45, 0x31, 0xdb, 0xc3};
static const uint8_t glibc_restore_rt[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
static const uint8_t go_sigreturn[] = {0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

Test(gadget_scan, finds_both_kinds_at_their_addresses)
{
	uint8_t buf[256];
	uint64_t found[GADGET_KINDS] = {0};

	memset(buf, 0x90, sizeof(buf));
	memcpy(buf + 17, glibc_restore_rt, sizeof(glibc_restore_rt));
	memcpy(buf + 200, syscall_ret, sizeof(syscall_ret));
	cr_assert_eq(gadget_scan(buf, sizeof(buf), 0x7f0000001000, found), 0);
	cr_assert_eq(found[GADGET_SYSCALL_RET], 0x7f0000001000 + 200);
	cr_assert_eq(found[GADGET_SIGRETURN], 0x7f0000001000 + 17);
}

Test(gadget_scan, keeps_what_an_earlier_chunk_found_and_reports_what_is_missing)
{
	uint8_t buf[64];
	uint64_t found[GADGET_KINDS] = {0};

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 3, vdso_syscall_ret, sizeof(vdso_syscall_ret));
	cr_assert_eq(gadget_scan(buf, sizeof(buf), 0x1000, found), 1);
	cr_assert_eq(found[GADGET_SYSCALL_RET], 0x1003);
	cr_assert_eq(found[GADGET_SIGRETURN], 0);

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 40, go_sigreturn, sizeof(go_sigreturn));
	memcpy(buf + 50, syscall_ret, sizeof(syscall_ret)); /* found already: not replaced */
	cr_assert_eq(gadget_scan(buf, sizeof(buf), 0x2000, found), 0);
	cr_assert_eq(found[GADGET_SYSCALL_RET], 0x1003);
	cr_assert_eq(found[GADGET_SIGRETURN], 0x2000 + 40);
}

Test(gadget_scan, ignores_near_misses)
{
	/* syscall; nop; ret: the nop runs with the syscall's result, fine, but only exact
	 * sequences are trusted; mov $14 is another syscall than rt_sigreturn */
	static const uint8_t near[] = {0x0f, 0x05, 0x90, 0xc3, 0xb8, 0x0e, 0x00, 0x00, 0x00,
				       0x0f, 0x05, 0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff};
	uint64_t found[GADGET_KINDS] = {0};

	cr_assert_eq(gadget_scan(near, sizeof(near), 0x1000, found), 2);
	cr_assert_eq(found[GADGET_SYSCALL_RET], 0);
	cr_assert_eq(found[GADGET_SIGRETURN], 0);
}

Test(gadget_scan, a_sequence_at_the_very_end_of_a_buffer_counts)
{
	uint8_t buf[32];
	uint64_t found[GADGET_KINDS] = {0};

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf + sizeof(buf) - sizeof(syscall_ret), syscall_ret, sizeof(syscall_ret));
	gadget_scan(buf, sizeof(buf), 0, found);
	cr_assert_eq(found[GADGET_SYSCALL_RET], sizeof(buf) - sizeof(syscall_ret));
}

Test(gadget_scan, validates_bytes_read_back)
{
	uint8_t code[GADGET_MAX_LEN];

	memset(code, 0x90, sizeof(code));
	memcpy(code, glibc_restore_rt, sizeof(glibc_restore_rt));
	cr_assert(gadget_is_valid(GADGET_SIGRETURN, code, sizeof(code)));
	cr_assert_not(gadget_is_valid(GADGET_SYSCALL_RET, code, sizeof(code)));
	code[0] = 0xcc; /* a breakpoint set since the scan */
	cr_assert_not(gadget_is_valid(GADGET_SIGRETURN, code, sizeof(code)));
	memcpy(code, syscall_ret, sizeof(syscall_ret));
	cr_assert(gadget_is_valid(GADGET_SYSCALL_RET, code, sizeof(syscall_ret)));
	cr_assert_not(gadget_is_valid(GADGET_SYSCALL_RET, code, 2)); /* too short to hold it */
}

/* ---- gadget-cache.c: a scan is reused only for the very same mapping ---------------------- */

static struct mm_vma libc_text(void)
{
	struct mm_vma v = {.start = 0x7f0000028000,
			   .end = 0x7f000017d000,
			   .pgoff = 0x28000,
			   .prot = PROT_READ | PROT_EXEC,
			   .dev_major = 254,
			   .dev_minor = 1,
			   .ino = 1234};

	strcpy(v.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	return v;
}

Test(gadget_cache, gives_back_a_scan_of_the_same_mapping_only)
{
	const uint64_t scanned[GADGET_KINDS] = {0x7f0000030000, 0x7f0000040000};
	struct mm_vma v = libc_text(), other;
	uint64_t found[GADGET_KINDS] = {0};

	gadget_cache_store(&v, scanned);
	cr_assert(gadget_cache_find(&v, found));
	cr_assert_arr_eq(found, scanned, sizeof(found));
	other = v;
	other.ino++; /* another file at the same address */
	cr_assert_not(gadget_cache_find(&other, found));
	other = v;
	other.end += 0x1000;
	cr_assert_not(gadget_cache_find(&other, found));
	other = v;
	other.prot |= PROT_WRITE;
	cr_assert_not(gadget_cache_find(&other, found));
}

Test(gadget_cache, keeps_no_anonymous_or_deleted_mapping)
{
	const uint64_t scanned[GADGET_KINDS] = {0x7f0000030000, 0};
	struct mm_vma jit = libc_text(), gone = libc_text(), vdso = libc_text();
	uint64_t found[GADGET_KINDS];

	jit.ino = 0;
	jit.path[0] = 0;
	gone.is_deleted = true;
	gone.start = 0x7f1000000000;
	vdso.ino = 0;
	vdso.start = 0x7ffff7fc1000;
	strcpy(vdso.path, "[vdso]");
	gadget_cache_store(&jit, scanned);
	gadget_cache_store(&gone, scanned);
	gadget_cache_store(&vdso, scanned);
	cr_assert_not(gadget_cache_find(&jit, found));
	cr_assert_not(gadget_cache_find(&gone, found));
	cr_assert(gadget_cache_find(&vdso, found));
	cr_assert_eq(found[GADGET_SYSCALL_RET], 0x7f0000030000);
	cr_assert_eq(found[GADGET_SIGRETURN], 0);
}
