/*
 * The sync engine's entry point: make both sides of one channel agree and
 * record what was done in the state database.
 *
 * The caller (cmd/) opens the two stores and the state database, and passes
 * plain data; the engine never prints, it reports through callbacks.
 */
#ifndef MF_SYNC_H
#define MF_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "plan.h"
#include "policy.h"
#include "state.h"
#include "store.h"

/*
 * What became of one folder pair; cmd/ chooses the words.  SYNC_BOX_NONE
 * is a folder that failed before its outcome was known (box_failed).
 */
enum sync_box_outcome {
	SYNC_BOX_NONE = 0,
	SYNC_BOX_SYNCED,	     /* looked at; the counts say what moved */
	SYNC_BOX_UNCHANGED,	     /* neither side changed since the last
					 * sync: not even opened */
	SYNC_BOX_PLANNED,	     /* dry run (or failed while planning):
					 * the counts in planned */
	SYNC_BOX_WOULD_CREATE_FAR,   /* dry run: the far folder is missing */
	SYNC_BOX_WOULD_CREATE_NEAR,  /* dry run: the near folder is missing */
	SYNC_BOX_VANISHED_FAR_KEPT,  /* gone on far; the near one kept */
	SYNC_BOX_VANISHED_NEAR_KEPT, /* gone on near; the far one kept */
	SYNC_BOX_REMOVED,	     /* gone on one side, so removed on the
					 * other (policy remove) */
	SYNC_BOX_GONE_BOTH,	     /* gone on both sides: its state too */
	SYNC_BOX_SKIPPED_ONE_SIDED,  /* on one side only and not created
					 * there, not an error: skip_reason */
	SYNC_BOX_RENAMED,	     /* renamed on one side, so on the other
					 * too: new_far_name, new_near_name */
	SYNC_BOX_WOULD_RENAME,	     /* dry run: would be */
};

/* What happened to one folder pair. */
struct sync_box_report {
	/*
	 * Both set, except for a folder on one side only that was not
	 * created on the other (skipped): the missing side's name is NULL.
	 */
	const char *far_name, *near_name;
	enum sync_box_outcome outcome;
	/* SYNC_BOX_SKIPPED_ONE_SIDED: why, a sentence for the user (which
	 * setting would create it, or that its name is taken); else NULL */
	const char *skip_reason;
	/* SYNC_BOX_RENAMED, SYNC_BOX_WOULD_RENAME: the names now (far_name
	 * and near_name are the old ones), and whether the rename was
	 * found on the far side (else on the near side) */
	const char *new_far_name, *new_near_name;
	bool renamed_on_far;
	struct plan_stats planned;
	size_t pulled, pushed;	      /* copies done */
	size_t flags_far, flags_near; /* flag updates done */
	size_t del_far, del_near;     /* deletions done */
	size_t paired;		      /* matched, not copied */
	size_t placeholders;	      /* copied as placeholders (max_size) */
	size_t moved;		      /* moved here from another folder
					 * (dry run: would be) */
	size_t failed;		      /* message-level failures */
	bool box_failed;	      /* the folder was abandoned */
	/* why, when failed or box_failed; without the pair's names, which
	 * the caller prints before it ("far: fetch: ...") */
	struct mf_err err;
};

typedef void sync_report_fn(void *ctx, const struct sync_box_report *r);

/* A message on one side: by UID when key is NULL, else by maildir key. */
struct sync_msg_id {
	uint32_t uid;
	const char *key;
};

enum sync_action_kind {
	SYNC_ACTION_MSG = 1,   /* a message's plan entry (plan.h) */
	SYNC_ACTION_AMBIGUOUS, /* new on both sides with the same
				 * Message-ID, other content: left alone */
	SYNC_ACTION_MOVE,      /* a move between folders (move.h) */
};

/*
 * Dry run: one planned action, for the caller to show.  Strings are
 * borrowed for the call only.
 */
struct sync_action {
	enum sync_action_kind kind;
	const char *box; /* the far folder's name (MOVE: the source) */
	/* MSG, AMBIGUOUS */
	bool has_far; /* a far message (its UID: far_uid) */
	uint32_t far_uid;
	const char *near_key; /* a near message on a key side, or NULL */
	/* MSG: what the plan entry does (plan.h) */
	enum plan_op far_op, near_op;
	bool forget;			/* the state row is deleted */
	unsigned far_flags, near_flags; /* MF_F_*: the flags after it */
	/* MOVE: seen moved on side (SYNC_SIDE_FAR or _NEAR) as seen_id,
	 * into folder to (far name); the other side moves mirror_id */
	const char *to;
	unsigned side;
	struct sync_msg_id seen_id, mirror_id;
};

typedef void sync_action_fn(void *ctx, const struct sync_action *a);

/*
 * Progress while a channel syncs, for a live display (cmd/progress.c).
 * SYNC_PROGRESS_FOLDER: a folder pair is begun, box_index (1-based) of
 * box_count, its names (as in sync_box_report; borrowed for the call).
 * SYNC_PROGRESS_COPY: after each copy batch of the current folder, and
 * once before the first, in one direction (to_near: far -> near): the
 * messages and bytes (the sizes the source lists) copied so far of what
 * the plan copies in that direction.  A copy that failed counts as done.
 * Plain data; called often (each batch), so the callee rate-limits.
 */
enum sync_progress_kind {
	SYNC_PROGRESS_FOLDER = 1,
	SYNC_PROGRESS_COPY,
};

struct sync_progress {
	enum sync_progress_kind kind;
	size_t box_index, box_count;	  /* FOLDER */
	const char *far_name, *near_name; /* FOLDER */
	bool to_near;			  /* COPY */
	size_t msgs_done, msgs_total;	  /* COPY */
	uint64_t bytes_done, bytes_total; /* COPY */
};

typedef void sync_progress_fn(void *ctx, const struct sync_progress *p);

struct sync_opts {
	const char *channel;
	struct mf_store *far, *near;
	struct state_db *db;
	const struct sync_policy *policy;
	const char *const *only; /* folder names from CHANNEL:FOLDER */
	size_t nonly;
	bool dry_run;
	int64_t now; /* Unix time (the caller's clock) */
	sync_report_fn *report;
	sync_action_fn *planned; /* dry run: each planned action */
	void *ctx;
	/* messages per copy batch (one state commit and one durability
	 * flush each); 0 = default */
	size_t batch;
	/* progress (above), with ctx; NULL: none.  Not called in a dry
	 * run, which copies nothing */
	sync_progress_fn *progress;
};

struct sync_summary {
	size_t boxes, boxes_unchanged, boxes_failed;
	size_t boxes_skipped; /* one-sided folders not created */
	size_t pulled, pushed, flags_far, flags_near, del_far, del_near;
	size_t placeholders;
	size_t moved;
	size_t renamed; /* folders renamed (dry run: would be) */
	size_t failed;
};

/*
 * Sync every folder pair of the channel.  Returns 0 when the channel ran
 * (folder and message failures are counted in the summary and reported),
 * -1 when it had to stop (store-level or state error in err).  The folder
 * a stop happened in is not reported: err names it, once.
 *
 * A stop asked for by signal (base/cancel.h) is obeyed between folders and
 * between copy batches, after what was done is committed to the state:
 * -1 with MF_E_CANCELED.
 */
int sync_run(const struct sync_opts *o, struct sync_summary *sum_r,
	     struct mf_err *err);

/* A safe point: -1 with MF_E_CANCELED "interrupted by SIGINT" when a stop
 * was asked for (base/cancel.h), else 0.  For the engine's loops. */
int sync_stopped(struct mf_err *err);

#endif
