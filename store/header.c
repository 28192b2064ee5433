#include "header.h"

#include <string.h>
#include <strings.h>

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* End of the line starting at p (index of '\n', or len). */
static size_t
line_end(const char *s, size_t len, size_t p)
{
	const char *nl = memchr(s + p, '\n', len - p);

	return nl != NULL ? (size_t)(nl - s) : len;
}

static bool
is_empty_line(const char *s, size_t start, size_t end)
{
	return end == start || (end == start + 1 && s[start] == '\r');
}

/* Append the unfolded value of a field into val (bounded). */
static size_t
collect_value(const char *s, size_t len, size_t p, char *val, size_t size)
{
	size_t o = 0;

	for (;;) {
		size_t end = line_end(s, len, p), i;

		for (i = p; i < end; i++) {
			char c = s[i];

			if (c == '\r')
				continue;
			if (o + 1 < size)
				val[o++] = c == '\t' ? ' ' : c;
		}
		p = end + 1;
		if (end >= len || p >= len || !is_wsp(s[p]))
			break;
	}
	val[o] = '\0';
	return o;
}

bool
mf_header_msgid(const char *hdr, size_t len, char *out)
{
	static const char name[] = "message-id";
	char val[2 * MF_MSGID_MAX];
	size_t p = 0;

	while (p < len) {
		size_t end = line_end(hdr, len, p), q, vlen, a, b;

		if (is_empty_line(hdr, p, end))
			return false;
		if (end - p <= sizeof(name) - 1 ||
		    strncasecmp(hdr + p, name, sizeof(name) - 1) != 0) {
			p = end + 1;
			continue;
		}
		q = p + sizeof(name) - 1;
		while (q < end && is_wsp(hdr[q]))
			q++;
		if (q >= end || hdr[q] != ':') {
			p = end + 1;
			continue;
		}
		vlen = collect_value(hdr, len, q + 1, val, sizeof(val));
		/* prefer the bracketed id; some mailers add comments */
		for (a = 0; a < vlen && val[a] != '<'; a++)
			;
		if (a < vlen) {
			for (b = a; b < vlen && val[b] != '>'; b++)
				;
			if (b == vlen)
				return false;
			vlen = b - a + 1;
		} else {
			for (a = 0; a < vlen && is_wsp(val[a]); a++)
				;
			while (vlen > a && is_wsp(val[vlen - 1]))
				vlen--;
			vlen -= a;
		}
		if (vlen == 0 || vlen > MF_MSGID_MAX)
			return false;
		memcpy(out, val + a, vlen);
		out[vlen] = '\0';
		return true;
	}
	return false;
}

size_t
mf_header_block_len(const char *msg, size_t len)
{
	size_t p = 0;

	while (p < len) {
		size_t end = line_end(msg, len, p);

		if (end >= len)
			return 0; /* line not complete yet */
		if (is_empty_line(msg, p, end))
			return end + 1;
		p = end + 1;
	}
	return 0;
}
