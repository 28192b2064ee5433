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
 */
#ifndef MF_SYNC_MOVE_H
#define MF_SYNC_MOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct box_plan;
struct sync_opts;

/* One side of a candidate: a message that left (gone) or arrived. */
struct move_cand {
	size_t box;		/* folder pair index */
	const char *key;	/* maildir key, or NULL (UID sides) */
	const char *ident;	/* Message-ID or "H:" hash; NULL: unknown */
	uint64_t size;		/* canonical size; 0: unknown */
	/* fresh: the size without the header fields mail readers add to a
	 * saved copy (sync/ident.h); 0: unknown */
	uint64_t size_bare;
};

struct move_pair {
	size_t gone, fresh;	/* indexes into the two inputs */
	bool by_key;		/* matched by key (else by content) */
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
 * pair i's folders changed since they were listed.  With o->dry_run the
 * moves are only reported through o->plan_line.  Returns -1 on a
 * store-level or state error; folder-level trouble only skips moves.
 */
int moves_run(const struct sync_opts *o, const struct box_plan *plan,
	      size_t *moved, bool *touched, struct mf_err *err);

#endif
