/*
 * IMAP text formatting: strings as quoted or literal (RFC 3501 section
 * 4.3), and the protocol trace's renderings of lines and responses
 * (redacted credentials, literals as sizes, sanitized server text).
 */
#include "imap-format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"

/* Best effort appends for trace text: a full buffer just cuts the line. */
void
imap_trace_put(struct mf_buf *b, const void *data, size_t len)
{
	if (mf_buf_append(b, data, len, NULL) < 0)
		return;
}

void
imap_trace_putf(struct mf_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		imap_trace_put(b, tmp,
			       (size_t)n < sizeof(tmp) ? (size_t)n :
							 sizeof(tmp) - 1);
}

bool
imap_needs_literal(const char *s, size_t len)
{
	size_t i;

	/* RFC 3501 section 4.3: QUOTED-CHAR is 7-bit without CR and LF */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80)
			return true;
	}
	return false;
}

int
imap_append_quoted(struct mf_buf *b, const char *s, size_t len,
		   struct mf_err *err)
{
	size_t i;

	if (mf_buf_append(b, "\"", 1, err) < 0)
		return -1;
	for (i = 0; i < len; i++) {
		if ((s[i] == '"' || s[i] == '\\') &&
		    mf_buf_append(b, "\\", 1, err) < 0)
			return -1;
		if (mf_buf_append(b, &s[i], 1, err) < 0)
			return -1;
	}
	return mf_buf_append(b, "\"", 1, err);
}

void
imap_trace_redact(const char *line, size_t len, char *out, size_t size)
{
	size_t i = 0, words = 0, keep;
	char clean[300];

	/* keep "tag COMMAND", and the mechanism of AUTHENTICATE */
	while (i < len && words < 2) {
		while (i < len && line[i] != ' ')
			i++;
		words++;
		if (words < 2 && i < len)
			i++;
	}
	keep = i;
	if (words == 2 && keep >= 12 &&
	    strncasecmp(line + keep - 12, "AUTHENTICATE", 12) == 0 &&
	    keep < len) {
		i = keep + 1;
		while (i < len && line[i] != ' ')
			i++;
		keep = i;
	}
	if (keep > sizeof(clean) - 1)
		keep = sizeof(clean) - 1;
	mf_str_sanitize(clean, sizeof(clean), line, keep);
	snprintf(out, size, "%s <redacted>", clean);
}

static void
fmt_args(struct mf_buf *b, const struct imap_arg *args, size_t n,
	 unsigned depth)
{
	size_t i;

	for (i = 0; i < n && b->len < b->max; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			imap_trace_put(b, " ", 1);
		switch (a->type) {
		case IMAP_ARG_NIL:
			imap_trace_put(b, "NIL", 3);
			break;
		case IMAP_ARG_ATOM:
			imap_trace_put(b, a->str, a->len);
			break;
		case IMAP_ARG_STRING:
			imap_trace_put(b, "\"", 1);
			imap_trace_put(b, a->str, a->len);
			imap_trace_put(b, "\"", 1);
			break;
		case IMAP_ARG_LITERAL:
		case IMAP_ARG_LITERAL_SINK:
			imap_trace_putf(b, "{%llu bytes}",
					(unsigned long long)a->literal_size);
			break;
		case IMAP_ARG_LIST:
			imap_trace_put(b, "(", 1);
			if (depth < 40)
				fmt_args(b, a->list, a->count, depth + 1);
			imap_trace_put(b, ")", 1);
			break;
		}
	}
}

void
imap_resp_format(const struct imap_resp *resp, char *out, size_t size)
{
	struct mf_buf b;

	/* cap the work: a trace line is cut anyway */
	mf_buf_init(&b, size * 4);
	switch (resp->kind) {
	case IMAP_RESP_UNTAGGED:
		imap_trace_put(&b, "* ", 2);
		break;
	case IMAP_RESP_TAGGED:
		imap_trace_putf(&b, "%s ", resp->tag);
		break;
	case IMAP_RESP_CONTINUE:
		imap_trace_put(&b, "+ ", 2);
		break;
	}
	if (resp->status != NULL) {
		imap_trace_put(&b, resp->status, strlen(resp->status));
		if (resp->ncode > 0) {
			imap_trace_put(&b, " [", 2);
			fmt_args(&b, resp->code, resp->ncode, 0);
			imap_trace_put(&b, "]", 1);
		}
		if (resp->text_len > 0) {
			imap_trace_put(&b, " ", 1);
			imap_trace_put(&b, resp->text, resp->text_len);
		}
	} else if (resp->kind == IMAP_RESP_CONTINUE) {
		imap_trace_put(&b, resp->text, resp->text_len);
	} else {
		fmt_args(&b, resp->args, resp->count, 0);
	}
	mf_str_sanitize(out, size, b.data ? b.data : "", b.len);
	mf_buf_deinit(&b);
}
