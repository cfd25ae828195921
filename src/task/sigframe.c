/* sigframe.c: build the kernel's x86_64 rt_sigframe (pure). */
#include "task/sigframe.h"

#include <errno.h>
#include <string.h>
#include <sys/user.h>

struct sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};
_Static_assert(sizeof(struct sw_bytes) == 48, "struct _fpx_sw_bytes is 48 bytes");

size_t sigframe_size(size_t xstate_len)
{
	if (xstate_len < SIGFRAME_XSTATE_MIN || xstate_len > SIGFRAME_XSTATE_MAX)
		return 0;
	/* frame, xsave area, magic2; rounded so consecutive frames stay 64-byte aligned */
	return (SIGFRAME_FPSTATE_OFFSET + xstate_len + sizeof(uint32_t) + 63) & ~(size_t)63;
}

uint64_t sigframe_xstate_xfeatures(const void *xstate, size_t xstate_len)
{
	uint64_t xcr0;

	if (xstate_len < SIGFRAME_XSTATE_MIN)
		return 0;
	memcpy(&xcr0, (const uint8_t *)xstate + SIGFRAME_SW_BYTES_OFFSET, sizeof(xcr0));
	return xcr0;
}

int sigframe_build(void *buf, uint64_t addr, const struct user_regs_struct *regs,
		   const void *xstate, size_t xstate_len, uint64_t xfeatures, uint64_t sigmask,
		   const struct sigframe_altstack *altstack, uint64_t *ret_rsp)
{
	size_t size = sigframe_size(xstate_len);
	struct sigframe_rt *f = buf;
	struct sigframe_sigcontext *sc = &f->uc.uc_mcontext;
	uint8_t *fp = (uint8_t *)buf + SIGFRAME_FPSTATE_OFFSET;
	uint32_t magic2 = SIGFRAME_FP_XSTATE_MAGIC2;
	struct sw_bytes sw;
	uint64_t xstate_bv;

	if (!size || ((uintptr_t)buf & 63) || (addr & 63))
		return -EINVAL;
	memset(buf, 0, size);
	f->uc.uc_flags =
	    SIGFRAME_UC_FP_XSTATE | SIGFRAME_UC_SIGCONTEXT_SS | SIGFRAME_UC_STRICT_RESTORE_SS;
	f->uc.uc_stack.ss_sp = altstack->sp;
	f->uc.uc_stack.ss_flags = altstack->flags;
	f->uc.uc_stack.ss_size = altstack->size;
	f->uc.uc_sigmask = sigmask;

	sc->r8 = regs->r8;
	sc->r9 = regs->r9;
	sc->r10 = regs->r10;
	sc->r11 = regs->r11;
	sc->r12 = regs->r12;
	sc->r13 = regs->r13;
	sc->r14 = regs->r14;
	sc->r15 = regs->r15;
	sc->rdi = regs->rdi;
	sc->rsi = regs->rsi;
	sc->rbp = regs->rbp;
	sc->rbx = regs->rbx;
	sc->rdx = regs->rdx;
	sc->rax = regs->rax;
	sc->rcx = regs->rcx;
	sc->rsp = regs->rsp;
	sc->rip = regs->rip;
	sc->eflags = regs->eflags;
	sc->cs = (uint16_t)regs->cs;
	sc->ss = (uint16_t)regs->ss;
	sc->fpstate = addr + SIGFRAME_FPSTATE_OFFSET;

	memcpy(fp, xstate, xstate_len);
	memset(&sw, 0, sizeof(sw));
	sw.magic1 = SIGFRAME_FP_XSTATE_MAGIC1;
	sw.extended_size = (uint32_t)xstate_len + (uint32_t)sizeof(magic2);
	sw.xfeatures = xfeatures;
	sw.xstate_size = (uint32_t)xstate_len;
	memcpy(fp + SIGFRAME_SW_BYTES_OFFSET, &sw, sizeof(sw));
	/* a component the frame does not carry must not be marked present in XSTATE_BV */
	memcpy(&xstate_bv, fp + SIGFRAME_XSAVE_HEADER_OFFSET, sizeof(xstate_bv));
	xstate_bv &= xfeatures;
	memcpy(fp + SIGFRAME_XSAVE_HEADER_OFFSET, &xstate_bv, sizeof(xstate_bv));
	memcpy(fp + xstate_len, &magic2, sizeof(magic2));

	*ret_rsp = addr + sizeof(uint64_t);
	return 0;
}
