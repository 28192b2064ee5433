/*
 * Mailbox name <-> folder directory mapping (rules in mdir-path.h).
 *
 * Encoding validates first and escapes second, level by level; decoding
 * unescapes and then encodes again and insists on getting the same path, so
 * the two directions cannot drift apart and list_boxes never offers a name
 * that select_box would map to some other directory.
 */
#include "mdir-path.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "base/xalloc.h"

#define LEVEL_MAX 255 /* NAME_MAX: one directory entry */

static int
refuse(struct mf_err *err, const char *box, const char *why)
{
	char shown[256];

	mf_str_sanitize(shown, sizeof(shown), box, strlen(box));
	return mf_err_set(err, MF_E_BOX, "mailbox \"%s\": %s", shown, why);
}

bool
mdir_box_is_inbox(const char *box)
{
	return strcasecmp(box, "INBOX") == 0;
}

/*
 * NULL if s is valid UTF-8 without control characters, else the reason.
 * Overlong forms, surrogates and code points above U+10FFFF are invalid
 * (RFC 3629 section 4).
 */
static const char *
check_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned char c = *p;
		size_t n, k;

		if (c < 0x20 || c == 0x7f)
			return "control character in name";
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4;
		else
			return "invalid UTF-8 in name";
		for (k = 1; k < n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return "invalid UTF-8 in name";
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return "invalid UTF-8 in name";
		if (c == 0xc2 && p[1] < 0xa0)
			return "control character in name"; /* C1 */
		p += n;
	}
	return NULL;
}

static void
put_escape(char *out, size_t *o, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	out[(*o)++] = '%';
	out[(*o)++] = hex[c >> 4];
	out[(*o)++] = hex[c & 15];
}

/*
 * Escape one level into out (room for 3 * len bytes).  Returns the length.
 */
static size_t
escape_level(enum mdir_layout layout, const char *lv, size_t len, char *out)
{
	size_t i, o = 0;
	bool reserved = layout == MDIR_LAYOUT_FS && len == 3 &&
			(memcmp(lv, "cur", 3) == 0 ||
			 memcmp(lv, "new", 3) == 0 ||
			 memcmp(lv, "tmp", 3) == 0);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)lv[i];

		if (c == '%' || (c == '.' && layout == MDIR_LAYOUT_MAILDIRPP) ||
		    (c == '.' && i == 0) || (reserved && i == 0))
			put_escape(out, &o, c);
		else
			out[o++] = (char)c;
	}
	return o;
}

int
mdir_path_from_box(enum mdir_layout layout, const char *box, size_t root_len,
		   char **rel_r, struct mf_err *err)
{
	const char *why, *p, *slash;
	char *rel, *o;
	size_t level_len, total, group_start;
	bool first = true;

	if (box == NULL || box[0] == '\0')
		return mf_err_set(err, MF_E_BOX, "empty mailbox name");
	why = check_chars(box);
	if (why != NULL)
		return refuse(err, box, why);
	if (layout == MDIR_LAYOUT_MAILDIRPP && mdir_box_is_inbox(box)) {
		*rel_r = xstrdup("");
		return 0;
	}

	/* worst case every byte becomes "%XX", plus the leading '.' */
	rel = o = xmalloc(3 * strlen(box) + 2);
	group_start = 0;
	if (layout == MDIR_LAYOUT_MAILDIRPP)
		*o++ = '.';
	for (p = box;; p = slash + 1) {
		slash = strchr(p, '/');
		level_len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (level_len == 0) {
			free(rel);
			return refuse(err, box, "empty level in name");
		}
		if ((level_len == 1 && p[0] == '.') ||
		    (level_len == 2 && p[0] == '.' && p[1] == '.')) {
			free(rel);
			return refuse(err, box, "\".\" or \"..\" in name");
		}
		if (!first)
			*o++ = layout == MDIR_LAYOUT_FS ? '/' : '.';
		if (layout == MDIR_LAYOUT_FS)
			group_start = (size_t)(o - rel);
		if (first && level_len == 5 && strncasecmp(p, "INBOX", 5) == 0)
			p = "INBOX"; /* the inbox is case-insensitive */
		o += escape_level(layout, p, level_len, o);
		/* fs: one entry per level; maildir++: one for all levels */
		if ((size_t)(o - rel) - group_start > LEVEL_MAX) {
			free(rel);
			return refuse(err, box, "name too long");
		}
		first = false;
		if (slash == NULL)
			break;
	}
	*o = '\0';
	total = root_len + 1 + (size_t)(o - rel) + MDIR_PATH_RESERVE;
	if (total > PATH_MAX) {
		free(rel);
		return refuse(err, box, "path too long");
	}
	*rel_r = rel;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape s[0..len) onto the end of out (room for len + 1). */
static bool
unescape(const char *s, size_t len, char *out, size_t *o)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[(*o)++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			return false;
		hi = hexval(s[i + 1]);
		lo = hi < 0 ? -1 : hexval(s[i + 2]);
		if (lo < 0)
			return false;
		out[(*o)++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return true;
}

int
mdir_path_to_box(enum mdir_layout layout, const char *rel, char **box_r,
		 struct mf_err *err)
{
	char sep = layout == MDIR_LAYOUT_FS ? '/' : '.';
	const char *p = rel, *end;
	char *box, *back = NULL;
	size_t o = 0;

	if (layout == MDIR_LAYOUT_MAILDIRPP) {
		if (rel[0] == '\0') {
			*box_r = xstrdup("INBOX");
			return 0;
		}
		if (rel[0] != '.')
			return refuse(err, rel, "not a maildir++ folder");
		p++;
	}
	box = xmalloc(strlen(p) + 1);
	for (;;) {
		end = strchr(p, sep);
		if (end == NULL)
			end = p + strlen(p);
		if (o > 0)
			box[o++] = '/';
		if (!unescape(p, (size_t)(end - p), box, &o)) {
			free(box);
			return refuse(err, rel, "bad escape in folder name");
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	box[o] = '\0';
	/*
	 * Only a name that maps back to this very directory is a folder: this
	 * rejects empty levels, stray escapes, "inbox" spelled otherwise and
	 * anything check_chars() refuses, without a second set of rules.
	 */
	if (memchr(box, '\0', o) != NULL ||
	    mdir_path_from_box(layout, box, 0, &back, err) < 0 ||
	    strcmp(back, rel) != 0) {
		free(back);
		free(box);
		return refuse(err, rel,
			      "folder name does not map back to "
			      "this directory");
	}
	free(back);
	*box_r = box;
	return 0;
}
