/*
 * Unit tests for the IMAP command layer: quoting, UID sets, dates, trace
 * redaction, and one end-to-end login over a tunnel to a shell script that
 * plays the server, with the trace captured.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/log.h"
#include "imap/imap-auth.h"
#include "imap/imap-cmd.h"
#include "imap/imap-conn.h"
#include "imap/imap-date.h"
#include "imap/imap-format.h"
#include "imap/imap-seqset.h"
#include "imap/imap-parser.h"

static void
test_quote(void **state)
{
	static const struct {
		const char *in;
		bool literal;
		const char *quoted;
	} rows[] = {
		{ "INBOX", false, "\"INBOX\"" },
		{ "My Box", false, "\"My Box\"" },
		{ "say \"hi\"", false, "\"say \\\"hi\\\"\"" },
		{ "back\\slash", false, "\"back\\\\slash\"" },
		{ "", false, "\"\"" },
		{ "caf\xc3\xa9", true, NULL },
		{ "two\r\nlines", true, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mf_buf b;

		if (imap_needs_literal(rows[i].in, strlen(rows[i].in)) !=
		    rows[i].literal)
			fail_msg("row %zu: needs_literal wrong", i);
		if (rows[i].literal)
			continue;
		mf_buf_init(&b, 1024);
		assert_int_equal(imap_append_quoted(&b, rows[i].in,
						    strlen(rows[i].in), NULL),
				 0);
		if (strcmp(b.data, rows[i].quoted) != 0)
			fail_msg("row %zu: got %s want %s", i, b.data,
				 rows[i].quoted);
		mf_buf_deinit(&b);
	}
}

static void
test_uidset(void **state)
{
	static const uint32_t a[] = { 1, 2, 3, 5, 7, 8, 9 };
	static const uint32_t dup[] = { 0, 4, 4, 5, 5, 6, 10 };
	static const uint32_t big[] = { 100000, 100002, 100004, 100006 };
	static const struct {
		const uint32_t *uids;
		size_t n, max;
		const char *want[4];	/* one string per call */
		size_t counts[4];
	} rows[] = {
		{ a, 7, 100, { "1:3,5,7:9" }, { 7 } },
		{ dup, 7, 100, { "4:6,10" }, { 4 } },
		/* a small max splits between ranges, never inside one */
		{ a, 7, 6, { "1:3,5", "7:9" }, { 4, 3 } },
		{ big, 4, 14, { "100000,100002", "100004,100006" }, { 2, 2 } },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t pos = 0;

		for (k = 0; rows[i].want[k] != NULL; k++) {
			struct mf_buf b;
			size_t c;

			mf_buf_init(&b, 4096);
			c = imap_uidset_append(&b, rows[i].uids, rows[i].n,
					       &pos, rows[i].max);
			if (b.data == NULL ||
			    strcmp(b.data, rows[i].want[k]) != 0)
				fail_msg("row %zu call %zu: got '%s' want '%s'",
					 i, k, b.data ? b.data : "",
					 rows[i].want[k]);
			if (c != rows[i].counts[k])
				fail_msg("row %zu call %zu: count %zu want %zu",
					 i, k, c, rows[i].counts[k]);
			mf_buf_deinit(&b);
		}
		if (pos != rows[i].n)
			fail_msg("row %zu: pos %zu at the end", i, pos);
	}
}

static void
test_seqset(void **state)
{
	static const struct {
		const char *in;
		uint32_t lo[4], hi[4];
		size_t n;
		bool bad;
	} rows[] = {
		{ "1:3,5,9:7", { 1, 5, 7 }, { 3, 5, 9 }, 3, false },
		{ "42", { 42 }, { 42 }, 1, false },
		{ "1:", { 0 }, { 0 }, 0, true },
		{ "1,,2", { 1 }, { 1 }, 1, true },
		{ "0", { 0 }, { 0 }, 0, true },
		{ "4294967296", { 0 }, { 0 }, 0, true },
		{ "3x", { 0 }, { 0 }, 0, true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *p = rows[i].in, *end = p + strlen(p);
		uint32_t lo, hi;
		bool bad = false;
		size_t n = 0;

		while (imap_seqset_next(&p, end, &lo, &hi, &bad)) {
			if (n >= rows[i].n || lo != rows[i].lo[n] ||
			    hi != rows[i].hi[n])
				fail_msg("row %zu: range %zu is %u:%u", i, n,
					 lo, hi);
			n++;
		}
		if (n != rows[i].n || bad != rows[i].bad)
			fail_msg("row %zu: %zu ranges, bad=%d", i, n, bad);
	}
}

static void
test_dates(void **state)
{
	static const struct {
		int64_t t;
		const char *datetime, *search;
	} fmt[] = {
		{ 0, "01-Jan-1970 00:00:00 +0000", "1-Jan-1970" },
		{ 1593957780, "05-Jul-2020 14:03:00 +0000", "5-Jul-2020" },
		{ 1735689599, "31-Dec-2024 23:59:59 +0000", "31-Dec-2024" },
	};
	static const struct {
		const char *in;
		bool ok;
		int64_t t;
	} parse[] = {
		{ "17-Jul-1996 02:44:25 -0700", true, 837596665 },
		{ " 5-Jul-2020 16:03:00 +0200", true, 1593957780 },
		{ "5-Jul-2020 14:03:00 +0000", true, 1593957780 },
		{ "05-jul-2020 14:03:00 +0000", true, 1593957780 },
		{ "05-Jux-2020 14:03:00 +0000", false, 0 },
		{ "05-Jul-2020 14:03 +0000", false, 0 },
		{ "05-Jul-2020 25:03:00 +0000", false, 0 },
		{ "", false, 0 },
	};
	char buf[IMAP_DATE_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		imap_date_format(fmt[i].t, buf);
		if (strcmp(buf, fmt[i].datetime) != 0)
			fail_msg("format row %zu: %s", i, buf);
		imap_search_date_format(fmt[i].t, buf);
		if (strcmp(buf, fmt[i].search) != 0)
			fail_msg("search row %zu: %s", i, buf);
	}
	for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		int64_t t = -1;
		bool ok = imap_date_parse(parse[i].in, strlen(parse[i].in),
					  &t);

		if (ok != parse[i].ok || (ok && t != parse[i].t))
			fail_msg("parse row %zu: ok=%d t=%lld", i, ok,
				 (long long)t);
	}
}

static void
test_redact(void **state)
{
	static const struct {
		const char *line, *want;
	} rows[] = {
		{ "A2 LOGIN bob s3cret", "A2 LOGIN <redacted>" },
		{ "A2 LOGIN \"bob\" {6}", "A2 LOGIN <redacted>" },
		{ "A3 AUTHENTICATE PLAIN AGJvYgBzM2NyZXQ=",
		  "A3 AUTHENTICATE PLAIN <redacted>" },
		{ "A3 AUTHENTICATE XOAUTH2",
		  "A3 AUTHENTICATE XOAUTH2 <redacted>" },
		{ "A9", "A9 <redacted>" },
	};
	char out[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		imap_trace_redact(rows[i].line, strlen(rows[i].line), out,
				  sizeof(out));
		if (strcmp(out, rows[i].want) != 0)
			fail_msg("row %zu: %s", i, out);
	}
}

static void
test_cap_names(void **state)
{
	(void)state;
	assert_true(imap_cap_from_name("auth=plain", 10) ==
		    IMAP_CAP_AUTH_PLAIN);
	assert_true(imap_cap_from_name("LITERAL+", 8) == IMAP_CAP_LITERALPLUS);
	assert_true(imap_cap_from_name("X-UNKNOWN", 9) == 0);
}

/* ---- the trace, end to end ------------------------------------------ */

static struct mf_buf trace;

static void
capture(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	(void)level;
	(void)cat;
	(void)ctx;
	if (mf_buf_append_str(&trace, msg, NULL) < 0 ||
	    mf_buf_append(&trace, "\n", 1, NULL) < 0)
		fail_msg("trace too long");
}

static int
give_secret(void *ctx, enum imap_secret_kind kind, char **secret_r,
	    struct mf_err *err)
{
	(void)kind;
	(void)err;
	*secret_r = strdup(ctx);
	return 0;
}

/*
 * The "server" is a shell script on the tunnel's pipes: it greets, reads
 * the LOGIN line (and, for a literal password, answers "+" and reads it),
 * then says OK.  The client's lines go to a file we check too.
 */
static void
login_case(const char *password, const char *server, const char *want_trace,
	   const char *want_wire)
{
	struct imap_conn *conn = imap_conn_create(10000);
	struct imap_client *client;
	struct imap_store_cfg cfg = { 0 };
	struct mf_err err = { 0 };
	enum imap_greeting g;
	char wire_path[] = "/tmp/mf-test-cmd-XXXXXX", *cmd, wire[4096];
	FILE *f;
	size_t n;
	int fd;

	fd = mkstemp(wire_path);
	assert_true(fd >= 0);
	cmd = malloc(strlen(server) + 200);
	sprintf(cmd, "exec 3>%s; %s", wire_path, server);
	mf_buf_init(&trace, 1 << 20);
	mf_log_set_handler(capture, NULL);
	mf_log_set_level(MF_LOG_DEBUG);
	mf_log_set_debug(MF_LOGC_IMAP);

	assert_int_equal(imap_conn_tunnel(conn, cmd, &err), 0);
	client = imap_client_create(conn, 0);
	assert_int_equal(imap_client_greeting(client, &g, &err), 0);
	cfg.user = "bob";
	cfg.auth_mechs = "login";
	cfg.get_secret = give_secret;
	cfg.secret_ctx = (void *)password;
	if (imap_auth_login(client, &cfg, true, &err) != 0)
		fail_msg("login failed: %s\ntrace:\n%s", err.msg, trace.data);
	imap_client_destroy(&client);
	mf_log_set_handler(NULL, NULL);

	if (strstr(trace.data, password) != NULL)
		fail_msg("password in the trace:\n%s", trace.data);
	if (strstr(trace.data, want_trace) == NULL)
		fail_msg("want '%s' in the trace:\n%s", want_trace, trace.data);
	f = fdopen(fd, "r");
	n = fread(wire, 1, sizeof(wire) - 1, f);
	wire[n] = '\0';
	fclose(f);
	unlink(wire_path);
	if (strstr(wire, want_wire) == NULL)
		fail_msg("want '%s' on the wire, got '%s'", want_wire, wire);
	mf_buf_deinit(&trace);
	free(cmd);
}

static void
test_login_trace(void **state)
{
	(void)state;
	login_case("s3cr3t-pw",
		   "printf '* OK [CAPABILITY IMAP4rev1] hi\\r\\n'; "
		   "read l; echo \"$l\" >&3; printf 'A1 OK done\\r\\n'; "
		   "read l",
		   "C: A1 LOGIN <redacted>\nS: A1 OK done",
		   "A1 LOGIN \"bob\" \"s3cr3t-pw\"");
}

static void
test_login_literal(void **state)
{
	(void)state;
	/* 8-bit password: a synchronizing literal, sent after "+" */
	login_case("p\xc3\xa4ss",
		   "printf '* OK [CAPABILITY IMAP4rev1] hi\\r\\n'; "
		   "read l; echo \"$l\" >&3; printf '+ go\\r\\n'; read l; "
		   "echo \"$l\" >&3; printf 'A1 OK done\\r\\n'; read l",
		   "C: A1 LOGIN <redacted>\nS: + go\nC: {5 bytes}",
		   "A1 LOGIN \"bob\" {5}");
}

static void
test_resp_format(void **state)
{
	static const char in[] =
		"* 12 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n";
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const struct imap_resp *resp = NULL;
	struct mf_err err = { 0 };
	size_t used = 0;
	char out[200];

	(void)state;
	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &resp,
					  &err), IMAP_PARSE_DONE);
	imap_resp_format(resp, out, sizeof(out));
	assert_string_equal(out, "* 12 FETCH (UID 7 FLAGS (\\Seen) "
			    "BODY[] {5 bytes})");
	imap_parser_destroy(&p);
}

/* RFC 7677 section 3: the SCRAM-SHA-256 example exchange */
static void
test_scram_vector(void **state)
{
	char *final = NULL, sig[64];
	struct mf_err err = { 0 };

	(void)state;
	assert_int_equal(imap_scram_client_final("pencil",
		"n=user,r=rOprNGfwEbeRWgbNEkqO",
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"rOprNGfwEbeRWgbNEkqO", &final, sig, &err), 0);
	assert_string_equal(final,
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	assert_string_equal(sig,
			    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	free(final);
	/* a server that changes our nonce is refused */
	assert_int_equal(imap_scram_client_final("pencil",
		"n=user,r=abc", "r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"abc", &final, sig, &err), -1);
	assert_null(final);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_uidset),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_login_trace),
		cmocka_unit_test(test_login_literal),
		cmocka_unit_test(test_resp_format),
		cmocka_unit_test(test_scram_vector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
