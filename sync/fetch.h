/*
 * Completing placeholders: "mailferry fetch" downloads the full message
 * for each near placeholder (placeholder.h) and puts it in its place.
 *
 * The replacement is crash-safe in this order, per batch:
 *   1. the near store chooses the full copy's key K1 (tmp/ file);
 *   2. journal: the row (still at the placeholder's key K0) gets pending
 *      FETCH with K1 as its argument; commit;
 *   3. the full message is fetched into K1 and delivered (cur/), with the
 *      placeholder's current flags and keywords;
 *   4. the placeholder K0 is unlinked;
 *   5. the row points at K1, is no placeholder, pending cleared; commit.
 * Killed before 3 ends, K1 is not in cur/: settling clears the journal and
 * the placeholder stays.  Killed after 3, K1 is there: settling unlinks K0
 * if still present and finishes 5.  Either way one file per message, and
 * the full copy is never taken for a new message (its row names it).
 * A batch that fails before 3 without dying (a folder error at 1, a
 * journal that does not commit at 2) is aborted: its tmp/ files go, no
 * row is left pending, the placeholders stay for the next fetch.
 *
 * The sync engine settles the same way before planning a folder, so a
 * sync after a killed fetch neither uploads K1 nor keeps both.
 *
 * A batch whose fetch breaks the far session (an answer the IMAP store
 * cannot parse, a cut) is fetched around on a new one (around.h): what
 * breaks it alone stays a placeholder, counted as failed, for the next
 * fetch.
 */
#ifndef MF_SYNC_FETCH_H
#define MF_SYNC_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "state.h"
#include "store.h"

/*
 * Settle the pending FETCH rows among rows (a folder's), with near the
 * near store with that folder selected read-write.  *changed_r: rows were
 * written (reload them).
 */
int fetch_settle(struct state_db *db, struct mf_store *near,
		 const struct state_msg_list *rows, bool *changed_r,
		 struct mf_err *err);

/* What "fetch" did in one folder pair. */
struct fetch_box_report {
	const char *far_name, *near_name;
	size_t fetched; /* placeholders replaced */
	size_t left;	/* still placeholders (failed or gone) */
	size_t failed;	/* message-level failures */
	/* the first failure, or the box's; it leaves out the folder's
	 * name, which the caller prints from far_name */
	struct mf_err err;
	bool box_failed;
};

typedef void fetch_report_fn(void *ctx, const struct fetch_box_report *r);

struct fetch_opts {
	const char *channel;
	struct mf_store *far, *near; /* near: a key store (maildir) */
	struct state_db *db;
	const char *const *only; /* folder names (far or near); none:
					 * every folder with placeholders */
	size_t nonly;
	fetch_report_fn *report;
	void *ctx;
	size_t batch; /* messages per batch; 0 = default */
};

struct fetch_summary {
	size_t boxes, boxes_failed;
	size_t fetched, left, failed;
};

/* 0 when the channel ran (failures counted); -1 on a store or state
 * failure that stops it. */
int fetch_run(const struct fetch_opts *o, struct fetch_summary *sum_r,
	      struct mf_err *err);

#endif
