/* A tree whose root task leaves its mount namespace clean: everything but '/' unmounted, /proc
 * too (as a sandbox does before it runs its payload). The restored task must resume in such a
 * namespace, where nothing it needs to resume (its /proc) exists, and find exactly one mount
 * again, '/' itself, counted with listmount() since there is no /proc to read. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

#ifndef __NR_listmount
#define __NR_listmount 458
#endif

struct mnt_id_req {
	uint32_t size, spare;
	uint64_t mnt_id, param, mnt_ns_id;
};

/* The number of mounts of our own namespace under our root (listmount() needs no /proc). */
static long count_mounts(void)
{
	struct mnt_id_req req = {.size = 32, .mnt_id = (uint64_t)-1};
	uint64_t ids[64];

	return syscall(__NR_listmount, &req, ids, 64, 0);
}

int main(void)
{
	struct mnt_table t;
	long n;

	scenario_private_mounts();
	if (mnt_table_read(0, &t) < 0)
		scenario_skip("cannot read mountinfo: %m");
	if (count_mounts() < 0)
		scenario_skip("no listmount(): %m");
	/* deepest first: the table lists parents before children */
	for (size_t i = t.n; i-- > 0;)
		if (strcmp(t.lines[i].mountpoint, "/") != 0)
			(void)umount2(t.lines[i].mountpoint, MNT_DETACH);
	n = count_mounts();
	if (n != 1 || access("/proc/self", F_OK) == 0)
		scenario_skip("cannot leave only '/' (%ld mounts)", n);

	scenario_ready();
	scenario_wait();

	n = count_mounts();
	scenario_check(n == 1, "%ld mounts after the restore, not '/' alone", n);
	scenario_check(access("/proc/self", F_OK) < 0, "a /proc came back");
	scenario_pass();
}
