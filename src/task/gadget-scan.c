/* gadget-scan.c: the sequences injected syscalls run through, found in a byte buffer (pure). */
#include "task/gadget-scan.h"

#include <string.h>

struct pattern {
	enum gadget_kind kind;
	uint8_t len;
	uint8_t bytes[GADGET_MAX_LEN];
};

/* Each sequence ends in a return that reads only the stack slot minicr prepared, or in
 * rt_sigreturn, and writes no memory: whatever the syscall's result, the thread then continues
 * where minicr decided. The bytes are matched wherever they occur, also inside longer
 * instructions: the CPU decodes from the address it jumps to. */
static const struct pattern patterns[] = {
    /* syscall; ret (glibc, musl) */
    {GADGET_SYSCALL_RET, 3, {0x0f, 0x05, 0xc3}},
    /* syscall; xor edx,edx; xor ecx,ecx; xor esi,esi; xor edi,edi; xor r11d,r11d; ret (the
     * vDSO's getrandom fallback on Linux 6.11+) */
    {GADGET_SYSCALL_RET,
     14,
     {0x0f, 0x05, 0x31, 0xd2, 0x31, 0xc9, 0x31, 0xf6, 0x31, 0xff, 0x45, 0x31, 0xdb, 0xc3}},
    /* mov $15, %rax; syscall (glibc's and musl's __restore_rt, Go's sigreturn) */
    {GADGET_SIGRETURN, 9, {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05}},
    /* mov $15, %eax; syscall */
    {GADGET_SIGRETURN, 7, {0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05}},
};

int gadget_scan(const uint8_t *buf, size_t len, uint64_t base, uint64_t found[GADGET_KINDS])
{
	int missing = 0;

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		const struct pattern *p = &patterns[i];
		const uint8_t *hit;

		if (found[p->kind])
			continue;
		hit = memmem(buf, len, p->bytes, p->len);
		if (hit)
			found[p->kind] = base + (uint64_t)(hit - buf);
	}
	for (int k = 0; k < GADGET_KINDS; k++)
		missing += found[k] == 0;
	return missing;
}

int gadget_is_valid(enum gadget_kind kind, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		const struct pattern *p = &patterns[i];

		if (p->kind == kind && len >= p->len && memcmp(buf, p->bytes, p->len) == 0)
			return 1;
	}
	return 0;
}

const char *gadget_kind_name(enum gadget_kind kind)
{
	switch (kind) {
	case GADGET_SYSCALL_RET:
		return "syscall-ret";
	case GADGET_SIGRETURN:
		return "sigreturn";
	default:
		return "?";
	}
}
