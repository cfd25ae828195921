/* fd/tty-queue.c: a pty's unread bytes (see tty-queue.h). */
#define LOG_PREFIX "fd-tty: "
#include "fd/tty-queue.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* A pty holds at most its line discipline's 4 KiB plus the buffers in between. */
#define QUEUE_MAX (1U << 20)

struct bytes {
	uint8_t *data;
	size_t len, cap;
};

static int bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > QUEUE_MAX)
		return -EFBIG;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint8_t *more;

		while (cap < b->len + len)
			cap *= 2;
		more = realloc(b->data, cap);
		if (!more)
			return -ENOMEM;
		b->data = more;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* A copy of b in ctx's storage. */
static int to_record(struct fd_dump_ctx *ctx, const struct bytes *b, ProtobufCBinaryData *ret)
{
	ret->len = b->len;
	ret->data = b->len ? fd_dump_alloc(ctx, b->len) : NULL;
	if (b->len && !ret->data)
		return -ENOMEM;
	if (b->len)
		memcpy(ret->data, b->data, b->len);
	return 0;
}

/* Everything fd has to read now. A non-blocking read of a tty first moves what waits in the
 * kernel's buffers into the line discipline, so EAGAIN means empty. */
static int read_all(int fd, struct bytes *b, const char *what)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			int r = bytes_add(b, buf, (size_t)n);

			if (r < 0)
				return pr_neg(r, "cannot keep the %s of a pty", what);
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EIO)
			return 0; /* EIO: the other side is closed and nothing is left */
		if (errno != EINTR)
			return pr_errno("cannot read the %s of a pty", what);
	}
}

/* What was written by the slave, read from the master (its description is the task's: it is
 * made non-blocking and out of packet mode for the time of the read). */
static int dump_output(struct fd_dump_ctx *ctx, int master_fd, bool packet, TtyFileEntry *te)
{
	struct bytes out = {0};
	int flags = fcntl(master_fd, F_GETFL), off = 0, on = 1, r;

	if (flags < 0 || fcntl(master_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return pr_errno("cannot make a pty master non-blocking");
	if (packet && ioctl(master_fd, TIOCPKT, &off) < 0)
		r = pr_errno("cannot leave packet mode of a pty master");
	else
		r = read_all(master_fd, &out, "output");
	if (packet && ioctl(master_fd, TIOCPKT, &on) < 0 && r == 0)
		r = pr_errno("cannot set packet mode of a pty master again");
	if (fcntl(master_fd, F_SETFL, flags) < 0 && r == 0)
		r = pr_errno("cannot put the flags of a pty master back");
	if (r == 0)
		r = to_record(ctx, &out, &te->output);
	if (r == 0)
		te->has_output = true;
	free(out.data);
	return r;
}

/* Each read of a canonical tty returns one line: those are kept one by one. */
static int dump_lines(struct fd_dump_ctx *ctx, int slave_fd, TtyFileEntry *te)
{
	char buf[4096];
	int r = 0;

	for (;;) {
		ssize_t n = read(slave_fd, buf, sizeof(buf));
		ProtobufCBinaryData *more;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EIO
				   ? 0
				   : pr_errno("cannot read a pty's input");
		/* n == 0 too: an empty line ended by the EOF character */
		more = fd_dump_alloc(ctx, (te->n_input + 1) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		if (te->n_input)
			memcpy(more, te->input, te->n_input * sizeof(*more));
		te->input = more;
		r = to_record(ctx, &(struct bytes){.data = (uint8_t *)buf, .len = (size_t)n},
			      &te->input[te->n_input]);
		if (r < 0)
			return r;
		te->n_input++;
		if (te->n_input > QUEUE_MAX / 2)
			return pr_neg(-EFBIG, "cannot keep the input of a pty");
	}
}

/* What was typed at the master: the complete lines of a canonical tty, then, with the line
 * discipline made non-canonical for a moment, the unterminated rest. */
static int dump_input(struct fd_dump_ctx *ctx, int slave_fd, const struct termios *t,
		      TtyFileEntry *te)
{
	struct termios raw = *t;
	struct bytes tail = {0};
	int r = 0;

	if ((t->c_lflag & ICANON) && (r = dump_lines(ctx, slave_fd, te)) < 0)
		return r;
	raw.c_lflag &= ~(tcflag_t)ICANON;
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if ((t->c_lflag & ICANON) && tcsetattr(slave_fd, TCSANOW, &raw) < 0)
		return pr_errno("cannot make a pty non-canonical to read its input");
	r = read_all(slave_fd, &tail, "input");
	if ((t->c_lflag & ICANON) && tcsetattr(slave_fd, TCSANOW, t) < 0 && r == 0)
		r = pr_errno("cannot set a pty's settings back");
	if (r == 0)
		r = to_record(ctx, &tail, &te->input_tail);
	if (r == 0)
		te->has_input_tail = true;
	free(tail.data);
	return r;
}

int tty_queue_dump(struct fd_dump_ctx *ctx, int master_fd, int slave_fd, bool packet,
		   const struct termios *t, TtyFileEntry *te)
{
	int r = dump_output(ctx, master_fd, packet, te);

	return r < 0 ? r : dump_input(ctx, slave_fd, t, te);
}

/* ---- putting them back ---- */

static int inject(int fd, const uint8_t *data, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (ioctl(fd, TIOCSTI, &data[i]) < 0)
			return pr_errno("cannot put back the %s of a pty (TIOCSTI)", what);
	return 0;
}

/* A line ends at a newline or at an end-of-line character; one without either was pushed by
 * the end-of-file character, which is sent again. */
static bool is_terminated(const ProtobufCBinaryData *line, const struct termios *t)
{
	uint8_t last;

	if (!line->len)
		return false;
	last = line->data[line->len - 1];
	return last == '\n' || (t->c_cc[VEOL] && last == t->c_cc[VEOL]) ||
	       (t->c_cc[VEOL2] && last == t->c_cc[VEOL2]);
}

int tty_queue_refill(int master_fd, int slave_fd, const struct termios *t, const TtyFileEntry *te)
{
	struct termios quiet = *t;
	int r = 0;

	/* the bytes went through the line discipline once: no echo, no signal, no translation,
	 * no editing now; a line still ends where it ended */
	quiet.c_lflag &=
	    ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE | ISIG | IEXTEN);
	quiet.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IUCLC | ISTRIP | IXON | IXOFF);
	quiet.c_cc[VERASE] = quiet.c_cc[VKILL] = 0;
	if (tcsetattr(slave_fd, TCSANOW, &quiet) < 0)
		return pr_errno("cannot quiet a pty to put its input back");
	for (size_t i = 0; i < te->n_input && r == 0; i++) {
		r = inject(slave_fd, te->input[i].data, te->input[i].len, "input");
		if (r == 0 && (t->c_lflag & ICANON) && !is_terminated(&te->input[i], t))
			r = inject(slave_fd, &t->c_cc[VEOF], 1, "input");
	}
	if (r == 0 && te->has_input_tail)
		r = inject(slave_fd, te->input_tail.data, te->input_tail.len, "input");
	if (tcsetattr(slave_fd, TCSANOW, t) < 0 && r == 0)
		r = pr_errno("cannot set a pty's settings");
	/* the master side's line discipline is raw: the slave's output goes in as it was */
	if (r == 0 && te->has_output)
		r = inject(master_fd, te->output.data, te->output.len, "output");
	return r;
}
