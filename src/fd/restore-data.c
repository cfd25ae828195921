/* fd/restore-data.c: file-data.img chunks chained per (kind, owner) in record order, so that
 * writing one file's contents back visits only its own chunks. */
#define LOG_PREFIX "fd: "
#include "fd/restore-data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/kind.h"

#define NO_NODE SIZE_MAX

struct data_ref {
	const FileDataEntry *entry;
	size_t next; /* index of the next chunk of the same owner, or NO_NODE */
};

struct fd_data_restore {
	struct hmap index; /* (kind, owner_id) -> index of the owner's first chunk */
	struct data_ref *refs;
	size_t n_refs, cap_refs;
	size_t *tails; /* per ref: tail of its chain when it is a head */
};

struct fd_data_restore *fd_data_restore_new(void)
{
	return calloc(1, sizeof(struct fd_data_restore));
}

struct fd_data_restore *fd_data_restore_free(struct fd_data_restore *d)
{
	if (!d)
		return NULL;
	hmap_clear(&d->index);
	free(d->refs);
	free(d->tails);
	free(d);
	return NULL;
}

int fd_data_restore_add(struct fd_data_restore *d, const FileDataEntry *entry)
{
	struct hmap_slot *head;
	size_t i;

	if (entry->kind == FILE_DATA_KIND__FILE_DATA_KIND_TMPFS)
		return 0;
	if (entry->kind != FILE_DATA_KIND__FILE_DATA_KIND_FILE &&
	    entry->kind != FILE_DATA_KIND__FILE_DATA_KIND_PIPE)
		return -EINVAL;
	if (entry->has_data && entry->data.len > FD_DATA_CHUNK_MAX)
		return -EINVAL;
	if (d->n_refs == d->cap_refs) {
		size_t cap = d->cap_refs ? d->cap_refs * 2 : 64;
		struct data_ref *refs = realloc(d->refs, cap * sizeof(*refs));
		size_t *tails;

		if (!refs)
			return -ENOMEM;
		d->refs = refs;
		tails = realloc(d->tails, cap * sizeof(*tails));
		if (!tails)
			return -ENOMEM;
		d->tails = tails;
		d->cap_refs = cap;
	}
	i = d->n_refs;
	d->refs[i] = (struct data_ref){.entry = entry, .next = NO_NODE};
	head = hmap_find(&d->index, (uint64_t)entry->kind, entry->owner_id);
	if (head) {
		d->refs[d->tails[head->value]].next = i;
		d->tails[head->value] = i;
	} else {
		if (hmap_put(&d->index, (uint64_t)entry->kind, entry->owner_id, i) < 0)
			return -ENOMEM;
		d->tails[i] = i;
	}
	d->n_refs++;
	return 0;
}

static size_t data_head(const struct fd_data_restore *d, FileDataKind kind, uint64_t owner_id)
{
	struct hmap_slot *s = hmap_find(&d->index, (uint64_t)kind, owner_id);

	return s ? s->value : NO_NODE;
}

int fd_data_restore_file(const struct fd_data_restore *d, uint64_t owner_id, int fd)
{
	uint64_t total = 0;

	for (size_t i = data_head(d, FILE_DATA_KIND__FILE_DATA_KIND_FILE, owner_id); i != NO_NODE;
	     i = d->refs[i].next) {
		const FileDataEntry *e = d->refs[i].entry;
		uint64_t off = e->has_offset ? e->offset : 0;
		size_t done = 0;

		if (e->has_total_size && e->total_size > total)
			total = e->total_size;
		while (e->has_data && done < e->data.len) {
			ssize_t n = pwrite(fd, e->data.data + done, e->data.len - done,
					   (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return pr_errno("cannot write the contents of file %lu",
						(unsigned long)owner_id);
			done += (size_t)n;
		}
		if (off + done > total)
			total = off + done;
	}
	if (ftruncate(fd, (off_t)total) < 0)
		return pr_errno("cannot set the size of file %lu to %lu", (unsigned long)owner_id,
				(unsigned long)total);
	return 0;
}

int fd_data_restore_pipe(const struct fd_data_restore *d, uint64_t pipe_id, int fd)
{
	uint64_t expect = 0;

	for (size_t i = data_head(d, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, pipe_id); i != NO_NODE;
	     i = d->refs[i].next) {
		const FileDataEntry *e = d->refs[i].entry;
		int r;

		if ((e->has_offset ? e->offset : 0) != expect) {
			pr_err("pipe %lu: data chunk at offset %lu, expected %lu",
			       (unsigned long)pipe_id, (unsigned long)e->offset,
			       (unsigned long)expect);
			return -EINVAL;
		}
		if (!e->has_data)
			continue;
		if (e->has_total_size && e->total_size > (uint64_t)INT_MAX) {
			pr_err("pipe %lu: %lu bytes of data is too much", (unsigned long)pipe_id,
			       (unsigned long)e->total_size);
			return -EINVAL;
		}
		if (e->has_total_size) {
			int size = fcntl(fd, F_GETPIPE_SZ);

			if (size >= 0 && (uint64_t)size < e->total_size &&
			    fcntl(fd, F_SETPIPE_SZ, (int)e->total_size) < 0)
				return pr_errno("cannot grow pipe %lu to %lu bytes",
						(unsigned long)pipe_id,
						(unsigned long)e->total_size);
		}
		r = write_all(fd, e->data.data, e->data.len);
		if (r < 0) {
			errno = -r;
			return pr_errno("cannot write the data of pipe %lu",
					(unsigned long)pipe_id);
		}
		expect += e->data.len;
	}
	return 0;
}
