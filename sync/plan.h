/*
 * The sync planner: a pure function from (state rows, far view, near view,
 * policy) to a list of plan entries.  No I/O, no clock, no randomness: the
 * caller passes "now".  That is what lets tests/unit/test-plan.c check
 * its cases from tables (about seventy rows today).
 *
 * Views are complete: every message present on that side is listed (the
 * engine fills the far view from a CONDSTORE delta plus the state rows, so
 * the planner never has to know how the snapshot was obtained).
 *
 * One entry per message that needs something: an operation on either side
 * and/or a change to its state row.  Messages that need nothing produce no
 * entry.
 *
 * Flag rule (three-way, per flag and per keyword): each side's change is
 * measured against what was recorded for that side at the last sync; a
 * change made on one side is applied to the other when the policy carries
 * flags in that direction.  "Added on either side is added, removed on
 * either side is removed."  When both sides were recorded equal (the normal
 * case) the two results are equal; a flag cannot be added on one side and
 * removed on the other since that needs two different recorded values.
 *
 * Deletion rule: a message gone from one side is removed from the other when
 * the policy carries deletions that way; with `expunge` not covering that
 * side it is only flagged (\Deleted / maildir T).  A message deleted on one
 * side whose flags changed on the other since the last sync is kept and
 * copied back: changes win over deletes.  The mass-deletion guard cancels
 * all deletions of a side when they exceed policy.max_delete_percent of the
 * folder and more than 10 messages.
 *
 * New messages on both sides are paired before anything is copied (first
 * sync of two filled sides, adopting another tool's Maildir, or a run
 * after a crash), in this order:
 *   1. by the far UID another tool recorded for a Maildir file
 *      (mf_msg.name_uid), confirmed by the content: a different
 *      Message-ID refutes it; a hint shown to belong to this folder is
 *      confirmed by an equal Message-ID or header fingerprint whatever
 *      the sizes, an unchecked one needs the size to agree as well;
 *   2. by identity (Message-ID, or the "H:" header hash) and canonical
 *      size: the exact copy;
 *   3. by header fingerprint alone (sync/ident.h): the same header up to
 *      the fields mail tools add (X-TUID, Content-Length, Status, ...)
 *      and the white space they re-fold; the size is not a veto, since
 *      those tools change it;
 *   4. what is still new on both sides with one Message-ID is ambiguous:
 *      neither copied nor deleted nor recorded, but reported
 *      (PLAN_WHY_AMBIGUOUS, stats.ambiguous), every run until the user
 *      settles it.
 * Within a group of equal values, copies pair in order (k on one side and
 * m on the other pair min(k, m) times; the rest are copied).
 *
 * Held messages (mf_msg.held: the engine wanted the identity and the
 * server's answer broke the session every time, sync/around.h): no
 * entry, this run.  A held message is not paired, copied or recorded;
 * neither is a new message of the other side that may be its copy (the
 * same canonical size, or a file name's UID hint naming it), nor a row
 * that may be its own (not found again after a UIDVALIDITY change of
 * its side, or pending an APPEND to its side and journaled with a
 * UIDNEXT at or below its UID).
 *
 * Interrupted copies (rows journaled pending PULL or PUSH): a copy into a
 * key store is found by the key journaled before a byte was written; a
 * copy into a UID store (an APPEND: the far side, or an IMAP near side) by
 * the identity and size journaled with it, among the messages of that
 * side at or above the UIDNEXT journaled before the APPENDs.  Found, the
 * row is confirmed; not found, the copy is made again.  The same applies
 * to copies a server without UIDPLUS gave no UID for.
 *
 * Placeholders: with max_size set and a near side that can mark them
 * (MF_CAP_PLACEHOLDERS, the maildir store), a far message larger than
 * max_size is copied as a header-only placeholder (entry.placeholder;
 * sync/exec.c makes it).  A placeholder is never copied to the far side:
 * not as a new message (its file name says what it is), not to bring back
 * a far copy deleted after a local flag change.  For pairing, a
 * placeholder counts with the size of the message it stands for, so a lost
 * state database pairs it again.
 */
#ifndef MF_SYNC_PLAN_H
#define MF_SYNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "policy.h"
#include "state.h"
#include "store.h"

struct mf_arena;

struct plan_input {
	const struct sync_policy *policy;
	/* state rows of this folder pair; far_flags = far side as last
	 * synced, near_flags = near side as last synced */
	const struct state_msg *state;
	size_t nstate;
	const struct mf_msg *far; /* sorted by uid */
	size_t nfar;
	const struct mf_msg *near; /* sorted by uid or key */
	size_t nnear;
	bool near_uids;	    /* near side identified by UID (IMAP) */
	bool far_keywords;  /* far side can store keywords */
	bool near_keywords; /* near side can store keywords */
	/* UIDVALIDITY changed: the recorded far_uid (near_uid) values are
	 * meaningless and rows must be matched again by content */
	bool far_reset;
	bool near_reset;
	/* the near side can hold placeholders for messages over max_size
	 * (else they are skipped) */
	bool placeholders;
	int64_t now; /* Unix time, for max_age */
};

enum plan_op {
	PLAN_OP_NONE = 0,
	PLAN_OP_COPY,	/* copy the message from the other side */
	PLAN_OP_FLAGS,	/* add / remove flags and keywords */
	PLAN_OP_DELETE, /* remove for good (expunge, unlink) */
};

struct plan_side_op {
	enum plan_op op;
	unsigned add, del;	     /* PLAN_OP_FLAGS */
	const char *kw_add, *kw_del; /* PLAN_OP_FLAGS, NULL if none */
};

enum plan_rec {
	PLAN_REC_NONE = 0, /* the state row stays as it is */
	PLAN_REC_SET,	   /* write the row (insert if state < 0) */
	PLAN_REC_FORGET,   /* delete the row */
};

enum plan_why {
	PLAN_WHY_NEW_FAR = 1, /* new on the far side */
	PLAN_WHY_NEW_NEAR,
	PLAN_WHY_PAIRED, /* same message found on both sides */
	PLAN_WHY_FLAGS,
	PLAN_WHY_GONE_FAR,  /* expunged on the far side */
	PLAN_WHY_GONE_NEAR, /* deleted on the near side */
	PLAN_WHY_GONE_BOTH,
	PLAN_WHY_RESURRECT, /* deleted on one side, changed on the other */
	PLAN_WHY_RETRY,	    /* an interrupted copy is redone */
	PLAN_WHY_CONFIRM,   /* an interrupted copy turned out complete */
	PLAN_WHY_AMBIGUOUS, /* maybe the same message: left alone */
};

struct plan_entry {
	/* indexes into the inputs; -1 when absent */
	long state, far, near;
	enum plan_why why;
	struct plan_side_op far_op, near_op;
	enum plan_rec rec;
	/*
	 * The row to write when rec == PLAN_REC_SET, valid once the side
	 * operations succeeded.  has_far / has_near say whether the message
	 * is (meant to be) present on that side; the far UID / near id come
	 * from the inputs, or from the copy that creates them.
	 */
	bool has_far, has_near;
	unsigned far_flags, near_flags;
	const char *far_kw, *near_kw;
	/* the near copy is, or (near_op COPY) is made as, a placeholder */
	bool placeholder;
};

struct plan_stats {
	size_t pull, push;	      /* copies */
	size_t flags_far, flags_near; /* flag updates */
	size_t del_far, del_near;     /* deletions (incl. flagged only) */
	size_t paired;
	size_t skipped_size, skipped_age, skipped_count;
	size_t placeholders;	      /* far -> near copies as placeholders */
	size_t guard_far, guard_near; /* deletions held back by the guard */
	size_t ambiguous; /* new messages left alone (PLAN_WHY_AMBIGUOUS) */
	size_t held; /* left alone: held (mf_msg.held), or maybe its copy */
};

struct plan_result {
	struct plan_entry *v;
	size_t n;
	struct plan_stats stats;
	struct mf_arena *arena; /* keyword strings */
};

int plan_box(const struct plan_input *in, struct plan_result **res_r,
	     struct mf_err *err);
void plan_result_free(struct plan_result **res);

/*
 * The far message with that UID, and the near message a state row names
 * by its recorded UID or key; -1 if none.  The lookups plan_box() uses
 * for rows of a side that kept its UIDVALIDITY and for UID hints (plan.c).
 */
long plan_find_far(const struct plan_input *in, uint32_t uid);
long plan_find_near(const struct plan_input *in, const struct state_msg *row);
/* A Message-ID, not the "H:" hash standing in for a missing one. */
bool plan_is_msgid(const char *id);

/*
 * Which messages need their identity (Message-ID or header hash, header
 * fingerprint, canonical size: sync/ident.h) before plan_box() can pair
 * them, from the state rows and the views as they are (plan-ident.c,
 * pure; tests/unit/test-plan-ident.c).  A message no row names
 * (plan_find_far/near) is new; new messages need it on both sides when
 * both have some (they may be the same message), on the far side when an
 * interrupted APPEND (a row pending PUSH) has to be found there, on the
 * near side when it is a UID side with a row pending PULL, and all of a
 * side that was reset (its UIDVALIDITY changed).
 *
 * far[i] / near[i] (nfar / nnear entries, allocated: free()) say which;
 * nfar_want / nnear_want count them.  new_both: there are new messages on
 * both sides (the hints may then need plan_hints_to_digest()).
 */
struct plan_ident_need {
	bool *far, *near;
	size_t nfar_want, nnear_want;
	bool new_both;
};

void plan_ident_need(const struct plan_input *in,
		     struct plan_ident_need *need_r);
void plan_ident_need_free(struct plan_ident_need *need);

/*
 * The near messages whose far UID hint (another tool's, mf_msg.name_uid,
 * checked) names a far message that identity, size and fingerprint cannot
 * confirm or refute: both copies are to be read whole and digested
 * (sync/ident.h) before plan_box().  Only for a key near side and a far
 * side that kept its UIDVALIDITY; call with identities filled.
 * Same shape as plan_ident_need() (new_both unused).
 */
void plan_hints_to_digest(const struct plan_input *in,
			  struct plan_ident_need *need_r);

/* Three-way merge of flag bits; exposed for tests. */
void plan_merge_flags(unsigned last_far, unsigned last_near, unsigned far,
		      unsigned near, bool pull, bool push, unsigned *far_new_r,
		      unsigned *near_new_r);

#endif
