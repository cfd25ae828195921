/* log.h: leveled logging to stderr or a log file. Every failure is logged once, where its
 * errno is born; pr_errno() returns -errno so it can end a return statement. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

/* Sets the threshold and the output fd (not owned; -1 means stderr). */
void log_init(enum log_level level, int fd);
/* Sets the threshold from CRIU's verbosity scale, as -v0..-v4 give it: 0 prints nothing, 1
 * errors, 2 warnings too, 3 information too, each line with the seconds since this call, 4
 * debug too. Quiet and timestamps survive later log_init() calls, which change level and fd. */
void log_init_verbosity(int verbosity, int fd);
enum log_level log_get_level(void);
int log_get_fd(void);
/* Silences every log line of the calling thread (true) or lets them out again: for work that
 * is tried on the side and redone, with its failures logged, when it does not succeed. */
void log_mute_thread(bool muted);

void log_print(enum log_level level, const char *file, int line, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* --explain: dump and restore tell each step as one plain sentence with what it found, the
 * syscalls it used and the time it took ("explain: ..." lines in the log, whatever the level).
 * Off, a step costs one test of log_explaining. */
extern bool log_explaining;
void log_explain_enable(bool on);
/* Logs "explain: <sentence> (<how>, <ms since start_ns> ms)"; how may be NULL. */
void log_explain(uint64_t start_ns, const char *how, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define explain(start_ns, how, fmt, ...)                                                           \
	do {                                                                                       \
		if (log_explaining)                                                                \
			log_explain(start_ns, how, fmt, ##__VA_ARGS__);                            \
	} while (0)

#define pr_err(fmt, ...)   log_print(LOG_ERROR, __FILE__, __LINE__, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  log_print(LOG_WARN, __FILE__, __LINE__, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  log_print(LOG_INFO, NULL, 0, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_print(LOG_DEBUG, NULL, 0, 0, LOG_PREFIX fmt, ##__VA_ARGS__)

/* Logs fmt plus ": <strerror(errno)>" and evaluates to -errno (never 0: EIO if errno was 0). */
#define pr_errno(fmt, ...)                                                                        \
	({                                                                                        \
		int saved_errno__ = errno ? errno : EIO;                                          \
		log_print(LOG_ERROR, __FILE__, __LINE__, saved_errno__, LOG_PREFIX fmt,           \
			  ##__VA_ARGS__);                                                         \
		-saved_errno__;                                                                   \
	})

/* Like pr_errno() for an error already held as a negative errno value; evaluates to it. */
#define pr_neg(err, fmt, ...)                                                                     \
	({                                                                                        \
		int err__ = (err);                                                                \
		log_print(LOG_ERROR, __FILE__, __LINE__, -err__, LOG_PREFIX fmt, ##__VA_ARGS__); \
		err__;                                                                            \
	})
