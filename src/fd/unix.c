/* fd/unix.c: unix sockets (stream, datagram, seqpacket). Dump: what sock_diag tells (name,
 * socket file, peer, accept queue, shutdown, buffers), options, the socket file's place and
 * owner, and the receive queue read without consuming it. Once every task is dumped, peers are
 * matched across the tree, and whatever restore could not rebuild is refused: a peer outside
 * the tree, a client waiting to be accepted that has data in flight or is gone, credentials of
 * a sender that will not exist. Restore: unix-restore.c. */
#define LOG_PREFIX "fd-unix: "
#include "fd/unix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#ifndef SIOCUNIXFILE
#define SIOCUNIXFILE (SIOCPROTOPRIVATE + 0) /* Linux 6.0+: the socket file, O_PATH */
#endif
#include <signal.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "fd/probe.h"
#include "fd/sock-diag.h"
#include "fd/sock.h"
#include "image-set/image-set.h"

/* One dumped unix socket, for the checks across the tree. */
struct unix_dumped {
	FileEntry *fe;
	pid_t pid;
	int fd;
	const struct sock_diag_unix *d;
	struct sock_queue_result q;
};

struct unix_state {
	struct sock_diag *diag; /* first: sock_dump_state() makes and frees it */
	struct unix_dumped *socks;
	size_t n, cap;
	struct hmap by_ino; /* (ino, 0) -> index */
};

static bool unix_recognise(const struct fd_params *p)
{
	return S_ISSOCK(p->st.st_mode) && !(p->info.flags & O_PATH) && p->sock_family == AF_UNIX &&
	       (p->sock_type == SOCK_STREAM || p->sock_type == SOCK_DGRAM ||
		p->sock_type == SOCK_SEQPACKET);
}

static struct unix_state *state_of(struct fd_dump_ctx *ctx)
{
	return sock_dump_state(ctx, FD_TYPE__FD_TYPE_UNIXSK, sizeof(struct unix_state));
}

static void unix_dump_end(struct fd_dump_ctx *ctx, bool tree_dies)
{
	struct unix_state *st = *fd_dump_kind_state(ctx, FD_TYPE__FD_TYPE_UNIXSK);

	(void)tree_dies;
	if (!st)
		return;
	free(st->socks);
	hmap_clear(&st->by_ino);
	sock_dump_state_free(ctx, FD_TYPE__FD_TYPE_UNIXSK);
}

/* ---- the bound name ----------------------------------------------------------------------- */

/* name without "./" components and repeated slashes, for comparing it with a path. */
static void name_clean(const char *name, char *buf, size_t size)
{
	size_t o = 0;

	for (const char *s = name; *s && o + 1 < size;) {
		if ((s == name || s[-1] == '/') && s[0] == '.' && (s[1] == '/' || !s[1])) {
			s += s[1] ? 2 : 1;
			continue;
		}
		if (*s == '/' && o > 0 && buf[o - 1] == '/') {
			s++;
			continue;
		}
		buf[o++] = *s++;
	}
	buf[o] = 0;
}

/* The directory a name bound at location loc was resolved from: loc without the name's own
 * tail ("/" when nothing is left). Returns 0, or -ENOENT when the name does not end loc (the
 * socket file was moved, or the name climbs with ".."). */
static int name_dir_of(const char *name, const char *loc, char *buf, size_t size)
{
	char clean[PATH_MAX];
	size_t nl, ll = strlen(loc);

	name_clean(name, clean, sizeof(clean));
	nl = strlen(clean);
	if (!nl || strstr(clean, "..") || nl > ll || strcmp(loc + ll - nl, clean) != 0)
		return -ENOENT;
	if (clean[0] != '/' && (nl == ll || loc[ll - nl - 1] != '/'))
		return -ENOENT;
	ll -= nl;
	if (clean[0] != '/' && ll > 0)
		ll--; /* the slash before a relative name */
	if (ll == 0)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)ll, loc);
	return 0;
}

/* The socket file of a socket bound to a path: where it is (fe->reg through the dump's mount
 * resolver), its owner, whether it was removed since. */
static int dump_socket_file(struct fd_dump_ctx *ctx, const struct fd_params *p,
			    const struct sock_diag_unix *d, FileEntry *fe, UnixSkEntry *ue)
{
	char path[64], link[PATH_MAX], dir[PATH_MAX], name[SOCK_DIAG_UNIX_NAME_MAX + 1];
	cleanup_close int file_fd = -EBADF;
	struct fd_params fp = {.pid = p->pid, .fd = p->fd, .link = link};
	struct statx stx;
	int r;

	/* SIOCUNIXFILE (CAP_NET_ADMIN) opens the socket file O_PATH, whatever its name now */
	file_fd = ioctl(p->local_fd, SIOCUNIXFILE);
	if (file_fd < 0)
		return pr_errno("cannot open the socket file of fd %d of task %d (%s)", p->fd,
				(int)p->pid, p->link);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	r = fd_probe_read_link(AT_FDCWD, path, link, sizeof(link), &fp.is_deleted);
	if (r < 0) {
		errno = -r;
		return pr_errno("cannot read the socket file of fd %d of task %d (%s)", p->fd,
				(int)p->pid, p->link);
	}
	if (statx(file_fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID_UNIQUE, &stx) < 0)
		return pr_errno("cannot stat the socket file of fd %d of task %d", p->fd,
				(int)p->pid);
	ue->has_file_uid = ue->has_file_gid = true;
	ue->file_uid = stx.stx_uid;
	ue->file_gid = stx.stx_gid;
	if (fp.is_deleted || stx.stx_nlink == 0) {
		/* nobody can reach it by name any more: restore binds it where nobody can */
		ue->has_name_unlinked = ue->name_unlinked = true;
		return 0;
	}
	fp.local_fd = file_fd;
	fp.st = (struct stat){.st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
			      .st_ino = stx.stx_ino,
			      .st_mode = stx.stx_mode,
			      .st_nlink = stx.stx_nlink,
			      .st_uid = stx.stx_uid,
			      .st_gid = stx.stx_gid};
	if (stx.stx_mask & STATX_MNT_ID_UNIQUE)
		fp.mnt_id_unique = stx.stx_mnt_id;
	else
		fp.info.mnt_id = (uint32_t)stx.stx_mnt_id;
	fp.info.flags = O_PATH;
	r = fd_dump_reg_path(ctx, &fp, fe);
	if (r < 0)
		return r;
	memcpy(name, d->name, d->name_len);
	name[d->name_len] = 0;
	if (name_dir_of(name, fe->reg->path, dir, sizeof(dir)) < 0) {
		pr_err("cannot dump fd %d of task %d (%s): its name '%s' no longer leads to its "
		       "socket file '%s' (moved or renamed since bind)",
		       p->fd, (int)p->pid, p->link, name, fe->reg->path);
		return -ENOTSUP;
	}
	ue->name_dir = fd_dump_strdup(ctx, dir);
	return ue->name_dir ? 0 : -ENOMEM;
}

/* ---- dump ----------------------------------------------------------------------------------- */

static int find_diag(struct unix_state *st, const struct fd_params *p,
		     const struct sock_diag_unix **ret)
{
	int r = sock_diag_unix_find(st->diag, p->st.st_ino, ret);

	if (r != -ENOENT)
		return r;
	r = sock_in_own_netns(p->local_fd);
	if (r < 0)
		return r;
	if (r == 0) {
		pr_err("cannot dump fd %d of task %d (%s): the socket belongs to another network "
		       "namespace, which minicr does not restore",
		       p->fd, (int)p->pid, p->link);
		return -ENOTSUP;
	}
	pr_err("cannot dump fd %d of task %d (%s): sock_diag does not know the socket", p->fd,
	       (int)p->pid, p->link);
	return -ENOENT;
}

static int add_dumped(struct unix_state *st, const struct unix_dumped *u)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct unix_dumped *socks = reallocarray(st->socks, cap, sizeof(*socks));

		if (!socks)
			return -ENOMEM;
		st->socks = socks;
		st->cap = cap;
	}
	if (hmap_put(&st->by_ino, u->d->ino, 0, st->n) < 0)
		return -ENOMEM;
	st->socks[st->n++] = *u;
	return 0;
}

static int unix_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	struct unix_state *st = state_of(ctx);
	UnixSkEntry *ue = FD_DUMP_NEW(ctx, UnixSkEntry, UNIX_SK_ENTRY__INIT);
	struct unix_dumped u = {.fe = fe, .pid = p->pid, .fd = p->fd};
	const struct sock_diag_unix *d;
	int r;

	if (!st || !ue)
		return pr_neg(-ENOMEM, "cannot dump fd %d of task %d", p->fd, (int)p->pid);
	r = find_diag(st, p, &d);
	if (r < 0)
		return r;
	u.d = d;
	fe->unix_sk = ue;
	ue->has_ino = ue->has_type = ue->has_state = ue->has_shutdown = true;
	ue->ino = d->ino;
	ue->type = (SkType)d->type;
	ue->state = (SkState)d->state;
	ue->shutdown = d->shutdown;
	if (d->name_len) {
		ue->has_name = true;
		ue->name.len = d->name_len;
		ue->name.data = fd_dump_alloc(ctx, d->name_len);
		if (!ue->name.data)
			return -ENOMEM;
		memcpy(ue->name.data, d->name, d->name_len);
		if (!unix_name_is_abstract(ue->name.data, ue->name.len)) {
			/* a path name without a socket file came from a listener by accept()
			 * (newer kernels give it its listener's file instead: check_accepted) */
			if (d->has_vfs)
				r = dump_socket_file(ctx, p, d, fe, ue);
			else
				ue->has_accepted = ue->accepted = true;
			if (r < 0)
				return r;
		}
	}
	if (d->has_peer) {
		ue->has_peer_ino = true;
		ue->peer_ino = d->peer_ino;
	}
	if (d->state == SK_STATE__SK_LISTEN) {
		ue->has_backlog = true;
		ue->backlog = d->wqueue;
	}
	r = sock_opts_dump(ctx, p, SOCK_OPT_PASS | SOCK_OPT_PEEK, &ue->opts);
	if (r < 0)
		return r;
	if (d->has_meminfo) {
		ue->opts->has_sndbuf = ue->opts->has_rcvbuf = true;
		ue->opts->sndbuf = d->sndbuf;
		ue->opts->rcvbuf = d->rcvbuf;
	}
	/* a stream says how much it holds; a datagram queue only its first message's size */
	if (d->state != SK_STATE__SK_LISTEN && (d->type == SOCK_DGRAM || d->rqueue > 0)) {
		r = sock_queue_dump(ctx, p, fe->id, d->type == SOCK_STREAM, d->type == SOCK_DGRAM,
				    ue->opts->passcred, d->shutdown & 1, &u.q);
		if (r < 0)
			return r;
		ue->has_queued_msgs = ue->has_queued_bytes = true;
		ue->queued_msgs = u.q.msgs;
		ue->queued_bytes = u.q.bytes;
	}
	r = add_dumped(st, &u);
	return r < 0 ? pr_neg(r, "cannot dump fd %d of task %d", p->fd, (int)p->pid) : 0;
}

/* ---- checks across the tree ------------------------------------------------------------------ */

static const struct unix_dumped *dumped_by_ino(const struct unix_state *st, uint64_t ino)
{
	const struct hmap_slot *s = ino ? hmap_find(&st->by_ino, ino, 0) : NULL;

	return s ? &st->socks[s->value] : NULL;
}

/* The name of a socket of the namespace, escaped, for messages. */
static void describe(const struct sock_diag *diag, uint64_t ino, char *buf, size_t size)
{
	size_t n, o;
	const struct sock_diag_unix *all = sock_diag_unix_all(diag, &n);

	snprintf(buf, size, "socket:[%lu]", (unsigned long)ino);
	for (size_t i = 0; i < n; i++) {
		if (all[i].ino != ino || !all[i].name_len)
			continue;
		o = strlen(buf);
		o += (size_t)snprintf(buf + o, size - o, " '");
		for (size_t k = 0; k < all[i].name_len && o + 6 < size; k++) {
			unsigned char c = (unsigned char)all[i].name[k];

			if (c == 0 && k + 1 == all[i].name_len)
				break;
			o += (size_t)snprintf(buf + o, size - o,
					      c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
		}
		snprintf(buf + o, size - o, "'");
		break;
	}
}

#define REFUSE(u, fmt, ...)                                                                        \
	(pr_err("cannot dump fd %d of task %d (socket:[%lu]): " fmt, (u)->fd, (int)(u)->pid,       \
		(unsigned long)(u)->d->ino, ##__VA_ARGS__),                                        \
	 -ENOTSUP)

/* The in-tree listener whose accept queue holds ino, and where; or NULL. */
static const struct unix_dumped *waiting_in(const struct unix_state *st, uint64_t ino,
					    bool *ret_outside)
{
	size_t n;
	const struct sock_diag_unix *all = sock_diag_unix_all(st->diag, &n);

	*ret_outside = false;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < all[i].n_icons; k++) {
			if (all[i].icons[k] != ino)
				continue;
			if (dumped_by_ino(st, all[i].ino))
				return dumped_by_ino(st, all[i].ino);
			*ret_outside = true;
			return NULL;
		}
	return NULL;
}

/* Connected ends: the peer in the tree, a peer gone, or a client waiting to be accepted. */
static int check_peer(struct unix_state *st, struct unix_dumped *u)
{
	UnixSkEntry *ue = u->fe->unix_sk;
	const struct unix_dumped *peer, *listener;
	char what[200];
	bool outside;

	if (!u->d->has_peer)
		return 0;
	if (u->d->peer_ino) {
		peer = dumped_by_ino(st, u->d->peer_ino);
		if (!peer) {
			describe(st->diag, u->d->peer_ino, what, sizeof(what));
			return REFUSE(u, "its peer %s is outside the dumped tree", what);
		}
		ue->has_peer_id = true;
		ue->peer_id = peer->fe->id;
		return 0;
	}
	if (u->d->type == SOCK_DGRAM) {
		ue->has_peer_closed = ue->peer_closed = true;
		return 0;
	}
	listener = waiting_in(st, u->d->ino, &outside);
	if (outside)
		return REFUSE(u, "it waits to be accepted by a listener outside the dumped tree");
	if (!listener) {
		ue->has_peer_closed = ue->peer_closed = true;
		return 0;
	}
	/* what a client wrote before it was accepted sits in a socket that only accept() can
	 * reach, and accept() would change the listener */
	if (u->d->wqueue > 0)
		return REFUSE(u,
			      "data it wrote waits, unaccepted, in the accept queue of "
			      "socket:[%lu], where only accept() could read it",
			      (unsigned long)listener->d->ino);
	ue->has_listener_id = true;
	ue->listener_id = listener->fe->id;
	return 0;
}

static int check_listener(struct fd_dump_ctx *ctx, struct unix_state *st, struct unix_dumped *u)
{
	UnixSkEntry *ue = u->fe->unix_sk;
	const struct sock_diag_unix *d = u->d;

	if (!d->n_icons)
		return 0;
	ue->accept_queue = fd_dump_alloc(ctx, d->n_icons * sizeof(*ue->accept_queue));
	if (!ue->accept_queue)
		return -ENOMEM;
	for (size_t k = 0; k < d->n_icons; k++) {
		const struct unix_dumped *c = dumped_by_ino(st, d->icons[k]);

		if (!d->icons[k])
			return REFUSE(u, "a client that has closed waits in its accept queue; what "
					 "it sent cannot be read without accepting it");
		if (!c)
			return REFUSE(u,
				      "socket:[%lu] of a process outside the dumped tree waits "
				      "in its accept queue",
				      (unsigned long)d->icons[k]);
		ue->accept_queue[ue->n_accept_queue++] = c->fe->id;
	}
	return 0;
}

/* A connected socket that has the name of a listener of the tree came from it by accept():
 * for a path name, the listener's own socket file (the kernel gives an accepted socket its
 * listener's path). */
static void check_accepted(struct unix_state *st, struct unix_dumped *u)
{
	UnixSkEntry *ue = u->fe->unix_sk;
	const struct sock_diag_unix *d = u->d;

	if (!ue->has_name || ue->accepted || d->state == SK_STATE__SK_LISTEN ||
	    d->type == SOCK_DGRAM || !d->has_peer)
		return;
	for (size_t i = 0; i < st->n; i++) {
		const struct sock_diag_unix *l = st->socks[i].d;

		if (l != d && l->state == SK_STATE__SK_LISTEN && l->type == d->type &&
		    l->name_len == d->name_len && memcmp(l->name, d->name, d->name_len) == 0 &&
		    (!d->has_vfs ||
		     (l->has_vfs && l->vfs_ino == d->vfs_ino && l->vfs_dev == d->vfs_dev))) {
			ue->has_accepted = ue->accepted = true;
			return;
		}
	}
}

static bool same_name(const uint8_t *a, size_t alen, const UnixSkEntry *ue)
{
	size_t blen = ue && ue->has_name ? ue->name.len : 0;

	/* a path name may have been bound with or without its final NUL */
	while (alen && !unix_name_is_abstract(a, alen) && a[alen - 1] == 0)
		alen--;
	while (blen && !unix_name_is_abstract(ue->name.data, blen) && ue->name.data[blen - 1] == 0)
		blen--;
	return alen == blen && (!alen || memcmp(a, ue->name.data, alen) == 0);
}

/* Datagram sockets: restore refills a queue before it connects anything, from the sockets
 * (or stand-ins) whose names the messages carry; a socket made with socketpair() can only be
 * reached by its peer. */
static int check_dgram(struct unix_state *st, struct unix_dumped *u)
{
	const UnixSkEntry *ue = u->fe->unix_sk, *pe = NULL;
	const struct unix_dumped *peer = NULL;
	bool paired;

	if (u->d->type != SOCK_DGRAM)
		return 0;
	if (ue->has_peer_id) {
		peer = dumped_by_ino(st, u->d->peer_ino);
		pe = peer->fe->unix_sk;
	}
	paired = ue->peer_closed || (peer && pe->has_peer_id && pe->peer_id == u->fe->id &&
				     (!ue->has_name || !pe->has_name));
	if (peer && !paired && !pe->has_name)
		return REFUSE(u,
			      "it is connected to socket:[%lu], which has no name and is "
			      "connected elsewhere",
			      (unsigned long)peer->d->ino);
	if (!u->q.msgs)
		return 0;
	if (u->q.n_addrs > SOCK_QUEUE_PIDS_MAX)
		return REFUSE(u, "its queue holds messages from more than %d senders",
			      SOCK_QUEUE_PIDS_MAX);
	for (size_t i = 0; i < u->q.n_addrs; i++) {
		const uint8_t *name;
		size_t len;

		name = u->q.addrs[i].bytes;
		len = u->q.addrs[i].len;
		if (paired && !same_name(name, len, peer ? pe : NULL))
			return REFUSE(u, "it was made by socketpair() and holds messages from a "
					 "socket other than its peer");
		if (!paired && !ue->has_name)
			return REFUSE(u, "it has no name and holds messages from a former peer");
	}
	return 0;
}

/* The task that traces pid (minicr for the tasks of the tree), or -1. */
static pid_t tracer_of(pid_t pid, pid_t *ret_ppid)
{
	cleanup_free char *text = NULL;
	char path[64];
	const char *t, *pp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file_at(AT_FDCWD, path, &text) < 0)
		return -1;
	t = strstr(text, "\nTracerPid:");
	pp = strstr(text, "\nPPid:");
	if (ret_ppid)
		*ret_ppid = pp ? (pid_t)atoi(pp + 6) : 0;
	return t ? (pid_t)atoi(t + 11) : -1;
}

/* Credentials restore must send again: the pid must exist when the root task refills queues,
 * so it is the tree's root or a live process outside the tree. */
static int check_creds(struct unix_dumped *u)
{
	pid_t self = getpid(), ppid;

	if (u->q.n_pids > SOCK_QUEUE_PIDS_MAX)
		return REFUSE(u, "its queue holds credentials of more than %d processes",
			      SOCK_QUEUE_PIDS_MAX);
	for (size_t i = 0; i < u->q.n_pids; i++) {
		pid_t pid = u->q.pids[i];

		if (pid <= 0)
			return REFUSE(u, "its queue holds credentials without a pid");
		if (tracer_of(pid, &ppid) == self) {
			if (tracer_of(ppid, NULL) != self)
				continue; /* the root of the tree */
			return REFUSE(u,
				      "its queue holds credentials (SO_PASSCRED) of task %d, "
				      "which restore cannot send before that task exists",
				      (int)pid);
		}
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return REFUSE(u, "its queue holds credentials of process %d, which is gone",
				      (int)pid);
	}
	return 0;
}

static int unix_dump_finish(struct fd_dump_ctx *ctx)
{
	struct unix_state *st = *fd_dump_kind_state(ctx, FD_TYPE__FD_TYPE_UNIXSK);
	int r = 0;

	if (!st)
		return 0;
	for (size_t i = 0; i < st->n && r == 0; i++)
		r = check_peer(st, &st->socks[i]);
	for (size_t i = 0; i < st->n && r == 0; i++) {
		r = check_listener(ctx, st, &st->socks[i]);
		if (r == 0)
			check_accepted(st, &st->socks[i]);
	}
	for (size_t i = 0; i < st->n && r == 0; i++)
		r = check_dgram(st, &st->socks[i]);
	for (size_t i = 0; i < st->n && r == 0; i++)
		r = check_creds(&st->socks[i]);
	return r == -ENOMEM ? pr_neg(r, "cannot check the unix sockets of the tree") : r;
}

/* ---- restore ----------------------------------------------------------------------------------
 */

static const FileEntry *unix_file(const struct image_set *set, uint32_t id)
{
	ssize_t f = image_set_file(set, id);

	return f >= 0 && set->files[f]->type == FD_TYPE__FD_TYPE_UNIXSK && set->files[f]->unix_sk
		   ? set->files[f]
		   : NULL;
}

static int unix_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const UnixSkEntry *ue = fe->unix_sk;
	const FileEntry *l;

	if (!ue)
		return image_set_bad(set, "files.img record %zu: unix socket %u has no record", rec,
				     fe->id);
	if (ue->type != SK_TYPE__SK_STREAM && ue->type != SK_TYPE__SK_DGRAM &&
	    ue->type != SK_TYPE__SK_SEQPACKET)
		return image_set_bad(set, "files.img record %zu: unix socket %u has type %d", rec,
				     fe->id, (int)ue->type);
	if (ue->state != SK_STATE__SK_ESTABLISHED && ue->state != SK_STATE__SK_LISTEN &&
	    ue->state != SK_STATE__SK_CLOSE)
		return image_set_bad(set, "files.img record %zu: unix socket %u has state %d", rec,
				     fe->id, (int)ue->state);
	if (ue->has_name &&
	    (ue->name.len == 0 || ue->name.len > sizeof(((struct sockaddr_un *)0)->sun_path)))
		return image_set_bad(set,
				     "files.img record %zu: unix socket %u has a name of %zu bytes",
				     rec, fe->id, ue->name.len);
	if (ue->has_name && !unix_name_is_abstract(ue->name.data, ue->name.len) && !ue->accepted &&
	    !ue->name_unlinked) {
		int r = image_set_check_reg(set, rec, fe);

		if (r < 0)
			return r;
		if (!ue->name_dir || ue->name_dir[0] != '/')
			return image_set_bad(set,
					     "files.img record %zu: unix socket %u has no name "
					     "directory",
					     rec, fe->id);
	}
	if (ue->has_peer_id && !unix_file(set, ue->peer_id))
		return image_set_bad(set,
				     "files.img record %zu: the peer %u of unix socket %u is not "
				     "a unix socket of the set",
				     rec, ue->peer_id, fe->id);
	if (ue->has_listener_id &&
	    (!(l = unix_file(set, ue->listener_id)) || l->unix_sk->state != SK_STATE__SK_LISTEN))
		return image_set_bad(set,
				     "files.img record %zu: the listener %u of unix socket %u is "
				     "not a listening unix socket of the set",
				     rec, ue->listener_id, fe->id);
	for (size_t k = 0; k < ue->n_accept_queue; k++)
		if (!unix_file(set, ue->accept_queue[k]))
			return image_set_bad(set,
					     "files.img record %zu: client %u in the accept queue "
					     "of unix socket %u is not a unix socket of the set",
					     rec, ue->accept_queue[k], fe->id);
	if (ue->state == SK_STATE__SK_LISTEN && !ue->has_name)
		return image_set_bad(
		    set, "files.img record %zu: listening unix socket %u has no name", rec, fe->id);
	return 0;
}

static int unix_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	struct unix_rebuilt *rb =
	    fd_restore_state(ctx, UNIX_STATE_REBUILT, sizeof(*rb), unix_rebuilt_release);
	const struct image_set *set = fd_restore_image_set(ctx);
	ssize_t f;

	if (!rb)
		return pr_neg(-ENOMEM, "cannot restore unix sockets: out of memory");
	if (!rb->is_built) {
		/* the first socket opened: all of them are rebuilt now, once (a failure too) */
		int r;

		rb->is_built = true;
		rb->fds = malloc((set->n_files ? set->n_files : 1) * sizeof(*rb->fds));
		if (!rb->fds)
			return pr_neg(-ENOMEM, "cannot restore unix sockets: out of memory");
		rb->n = set->n_files;
		for (size_t i = 0; i < rb->n; i++)
			rb->fds[i] = -1;
		r = unix_restore_all(ctx, rb);
		if (r < 0)
			return r;
	}
	f = image_set_file(set, fe->id);
	if (f < 0 || (size_t)f >= rb->n || rb->fds[f] < 0) {
		pr_err("cannot restore unix socket %u: it was not rebuilt", fe->id);
		return -ENOENT;
	}
	*ret_fd = TAKE_FD(rb->fds[f]);
	return 0;
}

const struct fd_kind fd_kind_unix = {
    .name = "unix",
    .type = FD_TYPE__FD_TYPE_UNIXSK,
    .recognise = unix_recognise,
    .dump = unix_dump,
    .dump_finish = unix_dump_finish,
    .dump_end = unix_dump_end,
    .validate = unix_validate,
    .open = unix_open,
};
