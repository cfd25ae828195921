/* direct-io.h: whether a regular file takes O_DIRECT I/O in whole pages, and opening it so.
 * It only asks the kernel; choosing direct or buffered I/O stays with the caller. */
#pragma once

/* Offsets, lengths and buffer addresses of minicr's direct I/O are multiples of this. */
#define DIRECT_IO_ALIGN 4096u

/* A pages image with less page data than this is written and read through the page cache:
 * each direct write waits for the device, which costs a small process more than the copy
 * (a tree of 100 processes of 1 MiB each: dump 4% and restore 6% faster this way). */
#define DIRECT_IO_PAGES_MIN (16ull << 20)

/* Opens name in dirfd again with flags | O_DIRECT | O_CLOEXEC, if fd (the same file, already
 * open) reports through statx(STATX_DIOALIGN) memory and offset alignments that divide
 * DIRECT_IO_ALIGN. Returns the new fd; -EOPNOTSUPP if the file system offers no such direct I/O
 * (no alignment reported, an alignment that does not divide, or open() refusing O_DIRECT with
 * EINVAL), logged at debug level with the reason; or -errno of statx()/open() (logged). */
int direct_io_reopen(int dirfd, const char *name, int fd, int flags);
