/* Unit tests for store/base: errors, bounded buffers, sanitizing, CRLF. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/cancel.h"
#include "base/crlf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"

static void
test_err_prefix(void **state)
{
	struct mf_err err = { 0 };

	(void)state;
	assert_int_equal(mf_err_set(&err, MF_E_BOX, "APPEND: NO %s", "quota"),
			 -1);
	mf_err_prefix(&err, "UID %u", 4711u);
	mf_err_prefix(&err, "%s", "INBOX");
	assert_string_equal(err.msg, "INBOX: UID 4711: APPEND: NO quota");
	assert_int_equal(err.cls, MF_E_BOX);
	assert_true(mf_err_is_store_level(MF_E_NET));
	assert_false(mf_err_is_store_level(MF_E_BOX));
}

static void
test_buf_limit(void **state)
{
	struct mf_buf b;
	struct mf_err err = { 0 };

	(void)state;
	mf_buf_init(&b, 8);
	assert_int_equal(mf_buf_append(&b, "1234", 4, &err), 0);
	assert_int_equal(mf_buf_printf(&b, &err, "%d", 5678), 0);
	assert_string_equal(b.data, "12345678");
	/* one byte over the limit is an error, and nothing is truncated */
	assert_int_equal(mf_buf_append(&b, "9", 1, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
	assert_int_equal(b.len, 8);
	mf_buf_consume(&b, 3);
	assert_string_equal(b.data, "45678");
	mf_buf_deinit(&b);
}

static void
test_sanitize(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} rows[] = {
		{ "plain text", "plain text" },
		{ "bell\a and \x1b[31mred", "bell\\x07 and \\x1b[31mred" },
		{ "tab\there", "tab\\x09here" },
		{ "two\nlines\r", "two\\x0alines\\x0d" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" }, /* valid UTF-8 */
		{ "\xe2\x82\xac \xf0\x9f\x93\xa7",
		  "\xe2\x82\xac \xf0\x9f\x93\xa7" },
		{ "bad \xc3 utf8", "bad \\xc3 utf8" },
		{ "c1 \xc2\x9b csi", "c1 \\u009b csi" }, /* C1 CSI as UTF-8 */
		{ "c1 \xc2\x80\xc2\x9f", "c1 \\u0080\\u009f" },
		{ "nbsp \xc2\xa0", "nbsp \xc2\xa0" }, /* U+00A0 is no control */
		{ "raw \x9b\x84 c1",
		  "raw \\x9b\\x84 c1" }, /* C1 as raw bytes */
		{ "del\x7f", "del\\x7f" },
		{ "overlong \xc0\xaf \xe0\x80\xaf", "overlong \\xc0\\xaf "
						    "\\xe0\\x80\\xaf" },
		{ "surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80" },
		{ "too big \xf4\x90\x80\x80", "too big \\xf4\\x90\\x80\\x80" },
		{ "cut \xe2\x82", "cut \\xe2\\x82" },
		{ "back\\slash", "back\\slash" },
	};
	char out[64], again[64];
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		mf_str_sanitize(out, sizeof(out), rows[i].in,
				strlen(rows[i].in));
		if (strcmp(out, rows[i].out) != 0)
			fail_msg("row %zu: got '%s' want '%s'", i, out,
				 rows[i].out);
		/* a sanitize is its own sanitize (mf_log() relies on it) */
		mf_str_sanitize(again, sizeof(again), out, strlen(out));
		if (strcmp(again, out) != 0)
			fail_msg("row %zu: not idempotent: '%s'", i, again);
	}
	/* a NUL inside the length is a control too */
	mf_str_sanitize(out, sizeof(out), "a\0b", 3);
	assert_string_equal(out, "a\\x00b");
	/* truncation never splits a UTF-8 sequence or an escape */
	mf_str_sanitize(out, 5, "abc\xc3\xa9", 5);
	assert_string_equal(out, "abc");
	mf_str_sanitize(out, 6, "ab\x1b", 3);
	assert_string_equal(out, "ab");
	mf_str_sanitize(out, 7, "ab\x1b", 3);
	assert_string_equal(out, "ab\\x1b");
	mf_str_sanitize(out, 1, "abc", 3);
	assert_string_equal(out, "");
}

/* Whatever a caller formats, the handler gets no control character. */
static char logged[8192];

static void
log_capture(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	(void)level;
	(void)cat;
	(void)ctx;
	snprintf(logged, sizeof(logged), "%s", msg);
}

static void
test_log_sanitizes(void **state)
{
	(void)state;
	mf_log_set_handler(log_capture, NULL);
	mf_log(MF_LOG_WARN, MF_LOGC_GENERAL, "%s: NO %s", "box\x1b]0;x\a",
	       "text\nerror: forged\xc2\x9b");
	mf_log_set_handler(NULL, NULL);
	assert_string_equal(logged, "box\\x1b]0;x\\x07: NO "
				    "text\\x0aerror: forged\\u009b");
}

static void
test_numbers(void **state)
{
	uint64_t v64;
	uint32_t v32;

	(void)state;
	assert_true(mf_str_to_u64("18446744073709551615", 20, &v64));
	assert_true(v64 == UINT64_MAX);
	assert_false(mf_str_to_u64("18446744073709551616", 20, &v64));
	assert_false(mf_str_to_u32("4294967296", 10, &v32));
	assert_true(mf_str_to_u32("4294967295", 10, &v32));
	assert_false(mf_str_to_u32("", 0, &v32));
	assert_false(mf_str_to_u32("12a", 3, &v32));
}

/* Convert in chunks of every size; the result must not depend on them. */
static void
roundtrip(const char *canon, const char *lf)
{
	size_t len = strlen(canon), chunk;

	for (chunk = 1; chunk <= len; chunk++) {
		struct mf_nl_state a = { 0 }, b = { 0 };
		char tmp[256], back[512];
		size_t o = 0, o2 = 0, i;

		for (i = 0; i < len; i += chunk) {
			size_t n = len - i < chunk ? len - i : chunk;

			o += mf_to_lf(&a, canon + i, n, tmp + o);
		}
		o += mf_to_lf_end(&a, tmp + o);
		tmp[o] = '\0';
		assert_string_equal(tmp, lf);
		for (i = 0; i < o; i += chunk) {
			size_t n = o - i < chunk ? o - i : chunk;

			o2 += mf_to_crlf(&b, tmp + i, n, back + o2);
		}
		back[o2] = '\0';
		assert_string_equal(back, canon);
	}
}

static void
test_crlf(void **state)
{
	struct mf_nl_state st = { 0 };

	(void)state;
	roundtrip("a\r\nb\r\n\r\nbody\r\n", "a\nb\n\nbody\n");
	roundtrip("lone\rcr\r\n", "lone\rcr\n");
	roundtrip("ends with cr\r", "ends with cr\r");
	roundtrip("", "");
	assert_int_equal(mf_crlf_extra(&st, "a\nb\r\nc\n", 7), 2);
}

/*
 * The converters jump between line ends with memchr; these byte-at-a-time
 * versions are the definition they must agree with, on random text made
 * mostly of CR, LF and one letter, cut into random chunks.
 */
static size_t
ref_to_lf(const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++)
		if (!(in[i] == '\r' && i + 1 < len && in[i + 1] == '\n'))
			out[o++] = in[i];
	return o;
}

static size_t
ref_to_crlf(const char *in, size_t len, char *out, uint64_t *extra)
{
	size_t i, o = 0;

	*extra = 0;
	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
			out[o++] = '\r';
			(*extra)++;
		}
		out[o++] = in[i];
	}
	return o;
}

static void
test_crlf_random(void **state)
{
	static const char alphabet[] = "\r\n\r\nab";
	char in[64], want[160], got[160];
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 20000; round++) {
		struct mf_nl_state a = { 0 }, b = { 0 }, c = { 0 };
		size_t len, i, n, wlen, glen = 0, clen = 0;
		uint64_t wextra, gextra = 0;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(in);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % 6];
		}
		wlen = ref_to_lf(in, len, want);
		for (i = 0; i < len; i += n) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 9;
			if (n > len - i)
				n = len - i;
			glen += mf_to_lf(&a, in + i, n, got + glen);
		}
		glen += mf_to_lf_end(&a, got + glen);
		assert_int_equal(glen, wlen);
		assert_memory_equal(got, want, wlen);

		wlen = ref_to_crlf(in, len, want, &wextra);
		for (i = 0; i < len; i += n) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 9;
			if (n > len - i)
				n = len - i;
			clen += mf_to_crlf(&b, in + i, n, got + clen);
			gextra += mf_crlf_extra(&c, in + i, n);
		}
		assert_int_equal(clen, wlen);
		assert_memory_equal(got, want, wlen);
		assert_int_equal(gextra, wextra);
	}
}

static void
test_arena(void **state)
{
	struct mf_arena *a = mf_arena_create(256);
	char *big, *s;
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++) {
		s = mf_arena_strdup(a, "hello");
		assert_string_equal(s, "hello");
	}
	big = mf_arena_alloc(a, 10000); /* larger than a chunk */
	memset(big, 'x', 10000);
	assert_true(mf_arena_used(a) >= 10000);
	mf_arena_reset(a);
	assert_int_equal(mf_arena_used(a), 0);
	s = mf_arena_strndup(a, "abcdef", 3);
	assert_string_equal(s, "abc");
	mf_arena_destroy(&a);
	assert_null(a);
}

/* The stop flag: the first signal is kept, and the names are right. */
static void
test_cancel(void **state)
{
	(void)state;
	mf_cancel_reset();
	assert_int_equal(mf_cancel_signal(), 0);
	mf_cancel_set(SIGINT);
	mf_cancel_set(SIGTERM);
	assert_int_equal(mf_cancel_signal(), SIGINT);
	assert_string_equal(mf_cancel_name(), "SIGINT");
	mf_cancel_reset();
	mf_cancel_set(SIGTERM);
	assert_string_equal(mf_cancel_name(), "SIGTERM");
	mf_cancel_reset();
	mf_cancel_set(SIGHUP);
	assert_string_equal(mf_cancel_name(), "signal 1");
	mf_cancel_reset();
	mf_cancel_set(0); /* no signal number: still a stop */
	assert_int_equal(mf_cancel_signal(), SIGTERM);
	mf_cancel_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_log_sanitizes),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_crlf_random),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
