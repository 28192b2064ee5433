/*
 * IMAP sequence sets (RFC 3501 section 9, sequence-set): compressed UID
 * sets for commands, and reading one range at a time from a response.
 * Pure functions, unit tested.
 */
#ifndef MF_IMAP_SEQSET_H
#define MF_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/*
 * Append a compressed UID set ("1:3,5,7:9") for sorted uids[*pos..n)
 * (duplicates and zeros skipped) to b, stopping before b->len would exceed
 * max_len.  Advances *pos past the UIDs written.  Returns how many distinct
 * UIDs were written (0 only when none are left).
 */
size_t imap_uidset_append(struct mf_buf *b, const uint32_t *uids, size_t n,
			  size_t *pos, size_t max_len);
/* Next range of a sequence set at *p ("1:3,5"); false at the end or on
 * a syntax error (then *bad_r is true).  Ranges come back lo <= hi. */
bool imap_seqset_next(const char **p, const char *end, uint32_t *lo_r,
		      uint32_t *hi_r, bool *bad_r);

#endif
