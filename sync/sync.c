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
 * Settling a stopped run is recover.c's, recording the result record.c's,
 * removing a vanished folder vanish.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/cancel.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "engine.h"
#include "move.h"
#include "near-kw.h"
#include "rename.h"

/* What the planner reads: the rows and the two views as they are now. */
static void
plan_input_of(const struct box_run *r, struct plan_input *in)
{
	const struct sync_opts *o = r->o;

	memset(in, 0, sizeof(*in));
	in->policy = o->policy;
	in->state = r->rows->v;
	in->nstate = r->rows->n;
	in->far = r->far.view;
	in->nfar = r->far.n;
	in->near = r->near.view;
	in->nnear = r->near.n;
	in->near_uids = r->near.uids;
	in->far_keywords = (o->far->caps & MF_CAP_KEYWORDS) != 0;
	in->near_keywords = (o->near->caps & MF_CAP_KEYWORDS) != 0;
	in->far_reset = r->far.reset;
	in->near_reset = r->near.reset;
	in->placeholders = (o->near->caps & MF_CAP_PLACEHOLDERS) != 0;
	in->now = o->now;
}

/*
 * Give the messages that need it their identity (the planner says which:
 * plan_ident_need()), and where another tool's UID hints cannot be
 * confirmed otherwise, the digest of both copies (plan_hints_to_digest()).
 */
static int
identify(struct box_run *r, struct mf_err *err)
{
	struct plan_input in;
	struct plan_ident_need need, digest;
	int ret = 0;

	plan_input_of(r, &in);
	plan_ident_need(&in, &need);
	if (need.nfar_want > 0)
		ret = identify_side(r, &r->far, need.far, err);
	if (ret == 0 && need.nnear_want > 0)
		ret = identify_side(r, &r->near, need.near, err);
	if (ret == 0 && need.new_both) {
		/* the identities just read decide which hints stay open */
		plan_input_of(r, &in);
		plan_hints_to_digest(&in, &digest);
		if (digest.nnear_want > 0)
			ret = digest_side(r, &r->far, digest.far, err);
		if (ret == 0 && digest.nnear_want > 0)
			ret = digest_side(r, &r->near, digest.near, err);
		plan_ident_need_free(&digest);
	}
	plan_ident_need_free(&need);
	return ret;
}

/* Dry run: hand each plan entry to the caller (cmd/ prints it). */
static void
plan_actions(struct box_run *r)
{
	const struct sync_opts *o = r->o;
	size_t i;

	if (o->planned == NULL)
		return;
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->v[i];
		struct sync_action a = { .kind = SYNC_ACTION_MSG };

		a.box = r->far.box;
		a.has_far = e->far >= 0;
		if (a.has_far)
			a.far_uid = r->far.view[e->far].uid;
		if (e->near >= 0 && !r->near.uids)
			a.near_key = r->near.view[e->near].key;
		if (e->why == PLAN_WHY_AMBIGUOUS) {
			a.kind = SYNC_ACTION_AMBIGUOUS;
			o->planned(o->ctx, &a);
			continue;
		}
		a.far_op = e->far_op.op;
		a.near_op = e->near_op.op;
		a.forget = e->rec == PLAN_REC_FORGET;
		a.far_flags = e->far_flags;
		a.near_flags = e->near_flags;
		o->planned(o->ctx, &a);
	}
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

	if (r->sbox->id != 0 &&
	    state_msg_count_pending(o->db, r->sbox->id, &pending, err) < 0)
		return -1;
	far_same = r->sbox->id != 0 && pair->far != NULL &&
		   side_same_status(&r->far, &pair->far->status);
	near_same = r->sbox->id != 0 && pair->near != NULL &&
		    side_same_status(&r->near, &pair->near->status);
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
	/* no rows yet: all it will record is what the near side stores.
	 * The UIDVALIDITY goes in at once: a first run stopped after some
	 * copies leaves rows whose UIDs only mean something under it, and a
	 * change before the next run must be seen (snapshot.c, s->reset).
	 * UIDNEXT stays 0 ("nothing known yet") until the run is recorded. */
	r->sbox->far.uidvalidity = r->far.status.uidvalidity;
	r->sbox->near.uidvalidity = r->near.status.uidvalidity;
	if (state_box_add(o->db, r->sbox, err) < 0 ||
	    ((o->near->caps & MF_CAP_KEYWORDS) &&
	     near_kw_mark(o->db, r->sbox->id, err) < 0)) {
		state_rollback(o->db);
		return -1;
	}
	return state_commit(o->db, err);
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
	mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
	       "%s %s: the UIDs another tool "
	       "recorded belong to UIDVALIDITY %u, the server has %u: "
	       "matching by content only",
	       s->label, s->box, s->hint_uidvalidity,
	       r->far.status.uidvalidity);
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
	struct plan_input in;

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
	plan_input_of(r, &in);
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
	/* taken behind one pass's changes: not the next pass's */
	mf_scan_result_free(&r->far.since);
	mf_scan_result_free(&r->near.since);
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
		const struct mf_msg *m =
			&s->view[e->far >= 0 ? e->far : e->near];
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
		mf_log(MF_LOG_INFO, MF_LOGC_SYNC,
		       "%s %s: %s: Message-ID %s "
		       "is new on both sides with different content: left "
		       "alone",
		       s->label, s->box, where, id);
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
			side_reopen(&r->far);
			side_reopen(&r->near);
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
			plan_actions(r);
			return 0;
		}
		if (exec_plan(r, err) < 0)
			return -1;
		if (state_msg_count_pending(r->db, r->sbox->id, pending, err) <
		    0)
			return -1;
		if (*pending == 0 || r->rep.failed > 0)
			break;
		mf_debug(MF_LOGC_SYNC,
			 "%s: %" PRIu64 " copies without a UID "
			 "yet: looking for them",
			 r->far.box, *pending);
	}
	return 0;
}

/* kept: the move pass's listings of the pair's folders (move.h), or NULL */
static int
sync_pair(const struct sync_opts *o, const struct box_pair *pair,
	  struct side_scan *kept, struct sync_box_report *rep,
	  struct mf_err *err)
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
	if (kept != NULL) {
		side_take_scan(&r.far, &kept[SIDE_FAR]);
		side_take_scan(&r.near, &kept[SIDE_NEAR]);
	}
	rep->far_name = pair->far_name;
	rep->near_name = pair->near_name;

	ret = near_kw_unmarked(&r, &r.near_kw_unmarked, err);
	if (ret < 0)
		goto out;
	if (r.near_kw_unmarked) {
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
		       "%s: near keywords were "
		       "recorded before the near side kept them: looking at "
		       "every message once",
		       pair->far_name);
		fresh.near.dir_token = 0; /* scan it, do not skip it */
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
		r.plan->stats.guard_far == 0 && r.plan->stats.guard_near == 0 &&
		r.plan->stats.ambiguous == 0;
	if (clean && (ret = absorb_own_changes(&r, &r.far, err)) < 0)
		goto out;
	if (clean && (ret = absorb_own_changes(&r, &r.near, err)) < 0)
		goto out;
	ret = record_box(&r, clean, err);
	rep->outcome = SYNC_BOX_SYNCED;
out:
	/* no folder name added here: see folder_err() */
	pass_reset(&r);
	side_deinit(&r.far);
	side_deinit(&r.near);
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

	if (pair->blocked && pair->map_paired)
		return far_only ? "exists only on the far side; the near name "
				  "folder_map gives it is taken (by another "
				  "folder's pair, a state row or a \\Noselect "
				  "folder), so it cannot be created there" :
				  "exists only on the near side; the far name "
				  "folder_map gives it is taken (by another "
				  "folder's pair, a state row or a \\Noselect "
				  "folder), so it cannot be created there";
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

/* A near folder the user removed: made again and pulled (vanish.c). */
static int
pull_again(const struct sync_opts *o, const struct box_pair *pair,
	   struct sync_box_report *rep, struct mf_err *err)
{
	struct box_pair p = *pair;

	if (forget_vanished_near(o, pair, err) < 0)
		return -1;
	if (o->dry_run) {
		rep->far_name = pair->far_name;
		rep->near_name = pair->near_name;
		rep->outcome = SYNC_BOX_WOULD_CREATE_NEAR;
		return 0;
	}
	p.action = BOX_CREATE_NEAR;
	p.state = NULL;
	p.near = NULL;
	return sync_pair(o, &p, NULL, rep, err);
}

/*
 * moved: messages moved into the pair by the move pass; touched: the pass
 * changed its folders, so their listed status is stale and they are
 * opened and looked at like folders without one.  made: the state box the
 * pass gave a pair new in this run (id 0: none; move.h moves_run()): its
 * folders exist on both sides now, and it is synced as BOX_SYNC with it.
 */
static int
run_pair(const struct sync_opts *o, const struct box_pair *pair, size_t moved,
	 bool touched, struct side_scan *kept, const struct state_box *made,
	 struct sync_box_report *rep, struct mf_err *err)
{
	struct box_pair p = *pair;

	rep->moved = moved;
	if (made->id != 0) {
		p.action = BOX_SYNC;
		p.state = made;
		touched = true;
	}
	switch (p.action) {
	case BOX_SYNC:
		if (touched)
			p.far = p.near = NULL;
		return sync_pair(o, &p, kept, rep, err);
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
		return sync_pair(o, &p, NULL, rep, err);
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
		/* a maildir, where a folder gone is one the user removed */
		if (pair->action == BOX_VANISHED_NEAR &&
		    !(o->policy->remove & SYNC_SIDE_FAR) &&
		    (o->near->caps & MF_CAP_DIR_TOKEN))
			return pull_again(o, pair, rep, err);
		rep->far_name = pair->far_name;
		rep->near_name = pair->near_name;
		return remove_vanished(o, pair,
				       pair->action == BOX_VANISHED_FAR, rep,
				       err);
	case BOX_RENAMED:
	case BOX_FOLDED: /* sync_run() skips it */
		rep->far_name = pair->far_name;
		rep->near_name = pair->near_name;
		rep->new_far_name = pair->renamed_far;
		rep->new_near_name = pair->renamed_near;
		rep->renamed_on_far = pair->renamed_on_far;
		rep->outcome = o->dry_run ? SYNC_BOX_WOULD_RENAME :
					    SYNC_BOX_RENAMED;
		return 0;
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
	/* the folder is counted once, under its new name */
	if (rep->outcome == SYNC_BOX_RENAMED ||
	    rep->outcome == SYNC_BOX_WOULD_RENAME) {
		sum->renamed++;
		return;
	}
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
		mf_log(MF_LOG_INFO, MF_LOGC_SYNC,
		       "%s: the far server has no "
		       "UIDPLUS: deletions there only set \\Deleted",
		       o->channel);
	}
	if ((o->near->caps & MF_CAP_UIDS) &&
	    !(o->near->caps & MF_CAP_UIDPLUS) &&
	    (pol->expunge & SYNC_SIDE_NEAR)) {
		pol->expunge &= ~SYNC_SIDE_NEAR;
		mf_log(MF_LOG_INFO, MF_LOGC_SYNC,
		       "%s: the near server has no "
		       "UIDPLUS: deletions there only set \\Deleted",
		       o->channel);
	}
}

/* The length of "<word> " or "<word>" (space false) when msg starts with
 * it followed by ": ", else 0. */
static size_t
lead(const char *msg, const char *word, bool space)
{
	size_t n = word != NULL ? strlen(word) : 0;

	if (n == 0 || strncmp(msg, word, n) != 0)
		return 0;
	if (space)
		return msg[n] == ' ' ? n + 1 : 0;
	return msg[n] == ':' && msg[n + 1] == ' ' ? n : 0;
}

/* How many bytes of a leading "far NAME" / "near NAME" / "NAME" are the
 * folder's name, and where they start. */
static size_t
name_in_lead(const char *msg, const char *far, const char *near, size_t *at)
{
	size_t k;

	*at = 0;
	if ((k = lead(msg, "far", true)) > 0 && lead(msg + k, far, false)) {
		*at = k - 1;
		return strlen(far) + 1;
	}
	if ((k = lead(msg, "near", true)) > 0 && lead(msg + k, near, false)) {
		*at = k - 1;
		return strlen(near) + 1;
	}
	if (lead(msg, far, false))
		return strlen(far) + 2;
	if (lead(msg, near, false))
		return strlen(near) + 2;
	return 0;
}

/*
 * Each context word once.  A pair's report carries its names, which the
 * caller prints before the error, so the error in it leaves them out ("far
 * NAME: x" becomes "far: x", "NAME: x" becomes "x").  An error that stops
 * the channel has no names printed before it: one that names its folder
 * first stays as it is, another gets the folder's name in front.
 */
static void
folder_err(const struct box_pair *pair, const struct mf_err *in,
	   struct mf_err *report, struct mf_err *stop)
{
	size_t at, len = name_in_lead(in->msg, pair->far_name, pair->near_name,
				      &at);

	*report = *in;
	if (len > 0)
		memmove(report->msg + at, report->msg + at + len,
			strlen(report->msg + at + len) + 1);
	if (stop == NULL)
		return;
	*stop = *in;
	if (len == 0)
		mf_err_prefix(stop, "%s",
			      pair->far_name != NULL ? pair->far_name :
						       pair->near_name);
}

int
sync_stopped(struct mf_err *err)
{
	if (mf_cancel_signal() == 0)
		return 0;
	return mf_err_set(err, MF_E_CANCELED, "interrupted by %s",
			  mf_cancel_name());
}

/* What the rename and move passes hand to the folders' syncs, [pair]. */
struct passes {
	size_t *moved;
	bool *touched;
	struct side_scan *kept; /* [2 * pair + side] */
	struct state_box *made;
};

/*
 * Progress (sync.h): pair i of the plan is begun, its number among the
 * pairs sync_pairs() runs (a folded one is part of another's rename).
 * Counted afresh each time, to keep this apart from the loop: a few
 * thousand folders at most.
 */
static void
folder_progress(const struct sync_opts *o, const struct box_plan *plan,
		size_t i)
{
	struct sync_progress pr = { .kind = SYNC_PROGRESS_FOLDER };
	size_t k;

	if (o->progress == NULL || o->dry_run)
		return;
	for (k = 0; k < plan->n; k++)
		if (plan->v[k].action != BOX_FOLDED) {
			pr.box_count++;
			pr.box_index += k <= i;
		}
	pr.far_name = plan->v[i].far_name;
	pr.near_name = plan->v[i].near_name;
	o->progress(o->ctx, &pr);
}

/* Each pair of the plan in turn; -1 when the channel has to stop. */
static int
sync_pairs(const struct sync_opts *o, const struct box_plan *plan,
	   const struct passes *ps, struct sync_summary *sum,
	   struct mf_err *err)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		struct sync_box_report rep = { 0 };
		struct mf_err berr = { 0 };

		if (plan->v[i].action == BOX_FOLDED)
			continue; /* part of another pair's rename */
		/* between folders: everything before is recorded */
		if (sync_stopped(err) < 0)
			return -1;
		folder_progress(o, plan, i);
		if (run_pair(o, &plan->v[i], ps->moved[i] + plan->v[i].moved_in,
			     ps->touched[i], &ps->kept[2 * i], &ps->made[i],
			     &rep, &berr) < 0) {
			rep.box_failed = true;
			if (rep.far_name == NULL) {
				rep.far_name = plan->v[i].far_name;
				rep.near_name = plan->v[i].near_name;
			}
			if (mf_err_is_store_level(berr.cls)) {
				/* said once, as the channel's error */
				folder_err(&plan->v[i], &berr, &rep.err, err);
				add_summary(sum, &rep);
				return -1;
			}
			folder_err(&plan->v[i], &berr, &rep.err, NULL);
		}
		add_summary(sum, &rep);
		if (o->report != NULL)
			o->report(o->ctx, &rep);
	}
	return 0;
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
	struct passes ps = { 0 };
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
	boxes_warn_unmatched(far, near, o->policy, o->channel);
	if (boxes_plan(far, near, state, o->policy, o->only, o->nonly, &plan,
		       err) < 0)
		goto out;
	if (sync_stopped(err) < 0)
		goto out;
	/* first: it may add pairs (rename.h) */
	if (renames_run(o, plan, state, err) < 0) {
		mf_err_prefix(err, "renames");
		goto out;
	}
	ps.moved = xcalloc(plan->n + 1, sizeof(*ps.moved));
	ps.touched = xcalloc(plan->n + 1, sizeof(*ps.touched));
	ps.kept = xcalloc(2 * plan->n + 1, sizeof(*ps.kept));
	ps.made = xcalloc(plan->n + 1, sizeof(*ps.made));
	if (moves_run(o, plan, ps.moved, ps.touched, ps.kept, ps.made, err) <
	    0) {
		mf_err_prefix(err, "moves");
		goto out;
	}
	ret = sync_pairs(o, plan, &ps, sum, err);
out:
	for (i = 0; ps.kept != NULL && i < 2 * plan->n; i++)
		mf_scan_result_free(&ps.kept[i].res);
	free(ps.kept);
	free(ps.made);
	free(ps.moved);
	free(ps.touched);
	boxes_plan_free(&plan);
	state_box_list_free(&state);
	mf_box_list_free(&far);
	mf_box_list_free(&near);
	return ret;
}
