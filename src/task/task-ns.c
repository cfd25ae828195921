/* task-ns.c: see task-ns.h. */
#define LOG_PREFIX "dump: "
#include "task/task-ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* A namespace's identity, from its link "net:[4026531840]" (readlink costs less than the stat
 * of the namespace file: it makes no nsfs inode). 0 and errno set if it cannot be read. */
static unsigned long ns_ino(int dirfd, const char *name)
{
	char link[64], *open_bracket;
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
	unsigned long ino;

	if (n < 0)
		return 0;
	link[n] = 0;
	open_bracket = strchr(link, '[');
	if (!open_bracket || sscanf(open_bracket, "[%lu]", &ino) != 1 || ino == 0) {
		errno = EINVAL;
		return 0;
	}
	return ino;
}

/* minicr's own namespaces, read once: a dump asks about every task of the tree. */
struct own_ns {
	bool is_read;
	unsigned long ino[N_KINDS]; /* 0: a kernel without this namespace kind */
};

static const struct own_ns *own_namespaces(void)
{
	static struct own_ns own;
	int dirfd;

	if (own.is_read)
		return &own;
	dirfd = open("/proc/self/ns", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < N_KINDS; i++)
		own.ino[i] = dirfd >= 0 ? ns_ino(dirfd, namespaces[i].name) : 0;
	if (dirfd >= 0)
		close(dirfd);
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
		unsigned long its;

		if (!own->ino[i])
			continue;
		its = ns_ino(dirfd, namespaces[i].name);
		if (!its) {
			/* a namespace for the children that has no process yet cannot be read */
			if (errno == ENOENT && strstr(namespaces[i].name, "_for_children")) {
				pr_err("cannot dump task %d: it made %s that no process is in yet, "
				       "which minicr does not restore",
				       (int)pid, namespaces[i].what);
				return -ENOTSUP;
			}
			return pr_errno("cannot read /proc/%d/ns/%s", (int)pid, namespaces[i].name);
		}
		if (its != own->ino[i]) {
			pr_err("cannot dump task %d: it is in %s of its own (%s:[%lu], minicr's "
			       "%lu), which minicr does not restore",
			       (int)pid, namespaces[i].what, namespaces[i].name, its, own->ino[i]);
			return -ENOTSUP;
		}
	}
	return 0;
}
