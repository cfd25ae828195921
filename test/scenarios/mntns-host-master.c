/* A tree in a namespace made like `unshare --mount --propagation slave`: every mount a slave of
 * the host's, among them a shared tmpfs of the host ($MINICR_TEST_MASTER, set up by
 * test/integration/test-mntns-master.sh in the namespace minicr runs in), and a bind of its
 * subdirectory, a slave of the same host group. Its master group is outside the tree's
 * namespaces. After the restore the mountinfo must be the same (masters mapped), and a mount the
 * host makes under $MINICR_TEST_MASTER/sub/probe (before it sends SIGUSR1) must show up through
 * both slaves: they follow the host's group again. Not in run.sh's list: it needs the host
 * side of the script. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-host-master.XXXXXX";

static bool sees(const char *path)
{
	struct mnt_table t;
	bool found = false;

	if (mnt_table_read(0, &t) < 0)
		return false;
	for (size_t i = 0; i < t.n; i++)
		found |= !strcmp(t.lines[i].mountpoint, path);
	mnt_table_free(&t);
	return found;
}

int main(void)
{
	const char *master = getenv("MINICR_TEST_MASTER");
	char sub[256], bind[80], probe_master[300], probe_bind[120];
	struct mnt_table before, after;
	struct mnt_map map = {0};
	const char *diff;

	if (!master)
		scenario_skip("MINICR_TEST_MASTER is not set (run test-mntns-master.sh)");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		scenario_skip("cannot make a slave namespace: %m");
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	snprintf(sub, sizeof(sub), "%s/sub", master);
	snprintf(bind, sizeof(bind), "%s/bind", dir);
	snprintf(probe_master, sizeof(probe_master), "%s/probe", sub);
	snprintf(probe_bind, sizeof(probe_bind), "%s/probe", bind);
	if (mkdir(bind, 0755) < 0 || mount(sub, bind, NULL, MS_BIND, NULL) < 0)
		scenario_skip("cannot bind '%s': %m", sub);
	if (mnt_table_read(0, &before) < 0)
		scenario_skip("cannot read mountinfo: %m");

	scenario_ready();
	scenario_wait();

	scenario_check(mnt_table_read(0, &after) == 0, "cannot read mountinfo: %m");
	scenario_check(sees(probe_master), "the host's mount on '%s' did not reach its slave",
		       probe_master);
	scenario_check(sees(probe_bind), "the host's mount did not reach the bind's '%s'",
		       probe_bind);
	mnt_table_forget(&after, probe_master);
	mnt_table_forget(&after, probe_bind);
	diff = mnt_table_diff(&before, &after, &map);
	scenario_check(!diff, "%s", diff);
	umount2(bind, MNT_DETACH);
	rmdir(bind);
	rmdir(dir);
	scenario_pass();
}
