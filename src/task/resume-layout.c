/* resume-layout.c: where the bootstrap region goes in a restored task, and the task's own
 * memory map that this depends on. */
#define LOG_PREFIX "resume: "
#include "task/resume-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"
#include "task/core-check.h"

#define HOLE_LOW	0x10000ull
#define STACK_GAP_PAGES 256

int resume_layout_read_own(struct mm_vma **ret_vmas, size_t *ret_n)
{
	cleanup_free char *buf = NULL;
	ssize_t len = procfs_read_maps(0, false, &buf);
	int ret;

	if (len < 0)
		return pr_neg((int)len, "cannot read the memory map of process %d", (int)getpid());
	ret = mm_parse_smaps(buf, ret_vmas, ret_n);
	if (ret < 0)
		return pr_neg(ret, "cannot parse the memory map of process %d", (int)getpid());
	return 0;
}

void resume_layout_special_sizes(const struct mm_vma *vmas, size_t n, uint64_t sizes[3])
{
	for (int k = 0; k < RESUME_SPECIAL_KINDS; k++)
		sizes[k] = 0;
	for (size_t i = 0; i < n; i++)
		if (vmas[i].kind >= VMA_KIND_VVAR && vmas[i].kind <= VMA_KIND_VDSO)
			sizes[vmas[i].kind - VMA_KIND_VVAR] += vmas[i].end - vmas[i].start;
}

static int cmp_u64_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

int resume_layout_place(const struct resume_task *rt, const struct mm_vma *own, size_t n_own,
			uint64_t size, uint64_t *ret_addr)
{
	cleanup_free uint64_t *pairs = NULL, *starts = NULL, *ends = NULL;
	size_t n_all = n_own + rt->mm->n_vmas, n = 0;
	int ret;

	pairs = reallocarray(NULL, n_all, 2 * sizeof(uint64_t));
	starts = reallocarray(NULL, n_all, sizeof(uint64_t));
	ends = reallocarray(NULL, n_all, sizeof(uint64_t));
	if (!pairs || !starts || !ends)
		return pr_neg(-ENOMEM, "cannot allocate the layout of task %d", (int)rt->pid);
	for (size_t i = 0; i < n_own; i++) {
		pairs[2 * n] = own[i].start;
		pairs[2 * n++ + 1] = own[i].end;
	}
	for (size_t i = 0; i < rt->mm->n_vmas; i++) {
		/* a stack grows into the gap below it: keep the region out of that gap */
		uint64_t start = rt->mm->vmas[i]->start, gap = STACK_GAP_PAGES * RESUME_PAGE_SIZE;

		if ((rt->mm->vmas[i]->flags & MAP_GROWSDOWN) && start > gap)
			start -= gap;
		pairs[2 * n] = start;
		pairs[2 * n++ + 1] = rt->mm->vmas[i]->end;
	}
	qsort(pairs, n, 2 * sizeof(uint64_t), cmp_u64_pair);
	for (size_t i = 0; i < n; i++) {
		starts[i] = pairs[2 * i];
		ends[i] = pairs[2 * i + 1];
	}
	ret = mm_find_hole(starts, ends, n, HOLE_LOW, CORE_CHECK_TASK_SIZE, size, ret_addr);
	if (ret < 0)
		return pr_neg(ret, "no room for a %" PRIu64 "-byte bootstrap region in task %d",
			      size, (int)rt->pid);
	return 0;
}
