/* libFuzzer target for procfs-parse.c: the same bytes as /proc/PID/stat, status and limits
 * text, and CPU lists. Inputs are capped at 64 KiB and copied NUL-terminated, as the reader hands
 * them over. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/procfs-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procfs_status status;
	struct procfs_limits limits;
	struct procfs_stat stat;
	uint8_t mask[16];
	char list[64];
	char *buf;

	if (size > 65536)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	(void)procfs_parse_stat(buf, &stat);
	(void)procfs_parse_status(buf, &status);
	if (procfs_parse_limits(buf, &limits) == 0 && limits.n > PROCFS_NLIMITS)
		abort();
	if (procfs_parse_cpulist(buf, mask, sizeof(mask)) == 0)
		(void)procfs_format_cpulist(mask, sizeof(mask), list, sizeof(list));
	free(buf);
	return 0;
}
