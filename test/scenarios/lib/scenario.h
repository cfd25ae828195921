/* scenario.h: the contract between a scenario program and the driver (run.sh).
 *
 * A scenario builds one state, calls scenario_ready(), and blocks in scenario_wait() until the
 * driver sends SIGUSR1 — after minicr (or criu) has dumped it and, in the full mode, killed and
 * restored it. It then checks its own state and ends with scenario_pass() or scenario_fail().
 * The verdict goes to the file named by $SCENARIO_RESULT (opened only at the end, so it is never
 * one of the fds being dumped); readiness is a file named by $SCENARIO_READY. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Marks the state as built; the driver may dump from now on. */
void scenario_ready(void);

/* Waits for SIGUSR1 in sigsuspend (so the task is dumped while blocked in a syscall). */
void scenario_wait(void);

/* Writes "PASS" or "FAIL: <reason>" to $SCENARIO_RESULT and exits 0 or 1. */
__attribute__((noreturn)) void scenario_pass(void);
__attribute__((noreturn, format(printf, 1, 2))) void scenario_fail(const char *fmt, ...);

/* Exits 77 with a reason: the scenario cannot run here. Only before scenario_ready(). */
__attribute__((noreturn, format(printf, 1, 2))) void scenario_skip(const char *fmt, ...);

/* Helpers for checks: fail unless cond, naming what was expected. */
#define scenario_check(cond, ...)                                                                 \
	do {                                                                                      \
		if (!(cond))                                                                      \
			scenario_fail(__VA_ARGS__);                                               \
	} while (0)

/* Reads "pos:" and "flags:" (octal) of one of our own fds from /proc/self/fdinfo. */
int scenario_fdinfo(int fd, long long *ret_pos, unsigned int *ret_flags, int *ret_mnt_id);

/* Makes this process its own mount namespace with / rprivate (for scenarios that mount). */
void scenario_private_mounts(void);

/* The syscall number task tid (a process or a thread) is blocked in, from /proc/TID/syscall;
 * -1 when it is running or the file cannot be read. */
long scenario_blocked_syscall(int tid);

/* True when this process was restored since scenario_ready() (its start time changed), false
 * when it is the process that was started (baseline, or a dump that left it running). */
bool scenario_was_restored(void);

/* True when the mount id (32-bit, as in fdinfo) is listed in /proc/self/mountinfo. */
bool scenario_mount_is_listed(int mnt_id);

/* The mount id (32-bit, as in fdinfo) of one of our own fds; fails the scenario if unknown. */
int scenario_mnt_id(int fd);

/* readlink of /proc/self/fd/FD into buf ("" when it cannot be read); returns buf. */
const char *scenario_fd_path(int fd, char *buf, size_t size);
