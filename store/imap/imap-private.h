/*
 * What the files of the IMAP store share: struct imap_store and helpers.
 * Not for use outside store/imap/.
 *
 * Files: imap-store.c (create, select, boxes, names, IDLE), imap-list.c
 * (list_boxes), imap-fetch.c (scan and fetch), imap-append.c (deliveries),
 * imap-flags.c (set_flags, remove), imap-move.c (move).
 */
#ifndef MF_IMAP_PRIVATE_H
#define MF_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "imap-cmd.h"
#include "imap-date.h"
#include "imap-format.h"
#include "imap-seqset.h"
#include "imap-store.h"
#include "store.h"

/* UIDs per ranged command: several commands in flight, none huge */
#define IMAP_UIDS_PER_CMD 250
/* bytes of UID set per command line (servers accept 8 KiB and more) */
#define IMAP_SET_MAX_BYTES 4000

struct imap_spool;

/*
 * One begun delivery: the caller's struct (lent until flush or abort) and
 * our spool, kept here too so that destroy can free the spool without
 * reading caller memory that may be gone.
 */
struct imap_delivery {
	struct mf_delivery *d;
	struct imap_spool *sp;
};

struct imap_store {
	struct mf_store base;	   /* first: the engine casts */
	struct imap_store_cfg cfg; /* strings borrowed from cmd/ */
	struct imap_client *client;
	/* wire bytes of the sessions before this one (imap_wire_bytes()) */
	uint64_t wire_read_gone, wire_written_gone;
	uint64_t caps; /* offered, minus cfg->no_* */

	bool condstore; /* CONDSTORE usable (enabled) */
	bool qresync;	/* QRESYNC enabled */
	bool utf8;	/* UTF8=ACCEPT enabled: no mUTF-7 */
	bool warned_no_uidplus;
	bool warned_cleartext; /* once, not again at each reconnect */

	char delim;   /* hierarchy delimiter; 0: flat */
	char *prefix; /* personal namespace ("INBOX.") */

	/* the selected mailbox */
	char *sel_name;	  /* canonical; NULL: none */
	char *sel_server; /* as sent to the server */
	bool sel_rw;
	bool sel_nomodseq;
	uint32_t exists;
	struct mf_box_status sel_status;
	/* the largest UID and MODSEQ any response named since the SELECT,
	 * HIGHESTMODSEQ codes included (imap_selected_status()) */
	uint32_t sel_seen_uid;
	uint64_t sel_seen_modseq;
	/* PERMANENTFLAGS without \*: the keywords it lists (normalized),
	 * the only ones the server keeps; NULL: any keyword is kept */
	char *sel_kw_permanent;

	/* RFC822.SIZE the scans reported, to bound a fetch's literals
	 * (imap-fetch.c); for one mailbox and UIDVALIDITY at a time */
	struct imap_size_memo *sizes;

	/* the LIST sent with the first session's setup, until taken
	 * (imap_prelist_submit()) */
	struct imap_prelist *prelist;

	/* a MULTIAPPEND was refused: single APPENDs for the session */
	bool multiappend_refused;
	/* deliveries begun since the last flush, in begin order */
	struct imap_delivery *deliv;
	size_t ndeliv, deliv_cap;
};

static inline struct imap_store *
imap_store_of(struct mf_store *st)
{
	return (struct imap_store *)st;
}

/* Canonical name -> what goes on the wire (prefix, delimiter, mUTF-7).
 * MF_E_BOX when it cannot be represented.  Caller frees. */
int imap_name_to_server(const struct imap_store *st, const char *name,
			char **server_r, struct mf_err *err);
/* Server name (raw bytes, its delimiter) -> canonical.  -1 (and a
 * warning logged) when it cannot be represented: skip that mailbox. */
int imap_name_from_server(const struct imap_store *st, const char *raw,
			  size_t len, char delim, char **name_r);

/* A mailbox name into a command: quoted, or a literal when 8-bit. */
void imap_cmd_add_mailbox(struct imap_cmd *cmd, const char *server_name);

/* Fail unless a mailbox is selected. */
int imap_need_selected(struct imap_store *st, const char *what,
		       struct mf_err *err);
/* Turn a broken client into the store-level error, prefixed. */
int imap_store_fail(struct imap_store *st, struct mf_err *err);

/* FLAGS list -> MF_FLAG_* bits and a normalized keyword string
 * (caller frees); \Recent and other unknown \flags are dropped. */
void imap_parse_flags(const struct imap_arg *list, size_t n, unsigned *flags_r,
		      char **keywords_r);

/* RFC 8474 "(objectid)" (v, a list) into out; false and out "" when v is
 * not exactly one valid objectid (imap-list.c has why it is ignored). */
bool imap_objectid_get(const struct imap_arg *v,
		       char out[MF_MAILBOXID_MAX + 1]);
/* A STATUS response's item list (name value ...) into s; has_status only
 * with a valid UIDVALIDITY, else all of s is cleared. */
void imap_status_items_parse(struct mf_box_status *s, const struct imap_arg *l,
			     size_t n);

/* Expand a sequence set into uids (appending), at most max in total.
 * false on a syntax error or when more than max. */
bool imap_seqset_collect(const char *s, size_t len, uint32_t **v, size_t *n,
			 size_t *cap, size_t max);

/* Frees the memo of scanned sizes (imap-fetch.c) and NULLs *m. */
struct imap_size_memo;
void imap_size_memo_free(struct imap_size_memo **m);

/*
 * The folder listing sent with the session setup, so that a sync's
 * first request, the LIST (with STATUS), costs no round trip of its own:
 * submit it with ID, ENABLE and NAMESPACE (caps: the session's), mark
 * once the setup is over (the tag count then: a command sent later makes
 * its answer stale), and imap_list_boxes() takes it when it is the LIST
 * it would send, else lists again.  settle waits for its answer (before
 * a command whose untagged LIST it could claim); free forgets it.
 */
void imap_prelist_submit(struct imap_store *st, uint64_t caps);
void imap_prelist_mark(struct imap_store *st);
int imap_prelist_settle(struct imap_store *st, struct mf_err *err);
void imap_prelist_free(struct imap_store *st);

/* the ops, by file */
int imap_list_boxes(struct mf_store *st, bool status,
		    struct mf_box_list **list_r, struct mf_err *err);
int imap_scan(struct mf_store *st, const struct mf_scan_req *req,
	      struct mf_scan_result **res_r, struct mf_err *err);
int imap_fetch(struct mf_store *st, struct mf_fetch_item *items, size_t n,
	       struct mf_err *err);
int imap_deliver_begin(struct mf_store *st, struct mf_delivery *d,
		       struct mf_err *err);
int imap_deliver_flush(struct mf_store *st, struct mf_err *err);
void imap_deliver_abort_all(struct mf_store *st);
/* At destroy: free every pending spool without touching the caller's
 * struct mf_delivery (it may be gone by then). */
void imap_deliver_discard_all(struct imap_store *st);
int imap_set_flags(struct mf_store *st, struct mf_flag_item *items, size_t n,
		   struct mf_err *err);
int imap_remove(struct mf_store *st, struct mf_remove_item *items, size_t n,
		bool expunge, struct mf_err *err);
/*
 * A scan of a UID range (req->since 0) split in two, so that it can ride
 * behind other commands in one wait (imap_change()): submit, wait for the
 * client's commands (imap_client_wait_all(); a failure there ends the
 * store, imap_store_fail()), then finish with waited saying whether the
 * wait succeeded.  req must live until the finish; the finish frees the
 * run and returns as imap_scan() would.
 */
struct imap_scan_run;
struct imap_scan_run *imap_scan_submit(struct imap_store *st,
				       const struct mf_scan_req *req);
int imap_scan_finish(struct imap_scan_run **run, bool waited,
		     struct mf_scan_result **res_r, struct mf_err *err);

int imap_change(struct mf_store *st, struct mf_flag_item *flags, size_t nflags,
		struct mf_remove_item *rm, size_t nrm, bool expunge,
		const struct mf_scan_req *then, struct mf_scan_result **then_r,
		struct mf_err *err);
int imap_move(struct mf_store *st, struct mf_move_item *items, size_t n,
	      const char *dest, struct mf_err *err);

/* ---- spool: a sink that keeps a message for later (imap-append.c) ---- */

/* Memory up to 1 MiB, then an unlinked temp file. */
struct imap_spool *imap_spool_create(void);
void imap_spool_destroy(struct imap_spool **sp);
struct mf_sink *imap_spool_sink(struct imap_spool *sp);
bool imap_spool_finished(const struct imap_spool *sp);
uint64_t imap_spool_size(const struct imap_spool *sp);
/* The bytes: in memory (*mem_r) or in fd (*fd_r, read with pread). */
void imap_spool_data(const struct imap_spool *sp, const char **mem_r,
		     int *fd_r);
/* Copy everything into sink (no finish). */
int imap_spool_copy(const struct imap_spool *sp, struct mf_sink *sink,
		    struct mf_err *err);

/* ---- APPEND (imap-append.c, imap-multiappend.c) --------------------- */

#define IMAP_APPEND_FLAGS_MAX 4096

/*
 * Whether d can be sent: its sink finished, under the server's
 * APPENDLIMIT, its flags fitting in flags (size bytes, filled).  Else d
 * gets status -1 and why, and nothing of it is to be sent.
 */
bool imap_appendable(struct imap_store *st, struct mf_delivery *d,
		     const struct imap_spool *sp, char *flags, size_t size);
/* One message's " (flags) "date" {literal}" into an APPEND command. */
void imap_append_add_message(struct imap_cmd *cmd,
			     const struct imap_delivery *dv, const char *flags);
/*
 * Every appendable delivery of the flush in one MULTIAPPEND, each given
 * its result.  0: sent and answered; 1: refused with nothing landed (the
 * caller sends them one by one); -1: the results are unknown (err).
 */
int imap_multiappend_flush(struct imap_store *st, struct mf_err *err);

#endif
