/* pages-writer.c: direct or buffered writes of a pages image, from a ring of buffers that a
 * writer thread empties while the caller fills the next one. */
#define LOG_PREFIX "pages-writer: "
#include "task/pages-writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/direct-io.h"
#include "image-write.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"

_Static_assert(PAGES_WRITER_BUF_SIZE % DIRECT_IO_ALIGN == 0, "whole aligned writes");
_Static_assert(IMAGE_RAW_DATA_OFFSET % DIRECT_IO_ALIGN == 0, "page data aligned in the file");

struct pages_buf {
	uint8_t *data;	   /* PAGES_WRITER_BUF_SIZE bytes, DIRECT_IO_ALIGN-aligned */
	size_t len;	   /* bytes filled */
	uint64_t file_off; /* where data[0] goes */
};

/* The caller fills bufs[cur]; full buffers are queued in ring order, and the writer thread
 * writes them oldest first, from bufs[head]. A buffer stays queued until its write is done. */
struct pages_writer {
	int fd;
	bool is_direct;
	bool has_thread;
	bool is_cur_started; /* bufs[cur] is free and set up for filling */
	struct pages_buf bufs[PAGES_WRITER_N_BUFS];
	unsigned int cur;
	uint64_t end_off;   /* file offset after the last byte taken */
	uint64_t file_size; /* header and data, as announced */
	int error;	    /* first failure, already logged; later calls return it silently */
	char name[IMAGE_NAME_MAX];
	struct progress progress; /* the pages taken so far, on a terminal */

	pthread_t thread;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;  /* a buffer was queued or written, or the thread must stop */
	unsigned int head, n_queued;
	bool is_closing;
	int write_errno; /* first write that failed in the thread; it then writes no more */
};

static int set_error(struct pages_writer *w, int err)
{
	if (!w->error)
		w->error = err;
	return err;
}

/* Returns 0, or the errno of the write that failed (not logged: the caller knows when). */
static int write_at(int fd, const uint8_t *data, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, data, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		data += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_failed(struct pages_writer *w, int errnum)
{
	errno = errnum;
	return set_error(w, pr_errno("cannot write image '%s'", w->name));
}

static void *write_queued(void *arg)
{
	struct pages_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		const struct pages_buf *b;
		bool is_failed;
		int err = 0;

		while (!w->n_queued && !w->is_closing)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->n_queued)
			break;
		b = &w->bufs[w->head];
		is_failed = w->write_errno != 0;
		pthread_mutex_unlock(&w->lock);
		if (!is_failed)
			err = write_at(w->fd, b->data, b->len, b->file_off);
		pthread_mutex_lock(&w->lock);
		if (err && !w->write_errno)
			w->write_errno = err;
		w->head = (w->head + 1) % PAGES_WRITER_N_BUFS;
		w->n_queued--;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The writer thread takes every signal mask bit, so signals meant for minicr reach the
 * thread that waits for them. Without a thread (it could not be created) writes are
 * synchronous, which is only slower. */
static void start_thread(struct pages_writer *w)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, write_queued, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_debug("image '%s': no writer thread (%s): synchronous writes", w->name,
			 strerror(err));
		return;
	}
	w->has_thread = true;
}

/* Lets the thread finish what is queued (or, abandon: skip it) and waits for it to end.
 * Returns the errno of a failed write, or 0. */
static int stop_thread(struct pages_writer *w, bool abandon)
{
	int err;

	if (!w->has_thread)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->is_closing = true;
	if (abandon && !w->write_errno)
		w->write_errno = ECANCELED;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->has_thread = false;
	err = w->write_errno;
	return abandon ? 0 : err;
}

/* Hands the buffer being filled over for writing and moves on to the next one. */
static int queue_cur(struct pages_writer *w)
{
	struct pages_buf *b = &w->bufs[w->cur];
	int err = 0;

	if (w->has_thread) {
		pthread_mutex_lock(&w->lock);
		w->n_queued++;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	} else {
		err = write_at(w->fd, b->data, b->len, b->file_off);
	}
	w->cur = (w->cur + 1) % PAGES_WRITER_N_BUFS;
	w->is_cur_started = false;
	return err ? write_failed(w, err) : 0;
}

/* Waits until bufs[cur] is written (it is free when fewer than all buffers are queued), or a
 * write failed. */
static int wait_cur_free(struct pages_writer *w)
{
	int err;

	if (!w->has_thread)
		return 0;
	pthread_mutex_lock(&w->lock);
	while (w->n_queued == PAGES_WRITER_N_BUFS && !w->write_errno)
		pthread_cond_wait(&w->cond, &w->lock);
	err = w->write_errno;
	pthread_mutex_unlock(&w->lock);
	return err ? write_failed(w, err) : 0;
}

struct pages_writer *pages_writer_free(struct pages_writer *w)
{
	if (!w)
		return NULL;
	(void)stop_thread(w, true);
	progress_end(&w->progress);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
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

static int open_file(struct pages_writer *w, int img_dirfd, uint64_t data_size)
{
	cleanup_close int fd = -EBADF;
	int direct_fd;

	fd = openat(img_dirfd, w->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return pr_errno("cannot create image '%s'", w->name);
	if (data_size < DIRECT_IO_PAGES_MIN) {
		w->fd = TAKE_FD(fd);
		return 0;
	}
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

/* Sizing the file first fails a full disk before any page is read, and spares the direct
 * writes the extra work of extending the file (ext4 takes the inode lock exclusively). */
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
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	(void)image_file_name(IMAGE_PAGES, (uint64_t)pid, w->name, sizeof(w->name));
	w->file_size = IMAGE_RAW_DATA_OFFSET + data_size;
	progress_start(&w->progress, "pages written", "MiB", data_size, 1 << 20);
	ret = open_file(w, img_dirfd, data_size);
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
	/* a small image is written synchronously: a thread would not pay for itself */
	if (data_size >= DIRECT_IO_PAGES_MIN)
		start_thread(w);
	image_raw_header(IMAGE_PAGES, w->bufs[0].data);
	w->bufs[0].len = IMAGE_RAW_DATA_OFFSET;
	w->end_off = IMAGE_RAW_DATA_OFFSET;
	w->is_cur_started = true;
	pr_debug("image '%s': %s, %s", w->name, w->is_direct ? "direct I/O" : "buffered writes",
		 w->has_thread ? "by a thread while the next buffer fills" : "synchronous");
	*ret_writer = TAKE_PTR(w);
	return 0;
}

int pages_writer_next(struct pages_writer *w, void **ret_buf, size_t *ret_room)
{
	struct pages_buf *b = &w->bufs[w->cur];
	int ret;

	if (w->error)
		return w->error;
	if (!w->is_cur_started) {
		ret = wait_cur_free(w);
		if (ret < 0)
			return ret;
		b->len = 0;
		b->file_off = w->end_off;
		w->is_cur_started = true;
	}
	*ret_buf = b->data + b->len;
	*ret_room = PAGES_WRITER_BUF_SIZE - b->len;
	return 0;
}

int pages_writer_commit(struct pages_writer *w, size_t len)
{
	struct pages_buf *b = &w->bufs[w->cur];

	if (w->error)
		return w->error;
	assert(w->is_cur_started && len % DIRECT_IO_ALIGN == 0 &&
	       len <= PAGES_WRITER_BUF_SIZE - b->len);
	b->len += len;
	w->end_off += len;
	progress_add(&w->progress, len);
	if (b->len == PAGES_WRITER_BUF_SIZE)
		return queue_cur(w);
	return 0;
}

int pages_writer_close(struct pages_writer *w)
{
	int err, ret;

	if (!w)
		return 0;
	progress_end(&w->progress);
	if (!w->error && w->is_cur_started && w->bufs[w->cur].len)
		(void)queue_cur(w);
	err = stop_thread(w, w->error != 0);
	if (err)
		(void)write_failed(w, err);
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
