/*
 * Applying a plan to the two stores, in an order that keeps every message
 * safe whatever instant the process dies at.
 *
 * Order and why:
 *   0. rows to forget with nothing to do on either side, so that a copy
 *      below may record the same UID or key anew.
 *   1. copies far -> near, in batches.  Per batch: the near store chooses
 *      the file names; the rows are journaled (pending PULL, with the near
 *      key) and committed; the bodies stream from the far store into tmp/;
 *      one flush makes them durable and visible; the rows are confirmed.
 *      A crash before the confirmation leaves pending rows: the next run
 *      finds the file by its key (confirm) or copies again (no file), so no
 *      message is lost and none doubled.  An IMAP near side has no key to
 *      choose up front: the copy is journaled like an upload in 2 (identity,
 *      size, near UIDNEXT) and found the same way after a crash.  A batch
 *      that fails before its flush without dying (a folder error at
 *      deliver_begin, a journal that does not commit) is aborted: nothing
 *      of it lands, nothing of it stays journaled.
 *      A fetch that breaks the far session (an answer the store cannot
 *      parse, a cut) is fetched around on a new one (around.h), so one
 *      bad message does not stop the folder for good.
 *      A message over max_size arrives as a placeholder (placeholder.h):
 *      only its header is fetched, the row is marked, and its size is the
 *      far message's.
 *   2. copies near -> far, in batches; never a placeholder (the planner
 *      does not plan that, copy_all() refuses it, and a check sink refuses
 *      a body that is a placeholder note).  The messages are read from the
 *      near store into the far store's spool, their identity (Message-ID or
 *      header hash) and size computed on the way; the rows are journaled
 *      (pending PUSH, with the far UIDNEXT before the APPENDs) and
 *      committed; the APPENDs are sent; rows are confirmed with the UID
 *      from APPENDUID.  After a crash, or on a server without UIDPLUS, the
 *      planner finds an appended message among the far messages above the
 *      journaled UIDNEXT by identity and size instead of appending it again.
 *      A batch that fails before its flush is aborted as in 1; one whose
 *      flush fails keeps all its rows pending (an APPEND sent but never
 *      answered may have landed) and is looked for the same way.
 *   3. flag changes on both sides.  No journal is needed: a change applied
 *      but not recorded shows up next time as the same change on both
 *      sides, which merges to itself.
 *   4. deletions, last, so that a message being replaced (copied back
 *      because "changes win") is always copied before anything goes.
 *   5. the state rows of 3 and 4, in one transaction.  A deletion done but
 *      not recorded shows up as "gone on both sides": forgotten.
 * A message-level failure leaves its row as it was, so the next run tries
 * again; a store-level failure stops the folder after recording what was
 * done.  A stop asked for by signal (base/cancel.h) is obeyed before each
 * copy batch and after the copies, where everything begun is confirmed or
 * undone: MF_E_CANCELED, with flags and deletions left to the next run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/testhook.h"
#include "around.h"
#include "base/xalloc.h"
#include "engine.h"
#include "ident.h"
#include "placeholder.h"

#define BATCH_DEFAULT 256
#define BATCH_BYTES (64ull << 20)

struct copy_job {
	struct plan_entry *e;
	const struct mf_msg *src;
	struct mf_delivery d;
	struct ident_sink id;
	struct ph_sink ph;	    /* placeholders: header, then our body */
	struct ph_check_sink check; /* uploads: never a placeholder */
	struct mf_fetch_item item;
	struct state_msg row;
	bool begun, journaled;
	/* not fetched because the fetch call failed (store.h): no failure
	 * of its own, fetched again on a new session (fetching around) */
	bool unfetched;
	char ident[IDENT_MAX];
};

static struct side *
other(struct box_run *r, struct side *s)
{
	return s == &r->far ? &r->near : &r->far;
}

/*
 * Commit the open transaction.  A failed COMMIT may leave it open (SQLite
 * does on SQLITE_BUSY): it is rolled back, so that the rows it held are
 * certainly not recorded and the caller's undo reasoning holds.
 */
static int
commit(struct box_run *r, const char *step, struct mf_err *err)
{
	if (mf_test_fail(step)) {
		state_rollback(r->db);
		return mf_err_set(err, MF_E_STATE,
				  "state: %s: commit: failure "
				  "injected by MAILFERRY_TEST_FAIL",
				  step);
	}
	if (state_commit(r->db, err) < 0) {
		state_rollback(r->db);
		return -1;
	}
	mf_test_step(step);
	return 0;
}

static void
msg_fail(struct box_run *r, const char *what, const struct mf_msg *m,
	 const struct mf_err *e)
{
	/* a store that failed without saying why is a bug to see */
	const char *why = e->msg[0] != '\0' ? e->msg : "no reason given";

	r->rep.failed++;
	if (m->uid != 0)
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s: UID %u: %s: %s",
		       r->far.box, m->uid, what, why);
	else
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s: %s: %s: %s", r->near.box,
		       m->key, what, why);
	if (r->rep.err.cls == MF_OK)
		mf_err_copy(&r->rep.err, e);
}

/* Fill the state row a copy will leave behind (ids filled by the caller). */
static void
copy_row(struct box_run *r, struct copy_job *j, struct side *dst)
{
	const struct plan_entry *e = j->e;
	struct state_msg *row = &j->row;

	if (e->state >= 0)
		*row = r->rows->v[e->state];
	else
		memset(row, 0, sizeof(*row));
	row->far_flags = e->far_flags;
	row->far_keywords = (char *)e->far_kw;
	row->near_flags = e->near_flags;
	row->near_keywords = (char *)e->near_kw;
	row->date = j->src->date;
	if (dst->id == SIDE_NEAR) {
		row->far_uid = j->src->uid;
		row->near_key = dst->uids ? NULL : j->d.key;
		row->near_uid = 0;
	} else {
		row->far_uid = 0;
		if (r->near.uids)
			row->near_uid = j->src->uid;
		else
			row->near_key = (char *)j->src->key;
	}
	if (j->src->msgid != NULL) {
		snprintf(j->ident, sizeof(j->ident), "%s", j->src->msgid);
		row->msgid = j->ident;
	} else {
		row->msgid = NULL;
	}
	row->size = j->src->size;
	row->placeholder = dst->id == SIDE_NEAR && e->placeholder;
}

/*
 * Write a row: insert it, or update the one it came from.  On a side
 * whose UIDVALIDITY changed (snapshot.c, reset) the UID it gets is of the
 * new numbering, and a row not written yet may still hold that number
 * from the old one: that row is moved out of the way first
 * (state_msg_park_uid()).
 */
static int
row_write(struct box_run *r, struct state_msg *row, struct mf_err *err)
{
	if (r->far.reset && row->far_uid != 0 &&
	    state_msg_park_uid(r->db, r->sbox->id, true, row->far_uid, err) < 0)
		return -1;
	if (r->near.reset && r->near.uids && row->near_uid != 0 &&
	    state_msg_park_uid(r->db, r->sbox->id, false, row->near_uid, err) <
		    0)
		return -1;
	if (row->rowid != 0)
		return state_msg_update(r->db, row, err);
	return state_msg_insert(r->db, r->sbox->id, row, err);
}

static int
journal(struct box_run *r, struct copy_job *jobs, size_t n, struct side *dst,
	struct mf_err *err)
{
	size_t i;

	if (state_begin(r->db, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct copy_job *j = &jobs[i];

		if (!j->begun)
			continue;
		copy_row(r, j, dst);
		if (dst->uids) {
			/* the copy's identity is known now that it has been
			 * spooled: what a lost APPENDUID is searched by */
			ident_sink_identity(&j->id, j->ident);
			j->row.msgid = j->ident;
			j->row.size = j->id.size;
			j->row.pending_uidnext = dst->uidnext;
		}
		j->row.pending = dst->id == SIDE_NEAR ? STATE_PENDING_PULL :
							STATE_PENDING_PUSH;
		if (row_write(r, &j->row, err) < 0) {
			state_rollback(r->db);
			return -1;
		}
		j->journaled = true;
	}
	return commit(r, "journal", err);
}

/*
 * A journaled copy that did not land: its row goes back to what it was
 * before the batch (or away, when the batch made it), so the next run (or
 * fetching around, for an unfetched one) copies it anew.  An unfetched
 * copy is no failure of its own: the fetch call's error speaks for it,
 * once, and not once per message.
 */
static int
confirm_undo(struct box_run *r, struct copy_job *j, struct mf_err *err)
{
	struct mf_err incomplete = { 0 };
	const struct mf_err *why = &j->d.err;

	if (j->item.status != 0) {
		why = &j->item.err;
	} else if (j->d.status == 0) {
		mf_err_set(&incomplete, MF_E_MSG,
			   "the message arrived "
			   "incomplete");
		why = &incomplete;
	}
	if (!j->unfetched)
		msg_fail(r, "copy", j->src, why);
	if (j->e->state >= 0)
		return row_write(r, &r->rows->v[j->e->state], err);
	return state_msg_delete(r->db, j->row.rowid, err);
}

/* After the flush: confirm what landed, undo the journal of what did not. */
static int
confirm(struct box_run *r, struct copy_job *jobs, size_t n, struct side *dst,
	struct mf_err *err)
{
	size_t i;

	if (state_begin(r->db, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct copy_job *j = &jobs[i];
		bool ok = j->begun && j->item.status == 0 && j->id.finished &&
			  j->d.status == 0;

		if (!j->journaled)
			continue;
		if (!ok) {
			if (confirm_undo(r, j, err) < 0)
				goto fail;
			continue;
		}
		if (j->row.msgid == NULL) {
			ident_sink_identity(&j->id, j->ident);
			j->row.msgid = j->ident;
		}
		/* a placeholder's row keeps the size of the far message */
		if (!j->row.placeholder)
			j->row.size = j->id.size;
		if (dst->uids && j->d.uid == 0) {
			/* no APPENDUID: stays pending, found by identity */
			continue;
		}
		if (dst->id == SIDE_FAR)
			j->row.far_uid = j->d.uid;
		else if (dst->uids)
			j->row.near_uid = j->d.uid;
		if (dst->uids && j->d.uid >= dst->uidnext)
			dst->uidnext = j->d.uid + 1;
		state_msg_clear_pending(&j->row);
		if (row_write(r, &j->row, err) < 0)
			goto fail;
		if (j->row.placeholder)
			r->rep.placeholders++;
		else if (dst->id == SIDE_NEAR)
			r->rep.pulled++;
		else
			r->rep.pushed++;
	}
	return commit(r, "confirm", err);
fail:
	state_rollback(r->db);
	return -1;
}

/*
 * The fetch item of a begun copy: the source's bytes go through the
 * identity sink to the delivery, by way of the placeholder writer for a
 * placeholder and of the placeholder check for an upload.
 */
static void
copy_sinks(struct box_run *r, struct side *dst, struct copy_job *j)
{
	bool to_near = dst->id == SIDE_NEAR;

	if (to_near && j->e->placeholder) {
		/* the identity comes from the header alone, which is
		 * what it is made of anyway */
		ph_sink_init(&j->ph, j->d.sink, j->src->size, r->o->channel,
			     r->far.box);
		ident_sink_init(&j->id, &j->ph.sink);
		j->item.header_only = true;
	} else if (!to_near) {
		ph_check_init(&j->check, j->d.sink);
		ident_sink_init(&j->id, &j->check.sink);
	} else {
		ident_sink_init(&j->id, j->d.sink);
	}
	j->item.uid = j->src->uid;
	j->item.key = j->src->key;
	j->item.sink = &j->id.sink;
}

/*
 * Open the delivery of one copy on dst, with the flags the plan gives the
 * copy there.  1: begun, its fetch item ready (copy_sinks()); 0: a
 * message-level failure, counted, the copy left out; -1: a store-level
 * failure that stops the batch.
 */
static int
copy_begin(struct box_run *r, struct side *dst, struct copy_job *j,
	   struct mf_err *err)
{
	const struct plan_entry *e = j->e;
	bool to_near = dst->id == SIDE_NEAR;

	j->d.flags = to_near ? e->near_flags : e->far_flags;
	if (dst->st->caps & MF_CAP_KEYWORDS)
		j->d.keywords = to_near ? e->near_kw : e->far_kw;
	j->d.date = j->src->date;
	j->d.size = j->src->size;
	if (to_near && e->placeholder) {
		j->d.size = 0; /* not known until the header is */
		j->d.placeholder_of = j->src->size;
	}
	if (mf_test_fail("deliver begin"))
		return mf_err_set(err, MF_E_BOX,
				  "%s %s: deliver: failure "
				  "injected by MAILFERRY_TEST_FAIL",
				  dst->label, dst->box);
	if (dst->st->ops->deliver_begin(dst->st, &j->d, err) < 0) {
		if (err->cls != MF_E_MSG)
			return -1;
		msg_fail(r, "deliver", j->src, err);
		return 0;
	}
	j->begun = true;
	copy_sinks(r, dst, j);
	return 1;
}

/*
 * One batch: begin every delivery, journal, fetch into the sinks, flush,
 * confirm.  Every way out passes "out", where a batch that did not reach
 * its flush is aborted: the destination store holds pointers into jobs
 * from deliver_begin() on (store.h), and the caller reuses and frees jobs.
 * An abort only ever follows a journal that did not commit (commit()
 * rolls back), so no row of an aborted batch is pending and its copies are
 * planned again from scratch.  A failed flush is not aborted (it has ended
 * the lending itself) and leaves every row of the batch pending.
 * A fetch that broke the source's session (MF_E_NET, on a store that can
 * reconnect) after everything else went through also sets broke to the
 * store's error: the unfetched jobs can be fetched around it.
 */
static int
copy_batch(struct box_run *r, struct side *src, struct side *dst,
	   struct copy_job *jobs, size_t n, struct mf_err *broke,
	   struct mf_err *err)
{
	struct mf_err ferr = { 0 };
	struct mf_fetch_item *items = xcalloc(n, sizeof(*items));
	size_t i, nitems = 0;
	int fetch_rc = 0, ret = -1;
	bool flushed = false;

	if (side_select(src, err) < 0 || side_select(dst, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		int begun = copy_begin(r, dst, &jobs[i], err);

		if (begun < 0)
			goto out;
		if (begun > 0)
			items[nitems++] = jobs[i].item;
	}
	/* key stores name the file now: journal before a byte is written */
	if (!dst->uids && journal(r, jobs, n, dst, err) < 0)
		goto out;
	if (nitems > 0)
		fetch_rc = src->st->ops->fetch(src->st, items, nitems, &ferr);
	for (i = 0, nitems = 0; i < n; i++)
		if (jobs[i].begun)
			jobs[i].item = items[nitems++];
	if (fetch_rc < 0 && ferr.cls == MF_OK)
		mf_err_set(&ferr, MF_E_STORE, "fetch failed");
	for (i = 0; i < n; i++)
		jobs[i].unfetched = fetch_rc < 0 && jobs[i].begun &&
				    jobs[i].item.status != 0 &&
				    jobs[i].item.err.cls != MF_E_MSG;
	if (dst->uids && journal(r, jobs, n, dst, err) < 0)
		goto out;
	/* flush even after a failed fetch: what arrived complete is kept */
	flushed = true;
	if (dst->st->ops->deliver_flush(dst->st, err) < 0) {
		/* no confirm: some results are unknown (an APPEND without
		 * its answer), so all rows stay pending and the next run
		 * looks for each copy before making it again */
		mf_err_prefix(err, "%s %s: deliver", dst->label, dst->box);
		goto out;
	}
	if (confirm(r, jobs, n, dst, err) < 0)
		goto out;
	if (fetch_rc < 0) {
		if (ferr.cls == MF_E_NET && src->st->ops->reconnect != NULL)
			mf_err_copy(broke, &ferr);
		mf_err_copy(err, &ferr);
		mf_err_prefix(err, "%s %s: fetch", src->label, src->box);
		goto out;
	}
	ret = 0;
out:
	if (!flushed)
		dst->st->ops->deliver_abort_all(dst->st);
	for (i = 0; i < n; i++)
		if (jobs[i].begun)
			ident_sink_deinit(&jobs[i].id);
	free(items);
	return ret;
}

/* ---- fetching around a message that breaks the session (around.h) --- */

struct copy_dir {
	struct box_run *r;
	struct side *src, *dst;
};

static int
around_batch(void *ctx, void *jobs, size_t n, struct mf_err *broke,
	     struct mf_err *err)
{
	struct copy_dir *c = ctx;

	return copy_batch(c->r, c->src, c->dst, jobs, n, broke, err);
}

static int
cmp_fetch_order(const void *x, const void *y)
{
	const struct copy_job *a = x, *b = y;

	if (a->item.header_only != b->item.header_only)
		return a->item.header_only ? 1 : -1;
	return a->item.uid < b->item.uid ? -1 : a->item.uid > b->item.uid;
}

/* The unfetched jobs to the front, in fetch order, ready for another
 * batch (the rest of each job is made anew by copy_batch). */
static size_t
around_take(void *ctx, void *vjobs, size_t n)
{
	struct copy_job *jobs = vjobs;
	size_t i, k = 0;

	(void)ctx;
	for (i = 0; i < n; i++)
		if (jobs[i].unfetched)
			jobs[k++] = jobs[i];
	mf_qsort(jobs, k, sizeof(*jobs), cmp_fetch_order);
	for (i = 0; i < k; i++) {
		struct plan_entry *e = jobs[i].e;
		const struct mf_msg *m = jobs[i].src;

		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].e = e;
		jobs[i].src = m;
	}
	return k;
}

static void
around_skipped(void *ctx, void *job, const struct mf_err *why)
{
	struct copy_dir *c = ctx;
	const struct copy_job *j = job;

	msg_fail(c->r, "fetch", j->src, why);
}

static uint32_t
around_uid(const void *job)
{
	return ((const struct copy_job *)job)->src->uid;
}

static const struct around_ops copy_around = {
	.batch = around_batch,
	.take_unfetched = around_take,
	.skipped = around_skipped,
	.uid = around_uid,
};

/*
 * A scan that races with a reader renaming files can miss one (maildir: a
 * rename during readdir; MF_CAP_SCAN_MAY_MISS), and a missed file looks
 * deleted.  Before acting on "deleted on the near side" (expunging the far
 * copy, or copying it back), look once more; what is there after all is
 * left for the next run.
 */
static int
recheck_near_gone(struct box_run *r, bool *skip, struct mf_err *err)
{
	struct mf_scan_req req = { .want = 0 };
	struct mf_scan_result *res = NULL;
	size_t i, n = 0;

	/* the second look goes by key: a store that can miss one has keys */
	if (!(r->near.st->caps & MF_CAP_SCAN_MAY_MISS) || r->near.uids)
		return 0;
	for (i = 0; i < r->plan->n; i++)
		if (r->plan->v[i].far < 0 || r->plan->v[i].near >= 0 ||
		    r->plan->v[i].state < 0)
			continue;
		else
			n++;
	if (n == 0)
		return 0;
	if (side_select(&r->near, err) < 0 ||
	    r->near.st->ops->scan(r->near.st, &req, &res, err) < 0)
		return mf_err_prefix(err, "near %s: scan", r->near.box);
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->v[i];
		const char *key;
		size_t lo = 0, hi = res->n;

		if (e->far < 0 || e->near >= 0 || e->state < 0)
			continue;
		key = r->rows->v[e->state].near_key;
		while (key != NULL && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(res->msgs[mid].key, key);

			if (c == 0) {
				mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
				       "%s: %s is "
				       "there after all: left for the next "
				       "run",
				       r->near.box, key);
				skip[i] = true;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	mf_scan_result_free(&res);
	return 0;
}

/*
 * Is the near message of e a placeholder?  The planner never plans to
 * upload one; this is the last line of defence should a future rule
 * forget, since an upload would replace mail on the server by a stub.
 */
static bool
placeholder_src(const struct box_run *r, const struct plan_entry *e)
{
	if (e->placeholder || e->near < 0)
		return e->placeholder;
	if (r->near.view[e->near].placeholder_of != 0)
		return true;
	return e->state >= 0 && r->rows->v[e->state].placeholder;
}

/* ---- progress (sync.h): what copy_all() will copy, and has ---------- */

/* Count what copy_all() copies into dst (the entries it batches; a
 * placeholder it refuses is left out) and tell the caller. */
static void
copy_progress_begin(struct box_run *r, struct side *dst, const bool *skip,
		    struct sync_progress *pr)
{
	struct side *src = other(r, dst);
	size_t i;

	pr->to_near = dst->id == SIDE_NEAR;
	if (r->o->progress == NULL)
		return;
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->v[i];
		const struct plan_side_op *op = pr->to_near ? &e->near_op :
							      &e->far_op;

		if (op->op != PLAN_OP_COPY || skip[i] ||
		    (!pr->to_near && placeholder_src(r, e)))
			continue;
		pr->msgs_total++;
		pr->bytes_total +=
			src->view[src->id == SIDE_FAR ? e->far : e->near].size;
	}
	if (pr->msgs_total > 0)
		r->o->progress(r->o->ctx, pr);
}

/* After a batch of n messages, bytes in all, whatever became of them. */
static void
copy_progress(struct box_run *r, struct sync_progress *pr, size_t n,
	      uint64_t bytes)
{
	pr->msgs_done += n;
	pr->bytes_done += bytes;
	if (r->o->progress != NULL)
		r->o->progress(r->o->ctx, pr);
}

/* Copy every entry whose op on dst is COPY, in batches. */
static int
copy_all(struct box_run *r, struct side *dst, const bool *skip,
	 struct mf_err *err)
{
	struct side *src = other(r, dst);
	size_t batch = r->o->batch ? r->o->batch : BATCH_DEFAULT;
	struct copy_job *jobs = xcalloc(batch, sizeof(*jobs));
	struct copy_dir dir = { r, src, dst };
	struct around a;
	struct sync_progress pr = { .kind = SYNC_PROGRESS_COPY };
	size_t i, n = 0;
	uint64_t bytes = 0;
	int ret = 0;

	/* the pair's folders are open read-write (side_select()) */
	around_init(&a, src, false, batch, &copy_around, &dir, sizeof(*jobs));
	copy_progress_begin(r, dst, skip, &pr);
	for (i = 0; i <= r->plan->n && ret == 0; i++) {
		struct plan_entry *e = i < r->plan->n ? &r->plan->v[i] : NULL;
		const struct plan_side_op *op = NULL;

		if (e != NULL)
			op = dst->id == SIDE_NEAR ? &e->near_op : &e->far_op;
		if (e != NULL && op->op == PLAN_OP_COPY && !skip[i] &&
		    dst->id == SIDE_FAR && placeholder_src(r, e)) {
			struct mf_err perr = { 0 };

			mf_err_set(&perr, MF_E_MSG,
				   "a placeholder is never "
				   "uploaded (run `mailferry fetch` first)");
			msg_fail(r, "copy", &src->view[e->near], &perr);
			continue;
		}
		if (e != NULL && op->op == PLAN_OP_COPY && !skip[i]) {
			long idx = src->id == SIDE_FAR ? e->far : e->near;

			memset(&jobs[n], 0, sizeof(jobs[n]));
			jobs[n].e = e;
			jobs[n].src = &src->view[idx];
			bytes += src->view[idx].size;
			n++;
		}
		if (n > 0 &&
		    (e == NULL || n == batch || bytes >= BATCH_BYTES)) {
			/* between batches: the ones before are confirmed */
			if (sync_stopped(err) < 0) {
				ret = -1;
				break;
			}
			ret = around_run(&a, jobs, n, err);
			copy_progress(r, &pr, n, bytes);
			n = 0;
			bytes = 0;
		}
	}
	/* the flags and deletions after the copies need a session */
	if (ret == 0)
		ret = around_finish(&a, err);
	free(jobs);
	return ret;
}

/* The flag changes planned on side s, with their plan indexes. */
static size_t
flag_items(const struct box_run *r, const struct side *s, const bool *failed,
	   struct mf_flag_item *items, size_t *idx)
{
	const struct plan_result *plan = r->plan;
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++) {
		const struct plan_entry *e = &plan->v[i];
		const struct plan_side_op *op = s->id == SIDE_FAR ? &e->far_op :
								    &e->near_op;
		const struct mf_msg *m;

		if (op->op != PLAN_OP_FLAGS || failed[i])
			continue;
		m = &s->view[s->id == SIDE_FAR ? e->far : e->near];
		items[n].uid = m->uid;
		items[n].key = m->key;
		items[n].add = op->add;
		items[n].del = op->del;
		if (s->st->caps & MF_CAP_KEYWORDS) {
			items[n].kw_add = op->kw_add;
			items[n].kw_del = op->kw_del;
		}
		idx[n++] = i;
	}
	return n;
}

/* The deletions planned on side s, with their plan indexes. */
static size_t
remove_items(const struct box_run *r, const struct side *s, const bool *failed,
	     struct mf_remove_item *items, size_t *idx)
{
	const struct plan_result *plan = r->plan;
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++) {
		const struct plan_entry *e = &plan->v[i];
		const struct plan_side_op *op = s->id == SIDE_FAR ? &e->far_op :
								    &e->near_op;
		const struct mf_msg *m;

		if (op->op != PLAN_OP_DELETE || failed[i])
			continue;
		m = &s->view[s->id == SIDE_FAR ? e->far : e->near];
		items[n].uid = m->uid;
		items[n].key = m->key;
		/* our own stub is not mail to keep in the trash */
		items[n].discard = s->id == SIDE_NEAR &&
				   (e->placeholder || m->placeholder_of != 0);
		idx[n++] = i;
	}
	return n;
}

static const struct mf_msg *
entry_msg(const struct box_run *r, const struct side *s, size_t i)
{
	const struct plan_entry *e = &r->plan->v[i];

	return &s->view[s->id == SIDE_FAR ? e->far : e->near];
}

/* Count what side s's store did (ok: the call returned 0); failed[] gets
 * the entries it did not do, which are not recorded. */
static void
changes_done(struct box_run *r, const struct side *s, bool *failed,
	     const struct mf_flag_item *fl, const size_t *fidx, size_t nf,
	     const struct mf_remove_item *rm, const size_t *ridx, size_t nr,
	     bool ok)
{
	bool far = s->id == SIDE_FAR;
	size_t i;

	for (i = 0; i < nf; i++) {
		if (ok && fl[i].status == 0 && !fl[i].gone && !fl[i].conflict) {
			*(far ? &r->rep.flags_far : &r->rep.flags_near) += 1;
			continue;
		}
		failed[fidx[i]] = true;
		if (ok && fl[i].status != 0)
			msg_fail(r, "flags", entry_msg(r, s, fidx[i]),
				 &fl[i].err);
	}
	for (i = 0; i < nr; i++) {
		if (ok && rm[i].status == 0) {
			*(far ? &r->rep.del_far : &r->rep.del_near) += 1;
			continue;
		}
		failed[ridx[i]] = true;
		/* counted, so the folder is not recorded as clean and the
		 * deletion is tried again next run */
		if (ok)
			msg_fail(r, "delete", entry_msg(r, s, ridx[i]),
				 &rm[i].err);
	}
}

/*
 * Side s's flag changes, then its deletions (other messages): in one call
 * where the store answers both behind one wait (store.h, change: one round
 * trip instead of two per folder on IMAP), else in two.  The scan that
 * absorb_own_changes() makes afterwards rides in the same wait: nothing of
 * ours changes the folder after these (the copies came first), so it
 * sees what a scan after record() would, a round trip sooner.  Each is
 * independent of the others and of the other side's, and none is recorded
 * before record() below, so any order of them is as crash-safe as any
 * other: a run stopped between them finds each message as changed or not,
 * and plans again from that (plan.h, three-way flags; a message deleted on
 * both sides is forgotten).
 */
static void
changes_side(struct box_run *r, struct side *s, bool *failed,
	     struct mf_err *err, int *ret)
{
	size_t cap = r->plan->n + 1, nf, nr;
	struct mf_flag_item *fl = xcalloc(cap, sizeof(*fl));
	struct mf_remove_item *rm = xcalloc(cap, sizeof(*rm));
	size_t *fidx = xcalloc(cap, sizeof(*fidx));
	size_t *ridx = xcalloc(cap, sizeof(*ridx));
	const struct mf_store_ops *ops = s->st->ops;
	struct mf_scan_req then;
	bool look;

	nf = flag_items(r, s, failed, fl, fidx);
	nr = remove_items(r, s, failed, rm, ridx);
	if (*ret == 0 && nf + nr > 0 && side_select(s, err) < 0) {
		mf_err_prefix(err, "%s %s: %s", s->label, s->box,
			      nf > 0 ? "flags" : "delete");
		*ret = -1;
	} else if (*ret == 0 && nf + nr > 0 && ops->change != NULL &&
		   ((look = absorb_scan_req(s, &then)) || (nf > 0 && nr > 0))) {
		/* the look at what changed since goes behind (record.c) */
		mf_scan_result_free(&s->since);
		if (ops->change(s->st, fl, nf, rm, nr, true,
				look ? &then : NULL, look ? &s->since : NULL,
				err) < 0) {
			mf_err_prefix(err, "%s %s: flags and delete", s->label,
				      s->box);
			*ret = -1;
		} else {
			if (nr > 0)
				mf_test_step("delete");
			if (s->since != NULL &&
			    (ops->selected_status == NULL ||
			     ops->selected_status(s->st, s->box,
						  &s->since_status) != 0))
				mf_scan_result_free(&s->since);
		}
	} else if (*ret == 0) {
		if (nf > 0 && ops->set_flags(s->st, fl, nf, err) < 0) {
			mf_err_prefix(err, "%s %s: flags", s->label, s->box);
			*ret = -1;
		} else if (nr > 0 &&
			   ops->remove(s->st, rm, nr, true, err) < 0) {
			mf_err_prefix(err, "%s %s: delete", s->label, s->box);
			*ret = -1;
		} else if (nr > 0) {
			mf_test_step("delete");
		}
	}
	changes_done(r, s, failed, fl, fidx, nf, rm, ridx, nr, *ret == 0);
	free(fl);
	free(rm);
	free(fidx);
	free(ridx);
}

/* A row to forget with nothing to do on either side. */
static bool
pure_forget(const struct plan_entry *e)
{
	return e->rec == PLAN_REC_FORGET && e->far_op.op == PLAN_OP_NONE &&
	       e->near_op.op == PLAN_OP_NONE;
}

/*
 * Step 0: rows to forget outright (gone on both sides, or no longer found
 * after a UIDVALIDITY change) go before the copies, which may record the
 * same message under the same UID or key in a new row.  Forgetting early
 * is safe: a message whose row is gone is new on its side and is paired
 * or copied again, never deleted.
 */
static int
forget_first(struct box_run *r, bool *done, struct mf_err *err)
{
	size_t i, n = 0;

	for (i = 0; i < r->plan->n; i++)
		n += pure_forget(&r->plan->v[i]) && r->plan->v[i].state >= 0;
	if (n == 0)
		return 0;
	if (state_begin(r->db, err) < 0)
		return -1;
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->v[i];

		if (!pure_forget(e) || e->state < 0)
			continue;
		if (state_msg_delete(r->db, r->rows->v[e->state].rowid, err) <
		    0) {
			state_rollback(r->db);
			return -1;
		}
		done[i] = true;
	}
	return commit(r, "forget", err);
}

/* The state rows of the flag and deletion entries (step 5). */
static int
record(struct box_run *r, const bool *failed, struct mf_err *err)
{
	struct plan_result *plan = r->plan;
	size_t i;

	if (state_begin(r->db, err) < 0)
		return -1;
	for (i = 0; i < plan->n; i++) {
		const struct plan_entry *e = &plan->v[i];
		struct state_msg row;

		if (failed[i] || e->far_op.op == PLAN_OP_COPY ||
		    e->near_op.op == PLAN_OP_COPY)
			continue;
		if (e->rec == PLAN_REC_FORGET) {
			if (e->state >= 0 &&
			    state_msg_delete(r->db, r->rows->v[e->state].rowid,
					     err) < 0)
				goto fail;
			continue;
		}
		if (e->rec != PLAN_REC_SET)
			continue;
		if (e->state >= 0)
			row = r->rows->v[e->state];
		else
			memset(&row, 0, sizeof(row));
		row.far_uid = e->has_far && e->far >= 0 ?
				      r->far.view[e->far].uid :
				      0;
		row.near_uid = e->has_near && e->near >= 0 && r->near.uids ?
				       r->near.view[e->near].uid :
				       0;
		row.near_key = e->has_near && e->near >= 0 && !r->near.uids ?
				       (char *)r->near.view[e->near].key :
				       NULL;
		row.far_flags = e->far_flags;
		row.far_keywords = (char *)e->far_kw;
		row.near_flags = e->near_flags;
		row.near_keywords = (char *)e->near_kw;
		state_msg_clear_pending(&row);
		/* an APPEND found by identity (crash, or no APPENDUID) */
		if (e->why == PLAN_WHY_CONFIRM && e->state >= 0 &&
		    r->rows->v[e->state].pending == STATE_PENDING_PUSH)
			r->rep.pushed++;
		if (e->why == PLAN_WHY_CONFIRM && e->state >= 0 &&
		    r->rows->v[e->state].pending == STATE_PENDING_PULL &&
		    r->near.uids)
			r->rep.pulled++;
		if (e->state < 0) {
			/* a pair made now: identity from either view */
			const struct mf_msg *m = e->far >= 0 ?
							 &r->far.view[e->far] :
							 &r->near.view[e->near];

			row.msgid = (char *)m->msgid;
			row.size = m->size;
			row.date = m->date;
			row.placeholder = e->placeholder;
			r->rep.paired++;
		}
		if (row_write(r, &row, err) < 0)
			goto fail;
	}
	return commit(r, "record", err);
fail:
	state_rollback(r->db);
	return -1;
}

int
exec_plan(struct box_run *r, struct mf_err *err)
{
	bool *failed = xcalloc(r->plan->n + 1, sizeof(bool));
	int ret = 0;

	if (forget_first(r, failed, err) < 0 ||
	    recheck_near_gone(r, failed, err) < 0 ||
	    copy_all(r, &r->near, failed, err) < 0 ||
	    copy_all(r, &r->far, failed, err) < 0 || sync_stopped(err) < 0) {
		free(failed);
		return -1;
	}
	changes_side(r, &r->far, failed, err, &ret);
	if (ret == 0)
		mf_test_step("flags");
	changes_side(r, &r->near, failed, err, &ret);
	/* record what succeeded, also when a store failed half way */
	if (record(r, failed, ret == 0 ? err : NULL) < 0 && ret == 0)
		ret = -1;
	free(failed);
	return ret;
}
