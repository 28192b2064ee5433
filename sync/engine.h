/*
 * Private to the engine: one side of the channel, and the state of one
 * folder pair while it is synced.  sync.c drives (pairing folders, select,
 * snapshot, plan, exec, record); side.c makes and opens sides; recover.c
 * settles what a stopped run left; snapshot.c builds the two views;
 * exec.c applies a plan; record.c records the result; vanish.c removes a
 * folder gone on the other side.
 */
#ifndef MF_SYNC_ENGINE_H
#define MF_SYNC_ENGINE_H

#include <stdbool.h>

#include "plan.h"
#include "state.h"
#include "store.h"
#include "sync.h"

struct box_pair;
struct mf_arena;
struct mf_box_info;

enum side_id { SIDE_FAR = 0, SIDE_NEAR = 1 };

/*
 * One side: of the channel (the move pass: box and rec NULL, nothing
 * below them used), or of the folder pair being synced.
 */
struct side {
	enum side_id id;
	const char *label; /* "far" / "near" */
	struct mf_store *st;
	bool uids;		     /* messages by UID (else by key) */
	const char *box;	     /* folder name on this side */
	struct mf_box_status status; /* as selected (or listed) */
	struct state_side *rec;	     /* the state box's record of it */
	/* the view: every message on this side, sorted by uid or key */
	struct mf_msg *view;
	size_t n;
	size_t cap;
	struct mf_arena *arena;
	bool reset; /* UIDVALIDITY changed */
	/* a scan's kw_visible (store.h), in arena; NULL: all seen, or
	 * the view came from the state rows only */
	const char *kw_visible;
	bool selected; /* opened on the store */
	bool status_known;
	/* highest UID known to exist or to have been handed out; an
	 * APPEND journal records it so a lost APPENDUID can be found */
	uint32_t uidnext;
	/* the far UIDVALIDITY this side's name_uid hints belong to, from
	 * its last full scan; 0: not known (mf_scan_result) */
	uint32_t hint_uidvalidity;
	/* a full listing the move pass made of s->box and nothing changed
	 * since (struct side_scan), owned: the first full scan takes it
	 * instead of reading the folder again (snapshot.c) */
	struct mf_scan_result *kept;
	/* what changed since the listing, scanned behind this run's own
	 * flag changes and deletions in their wait (store.h, change), and
	 * the status the session saw after it: for absorb_own_changes(),
	 * which takes it instead of scanning again; owned, NULL: none */
	struct mf_scan_result *since;
	struct mf_box_status since_status;
};

/*
 * A folder's listing made by the move pass (move.c), handed to its pair's
 * sync so that the folder is not read twice: a key side's full scan
 * (MF_WANT_FLAGS, what snapshot.c's full scan asks of a store without
 * MF_CAP_CHEAP_SIZE), and the status selected just before it, which the
 * pair's sync takes as the side's status so that a change made after the
 * listing is seen by the next run.  Dropped when a move or a relabel of
 * ours changed the folder after the listing.
 */
struct side_scan {
	struct mf_scan_result *res; /* NULL: none */
	struct mf_box_status status;
};

struct box_run {
	const struct sync_opts *o;
	struct state_db *db;
	struct state_box *sbox; /* id 0 until first recorded */
	struct state_msg_list *rows;
	struct side far, near;
	struct plan_result *plan;
	struct sync_box_report rep;
	/* near keywords recorded before the near store kept them
	 * (near-kw.h) */
	bool near_kw_unmarked;
};

/* Row helpers: the message id of a state row on a side. */
bool row_on_side(const struct side *s, const struct state_msg *row);

/* ---- side.c ---------------------------------------------------------- */

/* box and rec may be NULL (a side of the channel, not of a pair). */
void side_init(struct side *s, enum side_id id, struct mf_store *st,
	       const char *box, struct state_side *rec);
/* Frees the view and the arena. */
void side_deinit(struct side *s);
/* The name of pair p's folder on this side. */
const char *side_box_of(const struct side *s, const struct box_pair *p);
/* Is the listed status now the one recorded in s->rec (nothing changed)? */
bool side_same_status(const struct side *s, const struct mf_box_status *now);

/*
 * Select folder box on the side's store, whatever s->box is, and return
 * its status; s is not changed.  The one call of select_box() in the
 * engine.  Error not prefixed (the caller says what it was doing).
 * Selecting drops every delivery begun and not flushed on an IMAP store
 * (store.h): the engine flushes or aborts its deliveries (exec.c,
 * fetch.c) before it opens another folder, and relies on nothing begun
 * surviving a select.
 */
int side_open(const struct side *s, const char *box, bool readonly,
	      struct mf_box_status *status_r, struct mf_err *err);
/* Open the pair's folder s->box read-write if that has not been done;
 * the first status taken is kept (side.c). */
int side_select(struct side *s, struct mf_err *err);
/* Forget the opening and its status: the next side_select() selects
 * again and takes the status it finds. */
void side_reopen(struct side *s);
/* Take the listed status as the side's status, without opening it. */
void side_listed(struct side *s, const struct mf_box_info *info);
/* Take the move pass's listing (kept->res moves to s->kept) and the
 * status it was made at; no-op when there is none. */
void side_take_scan(struct side *s, struct side_scan *kept);

/* ---- recover.c: what a stopped run left ------------------------------- */

/* Wait for a stopped run's APPENDs to land, where rows are pending. */
int settle_after_crash(struct box_run *r, struct mf_err *err);
/* Finish or undo a stopped "mailferry fetch" (rows pending FETCH). */
int settle_fetch(struct box_run *r, struct mf_err *err);

/* ---- record.c: what the next run starts from -------------------------- */

/* Take our own changes into a UID side's status when they are all ours. */
int absorb_own_changes(struct box_run *r, struct side *s, struct mf_err *err);
/* The scan absorb_own_changes() makes of side s (*sreq), or false where
 * it makes none (not a UID side with CONDSTORE and a HIGHESTMODSEQ). */
bool absorb_scan_req(const struct side *s, struct mf_scan_req *sreq);
/* Record the folder's sides; clean: the run had no failure. */
int record_box(struct box_run *r, bool clean, struct mf_err *err);

/* ---- vanish.c --------------------------------------------------------- */

/* A folder gone on one side (far_gone: the far side): remove its other
 * side where the policy says so and all of it is synced. */
int remove_vanished(const struct sync_opts *o, const struct box_pair *pair,
		    bool far_gone, struct sync_box_report *rep,
		    struct mf_err *err);

/*
 * A maildir near folder (MF_CAP_DIR_TOKEN: a store listing the file
 * system) gone while its far one stays, and remove: does not cover
 * the far side (the user deleted the local copy, not the mail): forget the
 * pair's rows, committed, and only then create the near folder again, so
 * that the caller syncs it as a new folder and pulls every message.  In
 * that order no crash can leave rows beside an empty folder, which would
 * read as "all deleted here" and delete them on the server.  A maildir
 * folder that is only unreadable (a disk not mounted) fails with MF_E_BOX
 * instead, both sides untouched.  A dry run only checks that.
 */
int forget_vanished_near(const struct sync_opts *o, const struct box_pair *pair,
			 struct mf_err *err);

/* Build s->view (snapshot.c). */
int snapshot_side(struct box_run *r, struct side *s, struct mf_err *err);

/*
 * Give the messages of a side whose identity is needed (candidates for
 * pairing) their identity and canonical size (snapshot.c).
 */
int identify_side(struct box_run *r, struct side *s, const bool *want,
		  struct mf_err *err);

/*
 * The content digest (sync/ident.h) of the wanted messages of a side,
 * each read whole (snapshot.c).  Only for the few that need it.
 */
int digest_side(struct box_run *r, struct side *s, const bool *want,
		struct mf_err *err);

/* Apply r->plan (exec.c). */
int exec_plan(struct box_run *r, struct mf_err *err);

/* Find a message in a side's view by uid or key; -1 if absent. */
long side_find_uid(const struct side *s, uint32_t uid);
long side_find_key(const struct side *s, const char *key);

#endif
