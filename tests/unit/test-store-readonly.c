/*
 * Unit tests for store/readonly.c: a Maildir store behind the read-only
 * wrapper lists, selects and scans as before, and every call that would
 * change it fails with MF_E_BOX and changes nothing on disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "maildir/mdir-store.h"
#include "readonly.h"
#include "store.h"

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A maildir root with INBOX holding one message, "m1:2,". */
static void
make_root(char *dir, size_t size, char *root, size_t rsize)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(dir, size, "%s/mf-ro-XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(root, rsize, "%s/root", dir);
	assert_int_equal(mkdir(root, 0700), 0);
	snprintf(path, sizeof(path), "%s/INBOX", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/INBOX/cur", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/INBOX/new", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/INBOX/tmp", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/INBOX/cur/m1:2,", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Message-ID: <a@b>\nSubject: x\n\nbody\n", f);
	fclose(f);
}

static void
test_readonly_refuses_writes(void **state)
{
	char dir[PATH_MAX], root[PATH_MAX + 8], path[PATH_MAX + 64];
	struct mdir_store_cfg cfg = { 0 };
	struct mf_select_req rw = { .readonly = false };
	struct mf_box_status status;
	struct mf_scan_req sreq;
	struct mf_scan_result *res = NULL;
	struct mf_box_list *list = NULL;
	struct mf_flag_item fi;
	struct mf_remove_item ri;
	struct mf_delivery d;
	struct mf_err err = { 0 };
	struct mf_store *st = NULL;

	(void)state;
	make_root(dir, sizeof(dir), root, sizeof(root));
	cfg.name = "src";
	cfg.path = root;
	cfg.layout = MDIR_LAYOUT_FS;
	assert_int_equal(mdir_store_create(&cfg, &st, &err), 0);
	store_readonly_wrap(&st);
	assert_string_equal(st->ops->kind, "readonly");

	/* reading works as before */
	assert_int_equal(st->ops->list_boxes(st, true, &list, &err), 0);
	mf_box_list_free(&list);
	memset(&status, 0, sizeof(status));
	assert_int_equal(st->ops->select_box(st, "INBOX", &rw, &status, &err),
			 0);
	memset(&sreq, 0, sizeof(sreq));
	assert_int_equal(st->ops->scan(st, &sreq, &res, &err), 0);
	assert_int_equal(res->n, 1);

	/* every write is refused, naming the store */
	memset(&fi, 0, sizeof(fi));
	fi.key = res->msgs[0].key;
	fi.add = MF_FLAG_SEEN;
	assert_int_equal(st->ops->set_flags(st, &fi, 1, &err), -1);
	assert_int_equal(err.cls, MF_E_BOX);
	assert_non_null(strstr(err.msg, "src is read-only"));
	assert_int_equal(fi.status, -1);
	memset(&ri, 0, sizeof(ri));
	ri.key = res->msgs[0].key;
	assert_int_equal(st->ops->remove(st, &ri, 1, true, &err), -1);
	assert_int_equal(st->ops->create_box(st, "New", &err), -1);
	assert_int_equal(st->ops->delete_box(st, "INBOX", &err), -1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(st->ops->deliver_begin(st, &d, &err), -1);
	assert_null(st->ops->rename_box);
	assert_null(st->ops->move);
	mf_scan_result_free(&res);
	mf_store_destroy(&st);

	/* and nothing changed on disk */
	snprintf(path, sizeof(path), "%s/INBOX/cur/m1:2,", root);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/New", root);
	assert_int_not_equal(access(path, F_OK), 0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readonly_refuses_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
