/*
 * The state database; the contract is in state.h.  This is the only file
 * that speaks SQL.
 *
 * Opening happens in two steps so that a file we must refuse is never
 * written to.  A read-only connection first inspects the file: is it SQLite
 * at all, is its application_id ours, which schema version, does
 * quick_check pass.  Only when all of that is fine does a read-write
 * connection set the pragmas and create or migrate the schema.  A read-only
 * connection cannot change the database file: it opens it O_RDONLY, will not
 * roll back a hot journal and cannot checkpoint a WAL into it.  (It may
 * create the empty -wal and -shm side files of a WAL database.)
 *
 * Schema versions: migrations[v] takes the schema from version v to v + 1,
 * and a brand-new file is simply version 0, so creating and upgrading are
 * the same loop, run in one transaction.  A new schema is one more
 * function at the end of that array and STATE_SCHEMA_VERSION bumped in
 * state.h.  v2 added msgs.placeholder (max_size placeholders).
 *
 * Numbers: SQLite integers are signed 64-bit.  UIDs, UIDVALIDITY and the
 * like are uint32 and fit; a mod-sequence is at most 2^63-1 (RFC 7162
 * section 3.1, "positive unsigned 63-bit") and so fits, and a larger value
 * is refused rather than wrapped; a message size is bounded the same way.
 * The maildir directory token is an opaque 64-bit value whose bits are
 * stored as they are (cast to int64 and back).
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "move-journal.h"

/*
 * Another process may hold a lock for a moment: "status" reading while a
 * sync commits, a WAL checkpoint, recovery after a crash.  Waiting a few
 * seconds turns those into a short pause instead of an error.  Two syncs of
 * one channel are kept apart by the channel lock, not by this.
 */
#define STATE_BUSY_TIMEOUT_MS 5000

/* One prepared statement per query, prepared on first use. */
enum stmt {
	ST_BEGIN_WRITE,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_META_GET,
	ST_META_SET,
	ST_META_DELETE,
	ST_BOX_LIST,
	ST_BOX_ADD,
	ST_BOX_UPDATE,
	ST_BOX_DELETE,
	ST_MSG_LOAD,
	ST_MSG_INSERT,
	ST_MSG_UPDATE,
	ST_MSG_DELETE,
	ST_MSG_COUNT,
	ST_MSG_COUNT_PENDING,
	ST_MSG_COUNT_PLACEHOLDERS,
	ST_MSG_PARK_FAR,
	ST_MSG_PARK_NEAR,
	ST_N
};

#define BOX_SIDE_COLS(side) \
	side "_uidvalidity, " side "_uidnext, " side "_messages, " side \
	     "_highestmodseq, " side "_dir_token"
/* bound as ?1..?15 by bind_box(); the MAILBOXIDs last, as v3 added them */
#define BOX_COLS \
	"far_name, near_name, " BOX_SIDE_COLS("far") ", " BOX_SIDE_COLS( \
		"near") ", last_sync, far_mailboxid, near_mailboxid"
/* bound as ?1..?13 by bind_msg(), read as columns 1..13 by msg_row() */
#define MSG_COLS \
	"far_uid, near_uid, near_key, flags, keywords, " \
	"near_flags, near_keywords, size, date, msgid, pending, pending_arg, " \
	"placeholder"

/* state_msg_park_uid() */
#define MSG_PARK(side) \
	"UPDATE msgs SET " side "_uid = (SELECT max(" side "_uid) + 1 " \
	"FROM msgs WHERE box_id = ?1) WHERE box_id = ?1 AND " side \
	"_uid = ?2 AND (SELECT max(" side "_uid) FROM msgs " \
	"WHERE box_id = ?1) < 4294967295"
static const char *const stmt_sql[ST_N] = {
	/* IMMEDIATE: take the write lock now.  A deferred transaction that
	 * reads and then writes can fail with SQLITE_BUSY in WAL mode without
	 * the busy timeout helping, when another writer committed between. */
	[ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			"ON CONFLICT (key) DO UPDATE "
			"SET value = excluded.value",
	[ST_META_DELETE] = "DELETE FROM meta WHERE key = ?1",
	[ST_BOX_LIST] = "SELECT id, " BOX_COLS " FROM boxes ORDER BY id",
	[ST_BOX_ADD] = "INSERT INTO boxes (" BOX_COLS ") VALUES "
		       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		       "?13, ?14, ?15)",
	[ST_BOX_UPDATE] = "UPDATE boxes SET (" BOX_COLS ") = "
			  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
			  "?13, ?14, ?15) WHERE id = ?16",
	[ST_BOX_DELETE] = "DELETE FROM boxes WHERE id = ?1",
	/* NULL near keys sort first, as do rows with far_uid 0 */
	[ST_MSG_LOAD] = "SELECT id, " MSG_COLS " FROM msgs WHERE box_id = ?1 "
			"ORDER BY far_uid, near_key, near_uid",
	[ST_MSG_INSERT] = "INSERT INTO msgs (" MSG_COLS ", box_id) VALUES "
			  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
			  "?13, ?14)",
	[ST_MSG_UPDATE] = "UPDATE msgs SET (" MSG_COLS ") = "
			  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
			  "?13) WHERE id = ?14",
	[ST_MSG_DELETE] = "DELETE FROM msgs WHERE id = ?1",
	[ST_MSG_COUNT] = "SELECT count(*) FROM msgs WHERE box_id = ?1",
	[ST_MSG_COUNT_PENDING] = "SELECT count(*) FROM msgs "
				 "WHERE box_id = ?1 AND pending != 0",
	[ST_MSG_COUNT_PLACEHOLDERS] = "SELECT count(*) FROM msgs "
				      "WHERE box_id = ?1 AND placeholder != 0",
	[ST_MSG_PARK_FAR] = MSG_PARK("far"),
	[ST_MSG_PARK_NEAR] = MSG_PARK("near"),
};

struct state_db {
	sqlite3 *sql;
	char *path;
	bool readonly;
	bool verified; /* quick_check passed on this connection */
	sqlite3_stmt *stmts[ST_N];
};

/*
 * Schema v1.
 *
 * Ids are INTEGER PRIMARY KEY AUTOINCREMENT: an alias of the rowid, so
 * VACUUM cannot renumber them, and never reused, so an id the engine
 * journaled before a crash cannot name a different row afterwards.
 *
 * The CHECK constraints keep every value in the range of the C type it is
 * loaded into; the loaders check again, as the file may come from anywhere.
 *
 * Indexes: (box_id, far_uid) and (box_id, near_uid) are unique where set;
 * (box_id, near_key) is unique (NULLs are distinct in a unique index, so
 * many rows may lack a key) and, being complete, also serves "all rows of a
 * box" and the ON DELETE CASCADE of a box.  msgs_pending is a small partial
 * index so "status" counts pending rows without reading them all.
 */
static const char schema_v1[] =
	"CREATE TABLE meta (\n"
	"	key TEXT PRIMARY KEY NOT NULL,\n"
	"	value TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE boxes (\n"
	"	id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"	far_name TEXT NOT NULL UNIQUE,\n"
	"	near_name TEXT NOT NULL UNIQUE,\n"
	"	far_uidvalidity INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (far_uidvalidity BETWEEN 0 AND 4294967295),\n"
	"	far_uidnext INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (far_uidnext BETWEEN 0 AND 4294967295),\n"
	"	far_messages INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (far_messages BETWEEN 0 AND 4294967295),\n"
	"	far_highestmodseq INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (far_highestmodseq >= 0),\n"
	"	far_dir_token INTEGER NOT NULL DEFAULT 0,\n"
	"	near_uidvalidity INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (near_uidvalidity BETWEEN 0 AND 4294967295),\n"
	"	near_uidnext INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (near_uidnext BETWEEN 0 AND 4294967295),\n"
	"	near_messages INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (near_messages BETWEEN 0 AND 4294967295),\n"
	"	near_highestmodseq INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (near_highestmodseq >= 0),\n"
	"	near_dir_token INTEGER NOT NULL DEFAULT 0,\n"
	"	last_sync INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE TABLE msgs (\n"
	"	id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"	box_id INTEGER NOT NULL\n"
	"		REFERENCES boxes (id) ON DELETE CASCADE,\n"
	"	far_uid INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (far_uid BETWEEN 0 AND 4294967295),\n"
	"	near_uid INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (near_uid BETWEEN 0 AND 4294967295),\n"
	"	near_key TEXT,\n"
	"	flags INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (flags BETWEEN 0 AND 4294967295),\n"
	"	keywords TEXT NOT NULL DEFAULT '',\n"
	"	near_flags INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (near_flags BETWEEN 0 AND 4294967295),\n"
	"	near_keywords TEXT NOT NULL DEFAULT '',\n"
	"	size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),\n"
	"	date INTEGER NOT NULL DEFAULT 0,\n"
	"	msgid TEXT,\n"
	"	pending INTEGER NOT NULL DEFAULT 0\n"
	"		CHECK (pending BETWEEN 0 AND 255),\n"
	"	pending_arg TEXT\n"
	");\n"
	"CREATE UNIQUE INDEX msgs_far_uid ON msgs (box_id, far_uid)\n"
	"	WHERE far_uid != 0;\n"
	"CREATE UNIQUE INDEX msgs_near_uid ON msgs (box_id, near_uid)\n"
	"	WHERE near_uid != 0;\n"
	"CREATE UNIQUE INDEX msgs_near_key ON msgs (box_id, near_key);\n"
	"CREATE INDEX msgs_pending ON msgs (box_id) WHERE pending != 0;\n";

/*
 * Schema v2: a near copy may be a header-only placeholder for a message
 * larger than max_size.  A column of its own, not a pending value, since
 * a placeholder is a lasting state (flags sync on it for months) and not
 * an interrupted action.  No index: status counts it per box, as rare as
 * the rows are, and a full scan of one box's rows is what a sync reads
 * anyway.
 */
static const char schema_v2[] =
	"ALTER TABLE msgs ADD COLUMN placeholder INTEGER NOT NULL DEFAULT 0\n"
	"	CHECK (placeholder IN (0, 1));\n";

/*
 * Schema v3: each side's RFC 8474 MAILBOXID, "" where unknown (older
 * rows, maildir, servers without OBJECTID).  Text, bounded as section 7
 * bounds an objectid; the loader checks the characters again.
 */
static const char schema_v3[] =
	"ALTER TABLE boxes ADD COLUMN far_mailboxid TEXT NOT NULL DEFAULT ''\n"
	"	CHECK (length(far_mailboxid) <= 255);\n"
	"ALTER TABLE boxes ADD COLUMN near_mailboxid TEXT NOT NULL DEFAULT ''\n"
	"	CHECK (length(near_mailboxid) <= 255);\n";

static int migrate_v1(struct state_db *db, struct mf_err *err);
static int migrate_v2(struct state_db *db, struct mf_err *err);
static int migrate_v3(struct state_db *db, struct mf_err *err);

typedef int migrate_fn(struct state_db *db, struct mf_err *err);

/* migrations[v] takes the schema from version v to v + 1 */
static migrate_fn *const migrations[] = {
	migrate_v1,
	migrate_v2,
	migrate_v3,
};
_Static_assert(MF_N_ELEMENTS(migrations) == STATE_SCHEMA_VERSION,
	       "one migration per schema version");
/* flag columns hold uint32 values and load into unsigned */
_Static_assert(UINT_MAX >= UINT32_MAX, "unsigned holds 32 bits");

/* "PATH: what: sqlite3_errmsg" */
static int MF_PRINTF(3, 4)
	db_fail(struct state_db *db, struct mf_err *err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mf_err_set(err, MF_E_STATE, "%s: %s: %s", db->path, what,
			  sqlite3_errmsg(db->sql));
}

/*
 * Like db_fail, for the steps of opening: the two failures a user can
 * cause by pointing us at the wrong file get plain words.
 */
static int
open_fail(struct state_db *db, struct mf_err *err, const char *what)
{
	switch (sqlite3_errcode(db->sql) & 0xff) {
	case SQLITE_NOTADB:
		return mf_err_set(err, MF_E_STATE,
				  "%s: not a mailferry state database: %s",
				  db->path, sqlite3_errmsg(db->sql));
	case SQLITE_CORRUPT:
		return mf_err_set(err, MF_E_STATE,
				  "%s: state database is corrupt: %s", db->path,
				  sqlite3_errmsg(db->sql));
	default:
		return db_fail(db, err, "%s", what);
	}
}

static int
stmt_get(struct state_db *db, enum stmt id, sqlite3_stmt **st_r,
	 struct mf_err *err)
{
	if (db->stmts[id] == NULL &&
	    sqlite3_prepare_v3(db->sql, stmt_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &db->stmts[id],
			       NULL) != SQLITE_OK) {
		db->stmts[id] = NULL;
		return db_fail(db, err, "prepare \"%s\"", stmt_sql[id]);
	}
	*st_r = db->stmts[id];
	return 0;
}

/* Step a statement that returns no rows, then reset it. */
static int
stmt_done(struct state_db *db, sqlite3_stmt *st, const char *what,
	  struct mf_err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc == SQLITE_ROW)
		mf_err_set(err, MF_E_STATE, "%s: %s: unexpected result row",
			   db->path, what);
	else
		db_fail(db, err, "%s", what);
	sqlite3_reset(st);
	return -1;
}

/* Step a "SELECT count(*)" and reset it. */
static int
stmt_count(struct state_db *db, sqlite3_stmt *st, const char *what,
	   uint64_t *count_r, struct mf_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_int64 n;

	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			mf_err_set(err, MF_E_STATE, "%s: %s: no result row",
				   db->path, what);
		else
			db_fail(db, err, "%s", what);
		sqlite3_reset(st);
		return -1;
	}
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (n < 0)
		return mf_err_set(err, MF_E_STATE, "%s: %s: negative count",
				  db->path, what);
	*count_r = (uint64_t)n;
	return 0;
}

/* The contract says every change happens inside a transaction; a change
 * outside one is a bug of the caller (and would cost an fsync each). */
static int
need_txn(struct state_db *db, const char *what, struct mf_err *err)
{
	if (sqlite3_get_autocommit(db->sql))
		return mf_err_set(err, MF_E_INTERNAL,
				  "%s: %s outside a transaction", db->path,
				  what);
	return 0;
}

/* Run one-off SQL (pragmas, DDL) that is not worth a kept statement. */
static int
exec_sql(struct state_db *db, const char *sql, const char *what,
	 struct mf_err *err)
{
	if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
		return open_fail(db, err, what);
	return 0;
}

/* Read the single integer a pragma or query returns. */
static int
query_int(struct state_db *db, const char *sql, int64_t *val_r,
	  struct mf_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return open_fail(db, err, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			mf_err_set(err, MF_E_STATE, "%s: %s: no result row",
				   db->path, sql);
		else
			open_fail(db, err, sql);
		sqlite3_finalize(st);
		return -1;
	}
	*val_r = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* What the file holds, read before anything is written. */
struct inspection {
	int64_t app_id;
	int64_t version;
	int64_t nobjects; /* tables, indexes, ... in sqlite_schema */
};

static int
inspect(struct state_db *db, struct inspection *in, struct mf_err *err)
{
	/* application_id reads the header first, so a file that is not
	 * SQLite fails here with SQLITE_NOTADB */
	if (query_int(db, "PRAGMA application_id", &in->app_id, err) < 0 ||
	    query_int(db, "PRAGMA user_version", &in->version, err) < 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master", &in->nobjects,
		      err) < 0)
		return -1;
	return 0;
}

static bool
inspection_is_new(const struct inspection *in)
{
	return in->app_id == 0 && in->version == 0 && in->nobjects == 0;
}

/* Refuse what is not ours or too new; nothing has been written yet. */
static int
inspection_check(struct state_db *db, const struct inspection *in,
		 struct mf_err *err)
{
	if (inspection_is_new(in))
		return 0;
	if (in->app_id != STATE_APPLICATION_ID)
		return mf_err_set(err, MF_E_STATE,
				  "%s: not a mailferry state database "
				  "(application_id 0x%08" PRIx32 ")",
				  db->path, (uint32_t)in->app_id);
	if (in->version > STATE_SCHEMA_VERSION)
		return mf_err_set(err, MF_E_STATE,
				  "%s: state database schema version %" PRId64
				  " is newer than this mailferry supports (%d);"
				  " upgrade mailferry",
				  db->path, in->version, STATE_SCHEMA_VERSION);
	if (in->version < 1)
		return mf_err_set(err, MF_E_STATE,
				  "%s: state database has no schema version "
				  "(user_version %" PRId64 ")",
				  db->path, in->version);
	return 0;
}

/* PRAGMA quick_check: O(file size), catches damaged pages and indexes. */
static int
quick_check(struct state_db *db, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	char *p;
	int rc;

	if (sqlite3_prepare_v2(db->sql, "PRAGMA quick_check(1)", -1, &st,
			       NULL) != SQLITE_OK)
		return open_fail(db, err, "quick_check");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		open_fail(db, err, "quick_check");
		sqlite3_finalize(st);
		return -1;
	}
	res = (const char *)sqlite3_column_text(st, 0);
	if (res == NULL || strcmp(res, "ok") != 0) {
		mf_err_set(err, MF_E_STATE,
			   "%s: state database is corrupt: "
			   "quick_check: %s",
			   db->path, res != NULL ? res : "no result");
		sqlite3_finalize(st);
		/* the report spans lines; an error message is one line */
		if (err != NULL)
			for (p = err->msg; *p != '\0'; p++)
				if (*p == '\n')
					*p = ' ';
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/*
 * Settings for every connection.  Defensive mode refuses the few SQL
 * features that can corrupt a file on purpose (writable_schema and the
 * like); trusted_schema off means a schema found in the file cannot call
 * functions with side effects.  Neither costs us anything.
 */
static int
configure(struct state_db *db, struct mf_err *err)
{
	sqlite3_extended_result_codes(db->sql, 1);
	if (sqlite3_busy_timeout(db->sql, STATE_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
		    SQLITE_OK ||
	    sqlite3_db_config(db->sql, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
			      NULL) != SQLITE_OK)
		return db_fail(db, err, "configure");
	if (db->readonly)
		return exec_sql(db, "PRAGMA query_only = ON", "query_only",
				err);
	return 0;
}

/*
 * Pragmas of the read-write connection.
 *
 * foreign_keys is off by default in every new connection; without it
 * "ON DELETE CASCADE" silently does nothing and deleting a folder pair
 * would leave its message rows behind.
 *
 * journal_mode=WAL: readers ("status") do not block the writer and the
 * writer does not block them, and a commit is one sequential append.
 * It is a property of the file, set once.
 *
 * synchronous=FULL: in WAL mode NORMAL keeps the file consistent but may
 * lose the last commits on power loss.  The engine commits "this mail is
 * now on both sides" only after the mail is durable; losing that commit
 * would make the next run see the copies as new mail and copy them again.
 * FULL costs one WAL fsync per commit, and the engine commits per batch.
 */
static int
configure_rw(struct state_db *db, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	bool is_wal;

	if (exec_sql(db, "PRAGMA foreign_keys = ON", "foreign_keys", err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st,
			       NULL) != SQLITE_OK)
		return open_fail(db, err, "journal_mode");
	if (sqlite3_step(st) != SQLITE_ROW) {
		open_fail(db, err, "journal_mode");
		sqlite3_finalize(st);
		return -1;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	is_wal = mode != NULL && strcmp(mode, "wal") == 0;
	/* WAL needs shared memory, which some network file systems lack;
	 * the rollback journal with synchronous=FULL is just as safe */
	if (!is_wal)
		mf_log(MF_LOG_WARN, MF_LOGC_STATE,
		       "%s: WAL journal not available, using journal mode %s",
		       db->path, mode != NULL ? mode : "?");
	sqlite3_finalize(st);
	return exec_sql(db, "PRAGMA synchronous = FULL", "synchronous", err);
}

static int
migrate_v1(struct state_db *db, struct mf_err *err)
{
	return exec_sql(db, schema_v1, "create schema v1", err);
}

static int
migrate_v2(struct state_db *db, struct mf_err *err)
{
	return exec_sql(db, schema_v2, "migrate to schema v2", err);
}

static int
migrate_v3(struct state_db *db, struct mf_err *err)
{
	return exec_sql(db, schema_v3, "migrate to schema v3", err);
}

/*
 * Create or upgrade the schema in one transaction.  The inspection is
 * repeated under the write lock: another mailferry may have done the work
 * (or put something else there) since we looked.
 */
static int
migrate(struct state_db *db, struct mf_err *err)
{
	struct inspection in;
	char sql[128];
	int64_t v;

	if (exec_sql(db, "BEGIN IMMEDIATE", "begin", err) < 0)
		return -1;
	if (inspect(db, &in, err) < 0 || inspection_check(db, &in, err) < 0)
		goto fail;
	for (v = in.version; v < STATE_SCHEMA_VERSION; v++) {
		mf_debug(MF_LOGC_STATE, "%s: schema %" PRId64 " -> %" PRId64,
			 db->path, v, v + 1);
		if (migrations[v](db, err) < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %d; "
		 "PRAGMA user_version = %d",
		 STATE_APPLICATION_ID, STATE_SCHEMA_VERSION);
	if (exec_sql(db, sql, "set schema version", err) < 0 ||
	    exec_sql(db, "COMMIT", "commit", err) < 0)
		goto fail;
	if (in.version == 0)
		mf_debug(MF_LOGC_STATE, "%s: created state database", db->path);
	else if (in.version < STATE_SCHEMA_VERSION)
		mf_log(MF_LOG_NOTICE, MF_LOGC_STATE,
		       "%s: state database upgraded from schema %" PRId64
		       " to %d",
		       db->path, in.version, STATE_SCHEMA_VERSION);
	return 0;
fail:
	sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Create the file ourselves so its mode is 0600 whatever the umask (SQLite
 * would use 0644 & ~umask); the -wal and -shm files copy the mode of the
 * database.  A missing parent directory is created 0700.  The directory is
 * fsynced once, so the new name survives a power loss.
 */
static int
create_file(struct state_db *db, struct mf_err *err)
{
	char *dir = xstrdup(db->path), *slash = strrchr(dir, '/');
	int fd, ret = -1;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
	fd = open(db->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && dir[0] != '\0') {
		if (mf_mkdir_p(dir, 0700, err) < 0) {
			err->cls = MF_E_STATE;
			goto out;
		}
		fd = open(db->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  0600);
	}
	if (fd < 0) {
		if (errno == EEXIST)
			ret = 0;
		else
			mf_err_sys(err, MF_E_STATE, "%s: create", db->path);
		goto out;
	}
	if (fchmod(fd, 0600) < 0) {
		mf_err_sys(err, MF_E_STATE, "%s: chmod", db->path);
		close(fd);
		goto out;
	}
	close(fd);
	ret = mf_fsync_dir(dir[0] != '\0' ? dir : ".", err);
	if (ret < 0)
		err->cls = MF_E_STATE;
out:
	free(dir);
	return ret;
}

static int
db_connect(struct state_db *db, int flags, struct mf_err *err)
{
	int rc = sqlite3_open_v2(db->path, &db->sql, flags, NULL);

	if (rc != SQLITE_OK) {
		if (db->sql != NULL)
			db_fail(db, err, "open");
		else
			mf_err_set(err, MF_E_STATE, "%s: open: %s", db->path,
				   sqlite3_errstr(rc));
		return -1;
	}
	return configure(db, err);
}

static void
db_disconnect(struct state_db *db)
{
	size_t i;

	for (i = 0; i < ST_N; i++) {
		sqlite3_finalize(db->stmts[i]);
		db->stmts[i] = NULL;
	}
	if (db->sql != NULL && sqlite3_close(db->sql) != SQLITE_OK)
		mf_log(MF_LOG_WARN, MF_LOGC_STATE, "%s: close: %s", db->path,
		       sqlite3_errmsg(db->sql));
	db->sql = NULL;
}

int
state_open(const char *path, bool readonly, struct state_db **db_r,
	   struct mf_err *err)
{
	struct state_db *db = xcalloc(1, sizeof(*db));
	struct inspection in;
	struct stat stbuf;

	db->path = xstrdup(path);
	db->readonly = readonly;
	if (readonly) {
		if (stat(path, &stbuf) < 0) {
			mf_err_sys(err, MF_E_STATE, "%s: open", path);
			goto fail;
		}
	} else if (create_file(db, err) < 0) {
		goto fail;
	}
	if (db_connect(db, SQLITE_OPEN_READONLY, err) < 0 ||
	    inspect(db, &in, err) < 0 || inspection_check(db, &in, err) < 0)
		goto fail;
	/*
	 * quick_check reads the whole file: at 50,000 messages it was most
	 * of a no-op sync's time.  A reader checks now; a writer checks
	 * before its first write (state_begin) or before a migration, so a
	 * run that changes nothing does not pay for it, and a damaged file is
	 * still never written to.  Reads of a damaged page fail on their own
	 * with SQLITE_CORRUPT.
	 */
	if (inspection_is_new(&in))
		db->verified = true;
	else if ((readonly || in.version < STATE_SCHEMA_VERSION) &&
		 quick_check(db, err) < 0)
		goto fail;
	else if (readonly || in.version < STATE_SCHEMA_VERSION)
		db->verified = true;
	if (readonly) {
		if (inspection_is_new(&in)) {
			mf_err_set(err, MF_E_STATE,
				   "%s: state database is "
				   "empty (never written)",
				   path);
			goto fail;
		}
		if (in.version < STATE_SCHEMA_VERSION) {
			mf_err_set(err, MF_E_STATE,
				   "%s: state database "
				   "schema version %" PRId64 " is older than "
				   "this mailferry's (%d); a sync upgrades it",
				   path, in.version, STATE_SCHEMA_VERSION);
			goto fail;
		}
		*db_r = db;
		return 0;
	}

	db_disconnect(db);
	if (db_connect(db, SQLITE_OPEN_READWRITE, err) < 0)
		goto fail;
	/* SQLite falls back to read-only when the file is not writable */
	if (sqlite3_db_readonly(db->sql, "main") == 1) {
		mf_err_set(err, MF_E_STATE,
			   "%s: state database is not "
			   "writable",
			   path);
		goto fail;
	}
	if (configure_rw(db, err) < 0)
		goto fail;
	if (in.version < STATE_SCHEMA_VERSION && migrate(db, err) < 0)
		goto fail;
	*db_r = db;
	return 0;
fail:
	state_close(&db);
	return -1;
}

void
state_close(struct state_db **dbp)
{
	struct state_db *db = *dbp;

	if (db == NULL)
		return;
	db_disconnect(db);
	free(db->path);
	free(db);
	*dbp = NULL;
}

int
state_begin(struct state_db *db, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (!db->verified && !db->readonly) {
		if (quick_check(db, err) < 0)
			return -1;
		db->verified = true;
	}
	if (stmt_get(db, db->readonly ? ST_BEGIN_READ : ST_BEGIN_WRITE, &st,
		     err) < 0)
		return -1;
	return stmt_done(db, st, "begin transaction", err);
}

int
state_commit(struct state_db *db, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (stmt_get(db, ST_COMMIT, &st, err) < 0)
		return -1;
	return stmt_done(db, st, "commit", err);
}

void
state_rollback(struct state_db *db)
{
	struct mf_err err = { 0 };
	sqlite3_stmt *st = NULL;

	/* some errors (SQLITE_FULL, IOERR) end the transaction themselves */
	if (sqlite3_get_autocommit(db->sql))
		return;
	if (stmt_get(db, ST_ROLLBACK, &st, &err) < 0 ||
	    stmt_done(db, st, "rollback", &err) < 0)
		mf_log(MF_LOG_WARN, MF_LOGC_STATE, "%s", err.msg);
}

/* Copy a text column; NULL stays NULL. */
static char *
column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);

	if (text == NULL)
		return NULL;
	return xstrndup((const char *)text,
			(size_t)sqlite3_column_bytes(st, col));
}

int
state_meta_get(struct state_db *db, const char *key, char **value_r,
	       struct mf_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*value_r = NULL;
	if (stmt_get(db, ST_META_GET, &st, err) < 0)
		return -1;
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return db_fail(db, err, "meta %s", key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value_r = column_dup(st, 0);
	else if (rc != SQLITE_DONE)
		db_fail(db, err, "meta %s", key);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
state_meta_set(struct state_db *db, const char *key, const char *value,
	       struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (need_txn(db, "set meta", err) < 0 ||
	    stmt_get(db, value != NULL ? ST_META_SET : ST_META_DELETE, &st,
		     err) < 0)
		return -1;
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    (value != NULL && sqlite3_bind_text(st, 2, value, -1,
						SQLITE_TRANSIENT) != SQLITE_OK))
		return db_fail(db, err, "set meta %s", key);
	return stmt_done(db, st, "set meta", err);
}

/* Values above INT64_MAX would wrap to negative numbers in SQLite. */
static int
check_u63(struct state_db *db, uint64_t val, const char *what, const char *name,
	  struct mf_err *err)
{
	if (val > INT64_MAX)
		return mf_err_set(err, MF_E_STATE,
				  "%s: %s: %s %" PRIu64
				  " is larger than 2^63-1",
				  db->path, what, name, val);
	return 0;
}

static int
check_box(struct state_db *db, const struct state_box *box, const char *what,
	  struct mf_err *err)
{
	if (box->far_name == NULL || box->near_name == NULL)
		return mf_err_set(err, MF_E_INTERNAL,
				  "%s: %s: folder name "
				  "missing",
				  db->path, what);
	/* RFC 7162 section 3.1: mod-sequences are 63-bit */
	if (check_u63(db, box->far.highestmodseq, what, "far HIGHESTMODSEQ",
		      err) < 0 ||
	    check_u63(db, box->near.highestmodseq, what, "near HIGHESTMODSEQ",
		      err) < 0)
		return -1;
	return 0;
}

/* Bind names and both sides as ?1..?13 (BOX_COLS). */
static int
bind_box(sqlite3_stmt *st, const struct state_box *box)
{
	const struct state_side *sides[] = { &box->far, &box->near };
	size_t i;
	int col = 3;

	if (sqlite3_bind_text(st, 1, box->far_name, -1, SQLITE_TRANSIENT) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(st, 2, box->near_name, -1, SQLITE_TRANSIENT) !=
		    SQLITE_OK)
		return -1;
	for (i = 0; i < MF_N_ELEMENTS(sides); i++) {
		const struct state_side *s = sides[i];

		if (sqlite3_bind_int64(st, col++, s->uidvalidity) !=
			    SQLITE_OK ||
		    sqlite3_bind_int64(st, col++, s->uidnext) != SQLITE_OK ||
		    sqlite3_bind_int64(st, col++, s->messages) != SQLITE_OK ||
		    sqlite3_bind_int64(st, col++,
				       (sqlite3_int64)s->highestmodseq) !=
			    SQLITE_OK ||
		    sqlite3_bind_int64(st, col++,
				       (sqlite3_int64)s->dir_token) !=
			    SQLITE_OK)
			return -1;
	}
	if (sqlite3_bind_int64(st, col++, box->last_sync) != SQLITE_OK)
		return -1;
	for (i = 0; i < MF_N_ELEMENTS(sides); i++)
		/* bounded: the array is the caller's, the terminator too */
		if (sqlite3_bind_text(st, col++, sides[i]->mailboxid,
				      (int)strnlen(sides[i]->mailboxid,
						   STATE_MAILBOXID_MAX),
				      SQLITE_TRANSIENT) != SQLITE_OK)
			return -1;
	return 0;
}

static bool
column_u32(sqlite3_stmt *st, int col, uint32_t *val_r)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	if (v < 0 || v > UINT32_MAX)
		return false;
	*val_r = (uint32_t)v;
	return true;
}

static bool
column_u63(sqlite3_stmt *st, int col, uint64_t *val_r)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	if (v < 0)
		return false;
	*val_r = (uint64_t)v;
	return true;
}

/* Read side columns starting at col (BOX_SIDE_COLS order). */
static bool
column_side(sqlite3_stmt *st, int col, struct state_side *s)
{
	if (!column_u32(st, col, &s->uidvalidity) ||
	    !column_u32(st, col + 1, &s->uidnext) ||
	    !column_u32(st, col + 2, &s->messages) ||
	    !column_u63(st, col + 3, &s->highestmodseq))
		return false;
	s->dir_token = (uint64_t)sqlite3_column_int64(st, col + 4);
	return true;
}

/*
 * A MAILBOXID column into out: an objectid (RFC 8474 section 7) or "".
 * Anything else (the file may come from anywhere) is loaded as unknown,
 * which only leaves a rename to the other evidence, rather than refused.
 */
static void
column_mailboxid(sqlite3_stmt *st, int col, char *out)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	size_t i, n = v != NULL ? strlen((const char *)v) : 0;

	out[0] = '\0';
	if (n > STATE_MAILBOXID_MAX)
		return;
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
		      v[i] == '-'))
			return;
	if (n > 0)
		memcpy(out, v, n + 1);
}

void
state_box_list_free(struct state_box_list **listp)
{
	struct state_box_list *list = *listp;
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++) {
		free(list->v[i].far_name);
		free(list->v[i].near_name);
	}
	free(list->v);
	free(list);
	*listp = NULL;
}

int
state_box_list(struct state_db *db, struct state_box_list **list_r,
	       struct mf_err *err)
{
	struct state_box_list *list = xcalloc(1, sizeof(*list));
	size_t cap = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	if (stmt_get(db, ST_BOX_LIST, &st, err) < 0) {
		free(list);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct state_box *box;

		if (list->n == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			list->v = xreallocarray(list->v, cap, sizeof(*list->v));
		}
		box = &list->v[list->n];
		memset(box, 0, sizeof(*box));
		box->id = sqlite3_column_int64(st, 0);
		box->far_name = column_dup(st, 1);
		box->near_name = column_dup(st, 2);
		list->n++;
		if (box->far_name == NULL || box->near_name == NULL ||
		    !column_side(st, 3, &box->far) ||
		    !column_side(st, 8, &box->near)) {
			mf_err_set(err, MF_E_STATE,
				   "%s: folder pair %" PRId64
				   ": value out of range",
				   db->path, box->id);
			break;
		}
		box->last_sync = sqlite3_column_int64(st, 13);
		column_mailboxid(st, 14, box->far.mailboxid);
		column_mailboxid(st, 15, box->near.mailboxid);
	}
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			db_fail(db, err, "list folder pairs");
		sqlite3_reset(st);
		state_box_list_free(&list);
		return -1;
	}
	sqlite3_reset(st);
	*list_r = list;
	return 0;
}

int
state_box_add(struct state_db *db, struct state_box *box, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (need_txn(db, "add folder pair", err) < 0 ||
	    check_box(db, box, "add folder pair", err) < 0 ||
	    stmt_get(db, ST_BOX_ADD, &st, err) < 0)
		return -1;
	if (bind_box(st, box) < 0)
		return db_fail(db, err, "add folder pair %s", box->far_name);
	if (stmt_done(db, st, "add folder pair", err) < 0)
		return mf_err_prefix(err, "%s", box->far_name);
	box->id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

/* After an UPDATE or DELETE by id: did it find the row? */
static int
check_changed(struct state_db *db, const char *what, int64_t id,
	      struct mf_err *err)
{
	if (sqlite3_changes(db->sql) != 1)
		return mf_err_set(err, MF_E_STATE,
				  "%s: %s %" PRId64 ": no such row", db->path,
				  what, id);
	return 0;
}

int
state_box_update(struct state_db *db, const struct state_box *box,
		 struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (need_txn(db, "update folder pair", err) < 0 ||
	    check_box(db, box, "update folder pair", err) < 0 ||
	    stmt_get(db, ST_BOX_UPDATE, &st, err) < 0)
		return -1;
	if (bind_box(st, box) < 0 ||
	    sqlite3_bind_int64(st, 16, box->id) != SQLITE_OK)
		return db_fail(db, err, "update folder pair %s", box->far_name);
	if (stmt_done(db, st, "update folder pair", err) < 0)
		return mf_err_prefix(err, "%s", box->far_name);
	return check_changed(db, "update folder pair", box->id, err);
}

int
state_box_delete(struct state_db *db, int64_t id, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (need_txn(db, "delete folder pair", err) < 0 ||
	    stmt_get(db, ST_BOX_DELETE, &st, err) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		return db_fail(db, err, "delete folder pair %" PRId64, id);
	if (stmt_done(db, st, "delete folder pair", err) < 0)
		return -1;
	return check_changed(db, "delete folder pair", id, err);
}

/*
 * A message list and its strings.  All strings of the list live in one
 * block, so loading 50,000 rows costs a handful of allocations and freeing
 * is two calls.  The public struct comes first, so the caller's pointer is
 * also a pointer to this.
 */
struct msg_list_block {
	struct state_msg_list list;
	char *strs;
	struct move_journals {
		struct move_journal **v; /* each its own allocation */
		size_t n, cap;
	} moves;
};

/* string columns of a row: near_key, keywords, near_keywords, msgid,
 * pending_arg (FETCH's key; the other kinds are decoded in place) */
#define MSG_NSTRS 5
#define NO_STR SIZE_MAX

/* Append a text column to the string block; *off_r is NO_STR for NULL. */
static bool
strs_put(sqlite3_stmt *st, int col, char **strs, size_t *len, size_t *cap,
	 size_t *off_r)
{
	const unsigned char *text;
	size_t n;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		*off_r = NO_STR;
		return true;
	}
	text = sqlite3_column_text(st, col);
	if (text == NULL) /* out of memory inside SQLite */
		return false;
	n = (size_t)sqlite3_column_bytes(st, col);
	if (*cap - *len < n + 1) {
		size_t want = *len + n + 1;

		while (*cap < want)
			*cap = *cap != 0 ? *cap * 2 : 4096;
		*strs = xrealloc(*strs, *cap);
	}
	memcpy(*strs + *len, text, n);
	(*strs)[*len + n] = '\0';
	*off_r = *len;
	*len += n + 1;
	return true;
}

static void
move_journals_free(struct move_journals *moves)
{
	size_t i;

	for (i = 0; i < moves->n; i++)
		free(moves->v[i]);
	free(moves->v);
	memset(moves, 0, sizeof(*moves));
}

/*
 * The pending_arg column (col) of a loaded row into the field of its kind
 * (state.h); a FETCH key goes to the string block at *key_off (NO_STR for
 * none).  The one place that reads the column; pending_arg_encode() writes
 * it.
 */
static int
pending_arg_decode(struct state_db *db, sqlite3_stmt *st, int col,
		   struct state_msg *m, struct move_journals *moves,
		   char **strs, size_t *len, size_t *cap, size_t *key_off,
		   struct mf_err *err)
{
	const char *text;
	struct move_journal *j;

	*key_off = NO_STR;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	switch (m->pending) {
	case STATE_PENDING_NONE:
		return 0; /* nothing reads it */
	case STATE_PENDING_FETCH:
		if (!strs_put(st, col, strs, len, cap, key_off))
			return db_fail(db, err, "message row %" PRId64,
				       m->rowid);
		return 0;
	case STATE_PENDING_PULL:
	case STATE_PENDING_PUSH:
	case STATE_PENDING_MOVE:
		break;
	}
	text = (const char *)sqlite3_column_text(st, col);
	if (text == NULL) /* out of memory inside SQLite */
		return db_fail(db, err, "message row %" PRId64, m->rowid);
	if (m->pending != STATE_PENDING_MOVE) {
		/* not a number: text an earlier kind left (state.h) */
		if (!mf_str_to_u32(text, strlen(text), &m->pending_uidnext))
			m->pending_uidnext = 0;
		return 0;
	}
	j = xmalloc(sizeof(*j));
	if (!move_journal_parse(text, j)) {
		free(j);
		return mf_err_set(err, MF_E_STATE,
				  "%s: message row %" PRId64
				  ": pending_arg is not a move journal this "
				  "version can read",
				  db->path, m->rowid);
	}
	if (moves->n == moves->cap) {
		moves->cap = moves->cap != 0 ? moves->cap * 2 : 8;
		moves->v = xreallocarray(moves->v, moves->cap,
					 sizeof(*moves->v));
	}
	moves->v[moves->n++] = j;
	m->pending_move = j;
	return 0;
}

static int
msg_row(struct state_db *db, sqlite3_stmt *st, struct state_msg *m,
	size_t *offs, char **strs, size_t *len, size_t *cap,
	struct move_journals *moves, struct mf_err *err)
{
	sqlite3_int64 v;
	uint32_t flags;

	memset(m, 0, sizeof(*m));
	m->rowid = sqlite3_column_int64(st, 0);
	if (!column_u32(st, 1, &m->far_uid) || !column_u32(st, 2, &m->near_uid))
		goto range;
	/* flags are a uint32 column; unsigned holds that (asserted above) */
	if (!column_u32(st, 4, &flags))
		goto range;
	m->far_flags = flags;
	if (!column_u32(st, 6, &flags))
		goto range;
	m->near_flags = flags;
	if (!column_u63(st, 8, &m->size))
		goto range;
	m->date = sqlite3_column_int64(st, 9);
	v = sqlite3_column_int64(st, 11);
	if (v < STATE_PENDING_NONE || v > STATE_PENDING_FETCH)
		goto range;
	m->pending = (enum state_pending)v;
	v = sqlite3_column_int64(st, 13);
	if (v != 0 && v != 1)
		goto range;
	m->placeholder = v != 0;
	if (!strs_put(st, 3, strs, len, cap, &offs[0]) ||
	    !strs_put(st, 5, strs, len, cap, &offs[1]) ||
	    !strs_put(st, 7, strs, len, cap, &offs[2]) ||
	    !strs_put(st, 10, strs, len, cap, &offs[3]))
		return db_fail(db, err, "message row %" PRId64, m->rowid);
	if (pending_arg_decode(db, st, 12, m, moves, strs, len, cap, &offs[4],
			       err) < 0)
		return -1;
	/* NOT NULL in the schema, and the contract says never NULL */
	if (offs[1] == NO_STR || offs[2] == NO_STR)
		goto range;
	return 0;
range:
	return mf_err_set(err, MF_E_STATE,
			  "%s: message row %" PRId64 ": value out of range",
			  db->path, m->rowid);
}

struct state_msg_list *
state_msg_list_empty(void)
{
	struct msg_list_block *block = xcalloc(1, sizeof(*block));

	return &block->list;
}

void
state_msg_list_free(struct state_msg_list **listp)
{
	struct msg_list_block *block = (struct msg_list_block *)*listp;

	if (block == NULL)
		return;
	free(block->list.v);
	free(block->strs);
	move_journals_free(&block->moves);
	free(block);
	*listp = NULL;
}

int
state_msgs_load(struct state_db *db, int64_t box_id,
		struct state_msg_list **list_r, struct mf_err *err)
{
	struct msg_list_block *block;
	struct state_msg *v = NULL;
	size_t n = 0, cap = 0, slen = 0, scap = 0, i;
	size_t *offs = NULL; /* MSG_NSTRS per row, into strs */
	char *strs = NULL;
	struct move_journals moves = { 0 };
	sqlite3_stmt *st = NULL;
	int rc;

	if (stmt_get(db, ST_MSG_LOAD, &st, err) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, box_id) != SQLITE_OK)
		return db_fail(db, err, "load messages of folder pair %" PRId64,
			       box_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap != 0 ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof(*v));
			offs = xreallocarray(offs, cap,
					     MSG_NSTRS * sizeof(*offs));
		}
		if (msg_row(db, st, &v[n], &offs[n * MSG_NSTRS], &strs, &slen,
			    &scap, &moves, err) < 0)
			break;
		n++;
	}
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			db_fail(db, err,
				"load messages of folder pair %" PRId64,
				box_id);
		sqlite3_reset(st);
		free(v);
		free(offs);
		free(strs);
		move_journals_free(&moves);
		return -1;
	}
	sqlite3_reset(st);

	/* the block has stopped moving: turn offsets into pointers */
	for (i = 0; i < n; i++) {
		const size_t *o = &offs[i * MSG_NSTRS];

		v[i].near_key = o[0] != NO_STR ? strs + o[0] : NULL;
		v[i].far_keywords = strs + o[1];
		v[i].near_keywords = strs + o[2];
		v[i].msgid = o[3] != NO_STR ? strs + o[3] : NULL;
		v[i].pending_key = o[4] != NO_STR ? strs + o[4] : NULL;
	}
	free(offs);
	block = xcalloc(1, sizeof(*block));
	block->list.v = v;
	block->list.n = n;
	block->strs = strs;
	block->moves = moves;
	*list_r = &block->list;
	return 0;
}

/* Bind text, or NULL for a NULL pointer. */
static int
bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, col);
	return sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT);
}

void
state_msg_clear_pending(struct state_msg *m)
{
	m->pending = STATE_PENDING_NONE;
	m->pending_uidnext = 0;
	m->pending_key = NULL;
	m->pending_move = NULL;
}

/*
 * The text of m's pending_arg column (state.h): in buf (len at least
 * MOVE_JOURNAL_MAX) or m's own key; NULL for none.  The one place that
 * writes the column; pending_arg_decode() reads it.
 */
static int
pending_arg_encode(struct state_db *db, const struct state_msg *m, char *buf,
		   size_t len, const char **text_r, struct mf_err *err)
{
	*text_r = NULL;
	switch (m->pending) {
	case STATE_PENDING_NONE:
		return 0;
	case STATE_PENDING_PULL:
	case STATE_PENDING_PUSH:
		if (m->pending_uidnext != 0) {
			snprintf(buf, len, "%" PRIu32, m->pending_uidnext);
			*text_r = buf;
		}
		return 0;
	case STATE_PENDING_MOVE:
		if (m->pending_move == NULL)
			return 0;
		/* cannot fail: MOVE_JOURNAL_MAX holds the longest one */
		if (move_journal_format(m->pending_move, buf, len) < 0)
			return mf_err_set(err, MF_E_INTERNAL,
					  "%s: move "
					  "journal too long",
					  db->path);
		*text_r = buf;
		return 0;
	case STATE_PENDING_FETCH:
		*text_r = m->pending_key;
		return 0;
	}
	return mf_err_set(err, MF_E_INTERNAL, "%s: bad pending value %d",
			  db->path, (int)m->pending);
}

/* Bind the message columns as ?1..?13 (MSG_COLS); pending_arg is the
 * column's text (pending_arg_encode()). */
static int
bind_msg(sqlite3_stmt *st, const struct state_msg *m, const char *pending_arg)
{
	if (sqlite3_bind_int64(st, 1, m->far_uid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, m->near_uid) != SQLITE_OK ||
	    bind_text_or_null(st, 3, m->near_key) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, m->far_flags) != SQLITE_OK ||
	    bind_text_or_null(st, 5,
			      m->far_keywords != NULL ? m->far_keywords : "") !=
		    SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, m->near_flags) != SQLITE_OK ||
	    bind_text_or_null(st, 7,
			      m->near_keywords != NULL ? m->near_keywords :
							 "") != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, (sqlite3_int64)m->size) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 9, m->date) != SQLITE_OK ||
	    bind_text_or_null(st, 10, m->msgid) != SQLITE_OK ||
	    sqlite3_bind_int(st, 11, (int)m->pending) != SQLITE_OK ||
	    bind_text_or_null(st, 12, pending_arg) != SQLITE_OK ||
	    sqlite3_bind_int(st, 13, m->placeholder ? 1 : 0) != SQLITE_OK)
		return -1;
	return 0;
}

static int
check_msg(struct state_db *db, const struct state_msg *m, const char *what,
	  struct mf_err *err)
{
	if (m->pending < STATE_PENDING_NONE || m->pending > STATE_PENDING_FETCH)
		return mf_err_set(err, MF_E_INTERNAL,
				  "%s: %s: bad pending "
				  "value %d",
				  db->path, what, (int)m->pending);
	return check_u63(db, m->size, what, "size", err);
}

int
state_msg_insert(struct state_db *db, int64_t box_id, struct state_msg *m,
		 struct mf_err *err)
{
	sqlite3_stmt *st = NULL;
	char buf[MOVE_JOURNAL_MAX];
	const char *arg;

	if (need_txn(db, "insert message", err) < 0 ||
	    check_msg(db, m, "insert message", err) < 0 ||
	    pending_arg_encode(db, m, buf, sizeof(buf), &arg, err) < 0 ||
	    stmt_get(db, ST_MSG_INSERT, &st, err) < 0)
		return -1;
	if (bind_msg(st, m, arg) < 0 ||
	    sqlite3_bind_int64(st, 14, box_id) != SQLITE_OK)
		return db_fail(db, err, "insert message");
	if (stmt_done(db, st, "insert message", err) < 0)
		return -1;
	m->rowid = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

int
state_msg_update(struct state_db *db, const struct state_msg *m,
		 struct mf_err *err)
{
	sqlite3_stmt *st = NULL;
	char buf[MOVE_JOURNAL_MAX];
	const char *arg;

	if (need_txn(db, "update message", err) < 0 ||
	    check_msg(db, m, "update message", err) < 0 ||
	    pending_arg_encode(db, m, buf, sizeof(buf), &arg, err) < 0 ||
	    stmt_get(db, ST_MSG_UPDATE, &st, err) < 0)
		return -1;
	if (bind_msg(st, m, arg) < 0 ||
	    sqlite3_bind_int64(st, 14, m->rowid) != SQLITE_OK)
		return db_fail(db, err, "update message %" PRId64, m->rowid);
	if (stmt_done(db, st, "update message", err) < 0)
		return -1;
	return check_changed(db, "update message", m->rowid, err);
}

int
state_msg_delete(struct state_db *db, int64_t rowid, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (need_txn(db, "delete message", err) < 0 ||
	    stmt_get(db, ST_MSG_DELETE, &st, err) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, rowid) != SQLITE_OK)
		return db_fail(db, err, "delete message %" PRId64, rowid);
	if (stmt_done(db, st, "delete message", err) < 0)
		return -1;
	return check_changed(db, "delete message", rowid, err);
}

int
state_msg_park_uid(struct state_db *db, int64_t box_id, bool far, uint32_t uid,
		   struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (need_txn(db, "park a UID", err) < 0 ||
	    stmt_get(db, far ? ST_MSG_PARK_FAR : ST_MSG_PARK_NEAR, &st, err) <
		    0)
		return -1;
	if (sqlite3_bind_int64(st, 1, box_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, uid) != SQLITE_OK)
		return db_fail(db, err, "park UID %u", uid);
	return stmt_done(db, st, "park a UID", err);
}

static int
count_by_box(struct state_db *db, enum stmt id, int64_t box_id,
	     uint64_t *count_r, struct mf_err *err)
{
	sqlite3_stmt *st = NULL;

	if (stmt_get(db, id, &st, err) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, box_id) != SQLITE_OK)
		return db_fail(db, err, "count messages");
	return stmt_count(db, st, "count messages", count_r, err);
}

int
state_msg_count(struct state_db *db, int64_t box_id, uint64_t *count_r,
		struct mf_err *err)
{
	return count_by_box(db, ST_MSG_COUNT, box_id, count_r, err);
}

int
state_msg_count_pending(struct state_db *db, int64_t box_id, uint64_t *count_r,
			struct mf_err *err)
{
	return count_by_box(db, ST_MSG_COUNT_PENDING, box_id, count_r, err);
}

int
state_msg_count_placeholders(struct state_db *db, int64_t box_id,
			     uint64_t *count_r, struct mf_err *err)
{
	return count_by_box(db, ST_MSG_COUNT_PLACEHOLDERS, box_id, count_r,
			    err);
}
