/* gadget-scan.h: find, in bytes of a task's executable memory, the two instruction sequences that
 * injected syscalls run through (inject.h): a `syscall` followed by a return that touches nothing
 * but the stack pointer, and a C library's signal return (`mov $15, %rax; syscall`). Pure: no
 * syscalls, no logging. */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum gadget_kind {
	GADGET_SYSCALL_RET, /* syscall; [clear scratch registers;] ret */
	GADGET_SIGRETURN,   /* rax = __NR_rt_sigreturn; syscall */
	GADGET_KINDS,
};

/* The longest sequence: a scan in chunks must overlap consecutive chunks by this many bytes. */
#define GADGET_MAX_LEN 16

/* Looks in buf (len bytes found at address base) for every kind whose found[kind] is still 0 and
 * sets it to the address of the first such sequence. Returns how many kinds are still missing. */
int gadget_scan(const uint8_t *buf, size_t len, uint64_t base, uint64_t found[GADGET_KINDS]);

/* True if the bytes at buf (len bytes) start with a sequence of that kind: a found address is
 * checked again against the task's memory right before it is used. */
int gadget_is_valid(enum gadget_kind kind, const uint8_t *buf, size_t len);

/* "syscall-ret", "sigreturn": for logs. */
const char *gadget_kind_name(enum gadget_kind kind);
