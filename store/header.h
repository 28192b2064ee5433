/*
 * Reading the few header fields the engine needs, from raw message bytes.
 * Shared by both stores and the engine so that a Message-ID read from an
 * IMAP FETCH and one read from a local file compare equal.
 */
#ifndef MF_HEADER_H
#define MF_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#define MF_MSGID_MAX 1000

/*
 * Find the first Message-ID field in the header block hdr[0..len) (CRLF or
 * LF line ends; stops at the first empty line).  Folded values are unfolded.
 * The result is the first "<...>" in the value, or the trimmed value when it
 * has no angle brackets.  Returns false when there is none, or it is empty
 * or longer than MF_MSGID_MAX.  out needs MF_MSGID_MAX + 1 bytes.
 */
bool mf_header_msgid(const char *hdr, size_t len, char *out);

/*
 * Length of the header block at the start of msg[0..len): everything up to
 * and including the first empty line.  Returns 0 while the end has not been
 * seen (more bytes needed).
 */
size_t mf_header_block_len(const char *msg, size_t len);

#endif
