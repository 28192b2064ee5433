/*
 * Unit tests for sync/state.c: the state database.
 *
 * Every test gets a fresh temporary directory (mkdtemp), removed afterwards.
 * Files the state module must refuse are checked byte for byte before and
 * after the attempt: refusing means never writing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "base/err.h"
#include "move-journal.h"
#include "state.h"

struct fixture {
	char dir[64];
	char path[128]; /* dir/chan.db */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/mf-state-XXXXXX",
		 getenv("TMPDIR") != NULL && strlen(getenv("TMPDIR")) < 32 ?
			 getenv("TMPDIR") :
			 "/tmp");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/chan.db", fx->dir);
	*state = fx;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	/* a test may leave a directory without write permission */
	chmod(path, 0700);
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Open read-write and fail the test with the message if it does not work. */
static struct state_db *
open_ok(const char *path, bool readonly)
{
	struct mf_err err = { 0 };
	struct state_db *db = NULL;

	if (state_open(path, readonly, &db, &err) < 0)
		fail_msg("state_open %s: %s", path, err.msg);
	assert_non_null(db);
	return db;
}

static void
begin_ok(struct state_db *db)
{
	struct mf_err err = { 0 };

	if (state_begin(db, &err) < 0)
		fail_msg("begin: %s", err.msg);
}

static void
commit_ok(struct state_db *db)
{
	struct mf_err err = { 0 };

	if (state_commit(db, &err) < 0)
		fail_msg("commit: %s", err.msg);
}

/* Run SQL on a file directly, as another program would. */
static void
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static char *
read_file(const char *path, size_t *len_r)
{
	struct stat sb;
	char *data;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	data = malloc((size_t)sb.st_size + 1);
	assert_non_null(data);
	assert_int_equal(read(fd, data, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*len_r = (size_t)sb.st_size;
	return data;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static struct state_box
box_init(const char *far, const char *near)
{
	struct state_box box = { 0 };

	box.far_name = (char *)far;
	box.near_name = (char *)near;
	return box;
}

static int64_t
add_box(struct state_db *db, const char *far, const char *near)
{
	struct state_box box = box_init(far, near);
	struct mf_err err = { 0 };

	if (state_box_add(db, &box, &err) < 0)
		fail_msg("box add %s: %s", far, err.msg);
	assert_true(box.id > 0);
	return box.id;
}

static void
test_create_reopen(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db;
	struct state_box_list *boxes = NULL;
	struct mf_err err = { 0 };
	char path[256];
	struct stat sb;
	mode_t old;

	/* a umask that would strip the owner's write bit: the file is still
	 * 0600 because state_open sets the mode itself */
	old = umask(0222);
	db = open_ok(fx->path, false);
	umask(old);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	state_close(&db);
	assert_null(db);

	assert_int_equal(raw_int(fx->path, "PRAGMA application_id"),
			 STATE_APPLICATION_ID);
	assert_int_equal(raw_int(fx->path, "PRAGMA user_version"),
			 STATE_SCHEMA_VERSION);
	assert_int_equal(raw_int(fx->path,
				 "SELECT count(*) FROM sqlite_master"
				 " WHERE name IN ('meta', 'boxes', 'msgs')"),
			 3);

	/* reopen read-write and read-only: same file, nothing lost */
	db = open_ok(fx->path, false);
	begin_ok(db);
	add_box(db, "INBOX", "inbox");
	commit_ok(db);
	state_close(&db);
	db = open_ok(fx->path, true);
	assert_int_equal(state_box_list(db, &boxes, &err), 0);
	assert_int_equal(boxes->n, 1);
	assert_string_equal(boxes->v[0].far_name, "INBOX");
	state_box_list_free(&boxes);
	assert_null(boxes);
	state_close(&db);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* a missing parent directory is created 0700 */
	snprintf(path, sizeof(path), "%s/state/sub/x.db", fx->dir);
	old = umask(022);
	db = open_ok(path, false);
	umask(old);
	state_close(&db);
	snprintf(path, sizeof(path), "%s/state/sub", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
}

/* The file is in WAL mode once created. */
static void
test_wal_mode(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;

	state_close(&db);
	assert_int_equal(sqlite3_open_v2(fx->path, &raw, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

static void
assert_side_equal(const struct state_side *a, const struct state_side *b)
{
	assert_int_equal(a->uidvalidity, b->uidvalidity);
	assert_int_equal(a->uidnext, b->uidnext);
	assert_int_equal(a->messages, b->messages);
	assert_int_equal(a->highestmodseq, b->highestmodseq);
	assert_int_equal(a->dir_token, b->dir_token);
}

/*
 * Long because it walks one database through insert, load, update and
 * delete, each step on what the one before left.
 */
static void
test_boxes(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_box a = box_init("INBOX", "inbox");
	struct state_box b = box_init("Lists/dev", "lists.dev");
	struct state_box_list *list = NULL;
	struct state_msg m = { .far_uid = 1, .far_keywords = (char *)"" };
	struct state_msg_list *msgs = NULL;
	struct mf_err err = { 0 };
	uint64_t count = 99;

	/* the extremes of every field */
	a.far.uidvalidity = UINT32_MAX;
	a.far.uidnext = UINT32_MAX;
	a.far.messages = UINT32_MAX;
	a.far.highestmodseq = INT64_MAX; /* 2^63-1, RFC 7162 */
	a.far.dir_token = UINT64_MAX;
	a.near.dir_token = 0x8000000000000001u;
	a.near.highestmodseq = 1;
	a.last_sync = 1700000000;

	begin_ok(db);
	assert_int_equal(state_box_add(db, &a, &err), 0);
	assert_int_equal(state_box_add(db, &b, &err), 0);
	assert_true(a.id > 0 && b.id > a.id);
	/* names are unique on each side */
	{
		struct state_box dup = box_init("INBOX", "other");

		assert_int_equal(state_box_add(db, &dup, &err), -1);
		assert_int_equal(err.cls, MF_E_STATE);
		assert_non_null(strstr(err.msg, fx->path));
		assert_non_null(strstr(err.msg, "UNIQUE"));
	}
	/* a mod-sequence above 2^63-1 is refused, not wrapped */
	{
		struct state_box big = box_init("Big", "big");

		big.near.highestmodseq = (uint64_t)INT64_MAX + 1;
		assert_int_equal(state_box_add(db, &big, &err), -1);
		assert_int_equal(err.cls, MF_E_STATE);
		assert_non_null(strstr(err.msg, "2^63-1"));
	}
	assert_int_equal(state_msg_insert(db, b.id, &m, &err), 0);
	commit_ok(db);

	assert_int_equal(state_box_list(db, &list, &err), 0);
	assert_int_equal(list->n, 2);
	assert_int_equal(list->v[0].id, a.id);
	assert_string_equal(list->v[0].far_name, "INBOX");
	assert_string_equal(list->v[0].near_name, "inbox");
	assert_side_equal(&list->v[0].far, &a.far);
	assert_side_equal(&list->v[0].near, &a.near);
	assert_int_equal(list->v[0].last_sync, 1700000000);
	assert_string_equal(list->v[1].far_name, "Lists/dev");
	assert_int_equal(list->v[1].last_sync, 0);
	state_box_list_free(&list);

	/* update: names and sides */
	b.far_name = (char *)"Lists/devel";
	b.far.uidvalidity = 42;
	b.near.highestmodseq = 7;
	b.last_sync = 5;
	begin_ok(db);
	assert_int_equal(state_box_update(db, &b, &err), 0);
	commit_ok(db);
	assert_int_equal(state_box_list(db, &list, &err), 0);
	assert_string_equal(list->v[1].far_name, "Lists/devel");
	assert_side_equal(&list->v[1].far, &b.far);
	assert_side_equal(&list->v[1].near, &b.near);
	assert_int_equal(list->v[1].last_sync, 5);
	state_box_list_free(&list);

	/* delete cascades to the message rows */
	assert_int_equal(state_msg_count(db, b.id, &count, &err), 0);
	assert_int_equal(count, 1);
	begin_ok(db);
	assert_int_equal(state_box_delete(db, b.id, &err), 0);
	commit_ok(db);
	assert_int_equal(state_msg_count(db, b.id, &count, &err), 0);
	assert_int_equal(count, 0);
	assert_int_equal(state_msgs_load(db, b.id, &msgs, &err), 0);
	assert_int_equal(msgs->n, 0);
	state_msg_list_free(&msgs);
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM msgs"), 0);
	assert_int_equal(state_box_list(db, &list, &err), 0);
	assert_int_equal(list->n, 1);
	state_box_list_free(&list);

	/* rows that do not exist */
	begin_ok(db);
	assert_int_equal(state_box_delete(db, b.id, &err), -1);
	assert_non_null(strstr(err.msg, "no such row"));
	assert_int_equal(state_box_update(db, &b, &err), -1);
	assert_non_null(strstr(err.msg, "no such row"));
	state_rollback(db);
	state_close(&db);
}

/* Both NULL, or journals with the same text. */
static bool
journal_eq(const struct move_journal *a, const struct move_journal *b)
{
	char ta[MOVE_JOURNAL_MAX], tb[MOVE_JOURNAL_MAX];

	if (a == NULL || b == NULL)
		return a == b;
	assert_int_equal(move_journal_format(a, ta, sizeof(ta)), 0);
	assert_int_equal(move_journal_format(b, tb, sizeof(tb)), 0);
	return strcmp(ta, tb) == 0;
}

/* Describe the first difference between two messages, or NULL. */
static const char *
msg_diff(const struct state_msg *a, const struct state_msg *b)
{
#define STR_EQ(x, y) \
	(((x) == NULL && (y) == NULL) || \
	 ((x) != NULL && (y) != NULL && strcmp((x), (y)) == 0))
	if (a->far_uid != b->far_uid)
		return "far_uid";
	if (a->near_uid != b->near_uid)
		return "near_uid";
	if (!STR_EQ(a->near_key, b->near_key))
		return "near_key";
	if (a->far_flags != b->far_flags)
		return "flags";
	if (!STR_EQ(a->far_keywords, b->far_keywords))
		return "keywords";
	if (a->near_flags != b->near_flags)
		return "near_flags";
	if (!STR_EQ(a->near_keywords, b->near_keywords))
		return "near_keywords";
	if (a->size != b->size)
		return "size";
	if (a->date != b->date)
		return "date";
	if (!STR_EQ(a->msgid, b->msgid))
		return "msgid";
	if (a->pending != b->pending)
		return "pending";
	if (a->pending_uidnext != b->pending_uidnext)
		return "pending_uidnext";
	if (!STR_EQ(a->pending_key, b->pending_key))
		return "pending_key";
	if (!journal_eq(a->pending_move, b->pending_move))
		return "pending_move";
	if (a->placeholder != b->placeholder)
		return "placeholder";
#undef STR_EQ
	return NULL;
}

static const struct state_msg *
find_row(const struct state_msg_list *list, int64_t rowid)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (list->v[i].rowid == rowid)
			return &list->v[i];
	return NULL;
}

/*
 * Long because it walks one database through every kind of row and its
 * round trip, each step on what the one before left.
 */
static void
test_msgs_roundtrip(void **state)
{
	/* a: keys with spaces and a colon, relabel; b: the longest m_key
	 * (filled in below) */
	static const struct move_journal move_a = {
		.to = INT64_MAX,
		.from = 0,
		.s_far = true,
		.hint = 4294967295u,
		.s_uid = 17,
		.m_uid = 0,
		.m_key = "1700000000.M1P2Q3.host name:2,S",
		.relabel = true,
		.s_kw = "$Label1 Work",
	};
	static struct move_journal move_b = {
		.to = 2,
		.from = 3,
		.s_far = false,
		.s_uid = 0,
		.s_key = "k 11",
		.m_uid = 4294967295u,
	};
	static const struct {
		const char *name;
		struct state_msg m;
		struct state_msg changed;
	} rows[] = {
		{ "extremes",
		  { .far_uid = 4294967295u,
		    .near_uid = 4294967294u,
		    .near_key = (char *)"1700000000.M1P2Q3.host",
		    .far_flags = 0x1f,
		    .far_keywords = (char *)"$Forwarded Work",
		    .near_flags = 4294967295u,
		    .near_keywords = (char *)"$Forwarded",
		    .size = INT64_MAX,
		    .date = INT64_MAX,
		    .msgid = (char *)"<a@b.example>",
		    .pending = STATE_PENDING_PULL,
		    .pending_uidnext = 4294967295u },
		  { .far_uid = 4294967295u,
		    .near_uid = 0,
		    .near_key = NULL,
		    .far_flags = 0,
		    .far_keywords = (char *)"",
		    .near_flags = 0,
		    .near_keywords = (char *)"Work",
		    .size = 0,
		    .date = INT64_MIN,
		    .msgid = NULL,
		    .pending = STATE_PENDING_NONE } },
		{ "nulls and empties",
		  { .far_uid = 1,
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"" },
		  { .far_uid = 1,
		    .near_key = (char *)"k1",
		    .far_keywords = (char *)"$Junk",
		    .near_flags = 2,
		    .near_keywords = (char *)"",
		    .msgid = (char *)"",
		    .pending = STATE_PENDING_MOVE,
		    .pending_move = NULL } },
		{ "quotes and utf-8",
		  { .far_uid = 2,
		    .near_key = (char *)"k'2\"; DROP TABLE msgs;",
		    .far_keywords = (char *)"\xc3\xbcnic\xc3\xb6"
					    "de",
		    .near_keywords = (char *)"\xc3\xbc",
		    .msgid = (char *)"<x'y@z>",
		    .date = -1,
		    .size = 12345 },
		  { .far_uid = 3,
		    .near_key = (char *)"k'2\"; DROP TABLE msgs;",
		    .far_keywords = (char *)"a b c",
		    .near_keywords = (char *)"c",
		    .size = 12346 } },
		{ "near only, push pending",
		  { .far_uid = 0,
		    .near_uid = 7,
		    .far_keywords = (char *)"",
		    .near_flags = 8,
		    .near_keywords = (char *)"",
		    .pending = STATE_PENDING_PUSH,
		    .pending_uidnext = 1000 },
		  { .far_uid = 1000,
		    .near_uid = 7,
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .far_flags = 4 } },
		{ "placeholder, then its fetch journaled",
		  { .far_uid = 9,
		    .near_key = (char *)"k9",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .size = 60000000,
		    .placeholder = true },
		  { .far_uid = 9,
		    .near_key = (char *)"k9",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .size = 60000000,
		    .placeholder = true,
		    .pending = STATE_PENDING_FETCH,
		    .pending_key = (char *)"k10" } },
		{ "move journaled, then another",
		  { .far_uid = 11,
		    .near_key = (char *)"k11",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .pending = STATE_PENDING_MOVE,
		    .pending_move = &move_a },
		  { .far_uid = 11,
		    .near_key = (char *)"k11",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .pending = STATE_PENDING_MOVE,
		    .pending_move = &move_b } },
		{ "pull into a maildir: no UIDNEXT",
		  { .far_uid = 12,
		    .near_key = (char *)"k12",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .pending = STATE_PENDING_PULL },
		  { .far_uid = 12,
		    .near_key = (char *)"k12",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"",
		    .pending = STATE_PENDING_PUSH,
		    .pending_uidnext = 1 } },
		{ "keywords NULL stored as empty",
		  { .far_uid = 0, .near_key = (char *)"k5" },
		  { .far_uid = 0,
		    .near_key = (char *)"k5",
		    .far_keywords = (char *)"",
		    .near_keywords = (char *)"" } },
	};
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_msg ins[MF_N_ELEMENTS(rows)];
	struct state_msg_list *list = NULL;
	struct mf_err err = { 0 };
	int64_t box = 0, other = 0;
	size_t i;

	memset(move_b.m_key, 'x', MOVE_KEY_MAX - 1);
	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	other = add_box(db, "Other", "other");
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		ins[i] = rows[i].m;
		if (state_msg_insert(db, box, &ins[i], &err) < 0)
			fail_msg("row %s: insert: %s", rows[i].name, err.msg);
		assert_true(ins[i].rowid > 0);
	}
	/* a row in another box, with the same far UID: not loaded */
	{
		struct state_msg o = { .far_uid = 1,
				       .far_keywords = (char *)"" };

		assert_int_equal(state_msg_insert(db, other, &o, &err), 0);
	}
	commit_ok(db);

	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	assert_int_equal(list->n, MF_N_ELEMENTS(rows));
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		const struct state_msg *got = find_row(list, ins[i].rowid);
		struct state_msg want = rows[i].m;
		const char *diff;

		if (want.far_keywords == NULL)
			want.far_keywords = (char *)"";
		if (want.near_keywords == NULL)
			want.near_keywords = (char *)"";
		if (got == NULL)
			fail_msg("row %s: not loaded", rows[i].name);
		diff = msg_diff(got, &want);
		if (diff != NULL)
			fail_msg("row %s: %s differs after insert",
				 rows[i].name, diff);
	}
	/* sorted by far_uid */
	for (i = 1; i < list->n; i++)
		if (list->v[i - 1].far_uid > list->v[i].far_uid)
			fail_msg("position %zu: far_uid %" PRIu32
				 " after %" PRIu32,
				 i, list->v[i].far_uid, list->v[i - 1].far_uid);
	state_msg_list_free(&list);
	assert_null(list);

	begin_ok(db);
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct state_msg upd = rows[i].changed;

		upd.rowid = ins[i].rowid;
		if (state_msg_update(db, &upd, &err) < 0)
			fail_msg("row %s: update: %s", rows[i].name, err.msg);
	}
	commit_ok(db);
	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		const struct state_msg *got = find_row(list, ins[i].rowid);
		const char *diff;

		if (got == NULL)
			fail_msg("row %s: not loaded", rows[i].name);
		diff = msg_diff(got, &rows[i].changed);
		if (diff != NULL)
			fail_msg("row %s: %s differs after update",
				 rows[i].name, diff);
	}
	state_msg_list_free(&list);

	begin_ok(db);
	assert_int_equal(state_msg_delete(db, ins[0].rowid, &err), 0);
	assert_int_equal(state_msg_delete(db, ins[0].rowid, &err), -1);
	assert_non_null(strstr(err.msg, "no such row"));
	commit_ok(db);
	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	assert_int_equal(list->n, MF_N_ELEMENTS(rows) - 1);
	assert_null(find_row(list, ins[0].rowid));
	state_msg_list_free(&list);
	state_close(&db);
}

/* Load one box with a single row whose pending columns are set by SQL. */
static int
load_pending(struct fixture *fx, int pending, const char *arg_sql,
	     struct state_msg_list **list_r, struct mf_err *err)
{
	struct state_db *db = open_ok(fx->path, false);
	struct state_msg m = { .far_uid = 1, .far_keywords = (char *)"" };
	char sql[256];
	int64_t box;
	int ret;

	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	assert_int_equal(state_msg_insert(db, box, &m, err), 0);
	commit_ok(db);
	state_close(&db);
	snprintf(sql, sizeof(sql),
		 "UPDATE msgs SET pending = %d, "
		 "pending_arg = %s",
		 pending, arg_sql);
	raw_sql(fx->path, sql);
	db = open_ok(fx->path, false);
	ret = state_msgs_load(db, box, list_r, err);
	state_close(&db);
	return ret;
}

/*
 * The pending_arg column read back as each kind's field: what the text
 * says, what older runs could leave, and a move journal that cannot be
 * read (a clear error, not a crash or a half-read journal).
 */
static void
test_pending_decode(void **state)
{
	static const struct {
		const char *name;
		int pending;
		const char *arg_sql;
		uint32_t uidnext;
		const char *key;
		bool journal;
	} ok[] = {
		{ "push", STATE_PENDING_PUSH, "'4294967295'", 4294967295u },
		{ "pull, no UIDNEXT", STATE_PENDING_PULL, "NULL", 0 },
		/* a row copied again keeps an earlier kind's text */
		{ "pull, a journal left", STATE_PENDING_PULL,
		  "'mv1 to=1 from=0'", 0 },
		{ "push, too large", STATE_PENDING_PUSH, "'4294967296'", 0 },
		{ "fetch", STATE_PENDING_FETCH, "'a key'", 0, "a key" },
		{ "move, no journal", STATE_PENDING_MOVE, "NULL", 0 },
		{ "move", STATE_PENDING_MOVE,
		  "'mv1 to=2 from=0 s=far hint=5 "
		  "s_uid=6 m_uid=0 s_key=0: m_key=3:a b'",
		  0, NULL, true },
		{ "none, text ignored", STATE_PENDING_NONE, "'17'", 0 },
	};
	static const char *const bad[] = {
		"''",
		"'17'",
		"'mv1 to=2 from=0 s=far hint=5 s_uid=6'",
		"'mv1 to=2 from=0 s=far hint=5 s_uid=6 m_uid=0 s_key=0: "
		"m_key=9:a b'",
		"'mv1 to=2 from=0 s=both hint=5 s_uid=6 m_uid=0 s_key=0: "
		"m_key=0:'",
	};
	struct fixture *fx = *state;
	struct state_msg_list *list = NULL;
	struct mf_err err = { 0 };
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(ok); i++) {
		const struct state_msg *m;

		unlink(fx->path);
		if (load_pending(fx, ok[i].pending, ok[i].arg_sql, &list,
				 &err) < 0)
			fail_msg("%s: %s", ok[i].name, err.msg);
		assert_int_equal(list->n, 1);
		m = &list->v[0];
		assert_int_equal(m->pending, ok[i].pending);
		assert_int_equal(m->pending_uidnext, ok[i].uidnext);
		if (ok[i].key != NULL)
			assert_string_equal(m->pending_key, ok[i].key);
		else
			assert_null(m->pending_key);
		assert_int_equal(m->pending_move != NULL, ok[i].journal);
		if (ok[i].journal) {
			assert_int_equal(m->pending_move->to, 2);
			assert_int_equal(m->pending_move->hint, 5);
			assert_string_equal(m->pending_move->m_key, "a b");
		}
		state_msg_list_free(&list);
	}
	for (i = 0; i < MF_N_ELEMENTS(bad); i++) {
		unlink(fx->path);
		assert_int_equal(load_pending(fx, STATE_PENDING_MOVE, bad[i],
					      &list, &err),
				 -1);
		assert_null(list);
		assert_int_equal(err.cls, MF_E_STATE);
		if (strstr(err.msg, fx->path) == NULL ||
		    strstr(err.msg, "message row 1: pending_arg is not a move "
				    "journal") == NULL)
			fail_msg("bad[%zu]: %s", i, err.msg);
	}
}

/* What the schema refuses: duplicate UIDs and keys within one box. */
static void
test_msgs_unique(void **state)
{
	static const struct {
		const char *name;
		struct state_msg first, second;
		int ret;
	} rows[] = {
		{ "same far uid", { .far_uid = 5 }, { .far_uid = 5 }, -1 },
		{ "far uid 0 twice", { .far_uid = 0 }, { .far_uid = 0 }, 0 },
		{ "same near uid", { .near_uid = 9 }, { .near_uid = 9 }, -1 },
		{ "same near key",
		  { .near_key = (char *)"k" },
		  { .near_key = (char *)"k" },
		  -1 },
		{ "both keys NULL", { .far_uid = 1 }, { .far_uid = 2 }, 0 },
	};
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct mf_err err = { 0 };
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct state_msg a = rows[i].first, b = rows[i].second;
		char name[32];
		int64_t box;
		int ret;

		snprintf(name, sizeof(name), "box%zu", i);
		begin_ok(db);
		box = add_box(db, name, name);
		assert_int_equal(state_msg_insert(db, box, &a, &err), 0);
		ret = state_msg_insert(db, box, &b, &err);
		if (ret != rows[i].ret)
			fail_msg("row %s: insert returned %d, want %d (%s)",
				 rows[i].name, ret, rows[i].ret, err.msg);
		if (ret < 0 && (err.cls != MF_E_STATE ||
				strstr(err.msg, "UNIQUE") == NULL))
			fail_msg("row %s: error '%s'", rows[i].name, err.msg);
		commit_ok(db);
	}
	state_close(&db);
}

static void
test_meta(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct mf_err err = { 0 };
	char *v = (char *)"x";

	assert_int_equal(state_meta_get(db, "far-id", &v, &err), 0);
	assert_null(v);
	begin_ok(db);
	assert_int_equal(state_meta_set(db, "far-id", "imap://a@b", &err), 0);
	assert_int_equal(state_meta_set(db, "near-id", "", &err), 0);
	assert_int_equal(state_meta_set(db, "far-id", "imap://c@d", &err), 0);
	commit_ok(db);
	assert_int_equal(state_meta_get(db, "far-id", &v, &err), 0);
	assert_string_equal(v, "imap://c@d");
	free(v);
	assert_int_equal(state_meta_get(db, "near-id", &v, &err), 0);
	assert_string_equal(v, "");
	free(v);
	begin_ok(db);
	assert_int_equal(state_meta_set(db, "near-id", NULL, &err), 0);
	commit_ok(db);
	assert_int_equal(state_meta_get(db, "near-id", &v, &err), 0);
	assert_null(v);
	state_close(&db);

	/* still there after reopening read-only */
	db = open_ok(fx->path, true);
	assert_int_equal(state_meta_get(db, "far-id", &v, &err), 0);
	assert_string_equal(v, "imap://c@d");
	free(v);
	state_close(&db);
}

static void
test_rollback(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_box_list *list = NULL;
	struct state_msg m = { .far_uid = 1, .far_keywords = (char *)"" };
	struct mf_err err = { 0 };
	char *v = NULL;
	int64_t box;

	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	assert_int_equal(state_msg_insert(db, box, &m, &err), 0);
	assert_int_equal(state_meta_set(db, "k", "v", &err), 0);
	state_rollback(db);
	/* a second rollback without a transaction is harmless */
	state_rollback(db);

	assert_int_equal(state_box_list(db, &list, &err), 0);
	assert_int_equal(list->n, 0);
	state_box_list_free(&list);
	assert_int_equal(state_meta_get(db, "k", &v, &err), 0);
	assert_null(v);
	state_close(&db);
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM msgs"), 0);
}

/* Changes outside a transaction are a bug of the caller. */
static void
test_needs_transaction(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_box box = box_init("INBOX", "inbox");
	struct mf_err err = { 0 };

	assert_int_equal(state_box_add(db, &box, &err), -1);
	assert_int_equal(err.cls, MF_E_INTERNAL);
	assert_non_null(strstr(err.msg, "outside a transaction"));
	assert_int_equal(state_meta_set(db, "k", "v", &err), -1);
	assert_int_equal(err.cls, MF_E_INTERNAL);
	/* nested begin fails and names the file */
	begin_ok(db);
	assert_int_equal(state_begin(db, &err), -1);
	assert_int_equal(err.cls, MF_E_STATE);
	assert_non_null(strstr(err.msg, fx->path));
	state_rollback(db);
	state_close(&db);
}

static void
test_readonly(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_msg m = { .far_uid = 1,
			       .far_keywords = (char *)"",
			       .pending = STATE_PENDING_PULL };
	struct mf_err err = { 0 };
	uint64_t n = 0;
	int64_t box;
	char missing[192];

	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	assert_int_equal(state_msg_insert(db, box, &m, &err), 0);
	m.far_uid = 2;
	m.pending = STATE_PENDING_NONE;
	assert_int_equal(state_msg_insert(db, box, &m, &err), 0);
	commit_ok(db);
	state_close(&db);

	db = open_ok(fx->path, true);
	/* a read transaction is a snapshot for several reads */
	begin_ok(db);
	assert_int_equal(state_msg_count(db, box, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_msg_count_pending(db, box, &n, &err), 0);
	assert_int_equal(n, 1);
	state_rollback(db);
	/* and nothing can be written */
	assert_int_equal(state_begin(db, &err), 0);
	m.far_uid = 3;
	assert_int_equal(state_msg_insert(db, box, &m, &err), -1);
	assert_int_equal(err.cls, MF_E_STATE);
	assert_non_null(strstr(err.msg, fx->path));
	state_rollback(db);
	state_close(&db);

	/* a missing file, read-only: ENOENT, and not created */
	snprintf(missing, sizeof(missing), "%s/missing.db", fx->dir);
	assert_int_equal(state_open(missing, true, &db, &err), -1);
	assert_null(db);
	assert_int_equal(err.cls, MF_E_STATE);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_non_null(strstr(err.msg, missing));
	assert_int_equal(access(missing, F_OK), -1);
}

/* Ways to make a file that state_open must refuse. */
static void
make_newer(const char *path)
{
	struct state_db *db = open_ok(path, false);

	state_close(&db);
	raw_sql(path, "PRAGMA user_version = 99");
}

static void
make_foreign(const char *path)
{
	raw_sql(path, "PRAGMA application_id = 305419896;"
		      "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
}

static void
make_foreign_empty(const char *path)
{
	raw_sql(path, "PRAGMA application_id = 7");
}

static void
make_plain_sqlite(const char *path)
{
	/* application_id 0 but not empty: someone else's database */
	raw_sql(path, "CREATE TABLE boxes (x)");
}

static void
make_ours_unversioned(const char *path)
{
	/* our application_id but user_version 0 and not empty */
	raw_sql(path, "PRAGMA application_id = 1296450898;"
		      "CREATE TABLE boxes (x)");
}

static void
make_text(const char *path)
{
	static const char text[] =
		"far: imap.example.org\nnear: ~/Mail\n"
		"This is a configuration file, not a database.\n"
		"It is long enough to cover a full SQLite header, which is "
		"one hundred bytes long.\n";

	write_file(path, text, sizeof(text) - 1);
}

/* A real state file with enough rows to span many pages. */
static void
make_full(const char *path)
{
	struct state_db *db = open_ok(path, false);
	struct mf_err err = { 0 };
	char key[32];
	int64_t box;
	uint32_t i;

	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	for (i = 1; i <= 3000; i++) {
		struct state_msg m = { .far_uid = i,
				       .far_keywords = (char *)"" };

		snprintf(key, sizeof(key), "key-%06" PRIu32, i);
		m.near_key = key;
		m.msgid = key;
		assert_int_equal(state_msg_insert(db, box, &m, &err), 0);
	}
	commit_ok(db);
	state_close(&db);
}

static void
make_truncated(const char *path)
{
	size_t len;
	char *data;

	make_full(path);
	data = read_file(path, &len);
	assert_true(len > 8 * 4096);
	write_file(path, data, len / 2);
	free(data);
}

static void
make_corrupt(const char *path)
{
	unsigned char junk[4096];
	size_t len;
	char *data;

	make_full(path);
	data = read_file(path, &len);
	memset(junk, 0xa5, sizeof(junk));
	/* trash the pages in the middle; the header stays intact */
	assert_true(len > 8 * 4096);
	memcpy(data + 3 * 4096, junk, sizeof(junk));
	memcpy(data + 5 * 4096, junk, sizeof(junk));
	write_file(path, data, len);
	free(data);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *name;
		void (*make)(const char *path);
		const char *want; /* in the message, after the path */
		bool lazy;	  /* a writer finds it at its first write */
	} rows[] = {
		{ "newer schema", make_newer,
		  ": state database schema version 99 is newer than this "
		  "mailferry supports (3); upgrade mailferry",
		  false },
		{ "foreign application_id", make_foreign,
		  ": not a mailferry state database (application_id "
		  "0x12345678)",
		  false },
		{ "foreign application_id, empty", make_foreign_empty,
		  ": not a mailferry state database (application_id "
		  "0x00000007)",
		  false },
		{ "plain sqlite file", make_plain_sqlite,
		  ": not a mailferry state database (application_id "
		  "0x00000000)",
		  false },
		{ "ours without a schema version", make_ours_unversioned,
		  ": state database has no schema version (user_version 0)",
		  false },
		{ "text file", make_text,
		  ": not a mailferry state database: file is not a database",
		  false },
		{ "truncated", make_truncated,
		  ": state database is corrupt: ", false },
		{ "corrupt pages", make_corrupt,
		  ": state database is corrupt: quick_check: ", true },
	};
	struct fixture *fx = *state;
	size_t i;
	int ro;

	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char path[192];
		size_t before_len, after_len;
		char *before, *after;

		snprintf(path, sizeof(path), "%s/refused-%zu.db", fx->dir, i);
		rows[i].make(path);
		before = read_file(path, &before_len);
		for (ro = 0; ro <= 1; ro++) {
			struct state_db *db = NULL;
			struct mf_err err = { 0 };

			/*
			 * A writer checks pages before its first write, not
			 * at open (state.c): a damaged file that opens must
			 * refuse the first transaction instead.
			 */
			if (state_open(path, ro, &db, &err) == 0) {
				if (ro || !rows[i].lazy)
					fail_msg("row %s (%s): opened",
						 rows[i].name,
						 ro ? "ro" : "rw");
				if (state_begin(db, &err) != -1)
					fail_msg("row %s: began a write",
						 rows[i].name);
				state_close(&db);
			}
			assert_null(db);
			if (err.cls != MF_E_STATE ||
			    strncmp(err.msg, path, strlen(path)) != 0 ||
			    strstr(err.msg, rows[i].want) == NULL ||
			    strchr(err.msg, '\n') != NULL)
				fail_msg("row %s (%s): class %d, message '%s'",
					 rows[i].name, ro ? "ro" : "rw",
					 (int)err.cls, err.msg);
		}
		after = read_file(path, &after_len);
		if (before_len != after_len ||
		    memcmp(before, after, before_len) != 0)
			fail_msg("row %s: file changed", rows[i].name);
		free(before);
		free(after);
	}
}

/* An empty file (zero bytes) read-write becomes a state database. */
/*
 * Schema v1 -> v2 (msgs.placeholder).  A v1 file is made from a current
 * one by taking the column away again, which leaves exactly the v1 tables
 * (SQLite rewrites the table definition on DROP COLUMN).
 */
static void
test_migrate_v1(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_msg m = { .far_uid = 5,
			       .near_key = (char *)"k5",
			       .far_keywords = (char *)"",
			       .size = 123,
			       .near_keywords = (char *)"" };
	struct state_msg_list *list = NULL;
	struct mf_err err = { 0 };
	uint64_t count = 9;
	int64_t box;

	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	assert_int_equal(state_msg_insert(db, box, &m, &err), 0);
	commit_ok(db);
	state_close(&db);
	raw_sql(fx->path, "ALTER TABLE msgs DROP COLUMN placeholder; "
			  "ALTER TABLE boxes DROP COLUMN far_mailboxid; "
			  "ALTER TABLE boxes DROP COLUMN near_mailboxid; "
			  "PRAGMA user_version = 1");
	assert_int_equal(raw_int(fx->path,
				 "SELECT count(*) FROM "
				 "pragma_table_info('msgs') WHERE name = "
				 "'placeholder'"),
			 0);

	/* read-only never migrates: it refuses */
	assert_int_equal(state_open(fx->path, true, &db, &err), -1);
	assert_null(db);
	assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), 1);

	/* read-write migrates, keeping the rows, none a placeholder */
	db = open_ok(fx->path, false);
	assert_int_equal(raw_int(fx->path, "PRAGMA user_version"),
			 STATE_SCHEMA_VERSION);
	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	assert_int_equal(list->n, 1);
	assert_int_equal(list->v[0].far_uid, 5);
	assert_string_equal(list->v[0].near_key, "k5");
	assert_false(list->v[0].placeholder);
	m = list->v[0];
	m.placeholder = true;
	begin_ok(db);
	assert_int_equal(state_msg_update(db, &m, &err), 0);
	commit_ok(db);
	state_msg_list_free(&list);
	assert_int_equal(state_msg_count_placeholders(db, box, &count, &err),
			 0);
	assert_int_equal(count, 1);
	state_close(&db);

	/* and it stays migrated with the mark kept */
	db = open_ok(fx->path, true);
	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	assert_true(list->v[0].placeholder);
	state_msg_list_free(&list);
	state_close(&db);
	assert_int_equal(raw_int(fx->path, "SELECT placeholder FROM msgs"), 1);
}

/* A v2 file (no MAILBOXID columns) opens read-write, gets them with ""
 * for every row, and keeps what is recorded afterwards; a malformed
 * value in the file loads as unknown. */
static void
test_migrate_v2_mailboxid(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_box_list *boxes = NULL;
	struct mf_err err = { 0 };
	int64_t box;

	begin_ok(db);
	box = add_box(db, "A", "a");
	commit_ok(db);
	state_close(&db);
	raw_sql(fx->path, "ALTER TABLE boxes DROP COLUMN far_mailboxid; "
			  "ALTER TABLE boxes DROP COLUMN near_mailboxid; "
			  "PRAGMA user_version = 2");

	db = open_ok(fx->path, false);
	assert_int_equal(raw_int(fx->path, "PRAGMA user_version"),
			 STATE_SCHEMA_VERSION);
	assert_int_equal(state_box_list(db, &boxes, &err), 0);
	assert_int_equal(boxes->n, 1);
	assert_int_equal(boxes->v[0].id, box);
	assert_string_equal(boxes->v[0].far.mailboxid, "");
	assert_string_equal(boxes->v[0].near.mailboxid, "");
	strcpy(boxes->v[0].far.mailboxid, "F2212ea87-6097_x");
	begin_ok(db);
	assert_int_equal(state_box_update(db, &boxes->v[0], &err), 0);
	commit_ok(db);
	state_box_list_free(&boxes);
	state_close(&db);

	db = open_ok(fx->path, true);
	assert_int_equal(state_box_list(db, &boxes, &err), 0);
	assert_string_equal(boxes->v[0].far.mailboxid, "F2212ea87-6097_x");
	assert_string_equal(boxes->v[0].near.mailboxid, "");
	state_box_list_free(&boxes);
	state_close(&db);

	raw_sql(fx->path, "UPDATE boxes SET far_mailboxid = 'a b'");
	db = open_ok(fx->path, true);
	assert_int_equal(state_box_list(db, &boxes, &err), 0);
	assert_string_equal(boxes->v[0].far.mailboxid, "");
	state_box_list_free(&boxes);
	state_close(&db);
}

static void
test_empty_file(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = NULL;
	struct mf_err err = { 0 };

	write_file(fx->path, "", 0);
	/* read-only cannot create the schema */
	assert_int_equal(state_open(fx->path, true, &db, &err), -1);
	assert_non_null(strstr(err.msg, "empty"));
	db = open_ok(fx->path, false);
	state_close(&db);
	assert_int_equal(raw_int(fx->path, "PRAGMA user_version"),
			 STATE_SCHEMA_VERSION);
}

static void
test_bulk(void **state)
{
	enum { N = 50000 };
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_msg_list *list = NULL;
	struct mf_err err = { 0 };
	char key[32], msgid[48];
	uint64_t count = 0;
	int64_t box;
	uint32_t i;

	begin_ok(db);
	box = add_box(db, "INBOX", "inbox");
	/* inserted in reverse, so the load must sort */
	for (i = N; i >= 1; i--) {
		struct state_msg m = {
			.far_uid = i,
			.far_flags = i % 32,
			.far_keywords = (char *)(i % 7 == 0 ? "$Label1" : ""),
			.near_flags = i % 16,
			.near_keywords = (char *)(i % 5 == 0 ? "$L5" : ""),
			.size = 1000u + i,
			.date = 1600000000 + (int64_t)i,
			.pending = i % 1000 == 0 ? STATE_PENDING_PULL :
						   STATE_PENDING_NONE,
		};

		snprintf(key, sizeof(key), "key-%05" PRIu32, i);
		snprintf(msgid, sizeof(msgid), "<%" PRIu32 "@bulk>", i);
		m.near_key = key;
		m.msgid = msgid;
		if (state_msg_insert(db, box, &m, &err) < 0)
			fail_msg("uid %" PRIu32 ": %s", i, err.msg);
	}
	commit_ok(db);

	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	assert_int_equal(list->n, N);
	assert_int_equal(list->v[0].far_uid, 1);
	assert_string_equal(list->v[0].near_key, "key-00001");
	assert_int_equal(list->v[N - 1].far_uid, N);
	assert_string_equal(list->v[N - 1].msgid, "<50000@bulk>");
	assert_int_equal(list->v[N - 1].pending, STATE_PENDING_PULL);
	assert_int_equal(list->v[12344].far_uid, 12345);
	assert_string_equal(list->v[12344].near_key, "key-12345");
	assert_string_equal(list->v[12344].msgid, "<12345@bulk>");
	assert_int_equal(list->v[12344].far_flags, 12345 % 32);
	assert_int_equal(list->v[12344].size, 1000 + 12345);
	assert_int_equal(list->v[12344].date, 1600012345);
	assert_string_equal(list->v[12344].far_keywords, "");
	assert_int_equal(list->v[12344].near_flags, 12345 % 16);
	assert_string_equal(list->v[12344].near_keywords, "$L5");
	/* uid 7 */
	assert_string_equal(list->v[6].far_keywords, "$Label1");
	assert_null(list->v[6].pending_key);
	state_msg_list_free(&list);

	assert_int_equal(state_msg_count(db, box, &count, &err), 0);
	assert_int_equal(count, N);
	assert_int_equal(state_msg_count_pending(db, box, &count, &err), 0);
	assert_int_equal(count, N / 1000);
	state_close(&db);
}

/* state_msg_park_uid(): a UID of a new numbering taken from an old row */
static void
test_park_uid(void **state)
{
	struct fixture *fx = *state;
	struct state_db *db = open_ok(fx->path, false);
	struct state_msg_list *list = NULL;
	struct mf_err err = { 0 };
	struct state_msg a = { .far_uid = 1, .near_key = (char *)"ka" };
	struct state_msg b = { .far_uid = 2, .near_key = (char *)"kb" };
	struct state_msg c = { .far_uid = 4294967295u,
			       .near_key = (char *)"kc" };
	int64_t box, other;

	begin_ok(db);
	box = add_box(db, "A", "a");
	other = add_box(db, "B", "b");
	assert_int_equal(state_msg_insert(db, box, &a, &err), 0);
	assert_int_equal(state_msg_insert(db, box, &b, &err), 0);
	/* the same UID in another box is not touched */
	assert_int_equal(state_msg_insert(db, other,
					  &(struct state_msg){
						  .far_uid = 2,
						  .near_key = (char *)"kx" },
					  &err),
			 0);
	/* a swaps to 2: b moves to 3, above every UID of the box */
	assert_int_equal(state_msg_park_uid(db, box, true, 2, &err), 0);
	a.far_uid = 2;
	assert_int_equal(state_msg_update(db, &a, &err), 0);
	/* nobody holds 7: nothing happens */
	assert_int_equal(state_msg_park_uid(db, box, true, 7, &err), 0);
	commit_ok(db);
	assert_int_equal(state_msgs_load(db, box, &list, &err), 0);
	assert_int_equal(list->n, 2);
	assert_int_equal(list->v[0].far_uid, 2);
	assert_string_equal(list->v[0].near_key, "ka");
	assert_int_equal(list->v[1].far_uid, 3);
	assert_string_equal(list->v[1].near_key, "kb");
	state_msg_list_free(&list);
	assert_int_equal(state_msgs_load(db, other, &list, &err), 0);
	assert_int_equal(list->v[0].far_uid, 2);
	state_msg_list_free(&list);

	/* no room above the highest UID: the row stays, the write that
	 * follows fails as it would have */
	begin_ok(db);
	assert_int_equal(state_msg_insert(db, box, &c, &err), 0);
	assert_int_equal(state_msg_park_uid(db, box, true, 3, &err), 0);
	b.far_uid = 3;
	assert_int_equal(state_msg_update(db, &b, &err), 0);
	a.far_uid = 3;
	assert_int_equal(state_msg_update(db, &a, &err), -1);
	state_rollback(db);
	/* outside a transaction: refused */
	assert_int_equal(state_msg_park_uid(db, box, true, 2, &err), -1);
	state_close(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_reopen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wal_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boxes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msgs_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pending_decode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_msgs_unique, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_transaction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2_mailboxid,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_uid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
