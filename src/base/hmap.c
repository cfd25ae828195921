/* hmap.c: linear probing over a power-of-two table kept at most half full. Equal keys sit in
 * one probe run, in insertion order, so hmap_next() finds them by probing on. */
#include "base/hmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t hmap_hash(uint64_t a, uint64_t b)
{
	uint64_t h =
	    a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;

	h ^= h >> 31;
	return (size_t)h;
}

static struct hmap_slot *probe_from(const struct hmap *m, size_t i, uint64_t a, uint64_t b)
{
	for (;; i = (i + 1) & (m->cap - 1)) {
		struct hmap_slot *s = &m->slots[i];

		if (!s->used)
			return NULL;
		if (s->a == a && s->b == b)
			return s;
	}
}

struct hmap_slot *hmap_find(const struct hmap *m, uint64_t a, uint64_t b)
{
	if (!m->cap)
		return NULL;
	return probe_from(m, hmap_hash(a, b) & (m->cap - 1), a, b);
}

struct hmap_slot *hmap_next(const struct hmap *m, const struct hmap_slot *s)
{
	return probe_from(m, ((size_t)(s - m->slots) + 1) & (m->cap - 1), s->a, s->b);
}

static int hmap_resize(struct hmap *m, size_t cap)
{
	struct hmap_slot *slots = calloc(cap, sizeof(*slots));
	size_t start = 0;

	if (!slots)
		return -ENOMEM;
	/* Re-inserting each probe run from its beginning (the slot after an empty one, so a run
	 * that wraps around the end is not split) keeps equal keys in their insertion order. */
	while (start < m->cap && m->slots[start].used)
		start++;
	for (size_t k = 0; k < m->cap; k++) {
		const struct hmap_slot *s = &m->slots[(start + 1 + k) & (m->cap - 1)];
		size_t j;

		if (!s->used)
			continue;
		for (j = hmap_hash(s->a, s->b) & (cap - 1); slots[j].used; j = (j + 1) & (cap - 1))
			;
		slots[j] = *s;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int hmap_reserve(struct hmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 64;

	while (cap < n * 2)
		cap *= 2;
	return cap == m->cap ? 0 : hmap_resize(m, cap);
}

int hmap_put(struct hmap *m, uint64_t a, uint64_t b, size_t value)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		int r = hmap_resize(m, m->cap ? m->cap * 2 : 64);

		if (r < 0)
			return r;
	}
	for (i = hmap_hash(a, b) & (m->cap - 1); m->slots[i].used; i = (i + 1) & (m->cap - 1))
		;
	m->slots[i] = (struct hmap_slot){.a = a, .b = b, .value = value, .used = true};
	m->n++;
	return 0;
}

void hmap_clear(struct hmap *m)
{
	free(m->slots);
	*m = (struct hmap){0};
}

uint64_t hmap_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}
