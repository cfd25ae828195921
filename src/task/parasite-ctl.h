/* parasite-ctl.h: run code inside one seized task: inject single syscalls, load the parasite blob
 * and talk to it over a unix socket (fd drain, task state), then cure the task so that nothing
 * of minicr remains in it (mapping, fd, code bytes, registers, xstate, signal mask). The task
 * must already be seized and stopped (seize.h); this module never seizes or detaches. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parasite/parasite-abi.h"

struct parasite_ctl;
struct user_regs_struct;

/* Saves the state of thread pid (a seized, stopped thread; the main thread if the parasite is
 * to run there): registers, xstate, signal mask, the first bytes of an executable VMA. Changes
 * nothing in the task yet. Returns 0 or -errno (logged). Free with parasite_ctl_free(), which also
 * cures. */
int parasite_ctl_prepare(pid_t pid, struct parasite_ctl **ret_ctl);

/* Runs one syscall in the task (not while the parasite runs): writes `syscall; int3` at the
 * executable area, runs it with orig_rax = -1 so syscall restart cannot interfere, then puts
 * the code bytes and registers back. args may be NULL (all zero). *ret_value gets the raw
 * result (-errno on failure of the remote call). Returns 0 if the syscall ran, else -errno
 * (logged). */
int parasite_ctl_syscall(struct parasite_ctl *ctl, long nr, const unsigned long args[6],
			 long *ret_value);

/* Like parasite_ctl_syscall(), for calls that read or write memory: every args[i] equal to
 * PARASITE_CTL_SCRATCH is replaced by the address of a scratch buffer of len bytes (at most
 * PARASITE_CTL_SCRATCH_MAX) below the thread's red zone, which holds buf before the call and is
 * copied back into buf after it; the old stack bytes there are put back. Works on any seized
 * thread (prepare a ctl for that tid), e.g. sigaltstack(NULL, SCRATCH) or
 * prctl(PR_GET_TID_ADDRESS, SCRATCH) for per-thread state. Returns as parasite_ctl_syscall(). */
#define PARASITE_CTL_SCRATCH	 ((unsigned long)-4096)
#define PARASITE_CTL_SCRATCH_MAX 1024
int parasite_ctl_syscall_buf(struct parasite_ctl *ctl, long nr, const unsigned long args[6],
			     void *buf, size_t len, long *ret_value);

/* Maps and starts the parasite and waits for it to connect. The control socket is a unix
 * SOCK_SEQPACKET socket with an abstract name, created (socket+bind+listen) after a setns() into
 * the task's network namespace and back, because abstract names are per net ns; only a peer
 * whose SO_PEERCRED pid is the task's is accepted. Returns 0 or -errno (logged); on
 * failure the task is cured (the ctl stays usable for parasite_ctl_free()). */
int parasite_ctl_infect(struct parasite_ctl *ctl);

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

/* Lists the task's open fds below table_size (its fd table size, FDSize in /proc/PID/status)
 * from inside, without the parasite's own socket; O_PATH fds only with find_path_fds, which
 * costs a syscall per closed number. *ret_fds is malloc'ed, ascending, set only on success.
 * Returns the count or -errno (logged). */
int parasite_ctl_list_fds(struct parasite_ctl *ctl, int table_size, bool find_path_fds,
			  int **ret_fds);

/* Receives dups of the task's fds (any number; batches of PARASITE_MAX_FDS). On success
 * ret_local_fds[i] is an O_CLOEXEC fd of minicr on the same open file as the task's fds[i]
 * (owned by the caller) and ret_opts[i] (if not NULL) its per-fd options. Returns 0 or -errno
 * (logged; -EBADF names the fd that is not open). On failure no fd is left open. */
int parasite_ctl_drain_fds(struct parasite_ctl *ctl, const int *fds, size_t n_fds,
			   int *ret_local_fds, struct parasite_fd_opts *ret_opts);

/* Reads signal handlers, altstack, tid address, umask, personality and prctl state of the task
 * (main thread). Returns 0 or -errno (logged). */
int parasite_ctl_get_task_state(struct parasite_ctl *ctl, struct parasite_task_state *ret_state);

/* Stops the parasite (FINI; if it does not answer: interrupt it and close its socket by syscall
 * injection), unmaps it, and restores code bytes, registers, xstate and signal mask. The task
 * stays seized and stopped. Always does as much of that as it can; returns 0 or the first
 * -errno (logged). Idempotent. */
int parasite_ctl_cure(struct parasite_ctl *ctl);

/* Cures if needed, then frees. NULL-safe, returns NULL. */
struct parasite_ctl *parasite_ctl_free(struct parasite_ctl *ctl);
void parasite_ctl_freep(struct parasite_ctl **ctl);
