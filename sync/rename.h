/*
 * Folder renames: a folder renamed on one side is renamed on the other
 * (IMAP RENAME, rename(2) of the maildir directory) instead of being
 * copied again under its new name beside the old one, which is what a
 * folder gone plus a folder new would otherwise cost (mbsync and
 * OfflineIMAP do that: every message twice).
 *
 * Found without the server's help (but see MAILBOXID below).  A pair
 * whose folder vanished on side S (boxes.h, BOX_VANISHED_*), or is
 * listed there with another UIDVALIDITY than recorded (a folder made
 * anew under the old name: the old name made again right after a
 * rename, INBOX after a RENAME of it),
 * and a folder new on S in the same run (no state row) are the same
 * folder when the new one holds the old one's messages under the ids the
 * state recorded:
 *   - a UID side: the same UIDVALIDITY (IMAP servers keep it and the
 *     UIDs on RENAME; Dovecot does), and the recorded UIDs there with the
 *     recorded sizes; a UID there with another size is counted against
 *     (a server that gives every folder UIDVALIDITY 1 must not turn two
 *     folders into one);
 *   - a key side: the recorded file names (the maildir keys a rename of
 *     the directory keeps).
 * On a UID side the numbers are checked against content too: the header
 * of a sample of the matched messages (RENAME_SAMPLE, rename.c) must give
 * the identity each row recorded, so that a folder made anew with the
 * old UIDVALIDITY and other messages of the same sizes is not taken.
 * Enough: at least one message, none against, and at least half of the
 * rows that have an id on S (the rest were expunged or moved on by the
 * user, and are carried over as such by the folder's sync and the move
 * pass).  A folder that held nothing has no evidence and is not taken
 * for a rename, unless MAILBOXID proves it.
 *
 * MAILBOXID (RFC 8474, servers with OBJECTID; state_side.mailboxid and
 * mf_box_status.mailboxid, "" when unknown) comes first: when the
 * vanished folder's recorded id on S and the new folder's listed id are
 * both known, they decide alone (rename-find.c, mailboxid_says()).  The
 * same id is a link without a listing or a sample, also for an empty
 * folder and when the server gave the folder another UIDVALIDITY on
 * RENAME (section 4: the id is kept on RENAME and never reused); another
 * id is no link, whatever the UIDs, sizes and headers say.  Unknown on
 * either side: the evidence above.
 *
 * Never a guess (rename_decide(), pure): a rename is taken only when the
 * vanished folder has exactly one new folder with enough evidence on S
 * and that folder has no other vanished one.  Otherwise (two new folders
 * with part of the messages each, a new folder with the messages of two
 * old ones) the folders stay as they are and the move pass carries the
 * messages over one by one (move.h), which loses nothing.  Cases:
 *   RENAME_FAR    vanished on far, new far-only folder: rename near;
 *   RENAME_NEAR   the mirror: rename far;
 *   RENAME_RECORD vanished on both, one new folder on both sides with the
 *                 messages of both (renamed the same way on both, or a
 *                 run stopped between its rename and its record): only
 *                 the state follows;
 *   RENAME_FAR_WINS vanished on both, a new far-only and a new near-only
 *                 folder each with its messages: renamed differently on
 *                 the two sides; the far name wins (as for a message
 *                 moved on both sides, move.h) and the near folder is
 *                 renamed to it.
 * A rename is carried to a side only where the policy creates folders
 * there (the new folder's pair is BOX_CREATE_*): a rename is a folder
 * made there whose messages come along.  The folder made anew under the
 * old name gets a pair of its own, without state (created or skipped as
 * the policy says).  INBOX is never renamed: renaming it on the server
 * (RFC 3501 section 6.3.5) moves its messages into the new folder, which
 * Dovecot gives INBOX's UIDVALIDITY and UIDs while INBOX is made anew;
 * the local files of INBOX's rows are moved there (a maildir near side
 * only), INBOX's row follows them, and INBOX starts again without state.
 * A rename found on the near side never touches INBOX.
 *
 * Names swapped (another client's RENAME A tmp, RENAME B A, RENAME tmp
 * B), or rotated among more folders: no folder is new, every name is
 * still there, and each is listed with another UIDVALIDITY than its row
 * recorded (a UID side only).  Taken as a folder made anew under its
 * name, each folder would keep its old messages and get the other's: every
 * message in both folders on both sides.  So a pair listed so on S may
 * also be the new name of another such pair (the same evidence as for a
 * new folder: rename-find.c), and when those links close a cycle in which
 * every link is the only one of both its ends (rename_cycles()), the
 * folders on the other side M are renamed around the cycle too and the
 * rows follow (rename-cycle.c): nothing copied, nothing moved.  Not
 * INBOX, not paired by role, whose folder on M is there as recorded;
 * anything else (a chain that does not close, a folder with two
 * candidates, a member whose children did not all go along) takes
 * nothing: the folders keep their names on M, and the move pass moves
 * each message on M into the folder S has it in (move.h, "UIDVALIDITY
 * changed"), nothing copied either way.  A member with children (RENAME A t; RENAME B A; RENAME t B with
 * A/x and B/y: the children go along, RFC 3501 6.3.5) is taken only when
 * every child with a row is a member too, going to the same place under
 * its parent's target (rename-match.c, family_ok()): the children's
 * cycle is then the one the parents' renames on M carry out, as a
 * rename there takes the children along too.  Each child's row takes its
 * name on M in the transaction of its parent's (children_follow()), the
 * parents' cycle goes first, and the children's only checks that each
 * is where its target is on M (else it waits for the next run) and lets
 * the rows' names on S follow.  A child's name on M on the way is its
 * parent's temporary name with its own rest ("B~mf-swap/y").  Crash safety: on M each folder first goes to
 * its target's name with RENAME_SWAP_SUFFIX, then to the target, the row
 * taking each name on M in the transaction after each rename; the rows'
 * names on S follow last, all in one transaction.  The evidence on S does
 * not change meanwhile, so a run stopped at any step finds the same cycle
 * and goes on from where the rows say M's folders are; a folder missing
 * on M under its row's name, with a folder new there under the name the
 * next step gives it (stopped between a rename and its record), is
 * taken there (rename_cycle_adopt()).  A folder of that
 * temporary name already there stops the cycle.
 *
 * Special-use roles (boxes.c pass 3: sent, drafts, trash, junk,
 * archive).  A folder renamed on side S that keeps its role there (the
 * server still marks it \Sent; a local "Sent Items" renamed "Sent") and
 * whose folder on the other side has that role too: the other side's
 * folder keeps its name, which its mail reader or server is set up
 * with, and only the row's name on S follows (RENAME_FAR or RENAME_NEAR
 * with keep).  Nothing is renamed, so a crash at any point leaves the
 * same evidence.  Such a pair may have two different names (paired by
 * role: "Sent Items" with "Sent"); when a folder of such a pair is
 * renamed and its role goes (a local "Sent Items" renamed "Sent-2024"),
 * the other side's folder of that role is not renamed either: its
 * messages follow by the move pass, and it stays where the server wants
 * it.
 *
 * Parents and children.  A rename takes the children with it, on both
 * stores (store.h, rename_box()), and each child is a rename of its own
 * here: they are carried out parents first, and a child whose parent's
 * rename already moved it on the other side is only recorded.
 *
 * Crash safety.  The rename on the other side comes first, then the
 * state row takes the new names in one transaction.  A stop between the
 * two leaves the folder under the new name on both sides and the row
 * under the old: RENAME_RECORD on the next run.  The folder's sync after
 * the rename finds the messages where the row says (a server that
 * changed UIDVALIDITY on RENAME is re-paired by identity, snapshot.c).
 */
#ifndef MF_SYNC_RENAME_H
#define MF_SYNC_RENAME_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct box_pair;
struct box_plan;
struct state_box_list;
struct sync_opts;

/* Evidence that new folder cand on one side is vanished folder gone. */
struct rename_link {
	size_t gone, cand; /* plan indexes */
	bool far;	   /* found on the far side (else near) */
};

enum rename_kind {
	RENAME_FAR,	 /* far renamed: rename near */
	RENAME_NEAR,	 /* near renamed: rename far */
	RENAME_RECORD,	 /* renamed on both: the state follows */
	RENAME_FAR_WINS, /* renamed differently: near follows far */
};

struct rename_job {
	enum rename_kind kind;
	size_t gone, cand; /* cand: the pair that carries the state on */
	size_t fold;	   /* RENAME_FAR_WINS: the near-only new pair */
	/* RENAME_FAR, RENAME_NEAR: the renamed folder kept its role, which
	 * the other side's folder has too; that one keeps its name */
	bool keep;
};

/*
 * The renames that links prove and nothing contradicts (the rules
 * above), in plan order of gone.  pairs: the plan's; reset: per pair and
 * side ([2 * pair + near]) whether the folder is listed with another
 * UIDVALIDITY than the state's (NULL: none is); jobs: room for npairs.
 * Returns the number of jobs.
 */
size_t rename_decide(const struct box_pair *pairs, size_t npairs,
		     const bool *reset, const struct rename_link *links,
		     size_t nlinks, struct rename_job *jobs);

/* The temporary name on M of a folder renamed in a cycle: its target's
 * name and this. */
#define RENAME_SWAP_SUFFIX "~mf-swap"

/*
 * The cycles of names on side far ("Names swapped" above): next[i] the
 * pair whose name on far pair i's folder now has, for every member of a
 * cycle the links prove, SIZE_MAX for the rest.  next: room for npairs.
 * Returns the number of members.  rename-match.c, pure.
 */
size_t rename_cycles(const struct box_pair *pairs, size_t npairs,
		     const bool *reset, const struct rename_link *links,
		     size_t nlinks, bool far, size_t *next);

/*
 * A member g of a cycle on side far whose folder on the other side M is
 * missing under its row's name (a run stopped between a rename there and
 * its record): the pair without state whose folder on M has the name the
 * rename took it to (target's temporary name, or target), SIZE_MAX for
 * none.  rename-match.c, pure.
 */
size_t rename_cycle_adopt(const struct box_pair *pairs, size_t npairs, size_t g,
			  const char *target, bool far);

/*
 * Carry out the cycles of both sides (rename-cycle.c): rename on the
 * other side, the rows follow, and the plan's pairs take the rows whose
 * folders they now hold; a BOX_RENAMED pair per folder is added for the
 * report.  -1 on a store-level or state error.
 */
int rename_cycles_run(const struct sync_opts *o, struct box_plan *plan,
		      struct state_box_list *state, const bool *reset,
		      const struct rename_link *links, size_t nlinks,
		      struct mf_err *err);

/* ---- the pass's parts ------------------------------------------------- */

/*
 * Is the folder the state row of pairs[i] recorded gone from a side: not
 * listed there, or listed with another UIDVALIDITY (reset, as for
 * rename_decide()).  rename-match.c, pure.
 */
bool rename_gone_on(const struct box_pair *pairs, size_t i, const bool *reset,
		    bool far);
bool rename_is_inbox(const struct box_pair *p);

/* reset for rename_decide(), from the listings and the state rows
 * (rename-find.c); free() it */
bool *rename_resets(const struct sync_opts *o, const struct box_plan *plan);

/*
 * The evidence (rename-find.c): every link the stores show, in
 * *links_r (free()).  -1 on a store-level or state error.
 */
int rename_find(const struct sync_opts *o, struct box_plan *plan,
		const bool *reset, struct rename_link **links_r,
		size_t *nlinks_r, struct mf_err *err);

/*
 * Find the channel's renames, carry them out (with o->dry_run only
 * decide) and rewrite the plan: a renamed pair becomes BOX_RENAMED, the
 * pair with the new names BOX_SYNC with the state row (now under the new
 * names), a folded one BOX_FOLDED.  state: the rows plan borrows from.
 * Returns -1 on a store-level or state error; a folder that cannot be
 * read or renamed only leaves its pairs as they were.
 */
int renames_run(const struct sync_opts *o, struct box_plan *plan,
		struct state_box_list *state, struct mf_err *err);

#endif
