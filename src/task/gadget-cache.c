/* gadget-cache.c: scan results per executable mapping, across the tasks of one run (see
 * gadget-cache.h). */
#include "task/gadget-cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "task/mm-parse.h"

/* A mapping as every task that maps it sees it. */
struct cached_scan {
	uint64_t start, end, pgoff, ino;
	uint32_t dev_major, dev_minor, prot;
	uint64_t found[GADGET_KINDS];
};

static struct hmap index_by_start; /* (start, ino) -> entries[] */
static struct cached_scan *entries;
static size_t n_entries, cap_entries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_worth_keeping(const struct mm_vma *v)
{
	if (!strcmp(v->path, "[vdso]"))
		return true;
	return v->ino && v->path[0] == '/' && !v->is_deleted && !v->is_shared;
}

static bool same_mapping(const struct cached_scan *c, const struct mm_vma *v)
{
	return c->start == v->start && c->end == v->end && c->pgoff == v->pgoff &&
	       c->ino == v->ino && c->dev_major == v->dev_major && c->dev_minor == v->dev_minor &&
	       c->prot == v->prot;
}

static struct cached_scan *lookup(const struct mm_vma *v)
{
	for (struct hmap_slot *s = hmap_find(&index_by_start, v->start, v->ino); s;
	     s = hmap_next(&index_by_start, s))
		if (same_mapping(&entries[s->value], v))
			return &entries[s->value];
	return NULL;
}

bool gadget_cache_find(const struct mm_vma *v, uint64_t found[GADGET_KINDS])
{
	const struct cached_scan *c;

	if (!is_worth_keeping(v))
		return false;
	pthread_mutex_lock(&lock);
	c = lookup(v);
	if (c)
		memcpy(found, c->found, sizeof(c->found));
	pthread_mutex_unlock(&lock);
	return c != NULL;
}

void gadget_cache_store(const struct mm_vma *v, const uint64_t found[GADGET_KINDS])
{
	struct cached_scan *c;

	if (!is_worth_keeping(v))
		return;
	pthread_mutex_lock(&lock);
	c = lookup(v);
	if (!c && n_entries == cap_entries) {
		size_t cap = cap_entries ? 2 * cap_entries : 16;
		struct cached_scan *bigger = realloc(entries, cap * sizeof(*bigger));

		if (bigger) {
			entries = bigger;
			cap_entries = cap;
		}
	}
	if (!c && n_entries < cap_entries &&
	    hmap_put(&index_by_start, v->start, v->ino, n_entries) == 0)
		c = &entries[n_entries++];
	if (c) {
		*c = (struct cached_scan){
		    .start = v->start,
		    .end = v->end,
		    .pgoff = v->pgoff,
		    .ino = v->ino,
		    .dev_major = v->dev_major,
		    .dev_minor = v->dev_minor,
		    .prot = v->prot,
		};
		memcpy(c->found, found, sizeof(c->found));
	}
	pthread_mutex_unlock(&lock);
}
