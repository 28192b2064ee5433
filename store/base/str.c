#include "str.h"

#include <string.h>
#include <strings.h>

char *
mf_str_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	if (dstsize == 0)
		return dst;
	while (i < srclen && o + 1 < dstsize) {
		unsigned char c = s[i];
		size_t n = 0, k;

		if (c < 0x20 || c == 0x7f) {
			dst[o++] = c == '\t' ? ' ' : '?';
			i++;
			continue;
		}
		if (c < 0x80) {
			dst[o++] = (char)c;
			i++;
			continue;
		}
		/* UTF-8 sequence: copy it whole if valid and it fits */
		if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4;
		for (k = 1; n != 0 && k < n; k++)
			if (i + k >= srclen || (s[i + k] & 0xc0) != 0x80)
				n = 0;
		/* C1 controls (U+0080..U+009F) can act as terminal escapes */
		if (n == 2 && c == 0xc2 && s[i + 1] < 0xa0)
			n = 0;
		if (n == 0) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + n + 1 > dstsize)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
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
