/*
 * Line-end conversion between canonical form (CRLF, as IMAP sends messages)
 * and the bare LF that Maildir readers expect.  Streaming: state carries a CR
 * that ended one chunk into the next.
 *
 * to_lf:   "\r\n" -> "\n"; a lone CR stays.  out needs len + 1 bytes.
 * to_crlf: "\n" not preceded by CR -> "\r\n".  out needs 2 * len bytes.
 *
 * Round trip: canonical -> LF -> canonical gives back the same bytes for any
 * message without the sequence "\r\r\n" (which the LF form cannot tell from
 * "\r\n"); RFC 5322 forbids bare CR anyway.
 */
#ifndef MF_CRLF_H
#define MF_CRLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mf_nl_state {
	bool held_cr; /* to_lf: a CR at the end of the last chunk */
	bool last_cr; /* to_crlf: the last byte seen was CR */
};

/* Returns bytes written to out. */
size_t mf_to_lf(struct mf_nl_state *st, const char *in, size_t len, char *out);
/* Emit what the state still holds (a trailing CR); out needs 1 byte. */
size_t mf_to_lf_end(struct mf_nl_state *st, char *out);
size_t mf_to_crlf(struct mf_nl_state *st, const char *in, size_t len,
		  char *out);

/* Canonical size of LF-form data: len plus one per LF without a CR. */
uint64_t mf_crlf_extra(struct mf_nl_state *st, const char *in, size_t len);

#endif
