/* pages-writer.h: write the page data of one process into pages-<pid>.img. The caller fills a
 * ring of aligned buffers in place; a writer thread writes the full ones while the next fills.
 * Where the images' file system offers direct I/O the file is written with O_DIRECT, so the data
 * never passes through the page cache; elsewhere with ordinary buffered writes. Every error is
 * logged once, naming the image. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes per write, and buffers in the ring. On the 2-vCPU VM this was measured on, 16 MiB in all
 * kept a virtio disk busy; the split hardly mattered. */
#define PAGES_WRITER_BUF_SIZE (4u << 20)
#define PAGES_WRITER_N_BUFS   4

struct pages_writer;

/* Creates pages-<pid>.img in img_dirfd for exactly data_size bytes of page data (a multiple of
 * 4096) and sizes the file at once, so a full disk fails here, before any page is read. Returns 0
 * and sets *ret_writer, or -errno (logged). */
int pages_writer_open(int img_dirfd, pid_t pid, uint64_t data_size,
		      struct pages_writer **ret_writer);

/* Where the next page data goes: sets *ret_buf and *ret_room (> 0, a multiple of 4096) to the
 * free part of the buffer being filled, first waiting for an earlier write of that buffer.
 * Returns 0 or -errno (logged: a write that failed). */
int pages_writer_next(struct pages_writer *w, void **ret_buf, size_t *ret_room);

/* Takes len bytes (a multiple of 4096, at most the room) placed where pages_writer_next() said;
 * a full buffer is written out. Returns 0 or -errno (logged). */
int pages_writer_commit(struct pages_writer *w, size_t len);

/* Writes the rest, waits for every write and closes the file. Returns 0, or -errno (logged once;
 * a full disk is -ENOSPC); fewer or more bytes than announced is -EIO (a bug, logged). Frees the
 * writer in every case; a failed image is left for the caller to remove. NULL-safe. */
int pages_writer_close(struct pages_writer *w);

/* Frees without writing the rest (error paths), after writes in flight have ended. NULL-safe,
 * returns NULL. */
struct pages_writer *pages_writer_free(struct pages_writer *w);
void pages_writer_freep(struct pages_writer **w);

/* Whether the image is written with O_DIRECT. */
bool pages_writer_is_direct(const struct pages_writer *w);
