/* arena.h: a bump allocator for the many small records and strings a dump or a mount table
 * builds and frees all at once. Not thread-safe; zero-initialised means empty. */
#pragma once

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
};

/* size bytes, zeroed and aligned for any object, living until arena_free(). NULL on ENOMEM. */
void *arena_alloc(struct arena *a, size_t size);
/* A copy of s; NULL on ENOMEM. */
char *arena_strdup(struct arena *a, const char *s);
/* Frees everything the arena handed out; it is empty again. */
void arena_free(struct arena *a);
