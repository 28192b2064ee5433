/*
 * The text of a dry run: one line per action the engine planned
 * (struct sync_action, sync/sync.h).  Pure: tests/unit can check it.
 */
#ifndef MF_CMD_DRY_RUN_H
#define MF_CMD_DRY_RUN_H

#include <stddef.h>

#include "sync.h"

/* The line for a, without the channel and newline, into buf (cut to len). */
void dry_run_line(const struct sync_action *a, char *buf, size_t len);

#endif
