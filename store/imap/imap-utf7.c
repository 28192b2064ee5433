/*
 * Modified UTF-7 (RFC 3501 section 5.1.3), both directions.
 *
 * Decoding is used on every LIST response, so it is strict: anything that
 * would not come back byte for byte from imap_utf7_encode() is refused, and
 * the caller skips that mailbox with a warning instead of inventing a name.
 */
#include "imap-utf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* mailbox names are short; 64 KiB is far beyond any server's limit */
#define NAME_MAX_BYTES (64u * 1024u)

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static bool
put_utf8(struct mf_buf *b, uint32_t cp)
{
	char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xc0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xe0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | (cp >> 18));
		s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return mf_buf_append(b, s, n, NULL) == 0;
}

/* Decode one BASE64 run in[0..len) (between '&' and '-') into b. */
static bool
decode_run(const unsigned char *in, size_t len, struct mf_buf *b)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		int v = b64val(in[i]);
		uint32_t u;

		if (v < 0)
			return false;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return false; /* high without low */
			u = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
			continue;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return false; /* low without high */
		} else if (u >= 0x20 && u <= 0x7e) {
			return false; /* must be written directly */
		} else if (u == 0) {
			return false; /* would end the C string: "a&AAA-b" is not "a" */
		}
		if (!put_utf8(b, u))
			return false;
	}
	/* leftover: fewer than 6 bits, all zero (RFC 2152 padding) */
	return high == 0 && nbits < 6 && bits == 0;
}

int
imap_utf7_decode(const char *in, size_t len, char **out_r)
{
	const unsigned char *s = (const unsigned char *)in;
	struct mf_buf b;
	size_t i = 0;

	*out_r = NULL;
	mf_buf_init(&b, NAME_MAX_BYTES);
	while (i < len) {
		size_t start;

		if (s[i] < 0x20 || s[i] > 0x7e)
			goto fail;
		if (s[i] != '&') {
			if (mf_buf_append(&b, &s[i], 1, NULL) < 0)
				goto fail;
			i++;
			continue;
		}
		start = ++i;
		while (i < len && s[i] != '-')
			i++;
		if (i == len)
			goto fail; /* unterminated */
		if (i == start) {
			if (mf_buf_append(&b, "&", 1, NULL) < 0)
				goto fail;
		} else if (!decode_run(s + start, i - start, &b)) {
			goto fail;
		}
		i++; /* the '-' */
	}
	*out_r = mf_buf_take(&b);
	return 0;
fail:
	mf_buf_deinit(&b);
	return -1;
}

/* Next code point of UTF-8 at s[*i]; false if invalid. */
static bool
next_utf8(const unsigned char *s, size_t *i, uint32_t *cp_r)
{
	uint32_t cp, min;
	unsigned n, k;
	unsigned char c = s[*i];

	if (c < 0x80) {
		*cp_r = c;
		(*i)++;
		return true;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return false;
	}
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80) /* also stops at NUL */
			return false;
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	*i += n + 1;
	*cp_r = cp;
	return true;
}

static bool
flush_bits(struct mf_buf *b, uint32_t *bits, unsigned *nbits, bool all)
{
	char c;

	while (*nbits >= 6) {
		*nbits -= 6;
		c = b64chars[(*bits >> *nbits) & 0x3f];
		if (mf_buf_append(b, &c, 1, NULL) < 0)
			return false;
	}
	if (all && *nbits > 0) {
		c = b64chars[(*bits << (6 - *nbits)) & 0x3f];
		if (mf_buf_append(b, &c, 1, NULL) < 0)
			return false;
		*nbits = 0;
	}
	*bits &= (1u << *nbits) - 1;
	return true;
}

int
imap_utf7_encode(const char *in, char **out_r)
{
	const unsigned char *s = (const unsigned char *)in;
	struct mf_buf b;
	uint32_t bits = 0;
	unsigned nbits = 0;
	bool shifted = false;
	size_t i = 0;

	*out_r = NULL;
	mf_buf_init(&b, NAME_MAX_BYTES);
	while (s[i] != '\0') {
		uint32_t cp, units[2];
		size_t nunits, k;

		if (!next_utf8(s, &i, &cp))
			goto fail;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted) {
				if (!flush_bits(&b, &bits, &nbits, true) ||
				    mf_buf_append(&b, "-", 1, NULL) < 0)
					goto fail;
				shifted = false;
			}
			if (mf_buf_append(&b,
					  cp == '&' ? "&-" :
						      (const char *)&s[i - 1],
					  cp == '&' ? 2 : 1, NULL) < 0)
				goto fail;
			continue;
		}
		if (!shifted) {
			if (mf_buf_append(&b, "&", 1, NULL) < 0)
				goto fail;
			shifted = true;
		}
		if (cp >= 0x10000) {
			units[0] = 0xd800 + ((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			nunits = 2;
		} else {
			units[0] = cp;
			nunits = 1;
		}
		for (k = 0; k < nunits; k++) {
			bits = (bits << 16) | units[k];
			nbits += 16;
			if (!flush_bits(&b, &bits, &nbits, false))
				goto fail;
		}
	}
	if (shifted && (!flush_bits(&b, &bits, &nbits, true) ||
			mf_buf_append(&b, "-", 1, NULL) < 0))
		goto fail;
	*out_r = mf_buf_take(&b);
	return 0;
fail:
	mf_buf_deinit(&b);
	return -1;
}
