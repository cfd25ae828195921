/* pages-writer.c: direct or buffered writes of a pages image, from a ring of buffers. */
#define LOG_PREFIX "pages-writer: "
#include "pages-writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/aio_abi.h>

#include "direct-io.h"
#include "image-write.h"
#include "log.h"
#include "util.h"

_Static_assert(PAGES_WRITER_BUF_SIZE % DIRECT_IO_ALIGN == 0, "whole aligned writes");
_Static_assert(IMAGE_RAW_DATA_OFFSET % DIRECT_IO_ALIGN == 0, "page data aligned in the file");

/* One buffer of page data and the write that empties it. */
struct pages_buf {
	uint8_t *data;	   /* PAGES_WRITER_BUF_SIZE bytes, DIRECT_IO_ALIGN-aligned */
	size_t len;	   /* bytes filled */
	uint64_t file_off; /* where data[0] goes */
	bool is_busy;	   /* an asynchronous write of it is in flight, described by cb */
	struct iocb cb;
};

struct pages_writer {
	int fd;
	bool is_direct;
	aio_context_t aio;			    /* 0: every write is synchronous */
	struct pages_buf bufs[PAGES_WRITER_N_BUFS]; /* filled in turn */
	unsigned int cur;			    /* the buffer being filled */
	uint64_t end_off;			    /* file offset after the last byte taken */
	uint64_t file_size;			    /* header and data, as announced */
	int error; /* first failure, already logged; later calls return it silently */
	char name[IMAGE_NAME_MAX];
};

static int set_error(struct pages_writer *w, int err)
{
	if (!w->error)
		w->error = err;
	return err;
}

static int write_sync(struct pages_writer *w, const uint8_t *data, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(w->fd, data, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return set_error(w, pr_errno("cannot write image '%s'", w->name));
		}
		data += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int finish_write(struct pages_writer *w, const struct io_event *ev)
{
	struct pages_buf *b = &w->bufs[ev->data % PAGES_WRITER_N_BUFS];
	const struct iocb *cb = &b->cb;
	size_t done;

	b->is_busy = false;
	if (w->error)
		return w->error;
	if (ev->res < 0) {
		errno = (int)-ev->res;
		return set_error(w, pr_errno("cannot write image '%s'", w->name));
	}
	done = (size_t)ev->res;
	/* A short direct write (a nearly full file system): writing the rest now tells why. */
	if (done < cb->aio_nbytes)
		return write_sync(w, (const uint8_t *)(uintptr_t)cb->aio_buf + done,
				  cb->aio_nbytes - done, (uint64_t)cb->aio_offset + done);
	return 0;
}

/* Collects finished writes until b is free to fill. */
static int wait_idle(struct pages_writer *w, struct pages_buf *b)
{
	while (b->is_busy) {
		struct io_event ev[PAGES_WRITER_N_BUFS];
		long n = syscall(SYS_io_getevents, w->aio, 1L, (long)PAGES_WRITER_N_BUFS, ev, NULL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return set_error(
			    w, pr_errno("cannot wait for the writes of image '%s'", w->name));
		for (long i = 0; i < n; i++)
			(void)finish_write(w, &ev[i]);
	}
	return w->error;
}

/* Writes out the buffer being filled and moves on to the next one. */
static int submit(struct pages_writer *w)
{
	struct pages_buf *b = &w->bufs[w->cur];
	struct iocb *cb = &b->cb;
	int ret = 0;

	if (w->aio) {
		memset(cb, 0, sizeof(*cb));
		cb->aio_data = w->cur;
		cb->aio_lio_opcode = IOCB_CMD_PWRITE;
		cb->aio_fildes = (uint32_t)w->fd;
		cb->aio_buf = (uint64_t)(uintptr_t)b->data;
		cb->aio_nbytes = b->len;
		cb->aio_offset = (int64_t)b->file_off;
		b->is_busy = syscall(SYS_io_submit, w->aio, 1L, &cb) == 1;
	}
	/* Without AIO, or if the kernel would not queue it: the same write, now. */
	if (!b->is_busy)
		ret = write_sync(w, b->data, b->len, b->file_off);
	w->cur = (w->cur + 1) % PAGES_WRITER_N_BUFS;
	w->bufs[w->cur].len = 0;
	w->bufs[w->cur].file_off = w->end_off;
	return ret;
}

/* io_destroy() waits for the writes still in flight, so the buffers can go after it. */
static void stop_aio(struct pages_writer *w)
{
	if (!w->aio)
		return;
	(void)syscall(SYS_io_destroy, w->aio);
	w->aio = 0;
	for (int i = 0; i < PAGES_WRITER_N_BUFS; i++)
		w->bufs[i].is_busy = false;
}

struct pages_writer *pages_writer_free(struct pages_writer *w)
{
	if (!w)
		return NULL;
	stop_aio(w);
	closep(&w->fd);
	for (int i = 0; i < PAGES_WRITER_N_BUFS; i++)
		free(w->bufs[i].data);
	free(w);
	return NULL;
}

void pages_writer_freep(struct pages_writer **w)
{
	*w = pages_writer_free(*w);
}

static int open_file(struct pages_writer *w, int img_dirfd)
{
	cleanup_close int fd = -EBADF;
	int direct_fd;

	fd = openat(img_dirfd, w->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return pr_errno("cannot create image '%s'", w->name);
	/* statx reports direct I/O alignments of an existing regular file only */
	direct_fd = direct_io_reopen(img_dirfd, w->name, fd, O_WRONLY);
	if (direct_fd == -EOPNOTSUPP) {
		w->fd = TAKE_FD(fd);
		return 0;
	}
	if (direct_fd < 0)
		return direct_fd;
	w->fd = direct_fd;
	w->is_direct = true;
	return 0;
}

/* Sizing the file first fails a full disk before any page is read, and keeps direct writes
 * inside the file size: ext4 completes a direct write that extends the file before io_submit()
 * returns, which would undo the overlap. */
static int size_file(struct pages_writer *w)
{
	if (fallocate(w->fd, 0, 0, (off_t)w->file_size) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return pr_errno("cannot allocate %" PRIu64 " bytes for image '%s'", w->file_size,
				w->name);
	if (ftruncate(w->fd, (off_t)w->file_size) < 0)
		return pr_errno("cannot size image '%s' to %" PRIu64 " bytes", w->name,
				w->file_size);
	return 0;
}

/* Native AIO lets buffers be written while the next one fills; without it (a kernel built without
 * CONFIG_AIO, fs.aio-max-nr reached) direct writes are synchronous, which is only slower. */
static void start_aio(struct pages_writer *w)
{
	if (syscall(SYS_io_setup, (long)PAGES_WRITER_N_BUFS, &w->aio) < 0) {
		pr_debug("image '%s': no native AIO (%s): synchronous writes", w->name,
			 strerror(errno));
		w->aio = 0;
	}
}

int pages_writer_open(int img_dirfd, pid_t pid, uint64_t data_size,
		      struct pages_writer **ret_writer)
{
	cleanup(pages_writer_freep) struct pages_writer *w = NULL;
	int ret;

	assert(data_size % DIRECT_IO_ALIGN == 0);
	w = calloc(1, sizeof(*w));
	if (!w)
		return pr_neg(-ENOMEM, "cannot write the pages of task %d", (int)pid);
	w->fd = -EBADF;
	(void)image_file_name(IMAGE_PAGES, (uint64_t)pid, w->name, sizeof(w->name));
	w->file_size = IMAGE_RAW_DATA_OFFSET + data_size;
	ret = open_file(w, img_dirfd);
	if (ret < 0)
		return ret;
	ret = size_file(w);
	if (ret < 0)
		return ret;
	for (int i = 0; i < PAGES_WRITER_N_BUFS; i++)
		if (posix_memalign((void **)&w->bufs[i].data, DIRECT_IO_ALIGN,
				   PAGES_WRITER_BUF_SIZE))
			return pr_neg(-ENOMEM, "cannot allocate the buffers of image '%s'",
				      w->name);
	if (w->is_direct)
		start_aio(w);
	image_raw_header(IMAGE_PAGES, w->bufs[0].data);
	w->bufs[0].len = IMAGE_RAW_DATA_OFFSET;
	w->end_off = IMAGE_RAW_DATA_OFFSET;
	pr_debug("image '%s': %s", w->name,
		 !w->is_direct ? "buffered writes"
		 : w->aio      ? "direct I/O, each write overlapping the next read"
			       : "direct I/O, synchronous writes");
	*ret_writer = TAKE_PTR(w);
	return 0;
}

int pages_writer_next(struct pages_writer *w, void **ret_buf, size_t *ret_room)
{
	struct pages_buf *b = &w->bufs[w->cur];
	int ret;

	if (w->error)
		return w->error;
	ret = wait_idle(w, b);
	if (ret < 0)
		return ret;
	*ret_buf = b->data + b->len;
	*ret_room = PAGES_WRITER_BUF_SIZE - b->len;
	return 0;
}

int pages_writer_commit(struct pages_writer *w, size_t len)
{
	struct pages_buf *b = &w->bufs[w->cur];

	if (w->error)
		return w->error;
	assert(!b->is_busy && len % DIRECT_IO_ALIGN == 0 && len <= PAGES_WRITER_BUF_SIZE - b->len);
	b->len += len;
	w->end_off += len;
	if (b->len == PAGES_WRITER_BUF_SIZE)
		return submit(w);
	return 0;
}

int pages_writer_close(struct pages_writer *w)
{
	int ret;

	if (!w)
		return 0;
	/* the buffer being filled is idle unless it is still empty (pages_writer_next waited) */
	if (!w->error && w->bufs[w->cur].len)
		(void)submit(w);
	for (int i = 0; i < PAGES_WRITER_N_BUFS && !w->error; i++)
		(void)wait_idle(w, &w->bufs[i]);
	stop_aio(w);
	if (!w->error && w->end_off != w->file_size) {
		pr_err("image '%s': %" PRIu64 " bytes written where %" PRIu64
		       " were announced (bug)",
		       w->name, w->end_off, w->file_size);
		set_error(w, -EIO);
	}
	/* close() can report a deferred write error (NFS, quota) */
	if (close(TAKE_FD(w->fd)) < 0 && !w->error)
		set_error(w, pr_errno("cannot close image '%s'", w->name));
	ret = w->error;
	pages_writer_free(w);
	return ret;
}

bool pages_writer_is_direct(const struct pages_writer *w)
{
	return w->is_direct;
}
