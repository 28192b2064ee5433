/*
 * What a folder pair's run leaves for the next one: the status of both
 * sides (record_box), with our own changes taken into it where the server
 * shows they are all ours (absorb_own_changes).
 *
 * What is recorded for a folder after a run decides what the next run
 * looks at, so it is written only when the run was clean: if a message
 * failed, a deletion was held back, a message is held as ambiguous or a
 * copy is still pending, the record asks for full scans next time instead
 * (a cheaper record could hide the failed or held message from the delta
 * scans for good: a held far message has no row and sits below UIDNEXT,
 * so a delta view would lack it and its near twin would look new).
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "engine.h"
#include "flags.h"
#include "near-kw.h"

_Static_assert(sizeof(((struct state_side *)0)->mailboxid) ==
		       sizeof(((struct mf_box_status *)0)->mailboxid),
	       "a recorded MAILBOXID holds any listed one");

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
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_uid_flags(const void *a, const void *b)
{
	const struct uid_flags *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/*
 * The folder's status now and what changed since the listing (sreq).
 * Where the store keeps account of the folder still selected, the scan
 * runs there and the status is the one its responses showed
 * (store.h selected_status): the scan saw every change up to the status's
 * HIGHESTMODSEQ and more, so what the next run would look at is never
 * above what was checked here.  Else the folder is selected again: the
 * status comes first, the scan covers it.
 */
static int
current_status(struct side *s, const struct mf_scan_req *sreq,
	       struct mf_box_status *now, struct mf_scan_result **res,
	       struct mf_err *err)
{
	const struct mf_store_ops *ops = s->st->ops;

	/* asked first so that the scan never runs in another folder */
	if (ops->selected_status != NULL &&
	    ops->selected_status(s->st, s->box, now) == 0) {
		if (ops->scan(s->st, sreq, res, err) < 0)
			return -1;
		/* the responses to the scan count too */
		if (ops->selected_status(s->st, s->box, now) == 0)
			return 0;
		mf_scan_result_free(res);
	}
	if (side_open(s, s->box, false, now, err) < 0)
		return -1;
	return ops->scan(s->st, sreq, res, err);
}

bool
absorb_scan_req(const struct side *s, struct mf_scan_req *sreq)
{
	if (!s->uids || !s->selected || !(s->st->caps & MF_CAP_CONDSTORE) ||
	    s->status.highestmodseq == 0)
		return false;
	*sreq = (struct mf_scan_req){
		.want = MF_WANT_FLAGS,
		.changedsince = s->status.highestmodseq,
		.vanished = (s->st->caps & MF_CAP_QRESYNC) != 0,
	};
	return true;
}

/* Long because the evidence is read, compared and taken in one place:
 * split, each part would need the rows, the scan and the status. */
int
absorb_own_changes(struct box_run *r, struct side *s, struct mf_err *err)
{
	struct mf_box_status now;
	struct mf_scan_req sreq;
	struct mf_scan_result *res = NULL;
	struct state_msg_list *rows = NULL;
	struct uid_flags *uids;
	bool mine = true;
	size_t i, present = 0;
	uint32_t ours_next;
	bool far = s->id == SIDE_FAR;

	if (!absorb_scan_req(s, &sreq))
		return 0;
	if ((far ? r->rep.pushed + r->rep.flags_far + r->rep.del_far :
		   r->rep.pulled + r->rep.flags_near + r->rep.del_near) == 0)
		return 0;
	/* scanned already, behind our changes in their wait (exec.c): the
	 * same scan, and the status the session saw after it */
	if (s->since != NULL) {
		res = s->since;
		s->since = NULL;
		now = s->since_status;
	}
	if ((res == NULL && current_status(s, &sreq, &now, &res, err) < 0) ||
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

		/* answered, then expunged: a scan behind our UID EXPUNGE in
		 * the same wait can see the message before the server tells
		 * of the expunge (RFC 3501 7.4.1: not during a FETCH) */
		if (mf_bsearch(&res->msgs[i].uid, res->vanished, res->nvanished,
			       sizeof(*res->vanished), cmp_u32) != NULL)
			continue;
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
	/* every UID above the listing's is one of ours when all changes
	 * are: a UIDNEXT beyond our last would hide a message below it from
	 * the next run's look for new ones (a server's stray FETCH UID) */
	ours_next = present > 0 ? uids[present - 1].uid + 1 : 0;
	if (ours_next < s->status.uidnext)
		ours_next = s->status.uidnext;
	if (now.uidnext > ours_next)
		now.uidnext = ours_next;
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
int
record_box(struct box_run *r, bool clean, struct mf_err *err)
{
	struct state_box *b = r->sbox;

	b->far.uidvalidity = r->far.status.uidvalidity;
	b->near.uidvalidity = r->near.status.uidvalidity;
	/* the id the run saw, like UIDVALIDITY even when not clean: it names
	 * the folder, not how far the sync got ("" when the store gave none) */
	memcpy(b->far.mailboxid, r->far.status.mailboxid,
	       sizeof(b->far.mailboxid));
	memcpy(b->near.mailboxid, r->near.status.mailboxid,
	       sizeof(b->near.mailboxid));
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
