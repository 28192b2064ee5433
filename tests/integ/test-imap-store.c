/*
 * The IMAP store against a real Dovecot (tests/harness/dovecot.sh) on
 * 127.0.0.1: list with status, select, scan with and without CONDSTORE,
 * fetch byte-identical to the seeded files in canonical CRLF form, append
 * with flags and date, set_flags with UNCHANGEDSINCE, remove with expunge,
 * create/delete of a UTF-8 folder (mUTF-7 on the wire), and the password
 * never in the debug trace.  A second server without CONDSTORE, QRESYNC,
 * UIDPLUS and LIST-STATUS checks the fallbacks.
 *
 * The same file drives the store against the scripted fake server
 * (tests/fake/) for server quirks (store/imap/QUIRKS.md) and for pipelined
 * APPENDs without LITERAL+; those need no Dovecot.  Without Dovecot the
 * other tests are skipped and the program exits 77.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/crlf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "imap/imap-store.h"
#include "imap/imap-store-ext.h"
#include "store.h"

#define NSEED 12
#define NBULK 600

struct server {
	char dir[256];
	char user[64], pass[128], ca[512];
	unsigned imaps_port;
	char *seed_files[NSEED];
	struct mf_buf seed_canon[NSEED];
};

static struct server full, reduced;
static struct mf_buf trace;
static char harness[1024];
static bool have_dovecot;

/* ---- helpers -------------------------------------------------------- */

static void
capture(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	(void)level;
	(void)cat;
	(void)ctx;
	if (mf_buf_append_str(&trace, msg, NULL) < 0 ||
	    mf_buf_append(&trace, "\n", 1, NULL) < 0)
		mf_buf_reset(&trace); /* bounded; still checked */
}

static int run(const char *fmt, ...) MF_PRINTF(1, 2);

static int
run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void
copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		fail_msg("harness value too long: %s", src);
	memcpy(dst, src, len + 1);
}

static void
read_env(struct server *s)
{
	char path[512], line[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/env.txt", s->dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "MF_USER=", 8) == 0)
			copy(s->user, sizeof(s->user), line + 8);
		else if (strncmp(line, "MF_PASS=", 8) == 0)
			copy(s->pass, sizeof(s->pass), line + 8);
		else if (strncmp(line, "MF_CA_FILE=", 11) == 0)
			copy(s->ca, sizeof(s->ca), line + 11);
		else if (strncmp(line, "MF_IMAPS_PORT=", 14) == 0)
			s->imaps_port = (unsigned)strtoul(line + 14, NULL, 10);
	}
	fclose(f);
}

static void
load_canon(const char *path, struct mf_buf *b)
{
	struct mf_nl_state nl = { 0 };
	char in[4096], out[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	mf_buf_init(b, 64 * 1024 * 1024);
	while ((n = fread(in, 1, sizeof(in), f)) > 0)
		if (mf_buf_append(b, out, mf_to_crlf(&nl, in, n, out), NULL) <
		    0)
			fail_msg("seed file too big");
	fclose(f);
}

static int
start_server(struct server *s, const char *extra)
{
	const char *data = getenv("MF_TESTDATA");
	char list[8192] = "";
	size_t i, o = 0;

	snprintf(s->dir, sizeof(s->dir), "/tmp/mf-integ-imap.XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	chmod(s->dir, 0755);
	if (run("bash '%s' start '%s' --no-watch %s >/dev/null", harness,
		s->dir, extra) != 0)
		return -1;
	read_env(s);
	for (i = 0; i < NSEED; i++) {
		s->seed_files[i] = xasprintf("%s/messages/spamassassin/"
					     "%s-%03zu",
					     data, i % 2 ? "spam" : "nice",
					     i / 2 + 1);
		load_canon(s->seed_files[i], &s->seed_canon[i]);
		o += (size_t)snprintf(list + o, sizeof(list) - o, " '%s'",
				      s->seed_files[i]);
	}
	if (run("bash '%s' seed '%s' INBOX %s 2>/dev/null", harness, s->dir,
		list) != 0)
		return -1;
	if (s != &full)
		return 0;
	/* NBULK copies of one message, for the ranged pipelined commands */
	return run("for i in $(seq %d); do echo '%s'; done | bash '%s' seed "
		   "'%s' Bulk --files-from - 2>/dev/null && "
		   "bash '%s' seed '%s' Sent '%s' 2>/dev/null",
		   NBULK, s->seed_files[0], harness, s->dir, harness, s->dir,
		   s->seed_files[0]) == 0 ?
		       0 :
		       -1;
}

static void
stop_server(struct server *s)
{
	size_t i;

	if (s->dir[0] == '\0')
		return;
	run("bash '%s' stop '%s' >/dev/null 2>&1", harness, s->dir);
	run("rm -rf '%s'", s->dir);
	for (i = 0; i < NSEED; i++) {
		free(s->seed_files[i]);
		mf_buf_deinit(&s->seed_canon[i]);
	}
}

static int
secret_fn(void *ctx, enum imap_secret_kind kind, char **secret_r,
	  struct mf_err *err)
{
	struct server *s = ctx;

	(void)kind;
	(void)err;
	*secret_r = xstrdup(s->pass);
	return 0;
}

static void
fill_cfg(struct server *s, struct imap_store_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = "test";
	cfg->host = "localhost";
	cfg->port = s->imaps_port;
	cfg->tls = IMAP_TLS_IMPLICIT;
	cfg->user = s->user;
	cfg->ca_file = s->ca;
	cfg->get_secret = secret_fn;
	cfg->secret_ctx = s;
	cfg->pipeline_depth = 8;
	cfg->timeout_ms = 20000;
}

static struct mf_store *
open_store(struct server *s, struct imap_store_cfg *cfg)
{
	struct mf_store *st = NULL;
	struct mf_err err = { 0 };

	fill_cfg(s, cfg);
	if (imap_store_create(cfg, &st, &err) < 0)
		fail_msg("connect: %s", err.msg);
	return st;
}

/* A sink into memory. */
struct memsink {
	struct mf_sink sink;
	struct mf_buf buf;
	bool finished;
};

static int
mem_write(struct mf_sink *sink, const void *data, size_t len,
	  struct mf_err *err)
{
	struct memsink *m = (struct memsink *)sink;

	return mf_buf_append(&m->buf, data, len, err);
}

static int
mem_finish(struct mf_sink *sink, struct mf_err *err)
{
	(void)err;
	((struct memsink *)sink)->finished = true;
	return 0;
}

static const struct mf_sink_ops mem_ops = { mem_write, mem_finish };

static void
memsink_init(struct memsink *m)
{
	m->sink.ops = &mem_ops;
	mf_buf_init(&m->buf, 64 * 1024 * 1024);
	m->finished = false;
}

static const struct mf_box_info *
find_box(const struct mf_box_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static size_t
count_client_lines(const char *needle)
{
	const char *p = trace.data;
	size_t n = 0;

	while ((p = strstr(p, "\nC: ")) != NULL) {
		const char *eol = strchr(p + 1, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (memmem(p, len, needle, strlen(needle)) != NULL)
			n++;
		p += len;
	}
	return n;
}

static struct mf_scan_result *
scan(struct mf_store *st, unsigned want, uint64_t changedsince, bool vanished)
{
	struct mf_scan_req req = { 0 };
	struct mf_scan_result *res = NULL;
	struct mf_err err = { 0 };

	req.want = want;
	req.changedsince = changedsince;
	req.vanished = vanished;
	if (st->ops->scan(st, &req, &res, &err) < 0)
		fail_msg("scan: %s", err.msg);
	return res;
}

/* Scan with max_age: UID SEARCH SINCE, then FETCH of those. */
static struct mf_scan_result *
scan_since(struct mf_store *st, int64_t since)
{
	struct mf_scan_req req = { .want = MF_WANT_FLAGS, .since = since };
	struct mf_scan_result *res = NULL;
	struct mf_err err = { 0 };

	if (st->ops->scan(st, &req, &res, &err) < 0)
		fail_msg("scan since: %s", err.msg);
	return res;
}

static void
select_box(struct mf_store *st, const char *box, struct mf_box_status *s)
{
	struct mf_err err = { 0 };

	if (st->ops->select_box(st, box, NULL, s, &err) < 0)
		fail_msg("select %s: %s", box, err.msg);
}

/* ---- tests ---------------------------------------------------------- */

/*
 * Long because it is one session walked through in order: each step works
 * on what the step before left on the server.
 */
static void
test_list_select_scan_fetch(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_list *list = NULL;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_scan_result *res;
	struct mf_fetch_item items[NSEED + 1];
	struct memsink sinks[NSEED + 1];
	const struct mf_box_info *inbox;
	size_t i;

	(void)state;
	if (!have_dovecot)
		skip();
	st = open_store(&full, &cfg);
	assert_true(st->caps & MF_CAP_CONDSTORE);
	assert_true(st->caps & MF_CAP_QRESYNC);
	assert_true(st->caps & MF_CAP_UIDPLUS);
	assert_true(st->caps & MF_CAP_LIST_STATUS);
	/* what the engine asks instead of "has no UIDs" */
	assert_true(st->caps & MF_CAP_CHEAP_SIZE);
	assert_false(st->caps & MF_CAP_PLACEHOLDERS);
	assert_false(st->caps & MF_CAP_DIR_TOKEN);
	assert_false(st->caps & MF_CAP_SCAN_MAY_MISS);
	if (st->ops->list_boxes(st, true, &list, &err) < 0)
		fail_msg("list: %s", err.msg);
	inbox = find_box(list, "INBOX");
	assert_non_null(inbox);
	assert_int_equal(inbox->role, MF_ROLE_INBOX);
	assert_true(inbox->status.has_status);
	assert_int_equal(inbox->status.messages, NSEED);
	assert_int_equal(inbox->status.unseen, NSEED);
	assert_int_equal(inbox->status.uidnext, NSEED + 1);
	assert_true(inbox->status.highestmodseq > 0);
	mf_box_list_free(&list);

	select_box(st, "INBOX", &bs);
	assert_true(bs.uidvalidity != 0);
	assert_int_equal(bs.uidnext, NSEED + 1);
	assert_int_equal(bs.messages, NSEED);
	assert_true(bs.highestmodseq > 0);

	res = scan(st,
		   MF_WANT_FLAGS | MF_WANT_SIZE | MF_WANT_DATE | MF_WANT_MSGID |
			   MF_WANT_MODSEQ,
		   0, false);
	assert_int_equal(res->n, NSEED);
	for (i = 0; i < res->n; i++) {
		assert_int_equal(res->msgs[i].uid, i + 1);
		assert_int_equal(res->msgs[i].flags, 0);
		assert_string_equal(res->msgs[i].keywords, "");
		if (res->msgs[i].size != full.seed_canon[i].len)
			fail_msg("UID %zu: size %llu, canonical %zu", i + 1,
				 (unsigned long long)res->msgs[i].size,
				 full.seed_canon[i].len);
		assert_true(res->msgs[i].date > 0);
		assert_true(res->msgs[i].modseq > 0);
	}
	mf_scan_result_free(&res);

	/* a range past the end still returns the last message on the
	 * wire ("n:*"); the store must filter it out */
	{
		struct mf_scan_req req = { .want = MF_WANT_FLAGS,
					   .uid_lo = NSEED + 5 };

		if (st->ops->scan(st, &req, &res, &err) < 0)
			fail_msg("scan: %s", err.msg);
		assert_int_equal(res->n, 0);
		mf_scan_result_free(&res);
	}

	/* fetch every body, plus one UID that does not exist */
	memset(items, 0, sizeof(items));
	for (i = 0; i <= NSEED; i++) {
		memsink_init(&sinks[i]);
		items[i].uid = (uint32_t)(NSEED - i); /* reverse order */
		if (i == NSEED)
			items[i].uid = 999;
		items[i].sink = &sinks[i].sink;
	}
	if (st->ops->fetch(st, items, NSEED + 1, &err) < 0)
		fail_msg("fetch: %s", err.msg);
	for (i = 0; i < NSEED; i++) {
		size_t seed = items[i].uid - 1;

		if (items[i].status != 0)
			fail_msg("UID %u: %s", items[i].uid, items[i].err.msg);
		assert_true(sinks[i].finished);
		assert_int_equal(items[i].bytes, full.seed_canon[seed].len);
		if (sinks[i].buf.len != full.seed_canon[seed].len ||
		    memcmp(sinks[i].buf.data, full.seed_canon[seed].data,
			   sinks[i].buf.len) != 0)
			fail_msg("UID %u: body differs from %s", items[i].uid,
				 full.seed_files[seed]);
	}
	assert_int_equal(items[NSEED].status, -1);
	assert_true(items[NSEED].gone);
	assert_false(sinks[NSEED].finished);

	/* partial and header-only */
	for (i = 0; i < 2; i++) {
		mf_buf_deinit(&sinks[i].buf);
		memsink_init(&sinks[i]);
		memset(&items[i], 0, sizeof(items[i]));
		items[i].uid = 3;
		items[i].sink = &sinks[i].sink;
	}
	items[0].offset = 10;
	items[0].length = 100;
	items[1].header_only = true;
	if (st->ops->fetch(st, items, 2, &err) < 0)
		fail_msg("fetch: %s", err.msg);
	assert_int_equal(items[0].status, 0);
	assert_int_equal(sinks[0].buf.len, 100);
	assert_memory_equal(sinks[0].buf.data, full.seed_canon[2].data + 10,
			    100);
	assert_int_equal(items[1].status, 0);
	assert_non_null(strstr(full.seed_canon[2].data, "\r\n\r\n"));
	assert_int_equal(sinks[1].buf.len,
			 (size_t)(strstr(full.seed_canon[2].data, "\r\n\r\n") -
				  full.seed_canon[2].data) +
				 4);
	for (i = 0; i <= NSEED; i++)
		mf_buf_deinit(&sinks[i].buf);
	mf_store_destroy(&st);
}

static void
test_flags_condstore(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_scan_result *res;
	struct mf_flag_item fi[3];
	uint64_t modseq0;

	(void)state;
	if (!have_dovecot)
		skip();
	st = open_store(&full, &cfg);
	select_box(st, "INBOX", &bs);
	modseq0 = bs.highestmodseq;
	res = scan(st, MF_WANT_FLAGS, modseq0, true);
	assert_int_equal(res->n, 0);
	assert_true(res->vanished_valid);
	mf_scan_result_free(&res);

	memset(fi, 0, sizeof(fi));
	fi[0].uid = 1;
	fi[0].add = MF_FLAG_FLAGGED | MF_FLAG_SEEN;
	fi[0].kw_add = "$label1 work";
	fi[1].uid = 2;
	fi[1].add = MF_FLAG_FLAGGED | MF_FLAG_SEEN;
	fi[1].kw_add = "$label1 work";
	fi[2].uid = 3;
	fi[2].add = MF_FLAG_ANSWERED;
	if (st->ops->set_flags(st, fi, 3, &err) < 0)
		fail_msg("set_flags: %s", err.msg);
	assert_int_equal(fi[0].status, 0);
	assert_false(fi[0].conflict);

	res = scan(st, MF_WANT_FLAGS | MF_WANT_MODSEQ, modseq0, true);
	assert_int_equal(res->n, 3);
	assert_int_equal(res->msgs[0].uid, 1);
	assert_int_equal(res->msgs[0].flags, MF_FLAG_FLAGGED | MF_FLAG_SEEN);
	assert_string_equal(res->msgs[0].keywords, "$label1 work");
	assert_int_equal(res->msgs[2].flags, MF_FLAG_ANSWERED);
	assert_true(res->msgs[0].modseq > modseq0);
	mf_scan_result_free(&res);

	/* a guard older than the change: refused, reported as conflict */
	memset(fi, 0, sizeof(fi));
	fi[0].uid = 1;
	fi[0].del = MF_FLAG_SEEN;
	fi[0].kw_del = "work";
	fi[0].unchangedsince = modseq0;
	fi[1].uid = 4;
	fi[1].del = MF_FLAG_SEEN;
	fi[1].kw_del = "work";
	fi[1].unchangedsince = modseq0;
	if (st->ops->set_flags(st, fi, 2, &err) < 0)
		fail_msg("set_flags: %s", err.msg);
	assert_true(fi[0].conflict);
	assert_false(fi[1].conflict);
	res = scan(st, MF_WANT_FLAGS, 0, false);
	assert_int_equal(res->msgs[0].flags, MF_FLAG_FLAGGED | MF_FLAG_SEEN);
	mf_scan_result_free(&res);
	mf_store_destroy(&st);
}

static void
append_two(struct mf_store *st, struct server *s, struct mf_delivery d[2])
{
	struct mf_err err = { 0 };
	size_t i;

	memset(d, 0, 2 * sizeof(*d));
	d[0].flags = MF_FLAG_SEEN | MF_FLAG_DRAFT;
	d[0].keywords = "$label2";
	d[0].date = 1593957780; /* 05-Jul-2020 14:03:00 +0000 */
	d[1].flags = 0;
	for (i = 0; i < 2; i++) {
		if (st->ops->deliver_begin(st, &d[i], &err) < 0)
			fail_msg("deliver_begin: %s", err.msg);
		if (mf_sink_write(d[i].sink, s->seed_canon[i].data,
				  s->seed_canon[i].len, &err) < 0 ||
		    mf_sink_finish(d[i].sink, &err) < 0)
			fail_msg("spool: %s", err.msg);
	}
	if (st->ops->deliver_flush(st, &err) < 0)
		fail_msg("deliver_flush: %s", err.msg);
	for (i = 0; i < 2; i++)
		if (d[i].status != 0)
			fail_msg("delivery %zu: %s", i, d[i].err.msg);
}

/*
 * Long because it is one session walked through in order: each step works
 * on what the step before left on the server.
 */
static void
test_append_remove_boxes(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_scan_result *res;
	struct mf_delivery d[2];
	struct mf_remove_item rm[1];
	struct mf_fetch_item fi[1];
	struct memsink sink;
	struct mf_box_list *list = NULL;
	static const char utf8box[] = "\xc3\x84rger/Unterordner";

	(void)state;
	if (!have_dovecot)
		skip();
	st = open_store(&full, &cfg);
	if (st->ops->create_box(st, "Work", &err) < 0)
		fail_msg("create: %s", err.msg);
	select_box(st, "Work", &bs);
	append_two(st, &full, d);
	assert_int_equal(d[0].uid, 1);
	assert_int_equal(d[1].uid, 2);

	res = scan(st, MF_WANT_FLAGS | MF_WANT_DATE | MF_WANT_SIZE, 0, false);
	assert_int_equal(res->n, 2);
	assert_int_equal(res->msgs[0].flags, MF_FLAG_SEEN | MF_FLAG_DRAFT);
	assert_string_equal(res->msgs[0].keywords, "$label2");
	assert_int_equal(res->msgs[0].date, 1593957780);
	assert_int_equal(res->msgs[1].size, full.seed_canon[1].len);
	mf_scan_result_free(&res);

	/* max_age: the 2020 message is older than a day ago, the other not */
	res = scan_since(st, (int64_t)time(NULL) - 86400);
	assert_int_equal(res->n, 1);
	assert_int_equal(res->msgs[0].uid, 2);
	mf_scan_result_free(&res);
	res = scan_since(st, 1593957780 - 3600);
	assert_int_equal(res->n, 2);
	mf_scan_result_free(&res);
	assert_true(count_client_lines("UID SEARCH RETURN (ALL) SINCE") > 0);

	memset(fi, 0, sizeof(fi));
	memsink_init(&sink);
	fi[0].uid = 1;
	fi[0].sink = &sink.sink;
	if (st->ops->fetch(st, fi, 1, &err) < 0 || fi[0].status != 0)
		fail_msg("fetch: %s %s", err.msg, fi[0].err.msg);
	assert_int_equal(sink.buf.len, full.seed_canon[0].len);
	assert_memory_equal(sink.buf.data, full.seed_canon[0].data,
			    sink.buf.len);
	mf_buf_deinit(&sink.buf);

	select_box(st, "Work", &bs);
	memset(rm, 0, sizeof(rm));
	rm[0].uid = 1;
	if (st->ops->remove(st, rm, 1, true, &err) < 0 || rm[0].status != 0)
		fail_msg("remove: %s %s", err.msg, rm[0].err.msg);
	res = scan(st, MF_WANT_FLAGS, bs.highestmodseq, true);
	assert_true(res->vanished_valid);
	assert_int_equal(res->nvanished, 1);
	assert_int_equal(res->vanished[0], 1);
	mf_scan_result_free(&res);
	res = scan(st, MF_WANT_FLAGS, 0, false);
	assert_int_equal(res->n, 1);
	assert_int_equal(res->msgs[0].uid, 2);
	mf_scan_result_free(&res);

	/* a UTF-8 name round trip, mUTF-7 on the wire */
	if (st->ops->create_box(st, utf8box, &err) < 0)
		fail_msg("create: %s", err.msg);
	if (st->ops->list_boxes(st, false, &list, &err) < 0)
		fail_msg("list: %s", err.msg);
	assert_non_null(find_box(list, utf8box));
	assert_non_null(find_box(list, "Work"));
	mf_box_list_free(&list);
	assert_non_null(strstr(trace.data, "CREATE \"&AMQ-rger/Unterordner\""));
	if (imap_store_rename_box(st, "Work", "Work renamed", &err) < 0)
		fail_msg("rename: %s", err.msg);
	if (st->ops->delete_box(st, utf8box, &err) < 0 ||
	    st->ops->delete_box(st, "Work renamed", &err) < 0)
		fail_msg("delete: %s", err.msg);
	if (st->ops->list_boxes(st, false, &list, &err) < 0)
		fail_msg("list: %s", err.msg);
	assert_null(find_box(list, utf8box));
	assert_null(find_box(list, "Work"));
	assert_null(find_box(list, "Work renamed"));
	mf_box_list_free(&list);
	/* a name the server cannot hold fails the box, not the store */
	assert_int_equal(st->ops->create_box(st, "a//b", &err), -1);
	assert_int_equal(err.cls, MF_E_BOX);
	mf_store_destroy(&st);
}

/*
 * deliver_abort_all: the spools go, no APPEND reaches the wire (the trace
 * and UIDNEXT say so), each delivery is told and the store keeps no pointer
 * to it (they are freed before the next call; ASan would see one kept).  A
 * select_box with deliveries begun aborts them the same way.  Deliveries
 * after that work as usual.
 */
static void
test_abort_all(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_scan_result *res;
	struct mf_delivery *d = xcalloc(3, sizeof(*d));
	struct mf_delivery after[2];
	size_t i, appends;

	(void)state;
	if (!have_dovecot) {
		free(d);
		skip();
	}
	st = open_store(&full, &cfg);
	if (st->ops->create_box(st, "Aborted", &err) < 0)
		fail_msg("create: %s", err.msg);
	select_box(st, "Aborted", &bs);
	assert_int_equal(bs.uidnext, 1);
	appends = count_client_lines(" APPEND ");
	for (i = 0; i < 3; i++)
		if (st->ops->deliver_begin(st, &d[i], &err) < 0)
			fail_msg("deliver_begin: %s", err.msg);
	/* one finished, one half-written, one untouched */
	if (mf_sink_write(d[0].sink, full.seed_canon[0].data,
			  full.seed_canon[0].len, &err) < 0 ||
	    mf_sink_finish(d[0].sink, &err) < 0 ||
	    mf_sink_write(d[1].sink, full.seed_canon[1].data, 10, &err) < 0)
		fail_msg("spool: %s", err.msg);
	st->ops->deliver_abort_all(st);
	for (i = 0; i < 3; i++) {
		assert_int_equal(d[i].status, -1);
		assert_int_equal(d[i].err.cls, MF_E_MSG);
		assert_non_null(strstr(d[i].err.msg, "aborted"));
		assert_null(d[i].sink);
		assert_null(d[i].priv);
	}
	/* a select between begin and flush aborts too */
	memset(d, 0, 3 * sizeof(*d));
	if (st->ops->deliver_begin(st, &d[0], &err) < 0)
		fail_msg("deliver_begin: %s", err.msg);
	select_box(st, "Aborted", &bs);
	assert_int_equal(d[0].status, -1);
	assert_null(d[0].sink);
	free(d);
	if (st->ops->deliver_flush(st, &err) < 0)
		fail_msg("flush after abort: %s", err.msg);
	assert_int_equal(count_client_lines(" APPEND "), appends);
	select_box(st, "Aborted", &bs);
	assert_int_equal(bs.uidnext, 1);
	res = scan(st, MF_WANT_FLAGS, 0, false);
	assert_int_equal(res->n, 0);
	mf_scan_result_free(&res);
	append_two(st, &full, after);
	/* the two went out, nothing aborted with them: one APPEND each, or
	 * one MULTIAPPEND (Dovecot offers it) */
	assert_in_range(count_client_lines(" APPEND ") - appends, 1, 2);
	res = scan(st, MF_WANT_FLAGS, 0, false);
	assert_int_equal(res->n, 2);
	mf_scan_result_free(&res);
	select_box(st, "INBOX", &bs);
	if (st->ops->delete_box(st, "Aborted", &err) < 0)
		fail_msg("delete: %s", err.msg);
	mf_store_destroy(&st);
}

static void
test_reduced_caps(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_box_list *list = NULL;
	struct mf_scan_result *res;
	struct mf_delivery d[2];
	struct mf_remove_item rm[1];
	const struct mf_box_info *inbox;

	(void)state;
	if (!have_dovecot || reduced.dir[0] == '\0')
		skip();
	mf_buf_reset(&trace);
	st = open_store(&reduced, &cfg);
	assert_false(st->caps & MF_CAP_CONDSTORE);
	assert_false(st->caps & MF_CAP_UIDPLUS);
	assert_false(st->caps & MF_CAP_LIST_STATUS);
	if (st->ops->list_boxes(st, true, &list, &err) < 0)
		fail_msg("list: %s", err.msg);
	inbox = find_box(list, "INBOX");
	assert_non_null(inbox);
	assert_int_equal(inbox->status.messages, NSEED);
	mf_box_list_free(&list);
	/* the pipelined STATUS fallback was used */
	assert_non_null(strstr(trace.data, "C: A"));
	assert_non_null(strstr(trace.data, " STATUS \"INBOX\" (MESSAGES"));

	select_box(st, "INBOX", &bs);
	assert_int_equal(bs.highestmodseq, 0);
	assert_int_equal(bs.messages, NSEED);
	res = scan(st, MF_WANT_FLAGS | MF_WANT_MODSEQ, 5, true);
	assert_int_equal(res->n, NSEED); /* no CHANGEDSINCE: all */
	assert_false(res->vanished_valid);
	mf_scan_result_free(&res);

	/* Dovecot still answers [APPENDUID] when UIDPLUS is hidden; a
	 * correct UID is fine to use, so nothing to assert about it */
	append_two(st, &reduced, d);
	res = scan_since(st, (int64_t)time(NULL) - 86400);
	/* the seeded files (dated now) and d[1], not d[0] from 2020 */
	assert_int_equal(res->n, NSEED + 1);
	mf_scan_result_free(&res);
	assert_true(count_client_lines("UID SEARCH SINCE") > 0);
	memset(rm, 0, sizeof(rm));
	rm[0].uid = 1;
	if (st->ops->remove(st, rm, 1, true, &err) < 0 || rm[0].status != 0)
		fail_msg("remove: %s", err.msg);
	/* never a plain EXPUNGE: the message stays, flagged \Deleted */
	{
		const char *p = trace.data;

		while ((p = strstr(p, "\nC: ")) != NULL) {
			const char *eol = strchr(p + 1, '\n');
			size_t len = eol ? (size_t)(eol - p) : strlen(p);

			if (memmem(p, len, "EXPUNGE", 7) != NULL)
				fail_msg("sent: %.*s", (int)len, p + 1);
			p += len;
		}
	}
	res = scan(st, MF_WANT_FLAGS, 0, false);
	assert_int_equal(res->n, NSEED + 2);
	assert_int_equal(res->msgs[0].flags, MF_FLAG_DELETED);
	mf_scan_result_free(&res);
	mf_store_destroy(&st);
}

/*
 * Long because it is one session walked through in order: each step works
 * on what the step before left on the server.
 */
static void
test_bulk_compress(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_box_list *list = NULL;
	struct mf_scan_result *res;
	struct mf_fetch_item *items;
	struct memsink *sinks;
	struct mf_flag_item *fl;
	const struct mf_box_info *b;
	size_t i;

	(void)state;
	if (!have_dovecot)
		skip();
	mf_buf_reset(&trace);
	fill_cfg(&full, &cfg);
	cfg.compress = true;
	if (imap_store_create(&cfg, &st, &err) < 0)
		fail_msg("connect: %s", err.msg);
	assert_int_equal(count_client_lines("COMPRESS DEFLATE"), 1);
	if (st->ops->list_boxes(st, true, &list, &err) < 0)
		fail_msg("list: %s", err.msg);
	b = find_box(list, "Sent");
	assert_non_null(b);
	assert_int_equal(b->role, MF_ROLE_SENT);
	mf_box_list_free(&list);

	select_box(st, "Bulk", &bs);
	assert_int_equal(bs.messages, NBULK);
	res = scan(st, MF_WANT_FLAGS | MF_WANT_SIZE, 0, false);
	assert_int_equal(res->n, NBULK);
	mf_scan_result_free(&res);

	items = xcalloc(NBULK, sizeof(*items));
	sinks = xcalloc(NBULK, sizeof(*sinks));
	for (i = 0; i < NBULK; i++) {
		memsink_init(&sinks[i]);
		items[i].uid = (uint32_t)(i + 1);
		items[i].sink = &sinks[i].sink;
	}
	if (st->ops->fetch(st, items, NBULK, &err) < 0)
		fail_msg("fetch: %s", err.msg);
	for (i = 0; i < NBULK; i++) {
		if (items[i].status != 0 ||
		    sinks[i].buf.len != full.seed_canon[0].len ||
		    memcmp(sinks[i].buf.data, full.seed_canon[0].data,
			   sinks[i].buf.len) != 0)
			fail_msg("UID %u: wrong body (%s)", items[i].uid,
				 items[i].err.msg);
		mf_buf_deinit(&sinks[i].buf);
	}
	/* ranged: a few commands, never one per message */
	assert_int_equal(count_client_lines("BODY.PEEK[])"),
			 (NBULK + 249) / 250);
	free(items);
	free(sinks);

	fl = xcalloc(NBULK, sizeof(*fl));
	for (i = 0; i < NBULK; i++) {
		fl[i].uid = (uint32_t)(i + 1);
		fl[i].add = i % 2 ? MF_FLAG_SEEN : MF_FLAG_FLAGGED;
	}
	if (st->ops->set_flags(st, fl, NBULK, &err) < 0)
		fail_msg("set_flags: %s", err.msg);
	/* grouped by change: one STORE for \Seen, one for \Flagged */
	assert_int_equal(count_client_lines("+FLAGS.SILENT"), 2);
	free(fl);
	res = scan(st, MF_WANT_FLAGS, 0, false);
	assert_int_equal(res->n, NBULK);
	for (i = 0; i < NBULK; i++)
		assert_int_equal(res->msgs[i].flags,
				 i % 2 ? MF_FLAG_SEEN : MF_FLAG_FLAGGED);
	mf_scan_result_free(&res);

	/* a 3 MiB message: spooled to a temp file, streamed back out */
	{
		struct mf_delivery d = { 0 };
		struct mf_fetch_item it = { 0 };
		struct memsink back;
		struct mf_buf big;
		char line[80];

		mf_buf_init(&big, 4 * 1024 * 1024);
		if (mf_buf_append_str(&big, "Subject: big\r\n\r\n", NULL) < 0)
			fail_msg("buf");
		for (i = 0; big.len < 3 * 1024 * 1024; i++) {
			snprintf(line, sizeof(line),
				 "line %06zu of a big "
				 "message, to be spooled\r\n",
				 i);
			if (mf_buf_append_str(&big, line, NULL) < 0)
				fail_msg("buf");
		}
		if (st->ops->deliver_begin(st, &d, &err) < 0 ||
		    mf_sink_write(d.sink, big.data, big.len / 2, &err) < 0 ||
		    mf_sink_write(d.sink, big.data + big.len / 2,
				  big.len - big.len / 2, &err) < 0 ||
		    mf_sink_finish(d.sink, &err) < 0 ||
		    st->ops->deliver_flush(st, &err) < 0 || d.status != 0)
			fail_msg("big delivery: %s %s", err.msg, d.err.msg);
		assert_int_equal(d.uid, NBULK + 1);
		memsink_init(&back);
		it.uid = d.uid;
		it.sink = &back.sink;
		if (st->ops->fetch(st, &it, 1, &err) < 0 || it.status != 0)
			fail_msg("fetch big: %s %s", err.msg, it.err.msg);
		assert_int_equal(back.buf.len, big.len);
		assert_memory_equal(back.buf.data, big.data, big.len);
		mf_buf_deinit(&back.buf);
		mf_buf_deinit(&big);
	}
	mf_store_destroy(&st);
}

static void
test_idle(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	bool changed = true;
	pid_t pid;
	int status;

	(void)state;
	if (!have_dovecot)
		skip();
	st = open_store(&full, &cfg);
	select_box(st, "Sent", &bs);
	/* nothing happens: the IDLE ends by its timeout */
	if (imap_store_idle(st, 300, &changed, &err) < 0)
		fail_msg("idle: %s", err.msg);
	assert_false(changed);
	/* a message arrives meanwhile: the IDLE ends with changed */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(300 * 1000);
		_exit(run("bash '%s' seed '%s' Sent '%s' 2>/dev/null", harness,
			  full.dir, full.seed_files[1]) == 0 ?
			      0 :
			      1);
	}
	if (imap_store_idle(st, 20000, &changed, &err) < 0)
		fail_msg("idle: %s", err.msg);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(changed);
	/* and the session is usable afterwards */
	select_box(st, "Sent", &bs);
	assert_int_equal(bs.messages, 2);
	mf_store_destroy(&st);
}

/* ---- against the fake server ---------------------------------------- */

struct fake {
	pid_t pid;
	unsigned port;
	char dir[64];
};

static void
fake_start(struct fake *f, const char *script)
{
	const char *src = getenv("MF_SOURCE_ROOT");
	const char *build = getenv("MF_BUILD_ROOT");
	char *exe, *spath, *logp, *portp;
	int i;

	assert_non_null(src);
	assert_non_null(build);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mf-fake.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	exe = xasprintf("%s/tests/fake/fake-imapd", build);
	spath = xasprintf("%s/tests/fake/%s", src, script);
	logp = xasprintf("%s/log", f->dir);
	portp = xasprintf("%s/port", f->dir);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		execl(exe, exe, "--script", spath, "--log", logp, "--port-file",
		      portp, "--timeout", "30", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		FILE *pf = fopen(portp, "r");

		if (pf != NULL) {
			if (fscanf(pf, "%u", &f->port) != 1)
				f->port = 0;
			fclose(pf);
			if (f->port != 0)
				break;
		}
		usleep(20000);
	}
	assert_true(f->port != 0);
	free(exe);
	free(spath);
	free(logp);
	free(portp);
}

/* The script must have run to its end: every EXPECT matched. */
static void
fake_finish(struct fake *f)
{
	int status = 0;
	char cmd[256];

	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(cmd, sizeof(cmd), "sed 's/^/# fake: /' %s/log >&2",
			 f->dir);
		run("%s", cmd);
		fail_msg("fake server script failed (status %d)", status);
	}
	run("rm -rf '%s'", f->dir);
}

static struct mf_store *
fake_store(struct fake *f, struct imap_store_cfg *cfg)
{
	struct mf_store *st = NULL;
	struct mf_err err = { 0 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->name = "fake";
	cfg->host = "127.0.0.1";
	cfg->port = f->port;
	cfg->tls = IMAP_TLS_NONE;
	cfg->allow_insecure = true;
	cfg->timeout_ms = 20000;
	if (imap_store_create(cfg, &st, &err) < 0)
		fail_msg("connect: %s", err.msg);
	return st;
}

static void
test_quirks_courier(void **state)
{
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_list *list = NULL;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	const struct mf_box_info *b;

	(void)state;
	fake_start(&f, "courier.script");
	/* ENABLE answered NO (not BAD): goes on without CONDSTORE */
	st = fake_store(&f, &cfg);
	assert_false(st->caps & MF_CAP_CONDSTORE);
	if (st->ops->list_boxes(st, false, &list, &err) < 0)
		fail_msg("list: %s", err.msg);
	/* "INBOX." stripped, '.' turned into '/', lower-case \sent */
	assert_int_equal(list->n, 5);
	assert_string_equal(list->v[0].name, "INBOX");
	assert_int_equal(list->v[0].role, MF_ROLE_INBOX);
	b = find_box(list, "Sent");
	assert_non_null(b);
	assert_int_equal(b->role, MF_ROLE_SENT);
	b = find_box(list, "Archive/2023");
	assert_non_null(b);
	assert_int_equal(b->role, MF_ROLE_ARCHIVE);
	b = find_box(list, "Archive");
	assert_non_null(b);
	assert_true(b->attrs & MF_BOX_NOSELECT);
	assert_non_null(find_box(list, "Entw\xc3\xbcrfe"));
	/* "INBOX.a/b" cannot be represented: skipped with a warning */
	assert_null(find_box(list, "a/b"));
	assert_non_null(strstr(trace.data, "skipping mailbox 'INBOX.a/b'"));
	mf_box_list_free(&list);

	/* no [UIDNEXT] on SELECT (Courier): last UID + 1 */
	select_box(st, "Sent", &bs);
	assert_int_equal(bs.uidvalidity, 42);
	assert_int_equal(bs.messages, 3);
	assert_int_equal(bs.uidnext, 18);
	assert_int_equal(bs.highestmodseq, 0);

	/* the prefix and the delimiter are added back on the way out */
	if (st->ops->create_box(st, "Entw\xc3\xbcrfe/x y", &err) < 0)
		fail_msg("create: %s", err.msg);
	/* a name with the server's delimiter in a level: refused here */
	assert_int_equal(st->ops->create_box(st, "a.b", &err), -1);
	assert_int_equal(err.cls, MF_E_BOX);
	mf_store_destroy(&st);
	fake_finish(&f);
}

/* PERMANENTFLAGS without \* limits the keywords a scan can show. */
static void
test_permanent_keywords(void **state)
{
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_scan_req req = { .want = MF_WANT_FLAGS };
	struct mf_scan_result *res = NULL;
	struct mf_err err = { 0 };

	(void)state;
	fake_start(&f, "permanentflags.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	if (st->ops->scan(st, &req, &res, &err) < 0)
		fail_msg("scan: %s", err.msg);
	assert_int_equal(res->n, 1);
	assert_string_equal(res->msgs[0].keywords, "Work");
	assert_non_null(res->kw_visible);
	assert_string_equal(res->kw_visible, "$Junk Work");
	mf_scan_result_free(&res);
	select_box(st, "Sent", &bs);
	if (st->ops->scan(st, &req, &res, &err) < 0)
		fail_msg("scan: %s", err.msg);
	assert_null(res->kw_visible); /* \* : every keyword is kept */
	mf_scan_result_free(&res);
	mf_store_destroy(&st);
	fake_finish(&f);
}

/* IDLE ends on time even when the server keeps talking (keepalives). */
static void
test_idle_chatter(void **state)
{
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	struct timespec t0, t1;
	bool changed = true;
	double secs;

	(void)state;
	fake_start(&f, "idle-chatter.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (imap_store_idle(st, 1000, &changed, &err) < 0)
		fail_msg("idle: %s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_false(changed);
	/* a bound on a hang (the script chatters until DONE), not a speed */
	if (secs > 5.0)
		fail_msg("IDLE of 1 s took %.1f s", secs);
	mf_store_destroy(&st);
	fake_finish(&f);
}

static void
test_append_pipelined_sync_literals(void **state)
{
	static const char *const body[3] = { "first", "second", "third" };
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	struct mf_delivery d[3];
	struct mf_fetch_item fi[1];
	struct memsink sink;
	size_t i;

	(void)state;
	fake_start(&f, "append-sync.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	assert_int_equal(bs.uidnext, 10);
	memset(d, 0, sizeof(d));
	d[0].flags = MF_FLAG_SEEN;
	d[0].date = 1593957780;
	d[2].flags = MF_FLAG_FLAGGED;
	d[2].keywords = "$label1";
	for (i = 0; i < 3; i++) {
		if (st->ops->deliver_begin(st, &d[i], &err) < 0 ||
		    mf_sink_write(d[i].sink, body[i], strlen(body[i]), &err) <
			    0 ||
		    mf_sink_finish(d[i].sink, &err) < 0)
			fail_msg("deliver: %s", err.msg);
	}
	if (st->ops->deliver_flush(st, &err) < 0)
		fail_msg("flush: %s", err.msg);
	assert_int_equal(d[0].status, 0);
	assert_int_equal(d[0].uid, 10);
	/* a NO in place of "+": that message fails with the server's text */
	assert_int_equal(d[1].status, -1);
	assert_int_equal(d[1].err.cls, MF_E_MSG);
	assert_non_null(strstr(d[1].err.msg, "NO [OVERQUOTA] Quota exceeded"));
	assert_int_equal(d[2].status, 0);
	assert_int_equal(d[2].uid, 11);

	/* BODY[] before UID: spooled, then handed to the right item */
	memset(fi, 0, sizeof(fi));
	memsink_init(&sink);
	fi[0].uid = 7;
	fi[0].sink = &sink.sink;
	if (st->ops->fetch(st, fi, 1, &err) < 0)
		fail_msg("fetch: %s", err.msg);
	assert_int_equal(fi[0].status, 0);
	assert_true(sink.finished);
	assert_int_equal(sink.buf.len, 5);
	assert_memory_equal(sink.buf.data, "hello", 5);
	mf_buf_deinit(&sink.buf);
	mf_store_destroy(&st);
	fake_finish(&f);
}

/* Deliver bodies[0..n) into st's selected mailbox and flush; the flush's
 * return value. */
static int
deliver_all(struct mf_store *st, struct mf_delivery *d,
	    const char *const *bodies, size_t n, struct mf_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (st->ops->deliver_begin(st, &d[i], err) < 0 ||
		    mf_sink_write(d[i].sink, bodies[i], strlen(bodies[i]),
				  err) < 0 ||
		    mf_sink_finish(d[i].sink, err) < 0)
			fail_msg("deliver: %s", err->msg);
	}
	return st->ops->deliver_flush(st, err);
}

/* MULTIAPPEND (imap-multiappend.c): one command, the UID set in order */
static void
test_multiappend(void **state)
{
	static const char *const body[2] = { "first", "second" };
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	struct mf_delivery d[2];

	(void)state;
	fake_start(&f, "multiappend-ok.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	memset(d, 0, sizeof(d));
	d[0].flags = MF_FLAG_SEEN;
	d[0].date = 1593957780;
	d[1].flags = MF_FLAG_FLAGGED;
	d[1].keywords = "$label1";
	if (deliver_all(st, d, body, 2, &err) < 0)
		fail_msg("flush: %s", err.msg);
	assert_int_equal(d[0].status, 0);
	assert_int_equal(d[0].uid, 10);
	assert_int_equal(d[1].status, 0);
	assert_int_equal(d[1].uid, 11);
	mf_store_destroy(&st);
	fake_finish(&f);
}

/* A refused MULTIAPPEND, UIDNEXT unchanged: sent again one by one, and
 * only the message refused again fails */
static void
test_multiappend_refused(void **state)
{
	static const char *const body[2] = { "first", "second" };
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	struct mf_delivery d[2];

	(void)state;
	fake_start(&f, "multiappend-refused.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	memset(d, 0, sizeof(d));
	if (deliver_all(st, d, body, 2, &err) < 0)
		fail_msg("flush: %s", err.msg);
	assert_int_equal(d[0].status, 0);
	assert_int_equal(d[0].uid, 10);
	assert_int_equal(d[1].status, -1);
	assert_int_equal(d[1].err.cls, MF_E_MSG);
	assert_non_null(strstr(d[1].err.msg, "Quota exceeded"));
	mf_store_destroy(&st);
	fake_finish(&f);
}

/* A refused MULTIAPPEND, UIDNEXT moved: nothing sent again, the flush
 * fails and every result is unknown (a class above MF_E_MSG, store.h) */
static void
test_multiappend_moved(void **state)
{
	static const char *const body[2] = { "first", "second" };
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	struct mf_delivery d[2];
	size_t i;

	(void)state;
	fake_start(&f, "multiappend-moved.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	memset(d, 0, sizeof(d));
	assert_int_equal(deliver_all(st, d, body, 2, &err), -1);
	assert_int_equal(err.cls, MF_E_BOX);
	assert_non_null(strstr(err.msg, "UIDNEXT moved (10, then 11)"));
	for (i = 0; i < 2; i++) {
		assert_int_equal(d[i].status, -1);
		assert_true(d[i].err.cls > MF_E_MSG);
	}
	mf_store_destroy(&st);
	fake_finish(&f);
}

/*
 * The connection dies after the second APPEND was sent, before its answer:
 * the flush fails store-level, the first delivery has its UID, the second
 * is -1 with a store-level class ("may have landed", store.h), so the
 * engine keeps its row pending rather than undoing it.  Neither is lent
 * any more: they are freed before destroy (ASan would see a kept one).
 */
static void
test_append_lost_answer(void **state)
{
	static const char *const body[2] = { "first", "second" };
	struct fake f;
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_box_status bs;
	struct mf_err err = { 0 };
	struct mf_delivery *d = xcalloc(2, sizeof(*d));
	size_t i;

	(void)state;
	fake_start(&f, "append-lost.script");
	st = fake_store(&f, &cfg);
	select_box(st, "INBOX", &bs);
	for (i = 0; i < 2; i++) {
		if (st->ops->deliver_begin(st, &d[i], &err) < 0 ||
		    mf_sink_write(d[i].sink, body[i], strlen(body[i]), &err) <
			    0 ||
		    mf_sink_finish(d[i].sink, &err) < 0)
			fail_msg("deliver: %s", err.msg);
	}
	assert_int_equal(st->ops->deliver_flush(st, &err), -1);
	assert_true(mf_err_is_store_level(err.cls));
	assert_int_equal(d[0].status, 0);
	assert_int_equal(d[0].uid, 10);
	assert_int_equal(d[1].status, -1);
	assert_true(mf_err_is_store_level(d[1].err.cls));
	for (i = 0; i < 2; i++) {
		assert_null(d[i].sink);
		assert_null(d[i].priv);
	}
	free(d);
	mf_store_destroy(&st);
	fake_finish(&f);
}

static void
test_no_password_in_trace(void **state)
{
	(void)state;
	if (!have_dovecot)
		skip();
	assert_non_null(strstr(trace.data, "AUTHENTICATE PLAIN <redacted>"));
	assert_null(strstr(trace.data, full.pass));
	if (reduced.dir[0] != '\0')
		assert_null(strstr(trace.data, reduced.pass));
}

static int
setup(void **state)
{
	const char *h = getenv("MF_HARNESS");

	(void)state;
	mf_buf_init(&trace, 256 * 1024 * 1024);
	mf_log_set_handler(capture, NULL);
	mf_log_set_level(MF_LOG_DEBUG);
	mf_log_set_debug(MF_LOGC_IMAP);
	have_dovecot = h != NULL && access("/usr/sbin/dovecot", X_OK) == 0;
	if (!have_dovecot) {
		fprintf(stderr, "no dovecot: only the fake server tests run\n");
		return 0;
	}
	snprintf(harness, sizeof(harness), "%s", h);
	/* special-use roles, and COMPRESS=DEFLATE (Dovecot's imap_zlib) */
	if (start_server(&full,
			 "--special-use "
			 "--set 'mail_plugins = $mail_plugins zlib' "
			 "--set 'protocol imap {' "
			 "--set '  mail_plugins = $mail_plugins imap_zlib' "
			 "--set '}'") < 0) {
		fprintf(stderr, "harness failed to start\n");
		return -1;
	}
	if (start_server(&reduced, "--caps 'IMAP4rev1 SASL-IR LITERAL+ "
				   "ID ENABLE IDLE NAMESPACE CHILDREN'") < 0) {
		fprintf(stderr, "reduced harness failed to start\n");
		return -1;
	}
	return 0;
}

/*
 * move: Bulk's 600 UIDs in ranged, pipelined UID MOVEs with the new UIDs from
 * COPYUID, a UID that is not there reported gone; then without MOVE the
 * UID COPY + UID EXPUNGE fallback.
 */
static void
test_move(void **state)
{
	struct imap_store_cfg cfg;
	struct mf_store *st;
	struct mf_err err = { 0 };
	struct mf_box_status bs;
	struct mf_scan_result *res;
	struct mf_move_item *items;
	size_t i, n;

	(void)state;
	if (!have_dovecot)
		skip();
	mf_buf_reset(&trace);
	st = open_store(&full, &cfg);
	assert_true(st->caps & MF_CAP_MOVE);
	if (st->ops->create_box(st, "Moved", &err) < 0)
		fail_msg("create: %s", err.msg);
	select_box(st, "Bulk", &bs);
	res = scan(st, 0, 0, false);
	n = res->n; /* test_bulk_compress appended one */
	assert_true(n >= NBULK);
	items = xcalloc(n + 1, sizeof(*items));
	for (i = 0; i < n; i++)
		items[i].uid = res->msgs[n - 1 - i].uid; /* any order */
	items[n].uid = res->msgs[n - 1].uid + 1000;	 /* not there */
	mf_scan_result_free(&res);
	if (st->ops->move(st, items, n + 1, "Moved", &err) < 0)
		fail_msg("move: %s", err.msg);
	for (i = 0; i < n; i++) {
		assert_int_equal(items[i].status, 0);
		assert_false(items[i].gone);
		/* Moved was empty: new UIDs 1..n, in the order of the old */
		assert_int_equal(items[i].new_uid, n - i);
	}
	assert_int_equal(items[n].status, 0);
	assert_true(items[n].gone);
	assert_true(count_client_lines(" UID MOVE ") >= 3);
	select_box(st, "Bulk", &bs);
	assert_int_equal(bs.messages, 0);
	select_box(st, "Moved", &bs);
	assert_int_equal(bs.messages, n);
	/* into the selected mailbox itself: refused */
	assert_int_equal(st->ops->move(st, items, 1, "Moved", &err), -1);
	mf_store_destroy(&st);

	/* without MOVE: COPY, then \Deleted and UID EXPUNGE of those */
	mf_buf_reset(&trace);
	fill_cfg(&full, &cfg);
	cfg.no_move = true;
	if (imap_store_create(&cfg, &st, &err) < 0)
		fail_msg("connect: %s", err.msg);
	assert_false(st->caps & MF_CAP_MOVE);
	select_box(st, "Moved", &bs);
	memset(items, 0, (n + 1) * sizeof(*items));
	for (i = 0; i < 10; i++)
		items[i].uid = (uint32_t)(i + 1);
	if (st->ops->move(st, items, 10, "Bulk", &err) < 0)
		fail_msg("move (copy): %s", err.msg);
	for (i = 0; i < 10; i++) {
		assert_int_equal(items[i].status, 0);
		assert_int_not_equal(items[i].new_uid, 0);
	}
	assert_int_equal(count_client_lines(" UID MOVE "), 0);
	assert_true(count_client_lines(" UID COPY ") >= 1);
	assert_true(count_client_lines(" UID EXPUNGE ") >= 1);
	select_box(st, "Moved", &bs);
	assert_int_equal(bs.messages, n - 10);
	select_box(st, "Bulk", &bs);
	assert_int_equal(bs.messages, 10);
	free(items);
	mf_store_destroy(&st);
}

static int
teardown(void **state)
{
	(void)state;
	stop_server(&full);
	stop_server(&reduced);
	mf_log_set_handler(NULL, NULL);
	mf_buf_deinit(&trace);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_select_scan_fetch),
		cmocka_unit_test(test_flags_condstore),
		cmocka_unit_test(test_append_remove_boxes),
		cmocka_unit_test(test_abort_all),
		cmocka_unit_test(test_reduced_caps),
		cmocka_unit_test(test_bulk_compress),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_quirks_courier),
		cmocka_unit_test(test_append_pipelined_sync_literals),
		cmocka_unit_test(test_append_lost_answer),
		cmocka_unit_test(test_multiappend),
		cmocka_unit_test(test_multiappend_refused),
		cmocka_unit_test(test_multiappend_moved),
		cmocka_unit_test(test_permanent_keywords),
		cmocka_unit_test(test_idle_chatter),
		cmocka_unit_test(test_no_password_in_trace),
		cmocka_unit_test(test_move),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);

	/* Dovecot missing: the skipped tests make this a skip, not a pass */
	return failed == 0 && !have_dovecot ? 77 : failed;
}
