/* resume.c: load and check the images of a process in minicr, and, inside the restored
 * process, hand over to the restorer blob. The protocol is described in resume.h; the blob's
 * arguments are resume-args.c's, the region's place resume-layout.c's, the shared memory
 * shm-registry.c's, the checks of the images core-check.c's. */
#define LOG_PREFIX "resume: "
#include "task/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>

#include "base/direct-io.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"
#include "image-read.h"
#include "parasite/restorer-abi.h"
#include "task/core-check.h"
#include "task/resume-internal.h"
#include "task/shm-registry.h"

#define SEIZE_WAIT_MS 60000

/* Whether minicr may raise a hard resource limit of a task it restores. */
static int has_cap_sys_resource(bool *ret)
{
	struct procfs_status own;

	if (procfs_read_status(0, &own) < 0)
		return pr_neg(-EIO, "cannot read minicr's own capabilities");
	*ret = own.cap_eff & (1ull << CAP_SYS_RESOURCE);
	return 0;
}

/* ---- the set ------------------------------------------------------------------------------ */

int resume_set_new(size_t n_tasks, struct resume_set **ret_set)
{
	cleanup(resume_set_freep) struct resume_set *set = calloc(1, sizeof(*set));
	cleanup_free struct mm_vma *own = NULL;
	size_t n_own = 0;
	int ret;

	if (!set)
		return pr_neg(-ENOMEM, "cannot allocate the resume state");
	set->shm = shm_registry_new();
	if (!set->shm)
		return pr_neg(-ENOMEM, "cannot allocate the resume state");
	/* one shared mapping for every task's flag: a mapping per task would make minicr's map,
	 * which every task inherits and reads, grow with the tree */
	set->n_flags = n_tasks ? n_tasks : 1;
	set->flags_len = RESUME_PAGE_ALIGN(set->n_flags * sizeof(uint32_t));
	set->seize_flags = mmap(NULL, set->flags_len, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (set->seize_flags == MAP_FAILED) {
		set->seize_flags = NULL;
		return pr_errno("cannot map the seize flags of %zu tasks", n_tasks);
	}
	ret = resume_layout_read_own(&own, &n_own);
	if (ret < 0)
		return ret;
	resume_layout_special_sizes(own, n_own, set->special_sizes);
	xstate_cpu_probe(&set->xstate_cpu);
	ret = has_cap_sys_resource(&set->has_cap_sys_resource);
	if (ret < 0)
		return ret;
	*ret_set = TAKE_PTR(set);
	return 0;
}

struct resume_set *resume_set_free(struct resume_set *set)
{
	if (!set)
		return NULL;
	shm_registry_free(set->shm);
	if (set->seize_flags)
		munmap(set->seize_flags, set->flags_len);
	free(set);
	return NULL;
}

void resume_set_freep(struct resume_set **set)
{
	*set = resume_set_free(*set);
}

/* ---- load and validate ---------------------------------------------------------------------- */

/* The restoring process moves its own vvar/vdso into the dumped place: same sizes only. */
static int check_special_layout(const struct resume_task *rt)
{
	uint64_t theirs[RESUME_SPECIAL_KINDS] = {0};

	for (size_t i = 0; i < rt->mm->n_vmas; i++) {
		const VmaEntry *v = rt->mm->vmas[i];

		if (resume_vma_is_special(v))
			theirs[v->kind - VMA_KIND_VVAR] += v->end - v->start;
	}
	for (int k = 0; k < RESUME_SPECIAL_KINDS; k++)
		if (theirs[k] != rt->set->special_sizes[k]) {
			pr_err("cannot restore task %d: its vdso layout differs from this kernel's "
			       "(dumped on another kernel?)",
			       (int)rt->pid);
			return -ENOTSUP;
		}
	return 0;
}

static const char *const rlimit_names[RESTORER_NLIMITS] = {
    "RLIMIT_CPU",   "RLIMIT_FSIZE",	"RLIMIT_DATA",	     "RLIMIT_STACK",
    "RLIMIT_CORE",  "RLIMIT_RSS",	"RLIMIT_NPROC",	     "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK", "RLIMIT_AS",	"RLIMIT_LOCKS",	     "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

/* The restored task starts with minicr's limits and can only lower a hard limit: a dumped hard
 * limit above minicr's needs CAP_SYS_RESOURCE, which the restore then must have. */
static int check_rlimits(const struct resume_task *rt, bool has_cap_sys_resource)
{
	for (size_t i = 0; i < rt->core->n_rlimits; i++) {
		const RlimitEntry *l = rt->core->rlimits[i];
		struct rlimit cur;

		if (getrlimit((int)i, &cur) < 0)
			return pr_errno("cannot read minicr's %s", rlimit_names[i]);
		if (l->max > (uint64_t)cur.rlim_max && !has_cap_sys_resource) {
			pr_err("cannot restore task %d: its hard %s of %" PRIu64
			       " is above minicr's %" PRIu64 " (raising it needs CAP_SYS_RESOURCE)",
			       (int)rt->pid, rlimit_names[i], (uint64_t)l->max,
			       (uint64_t)cur.rlim_max);
			return -EPERM;
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

static int load_shared(int img_dirfd, struct resume_task *rt)
{
	cleanup_close int pages_fd = -EBADF;
	char name[IMAGE_NAME_MAX];
	int ret, idx;

	for (size_t i = 0; i < rt->mm->n_vmas; i++) {
		const VmaEntry *v = rt->mm->vmas[i];

		if (v->kind != VMA_KIND_SHMEM)
			continue;
		ret = shm_registry_get(rt->set->shm, v, &idx);
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
		ret = shm_registry_fill(rt->set->shm, idx, rt->pid, pages_fd, v, rt->runs,
					rt->n_runs);
		if (ret < 0)
			return ret;
	}
	return 0;
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
		has_long_run = rt->runs[i]->nr_pages * RESUME_PAGE_SIZE >= RESUME_DIRECT_RUN_MIN;
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

static void drop_images(struct resume_task *rt)
{
	if (rt->core)
		task_core_entry__free_unpacked(rt->core, NULL);
	if (rt->mm)
		mm_entry__free_unpacked(rt->mm, NULL);
	for (size_t i = 0; i < rt->n_runs; i++)
		page_run_entry__free_unpacked(rt->runs[i], NULL);
	free(rt->runs);
	rt->core = NULL;
	rt->mm = NULL;
	rt->runs = NULL;
	rt->n_runs = 0;
}

/* Reads core, mm and pagemap images and checks them (task_images_validate()). */
static int read_images(int img_dirfd, struct resume_task *rt)
{
	cleanup(image_reader_freep) struct image_reader *pages = NULL;
	struct task_images ti;
	pid_t pid = rt->pid;
	int ret;

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
	ti = (struct task_images){.pid = pid,
				  .core = rt->core,
				  .mm = rt->mm,
				  .runs = rt->runs,
				  .n_runs = rt->n_runs,
				  .pages_size = rt->pages_size};
	return task_images_validate(&ti);
}

/* What minicr's own side needs later: the threads, seccomp, the stop state. */
static int keep_summary(struct resume_task *rt)
{
	rt->tids = reallocarray(NULL, rt->core->n_threads, sizeof(*rt->tids));
	if (!rt->tids)
		return pr_neg(-ENOMEM, "cannot allocate the threads of task %d", (int)rt->pid);
	for (size_t i = 0; i < rt->core->n_threads; i++)
		rt->tids[i] = rt->core->threads[i]->tid;
	rt->n_tids = rt->core->n_threads;
	rt->has_seccomp = rt->core->n_seccomp_filters > 0;
	rt->group_stopped = rt->core->group_stopped;
	return resume_attrs_keep(rt);
}

int resume_task_load(struct resume_set *set, int img_dirfd, pid_t pid,
		     struct resume_task **ret_task)
{
	cleanup(resume_task_freep) struct resume_task *rt = NULL;
	int ret;

	if (set->n_used == set->n_flags)
		return pr_neg(-ENOSPC, "resume state made for %zu tasks", set->n_flags);
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return pr_neg(-ENOMEM, "cannot allocate the resume state of task %d", (int)pid);
	rt->set = set;
	rt->pid = pid;
	rt->img_dirfd = img_dirfd;
	rt->path_root_fd = -EBADF;
	rt->is_seized_flag = &set->seize_flags[set->n_used++];
	ret = read_images(img_dirfd, rt);
	if (ret < 0)
		return ret;
	ret = check_special_layout(rt);
	if (ret < 0)
		return ret;
	ret = check_rlimits(rt, set->has_cap_sys_resource);
	if (ret < 0)
		return ret;
	ret = resume_attrs_check(rt);
	if (ret < 0)
		return ret;
	ret = resume_timers_check(rt);
	if (ret < 0)
		return ret;
	ret = choose_pages_io(img_dirfd, rt);
	if (ret < 0)
		return ret;
	ret = load_shared(img_dirfd, rt);
	if (ret < 0)
		return ret;
	ret = keep_summary(rt);
	if (ret < 0)
		return ret;
	drop_images(rt);
	*ret_task = TAKE_PTR(rt);
	return 0;
}

int resume_task_check(int img_dirfd, pid_t pid)
{
	cleanup(resume_task_freep) struct resume_task *rt = calloc(1, sizeof(*rt));
	bool has_cap;
	int ret;

	if (!rt)
		return pr_neg(-ENOMEM, "cannot allocate the resume state of task %d", (int)pid);
	rt->pid = pid;
	rt->path_root_fd = -EBADF;
	ret = read_images(img_dirfd, rt);
	if (ret < 0)
		return ret;
	ret = has_cap_sys_resource(&has_cap);
	if (ret < 0)
		return ret;
	ret = check_rlimits(rt, has_cap);
	if (ret < 0)
		return ret;
	ret = resume_attrs_check(rt);
	if (ret < 0)
		return ret;
	return resume_timers_check(rt);
}

struct resume_task *resume_task_free(struct resume_task *rt)
{
	if (!rt)
		return NULL;
	drop_images(rt);
	resume_attrs_free(rt->attrs);
	free(rt->tids);
	free(rt->locks);
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

void resume_task_set_shared_files(struct resume_task *rt, bool is_member,
				  void (*sync)(void *arg), void *arg)
{
	rt->is_files_member = is_member;
	rt->files_sync = sync;
	rt->files_sync_arg = arg;
}

void resume_task_set_leave_stopped(struct resume_task *rt, bool leave_stopped)
{
	rt->leave_stopped = leave_stopped;
}

int resume_task_set_locks(struct resume_task *rt, const struct resume_lock *locks, size_t n)
{
	struct resume_lock *copy = n ? calloc(n, sizeof(*copy)) : NULL;

	if (n && !copy)
		return pr_neg(-ENOMEM, "cannot keep the locks of task %d", (int)rt->pid);
	if (n)
		memcpy(copy, locks, n * sizeof(*copy));
	free(rt->locks);
	rt->locks = copy;
	rt->n_locks = n;
	return 0;
}

void resume_task_set_fs(struct resume_task *rt, int root_fd, int (*enter)(void *opaque),
			void *opaque)
{
	rt->path_root_fd = root_fd;
	rt->enter_fs = enter;
	rt->enter_opaque = opaque;
}

int resume_open_in_task_root(const struct resume_task *rt, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};

	if (rt->path_root_fd < 0)
		return open(path, flags | O_CLOEXEC);
	return (int)syscall(__NR_openat2, rt->path_root_fd, path, &how, sizeof(how));
}

/* ---- enter: inside the restored process ---------------------------------------------------- */

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

int resume_task_enter(struct resume_task *rt)
{
	cleanup_free struct resume_helpers *h = NULL;
	cleanup_free struct mm_vma *own = NULL;
	struct restorer_args *a = NULL;
	struct resume_region r = {0};
	int log_fd = log_get_fd();
	uint64_t all = ~0ull;
	size_t n_own = 0;
	int ret;

	if (getpid() != rt->pid) {
		pr_err("resume_task_enter() for task %d runs in process %d", (int)rt->pid,
		       (int)getpid());
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return pr_neg(-ENOMEM, "cannot allocate helper fds");
	/* minicr checked these images and let them go; they are checked again as read here */
	ret = read_images(rt->img_dirfd, rt);
	if (ret < 0)
		return ret;
	if (rt->core->n_threads != rt->n_tids || rt->core->group_stopped != rt->group_stopped) {
		pr_err("cannot restore task %d: its images changed since minicr checked them",
		       (int)rt->pid);
		return -ESTALE;
	}
	ret = resume_layout_read_own(&own, &n_own);
	if (ret < 0)
		return ret;
	/* minicr's log stays open until the blob closes it with the helpers, so a failure up to
	 * here is reported where minicr reports, not on the restored program's stderr */
	if (rt->is_files_member)
		log_fd = -1; /* the owner of the shared table closes it */
	ret = resume_args_build(rt, own, n_own, &r, h, log_fd >= 0 ? &log_fd : NULL,
				log_fd >= 0 ? 1 : 0, &a);
	if (ret < 0)
		goto out;
	if (rt->files_sync)
		rt->files_sync(rt->files_sync_arg);
	if (rt->enter_fs) {
		/* every file it maps is open: now the task may leave minicr's namespace */
		ret = rt->enter_fs(rt->enter_opaque);
		if (ret < 0)
			goto out_unmap;
	}
	ret = wait_for_tracer(rt);
	if (ret < 0)
		goto out_unmap;
	if (!rt->is_files_member) {
		if (rt->img_dirfd >= 0)
			close(rt->img_dirfd);
		shm_registry_close_inherited(rt->set->shm, h->fds, h->n);
	}
	resume_helpers_forget(h);
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
	resume_helpers_close(h);
	return ret;
}
