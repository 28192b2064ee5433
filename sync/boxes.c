/*
 * Folder pairing (see boxes.h for the API).
 *
 * Passes, in order.  A folder paired by one pass is not looked at again.
 *
 *   0. clean    - entries with a NULL or empty name are dropped; a name
 *                 listed twice on one side (a broken server) keeps its
 *                 first entry.  State rows with an empty name, or naming a
 *                 far or near folder an earlier row already names, are
 *                 ignored: one folder can be in one pair only, and a
 *                 second row must not make the first one's folder look
 *                 vanished.  Names are compared with a leading "INBOX"
 *                 component in any case (RFC 3501 section 5.1).
 *   1. state    - a state row pairs its far_name with its near_name first,
 *                 whatever the names or roles say now: the pairing is
 *                 remembered.  Both present: SYNC; one missing: VANISHED on
 *                 that side; both missing: VANISHED_BOTH.  A folder renamed
 *                 on one side thus shows as vanished plus new, never as
 *                 silently re-paired.
 *   1b. map     - policy->folder_map (the user's folder_map:): far folder
 *                 F goes with near folder N whatever their names or roles
 *                 say.  Both present: SYNC.  One present: it is created
 *                 on the other side under its mapped name, or reported,
 *                 as pass 4 does for an unmapped one (blocked when that
 *                 name is taken there: a \Noselect folder, a state row, a
 *                 pair made already).  A folder a state row has paired
 *                 stays with its row: the map is read for folders not
 *                 yet paired, so editing it never re-pairs a synced
 *                 folder behind the user's back.
 *   2. names    - same canonical name on both sides: SYNC.
 *   3. roles    - for each of sent, drafts, trash, junk, archive: when
 *                 exactly one unpaired far folder and exactly one unpaired
 *                 near folder have the role, and neither name exists on the
 *                 other side, they pair (role_mapped).  Two candidates on
 *                 a side: no mapping for that role, names only.  A side's
 *                 roles come from its store (IMAP SPECIAL-USE, RFC 6154);
 *                 when the store reports no role at all on that side
 *                 (maildir, or a server without SPECIAL-USE), from the
 *                 well-known names below, also found under "INBOX/" (the
 *                 Courier-style "INBOX." namespace).  The choice is per
 *                 side, not per folder: a server that marks "Sent" as \Sent
 *                 has told us an unmarked "Sent Items" is not it.
 *   4. leftover - an unpaired far folder is created on the near side under
 *                 the same canonical name when policy->create has
 *                 SYNC_SIDE_NEAR (CREATE_NEAR), else reported (SKIP_NEW_FAR).
 *                 When that name already exists on the near side (as a
 *                 \Noselect folder or paired with another folder), or a
 *                 state row claims it, creating it is impossible: SKIP, with
 *                 blocked set.  Near folders likewise, mirrored.
 *   5. patterns - a pair stays when its far name passes policy->folders
 *                 (for near-only pairs without a far name: its near name).
 *                 Excluded folders produce no pair, not even a vanished
 *                 one: a pattern change must never delete anything.
 *   6. only     - when names are given, only the pairs whose far or near
 *                 name is one of them stay; a name that names no pair left
 *                 after pass 5 is a usage error.
 *   7. order    - INBOX first, then pairs with a far folder or a state row
 *                 by far name (strcmp), then near-only pairs by near name.
 *
 * \Noselect folders (MF_BOX_NOSELECT) are never synced as message folders:
 * they take no part in passes 1-4 except that they occupy their name (pass
 * 4) and count as absent for a state row (so a folder deleted on a server
 * while it had children, which RFC 3501 section 6.3.4 turns into \Noselect,
 * is seen as vanished).  A \Noselect parent needs no action of its own: the
 * maildir store creates parents itself, and an IMAP server creates them on
 * CREATE (RFC 3501 section 6.3.3).
 *
 * A side that lists no folder at all while state rows exist is refused: an
 * IMAP server always has INBOX, so an empty LIST is a broken server or
 * connection, and taking it literally would mark every folder vanished.
 */
#include "boxes.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/str.h"
#include "base/suggest.h"
#include "base/xalloc.h"

/* One folder of one side, after cleaning. */
struct ent {
	const struct mf_box_info *info;
	const char *key;   /* the name, with a leading INBOX as "INBOX" */
	size_t idx;	   /* position in the input list */
	enum mf_role role; /* for pass 3; MF_ROLE_NONE if none */
	bool selectable;
	bool used; /* taken by a state row or a pair */
};

struct side {
	const char *label; /* "far" or "near", for logs */
	struct ent *v;	   /* sorted by key, keys unique */
	size_t n;
	const char **claims; /* keys named by live state rows, sorted */
	size_t nclaims;
};

struct srow {
	const struct state_box *st;
	const char *far_key, *near_key;
	size_t idx;
	bool live;
};

struct planner {
	const struct sync_policy *policy;
	struct box_plan *plan;
	size_t cap;
	struct side far, near;
	struct srow *rows;
	size_t nrows;
};

static const struct {
	const char *name;
	enum mf_role role;
} well_known[] = {
	{ "Sent", MF_ROLE_SENT },
	{ "Sent Items", MF_ROLE_SENT },
	{ "Sent Messages", MF_ROLE_SENT },
	{ "Sent Mail", MF_ROLE_SENT },
	{ "Drafts", MF_ROLE_DRAFTS },
	{ "Trash", MF_ROLE_TRASH },
	{ "Deleted Items", MF_ROLE_TRASH },
	{ "Deleted Messages", MF_ROLE_TRASH },
	{ "Bin", MF_ROLE_TRASH },
	{ "Junk", MF_ROLE_JUNK },
	{ "Spam", MF_ROLE_JUNK },
	{ "Junk E-mail", MF_ROLE_JUNK },
	{ "Junk Email", MF_ROLE_JUNK },
	{ "Archive", MF_ROLE_ARCHIVE },
	{ "Archives", MF_ROLE_ARCHIVE },
};

/* The roles pass 3 pairs by. */
static const enum mf_role mapped_roles[] = {
	MF_ROLE_SENT, MF_ROLE_DRAFTS,  MF_ROLE_TRASH,
	MF_ROLE_JUNK, MF_ROLE_ARCHIVE,
};

/* ---- names ------------------------------------------------------------ */

/* ASCII only: the C library's tolower() follows the locale, and in a
 * Turkish one 'I' does not lower to 'i'. */
static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ascii_nieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
		if (a[i] == '\0')
			return true;
	}
	return true;
}

static bool
ascii_ieq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Is the first component of name "INBOX" in any case? */
static bool
has_inbox(const char *name)
{
	return ascii_nieq(name, "INBOX", 5) &&
	       (name[5] == '\0' || name[5] == '/');
}

static bool
is_inbox(const char *name)
{
	return name != NULL && has_inbox(name) && name[5] == '\0';
}

/* The name as compared: a leading INBOX spelled "INBOX".  Returns name
 * itself when it already is, else a copy in the arena. */
static const char *
canon_key(struct mf_arena *arena, const char *name)
{
	char *key;

	if (!has_inbox(name) || memcmp(name, "INBOX", 5) == 0)
		return name;
	key = mf_arena_strdup(arena, name);
	memcpy(key, "INBOX", 5);
	return key;
}

/* Equal as canonical names, without allocating. */
static bool
name_eq(const char *a, const char *b)
{
	bool ia = has_inbox(a), ib = has_inbox(b);

	if (ia != ib)
		return false;
	return ia ? strcmp(a + 5, b + 5) == 0 : strcmp(a, b) == 0;
}

static int
nstrcmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* A name from a server or the command line, made safe for a message. */
static const char *
shown(char *buf, size_t size, const char *name)
{
	return mf_str_sanitize(buf, size, name, strlen(name));
}

/* ---- patterns --------------------------------------------------------- */

/* Does list hold a folder of this canonical name? */
static bool
list_has(const struct mf_box_list *list, const char *name)
{
	size_t i;

	for (i = 0; list != NULL && name != NULL && i < list->n; i++)
		if (list->v[i].name != NULL && name_eq(list->v[i].name, name))
			return true;
	return false;
}

static bool
list_matches(const struct mf_box_list *list, const char *pat)
{
	size_t i;

	for (i = 0; list != NULL && i < list->n; i++)
		if (boxes_match(&pat, 1, list->v[i].name))
			return true;
	return false;
}

/*
 * One pattern against one name, by dynamic programming over the name:
 * row[j] says whether the pattern read so far matches name[0..j).  No
 * backtracking, so a hostile name or pattern costs O(len * len), never
 * exponential time.  The first ci_len bytes of name compare without case.
 */
static bool
glob_match(const char *pat, const char *name, size_t ci_len)
{
	size_t len = strlen(name), j;
	bool *row = xcalloc(len + 1, sizeof(*row));
	bool any = true, matched;

	row[0] = true;
	for (; *pat != '\0' && any; pat++) {
		any = false;
		if (*pat == '*' || *pat == '%') {
			/* the wildcard may swallow name[j - 1] too */
			for (j = 1; j <= len; j++)
				if (!row[j] && row[j - 1] &&
				    (*pat == '*' || name[j - 1] != '/'))
					row[j] = true;
			for (j = 0; j <= len && !any; j++)
				any = row[j];
			continue;
		}
		/* right to left, so row[j - 1] is still the old value */
		for (j = len; j > 0; j--) {
			char c = name[j - 1];
			bool eq = j - 1 < ci_len ?
					  ascii_lower(c) == ascii_lower(*pat) :
					  c == *pat;

			row[j] = row[j - 1] && eq;
			any = any || row[j];
		}
		row[0] = false;
	}
	matched = *pat == '\0' && row[len];
	free(row);
	return matched;
}

bool
boxes_match(const char *const *patterns, size_t n, const char *name)
{
	size_t ci_len, i;

	if (name == NULL)
		return false;
	if (patterns == NULL || n == 0)
		return true;
	ci_len = has_inbox(name) ? 5 : 0;
	/* the last pattern that matches decides: look from the end */
	for (i = n; i-- > 0;) {
		const char *p = patterns[i];
		bool negated;

		if (p == NULL)
			continue;
		negated = p[0] == '!';
		if (glob_match(p + negated, name, ci_len))
			return !negated;
	}
	return false;
}

/* ---- sides ------------------------------------------------------------ */

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static struct ent *
side_find(const struct side *s, const char *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->v[mid].key, key);

		if (c == 0)
			return &s->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool
side_claimed(const struct side *s, const char *key)
{
	size_t lo = 0, hi = s->nclaims;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->claims[mid], key);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static enum mf_role
role_by_name(const char *key)
{
	size_t i;

	if (strncmp(key, "INBOX/", 6) == 0)
		key += 6;
	for (i = 0; i < MF_N_ELEMENTS(well_known); i++)
		if (ascii_ieq(key, well_known[i].name))
			return well_known[i].role;
	return MF_ROLE_NONE;
}

static bool
is_mapped_role(enum mf_role role)
{
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(mapped_roles); i++)
		if (role == mapped_roles[i])
			return true;
	return false;
}

/* Does the store report any special-use role (beyond INBOX)? */
static bool
store_has_roles(const struct side *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		enum mf_role r = s->v[i].info->role;

		if (r >= MF_ROLE_SENT && r <= MF_ROLE_IMPORTANT)
			return true;
	}
	return false;
}

static void
side_init(struct side *s, const char *label, const struct mf_box_list *list,
	  struct mf_arena *arena)
{
	char shown_buf[256];
	size_t i, n = 0;
	bool store_roles;

	s->label = label;
	s->v = xcalloc(list->n ? list->n : 1, sizeof(*s->v));
	for (i = 0; i < list->n; i++) {
		const struct mf_box_info *info = &list->v[i];

		if (info->name == NULL || info->name[0] == '\0') {
			mf_debug(MF_LOGC_SYNC,
				 "%s: folder without a name "
				 "ignored",
				 label);
			continue;
		}
		s->v[n].info = info;
		s->v[n].key = canon_key(arena, info->name);
		s->v[n].idx = i;
		s->v[n].selectable = !(info->attrs & MF_BOX_NOSELECT);
		n++;
	}
	mf_qsort(s->v, n, sizeof(*s->v), ent_cmp);
	s->n = 0;
	for (i = 0; i < n; i++) {
		if (s->n > 0 && strcmp(s->v[s->n - 1].key, s->v[i].key) == 0) {
			mf_debug(MF_LOGC_SYNC,
				 "%s: folder '%s' listed twice, "
				 "second entry ignored",
				 label,
				 shown(shown_buf, sizeof(shown_buf),
				       s->v[i].info->name));
			continue;
		}
		s->v[s->n++] = s->v[i];
	}
	store_roles = store_has_roles(s);
	for (i = 0; i < s->n; i++) {
		struct ent *e = &s->v[i];
		enum mf_role r = store_roles ? e->info->role :
					       role_by_name(e->key);

		e->role = e->selectable && is_mapped_role(r) ? r : MF_ROLE_NONE;
	}
}

static void
side_deinit(struct side *s)
{
	free(s->v);
	free(s->claims);
	memset(s, 0, sizeof(*s));
}

/* ---- state rows ------------------------------------------------------- */

static int
row_cmp_far(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;
	int c = strcmp(x->far_key, y->far_key);

	if (c != 0)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int
row_cmp_near(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;
	int c = strcmp(x->near_key, y->near_key);

	if (c != 0)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int
row_cmp_idx(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;

	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
mark_dup_rows(struct srow *rows, size_t n, bool by_far)
{
	const char *last = NULL;
	char shown_buf[256];
	size_t i;

	mf_qsort(rows, n, sizeof(*rows), by_far ? row_cmp_far : row_cmp_near);
	for (i = 0; i < n; i++) {
		const char *key = by_far ? rows[i].far_key : rows[i].near_key;

		if (!rows[i].live)
			continue;
		if (last != NULL && strcmp(last, key) == 0) {
			rows[i].live = false;
			mf_debug(MF_LOGC_SYNC,
				 "state: second row for %s "
				 "folder '%s' ignored",
				 by_far ? "far" : "near",
				 shown(shown_buf, sizeof(shown_buf), key));
			continue;
		}
		last = key;
	}
}

static void
rows_init(struct planner *p, const struct state_box_list *state)
{
	struct mf_arena *arena = p->plan->arena;
	size_t i, n = 0, nfar = 0, nnear = 0;

	if (state == NULL || state->n == 0)
		return;
	p->rows = xcalloc(state->n, sizeof(*p->rows));
	for (i = 0; i < state->n; i++) {
		const struct state_box *st = &state->v[i];

		if (st->far_name == NULL || st->far_name[0] == '\0' ||
		    st->near_name == NULL || st->near_name[0] == '\0') {
			mf_debug(MF_LOGC_SYNC,
				 "state: row %lld without a "
				 "name ignored",
				 (long long)st->id);
			continue;
		}
		p->rows[n].st = st;
		p->rows[n].far_key = canon_key(arena, st->far_name);
		p->rows[n].near_key = canon_key(arena, st->near_name);
		p->rows[n].idx = i;
		p->rows[n].live = true;
		n++;
	}
	p->nrows = n;
	mark_dup_rows(p->rows, n, true);
	mark_dup_rows(p->rows, n, false);
	mf_qsort(p->rows, n, sizeof(*p->rows), row_cmp_idx);

	p->far.claims = xcalloc(n ? n : 1, sizeof(*p->far.claims));
	p->near.claims = xcalloc(n ? n : 1, sizeof(*p->near.claims));
	for (i = 0; i < n; i++) {
		if (!p->rows[i].live)
			continue;
		p->far.claims[nfar++] = p->rows[i].far_key;
		p->near.claims[nnear++] = p->rows[i].near_key;
	}
	mf_qsort(p->far.claims, nfar, sizeof(*p->far.claims), str_cmp);
	mf_qsort(p->near.claims, nnear, sizeof(*p->near.claims), str_cmp);
	p->far.nclaims = nfar;
	p->near.nclaims = nnear;
}

/* ---- the passes ------------------------------------------------------- */

static struct box_pair *
pair_add(struct planner *p, enum box_action action)
{
	struct box_plan *plan = p->plan;
	struct box_pair *pair;

	if (plan->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		plan->v = xreallocarray(plan->v, p->cap, sizeof(*plan->v));
	}
	pair = &plan->v[plan->n++];
	memset(pair, 0, sizeof(*pair));
	pair->action = action;
	return pair;
}

static void
pass_state(struct planner *p)
{
	size_t i;

	for (i = 0; i < p->nrows; i++) {
		const struct srow *r = &p->rows[i];
		struct ent *f, *n;
		const struct mf_box_info *fi = NULL, *ni = NULL;
		struct box_pair *pair;
		enum box_action action;

		if (!r->live)
			continue;
		/* a \Noselect entry is taken too: the row owns the name */
		f = side_find(&p->far, r->far_key);
		n = side_find(&p->near, r->near_key);
		if (f != NULL) {
			f->used = true;
			fi = f->selectable ? f->info : NULL;
		}
		if (n != NULL) {
			n->used = true;
			ni = n->selectable ? n->info : NULL;
		}
		if (fi != NULL && ni != NULL)
			action = BOX_SYNC;
		else if (fi != NULL)
			action = BOX_VANISHED_NEAR;
		else if (ni != NULL)
			action = BOX_VANISHED_FAR;
		else
			action = BOX_VANISHED_BOTH;
		pair = pair_add(p, action);
		pair->far = fi;
		pair->near = ni;
		pair->far_role = fi != NULL ? f->role : MF_ROLE_NONE;
		pair->near_role = ni != NULL ? n->role : MF_ROLE_NONE;
		pair->far_name = fi != NULL ? fi->name : r->st->far_name;
		pair->near_name = ni != NULL ? ni->name : r->st->near_name;
		pair->state = r->st;
	}
}

/* f and n (unpaired, selectable) go together: SYNC.  Both are taken. */
static struct box_pair *
pair_sync(struct planner *p, struct ent *f, struct ent *n)
{
	struct box_pair *pair = pair_add(p, BOX_SYNC);

	f->used = n->used = true;
	pair->far = f->info;
	pair->near = n->info;
	pair->far_role = f->role;
	pair->near_role = n->role;
	pair->far_name = f->info->name;
	pair->near_name = n->info->name;
	return pair;
}

/*
 * A folder of one side only (e): created on the other side as `there`
 * when policy->create allows, else reported; blocked (never created) when
 * that name exists there (a \Noselect folder, a folder paired already) or
 * a state row claims it.  Pass 4 gives the folder's own name, pass 1b the
 * mapped one.
 */
static struct box_pair *
pair_one_sided(struct planner *p, const struct ent *e, bool far_side,
	       const char *there)
{
	const struct side *other = far_side ? &p->near : &p->far;
	unsigned create_bit = far_side ? SYNC_SIDE_NEAR : SYNC_SIDE_FAR;
	bool blocked = side_find(other, there) != NULL ||
		       side_claimed(other, there);
	struct box_pair *pair;

	if (!blocked && (p->policy->create & create_bit)) {
		pair = pair_add(p, far_side ? BOX_CREATE_NEAR : BOX_CREATE_FAR);
		if (far_side)
			pair->near_name = there;
		else
			pair->far_name = there;
	} else {
		pair = pair_add(p, far_side ? BOX_SKIP_NEW_FAR :
					      BOX_SKIP_NEW_NEAR);
		pair->blocked = blocked;
	}
	if (far_side) {
		pair->far = e->info;
		pair->far_name = e->info->name;
		pair->far_role = e->role;
	} else {
		pair->near = e->info;
		pair->near_name = e->info->name;
		pair->near_role = e->role;
	}
	return pair;
}

static void
pass_names(struct planner *p)
{
	size_t i;

	for (i = 0; i < p->far.n; i++) {
		struct ent *f = &p->far.v[i], *n;

		if (f->used || !f->selectable)
			continue;
		n = side_find(&p->near, f->key);
		if (n == NULL || n->used || !n->selectable)
			continue;
		pair_sync(p, f, n);
	}
}

static void
pass_map(struct planner *p)
{
	size_t i;

	for (i = 0; i < p->policy->nfolder_map; i++) {
		const struct sync_folder_map *m = &p->policy->folder_map[i];
		const char *fk, *nk;
		struct ent *f, *n;

		if (m->far == NULL || m->near == NULL || m->far[0] == '\0' ||
		    m->near[0] == '\0')
			continue;
		fk = canon_key(p->plan->arena, m->far);
		nk = canon_key(p->plan->arena, m->near);
		f = side_find(&p->far, fk);
		n = side_find(&p->near, nk);
		/* a row's folders stay with it; an unusable one is nothing */
		if (f != NULL && (f->used || !f->selectable))
			f = NULL;
		if (n != NULL && (n->used || !n->selectable))
			n = NULL;
		/* the far folder's row vanished with it: the row decides */
		if (f == NULL && side_claimed(&p->far, fk))
			continue;
		/* what is left of f and n is unpaired: a name there that
		 * exists is taken (pair_one_sided() blocks it) */
		if (f != NULL && n != NULL) {
			pair_sync(p, f, n)->map_paired = true;
		} else if (f != NULL) {
			f->used = true;
			pair_one_sided(p, f, true, nk)->map_paired = true;
		} else if (n != NULL) {
			n->used = true;
			pair_one_sided(p, n, false, fk)->map_paired = true;
		}
	}
}

/* The one unpaired folder of side s with this role whose name does not
 * exist on the other side; NULL if none or more than one. */
static struct ent *
role_candidate(const struct side *s, const struct side *other,
	       enum mf_role role)
{
	struct ent *found = NULL;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct ent *e = &s->v[i];

		if (e->used || e->role != role ||
		    side_find(other, e->key) != NULL ||
		    side_claimed(other, e->key))
			continue;
		if (found != NULL) {
			mf_debug(MF_LOGC_SYNC,
				 "%s: several %s folders, "
				 "pairing them by name only",
				 s->label, mf_role_name(role));
			return NULL;
		}
		found = e;
	}
	return found;
}

static void
pass_roles(struct planner *p)
{
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(mapped_roles); i++) {
		struct ent *f, *n;

		f = role_candidate(&p->far, &p->near, mapped_roles[i]);
		n = role_candidate(&p->near, &p->far, mapped_roles[i]);
		if (f == NULL || n == NULL)
			continue;
		pair_sync(p, f, n)->role_mapped = true;
	}
}

static void
pass_leftovers(struct planner *p, bool far_side)
{
	const struct side *s = far_side ? &p->far : &p->near;
	size_t i;

	/* the new folder gets the same canonical name */
	for (i = 0; i < s->n; i++)
		if (!s->v[i].used && s->v[i].selectable)
			pair_one_sided(p, &s->v[i], far_side, s->v[i].key);
}

static void
pass_patterns(struct planner *p)
{
	struct box_plan *plan = p->plan;
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++) {
		const struct box_pair *pair = &plan->v[i];
		const char *name = pair->far_name != NULL ? pair->far_name :
							    pair->near_name;

		if (boxes_match(p->policy->folders, p->policy->nfolders, name))
			plan->v[n++] = *pair;
	}
	plan->n = n;
}

/* The far or near name closest to a folder named on the command line. */
static const char *
suggest_folder(const struct box_plan *plan, const char *word)
{
	const char **names = xcalloc(2 * plan->n + 1, sizeof(*names));
	const char *hint;
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++) {
		if (plan->v[i].far_name != NULL)
			names[n++] = plan->v[i].far_name;
		if (plan->v[i].near_name != NULL)
			names[n++] = plan->v[i].near_name;
	}
	hint = mf_suggest(word, names, n);
	free(names);
	return hint;
}

static int
pass_only(struct planner *p, const char *const *only, size_t nonly,
	  struct mf_err *err)
{
	struct box_plan *plan = p->plan;
	bool *keep;
	size_t i, j, n = 0;

	if (only == NULL || nonly == 0)
		return 0;
	keep = xcalloc(plan->n ? plan->n : 1, sizeof(*keep));
	for (i = 0; i < nonly; i++) {
		bool found = false;

		if (only[i] == NULL)
			continue;
		for (j = 0; j < plan->n; j++) {
			const struct box_pair *pair = &plan->v[j];

			if ((pair->far_name != NULL &&
			     name_eq(pair->far_name, only[i])) ||
			    (pair->near_name != NULL &&
			     name_eq(pair->near_name, only[i])))
				found = keep[j] = true;
		}
		if (!found) {
			char buf[256], hbuf[256];
			const char *hint = suggest_folder(plan, only[i]);

			free(keep);
			return mf_err_set(err, MF_E_USAGE,
					  "no folder '%s' in channel%s%s%s",
					  shown(buf, sizeof(buf), only[i]),
					  hint ? "; did you mean '" : "",
					  hint ? shown(hbuf, sizeof(hbuf),
						       hint) :
						 "",
					  hint ? "'?" : "");
		}
	}
	for (j = 0; j < plan->n; j++)
		if (keep[j])
			plan->v[n++] = plan->v[j];
	plan->n = n;
	free(keep);
	return 0;
}

/* 0: INBOX; 1: has a far folder or a state row; 2: near only */
static int
pair_group(const struct box_pair *pair)
{
	if (is_inbox(pair->far_name != NULL ? pair->far_name : pair->near_name))
		return 0;
	if (pair->far != NULL || pair->state != NULL)
		return 1;
	return 2;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct box_pair *x = a, *y = b;
	int gx = pair_group(x), gy = pair_group(y), c;

	if (gx != gy)
		return gx - gy;
	if (gx == 2) {
		c = nstrcmp(x->near_name, y->near_name);
		return c != 0 ? c : nstrcmp(x->far_name, y->far_name);
	}
	c = nstrcmp(x->far_name, y->far_name);
	return c != 0 ? c : nstrcmp(x->near_name, y->near_name);
}

/* ---- entry points ----------------------------------------------------- */

static int
check_empty_side(const struct planner *p, const struct side *s,
		 struct mf_err *err)
{
	size_t i, live = 0;

	if (s->n > 0)
		return 0;
	for (i = 0; i < p->nrows; i++)
		live += p->rows[i].live;
	if (live == 0)
		return 0;
	return mf_err_set(err, MF_E_STORE,
			  "%s side lists no folders, but "
			  "%zu were synced; refusing to take them as deleted",
			  s->label, live);
}

int
boxes_plan(const struct mf_box_list *far, const struct mf_box_list *near,
	   const struct state_box_list *state, const struct sync_policy *policy,
	   const char *const *only, size_t nonly, struct box_plan **plan_r,
	   struct mf_err *err)
{
	struct planner p = { 0 };
	int ret = -1;

	*plan_r = NULL;
	if (far == NULL || near == NULL || policy == NULL)
		return mf_err_set(err, MF_E_INTERNAL,
				  "boxes_plan: missing folder list or policy");
	p.policy = policy;
	p.plan = xcalloc(1, sizeof(*p.plan));
	p.plan->arena = mf_arena_create(1024);
	side_init(&p.far, "far", far, p.plan->arena);
	side_init(&p.near, "near", near, p.plan->arena);
	rows_init(&p, state);
	if (check_empty_side(&p, &p.far, err) < 0 ||
	    check_empty_side(&p, &p.near, err) < 0)
		goto out;

	pass_state(&p);
	pass_map(&p);
	pass_names(&p);
	pass_roles(&p);
	pass_leftovers(&p, true);
	pass_leftovers(&p, false);
	pass_patterns(&p);
	if (pass_only(&p, only, nonly, err) < 0)
		goto out;
	mf_qsort(p.plan->v, p.plan->n, sizeof(*p.plan->v), pair_cmp);
	*plan_r = p.plan;
	p.plan = NULL;
	ret = 0;
out:
	boxes_plan_free(&p.plan);
	side_deinit(&p.far);
	side_deinit(&p.near);
	free(p.rows);
	return ret;
}

void
boxes_plan_free(struct box_plan **planp)
{
	struct box_plan *plan = *planp;

	if (plan == NULL)
		return;
	free(plan->v);
	mf_arena_destroy(&plan->arena);
	free(plan);
	*planp = NULL;
}

const char *
boxes_action_name(enum box_action action)
{
	switch (action) {
	case BOX_SYNC:
		return "sync";
	case BOX_CREATE_NEAR:
		return "create-near";
	case BOX_CREATE_FAR:
		return "create-far";
	case BOX_SKIP_NEW_FAR:
		return "skip-new-far";
	case BOX_SKIP_NEW_NEAR:
		return "skip-new-near";
	case BOX_VANISHED_FAR:
		return "vanished-far";
	case BOX_VANISHED_NEAR:
		return "vanished-near";
	case BOX_VANISHED_BOTH:
		return "vanished-both";
	case BOX_RENAMED:
		return "renamed";
	case BOX_FOLDED:
		return "folded";
	}
	return "?";
}

void
boxes_warn_unmatched(const struct mf_box_list *far,
		     const struct mf_box_list *near,
		     const struct sync_policy *policy, const char *channel)
{
	size_t k;

	for (k = 0; k < policy->nfolders; k++) {
		const char *pat = policy->folders[k];
		char buf[256];

		if (pat[0] == '!' || list_matches(far, pat) ||
		    list_matches(near, pat))
			continue;
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: folders: pattern '%s' matches no folder on "
		       "either side",
		       channel != NULL ? channel : "?",
		       shown(buf, sizeof(buf), pat));
	}
	for (k = 0; k < policy->nfolder_map; k++) {
		const struct sync_folder_map *m = &policy->folder_map[k];
		char fbuf[256], nbuf[256];

		if (list_has(far, m->far) || list_has(near, m->near))
			continue;
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: folder_map: no far folder '%s' and no near "
		       "folder '%s'",
		       channel != NULL ? channel : "?",
		       shown(fbuf, sizeof(fbuf), m->far),
		       shown(nbuf, sizeof(nbuf), m->near));
	}
}
