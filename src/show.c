/* show.c: `minicr show`. */
#define LOG_PREFIX "show: "
#include "show.h"

#include <errno.h>

#include "log.h"

int show_run(const char *path, bool json)
{
	(void)json;
	pr_err("cannot show '%s': not implemented yet", path);
	return -ENOSYS;
}
