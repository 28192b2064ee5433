/*
 * Moves between folders: a message that left one folder of a side and
 * turned up in another folder of the same side in the same run is moved on
 * the other side too (IMAP UID MOVE, maildir rename), instead of being
 * deleted there and copied anew.
 *
 * move_match() is the pure half (tests/unit/test-move.c): given what left
 * each folder ("gone": state rows whose message is no longer there) and
 * what arrived ("fresh": messages no state row of their folder knows), it
 * pairs them up.  moves_run() is the engine half (move.c): it finds the
 * candidates, asks move_match(), and carries the moves out before the
 * folders are synced one by one.
 *
 * Flags.  A moved message keeps its state row: the destination's row is
 * the source's with the new ids, so the destination folder's sync merges
 * the flags three-way (plan.h) against what both sides had at the last
 * sync, exactly as if the message had not moved.  A flag removed on one
 * side in the round the other side moved the message stays removed.
 *
 * Keywords of a file moved by hand.  A maildir file renamed into another
 * folder (mv, a mail reader) keeps its letters, which mean what the
 * source's dovecot-keywords says, not the destination's.  A near move
 * matched by key is therefore relabeled (store.h, relabel()) after the
 * far side moved its copy: the file gets the destination's letters for
 * the keywords its letters named in the source, its unique name kept.
 * The row's keywords stay the three-way base as above, and the
 * destination's sync then sees the keywords the file had.  Not for a
 * message moved on both sides (its near copy is paired or moved on as it
 * is), nor for a content match (a mail reader's new copy).
 *
 * Moved on both sides in the same round (move.c finds this when the
 * mirror move finds nothing to move):
 *   - into the same folder: the two copies are the same message; the row
 *     is carried into that folder with both new ids, nothing is moved or
 *     copied, flags are merged three-way;
 *   - into different folders: the far side's move wins (the server's,
 *     when the near side is a maildir; the far account's in an IMAP <->
 *     IMAP channel): the near copy is moved on into the far side's
 *     folder, and the row with it.  The message ends in one folder, flags
 *     merged three-way.  The server is where other clients look, and
 *     following it costs one local rename, not a server-side move that
 *     every other client would then see.
 * move_meet_decide() states the rule.
 *
 * Crash safety.  Before the mirror side M moves anything, the source row
 * is journaled (STATE_PENDING_MOVE, pending_move a struct move_journal:
 * destination folder, M's source folder and id, the id of the message on
 * the side S that moved it, and for an IMAP M the destination's UIDNEXT
 * before the move).  The row's flags stay as they were: they are the
 * three-way base.  A run that finds such a row (move-recover.c) looks on
 * M for the old message in the source and for the new one in the
 * destination (a maildir rename keeps the name; on IMAP a message from
 * that UIDNEXT on, no row knows, with the row's identity and size) and
 * decides with move_fix_decide():
 *   done      (new there, old gone): recorded as the finished move would
 *             have been, with the old row's flags as base;
 *   half done (both there: COPY without EXPUNGE, or link without unlink):
 *             the old copy is removed, then recorded as done;
 *   undone    (only the old one there): the journal is dropped and this
 *             run's move pass does the move again;
 *   lost      (neither): the journal is dropped; the folders' syncs
 *             decide as for any message gone from both sides.
 * So a run stopped at any step of a move ends, after the next run, where
 * an uninterrupted run would have (tests/integ/sync-move-conflict.sh,
 * sync-move-imap.sh).  A double move whose mirror found nothing journals
 * nothing lasting: "lost", and the next run's passes find it again.
 * A relabel comes after M's move and before the record: a run stopped
 * before M's move redoes it all; one stopped after finds the journal
 * done (or half done) and relabels then.  Done twice, a relabel would
 * read letters new to the destination with the source's map, so the
 * journal keeps the keywords the destination read in the file before
 * (s_kw), and relabel() changes the file only while it still reads so.
 *
 * Folders new in this run.  A folder pair without a state box takes moves
 * as a destination on the side S where its folder is, when on M it is one
 * the policy creates (boxes.h, BOX_CREATE_NEAR / BOX_CREATE_FAR) or one
 * that exists and is empty (BOX_SYNC without a state box: a run stopped
 * after making it).  Before the first move into it (move.c dest_ready()):
 *   1. the folder is created on M (a folder that exists by then is taken
 *      as it is) and must be empty there: copies already in it are
 *      paired by its first sync, and a move beside them would make two;
 *   2. its state box (both UIDVALIDITYs, UIDNEXT 0, as sync.c adds one)
 *      goes into the database in the transaction of the first journal
 *      into it;
 *   3. the moves are made and recorded as above.
 * A run stopped after 1 finds the folder on both sides, no state box, M's
 * empty: a pair new in this run still, and this pass goes on from there.
 * One stopped after 2 finds a pair with a state box, no rows and
 * journals pointing into it: settled as above.  The folder is never made
 * after its state box: a state box whose folder is missing on M would
 * read as a folder removed there (BOX_VANISHED_*).  moves_run() gives the
 * state box to sync.c, which syncs the pair as BOX_SYNC with it, not as a
 * folder to create.  So messages filed into a new folder, on either side
 * (half of a folder, or one folder's mail into two new ones), are moved
 * there on the other side, nothing fetched or uploaded.
 *
 * Folders gone on one side.  A pair synced before whose folder vanished
 * on side S since, while M still has its folder (boxes.h,
 * BOX_VANISHED_FAR for S far, BOX_VANISHED_NEAR for S near), and that the
 * rename pass (rename.h) could not tie to one new name, takes part in S's
 * pass as a loser only: every row's S message went with the folder, so
 * every row is gone, and M moves its copies out of the folder it still
 * has (move.c vanished_on()).  Only where move_match() pairs a gone row
 * with a fresh message in another folder, as for any move.  So another
 * client's "move half of A into X, half into Y, delete A" costs no
 * download, and a maildir folder split by hand (mv, rm -rf) no upload.
 * The folder left behind on M is then as the folder rules say (vanish.c):
 * kept, emptied of what moved, or removed where remove: names M and it
 * holds nothing unsynced; a maildir folder removed by hand is made again
 * and pulled, and what moved is no longer in M's folder to pull.
 *   - A kept folder stays a loser in every run while it has rows (a run
 *     in which any folder may have gained then reads every folder's
 *     rows; one emptied by moves costs a count).  A match by content out of it is not taken while a row of another
 *     folder knows a message of the same identity and size (it may be a
 *     copy of that one, and a run stopped between two folders' syncs
 *     would otherwise decide differently from one that was not), nor
 *     while any folder has an interrupted copy; on a UID S only fresh
 *     messages of a gone row's size have their header read.
 *   - A file moved by hand out of a maildir folder removed is not
 *     relabeled: the folder's dovecot-keywords went with it.
 *   - A journal left in such a pair is settled as any other (move-
 *     recover.c): the source is M's folder.  One whose source is the
 *     folder gone (journaled before it vanished) finds the old message
 *     gone with it.  A journal that is not settled (a folder that cannot
 *     be read, a destination no longer in the channel) keeps the folder
 *     and its state (vanish.c): not removed, not pulled again, and a
 *     maildir folder removed by hand is reported failed until it is.
 *     So on an IMAP M a row without identity or size is not moved out of
 *     a folder gone (its journal could not be settled): the folder's
 *     rules take it, as before moves (pulled again: in two folders).
 *   - A run stopped between the moves into two folders may leave the
 *     rest of the folder's messages all in one new folder, with their
 *     recorded ids: the next run's rename pass takes that for a rename
 *     (rename.h), M's folder is renamed there, and this pass moves on
 *     from it what is still to move (a pair renamed in this run is a
 *     source, move.c candidate()).  The same messages in the same
 *     folders; only the emptied folder is gone instead of kept.
 * BOX_VANISHED_BOTH takes no part (its journals are settled all the same).
 *
 * UIDVALIDITY changed.  A folder listed on a UID side S with another
 * UIDVALIDITY than its state box recorded (an index rebuilt, or names
 * swapped by another client in a way the rename pass does not carry as
 * renames: rename.h) has rows whose UIDs there mean nothing.  It takes
 * part as a loser and a gainer at once: every row with an identity and a
 * size is gone, every message of the folder fresh (move.c reset_here).
 * Before a match moves a row out of it, the folder's own fresh messages
 * of that size have their headers read, and every row and message of the
 * folder that share an identity are taken out of the candidates
 * (reset_settle()): that message is still there, and the folder's sync
 * pairs it again by content (plan.c).  What is left moves as any move:
 * a message S now holds in another folder is moved there on M, and the
 * folder's sync then matches the rest.  Rows written into such a folder
 * (moved in, or matched again) may take a UID of the new numbering that
 * a row not written yet still holds from the old one: that row's UID is
 * moved out of the way first (move_row_write(), state.h
 * state_msg_park_uid()).  A run stopped in the middle finds the folder
 * still listed so (its state box is recorded only by its own sync), its
 * rows moved out already in their new folders, and goes on.
 *
 * Limits.  A dry run settles no journal and lists a double move as the
 * two plain moves it looks like.  A journaled row with no identity or no
 * size, on an IMAP M, cannot be looked for: it keeps its journal and the
 * older rule (move.c).  Where the near copy cannot follow the far one (its
 * name is taken there) the message is left to the folders' syncs, which
 * copy it both ways: it ends in both folders, as before.  A folder new in
 * this run and not empty on M takes no moves (its first sync pairs the
 * copies, and the old folder's sync deletes); one whose creation for a
 * move fails is left to its own sync, which tries again and reports it.
 * A folder gone on S is not a loser on M: a message the M side moved out
 * of it in the same round is not a move there (the M copy is in M's new
 * folder, the S copy in S's: the folders' syncs copy each across).
 */
#ifndef MF_SYNC_MOVE_H
#define MF_SYNC_MOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "move-journal.h"

struct box_plan;
struct side_scan;
struct state_box;
struct state_db;
struct state_msg;
struct state_msg_list;
struct sync_opts;

/* One side of a candidate: a message that left (gone) or arrived. */
struct move_cand {
	size_t box;	   /* folder pair index */
	const char *key;   /* maildir key, or NULL (UID sides) */
	const char *ident; /* Message-ID or "H:" hash; NULL: unknown */
	uint64_t size;	   /* canonical size; 0: unknown */
	/* fresh: the size without the header fields mail readers add to a
	 * saved copy (sync/ident.h); 0: unknown */
	uint64_t size_bare;
};

struct move_pair {
	size_t gone, fresh; /* indexes into the two inputs */
	bool by_key;	    /* matched by key (else by content) */
};

/*
 * Pair gone with fresh messages in other folders.  First by key: a file
 * renamed into another folder keeps its unique name.  Then by identity and
 * size for what is left.  Then by identity alone where the fresh copy's
 * size less the fields a mail reader adds to a saved copy (neomutt's
 * Content-Length, mutt's Status) is the gone one's size: neomutt's "save
 * to folder" writes such a copy and removes the original.  Either way a match must be unambiguous: a key
 * or (identity, size) that appears more than once among the gone, or more
 * than once among the fresh, matches nothing (a message copied into two
 * folders is not a move), and a gone and a fresh message in the same
 * folder are never paired (that is the folder's own sync's business).
 * *pairs_r is allocated (free()), sorted by gone index.
 */
void move_match(const struct move_cand *gone, size_t ngone,
		const struct move_cand *fresh, size_t nfresh,
		struct move_pair **pairs_r, size_t *npairs_r);

/*
 * Find and carry out the moves of a channel before its folders are synced
 * (sync.c).  moved[i] counts the moves into pair i; touched[i] says that
 * pair i's folders changed since they were listed.  kept (2 * plan->n
 * entries, [2 * i + enum side_id], zeroed by the caller, or NULL) gets
 * the listings the pass made of pair i's folders and that no move of its
 * changed after (engine.h, struct side_scan), for the folders' syncs; the
 * caller frees what is left.  made (plan->n entries, zeroed by the
 * caller, or NULL: folders new in this run take no moves) gets, for a
 * pair without a state box that a move went into, the folder made on the
 * other side and the state box added (made[i].id != 0; its names are the
 * plan's, borrowed): the pair is then synced as a BOX_SYNC pair with that
 * state box, its folders as after a move (touched), and not created
 * again.  With o->dry_run the moves are only reported through o->planned.
 * Returns -1 on a store-level or state error; folder-level trouble only
 * skips moves.
 */
int moves_run(const struct sync_opts *o, const struct box_plan *plan,
	      size_t *moved, bool *touched, struct side_scan *kept,
	      struct state_box *made, struct mf_err *err);

/* ---- the journal (move-journal.c, pure) ------------------------------ */

/* struct move_journal, its text form: move-journal.h */

enum move_fix {
	MOVE_FIX_DONE,	 /* record the move */
	MOVE_FIX_FINISH, /* remove the old copy, then record */
	MOVE_FIX_UNDONE, /* drop the journal; the move is redone */
	MOVE_FIX_LOST,	 /* drop the journal; the folders decide */
};

/* old_there: M's message is still in the source; new_found: M's moved
 * message was found in the destination. */
enum move_fix move_fix_decide(bool old_there, bool new_found);

enum move_meet {
	MOVE_MEET_SAME,	      /* pair the two in that folder */
	MOVE_MEET_FOLLOW_FAR, /* move the near copy where the far one is */
};

/* Moved on both sides: into folder pairs near_dest and far_dest. */
enum move_meet move_meet_decide(size_t near_dest, size_t far_dest);

/*
 * The destination's row of a move: old with the new ids, no journal, and
 * old's flags and keywords of both sides kept as the three-way base.
 * near_key is borrowed.
 */
void move_dest_row(const struct state_msg *old, uint32_t far_uid,
		   uint32_t near_uid, const char *near_key,
		   struct state_msg *row);

/*
 * Write a row of the state box box_id: insert it (rowid 0) or update it.
 * far_reset / near_reset: that side's UIDVALIDITY changed since the box
 * was recorded, and the row's UID there may be held by another row of the
 * old numbering, which is moved out of the way first (state.h,
 * state_msg_park_uid()).
 */
int move_row_write(struct state_db *db, int64_t box_id, struct state_msg *row,
		   bool far_reset, bool near_reset, struct mf_err *err);

/*
 * Settle the rows journaled by a run that stopped in the middle of a move
 * (move-recover.c; the rules at the top of this file).  rows[i] are pair
 * i's state rows (read by the caller, not changed); moved and touched as
 * for moves_run().  *changed_r says whether any row was written (the
 * caller reads them again).  -1 on a store-level or state error; a
 * folder that cannot be read leaves its journals for the next run.
 */
int move_recover(const struct sync_opts *o, const struct box_plan *plan,
		 struct state_msg_list *const *rows, size_t *moved,
		 bool *touched, bool *changed_r, struct mf_err *err);

#endif
