/* mm-share.h: processes of a tree that share one address space (clone(CLONE_VM) without
 * CLONE_THREAD), found with kcmp(KCMP_VM) on the seized tree. Restore gives every process an
 * address space of its own, so a shared one is refused rather than split silently. */
#pragma once

struct seize_tree;

/* Returns 0 if no two live processes of the tree share an address space; else -ENOTSUP after
 * one line naming two of them, or -errno (logged) if kcmp failed. */
int mm_share_check(const struct seize_tree *tree);
