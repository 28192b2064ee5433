/*
 * Allocation that cannot fail.
 *
 * Out of memory aborts with a message.  This is safe only because every size
 * that comes from input (a literal length, a line, a file) is bounded before
 * it reaches an allocator: input can never make us allocate without limit.
 */
#ifndef MF_XALLOC_H
#define MF_XALLOC_H

#include <stddef.h>

#include "compat.h"

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* realloc for arrays, with the multiplication checked */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) MF_PRINTF(1, 2);

#endif
