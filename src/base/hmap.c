/* hmap.c: linear probing over a power-of-two table kept at most half full. */
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

struct hmap_slot *hmap_find(const struct hmap *m, uint64_t a, uint64_t b)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hmap_hash(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct hmap_slot *s = &m->slots[i];

		if (!s->used)
			return NULL;
		if (s->a == a && s->b == b)
			return s;
	}
}

static int hmap_grow(struct hmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct hmap_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct hmap_slot *s = &m->slots[i];
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

int hmap_put(struct hmap *m, uint64_t a, uint64_t b, size_t value)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		int r = hmap_grow(m);

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
