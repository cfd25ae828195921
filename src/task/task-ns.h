/* task-ns.h: the namespaces a dumped task must share with minicr. minicr rebuilds mount
 * namespaces only; a task in its own network, pid, user, UTS, IPC, cgroup or time namespace
 * (or one that set up such a namespace for its future children) would come back in minicr's,
 * so the dump refuses it. */
#pragma once

#include <sys/types.h>

/* Returns 0 when task pid shares every such namespace with minicr, else -ENOTSUP after one
 * line naming the task and the namespace; -errno (logged) when /proc cannot tell. */
int task_ns_check(pid_t pid);
