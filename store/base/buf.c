#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void
mf_buf_init(struct mf_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
mf_buf_deinit(struct mf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
mf_buf_reset(struct mf_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int
reserve(struct mf_buf *b, size_t extra, struct mf_err *err)
{
	size_t need, cap;

	if (extra > b->max || b->len > b->max - extra)
		return mf_err_set(err, MF_E_INTERNAL,
				  "buffer limit of %zu bytes exceeded", b->max);
	need = b->len + extra + 1; /* + NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap != 0 ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int
mf_buf_append(struct mf_buf *b, const void *data, size_t len,
	      struct mf_err *err)
{
	if (reserve(b, len, err) < 0)
		return -1;
	if (len != 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
mf_buf_append_str(struct mf_buf *b, const char *s, struct mf_err *err)
{
	return mf_buf_append(b, s, strlen(s), err);
}

int
mf_buf_printf(struct mf_buf *b, struct mf_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	char probe[1];

	va_start(ap, fmt);
	n = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	if (n < 0)
		return mf_err_set(err, MF_E_INTERNAL, "bad format");
	if (reserve(b, (size_t)n, err) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
mf_buf_consume(struct mf_buf *b, size_t n)
{
	if (n >= b->len) {
		mf_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *
mf_buf_take(struct mf_buf *b)
{
	char *p = b->data != NULL ? b->data : xstrdup("");

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
