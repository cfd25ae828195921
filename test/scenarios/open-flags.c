/* Every open flag a program can hold, one combination per case (run.sh lists them as
 * open-flags/<case>): O_PATH (on a file, on a symlink with O_NOFOLLOW, on a directory),
 * O_DIRECTORY in the middle of a listing, O_APPEND, O_DIRECT, O_NOATIME, O_SYNC and O_DSYNC,
 * O_ASYNC with an owner and a signal, close-on-exec, F_SETPIPE_SZ, memfd seals. For each fd the
 * case records fdinfo's flags and offset, FD_CLOEXEC, the link, the owner and signal, and after
 * SIGUSR1 checks them and what the flag does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scenario.h"

#define MAX_FDS 16

static char base[64] = "/tmp/minicr-scn-flags.XXXXXX";

struct view {
	int fd;
	unsigned int flags; /* fdinfo flags */
	long long pos;
	int fd_flags;
	char link[512];
	struct f_owner_ex owner;
	int sig, pipe_size, seals;
};

static struct view views[MAX_FDS];
static int n_views;

static void read_view(int fd, struct view *v)
{
	char proc[64];
	ssize_t n;

	memset(v, 0, sizeof(*v));
	v->fd = fd;
	if (scenario_fdinfo(fd, &v->pos, &v->flags, NULL) < 2)
		scenario_fail("cannot read the fdinfo of fd %d", fd);
	v->fd_flags = fcntl(fd, F_GETFD);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, v->link, sizeof(v->link) - 1);
	v->link[n < 0 ? 0 : n] = '\0';
	if (!(v->flags & O_PATH)) {
		if (fcntl(fd, F_GETOWN_EX, &v->owner) < 0)
			memset(&v->owner, 0xff, sizeof(v->owner));
		v->sig = fcntl(fd, F_GETSIG);
		v->pipe_size = fcntl(fd, F_GETPIPE_SZ);
		v->seals = fcntl(fd, F_GET_SEALS);
	}
}

static void watch(int fd)
{
	if (fd < 0)
		scenario_skip("an fd of the case could not be opened: %m");
	read_view(fd, &views[n_views++]);
}

static void check_views(void)
{
	for (int i = 0; i < n_views; i++) {
		const struct view *b = &views[i];
		struct view a;

		read_view(b->fd, &a);
		scenario_check(a.flags == b->flags, "fd %d: flags 0%o, were 0%o", b->fd, a.flags,
			       b->flags);
		scenario_check(a.pos == b->pos, "fd %d: offset %lld, was %lld", b->fd, a.pos,
			       b->pos);
		scenario_check(a.fd_flags == b->fd_flags, "fd %d: FD_CLOEXEC %d, was %d", b->fd,
			       a.fd_flags, b->fd_flags);
		/* a pipe is a new inode, and its link shows the number */
		scenario_check(strcmp(a.link, b->link) == 0 || (strncmp(a.link, "pipe:", 5) == 0 &&
								strncmp(b->link, "pipe:", 5) == 0),
			       "fd %d shows '%s', was '%s'", b->fd, a.link, b->link);
		scenario_check(a.owner.type == b->owner.type && a.owner.pid == b->owner.pid &&
				   a.sig == b->sig,
			       "fd %d: owner %d/%d signal %d, was %d/%d %d", b->fd, a.owner.type,
			       a.owner.pid, a.sig, b->owner.type, b->owner.pid, b->sig);
		scenario_check(a.pipe_size == b->pipe_size, "fd %d: pipe size %d, was %d", b->fd,
			       a.pipe_size, b->pipe_size);
		scenario_check(a.seals == b->seals, "fd %d: seals 0x%x, were 0x%x", b->fd, a.seals,
			       b->seals);
	}
}

static char *at(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 256, "%s/%s", base, name);
	return p;
}

static int make_file(const char *name, const char *contents)
{
	int fd = open(at(name), O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, contents, strlen(contents)) != (ssize_t)strlen(contents))
		scenario_skip("cannot make '%s': %m", at(name));
	close(fd);
	return 0;
}

static void (*check_case)(void);
static int fds[MAX_FDS];

/* ---- the cases ------------------------------------------------------------------------------ */

static void check_opath(void)
{
	char target[16] = "";
	struct stat st;

	scenario_check(fstat(fds[0], &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4,
		       "O_PATH file");
	scenario_check(fstat(fds[1], &st) == 0 && S_ISLNK(st.st_mode) &&
			   readlinkat(fds[1], "", target, sizeof(target)) == 4,
		       "O_PATH|O_NOFOLLOW symlink: '%s'", target);
	scenario_check(fstat(fds[2], &st) == 0 && S_ISDIR(st.st_mode) &&
			   faccessat(fds[2], "file", F_OK, 0) == 0,
		       "O_PATH directory");
}

static void case_opath(void)
{
	make_file("file", "data");
	if (symlink("file", at("link")) < 0)
		scenario_skip("symlink: %m");
	watch(fds[0] = open(at("file"), O_PATH));
	watch(fds[1] = open(at("link"), O_PATH | O_NOFOLLOW));
	watch(fds[2] = open(base, O_PATH | O_DIRECTORY));
	check_case = check_opath;
}

/* A directory read half-way: the next entry is the same after the restore. */
static char next_name[256];

static void check_directory(void)
{
	struct dirent *de;
	DIR *d = fdopendir(fds[0]);

	scenario_check(d && (de = readdir(d)) && strcmp(de->d_name, next_name) == 0,
		       "the listing goes on at another entry");
}

static void case_directory(void)
{
	char name[16];
	struct dirent *de;
	DIR *d;
	int fd;

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		make_file(name, "");
	}
	fd = open(base, O_RDONLY | O_DIRECTORY);
	d = fdopendir(dup(fd));
	if (!d)
		scenario_skip("fdopendir: %m");
	/* read 10 entries through a dup, then put the shared offset at the next one */
	for (int i = 0; i < 10 && (de = readdir(d)); i++)
		;
	{
		long pos = telldir(d);

		de = readdir(d);
		if (!de)
			scenario_skip("readdir: %m");
		snprintf(next_name, sizeof(next_name), "%s", de->d_name);
		seekdir(d, pos);
		lseek(fd, pos, SEEK_SET);
	}
	watch(fds[0] = fd);
	check_case = check_directory;
}

static void check_append(void)
{
	char buf[16] = "";

	scenario_check(lseek(fds[0], 0, SEEK_SET) == 0 && write(fds[0], "+", 1) == 1 &&
			   pread(fds[1], buf, sizeof(buf), 0) == 8 &&
			   memcmp(buf, "abcdefg+", 8) == 0,
		       "O_APPEND wrote at '%s'", buf);
}

static void case_append(void)
{
	make_file("file", "abcdefg");
	fds[0] = open(at("file"), O_WRONLY | O_APPEND);
	lseek(fds[0], 3, SEEK_SET);
	watch(fds[0]);
	watch(fds[1] = open(at("file"), O_RDONLY));
	check_case = check_append;
}

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

/* statx's stx_dio_offset_align (Linux 6.1+), read at its offset for older headers; 0 if the
 * filesystem does not say. */
static unsigned int dio_offset_align(int fd)
{
	struct statx stx;
	uint32_t align = 0;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN))
		return 0;
	memcpy(&align, (const char *)&stx + 0x9c, sizeof(align));
	return align;
}

static void check_direct(void)
{
	void *buf;

	scenario_check(posix_memalign(&buf, 4096, 4096) == 0 &&
			   pread(fds[0], buf, 4096, 0) == 4096 && memcmp(buf, "direct", 6) == 0,
		       "O_DIRECT read");
	/* where the filesystem asks for aligned offsets (ext4, not tmpfs), O_DIRECT shows */
	if (dio_offset_align(fds[0]) > 1)
		scenario_check(pread(fds[0], buf, 512, 1) < 0 && errno == EINVAL,
			       "a read at an unaligned offset worked: O_DIRECT is not in effect");
}

static void case_direct(void)
{
	char block[4096] = "direct";
	int fd = open(at("file"), O_RDWR | O_CREAT, 0600);

	if (fd < 0 || write(fd, block, sizeof(block)) != sizeof(block))
		scenario_skip("cannot write: %m");
	close(fd);
	fd = open(at("file"), O_RDWR | O_DIRECT);
	if (fd < 0)
		scenario_skip("O_DIRECT is not supported here: %m");
	watch(fds[0] = fd);
	check_case = check_direct;
}

static void check_noatime(void)
{
	struct stat before, after;
	char buf[4];

	fstat(fds[0], &before);
	scenario_check(pread(fds[0], buf, 4, 0) == 4 && fstat(fds[0], &after) == 0 &&
			   after.st_atim.tv_sec == before.st_atim.tv_sec &&
			   after.st_atim.tv_nsec == before.st_atim.tv_nsec,
		       "a read through O_NOATIME changed the atime");
}

static void case_noatime(void)
{
	struct timespec old[2] = {{1000000000, 0}, {1100000000, 0}};

	make_file("file", "noatime");
	/* an atime older than the mtime: any read without O_NOATIME would update it */
	if (utimensat(AT_FDCWD, at("file"), old, 0) < 0)
		scenario_skip("utimensat: %m");
	watch(fds[0] = open(at("file"), O_RDONLY | O_NOATIME));
	check_case = check_noatime;
}

static void check_sync(void)
{
	scenario_check(write(fds[0], "s", 1) == 1 && write(fds[1], "d", 1) == 1,
		       "writes through O_SYNC and O_DSYNC");
}

static void case_sync(void)
{
	make_file("s", "");
	make_file("d", "");
	watch(fds[0] = open(at("s"), O_WRONLY | O_SYNC));
	watch(fds[1] = open(at("d"), O_WRONLY | O_DSYNC));
	check_case = check_sync;
}

/* O_ASYNC on a pipe and a FIFO with an owner and a signal: data arriving signals the owner. */
static volatile sig_atomic_t got_io;

static void on_io(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_io = si->si_fd + 1;
}

static void check_async(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	got_io = 0;
	scenario_check(write(fds[1], "x", 1) == 1, "write to the pipe");
	for (int i = 0; i < 1000 && !got_io; i++)
		usleep(1000);
	scenario_check(got_io == fds[0] + 1, "no signal for the O_ASYNC pipe (%d)", got_io - 1);
}

static void case_async(void)
{
	struct sigaction sa = {.sa_sigaction = on_io, .sa_flags = SA_SIGINFO};
	struct f_owner_ex self = {.type = F_OWNER_PID, .pid = getpid()};
	struct f_owner_ex group = {.type = F_OWNER_PGRP, .pid = getpgrp()};
	int p[2];

	sigaction(SIGRTMIN + 3, &sa, NULL);
	if (pipe(p) < 0 || mkfifo(at("fifo"), 0600) < 0)
		scenario_skip("pipe: %m");
	fds[0] = p[0];
	fds[1] = p[1];
	if (fcntl(fds[0], F_SETOWN_EX, &self) < 0 || fcntl(fds[0], F_SETSIG, SIGRTMIN + 3) < 0 ||
	    fcntl(fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
		scenario_skip("O_ASYNC: %m");
	fds[2] = open(at("fifo"), O_RDONLY | O_NONBLOCK);
	if (fds[2] < 0 || fcntl(fds[2], F_SETOWN_EX, &group) < 0 ||
	    fcntl(fds[2], F_SETSIG, SIGRTMIN + 4) < 0 ||
	    fcntl(fds[2], F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
		scenario_skip("O_ASYNC on a FIFO: %m");
	watch(fds[0]);
	watch(fds[1]);
	watch(fds[2]);
	check_case = check_async;
}

static void check_cloexec(void)
{
}

static void case_cloexec(void)
{
	make_file("file", "x");
	for (int i = 0; i < 6; i++)
		watch(fds[i] = open(at("file"), O_RDONLY | (i % 2 ? O_CLOEXEC : 0)));
	watch(fds[6] = fcntl(fds[0], F_DUPFD_CLOEXEC, 100));
	watch(fds[7] = fcntl(fds[1], F_DUPFD, 200));
	check_case = check_cloexec;
}

static void check_pipe_size(void)
{
	char buf[8];

	scenario_check(read(fds[0], buf, 5) == 5 && memcmp(buf, "sized", 5) == 0,
		       "the sized pipe's data");
	scenario_check(read(fds[2], buf, 4) == 4 && memcmp(buf, "fifo", 4) == 0,
		       "the sized FIFO's data");
}

static void case_pipe_size(void)
{
	int p[2];

	if (pipe(p) < 0 || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0 || write(p[1], "sized", 5) != 5)
		scenario_skip("F_SETPIPE_SZ: %m");
	fds[0] = p[0];
	fds[1] = p[1];
	if (mkfifo(at("fifo"), 0600) < 0)
		scenario_skip("mkfifo: %m");
	fds[2] = open(at("fifo"), O_RDONLY | O_NONBLOCK);
	fds[3] = open(at("fifo"), O_WRONLY);
	if (fds[3] < 0 || fcntl(fds[3], F_SETPIPE_SZ, 3 * 4096) < 0 ||
	    write(fds[3], "fifo", 4) != 4)
		scenario_skip("F_SETPIPE_SZ on a FIFO: %m");
	for (int i = 0; i < 4; i++)
		watch(fds[i]);
	check_case = check_pipe_size;
}

static void check_seals(void)
{
	scenario_check(write(fds[0], "x", 1) < 0 && errno == EPERM, "F_SEAL_WRITE lost");
	scenario_check(ftruncate(fds[1], 1 << 16) < 0 && errno == EPERM, "F_SEAL_GROW lost");
	scenario_check(fcntl(fds[1], F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM,
		       "F_SEAL_SEAL lost");
	scenario_check(write(fds[2], "x", 1) < 0 && errno == EPERM, "F_SEAL_FUTURE_WRITE lost");
}

static void case_seals(void)
{
	int fd;

	fd = memfd_create("sealed-write", MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, "data", 4) != 4 || fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0)
		scenario_skip("memfd seals: %m");
	watch(fds[0] = fd);
	fd = memfd_create("sealed-all", MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, "data", 4) != 4 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		scenario_skip("memfd seals: %m");
	watch(fds[1] = fd);
	fd = memfd_create("sealed-future", MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, "data", 4) != 4 || fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
		scenario_skip("F_SEAL_FUTURE_WRITE: %m");
	watch(fds[2] = fd);
	check_case = check_seals;
}

static const struct {
	const char *name;
	void (*build)(void);
} cases[] = {
    {"opath", case_opath},   {"directory", case_directory}, {"append", case_append},
    {"direct", case_direct}, {"noatime", case_noatime},	    {"sync", case_sync},
    {"async", case_async},   {"cloexec", case_cloexec},	    {"pipe-size", case_pipe_size},
    {"seals", case_seals},
};

static void remove_base(void)
{
	DIR *d = opendir(base);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	rmdir(base);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc != 2)
		scenario_skip("usage: open-flags CASE");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, argv[1]) == 0)
			break;
	if (i == sizeof(cases) / sizeof(cases[0]))
		scenario_skip("no case '%s'", argv[1]);
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(remove_base);
	cases[i].build();

	scenario_ready();
	scenario_wait();

	check_views();
	check_case();
	scenario_pass();
}
