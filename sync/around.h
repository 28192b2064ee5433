/*
 * Fetching around a message whose answer breaks the session.
 *
 * A server's answer that the IMAP store cannot parse ends its connection
 * (MF_E_NET), and with it the batch being fetched: what arrived before it
 * is kept (the caller flushes and confirms as after any failed fetch), the
 * rest is unfetched.  Asking for the same batch again would break the same
 * way every run, and nothing after the culprit would ever arrive; so the
 * unfetched messages are fetched around it, on a new session (store.h
 * reconnect, then the folder selected again with the same UIDVALIDITY):
 *   - the first unfetched one alone, in the order the store asks for them
 *     (whole messages before header blocks, by UID): the answer the parse
 *     stopped at is
 *     the first one missing from a server that answers in order.  Breaking
 *     the session again on its own, it is skipped: the caller counts it as
 *     failed and names it, and records nothing for it, so the next run
 *     tries it again;
 *   - then the rest as one batch, and the same again if that breaks;
 *   - when the one alone landed after all (a server answering out of
 *     order, a connection cut at random), the rest in halves, so that one
 *     bad message costs about log2(batch) breaks at most.
 * Each part is one of the caller's whole batches (sync/exec.c: begin,
 * journal, fetch, flush, confirm; sync/fetch.c alike), so it is as
 * crash-safe as any batch.  The callers: the copies (exec.c), "mailferry
 * fetch" (fetch.c), and the reads that come before planning
 * (snapshot.c: the headers read to identify messages, the messages read
 * whole for a digest), where a skipped message is marked held
 * (mf_msg.held) and the planner leaves it, and what may be its copy or
 * its row, alone for the run (plan.h).  Bounded per folder: at most AROUND_BAD_MAX
 * messages skipped and log2(batch) + 2 * AROUND_BAD_MAX reconnects.  Past
 * either the folder is given up (MF_E_BOX, naming the skipped UIDs), what
 * is unfetched is left for the next run, and the session is made anew for
 * the next folder.  A cut connection (not a parse error) takes the same
 * way; every break costs a reconnect from the same budget, so it cannot
 * loop, and a reconnect that fails stops the channel with both reasons.
 * A break because the server throttles us (base/backoff.h pending) is
 * not worked around at all: no message is to blame, and every new
 * session would be refused too; the channel stops with that error, and
 * the command tries it again after the wait the server asked for.
 */
#ifndef MF_SYNC_AROUND_H
#define MF_SYNC_AROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "engine.h"

#define AROUND_BAD_MAX 4

/* What the driver needs of the caller's batches; jobs is the caller's
 * array of elements of the size given to around_init(). */
struct around_ops {
	/*
	 * Run jobs[0..n) as one batch.  0: done (what failed on its own is
	 * the batch's to count).  -1 with broke set (class not MF_OK): the
	 * fetch broke the source's session after everything else went
	 * through, and the jobs it did not complete are marked for
	 * take_unfetched.  -1 with broke clear: any other failure, err set.
	 */
	int (*batch)(void *ctx, void *jobs, size_t n, struct mf_err *broke,
		     struct mf_err *err);
	/* Move the marked jobs to the front, in fetch order, made ready
	 * for another batch; how many. */
	size_t (*take_unfetched)(void *ctx, void *jobs, size_t n);
	/* job broke the session on its own: count it and name it */
	void (*skipped)(void *ctx, void *job, const struct mf_err *why);
	uint32_t (*uid)(const void *job);
};

struct around {
	struct side *src; /* the side fetched from, its folder selected */
	bool readonly;	  /* select it again read-only (EXAMINE) */
	const struct around_ops *ops;
	void *ctx;
	size_t size; /* of one job */
	unsigned reconnects, max_reconnects;
	uint32_t bad[AROUND_BAD_MAX]; /* the UIDs skipped */
	unsigned nbad;
	bool broken;	   /* src's session failed: a new one first */
	struct mf_err why; /* what broke it last, as the store said */
};

/* batch: the caller's batch size, for the reconnect budget. */
void around_init(struct around *a, struct side *src, bool readonly,
		 size_t batch, const struct around_ops *ops, void *ctx,
		 size_t size);

/* Run jobs[0..n) as a batch, fetched around what breaks the session. */
int around_run(struct around *a, void *jobs, size_t n, struct mf_err *err);

/* After the last batch: a session that works for what comes next. */
int around_finish(struct around *a, struct mf_err *err);

#endif
