/*
 * Arena allocator for bursts of small allocations that die together: one per
 * IMAP response, one per mailbox pass of the planner, one per scan result.
 * Reset or destroy; never free piecemeal.
 */
#ifndef MF_ARENA_H
#define MF_ARENA_H

#include <stddef.h>

struct mf_arena;

struct mf_arena *mf_arena_create(size_t chunk_size);
void mf_arena_destroy(struct mf_arena **a);
/* Free everything allocated so far, keep the first chunk. */
void mf_arena_reset(struct mf_arena *a);

/* Zeroed, aligned for any type. Never NULL (aborts on OOM). */
void *mf_arena_alloc(struct mf_arena *a, size_t size);
char *mf_arena_strndup(struct mf_arena *a, const char *s, size_t len);
char *mf_arena_strdup(struct mf_arena *a, const char *s);
/* Bytes handed out since the last reset (for limits). */
size_t mf_arena_used(const struct mf_arena *a);

#endif
