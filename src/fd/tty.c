/* fd/tty.c: terminals. A pty is restored from its master's record: a new pty with the same
 * index where that index is free, the slave side's settings (termios, window size, exclusive
 * mode), packet mode and lock state, and the bytes queued in both directions (tty-queue.c).
 * Slaves are opened from their master (TIOCGPTPEER), /dev/tty by a helper that makes the pty
 * its controlling terminal for that open, and a session's controlling terminal and foreground
 * group are set again by its leader once the whole tree exists. A terminal the tree did not
 * open (a slave whose master is outside, a console) is refused unless --shell-job, which
 * reconnects it to minicr's own terminal, as CRIU does. */
#define LOG_PREFIX "fd-tty: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/fd-pass.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/tty-queue.h"
#include "image-set/image-set.h"

#define PTY_SLAVE_MAJOR_FIRST 136
#define PTY_SLAVE_MAJOR_LAST  143

static bool is_pty_slave(dev_t rdev)
{
	return major(rdev) >= PTY_SLAVE_MAJOR_FIRST && major(rdev) <= PTY_SLAVE_MAJOR_LAST;
}

static uint32_t slave_index(dev_t rdev)
{
	return (major(rdev) - PTY_SLAVE_MAJOR_FIRST) * 256 + minor(rdev);
}

static bool tty_recognise(const struct fd_params *p)
{
	unsigned int maj = major(p->st.st_rdev);

	/* 4: virtual consoles and serial ports; 5: /dev/tty, /dev/console, ptmx */
	return S_ISCHR(p->st.st_mode) && !(p->info.flags & O_PATH) && p->link[0] == '/' &&
	       !p->is_deleted && (maj == 4 || maj == 5 || is_pty_slave(p->st.st_rdev));
}

/* ---- dump ------------------------------------------------------------------------------- */

static int dump_termios(struct fd_dump_ctx *ctx, const struct termios *t, TtyFileEntry *te)
{
	TermiosEntry *e = FD_DUMP_NEW(ctx, TermiosEntry, TERMIOS_ENTRY__INIT);

	if (!e || !(e->cc.data = fd_dump_alloc(ctx, NCCS)))
		return -ENOMEM;
	e->has_iflag = e->has_oflag = e->has_cflag = e->has_lflag = e->has_line = e->has_cc = true;
	e->iflag = t->c_iflag;
	e->oflag = t->c_oflag;
	e->cflag = t->c_cflag;
	e->lflag = t->c_lflag;
	e->line = t->c_line;
	e->cc.len = NCCS;
	memcpy(e->cc.data, t->c_cc, NCCS);
	te->termios = e;
	return 0;
}

/* The pty's owner session and foreground group, as the master tells anyone. */
static void dump_session(int master_fd, TtyFileEntry *te)
{
	pid_t sid = 0, pgrp = 0;

	if (ioctl(master_fd, TIOCGSID, &sid) < 0 || sid <= 0)
		return;
	te->has_sid = true;
	te->sid = sid;
	if (ioctl(master_fd, TIOCGPGRP, &pgrp) == 0 && pgrp > 0) {
		te->has_fg_pgrp = true;
		te->fg_pgrp = pgrp;
	}
}

/* What the dump took from a pty, to put back if the tree runs on. */
struct taken {
	int master_fd, slave_fd;
	struct termios t;
	TtyFileEntry *te;
};

static void put_back(void *arg, bool tree_runs_on)
{
	struct taken *k = arg;

	if (tree_runs_on)
		(void)tty_queue_refill(k->master_fd, k->slave_fd, &k->t, k->te);
	close(k->master_fd);
	close(k->slave_fd);
}

/* A slave of minicr's own, opened from the master (unlocked for the moment if it is locked). */
static int open_peer(int master_fd, int flags, bool locked)
{
	int unlock = 0, lock = 1, fd;

	if (locked && ioctl(master_fd, TIOCSPTLCK, &unlock) < 0)
		return pr_errno("cannot unlock a pty");
	fd = ioctl(master_fd, TIOCGPTPEER, flags | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = pr_errno("cannot open the slave of a pty");
	if (locked && ioctl(master_fd, TIOCSPTLCK, &lock) < 0 && fd >= 0) {
		close(fd);
		fd = pr_errno("cannot lock a pty again");
	}
	return fd;
}

static int dump_master(struct fd_dump_ctx *ctx, const struct fd_params *p, TtyFileEntry *te)
{
	struct taken *k = fd_dump_alloc(ctx, sizeof(*k));
	WinsizeEntry *ws = FD_DUMP_NEW(ctx, WinsizeEntry, WINSIZE_ENTRY__INIT);
	int locked = 0, packet = 0, r;
	struct winsize w;
	uint64_t index;

	if (!k || !ws)
		return -ENOMEM;
	if (fdinfo_get_u64(p->fdinfo, p->fdinfo_len, "tty-index", 10, &index) < 0 ||
	    index > UINT32_MAX) {
		pr_err("cannot dump pty master fd %d of task %d: no tty-index in its fdinfo", p->fd,
		       (int)p->pid);
		return -ENOTSUP;
	}
	te->has_index = true;
	te->index = (uint32_t)index;
	if (ioctl(p->local_fd, TIOCGPTLCK, &locked) < 0 ||
	    ioctl(p->local_fd, TIOCGPKT, &packet) < 0 || ioctl(p->local_fd, TIOCGWINSZ, &w) < 0)
		return pr_errno("cannot read the state of pty %u (fd %d of task %d)", te->index,
				p->fd, (int)p->pid);
	te->has_locked = te->has_packet_mode = true;
	te->locked = locked != 0;
	te->packet_mode = packet != 0;
	ws->has_rows = ws->has_cols = ws->has_xpixel = ws->has_ypixel = true;
	ws->rows = w.ws_row;
	ws->cols = w.ws_col;
	ws->xpixel = w.ws_xpixel;
	ws->ypixel = w.ws_ypixel;
	te->winsize = ws;
	dump_session(p->local_fd, te);
	/* the slave side's settings and input are read through a slave of minicr's own */
	k->slave_fd = open_peer(p->local_fd, O_RDWR | O_NONBLOCK, te->locked);
	if (k->slave_fd < 0)
		return k->slave_fd;
	k->master_fd = fcntl(p->local_fd, F_DUPFD_CLOEXEC, 0);
	if (k->master_fd < 0) {
		r = pr_errno("cannot keep pty master fd %d of task %d", p->fd, (int)p->pid);
		close(k->slave_fd);
		return r;
	}
	if (tcgetattr(k->slave_fd, &k->t) < 0) {
		r = pr_errno("cannot read the settings of pty %u", te->index);
		put_back(k, false);
		return r;
	}
	r = dump_termios(ctx, &k->t, te);
	if (r == 0)
		r = tty_queue_dump(ctx, k->master_fd, k->slave_fd, te->packet_mode, &k->t, te);
	k->te = te;
	/* taken bytes go back if the tree runs on; from here on put_back owns the fds */
	if (fd_dump_defer(ctx, put_back, k) < 0)
		return -ENOMEM;
	return r;
}

static int dump_slave(const struct fd_params *p, TtyFileEntry *te)
{
	int excl = 0;

	te->has_index = true;
	te->index = slave_index(p->st.st_rdev);
	if (ioctl(p->local_fd, TIOCGEXCL, &excl) == 0 && excl) {
		te->has_exclusive = true;
		te->exclusive = true;
	}
	return 0;
}

/* /dev/tty stands for the controlling terminal of the session that opened it: TIOCGDEV says
 * which. */
static int dump_dev_tty(const struct fd_params *p, TtyFileEntry *te)
{
	unsigned int dev = 0;

	if (ioctl(p->local_fd, TIOCGDEV, &dev) < 0)
		return pr_errno("cannot tell the terminal of /dev/tty fd %d of task %d", p->fd,
				(int)p->pid);
	if (is_pty_slave(dev)) {
		te->has_index = true;
		te->index = slave_index(dev);
	}
	return 0;
}

static int tty_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	TtyFileEntry *te = FD_DUMP_NEW(ctx, TtyFileEntry, TTY_FILE_ENTRY__INIT);
	dev_t rdev = p->st.st_rdev;
	int r;

	if (!te)
		return -ENOMEM;
	r = fd_dump_reg_path(ctx, p, fe);
	if (r < 0)
		return r;
	te->has_dumped_pid = te->has_dumped_fd = true;
	te->dumped_pid = p->pid;
	te->dumped_fd = p->fd;
	fe->tty = te;
	if (rdev == makedev(5, 2)) {
		te->kind = TTY_KIND__TTY_PTY_MASTER;
		return dump_master(ctx, p, te);
	}
	if (is_pty_slave(rdev)) {
		te->kind = TTY_KIND__TTY_PTY_SLAVE;
		return dump_slave(p, te);
	}
	if (rdev == makedev(5, 0)) {
		te->kind = TTY_KIND__TTY_DEV_TTY;
		return dump_dev_tty(p, te);
	}
	/* a console or serial port: the tree's terminal, never one it made */
	te->kind = TTY_KIND__TTY_SHELL_JOB;
	return 0;
}

/* The master of pty index among the files of the whole tree, or NULL. */
static const FileEntry *find_master(const struct fd_dump_ctx *ctx, uint32_t index)
{
	for (size_t i = 0; i < fd_dump_n_files(ctx); i++) {
		const FileEntry *m = fd_dump_file(ctx, i);

		if (m->type == FD_TYPE__FD_TYPE_TTY && m->tty &&
		    m->tty->kind == TTY_KIND__TTY_PTY_MASTER && m->tty->index == index)
			return m;
	}
	return NULL;
}

/* A slave or /dev/tty names its master; without one in the tree, it is the user's terminal. */
static int tty_dump_finish(struct fd_dump_ctx *ctx, FileEntry *fe)
{
	TtyFileEntry *te = fe->tty;
	const FileEntry *master;

	if (te->kind == TTY_KIND__TTY_PTY_MASTER)
		return 0;
	master = te->kind != TTY_KIND__TTY_SHELL_JOB && te->has_index ? find_master(ctx, te->index)
								      : NULL;
	if (master) {
		te->has_master_id = true;
		te->master_id = master->id;
		return 0;
	}
	if (!fd_dump_shell_job(ctx)) {
		pr_err(
		    "cannot dump fd %d of task %d: '%s' is a terminal the tree did not open (use "
		    "--shell-job to reconnect it to the restoring terminal)",
		    te->dumped_fd, te->dumped_pid, fe->reg ? fe->reg->path : "?");
		return -ENOTSUP;
	}
	te->kind = TTY_KIND__TTY_SHELL_JOB;
	te->has_index = false;
	return 0;
}

/* ---- restore: checks -------------------------------------------------------------------- */

static const struct restore_task *task_of(const struct image_set *set, int32_t pid)
{
	for (size_t i = 0; i < set->n_tasks; i++)
		if (set->tasks[i].pst->pid == pid)
			return &set->tasks[i];
	return NULL;
}

/* Whether task holds a file of the pty of master (the master, a slave, or /dev/tty on it). */
static bool holds_pty(const struct image_set *set, const struct restore_task *task,
		      uint32_t master_id, bool slave_or_master)
{
	for (size_t k = 0; k < task->n_fds; k++) {
		ssize_t f = image_set_file(set, task->fds[k]->file_id);
		const FileEntry *fe = f >= 0 ? set->files[f] : NULL;

		if (!fe || fe->type != FD_TYPE__FD_TYPE_TTY || !fe->tty)
			continue;
		if (fe->id == master_id ||
		    (fe->tty->has_master_id && fe->tty->master_id == master_id &&
		     (!slave_or_master || fe->tty->kind == TTY_KIND__TTY_PTY_SLAVE)))
			return true;
	}
	return false;
}

/* The controlling terminal: its session's leader is a task that can set it again (it holds
 * the master or a slave), and its foreground group has a member in that session. */
static int check_session(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const TtyFileEntry *te = fe->tty;
	const struct restore_task *leader = task_of(set, te->sid);
	bool has_fg = !te->has_fg_pgrp;

	if (!leader || leader->pst->sid != te->sid)
		return image_set_bad(set,
				     "files.img record %zu: pty %u is the controlling terminal of "
				     "session %d, whose leader is not in the tree",
				     rec, te->index, te->sid);
	if (!holds_pty(set, leader, fe->id, true))
		return image_set_bad(
		    set,
		    "files.img record %zu: pty %u is the controlling terminal of "
		    "session %d, whose leader holds neither its master nor a slave",
		    rec, te->index, te->sid);
	for (size_t i = 0; i < set->n_tasks && !has_fg; i++)
		has_fg =
		    set->tasks[i].pst->pgid == te->fg_pgrp && set->tasks[i].pst->sid == te->sid;
	if (!has_fg)
		return image_set_bad(
		    set,
		    "files.img record %zu: the foreground group %d of pty %u has no "
		    "member in the tree",
		    rec, te->fg_pgrp, te->index);
	return 0;
}

static int tty_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const TtyFileEntry *te = fe->tty;
	ssize_t m;
	int r;

	if (!te)
		return image_set_bad(set, "files.img record %zu: terminal %u has no tty record",
				     rec, fe->id);
	r = image_set_check_reg(set, rec, fe);
	if (r < 0)
		return r;
	switch (te->kind) {
	case TTY_KIND__TTY_PTY_MASTER:
		if (!te->has_index || !te->termios || !te->termios->has_cc ||
		    te->termios->cc.len > NCCS)
			return image_set_bad(
			    set, "files.img record %zu: pty master %u is incomplete", rec, fe->id);
		return te->has_sid ? check_session(set, rec, fe) : 0;
	case TTY_KIND__TTY_PTY_SLAVE:
	case TTY_KIND__TTY_DEV_TTY:
		m = te->has_master_id ? image_set_file(set, te->master_id) : -1;
		if (m < 0 || set->files[m]->type != FD_TYPE__FD_TYPE_TTY || !set->files[m]->tty ||
		    set->files[m]->tty->kind != TTY_KIND__TTY_PTY_MASTER)
			return image_set_bad(
			    set, "files.img record %zu: terminal %u names no pty master", rec,
			    fe->id);
		return 0;
	case TTY_KIND__TTY_SHELL_JOB:
		return 0;
	default:
		return image_set_bad(set, "files.img record %zu: terminal %u of unknown kind %d",
				     rec, fe->id, (int)te->kind);
	}
}

static size_t tty_deps(const FileEntry *fe, uint32_t *ret_ids, size_t max)
{
	if (!fe->tty || !fe->tty->has_master_id)
		return 0;
	if (max)
		ret_ids[0] = fe->tty->master_id;
	return 1;
}

/* ---- restore: opening -------------------------------------------------------------------- */

static void termios_of(const TermiosEntry *e, struct termios *t)
{
	memset(t, 0, sizeof(*t));
	t->c_iflag = e->iflag;
	t->c_oflag = e->oflag;
	t->c_cflag = e->cflag;
	t->c_lflag = e->lflag;
	t->c_line = (cc_t)e->line;
	memcpy(t->c_cc, e->cc.data, e->cc.len < NCCS ? e->cc.len : NCCS);
	/* the speeds live in c_cflag; glibc's copies follow them */
	cfsetispeed(t, cfgetospeed(t));
}

/* A new pty with number index where that number is free: the kernel hands out the lowest free
 * one, so lower ones are held open until it comes (or a higher one shows it is taken). */
static int open_pty(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	uint32_t want = fe->tty->index;
	int flags = (int)(fe->flags & O_ACCMODE) | O_NOCTTY, fd = -1;
	cleanup_free int *held = calloc(want + 1, sizeof(int));
	size_t n_held = 0;
	unsigned int got = 0;

	if (!held)
		return -ENOMEM;
	for (;;) {
		fd = fd_restore_open_path(ctx, fe->reg, (uint32_t)flags);
		if (fd < 0)
			break;
		if (ioctl(fd, TIOCGPTN, &got) < 0) {
			close(fd);
			fd = pr_errno("cannot read the number of a new pty");
			break;
		}
		if (got >= want || n_held == want)
			break;
		held[n_held++] = fd;
	}
	for (size_t i = 0; i < n_held; i++)
		close(held[i]);
	if (fd >= 0 && got != want)
		pr_warn("pty %u is taken: file %u is restored as pty %u", want, fe->id, got);
	return fd;
}

static int setup_pty(int master_fd, const TtyFileEntry *te)
{
	struct winsize w = {0};
	struct termios t;
	int unlock = 0, on = 1, slave_fd, r = 0;

	if (ioctl(master_fd, TIOCSPTLCK, &unlock) < 0)
		return pr_errno("cannot unlock pty %u", te->index);
	slave_fd = ioctl(master_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (slave_fd < 0)
		return pr_errno("cannot open the slave of pty %u", te->index);
	termios_of(te->termios, &t);
	if (te->winsize) {
		w.ws_row = (unsigned short)te->winsize->rows;
		w.ws_col = (unsigned short)te->winsize->cols;
		w.ws_xpixel = (unsigned short)te->winsize->xpixel;
		w.ws_ypixel = (unsigned short)te->winsize->ypixel;
	}
	if (tcsetattr(slave_fd, TCSANOW, &t) < 0 || ioctl(master_fd, TIOCSWINSZ, &w) < 0)
		r = pr_errno("cannot set the settings of pty %u", te->index);
	if (r == 0)
		r = tty_queue_refill(master_fd, slave_fd, &t, te);
	if (r == 0 && te->packet_mode && ioctl(master_fd, TIOCPKT, &on) < 0)
		r = pr_errno("cannot set packet mode on pty %u", te->index);
	close(slave_fd);
	return r;
}

static int open_master(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int fd = open_pty(ctx, fe), r;

	if (fd < 0)
		return fd;
	r = setup_pty(fd, fe->tty);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int open_slave(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int master_fd = fd_restore_file_fd(ctx, fe->tty->master_id), fd;
	int flags = (int)(fe->flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC;

	if (master_fd < 0) {
		pr_err("cannot restore pty slave %u: its master %u is not open", fe->id,
		       fe->tty->master_id);
		return -ENOENT;
	}
	fd = ioctl(master_fd, TIOCGPTPEER, flags);
	if (fd < 0)
		return pr_errno("cannot open a slave of pty %u for file %u", fe->tty->index,
				fe->id);
	if (fe->tty->exclusive && ioctl(fd, TIOCEXCL) < 0) {
		int r = pr_errno("cannot make pty %u exclusive", fe->tty->index);

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* /dev/tty is the opener's controlling terminal: a helper child makes the pty its own for the
 * time of the open (a new session of its own), sends the fd and exits; the pty keeps no
 * session, and its real session leader takes it later. */
static void __attribute__((noreturn))
dev_tty_helper(struct fd_restore_ctx *ctx, const FileEntry *fe, int master_fd, int sock)
{
	int slave, fd;

	if (setsid() < 0)
		_exit(1);
	slave = ioctl(master_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
		pr_errno("cannot make pty %u a controlling terminal to open /dev/tty",
			 fe->tty->index);
		_exit(1);
	}
	fd = fd_restore_open_path(ctx, fe->reg, (fe->flags & ~(uint32_t)O_NOCTTY));
	if (fd < 0)
		_exit(1);
	_exit(fd_pass_send(sock, fd) < 0 ? 1 : 0);
}

static int open_dev_tty(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	int master_fd = fd_restore_file_fd(ctx, fe->tty->master_id), sv[2], fd, status;
	pid_t pid;

	if (master_fd < 0) {
		pr_err("cannot restore /dev/tty file %u: its pty's master is not open", fe->id);
		return -ENOENT;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return pr_errno("cannot make a socket pair for /dev/tty file %u", fe->id);
	pid = fork();
	if (pid == 0)
		dev_tty_helper(ctx, fe, master_fd, sv[1]);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return pr_errno("cannot start a helper for /dev/tty file %u", fe->id);
	}
	fd = fd_pass_recv(sv[0]);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (fd < 0) {
		pr_err("cannot restore /dev/tty file %u: its helper failed", fe->id);
		return -EIO;
	}
	*ret_fd = fd;
	return 0;
}

/* --shell-job: minicr's own terminal, its stdin (the root's parent is minicr), or for /dev/tty
 * minicr's controlling terminal, which the tree's session shares. */
static int open_shell_job(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	uint32_t flags = (fe->flags & ~(uint32_t)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY;
	char path[64];
	int fd;

	if (!fd_restore_shell_job(ctx)) {
		pr_err("cannot restore file %u: it is a terminal the tree did not open; restore "
		       "with --shell-job to reconnect it to this terminal",
		       fe->id);
		return -EINVAL;
	}
	if (fe->reg && fe->reg->has_rdev && fe->reg->rdev == makedev(5, 0)) {
		fd = fd_restore_open_path(ctx, fe->reg, flags);
		if (fd < 0)
			return fd;
	} else {
		snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)getppid());
		fd = open(path, (int)flags | O_CLOEXEC);
		if (fd < 0)
			return pr_errno("cannot reopen minicr's stdin for terminal file %u",
					fe->id);
	}
	if (!isatty(fd)) {
		close(fd);
		pr_err("cannot restore terminal file %u with --shell-job: minicr's stdin is no "
		       "terminal",
		       fe->id);
		return -ENOTTY;
	}
	*ret_fd = fd;
	return 0;
}

static int tty_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	switch (fe->tty->kind) {
	case TTY_KIND__TTY_PTY_MASTER:
		return open_master(ctx, fe, ret_fd);
	case TTY_KIND__TTY_PTY_SLAVE:
		return open_slave(ctx, fe, ret_fd);
	case TTY_KIND__TTY_DEV_TTY:
		return open_dev_tty(ctx, fe, ret_fd);
	default:
		return open_shell_job(ctx, fe, ret_fd);
	}
}

/* ---- restore: after the tree's fds are in place ------------------------------------------ */

/* In the session leader: the pty becomes its controlling terminal again, with its foreground
 * group (which exists: the tree has met). fd is a slave, or the master (a slave is opened from
 * it for the call). */
static int set_controlling(const TtyFileEntry *master, int fd, bool is_master, pid_t pid)
{
	int slave = is_master ? ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) : fd, r = 0;

	if (slave < 0)
		return pr_errno("cannot open a slave of pty %u for task %d", master->index,
				(int)pid);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		r = pr_errno("cannot make pty %u the controlling terminal of task %d",
			     master->index, (int)pid);
	else if (master->has_fg_pgrp && ioctl(slave, TIOCSPGRP, &master->fg_pgrp) < 0)
		r = pr_errno("cannot make group %d the foreground of pty %u", master->fg_pgrp,
			     master->index);
	if (is_master)
		close(slave);
	return r;
}

static int tty_after_install(const struct fd_install_ctx *t, const FileEntry *fe, int fd)
{
	const TtyFileEntry *te = fe->tty, *master = te;
	pid_t pid = fd_install_pid(t);
	int lock = 1, r;

	if (te->kind == TTY_KIND__TTY_PTY_SLAVE) {
		const FileEntry *m = fd_install_file(t, te->master_id);

		master = m ? m->tty : NULL;
	} else if (te->kind != TTY_KIND__TTY_PTY_MASTER) {
		return 0;
	}
	if (master && master->has_sid && master->sid == pid) {
		r = set_controlling(master, fd, te->kind == TTY_KIND__TTY_PTY_MASTER, pid);
		if (r < 0)
			return r;
	}
	/* slaves are open by now: the pty may be locked again */
	if (te->kind == TTY_KIND__TTY_PTY_MASTER && te->locked &&
	    fd_install_is_first_holder(t, fe->id) && ioctl(fd, TIOCSPTLCK, &lock) < 0)
		return pr_errno("cannot lock pty %u again", te->index);
	return 0;
}

const struct fd_kind fd_kind_tty = {
    .name = "tty",
    .type = FD_TYPE__FD_TYPE_TTY,
    .recognise = tty_recognise,
    .dump = tty_dump,
    .dump_finish_file = tty_dump_finish,
    .validate = tty_validate,
    .deps = tty_deps,
    .open = tty_open,
    .after_install = tty_after_install,
    .after_install_needs_tree = true,
};
