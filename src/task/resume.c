/* resume.c: load the memory/core images of a process, build the bootstrap region inside the
 * restored process and jump to the restorer blob, and finish from the tracer side (remove the
 * region, detach). The protocol is described in resume.h. */
#define LOG_PREFIX "resume: "
#include "task/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parasite/restorer-abi.h"
#include "base/compat.h"
#include "core.pb-c.h"
#include "base/direct-io.h"
#include "image-read.h"
#include "base/log.h"
#include "task/dump-mm.h"
#include "task/mm-parse.h"
#include "mm.pb-c.h"
#include "restorer-blob.h"
#include "task/resume-internal.h"
#include "task/sigframe.h"
#include "task/xstate.h"
#include "base/util.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

#define PAGE_SIZE_BYTES 4096ull
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE_BYTES - 1) & ~(PAGE_SIZE_BYTES - 1))
#define TASK_SIZE_MAX	0x7ffffffff000ull
#define HOLE_LOW	0x10000ull
#define MAIN_STACK_SIZE (64ull << 10)
#define SEIZE_WAIT_MS	60000
#define SPECIAL_KINDS	3 /* vvar, vvar_vclock, vdso */
/* Runs this long or longer are read with O_DIRECT where the file system allows it. From a cold
 * image (a direct dump leaves none of it cached) one direct read of a long run into fresh memory
 * ran at ~2 GB/s on the VM this was measured on, while buffered reads, which fill the page cache
 * first, ran at 0.4-0.9 GB/s; below about 1 MiB, buffered reads with readahead do as well. */
#define DIRECT_RUN_MIN (1ull << 20)

/* ---- load and validate ---------------------------------------------------------------------- */

static bool vma_is_special(const VmaEntry *v)
{
	return v->kind == VMA_KIND_VVAR || v->kind == VMA_KIND_VVAR_VCLOCK ||
	       v->kind == VMA_KIND_VDSO;
}

static bool vma_has_pages(const VmaEntry *v)
{
	return v->kind == VMA_KIND_ANON || v->kind == VMA_KIND_FILE_PRIVATE ||
	       v->kind == VMA_KIND_SHMEM;
}

static int validate_mm(const struct resume_task *rt, const char *name)
{
	const MmEntry *mm = rt->mm;
	uint64_t prev_end = 0;

	if (mm->pid != rt->pid || mm->n_vmas == 0) {
		pr_err("image '%s': wrong pid or no mappings", name);
		return -EBADMSG;
	}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->start >= v->end || (v->start | v->end) & (PAGE_SIZE_BYTES - 1) ||
		    v->start < prev_end || v->end > TASK_SIZE_MAX || v->start < HOLE_LOW / 16) {
			pr_err("image '%s': mapping %zu (%" PRIx64 "-%" PRIx64 ") is out of order "
			       "or out of range",
			       name, i, v->start, v->end);
			return -EBADMSG;
		}
		if (!v->has_kind || v->kind == VMA_KIND_UNKNOWN || v->kind >= VMA_KIND_VSYSCALL) {
			pr_err("image '%s': mapping %" PRIx64 "-%" PRIx64
			       " has an unsupported kind",
			       name, v->start, v->end);
			return -EBADMSG;
		}
		if ((v->kind == VMA_KIND_FILE_PRIVATE || v->kind == VMA_KIND_FILE_SHARED) &&
		    (!v->path || v->path[0] != '/')) {
			pr_err("image '%s': file mapping %" PRIx64 " has no absolute path", name,
			       v->start);
			return -EBADMSG;
		}
		if (v->pgoff & (PAGE_SIZE_BYTES - 1)) {
			pr_err("image '%s': mapping %" PRIx64 " has an unaligned offset", name,
			       v->start);
			return -EBADMSG;
		}
		prev_end = v->end;
	}
	if (mm->n_auxv % 2 || mm->n_auxv > 128) {
		pr_err("image '%s': bad auxv", name);
		return -EBADMSG;
	}
	return 0;
}

static int validate_runs(const struct resume_task *rt, const char *name)
{
	size_t vi = 0;

	for (size_t i = 0; i < rt->n_runs; i++) {
		const PageRunEntry *r = rt->runs[i];
		uint64_t len = r->nr_pages * PAGE_SIZE_BYTES;

		if (!r->nr_pages || r->nr_pages > (TASK_SIZE_MAX / PAGE_SIZE_BYTES) ||
		    r->vaddr & (PAGE_SIZE_BYTES - 1) || !r->has_file_off ||
		    r->file_off > rt->pages_size || len > rt->pages_size - r->file_off) {
			pr_err("image '%s': page run %zu is malformed or beyond the pages image",
			       name, i);
			return -EBADMSG;
		}
		/* runs come in address order: walk the VMAs along */
		while (vi < rt->mm->n_vmas && rt->mm->vmas[vi]->end <= r->vaddr)
			vi++;
		if (vi == rt->mm->n_vmas || r->vaddr < rt->mm->vmas[vi]->start ||
		    r->vaddr + len > rt->mm->vmas[vi]->end || !vma_has_pages(rt->mm->vmas[vi])) {
			pr_err("image '%s': page run %zu at 0x%" PRIx64 " is not inside a mapping "
			       "that holds pages",
			       name, i, r->vaddr);
			return -EBADMSG;
		}
	}
	return 0;
}

static int validate_core(const struct resume_task *rt, const char *name)
{
	const TaskCoreEntry *core = rt->core;

	if (core->pid != rt->pid || core->n_threads == 0 || core->threads[0]->tid != rt->pid) {
		pr_err("image '%s': wrong pid or no main thread", name);
		return -EBADMSG;
	}
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCoreEntry *t = core->threads[i];

		if (!t->has_gpregs || t->gpregs.len != sizeof(struct user_regs_struct) ||
		    !t->has_xstate || !sigframe_size(t->xstate.len) ||
		    t->xstate.len != core->threads[0]->xstate.len || t->tid <= 0) {
			pr_err("image '%s': thread %d has malformed registers or xstate", name,
			       t->tid);
			return -EBADMSG;
		}
		for (size_t j = 0; j < t->n_pending_signals; j++)
			if (t->pending_signals[j].len != 128) {
				pr_err("image '%s': bad pending signal of thread %d", name, t->tid);
				return -EBADMSG;
			}
	}
	for (size_t j = 0; j < core->n_shared_pending_signals; j++)
		if (core->shared_pending_signals[j].len != 128) {
			pr_err("image '%s': bad shared pending signal", name);
			return -EBADMSG;
		}
	for (size_t j = 0; j < core->n_sigactions; j++)
		if (core->sigactions[j]->signo < 1 || core->sigactions[j]->signo > RESTORER_NSIG) {
			pr_err("image '%s': bad signal number in a signal action", name);
			return -EBADMSG;
		}
	for (size_t j = 0; j < core->n_seccomp_filters; j++)
		if (!core->seccomp_filters[j].len || core->seccomp_filters[j].len % 8 ||
		    core->seccomp_filters[j].len / 8 > 4096) {
			pr_err("image '%s': bad seccomp filter", name);
			return -EBADMSG;
		}
	if (core->creds && (core->creds->n_uids != 4 || core->creds->n_gids != 4 ||
			    core->creds->n_groups > RESTORER_MAX_GROUPS)) {
		pr_err("image '%s': bad credentials", name);
		return -EBADMSG;
	}
	return 0;
}

/* The restoring process moves its own vvar/vdso into the dumped place: same sizes only. */
static int check_special_layout(const struct resume_task *rt)
{
	cleanup_free struct mm_vma *own = NULL;
	size_t n_own = 0;
	int ret = mem_read_vmas(0, &own, &n_own);

	if (ret < 0)
		return ret;
	for (enum vma_kind k = VMA_KIND_VVAR; k <= VMA_KIND_VDSO; k++) {
		uint64_t theirs = 0, ours = 0;

		for (size_t i = 0; i < rt->mm->n_vmas; i++)
			if (rt->mm->vmas[i]->kind == k)
				theirs += rt->mm->vmas[i]->end - rt->mm->vmas[i]->start;
		for (size_t i = 0; i < n_own; i++)
			if (own[i].kind == k)
				ours += own[i].end - own[i].start;
		if (theirs != ours) {
			pr_err("cannot restore task %d: its vdso layout differs from this kernel's "
			       "(dumped on another kernel?)",
			       (int)rt->pid);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int load_runs(int img_dirfd, struct resume_task *rt)
{
	cleanup(image_reader_freep) struct image_reader *r = NULL;
	size_t cap = 0;
	int ret;

	ret = image_reader_open(img_dirfd, IMAGE_PAGEMAP, (uint64_t)rt->pid, &r);
	if (ret == -ENOENT)
		return pr_neg(ret, "image pagemap-%d.img is missing", (int)rt->pid);
	if (ret < 0)
		return ret;
	for (;;) {
		ProtobufCMessage *msg = NULL;

		ret = image_read_entry(r, &msg);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		if (rt->n_runs == cap) {
			PageRunEntry **bigger;

			cap = cap ? cap * 2 : 64;
			bigger = realloc(rt->runs, cap * sizeof(*bigger));
			if (!bigger) {
				protobuf_c_message_free_unpacked(msg, NULL);
				return pr_neg(-ENOMEM, "cannot allocate page runs");
			}
			rt->runs = bigger;
		}
		rt->runs[rt->n_runs++] = (PageRunEntry *)msg;
	}
	return 0;
}

/* ---- shared memory: one object per dumped identity, created in minicr --------------------- */

/* Shared memory (MAP_SHARED anonymous, memfd) must be one object for every process that maps
 * it. minicr creates each object while loading, fills it from the pages image of the process
 * that dumped it, and keeps an fd; the restored processes inherit that fd through fork, or
 * open it through /proc/<minicr>/fd when the fd engine closed it. */
struct shm_obj {
	uint64_t shmid;
	int fd;		 /* in minicr, inherited by the tasks it forks */
	pid_t owner_pid; /* minicr's pid, for /proc/PID/fd/N */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	unsigned int refs;
};
static struct shm_obj *shm_objs;
static size_t n_shm_objs;

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
		return pr_errno("cannot stat shared memory '%s'", v->path);
	}
	*o = (struct shm_obj){.shmid = v->shmid,
			      .fd = fd,
			      .owner_pid = getpid(),
			      .size = size,
			      .dev = st.st_dev,
			      .ino = st.st_ino};
	return 0;
}

static int shm_get(const VmaEntry *v, int *ret_idx)
{
	uint64_t size = v->pgoff + (v->end - v->start);
	struct shm_obj *bigger;
	size_t i;
	int ret;

	for (i = 0; i < n_shm_objs; i++)
		if (shm_objs[i].refs && shm_objs[i].shmid == v->shmid)
			break;
	if (i == n_shm_objs) {
		bigger = realloc(shm_objs, (n_shm_objs + 1) * sizeof(*bigger));
		if (!bigger)
			return pr_neg(-ENOMEM, "cannot allocate shared memory objects");
		shm_objs = bigger;
		ret = shm_create(v, size, &shm_objs[i]);
		if (ret < 0)
			return ret;
		n_shm_objs++;
	}
	if (size > shm_objs[i].size) {
		if (ftruncate(shm_objs[i].fd, (off_t)size) < 0)
			return pr_errno("cannot grow shared memory '%s'", v->path);
		shm_objs[i].size = size;
	}
	shm_objs[i].refs++;
	*ret_idx = (int)i;
	return 0;
}

static void shm_put(int idx)
{
	if (idx < 0 || (size_t)idx >= n_shm_objs || !shm_objs[idx].refs)
		return;
	if (--shm_objs[idx].refs == 0)
		close(shm_objs[idx].fd);
}

/* Copies the dumped pages of a shared VMA into its object (once, from the dumping process). */
static int shm_fill(const struct resume_task *rt, int pages_fd, const VmaEntry *v,
		    const struct shm_obj *o)
{
	cleanup_free uint8_t *buf = NULL;
	const size_t chunk = 4u << 20;

	for (size_t i = 0; i < rt->n_runs; i++) {
		const PageRunEntry *r = rt->runs[i];
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
				return pr_errno("cannot read shared pages of task %d",
						(int)rt->pid);
			if (pwrite(o->fd, buf, n, (off_t)dst) != (ssize_t)n)
				return pr_errno("cannot fill shared memory of task %d",
						(int)rt->pid);
			left -= n;
			src += n;
			dst += n;
		}
	}
	return 0;
}

static int load_shared(int img_dirfd, struct resume_task *rt)
{
	cleanup_close int pages_fd = -EBADF;
	char name[IMAGE_NAME_MAX];
	int ret;

	rt->shm_idx = malloc(rt->mm->n_vmas * sizeof(int));
	if (!rt->shm_idx)
		return pr_neg(-ENOMEM, "cannot allocate shared memory indices");
	for (size_t i = 0; i < rt->mm->n_vmas; i++)
		rt->shm_idx[i] = -1;
	for (size_t i = 0; i < rt->mm->n_vmas; i++) {
		const VmaEntry *v = rt->mm->vmas[i];

		if (v->kind != VMA_KIND_SHMEM)
			continue;
		if (!v->has_shmid ||
		    (!(v->flags & MAP_ANONYMOUS) && strncmp(v->path, "/memfd:", 7))) {
			pr_err("cannot restore task %d: shared mapping %" PRIx64 " has no identity",
			       (int)rt->pid, v->start);
			return -EBADMSG;
		}
		ret = shm_get(v, &rt->shm_idx[i]);
		if (ret < 0)
			return ret;
		if (v->has_shm_owner && v->shm_owner != rt->pid)
			continue;
		if (pages_fd < 0) {
			(void)image_file_name(IMAGE_PAGES, (uint64_t)rt->pid, name, sizeof(name));
			pages_fd = openat(img_dirfd, name, O_RDONLY | O_CLOEXEC);
			if (pages_fd < 0)
				return pr_errno("cannot open image '%s'", name);
		}
		ret = shm_fill(rt, pages_fd, v, &shm_objs[rt->shm_idx[i]]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* In the restored task: the fd of shared object idx, or -errno (logged). *ret_inherited tells
 * whether it is minicr's inherited fd (to be closed, not opened). */
static int shm_open_in_task(int idx, bool *ret_inherited)
{
	const struct shm_obj *o = &shm_objs[idx];
	struct stat st;
	char path[64];
	int fd;

	if (fstat(o->fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino) {
		*ret_inherited = true;
		return o->fd;
	}
	*ret_inherited = false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)o->owner_pid, o->fd);
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

/* Whether the task reads its long runs with O_DIRECT. Decided here, in minicr, where it can be
 * logged: a restored task's stderr is the restored program's. Returns 0 or -errno (logged). */
static int choose_pages_io(int img_dirfd, struct resume_task *rt)
{
	cleanup_close int fd = -EBADF, direct_fd = -EBADF;
	char name[IMAGE_NAME_MAX];
	bool has_long_run = false;

	/* a small image was written through the page cache and is likely still there */
	if (rt->pages_size < DIRECT_IO_PAGES_MIN)
		return 0;
	for (size_t i = 0; i < rt->n_runs && !has_long_run; i++)
		has_long_run = rt->runs[i]->nr_pages * PAGE_SIZE_BYTES >= DIRECT_RUN_MIN;
	if (!has_long_run)
		return 0;
	(void)image_file_name(IMAGE_PAGES, (uint64_t)rt->pid, name, sizeof(name));
	fd = openat(img_dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open image '%s'", name);
	direct_fd = direct_io_reopen(img_dirfd, name, fd, O_RDONLY);
	if (direct_fd < 0 && direct_fd != -EOPNOTSUPP)
		return direct_fd;
	rt->has_direct_pages = direct_fd >= 0;
	pr_debug("image '%s': %s", name,
		 rt->has_direct_pages ? "runs of 1 MiB and more read with O_DIRECT"
				      : "buffered reads");
	return 0;
}

int resume_task_load(int img_dirfd, pid_t pid, struct resume_task **ret_task)
{
	cleanup(resume_task_freep) struct resume_task *rt = NULL;
	cleanup(image_reader_freep) struct image_reader *pages = NULL;
	char name[IMAGE_NAME_MAX];
	int ret;

	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return pr_neg(-ENOMEM, "cannot allocate the resume state of task %d", (int)pid);
	rt->pid = pid;
	rt->img_dirfd = img_dirfd;
	rt->path_root_fd = -EBADF;
	rt->is_seized_flag =
	    mmap(NULL, PAGE_SIZE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rt->is_seized_flag == MAP_FAILED) {
		rt->is_seized_flag = NULL;
		return pr_errno("cannot map the seize flag of task %d", (int)pid);
	}
	ret =
	    image_read_single(img_dirfd, IMAGE_CORE, (uint64_t)pid, (ProtobufCMessage **)&rt->core);
	if (ret == -ENOENT)
		return pr_neg(ret, "image core-%d.img is missing", (int)pid);
	if (ret < 0)
		return ret;
	ret = image_read_single(img_dirfd, IMAGE_MM, (uint64_t)pid, (ProtobufCMessage **)&rt->mm);
	if (ret == -ENOENT)
		return pr_neg(ret, "image mm-%d.img is missing", (int)pid);
	if (ret < 0)
		return ret;
	ret = load_runs(img_dirfd, rt);
	if (ret < 0)
		return ret;
	ret = image_reader_open(img_dirfd, IMAGE_PAGES, (uint64_t)pid, &pages);
	if (ret == -ENOENT)
		return pr_neg(ret, "image pages-%d.img is missing", (int)pid);
	if (ret < 0)
		return ret;
	ret = image_reader_raw_size(pages, &rt->pages_size);
	if (ret < 0)
		return ret;

	(void)image_file_name(IMAGE_CORE, (uint64_t)pid, name, sizeof(name));
	ret = validate_core(rt, name);
	if (ret < 0)
		return ret;
	(void)image_file_name(IMAGE_MM, (uint64_t)pid, name, sizeof(name));
	ret = validate_mm(rt, name);
	if (ret < 0)
		return ret;
	(void)image_file_name(IMAGE_PAGEMAP, (uint64_t)pid, name, sizeof(name));
	ret = validate_runs(rt, name);
	if (ret < 0)
		return ret;
	ret = check_special_layout(rt);
	if (ret < 0)
		return ret;
	ret = choose_pages_io(img_dirfd, rt);
	if (ret < 0)
		return ret;
	ret = load_shared(img_dirfd, rt);
	if (ret < 0)
		return ret;
	*ret_task = TAKE_PTR(rt);
	return 0;
}

struct resume_task *resume_task_free(struct resume_task *rt)
{
	if (!rt)
		return NULL;
	if (rt->shm_idx)
		for (size_t i = 0; i < rt->mm->n_vmas; i++)
			shm_put(rt->shm_idx[i]);
	free(rt->shm_idx);
	if (rt->core)
		task_core_entry__free_unpacked(rt->core, NULL);
	if (rt->mm)
		mm_entry__free_unpacked(rt->mm, NULL);
	for (size_t i = 0; i < rt->n_runs; i++)
		page_run_entry__free_unpacked(rt->runs[i], NULL);
	free(rt->runs);
	if (rt->is_seized_flag)
		munmap(rt->is_seized_flag, PAGE_SIZE_BYTES);
	free(rt);
	return NULL;
}

void resume_task_freep(struct resume_task **rt)
{
	*rt = resume_task_free(*rt);
}

void resume_task_set_img_dirfd(struct resume_task *rt, int img_dirfd)
{
	rt->img_dirfd = img_dirfd;
}

void resume_task_set_leave_stopped(struct resume_task *rt, bool leave_stopped)
{
	rt->leave_stopped = leave_stopped;
}

void resume_task_set_fs(struct resume_task *rt, int root_fd, int (*enter)(void *opaque),
			void *opaque)
{
	rt->path_root_fd = root_fd;
	rt->enter_fs = enter;
	rt->enter_opaque = opaque;
}

/* A dumped path (absolute in the task's mount namespace) opened beneath the namespace's root
 * when resume_task_set_fs() gave one; -1 with errno otherwise. */
static int open_in_task_root(const struct resume_task *rt, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};

	if (rt->path_root_fd < 0)
		return open(path, flags | O_CLOEXEC);
	return (int)syscall(__NR_openat2, rt->path_root_fd, path, &how, sizeof(how));
}

/* ---- enter: inside the restored process ---------------------------------------------------- */

/* The bootstrap region: blob | args and tables | sigframes | main stack | thread stacks | park. */
struct region {
	uint8_t *base;
	uint64_t len;
	uint64_t args, frames, main_stack_top, thread_stacks, park;
	size_t frame_size;
	/* bump allocator inside the args part */
	uint64_t cursor, args_end;
};

static void *region_alloc(struct region *r, size_t size)
{
	uint64_t addr = (r->cursor + 15) & ~15ull;

	if (addr + size > r->args_end)
		return NULL;
	r->cursor = addr + size;
	return (void *)(uintptr_t)addr;
}

/* Helper fds the blob closes after PR_SET_MM_MAP. */
struct helper_fds {
	int fds[1024];
	char *paths[1024];
	int modes[1024];
	size_t n;
};

static void helper_fds_close(struct helper_fds *h)
{
	for (size_t i = 0; i < h->n; i++) {
		close(h->fds[i]);
		free(h->paths[i]);
	}
	h->n = 0;
}

static int helper_add(struct helper_fds *h, int fd, const char *path, int mode)
{
	if (h->n == ARRAY_SIZE(h->fds)) {
		close(fd);
		pr_err("too many files mapped by the restored task");
		return -EMFILE;
	}
	h->fds[h->n] = fd;
	h->paths[h->n] = path ? strdup(path) : NULL;
	h->modes[h->n] = mode;
	h->n++;
	return fd;
}

static int helper_open(const struct resume_task *rt, struct helper_fds *h, const char *path,
		       int mode)
{
	int fd;

	for (size_t i = 0; i < h->n; i++)
		if (h->paths[i] && h->modes[i] == mode && !strcmp(h->paths[i], path))
			return h->fds[i];
	fd = open_in_task_root(rt, path, mode);
	if (fd < 0)
		return pr_errno("cannot open '%s' to map it", path);
	return helper_add(h, fd, path, mode);
}

/* The fd of the shared object of VMA i in this task, registered as a helper (closed by the
 * blob after mapping). */
static int shmem_fd(struct resume_task *rt, struct helper_fds *h, size_t i)
{
	int idx = rt->shm_idx[i];
	char key[64];
	bool is_inherited;
	int fd;

	snprintf(key, sizeof(key), "shmem:%d", idx);
	for (size_t j = 0; j < h->n; j++)
		if (h->paths[j] && !strcmp(h->paths[j], key))
			return h->fds[j];
	fd = shm_open_in_task(idx, &is_inherited);
	if (fd < 0)
		return fd;
	return helper_add(h, fd, key, 0);
}

/* minicr's other shared objects that this task inherited but does not map: close them now,
 * they are no fds of the restored process. */
static void close_foreign_shm_fds(const struct resume_task *rt)
{
	for (size_t k = 0; k < n_shm_objs; k++) {
		const struct shm_obj *o = &shm_objs[k];
		struct stat st;
		bool is_used = false;

		for (size_t i = 0; i < rt->mm->n_vmas; i++)
			if (rt->shm_idx[i] == (int)k)
				is_used = true;
		if (!is_used && o->refs && fstat(o->fd, &st) == 0 && st.st_dev == o->dev &&
		    st.st_ino == o->ino)
			close(o->fd);
	}
}

static bool vma_gets_pages(const struct resume_task *rt, const VmaEntry *v)
{
	for (size_t i = 0; i < rt->n_runs; i++)
		if (rt->runs[i]->vaddr >= v->start && rt->runs[i]->vaddr < v->end)
			return true;
	return false;
}

static int fill_vmas(struct resume_task *rt, struct region *r, struct restorer_args *a,
		     struct helper_fds *h)
{
	const MmEntry *mm = rt->mm;
	struct restorer_vma *vmas = region_alloc(r, mm->n_vmas * sizeof(*vmas));

	if (!vmas)
		return -ENOSPC;
	a->vmas = (uint64_t)(uintptr_t)vmas;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		struct restorer_vma *rv = &vmas[a->n_vmas];
		int fd = -1;

		if (vma_is_special(v))
			continue;
		memset(rv, 0, sizeof(*rv));
		rv->start = v->start;
		rv->end = v->end;
		rv->pgoff = v->pgoff;
		rv->prot = v->prot;
		rv->map_flags = v->flags;
		rv->madvise = v->madvise;
		rv->needs_fill = vma_gets_pages(rt, v);
		switch (v->kind) {
		case VMA_KIND_FILE_PRIVATE:
			fd = helper_open(rt, h, v->path, O_RDONLY);
			break;
		case VMA_KIND_FILE_SHARED:
			fd = helper_open(rt, h, v->path, v->prot & PROT_WRITE ? O_RDWR : O_RDONLY);
			break;
		case VMA_KIND_SHMEM:
			/* the object is minicr's, already filled: map it as a file */
			rv->map_flags &= ~(uint32_t)MAP_ANONYMOUS;
			rv->needs_fill = 0;
			fd = shmem_fd(rt, h, i);
			break;
		default:
			break;
		}
		if (fd < -1)
			return fd;
		rv->fd = fd;
		a->n_vmas++;
	}
	return 0;
}

static int fill_runs(struct resume_task *rt, struct region *r, struct restorer_args *a,
		     struct helper_fds *h)
{
	struct restorer_run *runs = region_alloc(r, rt->n_runs * sizeof(*runs));
	char name[IMAGE_NAME_MAX];
	int fd, direct_fd = -EBADF;

	if (!runs && rt->n_runs)
		return -ENOSPC;
	(void)image_file_name(IMAGE_PAGES, (uint64_t)rt->pid, name, sizeof(name));
	fd = openat(rt->img_dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open image '%s'", name);
	fd = helper_add(h, fd, NULL, 0);
	if (fd < 0)
		return fd;
	if (rt->has_direct_pages) {
		direct_fd = openat(rt->img_dirfd, name, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (direct_fd < 0)
			return pr_errno("cannot open image '%s' with O_DIRECT", name);
		direct_fd = helper_add(h, direct_fd, NULL, 0);
		if (direct_fd < 0)
			return direct_fd;
	}
	a->pages_fd = fd;
	a->runs = (uint64_t)(uintptr_t)runs;
	for (size_t i = 0, vi = 0; i < rt->n_runs; i++) {
		const PageRunEntry *pr = rt->runs[i];
		struct restorer_run *run = &runs[a->n_runs];
		bool is_direct;

		/* shared memory got its pages in minicr (load_shared) */
		while (rt->mm->vmas[vi]->end <= pr->vaddr)
			vi++;
		if (rt->mm->vmas[vi]->kind == VMA_KIND_SHMEM)
			continue;
		run->vaddr = pr->vaddr;
		run->len = pr->nr_pages * PAGE_SIZE_BYTES;
		run->off = pr->file_off + IMAGE_RAW_DATA_OFFSET;
		is_direct =
		    direct_fd >= 0 && run->len >= DIRECT_RUN_MIN && run->off % DIRECT_IO_ALIGN == 0;
		run->fd = is_direct ? direct_fd : fd;
		a->n_runs++;
	}
	return 0;
}

static int fill_specials(struct resume_task *rt, struct region *r, struct restorer_args *a)
{
	cleanup_free struct mm_vma *own = NULL;
	size_t n_own = 0;
	uint64_t park = r->park;
	int ret = mem_read_vmas(0, &own, &n_own);

	if (ret < 0)
		return ret;
	for (int k = 0; k < SPECIAL_KINDS; k++) {
		struct restorer_special *s = &a->special[k];
		enum vma_kind kind = (enum vma_kind)(VMA_KIND_VVAR + k);

		for (size_t i = 0; i < n_own; i++)
			if (own[i].kind == kind) {
				s->cur = own[i].start;
				s->len = own[i].end - own[i].start;
			}
		for (size_t i = 0; i < rt->mm->n_vmas; i++)
			if (rt->mm->vmas[i]->kind == kind) {
				s->dst = rt->mm->vmas[i]->start;
				if (rt->mm->vmas[i]->end - rt->mm->vmas[i]->start != s->len) {
					pr_err("cannot restore task %d: [vdso] layout differs",
					       (int)rt->pid);
					return -ENOTSUP;
				}
			}
		if (s->len) {
			s->park = park;
			park += s->len;
		}
	}
	return 0;
}

static int fill_threads(struct resume_task *rt, struct region *r, struct restorer_args *a)
{
	const TaskCoreEntry *core = rt->core;
	struct restorer_thread *threads = region_alloc(r, core->n_threads * sizeof(*threads));
	struct xstate_frame_layout layout;
	int ret;

	if (!threads)
		return -ENOSPC;
	ret = xstate_frame_layout_for(core->threads[0]->xstate.data, core->threads[0]->xstate.len,
				      &layout);
	if (ret < 0)
		return ret;
	a->threads = (uint64_t)(uintptr_t)threads;
	a->n_threads = (uint32_t)core->n_threads;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCoreEntry *t = core->threads[i];
		struct restorer_thread *rtd = &threads[i];
		struct user_regs_struct regs;
		struct sigframe_altstack ss = {t->altstack_sp, t->altstack_size, t->altstack_flags};
		uint64_t frame = r->frames + i * r->frame_size;
		uint64_t mask = t->sigmask & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));

		if (!t->has_altstack_flags)
			ss.flags = SS_DISABLE;
		memcpy(&regs, t->gpregs.data, sizeof(regs));
		memset(rtd, 0, sizeof(*rtd));
		ret = sigframe_build((void *)(uintptr_t)frame, frame, &regs, t->xstate.data,
				     layout.len, layout.features, mask, &ss, &rtd->sigframe_rsp);
		if (ret < 0)
			return pr_neg(ret, "cannot build the signal frame of thread %d", t->tid);
		rtd->tid = t->tid;
		rtd->stack_top = r->thread_stacks + (i + 1) * RESTORER_THREAD_STACK;
		rtd->tid_address = t->tid_address;
		rtd->robust_list = t->robust_list;
		rtd->robust_list_len = t->robust_list_len;
		rtd->fs_base = regs.fs_base;
		rtd->gs_base = regs.gs_base;
		rtd->rseq_ptr = t->has_rseq_abi_pointer ? t->rseq_abi_pointer : 0;
		rtd->rseq_len = t->rseq_abi_size;
		rtd->rseq_sig = t->rseq_signature;
		rtd->args = (uint64_t)(uintptr_t)a;
		if (t->comm)
			snprintf(rtd->comm, sizeof(rtd->comm), "%s", t->comm);
	}
	return 0;
}

static size_t count_signals(const TaskCoreEntry *core)
{
	size_t n = core->n_shared_pending_signals;

	for (size_t i = 0; i < core->n_threads; i++)
		n += core->threads[i]->n_pending_signals;
	return n;
}

static void put_siginfo(struct restorer_siginfo *si, int tid, const ProtobufCBinaryData *info)
{
	int32_t signo;

	memcpy(&signo, info->data, sizeof(signo)); /* si_signo is the first field */
	si->tid = tid;
	si->signo = signo;
	memcpy(si->info, info->data, sizeof(si->info));
}

static int fill_signals(struct resume_task *rt, struct region *r, struct restorer_args *a)
{
	const TaskCoreEntry *core = rt->core;
	size_t n = count_signals(core), k = 0;
	struct restorer_siginfo *si = region_alloc(r, n * sizeof(*si) + 1);

	if (!si)
		return -ENOSPC;
	for (size_t i = 0; i < core->n_threads; i++)
		for (size_t j = 0; j < core->threads[i]->n_pending_signals; j++)
			put_siginfo(&si[k++], core->threads[i]->tid,
				    &core->threads[i]->pending_signals[j]);
	for (size_t j = 0; j < core->n_shared_pending_signals; j++)
		put_siginfo(&si[k++], 0, &core->shared_pending_signals[j]);
	a->siginfos = (uint64_t)(uintptr_t)si;
	a->n_siginfos = (uint32_t)n;
	for (size_t i = 0; i < core->n_sigactions; i++) {
		const SigactionEntry *s = core->sigactions[i];
		struct restorer_sigaction *d = &a->sigactions[s->signo - 1];

		d->handler = s->handler;
		d->flags = s->flags;
		d->restorer = s->restorer;
		d->mask = s->mask;
	}
	return 0;
}

static int fill_seccomp(struct resume_task *rt, struct region *r, struct restorer_args *a)
{
	const TaskCoreEntry *core = rt->core;
	size_t size = 8;
	uint8_t *p;

	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		size += 8 + core->seccomp_filters[i].len;
	p = region_alloc(r, size);
	if (!p)
		return -ENOSPC;
	a->seccomp = (uint64_t)(uintptr_t)p;
	a->n_seccomp = (uint32_t)core->n_seccomp_filters;
	for (size_t i = 0; i < core->n_seccomp_filters; i++) {
		uint64_t n = core->seccomp_filters[i].len / 8;

		memcpy(p, &n, 8);
		memcpy(p + 8, core->seccomp_filters[i].data, core->seccomp_filters[i].len);
		p += 8 + core->seccomp_filters[i].len;
	}
	return 0;
}

static bool same_file(int fd, const char *other)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(other, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int fill_mm(struct resume_task *rt, struct region *r, struct restorer_args *a,
		   struct helper_fds *h)
{
	const MmEntry *mm = rt->mm;
	struct restorer_mm_map *m = &a->mm_map;
	uint64_t *auxv = region_alloc(r, mm->n_auxv * sizeof(uint64_t) + 8);

	if (!auxv)
		return -ENOSPC;
	memcpy(auxv, mm->auxv, mm->n_auxv * sizeof(uint64_t));
	m->start_code = mm->start_code;
	m->end_code = mm->end_code;
	m->start_data = mm->start_data;
	m->end_data = mm->end_data;
	m->start_brk = mm->start_brk;
	m->brk = mm->brk;
	m->start_stack = mm->start_stack;
	m->arg_start = mm->arg_start;
	m->arg_end = mm->arg_end;
	m->env_start = mm->env_start;
	m->env_end = mm->env_end;
	m->auxv = (uint64_t)(uintptr_t)auxv;
	m->auxv_size = (uint32_t)(mm->n_auxv * sizeof(uint64_t));
	m->exe_fd = (uint32_t)-1;
	/* replacing exe with the same file fails (EBUSY: the old one is still mapped) and is
	 * not needed */
	if (mm->exe) {
		int fd = open_in_task_root(rt, mm->exe, O_RDONLY);

		if (fd < 0)
			return pr_errno("cannot open the executable '%s'", mm->exe);
		if (same_file(fd, "/proc/self/exe")) {
			close(fd);
			return 0;
		}
		fd = helper_add(h, fd, NULL, 0);
		if (fd < 0)
			return fd;
		m->exe_fd = (uint32_t)fd;
	}
	return 0;
}

static int fill_creds(struct resume_task *rt, struct restorer_args *a)
{
	const CredsEntry *c = rt->core->creds;
	cleanup_free char *buf = NULL;
	struct mm_status_creds own;
	struct restorer_creds *d = &a->creds;

	if (!c)
		return 0;
	memcpy(d->uids, c->uids, sizeof(d->uids));
	memcpy(d->gids, c->gids, sizeof(d->gids));
	d->n_groups = (uint32_t)c->n_groups;
	memcpy(d->groups, c->groups, c->n_groups * sizeof(uint32_t));
	d->cap_inh = c->cap_inh;
	d->cap_prm = c->cap_prm;
	d->cap_eff = c->cap_eff;
	d->cap_bnd = c->cap_bnd;
	d->cap_amb = c->cap_amb;
	d->securebits = c->securebits;
	d->no_new_privs = c->no_new_privs;
	if (read_file_at(AT_FDCWD, "/proc/self/status", &buf) < 0 ||
	    mm_parse_status(buf, &own) < 0) {
		pr_err("cannot read the credentials of the restoring process");
		return -EIO;
	}
	/* the blob changes credentials only where they differ: it is the riskiest step */
	a->do_creds = memcmp(own.uids, d->uids, sizeof(d->uids)) ||
		      memcmp(own.gids, d->gids, sizeof(d->gids)) || own.n_groups != d->n_groups ||
		      memcmp(own.groups, d->groups, d->n_groups * sizeof(uint32_t)) ||
		      own.cap_inh != d->cap_inh || own.cap_prm != d->cap_prm ||
		      own.cap_eff != d->cap_eff || own.cap_bnd != d->cap_bnd ||
		      own.cap_amb != d->cap_amb ||
		      (uint32_t)prctl(PR_GET_SECUREBITS) != d->securebits;
	return 0;
}

static int cmp_u64_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The middle of the largest hole that neither the dumped layout nor the current one uses. */
static int place_region(struct resume_task *rt, uint64_t size, uint64_t *ret_addr)
{
	cleanup_free struct mm_vma *own = NULL;
	cleanup_free uint64_t *pairs = NULL, *starts = NULL, *ends = NULL;
	size_t n_own = 0, n = 0;
	int ret = mem_read_vmas(0, &own, &n_own);

	if (ret < 0)
		return ret;
	pairs = malloc((n_own + rt->mm->n_vmas) * 2 * sizeof(uint64_t));
	starts = malloc((n_own + rt->mm->n_vmas) * sizeof(uint64_t));
	ends = malloc((n_own + rt->mm->n_vmas) * sizeof(uint64_t));
	if (!pairs || !starts || !ends)
		return pr_neg(-ENOMEM, "cannot allocate the layout of task %d", (int)rt->pid);
	for (size_t i = 0; i < n_own; i++) {
		pairs[2 * n] = own[i].start;
		pairs[2 * n++ + 1] = own[i].end;
	}
	for (size_t i = 0; i < rt->mm->n_vmas; i++) {
		/* a stack grows into the gap below it: keep the region out of that gap */
		uint64_t start = rt->mm->vmas[i]->start, gap = 256 * PAGE_SIZE_BYTES;

		if ((rt->mm->vmas[i]->flags & MAP_GROWSDOWN) && start > gap)
			start -= gap;
		pairs[2 * n] = start;
		pairs[2 * n++ + 1] = rt->mm->vmas[i]->end;
	}
	qsort(pairs, n, 2 * sizeof(uint64_t), cmp_u64_pair);
	for (size_t i = 0; i < n; i++) {
		starts[i] = pairs[2 * i];
		ends[i] = pairs[2 * i + 1];
	}
	ret = mm_find_hole(starts, ends, n, HOLE_LOW, TASK_SIZE_MAX, size, ret_addr);
	if (ret < 0)
		return pr_neg(ret, "no room for a %" PRIu64 "-byte bootstrap region in task %d",
			      size, (int)rt->pid);
	return 0;
}

/* Waits (futex on the page shared with minicr) until minicr has seized this task: the blob
 * ends in int3, which would kill an untraced task. */
static int wait_for_tracer(const struct resume_task *rt)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!__atomic_load_n(rt->is_seized_flag, __ATOMIC_ACQUIRE)) {
		struct timespec slice = {1, 0};

		if (syscall(SYS_futex, rt->is_seized_flag, FUTEX_WAIT, 0, &slice, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
			return pr_errno("task %d: cannot wait for minicr to seize it",
					(int)rt->pid);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= SEIZE_WAIT_MS / 1000) {
			pr_err("task %d: minicr did not seize it within %d ms", (int)rt->pid,
			       SEIZE_WAIT_MS);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* glibc registered rseq for this thread; the blob unmaps that memory, so unregister first. */
static void unregister_own_rseq(void)
{
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (!__rseq_size)
		return;
	if (syscall(__NR_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) < 0 &&
	    __rseq_size != 32)
		(void)syscall(__NR_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
}

static int build_region(struct resume_task *rt, struct region *r, struct helper_fds *h,
			struct restorer_args **ret_args)
{
	const TaskCoreEntry *core = rt->core;
	uint64_t blob_len = PAGE_ALIGN(sizeof(minicr_restorer_blob));
	uint64_t args_len, frames_len, park_len = 0, addr;
	struct restorer_args *a;
	size_t seccomp_len = 0;
	void *map;
	int ret;

	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		seccomp_len += 8 + core->seccomp_filters[i].len;
	for (size_t i = 0; i < rt->mm->n_vmas; i++)
		if (vma_is_special(rt->mm->vmas[i]))
			park_len += rt->mm->vmas[i]->end - rt->mm->vmas[i]->start;
	args_len = PAGE_ALIGN(sizeof(*a) + 16 * 8 + rt->mm->n_vmas * sizeof(struct restorer_vma) +
			      rt->n_runs * sizeof(struct restorer_run) +
			      core->n_threads * sizeof(struct restorer_thread) +
			      count_signals(core) * sizeof(struct restorer_siginfo) +
			      ARRAY_SIZE(h->fds) * sizeof(int32_t) + seccomp_len + 8 +
			      rt->mm->n_auxv * sizeof(uint64_t) + 8);
	r->frame_size = sigframe_size(core->threads[0]->xstate.len);
	frames_len = PAGE_ALIGN(core->n_threads * r->frame_size);
	/* the park area is also where the restoring process's own trio may be bigger: use ours */
	park_len = PAGE_ALIGN(park_len + 64 * PAGE_SIZE_BYTES);
	r->len = blob_len + args_len + frames_len + MAIN_STACK_SIZE +
		 core->n_threads * RESTORER_THREAD_STACK + park_len;

	ret = place_region(rt, r->len, &addr);
	if (ret < 0)
		return ret;
	map = mmap((void *)(uintptr_t)addr, r->len, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (map == MAP_FAILED)
		return pr_errno("cannot map the bootstrap region at 0x%" PRIx64 " in task %d", addr,
				(int)rt->pid);
	r->base = map;
	memcpy(r->base, minicr_restorer_blob, sizeof(minicr_restorer_blob));
	r->args = addr + blob_len;
	r->frames = r->args + args_len;
	r->main_stack_top = r->frames + frames_len + MAIN_STACK_SIZE;
	r->thread_stacks = r->main_stack_top;
	r->park = r->thread_stacks + core->n_threads * RESTORER_THREAD_STACK;
	r->cursor = r->args;
	r->args_end = r->args + args_len;

	a = region_alloc(r, sizeof(*a));
	memset(a, 0, sizeof(*a));
	a->magic = RESTORER_ARGS_MAGIC;
	a->region_start = addr;
	a->region_len = r->len;
	a->task_size = TASK_SIZE_MAX;
	a->pid = rt->pid;
	a->dumpable = core->has_dumpable ? core->dumpable : -1;
	a->pdeathsig = core->pdeathsig;
	a->child_subreaper = core->child_subreaper;
	a->has_personality = core->has_personality;
	a->personality = core->personality;
	a->umask = core->has_umask ? core->umask : (uint32_t)-1;
	ret = fill_specials(rt, r, a);
	if (ret == 0)
		ret = fill_vmas(rt, r, a, h);
	if (ret == 0)
		ret = fill_runs(rt, r, a, h);
	if (ret == 0)
		ret = fill_threads(rt, r, a);
	if (ret == 0)
		ret = fill_signals(rt, r, a);
	if (ret == 0)
		ret = fill_seccomp(rt, r, a);
	if (ret == 0)
		ret = fill_mm(rt, r, a, h);
	if (ret == 0)
		ret = fill_creds(rt, a);
	if (ret == -ENOSPC)
		pr_err("bootstrap region of task %d is too small (bug)", (int)rt->pid);
	if (ret < 0) {
		munmap(r->base, r->len);
		return ret;
	}
	*ret_args = a;
	return 0;
}

int resume_task_enter(struct resume_task *rt)
{
	struct helper_fds *h;
	struct restorer_args *a = NULL;
	struct region r = {0};
	int32_t *close_fds;
	uint64_t all = ~0ull;
	int ret;

	if (getpid() != rt->pid) {
		pr_err("resume_task_enter() for task %d runs in process %d", (int)rt->pid,
		       (int)getpid());
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return pr_neg(-ENOMEM, "cannot allocate helper fds");
	close_foreign_shm_fds(rt);
	ret = build_region(rt, &r, h, &a);
	if (ret < 0)
		goto out;
	if (rt->enter_fs) {
		/* every file it maps is open: now the task may leave minicr's namespace */
		ret = rt->enter_fs(rt->enter_opaque);
		if (ret < 0)
			goto out_unmap;
	}
	close_fds = region_alloc(&r, h->n * sizeof(int32_t) + 4);
	if (!close_fds) {
		ret =
		    pr_neg(-ENOSPC, "bootstrap region of task %d is too small (bug)", (int)rt->pid);
		goto out_unmap;
	}
	for (size_t i = 0; i < h->n; i++)
		close_fds[i] = h->fds[i];
	a->close_fds = (uint64_t)(uintptr_t)close_fds;
	a->n_close_fds = (uint32_t)h->n;

	ret = wait_for_tracer(rt);
	if (ret < 0)
		goto out_unmap;
	if (rt->img_dirfd >= 0)
		close(rt->img_dirfd);
	for (size_t i = 0; i < h->n; i++)
		free(h->paths[i]);
	free(h);
	/* From here on nothing may fail: no libc time calls (the blob parks the vdso), all
	 * signals blocked (glibc's sigprocmask would keep its internal ones open). */
	unregister_own_rseq();
	(void)syscall(__NR_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(all));
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "jmpq *%1\n\t"
			 :
			 : "r"(r.main_stack_top), "r"(r.base), "D"(a)
			 : "memory");
	__builtin_unreachable();
out_unmap:
	munmap(r.base, r.len);
out:
	helper_fds_close(h);
	free(h);
	return ret;
}
