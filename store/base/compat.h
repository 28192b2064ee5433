/* Compiler attributes shared by every layer. */
#ifndef MF_COMPAT_H
#define MF_COMPAT_H

#if defined(__GNUC__) || defined(__clang__)
#define MF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define MF_NORETURN __attribute__((noreturn))
#define MF_WARN_UNUSED __attribute__((warn_unused_result))
#define MF_UNUSED __attribute__((unused))
#else
#define MF_PRINTF(fmt, args)
#define MF_NORETURN
#define MF_WARN_UNUSED
#define MF_UNUSED
#endif

#define MF_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#include <stdlib.h>

/*
 * qsort and bsearch that accept an empty array given as NULL: glibc
 * declares their base nonnull, so qsort(NULL, 0, ...) is undefined
 * behaviour (UBSan reports it) although nothing would be read.
 */
static inline void
mf_qsort(void *base, size_t n, size_t size,
	 int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static inline void *
mf_bsearch(const void *key, const void *base, size_t n, size_t size,
	   int (*cmp)(const void *, const void *))
{
	if (n == 0)
		return NULL;
	return bsearch(key, base, n, size, cmp);
}

#endif
