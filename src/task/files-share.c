/* files-share.c: shared fd tables in a seized tree (see files-share.h). */
#define LOG_PREFIX "dump: "
#include "task/files-share.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "task/kcmp-order.h"
#include "task/seize.h"

static int cmp_files(pid_t a, pid_t b)
{
	return kcmp_order(a, b, KCMP_FILES);
}

static ssize_t parent_of(const struct seize_tree *tree, size_t i)
{
	for (size_t j = i; j-- > 0;)
		if (tree->tasks[j].pid == tree->tasks[i].ppid)
			return (ssize_t)j;
	return -1;
}

int files_share_detect(struct seize_tree *tree)
{
	cleanup_free size_t *heads = reallocarray(NULL, tree->n_tasks + 1, sizeof(*heads));
	size_t n_heads = 0;
	pid_t a, b;
	int ret;

	if (!heads)
		return pr_neg(-ENOMEM, "cannot allocate the fd table comparison");
	/* (1) with the parent: the only sharing restore rebuilds; parents come first, so the
	 * owner is known when a child looks */
	for (size_t i = 0; i < tree->n_tasks; i++) {
		ssize_t p = i ? parent_of(tree, i) : -1;
		int r = p >= 0 ? cmp_files(tree->tasks[i].pid, tree->tasks[p].pid) : 1;

		if (r < 0)
			return r;
		tree->tasks[i].files_owner = 0;
		if (r == 0)
			tree->tasks[i].files_owner = tree->tasks[p].files_owner
							 ? tree->tasks[p].files_owner
							 : tree->tasks[p].pid;
		else
			heads[n_heads++] = i;
	}
	/* (2) any other two tables the same: sorted by kcmp's order, equal ones are neighbours */
	ret = kcmp_find_shared(tree, heads, n_heads, KCMP_FILES, &a, &b);
	if (ret <= 0)
		return ret;
	pr_err("cannot dump tasks %d and %d: they share one fd table (CLONE_FILES) but neither "
	       "is the other's parent; restore rebuilds a table shared only along parent links",
	       (int)a, (int)b);
	return -ENOTSUP;
}
