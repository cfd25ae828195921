/* xstate.h: the xsave layout the kernel accepts in a process's signal frames. Features the
 * kernel enables on demand (AMX tile data) count only once the process has asked for them, and
 * a frame whose xstate is larger than the process's permitted size is restored as legacy FXSAVE
 * state only, silently. Makes arch_prctl calls; logs its failures. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Where CPUID leaf 0xd puts each xsave feature in the standard format: constants of the CPU,
 * asked once (CPUID traps to the hypervisor in a VM, and a tree has many tasks). */
struct xstate_cpu {
	uint32_t offset[64], size[64];
};

void xstate_cpu_probe(struct xstate_cpu *ret_cpu);

struct xstate_frame_layout {
	uint64_t features; /* xfeatures a frame may carry */
	size_t len;	   /* bytes of the standard-format xsave area those features span */
};

/* Fits this process's signal-frame layout to a dumped NT_X86_XSTATE buffer: asks the kernel for
 * the dynamic features the buffer's XSTATE_BV uses (ARCH_REQ_XCOMP_PERM), then reports the
 * permitted features and the size they span. Returns 0 or -errno. */
int xstate_frame_layout_for(const struct xstate_cpu *cpu, const void *xstate, size_t xstate_len,
			    struct xstate_frame_layout *ret_layout);

/* The layout for a frame that another, seized task restores with rt_sigreturn: its saved XCR0
 * features, of which those the kernel enables on demand only if the buffer's XSTATE_BV shows
 * them in use (which proves the task has them). Makes no syscalls; asks CPUID about those
 * features only. */
void xstate_frame_layout_of_task(const void *xstate, size_t xstate_len,
				 struct xstate_frame_layout *ret_layout);
