/* fd/epoll.c: epoll instances. Dump: every item of fdinfo's "tfd:" lines with its events and
 * data, and which fd of the dumped task holds its target now: the number an item was added
 * with may since have been closed, reused or dup'ed away, so each item is checked with
 * kcmp(KCMP_EPOLL_TFD) and, when it does not match, looked for among the task's fds on the
 * target's inode. Restore: epoll_create1() with the table; the items are added in after_install
 * of the dumped task, whose fd numbers they name, each with the very number it had (its key
 * in the epoll: EPOLL_CTL_MOD and _DEL name it). Adding an item polls its target, so what was
 * ready at dump is reported again (an edge-triggered item may report once more). */
#define LOG_PREFIX "fd-epoll: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/epoll-parse.h"
#include "image-set/image-set.h"

/* The bits of an item that are not events: a fired EPOLLONESHOT item keeps only these. */
#define EPOLL_FLAG_BITS (EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP)

static bool epoll_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[eventpoll]") == 0 && p->fdinfo;
}

/* ---- dump ------------------------------------------------------------------------------- */

/* Finds the targets of one epoll among the fds of its task. */
struct target_search {
	const struct fd_params *p; /* the epoll */
	const struct fd_params *fds;
	size_t n_fds;
	struct hmap by_inode; /* fd_inode_key -> index in fds; built at the first miss */
};

/* kcmp(KCMP_EPOLL_TFD): is fd `fd` of the task the toff-th item with number tfd of the epoll?
 * 0 yes, 1 no. */
static int is_item_target(const struct fd_params *p, int fd, int tfd, uint32_t toff)
{
	struct kcmp_epoll_slot slot = {.efd = (uint32_t)p->fd, .tfd = (uint32_t)tfd, .toff = toff};

	return syscall(SYS_kcmp, p->pid, p->pid, KCMP_EPOLL_TFD, fd, &slot) == 0 ? 0 : 1;
}

static int index_by_inode(struct target_search *s)
{
	if (hmap_reserve(&s->by_inode, s->n_fds) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_fds; i++)
		if (hmap_put(&s->by_inode, fd_inode_key(s->fds[i].st.st_dev, s->fds[i].st.st_ino),
			     0, i) < 0)
			return -ENOMEM;
	return 0;
}

/* The fd of the task holding the item's target, or -ENOENT when none does. */
static int find_target(struct target_search *s, const struct epoll_tfd *item, uint32_t toff)
{
	dev_t dev = makedev(fdinfo_sdev_major(item->sdev), fdinfo_sdev_minor(item->sdev));
	struct hmap_slot *slot;
	int r;

	if (is_item_target(s->p, item->tfd, item->tfd, toff) == 0)
		return item->tfd;
	if (!s->by_inode.n && (r = index_by_inode(s)) < 0)
		return r;
	for (slot = hmap_find(&s->by_inode, fd_inode_key(dev, item->ino), 0); slot;
	     slot = hmap_next(&s->by_inode, slot)) {
		const struct fd_params *c = &s->fds[slot->value];

		if (c->st.st_dev == dev && c->st.st_ino == item->ino && c->fd != s->p->fd &&
		    is_item_target(s->p, c->fd, item->tfd, toff) == 0)
			return c->fd;
	}
	return -ENOENT;
}

/* How many earlier items share tfd: kcmp tells items with one number apart by that rank
 * (-ENOMEM on failure). */
static int64_t next_rank(struct hmap *ranks, int32_t tfd)
{
	struct hmap_slot *slot = hmap_find(ranks, (uint64_t)(uint32_t)tfd, 0);

	if (slot)
		return (int64_t)slot->value++;
	return hmap_put(ranks, (uint64_t)(uint32_t)tfd, 0, 1) < 0 ? -ENOMEM : 0;
}

static size_t count_items(const char *text, size_t len)
{
	size_t cursor = 0, n = 0, line_len;
	const char *line;

	while (fdinfo_next_line(text, len, EPOLL_TFD_PREFIX, &cursor, &line, &line_len) == 1)
		n++;
	return n;
}

/* Above this many items the child probe below pays off. */
#define PROBE_MIN_ITEMS 64

/* Checks, in one child process, every item whose number no other item has: with the task's
 * file at that number put at the same number of the child's own table (pidfd_getfd), an
 * EPOLL_CTL_ADD of it fails with EEXIST exactly when the item is that file's. That is one tree
 * lookup per item, where kcmp(KCMP_EPOLL_TFD) walks every item of the epoll for each one: a
 * large set would cost the square of its size. An item the probe does not find is added by it
 * and deleted at once. Sets ret_hit[i]; on any failure, fewer hits (kcmp decides those). */
static void probe_items(const struct fd_params *p, const struct epoll_tfd *items,
			const bool *unique, size_t n, bool *ret_hit)
{
	uint8_t *hit = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cleanup_close int pidfd = sys_pidfd_open(p->pid, 0);
	int32_t max_tfd = 0;
	pid_t child;

	if (hit == MAP_FAILED)
		return;
	if (pidfd < 0)
		goto out_unmap;
	for (size_t i = 0; i < n; i++)
		if (items[i].tfd > max_tfd)
			max_tfd = items[i].tfd;
	child = fork();
	if (child == 0) {
		/* the epoll and the pidfd above every item's number, nothing else open */
		int ep = fcntl(p->local_fd, F_DUPFD_CLOEXEC, max_tfd + 1), pf;

		pf = ep < 0 ? -1 : fcntl(pidfd, F_DUPFD_CLOEXEC, ep + 1);
		if (pf < 0)
			_exit(1);
		(void)syscall(SYS_close_range, 0U, (unsigned int)ep - 1, 0U);
		(void)syscall(SYS_close_range, (unsigned int)ep + 1, (unsigned int)pf - 1, 0U);
		(void)syscall(SYS_close_range, (unsigned int)pf + 1, ~0U, 0U);
		for (size_t i = 0; i < n; i++) {
			struct epoll_event ev = {0};
			int fd, tfd = items[i].tfd;

			if (!unique[i] || (fd = sys_pidfd_getfd(pf, tfd, 0)) < 0)
				continue;
			if (fd != tfd && dup3(fd, tfd, O_CLOEXEC) < 0)
				_exit(1);
			if (fd != tfd)
				close(fd);
			if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == 0)
				(void)epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL);
			else if (errno == EEXIST)
				hit[i] = 1;
			close(tfd);
		}
		_exit(0);
	}
	if (child > 0) {
		int status;

		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			for (size_t i = 0; i < n; i++)
				ret_hit[i] = hit[i] != 0;
	}
out_unmap:
	munmap(hit, n);
}

/* The items of fdinfo's "tfd:" lines, with each one's rank among the items of its number. */
static int parse_items(const struct fd_params *p, const char *text, size_t len,
		       struct epoll_tfd **ret_items, uint32_t **ret_ranks, bool **ret_unique,
		       size_t *ret_n)
{
	size_t cursor = 0, line_len, n = count_items(text, len), i = 0;
	cleanup_free struct epoll_tfd *items = calloc(n ? n : 1, sizeof(*items));
	cleanup_free uint32_t *ranks = calloc(n ? n : 1, sizeof(*ranks));
	cleanup_free bool *unique = calloc(n ? n : 1, sizeof(*unique));
	struct hmap counts = {0};
	const char *line;
	int r = 0;

	if (!items || !ranks || !unique || hmap_reserve(&counts, n) < 0)
		return -ENOMEM;
	while (r == 0 && i < n &&
	       fdinfo_next_line(text, len, EPOLL_TFD_PREFIX, &cursor, &line, &line_len) == 1) {
		int64_t rank;

		if (epoll_parse_tfd(line, line_len, &items[i]) < 0) {
			pr_err("cannot parse item %zu of epoll fd %d of task %d: '%.*s'", i, p->fd,
			       (int)p->pid, (int)line_len, line);
			r = -EINVAL;
			break;
		}
		rank = next_rank(&counts, items[i].tfd);
		if (rank < 0)
			r = (int)rank;
		ranks[i++] = (uint32_t)rank;
	}
	for (size_t k = 0; k < i && r == 0; k++)
		unique[k] = hmap_find(&counts, (uint64_t)(uint32_t)items[k].tfd, 0)->value == 1;
	hmap_clear(&counts);
	if (r < 0)
		return r;
	*ret_items = TAKE_PTR(items);
	*ret_ranks = TAKE_PTR(ranks);
	*ret_unique = TAKE_PTR(unique);
	*ret_n = i;
	return 0;
}

static int dump_items(struct fd_dump_ctx *ctx, const struct fd_params *p, const char *text,
		      size_t len, EpollFileEntry *ee)
{
	struct target_search s = {.p = p};
	cleanup_free struct epoll_tfd *items = NULL;
	cleanup_free uint32_t *ranks = NULL;
	cleanup_free bool *unique = NULL, *hit = NULL;
	size_t n;
	int r;

	r = parse_items(p, text, len, &items, &ranks, &unique, &n);
	if (r < 0)
		return r;
	s.n_fds = fd_dump_task_fds(ctx, &s.fds);
	ee->items = fd_dump_alloc(ctx, (n ? n : 1) * sizeof(*ee->items));
	hit = calloc(n ? n : 1, sizeof(*hit));
	if (!ee->items || !hit)
		return -ENOMEM;
	if (n >= PROBE_MIN_ITEMS)
		probe_items(p, items, unique, n, hit);
	for (size_t i = 0; i < n && r == 0; i++) {
		EpollItem *item = FD_DUMP_NEW(ctx, EpollItem, EPOLL_ITEM__INIT);
		int target = hit[i] ? items[i].tfd : find_target(&s, &items[i], ranks[i]);

		if (!item) {
			r = -ENOMEM;
		} else if (target < 0) {
			if (target == -ENOENT)
				pr_err(
				    "cannot dump epoll fd %d of task %d: its item %d watches inode "
				    "%lu, which no fd of the task holds any more",
				    p->fd, (int)p->pid, items[i].tfd, (unsigned long)items[i].ino);
			r = target;
		} else {
			item->tfd = items[i].tfd;
			item->has_target_fd = item->has_events = item->has_data = true;
			item->target_fd = target;
			item->events = items[i].events;
			item->data = items[i].data;
			ee->items[ee->n_items++] = item;
		}
	}
	hmap_clear(&s.by_inode);
	return r;
}

static int epoll_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	EpollFileEntry *ee = FD_DUMP_NEW(ctx, EpollFileEntry, EPOLL_FILE_ENTRY__INIT);
	const char *text;
	size_t len;
	int r;

	if (!ee)
		return -ENOMEM;
	r = fd_params_fdinfo(ctx, p, &text, &len);
	if (r < 0)
		return r;
	r = dump_items(ctx, p, text, len, ee);
	if (r < 0)
		return r;
	ee->has_pid = true;
	ee->pid = p->pid;
	fe->epoll = ee;
	return 0;
}

/* ---- restore ---------------------------------------------------------------------------- */

static int epoll_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const EpollFileEntry *ee = fe->epoll;
	const struct restore_task *task = NULL;
	struct hmap fds = {0};
	bool holds = false;
	int r = 0;

	if (!ee || !ee->has_pid)
		return image_set_bad(set, "files.img record %zu: epoll file %u has no task", rec,
				     fe->id);
	for (size_t i = 0; i < set->n_tasks && !task; i++)
		if (set->tasks[i].pst->pid == ee->pid)
			task = &set->tasks[i];
	if (!task)
		return image_set_bad(set,
				     "files.img record %zu: epoll file %u names task %d, absent "
				     "from pstree.img",
				     rec, fe->id, ee->pid);
	if (hmap_reserve(&fds, task->n_fds) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < task->n_fds; k++) {
		holds |= task->fds[k]->file_id == fe->id;
		if (hmap_put(&fds, (uint64_t)task->fds[k]->fd, 0, k) < 0) {
			hmap_clear(&fds);
			return -ENOMEM;
		}
	}
	if (!holds)
		r = image_set_bad(set, "files.img record %zu: epoll file %u is not held by task %d",
				  rec, fe->id, ee->pid);
	for (size_t i = 0; i < ee->n_items && r == 0; i++) {
		const EpollItem *item = ee->items[i];
		int32_t target = item->has_target_fd ? item->target_fd : item->tfd;

		if (item->tfd < 0 || !hmap_find(&fds, (uint64_t)target, 0))
			r = image_set_bad(
			    set,
			    "files.img record %zu: item %zu of epoll file %u names fd "
			    "%d, not an fd of task %d",
			    rec, i, fe->id, target, ee->pid);
	}
	hmap_clear(&fds);
	return r;
}

static int epoll_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	(void)ctx;
	if (fd < 0)
		return pr_errno("cannot create an epoll for file %u", fe->id);
	*ret_fd = fd;
	return 0;
}

/* The kernel drops EPOLLWAKEUP silently without CAP_BLOCK_SUSPEND: refuse instead. */
static bool may_wakeup(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps) {
		(void)cap_get_flag(caps, CAP_BLOCK_SUSPEND, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

/* Adds one item with target_fd's file under the number tfd, which may belong to another file
 * of the task (moved aside meanwhile) or to none. */
static int add_item(int epfd, const EpollItem *item, pid_t pid)
{
	struct epoll_event ev = {.events = item->events, .data.u64 = item->data};
	int target = item->has_target_fd ? item->target_fd : item->tfd;
	int tfd = item->tfd, aside = -1, tfd_flags = -1, r = 0;

	if (target != tfd) {
		tfd_flags = fcntl(tfd, F_GETFD);
		if (tfd_flags >= 0 && (aside = fcntl(tfd, F_DUPFD_CLOEXEC, 0)) < 0)
			return pr_errno("cannot move fd %d of task %d aside", tfd, (int)pid);
		if (dup2(target, tfd) < 0) {
			r = pr_errno("cannot put fd %d of task %d at %d", target, (int)pid, tfd);
			goto out_put_back;
		}
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev) < 0)
		r = pr_errno("cannot add fd %d (events %#x) to an epoll of task %d", tfd,
			     item->events, (int)pid);
	if (target == tfd)
		return r;
out_put_back:
	/* closing a number never removes the item: it goes with its file's last reference */
	if (aside >= 0) {
		if (dup3(aside, tfd, (tfd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0 && r == 0)
			r = pr_errno("cannot put fd %d of task %d back", tfd, (int)pid);
		close(aside);
	} else {
		close(tfd);
	}
	return r;
}

/* ---- fired one-shot items ---- */

/* A fired EPOLLONESHOT item waits, with no event bits, for EPOLL_CTL_MOD. EPOLL_CTL_ADD cannot
 * make one: it always arms EPOLLERR and EPOLLHUP. Such items are added first, into the still
 * empty epoll, armed for what their target is ready for, and fired with one epoll_wait: the
 * kernel then leaves them exactly as they were. A pipe or FIFO read end with nothing to read
 * is made readable for that moment by a byte written through a write end of its own (taken
 * back at once: the pipe was empty). */
static bool is_fired_oneshot(const EpollItem *item)
{
	return (item->events & EPOLLONESHOT) && !(item->events & ~(uint32_t)EPOLL_FLAG_BITS);
}

/* A write end of the pipe or FIFO at fd (both reopen through the fd's magic link), or -1 when
 * fd is none. */
static int pipe_writer(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return -1;
	return fd_reopen(fd, O_WRONLY | O_NONBLOCK);
}

/* Adds a fired one-shot item armed for what its target is ready for. Returns 1 when it was
 * added so (fire it), 0 when the target is ready for nothing (added as the kernel allows: armed
 * for EPOLLERR and EPOLLHUP, with a warning), or -errno (logged). *ret_writer is a write end
 * whose byte must be taken back after the firing, or -1. */
static int add_fired(int epfd, const EpollItem *item, pid_t pid, int *ret_writer)
{
	int target = item->has_target_fd ? item->target_fd : item->tfd;
	struct pollfd pfd = {.fd = target, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP};
	EpollItem armed = *item;
	int r;

	*ret_writer = -1;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & ~POLLNVAL)) {
		armed.events |=
		    (uint32_t)pfd.revents & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
	} else {
		int writer = pipe_writer(target);

		if (writer >= 0 && write(writer, "", 1) == 1) {
			*ret_writer = writer;
			armed.events |= EPOLLIN;
		} else {
			if (writer >= 0)
				close(writer);
			pr_warn("epoll of task %d: fired one-shot item %d is armed again for "
				"EPOLLERR and EPOLLHUP (its target is ready for no event)",
				(int)pid, item->tfd);
			r = add_item(epfd, item, pid);
			return r < 0 ? r : 0;
		}
	}
	r = add_item(epfd, &armed, pid);
	if (r < 0 && *ret_writer >= 0) {
		close(*ret_writer);
		*ret_writer = -1;
	}
	return r < 0 ? r : 1;
}

/* Adds the fired one-shot items, then fires them: nothing else is in the epoll yet, so one
 * epoll_wait takes exactly their events. */
static int add_fired_items(int epfd, const EpollFileEntry *ee, pid_t pid)
{
	cleanup_free struct epoll_event *evs = NULL;
	cleanup_free int *writers = NULL;
	size_t n_armed = 0, n_writers = 0;
	int r = 0, n;

	evs = calloc(ee->n_items, sizeof(*evs));
	writers = calloc(ee->n_items, sizeof(*writers));
	if (!evs || !writers)
		return -ENOMEM;
	for (size_t i = 0; i < ee->n_items && r >= 0; i++) {
		int writer;

		if (!is_fired_oneshot(ee->items[i]))
			continue;
		r = add_fired(epfd, ee->items[i], pid, &writer);
		if (r > 0)
			n_armed++;
		if (writer >= 0)
			writers[n_writers++] = writer;
	}
	if (r >= 0 && n_armed) {
		n = epoll_wait(epfd, evs, (int)n_armed, 0);
		if (n < 0)
			r = pr_errno("cannot fire the one-shot items of an epoll of task %d",
				     (int)pid);
		else if ((size_t)n != n_armed) {
			pr_err("cannot fire the one-shot items of an epoll of task %d: %d of %zu "
			       "fired",
			       (int)pid, n, n_armed);
			r = -EIO;
		}
	}
	/* take the bytes back: each of those pipes was empty */
	for (size_t i = 0; i < n_writers; i++) {
		char c;
		int reader = fd_reopen(writers[i], O_RDONLY | O_NONBLOCK);

		if ((reader < 0 || read(reader, &c, 1) != 1) && r >= 0)
			r = pr_errno("cannot take back the byte put into a pipe of task %d",
				     (int)pid);
		if (reader >= 0)
			close(reader);
		close(writers[i]);
	}
	return r < 0 ? r : 0;
}

static int epoll_after_install(const struct fd_install_ctx *t, const FileEntry *fe, int fd)
{
	const EpollFileEntry *ee = fe->epoll;
	pid_t pid = fd_install_pid(t);
	cleanup_close int epfd = -EBADF;
	int32_t max_tfd = 0;
	int r = 0;

	if (ee->pid != pid || !ee->n_items)
		return 0;
	for (size_t i = 0; i < ee->n_items; i++) {
		if ((ee->items[i]->events & EPOLLWAKEUP) && !may_wakeup()) {
			pr_err(
			    "cannot restore epoll fd %d of task %d: item %d has EPOLLWAKEUP, which "
			    "needs CAP_BLOCK_SUSPEND",
			    fd, (int)pid, ee->items[i]->tfd);
			return -EPERM;
		}
		if (ee->items[i]->tfd > max_tfd)
			max_tfd = ee->items[i]->tfd;
	}
	/* a number of its own, above every item's: fd itself may be an item's number for a
	 * moment */
	epfd = fcntl(fd, F_DUPFD_CLOEXEC, max_tfd + 1);
	if (epfd < 0)
		return pr_errno("cannot duplicate epoll fd %d of task %d", fd, (int)pid);
	r = add_fired_items(epfd, ee, pid);
	for (size_t i = 0; i < ee->n_items && r == 0; i++)
		if (!is_fired_oneshot(ee->items[i]))
			r = add_item(epfd, ee->items[i], pid);
	return r;
}

const struct fd_kind fd_kind_epoll = {
    .name = "epoll",
    .type = FD_TYPE__FD_TYPE_EPOLL,
    .recognise = epoll_recognise,
    .dump = epoll_dump,
    .validate = epoll_validate,
    .open = epoll_open,
    .after_install = epoll_after_install,
};
