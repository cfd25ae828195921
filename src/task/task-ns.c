/* task-ns.c: see task-ns.h. */
#define LOG_PREFIX "dump: "
#include "task/task-ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"

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

#define N_KINDS (sizeof(namespaces) / sizeof(namespaces[0]))

/* minicr's own namespaces, read once: a dump asks about every task of the tree. */
struct own_ns {
	bool is_read;
	bool exists[N_KINDS]; /* false: a kernel without this namespace kind */
	struct stat st[N_KINDS];
};

static const struct own_ns *own_namespaces(void)
{
	static struct own_ns own;
	char path[64];

	if (own.is_read)
		return &own;
	for (size_t i = 0; i < N_KINDS; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i].name);
		own.exists[i] = stat(path, &own.st[i]) == 0;
	}
	own.is_read = true;
	return &own;
}

int task_ns_check(pid_t pid)
{
	const struct own_ns *own = own_namespaces();
	cleanup_close int dirfd = -EBADF;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns", (int)pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return pr_errno("cannot open '%s'", path);
	for (size_t i = 0; i < N_KINDS; i++) {
		struct stat its;

		if (!own->exists[i])
			continue;
		if (fstatat(dirfd, namespaces[i].name, &its, 0) < 0) {
			/* a namespace for the children that has no process yet cannot be opened */
			if (errno == ENOENT && strstr(namespaces[i].name, "_for_children")) {
				pr_err("cannot dump task %d: it made %s that no process is in yet, "
				       "which minicr does not restore",
				       (int)pid, namespaces[i].what);
				return -ENOTSUP;
			}
			return pr_errno("cannot read /proc/%d/ns/%s", (int)pid, namespaces[i].name);
		}
		if (its.st_ino != own->st[i].st_ino || its.st_dev != own->st[i].st_dev) {
			pr_err("cannot dump task %d: it is in %s of its own (%s:[%lu], minicr's "
			       "%lu), which minicr does not restore",
			       (int)pid, namespaces[i].what, namespaces[i].name,
			       (unsigned long)its.st_ino, (unsigned long)own->st[i].st_ino);
			return -ENOTSUP;
		}
	}
	return 0;
}
