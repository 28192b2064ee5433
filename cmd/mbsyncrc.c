/*
 * The mbsync configuration reader (see mbsyncrc.h).
 *
 * mbsync's format, as its man page gives it: one keyword a line followed
 * by its arguments; an argument with blanks is put in double quotes, in
 * which a backslash escapes the next character; a line starting with '#'
 * is a comment; a section starts with IMAPAccount, IMAPStore,
 * MaildirStore, Channel or Group (blank lines end sections, but the next
 * section keyword does too, which is all we rely on).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "mbsyncrc.h"

static const char *const section_keys[] = {
	"IMAPAccount",	"IMAP4Account", "IMAPStore", "IMAP4Store",
	"MaildirStore", "Channel",	"Group",     NULL,
};

static bool
is_section_key(const char *k)
{
	size_t i;

	for (i = 0; section_keys[i] != NULL; i++)
		if (strcasecmp(section_keys[i], k) == 0)
			return true;
	return false;
}

/* "Channel x" inside a Group names a member, not a new section. */
static bool
in_group(const struct mbsyncrc *rc, const char *key)
{
	return rc->nsections > 0 && strcasecmp(key, "Channel") == 0 &&
	       strcasecmp(rc->sections[rc->nsections - 1].head.key, "Group") ==
		       0;
}

/* One argument starting at *pp: quoted or bare; NULL at end of line. */
static int
next_token(const char **pp, const char *end, char **tok_r)
{
	const char *p = *pp;
	size_t cap, n = 0;
	char *tok;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	*pp = p;
	*tok_r = NULL;
	if (p == end)
		return 0;
	cap = (size_t)(end - p) + 1; /* a token never grows when unquoted */
	tok = xcalloc(1, cap);
	if (*p == '"') {
		p++;
		for (;;) {
			if (p == end) {
				free(tok);
				return -1;
			}
			if (*p == '"') {
				p++;
				break;
			}
			if (*p == '\\' && p + 1 < end)
				p++;
			tok[n++] = *p++;
		}
	} else {
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
			tok[n++] = *p++;
	}
	tok[n] = '\0';
	*pp = p;
	*tok_r = tok;
	return 0;
}

static void
line_deinit(struct mbsyncrc_line *l)
{
	size_t i;

	free(l->key);
	for (i = 0; i < l->nargs; i++)
		free(l->args[i]);
	free(l->args);
}

static int
parse_line(const char *p, const char *end, struct mbsyncrc_line *l_r)
{
	char *tok;

	memset(l_r, 0, sizeof(*l_r));
	if (next_token(&p, end, &l_r->key) < 0)
		return -1;
	for (;;) {
		if (next_token(&p, end, &tok) < 0) {
			line_deinit(l_r);
			return -1;
		}
		if (tok == NULL)
			return 0;
		l_r->args = xreallocarray(l_r->args, l_r->nargs + 1,
					  sizeof(*l_r->args));
		l_r->args[l_r->nargs++] = tok;
	}
}

static void
push_line(struct mbsyncrc_line **v, size_t *n, const struct mbsyncrc_line *l)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *l;
}

int
mbsyncrc_parse(const char *name, const char *text, size_t len,
	       struct mbsyncrc **rc_r, struct mf_err *err)
{
	struct mbsyncrc *rc = xcalloc(1, sizeof(*rc));
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	*rc_r = NULL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *s = p;
		struct mbsyncrc_line l;

		if (eol == NULL)
			eol = end;
		lineno++;
		p = eol < end ? eol + 1 : end;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if (s == eol || *s == '#' || *s == '\r')
			continue;
		if (parse_line(s, eol, &l) < 0) {
			mbsyncrc_free(&rc);
			return mf_err_set(err, MF_E_CONFIG,
					  "%s:%u: unterminated quoted string",
					  name, lineno);
		}
		l.line = lineno;
		if (is_section_key(l.key) && !in_group(rc, l.key)) {
			struct mbsyncrc_section *sec;

			if (l.nargs < 1 ||
			    (l.nargs > 1 && strcasecmp(l.key, "Group") != 0)) {
				mf_err_set(err, MF_E_CONFIG,
					   "%s:%u: %s needs exactly one name",
					   name, lineno, l.key);
				line_deinit(&l);
				mbsyncrc_free(&rc);
				return -1;
			}
			rc->sections = xreallocarray(rc->sections,
						     rc->nsections + 1,
						     sizeof(*rc->sections));
			sec = &rc->sections[rc->nsections++];
			memset(sec, 0, sizeof(*sec));
			sec->head = l;
		} else if (rc->nsections > 0) {
			struct mbsyncrc_section *sec =
				&rc->sections[rc->nsections - 1];

			push_line(&sec->lines, &sec->nlines, &l);
		} else {
			push_line(&rc->globals, &rc->nglobals, &l);
		}
	}
	*rc_r = rc;
	return 0;
}

void
mbsyncrc_free(struct mbsyncrc **rcp)
{
	struct mbsyncrc *rc = *rcp;
	size_t i, j;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->nglobals; i++)
		line_deinit(&rc->globals[i]);
	free(rc->globals);
	for (i = 0; i < rc->nsections; i++) {
		line_deinit(&rc->sections[i].head);
		for (j = 0; j < rc->sections[i].nlines; j++)
			line_deinit(&rc->sections[i].lines[j]);
		free(rc->sections[i].lines);
	}
	free(rc->sections);
	free(rc);
	*rcp = NULL;
}
