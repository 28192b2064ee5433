/*
 * A wait the server asked for: "come back later" carried from the IMAP
 * transport up to the command that may try the channel again.
 *
 * A throttling answer (Microsoft 365's "NO Request is throttled.
 * Suggested Backoff Time: 299609 milliseconds", RFC 5530's [UNAVAILABLE])
 * breaks the session where it is read, deep in store/imap/.  The error
 * that reaches cmd/ has been rebuilt and prefixed on the way up ("far:
 * INBOX: fetch: ..."), so the wait itself travels beside it, here, as one
 * process-wide hint:
 *
 *   - the transport calls mf_backoff_ask() with the wait it read (0 when
 *     the server named none);
 *   - the engine asks mf_backoff_pending() before it works around a
 *     broken session message by message (sync/around.c): a throttled
 *     server is not broken by one message, and would only be asked more;
 *   - the command (cmd/cmd-sync.c) takes the hint with mf_backoff_take()
 *     when the channel has stopped, waits, and runs it again.
 *
 * One hint per process is right because one process syncs one channel at
 * a time (mailferry batch forks one process per job), and the longest
 * wait any of its connections was asked for is the one to honour.  The
 * I/O thread of store/imap/imap-conn.c never calls these; the value is
 * atomic all the same, so that one never has to ask.
 */
#ifndef MF_BACKOFF_H
#define MF_BACKOFF_H

#include <stdbool.h>

/* The server asked us to wait ms milliseconds (0: it did not say how
 * long).  The longest wait asked for since the last take is kept. */
void mf_backoff_ask(long ms);

/* Whether a wait was asked for since the last take. */
bool mf_backoff_pending(void);

/* The wait asked for, in milliseconds (0: none named), and forget it.
 * *asked_r: whether one was asked for at all. */
long mf_backoff_take(bool *asked_r);

#endif
