/* parasite-ctl.h: load the parasite blob into one seized process, start it, and take the process
 * back so that nothing of minicr remains in it (mapping protection, fd, stack bytes, registers,
 * xstate, signal mask). The blob lives in the dead part of the main thread's stack, made
 * executable for the time of the dump; it is reached and left through inject.h, and cures the
 * process itself if minicr dies (its control socket closes). The process must already be seized
 * and stopped (seize.h); this module never seizes or detaches. Commands: parasite-cmd.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct parasite_ctl;
struct parasite_rpc;
struct user_regs_struct;

/* Saves the state of process pid's main thread and reserves room on its stack (inject.h).
 * Changes nothing in the task yet. Returns 0 or -errno (logged). Free with parasite_ctl_free(),
 * which also cures. */
int parasite_ctl_prepare(pid_t pid, struct parasite_ctl **ret_ctl);

/* Writes the blob, makes its area executable, starts it and waits for it to connect. Returns 0
 * or -errno (logged); on failure the task is cured (the ctl stays usable for
 * parasite_ctl_free()). */
int parasite_ctl_infect(struct parasite_ctl *ctl);

/* The most tasks parasite_ctl_infect_many() and parasite_ctl_cure_many() take at once. */
#define PARASITE_CTL_BATCH_MAX 16

/* parasite_ctl_infect() of n tasks at once (each step in every task before the next, so that
 * the tasks run side by side), each result in rets[i]. */
void parasite_ctl_infect_many(struct parasite_ctl *const *ctls, size_t n, int *rets);

/* The control socket while the parasite runs, else NULL. */
struct parasite_rpc *parasite_ctl_rpc(struct parasite_ctl *ctl);
pid_t parasite_ctl_pid(const struct parasite_ctl *ctl);

/* The main thread's registers, xstate (NT_X86_XSTATE layout, *ret_len bytes) and signal mask
 * as they were before minicr ran anything in the task: dump these, never what PTRACE_GETREGS
 * shows while the parasite runs. The registers still carry a pending syscall restart (orig_rax,
 * rax = -ERESTART*): cure puts them back as they are, and the kernel restarts the syscall; an
 * image needs the fix-up of reference/restorer.md §2 step 4. Valid until parasite_ctl_free(). */
const struct user_regs_struct *parasite_ctl_saved_regs(const struct parasite_ctl *ctl);
const void *parasite_ctl_saved_xstate(const struct parasite_ctl *ctl, size_t *ret_len);
uint64_t parasite_ctl_saved_sigmask(const struct parasite_ctl *ctl);

/* The parasite's own socket fd inside the task (leave it out of fd lists), or -1. */
int parasite_ctl_remote_sock_fd(const struct parasite_ctl *ctl);

/* Stops the parasite (PTRACE_INTERRUPT), closes its socket and makes its area non-executable
 * by syscalls injected into the task, then puts back registers, xstate, signal mask and stack
 * bytes. The task stays seized and stopped. Always does as much of that as it can; returns 0
 * or the first -errno (logged). Idempotent. */
int parasite_ctl_cure(struct parasite_ctl *ctl);

/* parasite_ctl_cure() of n tasks at once, each result in rets[i]. NULL ctls are skipped. */
void parasite_ctl_cure_many(struct parasite_ctl *const *ctls, size_t n, int *rets);

/* Cures if needed, then frees. NULL-safe, returns NULL. */
struct parasite_ctl *parasite_ctl_free(struct parasite_ctl *ctl);
void parasite_ctl_freep(struct parasite_ctl **ctl);
