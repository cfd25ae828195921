/* progress.h: one progress line for a long step ("minicr: pages written: 812/2048 MiB (39%)"),
 * shown on a terminal only, only once the step has run for a second, and erased at its end.
 * Not thread-safe: the caller's own loop reports. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct progress {
	const char *what; /* "pages written" */
	const char *unit; /* "MiB", "fds" */
	uint64_t total, done, scale; /* done and total are shown divided by scale */
	uint64_t start_ns, next_ns;
	bool is_tty, shown;
};

/* Starts counting toward total (in units of scale: 1 for items, 1 << 20 for MiB of bytes). */
void progress_start(struct progress *p, const char *what, const char *unit, uint64_t total,
		    uint64_t scale);
/* Adds n done; redraws the line at most ten times a second. */
void progress_add(struct progress *p, uint64_t n);
/* Erases the line if it was shown. */
void progress_end(struct progress *p);
