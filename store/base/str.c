#include "str.h"

#include <string.h>
#include <strings.h>

/* Length of the valid UTF-8 sequence at s[0..len), 0 if none (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* the second byte's range is narrower after these leads */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

char *
mf_str_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	if (dstsize == 0)
		return dst;
	while (i < srclen) {
		unsigned char c = s[i];
		char esc[7];
		size_t n = c >= 0x20 && c < 0x7f ? 1 :
						   utf8_len(s + i, srclen - i);
		const char *out = (const char *)s + i;
		size_t olen = n;

		if (n == 2 && c == 0xc2 && s[i + 1] < 0xa0) {
			/* a C1 control as UTF-8: "\u009b" */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[s[i + 1] >> 4];
			esc[5] = hex[s[i + 1] & 0xf];
			out = esc;
			olen = 6;
		} else if (n == 0) {
			/* C0, DEL, a raw C1 byte or invalid UTF-8: "\x1b" */
			memcpy(esc, "\\x", 2);
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 0xf];
			out = esc;
			olen = 4;
			n = 1;
		}
		/* never half an escape or half a character */
		if (o + olen + 1 > dstsize)
			break;
		memcpy(dst + o, out, olen);
		o += olen;
		i += n;
	}
	dst[o] = '\0';
	return dst;
}

bool
mf_str_to_u64(const char *s, size_t len, uint64_t *val_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*val_r = v;
	return true;
}

bool
mf_str_to_u32(const char *s, size_t len, uint32_t *val_r)
{
	uint64_t v;

	if (!mf_str_to_u64(s, len, &v) || v > UINT32_MAX)
		return false;
	*val_r = (uint32_t)v;
	return true;
}

bool
mf_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
mf_str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool
mf_str_secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = (unsigned char)(la != lb);

	for (i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

void
mf_str_wipe(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}
