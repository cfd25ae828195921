/* hmap.h: a small open-addressing hash map from a pair of 64-bit keys to a size_t value. No
 * deletion; the caller owns the struct (zero-initialised means empty). Several threads may
 * find keys as long as nothing is put meanwhile. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	uint64_t a, b;
	size_t value;
	bool used;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap; /* power of two */
	size_t n;
};

/* The slot of (a, b), or NULL. */
struct hmap_slot *hmap_find(const struct hmap *m, uint64_t a, uint64_t b);
/* Inserts (a, b) -> value; the key must not be present. Returns 0 or -ENOMEM. */
int hmap_put(struct hmap *m, uint64_t a, uint64_t b, size_t value);
/* Frees the slots; the map is empty again. */
void hmap_clear(struct hmap *m);
