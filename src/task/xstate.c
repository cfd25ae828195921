/* xstate.c: the xsave layout of this process's signal frames, from arch_prctl and CPUID. */
#define LOG_PREFIX "xstate: "
#include "task/xstate.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "task/sigframe.h"

#define ARCH_GET_XCOMP_SUPP 0x1021
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XSAVE_HEADER_OFFSET 512u
/* The features Linux enables per process on request (XFEATURE_MASK_USER_DYNAMIC): AMX tile
 * data, bit 18. */
#define XFEATURES_DYNAMIC (1ull << 18)

/* What CPUID said so far, feature by feature: the answers never change while minicr runs, and
 * a dump asks for every task it injects into. */
static struct xstate_cpu known_cpu;
static uint64_t known_mask;
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;

/* Asks CPUID about the features of mask that nobody asked about before (each question traps
 * in a VM). */
static void probe_features(struct xstate_cpu *ret_cpu, uint64_t mask)
{
	memset(ret_cpu, 0, sizeof(*ret_cpu));
	pthread_mutex_lock(&known_lock);
	for (unsigned int i = 2; i < 64; i++) {
		unsigned int size, offset, ecx, edx;
		uint64_t bit = 1ull << i;

		if (!(mask & bit))
			continue;
		if (!(known_mask & bit) && __get_cpuid_count(0xd, i, &size, &offset, &ecx, &edx)) {
			known_cpu.size[i] = size;
			known_cpu.offset[i] = offset;
		}
		known_mask |= bit;
		ret_cpu->size[i] = known_cpu.size[i];
		ret_cpu->offset[i] = known_cpu.offset[i];
	}
	pthread_mutex_unlock(&known_lock);
}

void xstate_cpu_probe(struct xstate_cpu *ret_cpu)
{
	probe_features(ret_cpu, ~0ull);
}

/* End of the highest feature in mask, in the standard (non-compacted) format: CPUID leaf 0xd,
 * sub-leaf i gives feature i's size (eax) and offset (ebx). Features 0 and 1 live in the legacy
 * area, which with the header ends at SIGFRAME_XSTATE_MIN. */
static size_t standard_size(const struct xstate_cpu *cpu, uint64_t mask)
{
	size_t end = SIGFRAME_XSTATE_MIN;

	for (unsigned int i = 2; i < 64; i++) {
		if (!(mask & (1ull << i)) || !cpu->size[i])
			continue;
		if ((size_t)cpu->offset[i] + cpu->size[i] > end)
			end = (size_t)cpu->offset[i] + cpu->size[i];
	}
	return end;
}

int xstate_frame_layout_for(const struct xstate_cpu *cpu, const void *xstate, size_t xstate_len,
			    struct xstate_frame_layout *ret_layout)
{
	uint64_t saved_xcr0 = sigframe_xstate_xfeatures(xstate, xstate_len);
	uint64_t in_use = 0, permitted = 0, supported = 0;

	if (xstate_len >= XSAVE_HEADER_OFFSET + sizeof(in_use))
		memcpy(&in_use, (const uint8_t *)xstate + XSAVE_HEADER_OFFSET, sizeof(in_use));
	/* Linux 5.16+ has per-process permissions; older kernels enable every XCR0 feature. */
	if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &permitted) < 0) {
		ret_layout->features = saved_xcr0;
		ret_layout->len = xstate_len;
		return 0;
	}
	(void)syscall(SYS_arch_prctl, ARCH_GET_XCOMP_SUPP, &supported);
	for (unsigned int i = 63; in_use & supported & ~permitted; i--) {
		uint64_t bit = 1ull << i;

		if (!(in_use & supported & ~permitted & bit))
			continue;
		/* asking for the highest dynamic feature grants the ones it depends on too */
		if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, (unsigned long)i) < 0)
			return pr_errno("cannot enable xstate feature %u the dumped registers use", i);
		if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &permitted) < 0)
			return pr_errno("cannot read the permitted xstate features");
	}
	ret_layout->features = saved_xcr0 & permitted;
	ret_layout->len = standard_size(cpu, ret_layout->features);
	if (ret_layout->len > xstate_len)
		ret_layout->len = xstate_len;
	return 0;
}

void xstate_frame_layout_of_task(const void *xstate, size_t xstate_len,
				 struct xstate_frame_layout *ret_layout)
{
	uint64_t xcr0 = sigframe_xstate_xfeatures(xstate, xstate_len), in_use = 0;
	struct xstate_cpu cpu;

	if (xstate_len >= XSAVE_HEADER_OFFSET + sizeof(in_use))
		memcpy(&in_use, (const uint8_t *)xstate + XSAVE_HEADER_OFFSET, sizeof(in_use));
	ret_layout->features = xcr0 & ~(XFEATURES_DYNAMIC & ~in_use);
	probe_features(&cpu, ret_layout->features);
	ret_layout->len = standard_size(&cpu, ret_layout->features);
	if (ret_layout->len > xstate_len)
		ret_layout->len = xstate_len;
}
