/*
 * Bounded growable buffer.
 *
 * Every mf_buf has a hard maximum fixed at init (curl's dynbuf idea): going
 * past it is an error with a message, never a silent truncation and never
 * unbounded growth driven by input.  data is always NUL-terminated (the NUL is
 * not counted in len), so a buffer of text can be used as a C string.
 *
 * Ownership: the buffer owns data; mf_buf_deinit() frees it.
 * mf_buf_take() hands data to the caller and leaves the buffer empty.
 */
#ifndef MF_BUF_H
#define MF_BUF_H

#include <stddef.h>

#include "compat.h"
#include "err.h"

struct mf_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* len may never exceed this */
};

void mf_buf_init(struct mf_buf *b, size_t max);
void mf_buf_deinit(struct mf_buf *b);
/* Empty the buffer, keeping its memory. */
void mf_buf_reset(struct mf_buf *b);

int mf_buf_append(struct mf_buf *b, const void *data, size_t len,
		  struct mf_err *err) MF_WARN_UNUSED;
int mf_buf_append_str(struct mf_buf *b, const char *s,
		      struct mf_err *err) MF_WARN_UNUSED;
int mf_buf_printf(struct mf_buf *b, struct mf_err *err, const char *fmt, ...)
	MF_PRINTF(3, 4) MF_WARN_UNUSED;

/* Drop the first n bytes (n <= len), moving the rest to the front. */
void mf_buf_consume(struct mf_buf *b, size_t n);

/* Return data (caller frees) and leave b empty. Never NULL. */
char *mf_buf_take(struct mf_buf *b);

#endif
