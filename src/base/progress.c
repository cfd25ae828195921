/* progress.c: a carriage-return line on the log's terminal. */
#include "base/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define PROGRESS_AFTER_NS  1000000000ULL /* quiet for the first second */
#define PROGRESS_EVERY_NS  100000000ULL

void progress_start(struct progress *p, const char *what, const char *unit, uint64_t total,
		    uint64_t scale)
{
	*p = (struct progress){.what = what, .unit = unit, .total = total, .scale = scale ? scale : 1};
	/* a log file or a pipe gets no progress: only a person watching a terminal does */
	p->is_tty = log_get_level() >= LOG_ERROR && isatty(log_get_fd()) == 1;
	if (p->is_tty) {
		/* tests ask for the line at once instead of after a second */
		const char *after = getenv("MINICR_PROGRESS_AFTER_MS");

		p->start_ns = monotonic_ns();
		p->next_ns = p->start_ns + (after ? strtoull(after, NULL, 10) * 1000000ULL
						  : PROGRESS_AFTER_NS);
	}
}

void progress_add(struct progress *p, uint64_t n)
{
	uint64_t now;
	char line[128];
	int len;

	p->done += n;
	if (!p->is_tty || (now = monotonic_ns()) < p->next_ns)
		return;
	p->next_ns = now + PROGRESS_EVERY_NS;
	len = snprintf(line, sizeof(line), "\rminicr: %s: %llu/%llu %s (%llu%%)\033[K", p->what,
		       (unsigned long long)(p->done / p->scale),
		       (unsigned long long)(p->total / p->scale), p->unit,
		       (unsigned long long)(p->total ? p->done * 100 / p->total : 100));
	if (len > 0)
		(void)!write(log_get_fd(), line, (size_t)len < sizeof(line) ? (size_t)len
								   : sizeof(line) - 1);
	p->shown = true;
}

void progress_end(struct progress *p)
{
	if (p->shown)
		(void)!write(log_get_fd(), "\r\033[K", 4);
	p->shown = false;
}
