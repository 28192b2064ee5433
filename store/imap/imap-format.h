/*
 * IMAP text formatting: quoting strings for commands (RFC 3501 section
 * 4.3) and rendering lines and responses for the protocol trace.  The
 * exported ones but the trace_put pair are pure and unit tested.
 */
#ifndef MF_IMAP_FORMAT_H
#define MF_IMAP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/compat.h"
#include "base/err.h"
#include "imap-parser.h"

/* Does s need a literal rather than a quoted string? */
bool imap_needs_literal(const char *s, size_t len);
/* Append "s" with \ and " escaped; the caller checked needs_literal. */
int imap_append_quoted(struct mf_buf *b, const char *s, size_t len,
		       struct mf_err *err) MF_WARN_UNUSED;

/* "A2 LOGIN user pass" -> "A2 LOGIN <redacted>" (AUTHENTICATE keeps the
 * mechanism).  out always NUL-terminated. */
void imap_trace_redact(const char *line, size_t len, char *out, size_t size);
/* Render a parsed response for the trace: literals as "{N bytes}",
 * sanitized, truncated to size. */
void imap_resp_format(const struct imap_resp *resp, char *out, size_t size);

/* Best effort appends for trace text: a full buffer just cuts the line
 * (a formatted piece is cut at 255 bytes). */
void imap_trace_put(struct mf_buf *b, const void *data, size_t len);
void imap_trace_putf(struct mf_buf *b, const char *fmt, ...) MF_PRINTF(2, 3);

#endif
