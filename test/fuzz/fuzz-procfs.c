/* libFuzzer target for the /proc text readers: the same bytes as /proc/PID/stat, status, limits,
 * timers and cgroup text (procfs-parse.c, timers-parse.c, cgroup-parse.c), and CPU lists. Inputs are capped at 64 KiB and copied NUL-terminated, as the reader hands
 * them over. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/procfs-parse.h"
#include "task/cgroup-parse.h"
#include "task/timers-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procfs_status status;
	struct procfs_limits limits;
	struct procfs_stat stat;
	struct proc_timer *timers;
	struct cgroup_line *lines;
	uint8_t mask[16];
	char list[64];
	char *buf;
	int n;

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
	n = timers_parse((const char *)data, size, &timers);
	if (n > 0)
		free(timers);
	n = cgroup_parse(buf, &lines);
	if (n > 0) {
		/* what the dump and the image checks ask of each line */
		for (int i = 0; i < n; i++) {
			char name[160];

			(void)cgroup_controllers_invalid(lines[i].controllers);
			(void)cgroup_path_invalid(lines[i].path);
			(void)cgroup_hierarchy_name(name, sizeof(name), lines[i].controllers);
			(void)cgroup_same_hierarchy(lines[i].controllers, lines[0].controllers);
			(void)cgroup_mount_is("cgroup", lines[i].controllers, lines[0].controllers);
		}
		cgroup_lines_free(lines, (size_t)n);
	}
	free(buf);
	return 0;
}
