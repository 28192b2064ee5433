/*
 * Completing placeholders (see fetch.h for the order and why it is safe).
 *
 * This works on the stores and the state database directly, not through
 * the planner: it changes no flags and deletes nothing the user sees, it
 * only swaps one file for a better one under the same state row.
 */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "around.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "engine.h"
#include "sync.h"

#define FETCH_BATCH_DEFAULT 64

/* ---- settling an interrupted fetch -------------------------------------- */

static bool
has_pending_fetch(const struct state_msg_list *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		if (rows->v[i].pending == STATE_PENDING_FETCH)
			return true;
	return false;
}

/* Is there a message with this key in the scan? */
static bool
scan_has(const struct mf_scan_result *res, const char *key)
{
	return key != NULL && mf_msgs_find_key(res->msgs, res->n, key) >= 0;
}

int
fetch_settle(struct state_db *db, struct mf_store *near,
	     const struct state_msg_list *rows, bool *changed_r,
	     struct mf_err *err)
{
	struct mf_scan_req req = { .want = 0 };
	struct mf_scan_result *res = NULL;
	struct mf_remove_item *items = NULL;
	size_t i, n = 0;
	int ret = -1;

	*changed_r = false;
	if (!has_pending_fetch(rows))
		return 0;
	if (near->ops->scan(near, &req, &res, err) < 0)
		return -1;
	items = xcalloc(rows->n, sizeof(*items));
	/* the full copy landed: the placeholder goes (if still there) */
	for (i = 0; i < rows->n; i++) {
		const struct state_msg *row = &rows->v[i];

		if (row->pending != STATE_PENDING_FETCH ||
		    !scan_has(res, row->pending_key) ||
		    !scan_has(res, row->near_key))
			continue;
		items[n].key = row->near_key;
		items[n].discard = true;
		items[n].user = (void *)row;
		n++;
	}
	if (n > 0 && near->ops->remove(near, items, n, true, err) < 0)
		goto out;
	if (state_begin(db, err) < 0)
		goto out;
	for (i = 0; i < rows->n; i++) {
		struct state_msg row = rows->v[i];
		size_t k;
		bool removed = true;

		if (row.pending != STATE_PENDING_FETCH)
			continue;
		for (k = 0; k < n; k++)
			if (items[k].user == &rows->v[i])
				removed = items[k].status == 0;
		if (!removed) /* both files still there: next time */
			continue;
		if (scan_has(res, row.pending_key)) {
			row.near_key = row.pending_key;
			row.placeholder = false;
		}
		state_msg_clear_pending(&row);
		if (state_msg_update(db, &row, err) < 0) {
			state_rollback(db);
			goto out;
		}
	}
	if (state_commit(db, err) < 0)
		goto out;
	mf_test_step("fetch settle");
	*changed_r = true;
	ret = 0;
out:
	free(items);
	mf_scan_result_free(&res);
	return ret;
}

/* ---- fetching ----------------------------------------------------------- */

struct fetch_job {
	struct state_msg row;	 /* a copy, strings borrowed */
	const struct mf_msg *ph; /* the placeholder as scanned */
	struct mf_delivery d;
	struct mf_fetch_item item;
	bool begun, journaled;
	/* not fetched because the fetch call failed (store.h): fetched
	 * again around what broke the session (around.h) */
	bool unfetched;
};

/* Commit; a failed COMMIT is rolled back (as in sync/exec.c). */
static int
commit(struct state_db *db, const char *step, struct mf_err *err)
{
	if (mf_test_fail(step)) {
		state_rollback(db);
		return mf_err_set(err, MF_E_STATE,
				  "state: %s: commit: failure "
				  "injected by MAILFERRY_TEST_FAIL",
				  step);
	}
	if (state_commit(db, err) < 0) {
		state_rollback(db);
		return -1;
	}
	mf_test_step(step);
	return 0;
}

static void
job_fail(struct fetch_box_report *rep, const struct fetch_job *j,
	 const struct mf_err *why)
{
	char uid[24];

	rep->failed++;
	if (rep->err.cls != MF_OK)
		return;
	mf_err_copy(&rep->err, why);
	/* once: the store's own item errors may name the UID already */
	snprintf(uid, sizeof(uid), "UID %u:", j->row.far_uid);
	if (strncmp(rep->err.msg, uid, strlen(uid)) != 0)
		mf_err_prefix(&rep->err, "UID %u", j->row.far_uid);
}

static int
journal(const struct fetch_opts *o, struct fetch_job *jobs, size_t n,
	struct mf_err *err)
{
	size_t i;

	if (state_begin(o->db, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct state_msg row = jobs[i].row;

		if (!jobs[i].begun)
			continue;
		row.pending = STATE_PENDING_FETCH;
		row.pending_key = jobs[i].d.key;
		if (state_msg_update(o->db, &row, err) < 0) {
			state_rollback(o->db);
			return -1;
		}
		jobs[i].journaled = true;
	}
	return commit(o->db, "fetch journal", err);
}

/* Step 5, and the journal undone for what did not land. */
static int
record(const struct fetch_opts *o, struct fetch_job *jobs, size_t n,
       const struct mf_remove_item *rm, struct fetch_box_report *rep,
       struct mf_err *err)
{
	size_t i, k = 0;

	if (state_begin(o->db, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct fetch_job *j = &jobs[i];
		struct state_msg row = j->row;
		bool landed = j->journaled && j->item.status == 0 &&
			      !j->item.gone && j->d.status == 0;

		if (!j->journaled)
			continue;
		if (landed) {
			const struct mf_remove_item *r = &rm[k++];

			if (r->status != 0) {
				/* both are there; settling finishes it */
				job_fail(rep, j, &r->err);
				continue;
			}
			row.near_key = j->d.key;
			row.placeholder = false;
			rep->fetched++;
		} else if (!j->unfetched) {
			if (j->item.gone) {
				struct mf_err gone = { 0 };

				mf_err_set(&gone, MF_E_MSG,
					   "no longer on the "
					   "server");
				job_fail(rep, j, &gone);
			} else {
				job_fail(rep, j,
					 j->item.status != 0 ? &j->item.err :
							       &j->d.err);
			}
			rep->left++;
		}
		state_msg_clear_pending(&row);
		if (state_msg_update(o->db, &row, err) < 0) {
			state_rollback(o->db);
			return -1;
		}
	}
	return commit(o->db, "fetch record", err);
}

/*
 * Step 1 for each job, its fetch item into items (*nitems_r of them).  A
 * message-level refusal fails that job only; -1: the batch stops.
 */
static int
begin_all(const struct fetch_opts *o, struct fetch_job *jobs, size_t n,
	  struct mf_fetch_item *items, size_t *nitems_r,
	  struct fetch_box_report *rep, struct mf_err *err)
{
	struct mf_err berr = { 0 };
	size_t i, nitems = 0;

	for (i = 0; i < n; i++) {
		struct fetch_job *j = &jobs[i];

		/* the full copy takes the placeholder's flags as they are
		 * now; the row keeps what was last synced, so a change
		 * made on the placeholder still reaches the server */
		j->d.flags = j->ph->flags;
		if (o->near->caps & MF_CAP_KEYWORDS)
			j->d.keywords = j->ph->keywords;
		j->d.date = j->row.date;
		j->d.size = j->row.size;
		if (mf_test_fail("fetch deliver begin"))
			return mf_err_set(err, MF_E_BOX,
					  "deliver: failure injected "
					  "by MAILFERRY_TEST_FAIL");
		if (o->near->ops->deliver_begin(o->near, &j->d, &berr) < 0) {
			if (berr.cls != MF_E_MSG)
				return mf_err_copy(err, &berr);
			job_fail(rep, j, &berr);
			rep->left++;
			continue;
		}
		j->begun = true;
		j->item.uid = j->row.far_uid;
		j->item.sink = j->d.sink;
		items[nitems++] = j->item;
	}
	*nitems_r = nitems;
	return 0;
}

/*
 * Every way out passes "out", where a batch that did not reach its flush
 * is aborted: the near store holds pointers into jobs from deliver_begin()
 * on (store.h), and fetch_box() frees jobs.  The journal is not committed
 * then (commit() rolls back), so no row is left pending for a copy that
 * was never made.  A fetch that broke the far session (MF_E_NET, on a
 * store that can reconnect) after everything else went through sets
 * broke to the store's error, its unfetched jobs marked (around.h).
 */
static int
fetch_batch(const struct fetch_opts *o, struct fetch_job *jobs, size_t n,
	    struct fetch_box_report *rep, struct mf_err *broke,
	    struct mf_err *err)
{
	struct mf_fetch_item *items = xcalloc(n, sizeof(*items));
	struct mf_remove_item *rm = xcalloc(n, sizeof(*rm));
	struct mf_err ferr = { 0 };
	size_t i, nitems = 0, nrm = 0;
	int fetch_rc = 0, ret = -1;
	bool flushed = false;

	if (begin_all(o, jobs, n, items, &nitems, rep, err) < 0)
		goto out;
	if (journal(o, jobs, n, err) < 0)
		goto out;
	if (nitems > 0)
		fetch_rc = o->far->ops->fetch(o->far, items, nitems, &ferr);
	for (i = 0, nitems = 0; i < n; i++)
		if (jobs[i].begun)
			jobs[i].item = items[nitems++];
	for (i = 0; i < n; i++)
		jobs[i].unfetched = fetch_rc < 0 && jobs[i].begun &&
				    jobs[i].item.status != 0 &&
				    jobs[i].item.err.cls != MF_E_MSG;
	/* flush even after a failed fetch: what arrived complete is kept */
	flushed = true;
	if (o->near->ops->deliver_flush(o->near, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct fetch_job *j = &jobs[i];

		if (j->journaled && j->item.status == 0 && !j->item.gone &&
		    j->d.status == 0) {
			rm[nrm].key = j->row.near_key;
			rm[nrm].discard = true;
			nrm++;
		}
	}
	if (nrm > 0 && o->near->ops->remove(o->near, rm, nrm, true, err) < 0)
		goto out;
	if (record(o, jobs, n, rm, rep, err) < 0)
		goto out;
	if (fetch_rc < 0) {
		if (ferr.cls == MF_OK)
			mf_err_set(&ferr, MF_E_STORE, "fetch failed");
		if (ferr.cls == MF_E_NET && o->far->ops->reconnect != NULL)
			mf_err_copy(broke, &ferr);
		mf_err_copy(err, &ferr);
		mf_err_prefix(err, "far: fetch");
		goto out;
	}
	ret = 0;
out:
	if (!flushed)
		o->near->ops->deliver_abort_all(o->near);
	free(items);
	free(rm);
	return ret;
}

/* ---- fetching around what breaks the session (around.h) --------------- */

struct fetch_dir {
	const struct fetch_opts *o;
	struct fetch_box_report *rep;
};

static int
around_batch(void *ctx, void *jobs, size_t n, struct mf_err *broke,
	     struct mf_err *err)
{
	struct fetch_dir *d = ctx;

	return fetch_batch(d->o, jobs, n, d->rep, broke, err);
}

static int
cmp_uid(const void *x, const void *y)
{
	const struct fetch_job *a = x, *b = y;

	return a->row.far_uid < b->row.far_uid ?
		       -1 :
		       a->row.far_uid > b->row.far_uid;
}

/* The unfetched jobs to the front, by UID (all whole bodies), ready for
 * another batch. */
static size_t
around_take(void *ctx, void *vjobs, size_t n)
{
	struct fetch_job *jobs = vjobs;
	size_t i, k = 0;

	(void)ctx;
	for (i = 0; i < n; i++)
		if (jobs[i].unfetched)
			jobs[k++] = jobs[i];
	mf_qsort(jobs, k, sizeof(*jobs), cmp_uid);
	for (i = 0; i < k; i++) {
		struct state_msg row = jobs[i].row;
		const struct mf_msg *ph = jobs[i].ph;

		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].row = row;
		jobs[i].ph = ph;
	}
	return k;
}

static void
around_skipped(void *ctx, void *job, const struct mf_err *why)
{
	struct fetch_dir *d = ctx;

	job_fail(d->rep, job, why);
	d->rep->left++;
}

static uint32_t
around_uid(const void *job)
{
	return ((const struct fetch_job *)job)->row.far_uid;
}

static const struct around_ops fetch_around = {
	.batch = around_batch,
	.take_unfetched = around_take,
	.skipped = around_skipped,
	.uid = around_uid,
};

/* Select both folders, settle, and replace every placeholder found. */
static int
fetch_box(const struct fetch_opts *o, const struct state_box *b,
	  struct fetch_box_report *rep, struct mf_err *err)
{
	struct side far, near;
	struct mf_scan_req req = { .want = MF_WANT_FLAGS };
	struct mf_scan_result *res = NULL;
	struct state_msg_list *rows = NULL;
	struct fetch_job *jobs = NULL;
	struct fetch_dir dir = { o, rep };
	struct around a;
	struct mf_box_status status;
	size_t batch = o->batch ? o->batch : FETCH_BATCH_DEFAULT;
	size_t i, n = 0;
	bool changed;
	int ret = -1;

	side_init(&far, SIDE_FAR, o->far, b->far_name, NULL);
	side_init(&near, SIDE_NEAR, o->near, b->near_name, NULL);
	if (side_open(&near, b->near_name, false, &status, err) < 0)
		return mf_err_prefix(err, "near");
	if (state_msgs_load(o->db, b->id, &rows, err) < 0 ||
	    fetch_settle(o->db, o->near, rows, &changed, err) < 0)
		goto out;
	if (changed) {
		state_msg_list_free(&rows);
		if (state_msgs_load(o->db, b->id, &rows, err) < 0)
			goto out;
	}
	if (o->near->ops->scan(o->near, &req, &res, err) < 0) {
		mf_err_prefix(err, "near: scan");
		goto out;
	}
	jobs = xcalloc(rows->n + 1, sizeof(*jobs));
	for (i = 0; i < rows->n; i++) {
		const struct state_msg *row = &rows->v[i];
		long k;

		if (!row->placeholder || row->pending != STATE_PENDING_NONE ||
		    row->far_uid == 0 || row->near_key == NULL)
			continue;
		/* gone locally: the next sync deletes it on the server */
		k = mf_msgs_find_key(res->msgs, res->n, row->near_key);
		if (k < 0)
			continue;
		jobs[n].row = *row;
		jobs[n].ph = &res->msgs[k];
		n++;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	if (side_open(&far, b->far_name, true, &status, err) < 0) {
		mf_err_prefix(err, "far");
		goto out;
	}
	far.status = status;
	far.status_known = far.selected = true;
	around_init(&a, &far, true, batch, &fetch_around, &dir, sizeof(*jobs));
	for (i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? n - i : batch;

		if (sync_stopped(err) < 0 ||
		    around_run(&a, jobs + i, m, err) < 0)
			goto out;
	}
	ret = around_finish(&a, err);
out:
	free(jobs);
	mf_scan_result_free(&res);
	state_msg_list_free(&rows);
	return ret;
}

static bool
wanted(const struct fetch_opts *o, const struct state_box *b, bool *hit)
{
	size_t i;
	bool any = false;

	if (o->nonly == 0)
		return true;
	for (i = 0; i < o->nonly; i++) {
		if (strcmp(o->only[i], b->far_name) == 0 ||
		    strcmp(o->only[i], b->near_name) == 0) {
			hit[i] = true;
			any = true;
		}
	}
	return any;
}

int
fetch_run(const struct fetch_opts *o, struct fetch_summary *sum,
	  struct mf_err *err)
{
	struct state_box_list *boxes = NULL;
	bool *hit = xcalloc(o->nonly + 1, sizeof(bool));
	size_t i;
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	if (!(o->near->caps & MF_CAP_PLACEHOLDERS)) {
		/* placeholders are only ever made where they can be marked */
		ret = 0;
		goto out;
	}
	if (state_box_list(o->db, &boxes, err) < 0)
		goto out;
	for (i = 0; i < boxes->n; i++) {
		const struct state_box *b = &boxes->v[i];
		struct fetch_box_report rep = { 0 };
		uint64_t ph = 0, pending = 0;

		if (!wanted(o, b, hit))
			continue;
		if (sync_stopped(err) < 0)
			goto out;
		if (state_msg_count_placeholders(o->db, b->id, &ph, err) < 0 ||
		    state_msg_count_pending(o->db, b->id, &pending, err) < 0)
			goto out;
		if (ph == 0 && pending == 0)
			continue;
		rep.far_name = b->far_name;
		rep.near_name = b->near_name;
		sum->boxes++;
		if (fetch_box(o, b, &rep, &rep.err) < 0) {
			if (rep.err.cls != MF_E_BOX &&
			    rep.err.cls != MF_E_MSG) {
				mf_err_copy(err, &rep.err);
				mf_err_prefix(err, "%s", b->far_name);
				goto out;
			}
			rep.box_failed = true;
			sum->boxes_failed++;
		}
		sum->fetched += rep.fetched;
		sum->left += rep.left;
		sum->failed += rep.failed;
		if (o->report != NULL)
			o->report(o->ctx, &rep);
	}
	for (i = 0; i < o->nonly; i++) {
		if (!hit[i]) {
			mf_err_set(err, MF_E_USAGE,
				   "no folder '%s' in the "
				   "state of channel '%s' (sync it first)",
				   o->only[i], o->channel);
			goto out;
		}
	}
	ret = 0;
out:
	state_box_list_free(&boxes);
	free(hit);
	return ret;
}
