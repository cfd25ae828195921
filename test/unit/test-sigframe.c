/* Unit tests for sigframe.c: the kernel rt_sigframe layout and the xstate software bytes the
 * kernel checks before it restores AVX state from a frame. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>

#include "task/sigframe.h"

#define XSTATE_LEN 2688

static void *aligned_frame(size_t size)
{
	void *p = NULL;

	cr_assert_eq(posix_memalign(&p, 64, size), 0);
	return p;
}

Test(sigframe, matches_the_kernel_layout)
{
	cr_assert_eq(offsetof(struct sigframe_rt, uc), 8);
	cr_assert_eq(offsetof(struct sigframe_ucontext, uc_stack), 16);
	cr_assert_eq(offsetof(struct sigframe_ucontext, uc_mcontext), 40);
	cr_assert_eq(offsetof(struct sigframe_ucontext, uc_sigmask), 296);
	cr_assert_eq(offsetof(struct sigframe_sigcontext, rip), 128);
	cr_assert_eq(offsetof(struct sigframe_sigcontext, cs), 144);
	cr_assert_eq(offsetof(struct sigframe_sigcontext, ss), 150);
	cr_assert_eq(offsetof(struct sigframe_sigcontext, fpstate), 184);
	cr_assert_eq(SIGFRAME_FPSTATE_OFFSET % 64, 0);
	cr_assert_geq(SIGFRAME_FPSTATE_OFFSET, sizeof(struct sigframe_rt));
}

Test(sigframe, sizes_are_64_byte_multiples_and_bounded)
{
	cr_assert_eq(sigframe_size(XSTATE_LEN) % 64, 0);
	cr_assert_geq(sigframe_size(XSTATE_LEN), SIGFRAME_FPSTATE_OFFSET + XSTATE_LEN + 4);
	cr_assert_eq(sigframe_size(100), 0);
	cr_assert_eq(sigframe_size(SIGFRAME_XSTATE_MAX + 1), 0);
}

Test(sigframe, carries_registers_mask_altstack_and_xstate_magic)
{
	struct user_regs_struct regs;
	struct sigframe_altstack ss = {0x7000, 8192, 0};
	uint8_t *xstate = calloc(1, XSTATE_LEN);
	size_t size = sigframe_size(XSTATE_LEN);
	uint8_t *buf = aligned_frame(size);
	struct sigframe_rt *f = (struct sigframe_rt *)buf;
	uint64_t xcr0 = 0xe7, rsp = 0, addr = 0x7f0000010000ull, u64;
	uint32_t u32;

	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x401000;
	regs.rsp = 0x7ffd0000;
	regs.rax = 0x1234;
	regs.r15 = 0xf15;
	regs.cs = 0x33;
	regs.ss = 0x2b;
	regs.eflags = 0x246;
	memcpy(xstate + SIGFRAME_SW_BYTES_OFFSET, &xcr0, sizeof(xcr0));
	xstate[600] = 0xab; /* something in the extended area */
	cr_assert_eq(sigframe_xstate_xfeatures(xstate, XSTATE_LEN), 0xe7);

	cr_assert_eq(sigframe_build(buf, addr, &regs, xstate, XSTATE_LEN, xcr0, 0x5, &ss, &rsp), 0);
	cr_assert_eq(rsp, addr + 8);
	cr_assert_eq(f->uc.uc_mcontext.rip, 0x401000);
	cr_assert_eq(f->uc.uc_mcontext.rsp, 0x7ffd0000);
	cr_assert_eq(f->uc.uc_mcontext.rax, 0x1234);
	cr_assert_eq(f->uc.uc_mcontext.r15, 0xf15);
	cr_assert_eq(f->uc.uc_mcontext.cs, 0x33);
	cr_assert_eq(f->uc.uc_mcontext.ss, 0x2b);
	cr_assert_eq(f->uc.uc_mcontext.fpstate, addr + SIGFRAME_FPSTATE_OFFSET);
	cr_assert_eq(f->uc.uc_sigmask, 0x5);
	cr_assert_eq(f->uc.uc_stack.ss_sp, 0x7000);
	cr_assert_eq(f->uc.uc_stack.ss_size, 8192);
	cr_assert_eq(f->uc.uc_flags, SIGFRAME_UC_FP_XSTATE | SIGFRAME_UC_SIGCONTEXT_SS |
					 SIGFRAME_UC_STRICT_RESTORE_SS);
	memcpy(&u32, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_SW_BYTES_OFFSET, 4);
	cr_assert_eq(u32, SIGFRAME_FP_XSTATE_MAGIC1);
	memcpy(&u32, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_SW_BYTES_OFFSET + 4, 4);
	cr_assert_eq(u32, XSTATE_LEN + 4); /* extended_size */
	memcpy(&u64, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_SW_BYTES_OFFSET + 8, 8);
	cr_assert_eq(u64, 0xe7); /* xfeatures */
	memcpy(&u32, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_SW_BYTES_OFFSET + 16, 4);
	cr_assert_eq(u32, XSTATE_LEN); /* xstate_size */
	memcpy(&u32, buf + SIGFRAME_FPSTATE_OFFSET + XSTATE_LEN, 4);
	cr_assert_eq(u32, SIGFRAME_FP_XSTATE_MAGIC2);
	cr_assert_eq(buf[SIGFRAME_FPSTATE_OFFSET + 600], 0xab);
	free(buf);
	free(xstate);
}

Test(sigframe, limits_the_frame_to_the_features_the_process_may_use)
{
	struct user_regs_struct regs;
	struct sigframe_altstack ss = {0, 0, SS_DISABLE};
	uint8_t *xstate = calloc(1, 11008);
	size_t size = sigframe_size(2816);
	uint8_t *buf = aligned_frame(size);
	uint64_t xcr0 = 0x600e7, xstate_bv = 0x400e2, u64, rsp;
	uint32_t u32;

	memset(&regs, 0, sizeof(regs));
	memcpy(xstate + SIGFRAME_SW_BYTES_OFFSET, &xcr0, sizeof(xcr0));
	memcpy(xstate + SIGFRAME_XSAVE_HEADER_OFFSET, &xstate_bv, sizeof(xstate_bv));
	/* AMX tile data is not permitted: the frame stops before it and does not claim it */
	cr_assert_eq(sigframe_build(buf, 0x1000, &regs, xstate, 2816, 0x200e7, 0, &ss, &rsp), 0);
	memcpy(&u32, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_SW_BYTES_OFFSET + 16, 4);
	cr_assert_eq(u32, 2816);
	memcpy(&u64, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_SW_BYTES_OFFSET + 8, 8);
	cr_assert_eq(u64, 0x200e7);
	memcpy(&u64, buf + SIGFRAME_FPSTATE_OFFSET + SIGFRAME_XSAVE_HEADER_OFFSET, 8);
	cr_assert_eq(u64, 0xe2);
	memcpy(&u32, buf + SIGFRAME_FPSTATE_OFFSET + 2816, 4);
	cr_assert_eq(u32, SIGFRAME_FP_XSTATE_MAGIC2);
	free(buf);
	free(xstate);
}

Test(sigframe, refuses_unaligned_frames)
{
	struct user_regs_struct regs;
	struct sigframe_altstack ss = {0, 0, SS_DISABLE};
	uint8_t *xstate = calloc(1, XSTATE_LEN);
	uint8_t *buf = aligned_frame(sigframe_size(XSTATE_LEN) + 64);
	uint64_t rsp;

	memset(&regs, 0, sizeof(regs));
	cr_assert_eq(sigframe_build(buf, 0x1008, &regs, xstate, XSTATE_LEN, 0xe7, 0, &ss, &rsp), -EINVAL);
	cr_assert_eq(sigframe_build(buf + 8, 0x1000, &regs, xstate, XSTATE_LEN, 0xe7, 0, &ss, &rsp),
		     -EINVAL);
	cr_assert_eq(sigframe_build(buf, 0x1000, &regs, xstate, 64, 0xe7, 0, &ss, &rsp), -EINVAL);
	free(buf);
	free(xstate);
}
