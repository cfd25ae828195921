/* resume-args.c: the bootstrap region inside a restored task: the restorer blob, its arguments
 * filled from the task's images (mappings, page runs, threads and their signal frames, signals,
 * seccomp, mm fields, credentials, limits) and the helper fds the blob uses. */
#define LOG_PREFIX "resume: "
#include "task/resume-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#include "base/direct-io.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"
#include "image.h"
#include "parasite/restorer-abi.h"
#include "restorer-blob.h"
#include "task/core-check.h"
#include "task/shm-registry.h"
#include "task/sigframe.h"
#include "task/xstate.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MAIN_STACK_SIZE (64ull << 10)

static void *region_alloc(struct resume_region *r, size_t size)
{
	uint64_t addr = (r->cursor + 15) & ~15ull;

	if (addr + size > r->args_end)
		return NULL;
	r->cursor = addr + size;
	return (void *)(uintptr_t)addr;
}

void *resume_region_alloc(struct resume_region *r, size_t size)
{
	return region_alloc(r, size);
}

void resume_helpers_close(struct resume_helpers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		close(h->fds[i]);
		free(h->paths[i]);
	}
	h->n = 0;
}

static int helper_add(struct resume_helpers *h, int fd, const char *path, int mode)
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

/* A file the task maps, opened once per path and mode. A missing file is the usual reason a
 * restore fails here, so the one line names the task, the mapping and the file. */
static int helper_open(struct resume_task *rt, struct resume_helpers *h, const VmaEntry *v,
		       const char *path, int mode)
{
	int fd;

	for (size_t i = 0; i < h->n; i++)
		if (h->paths[i] && h->modes[i] == mode && !strcmp(h->paths[i], path))
			return h->fds[i];
	fd = resume_open_in_task_root(rt, path, mode);
	if (fd < 0)
		return pr_errno("cannot restore task %d: mapping %" PRIx64 "-%" PRIx64
				" of file '%s': cannot open it",
				(int)rt->pid, v->start, v->end, path);
	return helper_add(h, fd, path, mode);
}

/* The fd of the shared object of VMA i in this task, registered as a helper (closed by the
 * blob after mapping). */
static int shmem_fd(struct resume_task *rt, struct resume_helpers *h, size_t i)
{
	int idx = shm_registry_find(rt->set->shm, rt->mm->vmas[i]->shmid);
	char key[64];
	int fd;

	if (idx < 0)
		return pr_neg(idx, "cannot restore task %d: shared mapping %" PRIx64 " changed "
				   "since minicr checked it",
			      (int)rt->pid, rt->mm->vmas[i]->start);
	snprintf(key, sizeof(key), "shmem:%d", idx);
	for (size_t j = 0; j < h->n; j++)
		if (h->paths[j] && !strcmp(h->paths[j], key))
			return h->fds[j];
	fd = shm_registry_open(rt->set->shm, idx);
	if (fd < 0)
		return fd;
	return helper_add(h, fd, key, 0);
}

static bool vma_gets_pages(const struct resume_task *rt, const VmaEntry *v)
{
	for (size_t i = 0; i < rt->n_runs; i++)
		if (rt->runs[i]->vaddr >= v->start && rt->runs[i]->vaddr < v->end)
			return true;
	return false;
}

static int fill_vmas(struct resume_task *rt, struct resume_region *r, struct restorer_args *a,
		     struct resume_helpers *h)
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

		if (resume_vma_is_special(v))
			continue;
		memset(rv, 0, sizeof(*rv));
		rv->start = v->start;
		rv->end = v->end;
		rv->pgoff = v->pgoff;
		rv->prot = v->prot;
		rv->map_flags = v->flags;
		rv->madvise = v->madvise;
		rv->needs_fill = vma_gets_pages(rt, v);
		rv->mlock = v->has_mlock ? v->mlock : VMA_MLOCK_NONE;
		switch (v->kind) {
		case VMA_KIND_FILE_PRIVATE:
			fd = helper_open(rt, h, v, v->path, O_RDONLY);
			break;
		case VMA_KIND_FILE_SHARED:
			fd = helper_open(rt, h, v, v->path, v->prot & PROT_WRITE ? O_RDWR : O_RDONLY);
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

static int fill_runs(struct resume_task *rt, struct resume_region *r, struct restorer_args *a,
		     struct resume_helpers *h)
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
		run->len = pr->nr_pages * RESUME_PAGE_SIZE;
		run->off = pr->file_off + IMAGE_RAW_DATA_OFFSET;
		is_direct =
		    direct_fd >= 0 && run->len >= RESUME_DIRECT_RUN_MIN && run->off % DIRECT_IO_ALIGN == 0;
		run->fd = is_direct ? direct_fd : fd;
		a->n_runs++;
	}
	return 0;
}

static int fill_specials(struct resume_task *rt, struct resume_region *r,
			 struct restorer_args *a, const struct mm_vma *own, size_t n_own)
{
	uint64_t park = r->park;

	for (int k = 0; k < RESUME_SPECIAL_KINDS; k++) {
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

static int fill_threads(struct resume_task *rt, struct resume_region *r, struct restorer_args *a)
{
	const TaskCoreEntry *core = rt->core;
	struct restorer_thread *threads = region_alloc(r, core->n_threads * sizeof(*threads));
	struct xstate_frame_layout layout;
	int ret;

	if (!threads)
		return -ENOSPC;
	ret = xstate_frame_layout_for(&rt->set->xstate_cpu, core->threads[0]->xstate.data,
				      core->threads[0]->xstate.len,
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

static int fill_signals(struct resume_task *rt, struct resume_region *r, struct restorer_args *a)
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

static int fill_seccomp(struct resume_task *rt, struct resume_region *r, struct restorer_args *a)
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

static int fill_mm(struct resume_task *rt, struct resume_region *r, struct restorer_args *a,
		   struct resume_helpers *h)
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
		int fd = resume_open_in_task_root(rt, mm->exe, O_RDONLY);

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
	struct procfs_status own;
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
	if (procfs_read_status(0, &own) < 0) {
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

static int fill_close_list(struct resume_region *r, struct restorer_args *a,
			   const struct resume_helpers *h, const int *extra_fds, size_t n_extra)
{
	int32_t *fds = region_alloc(r, (h->n + n_extra) * sizeof(int32_t) + 4);

	if (!fds)
		return -ENOSPC;
	for (size_t i = 0; i < h->n; i++)
		fds[i] = h->fds[i];
	for (size_t i = 0; i < n_extra; i++)
		fds[h->n + i] = extra_fds[i];
	a->close_fds = (uint64_t)(uintptr_t)fds;
	a->n_close_fds = (uint32_t)(h->n + n_extra);
	return 0;
}

/* The POSIX locks the blob sets again once it closed its helper fds (closing any fd of a file
 * drops the process's POSIX locks on it). */
static int fill_locks(struct resume_task *rt, struct resume_region *r, struct restorer_args *a)
{
	struct restorer_lock *locks;

	if (!rt->n_locks)
		return 0;
	locks = region_alloc(r, rt->n_locks * sizeof(*locks));
	if (!locks)
		return -ENOSPC;
	for (size_t i = 0; i < rt->n_locks; i++)
		locks[i] = (struct restorer_lock){.fd = rt->locks[i].fd,
						  .type = rt->locks[i].type,
						  .start = rt->locks[i].start,
						  .len = rt->locks[i].len};
	a->locks = (uint64_t)(uintptr_t)locks;
	a->n_locks = (uint32_t)rt->n_locks;
	return 0;
}

/* MINICR_FAULT=restorer-thp, restorer-mlock, restorer-itimer, restorer-timer or
 * restorer-timer-arm: the blob fails at that step (tests). */
static uint32_t fault_step(void)
{
	static const struct {
		const char *name;
		enum restorer_step step;
	} steps[] = {
	    {"restorer-thp", RESTORER_STEP_THP},
	    {"restorer-mlock", RESTORER_STEP_MLOCK},
	    {"restorer-itimer", RESTORER_STEP_ITIMER},
	    {"restorer-timer", RESTORER_STEP_TIMER},
	    {"restorer-timer-arm", RESTORER_STEP_TIMER_ARM},
	};
	const char *f = getenv("MINICR_FAULT");

	for (size_t i = 0; f && i < ARRAY_SIZE(steps); i++)
		if (!strcmp(f, steps[i].name))
			return steps[i].step;
	return RESTORER_STEP_NONE;
}

int resume_args_build(struct resume_task *rt, const struct mm_vma *own, size_t n_own,
		      struct resume_region *r, struct resume_helpers *h, const int *extra_fds,
		      size_t n_extra, struct restorer_args **ret_args)
{
	const TaskCoreEntry *core = rt->core;
	uint64_t blob_len = RESUME_PAGE_ALIGN(sizeof(minicr_restorer_blob));
	uint64_t args_len, frames_len, park_len = 0, addr;
	struct restorer_args *a;
	size_t seccomp_len = 0;
	void *map;
	int ret;

	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		seccomp_len += 8 + core->seccomp_filters[i].len;
	for (size_t i = 0; i < rt->mm->n_vmas; i++)
		if (resume_vma_is_special(rt->mm->vmas[i]))
			park_len += rt->mm->vmas[i]->end - rt->mm->vmas[i]->start;
	args_len = RESUME_PAGE_ALIGN(
	    sizeof(*a) + 16 * 8 + rt->mm->n_vmas * sizeof(struct restorer_vma) +
	    rt->n_runs * sizeof(struct restorer_run) +
	    core->n_threads * sizeof(struct restorer_thread) +
	    count_signals(core) * sizeof(struct restorer_siginfo) +
	    (ARRAY_SIZE(h->fds) + n_extra) * sizeof(int32_t) + seccomp_len + 8 +
	    rt->mm->n_auxv * sizeof(uint64_t) + 8 + rt->n_locks * sizeof(struct restorer_lock) +
	    16 + resume_timers_size(core));
	r->frame_size = sigframe_size(core->threads[0]->xstate.len);
	frames_len = RESUME_PAGE_ALIGN(core->n_threads * r->frame_size);
	/* the park area is also where the restoring process's own trio may be bigger: use ours */
	park_len = RESUME_PAGE_ALIGN(park_len + 64 * RESUME_PAGE_SIZE);
	r->len = blob_len + args_len + frames_len + MAIN_STACK_SIZE +
		 core->n_threads * RESTORER_THREAD_STACK + park_len;

	ret = resume_layout_place(rt, own, n_own, r->len, &addr);
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
	a->task_size = CORE_CHECK_TASK_SIZE;
	a->pid = rt->pid;
	a->dumpable = core->has_dumpable ? core->dumpable : -1;
	a->pdeathsig = core->pdeathsig;
	a->child_subreaper = core->child_subreaper;
	a->has_personality = core->has_personality;
	a->personality = core->personality;
	a->umask = core->has_umask ? core->umask : (uint32_t)-1;
	a->n_rlimits = (uint32_t)core->n_rlimits;
	for (size_t i = 0; i < core->n_rlimits; i++) {
		a->rlimits[i].cur = core->rlimits[i]->cur;
		a->rlimits[i].max = core->rlimits[i]->max;
	}
	a->thp_disable = core->has_thp_disable ? (int32_t)core->thp_disable : -1;
	a->mlock_future = core->has_mlock_future ? core->mlock_future : 0;
	a->fault_step = fault_step();
	ret = fill_specials(rt, r, a, own, n_own);
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
	if (ret == 0)
		ret = fill_close_list(r, a, h, extra_fds, n_extra);
	if (ret == 0)
		ret = fill_locks(rt, r, a);
	if (ret == 0)
		ret = resume_timers_fill(core, r, a);
	if (ret == -ENOSPC)
		pr_err("bootstrap region of task %d is too small (bug)", (int)rt->pid);
	if (ret < 0) {
		munmap(r->base, r->len);
		return ret;
	}
	*ret_args = a;
	return 0;
}


void resume_helpers_forget(struct resume_helpers *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->paths[i]);
	h->n = 0;
}
