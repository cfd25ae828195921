/* show-graph.h: an image set as a Graphviz graph (DOT text): tasks and their fd tables, the
 * open file descriptions they share, the mounts of the tree's namespace with propagation, the
 * detached mounts and which files sit on them. Writes to a stream only. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct image_set;

/* Writes the graph of set to out. Tables of more than 32 fds are drawn as one node per kind
 * unless full. Returns 0, -ENOMEM or -EIO (not logged). */
int show_graph_dot(FILE *out, const struct image_set *set, bool full);
