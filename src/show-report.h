/* show-report.h: `minicr show DIR --dot/--svg/--html`: the picture of an image set and a
 * self-contained HTML report of it (show-report.c). */
#pragma once

#include <stdbool.h>

struct show_report_opts {
	bool dot;	       /* print the DOT text on standard output */
	const char *svg_path;  /* write the picture as SVG (needs libgvc) */
	const char *html_path; /* write the HTML report */
	bool full;	       /* draw every fd of large tables */
};

/* Loads and checks the set in dir, then makes what o asks for. Returns 0 or -errno (logged). */
int show_report_run(const char *dir, const struct show_report_opts *o);
