/* test-fds: dump the fd table of a real child (and a grandchild sharing its files) with the
 * fd module, check every record, then restore each file into this process and check the
 * reopened fds. Exit 0 pass, 1 fail, 77 skip. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "base/compat.h"
#include "fd/dump.h"
#include "fd/kind.h"
#include "fd/restore-file.h"
#include "base/log.h"
#include "base/util.h"

enum {
	FD_APPEND = 10, /* O_WRONLY|O_APPEND at offset 4, cloexec */
	FD_DUP = 11,	/* dup of FD_APPEND */
	FD_NULL = 12,	/* /dev/null, also at 0, 1, 2 */
	FD_SHARED = 13, /* O_RDWR at offset 3, the grandchild shares it */
	FD_DIR = 14,	/* directory */
	FD_OPATH = 15,	/* O_PATH on the append file */
	FD_PIPE_R = 16, /* O_NONBLOCK, "hello" in the pipe */
	FD_PIPE_W = 17,
	FD_FIFO_RW = 18,   /* "fifo-data" in the FIFO */
	FD_FIFO_R = 19,	   /* O_RDONLY|O_NONBLOCK */
	FD_GHOST = 20,	   /* unlinked, "ghost contents", offset 6 */
	FD_MEMFD = 21,	   /* "memfd contents", offset 2, F_SEAL_SHRINK|F_SEAL_GROW */
	FD_EVENTFD = 22,   /* counter 42, cloexec */
	FD_WPIPE = 23,	   /* write end of a pipe whose read end is closed, "orphan" in it */
	FD_BIGMEM = 24,	   /* memfd: "head" at 0, a hole, BIG_LEN pattern bytes at BIG_OFF */
	FD_BIGMEM_RO = 25, /* O_RDONLY reopen of FD_BIGMEM: same inode, its own file */
	FD_SOCKET = 26,
	FD_LAST = 26,
};

#define BIG_OFF (1L << 20)
#define BIG_LEN (5L << 19)

static unsigned char big_byte(long i)
{
	return (unsigned char)(i * 7 + 3);
}

static const int dumped_fds[] = {0,	     1,		 2,	    FD_APPEND,	 FD_DUP,
				 FD_NULL,    FD_SHARED,	 FD_DIR,    FD_OPATH,	 FD_PIPE_R,
				 FD_PIPE_W,  FD_FIFO_RW, FD_FIFO_R, FD_GHOST,	 FD_MEMFD,
				 FD_EVENTFD, FD_WPIPE,	 FD_BIGMEM, FD_BIGMEM_RO};
#define N_DUMPED (sizeof(dumped_fds) / sizeof(dumped_fds[0]))

static char dir[64];

static void at(int fd, int want)
{
	if (fd < 0)
		die("open");
	if (fd != want) {
		if (dup2(fd, want) < 0)
			die("dup2");
		close(fd);
	}
}

static void path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* ---- the child's fd table --------------------------------------------------------------- */

static void child_setup(void)
{
	char path[128];
	int fd, p[2];
	uint64_t one;

	/* keep the sync pipe (3, 4) and the info pipe (100) */
	close_range(0, 2, 0);
	close_range(5, 99, 0);
	close_range(101, ~0U, 0);
	at(open("/dev/null", O_RDWR), FD_NULL);
	for (int i = 0; i < 3; i++)
		if (dup2(FD_NULL, i) < 0)
			die("dup2");

	path_in_dir(path, sizeof(path), "append");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		die("append file");
	close(fd);
	at(open(path, O_WRONLY | O_APPEND), FD_APPEND);
	if (fcntl(FD_APPEND, F_SETFD, FD_CLOEXEC) < 0)
		die("cloexec");
	if (lseek(FD_APPEND, 4, SEEK_SET) != 4)
		die("lseek");
	if (dup2(FD_APPEND, FD_DUP) < 0)
		die("dup2");
	at(open(path, O_PATH), FD_OPATH);

	path_in_dir(path, sizeof(path), "shared");
	at(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), FD_SHARED);
	if (write(FD_SHARED, "shared", 6) != 6 || lseek(FD_SHARED, 3, SEEK_SET) != 3)
		die("shared file");

	at(open(dir, O_RDONLY | O_DIRECTORY), FD_DIR);

	if (pipe(p) < 0)
		die("pipe");
	at(p[0], FD_PIPE_R);
	at(p[1], FD_PIPE_W);
	if (fcntl(FD_PIPE_R, F_SETFL, O_NONBLOCK) < 0 || write(FD_PIPE_W, "hello", 5) != 5)
		die("pipe data");

	path_in_dir(path, sizeof(path), "fifo");
	if (mkfifo(path, 0600) < 0)
		die("mkfifo");
	at(open(path, O_RDWR), FD_FIFO_RW);
	at(open(path, O_RDONLY | O_NONBLOCK), FD_FIFO_R);
	if (write(FD_FIFO_RW, "fifo-data", 9) != 9)
		die("fifo data");

	path_in_dir(path, sizeof(path), "ghost");
	at(open(path, O_RDWR | O_CREAT | O_TRUNC, 0604), FD_GHOST);
	if (write(FD_GHOST, "ghost contents", 14) != 14 || lseek(FD_GHOST, 6, SEEK_SET) != 6 ||
	    unlink(path) < 0)
		die("ghost file");

	at(memfd_create("test-memfd", MFD_ALLOW_SEALING), FD_MEMFD);
	if (write(FD_MEMFD, "memfd contents", 14) != 14 || lseek(FD_MEMFD, 2, SEEK_SET) != 2 ||
	    fcntl(FD_MEMFD, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		die("memfd");

	at(eventfd(40, EFD_NONBLOCK), FD_EVENTFD);
	if (fcntl(FD_EVENTFD, F_SETFD, FD_CLOEXEC) < 0)
		die("cloexec");
	one = 2;
	if (write(FD_EVENTFD, &one, sizeof(one)) != sizeof(one))
		die("eventfd");

	if (pipe(p) < 0)
		die("pipe");
	at(p[1], FD_WPIPE);
	if (write(FD_WPIPE, "orphan", 6) != 6)
		die("orphan pipe");
	close(p[0]);

	at(memfd_create("big", 0), FD_BIGMEM);
	{
		unsigned char *big = malloc(BIG_LEN);

		if (!big)
			die("malloc");
		for (long i = 0; i < BIG_LEN; i++)
			big[i] = big_byte(i);
		if (write(FD_BIGMEM, "head", 4) != 4 ||
		    pwrite(FD_BIGMEM, big, BIG_LEN, BIG_OFF) != BIG_LEN)
			die("big memfd");
		free(big);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", FD_BIGMEM);
	at(open(path, O_RDONLY), FD_BIGMEM_RO);

	at(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), FD_SOCKET);
	if (chdir(dir) < 0)
		die("chdir");
}

/* Forks the child (which forks the grandchild) and waits until both are set up: the sync
 * pipe reaches EOF once both closed their write ends. */
static pid_t start_child(pid_t *ret_grandchild)
{
	int sync[2], info[2];
	pid_t pid;
	char c;

	if (pipe(sync) < 0 || pipe(info) < 0)
		die("pipe");
	/* keep them at 3 and 4, out of the child's way */
	if (sync[0] != 3 || sync[1] != 4) {
		fprintf(stderr, "expected the sync pipe at 3, 4 (got %d, %d)\n", sync[0], sync[1]);
		exit(1);
	}
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pid_t gc;
		int info_w = fcntl(info[1], F_DUPFD, 100);

		close(sync[0]);
		close(info[0]);
		close(info[1]);
		child_setup();
		if (info_w < 0)
			die("dup");
		gc = fork();
		if (gc < 0)
			die("fork");
		if (gc == 0) {
			close(info_w);
			close(4);
			for (;;)
				pause();
		}
		if (write(info_w, &gc, sizeof(gc)) != sizeof(gc))
			die("write");
		close(info_w);
		close(4);
		for (;;)
			pause();
	}
	close(sync[1]);
	close(info[1]);
	if (read(info[0], ret_grandchild, sizeof(*ret_grandchild)) != sizeof(*ret_grandchild)) {
		fprintf(stderr, "the child failed to set up\n");
		exit(1);
	}
	while (read(sync[0], &c, 1) > 0)
		;
	close(sync[0]);
	close(info[0]);
	return pid;
}

/* ---- callbacks ------------------------------------------------------------------------- */

struct chunks {
	FileDataEntry *e;
	size_t n;
};

static int resolve_mount(void *opaque, pid_t pid, int fd, int local_fd, uint32_t mnt_id_old,
			 uint64_t mnt_id_unique, const char *link_path, struct fd_mount_ref *ret)
{
	struct statx stx;

	(void)opaque, (void)pid, (void)fd;
	ret->mnt_id = mnt_id_unique ? mnt_id_unique : mnt_id_old;
	ret->mnt_id_old = mnt_id_old;
	if (!mnt_id_old && statx(local_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0)
		ret->mnt_id_old = (uint32_t)stx.stx_mnt_id;
	ret->detached = false;
	snprintf(ret->path, sizeof(ret->path), "%s", link_path);
	return 0;
}

static int collect_data(void *opaque, const FileDataEntry *entry)
{
	struct chunks *c = opaque;
	FileDataEntry *e;

	c->e = realloc(c->e, (c->n + 1) * sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	e = &c->e[c->n++];
	*e = *entry;
	e->data.data = malloc(entry->data.len + 1);
	if (!e->data.data)
		return -ENOMEM;
	memcpy(e->data.data, entry->data.data, entry->data.len);
	return 0;
}

static int root_fd = -1;

static int mount_root(void *opaque, const RegFileEntry *reg, const char **ret_path)
{
	(void)opaque, (void)reg, (void)ret_path;
	return root_fd;
}

/* ---- checks ------------------------------------------------------------------------------ */

static const FdEntry *entry_of(const FdEntry *entries, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (entries[i].fd == fd)
			return &entries[i];
	return NULL;
}

static const FileEntry *file_of(struct fd_dump_ctx *ctx, const FdEntry *e)
{
	const FileEntry *fe = fd_dump_ctx_file(ctx, e->file_id - 1);

	if (!fe || fe->id != e->file_id) {
		fprintf(stderr, "no file %u\n", e->file_id);
		exit(1);
	}
	return fe;
}

static bool data_is(const struct chunks *c, FileDataKind kind, uint64_t owner, const char *want)
{
	size_t len = strlen(want), got = 0;

	for (size_t i = 0; i < c->n; i++) {
		const FileDataEntry *e = &c->e[i];

		if (e->kind != kind || e->owner_id != owner)
			continue;
		if (e->offset + e->data.len > len ||
		    memcmp(want + e->offset, e->data.data, e->data.len) != 0)
			return false;
		got += e->data.len;
	}
	return got == len;
}

static void check_path(const FileEntry *fe, const char *name)
{
	char path[128];

	path_in_dir(path, sizeof(path), name);
	CHECK(fe->reg && fe->reg->path && strcmp(fe->reg->path, path) == 0, "path '%s', want '%s'",
	      fe->reg && fe->reg->path ? fe->reg->path : "(none)", path);
}

static void check_dump(struct fd_dump_ctx *ctx, const FdEntry *ce, const FdEntry *ge,
		       const struct chunks *c)
{
	const FileEntry *fe;
	const FdEntry *e;

	/* types and close-on-exec */
	static const struct {
		int fd;
		FdType type;
		bool cloexec;
	} want[] = {
	    {0, FD_TYPE__FD_TYPE_CHRDEV, false},
	    {FD_APPEND, FD_TYPE__FD_TYPE_REG, true},
	    {FD_DUP, FD_TYPE__FD_TYPE_REG, false},
	    {FD_NULL, FD_TYPE__FD_TYPE_CHRDEV, false},
	    {FD_SHARED, FD_TYPE__FD_TYPE_REG, false},
	    {FD_DIR, FD_TYPE__FD_TYPE_DIR, false},
	    {FD_OPATH, FD_TYPE__FD_TYPE_OPATH, false},
	    {FD_PIPE_R, FD_TYPE__FD_TYPE_PIPE, false},
	    {FD_PIPE_W, FD_TYPE__FD_TYPE_PIPE, false},
	    {FD_FIFO_RW, FD_TYPE__FD_TYPE_FIFO, false},
	    {FD_FIFO_R, FD_TYPE__FD_TYPE_FIFO, false},
	    {FD_GHOST, FD_TYPE__FD_TYPE_REG, false},
	    {FD_MEMFD, FD_TYPE__FD_TYPE_MEMFD, false},
	    {FD_EVENTFD, FD_TYPE__FD_TYPE_EVENTFD, true},
	    {FD_WPIPE, FD_TYPE__FD_TYPE_PIPE, false},
	    {FD_BIGMEM, FD_TYPE__FD_TYPE_MEMFD, false},
	    {FD_BIGMEM_RO, FD_TYPE__FD_TYPE_MEMFD, false},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		e = entry_of(ce, N_DUMPED, want[i].fd);
		CHECK(e && e->has_type && e->type == want[i].type, "fd %d type %d, want %d",
		      want[i].fd, e ? (int)e->type : -1, (int)want[i].type);
		CHECK(e && e->has_cloexec && e->cloexec == want[i].cloexec, "fd %d cloexec",
		      want[i].fd);
		CHECK(e && file_of(ctx, e)->type == want[i].type, "file type of fd %d", want[i].fd);
	}

	/* shared open file descriptions: dup, stdio, and every fd of the grandchild */
	CHECK(entry_of(ce, N_DUMPED, FD_APPEND)->file_id == entry_of(ce, N_DUMPED, FD_DUP)->file_id,
	      "dup'd fds have one file id");
	for (int i = 0; i < 3; i++)
		CHECK(entry_of(ce, N_DUMPED, i)->file_id ==
			  entry_of(ce, N_DUMPED, FD_NULL)->file_id,
		      "fd %d shares /dev/null", i);
	for (size_t i = 0; i < N_DUMPED; i++)
		CHECK(ce[i].fd == ge[i].fd && ce[i].file_id == ge[i].file_id &&
			  ge[i].cloexec == ce[i].cloexec,
		      "grandchild fd %d: file %u, child file %u", ge[i].fd, ge[i].file_id,
		      ce[i].file_id);
	/* 0-2 + FD_NULL, FD_APPEND + FD_DUP share: 19 fds, 15 files, none of them new in the
	 * grandchild; plus cwd and root */
	CHECK(fd_dump_ctx_n_files(ctx) == 17, "%zu files", fd_dump_ctx_n_files(ctx));
	CHECK(entry_of(ce, N_DUMPED, FD_PIPE_R)->file_id !=
		  entry_of(ce, N_DUMPED, FD_PIPE_W)->file_id,
	      "pipe ends are two files");
	CHECK(entry_of(ce, N_DUMPED, FD_APPEND)->file_id !=
		  entry_of(ce, N_DUMPED, FD_OPATH)->file_id,
	      "O_PATH open is its own file");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_APPEND));
	CHECK((fe->flags & (O_ACCMODE | O_APPEND | O_CLOEXEC)) == (O_WRONLY | O_APPEND),
	      "append flags 0%o", fe->flags);
	CHECK(fe->has_pos && fe->pos == 4, "append pos %lu", (unsigned long)fe->pos);
	check_path(fe, "append");
	CHECK(fe->reg->size == 10 && S_ISREG(fe->reg->mode) && (fe->reg->mode & 0777) == 0640 &&
		  !fe->reg->unlinked && fe->reg->has_mnt_id_old && fe->reg->mnt_id_old > 0,
	      "append reg record");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_SHARED));
	CHECK((fe->flags & O_ACCMODE) == O_RDWR && fe->pos == 3, "shared flags 0%o pos %lu",
	      fe->flags, (unsigned long)fe->pos);
	check_path(fe, "shared");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_DIR));
	CHECK(S_ISDIR(fe->reg->mode) && (fe->flags & O_DIRECTORY), "directory record");
	CHECK(strcmp(fe->reg->path, dir) == 0, "dir path '%s'", fe->reg->path);

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_OPATH));
	CHECK(fe->flags & O_PATH, "O_PATH flags 0%o", fe->flags);
	check_path(fe, "append");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_NULL));
	CHECK(fe->reg && strcmp(fe->reg->path, "/dev/null") == 0 && fe->reg->has_rdev &&
		  fe->reg->rdev == makedev(1, 3) && (fe->flags & O_ACCMODE) == O_RDWR,
	      "/dev/null record");

	{
		const FileEntry *r = file_of(ctx, entry_of(ce, N_DUMPED, FD_PIPE_R));
		const FileEntry *w = file_of(ctx, entry_of(ce, N_DUMPED, FD_PIPE_W));

		CHECK(r->pipe && w->pipe && r->pipe->pipe_id == w->pipe->pipe_id,
		      "pipe ends share a pipe id");
		CHECK((r->flags & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK) &&
			  (w->flags & O_ACCMODE) == O_WRONLY,
		      "pipe flags 0%o 0%o", r->flags, w->flags);
		CHECK(r->pipe->pipe_size == 65536, "pipe size %u", r->pipe->pipe_size);
		CHECK(data_is(c, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, r->pipe->pipe_id, "hello"),
		      "pipe data");
	}
	{
		const FileEntry *rw = file_of(ctx, entry_of(ce, N_DUMPED, FD_FIFO_RW));
		const FileEntry *r = file_of(ctx, entry_of(ce, N_DUMPED, FD_FIFO_R));

		CHECK(rw->pipe && r->pipe && rw->pipe->pipe_id == r->pipe->pipe_id,
		      "FIFO ends share a pipe id");
		check_path(rw, "fifo");
		check_path(r, "fifo");
		CHECK((r->flags & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK) &&
			  (rw->flags & O_ACCMODE) == O_RDWR,
		      "FIFO flags");
		CHECK(
		    data_is(c, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, r->pipe->pipe_id, "fifo-data"),
		    "FIFO data");
	}

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_GHOST));
	check_path(fe, "ghost");
	CHECK(fe->reg->unlinked && fe->reg->size == 14 && fe->pos == 6 &&
		  (fe->reg->mode & 0777) == 0604,
	      "unlinked record");
	CHECK(data_is(c, FILE_DATA_KIND__FILE_DATA_KIND_FILE, fe->id, "ghost contents"),
	      "unlinked contents");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_MEMFD));
	CHECK(fe->memfd && fe->memfd->name && strcmp(fe->memfd->name, "test-memfd") == 0,
	      "memfd name '%s'", fe->memfd && fe->memfd->name ? fe->memfd->name : "");
	CHECK(fe->memfd && fe->memfd->seals == (F_SEAL_SHRINK | F_SEAL_GROW) &&
		  fe->memfd->size == 14 && fe->pos == 2,
	      "memfd record");
	CHECK(data_is(c, FILE_DATA_KIND__FILE_DATA_KIND_FILE, fe->id, "memfd contents"),
	      "memfd contents");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_WPIPE));
	CHECK((fe->flags & O_ACCMODE) == O_WRONLY && fe->pipe &&
		  data_is(c, FILE_DATA_KIND__FILE_DATA_KIND_PIPE, fe->pipe->pipe_id, "orphan"),
	      "data of a pipe seen from its write end only");

	for (int fd = FD_BIGMEM; fd <= FD_BIGMEM_RO; fd++) {
		size_t n_chunks = 0, bytes = 0;
		bool ok = true;

		fe = file_of(ctx, entry_of(ce, N_DUMPED, fd));
		CHECK(fe->memfd && fe->memfd->size == BIG_OFF + BIG_LEN &&
			  fe->memfd->seals == F_SEAL_SEAL && strcmp(fe->memfd->name, "big") == 0,
		      "big memfd record of fd %d", fd);
		for (size_t i = 0; i < c->n; i++) {
			const FileDataEntry *d = &c->e[i];

			if (d->kind != FILE_DATA_KIND__FILE_DATA_KIND_FILE || d->owner_id != fe->id)
				continue;
			n_chunks++;
			bytes += d->data.len;
			for (size_t j = 0; j < d->data.len; j++) {
				long at_off = (long)(d->offset + j);
				unsigned char byte = at_off >= BIG_OFF ? big_byte(at_off - BIG_OFF)
						     : at_off < 4 ? (unsigned char)"head"[at_off]
								  : 0;

				ok = ok && d->data.data[j] == byte;
			}
		}
		CHECK(ok && n_chunks >= 3 && bytes < BIG_OFF + BIG_LEN,
		      "big memfd of fd %d: %zu chunks, %zu bytes, %s", fd, n_chunks, bytes,
		      ok ? "right bytes" : "wrong bytes");
	}
	CHECK(file_of(ctx, entry_of(ce, N_DUMPED, FD_BIGMEM_RO))->memfd->inode ==
		  file_of(ctx, entry_of(ce, N_DUMPED, FD_BIGMEM))->memfd->inode,
	      "one memfd inode");

	fe = file_of(ctx, entry_of(ce, N_DUMPED, FD_EVENTFD));
	CHECK(fe->eventfd && fe->eventfd->counter == 42 && !fe->eventfd->semaphore &&
		  (fe->flags & O_NONBLOCK),
	      "eventfd record");

	for (size_t i = 0; i < c->n; i++)
		CHECK(c->e[i].data.len <= FD_DATA_CHUNK_MAX, "chunk size");
}

/* The pipe and FIFO still hold their data after the dump. */
static void check_data_left(const struct fd_local *locals)
{
	for (size_t i = 0; i < N_DUMPED; i++) {
		int n = -1;

		if (locals[i].fd == FD_PIPE_R) {
			CHECK(ioctl(locals[i].local_fd, FIONREAD, &n) == 0 && n == 5,
			      "pipe holds %d bytes after the dump", n);
		}
		if (locals[i].fd == FD_FIFO_R) {
			CHECK(ioctl(locals[i].local_fd, FIONREAD, &n) == 0 && n == 9,
			      "FIFO holds %d bytes after the dump", n);
		}
	}
}

/* A second dump of the child with close-on-exec given (the parasite's way) gives the same
 * records, byte for byte, as the one through procfs. */
static void check_dump_with_cloexec_given(struct fd_dump_ctx *ctx, pid_t pid,
					  struct fd_local *locals, const FdEntry *ce,
					  const struct chunks *c)
{
	struct chunks c2 = {0};
	struct fd_dump_callbacks cb = {
	    .resolve_mount = resolve_mount, .data_sink = collect_data, .opaque = &c2};
	cleanup(fd_dump_ctx_freep) struct fd_dump_ctx *ctx2 = fd_dump_ctx_new(&cb);
	cleanup_free FdEntry *e2 = NULL;
	int r;

	for (size_t i = 0; i < N_DUMPED; i++)
		locals[i].cloexec = ce[i].cloexec;
	r = fd_dump_task(ctx2, pid, locals, N_DUMPED, &e2);
	for (size_t i = 0; i < N_DUMPED; i++)
		locals[i].cloexec = -1;
	CHECK(r == 0, "dump with cloexec given: %d", r);
	if (r < 0)
		return;
	CHECK(fd_dump_ctx_n_files(ctx2) == 15, "%zu files", fd_dump_ctx_n_files(ctx2));
	for (size_t i = 0; i < N_DUMPED; i++) {
		const FileEntry *a = fd_dump_ctx_file(ctx, ce[i].file_id - 1);
		const FileEntry *b = fd_dump_ctx_file(ctx2, e2[i].file_id - 1);
		uint8_t pa[PATH_MAX + 512], pb[PATH_MAX + 512];
		size_t la, lb;

		CHECK(memcmp(&ce[i], &e2[i], sizeof(ce[i])) == 0, "fd entry %d differs", ce[i].fd);
		if (!a || !b)
			continue;
		la = file_entry__pack(a, pa);
		lb = file_entry__pack(b, pb);
		CHECK(la == lb && memcmp(pa, pb, la) == 0, "file of fd %d differs", ce[i].fd);
	}
	CHECK(c2.n == c->n, "%zu data chunks, %zu before", c2.n, c->n);
	for (size_t i = 0; i < c2.n; i++)
		free(c2.e[i].data.data);
	free(c2.e);
}

static off_t pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static bool contents_are(int fd, const char *want)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static void check_restore(struct fd_dump_ctx *ctx, const FdEntry *ce, const struct chunks *c,
			  const FsEntry *fs)
{
	struct fd_restore_callbacks cb = {.mount_root = mount_root};
	cleanup(fd_restore_ctx_freep) struct fd_restore_ctx *rctx = fd_restore_ctx_new(&cb);
	int fds[64];
	size_t n = fd_dump_ctx_n_files(ctx);
	struct stat st;
	char buf[64];
	uint64_t counter;
	int fd, r;

	root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!rctx || root_fd < 0 || n > 64)
		die("restore setup");
	for (size_t i = 0; i < c->n; i++)
		if (fd_restore_ctx_add_data(rctx, &c->e[i]) < 0)
			die("add data");
	for (size_t i = 0; i < n; i++) {
		const FileEntry *fe = fd_dump_ctx_file(ctx, i);

		r = fd_restore_file(rctx, fe, &fds[fe->id]);
		CHECK(r == 0, "restore of file %u (type %d): %d", fe->id, (int)fe->type, r);
		if (r < 0)
			fds[fe->id] = -1;
		else
			CHECK(fcntl(fds[fe->id], F_GETFD) == FD_CLOEXEC, "restored fd is cloexec");
	}
	/* every file is open: the context removes the names it gave removed files */
	rctx = fd_restore_ctx_free(rctx);
#define RFD(x) fds[entry_of(ce, N_DUMPED, (x))->file_id]

	fd = RFD(FD_APPEND);
	CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND)) == (O_WRONLY | O_APPEND) &&
		  pos(fd) == 4,
	      "append fd: flags 0%o pos %ld", fcntl(fd, F_GETFL), (long)pos(fd));
	fd = RFD(FD_SHARED);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR && pos(fd) == 3 &&
		  contents_are(fd, "shared"),
	      "shared fd");
	fd = RFD(FD_DIR);
	CHECK(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && (fcntl(fd, F_GETFL) & O_DIRECTORY),
	      "dir fd");
	fd = RFD(FD_OPATH);
	CHECK((fcntl(fd, F_GETFL) & O_PATH) && fstat(fd, &st) == 0 && st.st_size == 10,
	      "O_PATH fd");
	fd = RFD(FD_NULL);
	CHECK(fstat(fd, &st) == 0 && st.st_rdev == makedev(1, 3) &&
		  (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR,
	      "/dev/null fd");

	fd = RFD(FD_PIPE_R);
	CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK),
	      "pipe read end flags 0%o", fcntl(fd, F_GETFL));
	CHECK(read(fd, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0, "pipe data back");
	CHECK((fcntl(RFD(FD_PIPE_W), F_GETFL) & O_ACCMODE) == O_WRONLY, "pipe write end flags");
	CHECK(write(RFD(FD_PIPE_W), "x", 1) == 1 && read(fd, buf, 1) == 1 && buf[0] == 'x',
	      "pipe ends are one pipe");

	fd = RFD(FD_FIFO_R);
	CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK),
	      "FIFO read end flags");
	CHECK(read(fd, buf, sizeof(buf)) == 9 && memcmp(buf, "fifo-data", 9) == 0,
	      "FIFO data back");
	CHECK((fcntl(RFD(FD_FIFO_RW), F_GETFL) & O_ACCMODE) == O_RDWR, "FIFO rw flags");
	CHECK(write(RFD(FD_FIFO_RW), "y", 1) == 1 && read(fd, buf, 1) == 1 && buf[0] == 'y',
	      "FIFO ends are one FIFO");

	fd = RFD(FD_GHOST);
	CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 14 &&
		  (st.st_mode & 0777) == 0604,
	      "unlinked file: nlink %lu size %ld mode 0%o", (unsigned long)st.st_nlink,
	      (long)st.st_size, st.st_mode);
	{
		char link[PATH_MAX], proc[64];
		ssize_t len;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		len = readlink(proc, link, sizeof(link) - 1);
		link[len < 0 ? 0 : len] = '\0';
		CHECK(len > 16 && strcmp(link + len - 16, "/ghost (deleted)") == 0,
		      "unlinked file shows '%s'", link);
	}
	CHECK(contents_are(fd, "ghost contents") && pos(fd) == 6 &&
		  (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR,
	      "unlinked file contents, offset");

	fd = RFD(FD_MEMFD);
	CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "memfd seals 0x%x",
	      fcntl(fd, F_GET_SEALS));
	CHECK(contents_are(fd, "memfd contents") && pos(fd) == 2, "memfd contents, offset");
	{
		char link[128], path[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		link[len > 0 ? len : 0] = '\0';
		CHECK(strcmp(link, "/memfd:test-memfd (deleted)") == 0, "memfd link '%s'", link);
	}

	fd = RFD(FD_WPIPE);
	{
		char path[64];
		int rfd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY && rfd >= 0 &&
			  read(rfd, buf, sizeof(buf)) == 6 && memcmp(buf, "orphan", 6) == 0,
		      "write-end-only pipe has its data back");
		close(rfd);
	}

	fd = RFD(FD_BIGMEM);
	{
		unsigned char *big = malloc(BIG_OFF + BIG_LEN);
		bool ok = big && pread(fd, big, BIG_OFF + BIG_LEN, 0) == BIG_OFF + BIG_LEN &&
			  memcmp(big, "head", 4) == 0;

		for (long i = 4; ok && i < BIG_OFF; i++)
			ok = big[i] == 0;
		for (long i = 0; ok && i < BIG_LEN; i++)
			ok = big[BIG_OFF + i] == big_byte(i);
		free(big);
		CHECK(ok, "big memfd contents");
		CHECK(fcntl(fd, F_GET_SEALS) == F_SEAL_SEAL, "big memfd cannot be sealed");
	}
	{
		struct stat a, b;

		CHECK(fstat(fd, &a) == 0 && fstat(RFD(FD_BIGMEM_RO), &b) == 0 &&
			  a.st_ino == b.st_ino && a.st_size == BIG_OFF + BIG_LEN &&
			  (fcntl(RFD(FD_BIGMEM_RO), F_GETFL) & O_ACCMODE) == O_RDONLY,
		      "read-only memfd file shares the restored inode");
	}

	fd = RFD(FD_EVENTFD);
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) && read(fd, &counter, sizeof(counter)) == 8 &&
		  counter == 42,
	      "eventfd counter");

	/* cwd and root */
	fd = fds[fs->cwd_file_id];
	CHECK(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && fchdir(fd) == 0, "cwd fd");
	CHECK(getcwd(buf, sizeof(buf)) && strcmp(buf, dir) == 0, "cwd is '%s'", buf);
	CHECK(chdir("/") == 0, "chdir");

	/* installing at the fd number with close-on-exec */
	r = fd_restore_install(
	    &(FdEntry){.fd = 100, .file_id = 1, .has_cloexec = true, .cloexec = true},
	    RFD(FD_APPEND));
	CHECK(r == 0 && fcntl(100, F_GETFD) == FD_CLOEXEC && pos(100) == 4, "install at 100");
	close(100);
#undef RFD
	for (size_t i = 1; i <= n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(root_fd);
}

/* A netlink socket makes the dump fail with one line naming the pid, fd, kind and link. */
static void check_unsupported(struct fd_dump_ctx *ctx, pid_t pid)
{
	int fdnum = FD_SOCKET, logfd = memfd_create("log", MFD_CLOEXEC);
	cleanup_free FdEntry *entries = NULL;
	struct fd_local *local = NULL;
	char want[128], log[1024] = "";
	struct stat st;
	ssize_t len;
	int r;

	if (logfd < 0 || fd_local_getfd(pid, &fdnum, 1, &local) < 0 ||
	    fstat(local[0].local_fd, &st) < 0)
		die("socket setup");
	log_init(LOG_ERROR, logfd);
	r = fd_dump_task(ctx, pid, local, 1, &entries);
	log_init(LOG_ERROR, -1);
	len = pread(logfd, log, sizeof(log) - 1, 0);
	log[len > 0 ? len : 0] = '\0';
	snprintf(want, sizeof(want),
		 "cannot dump fd %d of task %d: unsupported kind 'netlink socket' (socket:[%lu])",
		 FD_SOCKET, (int)pid, (unsigned long)st.st_ino);
	CHECK(r == -ENOTSUP, "socket dump returned %d", r);
	CHECK(strstr(log, want) != NULL, "log '%s' lacks '%s'", log, want);
	CHECK(strchr(log, '\n') == strrchr(log, '\n'), "one log line: '%s'", log);
	printf("unsupported fd message: %s", log);
	fd_local_free(local, 1);
	close(logfd);
}

/* Other kinds minicr does not dump name themselves the same way (fds of this process). */
static void check_unsupported_anon(struct fd_dump_ctx *ctx)
{
	struct io_uring_params ring = {0};
	struct perf_event_attr perf = {.type = PERF_TYPE_SOFTWARE,
				       .size = sizeof(perf),
				       .config = PERF_COUNT_SW_CPU_CLOCK,
				       .disabled = 1};
	union bpf_attr map = {
	    .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	struct {
		int fd;
		const char *kind, *link;
	} cases[] = {
	    {(int)syscall(SYS_userfaultfd, O_CLOEXEC), "userfaultfd", "anon_inode:[userfaultfd]"},
	    {(int)syscall(SYS_io_uring_setup, 4, &ring), "io_uring", "anon_inode:[io_uring]"},
	    {(int)syscall(SYS_perf_event_open, &perf, 0, -1, -1, PERF_FLAG_FD_CLOEXEC),
	     "perf_event", "anon_inode:[perf_event]"},
	    {(int)syscall(SYS_bpf, BPF_MAP_CREATE, &map, sizeof(map)), "bpf map",
	     "anon_inode:bpf-map"},
	};
	int logfd = memfd_create("log", MFD_CLOEXEC);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fd_local l = {.fd = cases[i].fd, .local_fd = cases[i].fd, .cloexec = 1};
		FdEntry *entries = NULL;
		char want[128], log[1024] = "";
		ssize_t len;
		int r;

		if (logfd < 0)
			die("log memfd");
		if (cases[i].fd < 0) {
			printf("cannot make a %s here (%s): not checked\n", cases[i].kind,
			       strerror(errno));
			continue;
		}
		if (ftruncate(logfd, 0) < 0 || lseek(logfd, 0, SEEK_SET) != 0)
			die("log reset");
		log_init(LOG_ERROR, logfd);
		r = fd_dump_task(ctx, getpid(), &l, 1, &entries);
		log_init(LOG_ERROR, -1);
		len = pread(logfd, log, sizeof(log) - 1, 0);
		log[len > 0 ? len : 0] = '\0';
		snprintf(want, sizeof(want),
			 "cannot dump fd %d of task %d: unsupported kind '%s' (%s)", cases[i].fd,
			 (int)getpid(), cases[i].kind, cases[i].link);
		CHECK(r == -ENOTSUP && strstr(log, want), "r %d log '%s' lacks '%s'", r, log, want);
		free(entries);
		close(cases[i].fd);
	}
	close(logfd);
}

static void kill_and_wait(pid_t pid)
{
	int pidfd = sys_pidfd_open(pid, 0);
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

	kill(pid, SIGKILL);
	if (pidfd >= 0) {
		/* a pidfd polls readable once the task has exited */
		(void)poll(&pfd, 1, 10000);
		close(pidfd);
	}
}

int main(void)
{
	struct fd_dump_callbacks cb = {.resolve_mount = resolve_mount, .data_sink = collect_data};
	cleanup(fd_dump_ctx_freep) struct fd_dump_ctx *ctx = NULL;
	cleanup_free FdEntry *child_entries = NULL, *gc_entries = NULL;
	cleanup_free int *listed = NULL;
	struct fd_local *locals = NULL, *gc_locals = NULL;
	struct chunks chunks = {0};
	FsEntry fs;
	pid_t child, grandchild;
	int n_listed, r, probe;

	/* 3 and 4 must be free for the sync pipe */
	for (int i = 3; i < 64; i++)
		close(i);
	probe = sys_pidfd_open(getpid(), 0);
	if (probe < 0)
		skip("pidfd_open is not available");
	close(probe);
	snprintf(dir, sizeof(dir), "/tmp/minicr-test-fds.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");

	child = start_child(&grandchild);
	cb.opaque = &chunks;
	ctx = fd_dump_ctx_new(&cb);
	if (!ctx)
		die("ctx");

	n_listed = fd_list(child, &listed);
	CHECK(n_listed == (int)N_DUMPED + 1, "child has %d fds", n_listed);
	for (int i = 0; i < n_listed && i < (int)N_DUMPED; i++)
		CHECK(listed[i] == dumped_fds[i], "fd list [%d] = %d", i, listed[i]);

	r = fd_local_getfd(child, dumped_fds, N_DUMPED, &locals);
	if (r == -EPERM || r == -EACCES)
		skip("pidfd_getfd is not permitted");
	if (r < 0)
		die("fd_local_getfd");
	if (fd_local_getfd(grandchild, dumped_fds, N_DUMPED, &gc_locals) < 0)
		die("fd_local_getfd");

	r = fd_dump_task(ctx, child, locals, N_DUMPED, &child_entries);
	CHECK(r == 0, "dump of the child: %d", r);
	/* the grandchild as the parasite would hand it over: close-on-exec known, so the
	 * offsets and flags of files come from the local copies instead of procfs */
	for (size_t i = 0; r == 0 && i < N_DUMPED; i++)
		gc_locals[i].cloexec = child_entries[i].cloexec;
	r = r ?: fd_dump_task(ctx, grandchild, gc_locals, N_DUMPED, &gc_entries);
	CHECK(r == 0, "dump of the grandchild: %d", r);
	r = r ?: fd_dump_fs(ctx, child, &fs);
	CHECK(r == 0, "dump of cwd and root: %d", r);
	if (r == 0) {
		const FileEntry *cwd = fd_dump_ctx_file(ctx, fs.cwd_file_id - 1);
		const FileEntry *root = fd_dump_ctx_file(ctx, fs.root_file_id - 1);

		CHECK(cwd && cwd->reg && strcmp(cwd->reg->path, dir) == 0, "cwd record");
		CHECK(root && root->reg && strcmp(root->reg->path, "/") == 0, "root record");
		CHECK(fs.has_umask, "umask");
		check_dump(ctx, child_entries, gc_entries, &chunks);
		check_data_left(locals);
		check_dump_with_cloexec_given(ctx, child, locals, child_entries, &chunks);
		check_data_left(locals);
	}
	check_unsupported(ctx, child);
	check_unsupported_anon(ctx);

	/* restore as after a real dump: the tree and every copy of its fds are gone, so the
	 * pipe and FIFO buffers exist only in the records */
	fd_local_free(locals, N_DUMPED);
	fd_local_free(gc_locals, N_DUMPED);
	kill_and_wait(grandchild);
	kill_and_wait(child);
	waitpid(child, NULL, 0);
	if (r == 0)
		check_restore(ctx, child_entries, &chunks, &fs);
	for (size_t i = 0; i < chunks.n; i++)
		free(chunks.e[i].data.data);
	free(chunks.e);
	{
		char path[128];
		const char *names[] = {"append", "shared", "fifo"};

		for (size_t i = 0; i < 3; i++) {
			path_in_dir(path, sizeof(path), names[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	if (check_failures) {
		printf("test-fds: %d checks failed\n", check_failures);
		return 1;
	}
	printf("test-fds: all checks passed\n");
	return 0;
}
