/*
 * The JSON writer of json.h.
 */
#include "json.h"

#include <inttypes.h>
#include <string.h>

void
json_begin(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

void
json_end(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

/* Before a value or a key: the comma that separates it from the last. */
static void
sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
}

static void
open_level(struct json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	/* deeper than anyone here nests: stays valid, commas may not */
	if (j->depth < JSON_DEPTH_MAX)
		j->depth++;
	j->first[j->depth] = true;
}

static void
close_level(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void
json_obj_open(struct json *j)
{
	open_level(j, '{');
}

void
json_obj_close(struct json *j)
{
	close_level(j, '}');
}

void
json_arr_open(struct json *j)
{
	open_level(j, '[');
}

void
json_arr_close(struct json *j)
{
	close_level(j, ']');
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 if there is none.
 */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Append n bytes of p at *pos in out, cut to size; counts them anyway. */
static void
put(char *out, size_t size, size_t *pos, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, (*pos)++)
		if (size > 0 && *pos < size - 1)
			out[*pos] = p[i];
}

size_t
json_escape(const char *s, size_t len, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, pos = 0;

	while (i < len) {
		unsigned char c = u[i];
		char esc[8];
		size_t n;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(out, size, &pos, esc, 2);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			const char *sh = c == '\n' ? "\\n" :
					 c == '\r' ? "\\r" :
					 c == '\t' ? "\\t" :
					 c == '\b' ? "\\b" :
					 c == '\f' ? "\\f" :
						     NULL;

			if (sh != NULL) {
				put(out, size, &pos, sh, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				put(out, size, &pos, esc, 6);
			}
			i++;
			continue;
		}
		n = utf8_len(u + i, len - i);
		if (n == 0) {
			/* not UTF-8: one byte at a time becomes U+FFFD */
			put(out, size, &pos, "\\ufffd", 6);
			i++;
			continue;
		}
		if (n == 2 && c == 0xc2 && u[i + 1] < 0xa0) {
			/* a C1 control (U+0080-U+009F, CSI among them):
			 * valid JSON raw, but a terminal may obey it */
			snprintf(esc, sizeof(esc), "\\u%04x", u[i + 1]);
			put(out, size, &pos, esc, 6);
			i += 2;
			continue;
		}
		put(out, size, &pos, s + i, n);
		i += n;
	}
	if (size > 0)
		out[pos < size - 1 ? pos : size - 1] = '\0';
	return pos;
}

void
json_str_n(struct json *j, const char *s, size_t len)
{
	char buf[1024];
	size_t need;

	sep(j);
	fputc('"', j->f);
	/* escape in pieces; a piece never ends inside a UTF-8 sequence,
	 * which would turn its tail into U+FFFD */
	while (len > 0) {
		size_t n = len < 128 ? len : 128, k = 0;

		while (n < len && k < 3 &&
		       ((unsigned char)s[n] & 0xc0) == 0x80) {
			n--;
			k++;
		}
		need = json_escape(s, n, buf, sizeof(buf));
		fwrite(buf, 1, need, j->f);
		s += n;
		len -= n;
	}
	fputc('"', j->f);
}

void
json_str(struct json *j, const char *s)
{
	if (s == NULL)
		json_null(j);
	else
		json_str_n(j, s, strlen(s));
}

void
json_key(struct json *j, const char *key)
{
	json_str(j, key);
	fputc(':', j->f);
	j->after_key = true;
}

void
json_uint(struct json *j, uint64_t n)
{
	sep(j);
	fprintf(j->f, "%" PRIu64, n);
}

void
json_int(struct json *j, int64_t n)
{
	sep(j);
	fprintf(j->f, "%" PRId64, n);
}

void
json_bool(struct json *j, bool b)
{
	sep(j);
	fputs(b ? "true" : "false", j->f);
}

void
json_null(struct json *j)
{
	sep(j);
	fputs("null", j->f);
}

void
json_kv_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void
json_kv_uint(struct json *j, const char *key, uint64_t n)
{
	json_key(j, key);
	json_uint(j, n);
}

void
json_kv_int(struct json *j, const char *key, int64_t n)
{
	json_key(j, key);
	json_int(j, n);
}

void
json_kv_bool(struct json *j, const char *key, bool b)
{
	json_key(j, key);
	json_bool(j, b);
}
