/*
 * The channel driver: pair the folders, carry over moves between them
 * (move.c: the one step that looks at several folders at once), then for
 * each pair decide whether it can be skipped, build the two views, plan,
 * apply, record.
 *
 * Skipping is where a quiet account costs nothing: the far folder list
 * comes with each folder's status (LIST-STATUS: one round trip for the
 * whole account) and the maildir's with directory tokens; a pair whose far
 * status (UIDVALIDITY, UIDNEXT, MESSAGES, HIGHESTMODSEQ) and near token are
 * as recorded, with no interrupted copies, is done without a SELECT.
 *
 * What is recorded for a folder after a run decides what the next run
 * looks at, so it is written only when the run was clean: if a message
 * failed, a deletion was held back or a copy is still pending, the record
 * asks for full scans next time instead (a cheaper record could hide the
 * failed message from the delta scans for good).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/cancel.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "engine.h"
#include "fetch.h"
#include "flags.h"
#include "move.h"
#include "near-kw.h"

static void
side_init(struct side *s, enum side_id id, struct mf_store *st,
	  const char *box, struct state_side *rec)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->label = id == SIDE_FAR ? "far" : "near";
	s->st = st;
	s->uids = (st->caps & MF_CAP_UIDS) != 0;
	s->box = box;
	s->rec = rec;
}

static void
side_deinit(struct side *s)
{
	free(s->view);
	mf_arena_destroy(&s->arena);
}

static bool
same_status(const struct side *s, const struct mf_box_status *now)
{
	const struct state_side *rec = s->rec;

	/* a directory token is all a store with one needs (maildir) */
	if (s->st->caps & MF_CAP_DIR_TOKEN)
		return now->dir_token != 0 && now->dir_token == rec->dir_token;
	if (!now->has_status)
		return false;
	/* without HIGHESTMODSEQ a flag change leaves no trace in STATUS */
	return now->uidvalidity == rec->uidvalidity &&
	       now->uidnext == rec->uidnext &&
	       now->messages == rec->messages &&
	       now->highestmodseq != 0 &&
	       now->highestmodseq == rec->highestmodseq;
}

/*
 * Open the side's folder on the store.  A side whose listed status showed
 * no change is opened only when something has to be done there; its view
 * and the status recorded at the end stay those of the listing, so a change
 * made between the listing and now is seen by the next run.
 */
int
side_select(struct side *s, struct mf_err *err)
{
	struct mf_select_req req = { .readonly = false };
	struct mf_box_status now;

	if (s->selected)
		return 0;
	if (s->st->ops->select_box(s->st, s->box, &req, &now, err) < 0)
		return mf_err_prefix(err, "%s %s", s->label, s->box);
	if (!s->status_known)
		s->status = now;
	s->status_known = true;
	s->selected = true;
	if (now.uidnext > s->uidnext)
		s->uidnext = now.uidnext;
	return 0;
}

/* Take the listed status as the side's status, without opening it. */
static void
side_listed(struct side *s, const struct mf_box_info *info)
{
	s->status = info->status;
	s->status_known = true;
	s->uidnext = info->status.uidnext;
}

/*
 * An interrupted run may have left APPENDs in the server's input: a server
 * goes on executing the commands a dead client had already sent.  Before
 * looking for journaled APPENDs among the new messages, wait until the
 * UID side stops growing (UIDNEXT and EXISTS the same over a second, for at
 * most 15 s), or one that lands after the look would be appended twice.
 * Only runs that find such a journal pay for this.
 */
static int
settle_side(struct side *s, struct mf_err *err)
{
	struct mf_select_req req = { .readonly = true };
	struct mf_box_status a, b;
	int i;

	if (s->st->ops->select_box(s->st, s->box, &req, &a, err) < 0)
		return mf_err_prefix(err, "%s %s", s->label, s->box);
	for (i = 0; i < 30; i++) {
		struct timespec half = { 0, 500 * 1000 * 1000 };

		nanosleep(&half, NULL);
		if (s->st->ops->select_box(s->st, s->box, &req, &b, err) < 0)
			return mf_err_prefix(err, "%s %s", s->label, s->box);
		if (a.uidnext == b.uidnext && a.messages == b.messages &&
		    i > 0)
			break;
		a = b;
	}
	mf_debug(MF_LOGC_SYNC, "%s %s: settled at UIDNEXT %u", s->label,
		 s->box, b.uidnext);
	/* reopen read-write with the settled status */
	s->selected = false;
	s->status_known = false;
	return side_select(s, err);
}

static int
settle_after_crash(struct box_run *r, struct mf_err *err)
{
	bool far = false, near = false;
	size_t i;

	for (i = 0; i < r->rows->n; i++) {
		if (r->rows->v[i].pending == STATE_PENDING_PUSH)
			far = true;
		if (r->rows->v[i].pending == STATE_PENDING_PULL &&
		    r->near.uids)
			near = true;
	}
	if (far && r->far.uids && settle_side(&r->far, err) < 0)
		return -1;
	if (near && settle_side(&r->near, err) < 0)
		return -1;
	return 0;
}

static bool
has_msgid(const struct mf_msg *m)
{
	return m->msgid != NULL && strncmp(m->msgid, "H:", 2) != 0;
}

/*
 * A checked UID hint of another tool (an OfflineIMAP FMD5 that matches)
 * where the two copies do not both have a Message-ID and their headers
 * differ beyond what the fingerprint forgives (OfflineIMAP turns some
 * malformed messages' header into body, Message-ID and all): only the
 * whole content can tell, so both copies are read and digested
 * (sync/ident.h).  Few messages get here.
 */
static int
confirm_hints(struct box_run *r, struct mf_err *err)
{
	bool *in_far, *in_near;
	size_t i, n = 0;
	int ret = 0;

	if (r->near.uids || r->far.reset)
		return 0;
	in_far = xcalloc(r->far.n + 1, sizeof(bool));
	in_near = xcalloc(r->near.n + 1, sizeof(bool));
	for (i = 0; i < r->near.n; i++) {
		const struct mf_msg *nm = &r->near.view[i], *fm;
		long k;

		if (!nm->name_uid_checked || nm->name_uid == 0)
			continue;
		k = side_find_uid(&r->far, nm->name_uid);
		if (k < 0)
			continue;
		fm = &r->far.view[k];
		if ((has_msgid(fm) && has_msgid(nm)) ||
		    (fm->size != 0 && fm->size == nm->size) ||
		    (fm->fp != NULL && nm->fp != NULL &&
		     strcmp(fm->fp, nm->fp) == 0))
			continue;
		in_far[k] = true;
		in_near[i] = true;
		n++;
	}
	if (n > 0)
		ret = digest_side(&r->far, in_far, err);
	if (n > 0 && ret == 0)
		ret = digest_side(&r->near, in_near, err);
	free(in_far);
	free(in_near);
	return ret;
}

/*
 * Which messages need their identity: new ones on both sides when both
 * have some (they may be the same message), far ones when an interrupted
 * APPEND has to be found, all of a side after its UIDVALIDITY changed.
 */
static int
identify(struct box_run *r, struct mf_err *err)
{
	bool *in_far = xcalloc(r->far.n + 1, sizeof(bool));
	bool *in_near = xcalloc(r->near.n + 1, sizeof(bool));
	size_t i, new_far = 0, new_near = 0;
	bool pending_far = false, pending_near = false;
	int ret = 0;

	for (i = 0; i < r->rows->n; i++) {
		const struct state_msg *row = &r->rows->v[i];
		long k;

		if (row->pending == STATE_PENDING_PUSH)
			pending_far = true;
		if (row->pending == STATE_PENDING_PULL && r->near.uids)
			pending_near = true;
		k = r->far.reset ? -1 : side_find_uid(&r->far, row->far_uid);
		if (k >= 0 && row->far_uid != 0)
			in_far[k] = true;
		if (r->near.reset)
			continue;
		k = r->near.uids ? side_find_uid(&r->near, row->near_uid) :
		    row->near_key != NULL ?
		    side_find_key(&r->near, row->near_key) : -1;
		if (k >= 0 && row_on_side(&r->near, row))
			in_near[k] = true;
	}
	for (i = 0; i < r->far.n; i++)
		new_far += !in_far[i];
	for (i = 0; i < r->near.n; i++)
		new_near += !in_near[i];
	if (new_far > 0 && (new_near > 0 || pending_far || r->far.reset)) {
		for (i = 0; i < r->far.n; i++)
			in_far[i] = !in_far[i];
		ret = identify_side(r, &r->far, in_far, err);
	}
	if (ret == 0 && new_near > 0 &&
	    (new_far > 0 || pending_near || r->near.reset)) {
		for (i = 0; i < r->near.n; i++)
			in_near[i] = !in_near[i];
		ret = identify_side(r, &r->near, in_near, err);
	}
	free(in_far);
	free(in_near);
	if (ret == 0 && new_far > 0 && new_near > 0)
		ret = confirm_hints(r, err);
	return ret;
}

static void
plan_lines(struct box_run *r)
{
	const struct sync_opts *o = r->o;
	size_t i;

	if (o->plan_line == NULL)
		return;
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->v[i];
		char line[512], ff[8], nf[8];
		const char *fid = e->far >= 0 ? "" : "-";
		char uid[16] = "";
		const char *key = e->near >= 0 && !r->near.uids ?
			r->near.view[e->near].key : "";

		if (e->far >= 0)
			snprintf(uid, sizeof(uid), "%u",
				 r->far.view[e->far].uid);
		if (e->why == PLAN_WHY_AMBIGUOUS) {
			snprintf(line, sizeof(line), "%s: far %s%s near %s: "
				 "leave alone (same Message-ID, other content "
				 "on the other side)", r->far.box, uid, fid,
				 key[0] ? key : "-");
			o->plan_line(o->ctx, line);
			continue;
		}
		mf_flags_to_maildir(e->far_flags, ff);
		mf_flags_to_maildir(e->near_flags, nf);
		snprintf(line, sizeof(line), "%s: far %s%s near %s: %s%s%s%s%s"
			 " -> flags %s/%s", r->far.box, uid, fid,
			 key[0] ? key : "-",
			 e->near_op.op == PLAN_OP_COPY ? "pull " : "",
			 e->far_op.op == PLAN_OP_COPY ? "push " : "",
			 e->far_op.op == PLAN_OP_DELETE ? "expunge-far " :
			 e->far_op.op == PLAN_OP_FLAGS ? "flags-far " : "",
			 e->near_op.op == PLAN_OP_DELETE ? "delete-near " :
			 e->near_op.op == PLAN_OP_FLAGS ? "flags-near " : "",
			 e->rec == PLAN_REC_FORGET ? "forget" : "",
			 ff, nf);
		o->plan_line(o->ctx, line);
	}
}

/*
 * Our own APPENDs, flag changes and expunges move a UID side's UIDNEXT and
 * HIGHESTMODSEQ, so the status taken before them would make the next run
 * look at the folder again for nothing.  Ask the server what changed since
 * that status; when every change is one we made (the message is in the
 * state with the flags we recorded, every vanished UID is one we removed),
 * take the new status as the record.  Anything else keeps the old record,
 * and the next run looks.
 */
struct uid_flags {
	uint32_t uid;
	unsigned flags;
	const char *kw;
};

static int
cmp_uid_flags(const void *a, const void *b)
{
	const struct uid_flags *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
absorb_own_changes(struct box_run *r, struct side *s, struct mf_err *err)
{
	struct mf_box_status now;
	struct mf_select_req req = { .readonly = false };
	struct mf_scan_req sreq = { .want = MF_WANT_FLAGS, .vanished = true };
	struct mf_scan_result *res = NULL;
	struct state_msg_list *rows = NULL;
	struct uid_flags *uids;
	bool mine = true;
	size_t i, present = 0;
	bool far = s->id == SIDE_FAR;

	if (!s->uids || !s->selected || !(s->st->caps & MF_CAP_CONDSTORE) ||
	    s->status.highestmodseq == 0)
		return 0;
	if ((far ? r->rep.pushed + r->rep.flags_far + r->rep.del_far :
	     r->rep.pulled + r->rep.flags_near + r->rep.del_near) == 0)
		return 0;
	sreq.changedsince = s->status.highestmodseq;
	sreq.vanished = (s->st->caps & MF_CAP_QRESYNC) != 0;
	if (s->st->ops->select_box(s->st, s->box, &req, &now, err) < 0 ||
	    s->st->ops->scan(s->st, &sreq, &res, err) < 0 ||
	    state_msgs_load(r->db, r->sbox->id, &rows, err) < 0) {
		mf_scan_result_free(&res);
		return mf_err_prefix(err, "%s %s", s->label, s->box);
	}
	uids = xcalloc(rows->n + 1, sizeof(*uids));
	for (i = 0; i < rows->n; i++) {
		uint32_t uid = far ? rows->v[i].far_uid : rows->v[i].near_uid;

		if (uid != 0) {
			uids[present].uid = uid;
			uids[present].kw = far ? rows->v[i].far_keywords :
					   rows->v[i].near_keywords;
			uids[present++].flags = far ? rows->v[i].far_flags :
						rows->v[i].near_flags;
		}
	}
	mf_qsort(uids, present, sizeof(*uids), cmp_uid_flags);
	for (i = 0; i < res->n && mine; i++) {
		struct uid_flags key = { res->msgs[i].uid, 0, NULL }, *found;

		found = mf_bsearch(&key, uids, present, sizeof(*uids),
				cmp_uid_flags);
		mine = found != NULL && found->flags == res->msgs[i].flags &&
		       (!(s->st->caps & MF_CAP_KEYWORDS) ||
			mf_kw_equal(found->kw, res->msgs[i].keywords));
	}
	for (i = 0; i < res->nvanished && mine; i++) {
		struct uid_flags key = { res->vanished[i], 0, NULL };

		mine = mf_bsearch(&key, uids, present, sizeof(*uids),
			       cmp_uid_flags) == NULL;
	}
	free(uids);
	/* without VANISHED, the count tells whether someone expunged */
	if (mine && now.messages != present)
		mine = false;
	if (mine) {
		now.has_status = true;
		s->status = now;
	}
	mf_debug(MF_LOGC_SYNC, "%s %s: changes since the listing are %s",
		 s->label, s->box, mine ? "all ours" : "not all ours");
	mf_scan_result_free(&res);
	state_msg_list_free(&rows);
	return 0;
}

/* Record the folder's sides for the next run (see the top of the file). */
static int
record_box(struct box_run *r, bool clean, struct mf_err *err)
{
	struct state_box *b = r->sbox;

	b->far.uidvalidity = r->far.status.uidvalidity;
	b->near.uidvalidity = r->near.status.uidvalidity;
	if (clean) {
		b->far.uidnext = r->far.status.uidnext;
		b->far.messages = r->far.status.messages;
		b->far.highestmodseq = r->far.status.highestmodseq;
		b->far.dir_token = r->far.status.dir_token;
		b->near.uidnext = r->near.status.uidnext;
		b->near.messages = r->near.status.messages;
		b->near.highestmodseq = r->near.status.highestmodseq;
		b->near.dir_token = r->near.status.dir_token;
		b->last_sync = r->o->now;
	} else {
		b->far.uidnext = b->near.uidnext = 0;
		b->far.highestmodseq = b->near.highestmodseq = 0;
		b->far.dir_token = b->near.dir_token = 0;
	}
	if (state_begin(r->db, err) < 0)
		return -1;
	/* every row now holds what the near side stores (near-kw.h) */
	if (state_box_update(r->db, b, err) < 0 ||
	    (clean && r->near_kw_unmarked &&
	     near_kw_mark(r->db, b->id, err) < 0)) {
		state_rollback(r->db);
		return -1;
	}
	return state_commit(r->db, err);
}

/*
 * Open what needs opening and make sure the pair has a state row.  Returns
 * 1 when the pair is unchanged on both sides and needs nothing.
 */
static int
open_pair(struct box_run *r, const struct box_pair *pair, struct mf_err *err)
{
	const struct sync_opts *o = r->o;
	uint64_t pending = 0;
	bool far_same, near_same;

	if (r->sbox->id != 0 && state_msg_count_pending(o->db, r->sbox->id,
							&pending, err) < 0)
		return -1;
	far_same = r->sbox->id != 0 && pair->far != NULL &&
		   same_status(&r->far, &pair->far->status);
	near_same = r->sbox->id != 0 && pair->near != NULL &&
		    same_status(&r->near, &pair->near->status);
	if (pending == 0 && far_same && near_same)
		return 1;
	if (far_same && pending == 0)
		side_listed(&r->far, pair->far);
	else if (side_select(&r->far, err) < 0)
		return -1;
	if (near_same && pending == 0)
		side_listed(&r->near, pair->near);
	else if (side_select(&r->near, err) < 0)
		return -1;
	if (r->sbox->id != 0 || o->dry_run)
		return 0;
	if (state_begin(o->db, err) < 0)
		return -1;
	/* no rows yet: all it will record is what the near side stores */
	if (state_box_add(o->db, r->sbox, err) < 0 ||
	    ((o->near->caps & MF_CAP_KEYWORDS) &&
	     near_kw_mark(o->db, r->sbox->id, err) < 0)) {
		state_rollback(o->db);
		return -1;
	}
	return state_commit(o->db, err);
}

/*
 * A "mailferry fetch" killed half way leaves a row pending FETCH and maybe
 * both the placeholder and the full copy: finish or undo it before the
 * views are built, or the full copy would look new and be uploaded.  A dry
 * run cannot write; the planner then reads the row as the placeholder.
 */
static int
settle_fetch(struct box_run *r, struct mf_err *err)
{
	bool changed = false;
	size_t i;

	if (r->o->dry_run || !(r->near.st->caps & MF_CAP_PLACEHOLDERS))
		return 0;
	for (i = 0; i < r->rows->n; i++)
		if (r->rows->v[i].pending == STATE_PENDING_FETCH)
			break;
	if (i == r->rows->n)
		return 0;
	if (side_select(&r->near, err) < 0)
		return -1;
	if (fetch_settle(r->db, r->near.st, r->rows, &changed, err) < 0)
		return mf_err_prefix(err, "near %s: settle fetch",
				     r->near.box);
	if (!changed)
		return 0;
	state_msg_list_free(&r->rows);
	return state_msgs_load(r->db, r->sbox->id, &r->rows, err);
}

/*
 * Another tool's UID hints (mbsync's .mbsyncstate) recorded for a far
 * UIDVALIDITY that is no longer the server's: every one of them may name
 * another message now, so none is used.
 */
static void
drop_stale_hints(struct box_run *r)
{
	struct side *s = &r->near;
	size_t i;

	if (s->hint_uidvalidity == 0 || r->far.status.uidvalidity == 0 ||
	    s->hint_uidvalidity == r->far.status.uidvalidity)
		return;
	mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC, "%s %s: the UIDs another tool "
	       "recorded belong to UIDVALIDITY %u, the server has %u: "
	       "matching by content only", s->label, s->box,
	       s->hint_uidvalidity, r->far.status.uidvalidity);
	for (i = 0; i < s->n; i++) {
		s->view[i].name_uid = 0;
		s->view[i].name_uid_checked = false;
	}
}

/* Rows, views, identities, plan: everything up to the execution. */
static int
plan_pass(struct box_run *r, bool first, struct mf_err *err)
{
	const struct sync_opts *o = r->o;
	struct plan_input in = { 0 };

	if (r->sbox->id != 0) {
		if (state_msgs_load(o->db, r->sbox->id, &r->rows, err) < 0)
			return -1;
	} else {
		r->rows = state_msg_list_empty();
	}
	if (first && settle_after_crash(r, err) < 0)
		return -1;
	if (first && settle_fetch(r, err) < 0)
		return -1;
	if (snapshot_side(r, &r->far, err) < 0 ||
	    snapshot_side(r, &r->near, err) < 0)
		return -1;
	drop_stale_hints(r);
	if (identify(r, err) < 0)
		return -1;
	near_kw_adjust(r);
	in.policy = o->policy;
	in.state = r->rows->v;
	in.nstate = r->rows->n;
	in.far = r->far.view;
	in.nfar = r->far.n;
	in.near = r->near.view;
	in.nnear = r->near.n;
	in.near_uids = r->near.uids;
	in.far_keywords = (o->far->caps & MF_CAP_KEYWORDS) != 0;
	in.near_keywords = (o->near->caps & MF_CAP_KEYWORDS) != 0;
	in.far_reset = r->far.reset;
	in.near_reset = r->near.reset;
	in.placeholders = (o->near->caps & MF_CAP_PLACEHOLDERS) != 0;
	in.now = o->now;
	return plan_box(&in, &r->plan, err);
}

/* Drop a pass's rows, views and plan; the sides stay open. */
static void
pass_reset(struct box_run *r)
{
	plan_result_free(&r->plan);
	state_msg_list_free(&r->rows);
	free(r->far.view);
	free(r->near.view);
	mf_arena_destroy(&r->far.arena);
	mf_arena_destroy(&r->near.arena);
	r->far.view = r->near.view = NULL;
	r->far.kw_visible = r->near.kw_visible = NULL;
	r->far.n = r->far.cap = r->near.n = r->near.cap = 0;
}

static void
copy_report(const struct box_run *r, struct sync_box_report *rep)
{
	rep->pulled = r->rep.pulled;
	rep->pushed = r->rep.pushed;
	rep->flags_far = r->rep.flags_far;
	rep->flags_near = r->rep.flags_near;
	rep->del_far = r->rep.del_far;
	rep->del_near = r->rep.del_near;
	rep->paired = r->rep.paired;
	rep->placeholders = r->rep.placeholders;
	rep->failed = r->rep.failed;
	if (r->rep.err.cls != MF_OK)
		rep->err = r->rep.err;
}

/* Name each message the planner left alone as ambiguous (plan.h). */
static void
note_ambiguous(const struct box_run *r)
{
	size_t i;

	if (r->plan->stats.ambiguous == 0)
		return;
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->v[i];
		const struct side *s = e->far >= 0 ? &r->far : &r->near;
		const struct mf_msg *m = &s->view[e->far >= 0 ? e->far :
						  e->near];
		char id[160], where[160];

		if (e->why != PLAN_WHY_AMBIGUOUS)
			continue;
		mf_str_sanitize(id, sizeof(id), m->msgid ? m->msgid : "",
				m->msgid ? strlen(m->msgid) : 0);
		if (s->uids)
			snprintf(where, sizeof(where), "UID %u", m->uid);
		else
			mf_str_sanitize(where, sizeof(where), m->key,
					strlen(m->key));
		mf_log(MF_LOG_INFO, MF_LOGC_SYNC, "%s %s: %s: Message-ID %s "
		       "is new on both sides with different content: left "
		       "alone", s->label, s->box, where, id);
	}
}

/*
 * Plan and execute; a second pass runs when copies are still journaled
 * after the first (a server that gave no APPENDUID): it finds them among
 * the new messages by identity, as a run after a crash would.
 */
static int
run_passes(struct box_run *r, struct sync_box_report *rep, uint64_t *pending,
	   struct mf_err *err)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass > 0) {
			pass_reset(r);
			/*
			 * The status taken before our APPENDs (or only
			 * listed) would hide them from the delta scan, its
			 * UIDNEXT being below them: open both sides again
			 * for a fresh one before the views are built.
			 */
			r->far.selected = r->far.status_known = false;
			r->near.selected = r->near.status_known = false;
			if (side_select(&r->far, err) < 0 ||
			    side_select(&r->near, err) < 0)
				return -1;
		}
		if (plan_pass(r, pass == 0, err) < 0)
			return -1;
		if (pass == 0) {
			rep->planned = r->plan->stats;
			note_ambiguous(r);
		}
		if (r->o->dry_run) {
			plan_lines(r);
			return 0;
		}
		if (exec_plan(r, err) < 0)
			return -1;
		if (state_msg_count_pending(r->db, r->sbox->id, pending,
					    err) < 0)
			return -1;
		if (*pending == 0 || r->rep.failed > 0)
			break;
		mf_debug(MF_LOGC_SYNC, "%s: %" PRIu64 " copies without a UID "
			 "yet: looking for them", r->far.box, *pending);
	}
	return 0;
}

static int
sync_pair(const struct sync_opts *o, const struct box_pair *pair,
	  struct sync_box_report *rep, struct mf_err *err)
{
	struct state_box fresh = { 0 };
	struct box_run r = { 0 };
	uint64_t pending = 0;
	bool clean;
	int ret;

	r.o = o;
	r.db = o->db;
	if (pair->state != NULL)
		fresh = *pair->state;
	fresh.far_name = (char *)pair->far_name;
	fresh.near_name = (char *)pair->near_name;
	r.sbox = &fresh;
	side_init(&r.far, SIDE_FAR, o->far, pair->far_name, &fresh.far);
	side_init(&r.near, SIDE_NEAR, o->near, pair->near_name, &fresh.near);
	rep->far_name = pair->far_name;
	rep->near_name = pair->near_name;

	ret = near_kw_unmarked(&r, &r.near_kw_unmarked, err);
	if (ret < 0)
		goto out;
	if (r.near_kw_unmarked) {
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC, "%s: near keywords were "
		       "recorded before the near side kept them: looking at "
		       "every message once", pair->far_name);
		fresh.near.dir_token = 0;	/* scan it, do not skip it */
	}
	ret = open_pair(&r, pair, err);
	if (ret > 0) {
		rep->outcome = SYNC_BOX_UNCHANGED;
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = run_passes(&r, rep, &pending, err);
	copy_report(&r, rep);
	if (ret < 0 || o->dry_run) {
		rep->outcome = SYNC_BOX_PLANNED;
		goto out;
	}
	clean = r.rep.failed == 0 && pending == 0 &&
		r.plan->stats.guard_far == 0 && r.plan->stats.guard_near == 0;
	if (clean && (ret = absorb_own_changes(&r, &r.far, err)) < 0)
		goto out;
	if (clean && (ret = absorb_own_changes(&r, &r.near, err)) < 0)
		goto out;
	ret = record_box(&r, clean, err);
	rep->outcome = SYNC_BOX_SYNCED;
out:
	if (ret < 0)
		mf_err_prefix(err, "%s", pair->far_name);
	pass_reset(&r);
	side_deinit(&r.far);
	side_deinit(&r.near);
	return ret;
}

/* The near folder of a vanished far one goes only if all of it is synced. */
static int
remove_vanished(const struct sync_opts *o, const struct box_pair *pair,
		bool far_gone, struct sync_box_report *rep,
		struct mf_err *err)
{
	struct mf_store *st = far_gone ? o->near : o->far;
	const char *name = far_gone ? pair->near_name : pair->far_name;
	unsigned side = far_gone ? SYNC_SIDE_NEAR : SYNC_SIDE_FAR;
	struct mf_select_req req = { .readonly = true };
	struct mf_scan_req sreq = { .want = 0 };
	struct mf_box_status status;
	struct mf_scan_result *res = NULL;
	struct state_msg_list *rows = NULL;
	size_t i, unsynced = 0;
	int ret = -1;

	rep->outcome = far_gone ? SYNC_BOX_VANISHED_FAR_KEPT :
		       SYNC_BOX_VANISHED_NEAR_KEPT;
	if (!(o->policy->remove & side) || o->dry_run)
		return 0;
	if (st->ops->select_box(st, name, &req, &status, err) < 0 ||
	    st->ops->scan(st, &sreq, &res, err) < 0 ||
	    state_msgs_load(o->db, pair->state->id, &rows, err) < 0)
		goto out;
	for (i = 0; i < res->n; i++) {
		const struct mf_msg *m = &res->msgs[i];
		bool known = false;
		size_t k;

		for (k = 0; k < rows->n && !known; k++) {
			const struct state_msg *row = &rows->v[k];

			if (far_gone && !(st->caps & MF_CAP_UIDS))
				known = row->near_key != NULL &&
					strcmp(row->near_key, m->key) == 0;
			else if (far_gone)
				known = row->near_uid == m->uid;
			else
				known = row->far_uid == m->uid;
		}
		unsynced += !known;
	}
	if (unsynced > 0) {
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s: vanished on the %s side "
		       "but %zu messages here were never synced: kept", name,
		       far_gone ? "far" : "near", unsynced);
		ret = 0;
		goto out;
	}
	if (st->ops->delete_box(st, name, err) < 0)
		goto out;
	if (state_begin(o->db, err) < 0)
		goto out;
	if (state_box_delete(o->db, pair->state->id, err) < 0) {
		state_rollback(o->db);
		goto out;
	}
	ret = state_commit(o->db, err);
	rep->outcome = SYNC_BOX_REMOVED;
out:
	mf_scan_result_free(&res);
	state_msg_list_free(&rows);
	return ret;
}

/*
 * Why a folder that exists on one side only was left alone: the side it
 * lacks is not in policy->create (the value that would make it is named),
 * or its name is taken there (boxes.h, "blocked").
 */
static const char *
skip_reason(const struct sync_opts *o, const struct box_pair *pair)
{
	bool far_only = pair->action == BOX_SKIP_NEW_FAR;
	unsigned need = far_only ? SYNC_SIDE_NEAR : SYNC_SIDE_FAR;
	bool both = ((o->policy->create | need) & SYNC_SIDE_BOTH) ==
		    SYNC_SIDE_BOTH;

	if (pair->blocked)
		return far_only ? "exists only on the far side; its name is "
				  "taken on the near side, so it cannot be "
				  "created there" :
				  "exists only on the near side; its name is "
				  "taken on the far side, so it cannot be "
				  "created there";
	if (far_only)
		return both ? "exists only on the far side; create: both "
			      "would make it" :
			      "exists only on the far side; create: near "
			      "would make it";
	return both ? "exists only on the near side; create: both would "
		      "make it" :
		      "exists only on the near side; create: far would "
		      "make it";
}

/*
 * moved: messages moved into the pair by the move pass; touched: the pass
 * changed its folders, so their listed status is stale and they are
 * opened and looked at like folders without one.
 */
static int
run_pair(const struct sync_opts *o, const struct box_pair *pair,
	 size_t moved, bool touched, struct sync_box_report *rep,
	 struct mf_err *err)
{
	struct box_pair p = *pair;

	rep->moved = moved;
	switch (pair->action) {
	case BOX_SYNC:
		if (touched)
			p.far = p.near = NULL;
		return sync_pair(o, &p, rep, err);
	case BOX_CREATE_NEAR:
	case BOX_CREATE_FAR: {
		bool near = pair->action == BOX_CREATE_NEAR;
		struct mf_store *st = near ? o->near : o->far;
		const char *name = near ? pair->near_name : pair->far_name;

		if (o->dry_run) {
			rep->far_name = pair->far_name;
			rep->near_name = pair->near_name;
			rep->outcome = near ? SYNC_BOX_WOULD_CREATE_NEAR :
				       SYNC_BOX_WOULD_CREATE_FAR;
			return 0;
		}
		if (st->ops->create_box(st, name, err) < 0)
			return mf_err_prefix(err, "%s: create", name);
		/* the new folder has no status; sync_pair selects it */
		if (near)
			p.near = NULL;
		else
			p.far = NULL;
		return sync_pair(o, &p, rep, err);
	}
	case BOX_SKIP_NEW_FAR:
	case BOX_SKIP_NEW_NEAR:
		rep->far_name = pair->far_name;
		rep->near_name = pair->near_name;
		rep->outcome = SYNC_BOX_SKIPPED_ONE_SIDED;
		rep->skip_reason = skip_reason(o, pair);
		return 0;
	case BOX_VANISHED_FAR:
	case BOX_VANISHED_NEAR:
		rep->far_name = pair->far_name;
		rep->near_name = pair->near_name;
		return remove_vanished(o, pair,
				       pair->action == BOX_VANISHED_FAR, rep,
				       err);
	case BOX_VANISHED_BOTH:
		rep->far_name = pair->far_name;
		rep->near_name = pair->near_name;
		rep->outcome = SYNC_BOX_GONE_BOTH;
		if (o->dry_run)
			return 0;
		if (state_begin(o->db, err) < 0)
			return -1;
		if (state_box_delete(o->db, pair->state->id, err) < 0) {
			state_rollback(o->db);
			return -1;
		}
		return state_commit(o->db, err);
	}
	return mf_err_set(err, MF_E_INTERNAL, "unknown folder action");
}

static void
add_summary(struct sync_summary *sum, const struct sync_box_report *rep)
{
	sum->boxes++;
	if (rep->outcome == SYNC_BOX_UNCHANGED)
		sum->boxes_unchanged++;
	if (rep->outcome == SYNC_BOX_SKIPPED_ONE_SIDED)
		sum->boxes_skipped++;
	if (rep->box_failed)
		sum->boxes_failed++;
	sum->pulled += rep->pulled;
	sum->pushed += rep->pushed;
	sum->flags_far += rep->flags_far;
	sum->flags_near += rep->flags_near;
	sum->del_far += rep->del_far;
	sum->del_near += rep->del_near;
	sum->placeholders += rep->placeholders;
	sum->moved += rep->moved;
	sum->failed += rep->failed;
}

/*
 * Without UIDPLUS an IMAP side cannot expunge just our messages (a plain
 * EXPUNGE removes every \Deleted message of the folder, also ones another
 * client only marked), so deletions there stay a \Deleted flag.
 */
static void
effective_policy(const struct sync_opts *o, struct sync_policy *pol)
{
	*pol = *o->policy;
	if ((o->far->caps & MF_CAP_UIDS) && !(o->far->caps & MF_CAP_UIDPLUS) &&
	    (pol->expunge & SYNC_SIDE_FAR)) {
		pol->expunge &= ~SYNC_SIDE_FAR;
		mf_log(MF_LOG_INFO, MF_LOGC_SYNC, "%s: the far server has no "
		       "UIDPLUS: deletions there only set \\Deleted",
		       o->channel);
	}
	if ((o->near->caps & MF_CAP_UIDS) &&
	    !(o->near->caps & MF_CAP_UIDPLUS) &&
	    (pol->expunge & SYNC_SIDE_NEAR)) {
		pol->expunge &= ~SYNC_SIDE_NEAR;
		mf_log(MF_LOG_INFO, MF_LOGC_SYNC, "%s: the near server has no "
		       "UIDPLUS: deletions there only set \\Deleted",
		       o->channel);
	}
}

int
sync_stopped(struct mf_err *err)
{
	if (mf_cancel_signal() == 0)
		return 0;
	return mf_err_set(err, MF_E_CANCELED, "interrupted by %s",
			  mf_cancel_name());
}

int
sync_run(const struct sync_opts *o_in, struct sync_summary *sum,
	 struct mf_err *err)
{
	struct sync_opts opts = *o_in, *o = &opts;
	struct sync_policy pol;
	struct mf_box_list *far = NULL, *near = NULL;
	struct state_box_list *state = NULL;
	struct box_plan *plan = NULL;
	size_t *moved = NULL;
	bool *touched = NULL;
	size_t i;
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	effective_policy(o_in, &pol);
	opts.policy = &pol;
	if (o->far->ops->list_boxes(o->far, true, &far, err) < 0) {
		mf_err_prefix(err, "far: list folders");
		goto out;
	}
	if (o->near->ops->list_boxes(o->near, true, &near, err) < 0) {
		mf_err_prefix(err, "near: list folders");
		goto out;
	}
	if (state_box_list(o->db, &state, err) < 0)
		goto out;
	if (boxes_plan(far, near, state, o->policy, o->only, o->nonly, &plan,
		       err) < 0)
		goto out;
	moved = xcalloc(plan->n + 1, sizeof(*moved));
	touched = xcalloc(plan->n + 1, sizeof(*touched));
	if (sync_stopped(err) < 0)
		goto out;
	if (moves_run(o, plan, moved, touched, err) < 0) {
		mf_err_prefix(err, "moves");
		goto out;
	}
	for (i = 0; i < plan->n; i++) {
		struct sync_box_report rep = { 0 };
		struct mf_err berr = { 0 };

		/* between folders: everything before is recorded */
		if (sync_stopped(err) < 0)
			goto out;
		if (run_pair(o, &plan->v[i], moved[i], touched[i], &rep,
			     &berr) < 0) {
			rep.box_failed = true;
			rep.err = berr;
			if (rep.far_name == NULL) {
				rep.far_name = plan->v[i].far_name;
				rep.near_name = plan->v[i].near_name;
			}
			if (mf_err_is_store_level(berr.cls)) {
				add_summary(sum, &rep);
				if (o->report != NULL)
					o->report(o->ctx, &rep);
				mf_err_copy(err, &berr);
				goto out;
			}
		}
		add_summary(sum, &rep);
		if (o->report != NULL)
			o->report(o->ctx, &rep);
	}
	ret = 0;
out:
	free(moved);
	free(touched);
	boxes_plan_free(&plan);
	state_box_list_free(&state);
	mf_box_list_free(&far);
	mf_box_list_free(&near);
	return ret;
}
