/*
 * Moves between folders, the engine half (the matching is move-match.c).
 *
 * Run once per channel before the folder pairs are synced one by one: a
 * pair run sees only its own folder, where a move looks like a deletion
 * in one folder and a new message in another.  Here the whole channel is
 * in view.  For each side S ("near" when the user filed mail locally,
 * "far" when another client did it on the server):
 *
 *   1. Which folders may have lost or gained messages on S: from the
 *      listing alone (maildir directory token; IMAP STATUS counters), so a
 *      quiet channel pays nothing.  Moves need a loser and a gainer.
 *   2. gone: state rows of a loser whose S message is no longer there
 *      (maildir: one readdir; IMAP: one UID list).  fresh: messages of a
 *      gainer no state row knows (maildir: the same readdir; IMAP: the
 *      UIDs from the recorded UIDNEXT on).
 *   3. move_match(): by key (a maildir file renamed into another folder
 *      keeps its name), then by identity and size (the header of each
 *      fresh message is read for it, only when a gone row is left over).
 *   4. The mirror side M moves the message too (store move: IMAP UID MOVE
 *      or COPY + UID EXPUNGE, maildir rename), and in one transaction the
 *      row leaves the old folder's state and enters the new one's, with
 *      the S id of the fresh message and the M id the move returned.
 *      A maildir file S moved by hand is relabeled in between (move.h,
 *      "Keywords of a file moved by hand").
 *
 * A move is mirrored only where the policy would have carried both halves
 * (new messages and deletions from S to M, and expunge on M): it replaces
 * exactly a deletion plus a copy.
 *
 * Limits.  Only folders synced before and in this run take part as
 * sources: present on both sides (or renamed by this run's rename pass,
 * candidate()), or gone on the side being looked at
 * only (move.h, "Folders gone on one side": every row is gone there, M
 * moves out of the folder it still has); as destinations folders present
 * on both sides, and also folders new in this run (move.h, "Folders new
 * in this run": created on the mirror side first).
 * A move out of the channel's folder patterns is still a deletion plus a
 * copy.  A folder pair with interrupted copies is left to its own sync.  A maildir
 * folder's readdir is handed to its pair's sync (struct side_scan,
 * engine.h) unless a move of ours changed the folder after it; an IMAP
 * folder is read once more than the pair run will (a UID list and a fetch
 * of the new UIDs).  Headers are read only when a content match is
 * possible.
 *
 * Moved on both sides (move.h has the rule).  The near pass runs first;
 * its mirror MOVE finds the far UID gone from the old folder, so it keeps
 * a note (mv_note): the row, and where the near copy is now.  The far
 * pass then matches the same row to the far copy in its new folder; a
 * job with a note takes its near copy from the note's folder, not the
 * row's: the same folder makes a group with nothing to move (only
 * recorded), another folder a near move from there into the far one.
 *
 * Crash safety.  Every mirror move is journaled first (journal(): the row
 * becomes STATE_PENDING_MOVE with a struct move_journal as pending_move)
 * and recorded after, in one transaction that moves the row into the
 * destination with its flags unchanged.  A run that finds journaled rows
 * settles them before anything else (move-recover.c), so a stop between
 * the two ends where an uninterrupted run would have.  Rows journaled
 * without an argument (an older version) keep the old rule: a MOVE is
 * retried only where that is harmless (the server has MOVE; a UID already
 * moved is simply not there), else the row is left to its folder's sync.
 */
#include "move.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "engine.h"
#include "ident.h"
#include "near-kw.h"

/* A folder pair taking part. */
struct mv_box {
	const struct box_pair *pair;
	struct state_msg_list *rows;
	/* on the side being looked at */
	bool may_lose, may_gain;
	/* the folder vanished there (vanished_on()): nothing to list, every
	 * row's message is gone */
	bool gone_here;
	/* its UIDVALIDITY changed there (guess_changes()): the recorded UIDs
	 * mean nothing, so every row is gone and every message fresh until
	 * reset_settle() takes back what is still in the folder */
	bool reset_here;
	struct mf_scan_result *list;	  /* everything there (or NULL) */
	struct mf_box_status list_status; /* selected before list */
	struct mf_scan_result *fresh;	  /* UID side: from old UIDNEXT on */
	struct mf_box_status seen_status; /* selected before fresh or list */
};

/* Candidate details beside the move_cand arrays. */
struct gone_ref {
	size_t box;
	struct state_msg *row;
};

struct fresh_ref {
	size_t box;
	const struct mf_msg *msg; /* in a scan result */
	char ident[IDENT_MAX];
};

/*
 * The near pass found row's message moved locally into box (as key or
 * uid) but the far mirror found nothing to move: the server may have
 * moved it too.  The far pass settles it (move.h, "Moved on both sides").
 */
struct mv_note {
	int64_t rowid;
	size_t box;
	uint32_t uid;
	char key[MOVE_KEY_MAX];
};

struct mv_run {
	const struct sync_opts *o;
	const struct box_plan *plan;
	struct mv_box *boxes; /* one per plan entry */
	size_t *moved;
	bool *touched;
	struct mv_note *notes;
	size_t nnotes, notes_cap;
	/* listings for the folders' syncs (moves_run()), or NULL; changed:
	 * which folders this pass changed on either side ([2 * pair + side]) */
	struct side_scan *kept;
	bool *changed;
	/* made[i]: the state box this pass gave pair i, a pair new in this
	 * run (id 0: none yet; moves_run()), or NULL: such pairs stay out */
	struct state_box *made;
	const struct side *far, *near;
	/* vrows[i]: pair i vanished on a side and has rows (count_vanished()) */
	bool *vrows;
};

/* The state box of pair i: the one listed, the one this pass made, or
 * NULL. */
static const struct state_box *
pair_state(const struct mv_run *r, size_t i)
{
	if (r->plan->v[i].state != NULL)
		return r->plan->v[i].state;
	return r->made != NULL && r->made[i].id != 0 ? &r->made[i] : NULL;
}

static uint32_t
row_uid(const struct side *s, const struct state_msg *row)
{
	return s->id == SIDE_FAR ? row->far_uid : row->near_uid;
}

static bool
row_has(const struct side *s, const struct state_msg *row)
{
	if (s->id == SIDE_FAR)
		return row->far_uid != 0;
	return s->uids ? row->near_uid != 0 : row->near_key != NULL;
}

/* Does the policy turn a move on s into a delete plus a copy on m? */
static bool
policy_mirrors(const struct sync_opts *o, const struct side *s)
{
	const struct sync_policy *pol = o->policy;
	unsigned dir = s->id == SIDE_NEAR ? pol->push : pol->pull;
	unsigned m_bit = s->id == SIDE_NEAR ? SYNC_SIDE_FAR : SYNC_SIDE_NEAR;

	return (dir & SYNC_NEW) && (dir & SYNC_DELETE) &&
	       (pol->expunge & m_bit);
}

/* ---- 1. which folders may have changed on s -------------------------- */

static void
guess_changes(const struct side *s, const struct box_pair *p, struct mv_box *b)
{
	const struct mf_box_info *info = s->id == SIDE_FAR ? p->far : p->near;
	const struct state_side *rec = s->id == SIDE_FAR ? &p->state->far :
							   &p->state->near;
	const struct mf_box_status *now = info != NULL ? &info->status : NULL;

	b->may_lose = b->may_gain = false;
	if (!s->uids) {
		b->may_lose = b->may_gain = now == NULL ||
					    now->dir_token == 0 ||
					    now->dir_token != rec->dir_token;
		return;
	}
	if (now == NULL || !now->has_status || rec->uidnext == 0) {
		b->may_lose = b->may_gain = true;
		return;
	}
	if (now->uidvalidity != rec->uidvalidity) {
		/* move.h, "UIDVALIDITY changed" */
		b->reset_here = rec->uidvalidity != 0 && now->uidvalidity != 0;
		/* (called before the rows are read: side_may_move()) */
		b->may_lose = b->reset_here && rec->messages > 0;
		b->may_gain = b->reset_here && now->messages > 0;
		return;
	}
	b->may_gain = now->uidnext > rec->uidnext;
	/* an expunge leaves fewer messages than the old ones plus every
	 * UID handed out since could account for */
	b->may_lose = now->uidnext < rec->uidnext ||
		      (uint64_t)now->messages <
			      (uint64_t)rec->messages +
				      (now->uidnext - rec->uidnext);
}

/*
 * A folder new in this run, on the side s where it exists: it can only
 * have gained, and only if it holds anything.
 */
static void
guess_new(const struct side *s, const struct box_pair *p, struct mv_box *b)
{
	const struct mf_box_info *info = s->id == SIDE_FAR ? p->far : p->near;

	b->may_lose = false;
	b->may_gain = !info->status.has_status || info->status.messages > 0;
}

static bool
has_interrupted_copies(const struct state_msg_list *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		if (rows->v[i].pending == STATE_PENDING_PULL ||
		    rows->v[i].pending == STATE_PENDING_PUSH)
			return true;
	return false;
}

/* ---- the listings handed on (engine.h, struct side_scan) -------------- */

/*
 * A key side's listing is what the folder's own sync would read (a full
 * scan for flags, on a store without MF_CAP_CHEAP_SIZE); a UID side's
 * scans are partial and not handed on.
 */
static bool
may_keep(const struct side *s)
{
	return !s->uids && !(s->st->caps & MF_CAP_CHEAP_SIZE);
}

/* Folder pair i changed on side id: a listing of it made before is stale. */
static void
changed(struct mv_run *r, enum side_id id, size_t i)
{
	r->changed[2 * i + id] = true;
	if (r->kept != NULL)
		mf_scan_result_free(&r->kept[2 * i + id].res);
}

/* Hand b's listing on (or free it), at the end of side s's pass. */
static void
keep_listing(struct mv_run *r, const struct side *s, size_t i, struct mv_box *b)
{
	struct side_scan *k = r->kept != NULL ? &r->kept[2 * i + s->id] : NULL;

	if (k == NULL || b->list == NULL || !may_keep(s) ||
	    r->changed[2 * i + s->id]) {
		mf_scan_result_free(&b->list);
		return;
	}
	mf_scan_result_free(&k->res);
	k->res = b->list;
	k->status = b->list_status;
	b->list = NULL;
}

/* ---- 2. gone and fresh ------------------------------------------------ */

static int
scan_box(const struct side *s, const struct box_pair *p,
	 const struct mf_scan_req *req, struct mf_scan_result **res_r,
	 struct mf_box_status *status_r, struct mf_err *err)
{
	struct mf_box_status status;
	const char *name = side_box_of(s, p);

	if (status_r == NULL)
		status_r = &status;
	if (side_open(s, name, true, status_r, err) < 0 ||
	    s->st->ops->scan(s->st, req, res_r, err) < 0)
		return mf_err_prefix(err, "%s %s", s->label, name);
	return 0;
}

static int
look(const struct side *s, struct mv_box *b, struct mf_err *err)
{
	const struct box_pair *p = b->pair;
	/* NULL: a folder new in this run, every message of it is fresh */
	const struct state_side *rec = p->state == NULL	 ? NULL :
				       s->id == SIDE_FAR ? &p->state->far :
							   &p->state->near;

	if (b->gone_here)
		return 0; /* no folder to read: collect() knows */
	if (b->reset_here) {
		struct mf_scan_req req = { .want = MF_WANT_FLAGS | MF_WANT_SIZE,
					   .uid_lo = 1 };

		if (scan_box(s, p, &req, &b->fresh, &b->seen_status, err) < 0)
			return -1;
		if (b->seen_status.uidvalidity == rec->uidvalidity) {
			/* listed with another one than selected: the
			 * folder's own sync sorts it out */
			b->reset_here = false;
			mf_scan_result_free(&b->fresh);
		}
		return 0;
	}
	if (!s->uids) {
		struct mf_scan_req req = { .want = MF_WANT_FLAGS };

		if (scan_box(s, p, &req, &b->list, &b->list_status, err) < 0)
			return -1;
		b->seen_status = b->list_status;
		return 0;
	}
	if (b->may_lose) {
		struct mf_scan_req req = { .want = 0 };

		if (scan_box(s, p, &req, &b->list, &b->list_status, err) < 0)
			return -1;
	}
	if (b->may_gain) {
		struct mf_scan_req req = {
			.want = MF_WANT_FLAGS | MF_WANT_SIZE,
			.uid_lo = rec != NULL && rec->uidnext ? rec->uidnext :
								1,
		};

		if (scan_box(s, p, &req, &b->fresh, &b->seen_status, err) < 0)
			return -1;
	}
	/* the recorded UIDs mean nothing under another UIDVALIDITY (a folder
	 * without a listed status: guess_changes() could not tell) */
	if (rec != NULL && rec->uidvalidity != 0 &&
	    ((b->list != NULL &&
	      b->list_status.uidvalidity != rec->uidvalidity) ||
	     (b->fresh != NULL &&
	      b->seen_status.uidvalidity != rec->uidvalidity))) {
		mf_scan_result_free(&b->list);
		mf_scan_result_free(&b->fresh);
	}
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
row_may_move(const struct side *s, const struct side *m,
	     const struct state_msg *row)
{
	if (!row_has(s, row) || !row_has(m, row))
		return false;
	if (row->pending == STATE_PENDING_NONE)
		return true;
	/* a move that may have been half done: see the top of the file */
	return row->pending == STATE_PENDING_MOVE &&
	       (!m->uids || (m->st->caps & MF_CAP_MOVE));
}

/*
 * A maildir key the journal and mf_move_item.new_key can hold.  A longer
 * one is left out of the move pass: cut short, the journal or the recorded
 * key would name no file, and the next run would copy the message again.
 * The folders' own syncs delete and copy it instead, as before moves.
 */
static bool
key_fits(const char *key)
{
	return key == NULL || strlen(key) < MOVE_KEY_MAX;
}

/* The rows of b whose message left s, and the messages no row knows. */
static void
collect(const struct side *s, const struct side *m, size_t bi, struct mv_box *b,
	struct move_cand **gone, struct gone_ref **gref, size_t *ngone,
	size_t *gcap, struct move_cand **fresh, struct fresh_ref **fref,
	size_t *nfresh, size_t *fcap)
{
	const struct state_msg_list *rows = b->rows;
	const struct mf_scan_result *seen = s->uids ? b->fresh : b->list;
	uint32_t *uids = xcalloc(rows->n + 1, sizeof(*uids));
	const char **keys = xcalloc(rows->n + 1, sizeof(*keys));
	size_t i, nu = 0, nk = 0;

	for (i = 0; i < rows->n; i++) {
		struct state_msg *row = &rows->v[i];
		bool there;

		if (s->uids && row_uid(s, row) != 0 && !b->reset_here)
			uids[nu++] = row_uid(s, row);
		if (!s->uids && row->near_key != NULL)
			keys[nk++] = row->near_key;
		if ((b->list == NULL && !b->gone_here && !b->reset_here) ||
		    !row_may_move(s, m, row) || !key_fits(row->near_key))
			continue;
		/* under another UIDVALIDITY only a match by content can
		 * find it (UID sides have no keys) */
		if (b->reset_here && (row->msgid == NULL || row->size == 0))
			continue;
		/* out of a folder gone: only what a stopped run's journal
		 * can be settled for (move-recover.c looks for the moved
		 * message on an IMAP m by identity and size); one left
		 * journaled would keep the folder (vanish.c) */
		if (b->gone_here && m->uids &&
		    (row->msgid == NULL || row->size == 0))
			continue;
		if (b->gone_here || b->reset_here)
			there = false;
		else if (s->uids)
			there = mf_msgs_find_uid(b->list->msgs, b->list->n,
						 row_uid(s, row)) >= 0;
		else
			there = mf_msgs_find_key(b->list->msgs, b->list->n,
						 row->near_key) >= 0;
		if (there)
			continue;
		if (*ngone == *gcap) {
			*gcap = *gcap ? *gcap * 2 : 64;
			*gone = xreallocarray(*gone, *gcap, sizeof(**gone));
			*gref = xreallocarray(*gref, *gcap, sizeof(**gref));
		}
		(*gone)[*ngone] = (struct move_cand){
			bi, s->uids ? NULL : row->near_key, row->msgid,
			row->size, 0
		};
		(*gref)[(*ngone)++] = (struct gone_ref){ bi, row };
	}
	mf_qsort(uids, nu, sizeof(*uids), cmp_u32);
	mf_qsort(keys, nk, sizeof(*keys), cmp_str);
	for (i = 0; seen != NULL && i < seen->n; i++) {
		const struct mf_msg *msg = &seen->msgs[i];
		bool known = s->uids ?
				     mf_bsearch(&msg->uid, uids, nu,
						sizeof(*uids),
						cmp_u32) != NULL :
				     mf_bsearch(&msg->key, keys, nk,
						sizeof(*keys), cmp_str) != NULL;

		if (known || !key_fits(msg->key))
			continue;
		if (*nfresh == *fcap) {
			*fcap = *fcap ? *fcap * 2 : 64;
			*fresh = xreallocarray(*fresh, *fcap, sizeof(**fresh));
			*fref = xreallocarray(*fref, *fcap, sizeof(**fref));
		}
		(*fresh)[*nfresh] = (struct move_cand){ bi, msg->key, NULL,
							msg->size, 0 };
		(*fref)[*nfresh].box = bi;
		(*fref)[(*nfresh)++].msg = msg;
	}
	free(uids);
	free(keys);
}

/*
 * Identity (and, on a maildir, canonical size) of the fresh messages of
 * one folder that want it: one bulk fetch, headers only where the size is
 * known.  A message that cannot be read just stays unmatched.
 */
static int
identify_box(const struct side *s, const struct box_pair *p,
	     struct move_cand *fresh, struct fresh_ref *fref,
	     const size_t *which, size_t n, struct mf_err *err)
{
	struct mf_fetch_item *items = xcalloc(n + 1, sizeof(*items));
	struct ident_sink *sinks = xcalloc(n + 1, sizeof(*sinks));
	struct mf_box_status status;
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		const struct mf_msg *msg = fref[which[i]].msg;

		ident_sink_init(&sinks[i], NULL);
		items[i].uid = msg->uid;
		items[i].key = msg->key;
		items[i].sink = &sinks[i].sink;
		items[i].header_only = msg->size != 0;
	}
	if (side_open(s, side_box_of(s, p), true, &status, err) < 0 ||
	    s->st->ops->fetch(s->st, items, n, err) < 0) {
		mf_err_prefix(err, "%s %s: read headers", s->label,
			      side_box_of(s, p));
		ret = -1;
	}
	for (i = 0; i < n; i++) {
		struct move_cand *c = &fresh[which[i]];
		struct fresh_ref *f = &fref[which[i]];

		if (ret == 0 && items[i].status == 0) {
			ident_sink_identity(&sinks[i], f->ident);
			c->ident = f->ident;
			if (!items[i].header_only)
				c->size = sinks[i].size;
			c->size_bare =
				c->size -
				ident_tool_bytes(sinks[i].hdr.data != NULL ?
							 sinks[i].hdr.data :
							 "",
						 sinks[i].hdr.len);
		}
		ident_sink_deinit(&sinks[i]);
	}
	free(items);
	free(sinks);
	return ret;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Is the header of fresh message f of pair k worth reading?  A folder new
 * in this run holds nothing but fresh messages, so one deletion elsewhere
 * would cost the header of each: there, on a UID side (exact sizes), only
 * a message of the size of one gone unmatched can be its move (a saved
 * copy that grew, BY_IDENT_BARE, is a maildir's).  sizes: those, sorted.
 * The same where every gone row left is a vanished folder's (vanished:
 * one kept after vanishing stays a loser in every run, and new mail
 * anywhere would otherwise cost its header each time), and in a folder
 * whose UIDVALIDITY changed (every message of it is fresh).
 */
static bool
worth_reading(const struct mv_run *r, const struct side *s, size_t k,
	      const struct move_cand *f, const uint64_t *sizes, size_t nsizes,
	      bool vanished)
{
	if ((r->plan->v[k].state != NULL && !vanished &&
	     !r->boxes[k].reset_here) ||
	    !s->uids || f->size == 0)
		return true;
	return mf_bsearch(&f->size, sizes, nsizes, sizeof(*sizes), cmp_u64) !=
	       NULL;
}

/* Read identities where a content match is possible at all. */
static int
identify_fresh(struct mv_run *r, const struct side *s,
	       const struct move_cand *gone, size_t ngone,
	       const struct move_pair *pairs, size_t npairs,
	       struct move_cand *fresh, struct fresh_ref *fref, size_t nfresh,
	       struct mf_err *err)
{
	bool *gone_done = xcalloc(ngone + 1, sizeof(bool));
	bool *fresh_done = xcalloc(nfresh + 1, sizeof(bool));
	size_t *which = xcalloc(nfresh + 1, sizeof(size_t));
	uint64_t *sizes = xcalloc(ngone + 1, sizeof(*sizes));
	size_t i, k, left = 0;
	bool vanished = true;
	int ret = 0;

	for (i = 0; i < npairs; i++) {
		gone_done[pairs[i].gone] = true;
		fresh_done[pairs[i].fresh] = true;
	}
	for (i = 0; i < ngone; i++)
		if (!gone_done[i] && gone[i].ident != NULL) {
			sizes[left++] = gone[i].size;
			vanished &= r->boxes[gone[i].box].gone_here;
		}
	mf_qsort(sizes, left, sizeof(*sizes), cmp_u64);
	for (k = 0; left > 0 && ret == 0 && k < r->plan->n; k++) {
		size_t n = 0;
		bool other_box_gone = false;

		for (i = 0; i < ngone && !other_box_gone; i++)
			other_box_gone = !gone_done[i] &&
					 gone[i].ident != NULL &&
					 gone[i].box != k;
		if (!other_box_gone)
			continue;
		for (i = 0; i < nfresh; i++)
			if (fresh[i].box == k && !fresh_done[i] &&
			    worth_reading(r, s, k, &fresh[i], sizes, left,
					  vanished))
				which[n++] = i;
		if (n > 0)
			ret = identify_box(s, r->plan->v + k, fresh, fref,
					   which, n, err);
	}
	free(gone_done);
	free(fresh_done);
	free(which);
	free(sizes);
	return ret;
}

/* A matched gone row's identity, for drop_copies(). */
struct id_ref {
	const char *ident;
	uint64_t size;
	size_t pair; /* index into the pairs */
};

static int
cmp_id_ref(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int c = strcmp(x->ident, y->ident);

	if (c != 0)
		return c;
	return x->size < y->size ? -1 : x->size > y->size;
}

/*
 * A vanished folder's message matched by content while a row of another
 * folder knows a message of that identity and size: the fresh one may as
 * well be a copy of that one, and is not taken for a move.  A vanished
 * folder that is kept stays a loser in every run (vanish.c), so without
 * this the same copies would be a move in one run and not in another: a
 * message copied into two folders is not a move (move_match()), but once
 * the first folder's sync has made its copy known (a run stopped between
 * the two), the second copy alone would match.  A row of an interrupted
 * copy may not know its identity yet: while any folder has one, no such
 * match is taken (the folder's sync settles it, the next run decides).
 * Matches by key are left: a maildir file keeps its unique name only
 * when it is renamed.
 */
static void
drop_copies(const struct mv_run *r, const struct move_cand *gone,
	    struct move_pair *pairs, size_t *npairs)
{
	struct id_ref *v = xcalloc(*npairs + 1, sizeof(*v));
	bool *drop = xcalloc(*npairs + 1, sizeof(*drop));
	bool unsettled = false;
	size_t i, k, n = 0;

	for (i = 0; i < r->plan->n && !unsettled; i++)
		unsettled = r->boxes[i].rows != NULL &&
			    has_interrupted_copies(r->boxes[i].rows);
	for (i = 0; i < *npairs; i++) {
		const struct move_cand *g = &gone[pairs[i].gone];

		if (pairs[i].by_key || !r->boxes[g->box].gone_here)
			continue;
		if (unsettled || g->ident == NULL)
			drop[i] = true;
		else
			v[n++] = (struct id_ref){ g->ident, g->size, i };
	}
	mf_qsort(v, n, sizeof(*v), cmp_id_ref);
	for (i = 0; n > 0 && i < r->plan->n; i++) {
		const struct state_msg_list *rows = r->boxes[i].rows;

		for (k = 0;
		     !r->boxes[i].gone_here && rows != NULL && k < rows->n;
		     k++) {
			struct id_ref key = { rows->v[k].msgid, rows->v[k].size,
					      0 };
			const struct id_ref *hit;

			if (key.ident == NULL)
				continue;
			hit = mf_bsearch(&key, v, n, sizeof(*v), cmp_id_ref);
			if (hit != NULL)
				drop[hit->pair] = true;
		}
	}
	for (i = k = 0; i < *npairs; i++)
		if (!drop[i])
			pairs[k++] = pairs[i];
	if (k < *npairs)
		mf_debug(MF_LOGC_SYNC,
			 "moves: %zu out of vanished folders left: "
			 "a copy of each is known elsewhere",
			 *npairs - k);
	*npairs = k;
	free(v);
	free(drop);
}

/* One identity of a folder whose UIDVALIDITY changed, for reset_settle(). */
struct reset_ref {
	const char *ident;
	size_t idx;
	bool is_gone;
};

static int
cmp_reset_ref(const void *a, const void *b)
{
	const struct reset_ref *x = a, *y = b;

	return strcmp(x->ident, y->ident);
}

/*
 * In folder k (reset_here), take out of the candidates every row and
 * every message that share an identity: that message is still in the
 * folder under its new UID, and the folder's own sync pairs them again
 * (plan.c, find_row_msgs()).  By identity alone, not size: what is left
 * in doubt stays where it is.
 */
static void
reset_cancel(size_t k, struct move_cand *gone, size_t ngone,
	     struct move_cand *fresh, size_t nfresh)
{
	struct reset_ref *v = xcalloc(ngone + nfresh + 1, sizeof(*v));
	size_t i, j, n = 0;

	for (i = 0; i < ngone; i++)
		if (gone[i].box == k && gone[i].ident != NULL)
			v[n++] = (struct reset_ref){ gone[i].ident, i, true };
	for (i = 0; i < nfresh; i++)
		if (fresh[i].box == k && fresh[i].ident != NULL)
			v[n++] = (struct reset_ref){ fresh[i].ident, i, false };
	mf_qsort(v, n, sizeof(*v), cmp_reset_ref);
	for (i = 0; i < n; i = j) {
		bool g = false, f = false;

		for (j = i; j < n && strcmp(v[i].ident, v[j].ident) == 0; j++) {
			g |= v[j].is_gone;
			f |= !v[j].is_gone;
		}
		if (!g || !f)
			continue;
		for (; i < j; i++)
			if (v[i].is_gone) {
				gone[v[i].idx].ident = NULL;
			} else {
				/* size 0: not read again (reset_settle()) */
				fresh[v[i].idx].ident = NULL;
				fresh[v[i].idx].size = 0;
				fresh[v[i].idx].size_bare = 0;
			}
	}
	free(v);
}

/*
 * A folder whose UIDVALIDITY changed on s lists every row as gone and
 * every message as fresh (move.h, "UIDVALIDITY changed").  Before a row
 * of it is moved out, the folder's own fresh messages of that row's size
 * have their identities read (most were, as candidates for other
 * folders' rows) and reset_cancel() takes back what is still there; then
 * the candidates are matched again, until every match out of such a
 * folder was checked so.  A folder whose headers cannot be read moves
 * nothing out.  *pairs and *npairs are replaced.
 */
static int
reset_settle(struct mv_run *r, const struct side *s, struct move_cand *gone,
	     size_t ngone, struct move_cand *fresh, struct fresh_ref *fref,
	     size_t nfresh, struct move_pair **pairs, size_t *npairs,
	     struct mf_err *err)
{
	bool *checked = xcalloc(ngone + 1, sizeof(bool));
	uint64_t *sizes = xcalloc(ngone + 1, sizeof(*sizes));
	size_t *which = xcalloc(nfresh + 1, sizeof(*which));
	bool again = true;
	size_t i, k, ns, n;
	int ret = 0;

	while (again && ret == 0) {
		again = false;
		for (k = 0; k < r->plan->n && ret == 0; k++) {
			if (!r->boxes[k].reset_here)
				continue;
			for (i = ns = 0; i < *npairs; i++) {
				size_t g = (*pairs)[i].gone;

				if (gone[g].box == k && !checked[g]) {
					checked[g] = true;
					sizes[ns++] = gone[g].size;
				}
			}
			if (ns == 0)
				continue;
			again = true;
			mf_qsort(sizes, ns, sizeof(*sizes), cmp_u64);
			for (i = n = 0; i < nfresh; i++)
				if (fresh[i].box == k &&
				    fresh[i].ident == NULL &&
				    mf_bsearch(&fresh[i].size, sizes, ns,
					       sizeof(*sizes), cmp_u64) != NULL)
					which[n++] = i;
			if (n > 0 && identify_box(s, r->plan->v + k, fresh,
						  fref, which, n, err) < 0) {
				if (mf_err_is_store_level(err->cls)) {
					ret = -1;
					break;
				}
				mf_debug(MF_LOGC_SYNC, "moves: %s", err->msg);
				mf_err_clear(err);
				for (i = 0; i < ngone; i++)
					if (gone[i].box == k)
						gone[i].ident = NULL;
			}
			reset_cancel(k, gone, ngone, fresh, nfresh);
		}
		if (again && ret == 0) {
			free(*pairs);
			move_match(gone, ngone, fresh, nfresh, pairs, npairs);
		}
	}
	free(checked);
	free(sizes);
	free(which);
	return ret;
}

/* ---- 4. carrying a move out ------------------------------------------- */

/* One match, with what the mirror side did. */
struct mv_job {
	struct gone_ref *g;
	struct fresh_ref *f;
	/* where the mirror's copy is: the row's folder and id, or where a
	 * move of its own took it (a note) */
	size_t m_src;
	uint32_t m_uid;
	const char *m_key;
	struct mf_move_item item;
	bool journaled;
	bool relabel; /* moved by hand on a maildir S: relabel() */
};

/*
 * Write row into pair i's state box box_id (insert, or update by rowid):
 * in a folder whose UIDVALIDITY changed on s, the row's UID there is of
 * the new numbering or a meaningless old one, either of which another row
 * may hold (state.h, state_msg_park_uid()).
 */
static int
write_row(const struct mv_run *r, const struct side *s, size_t i,
	  int64_t box_id, struct state_msg *row, struct mf_err *err)
{
	bool far = s->id == SIDE_FAR;

	return move_row_write(r->o->db, box_id, row,
			      far && r->boxes[i].reset_here,
			      !far && r->boxes[i].reset_here, err);
}

int
move_row_write(struct state_db *db, int64_t box_id, struct state_msg *row,
	       bool far_reset, bool near_reset, struct mf_err *err)
{
	if (far_reset && row->far_uid != 0 &&
	    state_msg_park_uid(db, box_id, true, row->far_uid, err) < 0)
		return -1;
	if (near_reset && row->near_uid != 0 &&
	    state_msg_park_uid(db, box_id, false, row->near_uid, err) < 0)
		return -1;
	if (row->rowid != 0)
		return state_msg_update(db, row, err);
	return state_msg_insert(db, box_id, row, err);
}

/* The journal of job j: what a run that stops now needs to finish it. */
static void
journal_arg(const struct mv_run *r, const struct side *s, const struct side *m,
	    const struct mv_job *j, struct move_journal *jrp)
{
	const struct box_pair *to = &r->plan->v[j->f->box];
	const struct mf_box_info *info = m->id == SIDE_FAR ? to->far : to->near;
	struct move_journal jr = { 0 };

	jr.to = pair_state(r, j->f->box)->id;
	jr.from = j->m_src == j->g->box ? 0 : pair_state(r, j->m_src)->id;
	jr.s_far = s->id == SIDE_FAR;
	if (m->uids && info != NULL && info->status.has_status)
		jr.hint = info->status.uidnext;
	jr.s_uid = j->f->msg->uid;
	snprintf(jr.s_key, sizeof(jr.s_key), "%s",
		 j->f->msg->key != NULL ? j->f->msg->key : "");
	jr.m_uid = j->m_uid;
	snprintf(jr.m_key, sizeof(jr.m_key), "%s",
		 j->m_key != NULL ? j->m_key : "");
	jr.relabel = j->relabel;
	if (j->relabel)
		snprintf(jr.s_kw, sizeof(jr.s_kw), "%s", j->f->msg->keywords);
	*jrp = jr; /* keys fit: collect() takes no longer one */
}

/* A state box for a pair new in this run, as sync.c open_pair() adds one. */
static int
add_box(struct mv_run *r, struct state_box *box, struct mf_err *err)
{
	if (state_box_add(r->o->db, box, err) < 0)
		return -1;
	if ((r->o->near->caps & MF_CAP_KEYWORDS) &&
	    near_kw_mark(r->o->db, box->id, err) < 0)
		return -1;
	return 0;
}

/*
 * Journal the jobs in one transaction.  add (or NULL): the destination's
 * state box, new in this run (dest_ready()), goes in the same one, first:
 * a run stopped before finds neither, one stopped after finds both.
 */
static int
journal(struct mv_run *r, const struct side *s, const struct side *m,
	struct mv_job *jobs, size_t n, struct state_box *add,
	struct mf_err *err)
{
	struct state_db *db = r->o->db;
	struct move_journal jr;
	size_t i;

	if (state_begin(db, err) < 0)
		return -1;
	if (add != NULL && add_box(r, add, err) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		struct state_msg row = *jobs[i].g->row;

		journal_arg(r, s, m, &jobs[i], &jr);
		state_msg_clear_pending(&row);
		row.pending = STATE_PENDING_MOVE;
		row.pending_move = &jr;
		if (write_row(r, s, jobs[i].g->box,
			      pair_state(r, jobs[i].g->box)->id, &row, err) < 0)
			goto fail;
		jobs[i].journaled = true;
	}
	if (state_commit(db, err) < 0)
		goto fail;
	mf_test_step("move journal");
	return 0;
fail:
	state_rollback(db);
	if (add != NULL)
		add->id = 0; /* not in the database */
	return -1;
}

/* The row for the destination: the old one with the new ids. */
static void
dest_row(const struct side *s, const struct side *m, const struct mv_job *j,
	 struct state_msg *row)
{
	const struct mf_msg *f = j->f->msg;

	if (s->id == SIDE_FAR)
		move_dest_row(j->g->row, f->uid, m->uids ? j->item.new_uid : 0,
			      m->uids ? NULL : j->item.new_key, row);
	else
		move_dest_row(j->g->row, j->item.new_uid, s->uids ? f->uid : 0,
			      s->uids ? NULL : f->key, row);
}

/* The near pass's mirror found nothing to move: remember where the near
 * copy went, in case the far pass finds the server moved it too. */
static void
note(struct mv_run *r, const struct side *s, const struct mv_job *j)
{
	struct mv_note *nt;

	if (s->id != SIDE_NEAR || r->o->dry_run)
		return;
	if (r->nnotes == r->notes_cap) {
		r->notes_cap = r->notes_cap ? r->notes_cap * 2 : 16;
		r->notes = xreallocarray(r->notes, r->notes_cap,
					 sizeof(*r->notes));
	}
	nt = &r->notes[r->nnotes++];
	nt->rowid = j->g->row->rowid;
	nt->box = j->f->box;
	nt->uid = j->f->msg->uid;
	snprintf(nt->key, sizeof(nt->key), "%s",
		 j->f->msg->key != NULL ? j->f->msg->key : "");
}

static const struct mv_note *
find_note(const struct mv_run *r, int64_t rowid)
{
	size_t i;

	for (i = 0; i < r->nnotes; i++)
		if (r->notes[i].rowid == rowid)
			return &r->notes[i];
	return NULL;
}

static int
record(struct mv_run *r, const struct side *s, const struct side *m, size_t dst,
       struct mv_job *jobs, size_t n, struct mf_err *err)
{
	struct state_db *db = r->o->db;
	const struct state_box *to = pair_state(r, dst);
	size_t i;

	if (state_begin(db, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct mv_job *j = &jobs[i];
		struct state_msg row;
		bool known = m->uids ? j->item.new_uid != 0 :
				       j->item.new_key[0] != '\0';

		if (j->item.status != 0 || j->item.gone) {
			if (j->item.gone)
				note(r, s, j);
			if (!j->journaled)
				continue;
			/* nothing moved: the folders' syncs decide */
			if (write_row(r, s, j->g->box,
				      pair_state(r, j->g->box)->id, j->g->row,
				      err) < 0)
				goto fail;
			continue;
		}
		if (state_msg_delete(db, j->g->row->rowid, err) < 0)
			goto fail;
		/* without the new id the destination's sync pairs it by
		 * content, as after a crash */
		if (known) {
			dest_row(s, m, j, &row);
			if (write_row(r, s, dst, to->id, &row, err) < 0)
				goto fail;
		}
		r->moved[dst]++;
	}
	if (state_commit(db, err) < 0)
		return -1;
	mf_test_step("move record");
	return 0;
fail:
	state_rollback(db);
	return -1;
}

static void
dry_line(struct mv_run *r, const struct side *s, const struct side *m,
	 size_t src, size_t dst, const struct mv_job *j)
{
	const struct state_msg *row = j->g->row;
	struct sync_action a = { .kind = SYNC_ACTION_MOVE };

	if (r->o->planned == NULL)
		return;
	a.box = r->plan->v[src].far_name;
	a.to = r->plan->v[dst].far_name;
	a.side = s->id == SIDE_FAR ? SYNC_SIDE_FAR : SYNC_SIDE_NEAR;
	if (s->uids)
		a.seen_id.uid = j->f->msg->uid;
	else
		a.seen_id.key = j->f->msg->key;
	if (m->uids)
		a.mirror_id.uid = row_uid(m, row);
	else
		a.mirror_id.key = row->near_key;
	r->o->planned(r->o->ctx, &a);
}

/*
 * The files the user moved by hand into dst on s still carry the letters
 * of src's dovecot-keywords: give them dst's letters for the same
 * keywords, after m moved its copy (so a run stopped before m's move
 * redoes the whole move, relabel included, and one stopped after it finds
 * the journal done and relabels there: move-recover.c).  A relabel that
 * fails leaves the letters as they are, the behaviour before relabel.
 */
static int
relabel_group(struct mv_run *r, const struct side *s, size_t src, size_t dst,
	      struct mv_job *jobs, size_t n, struct mf_err *err)
{
	struct mf_box_status status;
	struct mf_relabel_item *items = xcalloc(n + 1, sizeof(*items));
	struct mf_err rerr = { 0 };
	const char *to = side_box_of(s, &r->plan->v[dst]);
	size_t i, k = 0;
	int ret;

	for (i = 0; i < n; i++)
		if (jobs[i].relabel && jobs[i].item.status == 0 &&
		    !jobs[i].item.gone) {
			items[k].key = jobs[i].f->msg->key;
			items[k++].expect = jobs[i].f->msg->keywords;
		}
	if (k == 0) {
		free(items);
		return 0;
	}
	changed(r, s->id, dst);
	ret = side_open(s, to, false, &status, &rerr);
	if (ret == 0)
		ret = s->st->ops->relabel(s->st, items, k,
					  side_box_of(s, &r->plan->v[src]),
					  &rerr);
	for (i = 0; ret == 0 && i < k; i++)
		if (items[i].status != 0)
			mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
			       "%s: keywords of %s "
			       "moved by hand: %s",
			       to, items[i].key, items[i].err.msg);
	free(items);
	if (ret < 0) {
		mf_err_prefix(&rerr,
			      "%s %s: keywords of messages moved by "
			      "hand",
			      s->label, to);
		if (mf_err_is_store_level(rerr.cls)) {
			mf_err_copy(err, &rerr);
			return -1;
		}
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s", rerr.msg);
	}
	return 0;
}

/*
 * A destination new in this run (no state box): make its folder on m
 * where it is missing, and fill box with the state box that goes in with
 * the first journal into it (journal()).  The folder comes first: a run
 * stopped after it finds the folder on both sides and no state box, a
 * pair new in this run still (newcomer()), and this pass goes on from
 * there; the other order would leave a state box whose folder is missing
 * on m, which reads as a folder removed there (boxes.h, BOX_VANISHED_*).
 * m's folder must be empty: copies already in it are paired by the
 * folder's first sync, and a move beside them would make two.  The box
 * records both UIDVALIDITYs at once and no UIDNEXT, as open_pair() in
 * sync.c does, and the names are the plan's (borrowed).  Returns 1 when
 * ready, 0 when the moves are left to the folders' syncs (a folder-level
 * failure: the pair's own run reports it), -1 on a store-level error.
 */
static int
dest_ready(struct mv_run *r, const struct side *m, size_t dst,
	   struct state_box *box, struct mf_err *err)
{
	const struct box_pair *p = &r->plan->v[dst];
	const struct mf_box_info *there = m->id == SIDE_FAR ? p->far : p->near;
	const char *name = side_box_of(m, p);
	struct mf_scan_req req = { .want = 0 };
	struct mf_scan_result *res = NULL;
	struct mf_box_status status;
	struct mf_err merr = { 0 };
	size_t held;

	if (there == NULL) {
		if (m->st->ops->create_box(m->st, name, &merr) == 0)
			mf_test_step("move create");
		else if (mf_err_is_store_level(merr.cls))
			goto fail;
		else /* made meanwhile by another client? the select says */
			mf_err_clear(&merr);
	}
	if (side_open(m, name, true, &status, &merr) < 0 ||
	    m->st->ops->scan(m->st, &req, &res, &merr) < 0)
		goto fail;
	held = res->n;
	mf_scan_result_free(&res);
	if (held > 0) {
		mf_debug(MF_LOGC_SYNC,
			 "%s %s: new in this run and not empty: "
			 "moves into it left to its sync",
			 m->label, name);
		return 0;
	}
	memset(box, 0, sizeof(*box));
	box->far_name = (char *)p->far_name;
	box->near_name = (char *)p->near_name;
	if (m->id == SIDE_FAR) {
		box->far.uidvalidity = status.uidvalidity;
		box->near.uidvalidity = r->boxes[dst].seen_status.uidvalidity;
	} else {
		box->near.uidvalidity = status.uidvalidity;
		box->far.uidvalidity = r->boxes[dst].seen_status.uidvalidity;
	}
	return 1;
fail:
	mf_err_prefix(&merr, "%s %s: folder for moves", m->label, name);
	if (mf_err_is_store_level(merr.cls)) {
		mf_err_copy(err, &merr);
		return -1;
	}
	mf_debug(MF_LOGC_SYNC, "moves: %s", merr.msg);
	return 0;
}

/* Move the jobs from folder src to dst on m, then record them. */
static int
move_group(struct mv_run *r, const struct side *s, const struct side *m,
	   size_t src, size_t dst, struct mv_job *jobs, size_t n,
	   struct mf_err *err)
{
	const struct box_pair *from = &r->plan->v[src], *to = &r->plan->v[dst];
	size_t m_src = jobs[0].m_src;
	struct mf_box_status status;
	struct mf_move_item *items;
	struct mf_err merr = { 0 };
	struct state_box *add = NULL;
	size_t i;
	int ret;

	if (r->o->dry_run) {
		for (i = 0; i < n; i++)
			dry_line(r, s, m, src, dst, &jobs[i]);
		r->moved[dst] += n;
		return 0;
	}
	r->touched[src] = r->touched[dst] = r->touched[m_src] = true;
	changed(r, m->id, src);
	changed(r, m->id, m_src);
	changed(r, m->id, dst);
	if (pair_state(r, dst) == NULL) {
		/* a folder new in this run (move.h) */
		if ((ret = dest_ready(r, m, dst, &r->made[dst], err)) <= 0)
			return ret;
		add = &r->made[dst];
	}
	if (m_src == dst) {
		if (add != NULL)
			return 0; /* m's copy is there: not empty */
		/* moved there on both sides: the two copies pair up */
		for (i = 0; i < n; i++) {
			memset(&jobs[i].item, 0, sizeof(jobs[i].item));
			jobs[i].item.new_uid = jobs[i].m_uid;
			snprintf(jobs[i].item.new_key,
				 sizeof(jobs[i].item.new_key), "%s",
				 jobs[i].m_key != NULL ? jobs[i].m_key : "");
		}
		return record(r, s, m, dst, jobs, n, err);
	}
	if (journal(r, s, m, jobs, n, add, err) < 0)
		return -1;
	from = &r->plan->v[m_src];
	items = xcalloc(n, sizeof(*items));
	for (i = 0; i < n; i++) {
		items[i].uid = jobs[i].m_uid;
		items[i].key = jobs[i].m_key;
	}
	ret = side_open(m, side_box_of(m, from), false, &status, &merr);
	if (ret == 0)
		ret = m->st->ops->move(m->st, items, n, side_box_of(m, to),
				       &merr);
	for (i = 0; i < n; i++) {
		jobs[i].item = items[i];
		if (ret < 0)
			jobs[i].item.status = -1;
		else if (items[i].status != 0)
			mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s: move to %s: %s",
			       side_box_of(m, from), side_box_of(m, to),
			       items[i].err.msg);
	}
	free(items);
	if (ret < 0) {
		mf_err_prefix(&merr, "%s %s: move to %s", m->label,
			      side_box_of(m, from), side_box_of(m, to));
		if (mf_err_is_store_level(merr.cls)) {
			mf_err_copy(err, &merr);
			return -1;
		}
		/* the folders' own syncs copy and delete instead */
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s", merr.msg);
	}
	if (relabel_group(r, s, src, dst, jobs, n, err) < 0)
		return -1;
	return record(r, s, m, dst, jobs, n, err);
}

/* Jobs group by the row's folder, the mirror's source and the
 * destination: one move command each. */
static int
cmp_job(const void *a, const void *b)
{
	const struct mv_job *x = a, *y = b;

	if (x->g->box != y->g->box)
		return x->g->box < y->g->box ? -1 : 1;
	if (x->m_src != y->m_src)
		return x->m_src < y->m_src ? -1 : 1;
	return x->f->box < y->f->box ? -1 : x->f->box > y->f->box;
}

static int
carry_out(struct mv_run *r, const struct side *s, const struct side *m,
	  struct gone_ref *gref, struct fresh_ref *fref,
	  const struct move_pair *pairs, size_t npairs, struct mf_err *err)
{
	struct mv_job *jobs = xcalloc(npairs + 1, sizeof(*jobs));
	size_t i, k;
	int ret = 0;

	for (i = 0; i < npairs; i++) {
		struct mv_job *j = &jobs[i];
		const struct mv_note *nt;

		j->g = &gref[pairs[i].gone];
		j->f = &fref[pairs[i].fresh];
		j->m_src = j->g->box;
		j->m_uid = row_uid(m, j->g->row);
		j->m_key = m->uids ? NULL : j->g->row->near_key;
		/* a file renamed by hand keeps its letters (move.h); not
		 * out of a folder gone, whose letter map went with it */
		j->relabel = s->id == SIDE_NEAR && !s->uids &&
			     s->st->ops->relabel != NULL && pairs[i].by_key &&
			     strlen(j->f->msg->keywords) < MOVE_KW_MAX &&
			     !r->boxes[j->g->box].gone_here;
		nt = s->id == SIDE_FAR ? find_note(r, j->g->row->rowid) : NULL;
		if (nt != NULL) {
			/* moved on both sides: the server's folder wins */
			mf_debug(MF_LOGC_SYNC,
				 "%s: moved on both sides, "
				 "near to %s, far to %s: %s",
				 r->plan->v[j->g->box].far_name,
				 r->plan->v[nt->box].far_name,
				 r->plan->v[j->f->box].far_name,
				 move_meet_decide(nt->box, j->f->box) ==
						 MOVE_MEET_SAME ?
					 "paired there" :
					 "the near copy follows");
			j->m_src = nt->box;
			j->m_uid = nt->uid;
			j->m_key = m->uids ? NULL : nt->key;
		}
	}
	mf_qsort(jobs, npairs, sizeof(*jobs), cmp_job);
	for (i = 0; i < npairs && ret == 0; i = k) {
		for (k = i; k < npairs && cmp_job(&jobs[i], &jobs[k]) == 0; k++)
			;
		mf_debug(MF_LOGC_SYNC, "%s -> %s: %zu moved on the %s side",
			 r->plan->v[jobs[i].g->box].far_name,
			 r->plan->v[jobs[i].f->box].far_name, k - i, s->label);
		ret = move_group(r, s, m, jobs[i].g->box, jobs[i].f->box,
				 jobs + i, k - i, err);
	}
	free(jobs);
	return ret;
}

/* ---- one side --------------------------------------------------------- */

/*
 * Pair i was synced before and is on both sides: as listed, or renamed on
 * one side by this run's rename pass (rename.c replan(): a folder renamed
 * on an IMAP side has no listed status, and guess_changes() takes it as
 * changed).  Moves out of a folder just renamed are carried over too: a
 * rename leaves the messages moved on elsewhere to the move pass.
 */
static bool
candidate(const struct mv_run *r, size_t i)
{
	const struct box_pair *p = &r->plan->v[i];

	return p->action == BOX_SYNC && p->state != NULL && p->state->id != 0 &&
	       (p->far != NULL || p->near != NULL);
}

/*
 * Pair i was synced before and its folder vanished on s since (boxes.h,
 * BOX_VANISHED_*), while the one on the other side is still there: it
 * takes part on s as a loser only (move.h, "Folders gone on one side").
 * The rename pass (rename.c) runs first: a folder it could tie to a new
 * name is BOX_RENAMED by now, not this.
 */
static bool
vanished_on(const struct mv_run *r, size_t i, const struct side *s)
{
	const struct box_pair *p = &r->plan->v[i];

	if (p->state == NULL || p->state->id == 0)
		return false;
	if (s->id == SIDE_FAR)
		return p->action == BOX_VANISHED_FAR && p->near != NULL;
	return p->action == BOX_VANISHED_NEAR && p->far != NULL;
}

/*
 * Pair i's rows matter to this pass: a side's pass may move out of it,
 * or they may hold journals to settle (a folder gone on both sides since
 * takes no part in a pass, but a move out of it journaled before is
 * settled: move-recover.c).
 */
static bool
has_rows(const struct mv_run *r, size_t i)
{
	const struct box_pair *p = &r->plan->v[i];

	return candidate(r, i) || vanished_on(r, i, r->far) ||
	       vanished_on(r, i, r->near) ||
	       (p->action == BOX_VANISHED_BOTH && p->state != NULL &&
		p->state->id != 0);
}

/*
 * Pair i is new in this run (no state box) and may take moves seen on s
 * (move.h, "Folders new in this run"): its folder exists on s, and on m
 * it is one the policy creates (BOX_CREATE_*) or one that exists and may
 * be empty (a run stopped after making it: BOX_SYNC without state).
 */
static bool
newcomer(const struct mv_run *r, size_t i, const struct side *s)
{
	const struct box_pair *p = &r->plan->v[i];
	const struct mf_box_info *here = s->id == SIDE_FAR ? p->far : p->near;
	const struct mf_box_info *there = s->id == SIDE_FAR ? p->near : p->far;

	if (r->made == NULL || p->state != NULL || r->made[i].id != 0 ||
	    here == NULL)
		return false;
	switch (p->action) {
	case BOX_CREATE_NEAR:
		return s->id == SIDE_FAR;
	case BOX_CREATE_FAR:
		return s->id == SIDE_NEAR;
	case BOX_SYNC:
		return there != NULL && (!there->status.has_status ||
					 there->status.messages == 0);
	default:
		return false;
	}
}

/* What pair i may have lost or gained on s, with its rows. */
static void
guess(struct mv_run *r, const struct side *s, size_t i)
{
	struct mv_box *b = &r->boxes[i];

	b->may_lose = b->may_gain = b->gone_here = b->reset_here = false;
	if (newcomer(r, i, s))
		guess_new(s, b->pair, b);
	else if (!has_rows(r, i) || has_interrupted_copies(b->rows))
		return;
	else if (vanished_on(r, i, s))
		b->may_lose = b->gone_here = b->rows->n > 0;
	else if (candidate(r, i))
		guess_changes(s, b->pair, b);
}

static int
side_moves(struct mv_run *r, const struct side *s, const struct side *m,
	   struct mf_err *err)
{
	struct move_cand *gone = NULL, *fresh = NULL;
	struct gone_ref *gref = NULL;
	struct fresh_ref *fref = NULL;
	struct move_pair *pairs = NULL;
	size_t ngone = 0, gcap = 0, nfresh = 0, fcap = 0, npairs = 0;
	size_t i, losers = 0, gainers = 0, involved = 0;
	int ret = -1;

	if (m->st->ops->move == NULL || !policy_mirrors(r->o, s))
		return 0;
	if (m->uids && !(m->st->caps & (MF_CAP_MOVE | MF_CAP_UIDPLUS)))
		return 0; /* today's delete + copy it is */
	memset(r->changed, 0, 2 * r->plan->n * sizeof(*r->changed));
	for (i = 0; i < r->plan->n; i++) {
		struct mv_box *b = &r->boxes[i];

		guess(r, s, i);
		losers += b->may_lose;
		gainers += b->may_gain;
		involved += b->may_lose || b->may_gain;
	}
	/* a move needs a folder that lost and another one that gained */
	if (losers == 0 || gainers == 0 || involved < 2)
		return 0;
	for (i = 0; i < r->plan->n; i++) {
		struct mv_box *b = &r->boxes[i];

		if (!b->may_lose && !b->may_gain)
			continue;
		if (look(s, b, err) < 0) {
			if (mf_err_is_store_level(err->cls))
				goto out;
			/* that folder's own sync will report it */
			mf_debug(MF_LOGC_SYNC, "moves: %s", err->msg);
			mf_err_clear(err);
			mf_scan_result_free(&b->list);
			mf_scan_result_free(&b->fresh);
			continue;
		}
		collect(s, m, i, b, &gone, &gref, &ngone, &gcap, &fresh, &fref,
			&nfresh, &fcap);
	}
	if (ngone == 0 || nfresh == 0) {
		ret = 0;
		goto out;
	}
	move_match(gone, ngone, fresh, nfresh, &pairs, &npairs);
	if (npairs < ngone && npairs < nfresh) {
		if (identify_fresh(r, s, gone, ngone, pairs, npairs, fresh,
				   fref, nfresh, err) < 0) {
			if (mf_err_is_store_level(err->cls))
				goto out;
			mf_debug(MF_LOGC_SYNC, "moves: %s", err->msg);
			mf_err_clear(err);
		}
		free(pairs);
		move_match(gone, ngone, fresh, nfresh, &pairs, &npairs);
	}
	if (reset_settle(r, s, gone, ngone, fresh, fref, nfresh, &pairs,
			 &npairs, err) < 0)
		goto out;
	drop_copies(r, gone, pairs, &npairs);
	mf_debug(MF_LOGC_SYNC, "%s side: %zu gone, %zu new, %zu moved",
		 s->label, ngone, nfresh, npairs);
	ret = carry_out(r, s, m, gref, fref, pairs, npairs, err);
out:
	for (i = 0; i < r->plan->n; i++) {
		if (ret == 0)
			keep_listing(r, s, i, &r->boxes[i]);
		mf_scan_result_free(&r->boxes[i].list);
		mf_scan_result_free(&r->boxes[i].fresh);
	}
	free(gone);
	free(gref);
	free(fresh);
	free(fref);
	free(pairs);
	return ret;
}

static int
load_rows(struct mv_run *r, struct mf_err *err)
{
	size_t i;

	for (i = 0; i < r->plan->n; i++) {
		struct mv_box *b = &r->boxes[i];

		b->pair = &r->plan->v[i];
		if (!has_rows(r, i)) {
			b->rows = state_msg_list_empty();
			continue;
		}
		if (state_msgs_load(r->o->db, b->pair->state->id, &b->rows,
				    err) < 0)
			return -1;
	}
	return 0;
}

/*
 * Whether side s can show a move at all, from the listed status alone: a
 * folder that may have lost mail and another that may have gained some.
 * Decided before a single state row is read, so that a quiet account (and
 * a no-op sync at 50,000 messages) pays nothing for the move pass;
 * side_moves() refines this with the rows.
 */
static bool
side_may_move(const struct mv_run *r, const struct side *s,
	      const struct side *m)
{
	size_t i, losers = 0, gainers = 0, involved = 0;

	if (m->st->ops->move == NULL || !policy_mirrors(r->o, s))
		return false;
	if (m->uids && !(m->st->caps & (MF_CAP_MOVE | MF_CAP_UIDPLUS)))
		return false;
	for (i = 0; i < r->plan->n; i++) {
		struct mv_box b = { 0 };

		if (newcomer(r, i, s))
			guess_new(s, &r->plan->v[i], &b);
		else if (vanished_on(r, i, s))
			b.may_lose = r->vrows[i];
		else if (candidate(r, i))
			guess_changes(s, &r->plan->v[i], &b);
		losers += b.may_lose;
		gainers += b.may_gain;
		involved += b.may_lose || b.may_gain;
	}
	return losers > 0 && gainers > 0 && involved >= 2;
}

/*
 * Which folders gone on a side still have rows: one kept after vanishing
 * (vanish.c) and emptied by moves is no loser, and must not cost every
 * later run with new mail the rows of every folder.  A count per such
 * folder, and they are few.
 */
static int
count_vanished(struct mv_run *r, struct mf_err *err)
{
	size_t i;

	for (i = 0; i < r->plan->n; i++) {
		uint64_t n = 0;

		if (!vanished_on(r, i, r->far) && !vanished_on(r, i, r->near))
			continue;
		if (state_msg_count(r->o->db, r->plan->v[i].state->id, &n,
				    err) < 0)
			return -1;
		r->vrows[i] = n > 0;
	}
	return 0;
}

/* Did a stopped run leave rows journaled (or copies interrupted: they
 * are cheap to tell apart once the rows are read)? */
static int
any_journal(const struct mv_run *r, bool *any_r, struct mf_err *err)
{
	size_t i;

	*any_r = false;
	for (i = 0; i < r->plan->n && !*any_r; i++) {
		uint64_t n = 0;

		if (!has_rows(r, i))
			continue;
		if (state_msg_count_pending(r->o->db, r->plan->v[i].state->id,
					    &n, err) < 0)
			return -1;
		*any_r = n > 0;
	}
	return 0;
}

/* Settle the journals of a stopped run (move-recover.c). */
static int
recover(struct mv_run *r, struct mf_err *err)
{
	struct state_msg_list **rows;
	bool changed = false;
	size_t i;
	int ret;

	if (load_rows(r, err) < 0)
		return -1;
	rows = xcalloc(r->plan->n + 1, sizeof(*rows));
	for (i = 0; i < r->plan->n; i++)
		rows[i] = r->boxes[i].rows;
	ret = move_recover(r->o, r->plan, rows, r->moved, r->touched, &changed,
			   err);
	free(rows);
	for (i = 0; i < r->plan->n; i++)
		state_msg_list_free(&r->boxes[i].rows);
	return ret;
}

int
moves_run(const struct sync_opts *o, const struct box_plan *plan, size_t *moved,
	  bool *touched, struct side_scan *kept, struct state_box *made,
	  struct mf_err *err)
{
	struct side far, near;
	struct mv_run r = { .o = o,
			    .plan = plan,
			    .moved = moved,
			    .touched = touched,
			    .made = made };
	size_t i, n = 0;
	int ret = -1;
	bool near_may, far_may, journaled = false;

	side_init(&far, SIDE_FAR, o->far, NULL, NULL);
	side_init(&near, SIDE_NEAR, o->near, NULL, NULL);
	r.far = &far;
	r.near = &near;
	for (i = 0; i < plan->n; i++)
		n += has_rows(&r, i) || newcomer(&r, i, &far) ||
		     newcomer(&r, i, &near);
	if (n < 2)
		return 0;
	r.vrows = xcalloc(plan->n + 1, sizeof(*r.vrows));
	if ((!o->dry_run && any_journal(&r, &journaled, err) < 0) ||
	    count_vanished(&r, err) < 0)
		goto out;
	/* both from the listing, as side_moves() does: a local move made
	 * now changes the far status the far side's guess must not see */
	near_may = side_may_move(&r, &near, &far);
	far_may = side_may_move(&r, &far, &near);
	if (!near_may && !far_may && !journaled) {
		ret = 0;
		goto out;
	}
	r.boxes = xcalloc(plan->n, sizeof(*r.boxes));
	r.kept = kept;
	r.changed = xcalloc(2 * plan->n + 1, sizeof(*r.changed));
	if (journaled && recover(&r, err) < 0)
		goto out;
	if (near_may &&
	    (load_rows(&r, err) < 0 || side_moves(&r, &near, &far, err) < 0))
		goto out;
	/* the rows changed if anything moved: read them again */
	for (i = 0; i < plan->n; i++)
		state_msg_list_free(&r.boxes[i].rows);
	if (far_may &&
	    (load_rows(&r, err) < 0 || side_moves(&r, &far, &near, err) < 0))
		goto out;
	ret = 0;
out:
	for (i = 0; r.boxes != NULL && i < plan->n; i++)
		state_msg_list_free(&r.boxes[i].rows);
	free(r.boxes);
	free(r.notes);
	free(r.changed);
	free(r.vrows);
	return ret;
}
