/* hmap.h: minicr's one hash map: open addressing from a pair of 64-bit keys to a size_t value
 * (an index, an fd, a count). A key may be put several times (a multimap: hmap_next() walks
 * its values). No deletion; the caller owns the struct (zero-initialised means empty).
 * Several threads may find keys as long as nothing is put meanwhile. String keys are hashed
 * with hmap_hash_bytes() and compared by the caller, since two strings may share a hash. */
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

/* The first slot of (a, b), or NULL. */
struct hmap_slot *hmap_find(const struct hmap *m, uint64_t a, uint64_t b);
/* The next slot after s with s's key, or NULL. */
struct hmap_slot *hmap_next(const struct hmap *m, const struct hmap_slot *s);
/* Inserts (a, b) -> value, after any value the key already has. Returns 0 or -ENOMEM. */
int hmap_put(struct hmap *m, uint64_t a, uint64_t b, size_t value);
/* Makes room for n entries in all, so that many puts never rehash. Returns 0 or -ENOMEM. */
int hmap_reserve(struct hmap *m, size_t n);
/* Frees the slots; the map is empty again. */
void hmap_clear(struct hmap *m);
/* A 64-bit hash of len bytes (FNV-1a), for keys that are strings. */
uint64_t hmap_hash_bytes(const void *data, size_t len);
