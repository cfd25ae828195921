/* inject.h: run single system calls inside a seized, stopped thread so that minicr's death at any
 * instant leaves the thread as it was. The thread runs each call through code it already has (a
 * `syscall; ret` sequence and its C library's rt_sigreturn sequence, found in its executable
 * mappings), with its stack pointer on a signal frame of its own saved state, built in the dead
 * part of its stack below the red zone. minicr takes the thread back after the call (a syscall
 * stop, then PTRACE_INTERRUPT); if minicr is gone, the `ret` leads into the frame and
 * rt_sigreturn puts back the registers, xstate and signal mask. No byte of the task's code is
 * written. The thread must be seized (with PTRACE_O_TRACESYSGOOD, as seize.h does) and stopped;
 * this module never seizes or
 * detaches. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct inject;
struct user_regs_struct;

/* After the call the thread returns through its saved-state frame (the default continuation). */
#define INJECT_CONT_SIGRETURN 0

/* Saves the state of thread tid (registers, xstate, signal mask), finds the two code sequences in
 * its mappings and reserves, below its red zone, room for the frame, a scratch buffer and, with
 * area_len > 0, a page-aligned area of area_len bytes for the caller (inject_area()), at least
 * a signal frame's size below the rest. Refuses a thread whose stack pointer is not in a stack
 * mapping ([stack], or a mapping with a guard page below it), or whose stack has no room below
 * the red zone. Changes nothing in the task. Returns 0 or -errno (logged). */
int inject_prepare(pid_t tid, size_t area_len, struct inject **ret_inj);

/* Runs syscall nr with args (NULL: all zero) in the thread and stops it again. After the call the
 * thread's registers point at the continuation cont: INJECT_CONT_SIGRETURN, or an address the
 * `ret` jumps to (the caller's code in the area, which must then cure the task by itself).
 * *ret_value gets the raw result (-errno if the call failed in the task). Returns 0 if the call
 * ran, else -errno (logged). Signals stay blocked in the thread until inject_cure(). */
int inject_syscall(struct inject *inj, long nr, const unsigned long args[6], uint64_t cont,
		   long *ret_value);

/* The most threads inject_cures() takes at once. */
#define INJECT_BATCH_MAX 16

/* One call of inject_syscalls(): the caller fills inj, nr, args and cont, and gets the result. */
struct inject_call {
	struct inject *inj;
	long nr;
	unsigned long args[6];
	uint64_t cont;
	long value; /* the raw result, when ret is 0 */
	int ret;    /* 0 if the call ran, else -errno (logged) */
};

/* inject_syscall() for n calls in n different threads at once: each step is taken in every
 * thread before minicr waits for the first to reach the next, so the threads run their calls
 * side by side. A thread's failure leaves the others' calls to finish. A call whose inj is
 * NULL is skipped (ret 0). */
void inject_syscalls(struct inject_call *calls, size_t n);

/* Like inject_syscall() with INJECT_CONT_SIGRETURN, for calls that read or write memory: every
 * args[i] equal to INJECT_SCRATCH is replaced by the address of a scratch buffer of len bytes (at
 * most INJECT_SCRATCH_MAX), which holds buf before the call and is copied back into buf after it,
 * e.g. sigaltstack(NULL, SCRATCH) or prctl(PR_GET_TID_ADDRESS, SCRATCH). */
#define INJECT_SCRATCH	   ((unsigned long)-4096)
#define INJECT_SCRATCH_MAX 1024
int inject_syscall_buf(struct inject *inj, long nr, const unsigned long args[6], void *buf,
		       size_t len, long *ret_value);

/* The caller's area (inject_prepare()'s area_len), its protection before anything changed it
 * (PROT_*), and the frame address and `syscall; ret` address code in the area needs to return
 * to the task by itself (see parasite-abi.h). */
uint64_t inject_area(const struct inject *inj);
uint32_t inject_area_prot(const struct inject *inj);
uint64_t inject_frame_addr(const struct inject *inj);
uint64_t inject_syscall_ret_addr(const struct inject *inj);

/* Reads or writes task memory (through /proc/TID/mem). Return 0 or -errno (logged). */
int inject_read(struct inject *inj, uint64_t addr, void *buf, size_t len);
int inject_write(struct inject *inj, uint64_t addr, const void *buf, size_t len);

/* Lets the thread run code at rip with the stack at rsp, signals blocked. Returns 0 or -errno
 * (logged). While it runs, inject_check_running() watches it and inject_interrupt() stops it. */
int inject_run(struct inject *inj, uint64_t rip, uint64_t rsp);

/* Without blocking: 0 while the thread runs the code; 1 if it stopped on a signal of its own
 * (*ret_sig: a crash, or the code's way to report; not logged, the thread is left stopped and
 * the signal is never delivered); -errno (logged) if it died. Job-control stops are let
 * through. */
int inject_check_running(struct inject *inj, int *ret_sig);

/* Stops a thread started by inject_run() (PTRACE_INTERRUPT). Returns 0 or -errno (logged).
 * inject_interrupts() stops n threads at once, each result in rets[i] (NULL ones skipped:
 * rets[i] = 0). */
int inject_interrupt(struct inject *inj);
void inject_interrupts(struct inject *const *injs, size_t n, int *rets);

/* The registers, xstate (NT_X86_XSTATE layout, *ret_len bytes) and signal mask the thread had
 * before anything ran in it. The registers still carry a pending syscall restart (orig_rax,
 * rax = -ERESTART*): inject_cure() puts them back as they are and the kernel restarts the call.
 * Valid until inject_free(). */
const struct user_regs_struct *inject_saved_regs(const struct inject *inj);
const void *inject_saved_xstate(const struct inject *inj, size_t *ret_len);
uint64_t inject_saved_sigmask(const struct inject *inj);

/* Puts back xstate, signal mask and registers (in that order: until the registers are back, the
 * thread would still return through its frame) and then the stack bytes the frame, scratch and
 * area took. The caller must first have undone what its own code changed (e.g. the area's
 * protection). The thread stays seized and stopped. Idempotent; returns 0 or the first -errno
 * (logged). */
int inject_cure(struct inject *inj);
/* inject_cure() of n threads (at most INJECT_BATCH_MAX) at once, each result in rets[i] (NULL
 * ones skipped: rets[i] = 0). */
void inject_cures(struct inject *const *injs, size_t n, int *rets);

/* Cures if needed, then frees. NULL-safe, returns NULL. */
struct inject *inject_free(struct inject *inj);
void inject_freep(struct inject **inj);
