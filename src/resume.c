/* resume.c: load the memory/core images of a process, build the bootstrap region inside the
 * restored process and jump to the restorer blob, and finish from the tracer side (remove the
 * region, detach). The protocol is described in resume.h. */
#define LOG_PREFIX "resume: "
#include "resume.h"

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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../parasite/restorer-abi.h"
#include "compat.h"
#include "core.pb-c.h"
#include "image-read.h"
#include "log.h"
#include "mem-dump.h"
#include "mm-parse.h"
#include "mm.pb-c.h"
#include "restorer-blob.h"
#include "sigframe.h"
#include "util.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

#define PAGE_SIZE_BYTES	   4096ull
#define PAGE_ALIGN(x)	   (((x) + PAGE_SIZE_BYTES - 1) & ~(PAGE_SIZE_BYTES - 1))
#define TASK_SIZE_MAX	   0x7ffffffff000ull
#define HOLE_LOW	   0x10000ull
#define MAIN_STACK_SIZE	   (64ull << 10)
#define SEIZE_WAIT_MS	   60000
#define SPECIAL_KINDS	   3 /* vvar, vvar_vclock, vdso */

struct resume_task {
	pid_t pid;
	int img_dirfd;
	bool is_seized;
	bool leave_stopped;
	TaskCoreEntry *core;
	MmEntry *mm;
	PageRunEntry **runs;
	size_t n_runs;
	uint64_t pages_size;
};

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
			pr_err("image '%s': mapping %" PRIx64 "-%" PRIx64 " has an unsupported kind",
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
			pr_err("image '%s': mapping %" PRIx64 " has an unaligned offset", name, v->start);
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
			pr_err("image '%s': page run %zu is malformed or beyond the pages image", name,
			       i);
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
			pr_err("image '%s': thread %d has malformed registers or xstate", name, t->tid);
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
	ret = image_read_single(img_dirfd, IMAGE_CORE, (uint64_t)pid, (ProtobufCMessage **)&rt->core);
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
	*ret_task = TAKE_PTR(rt);
	return 0;
}

struct resume_task *resume_task_free(struct resume_task *rt)
{
	if (!rt)
		return NULL;
	if (rt->core)
		task_core_entry__free_unpacked(rt->core, NULL);
	if (rt->mm)
		mm_entry__free_unpacked(rt->mm, NULL);
	for (size_t i = 0; i < rt->n_runs; i++)
		page_run_entry__free_unpacked(rt->runs[i], NULL);
	free(rt->runs);
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

static int helper_open(struct helper_fds *h, const char *path, int mode)
{
	int fd;

	for (size_t i = 0; i < h->n; i++)
		if (h->paths[i] && h->modes[i] == mode && !strcmp(h->paths[i], path))
			return h->fds[i];
	fd = open(path, mode | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open '%s' to map it", path);
	return helper_add(h, fd, path, mode);
}

static int shmem_fd(struct helper_fds *h, const MmEntry *mm, const VmaEntry *v)
{
	char key[64];
	uint64_t size = 0;
	int fd;

	snprintf(key, sizeof(key), "shmem:%" PRIu64, v->shmid);
	for (size_t i = 0; i < h->n; i++)
		if (h->paths[i] && !strcmp(h->paths[i], key))
			return h->fds[i];
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *o = mm->vmas[i];

		if (o->kind == VMA_KIND_SHMEM && o->shmid == v->shmid &&
		    o->pgoff + (o->end - o->start) > size)
			size = o->pgoff + (o->end - o->start);
	}
	/* "/memfd:NAME": the kernel prefixes "memfd:" itself */
	fd = memfd_create(v->path + 7, MFD_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot create a memfd for '%s'", v->path);
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return pr_errno("cannot size the memfd for '%s'", v->path);
	}
	return helper_add(h, fd, key, 0);
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
			fd = helper_open(h, v->path, O_RDONLY);
			break;
		case VMA_KIND_FILE_SHARED:
			fd = helper_open(h, v->path, v->prot & PROT_WRITE ? O_RDWR : O_RDONLY);
			break;
		case VMA_KIND_SHMEM:
			if (v->flags & MAP_ANONYMOUS)
				rv->pgoff = 0;
			else
				fd = shmem_fd(h, mm, v);
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
	int fd;

	if (!runs && rt->n_runs)
		return -ENOSPC;
	(void)image_file_name(IMAGE_PAGES, (uint64_t)rt->pid, name, sizeof(name));
	fd = openat(rt->img_dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open image '%s'", name);
	fd = helper_add(h, fd, NULL, 0);
	if (fd < 0)
		return fd;
	a->pages_fd = fd;
	a->runs = (uint64_t)(uintptr_t)runs;
	a->n_runs = (uint32_t)rt->n_runs;
	for (size_t i = 0; i < rt->n_runs; i++) {
		runs[i].vaddr = rt->runs[i]->vaddr;
		runs[i].len = rt->runs[i]->nr_pages * PAGE_SIZE_BYTES;
		runs[i].off = rt->runs[i]->file_off + IMAGE_MAGIC_SIZE;
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

	if (!threads)
		return -ENOSPC;
	a->threads = (uint64_t)(uintptr_t)threads;
	a->n_threads = (uint32_t)core->n_threads;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCoreEntry *t = core->threads[i];
		struct restorer_thread *rtd = &threads[i];
		struct user_regs_struct regs;
		struct sigframe_altstack ss = {t->altstack_sp, t->altstack_size, t->altstack_flags};
		uint64_t frame = r->frames + i * r->frame_size;
		uint64_t mask = t->sigmask & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
		int ret;

		if (!t->has_altstack_flags)
			ss.flags = SS_DISABLE;
		memcpy(&regs, t->gpregs.data, sizeof(regs));
		memset(rtd, 0, sizeof(*rtd));
		ret = sigframe_build((void *)(uintptr_t)frame, frame, &regs, t->xstate.data,
				     t->xstate.len, mask, &ss, &rtd->sigframe_rsp);
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

static bool same_file(const char *path, const char *other)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat(other, &b) == 0 && a.st_dev == b.st_dev &&
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
	if (mm->exe && !same_file(mm->exe, "/proc/self/exe")) {
		int fd = open(mm->exe, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return pr_errno("cannot open the executable '%s'", mm->exe);
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

static int wait_for_tracer(pid_t pid)
{
	for (int ms = 0; ms < SEIZE_WAIT_MS; ms++) {
		cleanup_free char *buf = NULL;
		const char *p;
		struct timespec ts = {0, 1000000};

		if (read_file_at(AT_FDCWD, "/proc/self/status", &buf) < 0)
			return pr_errno("cannot read /proc/self/status");
		p = strstr(buf, "\nTracerPid:");
		if (p && strtol(p + 11, NULL, 10) != 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	pr_err("task %d: minicr did not seize it within %d ms", (int)pid, SEIZE_WAIT_MS);
	return -ETIMEDOUT;
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
	ret = build_region(rt, &r, h, &a);
	if (ret < 0)
		goto out;
	close_fds = region_alloc(&r, h->n * sizeof(int32_t) + 4);
	if (!close_fds) {
		ret = pr_neg(-ENOSPC, "bootstrap region of task %d is too small (bug)", (int)rt->pid);
		goto out_unmap;
	}
	for (size_t i = 0; i < h->n; i++)
		close_fds[i] = h->fds[i];
	a->close_fds = (uint64_t)(uintptr_t)close_fds;
	a->n_close_fds = (uint32_t)h->n;

	ret = wait_for_tracer(rt->pid);
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

/* ---- finish: in minicr, the tracer ------------------------------------------------------------ */

static const char *const step_names[RESTORER_STEP_COUNT] = {
	[RESTORER_STEP_NONE] = "none",
	[RESTORER_STEP_ARGS] = "checking its arguments",
	[RESTORER_STEP_PARK] = "parking the vdso",
	[RESTORER_STEP_UNMAP] = "unmapping the old memory",
	[RESTORER_STEP_MMAP] = "mapping a dumped VMA",
	[RESTORER_STEP_MADVISE] = "replaying madvise hints",
	[RESTORER_STEP_PAGES] = "reading page data",
	[RESTORER_STEP_MPROTECT] = "setting protections",
	[RESTORER_STEP_VDSO] = "moving the vdso back",
	[RESTORER_STEP_MM_MAP] = "PR_SET_MM_MAP",
	[RESTORER_STEP_SIGACTION] = "restoring signal actions",
	[RESTORER_STEP_CLOSE] = "closing helper fds",
	[RESTORER_STEP_CLONE] = "creating a thread with clone3(set_tid)",
	[RESTORER_STEP_SIGQUEUE] = "queueing a pending signal",
	[RESTORER_STEP_ROBUST_LIST] = "set_robust_list",
	[RESTORER_STEP_FS_GS] = "setting fs/gs base",
	[RESTORER_STEP_RSEQ] = "registering rseq",
	[RESTORER_STEP_CREDS] = "restoring credentials",
	[RESTORER_STEP_SECCOMP] = "installing seccomp filters",
};

int resume_task_seize(struct resume_task *rt, pid_t pid)
{
	unsigned long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;

	if (rt->is_seized)
		return 0;
	if (rt->core->n_seccomp_filters)
		opts |= PTRACE_O_SUSPEND_SECCOMP;
	if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0)
		return pr_errno("cannot seize restored task %d", (int)pid);
	rt->is_seized = true;
	return 0;
}

static int wait_tid(pid_t pid, pid_t tid, int *ret_status)
{
	int status;

	for (;;) {
		pid_t w = waitpid(tid, &status, __WALL);

		if (w >= 0)
			break;
		if (errno != EINTR)
			return pr_errno("cannot wait for thread %d of restored task %d", (int)tid,
					(int)pid);
	}
	if (WIFEXITED(status)) {
		pr_err("restored task %d: thread %d exited with status %d during the restore",
		       (int)pid, (int)tid, WEXITSTATUS(status));
		return -ESRCH;
	}
	if (WIFSIGNALED(status)) {
		pr_err("restored task %d: thread %d was killed by signal %d during the restore",
		       (int)pid, (int)tid, WTERMSIG(status));
		return -ESRCH;
	}
	*ret_status = status;
	return 0;
}

static int cont(pid_t tid, int sig)
{
	if (ptrace(PTRACE_CONT, tid, 0, (unsigned long)sig) < 0)
		return pr_errno("cannot continue restored thread %d", (int)tid);
	return 0;
}

static int get_regs(pid_t tid, struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_GETREGS, tid, 0, regs) < 0)
		return pr_errno("cannot read the registers of restored thread %d", (int)tid);
	return 0;
}

/* A thread created by the blob is auto-attached (PTRACE_O_TRACECLONE) and starts stopped. */
static int release_new_thread(pid_t pid, pid_t parent_tid)
{
	unsigned long new_tid = 0;
	int status, ret;

	if (ptrace(PTRACE_GETEVENTMSG, parent_tid, 0, &new_tid) < 0)
		return pr_errno("cannot get the new thread of restored task %d", (int)pid);
	ret = wait_tid(pid, (pid_t)new_tid, &status);
	if (ret < 0)
		return ret;
	ret = cont((pid_t)new_tid, 0);
	if (ret < 0)
		return ret;
	return cont(parent_tid, 0);
}

/* Runs thread tid until it traps at the end of the blob. Returns 0 and the args address of
 * the blob, or -errno (logged: the blob's failed step, or the signal that hit it). */
static int wait_trap(pid_t pid, pid_t tid, uint64_t *ret_args)
{
	for (;;) {
		struct user_regs_struct regs;
		int status, sig, event, ret;

		ret = wait_tid(pid, tid, &status);
		if (ret < 0)
			return ret;
		sig = WSTOPSIG(status);
		event = status >> 16;
		if (event == PTRACE_EVENT_CLONE) {
			ret = release_new_thread(pid, tid);
		} else if (event == PTRACE_EVENT_STOP || sig == (SIGTRAP | 0x80)) {
			ret = cont(tid, 0);
		} else if (sig == SIGTRAP && event == 0) {
			ret = get_regs(tid, &regs);
			if (ret < 0)
				return ret;
			if (regs.rdi == 0 && regs.rsi == RESTORER_TRAP_READY) {
				*ret_args = regs.rdx;
				return 0;
			}
			if (regs.rdx == RESTORER_TRAP_FAILED) {
				const char *step = regs.rdi < RESTORER_STEP_COUNT ? step_names[regs.rdi]
										   : "?";

				errno = (int)-(long)regs.rsi;
				if (errno <= 0)
					errno = EIO;
				return pr_errno("restorer of task %d failed in thread %d at %s",
						(int)pid, (int)tid, step);
			}
			pr_err("restored task %d: thread %d trapped at 0x%llx outside the restorer",
			       (int)pid, (int)tid, regs.rip);
			return -EFAULT;
		} else {
			/* a real signal (or a fault in the blob): deliver it as it would be */
			pr_debug("restored task %d: thread %d got signal %d during the restore",
				 (int)pid, (int)tid, sig);
			ret = cont(tid, sig);
		}
		if (ret < 0)
			return ret;
	}
}

static int syscall_stop(pid_t pid, pid_t tid)
{
	int status, ret;

	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return pr_errno("cannot resume restored thread %d to a syscall stop", (int)tid);
	ret = wait_tid(pid, tid, &status);
	if (ret < 0)
		return ret;
	if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
		pr_err("restored task %d: thread %d stopped with signal %d instead of a syscall stop",
		       (int)pid, (int)tid, WSTOPSIG(status));
		return -EPROTO;
	}
	return 0;
}

/* Lets the thread run its rt_sigreturn and stops it at the syscall exit: it then holds its
 * dumped registers, and *ret_syscall_ip is the address of a syscall instruction in the region. */
static int run_sigreturn(pid_t pid, pid_t tid, uint64_t *ret_syscall_ip)
{
	struct user_regs_struct regs;
	int ret;

	ret = syscall_stop(pid, tid);
	if (ret < 0)
		return ret;
	ret = get_regs(tid, &regs);
	if (ret < 0)
		return ret;
	if (regs.orig_rax != __NR_rt_sigreturn) {
		pr_err("restored task %d: thread %d entered syscall %lld, not rt_sigreturn", (int)pid,
		       (int)tid, regs.orig_rax);
		return -EPROTO;
	}
	*ret_syscall_ip = regs.rip - 2;
	return syscall_stop(pid, tid); /* the exit: the dumped registers are in place */
}

/* (restorer.md §6.9) The blob cannot unmap the code it runs: the main thread, stopped at the
 * exit of its rt_sigreturn, runs munmap(region) from the region's syscall instruction with
 * every signal blocked, then gets its registers and mask back. */
static int unmap_region(pid_t pid, uint64_t syscall_ip, uint64_t start, uint64_t len)
{
	struct user_regs_struct saved, regs;
	uint64_t mask, all = ~0ull;
	int ret;

	ret = get_regs(pid, &saved);
	if (ret < 0)
		return ret;
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(mask), &mask) < 0)
		return pr_errno("cannot read the signal mask of restored task %d", (int)pid);
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(all), &all) < 0)
		return pr_errno("cannot block signals of restored task %d", (int)pid);
	regs = saved;
	regs.rip = syscall_ip;
	regs.rax = __NR_munmap;
	regs.orig_rax = (unsigned long long)-1;
	regs.rdi = start;
	regs.rsi = len;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		return pr_errno("cannot set registers of restored task %d", (int)pid);
	ret = syscall_stop(pid, pid); /* entry */
	if (ret == 0)
		ret = syscall_stop(pid, pid); /* exit */
	if (ret < 0)
		return ret;
	ret = get_regs(pid, &regs);
	if (ret < 0)
		return ret;
	if ((long long)regs.rax < 0) {
		errno = (int)-(long long)regs.rax;
		return pr_errno("cannot unmap the bootstrap region of restored task %d", (int)pid);
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0)
		return pr_errno("cannot restore registers of restored task %d", (int)pid);
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(mask), &mask) < 0)
		return pr_errno("cannot restore the signal mask of restored task %d", (int)pid);
	return 0;
}

static int read_args(pid_t pid, uint64_t addr, struct restorer_args *a)
{
	char path[64];
	cleanup_close int fd = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open '%s'", path);
	if (pread(fd, a, sizeof(*a), (off_t)addr) != (ssize_t)sizeof(*a) ||
	    a->magic != RESTORER_ARGS_MAGIC) {
		pr_err("restored task %d: cannot read the restorer arguments at 0x%" PRIx64,
		       (int)pid, addr);
		return -EPROTO;
	}
	return 0;
}

static int finish_threads(struct resume_task *rt, pid_t pid)
{
	const TaskCoreEntry *core = rt->core;
	struct restorer_args *a;
	uint64_t args_addr = 0, other_args = 0, syscall_ip = 0, ip = 0;
	int ret;

	a = malloc(sizeof(*a));
	if (!a)
		return pr_neg(-ENOMEM, "cannot allocate restorer arguments");
	ret = wait_trap(pid, pid, &args_addr);
	for (size_t i = 1; i < core->n_threads && ret == 0; i++) {
		ret = wait_trap(pid, core->threads[i]->tid, &other_args);
		if (ret == 0 && other_args != args_addr) {
			pr_err("restored task %d: thread %d trapped with foreign arguments", (int)pid,
			       core->threads[i]->tid);
			ret = -EPROTO;
		}
	}
	if (ret == 0)
		ret = read_args(pid, args_addr, a);
	for (size_t i = 0; i < core->n_threads && ret == 0; i++) {
		ret = run_sigreturn(pid, core->threads[i]->tid, &ip);
		if (i == 0)
			syscall_ip = ip;
	}
	if (ret == 0)
		ret = unmap_region(pid, syscall_ip, a->region_start, a->region_len);
	free(a);
	return ret;
}

int resume_task_finish(struct resume_task *rt, pid_t pid)
{
	const TaskCoreEntry *core = rt->core;
	int ret;

	ret = resume_task_seize(rt, pid);
	if (ret < 0)
		return ret;
	ret = finish_threads(rt, pid);
	if (ret < 0) {
		kill(pid, SIGKILL);
		return ret;
	}
	/* a group stop taken as soon as the threads leave their ptrace stops */
	if (rt->leave_stopped && kill(pid, SIGSTOP) < 0)
		return pr_errno("cannot stop restored task %d", (int)pid);
	for (size_t i = 0; i < core->n_threads; i++)
		if (ptrace(PTRACE_DETACH, core->threads[i]->tid, 0, 0) < 0)
			ret = pr_errno("cannot detach restored thread %d", core->threads[i]->tid);
	rt->is_seized = false;
	return ret;
}
