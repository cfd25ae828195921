/* Every resource limit set to its own value below what the process inherited (soft below hard,
 * RLIMIT_NOFILE at 8192/20000 as in the issue that found them dropped), then dumped and
 * restored: getrlimit() must give back each value exactly, soft and hard. minicr raises its own
 * fd limit and the restored task starts with minicr's limits, so each one must be set again. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "scenario.h"

#define N_LIMITS 16
#define KIB	 1024ull
#define MIB	 (1024ull * KIB)
#define GIB	 (1024ull * MIB)

/* Wanted {soft, hard}; each is capped by what the process has, so only lowering happens.
 * Large enough for the scenario to run on: it writes a small result file, maps little. */
static const uint64_t wanted[N_LIMITS][2] = {
    [RLIMIT_CPU] = {100000, 200000},
    [RLIMIT_FSIZE] = {1 * GIB, 2 * GIB},
    [RLIMIT_DATA] = {3 * GIB, 5 * GIB},
    [RLIMIT_STACK] = {6 * MIB, 60 * MIB},
    [RLIMIT_CORE] = {4096, 1 * GIB},
    [RLIMIT_RSS] = {7 * GIB, 9 * GIB},
    [RLIMIT_NPROC] = {3000, 4000},
    [RLIMIT_NOFILE] = {8192, 20000},
    [RLIMIT_MEMLOCK] = {1 * MIB, 2 * MIB},
    [RLIMIT_AS] = {40 * GIB, 50 * GIB},
    [RLIMIT_LOCKS] = {1000, 2000},
    [RLIMIT_SIGPENDING] = {500, 600},
    [RLIMIT_MSGQUEUE] = {100 * KIB, 200 * KIB},
    [RLIMIT_NICE] = {0, 0},
    [RLIMIT_RTPRIO] = {0, 0},
    [RLIMIT_RTTIME] = {5000000, 6000000},
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int main(void)
{
	struct rlimit set[N_LIMITS];

	for (int i = 0; i < N_LIMITS; i++) {
		struct rlimit cur;

		if (getrlimit(i, &cur) < 0)
			scenario_skip("getrlimit(%d): %m", i);
		set[i].rlim_max = min_u64(wanted[i][1], cur.rlim_max);
		set[i].rlim_cur = min_u64(wanted[i][0], set[i].rlim_max);
		if (i == RLIMIT_NOFILE && set[i].rlim_max == set[i].rlim_cur && set[i].rlim_max > 2)
			set[i].rlim_cur = set[i].rlim_max / 2; /* keep soft != hard */
		if (setrlimit(i, &set[i]) < 0)
			scenario_skip("setrlimit(%d, %llu, %llu): %m", i,
				      (unsigned long long)set[i].rlim_cur,
				      (unsigned long long)set[i].rlim_max);
	}
	scenario_ready();
	scenario_wait();
	for (int i = 0; i < N_LIMITS; i++) {
		struct rlimit now;

		scenario_check(getrlimit(i, &now) == 0, "getrlimit(%d): %m", i);
		scenario_check(now.rlim_cur == set[i].rlim_cur && now.rlim_max == set[i].rlim_max,
			       "resource %d: %llu/%llu, expected %llu/%llu", i,
			       (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max,
			       (unsigned long long)set[i].rlim_cur,
			       (unsigned long long)set[i].rlim_max);
	}
	scenario_pass();
}
