/* log.c: the one place that formats log lines. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/escape.h"

static enum log_level current_level = LOG_WARN;
static int log_fd = -1;
static _Thread_local bool thread_is_muted;
static bool is_quiet;	    /* -v0: not even errors */
static bool has_timestamps; /* -v3 and up, as CRIU does */
static struct timespec log_start;

void log_init(enum log_level level, int fd)
{
	current_level = level;
	log_fd = fd;
}

void log_init_verbosity(int verbosity, int fd)
{
	is_quiet = verbosity <= 0;
	has_timestamps = verbosity >= 3;
	if (has_timestamps)
		clock_gettime(CLOCK_MONOTONIC, &log_start);
	log_init(verbosity <= 1	  ? LOG_ERROR
		 : verbosity >= 4 ? LOG_DEBUG
				  : (enum log_level)(verbosity - 1),
		 fd);
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_mute_thread(bool muted)
{
	thread_is_muted = muted;
}

int log_get_fd(void)
{
	return log_fd < 0 ? STDERR_FILENO : log_fd;
}

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug",
};

/* Formats and writes one line: "[(time) ]minicr: [tag: ]message[: strerror][ (file:line)]". The
 * message is escaped: names in it come from targets and images. */
static void emit(const char *tag, const char *file, int line, int errnum, const char *fmt,
		 va_list ap) __attribute__((format(printf, 5, 0)));
static void emit(const char *tag, const char *file, int line, int errnum, const char *fmt,
		 va_list ap)
{
	char buf[4096], msg[2048];
	size_t len = 0;
	int n;

	/* Build the whole line first so one write() keeps lines from interleaving. */
	if (has_timestamps) {
		struct timespec now;
		long long ns;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ns = (now.tv_sec - log_start.tv_sec) * 1000000000LL + now.tv_nsec -
		     log_start.tv_nsec;
		len += (size_t)snprintf(buf, sizeof(buf), "(%02lld.%06lld) ", ns / 1000000000LL,
					ns % 1000000000LL / 1000);
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "minicr: %s%s", tag ? tag : "",
				tag ? ": " : "");
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n > 0 && len < sizeof(buf)) {
		size_t room = sizeof(buf) - len;
		size_t need = escape_bytes(buf + len, room, msg,
					   (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);

		len += need < room ? need : strlen(buf + len);
	}
	if (errnum && len < sizeof(buf))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, ": %s", strerror(errnum));
	if (file && len < sizeof(buf)) {
		const char *base = strrchr(file, '/');

		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " (%s:%d)",
					base ? base + 1 : file, line);
	}
	if (len >= sizeof(buf) - 1)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	(void)!write(log_get_fd(), buf, len);
}

void log_print(enum log_level level, const char *file, int line, int errnum, const char *fmt, ...)
{
	va_list ap;
	int saved_errno = errno;

	if (level > current_level || thread_is_muted || is_quiet)
		return;
	if (!(level == LOG_ERROR || level == LOG_WARN || current_level >= LOG_DEBUG))
		file = NULL;
	va_start(ap, fmt);
	emit(level == LOG_INFO ? NULL : level_names[level], file, line, errnum, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

bool log_explaining;

void log_explain_enable(bool on)
{
	log_explaining = on;
}

static void explain_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void explain_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("explain", NULL, 0, 0, fmt, ap);
	va_end(ap);
}

void log_explain(uint64_t start_ns, const char *how, const char *fmt, ...)
{
	struct timespec now;
	char msg[2048];
	va_list ap;
	int saved_errno = errno;

	if (thread_is_muted)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_MONOTONIC, &now);
	explain_line(
	    "%s (%s%s%.2f ms)", msg, how ? how : "", how ? ", " : "",
	    (double)((uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec - start_ns) /
		1e6);
	errno = saved_errno;
}
