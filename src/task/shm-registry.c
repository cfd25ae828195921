/* shm-registry.c: one shared-memory object per dumped identity (see shm-registry.h). */
#define LOG_PREFIX "resume: "
#include "task/shm-registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "image.h"

#define PAGE_SIZE_BYTES 4096ull

struct shm_obj {
	uint64_t shmid;
	int fd;		 /* in minicr, inherited by the tasks it forks */
	uint64_t size;
	dev_t dev;
	ino_t ino;
};

struct shm_registry {
	struct shm_obj *objs;
	size_t n_objs;
	pid_t owner_pid; /* minicr's pid, for /proc/PID/fd/N */
};

struct shm_registry *shm_registry_new(void)
{
	struct shm_registry *reg = calloc(1, sizeof(*reg));

	if (reg)
		reg->owner_pid = getpid();
	return reg;
}

struct shm_registry *shm_registry_free(struct shm_registry *reg)
{
	if (!reg)
		return NULL;
	for (size_t i = 0; i < reg->n_objs; i++)
		close(reg->objs[i].fd);
	free(reg->objs);
	free(reg);
	return NULL;
}

static int shm_create(const VmaEntry *v, uint64_t size, struct shm_obj *o)
{
	struct stat st;
	int fd;

	if (v->flags & MAP_ANONYMOUS) {
		/* a real shared anonymous object, so maps keeps saying "/dev/zero (deleted)";
		 * map_files hands out an fd on it */
		char path[64];
		void *p =
		    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return pr_errno("cannot create shared memory of %" PRIu64 " bytes", size);
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
			 (unsigned long)p + size);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = pr_errno("cannot open '%s'", path);
		munmap(p, size);
		if (fd < 0)
			return fd;
	} else {
		fd = memfd_create(v->path + 7, MFD_CLOEXEC); /* "/memfd:NAME": "memfd:" is added */
		if (fd < 0)
			return pr_errno("cannot create a memfd for '%s'", v->path);
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return pr_errno("cannot stat shared memory of %" PRIu64 " bytes", size);
	}
	*o = (struct shm_obj){
	    .shmid = v->shmid, .fd = fd, .size = size, .dev = st.st_dev, .ino = st.st_ino};
	return 0;
}

int shm_registry_get(struct shm_registry *reg, const VmaEntry *v, int *ret_idx)
{
	uint64_t size = v->pgoff + (v->end - v->start);
	struct shm_obj *o;
	size_t i;
	int ret;

	for (i = 0; i < reg->n_objs; i++)
		if (reg->objs[i].shmid == v->shmid)
			break;
	if (i == reg->n_objs) {
		struct shm_obj *bigger = reallocarray(reg->objs, reg->n_objs + 1, sizeof(*bigger));

		if (!bigger)
			return pr_neg(-ENOMEM, "cannot allocate shared memory objects");
		reg->objs = bigger;
		ret = shm_create(v, size, &reg->objs[i]);
		if (ret < 0)
			return ret;
		reg->n_objs++;
	}
	o = &reg->objs[i];
	if (size > o->size) {
		if (ftruncate(o->fd, (off_t)size) < 0)
			return pr_errno("cannot grow shared memory of mapping %" PRIx64, v->start);
		o->size = size;
	}
	*ret_idx = (int)i;
	return 0;
}

int shm_registry_find(const struct shm_registry *reg, uint64_t shmid)
{
	for (size_t i = 0; i < reg->n_objs; i++)
		if (reg->objs[i].shmid == shmid)
			return (int)i;
	return -ENOENT;
}

int shm_registry_fill(struct shm_registry *reg, int idx, pid_t pid, int pages_fd,
		      const VmaEntry *v, PageRunEntry *const *runs, size_t n_runs)
{
	const struct shm_obj *o = &reg->objs[idx];
	cleanup_free uint8_t *buf = NULL;
	const size_t chunk = 4u << 20;

	for (size_t i = 0; i < n_runs; i++) {
		const PageRunEntry *r = runs[i];
		uint64_t left = r->nr_pages * PAGE_SIZE_BYTES;
		uint64_t src = r->file_off + IMAGE_RAW_DATA_OFFSET;
		uint64_t dst = r->vaddr - v->start + v->pgoff;

		if (r->vaddr < v->start || r->vaddr >= v->end)
			continue;
		if (!buf && !(buf = malloc(chunk)))
			return pr_neg(-ENOMEM, "cannot allocate a copy buffer");
		while (left) {
			size_t n = left < chunk ? (size_t)left : chunk;

			if (pread(pages_fd, buf, n, (off_t)src) != (ssize_t)n)
				return pr_errno("cannot read shared pages of task %d", (int)pid);
			if (pwrite(o->fd, buf, n, (off_t)dst) != (ssize_t)n)
				return pr_errno("cannot fill shared memory of task %d", (int)pid);
			left -= n;
			src += n;
			dst += n;
		}
	}
	return 0;
}

static bool is_inherited(const struct shm_obj *o)
{
	struct stat st;

	return fstat(o->fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino;
}

int shm_registry_open(const struct shm_registry *reg, int idx)
{
	const struct shm_obj *o = &reg->objs[idx];
	struct stat st;
	char path[64];
	int fd;

	if (is_inherited(o)) {
		/* a copy: the inherited fd is closed on its own, and tasks sharing one fd table
		 * must not close each other's */
		fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return pr_errno("cannot duplicate the fd of shared memory %d", idx);
		return fd;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)reg->owner_pid, o->fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot reach shared memory through '%s' (keep minicr's fd %d open "
				"or its /proc entry visible)",
				path, o->fd);
	if (fstat(fd, &st) < 0 || st.st_dev != o->dev || st.st_ino != o->ino) {
		close(fd);
		pr_err("'%s' is not the shared memory object minicr created", path);
		return -ESTALE;
	}
	return fd;
}

void shm_registry_close_inherited(const struct shm_registry *reg, const int *keep, size_t n_keep)
{
	for (size_t i = 0; i < reg->n_objs; i++) {
		bool is_kept = false;

		/* an fd opened since may have taken the number of one minicr's was closed at */
		for (size_t k = 0; k < n_keep && !is_kept; k++)
			is_kept = keep[k] == reg->objs[i].fd;
		if (!is_kept && is_inherited(&reg->objs[i]))
			close(reg->objs[i].fd);
	}
}
