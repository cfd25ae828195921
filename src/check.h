/* check.h: `minicr check`: report the kernel features minicr relies on. */
#pragma once

#include <stdbool.h>

/* Probes and prints every feature. Returns an exit status: CLI_EXIT_OK when dump and restore
 * can run here, CLI_EXIT_UNSUPPORTED otherwise. */
int check_run(bool json);
