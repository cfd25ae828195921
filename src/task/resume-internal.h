/* resume-internal.h: the state shared by the modules of transparent resume: resume.c (load and
 * enter), resume-args.c (the restorer's arguments in the bootstrap region), resume-layout.c
 * (where that region goes) and resume-finish.c (the tracer side in minicr). Other modules use
 * resume.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "mm.pb-c.h"
#include "task/mm-parse.h"
#include "task/resume.h"
#include "task/xstate.h"

struct restorer_args;
struct resume_attrs;
struct shm_registry;

#define RESUME_PAGE_SIZE      4096ull
#define RESUME_PAGE_ALIGN(x)  (((x) + RESUME_PAGE_SIZE - 1) & ~(RESUME_PAGE_SIZE - 1))
#define RESUME_SPECIAL_KINDS  3 /* vvar, vvar_vclock, vdso */
/* Runs this long or longer are read with O_DIRECT where the file system allows it. From a cold
 * image (a direct dump leaves none of it cached) one direct read of a long run into fresh memory
 * ran at ~2 GB/s on the VM this was measured on, while buffered reads, which fill the page cache
 * first, ran at 0.4-0.9 GB/s; below about 1 MiB, buffered reads with readahead do as well. */
#define RESUME_DIRECT_RUN_MIN (1ull << 20)

/* What every task of one restore shares: made in minicr before any task exists. */
struct resume_set {
	struct shm_registry *shm;
	uint32_t *seize_flags; /* MAP_SHARED: one futex word per task, see resume_task */
	size_t n_flags, n_used;
	size_t flags_len;
	uint64_t special_sizes[RESUME_SPECIAL_KINDS]; /* minicr's vvar/vvar_vclock/vdso */
	struct xstate_cpu xstate_cpu;
	bool has_cap_sys_resource; /* minicr may raise a hard resource limit */
};

struct resume_task {
	struct resume_set *set;
	pid_t pid;
	int img_dirfd;
	bool is_seized;
	bool leave_stopped;
	/* What minicr keeps of the images once they are checked; the task reads them again in
	 * enter(): a tree's images held in minicr would be copied into every task it forks and
	 * unmapped again by every restorer. */
	pid_t *tids; /* main thread first */
	size_t n_tids;
	bool has_seccomp;
	bool group_stopped;
	struct resume_attrs *attrs; /* what minicr sets from outside (resume-attrs.c) */
	/* the images, between read_images() and drop_images() */
	TaskCoreEntry *core;
	MmEntry *mm;
	PageRunEntry **runs;
	size_t n_runs;
	uint64_t pages_size;
	/* runs of RESUME_DIRECT_RUN_MIN and more are read with O_DIRECT (decided at load) */
	bool has_direct_pages;
	/* a fd table shared with other tasks (resume_task_set_shared_files()) */
	bool is_files_member;
	void (*files_sync)(void *arg);
	void *files_sync_arg;
	/* in set->seize_flags, inherited by the task: minicr sets it and wakes the futex once it
	 * has seized the task, which waits for that in enter() */
	uint32_t *is_seized_flag;
	struct resume_lock *locks; /* set again by the blob, last (resume_task_set_locks) */
	size_t n_locks;
	/* resume_task_set_fs(): where mapped files are opened, and the task's last step */
	int path_root_fd;
	int (*enter_fs)(void *opaque);
	void *enter_opaque;
};

static inline bool resume_vma_is_special(const VmaEntry *v)
{
	return v->kind == VMA_KIND_VVAR || v->kind == VMA_KIND_VVAR_VCLOCK ||
	       v->kind == VMA_KIND_VDSO;
}

/* ---- resume-layout.c --------------------------------------------------------------------- */

/* This process's own memory map, read once and stably (no VmFlags). Returns 0 or -errno
 * (logged). *ret_vmas is malloc'd. */
int resume_layout_read_own(struct mm_vma **ret_vmas, size_t *ret_n);

/* The sizes of the vvar, vvar_vclock and vdso mappings among vmas. */
void resume_layout_special_sizes(const struct mm_vma *vmas, size_t n, uint64_t sizes[3]);

/* The middle of the largest hole that neither rt's dumped layout nor own (this process's
 * current one) uses, for a region of size bytes. Returns 0 or -errno (logged). */
int resume_layout_place(const struct resume_task *rt, const struct mm_vma *own, size_t n_own,
			uint64_t size, uint64_t *ret_addr);

/* ---- resume-attrs.c ---------------------------------------------------------------------- */

/* Whether this machine can give rt's threads their CPU affinity and its process its OOM score
 * adjustment (rt->core loaded). Returns 0 or -errno (logged: task, thread, why). */
int resume_attrs_check(const struct resume_task *rt);
/* Keeps in rt->attrs what resume_attrs_apply() needs of rt->core, before the images are
 * dropped. Returns 0 or -ENOMEM (logged). */
int resume_attrs_keep(struct resume_task *rt);
void resume_attrs_free(struct resume_attrs *attrs); /* NULL-safe */
/* In minicr, the tracer, once every thread of process pid holds its dumped registers and before
 * any runs: per thread affinity, scheduling policy and parameters, timer slack, I/O priority;
 * then the
 * process's oom_score_adj. Returns 0 or -errno (logged). */
int resume_attrs_apply(const struct resume_task *rt, pid_t pid);

/* ---- resume-args.c ----------------------------------------------------------------------- */

/* The bootstrap region: blob | args and tables | sigframes | main stack | thread stacks | park. */
struct resume_region {
	uint8_t *base;
	uint64_t len;
	uint64_t args, frames, main_stack_top, thread_stacks, park;
	size_t frame_size;
	uint64_t cursor, args_end; /* bump allocator inside the args part */
};

#define RESUME_HELPERS_MAX 1024

/* The fds the restored task opens for the blob (pages image, mapped files, the executable,
 * shared memory), which the blob closes after PR_SET_MM_MAP. */
struct resume_helpers {
	int fds[RESUME_HELPERS_MAX];
	char *paths[RESUME_HELPERS_MAX];
	int modes[RESUME_HELPERS_MAX];
	size_t n;
};

void resume_helpers_close(struct resume_helpers *h);
void resume_helpers_forget(struct resume_helpers *h); /* frees the paths, keeps the fds */

/* Maps the bootstrap region in this process (the restored task) and fills the restorer's
 * arguments from rt's images; own is this process's map. The helper fds are in h; they and
 * extra_fds are in the list the blob closes. Returns 0 or -errno (logged); on failure the
 * region is unmapped. */
int resume_args_build(struct resume_task *rt, const struct mm_vma *own, size_t n_own,
		      struct resume_region *r, struct resume_helpers *h, const int *extra_fds,
		      size_t n_extra, struct restorer_args **ret_args);

/* size bytes (16-byte aligned) of the args part of the region; NULL when it is full. */
void *resume_region_alloc(struct resume_region *r, size_t size);

/* ---- resume-timers.c --------------------------------------------------------------------- */

/* Whether this kernel takes the id of a POSIX timer to create (PR_TIMER_CREATE_RESTORE_IDS,
 * 6.15+); MINICR_FAULT=timer-restore-ids makes it answer no (tests). */
bool resume_timers_ids_by_prctl(void);
/* Whether restore can give rt's POSIX timers their ids here: without the prctl, an id at or
 * above TIMERS_LINEAR_ID_MAX is refused. Returns 0 or -ENOTSUP (logged: task, timer, why). */
int resume_timers_check(const struct resume_task *rt);
/* The bytes resume_timers_fill() takes of the region for rt's timers. */
size_t resume_timers_size(const TaskCoreEntry *core);
/* The interval and POSIX timers of core into a (the timers in r). Returns 0 or -ENOSPC. */
int resume_timers_fill(const TaskCoreEntry *core, struct resume_region *r, struct restorer_args *a);

/* A dumped path (absolute in the task's mount namespace) opened, O_CLOEXEC, beneath the
 * namespace's root when resume_task_set_fs() gave one, else from "/"; -1 with errno. */
int resume_open_in_task_root(const struct resume_task *rt, const char *path, int flags);
