/*
 * Recorded near keywords that were never on the near side (near-kw.h).
 *
 * The corrections change only what the planner reads: the rows' keyword
 * pointers (the state database is written from plan entries, never from
 * these rows) and the near view's keyword strings.  New strings live in
 * the near side's arena, which lives as long as the rows of the pass.
 */
#include "near-kw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/xalloc.h"
#include "flags.h"

#define MARK_FMT "near-keywords:%" PRId64

int
near_kw_unmarked(struct box_run *r, bool *unmarked_r, struct mf_err *err)
{
	const struct mf_store *st = r->near.st;
	char key[64], *value = NULL;

	*unmarked_r = false;
	if (!(st->caps & MF_CAP_KEYWORDS) || (st->caps & MF_CAP_UIDS) ||
	    r->sbox->id == 0)
		return 0;
	snprintf(key, sizeof(key), MARK_FMT, r->sbox->id);
	if (state_meta_get(r->db, key, &value, err) < 0)
		return -1;
	*unmarked_r = value == NULL;
	free(value);
	return 0;
}

int
near_kw_mark(struct state_db *db, int64_t box_id, struct mf_err *err)
{
	char key[64];

	snprintf(key, sizeof(key), MARK_FMT, box_id);
	return state_meta_set(db, key, "stored", err);
}

static const char *
keep(struct side *s, char *str)
{
	const char *copy = mf_arena_strdup(s->arena, str);

	free(str);
	return copy;
}

/* a & b, allocated */
static char *
kw_and(const char *a, const char *b)
{
	char *only_a = mf_kw_minus(a, b), *both = mf_kw_minus(a, only_a);

	free(only_a);
	return both;
}

/* Is word[0..len) in the set, ignoring case (as both stores match)? */
static bool
kw_has_nocase(const char *set, const char *word, size_t len)
{
	const char *p = set != NULL ? set : "";

	while (*p != '\0') {
		size_t l = strcspn(p, " ");

		if (l == len && strncasecmp(p, word, len) == 0)
			return true;
		p += l + (p[l] == ' ');
	}
	return false;
}

/* (1): the recorded keywords the folder cannot show are still there. */
static void
keep_unseen(struct side *n, const char *recorded, struct mf_msg *m)
{
	char *unseen, *next;
	const char *p = recorded;

	if (p == NULL || p[0] == '\0')
		return;
	unseen = xstrdup("");
	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (!kw_has_nocase(n->kw_visible, p, len)) {
			next = xasprintf("%s %.*s", unseen, (int)len, p);
			free(unseen);
			unseen = next;
		}
		p += len + (p[len] == ' ');
	}

	if (unseen[0] != '\0')
		m->keywords = keep(n, mf_kw_union(m->keywords, unseen));
	free(unseen);
}

/* (2): what was recorded, cut down to what the file carries. */
static void
unmarked_row(struct box_run *r, struct state_msg *row, const struct mf_msg *m)
{
	long fi = -1;

	if (!r->far.reset && row->far_uid != 0)
		fi = side_find_uid(&r->far, row->far_uid);
	if (fi < 0) {
		row->near_keywords = (char *)m->keywords;
		return;
	}
	row->far_keywords = (char *)keep(&r->near, kw_and(row->far_keywords,
							  m->keywords));
	row->near_keywords = (char *)keep(&r->near, kw_and(row->near_keywords,
							   m->keywords));
}

/* The far spelling of word[0..len) if the far view has it in another
 * case, else NULL. */
static const char *
far_spelling(char **far_words, size_t nfar, const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < nfar; i++)
		if (strlen(far_words[i]) == len &&
		    strncasecmp(far_words[i], word, len) == 0 &&
		    strncmp(far_words[i], word, len) != 0)
			return far_words[i];
	return NULL;
}

/*
 * (3): IMAP keywords are case-insensitive and a server keeps one spelling,
 * but a dovecot-keywords written by another program may spell the same
 * keyword otherwise.  Compared as strings the two would read as one
 * keyword removed and another added, on both sides, and the removal
 * (case-insensitive on both stores) would take the keyword away.  So the
 * near view spells a keyword the way the far view does.
 */
static void
respell(struct box_run *r)
{
	struct side *n = &r->near;
	char *all = xstrdup(""), *next, **words = NULL;
	const char *last = NULL;
	size_t nwords = 0, cap = 0, i;

	for (i = 0; i < r->far.n; i++) {
		const char *kw = r->far.view[i].keywords;

		if (kw == NULL || kw[0] == '\0' || kw == last)
			continue;
		last = kw;
		next = mf_kw_union(all, kw);
		free(all);
		all = next;
	}
	for (const char *p = all; *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (nwords == cap) {
			cap = cap ? cap * 2 : 16;
			words = xreallocarray(words, cap, sizeof(*words));
		}
		words[nwords++] = xstrndup(p, len);
		p += len + (p[len] == ' ');
	}
	for (i = 0; i < n->n && nwords > 0; i++) {
		struct mf_msg *m = &n->view[i];
		char *out;
		bool changed = false;

		if (m->keywords == NULL || m->keywords[0] == '\0')
			continue;
		out = xstrdup("");

		for (const char *p = m->keywords; p != NULL && *p != '\0';) {
			size_t len = strcspn(p, " ");
			const char *far = far_spelling(words, nwords, p, len);

			next = xasprintf("%s %.*s", out,
					 far ? (int)strlen(far) : (int)len,
					 far ? far : p);
			free(out);
			out = next;
			changed |= far != NULL;
			p += len + (p[len] == ' ');
		}
		if (changed)
			m->keywords = keep(n, mf_kw_normalize(out));
		free(out);
	}
	for (i = 0; i < nwords; i++)
		free(words[i]);
	free(words);
	free(all);
}

/* (4): the far side's keywords the server does not keep are still
 * there. */
static void
far_unseen(struct box_run *r)
{
	struct side *f = &r->far;
	size_t i;

	if (!(f->st->caps & MF_CAP_KEYWORDS) || f->kw_visible == NULL ||
	    f->reset)
		return;
	for (i = 0; i < r->rows->n; i++) {
		const struct state_msg *row = &r->rows->v[i];
		long k;

		if (row->far_uid == 0 || row->pending != STATE_PENDING_NONE)
			continue;
		k = side_find_uid(f, row->far_uid);
		if (k >= 0)
			keep_unseen(f, row->far_keywords, &f->view[k]);
	}
}

void
near_kw_adjust(struct box_run *r)
{
	struct side *n = &r->near;
	size_t i;

	far_unseen(r);
	if ((n->st->caps & MF_CAP_KEYWORDS) && n->kw_visible != NULL)
		respell(r);
	if (!(n->st->caps & MF_CAP_KEYWORDS) || n->reset ||
	    (!r->near_kw_unmarked && n->kw_visible == NULL))
		return;
	for (i = 0; i < r->rows->n; i++) {
		struct state_msg *row = &r->rows->v[i];
		long k;

		if (!row_on_side(n, row) || row->pending != STATE_PENDING_NONE)
			continue;
		k = n->uids ? side_find_uid(n, row->near_uid) :
			      side_find_key(n, row->near_key);
		if (k < 0)
			continue;
		if (r->near_kw_unmarked)
			unmarked_row(r, row, &n->view[k]);
		else
			keep_unseen(n, row->near_keywords, &n->view[k]);
	}
}
