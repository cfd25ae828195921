/* dump.h: the dump sequence: seize → collect → infect → write images → cure → kill/release. */
#pragma once

struct cli_options;

/* Dumps the tree opts->tree_pid into opts->images_dir. Returns 0 or -errno (logged). On failure
 * the tree is left running as it was. */
int dump_run(const struct cli_options *opts);
