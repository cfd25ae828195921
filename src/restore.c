/* restore.c: the restore sequence: read and validate every image → create the root task →
 * (in it) mount namespace, detached mounts, the file table → the other tasks with their pids →
 * every task's fds → stop or resume. Any failure kills what was created and leaves nothing. */
#define LOG_PREFIX "restore: "
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/kerndat.h"
#include "base/kerndat-parse.h"
#include "cli.h"
#include "fd/restore-check.h"
#include "base/log.h"
#include "mount/restore-detached.h"
#include "base/fault.h"
#include "fd/locks.h"
#include "fd/restore-table.h"
#include "image-set/image-set.h"
#include "mount/restore-ns.h"
#include "task/restore-cgroup.h"
#include "task/restore-tree.h"
#include "task/resume.h"
#include "base/util.h"

struct restore_ctx {
	const struct cli_options *opts;
	struct image_set *set;
	struct restore_tree *tree;
	struct restore_detached *detached;
	struct restore_fdtable *table;
	struct resume_set *resume_set;
	struct resume_task **resume; /* per task; NULL when the set has no core images */
	struct restore_ns *ns;	     /* the tree's own mount namespaces; NULL: none */
	int own_root_fd;	     /* minicr's root, where files of its namespace are reopened */
	/* in each task: the one it is, its namespace and that namespace's root */
	size_t task_idx;
	int task_ns_fd, task_root_fd;
	int service_base; /* log, status pipe, then the images dir for resume_task_enter() */
};

/* Debug timeline of the restore steps (-vvv), in ms since minicr started restoring. */
static uint64_t t_start;

static void phase(const char *what)
{
	pr_debug("%.3f ms: %s", (double)(monotonic_ns() - t_start) / 1e6, what);
}

/* --explain: the start of the step being told. */
static uint64_t t_step;

/* Files are reopened beneath the root of their own mount where the tree's namespaces have it
 * (also for a task of another namespace, and under a mount that covers its path), of their
 * detached mount, or else by their path in minicr's namespace, where they were at dump. */
static int mount_root(void *opaque, const RegFileEntry *reg, const char **ret_path)
{
	struct restore_ctx *ctx = opaque;
	const struct image_set *set = ctx->set;
	ssize_t m;
	int fd;

	if (reg->detached)
		return restore_detached_root(ctx->detached, reg->mnt_id);
	m = reg->has_mnt_ns_id ? image_set_mnt(set, reg->mnt_id) : -1;
	if (m < 0 || set->mntns[image_set_mnt_ns(set, (size_t)m)].id != reg->mnt_ns_id)
		return ctx->own_root_fd;
	fd = restore_ns_mount_root(ctx->ns, (size_t)m);
	if (fd < 0) {
		pr_err("cannot reopen '%s': mount %lu was not rebuilt", reg->path,
		       (unsigned long)reg->mnt_id);
		return fd;
	}
	*ret_path = image_set_path_in_mnt(set, (size_t)m, reg->path);
	return fd;
}

/* Inside namespace ns once it is built: the detached mounts whose source lives there. */
static int in_ns(void *opaque, size_t ns)
{
	struct restore_ctx *ctx = opaque;
	int r;

	restore_detached_set_ns(ctx->detached, ctx->set->mntns[ns].id);
	r = restore_detached_prepare(ctx->detached, false);
	restore_detached_set_ns(ctx->detached, 0);
	return r;
}

/* In the root task: mounts, then every file of the tree opened once. */
static int prepare_root(void *opaque)
{
	struct restore_ctx *ctx = opaque;
	const struct image_set *set = ctx->set;
	int r;

	ctx->detached = restore_detached_new(set, ctx->opts->detached_method);
	if (!ctx->detached)
		return -ENOMEM;
	/* detached mounts whose source lives in minicr's namespace, then in each of the tree's */
	r = restore_detached_prepare(ctx->detached, false);
	if (r < 0)
		return r;
	if (set->n_mntns) {
		r = restore_ns_new(set, &ctx->ns);
		if (r < 0)
			return r;
		r = restore_ns_build(ctx->ns, in_ns, ctx);
		if (r < 0)
			return r;
	}
	r = restore_detached_prepare(ctx->detached, true);
	if (r < 0)
		return r;
	ctx->own_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->own_root_fd < 0)
		return pr_errno("cannot open the root of the mount namespace");
	phase("mounts ready");
	explain(t_step, NULL, "mounts ready in the root task");
	t_step = monotonic_ns();
	r = restore_fds_open(set,
			     &(struct fd_restore_callbacks){.mount_root = mount_root,
							    .opaque = ctx,
							    .shell_job = ctx->opts->criu.shell_job},
			     ctx->service_base, &ctx->table);
	phase("files open");
	if (r == 0)
		explain(t_step, "openat2(RESOLVE_BENEATH), pipe, memfd_create, ...",
			"opened each of the %zu open file descriptions once in the root task, so "
			"fds that shared one still share it",
			set->n_files);
	t_step = monotonic_ns();
	/* The detached mounts now live on only through the files opened beneath them. */
	ctx->detached = restore_detached_free(ctx->detached);
	if (ctx->ns)
		restore_ns_close_mount_roots(ctx->ns);
	closep(&ctx->own_root_fd);
	ctx->own_root_fd = -EBADF;
	return r;
}

/* A task's last step before it resumes: into its mount namespace, then its root and cwd there
 * (kept by restore_fds_install()). */
static int enter_task_fs(void *opaque)
{
	struct restore_ctx *ctx = opaque;
	int r = 0;

	if (ctx->task_ns_fd >= 0 && setns(ctx->task_ns_fd, CLONE_NEWNS) < 0)
		r = pr_errno("cannot enter the mount namespace of task %d",
			     ctx->set->tasks[ctx->task_idx].pst->pid);
	closep(&ctx->task_ns_fd);
	closep(&ctx->task_root_fd);
	ctx->task_ns_fd = ctx->task_root_fd = -EBADF;
	if (r == 0)
		r = restore_fds_enter_fs(ctx->table, ctx->task_idx);
	return r;
}

static int finish_task(void *opaque, size_t task_idx, bool is_member)
{
	struct restore_ctx *ctx = opaque;

	int r;

	if (task_idx == ctx->set->n_tasks - 1 && restore_fault("install") < 0)
		return -EIO;
	ctx->task_idx = task_idx;
	if (ctx->ns) {
		/* its children have theirs: keep only its own namespace, above its fds */
		r = restore_ns_take(ctx->ns, ctx->set->tasks[task_idx].mntns, ctx->set->max_fd + 1,
				    &ctx->task_ns_fd, &ctx->task_root_fd);
		ctx->ns = restore_ns_free(ctx->ns);
		if (r < 0)
			return r;
	}
	/* a task sharing its owner's fd table (CLONE_FILES) sets only cwd, root and umask */
	r = is_member ? restore_fds_member_fs(ctx->table, task_idx, ctx->task_ns_fd >= 0)
		      : restore_fds_install(ctx->table, task_idx, ctx->task_ns_fd >= 0);
	phase("fds installed");
	if (r < 0 || ctx->task_ns_fd < 0)
		return r;
	/* a task that resumes enters its namespace once it has opened what it maps */
	if (ctx->resume) {
		resume_task_set_fs(ctx->resume[task_idx], ctx->task_root_fd, enter_task_fs, ctx);
		return 0;
	}
	return enter_task_fs(ctx);
}

static int enter_task(void *opaque, size_t task_idx, const struct restore_tree_files *files)
{
	struct restore_ctx *ctx = opaque;
	cleanup_free struct fd_posix_lock *locks = NULL;
	cleanup_free struct resume_lock *copy = NULL;
	ssize_t n = fd_locks_posix_of_task(ctx->set, task_idx, &locks);

	if (files)
		resume_task_set_shared_files(ctx->resume[task_idx], files->is_member, files->sync,
					     files->arg);
	/* the blob sets them again once it has closed the fds it mapped files through */
	if (n < 0)
		return (int)n;
	if (n > 0) {
		copy = calloc((size_t)n, sizeof(*copy));
		if (!copy)
			return pr_neg(-ENOMEM, "cannot pass the locks of task %d on",
				      (int)ctx->set->tasks[task_idx].pst->pid);
		for (ssize_t i = 0; i < n; i++)
			copy[i] = (struct resume_lock){locks[i].fd, locks[i].type,
						       (long long)locks[i].start,
						       (long long)locks[i].len};
		if (resume_task_set_locks(ctx->resume[task_idx], copy, (size_t)n) < 0)
			return -ENOMEM;
	}
	return resume_task_enter(ctx->resume[task_idx]);
}

/* Loads what transparent resume needs for every task, when the dump wrote core images;
 * without them the tasks are left stopped. Returns 0 or -errno (logged). */
static int load_resume(struct restore_ctx *ctx, int img_dirfd)
{
	const struct image_set *set = ctx->set;
	char name[64];
	int r;

	snprintf(name, sizeof(name), "core-%d.img", set->tasks[0].pst->pid);
	if (faccessat(img_dirfd, name, F_OK, 0) < 0) {
		pr_info("no core images: the restored tasks are left stopped");
		return 0;
	}
	ctx->resume = calloc(set->n_tasks, sizeof(*ctx->resume));
	if (!ctx->resume)
		return -ENOMEM;
	r = resume_set_new(set->n_tasks, &ctx->resume_set);
	if (r < 0)
		return r;
	for (size_t i = 0; i < set->n_tasks; i++) {
		r = resume_task_load(ctx->resume_set, img_dirfd, set->tasks[i].pst->pid,
				     &ctx->resume[i]);
		if (r < 0)
			return r;
		resume_task_set_img_dirfd(ctx->resume[i], ctx->service_base + 2);
		resume_task_set_leave_stopped(ctx->resume[i], ctx->opts->leave_stopped);
	}
	return 0;
}

static void free_resume(struct restore_ctx *ctx)
{
	if (!ctx->resume)
		return;
	for (size_t i = 0; i < ctx->set->n_tasks; i++)
		resume_task_free(ctx->resume[i]);
	free(ctx->resume);
	ctx->resume = NULL;
	ctx->resume_set = resume_set_free(ctx->resume_set);
}

/* Every task reported ready: let each one resume (or check that each one stopped). */
static int resume_tree(struct restore_ctx *ctx)
{
	if (!ctx->resume)
		return restore_tree_wait_stopped(ctx->tree);
	/* seized, a task rebuilds its memory on its own: seize all, then wait for each */
	for (size_t i = 0; i < ctx->set->n_tasks; i++) {
		int r = resume_task_seize(ctx->resume[i], ctx->set->tasks[i].pst->pid);

		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ctx->set->n_tasks; i++) {
		int r = resume_task_finish(ctx->resume[i], ctx->set->tasks[i].pst->pid);

		if (r < 0)
			return r;
	}
	return ctx->opts->leave_stopped ? restore_tree_wait_stopped(ctx->tree) : 0;
}

/* The soft fd limit raised to the hard one (root lacks CAP_SYS_RESOURCE here, so the hard
 * limit is what there is). Returns the first service fd number: the tree's fds are below it. */
static int service_fd_base(void)
{
	int limit = raise_fd_limit();

	if (limit < 0)
		return pr_neg(limit, "cannot raise the fd limit");
	return image_set_fd_limit(limit);
}

/* --shell-job: a root that leads its process group is the job in the foreground of minicr's
 * terminal, as a shell would put it (CRIU's way). SIGTTOU is held off for the call: minicr may
 * itself be in the background. */
static int foreground_job(const struct image_set *set)
{
	const PstreeEntry *root = set->tasks[0].pst;
	sigset_t ttou, old;
	int r = 0;

	if (root->pgid != root->pid || !isatty(STDIN_FILENO))
		return 0;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (tcsetpgrp(STDIN_FILENO, root->pid) < 0)
		r = pr_errno("cannot put the restored job %d in the foreground of this terminal",
			     root->pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int move_cgroups(const struct restore_cgroups *cgroups)
{
	uint64_t start = monotonic_ns();
	int r = restore_cgroups_move(cgroups);

	if (r == 0)
		explain(start, "write(cgroup.procs)",
			"put the tasks back into %zu cgroup(s) they were in (%zu move(s); where "
			"minicr's own cgroup was theirs, they were in it already)",
			restore_cgroups_n_targets(cgroups), restore_cgroups_n_moves(cgroups));
	return r;
}

/* Refuses before anything is created when a pid of the tree is taken. */
static int check_pids_free(const struct image_set *set)
{
	for (size_t i = 0; i < set->n_tasks; i++) {
		const PstreeEntry *p = set->tasks[i].pst;

		for (size_t k = 0; k <= p->n_threads; k++) {
			pid_t pid = k == 0 ? p->pid : p->threads[k - 1];

			if (kill(pid, 0) == 0 || errno != ESRCH) {
				pr_err("cannot restore task %d: pid %d is in use", p->pid, pid);
				return -EEXIST;
			}
		}
	}
	return 0;
}

/* restore --check-only: what restore checks before it creates anything (the images, the pids)
 * and what it can check of this system without changing it: the kernel features restore needs,
 * the sources of detached mounts, the files reopened by path in minicr's namespace, the cgroups
 * the tasks go back into. */
static int check_only(const struct image_set *set, const struct cli_options *opts)
{
	cleanup(restore_cgroups_freep) struct restore_cgroups *cgroups = NULL;
	const char *missing[8];
	struct kerndat kd;
	cleanup_close int root_fd = -EBADF;
	size_t n_missing;
	int r;

	r = kerndat_probe(&kd);
	if (r < 0)
		return r;
	n_missing = kerndat_missing_for_restore(&kd, missing, ARRAY_SIZE(missing));
	if (n_missing) {
		pr_err("cannot restore on this kernel: %s is missing%s", missing[0],
		       n_missing > 1 ? " (and more: see minicr check)" : "");
		return -ENOTSUP;
	}
	r = restore_detached_check(set);
	if (r < 0)
		return r;
	root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return pr_errno("cannot open the root of the mount namespace");
	r = fd_check_paths(set, root_fd);
	if (r < 0)
		return r;
	r = cli_manage_cgroups(opts) ? restore_cgroups_prepare(set, &cgroups) : 0;
	if (r < 0)
		return r;
	printf("restore check passed: %zu task(s), %zu file(s), %zu mount(s), %zu detached "
	       "mount(s)\n",
	       set->n_tasks, set->n_files, set->n_mnts, set->n_detached);
	return 0;
}

int restore_run(const struct cli_options *opts)
{
	struct restore_ctx ctx = {
	    .opts = opts,
	    .own_root_fd = -EBADF,
	    .task_ns_fd = -EBADF,
	    .task_root_fd = -EBADF,
	};
	cleanup(image_set_freep) struct image_set *set = NULL;
	cleanup(restore_tree_freep) struct restore_tree *tree = NULL;
	cleanup(restore_cgroups_freep) struct restore_cgroups *cgroups = NULL;
	cleanup_close int img_dirfd = -EBADF;
	struct restore_tree_ops ops = {
	    .prepare_root = prepare_root,
	    .finish_task = finish_task,
	    .opaque = &ctx,
	};
	int r;

	if (!opts->images_dir) {
		pr_err("no images directory given (-D)");
		return CLI_EXIT_USAGE;
	}
	img_dirfd = open(opts->images_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (img_dirfd < 0) {
		pr_errno("cannot open images directory '%s'", opts->images_dir);
		return CLI_EXIT_FAILED;
	}
	t_start = monotonic_ns();
	/* step 1: every image read and checked; nothing exists yet */
	ctx.service_base = service_fd_base();
	if (ctx.service_base < 0)
		return CLI_EXIT_FAILED;
	if (image_set_load(img_dirfd, ctx.service_base, &set) < 0 ||
	    restore_fault("validate") < 0 || check_pids_free(set) < 0)
		return CLI_EXIT_FAILED;
	ctx.set = set;
	phase("images validated");
	explain(t_start, "read, no other syscall",
		"read and checked the images: %zu task(s), %zu open file description(s), %zu "
		"mount(s) in %zu namespace(s) of the tree's own, %zu detached mount(s); pids are "
		"free",
		set->n_tasks, set->n_files, set->n_mnts, set->n_mntns, set->n_detached);
	t_step = monotonic_ns();
	if (opts->check_only)
		return check_only(set, opts) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	/* the cgroups the tasks go back into exist: checked before anything is created */
	if (cli_manage_cgroups(opts) && restore_cgroups_prepare(set, &cgroups) < 0)
		return CLI_EXIT_FAILED;
	r = load_resume(&ctx, img_dirfd);
	if (r < 0)
		goto out_free;
	ops.enter_task = ctx.resume ? enter_task : NULL;
	/* step 2: the tree, which builds its mounts and files and reports ready */
	r = restore_tree_new(set, ctx.service_base, opts->leave_stopped, opts->criu.shell_job, &tree);
	if (r < 0)
		goto out_free;
	ctx.tree = tree;
	if (dup3(img_dirfd, ctx.service_base + 2, O_CLOEXEC) < 0) {
		r = pr_errno("cannot pass the images directory to the restored tree");
		goto out_free;
	}
	r = restore_tree_start(tree, &ops);
	close(ctx.service_base + 2);
	phase("tree ready");
	/* every task exists and none runs the tree's code yet: into their cgroups */
	if (r == 0 && cgroups)
		r = move_cgroups(cgroups);
	if (r == 0 && opts->criu.shell_job)
		r = foreground_job(set);
	if (r == 0)
		explain(
		    t_step, "clone3(set_tid)",
		    "created %zu task(s) with their old pids, sessions and groups; each put its "
		    "fds at their numbers, cwd and root",
		    set->n_tasks);
	t_step = monotonic_ns();
	/* step 3: every task resumes (or is left stopped) */
	if (r == 0)
		r = resume_tree(&ctx);
	phase("tree resumed");
	if (r == 0)
		explain(t_step, ctx.resume ? "restorer: mmap, PR_SET_MM_MAP, rt_sigreturn" : NULL,
			ctx.resume ? "every task got its memory, registers and threads back and "
				     "continues where it was frozen"
				   : "no memory images: the tasks are left stopped");
	if (r < 0) {
		restore_tree_abort(tree);
		goto out_free;
	}
	free_resume(&ctx);
	pr_info("restored %zu task(s), root %d", set->n_tasks, set->tasks[0].pst->pid);
	/* step 4: -d returns now; otherwise wait for the root as its parent (CRIU's way) */
	if (opts->restore_detached)
		return CLI_EXIT_OK;
	return restore_tree_wait_root(tree);
out_free:
	free_resume(&ctx);
	return CLI_EXIT_FAILED;
}
