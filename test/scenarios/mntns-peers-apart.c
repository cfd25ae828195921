/* Two mounts in one peer group whose roots lie apart: binds of two subdirectories of a shared
 * tmpfs whose own mount was then removed. The kernel joins a mount into a peer group only from
 * a member whose root holds its root (MOVE_MOUNT_SET_GROUP), so no restore can rebuild this
 * group: the dump must refuse the tree with restore's reason, in one line, and leave it running.
 * The scenario then checks that its two mounts are still peers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-peers.XXXXXX";
static char top[64], sub_a[80], sub_b[80], mp_a[64], mp_b[64];

/* The peer group of the mount at mountpoint mp, or 0. */
static long group_at(const char *mp)
{
	struct mnt_table t;
	long group = 0;

	if (mnt_table_read(0, &t) < 0)
		return 0;
	for (size_t i = 0; i < t.n; i++)
		if (!strcmp(t.lines[i].mountpoint, mp))
			group = t.lines[i].shared;
	mnt_table_free(&t);
	return group;
}

static void cleanup(void)
{
	umount2(mp_a, MNT_DETACH);
	umount2(mp_b, MNT_DETACH);
	umount2(top, MNT_DETACH);
	rmdir(mp_a);
	rmdir(mp_b);
	rmdir(top);
	rmdir(dir);
}

int main(void)
{
	long group;

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	snprintf(top, sizeof(top), "%s/t", dir);
	snprintf(sub_a, sizeof(sub_a), "%s/a", top);
	snprintf(sub_b, sizeof(sub_b), "%s/b", top);
	snprintf(mp_a, sizeof(mp_a), "%s/y", dir);
	snprintf(mp_b, sizeof(mp_b), "%s/z", dir);
	if (mkdir(top, 0755) < 0 || mkdir(mp_a, 0755) < 0 || mkdir(mp_b, 0755) < 0 ||
	    mount("scn-peers", top, "tmpfs", 0, "size=1m") < 0 || mkdir(sub_a, 0755) < 0 ||
	    mkdir(sub_b, 0755) < 0 || mount(NULL, top, NULL, MS_SHARED, NULL) < 0 ||
	    mount(sub_a, mp_a, NULL, MS_BIND, NULL) < 0 ||
	    mount(sub_b, mp_b, NULL, MS_BIND, NULL) < 0 || umount2(top, 0) < 0)
		scenario_skip("cannot build the peer group: %m");
	group = group_at(mp_a);
	if (!group || group_at(mp_b) != group)
		scenario_skip("the two mounts are not peers");

	scenario_ready();
	scenario_wait();

	scenario_check(group_at(mp_a) == group && group_at(mp_b) == group,
		       "the two mounts are no longer peers in group %ld", group);
	scenario_pass();
}
