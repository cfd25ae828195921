/* fd/tcp-repair.c: an established TCP connection read and rebuilt in repair mode. What the
 * kernel keeps: the sequence number after the last byte received (rcv_nxt) with the unread
 * bytes before it, the sequence number after the last byte written (write_seq) with the
 * unacknowledged bytes before it (of which the tail was never sent), the options agreed at
 * the handshake (MSS, window scaling, SACK, timestamps), the timestamp clock and the window.
 * In repair mode recv(MSG_PEEK) reads the selected queue without consuming it and send()
 * refills it; connect() makes no handshake. */
#define LOG_PREFIX "tcp-repair: "
#include "fd/tcp-repair.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/sock.h"

#ifndef TCPOPT_MSS
#define TCPOPT_MSS 2
#endif
#ifndef TCPOPT_WINDOW
#define TCPOPT_WINDOW 3
#endif
#ifndef TCPOPT_TIMESTAMP
#define TCPOPT_TIMESTAMP 8
#endif

static int set_int(int fd, int name, int v)
{
	return setsockopt(fd, SOL_TCP, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int get_u32(int fd, int name, uint32_t *ret)
{
	socklen_t len = sizeof(*ret);

	return getsockopt(fd, SOL_TCP, name, ret, &len) < 0 ? -errno : 0;
}

void tcp_repair_leave(int fd)
{
	(void)set_int(fd, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
}

/* ---- dump --------------------------------------------------------------------------------------
 */

/* Peeks len bytes of the selected queue as data records of file_id (kind SK_QUEUE or SK_SEND),
 * in chunks. */
static int dump_queue(struct fd_dump_ctx *ctx, const struct fd_params *p, uint32_t file_id,
		      int queue, int kind, uint32_t len)
{
	cleanup_free uint8_t *buf = NULL;
	ssize_t n;
	size_t off = 0;
	int r;

	if (len == 0)
		return 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	r = set_int(p->local_fd, TCP_REPAIR_QUEUE, queue);
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot select a queue of fd %d of task %d", p->fd, (int)p->pid);
	}
	n = recv(p->local_fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return pr_errno("cannot read the %s queue of fd %d of task %d",
				queue == TCP_RECV_QUEUE ? "receive" : "send", p->fd, (int)p->pid);
	if ((size_t)n != len) {
		pr_err("cannot dump fd %d of task %d (%s): its %s queue gave %zd bytes of %u",
		       p->fd, (int)p->pid, p->link, queue == TCP_RECV_QUEUE ? "receive" : "send", n,
		       len);
		return -EIO;
	}
	while (off < len) {
		FileDataEntry e = FILE_DATA_ENTRY__INIT;
		size_t chunk = len - off < FD_DATA_CHUNK_MAX ? len - off : FD_DATA_CHUNK_MAX;

		e.kind = (FileDataKind)kind;
		e.owner_id = file_id;
		e.has_offset = e.has_data = true;
		e.offset = off;
		e.data.data = buf + off;
		e.data.len = chunk;
		e.has_total_size = off == 0;
		e.total_size = len;
		r = fd_dump_data(ctx, &e);
		if (r < 0)
			return r;
		off += chunk;
	}
	return 0;
}

static int read_state(const struct fd_params *p, TcpRepairEntry *te)
{
	struct tcp_info ti;
	struct tcp_repair_window w;
	socklen_t len = sizeof(ti);
	int inq, outq, unsent, fd = p->local_fd, r;

	if (ioctl(fd, SIOCINQ, &inq) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0 ||
	    ioctl(fd, SIOCOUTQNSD, &unsent) < 0)
		return pr_errno("cannot read the queue sizes of fd %d of task %d", p->fd,
				(int)p->pid);
	te->has_inq_len = te->has_outq_len = te->has_unsent_len = true;
	te->inq_len = (uint32_t)inq;
	te->outq_len = (uint32_t)outq;
	te->unsent_len = (uint32_t)unsent;
	if ((r = set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) < 0 ||
	    (r = get_u32(fd, TCP_QUEUE_SEQ, &te->inq_seq)) < 0 ||
	    (r = set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) < 0 ||
	    (r = get_u32(fd, TCP_QUEUE_SEQ, &te->outq_seq)) < 0 ||
	    (r = get_u32(fd, TCP_MAXSEG, &te->mss)) < 0 ||
	    (r = get_u32(fd, TCP_TIMESTAMP, &te->timestamp)) < 0) {
		errno = -r;
		return pr_errno("cannot read the sequence numbers of fd %d of task %d", p->fd,
				(int)p->pid);
	}
	te->has_inq_seq = te->has_outq_seq = te->has_mss = te->has_timestamp = true;
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) < 0)
		return pr_errno("cannot read TCP_INFO of fd %d of task %d", p->fd, (int)p->pid);
	te->has_options = te->has_snd_wscale = te->has_rcv_wscale = true;
	te->options = ti.tcpi_options;
	te->snd_wscale = ti.tcpi_snd_wscale;
	te->rcv_wscale = ti.tcpi_rcv_wscale;
	len = sizeof(w);
	if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return pr_errno("cannot read the window of fd %d of task %d", p->fd, (int)p->pid);
	te->has_snd_wl1 = te->has_snd_wnd = te->has_max_window = te->has_rcv_wnd = te->has_rcv_wup =
	    true;
	te->snd_wl1 = w.snd_wl1;
	te->snd_wnd = w.snd_wnd;
	te->max_window = w.max_window;
	te->rcv_wnd = w.rcv_wnd;
	te->rcv_wup = w.rcv_wup;
	return 0;
}

int tcp_repair_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, const FileEntry *fe,
		    TcpRepairEntry **ret)
{
	TcpRepairEntry *te = FD_DUMP_NEW(ctx, TcpRepairEntry, TCP_REPAIR_ENTRY__INIT);
	int peek_off = -1, off_off = -1, r;
	socklen_t len = sizeof(peek_off);

	if (!te)
		return -ENOMEM;
	if (set_int(p->local_fd, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		return pr_errno("cannot put fd %d of task %d (%s) in TCP repair mode", p->fd,
				(int)p->pid, p->link);
	r = dump_fault("tcp-repair");
	if (r == 0)
		r = read_state(p, te);
	/* a peek starts at SO_PEEK_OFF when one is set: read from the start, then put it back */
	if (r == 0 && getsockopt(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &len) == 0 &&
	    peek_off >= 0)
		(void)setsockopt(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &off_off, sizeof(off_off));
	if (r == 0)
		r = dump_queue(ctx, p, fe->id, TCP_RECV_QUEUE,
			       FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE, te->inq_len);
	if (r == 0)
		r = dump_queue(ctx, p, fe->id, TCP_SEND_QUEUE,
			       FILE_DATA_KIND__FILE_DATA_KIND_SK_SEND, te->outq_len);
	if (peek_off >= 0)
		(void)setsockopt(p->local_fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, sizeof(peek_off));
	(void)set_int(p->local_fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	if (r < 0) {
		tcp_repair_leave(p->local_fd);
		return r;
	}
	*ret = te;
	return 0;
}

/* ---- restore -----------------------------------------------------------------------------------
 */

struct refill {
	int fd;
	uint32_t file_id;
};

static int refill_one(void *opaque, const struct sock_msg *m)
{
	const struct refill *f = opaque;
	size_t done = 0;

	while (done < m->len) {
		ssize_t n = send(f->fd, m->data + done, m->len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno("cannot refill a queue of TCP socket file %u", f->file_id);
		done += (size_t)n;
	}
	return 0;
}

static int refill(const struct sock_queues *q, int fd, uint32_t file_id, int queue, int kind)
{
	struct refill f = {.fd = fd, .file_id = file_id};
	int r = set_int(fd, TCP_REPAIR_QUEUE, queue);

	if (r < 0) {
		errno = -r;
		return pr_errno("cannot select a queue of TCP socket file %u", file_id);
	}
	return sock_queues_each(q, kind, file_id, refill_one, &f);
}

static int set_options(int fd, const TcpRepairEntry *te, uint32_t file_id)
{
	struct tcp_repair_opt opts[4];
	size_t n = 0;

	opts[n++] = (struct tcp_repair_opt){TCPOPT_MSS, te->mss};
	if (te->options & TCPI_OPT_WSCALE)
		opts[n++] =
		    (struct tcp_repair_opt){TCPOPT_WINDOW, te->snd_wscale | (te->rcv_wscale << 16)};
	if (te->options & TCPI_OPT_SACK)
		opts[n++] = (struct tcp_repair_opt){TCPOPT_SACK_PERMITTED, 0};
	if (te->options & TCPI_OPT_TIMESTAMPS)
		opts[n++] = (struct tcp_repair_opt){TCPOPT_TIMESTAMP, 0};
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, opts, (socklen_t)(n * sizeof(opts[0]))) < 0)
		return pr_errno("cannot set the TCP options of socket file %u", file_id);
	if ((te->options & TCPI_OPT_TIMESTAMPS) &&
	    set_int(fd, TCP_TIMESTAMP, (int)te->timestamp) < 0)
		return pr_errno("cannot set the TCP timestamp of socket file %u", file_id);
	return 0;
}

int tcp_repair_restore(struct fd_restore_ctx *ctx, int fd, const FileEntry *fe,
		       const InetSkEntry *ie, const void *src, size_t src_len, const void *dst,
		       size_t dst_len)
{
	const TcpRepairEntry *te = ie->tcp;
	const struct sock_queues *q;
	struct tcp_repair_window w = {
	    .snd_wl1 = te->snd_wl1,
	    .snd_wnd = te->snd_wnd,
	    .max_window = te->max_window,
	    .rcv_wnd = te->rcv_wnd,
	    .rcv_wup = te->rcv_wup,
	};
	int r;

	if (set_int(fd, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		return pr_errno("cannot put TCP socket file %u in repair mode", fe->id);
	if (bind(fd, src, (socklen_t)src_len) < 0)
		return pr_errno("cannot bind TCP socket file %u to its address", fe->id);
	/* the queues start where their bytes start: their sequence numbers less their lengths */
	if ((r = set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) < 0 ||
	    (r = set_int(fd, TCP_QUEUE_SEQ, (int)(te->inq_seq - te->inq_len))) < 0 ||
	    (r = set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) < 0 ||
	    (r = set_int(fd, TCP_QUEUE_SEQ, (int)(te->outq_seq - te->outq_len))) < 0) {
		errno = -r;
		return pr_errno("cannot set the sequence numbers of TCP socket file %u", fe->id);
	}
	if (connect(fd, dst, (socklen_t)dst_len) < 0)
		return pr_errno("cannot connect TCP socket file %u in repair mode", fe->id);
	r = set_options(fd, te, fe->id);
	if (r < 0)
		return r;
	r = sock_queues_of(ctx, &q);
	if (r < 0)
		return r;
	/* what was sent and not acknowledged counts as sent again: it is resent on timeout */
	r = refill(q, fd, fe->id, TCP_RECV_QUEUE, FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE);
	if (r == 0)
		r = refill(q, fd, fe->id, TCP_SEND_QUEUE, FILE_DATA_KIND__FILE_DATA_KIND_SK_SEND);
	if (r < 0)
		return r;
	(void)set_int(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0)
		return pr_errno("cannot set the window of TCP socket file %u", fe->id);
	return 0;
}

int tcp_repair_finish(int fd, uint32_t file_id)
{
	if (set_int(fd, TCP_REPAIR, TCP_REPAIR_OFF) < 0)
		return pr_errno("cannot end repair mode of TCP socket file %u", file_id);
	return 0;
}
