/* fd/restore-file.c: one dumped open file description reopened through its kind, then its
 * generic state put back; the fds the kinds keep; installing a file at its number. */
#define LOG_PREFIX "fd: "
#include "fd/restore-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/kind.h"
#include "fd/restore-data.h"
#include "image-set/image-set.h"

/* Flags F_SETFL changes. */
#define FD_SETFL_FLAGS (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

struct deferred {
	void (*fn)(void *arg);
	void *arg;
};

struct kind_state {
	uint64_t tag;
	void *state;
	void (*release)(void *state);
};

struct fd_restore_ctx {
	struct fd_restore_callbacks cb;
	struct hmap kept; /* (tag, key) -> fd, or (size_t)-1 for a key kept alone */
	struct fd_data_restore *data;
	struct hmap files; /* (file id, 0) -> its fd in the table (borrowed) */
	struct deferred *deferred;
	size_t n_deferred;
	pid_t owner; /* the process that made the context: only it runs the deferred steps */
	struct kind_state *states; /* fd_restore_state() */
	size_t n_states;
	int *target; /* per file index: its lowest number in the root task, or -1; NULL without
		      * a set */
};

/* Where the root task (the first of the set, which opens every file) holds each file. */
static int find_targets(struct fd_restore_ctx *ctx)
{
	const struct image_set *set = ctx->cb.set;
	const struct restore_task *root;

	if (!set || !set->n_tasks || !set->n_files)
		return 0;
	ctx->target = malloc(set->n_files * sizeof(*ctx->target));
	if (!ctx->target)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++)
		ctx->target[i] = -1;
	root = &set->tasks[0];
	for (size_t k = 0; k < root->n_fds; k++) {
		ssize_t f = image_set_file(set, root->fds[k]->file_id);
		int n = root->fds[k]->fd;

		if (f >= 0 && (ctx->target[f] < 0 || n < ctx->target[f]))
			ctx->target[f] = n;
	}
	return 0;
}

struct fd_restore_ctx *fd_restore_ctx_new(const struct fd_restore_callbacks *cb)
{
	struct fd_restore_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->cb = *cb;
	ctx->owner = getpid();
	ctx->data = fd_data_restore_new();
	if (!ctx->data || find_targets(ctx) < 0)
		return fd_restore_ctx_free(ctx);
	return ctx;
}

struct fd_restore_ctx *fd_restore_ctx_free(struct fd_restore_ctx *ctx)
{
	if (!ctx)
		return NULL;
	/* last made, first released: a kind's undo may rely on what an earlier one made */
	for (size_t i = ctx->n_states; i-- > 0;) {
		if (ctx->states[i].release)
			ctx->states[i].release(ctx->states[i].state);
		free(ctx->states[i].state);
	}
	free(ctx->states);
	for (size_t i = 0; i < ctx->kept.cap; i++)
		if (ctx->kept.slots[i].used && (int)ctx->kept.slots[i].value >= 0)
			close((int)ctx->kept.slots[i].value);
	hmap_clear(&ctx->kept);
	hmap_clear(&ctx->files);
	/* after the kept fds are closed: a helper waiting for their end may now be reaped */
	if (ctx->owner == getpid())
		for (size_t i = 0; i < ctx->n_deferred; i++)
			ctx->deferred[i].fn(ctx->deferred[i].arg);
	free(ctx->deferred);
	fd_data_restore_free(ctx->data);
	free(ctx->target);
	free(ctx);
	return NULL;
}

int fd_restore_ctx_add_data(struct fd_restore_ctx *ctx, const FileDataEntry *entry)
{
	return fd_data_restore_add(ctx->data, entry);
}

int fd_restore_contents(struct fd_restore_ctx *ctx, uint64_t owner_id, int fd)
{
	return fd_data_restore_file(ctx->data, owner_id, fd);
}

int fd_restore_pipe_data(struct fd_restore_ctx *ctx, uint64_t pipe_id, int fd)
{
	return fd_data_restore_pipe(ctx->data, pipe_id, fd);
}

int fd_restore_mount_root(struct fd_restore_ctx *ctx, const RegFileEntry *reg,
			  const char **ret_path)
{
	if (!reg->path) {
		pr_err("cannot reopen a file without a path");
		return -EINVAL;
	}
	if (!ctx->cb.mount_root) {
		pr_err("cannot reopen '%s': no mount root given", reg->path);
		return -EINVAL;
	}
	*ret_path = reg->path;
	return ctx->cb.mount_root(ctx->cb.opaque, reg, ret_path);
}

int fd_restore_keep(struct fd_restore_ctx *ctx, uint64_t tag, uint64_t key, int fd)
{
	if (hmap_put(&ctx->kept, tag, key, (size_t)fd) < 0) {
		close(fd);
		errno = ENOMEM;
		return pr_errno("cannot keep an fd for restore");
	}
	return 0;
}

bool fd_restore_shell_job(const struct fd_restore_ctx *ctx)
{
	return ctx->cb.shell_job;
}

int fd_restore_defer(struct fd_restore_ctx *ctx, void (*fn)(void *arg), void *arg)
{
	struct deferred *d = reallocarray(ctx->deferred, ctx->n_deferred + 1, sizeof(*d));

	if (!d) {
		errno = ENOMEM;
		return pr_errno("cannot defer a restore step");
	}
	ctx->deferred = d;
	d[ctx->n_deferred++] = (struct deferred){.fn = fn, .arg = arg};
	return 0;
}

int fd_restore_ctx_note_file(struct fd_restore_ctx *ctx, uint32_t file_id, int fd)
{
	return hmap_put(&ctx->files, file_id, 0, (size_t)fd);
}

int fd_restore_file_fd(const struct fd_restore_ctx *ctx, uint32_t file_id)
{
	struct hmap_slot *s = hmap_find(&ctx->files, file_id, 0);

	return s ? (int)s->value : -ENOENT;
}

int fd_restore_lookup(const struct fd_restore_ctx *ctx, uint64_t tag, uint64_t key)
{
	struct hmap_slot *s = hmap_find(&ctx->kept, tag, key);

	return s ? (int)s->value : -ENOENT;
}

void *fd_restore_state(struct fd_restore_ctx *ctx, uint64_t tag, size_t size,
		       void (*release)(void *state))
{
	struct kind_state *bigger;
	void *state;

	for (size_t i = 0; i < ctx->n_states; i++)
		if (ctx->states[i].tag == tag)
			return ctx->states[i].state;
	state = calloc(1, size ? size : 1);
	bigger = state ? reallocarray(ctx->states, ctx->n_states + 1, sizeof(*bigger)) : NULL;
	if (!bigger) {
		free(state);
		return NULL;
	}
	ctx->states = bigger;
	ctx->states[ctx->n_states++] = (struct kind_state){tag, state, release};
	return state;
}

int fd_restore_take(struct fd_restore_ctx *ctx, uint64_t tag, uint64_t key)
{
	struct hmap_slot *s = hmap_find(&ctx->kept, tag, key);
	int fd;

	if (!s)
		return -ENOENT;
	fd = (int)s->value;
	s->value = (size_t)-1;
	return fd;
}

const struct image_set *fd_restore_image_set(const struct fd_restore_ctx *ctx)
{
	return ctx->cb.set;
}

int fd_restore_target(const struct fd_restore_ctx *ctx, uint32_t file_id)
{
	ssize_t f = ctx->target ? image_set_file(ctx->cb.set, file_id) : -1;

	return f >= 0 ? ctx->target[f] : -1;
}

static int fd_restore_pos(const FileEntry *fe, int fd)
{
	if (!fe->has_pos || fe->pos == 0 || (fe->flags & O_PATH))
		return 0;
	if (lseek(fd, (off_t)fe->pos, SEEK_SET) != (off_t)fe->pos)
		return pr_errno("cannot restore offset %lu of file %u", (unsigned long)fe->pos,
				fe->id);
	return 0;
}

/* F_SETFL flags the kind's open did not give, the owner, and O_ASYNC last. */
static int restore_flags_and_owner(const FileEntry *fe, int fd)
{
	uint32_t want;
	int cur;

	if (fe->flags & O_PATH)
		return 0;
	cur = fcntl(fd, F_GETFL);
	if (cur < 0)
		return pr_errno("cannot read the flags of restored file %u", fe->id);
	want = ((uint32_t)cur & ~FD_SETFL_FLAGS) | (fe->flags & FD_SETFL_FLAGS);
	if ((uint32_t)cur != want && fcntl(fd, F_SETFL, want) < 0)
		return pr_errno("cannot set flags 0%o on restored file %u", fe->flags, fe->id);
	if (fe->fown && (fe->fown->pid || fe->fown->signum)) {
		struct f_owner_ex owner = {.type = (int)fe->fown->pid_type, .pid = fe->fown->pid};

		if (fe->fown->pid && fcntl(fd, F_SETOWN_EX, &owner) < 0)
			return pr_errno("cannot set owner %d of restored file %u", owner.pid,
					fe->id);
		if (fcntl(fd, F_SETSIG, (int)fe->fown->signum) < 0)
			return pr_errno("cannot set signal %u of restored file %u",
					fe->fown->signum, fe->id);
	}
	if ((fe->flags & O_ASYNC) && fcntl(fd, F_SETFL, want | O_ASYNC) < 0)
		return pr_errno("cannot set O_ASYNC on restored file %u", fe->id);
	return 0;
}

int fd_restore_file(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const struct fd_kind *kind = fd_kind_by_type(fe->type);
	cleanup_close int fd = -EBADF;
	int r;

	if (!kind) {
		pr_err("cannot restore file %u: unknown type %d", fe->id, (int)fe->type);
		return -EINVAL;
	}
	r = kind->open(ctx, fe, &fd);
	if (r < 0)
		return r;
	/* The offset belongs to every open file description; kinds without one have pos 0. */
	r = fd_restore_pos(fe, fd);
	if (r < 0)
		return r;
	r = restore_flags_and_owner(fe, fd);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int fd_restore_install(const FdEntry *fde, int file_fd)
{
	int flags = fde->has_cloexec && fde->cloexec ? O_CLOEXEC : 0;

	if (file_fd == fde->fd) {
		if (fcntl(file_fd, F_SETFD, flags ? FD_CLOEXEC : 0) < 0)
			return pr_errno("cannot set close-on-exec of fd %d", fde->fd);
		return 0;
	}
	if (dup3(file_fd, fde->fd, flags) < 0)
		return pr_errno("cannot put file %u at fd %d", fde->file_id, fde->fd);
	return 0;
}
