/* check.c: `minicr check`. */
#include "check.h"

#include "cli.h"
#include "log.h"

int check_run(bool json)
{
	(void)json;
	pr_err("check is not implemented yet");
	return CLI_EXIT_FAILED;
}
