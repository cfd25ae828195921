/* image.h: the image-format library: the only code that knows how image files are framed.
 * A file is a u32 magic (one per kind) followed by records, each a u32 little-endian length and
 * that many bytes of one packed protobuf message of the kind's type (raw kinds: zero padding up
 * to IMAGE_RAW_DATA_OFFSET, then bytes only).
 * Readers validate strictly; every error is logged once naming the file and record index.
 * This header holds the table of kinds (pure); reading, writing, decoding, rendering and path
 * checks live in image-read.h, image-write.h, image-decode.h, image-render.h, image-path.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum image_kind {
	IMAGE_INVENTORY = 0, /* inventory.img        InventoryEntry (one record) */
	IMAGE_PSTREE,	     /* pstree.img           PstreeEntry */
	IMAGE_MNT,	     /* mnt-<nsid>.img       MntEntry */
	IMAGE_DETACHED_MNT,  /* detached-mnt.img     DetachedMntEntry */
	IMAGE_FDINFO,	     /* fdinfo-<pid>.img     FdEntry */
	IMAGE_FS,	     /* fs-<pid>.img         FsEntry (one record) */
	IMAGE_FILES,	     /* files.img            FileEntry */
	IMAGE_FILE_DATA,     /* file-data.img        FileDataEntry */
	IMAGE_CORE,	     /* core-<pid>.img       TaskCoreEntry (one record) */
	IMAGE_MM,	     /* mm-<pid>.img         MmEntry (one record) */
	IMAGE_PAGEMAP,	     /* pagemap-<pid>.img    PageRunEntry */
	IMAGE_PAGES,	     /* pages-<pid>.img      raw page data */
	IMAGE_KIND_COUNT,
};

#define IMAGE_FORMAT_VERSION	 3 /* 3: directories and O_PATH fds are kinds of their own */
#define IMAGE_FORMAT_VERSION_MIN                                                                   \
	3 /* 1 put page data right after the magic; 2 had no mount kinds                           \
	   */
#define IMAGE_RECORD_MAX	 (16u << 20) /* bytes; larger records are rejected as hostile */
#define IMAGE_MAGIC_SIZE	 4u	     /* bytes of magic before the first record */
#define IMAGE_NAME_MAX		 64u	     /* room for any image file name, NUL included */
/* Raw kinds: the magic, zeros, then the data from this file offset on. 4096 is a multiple of
 * every direct I/O alignment in use, so pages can be written and read with O_DIRECT. */
#define IMAGE_RAW_DATA_OFFSET 4096u

/* The magic of each kind: four ASCII bytes "MC" + two letters, read as a little-endian u32,
 * so `head -c4 file` names the kind. docs/image-format.md lists the same table. */
#define IMAGE_MAGIC(a, b, c, d)                                                                    \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* All of these are pure and take any kind below IMAGE_KIND_COUNT (others are a programming
 * error and assert). */
const char *image_kind_name(enum image_kind kind); /* "inventory", "fdinfo", ... */
uint32_t image_kind_magic(enum image_kind kind);
bool image_kind_is_raw(enum image_kind kind); /* no records: raw bytes, see IMAGE_RAW_DATA_OFFSET */
bool image_kind_is_single(enum image_kind kind); /* exactly one record */
bool image_kind_has_id(enum image_kind kind);	 /* file name carries a pid or ns id */
/* The message type of the kind's records; NULL for raw kinds. */
const ProtobufCMessageDescriptor *image_kind_descriptor(enum image_kind kind);

/* Returns the kind whose magic this is (>= 0), or -EBADMSG. */
int image_kind_from_magic(uint32_t magic);

/* Formats the file name of (kind, id) into buf (IMAGE_NAME_MAX bytes are always enough); id is
 * ignored for kinds without one. Returns 0, or -ENAMETOOLONG if buf is too small. */
int image_file_name(enum image_kind kind, uint64_t id, char *buf, size_t size);

/* Parses a file name made by image_file_name(). Returns 0 and sets *ret_kind and *ret_id (0 for
 * kinds without an id), or -EINVAL if name is not an image file name. */
int image_file_name_parse(const char *name, enum image_kind *ret_kind, uint64_t *ret_id);
