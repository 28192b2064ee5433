/*
 * mailferry sync --exit-on-change: did the run change anything on either
 * side?  A watch sits between the engine and the printer (text or JSON):
 * it looks at each folder report and passes it on unchanged.
 */
#ifndef MF_CMD_SYNC_CHANGE_H
#define MF_CMD_SYNC_CHANGE_H

#include <stdbool.h>

#include "sync.h"

struct sync_change_watch {
	sync_report_fn *report; /* the printer's, called after the look */
	sync_action_fn *planned;
	sync_progress_fn *progress;
	void *ctx;
	bool changed;
};

/*
 * Put w between the engine and o's callbacks: o->report, o->planned,
 * o->progress and o->ctx are saved in w and replaced by the watch's.  w->changed starts
 * false and is set by the first report of a change: a message copied,
 * flagged, deleted or moved, a folder renamed or removed; in a dry run,
 * any of these planned, or a folder that would be created.
 */
void sync_change_watch(struct sync_change_watch *w, struct sync_opts *o);

/* The rule above for one report (pure; tests/unit can check it). */
bool sync_report_changes(const struct sync_box_report *r);

#endif
