/*
 * Fetching around a message whose answer breaks the session (around.h
 * says what and why).  The errors name the side by its label only: the
 * callers' reports print the folder's name, and a channel's error gets it
 * in front (sync.c).
 */
#include "around.h"

#include <stdio.h>
#include <string.h>

#include "base/backoff.h"
#include "base/log.h"

void
around_init(struct around *a, struct side *src, bool readonly, size_t batch,
	    const struct around_ops *ops, void *ctx, size_t size)
{
	memset(a, 0, sizeof(*a));
	a->src = src;
	a->readonly = readonly;
	a->ops = ops;
	a->ctx = ctx;
	a->size = size;
	a->max_reconnects = 2 * AROUND_BAD_MAX;
	for (; batch > 1; batch /= 2)
		a->max_reconnects++;
}

static void *
job_at(const struct around *a, void *jobs, size_t i)
{
	return (char *)jobs + i * a->size;
}

/*
 * Give the folder up, and make the session anew for the next folder (it
 * is broken, and would fail that one for nothing).
 */
static int
give_up(struct around *a, const char *what, struct mf_err *err)
{
	struct side *s = a->src;
	struct mf_err rerr = { 0 };
	char uids[AROUND_BAD_MAX * 12 + 16] = " none";
	size_t i, o = 0;

	for (i = 0; i < a->nbad; i++)
		o += (size_t)snprintf(uids + o, sizeof(uids) - o, " %u",
				      a->bad[i]);
	mf_err_set(err, MF_E_BOX,
		   "%s: fetch: given up after %s (UIDs skipped:%s; the "
		   "rest is fetched next run); last: %s",
		   s->label, what, uids, a->why.msg);
	s->selected = false;
	if (s->st->ops->reconnect(s->st, &rerr) < 0) {
		err->cls = rerr.cls;
		o = strlen(err->msg);
		snprintf(err->msg + o, sizeof(err->msg) - o, "; then %s",
			 rerr.msg);
	}
	return -1;
}

/* A new session with the folder selected again, if the last one broke. */
static int
reconnect(struct around *a, struct mf_err *err)
{
	struct side *s = a->src;
	struct mf_box_status now;
	struct mf_err rerr = { 0 };

	if (!a->broken)
		return 0;
	if (sync_stopped(err) < 0)
		return -1;
	if (a->reconnects == a->max_reconnects)
		return give_up(a, "too many broken connections", err);
	a->reconnects++;
	s->selected = false;
	if (s->st->ops->reconnect(s->st, &rerr) < 0 ||
	    side_open(s, s->box, a->readonly, &now, &rerr) < 0)
		return mf_err_set(err, rerr.cls, "%s: fetch: %s; then %s",
				  s->label, a->why.msg, rerr.msg);
	/* the UIDs asked for may name other messages now */
	if (s->status_known && s->status.uidvalidity != 0 &&
	    s->status.uidvalidity != now.uidvalidity)
		return mf_err_set(err, MF_E_BOX,
				  "%s: UIDVALIDITY %u became %u while "
				  "reconnecting: the folder is read anew "
				  "next run",
				  s->label, s->status.uidvalidity,
				  now.uidvalidity);
	s->selected = true;
	if (now.uidnext > s->uidnext)
		s->uidnext = now.uidnext;
	a->broken = false;
	return 0;
}

/*
 * One part as a batch, on a working session.  *left_r: how many did not
 * land because the fetch broke the session again; they are at the front
 * of jobs, in fetch order.
 */
static int
attempt(struct around *a, void *jobs, size_t n, size_t *left_r,
	struct mf_err *err)
{
	struct mf_err broke = { 0 };

	*left_r = 0;
	if (n == 0)
		return 0;
	if (reconnect(a, err) < 0)
		return -1;
	if (a->ops->batch(a->ctx, jobs, n, &broke, err) == 0)
		return 0;
	if (broke.cls == MF_OK)
		return -1; /* any other failure: as for any batch */
	if (mf_backoff_pending()) {
		/* a server that throttles us is not broken by one message:
		 * asking it message by message would only be asked more;
		 * the channel is tried again after the wait (cmd-sync.c) */
		return mf_err_set(err, broke.cls, "%s: fetch: %s",
				  a->src->label, broke.msg);
	}
	a->broken = true;
	a->why = broke;
	mf_err_clear(err);
	*left_r = a->ops->take_unfetched(a->ctx, jobs, n);
	mf_log(MF_LOG_INFO, MF_LOGC_SYNC,
	       "%s %s: the connection broke while fetching (%s): %zu "
	       "messages to fetch on a new one",
	       a->src->label, a->src->box, broke.msg, *left_r);
	return 0;
}

/* The one that broke the session alone: skipped, tried next run. */
static int
skip(struct around *a, void *job, struct mf_err *err)
{
	struct mf_err why = { 0 };

	if (a->nbad == AROUND_BAD_MAX)
		return give_up(a, "too many messages that break it", err);
	a->bad[a->nbad++] = a->ops->uid(job);
	mf_err_set(&why, MF_E_MSG,
		   "the server's answer broke the connection (%s): "
		   "skipped, tried again next run",
		   a->why.msg);
	a->ops->skipped(a->ctx, job, &why);
	return 0;
}

/* jobs[0..n): unfetched after a break, in fetch order (around.h). */
static int
land_around(struct around *a, void *jobs, size_t n, struct mf_err *err)
{
	size_t left, h;

	while (n > 0) {
		if (attempt(a, jobs, 1, &left, err) < 0)
			return -1;
		if (left == 1 && skip(a, jobs, err) < 0)
			return -1;
		jobs = job_at(a, jobs, 1);
		n--;
		if (left == 0 && n > 1) {
			/* it was not the culprit: the rest in halves */
			h = n / 2;
			if (around_run(a, jobs, h, err) < 0)
				return -1;
			return around_run(a, job_at(a, jobs, h), n - h, err);
		}
		if (attempt(a, jobs, n, &left, err) < 0)
			return -1;
		n = left;
	}
	return 0;
}

int
around_run(struct around *a, void *jobs, size_t n, struct mf_err *err)
{
	size_t left;

	if (attempt(a, jobs, n, &left, err) < 0)
		return -1;
	return left > 0 ? land_around(a, jobs, left, err) : 0;
}

int
around_finish(struct around *a, struct mf_err *err)
{
	return reconnect(a, err);
}
