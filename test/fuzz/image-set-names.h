/* image-set-names.h: the files of the one-task image set fuzz-image-set writes (pid 4242, mount
 * namespace 4026531841), by index: the packed inputs name files by their index here. */
#pragma once

static const char *const image_set_names[] = {
    "inventory.img", "pstree.img",    "files.img",	  "fdinfo-4242.img",
    "fs-4242.img",   "file-data.img", "detached-mnt.img", "mnt-4026531841.img",
    "core-4242.img", "mm-4242.img",   "pagemap-4242.img", "pages-4242.img",
};

#define IMAGE_SET_N_NAMES (sizeof(image_set_names) / sizeof(image_set_names[0]))
