/*
 * Unit tests for cmd/mbsyncrc.c and cmd/mbsyncrc-yaml.c: hand-written
 * mbsync files are converted, the YAML loads with our own config parser
 * (round trip), what cannot be mapped is noted with its line, and syntax
 * errors name their line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "mbsyncrc.h"

struct conv {
	char *yaml, *notes;
	size_t ylen, nlen;
	struct mf_config *cfg;
};

/* Convert rc; require success and that our parser loads the result. */
static void
convert(const char *rc_text, struct conv *c)
{
	struct mbsyncrc *rc = NULL;
	struct mf_err err = { 0 };
	FILE *y, *n;

	memset(c, 0, sizeof(*c));
	assert_int_equal(mbsyncrc_parse("rc", rc_text, strlen(rc_text), &rc,
					&err),
			 0);
	y = open_memstream(&c->yaml, &c->ylen);
	n = open_memstream(&c->notes, &c->nlen);
	assert_int_equal(mbsyncrc_write_yaml(rc, y, n, &err), 0);
	fclose(y);
	fclose(n);
	mbsyncrc_free(&rc);
	if (config_load_string("out.yaml", c->yaml, c->ylen, &c->cfg, &err) < 0)
		fail_msg("round trip: %s\n%s", err.msg, c->yaml);
}

static void
conv_free(struct conv *c)
{
	free(c->yaml);
	free(c->notes);
	config_free(&c->cfg);
}

static const char full_rc[] =
	"# comment\n"
	"IMAPAccount work\n"		    /* 2 */
	"Host imap.example.com\n"	    /* 3 */
	"port 993\n"			    /* 4: case-insensitive */
	"User \"alice \\\"a\\\" smith\"\n"  /* 5 */
	"Pass \"s3cr\\\"et-pw\"\n"	    /* 6 */
	"TLSType IMAPS\n"		    /* 7 */
	"AuthMechs LOGIN PLAIN\n"	    /* 8 */
	"CertificateFile /etc/ssl/x.pem\n"  /* 9 */
	"PipelineDepth 10\n"		    /* 10 */
	"Timeout 30\n"			    /* 11 */
	"SSLVersions TLSv1.3\n"		    /* 12 */
	"\n"				    /* 13 */
	"IMAPStore work-remote\n"	    /* 14 */
	"Account work\n"		    /* 15 */
	"PathDelimiter /\n"		    /* 16 */
	"UseNamespace no\n"		    /* 17 */
	"Trash Trash\n"			    /* 18 */
	"\n"				    /* 19 */
	"MaildirStore local\n"		    /* 20 */
	"Path \"/home/a/My Mail/\"\n"	    /* 21 */
	"Inbox \"/home/a/My Mail/INBOX\"\n" /* 22 */
	"SubFolders Verbatim\n"		    /* 23 */
	"Trash Trash\n"			    /* 24 */
	"MaxSize 10m\n"			    /* 25 */
	"AltMap yes\n"			    /* 26 */
	"InfoDelimiter :\n"		    /* 27 */
	"\n"				    /* 28 */
	"Channel work\n"		    /* 29 */
	"Master :work-remote:\n"	    /* 30 */
	"Slave :local:\n"		    /* 31 */
	"Patterns * !Junk \"!Deleted Items\" INBOX/%\n" /* 32 */
	"Create Slave\n"				/* 33 */
	"Remove None\n"					/* 34 */
	"Expunge Both\n"				/* 35 */
	"Sync Pull New Flags\n"				/* 36 */
	"MaxMessages 100\n"				/* 37 */
	"CopyArrivalDate yes\n"				/* 38 */
	"SyncState *\n"					/* 39 */
	"\n"						/* 40 */
	"Group all\n"					/* 41 */
	"Channel work\n";				/* 42 */

static void
test_full(void **state)
{
	const struct config_channel *ch;
	const struct config_account *a;
	struct conv c;

	(void)state;
	convert(full_rc, &c);
	assert_int_equal(c.cfg->naccounts, 1);
	assert_int_equal(c.cfg->nmaildirs, 1);
	assert_int_equal(c.cfg->nchannels, 1);
	a = config_find_account(c.cfg, "work");
	assert_non_null(a);
	assert_string_equal(a->imap.host, "imap.example.com");
	assert_int_equal(a->imap.port, 993);
	assert_string_equal(a->imap.user, "alice \"a\" smith");
	assert_null(a->password);
	assert_null(a->password_command);
	ch = config_find_channel(c.cfg, "work");
	assert_non_null(ch);
	assert_ptr_equal(ch->far.account, a);
	assert_int_equal(ch->near.kind, CONFIG_SIDE_MAILDIR);
	assert_int_equal(ch->policy.max_size, 10u * 1024 * 1024);
	/* the password never leaves the rc, in any form */
	assert_null(strstr(c.yaml, "s3cr"));
	assert_null(strstr(c.notes, "s3cr"));
	assert_non_null(strstr(c.yaml, "maildir: \"/home/a/My Mail/\""));
	assert_non_null(strstr(c.yaml, "folders: [\"*\", \"!Junk\", "
				       "\"!Deleted Items\", \"INBOX/%\"]"));
	assert_non_null(strstr(c.yaml, "sync: [pull-new, pull-flags]"));
	assert_non_null(strstr(c.yaml, "create: near"));
	assert_non_null(strstr(c.yaml, "expunge: both"));
	assert_non_null(strstr(c.yaml, "remove: none"));
	assert_non_null(strstr(c.yaml, "auth_mechs: [\"login\", \"plain\"]"));
	assert_non_null(strstr(c.yaml, "ca_file: \"/etc/ssl/x.pem\""));
	assert_non_null(strstr(c.yaml, "pipeline_depth: 10"));
	assert_non_null(strstr(c.yaml, "timeout: 30"));
	assert_non_null(strstr(c.yaml, "max_messages: 100"));
	assert_non_null(strstr(c.yaml, "tls: implicit"));
	assert_non_null(strstr(c.yaml, "trash: \"Trash\""));
	assert_non_null(strstr(c.notes, "line 6: Pass"));
	assert_non_null(strstr(c.notes, "line 12: SSLVersions"));
	assert_non_null(strstr(c.notes, "line 16: PathDelimiter"));
	assert_non_null(strstr(c.notes, "line 17: UseNamespace"));
	assert_non_null(strstr(c.notes, "line 18: Trash"));
	assert_non_null(strstr(c.notes, "line 26: AltMap"));
	assert_null(strstr(c.notes, "line 27:")); /* ':' is ours too */
	assert_null(strstr(c.notes, "line 22:")); /* INBOX inside: fine */
	assert_non_null(strstr(c.notes, "line 37: MaxMessages"));
	assert_null(strstr(c.notes, "line 38:"));
	assert_non_null(strstr(c.notes, "line 39: SyncState"));
	assert_non_null(strstr(c.notes, "line 41: Group all"));
	conv_free(&c);
}

static const char modern_rc[] = "Create Both\n" /* 1: outside a section */
				"IMAPStore srv\n"
				"Host h.example\n"
				"User u\n"
				"PassCmd \"+pass show mail\"\n"
				"SSLType STARTTLS\n"
				"\n"
				"IMAPAccount tun\n"
				"Tunnel \"ssh host /usr/lib/dovecot/imap\"\n"
				"\n"
				"IMAPStore tun-store\n"
				"Account tun\n"
				"\n"
				"MaildirStore pp\n"
				"Path ~/Mail/\n"
				"Inbox ~/Inbox\n" /* 16: outside the maildir */
				"SubFolders Maildir++\n"
				"\n"
				"Channel a\n"
				"Far :srv:\n"
				"Near :pp:\n"
				"Sync All\n"
				"Patterns INBOX\n"
				"Patterns Archive*\n"
				"\n"
				"channel b\n"
				"far :tun-store:\n"
				"near :pp:\n"
				"Sync PullNew Push\n"
				"Expunge Near\n"
				"Group g a b\n";

static void
test_modern(void **state)
{
	const struct config_account *a;
	const struct config_channel *ch;
	struct conv c;

	(void)state;
	convert(modern_rc, &c);
	assert_int_equal(c.cfg->naccounts, 2);
	assert_int_equal(c.cfg->nchannels, 2);
	a = config_find_account(c.cfg, "srv");
	assert_non_null(a);
	assert_string_equal(a->password_command, "pass show mail");
	assert_int_equal(a->imap.tls, IMAP_TLS_STARTTLS);
	a = config_find_account(c.cfg, "tun");
	assert_non_null(a);
	assert_string_equal(a->imap.tunnel, "ssh host /usr/lib/dovecot/imap");
	ch = config_find_channel(c.cfg, "b");
	assert_non_null(ch);
	assert_ptr_equal(ch->far.account, a);
	assert_non_null(strstr(c.yaml, "layout: maildir++"));
	/* two Patterns lines: one list, in order */
	assert_non_null(strstr(c.yaml, "folders: [\"INBOX\", \"Archive*\"]"));
	assert_non_null(strstr(c.yaml, "sync: [pull, push]"));
	assert_non_null(strstr(c.yaml, "sync: [pull-new, push]"));
	assert_non_null(strstr(c.yaml, "expunge: near"));
	/* channel a names none of them: mbsync's defaults, spelled out */
	assert_non_null(strstr(c.yaml, "create: none"));
	assert_non_null(strstr(c.yaml, "expunge: none"));
	assert_non_null(strstr(c.yaml, "remove: none"));
	assert_non_null(strstr(c.notes, "line 1: Create outside a section"));
	assert_non_null(strstr(c.notes, "line 16: Inbox"));
	conv_free(&c);
}

/* Sync keyword combinations, one row each. */
static void
test_sync_table(void **state)
{
	static const struct {
		const char *sync, *want;
	} rows[] = {
		{ "All", "[pull, push]" },
		{ "Pull", "[pull]" },
		{ "Push", "[push]" },
		{ "Pull Push", "[pull, push]" },
		{ "New", "[pull-new, push-new]" },
		{ "Flags Delete", "[pull-flags, pull-delete, push-flags, "
				  "push-delete]" },
		{ "PullNew PushFlags", "[pull-new, push-flags]" },
		{ "Pull New Delete", "[pull-new, pull-delete]" },
		{ "Push ReNew", "[push-new]" },
		{ "pull flags", "[pull-flags]" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char rc[512], want[128];
		struct conv c;

		snprintf(rc, sizeof(rc),
			 "IMAPAccount x\nHost h\nUser u\n\nIMAPStore "
			 "xs\nAccount x\n\n"
			 "MaildirStore m\nPath /m/\nSubFolders Verbatim\n\n"
			 "Channel c\nFar :xs:\nNear :m:\nSync %s\n",
			 rows[i].sync);
		snprintf(want, sizeof(want), "sync: %s\n", rows[i].want);
		convert(rc, &c);
		/* no SSLType: mbsync's default, STARTTLS */
		assert_int_equal(c.cfg->accounts[0].imap.tls,
				 IMAP_TLS_STARTTLS);
		if (strstr(c.yaml, want) == NULL)
			fail_msg("row %zu (Sync %s): want %s in\n%s", i,
				 rows[i].sync, want, c.yaml);
		conv_free(&c);
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char *rc, *msg;
	} rows[] = {
		{ "IMAPAccount a\nHost \"unterminated\n",
		  "rc:2: unterminated" },
		{ "IMAPAccount\n", "rc:1: IMAPAccount needs exactly one name" },
		{ "Channel a b\n", "rc:1: Channel needs exactly one name" },
		{ "MaildirStore m\nPath /m/\n\nChannel c\nFar :nope:\n"
		  "Near :m:\n",
		  "line 5: Far :nope:: no such store" },
		{ "MaildirStore m\nPath /m/\n\nChannel c\nNear :m:\n",
		  "line 4: Channel c needs Far and Near" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mbsyncrc *rc = NULL;
		struct mf_err err = { 0 };
		int ret = mbsyncrc_parse("rc", rows[i].rc, strlen(rows[i].rc),
					 &rc, &err);

		if (ret == 0) {
			FILE *null = fopen("/dev/null", "w");

			ret = mbsyncrc_write_yaml(rc, null, null, &err);
			fclose(null);
			mbsyncrc_free(&rc);
		}
		if (ret == 0 || strstr(err.msg, rows[i].msg) == NULL)
			fail_msg("row %zu: want '%s', got %d '%s'", i,
				 rows[i].msg, ret, err.msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_modern),
		cmocka_unit_test(test_sync_table),
		cmocka_unit_test(test_errors),
	};

	setenv("HOME", "/home/tester", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
