/*
 * Maildir file names (see mdir-name.h for the grammar and the key rule).
 *
 * Everything here is pure string work on borrowed bytes: no allocation, no
 * system calls, so the scanner can run it on 100,000 names cheaply and the
 * tests can feed it tables.
 */
#include "mdir-name.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "flags.h"
#include "store.h"

enum field_kind {
	FIELD_OTHER = 0,
	FIELD_S,
	FIELD_W,
	FIELD_U,
	FIELD_PH,
};

/* Classify one comma field of the base (without its comma). */
static enum field_kind
field_kind(const char *f, size_t len, uint64_t *val_r)
{
	enum field_kind kind;

	if (len >= 4 && f[0] == 'P' && f[1] == 'H' && f[2] == '=')
		return mf_str_to_u64(f + 3, len - 3, val_r) && *val_r != 0 ?
			       FIELD_PH :
			       FIELD_OTHER;
	if (len < 3 || f[1] != '=')
		return FIELD_OTHER;
	switch (f[0]) {
	case 'S':
		kind = FIELD_S;
		break;
	case 'W':
		kind = FIELD_W;
		break;
	case 'U':
		kind = FIELD_U;
		break;
	default:
		return FIELD_OTHER;
	}
	if (!mf_str_to_u64(f + 2, len - 2, val_r))
		return FIELD_OTHER;
	return kind;
}

/* Fields that describe the file's contents and so are not in the key. */
static bool
is_size_field(enum field_kind kind)
{
	return kind == FIELD_S || kind == FIELD_W || kind == FIELD_PH;
}

/* Find the info separator: the last ":2," or "!2," in the name. */
static void
find_info(const char *name, size_t len, struct mdir_name *n)
{
	size_t i;

	n->base_len = len;
	n->sep = '\0';
	n->letters_off = len;
	n->letters_len = 0;
	for (i = len >= 3 ? len - 3 + 1 : 0; i-- > 0;) {
		if ((name[i] == ':' || name[i] == '!') && name[i + 1] == '2' &&
		    name[i + 2] == ',') {
			n->base_len = i;
			n->sep = name[i];
			n->letters_off = i + 3;
			break;
		}
	}
	while (n->letters_off + n->letters_len < len &&
	       name[n->letters_off + n->letters_len] != ',')
		n->letters_len++;
}

static void
parse_letters(struct mdir_name *n)
{
	size_t i;

	for (i = 0; i < n->letters_len; i++) {
		char c = n->name[n->letters_off + i];

		if (c >= 'a' && c <= 'z')
			n->kw_letters |= 1u << (c - 'a');
		else
			n->flags |= mf_flag_from_maildir(c);
	}
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "FMD5=" and exactly 32 hex digits, decoded into out[16]. */
static bool
parse_fmd5(const char *f, size_t len, unsigned char *out)
{
	size_t i;

	if (len != 5 + 32 || memcmp(f, "FMD5=", 5) != 0)
		return false;
	for (i = 0; i < 16; i++) {
		int hi = hex_val(f[5 + 2 * i]), lo = hex_val(f[6 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Walk the comma fields of the base: sizes, UID, and the key length. */
static void
parse_base(struct mdir_name *n)
{
	const char *base = n->name;
	const char *comma = memchr(base, ',', n->base_len);
	size_t pos, key_len;
	bool stripped = false;

	if (comma == NULL) {
		n->key_len = n->base_len;
		n->key_is_prefix = true;
		return;
	}
	key_len = pos = (size_t)(comma - base);
	n->key_is_prefix = true;
	while (pos < n->base_len) {
		/* base[pos] is ',' */
		size_t start = pos + 1, end = start;
		enum field_kind kind;
		uint64_t val = 0;

		while (end < n->base_len && base[end] != ',')
			end++;
		kind = field_kind(base + start, end - start, &val);
		if (kind == FIELD_S && !n->has_s) {
			n->has_s = true;
			n->size_s = val;
		} else if (kind == FIELD_W && !n->has_w) {
			n->has_w = true;
			n->size_w = val;
		} else if (kind == FIELD_U && n->uid == 0 &&
			   val <= UINT32_MAX) {
			n->uid = (uint32_t)val;
		} else if (kind == FIELD_PH && n->placeholder_of == 0) {
			n->placeholder_of = val;
		} else if (!n->has_fmd5) {
			n->has_fmd5 = parse_fmd5(base + start, end - start,
						 n->fmd5);
		}
		if (is_size_field(kind)) {
			stripped = true;
		} else {
			if (stripped)
				n->key_is_prefix = false;
			key_len += end - pos;
		}
		pos = end;
	}
	if (key_len == 0) { /* nothing but size fields: keep them */
		key_len = n->base_len;
		n->key_is_prefix = true;
	}
	n->key_len = key_len;
}

void
mdir_name_parse(const char *name, size_t len, struct mdir_name *n_r)
{
	memset(n_r, 0, sizeof(*n_r));
	n_r->name = name;
	n_r->len = len;
	find_info(name, len, n_r);
	parse_letters(n_r);
	parse_base(n_r);
}

void
mdir_name_key(const struct mdir_name *n, char *buf)
{
	const char *base = n->name;
	size_t pos, o;

	if (n->key_is_prefix) {
		memcpy(buf, base, n->key_len);
		buf[n->key_len] = '\0';
		return;
	}
	/* copy the first segment, then every field that is not a size */
	pos = (size_t)((const char *)memchr(base, ',', n->base_len) - base);
	memcpy(buf, base, pos);
	o = pos;
	while (pos < n->base_len) {
		size_t start = pos + 1, end = start;
		uint64_t val;

		while (end < n->base_len && base[end] != ',')
			end++;
		if (!is_size_field(field_kind(base + start, end - start,
					      &val))) {
			memcpy(buf + o, base + pos, end - pos);
			o += end - pos;
		}
		pos = end;
	}
	buf[o] = '\0';
}

int
mdir_name_with_flags(const struct mdir_name *n, unsigned flags,
		     uint32_t kw_letters, char *buf, size_t size,
		     struct mf_err *err)
{
	bool ascii[128] = { false };
	char tail[MDIR_NAME_MAX + 1], sysl[8];
	size_t ntail = 0, o, i, rest_off, rest_len;
	const char *p;

	for (i = 0; i < n->letters_len; i++) {
		unsigned char c = (unsigned char)n->name[n->letters_off + i];

		if (c >= 'a' && c <= 'z')
			continue; /* replaced by kw_letters */
		if (mf_flag_from_maildir((char)c) != 0)
			continue; /* replaced by flags */
		if (c > 0x20 && c < 0x7f)
			ascii[c] = true;
		else if (ntail < sizeof(tail))
			tail[ntail++] = (char)c;
	}
	for (p = mf_flags_to_maildir(flags & MF_FLAG_ALL, sysl); *p; p++)
		ascii[(unsigned char)*p] = true;
	for (i = 0; i < 26; i++)
		if (kw_letters & (1u << i))
			ascii['a' + i] = true;

	rest_off = n->letters_off + n->letters_len;
	rest_len = n->sep != '\0' ? n->len - rest_off : 0;
	if (size > MDIR_NAME_MAX + 1)
		size = MDIR_NAME_MAX + 1;
	/* base + sep "2," + at most 94 ASCII letters + tail + rest */
	if (n->base_len + 3 + 94 + ntail + rest_len + 1 > size) {
		/* maybe it still fits: count exactly */
		size_t need = n->base_len + 3 + ntail + rest_len + 1;

		for (i = 0x21; i < 0x7f; i++)
			need += ascii[i];
		if (need > size)
			return mf_err_set(err, MF_E_MSG,
					  "file name too long with new flags");
	}
	memcpy(buf, n->name, n->base_len);
	o = n->base_len;
	buf[o++] = n->sep != '\0' ? n->sep : ':';
	buf[o++] = '2';
	buf[o++] = ',';
	for (i = 0x21; i < 0x7f; i++)
		if (ascii[i])
			buf[o++] = (char)i;
	/* letters "2!" come out sorted as "!2": before a ",rest" that would
	 * be a new, later info separator "!2," and so change the key */
	if (ntail == 0 && rest_len > 0 && o >= n->base_len + 5 &&
	    buf[o - 2] == '!' && buf[o - 1] == '2') {
		buf[o - 2] = '2';
		buf[o - 1] = '!';
	}
	memcpy(buf + o, tail, ntail);
	o += ntail;
	memcpy(buf + o, n->name + rest_off, rest_len);
	o += rest_len;
	buf[o] = '\0';
	{
		struct mdir_name check;

		/* whatever else letters could spell: the info must stay put */
		memset(&check, 0, sizeof(check));
		check.name = buf;
		find_info(buf, o, &check);
		if (check.base_len != n->base_len)
			return mf_err_set(err, MF_E_MSG,
					  "file name cannot carry new flags "
					  "without changing its key");
	}
	return 0;
}

void
mdir_name_escape_host(const char *host, char *buf, size_t size)
{
	size_t o = 0;
	const char *p;

	if (size == 0)
		return;
	if (host == NULL || host[0] == '\0')
		host = "localhost";
	for (p = host; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		char piece[5];
		size_t plen;

		if (c == '/' || c == ':' || c == ',' || c == '!' || c < 0x20 ||
		    c == 0x7f) {
			snprintf(piece, sizeof(piece), "\\%03o", c);
			plen = 4;
		} else {
			piece[0] = (char)c;
			plen = 1;
		}
		if (o + plen + 1 > size)
			break;
		memcpy(buf + o, piece, plen);
		o += plen;
	}
	buf[o] = '\0';
}

int
mdir_name_make_key(char *buf, size_t size, int64_t sec, long usec, pid_t pid,
		   unsigned long counter, uint32_t rnd, const char *host,
		   struct mf_err *err)
{
	int n = snprintf(buf, size,
			 "%" PRId64 ".M%06ldP%ldQ%luR%08" PRIx32 ".%s", sec,
			 usec, (long)pid, counter, rnd, host);

	if (n < 0 || (size_t)n >= size)
		return mf_err_set(err, MF_E_INTERNAL,
				  "unique name does not fit %zu bytes", size);
	return 0;
}

int
mdir_name_tmp(char *buf, size_t size, const char *key, struct mf_err *err)
{
	int n = snprintf(buf, size, "%s%s", MDIR_TMP_PREFIX, key);

	if (n < 0 || (size_t)n >= size)
		return mf_err_set(err, MF_E_INTERNAL,
				  "tmp name does not fit %zu bytes", size);
	return 0;
}

/* Skip a run of at least one digit (hex: also a-f); NULL if none. */
static const char *
skip_digits(const char *p, bool hex, uint64_t *value_r)
{
	const char *start = p;
	uint64_t v = 0;

	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		if (p - start >= 16)
			return NULL; /* longer than any we write */
		v = v * (hex ? 16 : 10) + d;
	}
	if (p == start)
		return NULL;
	if (value_r != NULL)
		*value_r = v;
	return p;
}

bool
mdir_name_tmp_parse(const char *name, pid_t *pid_r, const char **host_r,
		    int64_t *sec_r)
{
	size_t plen = sizeof(MDIR_TMP_PREFIX) - 1;
	const char *p = name;
	uint64_t pid = 0, sec = 0;

	/* "<sec>.M<usec>P<pid>Q<counter>R<rand hex>.<host>" */
	if (strncmp(p, MDIR_TMP_PREFIX, plen) != 0)
		return false;
	p += plen;
	if ((p = skip_digits(p, false, &sec)) == NULL || *p++ != '.' ||
	    *p++ != 'M' || (p = skip_digits(p, false, NULL)) == NULL ||
	    *p++ != 'P' || (p = skip_digits(p, false, &pid)) == NULL ||
	    *p++ != 'Q' || (p = skip_digits(p, false, NULL)) == NULL ||
	    *p++ != 'R' || (p = skip_digits(p, true, NULL)) == NULL ||
	    *p++ != '.' || *p == '\0')
		return false;
	if (pid == 0 || pid > INT32_MAX || (uint64_t)(pid_t)pid != pid)
		return false;
	*pid_r = (pid_t)pid;
	*host_r = p;
	if (sec_r != NULL)
		*sec_r = sec > INT64_MAX ? INT64_MAX : (int64_t)sec;
	return true;
}
