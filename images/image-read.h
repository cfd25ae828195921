/* image-read.h: read image files record by record with the strict checks of image-decode.h.
 * Every error is logged once, naming the file and the record index, and returned as -EBADMSG
 * (framing or content) or -errno (I/O). A partial read never counts as success. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"
#include "image-decode.h"

struct image_reader;
struct InventoryEntry;

/* Opens the file of (kind, id) in img_dirfd and checks its magic (and a raw kind's header). Returns
 * 0 and sets *ret_reader; -ENOENT if the file does not exist (NOT logged: the caller knows whether
 * the image is optional); else -EBADMSG or -errno (logged). */
int image_reader_open(int img_dirfd, enum image_kind kind, uint64_t id,
		      struct image_reader **ret_reader);

/* Opens any image file by path (relative to dirfd, or AT_FDCWD) and detects its kind from the
 * magic. Returns 0 and sets *ret_reader, or -EBADMSG/-errno (logged, ENOENT too). */
int image_reader_open_at(int dirfd, const char *path, struct image_reader **ret_reader);

/* Reads from an fd positioned at the magic. Takes ownership of fd, even on failure.
 * expect_kind < 0 detects the kind; name is used in messages only. Returns 0 or
 * -EBADMSG/-errno (logged). */
int image_reader_open_fd(int fd, int expect_kind, const char *name,
			 struct image_reader **ret_reader);

/* Reads an image held in memory (len bytes at buf, borrowed until the reader is freed). The
 * reader is quiet: validation failures are not logged but kept for image_reader_error(), for
 * callers that report them their own way (show, the fuzzers, tests). Returns 0 and sets
 * *ret_reader; -EBADMSG with *ret_reader set (a bad magic or raw header: see the error);
 * -ENOMEM. */
int image_reader_open_mem(const void *buf, size_t len, int expect_kind, const char *name,
			  struct image_reader **ret_reader);
/* The last validation failure of a quiet reader (record and reason). */
const struct image_error *image_reader_error(const struct image_reader *r);

enum image_kind image_reader_kind(const struct image_reader *r);
const char *image_reader_name(const struct image_reader *r);

/* Reads and unpacks the next record. Returns 1 and sets *ret_msg (the caller frees it with
 * protobuf_c_message_free_unpacked(msg, NULL)); 0 at a clean end of file; -EBADMSG for a
 * truncated, oversized or undecodable record or a second record in a single-record kind;
 * -errno for an I/O error (all logged). After an error every later call fails the same way. */
int image_read_entry(struct image_reader *r, ProtobufCMessage **ret_msg);

/* Raw kinds: reads up to len bytes at the current position. Returns the byte count (less than
 * len only at end of file, 0 at the end) or -errno (logged). */
ssize_t image_read_raw(struct image_reader *r, void *buf, size_t len);

/* Raw kinds: reads exactly len bytes at offset off of the data, which starts at file offset
 * IMAGE_RAW_DATA_OFFSET (off as image_writer_offset() gave it). Returns 0, -EBADMSG if the file
 * ends first, or -errno (logged). */
int image_pread_raw(struct image_reader *r, void *buf, size_t len, uint64_t off);

/* Raw kinds: the byte count of the data. Returns 0 and sets *ret_size, or -errno (logged). */
int image_reader_raw_size(struct image_reader *r, uint64_t *ret_size);

/* NULL-safe; returns NULL. */
struct image_reader *image_reader_free(struct image_reader *r);
void image_reader_freep(struct image_reader **r);

/* Reads the one record of a single-record kind (inventory, fs, core, mm) and checks that
 * nothing follows it. Returns 0 and sets *ret_msg; -ENOENT if the file is missing (not logged);
 * -EBADMSG if it holds no record or more than one, or any reader error (logged). */
int image_read_single(int img_dirfd, enum image_kind kind, uint64_t id, ProtobufCMessage **ret_msg);

/* image_read_single() of inventory.img, whose format version is checked on decoding: a newer
 * version than IMAGE_FORMAT_VERSION is refused (-EBADMSG, logged). A missing inventory is an
 * error here (-ENOENT, logged). Free with inventory_entry__free_unpacked(inv, NULL). */
int image_read_inventory(int img_dirfd, struct InventoryEntry **ret_inventory);
