/*
 * The text of a dry run: one line per action the engine planned
 * (struct sync_action, sync/sync.h).  Pure: tests/unit can check it.
 */
#ifndef MF_CMD_DRY_RUN_H
#define MF_CMD_DRY_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

/* The line for a, without the channel and newline, into buf (cut to len). */
void dry_run_line(const struct sync_action *a, char *buf, size_t len);

/*
 * The moves of a dry run.  The engine plans the moves first (a MOVE
 * action each) but, changing nothing, then plans each folder as if the
 * move had not happened: the moved copy's old place as a deletion, its
 * new place as a copy.  The real run records the move before the folders
 * are planned, so neither happens.  dry_moves_note() takes every planned
 * action in order and says which of them are such shadows of a move, to
 * be left out; dry_moves_adjust() takes them out of a folder's counts.
 */
struct dry_moves;

struct dry_moves *dry_moves_new(void);
void dry_moves_free(struct dry_moves **dm);
/* True when a is the shadow of an earlier MOVE (not to be shown). */
bool dry_moves_note(struct dry_moves *dm, const struct sync_action *a);
/* Less the shadows in folder far_name (its far name) from *st. */
void dry_moves_adjust(const struct dry_moves *dm, const char *far_name,
		      struct plan_stats *st);

#endif
