/* Integration test for mount-table.c and detached.c on real mounts and real fds.
 * Runs in a child in its own private mount namespace: binds, detaches (MNT_DETACH) and resolves.
 * Exit 0 = pass, 1 = fail, 77 = skipped (needs root / CAP_SYS_ADMIN / CAP_DAC_READ_SEARCH). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "base/compat.h"
#include "mount/dump-detached.h"
#include "base/log.h"
#include "mount/table.h"

#define MS_PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static char base[] = "/tmp/minicr-test-detached.XXXXXX";

static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Builds base + "/" + formatted suffix into one of a few rotating static buffers. */
static const char *at(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	size_t len;
	va_list ap;

	len = (size_t)snprintf(b, PATH_MAX, "%s/", base);
	va_start(ap, fmt);
	vsnprintf(b + len, PATH_MAX - len, fmt, ap);
	va_end(ap);
	return b;
}

static void xmkdir(const char *p)
{
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die(p);
}

static void xtouch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		die(p);
	close(fd);
}

static void xmount(const char *src, const char *dst, const char *type, unsigned long flags,
		   const char *data)
{
	if (mount(src, dst, type, flags, data) < 0) {
		fprintf(stderr, "mount %s on %s: %s\n", src ? src : "-", dst, strerror(errno));
		exit(1);
	}
}

static int xopen(const char *p, int flags)
{
	int fd = open(p, flags | O_CLOEXEC);

	if (fd < 0)
		die(p);
	return fd;
}

static uint32_t fdinfo_mnt_id(int fd)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int ifd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = xopen(path, O_RDONLY);
	n = read(ifd, buf, sizeof(buf) - 1);
	close(ifd);
	if (n <= 0)
		die(path);
	buf[n] = '\0';
	p = strstr(buf, "mnt_id:");
	return p ? (uint32_t)strtoul(p + 7, NULL, 10) : 0;
}

static void fd_path(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, size - 1);
	if (n < 0)
		die(proc);
	buf[n] = '\0';
}

/* Resolves fd as task getpid() would see it; returns the result (kind 0 on error). */
static struct detached_result resolve(struct detached_ctx *ctx, int fd, int *ret_err)
{
	struct detached_result res = {0};
	char path[PATH_MAX];
	struct detached_fd desc = {.pid = getpid(), .fd = fd, .mnt_id = fdinfo_mnt_id(fd)};

	fd_path(fd, path, sizeof(path));
	desc.path = path;
	*ret_err = detached_resolve_fd(ctx, fd, &desc, &res);
	return res;
}

static struct mount_table *collect(pid_t pid, unsigned int flags)
{
	struct mount_table *t = NULL;
	int r = mount_table_collect(pid, flags, &t);

	if (r < 0) {
		fprintf(stderr, "mount_table_collect(%d, %#x): %s\n", (int)pid, flags,
			strerror(-r));
		exit(1);
	}
	return t;
}

static const struct mount_entry *find_mountpoint(const struct mount_table *t, const char *mp)
{
	size_t i;

	for (i = 0; i < mount_table_size(t); i++)
		if (strcmp(mount_table_get(t, i)->mountpoint, mp) == 0)
			return mount_table_get(t, i);
	return NULL;
}

static bool has_user(const struct detached_mount *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->n_users; i++)
		if (strcmp(m->users[i].path, path) == 0 && m->users[i].pid == getpid())
			return true;
	return false;
}

/* ---- cases ----------------------------------------------------------------------------- */

/* A bind of <fs>/sub, remounted ro,nosuid, four fds opened, then lazily unmounted. */
/* fs is "A" (a tmpfs mounted there) or "disk" (a directory on the disk's root filesystem). */
static void case_detached_bind(const char *name, const char *fs, unsigned int ctx_flags,
			       unsigned int collect_flags, const char *want_fstype)
{
	bool is_disk = strcmp(fs, "disk") == 0;
	char b[PATH_MAX];
	struct mount_table *t;
	struct detached_ctx *ctx = NULL;
	const struct mount_entry *live;
	const struct detached_mount *m = NULL;
	int fds[4], i, err;
	uint32_t b_id;

	snprintf(b, sizeof(b), "%s", at("%s-B", name));
	xmkdir(b);
	xmount(at("%s/sub", fs), b, NULL, MS_BIND, NULL);
	xmount(NULL, b, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL);
	fds[0] = xopen(at("%s-B/file", name), O_RDONLY);
	fds[1] = xopen(at("%s-B/dir", name), O_RDONLY | O_DIRECTORY);
	fds[2] = xopen(b, O_RDONLY | O_DIRECTORY);
	fds[3] = xopen(at("%s-B/dir/deeper", name), O_PATH);
	b_id = fdinfo_mnt_id(fds[0]);
	if (umount2(b, MNT_DETACH) < 0)
		die("umount2 B");

	t = collect(getpid(), collect_flags);
	CHECK(mount_table_find_old(t, b_id) == NULL, "detached mount %u still in the table", b_id);
	live = is_disk ? NULL : find_mountpoint(t, at("%s", fs));
	CHECK(detached_ctx_new(&t, 1, NULL, 0, ctx_flags, &ctx) == 0, "ctx");
	for (i = 0; i < 4; i++) {
		struct detached_result res = resolve(ctx, fds[i], &err);

		CHECK(err == 0, "%s: fd %d: %s", name, fds[i], strerror(-err));
		CHECK(res.kind == DETACHED_FD_DETACHED, "%s: fd %d kind %d", name, fds[i],
		      res.kind);
		if (i == 0)
			m = res.detached;
		CHECK(res.detached && res.detached == m, "%s: fd %d not grouped with fd %d", name,
		      fds[i], fds[0]);
	}
	CHECK(detached_ctx_n_mounts(ctx) == 1, "%s: %zu records", name, detached_ctx_n_mounts(ctx));
	if (m) {
		enum detached_method want = detached_ctx_has_statmount_by_fd(ctx)
						? DETACHED_METHOD_STATMOUNT_BY_FD
						: DETACHED_METHOD_FILE_HANDLE;
		/* On disk the live mount is "/" with root "/": the root is the full path. */
		const char *want_root = is_disk ? at("%s/sub", fs) : "/sub";

		printf(
		    "  %s: method %s, root '%s', fstype %s, attr %#llx, source '%s', users %zu\n",
		    name,
		    m->method == DETACHED_METHOD_FILE_HANDLE ? "file-handle" : "statmount-by-fd",
		    m->root ? m->root : "?", m->fstype, (unsigned long long)m->mnt_attr,
		    m->source ? m->source : "?", m->n_users);
		CHECK(m->method == want, "%s: method %d", name, m->method);
		CHECK(m->root && strcmp(m->root, want_root) == 0, "%s: root '%s' want '%s'", name,
		      m->root ? m->root : "(null)", want_root);
		CHECK((m->mnt_attr & (MINICR_MOUNT_ATTR_RDONLY | MINICR_MOUNT_ATTR_NOSUID)) ==
			  (MINICR_MOUNT_ATTR_RDONLY | MINICR_MOUNT_ATTR_NOSUID),
		      "%s: mnt_attr %#llx", name, (unsigned long long)m->mnt_attr);
		CHECK(!(m->mnt_attr & (MINICR_MOUNT_ATTR_NODEV | MINICR_MOUNT_ATTR_NOEXEC)),
		      "%s: mnt_attr %#llx", name, (unsigned long long)m->mnt_attr);
		CHECK(strcmp(m->fstype, want_fstype) == 0, "%s: fstype '%s'", name, m->fstype);
		CHECK(m->mnt_id_old == b_id, "%s: mnt_id_old %u want %u", name, m->mnt_id_old,
		      b_id);
		CHECK(m->id > 0x80000000ULL, "%s: unique id %#llx", name,
		      (unsigned long long)m->id);
		CHECK(!m->is_orphaned, "%s: orphaned", name);
		CHECK(!m->root_is_file, "%s: root_is_file", name);
		CHECK(m->source_mnt != NULL && m->source_in_tree, "%s: no source mount", name);
		if (live)
			CHECK(m->source_mnt == live, "%s: source mount %u want %u", name,
			      m->source_mnt ? m->source_mnt->mnt_id_old : 0, live->mnt_id_old);
		if (live)
			CHECK(m->source && strcmp(m->source, "probefs") == 0, "%s: source '%s'",
			      name, m->source ? m->source : "(null)");
		CHECK(m->n_users == 4, "%s: %zu users", name, m->n_users);
		CHECK(has_user(m, "/file") && has_user(m, "/dir") && has_user(m, "/") &&
			  has_user(m, "/dir/deeper"),
		      "%s: users' paths", name);
	}
	detached_ctx_free(ctx);
	mount_table_free(t);
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

/* An fd on a mount of the table is not detached: it maps to its table mount. */
static void case_normal_fd(void)
{
	struct mount_table *t = collect(getpid(), 0);
	struct detached_ctx *ctx = NULL;
	struct detached_result res;
	int fd = xopen(at("A/sub/file"), O_RDONLY), err;

	CHECK(detached_ctx_new(&t, 1, NULL, 0, 0, &ctx) == 0, "ctx");
	res = resolve(ctx, fd, &err);
	CHECK(err == 0, "normal: %s", strerror(-err));
	CHECK(res.kind == DETACHED_FD_IN_TREE, "normal: kind %d", res.kind);
	CHECK(res.mount && res.mount == find_mountpoint(t, at("A")), "normal: wrong mount");
	CHECK(res.table == t, "normal: wrong table");
	CHECK(detached_ctx_n_mounts(ctx) == 0, "normal: %zu records", detached_ctx_n_mounts(ctx));
	close(fd);
	detached_ctx_free(ctx);
	mount_table_free(t);
}

/* A whole tmpfs whose only mount is lazily unmounted: orphaned. */
static void case_orphaned(void)
{
	const char *c = at("C");
	struct mount_table *t;
	struct detached_ctx *ctx = NULL;
	int fds[2], i, err, mode;
	const struct detached_mount *m = NULL;

	xmkdir(c);
	xmount("orphanfs", c, "tmpfs", MS_NODEV | MS_NOEXEC, "size=512k");
	xmkdir(at("C/d"));
	xtouch(at("C/d/f"));
	fds[0] = xopen(at("C/d/f"), O_RDONLY);
	fds[1] = xopen(at("C/d"), O_RDONLY | O_DIRECTORY);
	if (umount2(c, MNT_DETACH) < 0)
		die("umount2 C");
	t = collect(getpid(), 0);
	/* mode 0: file handle (root unknown); mode 1 (Linux 7.0+): statmount knows the root */
	for (mode = 0; mode < (detached_probe_statmount_by_fd() ? 2 : 1); mode++) {
		CHECK(detached_ctx_new(&t, 1, NULL, 0, mode ? 0 : DETACHED_CTX_NO_STATMOUNT_BY_FD,
				       &ctx) == 0,
		      "ctx");
		for (i = 0; i < 2; i++) {
			struct detached_result res = resolve(ctx, fds[i], &err);

			CHECK(err == 0, "orphaned: %s", strerror(-err));
			CHECK(res.kind == DETACHED_FD_DETACHED, "orphaned: kind %d", res.kind);
			if (i == 0)
				m = res.detached;
			CHECK(res.detached == m, "orphaned: not grouped");
		}
		if (!m) {
			detached_ctx_free(ctx);
			continue;
		}
		printf("  orphaned: fstype %s, attr %#llx, root %s, source %s, users %zu\n",
		       m->fstype, (unsigned long long)m->mnt_attr, m->root ? m->root : "(unknown)",
		       m->source ? m->source : "(unknown)", m->n_users);
		CHECK(m->is_orphaned && m->source_mnt == NULL, "orphaned: not marked orphaned");
		CHECK(strcmp(m->fstype, "tmpfs") == 0, "orphaned: fstype '%s'", m->fstype);
		CHECK((m->mnt_attr & (MINICR_MOUNT_ATTR_NODEV | MINICR_MOUNT_ATTR_NOEXEC |
				      MINICR_MOUNT_ATTR_RDONLY)) ==
			  (MINICR_MOUNT_ATTR_NODEV | MINICR_MOUNT_ATTR_NOEXEC),
		      "orphaned: attr %#llx", (unsigned long long)m->mnt_attr);
		if (mode == 0)
			/* before 7.0 nothing tells them: stand-ins, marked as such */
			CHECK(m->root && !strcmp(m->root, "/") && m->source &&
				  !strcmp(m->source, "tmpfs") && m->options &&
				  !strncmp(m->options, "size=524288,nr_inodes=", 22) &&
				  m->inexact == (DETACHED_INEXACT_ROOT | DETACHED_INEXACT_SOURCE |
						 DETACHED_INEXACT_OPTIONS),
			      "orphaned: root '%s' source '%s' options '%s' inexact %#x",
			      m->root ? m->root : "(null)", m->source ? m->source : "(null)",
			      m->options ? m->options : "(null)", m->inexact);
		else
			CHECK(m->root && strcmp(m->root, "/") == 0 && m->source &&
				  strcmp(m->source, "orphanfs") == 0,
			      "orphaned by fd: root or source wrong");
		CHECK(m->n_users == 2 && has_user(m, "/d/f") && has_user(m, "/d"),
		      "orphaned: users");
		detached_ctx_free(ctx);
	}
	mount_table_free(t);
	close(fds[0]);
	close(fds[1]);
}

/* A single-file bind, detached: the root is the file. */
static void case_file_bind(void)
{
	const char *f = at("F");
	struct mount_table *t;
	struct detached_ctx *ctx = NULL;
	struct detached_result res;
	int fd, err;

	xtouch(f);
	xmount(at("A/sub/dir/f2"), f, NULL, MS_BIND, NULL);
	xmount(NULL, f, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	fd = xopen(f, O_RDONLY);
	if (umount2(f, MNT_DETACH) < 0)
		die("umount2 F");
	t = collect(getpid(), 0);
	CHECK(detached_ctx_new(&t, 1, NULL, 0, 0, &ctx) == 0, "ctx");
	res = resolve(ctx, fd, &err);
	CHECK(err == 0, "file bind: %s", strerror(-err));
	CHECK(res.kind == DETACHED_FD_DETACHED, "file bind: kind %d", res.kind);
	if (res.detached) {
		const struct detached_mount *m = res.detached;

		printf("  file bind: root '%s', root_is_file %d, attr %#llx\n",
		       m->root ? m->root : "?", m->root_is_file, (unsigned long long)m->mnt_attr);
		CHECK(m->root_is_file, "file bind: root_is_file not set");
		CHECK(m->root && strcmp(m->root, "/sub/dir/f2") == 0, "file bind: root '%s'",
		      m->root ? m->root : "(null)");
		CHECK(m->mnt_attr & MINICR_MOUNT_ATTR_RDONLY, "file bind: not ro");
		CHECK(m->source_mnt && strcmp(m->source_mnt->mountpoint, at("A")) == 0,
		      "file bind: source mount");
		CHECK(has_user(m, "/"), "file bind: user path");
	}
	detached_ctx_free(ctx);
	mount_table_free(t);
	close(fd);
}

/* Propagation: shared, slave, shared+slave, unbindable, read back by both collectors. */
static void case_propagation(void)
{
	struct mount_table *lt, *mt;
	const struct mount_entry *p, *q, *r, *u;

	xmkdir(at("P"));
	xmkdir(at("Q"));
	xmkdir(at("R"));
	xmkdir(at("U"));
	xmount("propfs", at("P"), "tmpfs", MS_STRICTATIME, "size=256k");
	/* escapes: a space and a tab in the mountpoint and the source */
	xmkdir(at("sp ace\tx"));
	xmount("src with space", at("sp ace\tx"), "tmpfs", MS_NODIRATIME, NULL);
	xmount(NULL, at("P"), NULL, MS_SHARED, NULL);
	xmount(at("P"), at("Q"), NULL, MS_BIND, NULL); /* Q joins P's peer group */
	xmount(NULL, at("Q"), NULL, MS_SLAVE, NULL);   /* then becomes its slave */
	xmount(at("P"), at("R"), NULL, MS_BIND, NULL);
	xmount(NULL, at("R"), NULL, MS_SLAVE, NULL);
	xmount(NULL, at("R"), NULL, MS_SHARED, NULL); /* slave of P and shared with its own peers */
	xmount("unbfs", at("U"), "tmpfs", MS_NOATIME, NULL);
	xmount(NULL, at("U"), NULL, MS_UNBINDABLE, NULL);

	lt = collect(getpid(), MOUNT_TABLE_FORCE_LISTMOUNT);
	mt = collect(getpid(), MOUNT_TABLE_FORCE_MOUNTINFO);
	CHECK(mount_table_method(lt) == MOUNT_TABLE_METHOD_LISTMOUNT, "listmount table");
	CHECK(mount_table_method(mt) == MOUNT_TABLE_METHOD_MOUNTINFO, "mountinfo table");
	CHECK(mount_table_ns_id(lt) != 0, "no ns id");
	for (int pass = 0; pass < 2; pass++) {
		const struct mount_table *t = pass ? mt : lt;
		const char *how = pass ? "mountinfo" : "listmount";

		p = find_mountpoint(t, at("P"));
		q = find_mountpoint(t, at("Q"));
		r = find_mountpoint(t, at("R"));
		u = find_mountpoint(t, at("U"));
		if (!p || !q || !r || !u) {
			CHECK(0, "%s: propagation mounts missing", how);
			continue;
		}
		CHECK(p->propagation == MS_SHARED && p->shared_id, "%s: P %#x", how,
		      p->propagation);
		CHECK(q->propagation == MS_SLAVE && q->master_id == p->shared_id && !q->shared_id,
		      "%s: Q prop %#x master %llu", how, q->propagation,
		      (unsigned long long)q->master_id);
		CHECK(r->propagation == (MS_SHARED | MS_SLAVE) && r->master_id == p->shared_id &&
			  r->shared_id && r->shared_id != p->shared_id,
		      "%s: R prop %#x", how, r->propagation);
		CHECK(u->propagation == MS_UNBINDABLE, "%s: U prop %#x", how, u->propagation);
		CHECK(u->mnt_attr & MINICR_MOUNT_ATTR_NOATIME, "%s: U attr %#llx", how,
		      (unsigned long long)u->mnt_attr);
		CHECK(strcmp(p->source, "propfs") == 0 && strcmp(p->fstype, "tmpfs") == 0,
		      "%s: P source '%s' type '%s'", how, p->source, p->fstype);
		CHECK(p->ns_id == mount_table_ns_id(lt), "%s: P ns_id %llu", how,
		      (unsigned long long)p->ns_id);
		CHECK((p->mnt_attr & MINICR_MOUNT_ATTR__ATIME) == MINICR_MOUNT_ATTR_STRICTATIME,
		      "%s: P attr %#llx", how, (unsigned long long)p->mnt_attr);
		u = find_mountpoint(t, at("sp ace\tx"));
		CHECK(u && strcmp(u->source, "src with space") == 0 &&
			  (u->mnt_attr & MINICR_MOUNT_ATTR_NODIRATIME),
		      "%s: escaped mount", how);
	}
	mount_table_free(lt);
	mount_table_free(mt);
}

/* listmount()+statmount() and mountinfo agree on every mount of the namespace. */
static void case_compare_collectors(void)
{
	struct mount_table *lt = collect(getpid(), MOUNT_TABLE_FORCE_LISTMOUNT);
	struct mount_table *mt = collect(getpid(), MOUNT_TABLE_FORCE_MOUNTINFO);
	size_t i, n_diff = 0;

	CHECK(mount_table_size(lt) == mount_table_size(mt), "sizes %zu vs %zu",
	      mount_table_size(lt), mount_table_size(mt));
	for (i = 0; i < mount_table_size(lt); i++) {
		const struct mount_entry *a = mount_table_get(lt, i);
		const struct mount_entry *b = mount_table_find_old(mt, a->mnt_id_old);
		int before = check_failures;

		CHECK(b != NULL, "mount %u only in listmount", a->mnt_id_old);
		if (!b)
			continue;
		CHECK(mount_table_find(lt, a->mnt_id) == a, "unique id lookup of %u",
		      a->mnt_id_old);
		CHECK(a->mnt_id > 0x80000000ULL && b->mnt_id == 0, "ids of %u", a->mnt_id_old);
		CHECK((a->parent ? a->parent->mnt_id_old : 0) ==
			  (b->parent ? b->parent->mnt_id_old : 0),
		      "parent of %u", a->mnt_id_old);
		CHECK(a->dev_major == b->dev_major && a->dev_minor == b->dev_minor, "dev of %u",
		      a->mnt_id_old);
		CHECK(strcmp(a->root, b->root) == 0, "root of %u: '%s' vs '%s'", a->mnt_id_old,
		      a->root, b->root);
		CHECK(strcmp(a->mountpoint, b->mountpoint) == 0, "mountpoint of %u: '%s' vs '%s'",
		      a->mnt_id_old, a->mountpoint, b->mountpoint);
		CHECK(strcmp(a->fstype, b->fstype) == 0, "fstype of %u: '%s' vs '%s'",
		      a->mnt_id_old, a->fstype, b->fstype);
		CHECK(strcmp(a->source, b->source) == 0, "source of %u: '%s' vs '%s'",
		      a->mnt_id_old, a->source, b->source);
		CHECK(strcmp(a->options, b->options) == 0, "options of %u: '%s' vs '%s'",
		      a->mnt_id_old, a->options, b->options);
		CHECK(a->mnt_attr == b->mnt_attr, "mnt_attr of %u: %#llx vs %#llx", a->mnt_id_old,
		      (unsigned long long)a->mnt_attr, (unsigned long long)b->mnt_attr);
		CHECK(a->sb_flags == b->sb_flags, "sb_flags of %u: %#x vs %#x", a->mnt_id_old,
		      a->sb_flags, b->sb_flags);
		CHECK(a->propagation == b->propagation && a->shared_id == b->shared_id &&
			  a->master_id == b->master_id,
		      "propagation of %u", a->mnt_id_old);
		CHECK(a->ns_id == b->ns_id, "ns_id of %u", a->mnt_id_old);
		if (check_failures != before)
			n_diff++;
	}
	printf("  collectors: %zu mounts compared, %zu differ\n", mount_table_size(lt), n_diff);
	/* parent-first order */
	for (i = 0; i < mount_table_size(lt); i++) {
		const struct mount_entry *e = mount_table_get(lt, i);
		size_t j;

		if (!e->parent)
			continue;
		for (j = 0; j < i; j++)
			if (mount_table_get(lt, j) == e->parent)
				break;
		CHECK(j < i, "mount %u comes before its parent", e->mnt_id_old);
	}
	mount_table_free(lt);
	mount_table_free(mt);
}

/* An fd on a mount that exists only in minicr's namespace, while the tree lives in another:
 * OTHER_NS when minicr's own table is given, never a false "detached" grouping. */
static void case_other_namespace(void)
{
	int ready[2], hold[2], fd, err;
	char c;
	pid_t pid;
	struct mount_table *tree, *own;
	struct detached_ctx *ctx = NULL;
	struct detached_result res;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWNS) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)!read(hold[0], &c, 1); /* until the parent closes hold[1] */
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	if (read(ready[0], &c, 1) != 1)
		die("child not ready");
	/* made after the child's unshare: exists only in our namespace */
	xmkdir(at("O"));
	xmount("otherfs", at("O"), "tmpfs", 0, NULL);
	xtouch(at("O/f"));
	fd = xopen(at("O/f"), O_RDONLY);

	tree = collect(pid, 0);
	own = collect(getpid(), 0);
	printf("  other ns: tree table via %s (%zu mounts), ns %llu vs own %llu\n",
	       mount_table_method(tree) == MOUNT_TABLE_METHOD_LISTMOUNT ? "listmount" : "mountinfo",
	       mount_table_size(tree), (unsigned long long)mount_table_ns_id(tree),
	       (unsigned long long)mount_table_ns_id(own));
	CHECK(mount_table_method(tree) == MOUNT_TABLE_METHOD_LISTMOUNT,
	      "another namespace's table not collected with listmount");
	CHECK(mount_table_ns_id(tree) != mount_table_ns_id(own), "same ns ids");
	CHECK(find_mountpoint(tree, at("O")) == NULL, "O visible in the child's namespace");
	CHECK(detached_ctx_new(&tree, 1, &own, 1, 0, &ctx) == 0, "ctx");
	res = resolve(ctx, fd, &err);
	CHECK(err == 0, "other ns: %s", strerror(-err));
	CHECK(res.kind == DETACHED_FD_OTHER_NS && res.table == own &&
		  res.mount == find_mountpoint(own, at("O")),
	      "other ns: kind %d", res.kind);
	detached_ctx_free(ctx);

	/* Without minicr's own table: 6.18 cannot tell this from a detached mount, while
	 * STATMOUNT_BY_FD (7.0+) reports the namespace the mount is in. */
	CHECK(detached_ctx_new(&tree, 1, NULL, 0, 0, &ctx) == 0, "ctx");
	res = resolve(ctx, fd, &err);
	printf("  other ns without own table: kind %d (%s), ns %llu\n", res.kind,
	       res.kind == DETACHED_FD_OTHER_NS ? "other ns" : "looks detached",
	       (unsigned long long)res.other_ns_id);
	if (detached_ctx_has_statmount_by_fd(ctx))
		CHECK(err == 0 && res.kind == DETACHED_FD_OTHER_NS &&
			  res.other_ns_id == mount_table_ns_id(own),
		      "other ns by fd: kind %d ns %llu", res.kind,
		      (unsigned long long)res.other_ns_id);
	detached_ctx_free(ctx);

	/* A (made before the child's unshare) is in both namespaces, but this fd is on our copy. */
	{
		int tfd = xopen(at("A/sub/file"), O_RDONLY);

		CHECK(detached_ctx_new(&tree, 1, &own, 1, 0, &ctx) == 0, "ctx");
		res = resolve(ctx, tfd, &err);
		CHECK(err == 0 && res.kind == DETACHED_FD_OTHER_NS,
		      "A is only in our own namespace's table: kind %d", res.kind);
		detached_ctx_free(ctx);
		close(tfd);
	}
	close(fd);
	close(hold[1]);
	waitpid(pid, NULL, 0);
	mount_table_free(tree);
	mount_table_free(own);
	if (umount2(at("O"), MNT_DETACH) < 0)
		die("umount O");
}

/* A detached bind whose superblock's live mount is in another namespace (the tree's): resolved
 * by opening that mount through /proc/PID/root. */
static void case_source_in_other_namespace(void)
{
	int ready[2], hold[2], fd, err;
	char c;
	pid_t pid;
	struct mount_table *tree;
	struct detached_ctx *ctx = NULL;
	struct detached_result res;

	xmkdir(at("S"));
	xmkdir(at("SB"));
	xmount("sharedfs", at("S"), "tmpfs", 0, NULL);
	xmkdir(at("S/sub"));
	xtouch(at("S/sub/g"));
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWNS) < 0) /* keeps its own copy of S */
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	if (read(ready[0], &c, 1) != 1)
		die("child not ready");
	xmount(at("S/sub"), at("SB"), NULL, MS_BIND, NULL);
	fd = xopen(at("SB/g"), O_RDONLY);
	if (umount2(at("SB"), MNT_DETACH) < 0 || umount2(at("S"), MNT_DETACH) < 0)
		die("umount S");
	/* Now the superblock lives on only in the child's namespace. */
	tree = collect(pid, 0);
	CHECK(detached_ctx_new(&tree, 1, NULL, 0, DETACHED_CTX_NO_STATMOUNT_BY_FD, &ctx) == 0,
	      "ctx");
	res = resolve(ctx, fd, &err);
	CHECK(err == 0, "source in other ns: %s", strerror(-err));
	CHECK(res.kind == DETACHED_FD_DETACHED && res.detached, "source in other ns: kind %d",
	      res.kind);
	if (res.detached) {
		const struct detached_mount *m = res.detached;

		CHECK(m->root && strcmp(m->root, "/sub") == 0, "source in other ns: root '%s'",
		      m->root ? m->root : "(null)");
		CHECK(!m->is_orphaned && m->source_mnt &&
			  m->source_ns_id == mount_table_ns_id(tree),
		      "source in other ns: source mount");
		CHECK(m->source && strcmp(m->source, "sharedfs") == 0,
		      "source in other ns: source");
	}
	detached_ctx_free(ctx);
	close(fd);
	close(hold[1]);
	waitpid(pid, NULL, 0);
	mount_table_free(tree);
}

/* ---- setup / teardown ------------------------------------------------------------------ */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

static void cleanup_base(void)
{
	static const char *const mounts[] = {"U", "R", "Q", "P", "sp ace\tx", "A"};
	size_t i;

	for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++)
		(void)umount2(at("%s", mounts[i]), MNT_DETACH);
	if (nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		fprintf(stderr, "cannot remove %s: %s\n", base, strerror(errno));
}

static int run_in_private_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0) {
		printf("SKIP: unshare(CLONE_NEWNS): %s\n", strerror(errno));
		return 77;
	}
	/* First of all: nothing done here may propagate to the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / rprivate");
	if (!mkdtemp(base))
		die("mkdtemp");
	atexit(cleanup_base);

	/* A: a tmpfs with sub/{file,dir/deeper,dir/f2}; disk: the same tree on the disk fs */
	xmkdir(at("A"));
	xmount("probefs", at("A"), "tmpfs", 0, "size=1024k");
	xmkdir(at("A/sub"));
	xtouch(at("A/sub/file"));
	xmkdir(at("A/sub/dir"));
	xmkdir(at("A/sub/dir/deeper"));
	xtouch(at("A/sub/dir/f2"));
	xmkdir(at("disk"));
	xmkdir(at("disk/sub"));
	xtouch(at("disk/sub/file"));
	xmkdir(at("disk/sub/dir"));
	xmkdir(at("disk/sub/dir/deeper"));

	printf("statmount BY_FD: %s\n", detached_probe_statmount_by_fd() ? "present" : "absent");
	case_detached_bind("tmpfs", "A", 0, 0, "tmpfs");
	if (detached_probe_statmount_by_fd())
		case_detached_bind("tmpfs-fh", "A", DETACHED_CTX_NO_STATMOUNT_BY_FD, 0, "tmpfs");
	/* the tree's table built from mountinfo (no unique ids in the table) */
	case_detached_bind("tmpfs-mountinfo", "A", DETACHED_CTX_NO_STATMOUNT_BY_FD,
			   MOUNT_TABLE_FORCE_MOUNTINFO, "tmpfs");
	{
		struct mount_table *t = collect(getpid(), 0);
		const struct mount_entry *e = NULL;
		struct stat st;

		if (stat(base, &st) == 0)
			e = mount_table_find_dev(t, major(st.st_dev), minor(st.st_dev));
		case_detached_bind("disk", "disk", 0, 0, e ? e->fstype : "?");
		mount_table_free(t);
	}
	case_normal_fd();
	case_orphaned();
	case_file_bind();
	case_propagation();
	case_compare_collectors();
	case_other_namespace();
	case_source_in_other_namespace();
	return check_failures ? 1 : 0;
}

int main(void)
{
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("SKIP: needs root (CAP_SYS_ADMIN for mounts, CAP_DAC_READ_SEARCH for "
		       "open_by_handle_at)\n");
		return 77;
	}
	log_init(LOG_WARN, -1);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		exit(run_in_private_ns());
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status)) {
		printf("FAIL: test child died with status %#x\n", status);
		return 1;
	}
	printf("%s\n", WEXITSTATUS(status) == 0	   ? "PASS"
		       : WEXITSTATUS(status) == 77 ? "SKIP"
						   : "FAIL");
	return WEXITSTATUS(status);
}
