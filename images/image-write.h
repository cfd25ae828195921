/* image-write.h: write image files: the magic, then buffered length-prefixed records packed
 * straight into the buffer (or raw bytes for raw kinds). Every error is logged once, naming the
 * file; after a failed write the writer refuses further writes without logging again. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "image.h"

struct image_writer;

/* Creates (or truncates) the file of (kind, id) in img_dirfd, mode 0600, and queues its magic
 * (raw kinds: the whole header).
 * id is ignored for kinds without one. Returns 0 and sets *ret_writer, or -errno (logged). */
int image_writer_open(int img_dirfd, enum image_kind kind, uint64_t id,
		      struct image_writer **ret_writer);

/* Like image_writer_open() on an fd the caller opened (a memfd, /dev/full in tests). Takes
 * ownership of fd, even on failure; name is used in messages only. */
int image_writer_open_fd(int fd, enum image_kind kind, const char *name,
			 struct image_writer **ret_writer);

/* Appends one record. msg must be of the kind's message type and pack to at most
 * IMAGE_RECORD_MAX bytes; single-record kinds take one record only. Data reaches the file in
 * ~64 KiB writes. Returns 0 or -errno (logged; -EINVAL/-E2BIG for a misuse). */
int image_write_entry(struct image_writer *w, const ProtobufCMessage *msg);

/* Fills buf, IMAGE_RAW_DATA_OFFSET bytes, with the header of raw kind: its magic, then zeros.
 * For writers that place the data themselves (direct I/O of pages). Pure. */
void image_raw_header(enum image_kind kind, void *buf);

/* Appends raw bytes to a raw kind (pages). Large buffers bypass the buffer. Returns 0 or
 * -errno (logged). */
int image_write_raw(struct image_writer *w, const void *buf, size_t len);

/* Bytes handed to the writer so far after the magic (for raw kinds: the data offset the next
 * image_write_raw() lands at, counted from IMAGE_RAW_DATA_OFFSET). */
uint64_t image_writer_offset(const struct image_writer *w);

/* Flushes, closes and frees the writer (NULL-safe: returns 0). Returns 0, or -errno if any
 * write, the flush or close() failed (a full disk is -ENOSPC); logged once, naming the file.
 * A failed image is left on disk for the caller to remove. */
int image_writer_close(struct image_writer *w);

/* Frees without flushing (error paths; the file keeps what was written so far). NULL-safe,
 * returns NULL. */
struct image_writer *image_writer_free(struct image_writer *w);
void image_writer_freep(struct image_writer **w);

/* Writes an image holding exactly msg (single-record kinds: inventory, fs, core, mm) and closes
 * it. Returns 0 or -errno (logged). */
int image_write_single(int img_dirfd, enum image_kind kind, uint64_t id,
		       const ProtobufCMessage *msg);
