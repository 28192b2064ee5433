/*
 * The Maildir store's move (store/maildir/mdir-move.c): files renamed into
 * another folder with their names, new/ kept new/, a taken name never
 * overwritten, a missing key reported as gone; and relabel() of a file
 * moved by hand.  Each test works in its own
 * mkdtemp() directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/xalloc.h"
#include "maildir/mdir-store.h"
#include "store.h"

struct fixture {
	char dir[PATH_MAX];
	char root[PATH_MAX + 8];
	struct mf_store *st;
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
must(int ret, const struct mf_err *err, const char *what)
{
	if (ret != 0)
		fail_msg("%s: %s", what, err->msg);
}

static void
fixture_open(struct fixture *fx, enum mdir_layout layout)
{
	struct mdir_store_cfg cfg = { 0 };
	struct mf_err err = { 0 };
	const char *tmp = getenv("TMPDIR");

	snprintf(fx->dir, sizeof(fx->dir), "%s/mf-mv-XXXXXX",
		 tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->root, sizeof(fx->root), "%s/root", fx->dir);
	cfg.name = "local";
	cfg.path = fx->root;
	cfg.layout = layout;
	cfg.create_root = true;
	must(mdir_store_create(&cfg, &fx->st, &err), &err, "create");
	must(fx->st->ops->create_box(fx->st, "INBOX", &err), &err, "INBOX");
	must(fx->st->ops->create_box(fx->st, "Archive", &err), &err, "Archive");
}

static void
fixture_close(struct fixture *fx)
{
	mf_store_destroy(&fx->st);
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
box_path(const struct fixture *fx, enum mdir_layout layout, const char *box,
	 const char *sub, const char *name)
{
	if (strcmp(box, "INBOX") == 0 && layout == MDIR_LAYOUT_MAILDIRPP)
		return xasprintf("%s/%s/%s", fx->root, sub, name);
	if (layout == MDIR_LAYOUT_MAILDIRPP)
		return xasprintf("%s/.%s/%s/%s", fx->root, box, sub, name);
	return xasprintf("%s/%s/%s/%s", fx->root, box, sub, name);
}

static void
put(const struct fixture *fx, enum mdir_layout layout, const char *box,
    const char *sub, const char *name, const char *data)
{
	char *path = box_path(fx, layout, box, sub, name);
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("fopen %s: %s", path, strerror(errno));
	fputs(data, f);
	fclose(f);
	free(path);
}

static bool
there(const struct fixture *fx, enum mdir_layout layout, const char *box,
      const char *sub, const char *name)
{
	char *path = box_path(fx, layout, box, sub, name);
	bool ok = access(path, F_OK) == 0;

	free(path);
	return ok;
}

static void
test_move_layout(enum mdir_layout layout)
{
	struct fixture fx;
	struct mf_err err = { 0 };
	struct mf_move_item items[4] = { 0 };
	struct mf_store *st;

	fixture_open(&fx, layout);
	st = fx.st;
	put(&fx, layout, "INBOX", "cur", "1.a.host:2,S", "A\n");
	put(&fx, layout, "INBOX", "new", "2.b.host", "B\n");
	put(&fx, layout, "INBOX", "cur", "3.c.host:2,", "C here\n");
	/* the destination already has a file of that name */
	put(&fx, layout, "Archive", "cur", "3.c.host:2,", "C there\n");
	must(st->ops->select_box(st, "INBOX", NULL, NULL, &err), &err,
	     "select");
	items[0].key = "1.a.host";
	items[1].key = "2.b.host";
	items[2].key = "3.c.host";
	items[3].key = "9.none.host";
	must(st->ops->move(st, items, 4, "Archive", &err), &err, "move");

	assert_int_equal(items[0].status, 0);
	assert_false(items[0].gone);
	assert_string_equal(items[0].new_key, "1.a.host");
	assert_true(there(&fx, layout, "Archive", "cur", "1.a.host:2,S"));
	assert_false(there(&fx, layout, "INBOX", "cur", "1.a.host:2,S"));

	assert_int_equal(items[1].status, 0);
	assert_true(there(&fx, layout, "Archive", "new", "2.b.host"));
	assert_false(there(&fx, layout, "INBOX", "new", "2.b.host"));

	/* never over an existing file: both stay */
	assert_int_equal(items[2].status, -1);
	assert_int_equal(items[2].err.cls, MF_E_MSG);
	assert_true(there(&fx, layout, "INBOX", "cur", "3.c.host:2,"));
	assert_true(there(&fx, layout, "Archive", "cur", "3.c.host:2,"));

	assert_int_equal(items[3].status, 0);
	assert_true(items[3].gone);

	/* into itself: refused; into a missing folder: the folder fails */
	assert_int_equal(st->ops->move(st, items, 1, "INBOX", &err), -1);
	mf_err_clear(&err);
	items[0].key = "3.c.host";
	assert_int_equal(st->ops->move(st, items, 1, "Nope", &err), -1);
	assert_int_equal(err.cls, MF_E_BOX);
	assert_true(there(&fx, layout, "INBOX", "cur", "3.c.host:2,"));
	fixture_close(&fx);
}

static void
test_move_fs(void **state)
{
	(void)state;
	test_move_layout(MDIR_LAYOUT_FS);
}

static void
test_move_maildirpp(void **state)
{
	(void)state;
	test_move_layout(MDIR_LAYOUT_MAILDIRPP);
}

/* A moved file is found by a scan of the destination under its key. */
static void
test_move_then_scan(void **state)
{
	struct fixture fx;
	struct mf_err err = { 0 };
	struct mf_move_item item = { .key = "1.a.host" };
	struct mf_scan_req req = { .want = MF_WANT_FLAGS };
	struct mf_scan_result *res = NULL;
	struct mf_store *st;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS);
	st = fx.st;
	put(&fx, MDIR_LAYOUT_FS, "INBOX", "cur", "1.a.host:2,FS", "A\n");
	must(st->ops->select_box(st, "INBOX", NULL, NULL, &err), &err,
	     "select");
	must(st->ops->move(st, &item, 1, "Archive", &err), &err, "move");
	must(st->ops->scan(st, &req, &res, &err), &err, "scan INBOX");
	assert_int_equal(res->n, 0);
	mf_scan_result_free(&res);
	must(st->ops->select_box(st, "Archive", NULL, NULL, &err), &err,
	     "select Archive");
	must(st->ops->scan(st, &req, &res, &err), &err, "scan Archive");
	assert_int_equal(res->n, 1);
	assert_string_equal(res->msgs[0].key, "1.a.host");
	assert_int_equal(res->msgs[0].flags, MF_FLAG_FLAGGED | MF_FLAG_SEEN);
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

static char *
slurp(const char *path)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Letters mean what each folder's dovecot-keywords says: a move keeps the
 * keywords, not the letters. */
static void
test_move_keywords(void **state)
{
	struct fixture fx;
	struct mf_err err = { 0 };
	struct mf_move_item items[2] = { { .key = "1.a.host" },
					 { .key = "2.b.host" } };
	struct mf_scan_req req = { .want = MF_WANT_FLAGS };
	struct mf_scan_result *res = NULL;
	struct mf_store *st;
	char *path, *map;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS);
	st = fx.st;
	put(&fx, MDIR_LAYOUT_FS, "INBOX", ".", "dovecot-keywords",
	    "0 $Label1\n1 Work\n");
	put(&fx, MDIR_LAYOUT_FS, "Archive", ".", "dovecot-keywords",
	    "0 Other\n1 $label1\n");
	/* 'c' has no name in INBOX: kept, Archive does not name it either */
	put(&fx, MDIR_LAYOUT_FS, "INBOX", "cur", "1.a.host:2,Sabc", "A\n");
	put(&fx, MDIR_LAYOUT_FS, "INBOX", "cur", "2.b.host:2,F", "B\n");
	must(st->ops->select_box(st, "INBOX", NULL, NULL, &err), &err,
	     "select");
	must(st->ops->move(st, items, 2, "Archive", &err), &err, "move");
	assert_int_equal(items[0].status, 0);
	assert_int_equal(items[1].status, 0);
	/* $Label1 is b there (names match without case); Work gets d, as
	 * the file keeps c */
	assert_true(there(&fx, MDIR_LAYOUT_FS, "Archive", "cur",
			  "1.a.host:2,Sbcd"));
	assert_true(there(&fx, MDIR_LAYOUT_FS, "Archive", "cur",
			  "2.b.host:2,F"));
	path = box_path(&fx, MDIR_LAYOUT_FS, "Archive", ".",
			"dovecot-keywords");
	map = slurp(path);
	assert_string_equal(map, "0 Other\n1 $label1\n3 Work\n");
	free(map);
	free(path);
	must(st->ops->select_box(st, "Archive", NULL, NULL, &err), &err,
	     "select Archive");
	must(st->ops->scan(st, &req, &res, &err), &err, "scan Archive");
	assert_int_equal(res->n, 2);
	assert_string_equal(res->msgs[0].keywords, "$label1 Work");
	assert_string_equal(res->msgs[1].keywords, "");
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

/* A file moved by hand keeps the source's letters: relabel() gives it
 * the destination's for the same keywords, once. */
static void
test_relabel(void **state)
{
	struct fixture fx;
	struct mf_err err = { 0 };
	struct mf_relabel_item items[3] = {
		{ .key = "1.a.host", .expect = "Other" },
		{ .key = "2.b.host", .expect = "Other" },
		{ .key = "9.z.host", .expect = "" },
	};
	struct mf_store *st;
	char *path, *map;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS);
	st = fx.st;
	put(&fx, MDIR_LAYOUT_FS, "INBOX", ".", "dovecot-keywords",
	    "0 $Label1\n1 Work\n");
	put(&fx, MDIR_LAYOUT_FS, "Archive", ".", "dovecot-keywords",
	    "0 Other\n");
	/* 'c' has no name in INBOX: it stays; 2.b reads as none here, not
	 * as expected: left alone */
	put(&fx, MDIR_LAYOUT_FS, "Archive", "cur", "1.a.host:2,Sabc", "A\n");
	put(&fx, MDIR_LAYOUT_FS, "Archive", "cur", "2.b.host:2,Sb", "B\n");
	must(st->ops->select_box(st, "Archive", NULL, NULL, &err), &err,
	     "select");
	must(st->ops->relabel(st, items, 3, "INBOX", &err), &err, "relabel");
	assert_int_equal(items[0].status, 0);
	assert_false(items[0].skipped);
	assert_true(items[1].skipped);
	assert_true(items[2].gone);
	/* b and c are used here without a name: $Label1 d, Work e */
	assert_true(there(&fx, MDIR_LAYOUT_FS, "Archive", "cur",
			  "1.a.host:2,Scde"));
	assert_true(there(&fx, MDIR_LAYOUT_FS, "Archive", "cur",
			  "2.b.host:2,Sb"));
	path = box_path(&fx, MDIR_LAYOUT_FS, "Archive", ".",
			"dovecot-keywords");
	map = slurp(path);
	assert_string_equal(map, "0 Other\n3 $Label1\n4 Work\n");
	free(map);
	free(path);
	/* again, as after a crash: it reads differently now, so no change */
	must(st->ops->relabel(st, items, 1, "INBOX", &err), &err, "again");
	assert_true(items[0].skipped);
	assert_true(there(&fx, MDIR_LAYOUT_FS, "Archive", "cur",
			  "1.a.host:2,Scde"));
	fixture_close(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_fs),
		cmocka_unit_test(test_move_maildirpp),
		cmocka_unit_test(test_move_then_scan),
		cmocka_unit_test(test_move_keywords),
		cmocka_unit_test(test_relabel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
