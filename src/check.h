/* check.h: `minicr check`: report the kernel features minicr relies on. */
#pragma once

struct cli_options;

/* Probes and prints every feature, or with --feature only those named. Returns an exit status:
 * CLI_EXIT_OK when dump and restore can run here (every named feature is available),
 * CLI_EXIT_UNSUPPORTED otherwise, CLI_EXIT_USAGE for an unknown feature name. */
int check_run(const struct cli_options *opts);
