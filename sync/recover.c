/*
 * Settling what a stopped run left in a folder pair, before its views are
 * built: APPENDs a server is still executing (settle_after_crash) and a
 * "mailferry fetch" killed half way (settle_fetch).  Interrupted moves
 * between folders are the move pass's (move-recover.c).
 */
#include <time.h>

#include "base/log.h"
#include "engine.h"
#include "fetch.h"

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
	struct mf_box_status a, b;
	int i;

	if (side_open(s, s->box, true, &a, err) < 0)
		return mf_err_prefix(err, "%s %s", s->label, s->box);
	for (i = 0; i < 30; i++) {
		struct timespec half = { 0, 500 * 1000 * 1000 };

		nanosleep(&half, NULL);
		if (side_open(s, s->box, true, &b, err) < 0)
			return mf_err_prefix(err, "%s %s", s->label, s->box);
		if (a.uidnext == b.uidnext && a.messages == b.messages && i > 0)
			break;
		a = b;
	}
	mf_debug(MF_LOGC_SYNC, "%s %s: settled at UIDNEXT %u", s->label, s->box,
		 b.uidnext);
	/* reopen read-write with the settled status */
	side_reopen(s);
	return side_select(s, err);
}

int
settle_after_crash(struct box_run *r, struct mf_err *err)
{
	bool far = false, near = false;
	size_t i;

	for (i = 0; i < r->rows->n; i++) {
		if (r->rows->v[i].pending == STATE_PENDING_PUSH)
			far = true;
		if (r->rows->v[i].pending == STATE_PENDING_PULL && r->near.uids)
			near = true;
	}
	if (far && r->far.uids && settle_side(&r->far, err) < 0)
		return -1;
	if (near && settle_side(&r->near, err) < 0)
		return -1;
	return 0;
}

/*
 * A "mailferry fetch" killed half way leaves a row pending FETCH and maybe
 * both the placeholder and the full copy: finish or undo it before the
 * views are built, or the full copy would look new and be uploaded.  A dry
 * run cannot write; the planner then reads the row as the placeholder.
 */
int
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
		return mf_err_prefix(err, "near %s: settle fetch", r->near.box);
	if (!changed)
		return 0;
	state_msg_list_free(&r->rows);
	return state_msgs_load(r->db, r->sbox->id, &r->rows, err);
}
