/*
 * Building the view of one side: every message present there now, with its
 * flags, at the lowest cost the server allows.
 *
 * UID stores (IMAP), cheapest first:
 *   - nothing changed since the last sync (HIGHESTMODSEQ, UIDNEXT and
 *     MESSAGES as recorded): the view is the state rows, no command sent;
 *   - CONDSTORE: flags of messages changed since the recorded HIGHESTMODSEQ
 *     (UID FETCH 1:<old UIDNEXT-1> (FLAGS) (CHANGEDSINCE m [VANISHED])),
 *     new messages from the old UIDNEXT on, and expunges from VANISHED
 *     (QRESYNC) or, without it, from the message count: if MESSAGES equals
 *     the recorded messages still present plus the new ones, nothing was
 *     expunged; otherwise one UID list of the folder settles it;
 *   - otherwise (first sync, no CONDSTORE, UIDVALIDITY changed): one
 *     UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE).
 * Key stores (Maildir): the scan is a readdir of cur/ and new/; when the
 * directory token matches the recorded one even that is skipped.
 *
 * Messages that are in the state but not in a delta keep their recorded
 * flags: a CONDSTORE server reports every flag change in CHANGEDSINCE.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "around.h"
#include "base/xalloc.h"
#include "engine.h"
#include "ident.h"

bool
row_on_side(const struct side *s, const struct state_msg *row)
{
	if (s->id == SIDE_FAR)
		return row->far_uid != 0;
	return s->uids ? row->near_uid != 0 : row->near_key != NULL;
}

static uint32_t
row_uid(const struct side *s, const struct state_msg *row)
{
	return s->id == SIDE_FAR ? row->far_uid : row->near_uid;
}

static struct mf_msg *
view_add(struct side *s)
{
	struct mf_msg *m;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->view = xreallocarray(s->view, s->cap, sizeof(*s->view));
	}
	m = &s->view[s->n++];
	memset(m, 0, sizeof(*m));
	m->keywords = "";
	return m;
}

/* A view entry from a state row: the side as last synced. */
static void
view_add_row(struct side *s, const struct state_msg *row,
	     const struct mf_msg *changed)
{
	struct mf_msg *m = view_add(s);
	bool far = s->id == SIDE_FAR;

	if (s->uids)
		m->uid = row_uid(s, row);
	else
		m->key = row->near_key; /* rows outlive the view */
	m->flags = far ? row->far_flags : row->near_flags;
	m->keywords = far ? row->far_keywords : row->near_keywords;
	if (changed != NULL) {
		m->flags = changed->flags;
		m->keywords = mf_arena_strdup(
			s->arena, changed->keywords ? changed->keywords : "");
	}
	m->size = row->size;
	m->date = row->date;
	m->msgid = row->msgid;
}

static int
cmp_uid(const void *a, const void *b)
{
	const struct mf_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct mf_msg *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static void
view_sort(struct side *s)
{
	if (s->n > 1)
		mf_qsort(s->view, s->n, sizeof(*s->view),
			 s->uids ? cmp_uid : cmp_key);
}

long
side_find_uid(const struct side *s, uint32_t uid)
{
	return mf_msgs_find_uid(s->view, s->n, uid);
}

long
side_find_key(const struct side *s, const char *key)
{
	return mf_msgs_find_key(s->view, s->n, key);
}

/* Copy a whole scan result into the view (strings move to our arena). */
static void
view_take_scan(struct side *s, const struct mf_scan_result *res)
{
	size_t i;

	for (i = 0; i < res->n; i++) {
		struct mf_msg *m = view_add(s);

		*m = res->msgs[i];
		if (m->key != NULL)
			m->key = mf_arena_strdup(s->arena, m->key);
		m->keywords = mf_arena_strdup(s->arena,
					      m->keywords ? m->keywords : "");
		if (m->msgid != NULL)
			m->msgid = mf_arena_strdup(s->arena, m->msgid);
	}
}

static int
scan(struct side *s, const struct mf_scan_req *req,
     struct mf_scan_result **res_r, struct mf_err *err)
{
	if (side_select(s, err) < 0)
		return -1;
	if (s->st->ops->scan(s->st, req, res_r, err) < 0)
		return mf_err_prefix(err, "%s %s: scan", s->label, s->box);
	/* the same for every scan of the folder: keep one (sync/near-kw.h) */
	if ((*res_r)->kw_visible != NULL && s->kw_visible == NULL)
		s->kw_visible = mf_arena_strdup(s->arena, (*res_r)->kw_visible);
	return 0;
}

static int
full_scan(struct side *s, struct mf_err *err)
{
	struct mf_scan_req req = { .want = MF_WANT_FLAGS };
	struct mf_scan_result *res = NULL;

	/* size and date are free on IMAP; on a maildir they cost a stat or
	 * a read per file, and only pairing needs them (identify_side) */
	if (s->st->caps & MF_CAP_CHEAP_SIZE)
		req.want |= MF_WANT_SIZE | MF_WANT_DATE;
	if (s->kept != NULL && req.want == MF_WANT_FLAGS) {
		/* the move pass read it, nothing changed it since (move.h);
		 * the side's status is the one taken before that listing */
		res = s->kept;
		s->kept = NULL;
		if (side_select(s, err) < 0) {
			mf_scan_result_free(&res);
			return -1;
		}
		mf_debug(MF_LOGC_SYNC, "%s %s: the move pass's listing",
			 s->label, s->box);
		if (res->kw_visible != NULL && s->kw_visible == NULL)
			s->kw_visible = mf_arena_strdup(s->arena,
							res->kw_visible);
	} else if (scan(s, &req, &res, err) < 0) {
		return -1;
	}
	s->hint_uidvalidity = res->hint_uidvalidity;
	view_take_scan(s, res);
	mf_scan_result_free(&res);
	view_sort(s);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool
uid_in(const uint32_t *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == uid)
			return true;
		if (v[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static const struct mf_msg *
find_in_scan(const struct mf_scan_result *res, uint32_t uid)
{
	long i = res != NULL ? mf_msgs_find_uid(res->msgs, res->n, uid) : -1;

	return i >= 0 ? &res->msgs[i] : NULL;
}

/* A row's message on s was reported expunged (VANISHED) by the scan. */
static bool
row_vanished(const struct side *s, const struct state_msg *row,
	     const struct mf_scan_result *changed)
{
	return changed != NULL && changed->vanished_valid &&
	       uid_in(changed->vanished, changed->nvanished, row_uid(s, row));
}

/*
 * How many messages s should hold if nothing else was expunged: the rows'
 * not reported vanished, and the fresh ones no row knows (our own APPENDs
 * of the last run are above the old UIDNEXT but known).
 */
static size_t
expected_count(const struct side *s, const struct state_msg_list *rows,
	       const struct mf_scan_result *changed,
	       const struct mf_scan_result *fresh)
{
	size_t i, present = 0, fresh_unknown = 0;
	uint32_t *ids = xcalloc(rows->n + 1, sizeof(*ids));

	for (i = 0; i < rows->n; i++) {
		const struct state_msg *row = &rows->v[i];

		if (!row_on_side(s, row) || row_vanished(s, row, changed))
			continue;
		ids[present++] = row_uid(s, row);
	}
	mf_qsort(ids, present, sizeof(*ids), cmp_u32);
	for (i = 0; fresh != NULL && i < fresh->n; i++)
		if (!uid_in(ids, present, fresh->msgs[i].uid))
			fresh_unknown++;
	free(ids);
	return present + fresh_unknown;
}

/*
 * The view of s from the delta scans: each row's message as recorded,
 * with its flags from changed where it changed, unless it vanished, is
 * missing from the full UID list (all, when one was read) or is in fresh;
 * then every message of fresh as scanned.
 */
static void
delta_view(struct side *s, const struct state_msg_list *rows,
	   const struct mf_scan_result *changed, struct mf_scan_result *fresh,
	   const struct mf_scan_result *all)
{
	size_t i;

	for (i = 0; i < rows->n; i++) {
		const struct state_msg *row = &rows->v[i];
		uint32_t uid = row_uid(s, row);

		if (!row_on_side(s, row) || row_vanished(s, row, changed))
			continue;
		if (all != NULL && find_in_scan(all, uid) == NULL)
			continue;
		if (fresh != NULL && find_in_scan(fresh, uid) != NULL)
			continue; /* taken from fresh below */
		view_add_row(s, row, find_in_scan(changed, uid));
	}
	if (fresh != NULL)
		view_take_scan(s, fresh);
	view_sort(s);
}

/* The CONDSTORE path (see the top of the file). */
static int
delta_scan(struct box_run *r, struct side *s, struct mf_err *err)
{
	const struct state_side *rec = s->rec;
	struct mf_scan_result *changed = NULL, *fresh = NULL, *all = NULL;
	const struct state_msg_list *rows = r->rows;
	size_t expected;
	int ret = -1;

	if (s->status.highestmodseq != rec->highestmodseq && rec->uidnext > 1) {
		struct mf_scan_req req = {
			.want = MF_WANT_FLAGS,
			.uid_lo = 1,
			.uid_hi = rec->uidnext - 1,
			.changedsince = rec->highestmodseq,
			.vanished = (s->st->caps & MF_CAP_QRESYNC) != 0,
		};

		if (scan(s, &req, &changed, err) < 0)
			goto out;
	}
	if (s->status.uidnext == 0 || s->status.uidnext > rec->uidnext) {
		struct mf_scan_req req = {
			.want = MF_WANT_FLAGS | MF_WANT_SIZE | MF_WANT_DATE,
			.uid_lo = rec->uidnext ? rec->uidnext : 1,
		};

		if (scan(s, &req, &fresh, err) < 0)
			goto out;
	}
	expected = expected_count(s, rows, changed, fresh);
	if (s->status.messages != expected) {
		struct mf_scan_req req = { .want = 0 };

		mf_debug(MF_LOGC_SYNC,
			 "%s %s: %u messages, expected %zu: "
			 "reading the UID list",
			 s->label, s->box, s->status.messages, expected);
		if (scan(s, &req, &all, err) < 0)
			goto out;
	}
	delta_view(s, rows, changed, fresh, all);
	ret = 0;
out:
	mf_scan_result_free(&changed);
	mf_scan_result_free(&fresh);
	mf_scan_result_free(&all);
	return ret;
}

int
snapshot_side(struct box_run *r, struct side *s, struct mf_err *err)
{
	const struct state_side *rec = s->rec;
	const struct mf_box_status *st = &s->status;
	bool known = r->sbox->id != 0;
	size_t i;

	s->arena = mf_arena_create(16384);
	s->reset = known && s->uids && rec->uidvalidity != 0 &&
		   st->uidvalidity != 0 && rec->uidvalidity != st->uidvalidity;
	if (s->reset)
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
		       "%s %s: UIDVALIDITY changed "
		       "(%u -> %u): matching messages again by content",
		       s->label, s->box, rec->uidvalidity, st->uidvalidity);

	if ((s->st->caps & MF_CAP_DIR_TOKEN) && known && rec->dir_token != 0 &&
	    st->dir_token == rec->dir_token) {
		for (i = 0; i < r->rows->n; i++)
			if (row_on_side(s, &r->rows->v[i]))
				view_add_row(s, &r->rows->v[i], NULL);
		view_sort(s);
		return 0;
	}
	if (!s->uids)
		return full_scan(s, err);
	if (known && !s->reset && rec->uidnext != 0 &&
	    rec->uidvalidity == st->uidvalidity && st->highestmodseq != 0 &&
	    rec->highestmodseq != 0 && (s->st->caps & MF_CAP_CONDSTORE))
		return delta_scan(r, s, err);
	return full_scan(s, err);
}

/* ---- reading headers around a message that breaks the session ------- */

/*
 * The header (identify_side) and whole-message (digest_side) fetches go
 * through around.h like the copies do: a message whose answer breaks the
 * session every time is skipped and marked held, the others are read on
 * a new session.  Items, sinks and view indexes stay in the caller's
 * arrays, indexed by k; a job only names k, so that around.c can reorder
 * jobs freely.
 */
struct read_job {
	size_t k;
	uint32_t uid;	  /* for around.c's list of skipped UIDs */
	bool header_only; /* its item's: the fetch order */
	bool unfetched;	  /* the fetch broke before this one completed */
};

struct read_run {
	struct box_run *r;
	struct side *s;
	struct mf_fetch_item *items; /* k: sink set, results written back */
	const size_t *idx;	     /* k: index into s->view */
	const char *what;	     /* "header", "message": for the warning */
	void (*reset)(struct read_run *rr, size_t k); /* sink k emptied */
	void *sinks;
};

static int
read_batch(void *ctx, void *vjobs, size_t n, struct mf_err *broke,
	   struct mf_err *err)
{
	struct read_run *rr = ctx;
	struct read_job *jobs = vjobs;
	struct side *s = rr->s;
	struct mf_fetch_item *items = xcalloc(n, sizeof(*items));
	struct mf_err ferr = { 0 };
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct mf_fetch_item *it = &rr->items[jobs[i].k];

		rr->reset(rr, jobs[i].k); /* a retry starts empty */
		it->status = 0;
		mf_err_clear(&it->err);
		it->bytes = 0;
		it->gone = false;
		items[i] = *it;
	}
	rc = s->st->ops->fetch(s->st, items, n, &ferr);
	if (rc < 0 && ferr.cls == MF_OK)
		mf_err_set(&ferr, MF_E_STORE, "fetch failed");
	for (i = 0; i < n; i++) {
		rr->items[jobs[i].k] = items[i];
		jobs[i].unfetched = rc < 0 && items[i].status != 0 &&
				    items[i].err.cls != MF_E_MSG;
	}
	free(items);
	if (rc == 0)
		return 0;
	if (ferr.cls == MF_E_NET && s->st->ops->reconnect != NULL)
		mf_err_copy(broke, &ferr);
	mf_err_copy(err, &ferr);
	return mf_err_prefix(err, "%s %s: fetch %ss", s->label, s->box,
			     rr->what);
}

/* The order an IMAP store asks in: whole messages first, then by UID. */
static int
cmp_read_order(const void *x, const void *y)
{
	const struct read_job *a = x, *b = y;

	if (a->header_only != b->header_only)
		return a->header_only ? 1 : -1;
	if (a->uid != b->uid)
		return a->uid < b->uid ? -1 : 1;
	return a->k < b->k ? -1 : a->k > b->k; /* keys: the view's order */
}

static size_t
read_take(void *ctx, void *vjobs, size_t n)
{
	struct read_job *jobs = vjobs;
	size_t i, k = 0;

	(void)ctx;
	for (i = 0; i < n; i++)
		if (jobs[i].unfetched) {
			jobs[k] = jobs[i];
			jobs[k++].unfetched = false;
		}
	mf_qsort(jobs, k, sizeof(*jobs), cmp_read_order);
	return k;
}

/* Never read this run: held, counted as failed and named. */
static void
read_skipped(void *ctx, void *job, const struct mf_err *why)
{
	struct read_run *rr = ctx;
	size_t k = ((const struct read_job *)job)->k;
	struct mf_msg *m = &rr->s->view[rr->idx[k]];

	m->held = true;
	rr->r->rep.failed++;
	if (rr->r->rep.err.cls == MF_OK)
		mf_err_copy(&rr->r->rep.err, why);
	if (m->uid != 0)
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s %s: UID %u: %s breaks the session: skipped, "
		       "tried again next run",
		       rr->s->label, rr->s->box, m->uid, rr->what);
	else
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s %s: %s: %s breaks the session: skipped, tried "
		       "again next run",
		       rr->s->label, rr->s->box, m->key, rr->what);
}

static uint32_t
read_uid(const void *job)
{
	return ((const struct read_job *)job)->uid;
}

static const struct around_ops read_around = {
	.batch = read_batch,
	.take_unfetched = read_take,
	.skipped = read_skipped,
	.uid = read_uid,
};

/* Fetch rr->items[0..n) around what breaks the session (around.h). */
static int
read_all(struct read_run *rr, size_t n, struct mf_err *err)
{
	struct read_job *jobs = xcalloc(n + 1, sizeof(*jobs));
	struct around a;
	size_t k;
	int ret;

	for (k = 0; k < n; k++) {
		jobs[k].k = k;
		jobs[k].uid = rr->items[k].uid;
		jobs[k].header_only = rr->items[k].header_only;
	}
	mf_qsort(jobs, n, sizeof(*jobs), cmp_read_order);
	around_init(&a, rr->s, false, n, &read_around, rr, sizeof(*jobs));
	ret = around_run(&a, jobs, n, err);
	if (ret == 0)
		ret = around_finish(&a, err);
	free(jobs);
	return ret;
}

static void
ident_reset(struct read_run *rr, size_t k)
{
	struct ident_sink *sinks = rr->sinks;

	ident_sink_deinit(&sinks[k]);
	ident_sink_init(&sinks[k], NULL);
}

/*
 * Identity and canonical size of the wanted messages of a side, read with
 * one bulk fetch: the header block where the size is known (IMAP), the
 * whole message otherwise (a maildir file without ,W= in its name).  A
 * message whose answer breaks the session is held (mf_msg.held).
 */
int
identify_side(struct box_run *r, struct side *s, const bool *want,
	      struct mf_err *err)
{
	struct mf_fetch_item *items;
	struct ident_sink *sinks;
	size_t *idx, n = 0, i;
	struct read_run rr = { r, s, NULL, NULL, "header", ident_reset, NULL };
	int ret = 0;

	items = xcalloc(s->n + 1, sizeof(*items));
	sinks = xcalloc(s->n + 1, sizeof(*sinks));
	idx = xcalloc(s->n + 1, sizeof(*idx));
	for (i = 0; i < s->n; i++) {
		const struct mf_msg *m = &s->view[i];

		if (!want[i] || m->fp != NULL)
			continue;
		ident_sink_init(&sinks[n], NULL);
		items[n].uid = m->uid;
		items[n].key = m->key;
		items[n].sink = &sinks[n].sink;
		items[n].header_only = m->size != 0;
		idx[n++] = i;
	}
	rr.items = items;
	rr.idx = idx;
	rr.sinks = sinks;
	if (n > 0 && side_select(s, err) < 0) {
		ret = -1;
	} else if (n > 0) {
		mf_debug(MF_LOGC_SYNC,
			 "%s %s: reading %zu headers to match "
			 "messages",
			 s->label, s->box, n);
		ret = read_all(&rr, n, err);
	}
	for (i = 0; i < n; i++) {
		struct mf_msg *m = &s->view[idx[i]];
		char id[IDENT_MAX];

		if (ret == 0 && items[i].status == 0 && !m->held) {
			const struct ident_sink *k = &sinks[i];
			char fp[IDENT_FP_MAX];

			ident_sink_identity(k, id);
			m->msgid = mf_arena_strdup(s->arena, id);
			if (!items[i].header_only)
				m->size = k->size;
			m->hdr_size = ident_fingerprint(k->hdr.data != NULL ?
								k->hdr.data :
								"",
							k->hdr.len, fp);
			if (fp[0] != '\0')
				m->fp = mf_arena_strdup(s->arena, fp);
		}
		ident_sink_deinit(&sinks[i]);
	}
	free(items);
	free(sinks);
	free(idx);
	return ret;
}

/* A sink that keeps a whole message in memory, up to IDENT_CONTENT_MAX. */
struct whole_sink {
	struct mf_sink sink; /* first: cast back */
	struct mf_buf buf;
	bool too_big;
};

static int
whole_write(struct mf_sink *sink, const void *data, size_t len,
	    struct mf_err *err)
{
	struct whole_sink *w = (struct whole_sink *)sink;

	(void)err;
	if (w->too_big || w->buf.len + len > IDENT_CONTENT_MAX) {
		w->too_big = true;
		return 0; /* read on, keep nothing: no digest */
	}
	return mf_buf_append(&w->buf, data, len, err);
}

static int
whole_finish(struct mf_sink *sink, struct mf_err *err)
{
	(void)sink;
	(void)err;
	return 0;
}

static const struct mf_sink_ops whole_ops = {
	.write = whole_write,
	.finish = whole_finish,
};

static void
whole_reset(struct read_run *rr, size_t k)
{
	struct whole_sink *sinks = rr->sinks;

	mf_buf_reset(&sinks[k].buf);
	sinks[k].too_big = false;
}

int
digest_side(struct box_run *r, struct side *s, const bool *want,
	    struct mf_err *err)
{
	struct mf_fetch_item *items;
	struct whole_sink *sinks;
	size_t *idx, n = 0, i;
	struct read_run rr = { r, s, NULL, NULL, "message", whole_reset, NULL };
	int ret = 0;

	items = xcalloc(s->n + 1, sizeof(*items));
	sinks = xcalloc(s->n + 1, sizeof(*sinks));
	idx = xcalloc(s->n + 1, sizeof(*idx));
	for (i = 0; i < s->n; i++) {
		const struct mf_msg *m = &s->view[i];

		if (!want[i] || m->cd != NULL || m->size > IDENT_CONTENT_MAX ||
		    m->held)
			continue;
		sinks[n].sink.ops = &whole_ops;
		mf_buf_init(&sinks[n].buf, IDENT_CONTENT_MAX + 1);
		items[n].uid = m->uid;
		items[n].key = m->key;
		items[n].sink = &sinks[n].sink;
		idx[n++] = i;
	}
	rr.items = items;
	rr.idx = idx;
	rr.sinks = sinks;
	if (n > 0 && side_select(s, err) < 0) {
		ret = -1;
	} else if (n > 0) {
		mf_debug(MF_LOGC_SYNC,
			 "%s %s: reading %zu messages whole to "
			 "confirm another tool's UIDs",
			 s->label, s->box, n);
		ret = read_all(&rr, n, err);
	}
	for (i = 0; i < n; i++) {
		struct mf_msg *m = &s->view[idx[i]];
		char cd[IDENT_FP_MAX];

		if (ret == 0 && items[i].status == 0 && !sinks[i].too_big &&
		    !m->held) {
			ident_content_digest(sinks[i].buf.data != NULL ?
						     sinks[i].buf.data :
						     "",
					     sinks[i].buf.len, cd);
			if (cd[0] != '\0')
				m->cd = mf_arena_strdup(s->arena, cd);
		}
		mf_buf_deinit(&sinks[i].buf);
	}
	free(items);
	free(sinks);
	free(idx);
	return ret;
}
