/* A stack of three mounts on one directory, with an fd open under each layer: L1 a bind of a
 * host directory, L2 a tmpfs with a tmpfs of its own mounted on a subdirectory, L3 a tmpfs on
 * top; and a bind of a subdirectory of L1 made before L2 covered it. After the restore the
 * mountinfo must be the same (the layers in the same order), every fd on the same layer with
 * its contents — the files of the covered tmpfs L2 and of its child included, which the dump
 * can only read from a copy of the namespace where the layers above are taken away — and the
 * bind still showing L1's directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-overmount.XXXXXX";
static char host[64], x[64], y[64], path[128];

static const char *at(const char *base, const char *rel)
{
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return path;
}

static void put(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		scenario_skip("cannot write '%s': %m", p);
	close(fd);
}

static void open_at_fd(const char *p, int flags, int want)
{
	int fd = open(p, flags);

	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd) < 0)))
		scenario_skip("cannot open '%s': %m", p);
}

struct ref {
	int fd;
	const char *text; /* NULL: a directory holding the file named by check */
	const char *check;
	char *key;
};

static struct ref refs[] = {
    {10, "host\n", NULL, NULL},	 {11, "two\n", NULL, NULL}, {12, "child\n", NULL, NULL},
    {13, "three\n", NULL, NULL}, {14, NULL, "f3", NULL},    {15, NULL, "fc", NULL},
};
#define N_REFS (sizeof(refs) / sizeof(refs[0]))

static void cleanup(void)
{
	for (int i = 0; i < 4; i++)
		umount2(x, MNT_DETACH);
	umount2(y, MNT_DETACH);
	unlink(at(host, "hostfile"));
	rmdir(at(host, "shared"));
	rmdir(host);
	rmdir(x);
	rmdir(y);
	rmdir(dir);
}

int main(void)
{
	struct mnt_table before, after;
	struct mnt_map map = {0};
	const char *diff;

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	snprintf(host, sizeof(host), "%s/host", dir);
	snprintf(x, sizeof(x), "%s/x", dir);
	snprintf(y, sizeof(y), "%s/y", dir);
	if (mkdir(host, 0755) < 0 || mkdir(at(host, "shared"), 0755) < 0 || mkdir(x, 0755) < 0 ||
	    mkdir(y, 0755) < 0)
		scenario_skip("mkdir: %m");
	put(at(host, "hostfile"), "host\n");
	/* L1, and a bind of its subdirectory */
	if (mount(host, x, NULL, MS_BIND, NULL) < 0 ||
	    mount(at(x, "shared"), y, NULL, MS_BIND, NULL) < 0)
		scenario_skip("bind: %m");
	open_at_fd(at(x, "hostfile"), O_RDONLY, 10);
	/* L2 with a child tmpfs */
	if (mount("scn-ovl-2", x, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("tmpfs: %m");
	put(at(x, "f2"), "two\n");
	open_at_fd(at(x, "f2"), O_RDONLY, 11);
	if (mkdir(at(x, "sub"), 0755) < 0 ||
	    mount("scn-ovl-child", at(x, "sub"), "tmpfs", 0, "size=1m") < 0)
		scenario_skip("child tmpfs: %m");
	put(at(x, "sub/fc"), "child\n");
	open_at_fd(at(x, "sub/fc"), O_RDONLY, 12);
	open_at_fd(at(x, "sub"), O_RDONLY | O_DIRECTORY, 15);
	/* L3 */
	if (mount("scn-ovl-3", x, "tmpfs", 0, "size=1m") < 0)
		scenario_skip("tmpfs: %m");
	put(at(x, "f3"), "three\n");
	open_at_fd(at(x, "f3"), O_RDONLY, 13);
	open_at_fd(x, O_RDONLY | O_DIRECTORY, 14);

	if (mnt_table_read(0, &before) < 0)
		scenario_skip("cannot read mountinfo: %m");
	for (size_t i = 0; i < N_REFS; i++) {
		const char *key = mnt_key_of(&before, mnt_id_of_fd(0, refs[i].fd));

		if (!key)
			scenario_skip("fd %d is on no mount of the namespace", refs[i].fd);
		refs[i].key = strdup(key);
	}

	scenario_ready();
	scenario_wait();

	scenario_check(mnt_table_read(0, &after) == 0, "cannot read mountinfo: %m");
	diff = mnt_table_diff(&before, &after, &map);
	scenario_check(!diff, "%s", diff);
	for (size_t i = 0; i < N_REFS; i++) {
		const struct ref *r = &refs[i];
		const char *key = mnt_key_of(&after, mnt_id_of_fd(0, r->fd));
		char buf[32] = "";

		scenario_check(key && !strcmp(key, r->key), "fd %d is on '%s', was on '%s'", r->fd,
			       key ? key : "no mount of the namespace", r->key);
		if (r->text)
			scenario_check(pread(r->fd, buf, sizeof(buf) - 1, 0) > 0 &&
					   !strcmp(buf, r->text),
				       "fd %d reads '%s', not '%s'", r->fd, buf, r->text);
		else
			scenario_check(faccessat(r->fd, r->check, F_OK, 0) == 0,
				       "directory fd %d does not hold '%s'", r->fd, r->check);
	}
	scenario_check(access(at(x, "f3"), F_OK) == 0 && access(at(x, "f2"), F_OK) < 0,
		       "'%s' does not show the top layer", x);
	scenario_check(access(at(y, "."), F_OK) == 0 && access(at(y, "hostfile"), F_OK) < 0 &&
			   access(at(host, "shared"), F_OK) == 0,
		       "the bind of L1's subdirectory is not L1's directory");
	scenario_pass();
}
