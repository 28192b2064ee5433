/*
 * The sync planner (see plan.h for the rules it implements).
 *
 * Passes, in order:
 *   1. rematch  - after a UIDVALIDITY change, find each row's message again
 *                 by content identity (Message-ID or header hash, plus size)
 *   2. rows     - every state row against the two views: flag merges,
 *                 deletions, interrupted copies into a key store (pending
 *                 PULL rows whose near key is journaled)
 *   3. appends  - interrupted APPENDs are looked for among the new messages
 *                 of the side they went to before being redone: pending
 *                 PUSH rows on the far side, pending PULL rows on a near
 *                 side with UIDs (IMAP to IMAP).  Their UID was never
 *                 journaled (it comes back in APPENDUID), but the journal
 *                 holds the copy's identity and size and that side's
 *                 UIDNEXT before the APPENDs, so a copy that landed is a
 *                 message at or above that UIDNEXT with that identity
 *   4. pairing  - new on both sides and the same message: pair, do not copy
 *                 (by a file name's UID hint, identity and size, header
 *                 fingerprint; what stays doubtful is held back)
 *      held     - a message whose identity could not be read this run
 *                 (mf_msg.held) is left alone, and so is what may be its
 *                 copy or its row (see hold_unread)
 *   5. copies   - what is left new on one side is copied to the other
 *   6. guard    - cancel a side's deletions when they exceed
 *                 max_delete_percent of the folder
 *
 * "Identity" below is mf_msg.msgid / state_msg.msgid: the engine puts the
 * Message-ID there, or "H:" and a hash of the header block for messages
 * without one, so a plain string compare plus the size is the test for an
 * exact copy.  mf_msg.fp (the header fingerprint) and mf_msg.cd (the
 * content digest) recognise copies that mail tools changed (ident.h).
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "flags.h"

struct planner {
	const struct plan_input *in;
	struct plan_result *res;
	size_t cap;
	bool *far_used, *near_used;
	/* rows of interrupted APPENDs, matched in pass 3; a pull keeps the
	 * index of its far message, found in pass 2 */
	size_t *pushes;
	size_t npushes;
	struct pending_pull {
		size_t row;
		long far;
	} * pulls;
	size_t npulls;
	/* messages held on each side (mf_msg.held: identity unknown) */
	size_t far_held, near_held;
};

/* ---- small helpers ---------------------------------------------------- */

static struct plan_entry *
entry_add(struct planner *p, long state, long far, long near, enum plan_why why)
{
	struct plan_result *res = p->res;
	struct plan_entry *e;

	if (res->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		res->v = xreallocarray(res->v, p->cap, sizeof(*res->v));
	}
	e = &res->v[res->n++];
	memset(e, 0, sizeof(*e));
	e->state = state;
	e->far = far;
	e->near = near;
	e->why = why;
	return e;
}

static const char *
kw_keep(struct planner *p, char *s)
{
	const char *copy = mf_arena_strdup(p->res->arena, s);

	free(s);
	return copy;
}

static long
find_far(const struct plan_input *in, uint32_t uid)
{
	return uid == 0 ? -1 : mf_msgs_find_uid(in->far, in->nfar, uid);
}

static long
find_near(const struct plan_input *in, const struct state_msg *row)
{
	if (in->near_uids)
		return row->near_uid == 0 ?
			       -1 :
			       mf_msgs_find_uid(in->near, in->nnear,
						row->near_uid);
	return row->near_key == NULL ?
		       -1 :
		       mf_msgs_find_key(in->near, in->nnear, row->near_key);
}

long
plan_find_far(const struct plan_input *in, uint32_t uid)
{
	return find_far(in, uid);
}

long
plan_find_near(const struct plan_input *in, const struct state_msg *row)
{
	return find_near(in, row);
}

static bool
row_has_near(const struct plan_input *in, const struct state_msg *row)
{
	return in->near_uids ? row->near_uid != 0 : row->near_key != NULL;
}

static bool
same_content(const char *id_a, uint64_t size_a, const char *id_b,
	     uint64_t size_b)
{
	return id_a != NULL && id_b != NULL && size_a != 0 &&
	       size_a == size_b && strcmp(id_a, id_b) == 0;
}

/* Is a far message copied to the near side as a placeholder? */
static bool
as_placeholder(const struct plan_input *in, const struct mf_msg *f)
{
	return in->placeholders && in->policy->max_size != 0 &&
	       f->size > in->policy->max_size;
}

/* A near message that only stands for its far copy: never uploaded. */
static bool
near_is_placeholder(const struct state_msg *row, const struct mf_msg *n)
{
	return (row != NULL && row->placeholder) || n->placeholder_of != 0;
}

/* Fill a far -> near copy entry; a placeholder is counted apart. */
static void
pull_entry(struct planner *p, struct plan_entry *e, const struct mf_msg *f)
{
	e->near_op.op = PLAN_OP_COPY;
	e->placeholder = as_placeholder(p->in, f);
	if (e->placeholder)
		p->res->stats.placeholders++;
	else
		p->res->stats.pull++;
}

/* ---- flag merge ------------------------------------------------------- */

void
plan_merge_flags(unsigned last_far, unsigned last_near, unsigned far,
		 unsigned near, bool pull, bool push, unsigned *far_new_r,
		 unsigned *near_new_r)
{
	unsigned far_add = far & ~last_far, far_del = last_far & ~far;
	unsigned near_add = near & ~last_near, near_del = last_near & ~near;

	*near_new_r = pull ? (near | far_add) & ~far_del : near;
	*far_new_r = push ? (far | near_add) & ~near_del : far;
}

/* The same rule for keyword sets; results are allocated. */
static void
merge_keywords(const char *last_far, const char *last_near, const char *far,
	       const char *near, bool pull, bool push, char **far_new_r,
	       char **near_new_r)
{
	char *far_add = mf_kw_minus(far, last_far);
	char *far_del = mf_kw_minus(last_far, far);
	char *near_add = mf_kw_minus(near, last_near);
	char *near_del = mf_kw_minus(last_near, near);
	char *tmp;

	if (pull) {
		tmp = mf_kw_union(near, far_add);
		*near_new_r = mf_kw_minus(tmp, far_del);
		free(tmp);
	} else {
		*near_new_r = mf_kw_normalize(near);
	}
	if (push) {
		tmp = mf_kw_union(far, near_add);
		*far_new_r = mf_kw_minus(tmp, near_del);
		free(tmp);
	} else {
		*far_new_r = mf_kw_normalize(far);
	}
	free(far_add);
	free(far_del);
	free(near_add);
	free(near_del);
}

/* Keyword set on a side as the planner must see it: a side that cannot
 * store keywords is taken to still hold what was recorded for it. */
static const char *
side_kw(bool supported, const struct mf_msg *m, const char *recorded)
{
	if (!supported)
		return recorded != NULL ? recorded : "";
	return m->keywords != NULL ? m->keywords : "";
}

/* Fill op with the change from (flags, kw) to (want, want_kw). */
static bool
set_flag_op(struct planner *p, struct plan_side_op *op, unsigned flags,
	    const char *kw, unsigned want, const char *want_kw,
	    bool kw_supported)
{
	op->add = want & ~flags;
	op->del = flags & ~want;
	if (kw_supported && !mf_kw_equal(kw, want_kw)) {
		char *add = mf_kw_minus(want_kw, kw);
		char *del = mf_kw_minus(kw, want_kw);

		op->kw_add = add[0] ? kw_keep(p, add) : (free(add), NULL);
		op->kw_del = del[0] ? kw_keep(p, del) : (free(del), NULL);
	}
	if (op->add == 0 && op->del == 0 && op->kw_add == NULL &&
	    op->kw_del == NULL)
		return false;
	op->op = PLAN_OP_FLAGS;
	return true;
}

/*
 * A message present on both sides.  row is NULL for a pair made now (no
 * history): then each side's extra flags count as added, so both end up
 * with the union and nothing set by anyone is lost.
 */
static void
plan_pair(struct planner *p, long si, long fi, long ni, enum plan_why why,
	  bool force_record)
{
	const struct plan_input *in = p->in;
	const struct sync_policy *pol = in->policy;
	const struct state_msg *row = si >= 0 ? &in->state[si] : NULL;
	const struct mf_msg *f = &in->far[fi], *n = &in->near[ni];
	bool pull = pol->pull & SYNC_FLAGS, push = pol->push & SYNC_FLAGS;
	const char *fkw, *nkw, *last_fkw, *last_nkw;
	unsigned last_far, last_near, far_new, near_new;
	char *fkw_new, *nkw_new, *common = NULL;
	struct plan_entry e = { 0 };
	bool changed;

	if (row != NULL) {
		last_far = row->far_flags;
		last_near = row->near_flags;
		last_fkw = row->far_keywords;
		last_nkw = row->near_keywords;
	} else {
		last_far = last_near = f->flags & n->flags;
		/* intersection of the two keyword sets */
		char *only_f = mf_kw_minus(f->keywords, n->keywords);

		common = mf_kw_minus(f->keywords, only_f);
		free(only_f);
		last_fkw = last_nkw = common;
	}
	fkw = side_kw(in->far_keywords, f, last_fkw);
	nkw = side_kw(in->near_keywords, n, last_nkw);

	plan_merge_flags(last_far, last_near, f->flags, n->flags, pull, push,
			 &far_new, &near_new);
	merge_keywords(last_fkw, last_nkw, fkw, nkw, pull, push, &fkw_new,
		       &nkw_new);
	free(common);

	changed = set_flag_op(p, &e.far_op, f->flags, fkw, far_new, fkw_new,
			      in->far_keywords);
	changed |= set_flag_op(p, &e.near_op, n->flags, nkw, near_new, nkw_new,
			       in->near_keywords);
	if (row != NULL && !changed && !force_record &&
	    row->far_flags == far_new && row->near_flags == near_new &&
	    mf_kw_equal(row->far_keywords, fkw_new) &&
	    mf_kw_equal(row->near_keywords, nkw_new) &&
	    row->pending == STATE_PENDING_NONE) {
		free(fkw_new);
		free(nkw_new);
		return;
	}
	if (e.far_op.op != PLAN_OP_NONE)
		p->res->stats.flags_far++;
	if (e.near_op.op != PLAN_OP_NONE)
		p->res->stats.flags_near++;
	if (why == PLAN_WHY_PAIRED)
		p->res->stats.paired++;

	struct plan_entry *out = entry_add(p, si, fi, ni, why);

	out->far_op = e.far_op;
	out->near_op = e.near_op;
	out->rec = PLAN_REC_SET;
	out->has_far = out->has_near = true;
	out->far_flags = far_new;
	out->near_flags = near_new;
	out->far_kw = kw_keep(p, fkw_new);
	out->near_kw = kw_keep(p, nkw_new);
	out->placeholder = near_is_placeholder(row, n);
}

/* ---- pass 1: rematch after UIDVALIDITY change ------------------------- */

/*
 * Find an unused message on one side with the row's identity and size.
 * Linear, but only run after a UIDVALIDITY change, which is rare; the
 * cost is rows x messages of one folder.
 */
static long
rematch_one(const struct mf_msg *msgs, size_t n, bool *used,
	    const struct state_msg *row)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!used[i] && same_content(row->msgid, row->size,
					     msgs[i].msgid, msgs[i].size))
			return (long)i;
	return -1;
}

/* ---- pass 2: state rows ----------------------------------------------- */

/* A pending pull whose copy is not there: copy it again, into its row. */
static void
retry_pull(struct planner *p, long si, long fi)
{
	const struct plan_input *in = p->in;
	const struct mf_msg *f = &in->far[fi];
	struct plan_entry *e = entry_add(p, si, fi, -1, PLAN_WHY_RETRY);

	pull_entry(p, e, f);
	e->rec = PLAN_REC_SET;
	e->has_far = e->has_near = true;
	e->far_flags = e->near_flags = f->flags;
	e->far_kw = e->near_kw = side_kw(in->far_keywords, f,
					 in->state[si].far_keywords);
}

/*
 * Has a side changed since the last sync in a way that must survive a
 * deletion on the other side?  Setting \Deleted does not count: that side
 * is deleting the message too (and it is how an interrupted expunge of
 * ours looks: flagged, not yet expunged).
 */
static bool
far_changed(const struct plan_input *in, const struct state_msg *row,
	    const struct mf_msg *f)
{
	if ((f->flags | MF_FLAG_DELETED) != (row->far_flags | MF_FLAG_DELETED))
		return true;
	return in->far_keywords && !mf_kw_equal(f->keywords, row->far_keywords);
}

static bool
near_changed(const struct plan_input *in, const struct state_msg *row,
	     const struct mf_msg *n)
{
	if ((n->flags | MF_FLAG_DELETED) != (row->near_flags | MF_FLAG_DELETED))
		return true;
	return in->near_keywords &&
	       !mf_kw_equal(n->keywords, row->near_keywords);
}

/* Record the row with one side absent on purpose (not copied back). */
static void
record_one_sided(struct planner *p, long si, long fi, long ni,
		 enum plan_why why)
{
	const struct plan_input *in = p->in;
	const struct state_msg *row = &in->state[si];
	struct plan_entry *e = entry_add(p, si, fi, ni, why);

	e->rec = PLAN_REC_SET;
	e->has_far = fi >= 0;
	e->has_near = ni >= 0;
	e->far_flags = fi >= 0 ? in->far[fi].flags : row->far_flags;
	e->near_flags = ni >= 0 ? in->near[ni].flags : row->near_flags;
	e->far_kw = fi >= 0 ? side_kw(in->far_keywords, &in->far[fi],
				      row->far_keywords) :
			      row->far_keywords;
	e->near_kw = ni >= 0 ? side_kw(in->near_keywords, &in->near[ni],
				       row->near_keywords) :
			       row->near_keywords;
}

/* The far copy is gone; the near one (ni) is still there. */
static void
far_gone(struct planner *p, long si, long ni)
{
	const struct plan_input *in = p->in;
	const struct sync_policy *pol = in->policy;
	const struct state_msg *row = &in->state[si];
	const struct mf_msg *n = &in->near[ni];
	struct plan_entry *e;

	if (near_changed(in, row, n) && (pol->push & SYNC_NEW) &&
	    !near_is_placeholder(row, n)) {
		/* changes win over deletes: copy it back (not a placeholder:
		 * it has no body to copy, and its far original is gone) */
		e = entry_add(p, si, -1, ni, PLAN_WHY_RESURRECT);
		e->far_op.op = PLAN_OP_COPY;
		e->rec = PLAN_REC_SET;
		e->has_far = e->has_near = true;
		e->far_flags = e->near_flags = n->flags;
		e->far_kw = e->near_kw = side_kw(in->near_keywords, n,
						 row->near_keywords);
		p->res->stats.push++;
		return;
	}
	if (!(pol->pull & SYNC_DELETE)) {
		record_one_sided(p, si, -1, ni, PLAN_WHY_GONE_FAR);
		return;
	}
	e = entry_add(p, si, -1, ni, PLAN_WHY_GONE_FAR);
	p->res->stats.del_near++;
	if (pol->expunge & SYNC_SIDE_NEAR) {
		e->near_op.op = PLAN_OP_DELETE;
		e->rec = PLAN_REC_FORGET;
		return;
	}
	/* deletion carried out as a flag only: maildir T / \Deleted */
	e->near_op.op = PLAN_OP_FLAGS;
	e->near_op.add = MF_FLAG_DELETED & ~n->flags;
	if (e->near_op.add == 0)
		e->near_op.op = PLAN_OP_NONE;
	e->rec = PLAN_REC_SET;
	e->has_near = true;
	e->far_flags = row->far_flags;
	e->near_flags = n->flags | MF_FLAG_DELETED;
	e->far_kw = row->far_keywords;
	e->near_kw = side_kw(in->near_keywords, n, row->near_keywords);
}

/* The near copy is gone; the far one (fi) is still there. */
static void
near_gone(struct planner *p, long si, long fi)
{
	const struct plan_input *in = p->in;
	const struct sync_policy *pol = in->policy;
	const struct state_msg *row = &in->state[si];
	const struct mf_msg *f = &in->far[fi];
	struct plan_entry *e;

	if (far_changed(in, row, f) && (pol->pull & SYNC_NEW)) {
		e = entry_add(p, si, fi, -1, PLAN_WHY_RESURRECT);
		pull_entry(p, e, f);
		e->rec = PLAN_REC_SET;
		e->has_far = e->has_near = true;
		e->far_flags = e->near_flags = f->flags;
		e->far_kw = e->near_kw = side_kw(in->far_keywords, f,
						 row->far_keywords);
		return;
	}
	if (!(pol->push & SYNC_DELETE)) {
		record_one_sided(p, si, fi, -1, PLAN_WHY_GONE_NEAR);
		return;
	}
	e = entry_add(p, si, fi, -1, PLAN_WHY_GONE_NEAR);
	p->res->stats.del_far++;
	if (pol->expunge & SYNC_SIDE_FAR) {
		e->far_op.op = PLAN_OP_DELETE;
		e->rec = PLAN_REC_FORGET;
		return;
	}
	e->far_op.op = PLAN_OP_FLAGS;
	e->far_op.add = MF_FLAG_DELETED & ~f->flags;
	if (e->far_op.add == 0)
		e->far_op.op = PLAN_OP_NONE;
	e->rec = PLAN_REC_SET;
	e->has_far = true;
	e->far_flags = f->flags | MF_FLAG_DELETED;
	e->near_flags = row->near_flags;
	e->far_kw = side_kw(in->far_keywords, f, row->far_keywords);
	e->near_kw = row->near_keywords;
}

static void
forget(struct planner *p, long si, enum plan_why why)
{
	struct plan_entry *e = entry_add(p, si, -1, -1, why);

	e->rec = PLAN_REC_FORGET;
}

/*
 * Where the row's message is on each side now (-1: not there): by its
 * recorded UID or key, or, after a UIDVALIDITY change of that side, by
 * identity and size (*rematched).
 */
static void
find_row_msgs(struct planner *p, const struct state_msg *row, bool had_far,
	      bool had_near, long *fi_r, long *ni_r, bool *rematched_r)
{
	const struct plan_input *in = p->in;
	long fi = -1, ni;
	bool rematched = false;

	if (had_far && in->far_reset) {
		fi = rematch_one(in->far, in->nfar, p->far_used, row);
		rematched = fi >= 0;
	} else if (had_far) {
		fi = find_far(in, row->far_uid);
	}
	if (had_near && in->near_reset) {
		ni = rematch_one(in->near, in->nnear, p->near_used, row);
		rematched |= ni >= 0;
	} else {
		ni = find_near(in, row);
	}
	/* a UID can be claimed only once (a corrupt state could repeat it) */
	if (fi >= 0 && p->far_used[fi])
		fi = -1;
	if (ni >= 0 && p->near_used[ni])
		ni = -1;
	if (fi >= 0)
		p->far_used[fi] = true;
	if (ni >= 0)
		p->near_used[ni] = true;
	*fi_r = fi;
	*ni_r = ni;
	*rematched_r = rematched;
}

/*
 * A row an interrupted run left pending (PULL, PUSH, FETCH): settle it, or
 * queue it for pass 3.  false for a row with nothing pending (or a MOVE,
 * settled before planning by move-recover.c): it is planned as recorded.
 */
static bool
plan_pending_row(struct planner *p, size_t i, long fi, long ni)
{
	const struct plan_input *in = p->in;
	const struct state_msg *row = &in->state[i];
	long si = (long)i;

	switch (row->pending) {
	case STATE_PENDING_PULL:
		/* the copy to the near side was started: did it land? */
		if (fi >= 0 && ni >= 0) {
			plan_pair(p, si, fi, ni, PLAN_WHY_CONFIRM, true);
			return true;
		}
		if (fi >= 0 && in->near_uids) {
			/* an APPEND: found by identity in pass 3 */
			p->pulls[p->npulls].row = i;
			p->pulls[p->npulls++].far = fi;
			return true;
		}
		if (fi >= 0) { /* copy it again, into the same row */
			retry_pull(p, si, fi);
			return true;
		}
		if (ni >= 0) /* far gone meanwhile: the copy stays new */
			p->near_used[ni] = false;
		forget(p, si, PLAN_WHY_RETRY);
		return true;
	case STATE_PENDING_PUSH:
		if (ni < 0) {
			forget(p, si, PLAN_WHY_RETRY);
			return true;
		}
		p->pushes[p->npushes++] = i;
		return true;
	case STATE_PENDING_FETCH:
		/* settled before planning (sync/fetch.c); left by a dry run
		 * or a settling that could not unlink the placeholder.
		 * Nothing is planned, the journal stays, and the full copy
		 * is not taken for a new message: the next settling ends
		 * it. */
		if (!in->near_uids && row->pending_key != NULL) {
			long k = mf_msgs_find_key(in->near, in->nnear,
						  row->pending_key);

			if (k >= 0)
				p->near_used[k] = true;
		}
		return true;
	case STATE_PENDING_NONE:
	case STATE_PENDING_MOVE:
		break;
	}
	return false;
}

/*
 * A settled row: what each side did to its message since the last sync.
 * had_far / had_near: the row records a message on that side.
 */
static void
plan_recorded_row(struct planner *p, size_t i, long fi, long ni, bool had_far,
		  bool had_near, bool rematched)
{
	const struct plan_input *in = p->in;
	const struct state_msg *row = &in->state[i];
	long si = (long)i;

	if ((in->far_reset && had_far && fi < 0 && p->far_held > 0) ||
	    (in->near_reset && had_near && ni < 0 && p->near_held > 0)) {
		/* it may be a held message, whose identity is unknown:
		 * row and messages stay as they are this run */
		return;
	}
	if ((in->far_reset && had_far && fi < 0) ||
	    (in->near_reset && had_near && ni < 0)) {
		/* not found again after a UIDVALIDITY change: whatever is
		 * left becomes new and is paired or copied like any new
		 * message; nothing is deleted on such a guess */
		if (ni >= 0)
			p->near_used[ni] = false;
		if (fi >= 0)
			p->far_used[fi] = false;
		forget(p, si, PLAN_WHY_RETRY);
		return;
	}
	if (fi >= 0 && ni >= 0)
		plan_pair(p, si, fi, ni, PLAN_WHY_FLAGS, rematched);
	else if (had_far && had_near && fi < 0 && ni >= 0)
		far_gone(p, si, ni);
	else if (had_far && had_near && fi >= 0 && ni < 0)
		near_gone(p, si, fi);
	else if (fi < 0 && ni < 0)
		forget(p, si, PLAN_WHY_GONE_BOTH);
	else if (!had_near && fi >= 0 &&
		 (far_changed(in, row, &in->far[fi]) || rematched))
		record_one_sided(p, si, fi, -1, PLAN_WHY_FLAGS);
	else if (!had_far && ni >= 0 && near_changed(in, row, &in->near[ni]))
		record_one_sided(p, si, -1, ni, PLAN_WHY_FLAGS);
}

/* One state row: find its messages, then settle what is pending or plan
 * what changed. */
static void
plan_row(struct planner *p, size_t i)
{
	const struct plan_input *in = p->in;
	const struct state_msg *row = &in->state[i];
	bool had_far = row->far_uid != 0, had_near = row_has_near(in, row);
	bool rematched;
	long fi, ni;

	find_row_msgs(p, row, had_far, had_near, &fi, &ni, &rematched);
	if (plan_pending_row(p, i, fi, ni))
		return;
	plan_recorded_row(p, i, fi, ni, had_far, had_near, rematched);
}

/* ---- pass 3: interrupted APPENDs -------------------------------------- */

/*
 * The message an interrupted APPEND of row left on a side (msgs, sorted by
 * uid): the first unused one at or above the journaled UIDNEXT with the
 * row's identity and size; -1 if none.  After a UIDVALIDITY change the
 * journaled UIDNEXT means nothing and the whole side is searched.  Equal
 * copies pair up in UID order, one row each.
 */
static long
find_appended(const struct mf_msg *msgs, size_t n, const bool *used,
	      const struct state_msg *row, bool reset)
{
	uint32_t from = reset ? 0 : row->pending_uidnext;
	size_t k;

	for (k = 0; k < n; k++) {
		if (used[k] || msgs[k].uid < from)
			continue;
		if (same_content(row->msgid, row->size, msgs[k].msgid,
				 msgs[k].size))
			return (long)k;
	}
	return -1;
}

/*
 * Could the APPEND of row have landed as a held message (its identity
 * unknown), one at or above the journaled UIDNEXT?  Then it is not
 * copied again this run: the row stays pending as it is.
 */
static bool
append_maybe_held(const struct mf_msg *msgs, size_t n,
		  const struct state_msg *row, bool reset)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (msgs[k].held &&
		    (reset || msgs[k].uid >= row->pending_uidnext))
			return true;
	return false;
}

/* A pull into a UID near side (IMAP to IMAP): landed, or copy again. */
static void
plan_pending_pull(struct planner *p, const struct pending_pull *pp)
{
	const struct plan_input *in = p->in;
	long ni = find_appended(in->near, in->nnear, p->near_used,
				&in->state[pp->row], in->near_reset);

	if (ni >= 0) {
		p->near_used[ni] = true;
		plan_pair(p, (long)pp->row, pp->far, ni, PLAN_WHY_CONFIRM,
			  true);
		return;
	}
	if (append_maybe_held(in->near, in->nnear, &in->state[pp->row],
			      in->near_reset))
		return;
	retry_pull(p, (long)pp->row, pp->far);
}

static void
plan_pending_push(struct planner *p, size_t i)
{
	const struct plan_input *in = p->in;
	const struct state_msg *row = &in->state[i];
	long ni = find_near(in, row);
	long k = find_appended(in->far, in->nfar, p->far_used, row,
			       in->far_reset);
	struct plan_entry *e;

	if (k >= 0) {
		p->far_used[k] = true;
		plan_pair(p, (long)i, k, ni, PLAN_WHY_CONFIRM, true);
		return;
	}
	if (append_maybe_held(in->far, in->nfar, row, in->far_reset))
		return;
	/* not there: APPEND again */
	e = entry_add(p, (long)i, -1, ni, PLAN_WHY_RETRY);
	e->far_op.op = PLAN_OP_COPY;
	e->rec = PLAN_REC_SET;
	e->has_far = e->has_near = true;
	e->far_flags = e->near_flags = in->near[ni].flags;
	e->far_kw = e->near_kw = side_kw(in->near_keywords, &in->near[ni],
					 row->near_keywords);
	p->res->stats.push++;
}

/* ---- pass 4: pairing new messages ------------------------------------- */

/* A Message-ID, not the "H:" header hash that stands in for a missing one. */
static bool
is_msgid(const char *id)
{
	return id != NULL && strncmp(id, "H:", 2) != 0;
}

bool
plan_is_msgid(const char *id)
{
	return is_msgid(id);
}

struct ident {
	const char *id;
	uint64_t size;
	size_t idx;
};

static int
ident_cmp(const void *a, const void *b)
{
	const struct ident *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A placeholder is paired by the size of the message it stands for. */
static uint64_t
pair_size(const struct mf_msg *m)
{
	return m->placeholder_of != 0 ? m->placeholder_of : m->size;
}

/*
 * The unused messages with an identity (by_fp: a fingerprint), sorted by
 * it and then by size, so that equal sizes line up inside a group.
 */
static struct ident *
collect(const struct mf_msg *msgs, size_t n, const bool *used, bool by_fp,
	size_t *n_r)
{
	struct ident *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		const char *id = by_fp ? msgs[i].fp : msgs[i].msgid;

		if (used[i] || id == NULL || pair_size(&msgs[i]) == 0)
			continue;
		v[o].id = id;
		v[o].size = pair_size(&msgs[i]);
		v[o].idx = i;
		o++;
	}
	mf_qsort(v, o, sizeof(*v), ident_cmp);
	*n_r = o;
	return v;
}

static void
pair_two(struct planner *p, size_t fi, size_t ni)
{
	p->far_used[fi] = true;
	p->near_used[ni] = true;
	plan_pair(p, -1, (long)fi, (long)ni, PLAN_WHY_PAIRED, true);
}

/*
 * Pair equal identities.  by_fp false: identity and size must both agree
 * (the exact copy).  by_fp true: the fingerprint alone (the same header
 * up to what mail tools add and re-space; the size may differ).  Equal
 * groups pair in order, so k copies on one side and m on the other pair
 * min(k, m) times.
 */
static void
pair_pass(struct planner *p, bool by_fp)
{
	const struct plan_input *in = p->in;
	size_t nf, nn, i = 0, j = 0;
	struct ident *fv = collect(in->far, in->nfar, p->far_used, by_fp, &nf);
	struct ident *nv = collect(in->near, in->nnear, p->near_used, by_fp,
				   &nn);

	while (i < nf && j < nn) {
		int c = strcmp(fv[i].id, nv[j].id);

		if (c == 0 && !by_fp && fv[i].size != nv[j].size)
			c = fv[i].size < nv[j].size ? -1 : 1;
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			pair_two(p, fv[i].idx, nv[j].idx);
			i++;
			j++;
		}
	}
	free(fv);
	free(nv);
}

/*
 * Does the content confirm a file name's UID hint?  A different
 * Message-ID refutes it.  A checked hint (it belongs to this folder) is
 * confirmed by an equal Message-ID, fingerprint or content digest,
 * whatever the sizes (mbsync adds X-TUID, OfflineIMAP re-spaces headers
 * and blank lines).  An unchecked one (a ",U=" with no FMD5 and no
 * .mbsyncstate: it may be mbsync's own numbering) needs the size to agree,
 * or both the Message-ID and the fingerprint.
 */
static bool
hint_confirmed(const struct mf_msg *f, const struct mf_msg *n)
{
	bool both_ids = is_msgid(f->msgid) && is_msgid(n->msgid);
	bool same_id = both_ids && strcmp(f->msgid, n->msgid) == 0;
	bool same_fp = f->fp != NULL && n->fp != NULL &&
		       strcmp(f->fp, n->fp) == 0;
	bool same_size = f->size != 0 && f->size == n->size;
	bool same_cd = f->cd != NULL && n->cd != NULL &&
		       strcmp(f->cd, n->cd) == 0;

	if (both_ids && !same_id)
		return false;
	if (n->name_uid_checked)
		return same_id || same_fp || same_cd ||
		       (same_size && !is_msgid(f->msgid) &&
			!is_msgid(n->msgid));
	return same_size || (same_id && same_fp);
}

static void
pair_by_name_uid(struct planner *p)
{
	const struct plan_input *in = p->in;
	size_t i;

	if (in->far_reset || in->near_uids)
		return;
	for (i = 0; i < in->nnear; i++) {
		const struct mf_msg *n = &in->near[i];
		long fi;

		if (p->near_used[i] || n->name_uid == 0 ||
		    n->placeholder_of != 0)
			continue;
		fi = find_far(in, n->name_uid);
		if (fi < 0 || p->far_used[fi] ||
		    !hint_confirmed(&in->far[fi], n))
			continue;
		pair_two(p, (size_t)fi, i);
	}
}

/*
 * What is left with a Message-ID found on both sides is probably one
 * message that a tool changed beyond what the fingerprint forgives, but
 * that cannot be shown: copying it would make a second copy on each side
 * if it is, and deleting is never done on a guess.  It stays where it is,
 * neither copied nor recorded, and is reported (PLAN_WHY_AMBIGUOUS) until
 * the user settles it.
 */
static void
hold_ambiguous(struct planner *p)
{
	const struct plan_input *in = p->in;
	size_t nf, nn, i = 0, j = 0;
	struct ident *fv = collect(in->far, in->nfar, p->far_used, false, &nf);
	struct ident *nv = collect(in->near, in->nnear, p->near_used, false,
				   &nn);

	while (i < nf && j < nn) {
		int c = strcmp(fv[i].id, nv[j].id);
		size_t i1 = i, j1 = j;

		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0) {
			j++;
			continue;
		}
		while (i1 < nf && strcmp(fv[i1].id, fv[i].id) == 0)
			i1++;
		while (j1 < nn && strcmp(nv[j1].id, nv[j].id) == 0)
			j1++;
		if (is_msgid(fv[i].id)) {
			size_t k;

			for (k = i; k < i1; k++) {
				p->far_used[fv[k].idx] = true;
				entry_add(p, -1, (long)fv[k].idx, -1,
					  PLAN_WHY_AMBIGUOUS);
			}
			for (k = j; k < j1; k++) {
				p->near_used[nv[k].idx] = true;
				entry_add(p, -1, -1, (long)nv[k].idx,
					  PLAN_WHY_AMBIGUOUS);
			}
			p->res->stats.ambiguous += (i1 - i) + (j1 - j);
		}
		i = i1;
		j = j1;
	}
	free(fv);
	free(nv);
}

/* ---- held messages: left alone ---------------------------------------- */

/*
 * A held message (mf_msg.held) is new (no row named it in pass 2) and its
 * identity is unknown: it is neither paired nor copied nor recorded this
 * run; the engine named it, and the next run reads it again.
 */
static void
hold_unread(struct planner *p)
{
	const struct plan_input *in = p->in;
	size_t i;

	for (i = 0; i < in->nfar; i++)
		if (in->far[i].held && !p->far_used[i]) {
			p->far_used[i] = true;
			p->res->stats.held++;
		}
	for (i = 0; i < in->nnear; i++)
		if (in->near[i].held && !p->near_used[i]) {
			p->near_used[i] = true;
			p->res->stats.held++;
		}
}

/*
 * Could m, new on one side and unpaired, be a copy of a held message of
 * the other side (held[0..n))?  An exact copy has the same canonical
 * size; near_uid: m's file name names the held far UID (another tool's
 * hint).  Such a copy would make a second one there: it waits too.
 */
static bool
maybe_copy_of_held(const struct mf_msg *m, const struct mf_msg *held, size_t n,
		   bool by_name_uid)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!held[i].held)
			continue;
		if (pair_size(&held[i]) != 0 &&
		    pair_size(&held[i]) == pair_size(m))
			return true;
		if (by_name_uid && m->name_uid != 0 &&
		    m->name_uid == held[i].uid)
			return true;
	}
	return false;
}

/* ---- pass 5: copies ----------------------------------------------------- */

static void
copy_new_far(struct planner *p)
{
	const struct plan_input *in = p->in;
	const struct sync_policy *pol = in->policy;
	size_t i, first = 0;

	if (!(pol->pull & SYNC_NEW))
		return;
	/* max_messages: only the newest N (highest UIDs) are copied */
	if (pol->max_messages != 0 && in->nfar > pol->max_messages)
		first = in->nfar - pol->max_messages;
	for (i = 0; i < in->nfar; i++) {
		const struct mf_msg *f = &in->far[i];
		struct plan_entry *e;

		if (p->far_used[i])
			continue;
		if (p->near_held > 0 &&
		    maybe_copy_of_held(f, in->near, in->nnear, false)) {
			p->res->stats.held++;
			continue;
		}
		if (i < first) {
			p->res->stats.skipped_count++;
			continue;
		}
		if (pol->max_age_days != 0 && f->date != 0 &&
		    f->date < in->now - (int64_t)pol->max_age_days * 86400) {
			p->res->stats.skipped_age++;
			continue;
		}
		if (pol->max_size != 0 && f->size > pol->max_size &&
		    !as_placeholder(in, f)) {
			p->res->stats.skipped_size++;
			continue;
		}
		e = entry_add(p, -1, (long)i, -1, PLAN_WHY_NEW_FAR);
		pull_entry(p, e, f);
		e->rec = PLAN_REC_SET;
		e->has_far = e->has_near = true;
		e->far_flags = e->near_flags = f->flags;
		e->far_kw = e->near_kw = f->keywords ? f->keywords : "";
	}
}

static void
copy_new_near(struct planner *p)
{
	const struct plan_input *in = p->in;
	size_t i;

	if (!(in->policy->push & SYNC_NEW))
		return;
	for (i = 0; i < in->nnear; i++) {
		const struct mf_msg *n = &in->near[i];
		struct plan_entry *e;

		if (p->near_used[i])
			continue;
		if (p->far_held > 0 &&
		    maybe_copy_of_held(n, in->far, in->nfar, !in->near_uids)) {
			p->res->stats.held++;
			continue;
		}
		/* a placeholder left without its far message (or its row) is
		 * only a header: it stays where it is and is never uploaded */
		if ((in->policy->max_size != 0 &&
		     n->size > in->policy->max_size) ||
		    n->placeholder_of != 0) {
			p->res->stats.skipped_size++;
			continue;
		}
		e = entry_add(p, -1, -1, (long)i, PLAN_WHY_NEW_NEAR);
		e->far_op.op = PLAN_OP_COPY;
		e->rec = PLAN_REC_SET;
		e->has_far = e->has_near = true;
		e->far_flags = e->near_flags = n->flags;
		e->far_kw = e->near_kw = n->keywords ? n->keywords : "";
		p->res->stats.push++;
	}
}

/* ---- pass 6: the mass deletion guard ----------------------------------- */

static bool
guard_trips(const struct sync_policy *pol, size_t deletions, size_t total)
{
	unsigned pct = pol->max_delete_percent ? pol->max_delete_percent : 100;

	if (deletions <= 10 || total == 0)
		return false;
	return deletions * 100 > (size_t)pct * total;
}

static void
apply_guard(struct planner *p)
{
	struct plan_result *res = p->res;
	const struct sync_policy *pol = p->in->policy;
	bool far_trip = guard_trips(pol, res->stats.del_far, p->in->nstate);
	bool near_trip = guard_trips(pol, res->stats.del_near, p->in->nstate);
	size_t i, o = 0;

	if (!far_trip && !near_trip)
		return;
	/* held-back deletions leave their rows alone: the next run sees the
	 * same situation and asks again */
	for (i = 0; i < res->n; i++) {
		struct plan_entry *e = &res->v[i];

		if (far_trip && e->why == PLAN_WHY_GONE_NEAR) {
			res->stats.guard_far++;
			continue;
		}
		if (near_trip && e->why == PLAN_WHY_GONE_FAR) {
			res->stats.guard_near++;
			continue;
		}
		res->v[o++] = *e;
	}
	res->n = o;
	if (far_trip)
		res->stats.del_far = 0;
	if (near_trip)
		res->stats.del_near = 0;
}

/* ---- entry point -------------------------------------------------------- */

int
plan_box(const struct plan_input *in, struct plan_result **res_r,
	 struct mf_err *err)
{
	struct planner p = { 0 };
	size_t i;

	if (in->policy == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "plan: no policy");
	p.in = in;
	p.res = xcalloc(1, sizeof(*p.res));
	p.res->arena = mf_arena_create(4096);
	p.far_used = xcalloc(in->nfar + 1, sizeof(bool));
	p.near_used = xcalloc(in->nnear + 1, sizeof(bool));
	p.pushes = xcalloc(in->nstate + 1, sizeof(size_t));
	p.pulls = xcalloc(in->nstate + 1, sizeof(*p.pulls));

	for (i = 0; i < in->nfar; i++)
		p.far_held += in->far[i].held;
	for (i = 0; i < in->nnear; i++)
		p.near_held += in->near[i].held;
	for (i = 0; i < in->nstate; i++)
		plan_row(&p, i);
	hold_unread(&p);
	for (i = 0; i < p.npulls; i++)
		plan_pending_pull(&p, &p.pulls[i]);
	for (i = 0; i < p.npushes; i++)
		plan_pending_push(&p, p.pushes[i]);
	pair_by_name_uid(&p);
	pair_pass(&p, false);
	pair_pass(&p, true);
	hold_ambiguous(&p);
	copy_new_far(&p);
	copy_new_near(&p);
	apply_guard(&p);

	free(p.far_used);
	free(p.near_used);
	free(p.pushes);
	free(p.pulls);
	*res_r = p.res;
	return 0;
}

void
plan_result_free(struct plan_result **resp)
{
	struct plan_result *res = *resp;

	if (res == NULL)
		return;
	free(res->v);
	mf_arena_destroy(&res->arena);
	free(res);
	*resp = NULL;
}
