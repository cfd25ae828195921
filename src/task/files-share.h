/* files-share.h: processes of a tree that share one fd table (clone(CLONE_FILES) without
 * CLONE_THREAD), found with kcmp(KCMP_FILES) on the seized tree. Restore rebuilds a table
 * shared between a task and its parent (the child is cloned with CLONE_FILES); any other
 * sharing is refused. */
#pragma once

struct seize_tree;

/* Sets files_owner of every task that shares its parent's fd table (to the topmost task of
 * the sharers). Returns 0, or -errno after one log line: kcmp failed, or two tasks share a
 * table without one being the other's parent through sharers (restore could not rebuild it). */
int files_share_detect(struct seize_tree *tree);
