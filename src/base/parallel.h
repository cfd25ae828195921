/* parallel.h: spread independent work over a few threads. The work function gets contiguous
 * ranges of item indices and must not write anything another range reads or writes; it must
 * not log either (the caller reports failures afterwards, in item order, from one thread). */
#pragma once

#include <stddef.h>

typedef void (*parallel_range_fn)(void *opaque, size_t range, size_t from, size_t to);

/* How many ranges n_items are worth splitting into: 1 below min_items (a thread then costs
 * more than it saves), else one per online CPU, at most PARALLEL_MAX_THREADS. */
#define PARALLEL_MAX_THREADS 4
size_t parallel_n_ranges(size_t n_items, size_t min_items);

/* The items [*ret_from, *ret_to) of range k of n_ranges. */
void parallel_range_bounds(size_t n_items, size_t n_ranges, size_t k, size_t *ret_from,
			   size_t *ret_to);

/* Splits [0, n_items) into n_ranges contiguous ranges and calls fn once per range: range 0 on
 * this thread, the others on new threads (or on this one when a thread cannot start). Returns
 * once every range is done. */
void parallel_run(size_t n_items, size_t n_ranges, parallel_range_fn fn, void *opaque);
