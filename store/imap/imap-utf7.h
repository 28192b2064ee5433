/*
 * Modified UTF-7 for IMAP mailbox names (RFC 3501 section 5.1.3).
 *
 * Printable US-ASCII (0x20..0x7e) stands for itself, except '&', written
 * "&-".  Everything else is UTF-16 (surrogate pairs for non-BMP characters)
 * in a modified BASE64 (',' instead of '/', no padding) between '&' and '-'.
 *
 * Both directions are strict: a name that is not valid UTF-8, or not valid
 * modified UTF-7 (an 8-bit byte, an unterminated or empty-but-not-"&-" shift,
 * a printable ASCII character encoded in BASE64, leftover non-zero bits, a
 * lone surrogate, U+0000), is refused so that a name never changes in a round
 * trip.  Other control characters decode; refusing them is the caller's
 * policy (imap_name_from_server()).
 */
#ifndef MF_IMAP_UTF7_H
#define MF_IMAP_UTF7_H

#include <stddef.h>

#include "base/compat.h"

/* mUTF-7 in[0..len) -> UTF-8 in *out_r (caller frees).  0 or -1 (invalid). */
int imap_utf7_decode(const char *in, size_t len, char **out_r) MF_WARN_UNUSED;

/* UTF-8 string -> mUTF-7 in *out_r (caller frees).  0 or -1 (invalid). */
int imap_utf7_encode(const char *in, char **out_r) MF_WARN_UNUSED;

#endif
