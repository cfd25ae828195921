/* Mountpoints whose names hold any byte but '/' and NUL: a space, a tab, a newline, a backslash,
 * a byte that is not UTF-8, an escape-looking "\040"; a tmpfs on each, a bind of one onto
 * another, a second tmpfs on top of one (the lower one holding a file with such a name, open),
 * and the bind of a removed directory with such a name ("\011//deleted" in mountinfo). A child
 * task in a namespace of its own holds the fd too. After the restore the mountinfo of both
 * namespaces (which escapes space, tab, newline and backslash) must be the same, and the fd on
 * the same mount in both tasks. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-odd.XXXXXX";
static const char *const names[] = {"with space",  "tab\there",		"new\nline",
				    "back\\slash", "not-utf8-\xff\xfe", "looks\\040escaped"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))
static char paths[N_NAMES][128], bind_dst[128], removed[128], removed_dst[128];
static pid_t child;

static void cleanup(void)
{
	if (child > 0)
		kill(child, SIGKILL);
	while (wait(NULL) > 0)
		;
	umount2(bind_dst, MNT_DETACH);
	rmdir(bind_dst);
	umount2(removed_dst, MNT_DETACH);
	rmdir(removed_dst);
	umount2(paths[2], MNT_DETACH);
	for (size_t i = 0; i < N_NAMES; i++) {
		umount2(paths[i], MNT_DETACH);
		rmdir(paths[i]);
	}
	rmdir(dir);
}

int main(void)
{
	struct mnt_table before, after, child_before, child_after;
	struct mnt_map map = {0};
	char file[256], buf[16] = "";
	const char *diff, *key;
	char *fd_key;
	int fd, ready[2];
	char c;

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	for (size_t i = 0; i < N_NAMES; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, names[i]);
		if (mkdir(paths[i], 0755) < 0 ||
		    mount("scn odd\tsource", paths[i], "tmpfs", 0, "size=64k") < 0)
			scenario_skip("cannot mount on '%s': %m", names[i]);
	}
	snprintf(bind_dst, sizeof(bind_dst), "%s/bind of \\ \t\n", dir);
	if (mkdir(bind_dst, 0755) < 0 || mount(paths[1], bind_dst, NULL, MS_BIND, NULL) < 0)
		scenario_skip("cannot bind: %m");
	snprintf(file, sizeof(file), "%s/file\twith \\ odd\nname", paths[2]);
	fd = open(file, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || write(fd, "odd\n", 4) != 4)
		scenario_skip("cannot write '%s': %m", file);
	/* the lower layer's file stays open under a second tmpfs on the same odd mountpoint */
	if (mount("scn odd\ttop", paths[2], "tmpfs", 0, "size=64k") < 0)
		scenario_skip("cannot mount on top: %m");
	snprintf(removed, sizeof(removed), "%s/gone\tdir \\", dir);
	snprintf(removed_dst, sizeof(removed_dst), "%s/removed\nbind", dir);
	if (mkdir(removed, 0755) < 0 || mkdir(removed_dst, 0755) < 0 ||
	    mount(removed, removed_dst, NULL, MS_BIND, NULL) < 0 || rmdir(removed) < 0)
		scenario_skip("cannot bind a removed directory: %m");
	if (pipe(ready) < 0)
		scenario_skip("pipe: %m");
	child = fork();
	if (child == 0) {
		close(ready[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (child < 0 || read(ready[0], &c, 1) != 1)
		scenario_skip("the child could not make its namespace");
	close(ready[0]);
	if (mnt_table_read(0, &before) < 0 || mnt_table_read(child, &child_before) < 0)
		scenario_skip("cannot read mountinfo: %m");
	key = mnt_key_of(&before, mnt_id_of_fd(0, fd));
	fd_key = key ? strdup(key) : NULL;

	scenario_ready();
	scenario_wait();

	scenario_check(mnt_table_read(0, &after) == 0, "cannot read mountinfo: %m");
	diff = mnt_table_diff(&before, &after, &map);
	scenario_check(!diff, "%s", diff);
	scenario_check(mnt_table_read(child, &child_after) == 0, "cannot read mountinfo: %m");
	diff = mnt_table_diff(&child_before, &child_after, &map);
	scenario_check(!diff, "the child's namespace: %s", diff);
	key = mnt_key_of(&after, mnt_id_of_fd(0, fd));
	scenario_check(fd_key && key && !strcmp(key, fd_key), "the fd is on another mount");
	key = mnt_key_of(&after, mnt_id_of_fd(child, fd));
	scenario_check(key && !strcmp(key, fd_key), "the child's fd is on another mount");
	scenario_check(pread(fd, buf, sizeof(buf) - 1, 0) == 4 && !strcmp(buf, "odd\n"),
		       "the fd reads '%s'", buf);
	scenario_check(access(file, F_OK) < 0 && access(removed, F_OK) < 0,
		       "the lower layer is not covered, or the removed directory is back");
	scenario_pass();
}
