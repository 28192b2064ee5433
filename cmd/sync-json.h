/*
 * mailferry sync --json: the objects of mailferry(1) JSON OUTPUT, one per
 * line on stdout, in place of cmd-sync.c's text.  Errors still go to
 * stderr as text, as well as into the objects.
 */
#ifndef MF_CMD_SYNC_JSON_H
#define MF_CMD_SYNC_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "sync.h"

/* The ctx of the two callbacks. */
struct sync_json_ctx {
	const char *channel;
	size_t *held_back; /* deletions the guard held back, all channels */
};

/* sync_report_fn: {"type":"folder",...} */
void sync_json_report(void *ctx, const struct sync_box_report *r);
/* sync_action_fn: {"type":"action",...} */
void sync_json_action(void *ctx, const struct sync_action *a);
/* {"type":"summary",...}; err is the channel's stop, or NULL if it ran */
void sync_json_summary(const char *channel, const struct sync_summary *sum,
		       bool dry_run, const struct mf_err *err);
/* {"type":"end","exit_code":N,"changed":B}: the last line of the run */
void sync_json_end(int code, bool changed);

/* The stable word for an outcome in JSON ("synced", "would_rename"). */
const char *sync_outcome_word(enum sync_box_outcome outcome);

#endif
