/* Unit tests for core-check.c: task_images_validate() over hand-built images. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/user.h>

#include "task/core-check.h"
#include "task/mm-parse.h"

static struct user_regs_struct regs;
static uint8_t xstate[1024];

struct images {
	ThreadCoreEntry thread, *threads[1];
	TaskCoreEntry core;
	VmaEntry vmas[2], *vma_ptrs[2];
	MmEntry mm;
	PageRunEntry run, *runs[1];
	struct task_images ti;
};

/* A task 42 with one thread, an anonymous mapping holding one page and a file mapping. */
static void build(struct images *im)
{
	memset(im, 0, sizeof(*im));
	thread_core_entry__init(&im->thread);
	im->thread.tid = 42;
	im->thread.has_gpregs = im->thread.has_xstate = true;
	im->thread.gpregs.data = (uint8_t *)&regs;
	im->thread.gpregs.len = sizeof(regs);
	im->thread.xstate.data = xstate;
	im->thread.xstate.len = sizeof(xstate);
	im->threads[0] = &im->thread;
	task_core_entry__init(&im->core);
	im->core.pid = 42;
	im->core.n_threads = 1;
	im->core.threads = im->threads;
	for (int i = 0; i < 2; i++) {
		vma_entry__init(&im->vmas[i]);
		im->vmas[i].has_kind = true;
		im->vma_ptrs[i] = &im->vmas[i];
	}
	im->vmas[0].start = 0x400000;
	im->vmas[0].end = 0x402000;
	im->vmas[0].kind = VMA_KIND_ANON;
	im->vmas[1].start = 0x500000;
	im->vmas[1].end = 0x501000;
	im->vmas[1].kind = VMA_KIND_FILE_PRIVATE;
	im->vmas[1].path = "/usr/lib/libc.so.6";
	mm_entry__init(&im->mm);
	im->mm.pid = 42;
	im->mm.n_vmas = 2;
	im->mm.vmas = im->vma_ptrs;
	im->mm.exe = "/usr/bin/true";
	page_run_entry__init(&im->run);
	im->run.vaddr = 0x401000;
	im->run.nr_pages = 1;
	im->run.has_file_off = true;
	im->runs[0] = &im->run;
	im->ti = (struct task_images){.pid = 42,
				      .core = &im->core,
				      .mm = &im->mm,
				      .runs = im->runs,
				      .n_runs = 1,
				      .pages_size = 4096};
}

Test(core_check, accepts_a_plain_task)
{
	struct images im;

	build(&im);
	cr_assert_eq(task_images_validate(&im.ti), 0);
}

Test(core_check, refuses_shared_memory_without_an_identity)
{
	struct images im;

	/* a memfd mapping (not MAP_ANONYMOUS) with no path: restore dereferenced it */
	build(&im);
	im.vmas[1].kind = VMA_KIND_SHMEM;
	im.vmas[1].path = NULL;
	im.vmas[1].has_shmid = true;
	im.vmas[1].flags = MAP_SHARED;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	im.vmas[1].path = "/tmp/x";
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	im.vmas[1].path = "/memfd:x";
	cr_assert_eq(task_images_validate(&im.ti), 0);
	im.vmas[1].has_shmid = false;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	im.vmas[1].has_shmid = true;
	im.vmas[1].path = NULL;
	im.vmas[1].flags = MAP_SHARED | MAP_ANONYMOUS;
	cr_assert_eq(task_images_validate(&im.ti), 0);
}

Test(core_check, keeps_the_executable_and_file_mappings_to_the_path_rules)
{
	struct images im;

	build(&im);
	im.mm.exe = "/usr/bin/../../etc/shadow";
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	im.mm.exe = "usr/bin/true";
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	im.mm.exe = NULL;
	cr_assert_eq(task_images_validate(&im.ti), 0);
	im.vmas[1].path = "/lib/../x";
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	im.vmas[1].path = NULL;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
}

Test(core_check, refuses_runs_outside_mappings_or_the_pages_image)
{
	struct images im;

	build(&im);
	im.vmas[1].kind = VMA_KIND_FILE_SHARED; /* its pages live in the file */
	im.run.vaddr = 0x500000;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.run.nr_pages = 2; /* past the end of the mapping */
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.ti.pages_size = 0;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.run.vaddr = UINT64_MAX & ~0xfffull;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
}

Test(core_check, refuses_bad_limits_and_threads)
{
	struct images im;
	RlimitEntry l = RLIMIT_ENTRY__INIT, *lp = &l;

	build(&im);
	l.has_cur = l.has_max = true;
	l.cur = 10;
	l.max = 5;
	im.core.n_rlimits = 1;
	im.core.rlimits = &lp;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	l.max = 10;
	cr_assert_eq(task_images_validate(&im.ti), 0);
	l.resource = 3; /* out of order */
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.thread.tid = 43;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.thread.gpregs.len = 8;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
}

Test(core_check, refuses_overlapping_or_unaligned_mappings)
{
	struct images im;

	build(&im);
	im.vmas[1].start = 0x401000;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.vmas[0].end = 0x401800;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
	build(&im);
	im.vmas[0].kind = VMA_KIND_VSYSCALL;
	cr_assert_eq(task_images_validate(&im.ti), -EBADMSG);
}
