/*
 * The IMAP side of a channel that `mailferry watch` keeps an eye on: a
 * thread with a connection of its own, in IDLE (RFC 2177) on INBOX.
 *
 * The thread connects (stores.h), EXAMINEs INBOX or the folder it was
 * given (the channel's watch: list, when there is no NOTIFY), read-only: it never
 * changes anything) and IDLEs for up to WATCH_IDLE_MAX_MS at a time, under
 * the 29 minutes after which RFC 2177 section 3 lets a server log an idle
 * client off.  Where the server has NOTIFY (RFC 5465) it is set for every
 * personal folder first, so that the IDLE also ends on a change to any
 * folder and to the folder list.  What it sees it records as events and announces by writing
 * a byte to the wake fd given at start, so that the main loop can poll()
 * on one pipe for every thread:
 *
 *   WATCH_IDLE_CHANGED    the server reported new, expunged or changed
 *                         messages in INBOX;
 *   WATCH_IDLE_CONNECTED  a session began (the first or after a loss):
 *                         what happened while there was none is unknown,
 *                         so the channel wants a sync; with
 *                         WATCH_IDLE_NOTIFY when NOTIFY is on;
 *   WATCH_IDLE_LOST       the session failed (server restart, BYE, network
 *                         down); the thread reconnects after a backoff of
 *                         1 s, doubling to WATCH_IDLE_MAX_BACKOFF_MS;
 *   WATCH_IDLE_UNSUPPORTED  the server has no IDLE: the thread ends, and
 *                         the channel relies on the periodic sync.
 *
 * The thread only borrows the side's configuration: the caller keeps it
 * alive until watch_idle_stop() says the thread is gone.
 */
#ifndef MF_WATCH_IDLE_H
#define MF_WATCH_IDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define WATCH_IDLE_MAX_MS (25 * 60 * 1000)
#define WATCH_IDLE_MAX_BACKOFF_MS (60 * 1000)

#define WATCH_IDLE_CHANGED 0x1u
#define WATCH_IDLE_CONNECTED 0x2u
#define WATCH_IDLE_LOST 0x4u
#define WATCH_IDLE_UNSUPPORTED 0x8u
#define WATCH_IDLE_NOTIFY 0x10u /* with CONNECTED: NOTIFY is on */

struct watch_idle;

/* Start the thread for side (an account), on box, or with box NULL on
 * INBOX with NOTIFY asked for; wake_fd: a non-blocking pipe's write end.
 * NULL when no thread could be started (errno). */
struct watch_idle *watch_idle_start(const struct config_side *side,
				    const char *box, int wake_fd);
/*
 * The events since the last call (WATCH_IDLE_*), and into msg the last
 * error of the thread ("" when none): why a session was lost or could not
 * begin.  Clears both.
 */
unsigned watch_idle_take(struct watch_idle *w, char *msg, size_t size);
/* Drop the session and begin a new one at once (after a clock jump: a
 * connection that slept through a suspend is likely dead). */
void watch_idle_reconnect(struct watch_idle *w);
/*
 * Ask the thread to end and wait up to wait_ms for it.  true: it ended
 * and was joined; false: it is still in a connect or a wait on a silent
 * server, and was detached: it ends on its own, but may still read the
 * configuration until then.  NULLs *w either way.
 */
bool watch_idle_stop(struct watch_idle **w, int wait_ms);

#endif
