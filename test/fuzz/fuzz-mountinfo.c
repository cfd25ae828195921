/* libFuzzer target for the mountinfo parser and the table built from it (parent links,
 * parent-first ordering, hash lookups). Inputs are capped at 64 KiB. */
#include <stddef.h>
#include <stdint.h>

#include "mount/table.h"
#include "mount/mountinfo-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mountinfo *mi = NULL;
	struct mount_table *t = NULL;
	size_t i;

	if (size > 65536)
		return 0;
	if (mountinfo_parse((const char *)data, size, &mi) == 0)
		mountinfo_free(mi);
	if (mount_table_from_mountinfo((const char *)data, size, 1, 0, &t) == 0) {
		for (i = 0; i < mount_table_size(t); i++) {
			const struct mount_entry *e = mount_table_get(t, i);

			(void)mount_table_find_old(t, e->mnt_id_old);
			(void)mount_table_find_dev(t, e->dev_major, e->dev_minor);
		}
		mount_table_free(t);
	}
	return 0;
}
