/* dump-cgroup.h: the cgroups every task of a seized tree is in, read from /proc/PID/cgroup for
 * pstree.img. Refuses what restore does not rebuild: a thread in other cgroups than its process
 * (v1 tasks files, v2 threaded cgroups), a cgroup outside minicr's cgroup namespace. */
#pragma once

#include <stddef.h>

#include "cgroup.pb-c.h"

struct dump_cgroups;
struct seize_tree;

/* Reads the cgroups of every process of tree and checks each thread's against them. Returns 0
 * and sets *ret, or -errno after one log line (-ENOTSUP: a state restore does not rebuild). */
int dump_cgroups_collect(const struct seize_tree *tree, struct dump_cgroups **ret);

/* The records of tree->tasks[i], owned by cg; returns their number. */
size_t dump_cgroups_of(const struct dump_cgroups *cg, size_t i, CgroupMemberEntry ***ret_entries);

struct dump_cgroups *dump_cgroups_free(struct dump_cgroups *cg); /* NULL-safe, returns NULL */
