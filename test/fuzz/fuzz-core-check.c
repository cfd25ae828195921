/* libFuzzer target for core-check.c, the checks restore (and dump) run on one task's images:
 * input = u32 length of a packed task_core_entry, the entry, u32 length of a packed mm_entry,
 * the entry, then page_run_entry records each after its u32 length; the pages image is taken to
 * hold 1 MiB. Whatever task_images_validate() accepts, the invariants resume relies on hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "task/core-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RUNS 256

/* The next length-prefixed piece of the input, or NULL. */
static const uint8_t *piece(const uint8_t **p, const uint8_t *end, size_t *ret_len)
{
	uint32_t len;
	const uint8_t *at;

	if ((size_t)(end - *p) < 4)
		return NULL;
	memcpy(&len, *p, 4);
	if (len > (size_t)(end - *p) - 4)
		return NULL;
	at = *p + 4;
	*p = at + len;
	*ret_len = len;
	return at;
}

static void check_accepted(const struct task_images *ti)
{
	uint64_t prev = 0;

	if (ti->core->n_threads == 0 || ti->core->threads[0]->tid != ti->pid)
		abort();
	for (size_t i = 0; i < ti->mm->n_vmas; i++) {
		if (ti->mm->vmas[i]->start < prev || ti->mm->vmas[i]->end > CORE_CHECK_TASK_SIZE)
			abort();
		prev = ti->mm->vmas[i]->end;
	}
	for (size_t i = 0; i < ti->n_runs; i++)
		if (ti->runs[i]->file_off + ti->runs[i]->nr_pages * CORE_CHECK_PAGE_SIZE >
		    ti->pages_size)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *bytes;
	PageRunEntry *runs[MAX_RUNS];
	TaskCoreEntry *core = NULL;
	MmEntry *mm = NULL;
	size_t len, n_runs = 0;

	if (size > 1 << 20)
		return 0;
	/* a refusal is one log line: millions of them would be the whole cost of a run */
	log_mute_thread(true);
	bytes = piece(&p, end, &len);
	if (bytes)
		core = task_core_entry__unpack(NULL, len, bytes);
	bytes = piece(&p, end, &len);
	if (bytes)
		mm = mm_entry__unpack(NULL, len, bytes);
	while (n_runs < MAX_RUNS && (bytes = piece(&p, end, &len)) != NULL) {
		PageRunEntry *r = page_run_entry__unpack(NULL, len, bytes);

		if (!r)
			break;
		runs[n_runs++] = r;
	}
	if (core && mm) {
		struct task_images ti = {.pid = core->pid,
					 .core = core,
					 .mm = mm,
					 .runs = runs,
					 .n_runs = n_runs,
					 .pages_size = 1 << 20};

		if (task_images_validate(&ti) == 0)
			check_accepted(&ti);
	}
	for (size_t i = 0; i < n_runs; i++)
		page_run_entry__free_unpacked(runs[i], NULL);
	if (mm)
		mm_entry__free_unpacked(mm, NULL);
	if (core)
		task_core_entry__free_unpacked(core, NULL);
	return 0;
}
