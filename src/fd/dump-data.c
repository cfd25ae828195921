/* fd/dump-data.c: file contents and pipe buffers as chunks of at most FD_DATA_CHUNK_MAX bytes.
 * Files are read through a fresh descriptor (no offset moves) and only their data extents are
 * stored; pipe buffers are copied with tee() into a scratch pipe, so the live pipe keeps them. */
#define LOG_PREFIX "fd: "
#include "fd/dump-data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/kind.h"

struct fd_data_dump {
	fd_data_sink_fn sink;
	void *opaque;
	struct hmap pipes_dumped; /* (pipe_id, 0) -> 0 */
	char *buf;		  /* FD_DATA_CHUNK_MAX bytes, allocated on first use */
	int scratch_pipe[2];
	int scratch_pipe_size;
};

struct fd_data_dump *fd_data_dump_new(fd_data_sink_fn sink, void *opaque)
{
	struct fd_data_dump *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->sink = sink;
	d->opaque = opaque;
	d->scratch_pipe[0] = d->scratch_pipe[1] = -EBADF;
	return d;
}

struct fd_data_dump *fd_data_dump_free(struct fd_data_dump *d)
{
	if (!d)
		return NULL;
	hmap_clear(&d->pipes_dumped);
	free(d->buf);
	closep(&d->scratch_pipe[0]);
	closep(&d->scratch_pipe[1]);
	free(d);
	return NULL;
}

static char *dump_buf(struct fd_data_dump *d)
{
	if (!d->buf)
		d->buf = malloc(FD_DATA_CHUNK_MAX);
	return d->buf;
}

static int emit_chunk(struct fd_data_dump *d, FileDataKind kind, uint64_t owner_id,
		      uint64_t offset, const void *data, size_t len, bool first, uint64_t total)
{
	FileDataEntry e = FILE_DATA_ENTRY__INIT;

	e.kind = kind;
	e.owner_id = owner_id;
	e.has_offset = true;
	e.offset = offset;
	e.has_data = true;
	e.data.data = (uint8_t *)data;
	e.data.len = len;
	if (first) {
		e.has_total_size = true;
		e.total_size = total;
	}
	return d->sink(d->opaque, &e);
}

static int reopen_noatime(int fd)
{
	char proc[32];
	int r;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (r < 0 && errno == EPERM)
		r = open(proc, O_RDONLY | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

int64_t fd_data_dump_file(struct fd_data_dump *d, const struct fd_params *p, uint32_t owner_id)
{
	cleanup_close int rfd = -EBADF;
	char *buf = dump_buf(d);
	struct stat st;
	off_t off = 0;
	bool first = true;
	int r;

	if (!buf)
		return -ENOMEM;
	/* O_NOATIME: dumping (with --leave-running, say) must not change what the file shows;
	 * only the owner or CAP_FOWNER may ask for it */
	r = reopen_noatime(p->local_fd);
	if (r < 0)
		return pr_neg(r, "cannot reopen fd %d of task %d to read it", p->fd, (int)p->pid);
	rfd = r;
	if (fstat(rfd, &st) < 0)
		return pr_errno("cannot stat fd %d of task %d", p->fd, (int)p->pid);
	while (off < st.st_size) {
		/* (1) skip holes: only extents with data are stored */
		off_t data = lseek(rfd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return pr_errno("cannot seek data of fd %d of task %d", p->fd, (int)p->pid);
		hole = lseek(rfd, data, SEEK_HOLE);
		if (hole < 0)
			return pr_errno("cannot seek a hole of fd %d of task %d", p->fd,
					(int)p->pid);
		if (hole > st.st_size)
			hole = st.st_size;
		/* (2) the extent in chunks of at most FD_DATA_CHUNK_MAX */
		for (off = data; off < hole;) {
			size_t want = (size_t)(hole - off) < FD_DATA_CHUNK_MAX
					  ? (size_t)(hole - off)
					  : FD_DATA_CHUNK_MAX;
			ssize_t n = pread(rfd, buf, want, off);

			if (n < 0)
				return pr_errno("cannot read the contents of fd %d of task %d",
						p->fd, (int)p->pid);
			if (n == 0) {
				hole = off; /* the file shrank */
				break;
			}
			r = emit_chunk(d, FILE_DATA_KIND__FILE_DATA_KIND_FILE, owner_id,
				       (uint64_t)off, buf, (size_t)n, first, (uint64_t)st.st_size);
			if (r < 0)
				return r;
			first = false;
			off += n;
		}
		if (hole <= data)
			break;
	}
	if (first) {
		r = emit_chunk(d, FILE_DATA_KIND__FILE_DATA_KIND_FILE, owner_id, 0, buf, 0, true,
			       (uint64_t)st.st_size);
		if (r < 0)
			return r;
	}
	return st.st_size;
}

static int scratch_pipe(struct fd_data_dump *d, int size)
{
	if (d->scratch_pipe[0] < 0) {
		if (pipe2(d->scratch_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
			d->scratch_pipe[0] = d->scratch_pipe[1] = -EBADF;
			return pr_errno("cannot create a scratch pipe");
		}
		d->scratch_pipe_size = fcntl(d->scratch_pipe[0], F_GETPIPE_SZ);
	}
	if (d->scratch_pipe_size < size) {
		int r = fcntl(d->scratch_pipe[1], F_SETPIPE_SZ, size);

		if (r < 0)
			return pr_errno("cannot grow the scratch pipe to %d bytes", size);
		d->scratch_pipe_size = r;
	}
	return 0;
}

int fd_data_dump_pipe(struct fd_data_dump *d, const struct fd_params *p, uint64_t pipe_id)
{
	cleanup_close int own_fd = -EBADF;
	int rfd = p->local_fd, size, r;
	uint32_t acc = p->info.flags & O_ACCMODE;
	char *buf = dump_buf(d);
	ssize_t copied, done = 0;

	if (!buf)
		return -ENOMEM;
	if (hmap_find(&d->pipes_dumped, pipe_id, 0))
		return 0;
	if (hmap_put(&d->pipes_dumped, pipe_id, 0, 0) < 0)
		return -ENOMEM;
	if (acc == O_WRONLY) {
		/* tee() reads from a read end: open one on the same pipe */
		r = fd_reopen(p->local_fd, O_RDONLY | O_NONBLOCK);
		if (r < 0)
			return r;
		rfd = own_fd = r;
	}
	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0)
		return pr_errno("cannot read the size of pipe %lu (fd %d of task %d)",
				(unsigned long)pipe_id, p->fd, (int)p->pid);
	r = scratch_pipe(d, size);
	if (r < 0)
		return r;
	/* tee duplicates the buffers: the live pipe keeps its data */
	copied = tee(rfd, d->scratch_pipe[1], (size_t)size, SPLICE_F_NONBLOCK);
	if (copied < 0 && errno != EAGAIN)
		return pr_errno("cannot copy the data of pipe %lu (fd %d of task %d)",
				(unsigned long)pipe_id, p->fd, (int)p->pid);
	if (copied <= 0)
		return 0;
	while (done < copied) {
		size_t want = (size_t)(copied - done) < FD_DATA_CHUNK_MAX ? (size_t)(copied - done)
									  : FD_DATA_CHUNK_MAX;
		ssize_t n = read_full(d->scratch_pipe[0], buf, want);

		if (n < 0) {
			errno = (int)-n;
			return pr_errno("cannot read the scratch pipe");
		}
		if ((size_t)n != want) {
			pr_err("scratch pipe: %zd bytes instead of %zu", n, want);
			return -EIO;
		}
		r = emit_chunk(d, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, pipe_id, (uint64_t)done,
			       buf, want, done == 0, (uint64_t)copied);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}
