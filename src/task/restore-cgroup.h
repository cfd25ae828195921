/* restore-cgroup.h: puts every restored task back into the cgroups pstree.img records, by
 * writing its pid to the cgroup.procs file of each cgroup, found below the mount of its
 * hierarchy in minicr's mount namespace. Creates no cgroup and changes no property of one. */
#pragma once

#include <stddef.h>

struct image_set;
struct restore_cgroups;

/* Finds every recorded cgroup a task would not be in already as minicr's child (minicr's own
 * cgroup of that hierarchy is another one) and opens its cgroup.procs; changes nothing. A
 * hierarchy not mounted in minicr's mount namespace, or a cgroup that does not exist here, is
 * refused with one line naming the task, the hierarchy and the path. Returns 0 and sets *ret,
 * or -errno (logged). */
int restore_cgroups_prepare(const struct image_set *set, struct restore_cgroups **ret);

/* Moves each task into its recorded cgroups (the whole process: its threads are created later
 * and inherit them). Call once every task exists and before any runs the tree's own code.
 * Returns 0 or -errno (logged). */
int restore_cgroups_move(const struct restore_cgroups *rc);

/* How many cgroups the tasks are moved into, and how many moves that is, for --explain. */
size_t restore_cgroups_n_targets(const struct restore_cgroups *rc);
size_t restore_cgroups_n_moves(const struct restore_cgroups *rc);

struct restore_cgroups *restore_cgroups_free(struct restore_cgroups *rc); /* NULL-safe */
void restore_cgroups_freep(struct restore_cgroups **rc);
