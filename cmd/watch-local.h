/*
 * The Maildir side of a channel that `mailferry watch` keeps an eye on:
 * has anything under the root changed since we last looked?
 *
 * With inotify (Linux): a watch on every directory of the tree but tmp/
 * (a delivery in progress is no change until it is renamed into new/ or
 * cur/), for files created, deleted and renamed, and directories made,
 * removed and renamed; a new directory is walked and watched in its turn.
 * A flag change by a mail reader is a rename in cur/, a delivery a rename
 * into new/, a folder made or renamed a directory event: each one shows.
 *
 * Without it (another system, inotify_init1() refused, the per-user watch
 * limit reached, or MAILFERRY_WATCH_POLL=1 in the environment, which the
 * tests use to run the fallback here): every WATCH_LOCAL_POLL_MS the tree
 * is walked and a digest of every directory's inode, modification time
 * and link count compared with the last one.  A rename or a new file
 * changes its directory's mtime, so nothing is missed; it costs a stat
 * per directory, not per message.
 *
 * Which folder changed is not worked out: the channel's sync finds that
 * in one listing (unchanged folders cost nothing more).
 */
#ifndef MF_WATCH_LOCAL_H
#define MF_WATCH_LOCAL_H

#include <stdbool.h>

#include "base/err.h"

#define WATCH_LOCAL_POLL_MS 1000

struct watch_local;

/* Watch the tree under root.  Fails only when root cannot be read. */
int watch_local_open(const char *root, struct watch_local **w_r,
		     struct mf_err *err);
/* The fd to poll() for input (inotify), or -1 when polling. */
int watch_local_fd(const struct watch_local *w);
/* True when the tree changed since the last call that returned true (or
 * since the open).  now_ms: a monotonic clock, for the polling pace. */
bool watch_local_changed(struct watch_local *w, long long now_ms);
/* Whether inotify or polling is in use, for the start line. */
const char *watch_local_how(const struct watch_local *w);
void watch_local_close(struct watch_local **w);

#endif
