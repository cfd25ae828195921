/* zdtm.h: the program side of CRIU's zdtm test protocol, for minicr's own scenarios, so the
 * driver that runs them (run.sh --zdtm) runs CRIU's test programs as well.
 *
 * The protocol: the program is started as PROGRAM --pidfile=F --outfile=O [--filename=X |
 * --dirname=D]. It daemonises: the started process returns (exit 0) only once the daemon has
 * built its state, after writing the daemon's pid to F. The daemon, in a session of its own,
 * waits for SIGTERM, then checks its state and writes a line ending in "PASS", or a line
 * "FAIL: <why>", to O. O appears whole (it is written as O.inprogress and renamed). */
#pragma once

#include <stdbool.h>

/* Parses the protocol's options (--opt=value or --opt value) and daemonises. Returns in the
 * daemon; the started process exits there, 0 once zdtm_ready() was called, 1 if the daemon
 * died first. Exits 2 on a bad command line. */
void zdtm_init(int argc, char **argv);

/* --filename and --dirname, or NULL when not given. */
const char *zdtm_filename(void);
const char *zdtm_dirname(void);

/* The state is built: the started process writes our pid to the pidfile and exits. */
void zdtm_ready(void);

/* Blocks in sigsuspend() until SIGTERM (so the daemon is dumped inside a syscall). */
void zdtm_wait(void);

/* Write the verdict line to the outfile and exit 0 (PASS) or 1 (FAIL). */
__attribute__((noreturn)) void zdtm_pass(void);
__attribute__((noreturn, format(printf, 1, 2))) void zdtm_fail(const char *fmt, ...);

#define zdtm_check(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			zdtm_fail(__VA_ARGS__);                                                    \
	} while (0)
