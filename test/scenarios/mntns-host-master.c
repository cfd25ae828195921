/* A tree in a namespace made like `unshare --mount --propagation slave`: every mount a slave of
 * the host's, among them a shared tmpfs of the host ($MINICR_TEST_MASTER, set up by
 * test/integration/test-mntns-master.sh in the namespace minicr runs in), and a bind of its
 * subdirectory, a slave of the same host group; but its copy of another shared tmpfs of the
 * host ($MINICR_TEST_PEER) stays what unshare made it, a peer of the host's. These groups are
 * outside the tree's namespaces. After the restore the mountinfo must be the same (groups
 * mapped), a mount the host makes under .../sub/probe of both (before it sends SIGUSR1) must
 * show up through the slaves and the peer, and a mount the tree makes under the peer's
 * sub/back must reach the host (the script checks). Not in run.sh's list: it needs the host
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
static char bind[80];

static void cleanup(void)
{
	umount2(bind, MNT_DETACH);
	rmdir(bind);
	rmdir(dir);
}

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
	const char *master = getenv("MINICR_TEST_MASTER"), *peer = getenv("MINICR_TEST_PEER");
	char sub[256], probe_master[300], probe_bind[120], probe_peer[300], back[300];
	struct mnt_table host;
	struct mnt_table before, after;
	struct mnt_map map = {0};
	const char *diff;

	if (!master || !peer)
		scenario_skip("MINICR_TEST_MASTER or _PEER is not set (run test-mntns-master.sh)");
	if (unshare(CLONE_NEWNS) < 0 || mnt_table_read(0, &host) < 0)
		scenario_skip("cannot make a namespace: %m");
	/* every mount a slave (as --propagation slave does), but the peer's copy */
	for (size_t i = 0; i < host.n; i++)
		if (strcmp(host.lines[i].mountpoint, peer) != 0 &&
		    mount(NULL, host.lines[i].mountpoint, NULL, MS_SLAVE, NULL) < 0)
			scenario_skip("cannot make '%s' a slave: %m", host.lines[i].mountpoint);
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	snprintf(sub, sizeof(sub), "%s/sub", master);
	snprintf(bind, sizeof(bind), "%s/bind", dir);
	snprintf(probe_master, sizeof(probe_master), "%s/probe", sub);
	snprintf(probe_bind, sizeof(probe_bind), "%s/probe", bind);
	snprintf(probe_peer, sizeof(probe_peer), "%s/sub/probe", peer);
	snprintf(back, sizeof(back), "%s/sub/back", peer);
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
	scenario_check(sees(probe_peer), "the host's mount on '%s' did not reach its peer",
		       probe_peer);
	mnt_table_forget(&after, probe_master);
	mnt_table_forget(&after, probe_bind);
	mnt_table_forget(&after, probe_peer);
	diff = mnt_table_diff(&before, &after, &map);
	scenario_check(!diff, "%s", diff);
	/* the other way: the host sees this one through the peer group */
	scenario_check(mount("scn-back", back, "tmpfs", 0, "size=64k") == 0,
		       "cannot mount on '%s': %m", back);
	scenario_pass();
}
