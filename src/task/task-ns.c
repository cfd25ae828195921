/* task-ns.c: see task-ns.h. */
#define LOG_PREFIX "dump: "
#include "task/task-ns.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"

static const struct {
	const char *name; /* the file in /proc/PID/ns */
	const char *what; /* for the refusal, with its article */
} namespaces[] = {
    {"net", "a network namespace"},
    {"pid", "a pid namespace"},
    {"pid_for_children", "a pid namespace for its children"},
    {"user", "a user namespace"},
    {"uts", "a UTS namespace"},
    {"ipc", "an IPC namespace"},
    {"cgroup", "a cgroup namespace"},
    {"time", "a time namespace"},
    {"time_for_children", "a time namespace for its children"},
};

int task_ns_check(pid_t pid)
{
	char path[64];

	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		struct stat own, its;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i].name);
		if (stat(path, &own) < 0)
			continue; /* a kernel without this namespace kind */
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, namespaces[i].name);
		if (stat(path, &its) < 0) {
			/* a namespace for the children that has no process yet cannot be opened */
			if (errno == ENOENT && strstr(namespaces[i].name, "_for_children")) {
				pr_err("cannot dump task %d: it made %s that no process is in yet, "
				       "which minicr does not restore",
				       (int)pid, namespaces[i].what);
				return -ENOTSUP;
			}
			return pr_errno("cannot read /proc/%d/ns/%s", (int)pid, namespaces[i].name);
		}
		if (its.st_ino != own.st_ino || its.st_dev != own.st_dev) {
			pr_err("cannot dump task %d: it is in %s of its own (%s:[%lu], minicr's "
			       "%lu), which minicr does not restore",
			       (int)pid, namespaces[i].what, namespaces[i].name,
			       (unsigned long)its.st_ino, (unsigned long)own.st_ino);
			return -ENOTSUP;
		}
	}
	return 0;
}
