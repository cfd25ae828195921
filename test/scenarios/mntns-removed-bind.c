/* Bind mounts whose source directory was removed after the bind (mountinfo shows
 * "<root>//deleted"): one of a directory of the host's filesystem (mode 0711, owner 1234:5678),
 * one of a directory of a tmpfs only the tree has. The kernel refuses to attach a mount whose
 * root is unlinked, so restore must make the directory again, attach, and remove it again.
 * After the restore: the same mountinfo ("//deleted" included), the same mode and owner of the
 * mounts' roots, and nothing left where the sources were. (An fd on such a root is a removed
 * directory to the fd kinds, which refuse it.) */
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

static char dir[] = "/tmp/minicr-scn-removed.XXXXXX";
static char src[64], m1[64], t[64], gone[80], m2[64];

static int entries(const char *path)
{
	char cmd[128];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", path);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	return n;
}

static void cleanup(void)
{
	umount2(m1, MNT_DETACH);
	umount2(m2, MNT_DETACH);
	umount2(t, MNT_DETACH);
	rmdir(m1);
	rmdir(m2);
	rmdir(t);
	rmdir(dir);
}

int main(void)
{
	struct mnt_table before, after;
	struct mnt_map map = {0};
	struct stat st;
	const char *diff;
	int n_dir, n_t;

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(m1, sizeof(m1), "%s/m1", dir);
	snprintf(t, sizeof(t), "%s/t", dir);
	snprintf(gone, sizeof(gone), "%s/gone", t);
	snprintf(m2, sizeof(m2), "%s/m2", dir);
	if (mkdir(src, 0700) < 0 || chmod(src, 0711) < 0 || chown(src, 1234, 5678) < 0 ||
	    mkdir(m1, 0755) < 0 || mkdir(t, 0755) < 0 || mkdir(m2, 0755) < 0 ||
	    mount(src, m1, NULL, MS_BIND, NULL) < 0 || rmdir(src) < 0)
		scenario_skip("cannot make a bind of a removed directory: %m");
	if (mount("scn-removed", t, "tmpfs", 0, "size=1m") < 0 || mkdir(gone, 0750) < 0 ||
	    mount(gone, m2, NULL, MS_BIND, NULL) < 0 || rmdir(gone) < 0)
		scenario_skip("cannot make a bind of a removed tmpfs directory: %m");
	if (mnt_table_read(0, &before) < 0)
		scenario_skip("cannot read mountinfo: %m");
	n_dir = entries(dir);
	n_t = entries(t);

	scenario_ready();
	scenario_wait();

	scenario_check(mnt_table_read(0, &after) == 0, "cannot read mountinfo: %m");
	diff = mnt_table_diff(&before, &after, &map);
	scenario_check(!diff, "%s", diff);
	scenario_check(stat(m1, &st) == 0 && (st.st_mode & 07777) == 0711 && st.st_uid == 1234 &&
			   st.st_gid == 5678,
		       "the root of '%s' has mode 0%o owner %u:%u, not 0711 1234:5678", m1,
		       st.st_mode & 07777, st.st_uid, st.st_gid);
	scenario_check(stat(m2, &st) == 0 && (st.st_mode & 07777) == 0750,
		       "the root of '%s' has mode 0%o, not 0750", m2, st.st_mode & 07777);
	scenario_check(access(src, F_OK) < 0 && errno == ENOENT && access(gone, F_OK) < 0,
		       "a removed source is back");
	scenario_check(entries(dir) == n_dir && entries(t) == n_t,
		       "restore left something beside the removed sources");
	scenario_pass();
}
