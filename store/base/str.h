/* Small string helpers shared by every layer. */
#ifndef MF_STR_H
#define MF_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copy untrusted text (server ALERTs, NO/BAD texts, file names) for display:
 * control characters, DEL and ESC (terminal escapes) become '?', invalid
 * UTF-8 bytes become '?'.  dst always ends with NUL; the result is truncated
 * to dstsize - 1 bytes.  Returns dst.
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
