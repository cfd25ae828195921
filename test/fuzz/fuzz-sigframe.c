/* libFuzzer target for sigframe.c fed as resume feeds it from a core image: input = xfeatures
 * (8 bytes), signal mask (8), altstack flags (4), then struct user_regs_struct (216 bytes), then
 * the thread's xstate bytes as the image holds them. The frame is built into a buffer of exactly
 * sigframe_size() bytes, so ASan sees any write past it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>

#include "task/sigframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD (8 + 8 + 4 + sizeof(struct user_regs_struct))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigframe_altstack ss = {0x7000000, 8192, 0};
	struct user_regs_struct regs;
	uint64_t xfeatures, sigmask, rsp;
	size_t xstate_len, frame_len;
	void *frame;

	if (size < HEAD || size > HEAD + SIGFRAME_XSTATE_MAX + 4096)
		return 0;
	memcpy(&xfeatures, data, 8);
	memcpy(&sigmask, data + 8, 8);
	memcpy(&ss.flags, data + 16, 4);
	memcpy(&regs, data + 20, sizeof(regs));
	xstate_len = size - HEAD;
	(void)sigframe_xstate_xfeatures(data + HEAD, xstate_len);
	frame_len = sigframe_size(xstate_len);
	if (!frame_len)
		return 0;
	frame = aligned_alloc(64, (frame_len + 63) & ~(size_t)63);
	if (!frame)
		return 0;
	if (sigframe_build(frame, 0x7ffff0000000ull, &regs, data + HEAD, xstate_len, xfeatures,
			   sigmask, &ss, &rsp) == 0 &&
	    rsp != 0x7ffff0000000ull + 8)
		abort();
	free(frame);
	return 0;
}
