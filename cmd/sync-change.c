/*
 * What counts as a change for --exit-on-change (sync-change.h).
 */
#include "sync-change.h"

#include <stddef.h>

bool
sync_report_changes(const struct sync_box_report *r)
{
	const struct plan_stats *p = &r->planned;

	switch (r->outcome) {
	case SYNC_BOX_REMOVED:
	case SYNC_BOX_RENAMED:
	case SYNC_BOX_WOULD_CREATE_FAR:
	case SYNC_BOX_WOULD_CREATE_NEAR:
	case SYNC_BOX_WOULD_RENAME:
		return true;
	case SYNC_BOX_PLANNED:
		return p->pull + p->push + p->flags_far + p->flags_near +
			       p->del_far + p->del_near + r->moved >
		       0;
	default:
		break;
	}
	/* a folder that failed half-way still reports what it did */
	return r->pulled + r->pushed + r->flags_far + r->flags_near +
		       r->del_far + r->del_near + r->moved + r->placeholders >
	       0;
}

static void
watch_report(void *ctx, const struct sync_box_report *r)
{
	struct sync_change_watch *w = ctx;

	if (sync_report_changes(r))
		w->changed = true;
	if (w->report != NULL)
		w->report(w->ctx, r);
}

static void
watch_action(void *ctx, const struct sync_action *a)
{
	struct sync_change_watch *w = ctx;

	/* a planned action is a change only when its folder says so: an
	 * ambiguous message is left alone */
	if (w->planned != NULL)
		w->planned(w->ctx, a);
}

static void
watch_progress(void *ctx, const struct sync_progress *p)
{
	struct sync_change_watch *w = ctx;

	if (w->progress != NULL)
		w->progress(w->ctx, p);
}

void
sync_change_watch(struct sync_change_watch *w, struct sync_opts *o)
{
	w->report = o->report;
	w->planned = o->planned;
	w->progress = o->progress;
	w->ctx = o->ctx;
	w->changed = false;
	o->report = watch_report;
	o->planned = watch_action;
	/* the three share o->ctx: a progress callback must be passed on
	 * too, or it would get the watch as its ctx */
	o->progress = o->progress != NULL ? watch_progress : NULL;
	o->ctx = w;
}
