/* restore.c: the restore sequence. */
#define LOG_PREFIX "restore: "
#include "restore.h"

#include "cli.h"
#include "log.h"

int restore_run(const struct cli_options *opts)
{
	(void)opts;
	pr_err("restore is not implemented yet (issue #4)");
	return CLI_EXIT_FAILED;
}
