/*
 * IMAP-only entry points beyond struct mf_store_ops, for callers that know
 * they hold an IMAP store (mf_store.ops->kind is "imap").
 */
#ifndef MF_IMAP_STORE_EXT_H
#define MF_IMAP_STORE_EXT_H

#include <stdbool.h>

#include "base/err.h"
#include "store.h"

/*
 * IDLE (RFC 2177) on the selected mailbox for up to timeout_ms (keep it
 * under 29 minutes).  *changed_r is true when the server reported new,
 * expunged or changed messages; the caller then rescans.  Without the IDLE
 * capability it returns at once with MF_E_BOX.
 */
int imap_store_idle(struct mf_store *st, int timeout_ms, bool *changed_r,
		    struct mf_err *err);
/*
 * The same, also ending (with DONE, *changed_r false) once stop(stop_ctx)
 * returns true; it is asked about every 200 ms while the server is quiet,
 * from the thread that called.  mailferry watch ends an IDLE this way when
 * it is told to stop or to reconnect.
 */
typedef bool imap_idle_stop_fn(void *ctx);
int imap_store_idle_until(struct mf_store *st, int timeout_ms,
			  imap_idle_stop_fn *stop, void *stop_ctx,
			  bool *changed_r, struct mf_err *err);

/*
 * NOTIFY SET (RFC 5465) for every personal folder, where the server has
 * NOTIFY and it is not disabled: an IDLE that follows then also ends on a
 * change to another folder (STATUS) or to the folder list (LIST).
 * *on_r: whether the server took it; a refusal is not an error (IDLE
 * then covers the selected folder only).  -1 when the session failed.
 */
int imap_store_notify_all(struct mf_store *st, bool *on_r, struct mf_err *err);

/* RENAME a mailbox (canonical names). */
int imap_store_rename_box(struct mf_store *st, const char *from, const char *to,
			  struct mf_err *err);

/* The server's capabilities as IMAP_CAP_* bits (imap-cmd.h), for tests. */
unsigned long long imap_store_server_caps(struct mf_store *st);

#endif
