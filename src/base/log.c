/* log.c: the one place that formats log lines. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/escape.h"

static enum log_level current_level = LOG_WARN;
static int log_fd = -1;
static _Thread_local bool thread_is_muted;

void log_init(enum log_level level, int fd)
{
	current_level = level;
	log_fd = fd;
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

void log_print(enum log_level level, const char *file, int line, int errnum, const char *fmt, ...)
{
	char buf[4096];
	size_t len = 0;
	va_list ap;
	int saved_errno = errno;

	if (level > current_level || thread_is_muted)
		return;

	/* Build the whole line first so one write() keeps lines from interleaving. */
	if (level != LOG_INFO)
		len += (size_t)snprintf(buf, sizeof(buf), "minicr: %s: ", level_names[level]);
	else
		len += (size_t)snprintf(buf, sizeof(buf), "minicr: ");
	if (len < sizeof(buf)) {
		char msg[2048];
		int n;

		va_start(ap, fmt);
		n = vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		/* names in the message come from targets and images: one line, unambiguous */
		if (n > 0) {
			size_t room = sizeof(buf) - len;
			size_t need = escape_bytes(buf + len, room, msg,
						   (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);

			len += need < room ? need : strlen(buf + len);
		}
	}
	if (errnum && len < sizeof(buf))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, ": %s", strerror(errnum));
	if (file && (level == LOG_ERROR || level == LOG_WARN || current_level >= LOG_DEBUG) &&
	    len < sizeof(buf)) {
		const char *base = strrchr(file, '/');
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " (%s:%d)",
					base ? base + 1 : file, line);
	}
	if (len >= sizeof(buf) - 1)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	(void)!write(log_get_fd(), buf, len);
	errno = saved_errno;
}
