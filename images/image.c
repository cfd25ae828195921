/* image.c: the table of image kinds: magic, file name, message type, record count rule. */
#include "image.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core.pb-c.h"
#include "detached-mnt.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "mnt.pb-c.h"
#include "pstree.pb-c.h"

struct image_kind_info {
	const char *name; /* kind name and file name stem */
	uint32_t magic;
	bool has_id;
	bool is_single;
	const ProtobufCMessageDescriptor *descriptor; /* NULL: raw */
};

/* One row per kind; kept as written because clang-format mangles designated rows. */
/* clang-format off */
static const struct image_kind_info kinds[IMAGE_KIND_COUNT] = {
	[IMAGE_INVENTORY] = {"inventory", IMAGE_MAGIC('M', 'C', 'I', 'V'), false, true,
			     &inventory_entry__descriptor},
	[IMAGE_PSTREE] = {"pstree", IMAGE_MAGIC('M', 'C', 'P', 'S'), false, false,
			  &pstree_entry__descriptor},
	[IMAGE_MNT] = {"mnt", IMAGE_MAGIC('M', 'C', 'M', 'T'), true, false, &mnt_entry__descriptor},
	[IMAGE_DETACHED_MNT] = {"detached-mnt", IMAGE_MAGIC('M', 'C', 'D', 'M'), false, false,
				&detached_mnt_entry__descriptor},
	[IMAGE_FDINFO] = {"fdinfo", IMAGE_MAGIC('M', 'C', 'F', 'D'), true, false,
			  &fd_entry__descriptor},
	[IMAGE_FS] = {"fs", IMAGE_MAGIC('M', 'C', 'F', 'S'), true, true, &fs_entry__descriptor},
	[IMAGE_FILES] = {"files", IMAGE_MAGIC('M', 'C', 'F', 'L'), false, false,
			 &file_entry__descriptor},
	[IMAGE_FILE_DATA] = {"file-data", IMAGE_MAGIC('M', 'C', 'D', 'A'), false, false,
			     &file_data_entry__descriptor},
	[IMAGE_CORE] = {"core", IMAGE_MAGIC('M', 'C', 'C', 'O'), true, true,
			&task_core_entry__descriptor},
	[IMAGE_MM] = {"mm", IMAGE_MAGIC('M', 'C', 'M', 'M'), true, true, &mm_entry__descriptor},
	[IMAGE_PAGEMAP] = {"pagemap", IMAGE_MAGIC('M', 'C', 'P', 'M'), true, false,
			   &page_run_entry__descriptor},
	[IMAGE_PAGES] = {"pages", IMAGE_MAGIC('M', 'C', 'P', 'G'), true, false, NULL},
};
/* clang-format on */

static const struct image_kind_info *info(enum image_kind kind)
{
	assert((unsigned)kind < IMAGE_KIND_COUNT);
	return &kinds[kind];
}

const char *image_kind_name(enum image_kind kind)
{
	return info(kind)->name;
}

uint32_t image_kind_magic(enum image_kind kind)
{
	return info(kind)->magic;
}

bool image_kind_is_raw(enum image_kind kind)
{
	return !info(kind)->descriptor;
}

bool image_kind_is_single(enum image_kind kind)
{
	return info(kind)->is_single;
}

bool image_kind_has_id(enum image_kind kind)
{
	return info(kind)->has_id;
}

const ProtobufCMessageDescriptor *image_kind_descriptor(enum image_kind kind)
{
	return info(kind)->descriptor;
}

int image_kind_from_magic(uint32_t magic)
{
	for (unsigned i = 0; i < IMAGE_KIND_COUNT; i++)
		if (kinds[i].magic == magic)
			return (int)i;
	return -EBADMSG;
}

int image_file_name(enum image_kind kind, uint64_t id, char *buf, size_t size)
{
	const struct image_kind_info *k = info(kind);
	int n;

	if (k->has_id)
		n = snprintf(buf, size, "%s-%" PRIu64 ".img", k->name, id);
	else
		n = snprintf(buf, size, "%s.img", k->name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Parses the decimal id between "<stem>-" and ".img": digits only, no sign, no leading zero
 * (so each id has exactly one file name), and it must fit in 64 bits. */
static int parse_id(const char *s, size_t len, uint64_t *ret_id)
{
	uint64_t id = 0;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned digit;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		digit = (unsigned)(s[i] - '0');
		if (id > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		id = id * 10 + digit;
	}
	*ret_id = id;
	return 0;
}

int image_file_name_parse(const char *name, enum image_kind *ret_kind, uint64_t *ret_id)
{
	size_t len = strlen(name);

	if (len < 4 || strcmp(name + len - 4, ".img") != 0)
		return -EINVAL;
	len -= 4;
	for (unsigned i = 0; i < IMAGE_KIND_COUNT; i++) {
		size_t stem = strlen(kinds[i].name);
		uint64_t id = 0;

		if (len < stem || memcmp(name, kinds[i].name, stem) != 0)
			continue;
		if (kinds[i].has_id) {
			if (len == stem || name[stem] != '-' ||
			    parse_id(name + stem + 1, len - stem - 1, &id) < 0)
				continue;
		} else if (len != stem) {
			continue;
		}
		*ret_kind = (enum image_kind)i;
		*ret_id = id;
		return 0;
	}
	return -EINVAL;
}
