/*
 * Private to the engine: the state of one folder pair while it is synced.
 * sync.c drives (pairing folders, select, snapshot, plan, exec, record);
 * snapshot.c builds the two views; exec.c applies a plan.
 */
#ifndef MF_SYNC_ENGINE_H
#define MF_SYNC_ENGINE_H

#include <stdbool.h>

#include "plan.h"
#include "state.h"
#include "store.h"
#include "sync.h"

struct mf_arena;

enum side_id { SIDE_FAR = 0, SIDE_NEAR = 1 };

/* One side of a folder pair. */
struct side {
	enum side_id id;
	const char *label;		/* "far" / "near" */
	struct mf_store *st;
	bool uids;			/* messages by UID (else by key) */
	const char *box;		/* folder name on this side */
	struct mf_box_status status;	/* as selected (or listed) */
	struct state_side *rec;		/* the state box's record of it */
	/* the view: every message on this side, sorted by uid or key */
	struct mf_msg *view;
	size_t n;
	size_t cap;
	struct mf_arena *arena;
	bool reset;			/* UIDVALIDITY changed */
	bool selected;			/* opened on the store */
	bool status_known;
	/* highest UID known to exist or to have been handed out; an
	 * APPEND journal records it so a lost APPENDUID can be found */
	uint32_t uidnext;
	/* the far UIDVALIDITY this side's name_uid hints belong to, from
	 * its last full scan; 0: not known (mf_scan_result) */
	uint32_t hint_uidvalidity;
};

struct box_run {
	const struct sync_opts *o;
	struct state_db *db;
	struct state_box *sbox;		/* id 0 until first recorded */
	struct state_msg_list *rows;
	struct side far, near;
	struct plan_result *plan;
	struct sync_box_report rep;
};

/* Row helpers: the message id of a state row on a side. */
bool row_on_side(const struct side *s, const struct state_msg *row);

/* Open the side's folder if that has not been done (sync.c). */
int side_select(struct side *s, struct mf_err *err);

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
int digest_side(struct side *s, const bool *want, struct mf_err *err);

/* Apply r->plan (exec.c). */
int exec_plan(struct box_run *r, struct mf_err *err);

/* Find a message in a side's view by uid or key; -1 if absent. */
long side_find_uid(const struct side *s, uint32_t uid);
long side_find_key(const struct side *s, const char *key);

#endif
