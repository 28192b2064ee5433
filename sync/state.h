/*
 * The state database: what the last sync of a channel saw on both sides.
 *
 * One SQLite file per channel (state_dir/CHANNEL.db, mode 0600).  This is the
 * only module that speaks SQL.  It keeps one prepared statement per query in
 * the handle and checks every sqlite3_step().
 *
 * Identity and versions: the file carries PRAGMA application_id 'MFER' and
 * the schema version in PRAGMA user_version.  An older schema is migrated
 * forward in code; a newer one, a file with another application_id, or one
 * that is not SQLite at all is refused with a message naming the file, and
 * never written to.
 *
 * Durability: WAL journal with synchronous=FULL.  The engine commits once
 * per batch (hundreds of messages), after the mail itself is durable, so a
 * commit that reaches the disk always describes mail that is already there;
 * FULL makes the order hold across power loss at the cost of one WAL fsync
 * per batch.
 *
 * Ownership: strings (and move journals) in returned structs are owned by
 * the list they came in and freed with it.  What is passed in is copied.
 */
#ifndef MF_STATE_H
#define MF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define STATE_SCHEMA_VERSION 3
#define STATE_APPLICATION_ID 0x4d464552 /* "MFER" */
/* RFC 8474 section 7: at most 255 characters */
#define STATE_MAILBOXID_MAX 255

struct state_db;
struct move_journal; /* move-journal.h */

/*
 * Open (read-write: create if missing) the state file at path.  Errors have
 * class MF_E_STATE and name the path.
 *
 * Read-write: a missing file is created with mode 0600 whatever the umask,
 * and a missing parent directory with mode 0700 (mkdir -p); a new file gets
 * the schema, an older schema is migrated, both in one transaction.
 * Read-only: nothing is ever written; a missing file fails with
 * err->sys_errno == ENOENT (so "status" can say "never synced"), and a file
 * that would need creating or migrating is refused.  Every open runs
 * PRAGMA quick_check on an existing file, which reads the whole file once.
 */
int state_open(const char *path, bool readonly, struct state_db **db_r,
	       struct mf_err *err);
void state_close(struct state_db **db);

/*
 * Explicit transactions; every change happens inside one (a change outside
 * one fails with MF_E_INTERNAL).  On a read-write handle begin takes the
 * write lock at once (BEGIN IMMEDIATE); on a read-only handle it starts a
 * read snapshot, so several reads see one consistent state.  Rollback is
 * harmless when no transaction is open.
 */
int state_begin(struct state_db *db, struct mf_err *err);
int state_commit(struct state_db *db, struct mf_err *err);
void state_rollback(struct state_db *db);

/* Channel-wide key/value pairs (identity of the two sides, etc.). *value_r
 * is NULL when absent; caller frees.  Setting value NULL deletes the key. */
int state_meta_get(struct state_db *db, const char *key, char **value_r,
		   struct mf_err *err);
int state_meta_set(struct state_db *db, const char *key, const char *value,
		   struct mf_err *err);

/* One folder pair and what each side looked like at the last sync. */
struct state_side {
	uint32_t uidvalidity; /* 0: side has no UIDs (maildir) or unknown */
	uint32_t uidnext;
	uint32_t messages;
	uint64_t highestmodseq; /* at most 2^63-1 (RFC 7162 section 3.1);
				 * larger values are refused */
	uint64_t dir_token;	/* maildir directory token, 0 = unknown; all
				 * 64 bits are kept */
	/* RFC 8474 MAILBOXID the last run saw, "" = unknown (store.h,
	 * struct mf_box_status); rename evidence (rename.h).  Loaded only
	 * when it is an objectid, else "". */
	char mailboxid[STATE_MAILBOXID_MAX + 1];
};

struct state_box {
	int64_t id; /* 0 until added */
	char *far_name;
	char *near_name;
	struct state_side far, near;
	int64_t last_sync; /* Unix time of the last complete sync */
};

struct state_box_list {
	struct state_box *v;
	size_t n;
};

int state_box_list(struct state_db *db, struct state_box_list **list_r,
		   struct mf_err *err);
void state_box_list_free(struct state_box_list **list);
/* Insert; sets box->id. */
int state_box_add(struct state_db *db, struct state_box *box,
		  struct mf_err *err);
/* Update names and both sides of box->id (no such row: error). */
int state_box_update(struct state_db *db, const struct state_box *box,
		     struct mf_err *err);
/* Delete the pair and all its message rows (no such row: error). */
int state_box_delete(struct state_db *db, int64_t id, struct mf_err *err);

/*
 * In-flight actions, journaled before the action and cleared after it is
 * confirmed.  A row found with one of these at the start of a run means the
 * last run stopped in the middle; the engine reconciles it (sync/exec.c).
 */
enum state_pending {
	STATE_PENDING_NONE = 0,
	STATE_PENDING_PULL, /* far -> near copy started; near_key chosen;
				 * pending_uidnext for a UID near side */
	STATE_PENDING_PUSH, /* near -> far APPEND started;
				 * pending_uidnext */
	STATE_PENDING_MOVE, /* moving between folders; pending_move */
	/*
	 * "mailferry fetch" is replacing the placeholder at near_key with
	 * the full message; pending_key is the full copy's key, chosen
	 * before a byte was written (sync/fetch.c settles it).
	 */
	STATE_PENDING_FETCH,
};

struct state_msg {
	int64_t rowid;	    /* 0 until inserted */
	uint32_t far_uid;   /* 0: not (yet) on the far side */
	uint32_t near_uid;  /* near is IMAP; else 0 */
	char *near_key;	    /* near is maildir; else NULL */
	unsigned far_flags; /* MF_FLAG_* of the far side, as last synced
				 * (column "flags") */
	char *far_keywords; /* far keywords, normalized; never NULL
				 * (column "keywords") */
	/*
	 * The near side as last synced.  Equal to far_flags/far_keywords
	 * after a two-way sync; they differ when the policy carries flags
	 * one way only, and each side's changes are measured against its
	 * own.
	 */
	unsigned near_flags;
	char *near_keywords; /* never NULL */
	uint64_t size;	     /* canonical size, at most 2^63-1 */
	int64_t date;	     /* internal date */
	char *msgid;	     /* Message-ID or NULL */
	enum state_pending pending;
	/*
	 * What the pending action needs to be finished; only the field of
	 * the row's kind is stored, the others are 0/NULL after a load.
	 * The database keeps it in one column (pending_arg), as text that
	 * state.c alone encodes and decodes.
	 */
	/* PULL, PUSH: the destination's UIDNEXT before the APPEND, what a
	 * lost APPENDUID is looked for from; 0: not known or no UIDs there,
	 * the whole folder is looked at */
	uint32_t pending_uidnext;
	char *pending_key; /* FETCH: the full copy's key */
	/* MOVE: the journal; NULL: none stored (move.c always stores one;
	 * recovery leaves a row without one to the folders' syncs) */
	const struct move_journal *pending_move;
	/*
	 * The near copy is a header-only placeholder (max_size) and size is
	 * the far message's; it is never copied to the far side.  Schema v2.
	 */
	bool placeholder;
};

struct state_msg_list {
	struct state_msg *v; /* sorted by far_uid, then near key/uid */
	size_t n;
};

/*
 * A stored pending_arg that does not decode as its kind says (a move
 * journal move_journal_parse() refuses) fails the load with MF_E_STATE
 * naming the file and the row.  For PULL and PUSH anything but a UIDNEXT
 * reads as 0: a row copied again keeps the text of an earlier kind, and 0
 * is what the planner has always taken it for.
 */
int state_msgs_load(struct state_db *db, int64_t box_id,
		    struct state_msg_list **list_r, struct mf_err *err);
/* An empty list for a folder with no rows yet; free it the same way. */
struct state_msg_list *state_msg_list_empty(void);
void state_msg_list_free(struct state_msg_list **list);

/* Set m->pending to STATE_PENDING_NONE and clear the fields that go with
 * the other kinds. */
void state_msg_clear_pending(struct state_msg *m);

/* Insert (sets m->rowid), update all columns of m->rowid, delete.  Update
 * and delete of a row that does not exist fail.  far_keywords and
 * near_keywords NULL are stored as "". */
int state_msg_insert(struct state_db *db, int64_t box_id, struct state_msg *m,
		     struct mf_err *err);
int state_msg_update(struct state_db *db, const struct state_msg *m,
		     struct mf_err *err);
int state_msg_delete(struct state_db *db, int64_t rowid, struct mf_err *err);

/*
 * A side whose UIDVALIDITY changed: the UIDs its rows recorded mean
 * nothing there, and a row written now with a UID of the new numbering
 * may meet a row still holding the same number from the old one (the
 * index on (box_id, far_uid) and (box_id, near_uid) is unique).  Moves
 * the row of box_id holding uid on side far (or near) out of the way, to
 * one above every UID the box records: as meaningless as before, still
 * on that side (0 would say "not there"), matched again by identity like
 * the others (plan.c, find_row_msgs()).  Nothing if no row holds it (or
 * the box records UID 4294967295 already: the write then fails as it
 * would have).  Inside a transaction.
 */
int state_msg_park_uid(struct state_db *db, int64_t box_id, bool far,
		       uint32_t uid, struct mf_err *err);

/* Number of message rows of a box (for status without network). */
int state_msg_count(struct state_db *db, int64_t box_id, uint64_t *count_r,
		    struct mf_err *err);

/* Number of message rows of a box with pending != STATE_PENDING_NONE:
 * a folder with interrupted copies is never skipped. */
int state_msg_count_pending(struct state_db *db, int64_t box_id,
			    uint64_t *count_r, struct mf_err *err);

/* Number of placeholder rows of a box (status, and "fetch" skips a box
 * without any). */
int state_msg_count_placeholders(struct state_db *db, int64_t box_id,
				 uint64_t *count_r, struct mf_err *err);

#endif
