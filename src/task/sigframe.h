/* sigframe.h: the x86_64 kernel rt_sigframe that rt_sigreturn consumes, built from dumped
 * registers, xstate, signal mask and altstack, so the restorer can end in one rt_sigreturn that
 * puts every register back, AVX-512 state included. Pure: no syscalls, no logging. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct user_regs_struct;

/* The kernel's struct sigcontext (64-bit), not glibc's mcontext_t. */
struct sigframe_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate; /* address of the 64-byte aligned xsave area, or 0 */
	uint64_t reserved1[8];
};

struct sigframe_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

/* The kernel's struct ucontext: its signal mask is 8 bytes (glibc's ucontext_t differs). */
struct sigframe_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct sigframe_stack uc_stack;
	struct sigframe_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct sigframe_rt {
	uint64_t pretcode;
	struct sigframe_ucontext uc;
	uint8_t info[128]; /* siginfo, unused by rt_sigreturn */
};

_Static_assert(sizeof(struct sigframe_sigcontext) == 256, "struct sigcontext is 256 bytes");
_Static_assert(sizeof(struct sigframe_ucontext) == 304, "struct ucontext is 304 bytes");
_Static_assert(sizeof(struct sigframe_rt) == 440, "struct rt_sigframe is 440 bytes");

#define SIGFRAME_UC_FP_XSTATE	      0x1
#define SIGFRAME_UC_SIGCONTEXT_SS     0x2
#define SIGFRAME_UC_STRICT_RESTORE_SS 0x4

#define SIGFRAME_FP_XSTATE_MAGIC1 0x46505853u
#define SIGFRAME_FP_XSTATE_MAGIC2 0x46505845u
#define SIGFRAME_XSTATE_MIN	  576u /* legacy area (512) + xsave header (64) */
#define SIGFRAME_XSTATE_MAX	  (64u << 10)
#define SIGFRAME_SW_BYTES_OFFSET  464u /* software-reserved bytes of the fxsave area */
#define SIGFRAME_FPSTATE_OFFSET	  448u /* 64-byte aligned place of the xsave area */
#define SIGFRAME_XSAVE_HEADER_OFFSET 512u /* XSTATE_BV, the components present */

/* Bytes a frame with an xstate of xstate_len bytes needs (0 if xstate_len is out of range). */
size_t sigframe_size(size_t xstate_len);

/* The XCR0 value ptrace stored in the first 8 software-reserved bytes of an NT_X86_XSTATE buffer.
 */
uint64_t sigframe_xstate_xfeatures(const void *xstate, size_t xstate_len);

struct sigframe_altstack {
	uint64_t sp, size;
	int32_t flags; /* SS_DISABLE if none */
};

/* Builds a frame in buf (sigframe_size(xstate_len) bytes, 64-byte aligned) that will sit at
 * address addr in the task. The kernel takes it from rsp - 8, so *ret_rsp = addr + 8 is the
 * rsp to have when issuing rt_sigreturn. The first xstate_len bytes of the xstate are copied
 * with the signal-frame software bytes (magic1, sizes, xfeatures) and magic2 after them, and
 * XSTATE_BV limited to xfeatures; without a size and features the restoring process may use, the
 * kernel would silently restore only the legacy FXSAVE part. Returns 0, or -EINVAL for a bad
 * size or an unaligned buf/addr. */
int sigframe_build(void *buf, uint64_t addr, const struct user_regs_struct *regs,
		   const void *xstate, size_t xstate_len, uint64_t xfeatures, uint64_t sigmask,
		   const struct sigframe_altstack *altstack, uint64_t *ret_rsp);
