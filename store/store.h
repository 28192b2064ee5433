/*
 * The mail store interface: one contract that the IMAP store and the Maildir
 * store both implement, so the sync engine never knows which side it talks
 * to (a channel may be IMAP <-> Maildir or IMAP <-> IMAP).
 *
 * Ownership (isync's rule, stated once): all memory passed in belongs to the
 * caller and is only borrowed for the duration of the call, unless stated
 * otherwise.  Everything a store returns through a *_r pointer is owned by
 * the caller and freed with the matching *_free() function.  Item arrays
 * (fetch, flags, remove, deliveries) are the caller's; the store fills their
 * result fields.  A struct mf_delivery is lent to the store from
 * deliver_begin() until deliver_flush() or deliver_abort_all() returns; the
 * caller must not move or free it in between.  So every caller that has
 * begun a delivery ends with exactly one of the two, on every path, before
 * it frees the deliveries: flush when the batch is to be kept, abort when
 * it fails before the flush (sync/exec.c copy_batch() has the pattern).
 *
 * Naming: mailbox names are UTF-8 with '/' as the hierarchy separator and
 * "INBOX" for the inbox, whatever the server's delimiter and encoding
 * (modified UTF-7) or the maildir layout.  Each store translates at its own
 * boundary and refuses a name it cannot represent safely.
 *
 * Messages: a store with MF_CAP_UIDS identifies messages by IMAP UID (the key
 * fields are NULL); a store without it by a key (the maildir unique name, the
 * part before ":2,").  Message bytes cross this interface in canonical form:
 * RFC 5322 wire form with CRLF line ends, exactly as an IMAP server sends
 * them.  Sizes are canonical sizes.  The Maildir store converts to bare LF on
 * disk and back (store/maildir).
 *
 * Blocking: every call blocks until done.  Bulk calls take arrays so that a
 * store can pipeline inside one call (the IMAP store turns 10,000 fetch items
 * into a few ranged UID FETCH commands in flight at once).  Results come back
 * per item; the call itself fails (-1) only when the whole mailbox or store
 * is unusable, with err's class saying which.
 *
 * Errors: per-item failures set item->status = -1 and item->err (class
 * MF_E_MSG normally).  A function returning -1 sets err with class MF_E_BOX
 * (this mailbox is unusable, go on with the next) or a store-level class
 * (MF_E_STORE, MF_E_NET, MF_E_AUTH: the connection or account is gone).
 */
#ifndef MF_STORE_H
#define MF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct mf_arena;
struct mf_store;

/* ---- flags ---------------------------------------------------------- */

/* System flags as bits.  Maildir letter and IMAP name in the comment. */
#define MF_FLAG_DRAFT 0x01u	/* D  \Draft */
#define MF_FLAG_FLAGGED 0x02u	/* F  \Flagged */
#define MF_FLAG_FORWARDED 0x04u /* P  $Forwarded (maildir "passed") */
#define MF_FLAG_ANSWERED 0x08u	/* R  \Answered */
#define MF_FLAG_SEEN 0x10u	/* S  \Seen */
#define MF_FLAG_DELETED 0x20u	/* T  \Deleted (maildir "trashed") */
#define MF_FLAG_ALL 0x3fu

/*
 * Keywords travel as one normalized string: unique keywords, sorted by
 * strcmp, separated by single spaces, "" for none (store/flags.h has the
 * helpers).  A keyword is an IMAP atom without '\\'.
 */

/* ---- capabilities --------------------------------------------------- */

#define MF_CAP_UIDS 0x0001u	 /* messages by UID (else by key) */
#define MF_CAP_CONDSTORE 0x0002u /* modseq, CHANGEDSINCE */
#define MF_CAP_QRESYNC 0x0004u	 /* VANISHED on fetch */
#define MF_CAP_UIDPLUS 0x0008u	 /* APPENDUID, UID EXPUNGE */
#define MF_CAP_MOVE 0x0010u
#define MF_CAP_LIST_STATUS 0x0020u /* list_boxes status in one trip */
#define MF_CAP_KEYWORDS 0x0040u	   /* keywords; see kw_visible */
#define MF_CAP_DIR_TOKEN 0x0080u   /* status.dir_token is meaningful */
/*
 * The engine asks for these instead of guessing from MF_CAP_UIDS which
 * kind of store it has:
 *
 * MF_CAP_PLACEHOLDERS: a delivery with placeholder_of set is marked so
 * that every later scan reports placeholder_of, without the state database
 * (maildir: in the file name).  Only such a near side gets placeholders
 * for messages over max_size; elsewhere they are skipped.
 *
 * MF_CAP_CHEAP_SIZE: a scan reports size and date in the same round trip
 * as the flags (IMAP RFC822.SIZE, INTERNALDATE); without it MF_WANT_SIZE
 * and MF_WANT_DATE may cost a stat or a read per message, and are asked
 * for only when pairing needs them.
 *
 * MF_CAP_SCAN_MAY_MISS: a scan can miss a message another process renames
 * while it runs (maildir readdir racing a reader moving new/ to cur/), so
 * a message that looks deleted is looked for once more before its other
 * copy is removed or it is copied back.
 */
#define MF_CAP_PLACEHOLDERS 0x0100u
#define MF_CAP_CHEAP_SIZE 0x0200u
#define MF_CAP_SCAN_MAY_MISS 0x0400u

/* ---- mailboxes ------------------------------------------------------ */

enum mf_role {
	MF_ROLE_NONE = 0,
	MF_ROLE_INBOX,
	MF_ROLE_SENT,
	MF_ROLE_DRAFTS,
	MF_ROLE_TRASH,
	MF_ROLE_JUNK,
	MF_ROLE_ARCHIVE,
	MF_ROLE_ALL,
	MF_ROLE_FLAGGED,
	MF_ROLE_IMPORTANT,
};

/* RFC 8474 section 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-") */
#define MF_MAILBOXID_MAX 255

#define MF_BOX_NOSELECT 0x01u /* exists only as a parent */
#define MF_BOX_NOINFERIORS 0x02u
#define MF_BOX_HASCHILDREN 0x04u
#define MF_BOX_HASNOCHILDREN 0x08u

/*
 * What the store knows about a mailbox without opening it.  Any field may
 * be 0 for "unknown"; has_status says whether the counters were filled.
 */
struct mf_box_status {
	bool has_status;
	uint32_t uidvalidity; /* IMAP; 0 for maildir */
	uint32_t uidnext;
	uint32_t messages;
	uint32_t unseen;
	uint64_t highestmodseq; /* 0: no CONDSTORE or NOMODSEQ */
	/*
	 * MF_CAP_DIR_TOKEN stores: a value that changes whenever a message
	 * is added, removed or renamed (maildir: cur/ and new/ mtimes).  0
	 * means "cannot tell, scan it".  Equal tokens mean no change.
	 */
	uint64_t dir_token;
	/*
	 * RFC 8474 MAILBOXID (IMAP servers with OBJECTID): the folder's own
	 * id, kept by the server across RENAME and never given to another
	 * folder.  Only an objectid (section 7: 1 to 255 of A-Z a-z 0-9 _ -)
	 * is ever stored here; "" means unknown (no OBJECTID, maildir, or a
	 * malformed value).  Stores fill it from the listing's status and
	 * from select_box; no capability bit, since "" already says a store
	 * cannot tell.
	 */
	char mailboxid[MF_MAILBOXID_MAX + 1];
};

struct mf_box_info {
	char *name; /* canonical name (see top) */
	enum mf_role role;
	unsigned attrs; /* MF_BOX_* */
	struct mf_box_status status;
};

struct mf_box_list {
	struct mf_box_info *v;
	size_t n;
};

void mf_box_list_free(struct mf_box_list **list);

const char *mf_role_name(enum mf_role role);	  /* "sent", "" for none */
enum mf_role mf_role_from_name(const char *name); /* MF_ROLE_NONE if unknown */

/* ---- messages ------------------------------------------------------- */

/*
 * One message as a scan sees it.  Strings point into the scan result's
 * arena and live as long as the result.
 */
struct mf_msg {
	uint32_t uid;	      /* MF_CAP_UIDS stores; else 0 */
	const char *key;      /* key stores; else NULL */
	unsigned flags;	      /* MF_FLAG_* */
	const char *keywords; /* normalized, never NULL */
	uint64_t size;	      /* canonical (CRLF) size; 0 if not asked/known */
	int64_t date;	      /* internal date, Unix time; 0 if unknown */
	uint64_t modseq;      /* CONDSTORE stores, when asked */
	const char *msgid;    /* Message-ID with <>, when asked; NULL if none */
	/*
	 * Maildir: the far side's UID of this message as another tool
	 * recorded it, for adopting its Maildir; 0 if none.  OfflineIMAP
	 * writes it into the file name (",U=123,FMD5=<md5 of the folder
	 * name>"); mbsync writes its own Maildir UID there (",U=7") and maps
	 * it to the far UID in the folder's .mbsyncstate, which the store
	 * reads.  name_uid_checked says the hint was shown to belong to this
	 * folder (the FMD5 matched, or .mbsyncstate mapped it); an unchecked
	 * ",U=" (no FMD5, no state file) is taken as a far UID but weighs
	 * less (sync/plan.h).  The UIDVALIDITY the hints belong to, where
	 * known, is in mf_scan_result.hint_uidvalidity.
	 */
	uint32_t name_uid;
	bool name_uid_checked;
	bool is_new; /* maildir: still in new/ */
	/*
	 * Key stores: the file is a header-only placeholder that mailferry
	 * made for a message of this canonical size (max_size); 0 if not.
	 * Read from the file name, so a scan without the state database
	 * still knows never to upload it.  size stays the file's own.
	 */
	uint64_t placeholder_of;
	/*
	 * Filled by the engine, not by stores: the header fingerprint
	 * (sync/ident.h; NULL until the header was read) and the canonical
	 * size of the header block (0: unknown).  Stores leave them zero.
	 */
	const char *fp;
	uint64_t hdr_size;
	/* engine: the content digest, for the few that need it (NULL) */
	const char *cd;
	/*
	 * engine: its header (or whole content) was wanted to identify it
	 * and could not be read this run: the answer broke the session
	 * every time (sync/around.h).  Its identity is unknown, so the
	 * planner leaves it alone this run (sync/plan.h).
	 */
	bool held;
};

#define MF_WANT_FLAGS 0x01u
#define MF_WANT_SIZE 0x02u /* may read files (maildir without ,W=) */
#define MF_WANT_DATE 0x04u
#define MF_WANT_MSGID 0x08u /* reads headers: first syncs only */
#define MF_WANT_MODSEQ 0x10u

struct mf_scan_req {
	unsigned want; /* MF_WANT_* */
	/* UID stores: only UIDs in [uid_lo, uid_hi]; 0,0 means all */
	uint32_t uid_lo, uid_hi;
	/* CONDSTORE: only messages with modseq > changedsince; 0 = all */
	uint64_t changedsince;
	/* QRESYNC: with changedsince, also report UIDs expunged since then */
	bool vanished;
	/* only messages with internal date >= since (Unix time); 0 = all */
	int64_t since;
};

struct mf_scan_result {
	struct mf_msg *msgs; /* sorted by uid, or by key (strcmp) */
	size_t n;
	uint32_t *vanished; /* with req.vanished: expunged UIDs, sorted */
	size_t nvanished;
	bool vanished_valid; /* the store did report VANISHED */
	/* the far UIDVALIDITY that the messages' name_uid hints belong to
	 * (mbsync's FarUidValidity); 0: not known */
	uint32_t hint_uidvalidity;
	/*
	 * MF_CAP_KEYWORDS stores that can see only some keywords in this
	 * mailbox (Maildir: those its dovecot-keywords names, at most 26;
	 * IMAP: those PERMANENTFLAGS lists, when it has no "\*"):
	 * the normalized set of keywords this scan could have reported.  A
	 * keyword outside it was never stored here, so one that the engine
	 * recorded for a message and does not find is not a removal.  NULL:
	 * every keyword is seen.
	 */
	const char *kw_visible;
	struct mf_arena *arena;
};

void mf_scan_result_free(struct mf_scan_result **res);

/* Binary search in messages sorted by uid / by key; index or -1. */
long mf_msgs_find_uid(const struct mf_msg *v, size_t n, uint32_t uid);
long mf_msgs_find_key(const struct mf_msg *v, size_t n, const char *key);

/* ---- moving bytes --------------------------------------------------- */

/*
 * A sink receives one message's bytes in canonical form.  write() may be
 * called any number of times, then finish() once when every byte has been
 * written.  A sink that never sees finish() (the fetch failed) is discarded
 * by whoever made it.  Sinks are made by deliver_begin().
 */
struct mf_sink;
struct mf_sink_ops {
	int (*write)(struct mf_sink *sink, const void *data, size_t len,
		     struct mf_err *err);
	int (*finish)(struct mf_sink *sink, struct mf_err *err);
};
struct mf_sink {
	const struct mf_sink_ops *ops;
};

static inline int
mf_sink_write(struct mf_sink *sink, const void *data, size_t len,
	      struct mf_err *err)
{
	return sink->ops->write(sink, data, len, err);
}

static inline int
mf_sink_finish(struct mf_sink *sink, struct mf_err *err)
{
	return sink->ops->finish(sink, err);
}

struct mf_fetch_item {
	/* in */
	uint32_t uid; /* or key, per MF_CAP_UIDS */
	const char *key;
	struct mf_sink *sink; /* where the bytes go */
	/* partial: bytes [offset, offset+length) of the message; length 0
	 * means to the end.  Used for resumable chunks. */
	uint64_t offset, length;
	bool header_only; /* only the header block (placeholders) */
	void *user;
	/* out */
	int status; /* 0 ok, -1 failed (err says why) */
	struct mf_err err;
	uint64_t bytes; /* bytes written into the sink */
	bool gone;	/* the message no longer exists */
};

/*
 * A message on its way into a store.  The caller fills the "in" fields and
 * calls deliver_begin(), writes the message into d->sink (usually by handing
 * it to the other store's fetch()), then deliver_flush() makes every finished
 * delivery durable and fills the "out" fields, or deliver_abort_all() drops
 * every one of them (the batch failed before it could be flushed).
 */
struct mf_delivery {
	/* in */
	unsigned flags;
	const char *keywords; /* normalized; NULL = none */
	int64_t date;	      /* internal date to keep; 0 = now */
	uint64_t size;	      /* canonical size if known, else 0 */
	/* non-zero: these bytes are a placeholder for a message of this
	 * size; a key store marks the file so that its scan reports it */
	uint64_t placeholder_of;
	void *user;
	/* out: set at deliver_begin (maildir: the key is chosen up front,
	 * so the engine can journal it before a byte is written) */
	char key[128];
	/* out: set at flush */
	int status;
	struct mf_err err;
	uint32_t uid; /* new UID; 0 if the server did not say */
	/* the sink to write into; the store's private state follows it */
	struct mf_sink *sink;
	void *priv;
};

/* ---- bulk changes --------------------------------------------------- */

struct mf_flag_item {
	/* in */
	uint32_t uid;
	const char *key;
	unsigned add, del;	     /* MF_FLAG_* */
	const char *kw_add, *kw_del; /* normalized keyword sets or NULL */
	uint64_t unchangedsince;     /* CONDSTORE guard; 0 = none */
	void *user;
	/* out */
	int status;
	struct mf_err err;
	bool conflict;	   /* refused by UNCHANGEDSINCE: rescan */
	bool gone;	   /* the message no longer exists */
	char new_key[128]; /* maildir: key unchanged, name may be */
};

struct mf_remove_item {
	uint32_t uid;
	const char *key;
	/* maildir: unlink even when removals go to a trash folder (a
	 * placeholder of ours is no mail to keep) */
	bool discard;
	void *user;
	int status;
	struct mf_err err;
	bool gone; /* was already gone: fine */
};

/*
 * A message moved from the selected mailbox to another one of the same
 * store, without its bytes crossing the wire.  IMAP: UID MOVE (RFC 6851),
 * or UID COPY + \Deleted + UID EXPUNGE where MOVE is missing; the new UID
 * comes from COPYUID (RFC 4315).  Maildir: rename(2) into the other
 * folder, never over an existing file.
 */
struct mf_move_item {
	/* in */
	uint32_t uid;
	const char *key;
	void *user;
	/* out */
	int status;
	struct mf_err err;
	bool gone;	   /* not in the source: nothing was moved */
	uint32_t new_uid;  /* UID in the destination; 0: not known */
	char new_key[128]; /* maildir: key in the destination */
};

/*
 * A message that another program (a user's mv, a mail reader) moved into
 * the selected mailbox from folder "from" of the same store, keeping its
 * file name: where keyword letters mean what each folder says (Maildir),
 * it still carries from's letters.  relabel() gives it the letters that
 * name, here, the keywords its letters named in from, as move() does for
 * its own moves.  Only while the message's keywords as this folder reads
 * them are still expect: a relabel done before a crash is never done
 * again (done twice, letters new here would be read with from's map).
 */
struct mf_relabel_item {
	/* in */
	const char *key;
	const char *expect; /* normalized; NULL = none */
	/* out */
	int status;
	struct mf_err err;
	bool gone;    /* no such message here */
	bool skipped; /* not as expected: left as it is */
};

struct mf_select_req {
	bool readonly; /* EXAMINE */
};

/* ---- the vtable ----------------------------------------------------- */

struct mf_store_ops {
	const char *kind; /* "imap", "maildir" */

	/* Every mailbox; with status=true also fill status (LIST-STATUS
	 * where the server has it, else STATUS per box; maildir: cheap). */
	int (*list_boxes)(struct mf_store *st, bool status,
			  struct mf_box_list **list_r, struct mf_err *err);
	int (*create_box)(struct mf_store *st, const char *box,
			  struct mf_err *err);
	int (*delete_box)(struct mf_store *st, const char *box,
			  struct mf_err *err);
	/*
	 * Rename mailbox from to to, with its children ("from/x" becomes
	 * "to/x"), as IMAP RENAME does (RFC 3501 section 6.3.5), making the
	 * parents to needs.  Never over an existing mailbox: to taken fails
	 * with MF_E_BOX, and so does INBOX on either end (an IMAP RENAME of
	 * INBOX moves its messages instead).  Afterwards no mailbox is
	 * selected.  Not atomic for a maildir++ folder with children (one
	 * rename per directory): a stop part way leaves some children under
	 * the old name, each a rename of its own to the engine.  NULL where
	 * a store cannot rename.
	 */
	int (*rename_box)(struct mf_store *st, const char *from, const char *to,
			  struct mf_err *err);

	/*
	 * Open a mailbox for the calls below; closes the previous one.
	 * Deliveries begun and not yet flushed do not survive it on an
	 * IMAP store (an APPEND goes into the selected mailbox): they are
	 * aborted as by deliver_abort_all().  A maildir keeps them.  So a
	 * caller flushes or aborts its deliveries before selecting another
	 * mailbox (the engine does: sync/engine.h, side_open()).
	 */
	int (*select_box)(struct mf_store *st, const char *box,
			  const struct mf_select_req *req,
			  struct mf_box_status *status_r, struct mf_err *err);

	/*
	 * The status of the mailbox box, selected and still selected, as the
	 * session has seen it since select_box, without asking the store:
	 * UIDVALIDITY, MESSAGES as counted since (EXISTS, EXPUNGE, VANISHED),
	 * UIDNEXT and HIGHESTMODSEQ as floors (the largest UID + 1 and the
	 * largest MODSEQ any response named).  None is above the store's
	 * value when the last response was read: recorded after a scan
	 * with changedsince that saw every change up to then, nothing is
	 * hidden from the next run (sync/record.c).  0 and *status_r filled;
	 * 1 when box is not the selected mailbox or has no MODSEQs.  NULL
	 * where a store keeps no such account (a maildir's status is
	 * cheap to take again).
	 */
	int (*selected_status)(struct mf_store *st, const char *box,
			       struct mf_box_status *status_r);

	int (*scan)(struct mf_store *st, const struct mf_scan_req *req,
		    struct mf_scan_result **res_r, struct mf_err *err);

	/*
	 * Write each item's message into its sink.  When the call fails
	 * (-1), the items it did not complete have status -1 and carry the
	 * call's error (its class store-level, or MF_E_BOX), so that they
	 * can be told from items that failed on their own (MF_E_MSG); what
	 * completed before the failure keeps status 0.
	 */
	int (*fetch)(struct mf_store *st, struct mf_fetch_item *items, size_t n,
		     struct mf_err *err);

	int (*deliver_begin)(struct mf_store *st, struct mf_delivery *d,
			     struct mf_err *err);
	/*
	 * Make every delivery begun since the last flush durable (or, when
	 * its sink was not finished, discard it) and fill its results.  A
	 * -1 (the store or the folder failed part way) leaves the result of
	 * some deliveries unknown: those with status 0 landed, those with
	 * -1 and a class above MF_E_MSG may have (an APPEND whose answer
	 * never came).  The engine keeps such copies journaled as pending,
	 * and the next run looks for them before copying again.
	 */
	int (*deliver_flush)(struct mf_store *st, struct mf_err *err);
	/*
	 * Discard every delivery begun since the last flush, finished or
	 * not: nothing of them becomes durable or visible.  Each one gets
	 * status -1 (class MF_E_MSG, "aborted"), sink and priv NULL, and the
	 * store keeps no pointer to any of them once this returns, so the
	 * caller may free them.  Maildir: their tmp/ files are unlinked.
	 * IMAP: the spools are dropped; no APPEND was sent, since a
	 * delivery goes on the wire only inside deliver_flush().  Cannot
	 * fail, and is a no-op when nothing is begun.
	 */
	void (*deliver_abort_all)(struct mf_store *st);

	int (*set_flags)(struct mf_store *st, struct mf_flag_item *items,
			 size_t n, struct mf_err *err);

	/* Remove messages.  IMAP: set \Deleted, and with expunge also UID
	 * EXPUNGE exactly these (needs UIDPLUS).  Maildir: unlink. */
	int (*remove)(struct mf_store *st, struct mf_remove_item *items,
		      size_t n, bool expunge, struct mf_err *err);

	/*
	 * set_flags of some messages and remove of others, answered as by
	 * the two calls, in one wait where the store has one to save (IMAP:
	 * the STOREs, the STORE \Deleted and the UID EXPUNGE pipelined,
	 * sent in that order).  then (or NULL): a scan to run after them in
	 * the same wait, as scan() would (the engine's look at what changed
	 * since, sync/record.c); *then_r its result, or NULL when that scan
	 * failed or was not run (the caller scans again: a failed scan does
	 * not fail the call).  NULL: the caller makes the calls one by one
	 * (maildir: a rename or unlink per file, nothing to wait for).
	 */
	int (*change)(struct mf_store *st, struct mf_flag_item *flags,
		      size_t nflags, struct mf_remove_item *rm, size_t nrm,
		      bool expunge, const struct mf_scan_req *then,
		      struct mf_scan_result **then_r, struct mf_err *err);

	/*
	 * Move messages from the selected mailbox to dest (which must exist
	 * and differ from it).  NULL when the store cannot do it at all;
	 * an IMAP store without MOVE and UIDPLUS fails with MF_E_BOX (it
	 * could neither expunge just these nor learn the new UIDs).
	 */
	int (*move)(struct mf_store *st, struct mf_move_item *items, size_t n,
		    const char *dest, struct mf_err *err);

	/* See struct mf_relabel_item.  NULL where keywords do not depend
	 * on the folder (IMAP). */
	int (*relabel)(struct mf_store *st, struct mf_relabel_item *items,
		       size_t n, const char *from, struct mf_err *err);

	/*
	 * A new session after the old one failed at store level (a
	 * response it could not parse, a cut connection): connect and log
	 * in again as at create, with the same capabilities.  Afterwards no
	 * mailbox is selected and every delivery begun is gone, as by
	 * deliver_abort_all(); the caller selects again and checks that the
	 * UIDVALIDITY it works with is still the server's.  -1: no new
	 * session (err store-level; the store stays failed), or one that
	 * offers less than the first did.  NULL where a store has no
	 * session to lose (maildir).  The engine bounds how often it asks
	 * (sync/exec.c).
	 */
	int (*reconnect)(struct mf_store *st, struct mf_err *err);
	/*
	 * The bytes read from and written to the server so far, over every
	 * session of this store (reconnects included): counted between
	 * COMPRESS and the socket, so compressed where COMPRESS=DEFLATE is
	 * on, and as TLS payload (record framing and handshakes left out).
	 * NULL where a store has no wire (maildir); mf_store_wire_bytes()
	 * is the call to use.
	 */
	void (*wire_bytes)(struct mf_store *st, uint64_t *read_r,
			   uint64_t *written_r);

	void (*destroy)(struct mf_store *st);
};

struct mf_store {
	const struct mf_store_ops *ops;
	unsigned caps; /* MF_CAP_*, valid after create */
	char *name;    /* account or store name, for messages */
};

/* Frees the store, closing connections, and NULLs *st. */
void mf_store_destroy(struct mf_store **st);

/* The store's wire bytes (ops->wire_bytes); false, and both 0, for a
 * store without a wire (maildir) or st NULL. */
bool mf_store_wire_bytes(struct mf_store *st, uint64_t *read_r,
			 uint64_t *written_r);

#endif
