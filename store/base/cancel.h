/*
 * A stop asked for from outside the program: SIGINT or SIGTERM.
 *
 * cmd/ installs the signal handler, which only calls mf_cancel_set(); the
 * rest of the program polls mf_cancel_signal() where stopping is safe:
 *
 *   - the engine between folders and between copy batches (sync/sync.c,
 *     sync/exec.c, sync/fetch.c): what is journaled and confirmed so far
 *     is committed, nothing new is begun, and the run returns MF_E_CANCELED;
 *   - the IMAP transport while it waits (store/imap/imap-conn.c): a wait
 *     may then last at most MF_CANCEL_GRACE_MS more, so the batch in flight
 *     normally completes, but a slow or silent server cannot hold the stop
 *     up; past that the wait fails with MF_E_CANCELED, and the batch is
 *     rolled back as after a dropped connection.
 *
 * The flag is one sig_atomic_t: set once, never cleared in normal use.
 */
#ifndef MF_CANCEL_H
#define MF_CANCEL_H

/* How long I/O in flight may go on once a stop was asked for. */
#define MF_CANCEL_GRACE_MS 10000

/* Record that signal signo asks us to stop.  Async-signal-safe; the first
 * signal is kept. */
void mf_cancel_set(int signo);

/* The signal that asked us to stop, or 0. */
int mf_cancel_signal(void);

/* "SIGINT", "SIGTERM" or "signal N" for a message; static storage. */
const char *mf_cancel_name(void);

/* Forget a stop (unit tests only). */
void mf_cancel_reset(void);

#endif
