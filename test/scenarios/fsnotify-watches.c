/* inotify and fanotify on files of a private tmpfs, one file unlinked since and one on a
 * lazily unmounted (detached) tmpfs:
 *   - inotify: a directory watch, a one-shot file watch, a watch on a file unlinked since (held
 *     by an fd), a watch on a file of a detached mount, and a gap in the watch numbers (a watch
 *     removed). After restore: the same wds and masks, no event the restore caused, a file
 *     created after restore is seen, the unlinked and detached files' watches fire, and the
 *     next watch gets the next number;
 *   - fanotify: an inode mark, a mount mark with an ignore mask on one file, and, in a second
 *     group reporting file ids, a filesystem mark. After restore the marks are the same and each
 *     reports its events. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario.h"

#define MAX_LINES 16

static char base[] = "/tmp/minicr-scn-fsnotify.XXXXXX";
static char disk[] = "/tmp/minicr-scn-fsnotify-disk.XXXXXX";
static char det[192];

static void remove_base(void)
{
	static const char *const names[] = {"dir/made-after", "dir",  "f",   "g", "f2",
					    "other",	      "new2", "det", ""};
	char p[256];

	umount2(det, MNT_DETACH);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", base, names[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	umount2(base, MNT_DETACH);
	rmdir(base);
	snprintf(p, sizeof(p), "%s/w", disk);
	unlink(p);
	rmdir(disk);
}

static char *at(const char *name)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", base, name);
	return p[k];
}

/* The item lines of fd's fdinfo that start with prefix, without the fields that name inodes
 * and mounts (they change with the restore), sorted. */
static int lines_of(int fd, const char *prefix, char lines[][160])
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		scenario_fail("cannot open %s: %m", path);
	while (fgets(line, sizeof(line), f) && n < MAX_LINES) {
		char *tok, *save, out[160] = "";

		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			if (strncmp(tok, "ino:", 4) && strncmp(tok, "sdev:", 5) &&
			    strncmp(tok, "mnt_id:", 7) && strncmp(tok, "f_handle:", 9) &&
			    strncmp(tok, "fhandle-", 8)) {
				strncat(out, tok, sizeof(out) - strlen(out) - 2);
				strcat(out, " ");
			}
		snprintf(lines[n++], 160, "%s", out);
	}
	fclose(f);
	qsort(lines, (size_t)n, 160, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void same_lines(int fd, const char *prefix, char before[][160], int n_before)
{
	char after[MAX_LINES][160];
	int n = lines_of(fd, prefix, after);

	scenario_check(n == n_before, "%s: %d lines after restore, %d before", prefix, n, n_before);
	for (int i = 0; i < n; i++)
		scenario_check(!strcmp(after[i], before[i]), "%s: '%s', was '%s'", prefix, after[i],
			       before[i]);
}

/* The next inotify event (waits up to 5 s). */
static void next_event(int ifd, struct inotify_event *ev, char *name, size_t size)
{
	static char buf[4096] __attribute__((aligned(8)));
	static size_t len, off;
	struct inotify_event *e;

	if (off >= len) {
		struct pollfd pfd = {ifd, POLLIN, 0};
		ssize_t n;

		scenario_check(poll(&pfd, 1, 5000) == 1, "no inotify event");
		n = read(ifd, buf, sizeof(buf));
		scenario_check(n > 0, "inotify read: %m");
		len = (size_t)n;
		off = 0;
	}
	e = (struct inotify_event *)(buf + off);
	*ev = *e;
	snprintf(name, size, "%s", e->len ? e->name : "");
	off += sizeof(*e) + e->len;
}

static void expect_event(int ifd, int wd, uint32_t mask, const char *name, const char *what)
{
	struct inotify_event ev;
	char got[256];

	next_event(ifd, &ev, got, sizeof(got));
	scenario_check(ev.wd == wd && (ev.mask & mask) && !strcmp(got, name),
		       "%s: event wd %d mask %#x '%s', expected wd %d mask %#x '%s'", what, ev.wd,
		       ev.mask, got, wd, mask, name);
}

/* The next fanotify event's mask, and its file's inode (0 for events without an fd). */
static uint64_t fan_event(int fan, ino_t *ret_ino)
{
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd pfd = {fan, POLLIN, 0};
	struct fanotify_event_metadata *m = (void *)buf;
	struct stat st;
	ssize_t n;

	scenario_check(poll(&pfd, 1, 5000) == 1, "no fanotify event");
	n = read(fan, buf, sizeof(m[0]) + 512);
	scenario_check(n >= (ssize_t)sizeof(*m) && m->vers == FANOTIFY_METADATA_VERSION,
		       "fanotify read: %zd (%m)", n);
	*ret_ino = 0;
	if (m->fd >= 0) {
		if (fstat(m->fd, &st) == 0)
			*ret_ino = st.st_ino;
		close(m->fd);
	}
	return m->mask;
}

static void drain_fanotify(int fan)
{
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(fan, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *m = (void *)buf;

		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n))
			if (m->fd >= 0)
				close(m->fd);
	}
}

static bool quiet(int fd)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	return poll(&pfd, 1, 0) == 0;
}

int main(void)
{
	char in_before[MAX_LINES][160], fa_before[MAX_LINES][160], fb_before[MAX_LINES][160];
	int ifd, wd_dir, wd_f, wd_g, wd_u, wd_w, u_fd, w_fd, f2_fd, fan_a, fan_b, n_in, n_fa, n_fb;
	struct stat f2_st, other_st;
	ino_t ino;
	uint64_t mask;
	char c = 'x';

	scenario_private_mounts();
	if (!mkdtemp(base) || !mkdtemp(disk))
		scenario_skip("mkdtemp: %m");
	atexit(remove_base);
	if (mount("scenario", base, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("mount tmpfs: %m");
	snprintf(det, sizeof(det), "%s/det", base);
	if (mkdir(at("dir"), 0755) < 0 || mkdir(det, 0755) < 0 ||
	    mount(disk, det, NULL, MS_BIND, NULL) < 0)
		scenario_skip("setup: %m");
	close(open(at("f"), O_CREAT | O_WRONLY, 0644));
	close(open(at("g"), O_CREAT | O_WRONLY, 0644));
	close(open(at("other"), O_CREAT | O_WRONLY, 0644));
	u_fd = open(at("u"), O_CREAT | O_RDWR, 0644);
	f2_fd = open(at("f2"), O_CREAT | O_RDWR, 0644);
	w_fd = open(at("det/w"), O_CREAT | O_RDWR, 0644);
	if (u_fd < 0 || f2_fd < 0 || w_fd < 0)
		scenario_skip("files: %m");
	/* (1) inotify: the watches, a gap (g's removed), then the unlinked and detached files */
	ifd = inotify_init1(IN_NONBLOCK);
	wd_dir =
	    inotify_add_watch(ifd, at("dir"), IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_EXCL_UNLINK);
	wd_f = inotify_add_watch(ifd, at("f"), IN_MODIFY | IN_ONESHOT);
	wd_g = inotify_add_watch(ifd, at("g"), IN_MODIFY);
	wd_u = inotify_add_watch(ifd, at("u"), IN_MODIFY);
	wd_w = inotify_add_watch(ifd, at("det/w"), IN_MODIFY);
	if (ifd < 0 || wd_dir < 0 || wd_f < 0 || wd_g < 0 || wd_u < 0 || wd_w < 0)
		scenario_skip("inotify: %m");
	inotify_rm_watch(ifd, wd_g);
	unlink(at("u"));
	if (umount2(det, MNT_DETACH) < 0)
		scenario_skip("umount2(MNT_DETACH): %m");
	/* (2) fanotify: an inode mark, a mount mark ignoring f2's opens; a filesystem mark */
	fan_a = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY);
	fan_b = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK, O_RDONLY);
	if (fan_a < 0 || fan_b < 0)
		scenario_skip("fanotify_init: %m");
	if (fanotify_mark(fan_a, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, at("f2")) < 0 ||
	    fanotify_mark(fan_a, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD, base) < 0 ||
	    fanotify_mark(fan_a,
			  FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
			  FAN_OPEN, AT_FDCWD, at("f2")) < 0 ||
	    fanotify_mark(fan_b, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CREATE, AT_FDCWD, base) <
		0)
		scenario_skip("fanotify_mark: %m");
	/* nothing queued at dump: queued events are not kept */
	{
		char buf[4096];

		while (read(ifd, buf, sizeof(buf)) > 0 || read(fan_a, buf, sizeof(buf)) > 0 ||
		       read(fan_b, buf, sizeof(buf)) > 0)
			;
	}
	n_in = lines_of(ifd, "inotify", in_before);
	n_fa = lines_of(fan_a, "fanotify", fa_before);
	n_fb = lines_of(fan_b, "fanotify", fb_before);

	scenario_ready();
	scenario_wait();

	/* inode numbers of a restored tmpfs are new */
	fstat(f2_fd, &f2_st);
	stat(at("other"), &other_st);
	same_lines(ifd, "inotify", in_before, n_in);
	same_lines(fan_a, "fanotify", fa_before, n_fa);
	same_lines(fan_b, "fanotify", fb_before, n_fb);
	/* queued events are not kept, and the restore's own are read away; a dump that left the
	 * tree running leaves those its own reads caused (contents of this tmpfs) */
	if (scenario_was_restored()) {
		scenario_check(quiet(ifd), "inotify: events queued by the restore");
		scenario_check(quiet(fan_a) && quiet(fan_b),
			       "fanotify: events queued by the restore");
	} else {
		char buf[4096];

		while (read(ifd, buf, sizeof(buf)) > 0)
			;
	}
	/* a file made after restore, a write to the one-shot file, the unlinked and the detached */
	close(open(at("dir/made-after"), O_CREAT | O_WRONLY, 0644));
	expect_event(ifd, wd_dir, IN_CREATE, "made-after", "directory watch");
	{
		int fd = open(at("f"), O_WRONLY);

		scenario_check(fd >= 0 && write(fd, &c, 1) == 1, "write f: %m");
		close(fd);
	}
	expect_event(ifd, wd_f, IN_MODIFY, "", "one-shot watch");
	expect_event(ifd, wd_f, IN_IGNORED, "", "one-shot watch's end");
	scenario_check(write(u_fd, &c, 1) == 1, "write u: %m");
	expect_event(ifd, wd_u, IN_MODIFY, "", "unlinked file's watch");
	scenario_check(write(w_fd, &c, 1) == 1, "write det/w: %m");
	expect_event(ifd, wd_w, IN_MODIFY, "", "detached file's watch");
	scenario_check(inotify_add_watch(ifd, at("other"), IN_OPEN) == wd_w + 1,
		       "the next watch is not %d", wd_w + 1);
	/* fanotify: f2 written (inode mark), other opened (mount mark), f2 opened (ignored);
	 * what the inotify checks caused is read away first */
	drain_fanotify(fan_a);
	drain_fanotify(fan_b);
	close(open(at("f2"), O_RDONLY));
	scenario_check(pwrite(f2_fd, &c, 1, 0) == 1, "write f2: %m");
	mask = fan_event(fan_a, &ino);
	scenario_check(mask == FAN_MODIFY && ino == f2_st.st_ino,
		       "inode mark: mask %#lx on inode %lu", (unsigned long)mask,
		       (unsigned long)ino);
	close(open(at("other"), O_RDONLY));
	mask = fan_event(fan_a, &ino);
	scenario_check(mask == FAN_OPEN && ino == other_st.st_ino,
		       "mount mark: mask %#lx on inode %lu", (unsigned long)mask,
		       (unsigned long)ino);
	close(open(at("new2"), O_CREAT | O_WRONLY, 0644));
	mask = fan_event(fan_b, &ino);
	scenario_check(mask == FAN_CREATE, "filesystem mark: mask %#lx", (unsigned long)mask);
	scenario_pass();
}
