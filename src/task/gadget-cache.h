/* gadget-cache.h: what the gadget scan (gadget-scan.h) found in one executable mapping, kept for
 * the next task that has the same mapping at the same address. The tasks of a tree, forked from
 * one another, share their executables and C library at the same addresses, and reading a C
 * library's text through /proc/PID/mem and searching it was the largest part of injecting into
 * a task. Only mappings whose bytes come from a file or from the kernel (the vDSO) are kept:
 * those are the same in every task that maps them, unless the task wrote to its own copy, which
 * is why the caller reads a hit back in the task before it trusts it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "task/gadget-scan.h"

struct mm_vma;

/* Sets found to what a scan of v alone found (0 for a kind it did not find) and returns true,
 * or returns false if no scan of that mapping is known. */
bool gadget_cache_find(const struct mm_vma *v, uint64_t found[GADGET_KINDS]);

/* Keeps found, the result of a complete scan of v alone, if v is a mapping worth keeping. Out
 * of memory only means it is not kept. */
void gadget_cache_store(const struct mm_vma *v, const uint64_t found[GADGET_KINDS]);
