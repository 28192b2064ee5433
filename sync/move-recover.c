/*
 * Settling moves a stopped run left journaled (the rules: move.h, "Crash
 * safety").  Runs at the start of the move pass, before anything is
 * matched, so the pass and the folders' syncs see the rows as an
 * uninterrupted run would have left them.
 *
 * Each folder the journals name is read once on the mirror side M: a
 * source for "is the old message still there", a destination for "where
 * did it arrive".  On an IMAP M the destination is read from the lowest
 * journaled UIDNEXT on (UIDs and sizes), and only the headers of the
 * messages no row knows, of a size some journaled row has, are fetched:
 * a crash costs a round trip or two per folder, not a re-download.
 *
 * The rows' folder may have vanished since (boxes.h, BOX_VANISHED_*):
 * a move out of a folder gone on S was journaled with M's folder as the
 * source, which is read as any other.  A source gone on M itself (a move
 * journaled before the folder vanished there) is not read: the old
 * message is gone with it.  Destinations are pairs present on both
 * sides, as always.
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

struct rc_job {
	size_t box; /* the row's folder pair */
	struct state_msg *row;
	struct move_journal j;
	const struct side *m; /* the side that mirrored the move */
	size_t from, to;      /* folder pairs on m */
	bool skip;	      /* a folder could not be read */
	/* the source vanished on m (boxes.h, BOX_VANISHED_*): nothing to
	 * read there, the old message is gone with it */
	bool from_gone;
	bool old_there, new_found;
	uint32_t new_uid; /* UID m */
	enum move_fix fix;
};

/* One folder read on m: everything from lo on. */
struct rc_scan {
	bool want;
	uint32_t lo; /* UID side; 0: not needed yet */
	bool failed;
	struct mf_scan_result *res;
	char (*ident)[IDENT_MAX]; /* per res message, "" unknown */
};

struct rc_run {
	const struct sync_opts *o;
	const struct box_plan *plan;
	struct state_msg_list *const *rows;
	struct side far, near;
	struct rc_scan *scans[2]; /* [side][pair] */
	struct rc_job *jobs;
	size_t njobs;
};

/* Synced before, on both sides (or renamed this run: move.c candidate()) */
static bool
candidate(const struct box_pair *p)
{
	return p->action == BOX_SYNC && p->state != NULL && p->state->id != 0 &&
	       (p->far != NULL || p->near != NULL);
}

/*
 * A pair synced before whose folder vanished on a side since: a move out
 * of it may have been journaled (move.c, vanished_on()), or one made
 * before it vanished.  Its rows may hold journals; it is never a
 * destination.
 */
static bool
vanished(const struct box_pair *p)
{
	return (p->action == BOX_VANISHED_FAR ||
		p->action == BOX_VANISHED_NEAR ||
		p->action == BOX_VANISHED_BOTH) &&
	       p->state != NULL && p->state->id != 0;
}

static long
pair_of(const struct box_plan *plan, int64_t id)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (candidate(&plan->v[i]) && plan->v[i].state->id == id)
			return (long)i;
	return -1;
}

/* Is pair i's folder gone on side id? */
static bool
gone_on(const struct box_pair *p, enum side_id id)
{
	return id == SIDE_FAR ? p->far == NULL : p->near == NULL;
}

static void
need(struct rc_scan *sc, uint32_t lo)
{
	if (lo == 0)
		lo = 1;
	if (!sc->want || lo < sc->lo)
		sc->lo = lo;
	sc->want = true;
}

/* The journaled rows of pairs this run can see. */
static void
collect(struct rc_run *r)
{
	size_t i, k, cap = 0;

	for (i = 0; i < r->plan->n; i++) {
		const struct state_msg_list *rows = r->rows[i];

		for (k = 0; rows != NULL && k < rows->n; k++) {
			struct state_msg *row = &rows->v[k];
			struct rc_job job = { .box = i, .row = row };
			long from, to;

			if (row->pending != STATE_PENDING_MOVE ||
			    row->pending_move == NULL)
				continue;
			job.j = *row->pending_move;
			to = pair_of(r->plan, job.j.to);
			from = job.j.from == 0 ? (long)i :
						 pair_of(r->plan, job.j.from);
			if (to < 0 || from < 0 || to == from)
				continue; /* not in this run */
			job.m = job.j.s_far ? &r->near : &r->far;
			job.from = (size_t)from;
			job.to = (size_t)to;
			job.from_gone = vanished(&r->plan->v[from]) &&
					gone_on(&r->plan->v[from], job.m->id);
			if (r->njobs == cap) {
				cap = cap ? cap * 2 : 16;
				r->jobs = xreallocarray(r->jobs, cap,
							sizeof(*r->jobs));
			}
			r->jobs[r->njobs++] = job;
			if (!job.from_gone)
				need(&r->scans[job.m->id][job.from],
				     job.j.m_uid);
			need(&r->scans[job.m->id][job.to], job.j.hint);
		}
	}
}

static int
read_box(struct rc_run *r, const struct side *s, size_t i, struct mf_err *err)
{
	struct rc_scan *sc = &r->scans[s->id][i];
	struct mf_scan_req req = { .want = s->uids ? MF_WANT_SIZE : 0,
				   .uid_lo = s->uids ? sc->lo : 0 };
	struct mf_box_status status;
	const char *name = side_box_of(s, &r->plan->v[i]);

	if (side_open(s, name, true, &status, err) < 0 ||
	    s->st->ops->scan(s->st, &req, &sc->res, err) < 0) {
		mf_err_prefix(err, "%s %s: moves journaled", s->label, name);
		if (mf_err_is_store_level(err->cls))
			return -1;
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s", err->msg);
		mf_err_clear(err);
		sc->failed = true;
		return 0;
	}
	sc->ident = xcalloc(sc->res->n + 1, sizeof(*sc->ident));
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The UIDs on s that rows know, sorted (free()). */
static uint32_t *
known_uids(const struct side *s, const struct state_msg_list *rows, size_t *n_r)
{
	uint32_t *v = xcalloc((rows != NULL ? rows->n : 0) + 1, sizeof(*v));
	size_t i, n = 0;

	for (i = 0; rows != NULL && i < rows->n; i++) {
		uint32_t uid = s->id == SIDE_FAR ? rows->v[i].far_uid :
						   rows->v[i].near_uid;

		if (uid != 0)
			v[n++] = uid;
	}
	mf_qsort(v, n, sizeof(*v), cmp_u32);
	*n_r = n;
	return v;
}

/* May message k of destination i on s be job j's moved message? */
static bool
may_be(const struct rc_run *r, const struct rc_job *j, size_t k)
{
	const struct rc_scan *sc = &r->scans[j->m->id][j->to];
	const struct mf_msg *msg = &sc->res->msgs[k];

	return msg->uid >= (j->j.hint ? j->j.hint : 1) &&
	       j->row->msgid != NULL && j->row->size != 0 &&
	       msg->size == j->row->size;
}

/*
 * Headers of the destination's messages that may be a journaled one: no
 * row knows them and a journaled row has their size.
 */
static int
identify(struct rc_run *r, const struct side *s, size_t i, struct mf_err *err)
{
	struct rc_scan *sc = &r->scans[s->id][i];
	struct mf_fetch_item *items;
	struct ident_sink *sinks;
	struct mf_box_status status;
	size_t *which, k, q, n = 0, nknown;
	uint32_t *known;
	int ret = 0;

	which = xcalloc(sc->res->n + 1, sizeof(*which));
	known = known_uids(s, r->rows[i], &nknown);
	for (k = 0; k < sc->res->n; k++) {
		bool wanted = false;

		if (mf_bsearch(&sc->res->msgs[k].uid, known, nknown,
			       sizeof(*known), cmp_u32) != NULL)
			continue;
		for (q = 0; q < r->njobs && !wanted; q++)
			wanted = !r->jobs[q].skip && r->jobs[q].m == s &&
				 r->jobs[q].to == i &&
				 may_be(r, &r->jobs[q], k);
		if (wanted)
			which[n++] = k;
	}
	free(known);
	if (n == 0) {
		free(which);
		return 0;
	}
	items = xcalloc(n, sizeof(*items));
	sinks = xcalloc(n, sizeof(*sinks));
	for (k = 0; k < n; k++) {
		ident_sink_init(&sinks[k], NULL);
		items[k].uid = sc->res->msgs[which[k]].uid;
		items[k].sink = &sinks[k].sink;
		items[k].header_only = true;
	}
	if (side_open(s, side_box_of(s, &r->plan->v[i]), true, &status, err) <
		    0 ||
	    s->st->ops->fetch(s->st, items, n, err) < 0) {
		mf_err_prefix(err, "%s %s: moves journaled: read headers",
			      s->label, side_box_of(s, &r->plan->v[i]));
		ret = mf_err_is_store_level(err->cls) ? -1 : 0;
		if (ret == 0) {
			mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s", err->msg);
			mf_err_clear(err);
		}
	} else {
		for (k = 0; k < n; k++)
			if (items[k].status == 0)
				ident_sink_identity(&sinks[k],
						    sc->ident[which[k]]);
	}
	for (k = 0; k < n; k++)
		ident_sink_deinit(&sinks[k]);
	free(items);
	free(sinks);
	free(which);
	return ret;
}

/* Job j's moved message on an IMAP m: the one message that fits. */
static void
find_new_uid(struct rc_run *r, struct rc_job *j)
{
	const struct rc_scan *sc = &r->scans[j->m->id][j->to];
	size_t k, found = 0;

	for (k = 0; k < sc->res->n; k++) {
		if (!may_be(r, j, k) || sc->ident[k][0] == '\0' ||
		    strcmp(sc->ident[k], j->row->msgid) != 0)
			continue;
		found++;
		j->new_uid = sc->res->msgs[k].uid;
	}
	if (found != 1)
		j->new_uid = 0;
	j->new_found = j->new_uid != 0;
}

static void
look(struct rc_run *r, struct rc_job *j)
{
	const struct rc_scan *from = &r->scans[j->m->id][j->from];
	const struct rc_scan *to = &r->scans[j->m->id][j->to];

	if (from->failed || to->failed) {
		j->skip = true;
		return;
	}
	if (j->m->uids && (j->row->msgid == NULL || j->row->size == 0)) {
		/* cannot be looked for: the journal stays, and with it the
		 * old rule (move.c: a retry only where it is harmless) */
		j->skip = true;
		return;
	}
	if (j->m->uids) {
		j->old_there = !j->from_gone &&
			       mf_msgs_find_uid(from->res->msgs, from->res->n,
						j->j.m_uid) >= 0;
		find_new_uid(r, j);
	} else {
		j->old_there = !j->from_gone &&
			       mf_msgs_find_key(from->res->msgs, from->res->n,
						j->j.m_key) >= 0;
		/* a rename keeps the name */
		j->new_found = mf_msgs_find_key(to->res->msgs, to->res->n,
						j->j.m_key) >= 0;
	}
}

/* Two journals claiming one message: neither gets it. */
static void
unclaim_twice(struct rc_run *r)
{
	size_t i, q;

	for (i = 0; i < r->njobs; i++) {
		struct rc_job *a = &r->jobs[i];
		bool twice = false;

		for (q = 0; a->new_uid != 0 && q < r->njobs; q++)
			twice |= q != i && r->jobs[q].m == a->m &&
				 r->jobs[q].to == a->to &&
				 r->jobs[q].new_uid == a->new_uid;
		if (twice)
			a->new_found = false;
	}
}

/* A half-done move (COPY without EXPUNGE, link without unlink): remove
 * the old copy before the move is recorded. */
static int
finish(struct rc_run *r, struct rc_job *j, struct mf_err *err)
{
	struct mf_box_status status;
	struct mf_remove_item item = { .uid = j->j.m_uid,
				       .key = j->m->uids ? NULL : j->j.m_key,
				       .discard = true };
	const char *name = side_box_of(j->m, &r->plan->v[j->from]);

	if (side_open(j->m, name, false, &status, err) < 0 ||
	    j->m->st->ops->remove(j->m->st, &item, 1, true, err) < 0) {
		mf_err_prefix(err, "%s %s: finish a move", j->m->label, name);
		if (mf_err_is_store_level(err->cls))
			return -1;
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s", err->msg);
		mf_err_clear(err);
		j->skip = true;
		return 0;
	}
	if (item.status != 0) {
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s: finish a move: %s", name,
		       item.err.msg);
		j->skip = true;
	}
	return 0;
}

/* Pair p's folder on side far listed with another UIDVALIDITY than its
 * state box recorded: its rows' UIDs there mean nothing (state.h,
 * state_msg_park_uid()). */
static bool
side_reset(const struct box_pair *p, bool far)
{
	const struct mf_box_info *info = far ? p->far : p->near;
	const struct state_side *rec = far ? &p->state->far : &p->state->near;

	return info != NULL && info->status.has_status &&
	       info->status.uidvalidity != 0 && rec->uidvalidity != 0 &&
	       info->status.uidvalidity != rec->uidvalidity;
}

static int
write_row(struct state_db *db, const struct box_pair *p, struct state_msg *row,
	  struct mf_err *err)
{
	return move_row_write(db, p->state->id, row, side_reset(p, true),
			      side_reset(p, false), err);
}

/*
 * A hand move on a maildir S whose mirror was done: the file may still
 * carry the letters of the row's folder (move.c relabel_group()).  The
 * journaled s_kw makes this safe to repeat: a file already relabeled
 * reads differently and is left alone.
 */
static int
relabel(struct rc_run *r, struct rc_job *j, struct mf_err *err)
{
	const struct side *s = j->j.s_far ? &r->far : &r->near;
	struct mf_box_status status;
	struct mf_relabel_item item = { .key = j->j.s_key,
					.expect = j->j.s_kw };
	const char *to = side_box_of(s, &r->plan->v[j->to]);

	if (!j->j.relabel || s->uids || s->st->ops->relabel == NULL ||
	    j->j.s_key[0] == '\0')
		return 0;
	if (side_open(s, to, false, &status, err) < 0 ||
	    s->st->ops->relabel(s->st, &item, 1,
				side_box_of(s, &r->plan->v[j->box]), err) < 0) {
		mf_err_prefix(err,
			      "%s %s: keywords of a message moved by "
			      "hand",
			      s->label, to);
		if (mf_err_is_store_level(err->cls))
			return -1;
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC, "%s", err->msg);
		mf_err_clear(err);
		return 0;
	}
	if (item.status != 0)
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: keywords of %s moved "
		       "by hand: %s",
		       to, item.key, item.err.msg);
	return 0;
}

static int
write_rows(struct rc_run *r, size_t *moved, bool *touched, bool *changed_r,
	   struct mf_err *err)
{
	struct state_db *db = r->o->db;
	size_t i, n = 0;

	if (state_begin(db, err) < 0)
		return -1;
	for (i = 0; i < r->njobs; i++) {
		struct rc_job *j = &r->jobs[i];
		struct state_msg row;

		if (j->skip)
			continue;
		n++;
		touched[j->box] = touched[j->from] = touched[j->to] = true;
		if (j->fix == MOVE_FIX_UNDONE || j->fix == MOVE_FIX_LOST) {
			row = *j->row;
			state_msg_clear_pending(&row);
			if (write_row(db, &r->plan->v[j->box], &row, err) < 0)
				goto fail;
			continue;
		}
		if (j->j.s_far)
			move_dest_row(j->row, j->j.s_uid,
				      j->m->uids ? j->new_uid : 0,
				      j->m->uids ? NULL : j->j.m_key, &row);
		else
			move_dest_row(j->row, j->new_uid, j->j.s_uid,
				      j->j.s_key[0] ? j->j.s_key : NULL, &row);
		if (state_msg_delete(db, j->row->rowid, err) < 0 ||
		    write_row(db, &r->plan->v[j->to], &row, err) < 0)
			goto fail;
		moved[j->to]++;
	}
	if (state_commit(db, err) < 0)
		return -1;
	if (n > 0) {
		*changed_r = true;
		mf_test_step("move recover");
	}
	return 0;
fail:
	state_rollback(db);
	return -1;
}

int
move_recover(const struct sync_opts *o, const struct box_plan *plan,
	     struct state_msg_list *const *rows, size_t *moved, bool *touched,
	     bool *changed_r, struct mf_err *err)
{
	struct rc_run r = {
		.o = o,
		.plan = plan,
		.rows = rows,
	};
	size_t i, s;
	int ret = -1;

	side_init(&r.far, SIDE_FAR, o->far, NULL, NULL);
	side_init(&r.near, SIDE_NEAR, o->near, NULL, NULL);
	*changed_r = false;
	if (o->dry_run)
		return 0; /* the journals wait for a real run */
	r.scans[0] = xcalloc(plan->n + 1, sizeof(struct rc_scan));
	r.scans[1] = xcalloc(plan->n + 1, sizeof(struct rc_scan));
	collect(&r);
	for (s = 0; s < 2; s++) {
		const struct side *side = s == SIDE_FAR ? &r.far : &r.near;

		for (i = 0; i < plan->n; i++)
			if (r.scans[s][i].want &&
			    read_box(&r, side, i, err) < 0)
				goto out;
	}
	for (i = 0; i < r.njobs; i++) {
		struct rc_job *j = &r.jobs[i];

		j->skip = r.scans[j->m->id][j->from].failed ||
			  r.scans[j->m->id][j->to].failed;
	}
	for (s = 0; s < 2; s++) {
		const struct side *side = s == SIDE_FAR ? &r.far : &r.near;

		for (i = 0; side->uids && i < plan->n; i++)
			if (r.scans[s][i].want && !r.scans[s][i].failed &&
			    identify(&r, side, i, err) < 0)
				goto out;
	}
	for (i = 0; i < r.njobs; i++)
		if (!r.jobs[i].skip)
			look(&r, &r.jobs[i]);
	unclaim_twice(&r);
	for (i = 0; i < r.njobs; i++)
		r.jobs[i].fix = move_fix_decide(r.jobs[i].old_there,
						r.jobs[i].new_found);
	for (i = 0; i < r.njobs; i++) {
		struct rc_job *j = &r.jobs[i];

		mf_debug(MF_LOGC_SYNC, "move journal of %s: %s",
			 plan->v[j->box].far_name,
			 j->skip		   ? "left" :
			 j->fix == MOVE_FIX_DONE   ? "done" :
			 j->fix == MOVE_FIX_FINISH ? "half done" :
			 j->fix == MOVE_FIX_UNDONE ? "undone" :
						     "lost");
		if (!j->skip && j->fix == MOVE_FIX_FINISH &&
		    finish(&r, j, err) < 0)
			goto out;
		if (!j->skip &&
		    (j->fix == MOVE_FIX_DONE || j->fix == MOVE_FIX_FINISH) &&
		    relabel(&r, j, err) < 0)
			goto out;
	}
	ret = write_rows(&r, moved, touched, changed_r, err);
out:
	for (s = 0; s < 2; s++) {
		for (i = 0; i < plan->n; i++) {
			mf_scan_result_free(&r.scans[s][i].res);
			free(r.scans[s][i].ident);
		}
		free(r.scans[s]);
	}
	free(r.jobs);
	return ret;
}
