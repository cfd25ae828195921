/* cgroup-check.c: see cgroup-check.h. */
#include "task/cgroup-check.h"

#include <errno.h>
#include <string.h>

#include "base/escape.h"
#include "image-set/image-set.h"
#include "task/cgroup-parse.h"

/* A controller of a in b too: one controller lives in one hierarchy. */
static bool share_a_controller(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		size_t n = strcspn(p, ",");

		for (const char *q = b; *q;) {
			size_t m = strcspn(q, ",");

			if (m == n && memcmp(p, q, n) == 0)
				return true;
			q += m + (q[m] ? 1 : 0);
		}
		p += n + (p[n] ? 1 : 0);
	}
	return false;
}

static int check_task(const struct image_set *set, size_t rec, const PstreeEntry *p)
{
	char esc[512];

	for (size_t i = 0; i < p->n_cgroups; i++) {
		const CgroupMemberEntry *c = p->cgroups[i];
		const char *why = cgroup_controllers_invalid(c->controllers);

		if (why)
			return image_set_bad(set,
					     "pstree.img record %zu: task %d: cgroup record %zu: "
					     "hierarchy '%s': %s",
					     rec, p->pid, i,
					     escape_path(esc, sizeof(esc), c->controllers), why);
		if (!c->path)
			return image_set_bad(set,
					     "pstree.img record %zu: task %d: cgroup record %zu: "
					     "no path",
					     rec, p->pid, i);
		why = cgroup_path_invalid(c->path);
		if (why)
			return image_set_bad(set,
					     "pstree.img record %zu: task %d: cgroup record %zu: "
					     "path '%s': %s",
					     rec, p->pid, i, escape_path(esc, sizeof(esc), c->path),
					     why);
		for (size_t k = 0; k < i; k++) {
			const char *o = p->cgroups[k]->controllers;

			if ((!o[0] && !c->controllers[0]) || share_a_controller(o, c->controllers))
				return image_set_bad(
				    set,
				    "pstree.img record %zu: task %d: cgroup "
				    "records %zu and %zu are of the same hierarchy",
				    rec, p->pid, k, i);
		}
	}
	return 0;
}

int cgroup_check_images(const struct image_set *set)
{
	for (size_t i = 0; i < set->n_tasks; i++) {
		int r = check_task(set, i, set->pstree[i]);

		if (r < 0)
			return r;
	}
	return 0;
}
