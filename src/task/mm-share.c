/* mm-share.c: shared address spaces in a seized tree (see mm-share.h). */
#define LOG_PREFIX "dump: "
#include "task/mm-share.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "task/kcmp-order.h"
#include "task/seize.h"

int mm_share_check(const struct seize_tree *tree)
{
	cleanup_free size_t *idx = reallocarray(NULL, tree->n_tasks + 1, sizeof(*idx));
	size_t n = 0;
	pid_t a, b;
	int ret;

	if (!idx)
		return pr_neg(-ENOMEM, "cannot allocate the address space comparison");
	/* a zombie has none: two would compare equal */
	for (size_t i = 0; i < tree->n_tasks; i++)
		if (!tree->tasks[i].is_zombie)
			idx[n++] = i;
	ret = kcmp_find_shared(tree, idx, n, KCMP_VM, &a, &b);
	if (ret <= 0)
		return ret;
	pr_err("cannot dump tasks %d and %d: they share one address space (clone(CLONE_VM) "
	       "without CLONE_THREAD), which restore would split into two",
	       (int)a, (int)b);
	return -ENOTSUP;
}
