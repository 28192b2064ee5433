/*
 * The move journal: what a state row in STATE_PENDING_MOVE says about the
 * move in flight (move.h says how a run that finds one settles it).
 *
 * The state database keeps it as text in the row's pending_arg column;
 * move_journal_format() and move_journal_parse() are the only code that
 * reads or writes that text, and state.c the only caller (a loaded row
 * carries the struct, state.h pending_move).  Pure: no I/O
 * (tests/unit/test-move-journal.c).
 */
#ifndef MF_SYNC_MOVE_JOURNAL_H
#define MF_SYNC_MOVE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOVE_KEY_MAX 128 /* as mf_move_item.new_key */
#define MOVE_KW_MAX 512	 /* relabel's expect; longer: no relabel */
#define MOVE_JOURNAL_MAX (176 + 2 * MOVE_KEY_MAX + MOVE_KW_MAX)

/*
 * What a row journaled for a move says.  S is the side the move was seen
 * on, M the side that mirrors it.  Ids are UIDs on a UID side and keys on
 * a key side (the other one 0 or "").
 */
struct move_journal {
	int64_t to;	/* the destination's state box id */
	int64_t from;	/* M's source folder's box id; 0: the row's */
	bool s_far;	/* S is the far side */
	uint32_t hint;	/* IMAP M: the destination's UIDNEXT before */
	uint32_t s_uid; /* S's message in the destination */
	char s_key[MOVE_KEY_MAX];
	uint32_t m_uid; /* M's message in its source folder */
	char m_key[MOVE_KEY_MAX];
	/* S moved a maildir file by hand (by key): its letters are to be
	 * relabeled (store.h) in the destination, from the row's folder,
	 * while its keywords read there are still s_kw */
	bool relabel;
	char s_kw[MOVE_KW_MAX];
};

/* Into buf (MOVE_JOURNAL_MAX is enough); -1 if it does not fit. */
int move_journal_format(const struct move_journal *j, char *buf, size_t len);
/* false for anything move_journal_format() did not write (an older
 * version's journal: NULL), *j is then zeroed. */
bool move_journal_parse(const char *arg, struct move_journal *j);

#endif
