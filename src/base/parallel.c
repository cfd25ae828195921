/* parallel.c: a fork-join over contiguous ranges with plain pthreads. */
#include "base/parallel.h"

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

struct range_job {
	parallel_range_fn fn;
	void *opaque;
	size_t range, from, to;
	pthread_t thread;
	bool is_started;
};

static void *range_job_run(void *opaque)
{
	struct range_job *job = opaque;

	job->fn(job->opaque, job->range, job->from, job->to);
	return NULL;
}

size_t parallel_n_ranges(size_t n_items, size_t min_items)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (n_items < min_items || cpus < 2)
		return 1;
	return cpus < PARALLEL_MAX_THREADS ? (size_t)cpus : PARALLEL_MAX_THREADS;
}

void parallel_range_bounds(size_t n_items, size_t n_ranges, size_t k, size_t *ret_from,
			   size_t *ret_to)
{
	*ret_from = n_items * k / n_ranges;
	*ret_to = n_items * (k + 1) / n_ranges;
}

void parallel_run(size_t n_items, size_t n_ranges, parallel_range_fn fn, void *opaque)
{
	struct range_job jobs[PARALLEL_MAX_THREADS];

	if (n_ranges < 1)
		n_ranges = 1;
	if (n_ranges > PARALLEL_MAX_THREADS)
		n_ranges = PARALLEL_MAX_THREADS;
	for (size_t k = 0; k < n_ranges; k++) {
		jobs[k] = (struct range_job){.fn = fn, .opaque = opaque, .range = k};
		parallel_range_bounds(n_items, n_ranges, k, &jobs[k].from, &jobs[k].to);
	}
	for (size_t k = 1; k < n_ranges; k++)
		jobs[k].is_started =
		    pthread_create(&jobs[k].thread, NULL, range_job_run, &jobs[k]) == 0;
	for (size_t k = 0; k < n_ranges; k++)
		if (!jobs[k].is_started)
			range_job_run(&jobs[k]);
	for (size_t k = 1; k < n_ranges; k++)
		if (jobs[k].is_started)
			pthread_join(jobs[k].thread, NULL);
}
