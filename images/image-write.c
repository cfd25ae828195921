/* image-write.c: buffered writer of image files. */
#include "image-write.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* One write() per this many bytes keeps the syscall cost of thousands of small records
 * negligible, and stays small enough not to matter for memory. */
#define WRITER_BUF_SIZE (64u << 10)

struct image_writer {
	int fd;
	enum image_kind kind;
	int error; /* first failure, already logged; later calls return it silently */
	size_t n_records;
	uint64_t offset; /* bytes accepted after the magic (raw kinds: after the header) */
	size_t len;	 /* bytes queued in buf */
	uint8_t *buf;	 /* WRITER_BUF_SIZE bytes */
	char *name;
};

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void image_raw_header(enum image_kind kind, void *buf)
{
	assert(image_kind_is_raw(kind));
	memset(buf, 0, IMAGE_RAW_DATA_OFFSET);
	put_le32(buf, image_kind_magic(kind));
}

/* Records the first error so it is logged once, and returns it. */
static int set_error(struct image_writer *w, int err)
{
	if (!w->error)
		w->error = err;
	return err;
}

static int write_out(struct image_writer *w, const void *buf, size_t len)
{
	int ret = write_all(w->fd, buf, len);

	if (ret < 0)
		return set_error(w, pr_neg(ret, "cannot write image '%s'", w->name));
	return 0;
}

static int flush(struct image_writer *w)
{
	int ret;

	if (w->len == 0)
		return 0;
	ret = write_out(w, w->buf, w->len);
	w->len = 0;
	return ret;
}

struct image_writer *image_writer_free(struct image_writer *w)
{
	if (!w)
		return NULL;
	closep(&w->fd);
	free(w->buf);
	free(w->name);
	free(w);
	return NULL;
}

void image_writer_freep(struct image_writer **w)
{
	*w = image_writer_free(*w);
}

int image_writer_open_fd(int fd, enum image_kind kind, const char *name,
			 struct image_writer **ret_writer)
{
	cleanup(image_writer_freep) struct image_writer *w = NULL;

	w = calloc(1, sizeof(*w));
	if (!w) {
		closep(&fd);
		return pr_neg(-ENOMEM, "cannot open image '%s'", name);
	}
	w->fd = fd;
	w->kind = kind;
	w->buf = malloc(WRITER_BUF_SIZE);
	w->name = strdup(name);
	if (!w->buf || !w->name)
		return pr_neg(-ENOMEM, "cannot open image '%s'", name);
	if (image_kind_is_raw(kind)) {
		image_raw_header(kind, w->buf);
		w->len = IMAGE_RAW_DATA_OFFSET;
	} else {
		put_le32(w->buf, image_kind_magic(kind));
		w->len = IMAGE_MAGIC_SIZE;
	}
	*ret_writer = TAKE_PTR(w);
	return 0;
}

int image_writer_open(int img_dirfd, enum image_kind kind, uint64_t id,
		      struct image_writer **ret_writer)
{
	char name[IMAGE_NAME_MAX];
	int fd, ret;

	ret = image_file_name(kind, id, name, sizeof(name));
	if (ret < 0)
		return pr_neg(ret, "cannot name %s image %llu", image_kind_name(kind),
			      (unsigned long long)id);
	fd = openat(img_dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return pr_errno("cannot create image '%s'", name);
	return image_writer_open_fd(fd, kind, name, ret_writer);
}

int image_write_entry(struct image_writer *w, const ProtobufCMessage *msg)
{
	size_t size, need;

	if (w->error)
		return w->error;
	if (msg->descriptor != image_kind_descriptor(w->kind)) {
		pr_err("cannot write image '%s': a %s record does not belong in a %s image",
		       w->name, msg->descriptor->name, image_kind_name(w->kind));
		return set_error(w, -EINVAL);
	}
	if (w->n_records > 0 && image_kind_is_single(w->kind)) {
		pr_err("cannot write image '%s': a %s image holds one record", w->name,
		       image_kind_name(w->kind));
		return set_error(w, -EINVAL);
	}
	size = protobuf_c_message_get_packed_size(msg);
	if (size > IMAGE_RECORD_MAX) {
		pr_err("cannot write image '%s' record %zu: %zu bytes exceed the %u MiB cap",
		       w->name, w->n_records, size, IMAGE_RECORD_MAX >> 20);
		return set_error(w, -E2BIG);
	}
	need = 4 + size;

	if (w->len + need > WRITER_BUF_SIZE && flush(w) < 0)
		return w->error;
	if (need <= WRITER_BUF_SIZE) {
		put_le32(w->buf + w->len, (uint32_t)size);
		protobuf_c_message_pack(msg, w->buf + w->len + 4);
		w->len += need;
	} else {
		/* A record bigger than the buffer goes out on its own. */
		cleanup_free uint8_t *big = malloc(need);

		if (!big)
			return set_error(w, pr_neg(-ENOMEM, "cannot write image '%s'", w->name));
		put_le32(big, (uint32_t)size);
		protobuf_c_message_pack(msg, big + 4);
		if (write_out(w, big, need) < 0)
			return w->error;
	}
	w->n_records++;
	w->offset += need;
	return 0;
}

int image_write_raw(struct image_writer *w, const void *buf, size_t len)
{
	if (w->error)
		return w->error;
	if (!image_kind_is_raw(w->kind)) {
		pr_err("cannot write image '%s': %s images hold records, not raw bytes", w->name,
		       image_kind_name(w->kind));
		return set_error(w, -EINVAL);
	}
	if (w->len + len > WRITER_BUF_SIZE && flush(w) < 0)
		return w->error;
	if (len >= WRITER_BUF_SIZE) {
		if (write_out(w, buf, len) < 0)
			return w->error;
	} else {
		memcpy(w->buf + w->len, buf, len);
		w->len += len;
	}
	w->offset += len;
	return 0;
}

uint64_t image_writer_offset(const struct image_writer *w)
{
	return w->offset;
}

int image_writer_close(struct image_writer *w)
{
	int ret;

	if (!w)
		return 0;
	if (!w->error)
		(void)flush(w);
	/* close() can report a deferred write error (NFS, quota); it counts like a failed
	 * write. */
	if (close(TAKE_FD(w->fd)) < 0 && !w->error)
		set_error(w, pr_errno("cannot close image '%s'", w->name));
	ret = w->error;
	image_writer_free(w);
	return ret;
}

int image_write_single(int img_dirfd, enum image_kind kind, uint64_t id,
		       const ProtobufCMessage *msg)
{
	struct image_writer *w;
	int ret;

	ret = image_writer_open(img_dirfd, kind, id, &w);
	if (ret < 0)
		return ret;
	ret = image_write_entry(w, msg);
	if (ret < 0) {
		image_writer_free(w);
		return ret;
	}
	return image_writer_close(w);
}
