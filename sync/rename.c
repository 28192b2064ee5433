/*
 * Folder renames (rename.h has the rules): find the evidence, decide,
 * carry the renames out, rewrite the folder plan.  Runs once per channel
 * after the folders are paired and before the move pass (sync.c).
 *
 * Cost: nothing on a channel where no folder vanished, or where no
 * folder is new on the side it vanished from.  Otherwise one readonly
 * SELECT and one listing (UIDs and sizes, or the directory) of each new
 * folder on that side, and the state rows of each vanished one.
 */
#include "rename.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/str.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "engine.h"
#include "ident.h"
#include "state.h"
#include "sync.h"

/* ---- deciding (pure) -------------------------------------------------- */

/*
 * Is the folder the state row of p recorded gone from a side: not listed
 * there, or listed with another UIDVALIDITY (reset: a folder made anew
 * under the old name, as after a RENAME of INBOX or a rename and a
 * CREATE of the old name)?  reset: [2 * pair + near], or NULL.
 */
static bool
gone_on(const struct box_pair *pairs, size_t i, const bool *reset, bool far)
{
	const struct box_pair *p = &pairs[i];

	if (p->state == NULL)
		return false;
	if ((far ? p->far : p->near) == NULL)
		return true;
	return reset != NULL && reset[2 * i + !far];
}

static bool
is_inbox(const struct box_pair *p)
{
	return p->far_name != NULL && mf_str_ieq(p->far_name, "INBOX");
}

/* The one link of gone (or of cand) on a side, or NULL for none or more
 * than one. */
static const struct rename_link *
only_link(const struct rename_link *links, size_t nlinks, size_t idx,
	  bool by_gone, bool far)
{
	const struct rename_link *found = NULL;
	size_t i;

	for (i = 0; i < nlinks; i++) {
		if (links[i].far != far ||
		    (by_gone ? links[i].gone : links[i].cand) != idx)
			continue;
		if (found != NULL)
			return NULL;
		found = &links[i];
	}
	return found;
}

/* gone's link on a side, when it is gone's only one and its cand's only
 * one: the one kind of evidence taken */
static const struct rename_link *
sole_link(const struct rename_link *links, size_t nlinks, size_t gone, bool far)
{
	const struct rename_link *l = only_link(links, nlinks, gone, true, far);

	if (l == NULL || only_link(links, nlinks, l->cand, false, far) != l)
		return NULL;
	return l;
}

/* The job for pair g, if the links prove one (rename.h). */
static bool
decide_one(const struct box_pair *pairs, size_t g, const bool *reset,
	   const struct rename_link *links, size_t nlinks, struct rename_job *j)
{
	bool gf = gone_on(pairs, g, reset, true);
	bool gn = gone_on(pairs, g, reset, false);
	const struct rename_link *lf = sole_link(links, nlinks, g, true);
	const struct rename_link *ln = sole_link(links, nlinks, g, false);

	memset(j, 0, sizeof(*j));
	j->gone = g;
	if (gf && !gn) {
		/* INBOX stays: its messages go to the new folder, which a
		 * run stopped part way has made already */
		if (lf == NULL || !(pairs[lf->cand].action == BOX_CREATE_NEAR ||
				    (is_inbox(&pairs[g]) &&
				     pairs[lf->cand].action == BOX_SYNC)))
			return false;
		j->kind = RENAME_FAR;
		j->cand = lf->cand;
		return true;
	}
	if (gn && !gf) {
		if (ln == NULL || pairs[ln->cand].action != BOX_CREATE_FAR ||
		    is_inbox(&pairs[g]))
			return false;
		j->kind = RENAME_NEAR;
		j->cand = ln->cand;
		return true;
	}
	if (!gf || lf == NULL || ln == NULL || is_inbox(&pairs[g]))
		return false;
	j->cand = lf->cand;
	if (lf->cand == ln->cand) {
		j->kind = RENAME_RECORD;
		return pairs[lf->cand].action == BOX_SYNC;
	}
	j->kind = RENAME_FAR_WINS;
	j->fold = ln->cand;
	return pairs[lf->cand].action == BOX_CREATE_NEAR &&
	       pairs[ln->cand].action == BOX_CREATE_FAR;
}

size_t
rename_decide(const struct box_pair *pairs, size_t npairs, const bool *reset,
	      const struct rename_link *links, size_t nlinks,
	      struct rename_job *jobs)
{
	size_t g, n = 0;

	for (g = 0; g < npairs; g++)
		if (decide_one(pairs, g, reset, links, nlinks, &jobs[n]))
			n++;
	return n;
}

/* ---- evidence --------------------------------------------------------- */

/* A new folder's listing on one side, read once for every vanished one. */
struct cand_scan {
	bool tried, ok;
	uint32_t uidvalidity;
	struct mf_scan_result *res;
};

static const char *
name_on(const struct box_pair *p, bool far)
{
	return far ? p->far_name : p->near_name;
}

/* May p be a renamed folder's new pair, seen on side far? */
static bool
is_cand(const struct box_pair *p, bool far)
{
	const struct mf_box_info *info = far ? p->far : p->near;

	if (p->state != NULL || p->role_mapped || info == NULL ||
	    (info->attrs & MF_BOX_NOSELECT) || p->far_name == NULL ||
	    p->near_name == NULL || strcmp(p->far_name, p->near_name) != 0 ||
	    mf_str_ieq(p->far_name, "INBOX"))
		return false;
	return p->action == BOX_SYNC ||
	       p->action == (far ? BOX_CREATE_NEAR : BOX_CREATE_FAR);
}

/* May pair i be a renamed folder, gone from side far?  INBOX only when
 * the far one is made anew (a RENAME of INBOX on the server). */
static bool
is_gone_on(const struct box_plan *plan, size_t i, const bool *reset, bool far)
{
	const struct box_pair *p = &plan->v[i];

	if (!gone_on(plan->v, i, reset, far) || p->role_mapped ||
	    p->far_name == NULL || p->near_name == NULL ||
	    strcmp(p->far_name, p->near_name) != 0)
		return false;
	return !is_inbox(p) || (far && reset[2 * i]);
}

/* Listed with another UIDVALIDITY than the state recorded? */
static bool
listed_anew(const struct mf_box_info *info, const struct state_side *rec)
{
	return info != NULL && info->status.has_status &&
	       info->status.uidvalidity != 0 && rec->uidvalidity != 0 &&
	       info->status.uidvalidity != rec->uidvalidity;
}

/* [2 * pair + near]: the folder under the row's name is another one */
static bool *
resets_of(const struct sync_opts *o, const struct box_plan *plan)
{
	bool *reset = xcalloc(2 * plan->n + 1, sizeof(*reset));
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct box_pair *p = &plan->v[i];

		if (p->state == NULL)
			continue;
		reset[2 * i] = (o->far->caps & MF_CAP_UIDS) &&
			       listed_anew(p->far, &p->state->far);
		reset[2 * i + 1] = (o->near->caps & MF_CAP_UIDS) &&
				   listed_anew(p->near, &p->state->near);
	}
	return reset;
}

static int
scan_cand(struct mf_store *st, const char *name, struct cand_scan *cs,
	  struct mf_err *err)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_scan_req req = { 0 };
	struct mf_box_status status = { 0 };
	struct mf_err e = { 0 };

	cs->tried = true;
	req.want = (st->caps & MF_CAP_UIDS) ? MF_WANT_SIZE : 0;
	if (st->ops->select_box(st, name, &sel, &status, &e) < 0 ||
	    st->ops->scan(st, &req, &cs->res, &e) < 0) {
		if (mf_err_is_store_level(e.cls)) {
			*err = e;
			return mf_err_prefix(err, "%s", name);
		}
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
		       "%s: not read for a rename: %s", name, e.msg);
		return 0;
	}
	cs->uidvalidity = status.uidvalidity;
	cs->ok = true;
	return 0;
}

static int
cmp_uid(const void *key, const void *elem)
{
	uint32_t u = *(const uint32_t *)key;
	const struct mf_msg *m = elem;

	return u < m->uid ? -1 : u > m->uid;
}

static int
cmp_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mf_msg *)elem)->key);
}

/*
 * Is the folder listed in cs the one whose rows these are (rename.h,
 * "Enough")?  rec: the state's record of that side.
 */
static bool
same_folder(const struct state_msg_list *rows, const struct state_side *rec,
	    bool far, bool uids, const struct cand_scan *cs)
{
	size_t i, with_id = 0, matched = 0, against = 0;

	if (!cs->ok || (uids && (rec->uidvalidity == 0 ||
				 cs->uidvalidity != rec->uidvalidity)))
		return false;
	for (i = 0; i < rows->n; i++) {
		const struct state_msg *row = &rows->v[i];
		uint32_t uid = far ? row->far_uid : row->near_uid;
		const struct mf_msg *m;

		if (uids ? uid == 0 : row->near_key == NULL)
			continue;
		with_id++;
		m = uids ? bsearch(&uid, cs->res->msgs, cs->res->n, sizeof(*m),
				   cmp_uid) :
			   bsearch(row->near_key, cs->res->msgs, cs->res->n,
				   sizeof(*m), cmp_key);
		if (m == NULL)
			continue;
		if (uids && row->size != 0 && m->size != 0 &&
		    row->size != m->size)
			against++;
		else
			matched++;
	}
	return matched > 0 && against == 0 && 2 * matched >= with_id;
}

/*
 * A UID side's evidence is numbers only, and a folder made anew with the
 * old one's UIDVALIDITY (a server that hands out 1 to every folder, one
 * that reuses them) can hold other messages of the same sizes under the
 * same UIDs.  So the header of a sample of the matched messages is read:
 * each must have the identity its row recorded.  Up to RENAME_SAMPLE of
 * them, spread over the folder; rows without an identity are not asked.
 */
#define RENAME_SAMPLE 16

static int
identities_agree(struct mf_store *st, const char *name,
		 const struct state_msg_list *rows, bool far,
		 const struct cand_scan *cs, bool *agree, struct mf_err *err)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_fetch_item items[RENAME_SAMPLE];
	struct ident_sink sinks[RENAME_SAMPLE];
	const struct state_msg *asked[RENAME_SAMPLE];
	size_t i, n = 0, have = 0, k, stride;
	struct mf_err e = { 0 };
	int ret = 0;

	*agree = true;
	for (i = 0; i < rows->n; i++) {
		uint32_t uid = far ? rows->v[i].far_uid : rows->v[i].near_uid;

		have += uid != 0 && rows->v[i].msgid != NULL &&
			bsearch(&uid, cs->res->msgs, cs->res->n,
				sizeof(struct mf_msg), cmp_uid) != NULL;
	}
	stride = have > RENAME_SAMPLE ? have / RENAME_SAMPLE : 1;
	for (i = 0, k = 0; i < rows->n && n < RENAME_SAMPLE; i++) {
		const struct state_msg *row = &rows->v[i];
		uint32_t uid = far ? row->far_uid : row->near_uid;

		if (uid == 0 || row->msgid == NULL ||
		    bsearch(&uid, cs->res->msgs, cs->res->n,
			    sizeof(struct mf_msg), cmp_uid) == NULL)
			continue;
		/* every stride-th of them, so the sample spans the folder */
		if (k++ % stride != 0)
			continue;
		memset(&items[n], 0, sizeof(items[n]));
		ident_sink_init(&sinks[n], NULL);
		items[n].uid = uid;
		items[n].sink = &sinks[n].sink;
		items[n].header_only = true;
		asked[n++] = row;
	}
	if (n == 0)
		return 0;
	if (st->ops->select_box(st, name, &sel, NULL, &e) < 0 ||
	    st->ops->fetch(st, items, n, &e) < 0) {
		*agree = false;
		if (mf_err_is_store_level(e.cls)) {
			*err = e;
			ret = mf_err_prefix(err, "%s", name);
		}
	}
	for (i = 0; i < n; i++) {
		char id[IDENT_MAX];

		if (ret == 0 && *agree && items[i].status == 0) {
			ident_sink_identity(&sinks[i], id);
			*agree = strcmp(id, asked[i]->msgid) == 0;
		} else if (items[i].status != 0) {
			*agree = false;
		}
		ident_sink_deinit(&sinks[i]);
	}
	return ret;
}

struct finder {
	const struct sync_opts *o;
	struct box_plan *plan;
	const bool *reset;
	struct cand_scan *scans; /* [2 * pair + near] */
	struct rename_link *links;
	size_t nlinks, cap;
};

/* The links of vanished folder g on one side. */
static int
links_of(struct finder *f, size_t g, bool far, struct mf_err *err)
{
	const struct box_pair *gp = &f->plan->v[g];
	struct mf_store *st = far ? f->o->far : f->o->near;
	bool uids = (st->caps & MF_CAP_UIDS) != 0;
	struct state_msg_list *rows = NULL;
	size_t c;
	int ret = 0;

	for (c = 0; c < f->plan->n && ret == 0; c++) {
		const struct box_pair *cp = &f->plan->v[c];
		struct cand_scan *cs = &f->scans[2 * c + !far];

		if (!is_cand(cp, far))
			continue;
		if (rows == NULL &&
		    state_msgs_load(f->o->db, gp->state->id, &rows, err) < 0)
			return -1;
		if (!cs->tried)
			ret = scan_cand(st, name_on(cp, far), cs, err);
		if (ret == 0 &&
		    same_folder(rows, far ? &gp->state->far : &gp->state->near,
				far, uids, cs)) {
			bool agree = true;

			if (uids)
				ret = identities_agree(st, name_on(cp, far),
						       rows, far, cs, &agree,
						       err);
			if (ret < 0 || !agree) {
				if (ret == 0)
					mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
					       "%s is not %s renamed: the "
					       "same UIDs hold other "
					       "messages",
					       name_on(cp, far),
					       name_on(gp, far));
				continue;
			}
			if (f->nlinks == f->cap) {
				f->cap = f->cap ? 2 * f->cap : 8;
				f->links = xrealloc(f->links,
						    f->cap * sizeof(*f->links));
			}
			f->links[f->nlinks].gone = g;
			f->links[f->nlinks].cand = c;
			f->links[f->nlinks].far = far;
			f->nlinks++;
		}
	}
	state_msg_list_free(&rows);
	return ret;
}

/* ---- carrying out ----------------------------------------------------- */

/* Renames done on one side in this run, for the children that followed
 * their parent there. */
struct done {
	bool far;
	const char *from, *to;
};

struct doer {
	const struct sync_opts *o;
	struct box_plan *plan;
	struct state_box_list *state;
	const bool *reset;
	struct done *done;
	size_t ndone;
	/* pairs for the folders made anew under a renamed one's name */
	struct box_pair *extra;
	size_t nextra;
};

/* What a folder listed as name is called now on side far. */
static const char *
now_named(const struct doer *d, bool far, const char *name)
{
	size_t i;

	for (i = d->ndone; i-- > 0;) {
		const struct done *x = &d->done[i];
		size_t n = strlen(x->from);
		char *s;

		if (x->far != far || strncmp(name, x->from, n) != 0 ||
		    name[n] != '/')
			continue;
		s = xasprintf("%s%s", x->to, name + n);
		name = mf_arena_strdup(d->plan->arena, s);
		free(s);
		return name;
	}
	return name;
}

/*
 * INBOX renamed on the server: Dovecot (RFC 3501 section 6.3.5) moves
 * its messages into the new folder, which keeps INBOX's UIDVALIDITY and
 * UIDs, and makes INBOX anew.  The local INBOX stays; the files its row
 * names are moved into the new folder (rename(2), names kept), where the
 * row follows them.  A key side only: an IMAP near side's moves would
 * give new UIDs the row does not have.  1: done; 0: not possible; -1:
 * store-level error.  Done twice after a stop, a file moved already is
 * simply not in INBOX any more.
 */
static int
inbox_out(struct doer *d, const struct rename_job *j, struct mf_err *err)
{
	const struct box_pair *g = &d->plan->v[j->gone];
	const struct box_pair *c = &d->plan->v[j->cand];
	struct mf_store *st = d->o->near;
	struct mf_select_req sel = { .readonly = false };
	struct state_msg_list *rows = NULL;
	struct mf_move_item *items;
	struct mf_err e = { 0 };
	size_t i, n = 0;
	int ret = 1;

	if ((st->caps & MF_CAP_UIDS) || st->ops->move == NULL)
		return 0;
	if (state_msgs_load(d->o->db, g->state->id, &rows, err) < 0)
		return -1;
	items = xcalloc(rows->n + 1, sizeof(*items));
	for (i = 0; i < rows->n; i++)
		if (rows->v[i].near_key != NULL)
			items[n++].key = rows->v[i].near_key;
	if ((c->near == NULL &&
	     st->ops->create_box(st, c->near_name, &e) < 0) ||
	    st->ops->select_box(st, g->near_name, &sel, NULL, &e) < 0 ||
	    (n > 0 && st->ops->move(st, items, n, c->near_name, &e) < 0))
		ret = 0;
	for (i = 0; ret > 0 && i < n; i++)
		if (items[i].status != 0 && !items[i].gone) {
			e = items[i].err;
			ret = 0;
		}
	if (ret == 0 && mf_err_is_store_level(e.cls)) {
		*err = e;
		ret = mf_err_prefix(err, "INBOX: move to %s", c->near_name);
	} else if (ret == 0) {
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "INBOX: its messages not moved to %s: %s", c->near_name,
		       e.msg);
	} else {
		mf_test_step("rename near");
		for (i = 0; i < n; i++)
			d->plan->v[j->cand].moved_in += !items[i].gone;
	}
	free(items);
	state_msg_list_free(&rows);
	return ret;
}

/* The rename on the side that did not see it.  1: done or nothing to
 * do; 0: not possible (said why); -1: store-level error. */
static int
mirror(struct doer *d, const struct rename_job *j, struct mf_err *err)
{
	const struct box_pair *g = &d->plan->v[j->gone];
	const struct box_pair *c = &d->plan->v[j->cand];
	bool far = j->kind == RENAME_NEAR;
	struct mf_store *st = far ? d->o->far : d->o->near;
	const char *from, *to = name_on(c, far), *now;
	struct mf_err e = { 0 };

	if (j->kind == RENAME_RECORD)
		return 1;
	if (is_inbox(g))
		return inbox_out(d, j, err);
	from = j->kind == RENAME_FAR_WINS ? d->plan->v[j->fold].near_name :
					    name_on(g, far);
	now = now_named(d, far, from);
	if (strcmp(now, to) == 0)
		return 1; /* its parent's rename took it along */
	if (st->ops->rename_box == NULL) {
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
		       "%s: the %s store cannot rename folders", from,
		       far ? "far" : "near");
		return 0;
	}
	if (st->ops->rename_box(st, now, to, &e) < 0) {
		if (mf_err_is_store_level(e.cls)) {
			*err = e;
			return mf_err_prefix(err, "%s: rename to %s", from, to);
		}
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: not renamed to %s on the %s side, so left as a "
		       "folder gone and one new: %s",
		       from, to, far ? "far" : "near", e.msg);
		return 0;
	}
	mf_test_step(far ? "rename far" : "rename near");
	d->done = xrealloc(d->done, (d->ndone + 1) * sizeof(*d->done));
	d->done[d->ndone].far = far;
	d->done[d->ndone].from = from;
	d->done[d->ndone].to = to;
	d->ndone++;
	return 1;
}

/* The row takes the new names, in one transaction. */
static int
record(struct doer *d, const struct rename_job *j, struct mf_err *err)
{
	struct box_pair *g = &d->plan->v[j->gone];
	const struct box_pair *c = &d->plan->v[j->cand];
	struct state_box *row = NULL;
	size_t i;

	for (i = 0; i < d->state->n; i++)
		if (d->state->v[i].id == g->state->id)
			row = &d->state->v[i];
	if (row == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "%s: no state row",
				  g->far_name);
	/* g's names may be the row's own strings, which go now */
	g->far_name = mf_arena_strdup(d->plan->arena, g->far_name);
	g->near_name = mf_arena_strdup(d->plan->arena, g->near_name);
	free(row->far_name);
	free(row->near_name);
	row->far_name = xstrdup(c->far_name);
	row->near_name = xstrdup(c->near_name);
	if (state_begin(d->o->db, err) < 0)
		return -1;
	if (state_box_update(d->o->db, row, err) < 0) {
		state_rollback(d->o->db);
		return -1;
	}
	if (state_commit(d->o->db, err) < 0)
		return -1;
	mf_test_step("rename record");
	return 0;
}

/*
 * A folder made anew on side far under the name of g, which was renamed:
 * a pair of its own, without state, for sync_run() to create (or skip,
 * as the policy says) like any new folder.  INBOX is there on both sides.
 */
static void
add_anew(struct doer *d, const struct box_pair *g, bool far)
{
	struct box_pair p = { 0 };
	unsigned there = far ? SYNC_SIDE_NEAR : SYNC_SIDE_FAR;

	p.far_name = g->far_name;
	p.near_name = g->near_name;
	if (is_inbox(g)) {
		p.action = BOX_SYNC;
		p.far = g->far;
		p.near = g->near;
	} else if (far) {
		p.far = g->far;
		p.action = (d->o->policy->create & there) ? BOX_CREATE_NEAR :
							    BOX_SKIP_NEW_FAR;
		if (p.action == BOX_SKIP_NEW_FAR)
			p.near_name = NULL;
	} else {
		p.near = g->near;
		p.action = (d->o->policy->create & there) ? BOX_CREATE_FAR :
							    BOX_SKIP_NEW_NEAR;
		if (p.action == BOX_SKIP_NEW_NEAR)
			p.far_name = NULL;
	}
	d->extra = xrealloc(d->extra, (d->nextra + 1) * sizeof(*d->extra));
	d->extra[d->nextra++] = p;
}

/*
 * The status of an IMAP folder we just renamed, as a listing would give
 * it, so that the move pass can take the folder in (move.c reads the
 * listed status; a server that changed the UIDVALIDITY on RENAME shows
 * here, and the folder is matched again, not moved from).  NULL when it
 * cannot be read: the folder's sync selects it then.
 */
static const struct mf_box_info *
looked_at(struct doer *d, struct mf_store *st, const char *name)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_box_info *info;
	struct mf_box_status status = { 0 };
	struct mf_err e = { 0 };

	if (st->ops->select_box(st, name, &sel, &status, &e) < 0) {
		mf_debug(MF_LOGC_SYNC, "%s: after the rename: %s", name, e.msg);
		return NULL;
	}
	info = mf_arena_alloc(d->plan->arena, sizeof(*info));
	info->name = mf_arena_strdup(d->plan->arena, name);
	info->status = status;
	info->status.has_status = true;
	return info;
}

/* The plan after job j: the new pair syncs with the state, the old one
 * only reports. */
static void
replan(struct doer *d, const struct rename_job *j)
{
	struct box_pair *g = &d->plan->v[j->gone];
	struct box_pair *c = &d->plan->v[j->cand];
	const struct mf_box_info *mirror_info = NULL;
	struct mf_store *mst;

	g->renamed_far = c->far_name;
	g->renamed_near = c->near_name;
	g->renamed_on_far = j->kind != RENAME_NEAR;
	if (j->kind == RENAME_FAR_WINS)
		d->plan->v[j->fold].action = BOX_FOLDED;
	if (d->o->dry_run) {
		g->action = BOX_RENAMED;
		c->action = BOX_FOLDED;
		return;
	}
	/* A maildir directory renamed keeps cur/ and new/ and so its
	 * listed token; an IMAP folder is looked at under its new name. */
	mst = j->kind == RENAME_NEAR ? d->o->far : d->o->near;
	if (mst->caps & MF_CAP_DIR_TOKEN)
		mirror_info = j->kind == RENAME_FAR_WINS ?
				      d->plan->v[j->fold].near :
				      (j->kind == RENAME_NEAR ? g->far :
								g->near);
	else if (j->kind != RENAME_RECORD)
		mirror_info = looked_at(d, mst,
					name_on(c, j->kind == RENAME_NEAR));
	if (j->kind == RENAME_NEAR)
		c->far = mirror_info;
	else if (j->kind != RENAME_RECORD)
		c->near = mirror_info;
	c->state = g->state;
	c->action = BOX_SYNC;
	/* INBOX stays: what happened is the moves c reports */
	g->action = is_inbox(g) ? BOX_FOLDED : BOX_RENAMED;
	if (d->reset[2 * j->gone])
		add_anew(d, g, true);
	if (d->reset[2 * j->gone + 1])
		add_anew(d, g, false);
}

static int
cmp_job(const void *a, const void *b, void *ctx)
{
	const struct box_plan *plan = ctx;
	const struct rename_job *x = a, *y = b;

	return strcmp(plan->v[x->gone].far_name, plan->v[y->gone].far_name);
}

/* Parents first: "A" sorts before "A/x". */
static void
sort_jobs(struct rename_job *jobs, size_t n, const struct box_plan *plan)
{
	size_t i, k;

	for (i = 1; i < n; i++) {
		struct rename_job t = jobs[i];

		for (k = i;
		     k > 0 && cmp_job(&jobs[k - 1], &t, (void *)plan) > 0; k--)
			jobs[k] = jobs[k - 1];
		jobs[k] = t;
	}
}

static int
carry_out(const struct sync_opts *o, struct box_plan *plan,
	  struct state_box_list *state, const bool *reset,
	  struct rename_job *jobs, size_t n, struct mf_err *err)
{
	struct doer d = {
		.o = o, .plan = plan, .state = state, .reset = reset
	};
	size_t i;
	int ret = 0;

	sort_jobs(jobs, n, plan);
	for (i = 0; i < n && ret == 0; i++) {
		int r = o->dry_run ? 1 : mirror(&d, &jobs[i], err);

		if (r < 0 ||
		    (r > 0 && !o->dry_run && record(&d, &jobs[i], err) < 0))
			ret = -1;
		else if (r > 0)
			replan(&d, &jobs[i]);
	}
	if (d.nextra > 0) {
		plan->v = xrealloc(plan->v,
				   (plan->n + d.nextra) * sizeof(*plan->v));
		memcpy(plan->v + plan->n, d.extra, d.nextra * sizeof(*d.extra));
		plan->n += d.nextra;
	}
	free(d.extra);
	free(d.done);
	return ret;
}

/* ---- the pass --------------------------------------------------------- */

/* Is there a vanished folder and a new one on the same side? */
static bool
worth_looking(const struct box_plan *plan, const bool *reset, bool far)
{
	bool gone = false, cand = false;
	size_t i;

	for (i = 0; i < plan->n; i++) {
		gone = gone || is_gone_on(plan, i, reset, far);
		cand = cand || is_cand(&plan->v[i], far);
	}
	return gone && cand;
}

int
renames_run(const struct sync_opts *o, struct box_plan *plan,
	    struct state_box_list *state, struct mf_err *err)
{
	struct finder f = { .o = o, .plan = plan };
	struct rename_job *jobs = NULL;
	bool *reset = resets_of(o, plan);
	size_t i, n, npairs = plan->n;
	int side, ret = 0;

	f.reset = reset;
	if (!worth_looking(plan, reset, true) &&
	    !worth_looking(plan, reset, false)) {
		free(reset);
		return 0;
	}
	f.scans = xcalloc(2 * npairs, sizeof(*f.scans));
	for (side = 0; side < 2 && ret == 0; side++) {
		bool far = side == 0;

		for (i = 0; i < npairs && ret == 0; i++)
			if (is_gone_on(plan, i, reset, far))
				ret = links_of(&f, i, far, err);
	}
	if (ret == 0) {
		jobs = xcalloc(npairs, sizeof(*jobs));
		n = rename_decide(plan->v, npairs, reset, f.links, f.nlinks,
				  jobs);
		ret = carry_out(o, plan, state, reset, jobs, n, err);
	}
	for (i = 0; i < 2 * npairs; i++)
		mf_scan_result_free(&f.scans[i].res);
	free(f.scans);
	free(f.links);
	free(jobs);
	free(reset);
	return ret;
}
