/*
 * Unit tests for the IMAP command layer: capability names, the SCRAM
 * proof, and one end-to-end login over a tunnel to a shell script that
 * plays the server, with the trace captured (the helpers have their own
 * tests: test-imap-date.c, test-imap-format.c, test-imap-seqset.c).
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
	snprintf(cmd, strlen(server) + 200, "exec 3>%s; %s", wire_path, server);
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
	/* not even its length: "{5 bytes}" */
	if (strstr(trace.data, "bytes}") != NULL)
		fail_msg("password length in the trace:\n%s", trace.data);
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
		   "C: A1 LOGIN <redacted>\nS: + go\nC: <redacted>\nS: A1 OK",
		   "A1 LOGIN \"bob\" {5}");
}

/* ---- deadlines ----------------------------------------------------- */

/*
 * A server on the tunnel that greets (with greet, a shell snippet), reads
 * one command and then runs talk; the NOOP must fail within the command
 * timeout with want in the message, although the read timeout (10 s) never
 * runs out.
 */
static void
deadline_case(const char *greet, const char *talk, const char *want)
{
	struct imap_conn *conn = imap_conn_create(10000);
	struct imap_client *client;
	struct imap_cmd *cmd;
	struct mf_err err = { 0 };
	enum imap_greeting g;
	char script[1024];
	int64_t t0;
	int r;

	snprintf(script, sizeof(script), "%s; read l; %s", greet, talk);
	imap_conn_set_command_timeout(conn, 1000);
	assert_int_equal(imap_conn_tunnel(conn, script, &err), 0);
	client = imap_client_create(conn, 0);
	t0 = imap_conn_now_ms();
	r = imap_client_greeting(client, &g, &err);
	if (r == 0) {
		cmd = imap_cmd_new(client);
		imap_cmd_printf(cmd, "NOOP");
		r = imap_client_run(client, cmd, MF_E_BOX, "NOOP", &err);
		imap_cmd_free(&cmd);
	}
	assert_int_equal(r, -1);
	assert_int_equal(err.cls, MF_E_NET);
	if (strstr(err.msg, want) == NULL)
		fail_msg("want '%s', got '%s'", want, err.msg);
	/* a bound on a hang, not a speed test: 1 s deadline, 10 s timeout */
	if (imap_conn_now_ms() - t0 > 5000)
		fail_msg("took %lld ms", (long long)(imap_conn_now_ms() - t0));
	/* broken for good, and the connection is gone */
	assert_true(imap_client_is_broken(client));
	imap_client_destroy(&client);
}

static void
test_deadline_chatter(void **state)
{
	(void)state;
	deadline_case("printf '* OK [CAPABILITY IMAP4rev1] hi\\r\\n'",
		      "while printf '* OK still here\\r\\n'; do "
		      "sleep 0.2; done",
		      "tunnel: A1 NOOP: no answer within 1 s (server kept "
		      "sending)");
}

static void
test_deadline_silent(void **state)
{
	(void)state;
	/* a command timeout below the read timeout: silence is caught too */
	deadline_case("printf '* OK [CAPABILITY IMAP4rev1] hi\\r\\n'",
		      "read l2",
		      "tunnel: A1 NOOP: no answer within 1 s (server silent)");
}

static void
test_deadline_drip(void **state)
{
	(void)state;
	/* one byte every 0.2 s: every read gets something */
	deadline_case("printf '* OK [CAPABILITY IMAP4rev1] hi\\r\\n'",
		      "for c in A 1 ' ' O K ' ' d o n e; do printf %s \"$c\"; "
		      "sleep 0.2; done; printf '\\r\\n'",
		      "tunnel: A1 NOOP: no answer within 1 s (server kept "
		      "sending)");
	deadline_case("for c in '*' ' ' O K ' ' h i; do printf %s \"$c\"; "
		      "sleep 0.2; done; printf '\\r\\n'",
		      "true",
		      "tunnel: greeting: no answer within 1 s (server kept "
		      "sending)");
}

/*
 * A server that stops reading in the middle of a 1 MB literal: the flush
 * must give up by the deadline, not restart its timeout at every write.
 * The pipe is cut to its minimum (F_SETPIPE_SZ, through python3), so what
 * the kernel takes in advances the deadline by 0.4 s only (4 KB pages).
 */
static void
test_deadline_deaf(void **state)
{
	struct imap_conn *conn = imap_conn_create(10000);
	struct imap_client *client;
	struct imap_cmd *cmd;
	struct mf_err err = { 0 };
	enum imap_greeting g;
	size_t lit = 1 << 20;
	char *data = calloc(1, lit);
	int64_t t0;

	(void)state;
	if (system("python3 -c '' 2>/dev/null") != 0)
		skip();
	imap_conn_set_command_timeout(conn, 1000);
	assert_int_equal(
		imap_conn_tunnel(conn,
				 "python3 -c 'import fcntl; "
				 "fcntl.fcntl(0, 1031, 4096)' && "
				 "printf '* OK [CAPABILITY IMAP4rev1 LITERAL+] "
				 "hi\\r\\n' && read l && "
				 "while printf '* OK busy\\r\\n'; do "
				 "sleep 0.2; done",
				 &err),
		0);
	client = imap_client_create(conn, 0);
	assert_int_equal(imap_client_greeting(client, &g, &err), 0);
	t0 = imap_conn_now_ms();
	cmd = imap_cmd_new(client);
	imap_cmd_printf(cmd, "APPEND INBOX ");
	imap_cmd_add_literal(cmd, data, -1, lit);
	assert_int_equal(imap_client_run(client, cmd, MF_E_BOX, "APPEND", &err),
			 -1);
	/* the pipe's minimum is a page: 4 KB here, 64 KB on some systems */
	if (strstr(err.msg, "tunnel: A1 APPEND: not sent within ") == NULL ||
	    strstr(err.msg, " s (server not reading)") == NULL)
		fail_msg("got '%s'", err.msg);
	if (imap_conn_now_ms() - t0 > 10000)
		fail_msg("took %lld ms", (long long)(imap_conn_now_ms() - t0));
	imap_cmd_free(&cmd);
	imap_client_destroy(&client);
	free(data);
}

/* RFC 7677 section 3: the SCRAM-SHA-256 example exchange */
static void
test_scram_vector(void **state)
{
	char *final = NULL, sig[64];
	struct mf_err err = { 0 };

	(void)state;
	assert_int_equal(
		imap_scram_client_final(
			"pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"rOprNGfwEbeRWgbNEkqO", &final, sig, &err),
		0);
	assert_string_equal(
		final,
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	assert_string_equal(sig,
			    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	free(final);
	/* a server that changes our nonce is refused */
	assert_int_equal(imap_scram_client_final(
				 "pencil", "n=user,r=abc",
				 "r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
				 "abc", &final, sig, &err),
			 -1);
	assert_null(final);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_login_trace),
		cmocka_unit_test(test_login_literal),
		cmocka_unit_test(test_deadline_chatter),
		cmocka_unit_test(test_deadline_drip),
		cmocka_unit_test(test_deadline_silent),
		cmocka_unit_test(test_deadline_deaf),
		cmocka_unit_test(test_scram_vector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
