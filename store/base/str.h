/* Small string helpers shared by every layer. */
#ifndef MF_STR_H
#define MF_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copy untrusted text (server ALERTs, NO/BAD texts, mailbox and file names)
 * for display, so that it cannot move the cursor, recolour or retitle the
 * terminal, or forge a line of its own.  Printable ASCII and valid UTF-8
 * (RFC 3629) are copied; everything else is shown escaped: C0 controls
 * (tab and newline too), DEL, raw bytes 0x80-0xff that are not part of a
 * valid sequence (the C1 controls among them) as "\x1b", and the C1
 * controls in their UTF-8 form (U+0080-U+009F) as "\u009b".  A backslash
 * is copied as it is: the result of a sanitize is its own sanitize, so text
 * sanitized in a lower layer passes mf_log() unchanged.  dst always ends
 * with NUL; the result is truncated to dstsize - 1 bytes, never in the
 * middle of an escape or a character.  Returns dst.
 */
char *mf_str_sanitize(char *dst, size_t dstsize, const char *src,
		      size_t srclen);

/* Parse a decimal number without sign, overflow checked, all of s[0..len). */
bool mf_str_to_u64(const char *s, size_t len, uint64_t *val_r);
bool mf_str_to_u32(const char *s, size_t len, uint32_t *val_r);

bool mf_str_has_prefix(const char *s, const char *prefix);
bool mf_str_ieq(const char *a, const char *b); /* ASCII case-insensitive */

/* Constant-time compare for secrets; true when equal. */
bool mf_str_secret_eq(const char *a, const char *b);

/* Wipe a secret string in place (cannot be optimised away). */
void mf_str_wipe(char *s);

#endif
