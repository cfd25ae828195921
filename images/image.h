/* image.h: the image-format library: the only code that knows how image files are framed.
 * A file is a u32 magic (one per kind) followed by records, each a u32 little-endian length and
 * that many bytes of one packed protobuf message of the kind's type (raw kinds: bytes only).
 * Readers validate strictly; every error is logged once naming the file and record index. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum image_kind {
	IMAGE_INVENTORY = 0, /* inventory.img        InventoryEntry (one record) */
	IMAGE_PSTREE,        /* pstree.img           PstreeEntry */
	IMAGE_MNT,           /* mnt-<nsid>.img       MntEntry */
	IMAGE_DETACHED_MNT,  /* detached-mnt.img     DetachedMntEntry */
	IMAGE_FDINFO,        /* fdinfo-<pid>.img     FdEntry */
	IMAGE_FS,            /* fs-<pid>.img         FsEntry (one record) */
	IMAGE_FILES,         /* files.img            FileEntry */
	IMAGE_FILE_DATA,     /* file-data.img        FileDataEntry */
	IMAGE_CORE,          /* core-<pid>.img       TaskCoreEntry (one record) */
	IMAGE_MM,            /* mm-<pid>.img         MmEntry (one record) */
	IMAGE_PAGEMAP,       /* pagemap-<pid>.img    PageRunEntry */
	IMAGE_PAGES,         /* pages-<pid>.img      raw page data */
	IMAGE_KIND_COUNT,
};

#define IMAGE_FORMAT_VERSION 1
#define IMAGE_RECORD_MAX     (16u << 20) /* bytes; larger records are rejected as hostile */
