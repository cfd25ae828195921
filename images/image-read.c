/* image-read.c: buffered, strictly validating reader of image files. */
#include "image-read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-decode.h"
#include "inventory.pb-c.h"
#include "base/log.h"
#include "base/util.h"

#define READER_BUF_SIZE (64u << 10)

struct image_reader {
	int fd;	    /* -1 for an image held in memory */
	bool quiet; /* keep validation failures in last_error instead of logging them */
	struct image_error last_error;
	enum image_kind kind;
	int error;	  /* first failure, already logged; later calls return it silently */
	size_t n_records; /* records returned so far */
	uint8_t *buf; /* bytes buf[start, end) are read but not consumed; borrowed when fd < 0 */
	size_t cap, start, end;
	char *name;
};

static int set_error(struct image_reader *r, int err)
{
	if (!r->error)
		r->error = err;
	return err;
}

/* Logs a validation failure once, as one line naming the file and record (a quiet reader
 * keeps it for image_reader_error() instead). */
static int bad_image(struct image_reader *r, const struct image_error *err)
{
	char line[512];

	r->last_error = *err;
	if (!r->quiet) {
		image_error_format(err, r->name, line, sizeof(line));
		pr_err("%s", line);
	}
	return set_error(r, -EBADMSG);
}

static size_t avail(const struct image_reader *r)
{
	return r->end - r->start;
}

/* Makes at least need bytes available in the buffer, unless the file ends first. Returns 0
 * (check avail()) or -errno (logged). */
static int fill(struct image_reader *r, size_t need)
{
	if (avail(r) >= need || r->fd < 0)
		return 0;
	if (need > r->cap) {
		uint8_t *bigger = realloc(r->buf, need);

		if (!bigger)
			return set_error(r, pr_neg(-ENOMEM, "cannot read image '%s'", r->name));
		r->buf = bigger;
		r->cap = need;
	}
	if (r->start + need > r->cap) {
		memmove(r->buf, r->buf + r->start, avail(r));
		r->end -= r->start;
		r->start = 0;
	}
	while (avail(r) < need) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return set_error(r, pr_errno("cannot read image '%s'", r->name));
		}
		if (n == 0)
			break;
		r->end += (size_t)n;
	}
	return 0;
}

struct image_reader *image_reader_free(struct image_reader *r)
{
	if (!r)
		return NULL;
	if (r->fd >= 0) {
		closep(&r->fd);
		free(r->buf);
	}
	free(r->name);
	free(r);
	return NULL;
}

void image_reader_freep(struct image_reader **r)
{
	*r = image_reader_free(*r);
}

/* Checks the magic (and a raw kind's header) and positions r at the first record. */
static int reader_start(struct image_reader *r, int expect_kind)
{
	struct image_error err;
	int ret;

	ret = fill(r, IMAGE_MAGIC_SIZE);
	if (ret < 0)
		return ret;
	ret = image_decode_magic(r->buf, avail(r), expect_kind, &err);
	if (ret < 0)
		return bad_image(r, &err);
	r->kind = (enum image_kind)ret;
	if (!image_kind_is_raw(r->kind)) {
		r->start += IMAGE_MAGIC_SIZE;
		return 0;
	}
	ret = fill(r, IMAGE_RAW_DATA_OFFSET);
	if (ret < 0)
		return ret;
	if (image_decode_raw_header(r->buf, avail(r), &err) < 0)
		return bad_image(r, &err);
	r->start += IMAGE_RAW_DATA_OFFSET;
	return 0;
}

int image_reader_open_fd(int fd, int expect_kind, const char *name,
			 struct image_reader **ret_reader)
{
	cleanup(image_reader_freep) struct image_reader *r = NULL;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r) {
		closep(&fd);
		return pr_neg(-ENOMEM, "cannot open image '%s'", name);
	}
	r->fd = fd;
	r->cap = READER_BUF_SIZE;
	r->buf = malloc(r->cap);
	r->name = strdup(name);
	if (!r->buf || !r->name)
		return pr_neg(-ENOMEM, "cannot open image '%s'", name);
	ret = reader_start(r, expect_kind);
	if (ret < 0)
		return ret;
	*ret_reader = TAKE_PTR(r);
	return 0;
}

int image_reader_open_mem(const void *buf, size_t len, int expect_kind, const char *name,
			  struct image_reader **ret_reader)
{
	cleanup(image_reader_freep) struct image_reader *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->quiet = true;
	r->buf = (uint8_t *)buf; /* only read: fill() never writes to a borrowed buffer */
	r->cap = r->end = len;
	r->name = strdup(name);
	if (!r->name)
		return -ENOMEM;
	ret = reader_start(r, expect_kind);
	if (ret < 0) {
		*ret_reader = TAKE_PTR(r);
		return ret;
	}
	*ret_reader = TAKE_PTR(r);
	return 0;
}

const struct image_error *image_reader_error(const struct image_reader *r)
{
	return &r->last_error;
}

int image_reader_open(int img_dirfd, enum image_kind kind, uint64_t id,
		      struct image_reader **ret_reader)
{
	char name[IMAGE_NAME_MAX];
	int fd, ret;

	ret = image_file_name(kind, id, name, sizeof(name));
	if (ret < 0)
		return pr_neg(ret, "cannot name %s image %llu", image_kind_name(kind),
			      (unsigned long long)id);
	fd = openat(img_dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return pr_errno("cannot open image '%s'", name);
	}
	return image_reader_open_fd(fd, (int)kind, name, ret_reader);
}

int image_reader_open_at(int dirfd, const char *path, struct image_reader **ret_reader)
{
	const char *base = strrchr(path, '/');
	int fd;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open image '%s'", path);
	/* Messages name the file as the images directory does: by its base name. */
	return image_reader_open_fd(fd, -1, base && base[1] ? base + 1 : path, ret_reader);
}

enum image_kind image_reader_kind(const struct image_reader *r)
{
	return r->kind;
}

const char *image_reader_name(const struct image_reader *r)
{
	return r->name;
}

static int truncated(struct image_reader *r, const char *what, size_t have, size_t want)
{
	struct image_error err = {.record = r->n_records};

	snprintf(err.what, sizeof(err.what), "truncated %s (%zu of %zu bytes)", what, have, want);
	return bad_image(r, &err);
}

int image_read_entry(struct image_reader *r, ProtobufCMessage **ret_msg)
{
	struct image_error err;
	ProtobufCMessage *msg;
	uint32_t len;
	int ret;

	if (r->error)
		return r->error;
	if (image_kind_is_raw(r->kind)) {
		pr_err("cannot read image '%s': %s images hold raw bytes, not records", r->name,
		       image_kind_name(r->kind));
		return set_error(r, -EINVAL);
	}
	ret = fill(r, 4);
	if (ret < 0)
		return ret;
	if (avail(r) == 0)
		return 0;
	if (r->n_records > 0 && image_kind_is_single(r->kind)) {
		err.record = r->n_records;
		snprintf(err.what, sizeof(err.what), "a %s image holds one record, found more",
			 image_kind_name(r->kind));
		return bad_image(r, &err);
	}
	if (avail(r) < 4)
		return truncated(r, "length", avail(r), 4);
	if (image_decode_length(r->buf + r->start, r->n_records, &len, &err) < 0)
		return bad_image(r, &err);
	ret = fill(r, 4 + (size_t)len);
	if (ret < 0)
		return ret;
	if (avail(r) < 4 + (size_t)len)
		return truncated(r, "record", avail(r) - 4, len);
	if (image_decode_record(r->kind, r->n_records, r->buf + r->start + 4, len, &msg, &err) < 0)
		return bad_image(r, &err);
	r->start += 4 + (size_t)len;
	r->n_records++;
	*ret_msg = msg;
	return 1;
}

static int check_raw(struct image_reader *r)
{
	if (r->error)
		return r->error;
	if (!image_kind_is_raw(r->kind)) {
		pr_err("cannot read image '%s': %s images hold records, not raw bytes", r->name,
		       image_kind_name(r->kind));
		return set_error(r, -EINVAL);
	}
	return 0;
}

ssize_t image_read_raw(struct image_reader *r, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done;
	int ret;

	ret = check_raw(r);
	if (ret < 0)
		return ret;
	done = len < avail(r) ? len : avail(r);
	memcpy(out, r->buf + r->start, done);
	r->start += done;
	if (done < len && r->fd >= 0) {
		ssize_t n = read_full(r->fd, out + done, len - done);

		if (n < 0)
			return set_error(r, pr_neg((int)n, "cannot read image '%s'", r->name));
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int image_pread_raw(struct image_reader *r, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	size_t done = 0;
	int ret;

	ret = check_raw(r);
	if (ret < 0)
		return ret;
	if (off > (uint64_t)INT64_MAX - IMAGE_RAW_DATA_OFFSET - len) {
		pr_err("image '%s': offset %llu is out of range", r->name, (unsigned long long)off);
		return -EBADMSG;
	}
	if (r->fd < 0) {
		uint64_t at = off + IMAGE_RAW_DATA_OFFSET;

		if (at > r->cap || r->cap - at < len) {
			pr_err("image '%s': truncated data (%zu bytes at offset %llu)", r->name,
			       len, (unsigned long long)off);
			return -EBADMSG;
		}
		memcpy(out, r->buf + at, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pread(r->fd, out + done, len - done,
				  (off_t)(off + IMAGE_RAW_DATA_OFFSET + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return pr_errno("cannot read image '%s'", r->name);
		}
		if (n == 0) {
			pr_err("image '%s': truncated data (%zu of %zu bytes at offset %llu)",
			       r->name, done, len, (unsigned long long)off);
			return -EBADMSG;
		}
		done += (size_t)n;
	}
	return 0;
}

int image_reader_raw_size(struct image_reader *r, uint64_t *ret_size)
{
	struct stat st;
	int ret;

	ret = check_raw(r);
	if (ret < 0)
		return ret;
	if (r->fd < 0) {
		*ret_size = r->cap - IMAGE_RAW_DATA_OFFSET;
		return 0;
	}
	if (fstat(r->fd, &st) < 0)
		return pr_errno("cannot stat image '%s'", r->name);
	*ret_size =
	    st.st_size > IMAGE_RAW_DATA_OFFSET ? (uint64_t)st.st_size - IMAGE_RAW_DATA_OFFSET : 0;
	return 0;
}

static void message_freep(ProtobufCMessage **msg)
{
	if (*msg)
		protobuf_c_message_free_unpacked(*msg, NULL);
}

int image_read_single(int img_dirfd, enum image_kind kind, uint64_t id, ProtobufCMessage **ret_msg)
{
	cleanup(image_reader_freep) struct image_reader *r = NULL;
	cleanup(message_freep) ProtobufCMessage *msg = NULL;
	ProtobufCMessage *extra = NULL;
	struct image_error err = {.record = 0};
	int ret;

	ret = image_reader_open(img_dirfd, kind, id, &r);
	if (ret < 0)
		return ret;
	ret = image_read_entry(r, &msg);
	if (ret < 0)
		return ret;
	if (ret == 0) {
		snprintf(err.what, sizeof(err.what), "a %s image must hold one record, found none",
			 image_kind_name(kind));
		return bad_image(r, &err);
	}
	/* For single-record kinds a second record is an error by itself; this also makes the
	 * call safe on other kinds. */
	ret = image_read_entry(r, &extra);
	if (ret < 0)
		return ret;
	if (ret > 0) {
		protobuf_c_message_free_unpacked(extra, NULL);
		err.record = 1;
		snprintf(err.what, sizeof(err.what), "expected one record, found more");
		return bad_image(r, &err);
	}
	*ret_msg = TAKE_PTR(msg);
	return 0;
}

int image_read_inventory(int img_dirfd, struct InventoryEntry **ret_inventory)
{
	ProtobufCMessage *msg;
	int ret;

	ret = image_read_single(img_dirfd, IMAGE_INVENTORY, 0, &msg);
	if (ret == -ENOENT)
		return pr_neg(ret, "cannot open image 'inventory.img'");
	if (ret < 0)
		return ret;
	*ret_inventory = (InventoryEntry *)msg;
	return 0;
}
