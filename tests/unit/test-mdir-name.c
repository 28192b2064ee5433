/* Unit tests for store/maildir/mdir-name.c: parsing, rebuilding, keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "maildir/mdir-name.h"
#include "store.h"

#define ALLF MF_FLAG_ALL
#define D MF_FLAG_DRAFT
#define F MF_FLAG_FLAGGED
#define P MF_FLAG_FORWARDED
#define R MF_FLAG_ANSWERED
#define S MF_FLAG_SEEN
#define T MF_FLAG_DELETED
#define KW(c) (1u << ((c) - 'a'))

/*
 * Long because it is a table: a file name and what it parses to, per line.
 */
static void
test_parse(void **state)
{
	static const struct {
		const char *name;
		const char *key;
		char sep;
		unsigned flags;
		uint32_t kw;
		int has_s;
		uint64_t s;
		int has_w;
		uint64_t w;
		uint32_t uid;
	} rows[] = {
		/* plain names and every flag */
		{ "1234.M1P2.host", "1234.M1P2.host", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "1234.M1P2.host:2,", "1234.M1P2.host", ':', 0, 0, 0, 0, 0, 0,
		  0 },
		{ "x:2,D", "x", ':', D, 0, 0, 0, 0, 0, 0 },
		{ "x:2,F", "x", ':', F, 0, 0, 0, 0, 0, 0 },
		{ "x:2,P", "x", ':', P, 0, 0, 0, 0, 0, 0 },
		{ "x:2,R", "x", ':', R, 0, 0, 0, 0, 0, 0 },
		{ "x:2,S", "x", ':', S, 0, 0, 0, 0, 0, 0 },
		{ "x:2,T", "x", ':', T, 0, 0, 0, 0, 0, 0 },
		{ "x:2,DFPRST", "x", ':', ALLF, 0, 0, 0, 0, 0, 0 },
		/* '!' separator (mu's test data) */
		{ "x!2,S", "x", '!', S, 0, 0, 0, 0, 0, 0 },
		/* Dovecot sizes and keyword letters */
		{ "1276528487.M364837P9451.kurkku,S=1355,W=1394:2,Sb",
		  "1276528487.M364837P9451.kurkku", ':', S, KW('b'), 1, 1355, 1,
		  1394, 0 },
		{ "1035478339.27041_118.foo.org,S=1000:2,S",
		  "1035478339.27041_118.foo.org", ':', S, 0, 1, 1000, 0, 0, 0 },
		/* mbsync and OfflineIMAP UIDs stay in the key */
		{ "1700000000.12345_1.host,U=42:2,S",
		  "1700000000.12345_1.host,U=42", ':', S, 0, 0, 0, 0, 0, 42 },
		{ "1700000000_0.4242.host,U=7,FMD5=0123456789abcdef:2,RS",
		  "1700000000_0.4242.host,U=7,FMD5=0123456789abcdef", ':',
		  R | S, 0, 0, 0, 0, 0, 7 },
		/* size fields between other fields: the key is not a prefix */
		{ "x,S=10,U=5,W=12:2,", "x,U=5", ':', 0, 0, 1, 10, 1, 12, 5 },
		/* notmuch's "29:2,", several colons, info inside the key */
		{ "29:2,", "29", ':', 0, 0, 0, 0, 0, 0, 0 },
		{ "a:b:2,S", "a:b", ':', S, 0, 0, 0, 0, 0, 0 },
		{ "a:2,S:2,T", "a:2,S", ':', T, 0, 0, 0, 0, 0, 0 },
		{ "x:1,experimental", "x:1,experimental", 0, 0, 0, 0, 0, 0, 0,
		  0 },
		/* odd bytes */
		{ "key with spaces:2,S", "key with spaces", ':', S, 0, 0, 0, 0,
		  0, 0 },
		{ "cl\xc3\xa9.h\xc3\xb4te:2,F", "cl\xc3\xa9.h\xc3\xb4te", ':',
		  F, 0, 0, 0, 0, 0, 0 },
		/* not size fields: kept in the key */
		{ "x,S=abc:2,", "x,S=abc", ':', 0, 0, 0, 0, 0, 0, 0 },
		{ "x,S=99999999999999999999999:2,",
		  "x,S=99999999999999999999999", ':', 0, 0, 0, 0, 0, 0, 0 },
		{ "x,U=4294967296:2,", "x,U=4294967296", ':', 0, 0, 0, 0, 0, 0,
		  0 },
		/* nothing but a size field: the key is the whole base */
		{ ",S=5", ",S=5", 0, 0, 0, 1, 5, 0, 0, 0 },
		/* Dovecot's ",<non-standard fields>" after the letters */
		{ "x:2,Sa,foo", "x", ':', S, KW('a'), 0, 0, 0, 0, 0 },
		/* unknown letters do not become flags */
		{ "x:2,AS3Z", "x", ':', S, 0, 0, 0, 0, 0, 0 },
		{ "", "", 0, 0, 0, 0, 0, 0, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mdir_name n;
		char key[300];

		mdir_name_parse(rows[i].name, strlen(rows[i].name), &n);
		mdir_name_key(&n, key);
		if (strcmp(key, rows[i].key) != 0 || n.sep != rows[i].sep ||
		    n.flags != rows[i].flags || n.kw_letters != rows[i].kw ||
		    n.has_s != (rows[i].has_s != 0) ||
		    n.has_w != (rows[i].has_w != 0) ||
		    (n.has_s && n.size_s != rows[i].s) ||
		    (n.has_w && n.size_w != rows[i].w) ||
		    n.uid != rows[i].uid || n.key_len != strlen(key))
			fail_msg("row %zu (%s): key '%s' sep %d flags %#x "
				 "kw %#x s %d/%llu w %d/%llu uid %u",
				 i, rows[i].name, key, n.sep, n.flags,
				 n.kw_letters, n.has_s,
				 (unsigned long long)n.size_s, n.has_w,
				 (unsigned long long)n.size_w, n.uid);
	}
}

/* ,PH=<size> marks our placeholders; not part of the key, like S= / W=. */
static void
test_placeholder_mark(void **state)
{
	static const struct {
		const char *name;
		const char *key;
		uint64_t ph;
	} rows[] = {
		{ "1700000000.M1P2Q3R4.host,PH=5000000,S=300,W=310:2,S",
		  "1700000000.M1P2Q3R4.host", 5000000 },
		{ "x,S=300,PH=7:2,", "x", 7 },
		{ "x,PH=0:2,", "x,PH=0", 0 },
		{ "x,PH=:2,", "x,PH=", 0 },
		{ "x,P=7:2,", "x,P=7", 0 },
		{ "x,PHX=7:2,", "x,PHX=7", 0 },
		{ "x:2,S", "x", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mdir_name n;
		char key[300];

		mdir_name_parse(rows[i].name, strlen(rows[i].name), &n);
		mdir_name_key(&n, key);
		if (strcmp(key, rows[i].key) != 0 || n.key_len != strlen(key) ||
		    n.placeholder_of != rows[i].ph)
			fail_msg("row %zu (%s): key '%s' ph %llu", i,
				 rows[i].name, key,
				 (unsigned long long)n.placeholder_of);
	}
}

static void
test_with_flags(void **state)
{
	static const struct {
		const char *name;
		unsigned flags;
		uint32_t kw;
		const char *want;
	} rows[] = {
		{ "x", S, 0, "x:2,S" },
		{ "x:2,S", 0, 0, "x:2," },
		{ "x:2,", ALLF, 0, "x:2,DFPRST" },
		{ "x:2,", D, 0, "x:2,D" },
		{ "x:2,", F, 0, "x:2,F" },
		{ "x:2,", P, 0, "x:2,P" },
		{ "x:2,", R, 0, "x:2,R" },
		{ "x:2,", T, 0, "x:2,T" },
		/* unknown letters kept, ASCII order */
		{ "x:2,ZS", F | S, 0, "x:2,FSZ" },
		{ "x:2,S3", R, 0, "x:2,3R" },
		{ "x:2,SZ", 0, 0, "x:2,Z" },
		/* "2!" before a rest stays "2!": sorted, "!2,r" would be a
		 * new separator and another key (found by fuzz-mdir-name) */
		{ "x:2,2!,r", S, 0, "x:2,!2S,r" },
		{ "x:2,2!,r", 0, 0, "x:2,2!,r" },
		{ "x:2,!2", 0, 0, "x:2,!2" },
		/* the separator of the file is kept */
		{ "x!2,S", T, 0, "x!2,T" },
		/* keyword letters replaced, rest kept verbatim */
		{ "x:2,Sac,foo=1", D | S, KW('a') | KW('b') | KW('c'),
		  "x:2,DSabc,foo=1" },
		{ "x:2,Sac,foo=1", S, KW('c'), "x:2,Sc,foo=1" },
		/* bytes outside printable ASCII keep their order at the end */
		{ "x:2,S\xc3\xa9", F, 0, "x:2,F\xc3\xa9" },
		/* notmuch style and nested info */
		{ "29:2,", S, 0, "29:2,S" },
		{ "a:2,S:2,T", S, 0, "a:2,S:2,S" },
		/* sizes in the base stay where they are */
		{ "k,S=5,W=6", S, 0, "k,S=5,W=6:2,S" },
		{ "x:1,exp", S, 0, "x:1,exp:2,S" },
	};
	char buf[MDIR_NAME_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct mdir_name n;
		struct mf_err err = { 0 };

		mdir_name_parse(rows[i].name, strlen(rows[i].name), &n);
		if (mdir_name_with_flags(&n, rows[i].flags, rows[i].kw, buf,
					 sizeof(buf), &err) < 0)
			fail_msg("row %zu: %s", i, err.msg);
		if (strcmp(buf, rows[i].want) != 0)
			fail_msg("row %zu: got '%s' want '%s'", i, buf,
				 rows[i].want);
	}
}

static void
test_with_flags_too_long(void **state)
{
	char name[MDIR_NAME_MAX + 1], buf[MDIR_NAME_MAX + 1];
	struct mf_err err = { 0 };
	struct mdir_name n;

	(void)state;
	memset(name, 'a', 250);
	name[250] = '\0';
	mdir_name_parse(name, 250, &n);
	assert_int_equal(mdir_name_with_flags(&n, S, 0, buf, sizeof(buf), &err),
			 0);
	assert_int_equal(strlen(buf), 254);
	assert_int_equal(mdir_name_with_flags(&n, ALLF, 0, buf, sizeof(buf),
					      &err),
			 -1);
	assert_int_equal(err.cls, MF_E_MSG);
}

static void
test_escape_host(void **state)
{
	static const struct {
		const char *host;
		size_t size;
		const char *want;
	} rows[] = {
		{ "mail.example.org", 64, "mail.example.org" },
		{ "a/b:c", 64, "a\\057b\\072c" },
		{ "x,S=1!y", 64, "x\\054S=1\\041y" },
		{ "tab\there", 64, "tab\\011here" },
		{ "", 64, "localhost" },
		/* cut at an escape boundary, never inside "\057" */
		{ "ab/cd", 5, "ab" },
		{ "abcdef", 4, "abc" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		mdir_name_escape_host(rows[i].host, buf, rows[i].size);
		if (strcmp(buf, rows[i].want) != 0)
			fail_msg("row %zu: got '%s' want '%s'", i, buf,
				 rows[i].want);
	}
}

static void
test_make_key(void **state)
{
	struct mf_err err = { 0 };
	char buf[128], small[20];

	(void)state;
	assert_int_equal(mdir_name_make_key(buf, sizeof(buf), 1732780000,
					    123456, 4242, 7, 0x3f2a9c,
					    "hostname", &err),
			 0);
	assert_string_equal(buf, "1732780000.M123456P4242Q7R003f2a9c.hostname");
	assert_int_equal(mdir_name_make_key(buf, sizeof(buf), 1, 5, 1, 1,
					    0xffffffffu, "h", &err),
			 0);
	assert_string_equal(buf, "1.M000005P1Q1Rffffffff.h");
	assert_int_equal(mdir_name_make_key(small, sizeof(small), 1732780000, 1,
					    1, 1, 1, "hostname", &err),
			 -1);
	assert_int_equal(err.cls, MF_E_INTERNAL);
}

/* Our tmp/ names, and the names of others that must never look ours. */
static void
test_tmp_names(void **state)
{
	static const struct {
		const char *name;
		bool ours;
		long pid;
		const char *host;
	} rows[] = {
		{ "mailferry.1732780000.M123456P4242Q7R003f2a9c.hostname", true,
		  4242, "hostname" },
		{ "mailferry.1.M000005P1Q1Rffffffff.h.example.org", true, 1,
		  "h.example.org" },
		{ "mailferry.1.M5P99Q1Rab.we\\057ird", true, 99, "we\\057ird" },
		/* the key without our prefix: an older mailferry, or not us */
		{ "1732780000.M123456P4242Q7R003f2a9c.hostname", false, 0, "" },
		/* Dovecot, mbsync, OfflineIMAP, Courier, mutt */
		{ "1732780000.M519839P22347.host", false, 0, "" },
		{ "1732780000.22347_1.host", false, 0, "" },
		{ "1732780000_0.22347.host,U=1,FMD5=abc", false, 0, "" },
		{ "1732780000.M519839P22347V0000000000000801I00172AB1.host",
		  false, 0, "" },
		{ "mutt-host-1000-22347-123", false, 0, "" },
		/* near misses of ours */
		{ "mailferry.", false, 0, "" },
		{ "mailferry.1.M5P0Q1Rab.h", false, 0, "" },  /* pid 0 */
		{ "mailferry.1.M5P99Q1Rab.", false, 0, "" },  /* host? */
		{ "mailferry.1.M5P99Q1RAB.h", false, 0, "" }, /* HEX */
		{ "mailferry.1.M5P-9Q1Rab.h", false, 0, "" },
		{ "mailferry.1.M5P99999999999999999Q1Rab.h", false, 0, "" },
		{ "Mailferry.1.M5P99Q1Rab.h", false, 0, "" },
	};
	struct mf_err err = { 0 };
	char buf[MDIR_TMP_NAME_SIZE(128)], small[16];
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		const char *host = NULL;
		pid_t pid = 0;
		int64_t sec = -1;
		bool ours = mdir_name_tmp_parse(rows[i].name, &pid, &host,
						&sec);

		if (ours != rows[i].ours)
			fail_msg("row %zu (%s): ours %d", i, rows[i].name,
				 ours);
		if (!ours)
			continue;
		assert_int_equal(pid, rows[i].pid);
		assert_string_equal(host, rows[i].host);
		/* the key's seconds, right after the prefix */
		assert_true(sec == strtoll(rows[i].name + 10, NULL, 10));
	}
	/* what mdir_name_make_key() makes parses back */
	assert_int_equal(mdir_name_tmp(buf, sizeof(buf),
				       "1732780000.M123456P4242Q7R003f2a9c."
				       "hostname",
				       &err),
			 0);
	assert_string_equal(buf, "mailferry.1732780000.M123456P4242Q7R003f2a9c"
				 ".hostname");
	assert_int_equal(mdir_name_tmp(small, sizeof(small), "1.M5P99Q1Rab.h",
				       &err),
			 -1);
	assert_int_equal(err.cls, MF_E_INTERNAL);
}

/*
 * The identity crash recovery depends on: the key handed out at
 * deliver_begin is the key a scan finds for the delivered file, whatever
 * the host name, the sizes and the flags.
 */
static void
test_delivery_key_identity(void **state)
{
	static const char *const hosts[] = {
		"mail.example.org", "we/ird:host,name!x", "",
		"\001ctl",	    "h,S=1,W=2",	  "h:2,S",
	};
	static const unsigned flag_sets[] = { 0, S, ALLF, F | R };
	size_t i, j;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(hosts); i++) {
		for (j = 0; j < MF_N_ELEMENTS(flag_sets); j++) {
			char host[64], key[128], base[MDIR_NAME_MAX + 1];
			char full[MDIR_NAME_MAX + 1], back[MDIR_NAME_MAX + 1];
			struct mf_err err = { 0 };
			struct mdir_name n;

			mdir_name_escape_host(hosts[i], host, sizeof(host));
			assert_int_equal(mdir_name_make_key(key, sizeof(key),
							    1732780000, 99,
							    4242, 12 + j,
							    0xabcdef, host,
							    &err),
					 0);
			if (strpbrk(key, ",:!/") != NULL)
				fail_msg("host %zu: key '%s' has a reserved "
					 "byte",
					 i, key);
			snprintf(base, sizeof(base), "%s,S=%zu,W=%zu", key,
				 1000 + i, 1040 + j);
			mdir_name_parse(base, strlen(base), &n);
			if (flag_sets[j] != 0) {
				assert_int_equal(mdir_name_with_flags(
							 &n, flag_sets[j], 0,
							 full, sizeof(full),
							 &err),
						 0);
				mdir_name_parse(full, strlen(full), &n);
			}
			mdir_name_key(&n, back);
			if (strcmp(back, key) != 0 || n.flags != flag_sets[j] ||
			    !n.has_w || n.size_w != 1040 + j)
				fail_msg("host %zu flags %zu: key '%s' came "
					 "back as '%s'",
					 i, j, key, back);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_placeholder_mark),
		cmocka_unit_test(test_with_flags),
		cmocka_unit_test(test_with_flags_too_long),
		cmocka_unit_test(test_escape_host),
		cmocka_unit_test(test_make_key),
		cmocka_unit_test(test_tmp_names),
		cmocka_unit_test(test_delivery_key_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
