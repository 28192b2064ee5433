/*
 * The evidence for folder renames (rename.h has the rules): which
 * vanished folder's messages a new folder holds, read from the stores.
 *
 * Cost: nothing on a channel where no folder vanished, or where no
 * folder is new on the side it vanished from, nor for a new folder whose
 * listed MAILBOXID and the vanished one's recorded one are both known
 * (mailboxid_says()).  Otherwise one readonly
 * SELECT and one listing (UIDs and sizes, or the directory) of each new
 * folder on that side, the state rows of each vanished one, and on a UID
 * side the headers of a sample of the matched messages.
 */
#include "rename.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "engine.h"
#include "ident.h"
#include "state.h"
#include "sync.h"

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

/*
 * May pair i be the new name of another pair's folder, in a swap or a
 * rotation of names on side far (rename.h, "Names swapped"): synced
 * before, and listed there with another UIDVALIDITY than recorded.
 * rename_cycles() takes only the links that close a cycle.
 */
static bool
is_swap_cand(const struct box_plan *plan, size_t i, const bool *reset, bool far)
{
	const struct box_pair *p = &plan->v[i];
	const struct mf_box_info *info = far ? p->far : p->near;

	/* BOX_VANISHED_*: M's folder moved on by a run stopped in a cycle */
	return p->state != NULL &&
	       (p->action == BOX_SYNC ||
		p->action == (far ? BOX_VANISHED_NEAR : BOX_VANISHED_FAR)) &&
	       !p->role_mapped && info != NULL &&
	       !(info->attrs & MF_BOX_NOSELECT) && !rename_is_inbox(p) &&
	       reset[2 * i + !far];
}

/* May pair i be a renamed folder, gone from side far?  INBOX only when
 * the far one is made anew (a RENAME of INBOX on the server). */
static bool
is_gone_on(const struct box_plan *plan, size_t i, const bool *reset, bool far)
{
	const struct box_pair *p = &plan->v[i];

	/* names that differ (paired by role): rename_decide() takes only
	 * a rename that keeps the role */
	if (!rename_gone_on(plan->v, i, reset, far) || p->far_name == NULL ||
	    p->near_name == NULL)
		return false;
	return !rename_is_inbox(p) || (far && reset[2 * i]);
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

/*
 * What RFC 8474 MAILBOXID says of candidate info being the folder rec
 * recorded.  Section 4: the server keeps a folder's MAILBOXID on RENAME
 * and never reports it for another folder, then or later; so when both
 * are known they decide alone, whatever the UIDs say (and a folder that
 * held nothing is proven too).  Unknown on either side: ID_UNKNOWN, and
 * the UIDs or keys decide as without it.
 */
enum id_verdict { ID_UNKNOWN, ID_SAME, ID_OTHER };

static enum id_verdict
mailboxid_says(const struct state_side *rec, const struct mf_box_info *info)
{
	if (rec->mailboxid[0] == '\0' || info == NULL ||
	    info->status.mailboxid[0] == '\0')
		return ID_UNKNOWN;
	return strcmp(rec->mailboxid, info->status.mailboxid) == 0 ? ID_SAME :
								     ID_OTHER;
}

struct finder {
	const struct sync_opts *o;
	struct box_plan *plan;
	const bool *reset;
	struct cand_scan *scans; /* [2 * pair + near] */
	struct rename_link *links;
	size_t nlinks, cap;
};

static void
add_link(struct finder *f, size_t g, size_t c, bool far)
{
	if (f->nlinks == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->links = xrealloc(f->links, f->cap * sizeof(*f->links));
	}
	f->links[f->nlinks].gone = g;
	f->links[f->nlinks].cand = c;
	f->links[f->nlinks].far = far;
	f->nlinks++;
}

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
		enum id_verdict ids;

		if (c == g || !(is_cand(cp, far) ||
				is_swap_cand(f->plan, c, f->reset, far)))
			continue;
		ids = mailboxid_says(far ? &gp->state->far : &gp->state->near,
				     far ? cp->far : cp->near);
		if (ids != ID_UNKNOWN) {
			mf_debug(MF_LOGC_SYNC, "%s: MAILBOXID %s %s's",
				 name_on(cp, far),
				 ids == ID_SAME ? "is" : "is not",
				 name_on(gp, far));
			if (ids == ID_SAME)
				add_link(f, g, c, far);
			continue;
		}
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
			add_link(f, g, c, far);
		}
	}
	state_msg_list_free(&rows);
	return ret;
}

/* Is there a vanished folder and a new one on the same side? */
static bool
worth_looking(const struct box_plan *plan, const bool *reset, bool far)
{
	bool gone = false, cand = false;
	size_t i;

	for (i = 0; i < plan->n; i++) {
		gone = gone || is_gone_on(plan, i, reset, far);
		cand = cand || is_cand(&plan->v[i], far) ||
		       is_swap_cand(plan, i, reset, far);
	}
	return gone && cand;
}

bool *
rename_resets(const struct sync_opts *o, const struct box_plan *plan)
{
	return resets_of(o, plan);
}

int
rename_find(const struct sync_opts *o, struct box_plan *plan, const bool *reset,
	    struct rename_link **links_r, size_t *nlinks_r, struct mf_err *err)
{
	struct finder f = { .o = o, .plan = plan, .reset = reset };
	size_t i;
	int side, ret = 0;

	*links_r = NULL;
	*nlinks_r = 0;
	if (!worth_looking(plan, reset, true) &&
	    !worth_looking(plan, reset, false))
		return 0;
	f.scans = xcalloc(2 * plan->n, sizeof(*f.scans));
	for (side = 0; side < 2 && ret == 0; side++) {
		bool far = side == 0;

		for (i = 0; i < plan->n && ret == 0; i++)
			if (is_gone_on(plan, i, reset, far))
				ret = links_of(&f, i, far, err);
	}
	for (i = 0; i < 2 * plan->n; i++)
		mf_scan_result_free(&f.scans[i].res);
	free(f.scans);
	if (ret < 0) {
		free(f.links);
		return -1;
	}
	*links_r = f.links;
	*nlinks_r = f.nlinks;
	return 0;
}
