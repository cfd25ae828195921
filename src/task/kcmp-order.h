/* kcmp-order.h: kernel objects of seized tasks (fd tables, address spaces) compared with
 * kcmp(2), whose order lets a sort make equal objects neighbours: n log n comparisons find every
 * pair of tasks that share one, where comparing each pair would cost n^2. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct seize_tree;

/* kcmp's order of the objects of kind type (KCMP_FILES, KCMP_VM) of tasks a and b: 0 the same
 * object, 1 or 2 before or after; -errno (logged, naming the tasks). */
int kcmp_order(pid_t a, pid_t b, int type);

/* Looks for two of the tasks idx[0..n) (indices into tree->tasks, which it sorts by their
 * objects of kind type, so that tasks that share one are neighbours) that share an object.
 * Returns 1 with their pids in *ret_a and *ret_b, 0 if none do, or -errno (logged). */
int kcmp_find_shared(const struct seize_tree *tree, size_t *idx, size_t n, int type, pid_t *ret_a,
		     pid_t *ret_b);
