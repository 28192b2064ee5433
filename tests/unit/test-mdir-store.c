/*
 * Unit tests for the Maildir store (store/maildir): folders in both
 * layouts, scan, delivery, fetch, flags, removal, dir_token, tmp/ cleanup,
 * and the races with another maildir reader.  Every test works in its own
 * mkdtemp() directory and removes it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "maildir/mdir-name.h"
#include "maildir/mdir-tmp.h"
#include "maildir/mdir-token.h"
#include "maildir/mdir-store.h"
#include "flags.h"
#include "store.h"

/* ---- helpers -------------------------------------------------------- */

struct fixture {
	char dir[PATH_MAX]; /* mkdtemp: holds root/ and nothing else */
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
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fixture_open(struct fixture *fx, enum mdir_layout layout, const char *trash)
{
	struct mdir_store_cfg cfg = { 0 };
	struct mf_err err = { 0 };
	const char *tmp = getenv("TMPDIR");

	snprintf(fx->dir, sizeof(fx->dir), "%s/mf-mdir-XXXXXX",
		 tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->root, sizeof(fx->root), "%s/root", fx->dir);
	cfg.name = "local";
	cfg.path = fx->root;
	cfg.layout = layout;
	cfg.create_root = true;
	cfg.trash = trash;
	if (mdir_store_create(&cfg, &fx->st, &err) < 0)
		fail_msg("create: %s", err.msg);
}

/* A second store on the same root: "after a restart". */
static struct mf_store *
reopen(struct fixture *fx, enum mdir_layout layout, bool no_fsync)
{
	struct mdir_store_cfg cfg = { 0 };
	struct mf_err err = { 0 };
	struct mf_store *st;

	cfg.path = fx->root;
	cfg.layout = layout;
	cfg.no_fsync = no_fsync;
	if (mdir_store_create(&cfg, &st, &err) < 0)
		fail_msg("create: %s", err.msg);
	return st;
}

static void
fixture_close(struct fixture *fx)
{
	mf_store_destroy(&fx->st);
	rm_rf(fx->dir);
}

static void
must(int ret, const struct mf_err *err, const char *what)
{
	if (ret != 0)
		fail_msg("%s: %s", what, err->msg);
}

static void
create_select(struct mf_store *st, const char *box)
{
	struct mf_err err = { 0 };

	must(st->ops->create_box(st, box, &err), &err, box);
	must(st->ops->select_box(st, box, NULL, NULL, &err), &err, box);
}

static char *
path_of(const struct fixture *fx, const char *rel)
{
	return xasprintf("%s/%s", fx->root, rel);
}

static void
put_file(const struct fixture *fx, const char *rel, const char *data)
{
	char *path = path_of(fx, rel);
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("fopen %s: %s", path, strerror(errno));
	fputs(data, f);
	fclose(f);
	free(path);
}

static void
mk(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel);

	if (mkdir(path, 0700) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	free(path);
}

static void
rm(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel);

	if (unlink(path) < 0)
		fail_msg("unlink %s: %s", path, strerror(errno));
	free(path);
}

static bool
exists(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel);
	struct stat sb;
	bool ok = lstat(path, &sb) == 0;

	free(path);
	return ok;
}

static void
set_mtime(const struct fixture *fx, const char *rel, time_t sec, long nsec)
{
	char *path = path_of(fx, rel);
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

	if (utimensat(AT_FDCWD, path, ts, 0) < 0)
		fail_msg("utimensat %s: %s", path, strerror(errno));
	free(path);
}

static void
move_file(const struct fixture *fx, const char *from, const char *to)
{
	char *a = path_of(fx, from), *b = path_of(fx, to);

	if (rename(a, b) < 0)
		fail_msg("rename %s: %s", a, strerror(errno));
	free(a);
	free(b);
}

static size_t
count_dir(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		fail_msg("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	free(path);
	return n;
}

/* The only file in a directory (its name), asserting there is one. */
static char *
only_file(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel), *name = NULL;
	DIR *d = opendir(path);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (name != NULL)
			fail_msg("%s: more than one file", rel);
		name = xstrdup(de->d_name);
	}
	closedir(d);
	free(path);
	if (name == NULL)
		fail_msg("%s: empty", rel);
	return name;
}

static struct mf_scan_result *
scan(struct mf_store *st, unsigned want)
{
	struct mf_scan_req req = { .want = want };
	struct mf_scan_result *res = NULL;
	struct mf_err err = { 0 };

	must(st->ops->scan(st, &req, &res, &err), &err, "scan");
	return res;
}

static const struct mf_msg *
find_msg(const struct mf_scan_result *res, const char *key)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		if (strcmp(res->msgs[i].key, key) == 0)
			return &res->msgs[i];
	return NULL;
}

static uint64_t
token(struct mf_store *st, const char *box)
{
	struct mf_box_status status;
	struct mf_err err = { 0 };

	must(st->ops->select_box(st, box, NULL, &status, &err), &err, box);
	return status.dir_token;
}

/* A sink that keeps what it gets in memory. */
struct mem_sink {
	struct mf_sink sink;
	struct mf_buf buf;
	bool finished;
};

static int
mem_write(struct mf_sink *sink, const void *data, size_t len,
	  struct mf_err *err)
{
	struct mem_sink *ms = (struct mem_sink *)sink;

	return mf_buf_append(&ms->buf, data, len, err);
}

static int
mem_finish(struct mf_sink *sink, struct mf_err *err)
{
	(void)err;
	((struct mem_sink *)sink)->finished = true;
	return 0;
}

static const struct mf_sink_ops mem_ops = { mem_write, mem_finish };

static void
mem_init(struct mem_sink *ms)
{
	ms->sink.ops = &mem_ops;
	mf_buf_init(&ms->buf, 64u << 20);
	ms->finished = false;
}

/* Fetch one key whole; returns the item (status, gone) and the bytes. */
static struct mf_fetch_item
fetch(struct mf_store *st, const char *key, struct mem_sink *ms,
      uint64_t offset, uint64_t length, bool header_only)
{
	struct mf_fetch_item item = { 0 };
	struct mf_err err = { 0 };

	mem_init(ms);
	item.key = key;
	item.sink = &ms->sink;
	item.offset = offset;
	item.length = length;
	item.header_only = header_only;
	must(st->ops->fetch(st, &item, 1, &err), &err, "fetch");
	return item;
}

/* Deliver one canonical message in one go; returns the key. */
static char *
deliver(struct mf_store *st, const char *data, size_t len, unsigned flags,
	const char *keywords, int64_t date)
{
	struct mf_delivery d = { 0 };
	struct mf_err err = { 0 };

	d.flags = flags;
	d.keywords = keywords;
	d.date = date;
	must(st->ops->deliver_begin(st, &d, &err), &err, "deliver_begin");
	must(mf_sink_write(d.sink, data, len, &err), &err, "write");
	must(mf_sink_finish(d.sink, &err), &err, "finish");
	must(st->ops->deliver_flush(st, &err), &err, "flush");
	if (d.status != 0)
		fail_msg("delivery: %s", d.err.msg);
	return xstrdup(d.key);
}

static struct mf_flag_item
set_flags(struct mf_store *st, const char *key, unsigned add, unsigned del,
	  const char *kw_add, const char *kw_del)
{
	struct mf_flag_item item = { 0 };
	struct mf_err err = { 0 };

	item.key = key;
	item.add = add;
	item.del = del;
	item.kw_add = kw_add;
	item.kw_del = kw_del;
	must(st->ops->set_flags(st, &item, 1, &err), &err, "set_flags");
	return item;
}

static struct mf_remove_item
remove_key(struct mf_store *st, const char *key)
{
	struct mf_remove_item item = { 0 };
	struct mf_err err = { 0 };

	item.key = key;
	must(st->ops->remove(st, &item, 1, true, &err), &err, "remove");
	return item;
}

/* Log capture: count warnings. */
static int warnings;

static void
count_warnings(enum mf_log_level level, unsigned cat, const char *msg,
	       void *ctx)
{
	(void)cat;
	(void)msg;
	(void)ctx;
	if (level == MF_LOG_WARN)
		warnings++;
}

static const char msg1[] = "From: a@example.org\r\n"
			   "Message-ID: <one@example.org>\r\n"
			   "Subject: one\r\n"
			   "\r\n"
			   "body line 1\r\n"
			   "body line 2\r\n";

/* ---- folders -------------------------------------------------------- */

struct want_box {
	const char *name;
	unsigned attrs;
};

static void
check_list(struct mf_store *st, const struct want_box *want, size_t n)
{
	struct mf_box_list *list = NULL;
	struct mf_err err = { 0 };
	size_t i;

	must(st->ops->list_boxes(st, true, &list, &err), &err, "list");
	for (i = 0; i < list->n && i < n; i++) {
		if (strcmp(list->v[i].name, want[i].name) != 0 ||
		    list->v[i].attrs != want[i].attrs)
			fail_msg("row %zu: got %s %#x want %s %#x", i,
				 list->v[i].name, list->v[i].attrs,
				 want[i].name, want[i].attrs);
	}
	if (list->n != n)
		fail_msg("got %zu boxes, want %zu (first extra: %s)", list->n,
			 n, list->n > n ? list->v[n].name : "-");
	mf_box_list_free(&list);
}

#define SEL_NOKIDS MF_BOX_HASNOCHILDREN
#define SEL_KIDS MF_BOX_HASCHILDREN
#define NOSEL_KIDS (MF_BOX_NOSELECT | MF_BOX_HASCHILDREN)

static void
test_folders_fs(void **state)
{
	static const char *const boxes[] = {
		"INBOX", "Archive/2023", "Projects/new", ".hidden",
		"a.b",	 "Sent",	 "Sent/Old",	 "50%",
	};
	static const struct want_box want[] = {
		{ ".hidden", SEL_NOKIDS },	{ "50%", SEL_NOKIDS },
		{ "Archive", NOSEL_KIDS },	{ "Archive/2023", SEL_NOKIDS },
		{ "INBOX", SEL_NOKIDS },	{ "Projects", NOSEL_KIDS },
		{ "Projects/new", SEL_NOKIDS }, { "Sent", SEL_KIDS },
		{ "Sent/Old", SEL_NOKIDS },	{ "a.b", SEL_NOKIDS },
	};
	struct fixture fx;
	struct mf_err err = { 0 };
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	for (i = 0; i < MF_N_ELEMENTS(boxes); i++)
		must(fx.st->ops->create_box(fx.st, boxes[i], &err), &err,
		     boxes[i]);
	/* creating again is fine */
	must(fx.st->ops->create_box(fx.st, "Sent", &err), &err, "again");
	assert_true(exists(&fx, "Projects/%6Eew/cur"));
	assert_true(exists(&fx, "%2Ehidden/tmp"));
	assert_true(exists(&fx, "50%25/new"));
	assert_false(exists(&fx, "Archive/cur"));
	/* not folders: a plain directory, names not in our form, a loop */
	mk(&fx, "Empty");
	mk(&fx, "inbox");
	mk(&fx, "inbox/cur");
	mk(&fx, "inbox/new");
	mk(&fx, "inbox/tmp");
	{
		char *link = path_of(&fx, "Sent/loop");

		must(symlink("..", link), &err, "symlink");
		free(link);
	}
	warnings = 0;
	mf_log_set_handler(count_warnings, NULL);
	check_list(fx.st, want, MF_N_ELEMENTS(want));
	mf_log_set_handler(NULL, NULL);
	assert_int_equal(warnings, 1); /* "inbox" is a maildir: say so */
	fixture_close(&fx);
}

static void
test_folders_maildirpp(void **state)
{
	static const char *const boxes[] = {
		"INBOX", "Sent", "A/B", "a.b", "INBOX/Sub",
	};
	static const struct want_box want[] = {
		{ "A", NOSEL_KIDS },	{ "A/B", SEL_NOKIDS },
		{ "INBOX", SEL_KIDS },	{ "INBOX/Sub", SEL_NOKIDS },
		{ "Sent", SEL_NOKIDS }, { "a.b", SEL_NOKIDS },
	};
	struct fixture fx;
	struct mf_err err = { 0 };
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_MAILDIRPP, NULL);
	for (i = 0; i < MF_N_ELEMENTS(boxes); i++)
		must(fx.st->ops->create_box(fx.st, boxes[i], &err), &err,
		     boxes[i]);
	assert_true(exists(&fx, "cur"));
	assert_true(exists(&fx, ".A.B/cur"));
	assert_true(exists(&fx, ".A.B/maildirfolder"));
	assert_false(exists(&fx, "maildirfolder"));
	assert_true(exists(&fx, ".a%2Eb/new"));
	assert_true(exists(&fx, ".INBOX.Sub/tmp"));
	assert_false(exists(&fx, ".A"));
	/* ".INBOX" would be a second INBOX; a non-maildir dot dir */
	mk(&fx, ".INBOX");
	mk(&fx, ".INBOX/cur");
	mk(&fx, ".INBOX/new");
	mk(&fx, ".INBOX/tmp");
	mk(&fx, ".git");
	check_list(fx.st, want, MF_N_ELEMENTS(want));
	fixture_close(&fx);
}

static void
test_hostile_names(void **state)
{
	static const char *const bad[] = {
		"..",	  "../evil", "A/../../evil", ".",
		"a\001b", "",	     "A//B",	     "\xff",
	};
	static const enum mdir_layout layouts[] = {
		MDIR_LAYOUT_FS,
		MDIR_LAYOUT_MAILDIRPP,
	};
	size_t i, j;

	(void)state;
	for (j = 0; j < MF_N_ELEMENTS(layouts); j++) {
		struct fixture fx;

		fixture_open(&fx, layouts[j], NULL);
		for (i = 0; i < MF_N_ELEMENTS(bad); i++) {
			struct mf_err err = { 0 };
			struct mf_box_status status;

			if (fx.st->ops->create_box(fx.st, bad[i], &err) != -1 ||
			    err.cls != MF_E_BOX)
				fail_msg("layout %zu row %zu: created", j, i);
			if (fx.st->ops->select_box(fx.st, bad[i], NULL, &status,
						   &err) != -1 ||
			    err.cls != MF_E_BOX)
				fail_msg("layout %zu row %zu: selected", j, i);
		}
		/* nothing next to the root, nothing in it */
		assert_int_equal(count_dir(&fx, ".."), 1);
		assert_int_equal(count_dir(&fx, ""), 0);
		fixture_close(&fx);
	}
}

static void
test_delete_box(void **state)
{
	static const enum mdir_layout layouts[] = {
		MDIR_LAYOUT_FS,
		MDIR_LAYOUT_MAILDIRPP,
	};
	size_t j;

	(void)state;
	for (j = 0; j < MF_N_ELEMENTS(layouts); j++) {
		struct fixture fx;
		struct mf_err err = { 0 };
		char *key;

		fixture_open(&fx, layouts[j], NULL);
		create_select(fx.st, "Old");
		must(fx.st->ops->create_box(fx.st, "Old/Child", &err), &err,
		     "child");
		must(fx.st->ops->select_box(fx.st, "Old", NULL, NULL, &err),
		     &err, "select");
		key = deliver(fx.st, msg1, strlen(msg1), 0, NULL, 0);
		assert_int_equal(fx.st->ops->delete_box(fx.st, "Old", &err),
				 -1);
		assert_int_equal(err.cls, MF_E_BOX);
		assert_non_null(strstr(err.msg, "Old"));
		assert_int_equal(remove_key(fx.st, key).status, 0);
		must(fx.st->ops->delete_box(fx.st, "Old", &err), &err,
		     "delete");
		/* the child survives; "Old" is now only its parent */
		{
			const struct want_box want[] = {
				{ "Old", NOSEL_KIDS },
				{ "Old/Child", SEL_NOKIDS },
			};

			check_list(fx.st, want, MF_N_ELEMENTS(want));
		}
		assert_int_equal(fx.st->ops->delete_box(fx.st, "INBOX", &err),
				 -1);
		assert_int_equal(fx.st->ops->delete_box(fx.st, "Nope", &err),
				 -1);
		assert_int_equal(err.cls, MF_E_BOX);
		free(key);
		fixture_close(&fx);
	}
}

/* ---- delivery and fetch --------------------------------------------- */

/* LF -> CRLF where a LF has no CR before it: the canonical form. */
static char *
canonical(const char *in, size_t len, size_t *len_r)
{
	char *out = xmalloc(2 * len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = in[i];
	}
	*len_r = o;
	return out;
}

static char *
read_all(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct mf_buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		fail_msg("open %s: %s", path, strerror(errno));
	mf_buf_init(&b, 256u << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (mf_buf_append(&b, chunk, n, NULL) < 0)
			fail_msg("%s: too big", path);
	fclose(f);
	*len_r = b.len;
	return mf_buf_take(&b);
}

struct corpus {
	char **paths;
	size_t n, cap;
};

static struct corpus corpus_files;

static int
collect(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;

	(void)sb;
	if (flag != FTW_F || strcmp(base, "SOURCE.md") == 0)
		return 0;
	if (corpus_files.n == corpus_files.cap) {
		corpus_files.cap = corpus_files.cap ? corpus_files.cap * 2 : 64;
		corpus_files.paths = xreallocarray(corpus_files.paths,
						   corpus_files.cap,
						   sizeof(char *));
	}
	corpus_files.paths[corpus_files.n++] = xstrdup(path);
	return 0;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Write data into a sink in pieces of step bytes (odd sizes on purpose). */
static void
write_pieces(struct mf_sink *sink, const char *data, size_t len, size_t step)
{
	struct mf_err err = { 0 };
	size_t off;

	for (off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		must(mf_sink_write(sink, data + off, n, &err), &err, "write");
	}
	must(mf_sink_finish(sink, &err), &err, "finish");
}

/*
 * Every message of tests/data/messages: canonical form in, delivered in
 * batches with odd write sizes, read back through fetch byte for byte, the
 * W= size equal to the canonical size, the key found again by a scan from
 * a fresh store, and nothing but bare LF on disk.
 *
 * Long because one pass over the corpus checks every property of each
 * message delivered.
 */
static void
test_deliver_corpus(void **state)
{
	static const size_t steps[] = { 1, 7, 4096, 65535, 65536, 1 << 20 };
	const char *data_dir = getenv("MF_TESTDATA");
	char *dir;
	struct fixture fx;
	struct mf_store *st2;
	struct mf_scan_result *res;
	struct mf_delivery *ds;
	char **canon;
	size_t *clen, i, batch = 50;

	(void)state;
	if (data_dir == NULL)
		skip();
	dir = xasprintf("%s/messages", data_dir);
	corpus_files.n = 0;
	assert_int_equal(nftw(dir, collect, 16, FTW_PHYS), 0);
	free(dir);
	assert_true(corpus_files.n > 100);
	qsort(corpus_files.paths, corpus_files.n, sizeof(char *), cmp_path);
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	canon = xcalloc(corpus_files.n, sizeof(*canon));
	clen = xcalloc(corpus_files.n, sizeof(*clen));
	ds = xcalloc(corpus_files.n, sizeof(*ds));
	for (i = 0; i < corpus_files.n; i++) {
		struct mf_err err = { 0 };
		size_t rawlen;
		char *raw = read_all(corpus_files.paths[i], &rawlen);

		canon[i] = canonical(raw, rawlen, &clen[i]);
		free(raw);
		ds[i].flags = i % 3 == 0 ? MF_FLAG_SEEN : 0;
		ds[i].date = 1000000000 + (int64_t)i;
		ds[i].size = clen[i];
		must(fx.st->ops->deliver_begin(fx.st, &ds[i], &err), &err,
		     "begin");
		write_pieces(ds[i].sink, canon[i], clen[i],
			     steps[i % MF_N_ELEMENTS(steps)]);
		if ((i + 1) % batch == 0 || i + 1 == corpus_files.n) {
			size_t j;

			must(fx.st->ops->deliver_flush(fx.st, &err), &err,
			     "flush");
			for (j = i + 1 - ((i % batch) + 1); j <= i; j++)
				if (ds[j].status != 0)
					fail_msg("%s: %s",
						 corpus_files.paths[j],
						 ds[j].err.msg);
		}
	}
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 0);

	/* a fresh store, as after a restart, finds every key */
	st2 = reopen(&fx, MDIR_LAYOUT_FS, true);
	{
		struct mf_err err = { 0 };

		must(st2->ops->select_box(st2, "INBOX", NULL, NULL, &err), &err,
		     "select");
	}
	res = scan(st2, MF_WANT_FLAGS | MF_WANT_DATE);
	assert_int_equal(res->n, corpus_files.n);
	for (i = 0; i < corpus_files.n; i++) {
		const struct mf_msg *m = find_msg(res, ds[i].key);
		struct mem_sink ms;
		struct mf_fetch_item item;

		if (m == NULL)
			fail_msg("%s: key %s not found", corpus_files.paths[i],
				 ds[i].key);
		if (m->size != clen[i] || m->date != ds[i].date ||
		    m->flags != ds[i].flags || m->is_new != (m->flags == 0))
			fail_msg("%s: size %llu/%zu date %lld flags %#x new %d",
				 corpus_files.paths[i],
				 (unsigned long long)m->size, clen[i],
				 (long long)m->date, m->flags, m->is_new);
		item = fetch(st2, ds[i].key, &ms, 0, 0, false);
		if (item.status != 0 || !ms.finished || item.bytes != clen[i] ||
		    ms.buf.len != clen[i] ||
		    memcmp(ms.buf.data, canon[i], clen[i]) != 0)
			fail_msg("%s: fetched %zu bytes, want %zu (%s)",
				 corpus_files.paths[i], ms.buf.len, clen[i],
				 item.err.msg);
		mf_buf_deinit(&ms.buf);
	}
	mf_scan_result_free(&res);
	mf_store_destroy(&st2);

	/* on disk: bare LF only, and S= is the file size */
	{
		char *cur = path_of(&fx, "INBOX/cur");
		char *new_ = path_of(&fx, "INBOX/new");
		const char *dirs[] = { cur, new_ };
		size_t k, seen = 0;

		for (k = 0; k < 2; k++) {
			DIR *d = opendir(dirs[k]);
			struct dirent *de;

			assert_non_null(d);
			while ((de = readdir(d)) != NULL) {
				char *p, *body;
				const char *s;
				size_t len;

				if (de->d_name[0] == '.')
					continue;
				p = xasprintf("%s/%s", dirs[k], de->d_name);
				body = read_all(p, &len);
				s = strstr(de->d_name, ",S=");
				assert_non_null(s);
				if (strtoull(s + 3, NULL, 10) != len ||
				    memmem(body, len, "\r\n", 2) != NULL)
					fail_msg("%s: S= or CRLF on disk", p);
				free(body);
				free(p);
				seen++;
			}
			closedir(d);
		}
		assert_int_equal(seen, corpus_files.n);
		free(cur);
		free(new_);
	}
	for (i = 0; i < corpus_files.n; i++) {
		free(canon[i]);
		free(corpus_files.paths[i]);
	}
	free(corpus_files.paths);
	corpus_files.paths = NULL;
	corpus_files.cap = 0;
	free(canon);
	free(clen);
	free(ds);
	fixture_close(&fx);
}

static void
test_deliver_layouts_and_names(void **state)
{
	static const struct {
		enum mdir_layout layout;
		const char *box;
		const char *dir;
	} rows[] = {
		{ MDIR_LAYOUT_FS, "INBOX", "INBOX" },
		{ MDIR_LAYOUT_FS, "Lists/a.b", "Lists/a.b" },
		{ MDIR_LAYOUT_MAILDIRPP, "INBOX", "" },
		{ MDIR_LAYOUT_MAILDIRPP, "Lists/a.b", ".Lists.a%2Eb" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct fixture fx;
		char *key, *rel, *name, *want;

		fixture_open(&fx, rows[i].layout, NULL);
		create_select(fx.st, rows[i].box);
		key = deliver(fx.st, msg1, strlen(msg1),
			      MF_FLAG_SEEN | MF_FLAG_FLAGGED, NULL, 0);
		rel = xasprintf("%s%scur", rows[i].dir,
				rows[i].dir[0] ? "/" : "");
		name = only_file(&fx, rel);
		/* key,S=<lf size>,W=<crlf size>:2,<flags> */
		want = xasprintf("%s,S=%zu,W=%zu:2,FS", key, strlen(msg1) - 6,
				 strlen(msg1));
		if (strcmp(name, want) != 0)
			fail_msg("row %zu: %s, want %s", i, name, want);
		free(key);
		free(rel);
		free(name);
		free(want);
		fixture_close(&fx);
	}
}

static void
test_flush_incomplete(void **state)
{
	struct fixture fx;
	struct mf_delivery d[3];
	struct mf_err err = { 0 };
	struct mf_scan_result *res;
	size_t i;

	(void)state;
	memset(d, 0, sizeof(d));
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	for (i = 0; i < 3; i++)
		must(fx.st->ops->deliver_begin(fx.st, &d[i], &err), &err,
		     "begin");
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 3);
	/* keys are unique */
	assert_string_not_equal(d[0].key, d[1].key);
	assert_string_not_equal(d[1].key, d[2].key);
	write_pieces(d[0].sink, msg1, strlen(msg1), 5);
	must(mf_sink_write(d[1].sink, msg1, 10, &err), &err, "write");
	must(fx.st->ops->deliver_flush(fx.st, &err), &err, "flush");
	assert_int_equal(d[0].status, 0);
	assert_int_equal(d[1].status, -1);
	assert_int_equal(d[2].status, -1);
	assert_non_null(strstr(d[1].err.msg, "incomplete"));
	assert_non_null(strstr(d[2].err.msg, "incomplete"));
	assert_int_equal(d[1].err.cls, MF_E_MSG);
	assert_null(d[0].sink);
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 0);
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 1);
	assert_string_equal(res->msgs[0].key, d[0].key);
	mf_scan_result_free(&res);
	/* a flush with nothing pending is a no-op */
	must(fx.st->ops->deliver_flush(fx.st, &err), &err, "flush");
	fixture_close(&fx);
}

/* Destroying the store with deliveries pending leaves nothing behind. */
static void
test_destroy_discards(void **state)
{
	struct fixture fx;
	struct mf_delivery d[2];
	struct mf_err err = { 0 };

	(void)state;
	memset(d, 0, sizeof(d));
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	must(fx.st->ops->deliver_begin(fx.st, &d[0], &err), &err, "begin");
	must(fx.st->ops->deliver_begin(fx.st, &d[1], &err), &err, "begin");
	write_pieces(d[0].sink, msg1, strlen(msg1), 3);
	must(mf_sink_write(d[1].sink, msg1, 4, &err), &err, "write");
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 2);
	mf_store_destroy(&fx.st);
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 0);
	assert_int_equal(count_dir(&fx, "INBOX/new"), 0);
	fixture_close(&fx);
}

/*
 * deliver_abort_all: finished, half-written and untouched deliveries all
 * vanish from tmp/ without reaching new/ or cur/, each is told, and the
 * store keeps no pointer to them: they are freed before the next flush
 * (ASan would see a store that still held one).  The store delivers
 * normally afterwards.
 */
static void
test_abort_all(void **state)
{
	struct fixture fx;
	struct mf_delivery *d = xcalloc(3, sizeof(*d));
	struct mf_delivery after;
	struct mf_err err = { 0 };
	struct mf_scan_result *res;
	size_t i;

	(void)state;
	memset(&after, 0, sizeof(after));
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	for (i = 0; i < 3; i++)
		must(fx.st->ops->deliver_begin(fx.st, &d[i], &err), &err,
		     "begin");
	write_pieces(d[0].sink, msg1, strlen(msg1), 7); /* finishes */
	must(mf_sink_write(d[1].sink, msg1, 10, &err), &err, "write");
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 3);
	fx.st->ops->deliver_abort_all(fx.st);
	for (i = 0; i < 3; i++) {
		assert_int_equal(d[i].status, -1);
		assert_int_equal(d[i].err.cls, MF_E_MSG);
		assert_non_null(strstr(d[i].err.msg, "aborted"));
		assert_null(d[i].sink);
		assert_null(d[i].priv);
	}
	free(d);
	assert_int_equal(count_dir(&fx, "INBOX/tmp"), 0);
	assert_int_equal(count_dir(&fx, "INBOX/new"), 0);
	assert_int_equal(count_dir(&fx, "INBOX/cur"), 0);
	/* nothing left to flush, and a second abort is a no-op */
	must(fx.st->ops->deliver_flush(fx.st, &err), &err, "flush");
	fx.st->ops->deliver_abort_all(fx.st);
	must(fx.st->ops->deliver_begin(fx.st, &after, &err), &err, "begin");
	write_pieces(after.sink, msg1, strlen(msg1), 5);
	must(fx.st->ops->deliver_flush(fx.st, &err), &err, "flush");
	assert_int_equal(after.status, 0);
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 1);
	assert_string_equal(res->msgs[0].key, after.key);
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

static size_t
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* 500 deliveries between flushes, never more than one file open. */
static void
test_many_deliveries(void **state)
{
	enum { N = 500 };
	struct fixture fx;
	struct mf_delivery *d = xcalloc(N, sizeof(*d));
	struct mf_err err = { 0 };
	struct mf_scan_result *res;
	size_t i, before;
	char body[64];

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_MAILDIRPP, NULL);
	create_select(fx.st, "INBOX");
	before = open_fds();
	for (i = 0; i < N; i++)
		must(fx.st->ops->deliver_begin(fx.st, &d[i], &err), &err,
		     "begin");
	if (before != 0)
		assert_true(open_fds() <= before + 1);
	for (i = 0; i < N; i++) {
		snprintf(body, sizeof(body), "Subject: %zu\r\n\r\nx\r\n", i);
		must(mf_sink_write(d[i].sink, body, strlen(body), &err), &err,
		     "write");
		if (before != 0)
			assert_true(open_fds() <= before + 2);
		must(mf_sink_finish(d[i].sink, &err), &err, "finish");
	}
	must(fx.st->ops->deliver_flush(fx.st, &err), &err, "flush");
	for (i = 0; i < N; i++)
		if (d[i].status != 0)
			fail_msg("delivery %zu: %s", i, d[i].err.msg);
	res = scan(fx.st, 0);
	assert_int_equal(res->n, N);
	for (i = 1; i < res->n; i++)
		assert_true(strcmp(res->msgs[i - 1].key, res->msgs[i].key) < 0);
	mf_scan_result_free(&res);
	free(d);
	fixture_close(&fx);
}

static void
test_fetch_parts(void **state)
{
	static const char msg[] = "H: v\r\n"
				  "X: y\r\n"
				  "\r\n"
				  "body line\r\n";
	static const char nohdr[] = "\r\nonly body\r\n";
	static const char nobody[] = "H: v\r\nX: y\r\n";
	static const struct {
		int which;
		uint64_t offset, length;
		bool header_only;
		const char *want;
	} rows[] = {
		{ 0, 0, 0, false, msg },
		{ 0, 0, 0, true, "H: v\r\nX: y\r\n\r\n" },
		{ 0, 3, 5, false, "v\r\nX:" },
		{ 0, 9, 0, false, "y\r\n\r\nbody line\r\n" },
		{ 0, 100, 0, false, "" },
		{ 0, 4, 100, false, msg + 4 },
		{ 0, 2, 3, true, " v\r" },
		{ 1, 0, 0, true, "\r\n" },
		{ 2, 0, 0, true, nobody },
	};
	const char *msgs[] = { msg, nohdr, nobody };
	char *keys[3];
	struct fixture fx;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	for (i = 0; i < 3; i++)
		keys[i] = deliver(fx.st, msgs[i], strlen(msgs[i]), 0, NULL, 0);
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mem_sink ms;
		struct mf_fetch_item item = fetch(fx.st, keys[rows[i].which],
						  &ms, rows[i].offset,
						  rows[i].length,
						  rows[i].header_only);

		if (item.status != 0 || ms.buf.len != strlen(rows[i].want) ||
		    (ms.buf.len > 0 &&
		     memcmp(ms.buf.data, rows[i].want, ms.buf.len) != 0) ||
		    item.bytes != ms.buf.len || !ms.finished)
			fail_msg("row %zu: got %zu bytes '%.*s' (%s)", i,
				 ms.buf.len, (int)ms.buf.len, ms.buf.data,
				 item.err.msg);
		mf_buf_deinit(&ms.buf);
	}
	for (i = 0; i < 3; i++)
		free(keys[i]);
	fixture_close(&fx);
}

/* A file another tool wrote with CRLF already: fetch must not double. */
static void
test_fetch_foreign_crlf(void **state)
{
	struct fixture fx;
	struct mem_sink ms;
	struct mf_fetch_item item;
	struct mf_scan_result *res;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "INBOX/cur/1.crlf.host:2,S",
		 "A: b\r\n\r\nmixed\nend\r\n");
	res = scan(fx.st, MF_WANT_SIZE);
	assert_int_equal(res->n, 1);
	assert_int_equal(res->msgs[0].size, 20);
	item = fetch(fx.st, "1.crlf.host", &ms, 0, 0, false);
	assert_int_equal(item.status, 0);
	assert_int_equal(ms.buf.len, 20);
	assert_memory_equal(ms.buf.data, "A: b\r\n\r\nmixed\r\nend\r\n", 20);
	mf_buf_deinit(&ms.buf);
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

/* ---- flags ---------------------------------------------------------- */

static void
test_flag_letters(void **state)
{
	static const struct {
		unsigned add, del;
		const char *want;
	} rows[] = {
		{ MF_FLAG_DRAFT, 0, "1.a.host:2,D" },
		{ MF_FLAG_FLAGGED, 0, "1.a.host:2,DF" },
		{ MF_FLAG_FORWARDED, 0, "1.a.host:2,DFP" },
		{ MF_FLAG_ANSWERED, 0, "1.a.host:2,DFPR" },
		{ MF_FLAG_SEEN, 0, "1.a.host:2,DFPRS" },
		{ MF_FLAG_DELETED, 0, "1.a.host:2,DFPRST" },
		{ 0, MF_FLAG_DRAFT | MF_FLAG_SEEN, "1.a.host:2,FPRT" },
		{ MF_FLAG_SEEN, MF_FLAG_ALL, "1.a.host:2," },
		{ MF_FLAG_ALL, 0, "1.a.host:2,DFPRST" },
		{ 0, 0, "1.a.host:2,DFPRST" },
	};
	struct fixture fx;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "INBOX/cur/1.a.host:2,", "x\n");
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mf_flag_item item = set_flags(fx.st, "1.a.host",
						     rows[i].add, rows[i].del,
						     NULL, NULL);
		char *rel = xasprintf("INBOX/cur/%s", rows[i].want);

		if (item.status != 0 || !exists(&fx, rel) ||
		    count_dir(&fx, "INBOX/cur") != 1)
			fail_msg("row %zu: %s missing (%s)", i, rows[i].want,
				 item.err.msg);
		assert_string_equal(item.new_key, "1.a.host");
		free(rel);
	}
	fixture_close(&fx);
}

static void
test_new_to_cur(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_MAILDIRPP, NULL);
	create_select(fx.st, "Box");
	put_file(&fx, ".Box/new/2.b.host", "x\n");
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 1);
	assert_true(res->msgs[0].is_new);
	assert_int_equal(res->msgs[0].flags, 0);
	mf_scan_result_free(&res);
	assert_int_equal(set_flags(fx.st, "2.b.host", MF_FLAG_SEEN, 0, NULL,
				   NULL)
				 .status,
			 0);
	assert_true(exists(&fx, ".Box/cur/2.b.host:2,S"));
	assert_int_equal(count_dir(&fx, ".Box/new"), 0);
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 1);
	assert_false(res->msgs[0].is_new);
	assert_int_equal(res->msgs[0].flags, MF_FLAG_SEEN);
	mf_scan_result_free(&res);
	/* no change at all still moves a new/ file into cur/ */
	put_file(&fx, ".Box/new/3.c.host", "x\n");
	assert_int_equal(set_flags(fx.st, "3.c.host", 0, 0, NULL, NULL).status,
			 0);
	assert_true(exists(&fx, ".Box/cur/3.c.host:2,"));
	fixture_close(&fx);
}

static void
test_unknown_info_kept(void **state)
{
	static const struct {
		const char *start; /* planted when not NULL */
		const char *key;
		unsigned add, del;
		const char *want;
	} rows[] = {
		{ "3.c.host,S=2:2,SZa3,foo=bar", "3.c.host", MF_FLAG_FLAGGED, 0,
		  "3.c.host,S=2:2,3FSZa,foo=bar" },
		{ NULL, "3.c.host", 0, MF_FLAG_SEEN,
		  "3.c.host,S=2:2,3FZa,foo=bar" },
		{ "4.d.host!2,S", "4.d.host", MF_FLAG_ANSWERED, 0,
		  "4.d.host!2,RS" },
		{ "5.e.host,U=9,FMD5=abc:2,xyz", "5.e.host,U=9,FMD5=abc",
		  MF_FLAG_DELETED, 0, "5.e.host,U=9,FMD5=abc:2,Txyz" },
	};
	struct fixture fx;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char *want = xasprintf("INBOX/cur/%s", rows[i].want);
		struct mf_flag_item item;
		struct mf_scan_result *res;
		const struct mf_msg *m;

		if (rows[i].start != NULL) {
			char *rel = xasprintf("INBOX/cur/%s", rows[i].start);

			put_file(&fx, rel, "x\n");
			free(rel);
		}
		res = scan(fx.st, 0);
		m = find_msg(res, rows[i].key);
		if (m == NULL)
			fail_msg("row %zu: no key %s", i, rows[i].key);
		/* no dovecot-keywords: letters are not keywords */
		assert_string_equal(m->keywords, "");
		mf_scan_result_free(&res);
		item = set_flags(fx.st, rows[i].key, rows[i].add, rows[i].del,
				 NULL, NULL);
		if (item.status != 0 || !exists(&fx, want))
			fail_msg("row %zu: %s missing (%s)", i, rows[i].want,
				 item.err.msg);
		free(want);
	}
	fixture_close(&fx);
}

static void
test_odd_keys(void **state)
{
	static const struct {
		const char *file; /* in cur/ */
		const char *key;
		unsigned flags;
	} rows[] = {
		/* in key order */
		{ "29:2,", "29", 0 },
		{ "a:b:2,F", "a:b", MF_FLAG_FLAGGED },
		{ "cl\xc3\xa9.host:2,", "cl\xc3\xa9.host", 0 },
		{ "key with spaces:2,S", "key with spaces", MF_FLAG_SEEN },
		{ "noinfo", "noinfo", 0 },
		{ "x!2,T", "x", MF_FLAG_DELETED },
	};
	struct fixture fx;
	struct mf_scan_result *res;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char *rel = xasprintf("INBOX/cur/%s", rows[i].file);

		put_file(&fx, rel, rows[i].key);
		free(rel);
	}
	res = scan(fx.st, 0);
	assert_int_equal(res->n, MF_N_ELEMENTS(rows));
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mem_sink ms;
		struct mf_fetch_item fi;
		struct mf_flag_item flg;

		if (strcmp(res->msgs[i].key, rows[i].key) != 0 ||
		    res->msgs[i].flags != rows[i].flags)
			fail_msg("row %zu: key '%s' flags %#x", i,
				 res->msgs[i].key, res->msgs[i].flags);
		fi = fetch(fx.st, rows[i].key, &ms, 0, 0, false);
		if (fi.status != 0 || ms.buf.len != strlen(rows[i].key) ||
		    memcmp(ms.buf.data, rows[i].key, ms.buf.len) != 0)
			fail_msg("row %zu: fetch %s", i, fi.err.msg);
		mf_buf_deinit(&ms.buf);
		flg = set_flags(fx.st, rows[i].key, MF_FLAG_DRAFT, 0, NULL,
				NULL);
		if (flg.status != 0)
			fail_msg("row %zu: set_flags %s", i, flg.err.msg);
	}
	mf_scan_result_free(&res);
	/* the keys survive the renames */
	res = scan(fx.st, 0);
	assert_int_equal(res->n, MF_N_ELEMENTS(rows));
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		if (strcmp(res->msgs[i].key, rows[i].key) != 0 ||
		    res->msgs[i].flags != (rows[i].flags | MF_FLAG_DRAFT))
			fail_msg("row %zu after: key '%s' flags %#x", i,
				 res->msgs[i].key, res->msgs[i].flags);
	}
	assert_true(exists(&fx, "INBOX/cur/29:2,D"));
	assert_true(exists(&fx, "INBOX/cur/noinfo:2,D"));
	assert_true(exists(&fx, "INBOX/cur/x!2,DT"));
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

static char *
read_rel(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel), buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	free(path);
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
assert_rel(const struct fixture *fx, const char *rel, const char *want)
{
	char *got = read_rel(fx, rel);

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: '%s', want '%s'", rel, got ? got : "(none)",
			 want);
	free(got);
}

static void
test_dovecot_keywords(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_flag_item item;
	char *key, *name;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_MAILDIRPP, NULL);
	assert_true(fx.st->caps & MF_CAP_KEYWORDS);
	assert_true(fx.st->caps & MF_CAP_DIR_TOKEN);
	create_select(fx.st, "INBOX");
	put_file(&fx, "dovecot-keywords",
		 "0 $Junk\n1 $NonJunk\n3 work\n5 bad(kw\nnonsense\n");
	/* c (2) and f (5) have no usable name: kept, never reported */
	put_file(&fx, "cur/5.e.host:2,Sbcdf", "x\n");
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 1);
	assert_string_equal(res->msgs[0].keywords, "$NonJunk work");
	assert_string_equal(res->kw_visible, "$Junk $NonJunk work");
	mf_scan_result_free(&res);
	/* a new keyword takes the first letter nobody uses: not c (on a
	 * file), not f (another program's entry) */
	item = set_flags(fx.st, "5.e.host", 0, 0, "$Junk newkw", "work");
	assert_int_equal(item.status, 0);
	assert_true(exists(&fx, "cur/5.e.host:2,Sabcef"));
	assert_rel(&fx, "dovecot-keywords",
		   "0 $Junk\n1 $NonJunk\n3 work\n"
		   "4 newkw\n5 bad(kw\nnonsense\n");
	res = scan(fx.st, 0);
	assert_string_equal(res->msgs[0].keywords, "$Junk $NonJunk newkw");
	assert_string_equal(res->kw_visible, "$Junk $NonJunk newkw work");
	mf_scan_result_free(&res);
	/* case-insensitive names */
	item = set_flags(fx.st, "5.e.host", 0, 0, NULL, "$nonjunk");
	assert_true(exists(&fx, "cur/5.e.host:2,Sacef"));
	/* a delivery with only a keyword goes to cur/ with its letter */
	rm(&fx, "cur/5.e.host:2,Sacef");
	key = deliver(fx.st, msg1, strlen(msg1), 0, "work", 0);
	name = only_file(&fx, "cur");
	assert_non_null(strstr(name, ":2,d"));
	assert_int_equal(strncmp(name, key, strlen(key)), 0);
	free(name);
	free(key);
	/* and one with a keyword the folder has never seen names it */
	rm(&fx, "dovecot-keywords");
	res = scan(fx.st, 0); /* letters without the file mean nothing */
	assert_string_equal(res->msgs[0].keywords, "");
	assert_string_equal(res->kw_visible, "");
	mf_scan_result_free(&res);
	key = deliver(fx.st, msg1, strlen(msg1), MF_FLAG_SEEN, "$Label1", 0);
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 2);
	assert_string_equal(find_msg(res, key)->keywords, "$Label1");
	mf_scan_result_free(&res);
	/* d is on the other file without a name: the new one is a */
	assert_rel(&fx, "dovecot-keywords", "0 $Label1\n");
	free(key);
	fixture_close(&fx);
}

static unsigned notices;
static char last_notice[512];

static void
count_notices(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	(void)cat;
	(void)ctx;
	if (level == MF_LOG_NOTICE) {
		notices++;
		snprintf(last_notice, sizeof(last_notice), "%s", msg);
	}
}

static void
test_keywords_beyond_26(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_flag_item item;
	char file[1024] = "";
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "Work");
	for (i = 0; i < 25; i++)
		snprintf(file + strlen(file), sizeof(file) - strlen(file),
			 "%zu kw%02zu\n", i, i);
	put_file(&fx, "Work/dovecot-keywords", file);
	put_file(&fx, "Work/cur/1.a.host:2,S", "x\n");
	notices = 0;
	mf_log_set_handler(count_notices, NULL);
	/* one letter left: the first keyword gets it, two are left out */
	item = set_flags(fx.st, "1.a.host", 0, 0, "extra1 extra2 extra3", NULL);
	assert_int_equal(item.status, 0);
	assert_true(exists(&fx, "Work/cur/1.a.host:2,Sz"));
	assert_int_equal(notices, 1);
	assert_non_null(strstr(last_notice, "Work"));
	assert_non_null(strstr(last_notice, "extra2 extra3"));
	/* asked again: reported once, not per message or per call */
	item = set_flags(fx.st, "1.a.host", 0, 0, "extra2", NULL);
	assert_int_equal(item.status, 0);
	assert_int_equal(notices, 1);
	mf_log_set_handler(NULL, NULL);
	res = scan(fx.st, 0);
	assert_string_equal(res->msgs[0].keywords, "extra1");
	assert_false(mf_kw_contains(res->kw_visible, "extra2"));
	assert_true(mf_kw_contains(res->kw_visible, "kw24"));
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

/* ---- races with another reader -------------------------------------- */

static void
test_race_set_flags(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_flag_item item;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "INBOX/cur/6.f.host:2,", "x\n");
	put_file(&fx, "INBOX/new/7.g.host", "y\n");
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 2);
	mf_scan_result_free(&res);
	/* another reader marks it seen between our scan and set_flags */
	move_file(&fx, "INBOX/cur/6.f.host:2,", "INBOX/cur/6.f.host:2,S");
	move_file(&fx, "INBOX/new/7.g.host", "INBOX/cur/7.g.host:2,R");
	item = set_flags(fx.st, "6.f.host", MF_FLAG_FLAGGED, 0, NULL, NULL);
	assert_int_equal(item.status, 0);
	assert_false(item.gone);
	/* its change is kept, ours added */
	assert_true(exists(&fx, "INBOX/cur/6.f.host:2,FS"));
	item = set_flags(fx.st, "7.g.host", MF_FLAG_SEEN, 0, NULL, NULL);
	assert_int_equal(item.status, 0);
	assert_true(exists(&fx, "INBOX/cur/7.g.host:2,RS"));
	/* another reader deletes it */
	rm(&fx, "INBOX/cur/6.f.host:2,FS");
	item = set_flags(fx.st, "6.f.host", MF_FLAG_DELETED, 0, NULL, NULL);
	assert_int_equal(item.status, 0);
	assert_true(item.gone);
	assert_int_equal(count_dir(&fx, "INBOX/cur"), 1);
	/* a key that never existed */
	item = set_flags(fx.st, "nope", MF_FLAG_SEEN, 0, NULL, NULL);
	assert_true(item.gone);
	fixture_close(&fx);
}

static void
test_race_fetch(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_fetch_item item;
	struct mem_sink ms;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_MAILDIRPP, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "new/8.h.host", "Subject: x\n\nbody\n");
	res = scan(fx.st, 0);
	mf_scan_result_free(&res);
	move_file(&fx, "new/8.h.host", "cur/8.h.host:2,S");
	item = fetch(fx.st, "8.h.host", &ms, 0, 0, false);
	assert_int_equal(item.status, 0);
	assert_false(item.gone);
	assert_int_equal(ms.buf.len, 20);
	assert_memory_equal(ms.buf.data, "Subject: x\r\n\r\nbody\r\n", 20);
	mf_buf_deinit(&ms.buf);
	rm(&fx, "cur/8.h.host:2,S");
	item = fetch(fx.st, "8.h.host", &ms, 0, 0, false);
	assert_int_equal(item.status, -1);
	assert_true(item.gone);
	assert_false(ms.finished);
	mf_buf_deinit(&ms.buf);
	fixture_close(&fx);
}

static void
test_remove(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_remove_item item;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "INBOX/cur/9.i.host:2,S", "x\n");
	put_file(&fx, "INBOX/cur/10.j.host:2,", "x\n");
	res = scan(fx.st, 0);
	mf_scan_result_free(&res);
	item = remove_key(fx.st, "9.i.host");
	assert_int_equal(item.status, 0);
	assert_false(item.gone);
	assert_false(exists(&fx, "INBOX/cur/9.i.host:2,S"));
	/* gone already: not an error */
	item = remove_key(fx.st, "9.i.host");
	assert_int_equal(item.status, 0);
	assert_true(item.gone);
	/* renamed by another reader first */
	move_file(&fx, "INBOX/cur/10.j.host:2,", "INBOX/cur/10.j.host:2,T");
	item = remove_key(fx.st, "10.j.host");
	assert_int_equal(item.status, 0);
	assert_false(item.gone);
	assert_int_equal(count_dir(&fx, "INBOX/cur"), 0);
	fixture_close(&fx);
}

static void
test_remove_to_trash(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_remove_item item;
	struct mf_err err = { 0 };

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_MAILDIRPP, "Trash");
	create_select(fx.st, "INBOX");
	put_file(&fx, "cur/11.k.host:2,S", "x\n");
	put_file(&fx, "new/12.l.host", "y\n");
	item = remove_key(fx.st, "11.k.host");
	assert_int_equal(item.status, 0);
	item = remove_key(fx.st, "12.l.host");
	assert_int_equal(item.status, 0);
	assert_true(exists(&fx, ".Trash/cur/11.k.host:2,S"));
	assert_true(exists(&fx, ".Trash/cur/12.l.host:2,"));
	assert_int_equal(count_dir(&fx, "cur") + count_dir(&fx, "new"), 0);
	/* removing from the trash itself unlinks */
	must(fx.st->ops->select_box(fx.st, "Trash", NULL, NULL, &err), &err,
	     "select");
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 2);
	mf_scan_result_free(&res);
	item = remove_key(fx.st, "11.k.host");
	assert_int_equal(item.status, 0);
	assert_int_equal(count_dir(&fx, ".Trash/cur"), 1);
	/* keyword letters are the trash's for the same names */
	put_file(&fx, "dovecot-keywords", "0 Work\n");
	put_file(&fx, ".Trash/dovecot-keywords", "0 Junk\n");
	put_file(&fx, "cur/13.m.host:2,Sa", "z\n");
	must(fx.st->ops->select_box(fx.st, "INBOX", NULL, NULL, &err), &err,
	     "select");
	item = remove_key(fx.st, "13.m.host");
	assert_int_equal(item.status, 0);
	assert_true(exists(&fx, ".Trash/cur/13.m.host:2,Sb"));
	assert_rel(&fx, ".Trash/dovecot-keywords", "0 Junk\n1 Work\n");
	fixture_close(&fx);
}

/* ---- crash, tmp/, duplicates ---------------------------------------- */

static void
test_crash_leftovers_in_tmp(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_err err = { 0 };
	time_t now = time(NULL);
	char dead[128], live[128], host[64], hn[256] = "";
	pid_t gone;

	(void)state;
	/* a pid that surely is no process: a child we have reaped */
	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, NULL, 0), gone);
	if (gethostname(hn, sizeof(hn) - 1) < 0)
		hn[0] = '\0';
	mdir_name_escape_host(hn, host, sizeof(host));
	snprintf(dead, sizeof(dead),
		 "INBOX/tmp/mailferry.1732780002.M1P%ldQ1"
		 "R0.%s",
		 (long)gone, host);
	snprintf(live, sizeof(live),
		 "INBOX/tmp/mailferry.1732780003.M1P%ldQ1"
		 "R0.%s",
		 (long)getppid(), host);
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "INBOX/cur/1.kept.host:2,S", "x\n");
	/* what a crash between tmp/ and cur/ leaves behind: ours... */
	put_file(&fx, "INBOX/tmp/mailferry.1732780000.M1P1Q1R0.other", msg1);
	put_file(&fx, "INBOX/tmp/mailferry.1732780001.M1P1Q2R0.other", msg1);
	set_mtime(&fx, "INBOX/tmp/mailferry.1732780000.M1P1Q1R0.other",
		  now - 37 * 3600, 0);
	set_mtime(&fx, "INBOX/tmp/mailferry.1732780001.M1P1Q2R0.other",
		  now - 35 * 3600, 0);
	put_file(&fx, dead, "");
	put_file(&fx, live, "");
	/* ...and other programs' files, old or not: never ours to remove */
	put_file(&fx, "INBOX/tmp/1732780000.M1P1Q1R0.host", msg1);
	set_mtime(&fx, "INBOX/tmp/1732780000.M1P1Q1R0.host", now - 37 * 3600,
		  0);
	put_file(&fx, "INBOX/tmp/1732780004.4242_1.host", msg1);
	res = scan(fx.st, MF_WANT_SIZE);
	assert_int_equal(res->n, 1);
	mf_scan_result_free(&res);
	/* select cleans ours older than 36 hours, and ours of dead pids on
	 * this host */
	must(fx.st->ops->select_box(fx.st, "INBOX", NULL, NULL, &err), &err,
	     "select");
	assert_false(exists(&fx,
			    "INBOX/tmp/mailferry.1732780000.M1P1Q1R0.other"));
	assert_true(exists(&fx,
			   "INBOX/tmp/mailferry.1732780001.M1P1Q2R0.other"));
	assert_false(exists(&fx, dead));
	assert_true(exists(&fx, live));
	assert_true(exists(&fx, "INBOX/tmp/1732780000.M1P1Q1R0.host"));
	assert_true(exists(&fx, "INBOX/tmp/1732780004.4242_1.host"));
	/* read-only select touches nothing */
	set_mtime(&fx, "INBOX/tmp/mailferry.1732780001.M1P1Q2R0.other",
		  now - 40 * 3600, 0);
	{
		struct mf_select_req ro = { .readonly = true };

		must(fx.st->ops->select_box(fx.st, "INBOX", &ro, NULL, &err),
		     &err, "examine");
		assert_true(exists(&fx, "INBOX/tmp/mailferry.1732780001.M1P1Q2"
					"R0.other"));
	}
	res = scan(fx.st, 0);
	assert_int_equal(res->n, 1);
	assert_string_equal(res->msgs[0].key, "1.kept.host");
	mf_scan_result_free(&res);
	fixture_close(&fx);
}

/* Only a folder with nothing in its place "does not exist" (ENOENT): one
 * on a disk that is not mounted is there, unreadable (mdir-store.h). */
static void
test_select_absent_or_unmounted(void **state)
{
	static const struct {
		const char *box, *msg;
		int sys_errno;
	} rows[] = {
		{ "Nope", "mailbox Nope does not exist", ENOENT },
		{ "Gone/Deep", "mailbox Gone/Deep does not exist", ENOENT },
		{ "Link", "is a symlink to nothing", 0 },
		{ "Up/Child", "a folder above it is a symlink to nothing", 0 },
		{ "Empty", "is not a maildir", 0 },
		{ "File", "is not a directory", 0 },
	};
	struct fixture fx;
	char *p;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	p = path_of(&fx, "Link");
	assert_int_equal(symlink("/nonexistent/mailferry-disk", p), 0);
	free(p);
	p = path_of(&fx, "Up");
	assert_int_equal(symlink("/nonexistent/mailferry-disk", p), 0);
	free(p);
	p = path_of(&fx, "Empty");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	put_file(&fx, "File", "x\n");
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mf_err err = { 0 };

		assert_int_equal(fx.st->ops->select_box(fx.st, rows[i].box,
							NULL, NULL, &err),
				 -1);
		if (strstr(err.msg, rows[i].msg) == NULL ||
		    err.sys_errno != rows[i].sys_errno)
			fail_msg("%s: '%s' errno %d", rows[i].box, err.msg,
				 err.sys_errno);
	}
	fixture_close(&fx);
}

/* A file with our own pid: ours while it is newer than our start, else an
 * earlier process's that had the same pid (a container's every run). */
static void
test_tmp_same_pid(void **state)
{
	struct fixture fx;
	struct mf_err err = { 0 };
	struct timespec later, earlier;
	char mine[160], host[64], hn[256] = "", *inbox;
	unsigned removed = 9;
	int fd;

	(void)state;
	if (gethostname(hn, sizeof(hn) - 1) < 0)
		hn[0] = '\0';
	mdir_name_escape_host(hn, host, sizeof(host));
	snprintf(mine, sizeof(mine),
		 "INBOX/tmp/mailferry.1732780005.M1P%ldQ1R0.%s", (long)getpid(),
		 host);
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, mine, "x\n");
	inbox = path_of(&fx, "INBOX");
	fd = open(inbox, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	clock_gettime(CLOCK_REALTIME, &earlier);
	earlier.tv_sec -= 10;
	later = earlier;
	later.tv_sec += 20;
	/* we started before it changed: a delivery of ours, kept */
	must(mdir_tmp_clean(fd, host, time(NULL), &earlier, &removed, &err),
	     &err, "clean");
	assert_int_equal(removed, 0);
	assert_true(exists(&fx, mine));
	must(mdir_tmp_clean(fd, host, time(NULL), NULL, &removed, &err), &err,
	     "clean");
	assert_int_equal(removed, 0);
	assert_true(exists(&fx, mine));
	/* we started after it changed: an earlier process's, removed */
	must(mdir_tmp_clean(fd, host, time(NULL), &later, &removed, &err), &err,
	     "clean");
	assert_int_equal(removed, 1);
	assert_false(exists(&fx, mine));
	/* a live delivery of an old message: its mtime is the message's
	 * date, years back, but its name says it began now: kept */
	snprintf(mine, sizeof(mine), "INBOX/tmp/mailferry.%lld.M1P%ldQ1R0.%s",
		 (long long)time(NULL), (long)getppid(), host);
	put_file(&fx, mine, "x\n");
	set_mtime(&fx, mine, time(NULL) - 400 * 86400, 0);
	must(mdir_tmp_clean(fd, host, time(NULL), &later, &removed, &err), &err,
	     "clean");
	assert_int_equal(removed, 0);
	assert_true(exists(&fx, mine));
	/* the same 37 hours on: stale */
	must(mdir_tmp_clean(fd, host, time(NULL) + 37 * 3600, &later, &removed,
			    &err),
	     &err, "clean");
	assert_int_equal(removed, 1);
	assert_false(exists(&fx, mine));
	close(fd);
	free(inbox);
	fixture_close(&fx);
}

static void
test_duplicates(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	int round;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	put_file(&fx, "INBOX/new/7.g.host", "new copy\n");
	put_file(&fx, "INBOX/cur/7.g.host:2,S", "cur copy S\n");
	put_file(&fx, "INBOX/cur/7.g.host,S=3:2,F", "cur copy F\n");
	put_file(&fx, "INBOX/new/8.h.host", "only in new\n");
	put_file(&fx, "INBOX/cur/8.h.host:2,R", "and in cur\n");
	mf_log_set_handler(count_warnings, NULL);
	for (round = 0; round < 2; round++) {
		struct mem_sink ms;
		struct mf_fetch_item item;

		warnings = 0;
		res = scan(fx.st, 0);
		assert_int_equal(warnings, 3);
		assert_int_equal(res->n, 2);
		/* cur/ over new/; then the smaller name (',' < ':') */
		assert_string_equal(res->msgs[0].key, "7.g.host");
		assert_int_equal(res->msgs[0].flags, MF_FLAG_FLAGGED);
		assert_false(res->msgs[0].is_new);
		assert_string_equal(res->msgs[1].key, "8.h.host");
		assert_int_equal(res->msgs[1].flags, MF_FLAG_ANSWERED);
		mf_scan_result_free(&res);
		item = fetch(fx.st, "7.g.host", &ms, 0, 0, false);
		assert_int_equal(item.status, 0);
		assert_memory_equal(ms.buf.data, "cur copy F\r\n", 12);
		mf_buf_deinit(&ms.buf);
	}
	mf_log_set_handler(NULL, NULL);
	/* the other copies are left alone */
	assert_int_equal(count_dir(&fx, "INBOX/cur"), 3);
	assert_int_equal(count_dir(&fx, "INBOX/new"), 2);
	fixture_close(&fx);
}

/* ---- scan details ---------------------------------------------------- */

static void
test_scan_extras(void **state)
{
	static const struct {
		const char *file;
		const char *data;
		uint64_t size;	    /* with MF_WANT_SIZE */
		uint64_t size_free; /* without: only from W= */
		const char *msgid;
		uint32_t uid;
	} rows[] = {
		/* in key order */
		{ "a.1.host:2,S", "Message-ID: <abc@x>\nSubject: hi\n\nbody\n",
		  42, 0, "<abc@x>", 0 },
		{ "b.2.host,S=38,W=999:2,",
		  "Subject: hi\nMessage-Id:\n <folded@x>\n\nx\n", 999, 999,
		  "<folded@x>", 0 },
		{ "c.3.host,U=77:2,",
		  "Subject: hi\n\nMessage-ID: <in-body@x>\n", 40, 0, NULL, 77 },
		{ "d.4.host:2,", "", 0, 0, NULL, 0 },
		{ "e.5.host:2,", "MESSAGE-ID:   bare-id  \n\n", 27, 0,
		  "bare-id", 0 },
	};
	struct fixture fx;
	struct mf_scan_result *res;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char *rel = xasprintf("INBOX/cur/%s", rows[i].file);

		put_file(&fx, rel, rows[i].data);
		set_mtime(&fx, rel, 1500000000 + (time_t)i, 0);
		free(rel);
	}
	/* asked for nothing: nothing read, only what the names say */
	res = scan(fx.st, 0);
	assert_int_equal(res->n, MF_N_ELEMENTS(rows));
	for (i = 0; i < res->n; i++) {
		const struct mf_msg *m = &res->msgs[i];

		if (m->size != rows[i].size_free || m->date != 0 ||
		    m->msgid != NULL || m->name_uid != rows[i].uid)
			fail_msg("row %zu: size %llu date %lld uid %u", i,
				 (unsigned long long)m->size,
				 (long long)m->date, m->name_uid);
	}
	mf_scan_result_free(&res);
	res = scan(fx.st, MF_WANT_SIZE | MF_WANT_DATE | MF_WANT_MSGID);
	for (i = 0; i < res->n; i++) {
		const struct mf_msg *m = &res->msgs[i];

		if (m->size != rows[i].size ||
		    m->date != 1500000000 + (int64_t)i ||
		    (rows[i].msgid == NULL) != (m->msgid == NULL) ||
		    (m->msgid != NULL && strcmp(m->msgid, rows[i].msgid) != 0))
			fail_msg("row %zu: size %llu date %lld msgid %s", i,
				 (unsigned long long)m->size,
				 (long long)m->date,
				 m->msgid ? m->msgid : "(null)");
	}
	mf_scan_result_free(&res);
	/* since: only dates from then on */
	{
		struct mf_scan_req req = { .since = 1500000003 };
		struct mf_err err = { 0 };

		must(fx.st->ops->scan(fx.st, &req, &res, &err), &err, "scan");
		assert_int_equal(res->n, 2);
		assert_string_equal(res->msgs[0].key, "d.4.host");
		mf_scan_result_free(&res);
	}
	fixture_close(&fx);
}

/* A message header bigger than the bounded read: no Message-ID, no hang. */
static void
test_scan_huge_header(void **state)
{
	struct fixture fx;
	struct mf_scan_result *res;
	struct mf_buf b;
	size_t i;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	mf_buf_init(&b, 4u << 20);
	for (i = 0; i < 5000; i++)
		if (mf_buf_printf(&b, NULL, "X-Filler-%zu: %0100zu\n", i, i) <
		    0)
			fail_msg("buf");
	if (mf_buf_append_str(&b, "Message-ID: <late@x>\n\nbody\n", NULL) < 0)
		fail_msg("buf");
	put_file(&fx, "INBOX/cur/big.host:2,", b.data);
	res = scan(fx.st, MF_WANT_MSGID | MF_WANT_SIZE);
	assert_int_equal(res->n, 1);
	assert_null(res->msgs[0].msgid);
	assert_int_equal(res->msgs[0].size, b.len + 5003);
	mf_scan_result_free(&res);
	mf_buf_deinit(&b);
	fixture_close(&fx);
}

/* ---- dir_token ------------------------------------------------------- */

static void
test_token_compute(void **state)
{
	struct stat cur = { 0 }, new_ = { 0 };
	struct timespec now = { 1700000000, 500000000 };
	uint64_t a, b;

	(void)state;
	cur.st_ino = 11;
	new_.st_ino = 12;
	cur.st_mtim.tv_sec = new_.st_mtim.tv_sec = 1699990000;
	a = mdir_token_compute(&cur, &new_, &now);
	assert_true(a != 0);
	assert_true(mdir_token_compute(&cur, &new_, &now) == a);
	/* nanoseconds count */
	cur.st_mtim.tv_nsec = 1;
	b = mdir_token_compute(&cur, &new_, &now);
	assert_true(b != 0 && b != a);
	/* within 2 seconds of now, or in the future: cannot tell */
	new_.st_mtim.tv_sec = 1699999998;
	new_.st_mtim.tv_nsec = 500000001;
	assert_true(mdir_token_compute(&cur, &new_, &now) == 0);
	new_.st_mtim.tv_nsec = 500000000; /* exactly 2 s */
	assert_true(mdir_token_compute(&cur, &new_, &now) != 0);
	cur.st_mtim.tv_sec = 1700000100;
	assert_true(mdir_token_compute(&cur, &new_, &now) == 0);
}

static void
test_dir_token(void **state)
{
	struct fixture fx;
	struct mf_box_list *list = NULL;
	struct mf_err err = { 0 };
	time_t old = time(NULL) - 3600;
	uint64_t a, b, c;
	char *key;

	(void)state;
	fixture_open(&fx, MDIR_LAYOUT_FS, NULL);
	create_select(fx.st, "INBOX");
	/* just created: too fresh to tell */
	assert_true(token(fx.st, "INBOX") == 0);
	set_mtime(&fx, "INBOX/cur", old, 0);
	set_mtime(&fx, "INBOX/new", old, 0);
	a = token(fx.st, "INBOX");
	assert_true(a != 0);
	assert_true(token(fx.st, "INBOX") == a);
	must(fx.st->ops->list_boxes(fx.st, true, &list, &err), &err, "list");
	assert_int_equal(list->n, 1);
	assert_true(list->v[0].status.dir_token == a);
	assert_false(list->v[0].status.has_status);
	mf_box_list_free(&list);
	/* a delivery: 0 right after, a new value once the tick is old */
	key = deliver(fx.st, msg1, strlen(msg1), 0, NULL, 0);
	assert_true(token(fx.st, "INBOX") == 0);
	set_mtime(&fx, "INBOX/new", old, 1);
	b = token(fx.st, "INBOX");
	assert_true(b != 0 && b != a);
	/* a rename (new/ -> cur/) */
	assert_int_equal(
		set_flags(fx.st, key, MF_FLAG_SEEN, 0, NULL, NULL).status, 0);
	assert_true(token(fx.st, "INBOX") == 0);
	set_mtime(&fx, "INBOX/cur", old, 2);
	set_mtime(&fx, "INBOX/new", old, 2);
	c = token(fx.st, "INBOX");
	assert_true(c != 0 && c != a && c != b);
	free(key);
	fixture_close(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folders_fs),
		cmocka_unit_test(test_folders_maildirpp),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_delete_box),
		cmocka_unit_test(test_deliver_corpus),
		cmocka_unit_test(test_deliver_layouts_and_names),
		cmocka_unit_test(test_flush_incomplete),
		cmocka_unit_test(test_destroy_discards),
		cmocka_unit_test(test_abort_all),
		cmocka_unit_test(test_many_deliveries),
		cmocka_unit_test(test_fetch_parts),
		cmocka_unit_test(test_fetch_foreign_crlf),
		cmocka_unit_test(test_flag_letters),
		cmocka_unit_test(test_new_to_cur),
		cmocka_unit_test(test_unknown_info_kept),
		cmocka_unit_test(test_odd_keys),
		cmocka_unit_test(test_dovecot_keywords),
		cmocka_unit_test(test_keywords_beyond_26),
		cmocka_unit_test(test_race_set_flags),
		cmocka_unit_test(test_race_fetch),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_to_trash),
		cmocka_unit_test(test_crash_leftovers_in_tmp),
		cmocka_unit_test(test_tmp_same_pid),
		cmocka_unit_test(test_select_absent_or_unmounted),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_scan_extras),
		cmocka_unit_test(test_scan_huge_header),
		cmocka_unit_test(test_token_compute),
		cmocka_unit_test(test_dir_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
