#include "arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct chunk {
	struct chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

struct mf_arena {
	struct chunk *head;
	size_t chunk_size;
	size_t used;
};

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

struct mf_arena *
mf_arena_create(size_t chunk_size)
{
	struct mf_arena *a = xcalloc(1, sizeof(*a));

	a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
	a->head = chunk_new(a->chunk_size);
	return a;
}

void
mf_arena_destroy(struct mf_arena **ap)
{
	struct mf_arena *a = *ap;
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
	*ap = NULL;
}

void
mf_arena_reset(struct mf_arena *a)
{
	struct chunk *c = a->head, *next;

	/* keep the oldest chunk (the last in the list), free the others */
	while (c->next != NULL) {
		next = c->next;
		free(c);
		c = next;
	}
	c->used = 0;
	a->head = c;
	a->used = 0;
}

void *
mf_arena_alloc(struct mf_arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	size_t rounded = (size + align - 1) & ~(align - 1);
	struct chunk *c = a->head;
	void *p;

	if (rounded < size)
		rounded = size; /* overflow: let chunk_new abort */
	if (c->size - c->used < rounded) {
		size_t sz = rounded > a->chunk_size ? rounded : a->chunk_size;

		c = chunk_new(sz);
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += rounded;
	a->used += rounded;
	memset(p, 0, size);
	return p;
}

char *
mf_arena_strndup(struct mf_arena *a, const char *s, size_t len)
{
	char *p = mf_arena_alloc(a, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
mf_arena_strdup(struct mf_arena *a, const char *s)
{
	return mf_arena_strndup(a, s, strlen(s));
}

size_t
mf_arena_used(const struct mf_arena *a)
{
	return a->used;
}
