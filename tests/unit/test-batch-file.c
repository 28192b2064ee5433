/*
 * The pairs file of migrate --batch (cmd/batch-file.c): fields, quoting,
 * the URL forms and their ports, default names, and every refusal naming
 * FILE:LINE (a clear-text password first of all).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "batch-file.h"

static int
parse(const char *text, struct batch_file *bf, struct mf_err *err)
{
	memset(err, 0, sizeof(*err));
	return batch_file_parse("pairs.txt", text, strlen(text), bf, err);
}

static void
test_good(void **state)
{
	struct batch_file bf;
	struct mf_err err;
	const struct batch_pair *p;

	(void)state;
	assert_int_equal(
		parse("# a comment\n\n"
		      "src=imaps://alice@old.example:1993 src_password_env=A "
		      "dst=imap://alice%40x.org@new.example "
		      "dst_password_command=\"pass show \\\"new\\\"/a\" "
		      "dst_ca_file=/etc/ca.pem  # trailing comment\n"
		      "  name=bob src=imaps://b@h/ src_oauth_token_command=tok "
		      "dst=imaps://b@h2 dst_password_env=B\n",
		      &bf, &err),
		0);
	assert_int_equal(bf.npairs, 2);
	p = &bf.pairs[0];
	assert_int_equal(p->line, 3);
	assert_string_equal(p->name, "alice@old.example");
	assert_string_equal(p->src.host, "old.example");
	assert_int_equal(p->src.port, 1993);
	assert_false(p->src.starttls);
	assert_int_equal(p->src.cred, BATCH_CRED_ENV);
	assert_string_equal(p->src.secret, "A");
	assert_null(p->src.ca_file);
	assert_string_equal(p->dst.user, "alice@x.org");
	assert_string_equal(p->dst.host, "new.example");
	assert_int_equal(p->dst.port, 143);
	assert_true(p->dst.starttls);
	assert_int_equal(p->dst.cred, BATCH_CRED_COMMAND);
	assert_string_equal(p->dst.secret, "pass show \"new\"/a");
	assert_string_equal(p->dst.ca_file, "/etc/ca.pem");
	p = &bf.pairs[1];
	assert_string_equal(p->name, "bob");
	assert_int_equal(p->src.port, 993);
	assert_int_equal(p->src.cred, BATCH_CRED_OAUTH);
	batch_file_free(&bf);
}

/* text must be refused with a message containing want */
static void
refused(const char *text, const char *want)
{
	struct batch_file bf;
	struct mf_err err;

	assert_int_equal(parse(text, &bf, &err), -1);
	assert_int_equal(err.cls, MF_E_USAGE);
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s' not in '%s'", want, err.msg);
	assert_int_equal(bf.npairs, 0);
	assert_null(bf.pairs);
}

#define OK_LINE \
	"src=imaps://a@h src_password_env=A dst=imaps://a@g " \
	"dst_password_env=B"

static void
test_refused(void **state)
{
	(void)state;
	refused(OK_LINE "\n" OK_LINE " src_password=hunter2\n",
		"pairs.txt:2: src_password: a clear-text password is refused");
	refused("password=x " OK_LINE "\n", "pairs.txt:1: password:");
	refused("\n" OK_LINE " color=red\n", "pairs.txt:2: unknown field");
	refused(OK_LINE " name=\"x\n", "pairs.txt:1: a double quote");
	refused("src=imaps://a@h dst=imaps://a@g dst_password_env=B\n",
		"pairs.txt:1: no credential for src");
	refused(OK_LINE " src_password_command=x\n",
		"pairs.txt:1: more than one credential for src");
	refused("src=pop3://a@h src_password_env=A dst=imaps://a@g "
		"dst_password_env=B\n",
		"pairs.txt:1: src=pop3://a@h is not");
	refused("src=imaps://h src_password_env=A dst=imaps://a@g "
		"dst_password_env=B\n",
		"has no user");
	refused("src=imaps://a@h:99999 src_password_env=A dst=imaps://a@g "
		"dst_password_env=B\n",
		"bad port");
	refused("src=imaps://a@h/INBOX src_password_env=A dst=imaps://a@g "
		"dst_password_env=B\n",
		"a path");
	refused(OK_LINE " name=../x\n", "pairs.txt:1: name=../x");
	refused(OK_LINE " dst_password_env=C\n",
		"dst_password_env given twice");
	refused("src=imaps://a@h src_password_env=$A dst=imaps://a@g "
		"dst_password_env=B\n",
		"name of a variable");
	refused("src=imaps://a@h src_password_env=A dst_password_env=B\n",
		"pairs.txt:1: no dst=");
	refused(OK_LINE "\n" OK_LINE "\n", "pairs.txt:2: name a@h already used "
					   "on line 1");
	refused("# nothing\n\n", "pairs.txt: no account pair");
	refused(OK_LINE " justaword\n", "'justaword' is not key=value");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
