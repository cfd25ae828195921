/* fd/unix-restore.c: every unix socket of the tree rebuilt in one pass, in the root task, the
 * first time one of them is opened:
 *   1. created: socketpair() for pairs whose ends cannot reach each other by name (and with a
 *      stand-in for a peer that is gone), socket() for the rest;
 *   2. bound and listening: a path name from the directory it was bound from, after removing
 *      a stale socket file there; a name whose file was removed, in a private tmpfs nobody
 *      else sees (so it stays unreachable, as it was);
 *   3. connected: accepted connections through their listener (or a stand-in listener with
 *      the same name), then the clients waiting in each accept queue, oldest first;
 *   4. queues refilled, each message sent by its sender or by a stand-in bound to the
 *      sender's name, with its credentials;
 *   5. datagram sockets connected to their peers (after the refill: a connected socket only
 *      takes messages from its peer);
 *   6. shut down, stand-ins closed, options set.
 * Pairs that reach nobody but each other (socketpair()s: no name, no listener; the bulk of a
 * large table) are rebuilt whole first, each at its numbers, their queues filled on other
 * threads as they are made when there are many; a pair that fails there is left to the steps
 * above, which make it again and log why.
 * Each socket is then held for its file's open(). Names are bound and connected from the
 * directory they resolve in (chdir, or chroot for an absolute name), never through /proc. */
#define LOG_PREFIX "fd-unix: "
#include "fd/unix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/fault.h"
#include "base/parallel.h"
#include "base/util.h"
#include "fd/sock.h"
#include "image-set/image-set.h"

/* What a new unix socket's send buffer holds at least: half the usual net.core.wmem_default
 * (212992, counted twice by the kernel). Beyond that, a queue's sender gets a larger one. */
#define SOCK_BUF_MIN_DEFAULT 106496

/* Below this many lone pairs a thread costs more to start than it saves. */
#define PAIRS_PARALLEL_MIN 256

struct usk {
	const FileEntry *fe;
	const UnixSkEntry *ue;
	int fd;
	int fake;	/* the stand-in peer of a socket whose peer is gone */
	ssize_t peer;	/* index of the peer in the tree, or -1 */
	bool paired;	/* made by socketpair() */
	bool raised;	/* its send buffer was raised to refill a queue */
	bool is_done;	/* rebuilt whole with its peer, as a lone pair: the steps skip it */
	int target;	/* lone pairs: the number the root task holds it at, or -1 */
	int name_dirfd; /* path names: the directory the name resolves from, or -1 */
	bool name_root; /* chroot into name_dirfd for this name (absolute, or private) */
};

/* A socket bound only to send queued messages under another socket's name. */
struct stand_in {
	uint8_t name[108];
	size_t len;
	int fd, dirfd;
};

struct urestore {
	struct fd_restore_ctx *ctx;
	const struct image_set *set;
	struct usk *u;
	size_t n;
	ssize_t *by_file;    /* set->files index -> index in u, or -1 */
	struct hmap by_name; /* hash of a bound name -> index in u */
	const struct sock_queues *q;
	size_t *pairs; /* lone pairs: the index of their first end */
	size_t n_pairs;
	bool fail_pairs; /* MINICR_FAULT=unix-lone-pairs: every one fails, the steps redo it */
	bool *is_wanted; /* per number below above: some lone end's target */
	int above;	 /* the numbers from here on are no lone end's target */
	int fd_limit;	 /* the tree's fds stay below this (service fds from here on) */
	int *plugs;	 /* see land() */
	size_t n_plugs, cap_plugs;
	struct stand_in *stand_ins;
	size_t n_stand_ins;
	int unnamed_sender;
	int saved_root, saved_cwd;
};

/* ---- names ------------------------------------------------------------------------------------
 */

static int leave_dir(struct urestore *r)
{
	if (fchdir(r->saved_root) < 0 || chroot(".") < 0 || fchdir(r->saved_cwd) < 0)
		return pr_errno("cannot return to the root task's root and directory");
	return 0;
}

enum name_op { NAME_BIND, NAME_CONNECT, NAME_SEND };

/* bind, connect or send (msg) sock to name (len bytes), a path name resolved from dirfd (with a
 * chroot there when root). Returns 0 or -errno (not logged, but for the way back). */
static int at_name(struct urestore *r, enum name_op op, int sock, const uint8_t *name, size_t len,
		   int dirfd, bool root, const struct sock_msg *msg, uint32_t file_id)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	bool is_path = !unix_name_is_abstract(name, len);
	int ret, r2;

	if (len > sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, name, len);
	if (is_path && dirfd >= 0) {
		if (fchdir(dirfd) < 0 || (root && chroot(".") < 0)) {
			ret = -errno;
			r2 = leave_dir(r);
			return r2 < 0 ? r2 : ret;
		}
	}
	if (op == NAME_BIND)
		ret = bind(sock, (struct sockaddr *)&a, alen) < 0 ? -errno : 0;
	else if (op == NAME_CONNECT)
		ret = connect(sock, (struct sockaddr *)&a, alen) < 0 ? -errno : 0;
	else
		ret = sock_send_msg(sock, msg, &a, alen, file_id);
	if (is_path && dirfd >= 0) {
		r2 = leave_dir(r);
		if (r2 < 0)
			return r2;
	}
	return ret;
}

/* The name, escaped, for messages. */
static const char *name_text(const uint8_t *name, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = name[i];

		if (c == 0 && i + 1 == len && i > 0)
			break;
		o += (size_t)snprintf(buf + o, size - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x",
				      c);
	}
	buf[o] = 0;
	return buf;
}

/* A fresh tmpfs that belongs to no mount namespace, for names nobody else may reach. */
static int private_root(void)
{
	cleanup_close int fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	int mnt_fd;

	if (fs_fd < 0)
		return pr_errno("cannot create a private tmpfs for a socket name");
	if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return pr_errno("cannot create a private tmpfs for a socket name");
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
	if (mnt_fd < 0)
		return pr_errno("cannot mount a private tmpfs for a socket name");
	return mnt_fd;
}

/* Binds sock to a path name inside a new private tmpfs (its directories made there first);
 * *ret_dirfd is that tmpfs's root. Returns 0 or -errno (logged). */
static int bind_private(struct urestore *r, int sock, const uint8_t *name, size_t len,
			uint32_t file_id, int *ret_dirfd)
{
	cleanup_close int root = private_root();
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1], text[256];
	int ret;

	if (root < 0)
		return root;
	memcpy(path, name, len);
	path[len] = 0;
	if (fchdir(root) < 0 || chroot(".") < 0) {
		ret = pr_errno("cannot enter a private tmpfs");
		(void)leave_dir(r);
		return ret;
	}
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		(void)mkdir(path, 0755);
		*s = '/';
	}
	ret = leave_dir(r);
	if (ret < 0)
		return ret;
	ret = at_name(r, NAME_BIND, sock, name, len, root, true, NULL, file_id);
	if (ret < 0) {
		errno = -ret;
		return pr_errno("cannot bind unix socket %u to '%s' in a private tmpfs", file_id,
				name_text(name, len, text, sizeof(text)));
	}
	*ret_dirfd = TAKE_FD(root);
	return 0;
}

/* Removes a socket file left at the name's place by the dumped socket (or an earlier restore):
 * one nobody listens on. Anything else there is an error. */
static int remove_stale(struct urestore *r, struct usk *s, int parent_fd, const char *base)
{
	const RegFileEntry *reg = s->fe->reg;
	struct stat st;
	cleanup_close int probe = -EBADF;
	int ret;

	if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : pr_errno("cannot look at '%s'", reg->path);
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("cannot restore unix socket %u: '%s' exists and is not a socket", s->fe->id,
		       reg->path);
		return -EADDRINUSE;
	}
	probe = socket(AF_UNIX, (int)s->ue->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0)
		return pr_errno("cannot create a socket");
	if (fchdir(parent_fd) < 0)
		return pr_errno("cannot enter the directory of '%s'", reg->path);
	{
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", base);
		ret = connect(probe, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0;
	}
	if (leave_dir(r) < 0)
		return -EIO;
	if (ret != ECONNREFUSED) {
		pr_err("cannot restore unix socket %u: '%s' is in use by a live socket (%s)",
		       s->fe->id, reg->path, strerror(ret));
		return -EADDRINUSE;
	}
	if (unlinkat(parent_fd, base, 0) < 0)
		return pr_errno("cannot remove the stale socket file '%s'", reg->path);
	return 0;
}

/* Binds s to its name: abstract, private (its file was removed), or at its socket file's place
 * with the file's mode and owner. */
static int bind_name(struct urestore *r, struct usk *s)
{
	const UnixSkEntry *ue = s->ue;
	const RegFileEntry *reg = s->fe->reg;
	char text[256];
	cleanup_close int parent_fd = -EBADF;
	cleanup_free char *dir_path = NULL;
	const char *base;
	RegFileEntry dir;
	int ret;

	if (unix_name_is_abstract(ue->name.data, ue->name.len)) {
		ret = at_name(r, NAME_BIND, s->fd, ue->name.data, ue->name.len, -1, false, NULL,
			      s->fe->id);
		if (ret < 0) {
			errno = -ret;
			return pr_errno("cannot bind unix socket %u to '%s'", s->fe->id,
					name_text(ue->name.data, ue->name.len, text, sizeof(text)));
		}
		return 0;
	}
	if (ue->name_unlinked) {
		s->name_root = true;
		return bind_private(r, s->fd, ue->name.data, ue->name.len, s->fe->id,
				    &s->name_dirfd);
	}
	/* the directory the name resolves from: name_dir on the socket file's mount */
	if (asprintf(&dir_path, "%s/.", ue->name_dir) < 0)
		return -ENOMEM;
	dir = *reg;
	dir.path = dir_path;
	s->name_dirfd = fd_restore_open_parent(r->ctx, &dir);
	if (s->name_dirfd < 0)
		return s->name_dirfd;
	s->name_root = ue->name.data[0] == '/';
	parent_fd = fd_restore_open_parent(r->ctx, reg);
	if (parent_fd < 0)
		return parent_fd;
	base = strrchr(reg->path, '/');
	base = base ? base + 1 : reg->path;
	ret = remove_stale(r, s, parent_fd, base);
	if (ret < 0)
		return ret;
	ret = at_name(r, NAME_BIND, s->fd, ue->name.data, ue->name.len, s->name_dirfd, s->name_root,
		      NULL, s->fe->id);
	if (ret < 0) {
		errno = -ret;
		return pr_errno("cannot bind unix socket %u to '%s'", s->fe->id, reg->path);
	}
	if (reg->has_mode && fchmodat(parent_fd, base, reg->mode & 07777, 0) < 0)
		return pr_errno("cannot set the mode of socket file '%s'", reg->path);
	if (ue->has_file_uid &&
	    fchownat(parent_fd, base, ue->file_uid, ue->file_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno("cannot set the owner of socket file '%s'", reg->path);
	return 0;
}

/* The socket of the tree bound to name (not by accept), or NULL. */
static struct usk *bound_to(struct urestore *r, const uint8_t *name, size_t len, int type,
			    bool listening)
{
	/* a path name may have been bound with or without its final NUL */
	while (len && !unix_name_is_abstract(name, len) && name[len - 1] == 0)
		len--;
	for (struct hmap_slot *h = hmap_find(&r->by_name, hmap_hash_bytes(name, len), 0); h;
	     h = hmap_next(&r->by_name, h)) {
		struct usk *s = &r->u[h->value];

		if ((type < 0 || (int)s->ue->type == type) &&
		    (!listening || s->ue->state == SK_STATE__SK_LISTEN))
			return s;
	}
	return NULL;
}

static int index_name(struct urestore *r, size_t i)
{
	const UnixSkEntry *ue = r->u[i].ue;
	size_t len = ue->name.len;

	while (len && !unix_name_is_abstract(ue->name.data, len) && ue->name.data[len - 1] == 0)
		len--;
	return hmap_put(&r->by_name, hmap_hash_bytes(ue->name.data, len), 0, i);
}

/* ---- steps --------------------------------------------------------------------------------------
 */

static int make_pair(struct usk *a, int *b_fd, int type)
{
	int sv[2];

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return pr_errno("cannot create a socket pair for unix socket %u", a->fe->id);
	a->fd = sv[0];
	*b_fd = sv[1];
	a->paired = true;
	return 0;
}

/* Step 1. */
static int create_all(struct urestore *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct usk *s = &r->u[i], *p = s->peer >= 0 ? &r->u[s->peer] : NULL;
		const UnixSkEntry *ue = s->ue;
		int type, ret;
		bool mutual;

		if (s->is_done)
			continue;
		type = (int)ue->type;
		mutual = p && p->ue->has_peer_id && p->ue->peer_id == s->fe->id;

		if (s->fd >= 0 || (ue->accepted && p))
			continue; /* made, or to be made by accept() */
		if (ue->peer_closed) {
			ret = make_pair(s, &s->fake, type);
		} else if (mutual && !ue->accepted && !p->ue->accepted &&
			   (type != SOCK_DGRAM || !ue->has_name || !p->ue->has_name)) {
			ret = make_pair(s, &p->fd, type);
			p->paired = true;
		} else {
			s->fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
			ret = s->fd < 0 ? pr_errno("cannot create unix socket %u", s->fe->id) : 0;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Step 2. */
static int bind_all(struct urestore *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct usk *s = &r->u[i];
		int ret;

		if (s->is_done)
			continue;
		if (s->ue->has_name && !s->ue->accepted) {
			ret = bind_name(r, s);
			if (ret < 0)
				return ret;
		}
		if (s->ue->state == SK_STATE__SK_LISTEN &&
		    listen(s->fd, (int)(s->ue->has_backlog ? s->ue->backlog : 0)) < 0)
			return pr_errno("cannot listen on unix socket %u", s->fe->id);
	}
	return 0;
}

/* Connects client to listener l's name. */
static int connect_to(struct urestore *r, struct usk *client, const struct usk *l)
{
	char text[256];
	int ret = at_name(r, NAME_CONNECT, client->fd, l->ue->name.data, l->ue->name.len,
			  l->name_dirfd, l->name_root, NULL, client->fe->id);

	if (ret < 0) {
		errno = -ret;
		return pr_errno("cannot connect unix socket %u to '%s'", client->fe->id,
				name_text(l->ue->name.data, l->ue->name.len, text, sizeof(text)));
	}
	return 0;
}

/* An accepted socket s and its peer: through the listener of the tree with s's name, else a
 * stand-in listener bound to that name. */
static int accept_pair(struct urestore *r, struct usk *s)
{
	struct usk *c = &r->u[s->peer],
		   tmp = {.fe = s->fe, .ue = s->ue, .fd = -1, .name_dirfd = -1};
	struct usk *l = bound_to(r, s->ue->name.data, s->ue->name.len, (int)s->ue->type, true);
	int ret;

	if (!l) {
		tmp.fd = socket(AF_UNIX, (int)s->ue->type | SOCK_CLOEXEC, 0);
		if (tmp.fd < 0)
			return pr_errno("cannot create a listener for unix socket %u", s->fe->id);
		if (unix_name_is_abstract(s->ue->name.data, s->ue->name.len)) {
			ret = at_name(r, NAME_BIND, tmp.fd, s->ue->name.data, s->ue->name.len, -1,
				      false, NULL, s->fe->id);
			ret =
			    ret < 0
				? (errno = -ret,
				   pr_errno("cannot bind a listener for unix socket %u", s->fe->id))
				: 0;
		} else {
			tmp.name_root = true;
			ret = bind_private(r, tmp.fd, s->ue->name.data, s->ue->name.len, s->fe->id,
					   &tmp.name_dirfd);
		}
		if (ret == 0 && listen(tmp.fd, 1) < 0)
			ret = pr_errno("cannot listen for unix socket %u", s->fe->id);
		l = &tmp;
	} else {
		ret = 0;
	}
	if (ret == 0)
		ret = connect_to(r, c, l);
	if (ret == 0) {
		s->fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (s->fd < 0)
			ret = pr_errno("cannot accept unix socket %u", s->fe->id);
	}
	if (tmp.fd >= 0)
		close(tmp.fd);
	if (tmp.name_dirfd >= 0)
		close(tmp.name_dirfd);
	return ret;
}

/* Step 3. */
static int connect_all(struct urestore *r)
{
	int ret;

	for (size_t i = 0; i < r->n; i++) {
		struct usk *s = &r->u[i];

		if (s->fd < 0 && s->ue->accepted && s->peer >= 0) {
			ret = accept_pair(r, s);
			if (ret < 0)
				return ret;
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		struct usk *l = &r->u[i];

		for (size_t k = 0; !l->is_done && k < l->ue->n_accept_queue; k++) {
			ssize_t f = image_set_file(r->set, l->ue->accept_queue[k]);

			ret = connect_to(r, &r->u[r->by_file[f]], l);
			if (ret < 0)
				return ret;
		}
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->u[i].fd < 0) {
			pr_err("cannot restore unix socket %u: nothing created it", r->u[i].fe->id);
			return -EINVAL;
		}
	return 0;
}

struct refill {
	struct urestore *r;
	struct usk *to;
	int sender; /* for paired sockets and streams: the peer's end; else -1 */
};

/* The socket that sends a message carrying source name (len bytes): one of the tree bound to
 * it, or a stand-in bound to it (kept until the end of the restore pass). */
static int sender_for(struct urestore *r, const uint8_t *name, size_t len, uint32_t file_id)
{
	struct usk *x;
	struct stand_in *si;
	char text[256];
	int ret;

	if (len == 0) {
		if (r->unnamed_sender < 0) {
			r->unnamed_sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (r->unnamed_sender < 0)
				return pr_errno("cannot create a socket");
			ret = sock_set_bufs(r->unnamed_sender, 64u << 20, 0, file_id);
			if (ret < 0)
				return ret;
		}
		return r->unnamed_sender;
	}
	x = bound_to(r, name, len, SOCK_DGRAM, false);
	if (x)
		return x->fd;
	for (size_t i = 0; i < r->n_stand_ins; i++)
		if (r->stand_ins[i].len == len && memcmp(r->stand_ins[i].name, name, len) == 0)
			return r->stand_ins[i].fd;
	si = reallocarray(r->stand_ins, r->n_stand_ins + 1, sizeof(*si));
	if (!si)
		return -ENOMEM;
	r->stand_ins = si;
	si = &r->stand_ins[r->n_stand_ins];
	*si = (struct stand_in){.len = len, .fd = -1, .dirfd = -1};
	memcpy(si->name, name, len);
	si->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (si->fd < 0)
		return pr_errno("cannot create a socket");
	r->n_stand_ins++;
	ret = sock_set_bufs(si->fd, 64u << 20, 0, file_id);
	if (ret < 0)
		return ret;
	if (unix_name_is_abstract(name, len)) {
		ret = at_name(r, NAME_BIND, si->fd, name, len, -1, false, NULL, file_id);
		if (ret < 0) {
			errno = -ret;
			return pr_errno("cannot bind a sender for unix socket %u to '%s'", file_id,
					name_text(name, len, text, sizeof(text)));
		}
		return si->fd;
	}
	ret = bind_private(r, si->fd, name, len, file_id, &si->dirfd);
	return ret < 0 ? ret : si->fd;
}

static int refill_one(void *opaque, const struct sock_msg *m)
{
	struct refill *f = opaque;
	const struct usk *to = f->to;
	const uint8_t *name = NULL;
	size_t len = 0;
	int sender;

	/* credentials go explicitly: nobody asks for them while the queues are refilled */
	if (f->sender >= 0)
		return sock_send_msg(f->sender, m, NULL, 0, to->fe->id);
	if (m->addr && m->addr_len > 0) {
		name = m->addr;
		len = m->addr_len;
	}
	sender = sender_for(f->r, name, len, to->fe->id);
	if (sender < 0)
		return sender;
	return at_name(f->r, NAME_SEND, sender, to->ue->name.data, to->ue->name.len, to->name_dirfd,
		       to->name_root, m, to->fe->id);
}

/* Refills the receive queue of s. */
static int refill_socket(struct urestore *r, struct usk *s)
{
	struct refill f = {.r = r, .to = s, .sender = -1};
	uint32_t msgs;
	uint64_t bytes =
	    sock_queues_bytes(r->q, FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE, s->fe->id, &msgs);
	int ret;

	if (!msgs)
		return 0;
	if (s->ue->peer_closed)
		f.sender = s->fake;
	else if (s->paired || s->ue->type != SK_TYPE__SK_DGRAM)
		f.sender = s->peer >= 0 ? r->u[s->peer].fd : -1;
	if (f.sender < 0 && s->ue->type != SK_TYPE__SK_DGRAM) {
		pr_err("cannot restore unix socket %u: its queue has no sender", s->fe->id);
		return -EINVAL;
	}
	/* room for the whole queue (and each message's overhead) in the sender's buffer when a
	 * new socket's would not do; the real size is set after */
	if (f.sender >= 0 && bytes + msgs * 1024ULL + 65536 > SOCK_BUF_MIN_DEFAULT) {
		ret = sock_set_bufs(f.sender, (uint32_t)(2 * (bytes + msgs * 4096ULL) + (1 << 20)),
				    0, s->fe->id);
		if (ret < 0)
			return ret;
		if (!s->ue->peer_closed && s->peer >= 0)
			r->u[s->peer].raised = true;
	}
	return sock_queues_each(r->q, FILE_DATA_KIND__FILE_DATA_KIND_SK_QUEUE, s->fe->id,
				refill_one, &f);
}

/* Step 4. */
static int refill_all(struct urestore *r)
{
	for (size_t i = 0; i < r->n; i++) {
		int ret = r->u[i].is_done ? 0 : refill_socket(r, &r->u[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Step 5. */
static int connect_dgrams(struct urestore *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct usk *s = &r->u[i];
		int ret;

		if (s->paired || s->peer < 0 || s->ue->type != SK_TYPE__SK_DGRAM)
			continue;
		ret = connect_to(r, s, &r->u[s->peer]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int shut_how(uint32_t bits)
{
	return bits == 1 ? SHUT_RD : bits == 2 ? SHUT_WR : SHUT_RDWR;
}

static int shut_socket(const struct usk *s)
{
	uint32_t sd = s->ue->shutdown & 3;

	if (sd && !s->ue->peer_closed && shutdown(s->fd, shut_how(sd)) < 0 && errno != ENOTCONN)
		return pr_errno("cannot shut down unix socket %u", s->fe->id);
	return 0;
}

static int set_options(const struct usk *s)
{
	return sock_opts_restore(s->fd, s->ue->opts,
				 SOCK_OPT_PASS | SOCK_OPT_PEEK |
				     (s->raised ? SOCK_OPT_BUFS_CHANGED : SOCK_OPT_BUFS),
				 s->fe->id);
}

/* Step 6. */
static int finish_all(struct urestore *r)
{
	for (size_t i = 0; i < r->n; i++) {
		int ret = r->u[i].is_done ? 0 : shut_socket(&r->u[i]);

		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct usk *s = &r->u[i];
		int ret;

		if (s->fake >= 0)
			close(TAKE_FD(s->fake));
		ret = s->is_done ? 0 : set_options(s);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- lone pairs ----------------------------------------------------------------------------
 */

/* An end of a pair that reaches nobody but its peer: no name, not listening, no listener, not
 * accepted, not waiting in an accept queue, its peer still there. */
static bool is_lone(const struct usk *s)
{
	const UnixSkEntry *ue = s->ue;

	return !ue->has_name && !ue->accepted && !ue->peer_closed && !ue->has_listener_id &&
	       ue->state != SK_STATE__SK_LISTEN && ue->n_accept_queue == 0;
}

static int pair_low(const struct urestore *r, size_t i)
{
	int a = r->u[i].target, b = r->u[r->u[i].peer].target;

	return (unsigned int)a < (unsigned int)b ? a : b; /* -1 (none) sorts last */
}

static int cmp_pairs(const void *x, const void *y, void *opaque)
{
	int a = pair_low(opaque, *(const size_t *)x), b = pair_low(opaque, *(const size_t *)y);

	return (unsigned int)a < (unsigned int)b ? -1 : a != b;
}

/* Marks the numbers the lone ends are wanted at. */
static int want_targets(struct urestore *r)
{
	struct rlimit rl;

	r->above = 0;
	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct usk *a = &r->u[r->pairs[k]], *b = &r->u[a->peer];

		r->above = a->target >= r->above ? a->target + 1 : r->above;
		r->above = b->target >= r->above ? b->target + 1 : r->above;
	}
	r->is_wanted = calloc((size_t)r->above + 1, sizeof(*r->is_wanted));
	if (!r->is_wanted)
		return -ENOMEM;
	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct usk *a = &r->u[r->pairs[k]], *b = &r->u[a->peer];

		if (a->target >= 0)
			r->is_wanted[a->target] = true;
		if (b->target >= 0)
			r->is_wanted[b->target] = true;
	}
	/* restore raised the soft limit to the hard one, and keeps its service fds below it */
	r->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < INT_MAX
			  ? image_set_fd_limit((int)rl.rlim_cur)
			  : 0;
	return 0;
}

static bool is_wanted(const struct urestore *r, int n)
{
	return n >= 0 && n < r->above && r->is_wanted[n];
}

/* Moves fd to the first free number no lone end wants (and below the service fds). Returns
 * the fd to use: the moved one, or fd itself where there is no room. */
static int move_away(const struct urestore *r, int fd)
{
	int moved = r->above > 0 ? fcntl(fd, F_DUPFD_CLOEXEC, r->above) : -1;

	if (moved < 0)
		return fd;
	if (moved >= r->fd_limit) {
		close(moved);
		return fd;
	}
	close(fd);
	return moved;
}

/* The pairs whose both ends are lone, each other's peer and nobody else's, in the order of the
 * numbers the root task holds them at. */
static int find_lone_pairs(struct urestore *r)
{
	cleanup_free bool *is_shared = calloc(r->n ? r->n : 1, sizeof(*is_shared));
	bool is_sorted = true;

	if (!is_shared)
		return -ENOMEM;
	/* a socket some third socket names as its peer (a datagram sender) is no lone end */
	for (size_t i = 0; i < r->n; i++) {
		ssize_t p = r->u[i].peer;

		if (p >= 0 && r->u[p].peer != (ssize_t)i)
			is_shared[p] = true;
	}
	r->pairs = malloc((r->n / 2 + 1) * sizeof(*r->pairs));
	if (!r->pairs)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct usk *a = &r->u[i], *b = a->peer >= 0 ? &r->u[a->peer] : NULL;

		if (!b || a->peer <= (ssize_t)i || b->peer != (ssize_t)i || is_shared[i] ||
		    is_shared[a->peer] || a->ue->type != b->ue->type || !is_lone(a) || !is_lone(b))
			continue;
		a->target = fd_restore_target(r->ctx, a->fe->id);
		b->target = fd_restore_target(r->ctx, b->fe->id);
		if (r->n_pairs && (unsigned int)pair_low(r, r->pairs[r->n_pairs - 1]) >
				      (unsigned int)pair_low(r, i))
			is_sorted = false;
		r->pairs[r->n_pairs++] = i;
	}
	if (!is_sorted)
		qsort_r(r->pairs, r->n_pairs, sizeof(*r->pairs), cmp_pairs, r);
	return want_targets(r);
}

/* Puts fd at number target when that is free. The number fd held is then a hole below the
 * numbers still wanted, where the next socketpair() would land: unless a lone end wants it, fd
 * stays open there (a plug) until every pair is made. A target taken by some other file leaves
 * fd where it is, or away from the wanted numbers if it sits on one, so that the next pairs
 * still land; so does an end the root task does not hold (target -1). Returns the fd to use. */
static int land(struct urestore *r, int fd, int target)
{
	int moved = -1;

	if (fd == target)
		return fd;
	if (target >= 0)
		moved = fcntl(fd, F_DUPFD_CLOEXEC, target);
	if (target < 0 || moved != target) {
		if (moved >= 0)
			close(moved);
		return is_wanted(r, fd) ? move_away(r, fd) : fd;
	}
	if (is_wanted(r, fd)) {
		close(fd);
		return moved;
	}
	if (r->n_plugs == r->cap_plugs) {
		size_t cap = r->cap_plugs ? 2 * r->cap_plugs : 64;
		int *plugs = reallocarray(r->plugs, cap, sizeof(*plugs));

		if (!plugs) {
			close(fd);
			return moved;
		}
		r->plugs = plugs;
		r->cap_plugs = cap;
	}
	r->plugs[r->n_plugs++] = fd;
	return moved;
}

/* Makes one lone pair at the numbers the root task holds its ends at: in the order of those
 * numbers, socketpair() lands on them by itself (it takes the lowest free ones), but for
 * numbers taken or left free by others. The two ends of a new pair are alike. */
static int make_lone_pair(struct urestore *r, struct usk *a, struct usk *b)
{
	int sv[2];

	if (socketpair(AF_UNIX, (int)a->ue->type | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (sv[1] == a->target || sv[0] == b->target) {
		int t = sv[0];

		sv[0] = sv[1];
		sv[1] = t;
	}
	a->fd = land(r, sv[0], a->target);
	b->fd = land(r, sv[1], b->target);
	a->paired = b->paired = true;
	return 0;
}

/* Queues, shutdown and options of a lone pair. */
static int fill_pair(struct urestore *r, struct usk *a, struct usk *b)
{
	int ret = refill_socket(r, a);

	if (ret == 0)
		ret = refill_socket(r, b);
	if (ret == 0)
		ret = shut_socket(a);
	if (ret == 0)
		ret = shut_socket(b);
	if (ret == 0)
		ret = set_options(a);
	if (ret == 0)
		ret = set_options(b);
	return ret;
}

static void undo_pair(struct usk *a, struct usk *b)
{
	close(TAKE_FD(a->fd));
	close(TAKE_FD(b->fd));
	a->paired = b->paired = a->raised = b->raised = false;
}

/* Fills the lone pairs [from, to), silently: a pair that fails is undone and left to the steps,
 * which make it again and log why. Each pair writes only its own two sockets. */
static void fill_pairs(struct urestore *r, size_t from, size_t to)
{
	for (size_t k = from; k < to; k++) {
		struct usk *a = &r->u[r->pairs[k]], *b = &r->u[a->peer];

		if (a->fd < 0)
			continue;
		if (!r->fail_pairs && fill_pair(r, a, b) == 0)
			a->is_done = b->is_done = true;
		else
			undo_pair(a, b);
	}
}

/* The pairs made so far, handed out to the threads that fill them. */
struct fill_queue {
	struct urestore *r;
	pthread_mutex_t lock;
	pthread_cond_t more;
	size_t made, next;
	bool is_all_made;
};

/* Pairs made, and filled, at a time. */
#define FILL_CHUNK 64

/* The next pairs to fill, [*ret_from, *ret_to), waiting for them to be made; false once every
 * pair is made and handed out. */
static bool take_pairs(struct fill_queue *q, size_t *ret_from, size_t *ret_to)
{
	bool has_pairs;

	pthread_mutex_lock(&q->lock);
	while (q->next >= q->made && !q->is_all_made)
		pthread_cond_wait(&q->more, &q->lock);
	has_pairs = q->next < q->made;
	if (has_pairs) {
		*ret_from = q->next;
		*ret_to = q->made - q->next > FILL_CHUNK ? q->next + FILL_CHUNK : q->made;
		q->next = *ret_to;
	}
	pthread_mutex_unlock(&q->lock);
	return has_pairs;
}

static void *fill_worker(void *opaque)
{
	struct fill_queue *q = opaque;
	size_t from, to;

	log_mute_thread(true);
	while (take_pairs(q, &from, &to))
		fill_pairs(q->r, from, to);
	log_mute_thread(false);
	return NULL;
}

static void publish_pairs(struct fill_queue *q, size_t made, bool is_all_made)
{
	pthread_mutex_lock(&q->lock);
	q->made = made;
	q->is_all_made = is_all_made;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->lock);
}

/* Makes the lone pairs at their numbers, one after the other on this thread (the numbers
 * depend on the order), while up to three others fill the ones made (for many pairs: 256 and
 * more); this thread joins them once every pair is made. Best effort and silent: the steps
 * redo, and report, whatever fails here. */
static void rebuild_lone_pairs(struct urestore *r)
{
	struct fill_queue q = {
	    .r = r, .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};
	pthread_t workers[PARALLEL_MAX_THREADS];
	size_t n_workers = parallel_n_ranges(r->n_pairs, PAIRS_PARALLEL_MIN) - 1, k;

	log_mute_thread(true);
	r->fail_pairs = restore_fault("unix-lone-pairs") < 0;
	for (size_t i = 0; i < n_workers; i++)
		if (pthread_create(&workers[i], NULL, fill_worker, &q) != 0)
			n_workers = i;
	for (k = 0; k < r->n_pairs; k++) {
		struct usk *a = &r->u[r->pairs[k]];

		if (make_lone_pair(r, a, &r->u[a->peer]) < 0)
			break; /* out of fds or memory: the steps say which */
		if (n_workers && (k + 1) % FILL_CHUNK == 0)
			publish_pairs(&q, k + 1, false);
	}
	for (size_t i = 0; i < r->n_plugs; i++)
		close(r->plugs[i]);
	r->n_plugs = 0;
	publish_pairs(&q, k, true);
	fill_worker(&q);
	for (size_t i = 0; i < n_workers; i++)
		pthread_join(workers[i], NULL);
	log_mute_thread(false);
}

/* ---- the pass
 * ------------------------------------------------------------------------------------ */

static int collect(struct urestore *r)
{
	const struct image_set *set = r->set;

	r->by_file = malloc((set->n_files ? set->n_files : 1) * sizeof(*r->by_file));
	r->u = calloc(set->n_files ? set->n_files : 1, sizeof(*r->u));
	if (!r->by_file || !r->u)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_files; i++) {
		const FileEntry *fe = set->files[i];

		r->by_file[i] = -1;
		if (fe->type != FD_TYPE__FD_TYPE_UNIXSK || !fe->unix_sk)
			continue;
		r->by_file[i] = (ssize_t)r->n;
		r->u[r->n++] = (struct usk){.fe = fe,
					    .ue = fe->unix_sk,
					    .fd = -1,
					    .fake = -1,
					    .peer = -1,
					    .name_dirfd = -1,
					    .target = -1};
	}
	for (size_t i = 0; i < r->n; i++) {
		struct usk *s = &r->u[i];

		if (s->ue->has_peer_id)
			s->peer = r->by_file[image_set_file(set, s->ue->peer_id)];
		if (s->ue->has_name && !s->ue->accepted && index_name(r, i) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void urestore_done(struct urestore *r)
{
	for (size_t i = 0; i < r->n; i++) {
		closep(&r->u[i].fd);
		closep(&r->u[i].fake);
		closep(&r->u[i].name_dirfd);
	}
	for (size_t i = 0; i < r->n_stand_ins; i++) {
		closep(&r->stand_ins[i].fd);
		closep(&r->stand_ins[i].dirfd);
	}
	closep(&r->unnamed_sender);
	free(r->stand_ins);
	for (size_t i = 0; i < r->n_plugs; i++)
		close(r->plugs[i]);
	free(r->plugs);
	free(r->is_wanted);
	free(r->pairs);
	free(r->u);
	free(r->by_file);
	hmap_clear(&r->by_name);
	closep(&r->saved_root);
	closep(&r->saved_cwd);
}

/* Hands every socket over to rb, by files.img index. */
static void keep_all(struct urestore *r, struct unix_rebuilt *rb)
{
	for (size_t i = 0; i < r->set->n_files; i++)
		if (r->by_file[i] >= 0)
			rb->fds[i] = TAKE_FD(r->u[r->by_file[i]].fd);
}

void unix_rebuilt_release(void *rebuilt)
{
	struct unix_rebuilt *rb = rebuilt;

	for (size_t i = 0; rb->fds && i < rb->n; i++)
		closep(&rb->fds[i]);
	free(rb->fds);
}

int unix_restore_all(struct fd_restore_ctx *ctx, struct unix_rebuilt *rb)
{
	struct urestore r = {.ctx = ctx, .set = fd_restore_image_set(ctx), .unnamed_sender = -1};
	int ret;

	r.saved_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	r.saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r.saved_root < 0 || r.saved_cwd < 0) {
		ret = pr_errno("cannot open the root task's root and directory");
		goto out;
	}
	ret = collect(&r);
	if (ret == 0)
		ret = find_lone_pairs(&r);
	if (ret == -ENOMEM)
		pr_err("cannot restore unix sockets: out of memory");
	if (ret == 0)
		ret = sock_queues_of(ctx, &r.q);
	if (ret == 0) {
		/* off the numbers the pairs are made at */
		r.saved_root = move_away(&r, r.saved_root);
		r.saved_cwd = move_away(&r, r.saved_cwd);
		ret = restore_fault("unix-create");
	}
	if (ret == 0) {
		rebuild_lone_pairs(&r);
		ret = create_all(&r);
	}
	if (ret == 0)
		ret = bind_all(&r);
	if (ret == 0)
		ret = connect_all(&r);
	if (ret == 0)
		ret = restore_fault("unix-queues");
	if (ret == 0)
		ret = refill_all(&r);
	if (ret == 0)
		ret = connect_dgrams(&r);
	if (ret == 0)
		ret = finish_all(&r);
	if (ret == 0)
		keep_all(&r, rb);
out:
	urestore_done(&r);
	return ret;
}
