#include "flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "store.h"

static const struct {
	unsigned bit;
	char letter;
	const char *imap;
} flag_table[] = {
	/* in maildir letter (ASCII) order */
	{ MF_FLAG_DRAFT, 'D', "\\Draft" },
	{ MF_FLAG_FLAGGED, 'F', "\\Flagged" },
	{ MF_FLAG_FORWARDED, 'P', "$Forwarded" },
	{ MF_FLAG_ANSWERED, 'R', "\\Answered" },
	{ MF_FLAG_SEEN, 'S', "\\Seen" },
	{ MF_FLAG_DELETED, 'T', "\\Deleted" },
};

char *
mf_flags_to_maildir(unsigned flags, char *buf)
{
	size_t i, o = 0;

	for (i = 0; i < MF_N_ELEMENTS(flag_table); i++)
		if (flags & flag_table[i].bit)
			buf[o++] = flag_table[i].letter;
	buf[o] = '\0';
	return buf;
}

unsigned
mf_flag_from_maildir(char c)
{
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(flag_table); i++)
		if (flag_table[i].letter == c)
			return flag_table[i].bit;
	return 0;
}

const char *
mf_flag_imap_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(flag_table); i++)
		if (flag_table[i].bit == bit)
			return flag_table[i].imap;
	return NULL;
}

unsigned
mf_flag_from_imap(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(flag_table); i++)
		if (strlen(flag_table[i].imap) == len &&
		    strncasecmp(flag_table[i].imap, name, len) == 0)
			return flag_table[i].bit;
	return 0;
}

int
mf_flags_to_imap_list(unsigned flags, const char *keywords, char *buf,
		      size_t size)
{
	size_t i, o = 0;
	int n;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < MF_N_ELEMENTS(flag_table); i++) {
		if (!(flags & flag_table[i].bit))
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o ? " " : "",
			     flag_table[i].imap);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	if (keywords != NULL && keywords[0] != '\0') {
		n = snprintf(buf + o, size - o, "%s%s", o ? " " : "", keywords);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	return (int)o;
}

bool
mf_keyword_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* RFC 3501 atom-char minus atom-specials and '\\' */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return false;
	}
	return true;
}

/* Split a set into a sorted, unique, NULL-terminated array of copies. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
kw_split(const char *words, size_t *n_r)
{
	char **v = NULL;
	size_t n = 0, cap = 0, i, o;
	const char *p = words != NULL ? words : "";

	while (*p != '\0') {
		const char *start;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrndup(start, (size_t)(p - start));
	}
	if (n > 1)
		mf_qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0, o = 0; i < n; i++) {
		if (o > 0 && strcmp(v[o - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[o++] = v[i];
	}
	*n_r = o;
	return v;
}

static char *
kw_join(char **v, size_t n)
{
	size_t len = 1, i;
	char *s, *p;

	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	s = p = xmalloc(len);
	*p = '\0';
	for (i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		if (i > 0)
			*p++ = ' ';
		memcpy(p, v[i], l);
		p += l;
		*p = '\0';
	}
	return s;
}

static void
kw_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *
mf_kw_normalize(const char *words)
{
	size_t n;
	char **v = kw_split(words, &n);
	char *s = kw_join(v, n);

	kw_free(v, n);
	return s;
}

char *
mf_kw_union(const char *a, const char *b)
{
	char *joined = xasprintf("%s %s", a ? a : "", b ? b : "");
	char *s = mf_kw_normalize(joined);

	free(joined);
	return s;
}

char *
mf_kw_minus(const char *a, const char *b)
{
	size_t na, nb, i, o;
	char **va = kw_split(a, &na), **vb = kw_split(b, &nb);
	char *s;

	for (i = 0, o = 0; i < na; i++) {
		if (mf_bsearch(&va[i], vb, nb, sizeof(*vb), cmp_str) != NULL) {
			free(va[i]);
			continue;
		}
		va[o++] = va[i];
	}
	s = kw_join(va, o);
	kw_free(va, o);
	kw_free(vb, nb);
	return s;
}

bool
mf_kw_contains(const char *set, const char *word)
{
	size_t wl = strlen(word);
	const char *p = set;

	if (p == NULL || wl == 0)
		return false;
	while ((p = strstr(p, word)) != NULL) {
		bool start = p == set || p[-1] == ' ';
		bool end = p[wl] == '\0' || p[wl] == ' ';

		if (start && end)
			return true;
		p += wl;
	}
	return false;
}

bool
mf_kw_equal(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}
