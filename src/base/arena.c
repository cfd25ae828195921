/* arena.c: blocks of 64 KiB (or one block for a larger request), newest first. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE 65536

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	alignas(max_align_t) char data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_block *b = a->head;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
	void *p;

	if (!b || at > b->size || b->size - at < size) {
		size_t block = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;

		b = malloc(sizeof(*b) + block);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->size = block;
		a->head = b;
		at = 0;
	}
	p = b->data + at;
	b->used = at + size;
	memset(p, 0, size);
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = arena_alloc(a, len);

	if (p)
		memcpy(p, s, len);
	return p;
}

void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}
