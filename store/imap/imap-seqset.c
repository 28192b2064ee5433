/*
 * IMAP sequence sets: writing compressed UID sets ("1:3,5") into command
 * text and reading the ranges of one back (RFC 3501 section 9).
 */
#include "imap-seqset.h"

#include <stdio.h>

#include "base/str.h"

size_t
imap_uidset_append(struct mf_buf *b, const uint32_t *uids, size_t n,
		   size_t *pos, size_t max_len)
{
	size_t i = *pos, count = 0;
	bool first = true;

	while (i < n) {
		uint32_t lo, hi;
		size_t j;
		char tmp[32];
		int len;

		if (uids[i] == 0) {
			i++;
			continue;
		}
		lo = hi = uids[i];
		j = i + 1;
		while (j < n && (uids[j] == hi || uids[j] == hi + 1)) {
			if (uids[j] == hi + 1)
				count++;
			hi = uids[j++];
		}
		if (lo == hi)
			len = snprintf(tmp, sizeof(tmp), "%s%u",
				       first ? "" : ",", lo);
		else
			len = snprintf(tmp, sizeof(tmp), "%s%u:%u",
				       first ? "" : ",", lo, hi);
		if (b->len + (size_t)len > max_len && !first) {
			/* undo the counting of this range */
			count -= hi - lo;
			break;
		}
		if (mf_buf_append(b, tmp, (size_t)len, NULL) < 0) {
			count -= hi - lo;
			break;
		}
		count++;
		first = false;
		i = j;
	}
	*pos = i;
	return count;
}

bool
imap_seqset_next(const char **pp, const char *end, uint32_t *lo_r,
		 uint32_t *hi_r, bool *bad_r)
{
	const char *p = *pp, *s;
	uint32_t a, b;

	*bad_r = false;
	if (p >= end)
		return false;
	if (*p == ',')
		p++;
	for (s = p; p < end && *p >= '0' && *p <= '9'; p++)
		;
	if (!mf_str_to_u32(s, (size_t)(p - s), &a) || a == 0)
		goto bad;
	b = a;
	if (p < end && *p == ':') {
		for (s = ++p; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (!mf_str_to_u32(s, (size_t)(p - s), &b) || b == 0)
			goto bad;
	}
	if (p < end && *p != ',')
		goto bad;
	*lo_r = a < b ? a : b;
	*hi_r = a < b ? b : a;
	*pp = p;
	return true;
bad:
	*bad_r = true;
	*pp = end;
	return false;
}
