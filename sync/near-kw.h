/*
 * The keywords of each side as the planner must see them, when a store
 * keeps keywords only in part (a Maildir: 26 dovecot-keywords letters per
 * folder; an IMAP server: what PERMANENTFLAGS allows) or has only started
 * to keep them.
 *
 * The planner's keyword rule compares each side with what the state
 * recorded for it: a recorded keyword the side no longer has was removed
 * there, and the removal goes to the other side.  Two kinds of recorded
 * near keywords were never on the near side, and must not read as
 * removals:
 *
 * 1. Unseen keywords.  A keyword outside the scan's kw_visible set
 *    (store.h) cannot be in the folder: the Maildir had no letter left for
 *    it.  Its only home on this side is the state row, so the near view
 *    gets back every recorded keyword the folder cannot show.
 *
 * 2. Rows written before the near store kept keywords.  Until the Maildir
 *    store declared MF_CAP_KEYWORDS, the engine recorded the far side's
 *    keywords as the near side's (the planner took an unsupported side to
 *    hold what was recorded), while the files carried none of them.  Such
 *    a folder is "unmarked": the state has no mark saying that its near
 *    keywords were really stored.  For its rows the recorded sets are cut
 *    down to what the file carries (recorded far and near both
 *    intersected with the near view), which turns the planner's rule into
 *    the rule for a pair made without history: keywords of either side
 *    are added to the other, none is removed on the near side's word, and
 *    a keyword the far side removed since the last run is still removed
 *    wherever both had it.  A row whose far copy is gone takes the near
 *    view as its record (no keyword change seen on the near side, so the
 *    far deletion is not mistaken for "changed here, copy it back").  An
 *    unmarked folder is always scanned (its near dir_token is ignored), and
 *    gets its mark with the first clean run; a folder new to the state is
 *    marked when it is added.
 *
 * 3. Spelling.  IMAP keywords are case-insensitive; a dovecot-keywords
 *    that another program wrote may spell one differently from the
 *    server ("$label1" for "$Label1").  The near view of a scanned Maildir
 *    spells every keyword as the far view does, or the two spellings
 *    would read as a removal and an addition on each side.
 *
 * 4. The far side likewise: an IMAP server whose PERMANENTFLAGS lacks
 *    "\*" keeps only the keywords it lists (others for the session
 *    only); its scans say so in kw_visible, and a keyword we gave it
 *    that did not stick is kept from the row, not read as removed there.
 */
#ifndef MF_SYNC_NEAR_KW_H
#define MF_SYNC_NEAR_KW_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "engine.h"

/*
 * Does the folder pair need the upgrade treatment (2)?  True when the near
 * store keeps keywords by key (MF_CAP_KEYWORDS without MF_CAP_UIDS), the
 * pair is in the state already and has no mark.
 */
int near_kw_unmarked(struct box_run *r, bool *unmarked_r, struct mf_err *err);

/* Mark box_id: its recorded near keywords were stored.  Inside a
 * transaction. */
int near_kw_mark(struct state_db *db, int64_t box_id, struct mf_err *err);

/* Apply (4) to the far view; (3), then (1), or (2) for an unmarked pair,
 * to r->rows and the near view. */
void near_kw_adjust(struct box_run *r);

#endif
