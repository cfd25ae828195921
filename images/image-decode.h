/* image-decode.h: validate and unpack image bytes held in memory. Pure: no syscalls and no
 * logging above debug; errors come back as -EBADMSG plus a struct image_error that the caller,
 * which knows the file name, logs once. These are the steps of image-read.c, the one reader of
 * image files, which show, restore and the fuzzers use. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define IMAGE_ERROR_NO_RECORD SIZE_MAX /* image_error.record when the magic is at fault */

/* What was wrong with an image and where. */
struct image_error {
	size_t record;	/* 0-based index of the bad record, or IMAGE_ERROR_NO_RECORD */
	char what[160]; /* e.g. "length 4294967295 exceeds the 16 MiB cap" */
};

/* Formats err as "image 'NAME' record N: WHAT" (or without the record part) into buf. */
void image_error_format(const struct image_error *err, const char *name, char *buf, size_t size);

/* Checks the 4-byte magic at buf (len bytes available). expect_kind < 0 accepts any kind.
 * Returns the kind (>= 0), or -EBADMSG with *err filled. */
int image_decode_magic(const void *buf, size_t len, int expect_kind, struct image_error *err);

/* Checks the header of a raw kind at buf (len bytes available, the magic already checked):
 * zeros from the end of the magic up to IMAGE_RAW_DATA_OFFSET. Returns 0, or -EBADMSG with *err
 * filled (a short file, or a nonzero byte: what an image of format version 1 holds there). */
int image_decode_raw_header(const void *buf, size_t len, struct image_error *err);

/* Reads a record's little-endian length prefix (4 bytes at buf) and checks it against
 * IMAGE_RECORD_MAX. Returns 0 and sets *ret_len, or -EBADMSG with *err filled. */
int image_decode_length(const void *buf, size_t index, uint32_t *ret_len, struct image_error *err);

/* Unpacks record number index (len bytes at buf) of a non-raw kind. The inventory record's
 * format version is checked too. Returns 0 and sets *ret_msg (free with
 * protobuf_c_message_free_unpacked(msg, NULL)) or -EBADMSG with *err filled (an allocation
 * failure inside protobuf-c cannot be told apart and is reported as a bad record). */
int image_decode_record(enum image_kind kind, size_t index, const void *buf, size_t len,
			ProtobufCMessage **ret_msg, struct image_error *err);
