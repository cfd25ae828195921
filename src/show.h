/* show.h: `minicr show`: decode an images directory or one image file to text or JSON. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Prints every image under path (a directory) or the one image file. Returns 0 or -errno
 * (logged once, naming the file and record). */
int show_run(const char *path, bool json);
/* The same, written to out. */
int show_print(const char *path, bool json, FILE *out);
