/*
 * Unit tests for dovecot-keywords (store/maildir/mdir-kwmap.c): parsing as
 * Dovecot reads the file, letter assignment, the file we write back, and
 * the locked read-merge-rename write against a file another program
 * changed.  File tests work in their own mkdtemp() directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/xalloc.h"
#include "maildir/mdir-kwmap.h"
#include "store.h"

/* ---- helpers -------------------------------------------------------- */

static void
parse_str(struct mdir_kwmap *kw, const char *s)
{
	mdir_kwmap_parse(kw, s, strlen(s));
}

struct dir {
	char path[PATH_MAX];
	int fd;
};

static void
dir_open(struct dir *d)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(d->path, sizeof(d->path), "%s/mf-kw-XXXXXX",
		 tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->path));
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY);
	assert_true(d->fd >= 0);
}

static void
dir_close(struct dir *d)
{
	(void)unlinkat(d->fd, MDIR_KW_FILE, 0);
	(void)unlinkat(d->fd, "dovecot-uidlist.lock", 0);
	(void)unlinkat(d->fd, "dovecot-keywords.lock", 0);
	close(d->fd);
	assert_int_equal(rmdir(d->path), 0); /* nothing else left */
}

static void
put(const struct dir *d, const char *name, const char *data)
{
	int fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static char *
get(const struct dir *d, const char *name)
{
	char buf[4096];
	ssize_t n;
	int fd = openat(d->fd, name, O_RDONLY);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
assert_file(const struct dir *d, const char *want)
{
	char *got = get(d, MDIR_KW_FILE);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static int
ensure(struct mdir_kwmap *kw, const struct dir *d, const char *keywords,
       uint32_t avoid, char **overflow_r, struct mf_err *err)
{
	return mdir_kwmap_ensure(kw, d->fd, "Box", keywords, avoid, true,
				 overflow_r, err);
}

/* ---- parsing -------------------------------------------------------- */

static void
test_parse(void **state)
{
	struct mdir_kwmap kw = { 0 };
	char *s;

	(void)state;
	parse_str(&kw, "0 $Junk\r\n1 $NonJunk\n3 work\n5 bad(kw\nnonsense\n"
		       "30 beyond\n1 $Label1\n7 \n");
	assert_true(kw.present);
	/* later line wins for 'b'; 'f' is taken by a name we cannot use */
	assert_string_equal(kw.names[0], "$Junk");
	assert_string_equal(kw.names[1], "$Label1");
	assert_string_equal(kw.names[3], "work");
	assert_string_equal(kw.names[5], "bad(kw");
	assert_null(kw.names[2]);
	assert_int_equal(mdir_kwmap_mask(&kw), 0x1u | 0x2u | 0x8u);
	assert_int_equal(mdir_kwmap_taken(&kw), 0x1u | 0x2u | 0x8u | 0x20u);
	assert_string_equal(kw.extra, "nonsense\n30 beyond\n7 \n");
	s = mdir_kwmap_all(&kw);
	assert_string_equal(s, "$Junk $Label1 work");
	free(s);
	/* bad(kw is never reported, even when its letter is on a file */
	s = mdir_kwmap_names(&kw, 0x20u | 0x8u | 0x4u);
	assert_string_equal(s, "work");
	free(s);
	mdir_kwmap_clear(&kw);
	assert_false(kw.present);
	assert_null(kw.extra);
}

static void
test_letters(void **state)
{
	struct mdir_kwmap kw = { 0 };
	size_t unmapped = 99;

	(void)state;
	parse_str(&kw, "0 $Junk\n2 Work\n4 work\n");
	/* case-insensitive as Dovecot; a name given twice: both letters */
	assert_int_equal(mdir_kwmap_letters(&kw, "$junk WORK other", &unmapped),
			 0x1u | 0x4u | 0x10u);
	assert_int_equal(unmapped, 1);
	assert_int_equal(mdir_kwmap_letters(&kw, "", &unmapped), 0);
	assert_int_equal(unmapped, 0);
	assert_int_equal(mdir_kwmap_letters(&kw, NULL, NULL), 0);
	mdir_kwmap_clear(&kw);
}

/* ---- assignment and the file we write ------------------------------- */

static void
test_assign(void **state)
{
	struct mdir_kwmap kw = { 0 };
	char *over, *s;
	size_t i;

	(void)state;
	parse_str(&kw, "0 $Junk\n2 bad kw\n");
	/* 'b' is used by a file without a name: not handed out */
	assert_int_equal(mdir_kwmap_assign(&kw, "$junk one two", 0x2u, &over),
			 2);
	assert_string_equal(over, "");
	free(over);
	assert_string_equal(kw.names[0], "$Junk"); /* not renumbered */
	assert_null(kw.names[1]);
	assert_string_equal(kw.names[3], "one");
	assert_string_equal(kw.names[4], "two");
	s = mdir_kwmap_format(&kw);
	assert_string_equal(s, "0 $Junk\n2 bad kw\n3 one\n4 two\n");
	free(s);
	/* fill every letter: what does not fit comes back, sorted */
	for (i = 0; i < 30; i++) {
		char word[16];

		snprintf(word, sizeof(word), "k%02zu", i);
		(void)mdir_kwmap_assign(&kw, word, 0x2u, &over);
		if (i < 21)
			assert_string_equal(over, "");
		else
			assert_string_equal(over, word);
		free(over);
	}
	assert_int_equal(mdir_kwmap_taken(&kw), (1u << 26) - 1 - 0x2u);
	assert_int_equal(mdir_kwmap_assign(&kw, "aa zz", 0, &over), 1);
	/* 'b' is free in the map itself, so without avoid it is taken */
	assert_string_equal(kw.names[1], "aa");
	assert_string_equal(over, "zz");
	free(over);
	mdir_kwmap_clear(&kw);
}

static void
test_format_roundtrip(void **state)
{
	static const char *files[] = {
		"",
		"0 $Junk\n1 $NonJunk\n",
		"25 last\n0 first\n",
		"0 a\nnonsense line\n99 far\n",
	};
	static const char *want[] = {
		"",
		"0 $Junk\n1 $NonJunk\n",
		"0 first\n25 last\n",
		"0 a\nnonsense line\n99 far\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct mdir_kwmap kw = { 0 }, again = { 0 };
		char *s, *t;

		parse_str(&kw, files[i]);
		s = mdir_kwmap_format(&kw);
		if (strcmp(s, want[i]) != 0)
			fail_msg("row %zu: '%s'", i, s);
		parse_str(&again, s);
		t = mdir_kwmap_format(&again);
		assert_string_equal(s, t);
		free(s);
		free(t);
		mdir_kwmap_clear(&kw);
		mdir_kwmap_clear(&again);
	}
}

/* ---- writing the file ----------------------------------------------- */

static void
test_ensure_creates(void **state)
{
	struct mdir_kwmap kw = { 0 };
	struct mf_err err = { 0 };
	struct dir d;
	char *over;

	(void)state;
	dir_open(&d);
	assert_int_equal(mdir_kwmap_load(&kw, d.fd, &err), 0);
	assert_false(kw.present);
	assert_int_equal(ensure(&kw, &d, "$Label1 Important", 0, &over, &err),
			 0);
	assert_string_equal(over, "");
	free(over);
	assert_file(&d, "0 $Label1\n1 Important\n");
	assert_true(kw.present);
	assert_int_equal(mdir_kwmap_letters(&kw, "Important", NULL), 0x2u);
	/* no lock and no temporary file left behind (dir_close checks) */
	assert_null(get(&d, "dovecot-uidlist.lock"));
	mdir_kwmap_clear(&kw);
	dir_close(&d);
}

static void
test_ensure_merges_foreign(void **state)
{
	struct mdir_kwmap kw = { 0 };
	struct mf_err err = { 0 };
	struct stat before, after;
	struct dir d;
	char *over;

	(void)state;
	dir_open(&d);
	put(&d, MDIR_KW_FILE, "0 $Junk\n");
	assert_int_equal(mdir_kwmap_load(&kw, d.fd, &err), 0);
	/* another program adds an entry after we read the file */
	put(&d, MDIR_KW_FILE, "0 $Junk\n1 $Foreign\n4 odd name\ngarbage\n");
	assert_int_equal(ensure(&kw, &d, "$Junk mine", 0, &over, &err), 0);
	free(over);
	/* its entries keep their letters; ours takes a free one */
	assert_file(&d, "0 $Junk\n1 $Foreign\n2 mine\n4 odd name\n"
			"garbage\n");
	assert_int_equal(mdir_kwmap_letters(&kw, "$Foreign", NULL), 0x2u);
	assert_int_equal(mdir_kwmap_letters(&kw, "mine", NULL), 0x4u);
	/* everything known: the file is not touched at all */
	assert_int_equal(fstatat(d.fd, MDIR_KW_FILE, &before, 0), 0);
	assert_int_equal(ensure(&kw, &d, "mine $junk", 0, &over, &err), 0);
	assert_string_equal(over, "");
	free(over);
	assert_int_equal(fstatat(d.fd, MDIR_KW_FILE, &after, 0), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	mdir_kwmap_clear(&kw);
	dir_close(&d);
}

static void
test_ensure_full(void **state)
{
	struct mdir_kwmap kw = { 0 };
	struct mf_err err = { 0 };
	char file[1024] = "", *over;
	struct dir d;
	size_t i;

	(void)state;
	dir_open(&d);
	for (i = 0; i < 26; i++)
		snprintf(file + strlen(file), sizeof(file) - strlen(file),
			 "%zu kw%zu\n", i, i);
	put(&d, MDIR_KW_FILE, file);
	assert_int_equal(mdir_kwmap_load(&kw, d.fd, &err), 0);
	assert_int_equal(ensure(&kw, &d, "kw3 new1 new2", 0, &over, &err), 0);
	assert_string_equal(over, "new1 new2");
	free(over);
	assert_file(&d, file);
	mdir_kwmap_clear(&kw);
	dir_close(&d);
}

static void
test_ensure_mtime_grows(void **state)
{
	struct mdir_kwmap kw = { 0 };
	struct mf_err err = { 0 };
	struct timespec ts[2];
	struct stat sb;
	struct dir d;
	char *over;
	time_t later = time(NULL) + 100;
	int fd;

	(void)state;
	dir_open(&d);
	put(&d, MDIR_KW_FILE, "0 a\n");
	fd = openat(d.fd, MDIR_KW_FILE, O_RDONLY);
	ts[0].tv_sec = ts[1].tv_sec = later;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	assert_int_equal(ensure(&kw, &d, "b", 0, &over, &err), 0);
	free(over);
	/* Dovecot only re-reads a file whose mtime moved */
	assert_int_equal(fstatat(d.fd, MDIR_KW_FILE, &sb, 0), 0);
	assert_int_equal(sb.st_mtime, later + 1);
	assert_file(&d, "0 a\n1 b\n");
	mdir_kwmap_clear(&kw);
	dir_close(&d);
}

static void
test_ensure_lock(void **state)
{
	struct mdir_kwmap kw = { 0 };
	struct mf_err err = { 0 };
	char content[300], *over = NULL, *lock;
	char host[256] = "";
	struct timespec ts[2];
	struct dir d;
	int fd;

	(void)state;
	dir_open(&d);
	gethostname(host, sizeof(host) - 1);
	/* a live holder (this very process): we wait, then give up */
	snprintf(content, sizeof(content), "%ld:%s", (long)getpid(), host);
	put(&d, "dovecot-uidlist.lock", content);
	assert_int_equal(ensure(&kw, &d, "x", 0, &over, &err), -1);
	assert_int_equal(err.cls, MF_E_MSG);
	assert_non_null(strstr(err.msg, "dovecot-uidlist.lock"));
	assert_null(over);
	assert_null(get(&d, MDIR_KW_FILE));
	/* the holder's lock is left alone */
	lock = get(&d, "dovecot-uidlist.lock");
	assert_non_null(lock);
	assert_string_equal(lock, content);
	free(lock);
	/* a lock older than the stale time is removed and the write done */
	fd = openat(d.fd, "dovecot-uidlist.lock", O_RDONLY);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - MDIR_KW_LOCK_STALE_SECS - 5;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	mf_err_clear(&err);
	assert_int_equal(ensure(&kw, &d, "x", 0, &over, &err), 0);
	free(over);
	assert_file(&d, "0 x\n");
	assert_null(get(&d, "dovecot-uidlist.lock"));
	/* a fresh lock of a dead process on this host is stale too */
	snprintf(content, sizeof(content), "999999999:%s", host);
	put(&d, "dovecot-uidlist.lock", content);
	assert_int_equal(ensure(&kw, &d, "y", 0, &over, &err), 0);
	free(over);
	assert_file(&d, "0 x\n1 y\n");
	mdir_kwmap_clear(&kw);
	dir_close(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_letters),
		cmocka_unit_test(test_assign),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_ensure_creates),
		cmocka_unit_test(test_ensure_merges_foreign),
		cmocka_unit_test(test_ensure_full),
		cmocka_unit_test(test_ensure_mtime_grows),
		cmocka_unit_test(test_ensure_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
