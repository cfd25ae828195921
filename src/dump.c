/* dump.c: the dump sequence. */
#define LOG_PREFIX "dump: "
#include "dump.h"

#include <errno.h>

#include "cli.h"
#include "log.h"

int dump_run(const struct cli_options *opts)
{
	(void)opts;
	pr_err("dump is not implemented yet (issue #3)");
	return -ENOSYS;
}
