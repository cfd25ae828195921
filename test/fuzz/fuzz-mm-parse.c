/* libFuzzer target for mm-parse.c: smaps/maps text into VMAs, then the hole finder over them
 * and the page-run scan over the input read as pagemap entries. Inputs are capped at 256 KiB. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "task/mm-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void find_hole(const struct mm_vma *v, size_t n)
{
	uint64_t *starts = calloc(n + 1, sizeof(*starts)), *ends = calloc(n + 1, sizeof(*ends));
	uint64_t addr;

	if (starts && ends) {
		for (size_t i = 0; i < n; i++) {
			starts[i] = v[i].start;
			ends[i] = v[i].end;
		}
		if (mm_find_hole(starts, ends, n, 0x10000, 0x7ffffffff000ull, 1 << 20, &addr) == 0 &&
		    (addr & 0xfff))
			abort();
	}
	free(starts);
	free(ends);
}

static void page_runs(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(uint64_t), pos = 0, first, count;
	uint64_t *entries = malloc((n ? n : 1) * sizeof(*entries));

	if (!entries)
		return;
	memcpy(entries, data, n * sizeof(*entries));
	while (mm_next_page_run(entries, n, VMA_KIND_FILE_PRIVATE, &pos, &first, &count))
		if (first + count > n || count == 0)
			abort();
	free(entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_vma *vmas = NULL;
	size_t n = 0;
	char *buf;

	if (size > 262144)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (mm_parse_smaps(buf, &vmas, &n) == 0) {
		for (size_t i = 1; i < n; i++)
			if (vmas[i].start < vmas[i - 1].end)
				abort(); /* the parser promises ordered, disjoint VMAs */
		find_hole(vmas, n);
		free(vmas);
	}
	page_runs(data, size);
	free(buf);
	return 0;
}
