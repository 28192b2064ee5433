/*
 * Placeholder bytes (sync/placeholder.c): the header block passes through
 * unchanged, an empty line is added only where the header lacks one, the
 * note follows; and the upload check knows a placeholder from a message
 * that merely quotes one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "placeholder.h"

/* A sink that keeps what it is given. */
struct keep_sink {
	struct mf_sink sink;
	char buf[4096];
	size_t len;
	bool finished;
};

static int
keep_write(struct mf_sink *sink, const void *data, size_t len,
	   struct mf_err *err)
{
	struct keep_sink *k = (struct keep_sink *)sink;

	(void)err;
	assert_true(k->len + len <= sizeof(k->buf));
	memcpy(k->buf + k->len, data, len);
	k->len += len;
	return 0;
}

static int
keep_finish(struct mf_sink *sink, struct mf_err *err)
{
	(void)err;
	((struct keep_sink *)sink)->finished = true;
	return 0;
}

static const struct mf_sink_ops keep_ops = { keep_write, keep_finish };

/* Run a header through a ph_sink in pieces of step bytes. */
static void
make(const char *hdr, size_t step, struct keep_sink *out)
{
	struct ph_sink ph;
	struct mf_err err = { 0 };
	size_t off, n = strlen(hdr);

	memset(out, 0, sizeof(*out));
	out->sink.ops = &keep_ops;
	ph_sink_init(&ph, &out->sink, 123456, "c", "Lists/x");
	for (off = 0; off < n; off += step)
		assert_int_equal(mf_sink_write(&ph.sink, hdr + off,
					       off + step <= n ? step : n - off,
					       &err),
				 0);
	assert_int_equal(mf_sink_finish(&ph.sink, &err), 0);
	assert_true(out->finished);
	out->buf[out->len] = '\0';
}

static void
test_ph_sink(void **state)
{
	static const struct {
		const char *hdr;
		const char *sep; /* added between header and note */
	} rows[] = {
		{ "Subject: a\r\nFrom: b\r\n\r\n", "" },
		{ "Subject: a\r\nFrom: b\r\n", "\r\n" },
		{ "Subject: a", "\r\n\r\n" },
		{ "", "\r\n" },
	};
	const char *note = "[mailferry: this message is 123456 bytes; run "
			   "`mailferry fetch c:Lists/x` to download it]\r\n";
	size_t i, step;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (step = 1; step <= 7; step++) {
			struct keep_sink out;
			char want[1024];

			snprintf(want, sizeof(want), "%s%s%s", rows[i].hdr,
				 rows[i].sep, note);
			make(rows[i].hdr, step, &out);
			if (strcmp(out.buf, want) != 0)
				fail_msg("row %zu step %zu: '%s'", i, step,
					 out.buf);
			/* (a message without any header is not told from
			 * one whose body is a note: nothing to tell by) */
			if (rows[i].hdr[0] != '\0')
				assert_true(ph_is_note(out.buf, out.len));
		}
	}
}

static void
test_is_note(void **state)
{
	static const struct {
		const char *msg;
		bool note;
	} rows[] = {
		{ "S: a\r\n\r\n[mailferry: this message is 5 bytes; run "
		  "`mailferry fetch c:I` to download it]\r\n",
		  true },
		/* quoted in a longer body */
		{ "S: a\r\n\r\nSee:\r\n[mailferry: this message is 5 bytes; "
		  "run `mailferry fetch c:I` to download it]\r\n",
		  false },
		{ "S: a\r\n\r\n[mailferry: this message is 5 bytes; run "
		  "`mailferry fetch c:I` to download it]\r\nthanks\r\n",
		  false },
		{ "[mailferry: this message is 5 bytes; run `mailferry "
		  "fetch c:I` to download it]\r\n",
		  false },
		{ "", false },
		{ "\r\n", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (ph_is_note(rows[i].msg, strlen(rows[i].msg)) !=
		    rows[i].note)
			fail_msg("row %zu", i);
}

static void
test_check_sink(void **state)
{
	struct keep_sink ph, out;
	struct ph_check_sink check;
	struct mf_err err = { 0 };
	const char *real = "S: a\r\n\r\nbody\r\n";

	(void)state;
	make("Subject: a\r\n\r\n", 3, &ph);
	memset(&out, 0, sizeof(out));
	out.sink.ops = &keep_ops;
	ph_check_init(&check, &out.sink);
	assert_int_equal(mf_sink_write(&check.sink, ph.buf, ph.len, &err), 0);
	assert_int_equal(mf_sink_finish(&check.sink, &err), -1);
	assert_int_equal(err.cls, MF_E_MSG);
	assert_false(out.finished);

	memset(&out, 0, sizeof(out));
	out.sink.ops = &keep_ops;
	ph_check_init(&check, &out.sink);
	assert_int_equal(mf_sink_write(&check.sink, real, strlen(real), &err),
			 0);
	assert_int_equal(mf_sink_finish(&check.sink, &err), 0);
	assert_true(out.finished);
	assert_int_equal(out.len, strlen(real));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ph_sink),
		cmocka_unit_test(test_is_note),
		cmocka_unit_test(test_check_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
