/* kcmp-order.c: kcmp(2) as an order over seized tasks (see kcmp-order.h). */
#define LOG_PREFIX "dump: "
#include "task/kcmp-order.h"

#include <linux/kcmp.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "task/seize.h"

static const char *kind_name(int type)
{
	switch (type) {
	case KCMP_FILES:
		return "fd tables";
	case KCMP_VM:
		return "address spaces";
	default:
		return "kernel objects";
	}
}

int kcmp_order(pid_t a, pid_t b, int type)
{
	long r = syscall(SYS_kcmp, a, b, type, 0, 0);

	if (r < 0)
		return pr_errno("cannot compare the %s of tasks %d and %d", kind_name(type), (int)a,
				(int)b);
	return (int)r;
}

struct sort_ctx {
	const struct seize_tree *tree;
	int type;
	int err; /* the first failure: the sort then treats everything as equal */
};

static int compare(const void *a, const void *b, void *opaque)
{
	struct sort_ctx *c = opaque;
	pid_t x = c->tree->tasks[*(const size_t *)a].pid,
	      y = c->tree->tasks[*(const size_t *)b].pid;
	int r;

	if (c->err)
		return 0;
	r = kcmp_order(x, y, c->type);
	if (r < 0) {
		c->err = r;
		return 0;
	}
	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

int kcmp_find_shared(const struct seize_tree *tree, size_t *idx, size_t n, int type, pid_t *ret_a,
		     pid_t *ret_b)
{
	struct sort_ctx c = {.tree = tree, .type = type};

	qsort_r(idx, n, sizeof(*idx), compare, &c);
	if (c.err)
		return c.err;
	for (size_t k = 1; k < n; k++) {
		pid_t a = tree->tasks[idx[k - 1]].pid, b = tree->tasks[idx[k]].pid;
		int r = kcmp_order(a, b, type);

		if (r < 0)
			return r;
		if (r == 0) {
			*ret_a = a < b ? a : b;
			*ret_b = a < b ? b : a;
			return 1;
		}
	}
	return 0;
}
