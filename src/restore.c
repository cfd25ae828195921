/* restore.c: the restore sequence: read and validate every image → create the root task →
 * (in it) mount namespace, detached mounts, the file table → the other tasks with their pids →
 * every task's fds → stop or resume. Any failure kills what was created and leaves nothing. */
#define LOG_PREFIX "restore: "
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/log.h"
#include "mount/restore-detached.h"
#include "base/fault.h"
#include "fd/restore-table.h"
#include "image-set/image-set.h"
#include "mount/restore-ns.h"
#include "task/restore-tree.h"
#include "task/resume.h"
#include "base/util.h"

#define SERVICE_FD_CEILING 65536 /* service fds sit just below min(hard limit, this) */

struct restore_ctx {
	const struct cli_options *opts;
	struct restore_set *set;
	struct restore_tree *tree;
	struct restore_detached *detached;
	struct restore_fdtable *table;
	struct resume_task **resume; /* per task; NULL when the set has no core images */
	int ns_root_fd;
	int service_base; /* log, status pipe, then the images dir for resume_task_enter() */
};

/* Debug timeline of the restore steps (-vvv), in ms since minicr started restoring. */
static uint64_t t_start;

static void phase(const char *what)
{
	pr_debug("%.3f ms: %s", (double)(monotonic_ns() - t_start) / 1e6, what);
}

static int mount_root(void *opaque, const RegFileEntry *reg)
{
	struct restore_ctx *ctx = opaque;

	if (reg->detached)
		return restore_detached_root(ctx->detached, reg->mnt_id);
	return ctx->ns_root_fd;
}

/* In the root task: mounts, then every file of the tree opened once. */
static int prepare_root(void *opaque)
{
	struct restore_ctx *ctx = opaque;
	const struct restore_set *set = ctx->set;
	int r;

	ctx->detached = restore_detached_new(set, ctx->opts->detached_method);
	if (!ctx->detached)
		return -ENOMEM;
	if (set->own_mntns) {
		/* detached mounts whose source lives in minicr's namespace, before leaving it */
		r = restore_detached_prepare(ctx->detached, false);
		if (r < 0)
			return r;
		r = restore_mntns_build(set);
		if (r < 0)
			return r;
	}
	r = restore_detached_prepare(ctx->detached, true);
	if (r < 0)
		return r;
	ctx->ns_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->ns_root_fd < 0)
		return pr_errno("cannot open the root of the mount namespace");
	phase("mounts ready");
	r = restore_fds_open(set, mount_root, ctx, ctx->service_base, &ctx->table);
	phase("files open");
	/* The detached mounts now live on only through the files opened beneath them. */
	ctx->detached = restore_detached_free(ctx->detached);
	close(ctx->ns_root_fd);
	ctx->ns_root_fd = -EBADF;
	return r;
}

static int finish_task(void *opaque, size_t task_idx)
{
	struct restore_ctx *ctx = opaque;

	int r;

	if (task_idx == ctx->set->n_tasks - 1 && restore_fault("install") < 0)
		return -EIO;
	r = restore_fds_install(ctx->table, task_idx);
	phase("fds installed");
	return r;
}

static int enter_task(void *opaque, size_t task_idx)
{
	struct restore_ctx *ctx = opaque;

	return resume_task_enter(ctx->resume[task_idx]);
}

/* Loads what transparent resume needs for every task, when the dump wrote core images;
 * without them the tasks are left stopped. Returns 0 or -errno (logged). */
static int load_resume(struct restore_ctx *ctx, int img_dirfd)
{
	const struct restore_set *set = ctx->set;
	char name[64];

	snprintf(name, sizeof(name), "core-%d.img", set->tasks[0].pst->pid);
	if (faccessat(img_dirfd, name, F_OK, 0) < 0) {
		pr_info("no core images: the restored tasks are left stopped");
		return 0;
	}
	ctx->resume = calloc(set->n_tasks, sizeof(*ctx->resume));
	if (!ctx->resume)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_tasks; i++) {
		int r = resume_task_load(img_dirfd, set->tasks[i].pst->pid, &ctx->resume[i]);

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
}

/* Every task reported ready: let each one resume (or check that each one stopped). */
static int resume_tree(struct restore_ctx *ctx)
{
	if (!ctx->resume)
		return restore_tree_wait_stopped(ctx->tree);
	for (size_t i = 0; i < ctx->set->n_tasks; i++) {
		int r = resume_task_finish(ctx->resume[i], ctx->set->tasks[i].pst->pid);

		if (r < 0)
			return r;
	}
	return ctx->opts->leave_stopped ? restore_tree_wait_stopped(ctx->tree) : 0;
}

/* The soft fd limit raised to the hard one (root lacks CAP_SYS_RESOURCE here, so the hard
 * limit is what there is). Returns the first service fd number. */
/* The fd limit raised to its hard value; the service fds sit just below it. */
static int service_fd_base(void)
{
	int limit = raise_fd_limit();

	if (limit < 0)
		return pr_neg(limit, "cannot raise the fd limit");
	return (limit < SERVICE_FD_CEILING ? limit : SERVICE_FD_CEILING) - 3;
}

/* Refuses before anything is created when a pid of the tree is taken. */
static int check_pids_free(const struct restore_set *set)
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

int restore_run(const struct cli_options *opts)
{
	struct restore_ctx ctx = {.opts = opts, .ns_root_fd = -EBADF};
	cleanup(restore_set_freep) struct restore_set *set = NULL;
	cleanup(restore_tree_freep) struct restore_tree *tree = NULL;
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
	if (restore_set_load(img_dirfd, ctx.service_base, &set) < 0 ||
	    restore_fault("validate") < 0 || check_pids_free(set) < 0)
		return CLI_EXIT_FAILED;
	ctx.set = set;
	phase("images validated");
	r = load_resume(&ctx, img_dirfd);
	if (r < 0)
		goto out_free;
	ops.enter_task = ctx.resume ? enter_task : NULL;
	/* step 2: the tree, which builds its mounts and files and reports ready */
	r = restore_tree_new(set, ctx.service_base, opts->leave_stopped, &tree);
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
	/* step 3: every task resumes (or is left stopped) */
	if (r == 0)
		r = resume_tree(&ctx);
	phase("tree resumed");
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
