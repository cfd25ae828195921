/* image-decode.c: the framing rules, applied to bytes in memory. */
#include "image-decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "inventory.pb-c.h"

static uint32_t get_le32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

__attribute__((format(printf, 3, 4))) static int fail(struct image_error *err, size_t record,
						      const char *fmt, ...)
{
	va_list ap;

	err->record = record;
	va_start(ap, fmt);
	vsnprintf(err->what, sizeof(err->what), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

void image_error_format(const struct image_error *err, const char *name, char *buf, size_t size)
{
	if (err->record == IMAGE_ERROR_NO_RECORD)
		snprintf(buf, size, "image '%s': %s", name, err->what);
	else
		snprintf(buf, size, "image '%s' record %zu: %s", name, err->record, err->what);
}

int image_decode_magic(const void *buf, size_t len, int expect_kind, struct image_error *err)
{
	uint32_t magic;
	int kind;

	if (len < IMAGE_MAGIC_SIZE)
		return fail(err, IMAGE_ERROR_NO_RECORD, "truncated magic (%zu of %u bytes)", len,
			    IMAGE_MAGIC_SIZE);
	magic = get_le32(buf);
	kind = image_kind_from_magic(magic);
	if (kind < 0)
		return fail(err, IMAGE_ERROR_NO_RECORD, "bad magic 0x%08x: not a minicr image",
			    magic);
	if (expect_kind >= 0 && kind != expect_kind)
		return fail(err, IMAGE_ERROR_NO_RECORD, "magic 0x%08x is a %s image, expected %s",
			    magic, image_kind_name((enum image_kind)kind),
			    image_kind_name((enum image_kind)expect_kind));
	return kind;
}

int image_decode_raw_header(const void *buf, size_t len, struct image_error *err)
{
	const uint8_t *b = buf;

	if (len < IMAGE_RAW_DATA_OFFSET)
		return fail(err, IMAGE_ERROR_NO_RECORD, "truncated header (%zu of %u bytes)", len,
			    IMAGE_RAW_DATA_OFFSET);
	for (size_t i = IMAGE_MAGIC_SIZE; i < IMAGE_RAW_DATA_OFFSET; i++)
		if (b[i])
			return fail(err, IMAGE_ERROR_NO_RECORD,
				    "nonzero byte at offset %zu of the %u-byte header (data must "
				    "start at offset %u)",
				    i, IMAGE_RAW_DATA_OFFSET, IMAGE_RAW_DATA_OFFSET);
	return 0;
}

int image_decode_length(const void *buf, size_t index, uint32_t *ret_len, struct image_error *err)
{
	uint32_t len = get_le32(buf);

	if (len > IMAGE_RECORD_MAX)
		return fail(err, index, "length %u exceeds the %u MiB cap", len,
			    IMAGE_RECORD_MAX >> 20);
	*ret_len = len;
	return 0;
}

static int check_inventory(const InventoryEntry *inv, size_t index, struct image_error *err)
{
	if (inv->format_version == 0)
		return fail(err, index, "format version 0 is invalid");
	if (inv->format_version < IMAGE_FORMAT_VERSION_MIN)
		return fail(
		    err, index,
		    "format version %u is older than this minicr reads (%u): the %s changed, "
		    "dump again",
		    inv->format_version, IMAGE_FORMAT_VERSION_MIN,
		    inv->format_version == 1 ? "pages layout" : "mount records");
	if (inv->format_version > IMAGE_FORMAT_VERSION)
		return fail(err, index, "format version %u is newer than this minicr reads (%u)",
			    inv->format_version, IMAGE_FORMAT_VERSION);
	return 0;
}

int image_decode_record(enum image_kind kind, size_t index, const void *buf, size_t len,
			ProtobufCMessage **ret_msg, struct image_error *err)
{
	const ProtobufCMessageDescriptor *desc = image_kind_descriptor(kind);
	ProtobufCMessage *msg;
	int ret;

	if (!desc)
		return fail(err, index, "%s images hold raw bytes, not records",
			    image_kind_name(kind));
	/* protobuf-c gives no reason on failure: malformed wire data, a missing required field
	 * and an allocation failure all return NULL. Treat them all as a bad record; a real
	 * out-of-memory would fail again right after anyway. */
	msg = protobuf_c_message_unpack(desc, NULL, len, buf);
	if (!msg)
		return fail(err, index,
			    "cannot decode %u-byte %s record (malformed or missing a "
			    "required field)",
			    (unsigned)len, desc->name);
	if (kind == IMAGE_INVENTORY) {
		ret = check_inventory((const InventoryEntry *)msg, index, err);
		if (ret < 0) {
			protobuf_c_message_free_unpacked(msg, NULL);
			return ret;
		}
	}
	*ret_msg = msg;
	return 0;
}
