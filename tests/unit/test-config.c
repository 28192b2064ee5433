/*
 * Unit tests for cmd/config.c: good files map every field and apply the
 * defaults; bad files fail with the right FILE:LINE:COL and message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

#define HOME "/home/tester"

static int
setup_env(void **state)
{
	(void)state;
	setenv("HOME", HOME, 1);
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_CONFIG_HOME");
	setenv("MF_TEST_DIR", "/srv/mail", 1);
	setenv("MF_TEST_EMPTY", "", 1);
	unsetenv("MF_TEST_UNSET");
	return 0;
}

static struct mf_config *
load_ok(const char *yaml)
{
	struct mf_config *cfg = NULL;
	struct mf_err err = { 0 };

	if (config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err) < 0)
		fail_msg("config rejected: %s", err.msg);
	return cfg;
}

/* ---- good configurations ---------------------------------------------- */

static const char full_yaml[] =
	"state_dir: ~/state\n"
	"accounts:\n"
	"  work:\n"
	"    host: imap.example.com\n"
	"    port: 10993\n"
	"    tls: implicit\n"
	"    user: alice@example.com\n"
	"    password_command: \"pass show mail/work\"\n"
	"    auth_mechs: [PLAIN, login]\n"
	"    ca_file: $MF_TEST_DIR/ca.pem\n"
	"    fingerprint: \"sha256:AB:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:"
	"67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\"\n"
	"    allow_insecure: false\n"
	"    pipeline_depth: 16\n"
	"    timeout: 30\n"
	"    command_timeout: 300\n"
	"    password_command_timeout: 20\n"
	"    compress: no\n"
	"    disable: [condstore, qresync, uidplus, move, list_status, "
	"objectid]\n"
	"stores:\n"
	"  laptop:\n"
	"    maildir: ${MF_TEST_DIR}/work\n"
	"    layout: maildir++\n"
	"    trash: Trash\n"
	"    fsync: false\n"
	"channels:\n"
	"  work:\n"
	"    far: work\n"
	"    near: laptop\n"
	"    folders: [\"*\", \"!Junk\"]\n"
	"    sync: [pull-new, pull-flags, push-delete]\n"
	"    expunge: far\n"
	"    create: near\n"
	"    remove: both\n"
	"    max_size: 10M\n"
	"    max_age: 2w\n"
	"    max_messages: 500\n"
	"    max_delete_percent: 40\n";

static void
test_full(void **state)
{
	struct mf_config *cfg = load_ok(full_yaml);
	const struct config_account *a = config_find_account(cfg, "work");
	const struct config_channel *ch = config_find_channel(cfg, "work");
	const struct config_maildir *md = config_find_maildir(cfg, "laptop");

	(void)state;
	assert_string_equal(cfg->state_dir, HOME "/state");
	assert_int_equal(cfg->naccounts, 1);
	assert_non_null(a);
	assert_int_equal(a->pos.line, 3);
	assert_int_equal(a->pos.col, 3);
	assert_string_equal(a->imap.name, "work");
	assert_string_equal(a->imap.host, "imap.example.com");
	assert_int_equal(a->imap.port, 10993);
	assert_int_equal(a->imap.tls, IMAP_TLS_IMPLICIT);
	assert_string_equal(a->imap.user, "alice@example.com");
	assert_string_equal(a->password_command, "pass show mail/work");
	assert_null(a->password_env);
	assert_null(a->password);
	assert_false(a->imap.use_oauth);
	assert_string_equal(a->imap.auth_mechs, "plain login");
	assert_string_equal(a->imap.ca_file, "/srv/mail/ca.pem");
	assert_string_equal(a->imap.fingerprint,
			    "sha256:abcdef0123456789abcd"
			    "ef0123456789abcdef0123456789abcdef0123456789");
	assert_false(a->imap.allow_insecure);
	assert_int_equal(a->imap.pipeline_depth, 16);
	assert_int_equal(a->imap.timeout_ms, 30000);
	assert_int_equal(a->imap.command_timeout_ms, 300000);
	assert_int_equal(a->secret_timeout_ms, 20000);
	assert_false(a->imap.compress);
	assert_true(a->imap.no_condstore && a->imap.no_qresync &&
		    a->imap.no_uidplus && a->imap.no_move &&
		    a->imap.no_list_status && a->imap.no_objectid);
	assert_null(a->imap.get_secret);

	assert_non_null(md);
	assert_string_equal(md->mdir.name, "laptop");
	assert_string_equal(md->mdir.path, "/srv/mail/work");
	assert_int_equal(md->mdir.layout, MDIR_LAYOUT_MAILDIRPP);
	assert_string_equal(md->mdir.trash, "Trash");
	assert_true(md->mdir.no_fsync);

	assert_non_null(ch);
	assert_int_equal(ch->far.kind, CONFIG_SIDE_ACCOUNT);
	assert_ptr_equal(ch->far.account, a);
	assert_int_equal(ch->near.kind, CONFIG_SIDE_MAILDIR);
	assert_ptr_equal(ch->near.maildir, md);
	assert_int_equal(ch->policy.nfolders, 2);
	assert_string_equal(ch->policy.folders[0], "*");
	assert_string_equal(ch->policy.folders[1], "!Junk");
	assert_int_equal(ch->policy.pull, SYNC_NEW | SYNC_FLAGS);
	assert_int_equal(ch->policy.push, SYNC_DELETE);
	assert_int_equal(ch->policy.expunge, SYNC_SIDE_FAR);
	assert_int_equal(ch->policy.create, SYNC_SIDE_NEAR);
	assert_int_equal(ch->policy.remove, SYNC_SIDE_BOTH);
	assert_int_equal(ch->policy.max_size, 10 * 1024 * 1024);
	assert_int_equal(ch->policy.max_age_days, 14);
	assert_int_equal(ch->policy.max_messages, 500);
	assert_int_equal(ch->policy.max_delete_percent, 40);
	assert_int_equal(cfg->nwarnings, 0);
	config_free(&cfg);
	assert_null(cfg);
}

static const char minimal_yaml[] = "accounts:\n"
				   "  a:\n"
				   "    host: h\n"
				   "    user: u\n"
				   "stores:\n"
				   "  s:\n"
				   "    maildir: ~/Mail\n"
				   "channels:\n"
				   "  c:\n"
				   "    far: a\n"
				   "    near: s\n";

static void
test_defaults(void **state)
{
	struct mf_config *cfg = load_ok(minimal_yaml);
	const struct config_account *a = &cfg->accounts[0];
	const struct config_channel *ch = &cfg->channels[0];

	(void)state;
	assert_string_equal(cfg->state_dir, HOME "/.local/state/mailferry");
	assert_int_equal(a->imap.port, 993);
	assert_int_equal(a->imap.tls, IMAP_TLS_IMPLICIT);
	assert_true(a->imap.compress);
	assert_int_equal(a->imap.pipeline_depth, 0);
	assert_int_equal(a->imap.timeout_ms, 0);
	assert_int_equal(a->imap.command_timeout_ms, 0);
	assert_int_equal(a->secret_timeout_ms, 0);
	assert_null(a->imap.auth_mechs);
	assert_null(a->imap.ca_file);
	assert_null(a->imap.tunnel);
	assert_false(a->imap.no_condstore);
	assert_string_equal(cfg->maildirs[0].mdir.path, HOME "/Mail");
	assert_int_equal(cfg->maildirs[0].mdir.layout, MDIR_LAYOUT_FS);
	assert_false(cfg->maildirs[0].mdir.no_fsync);
	assert_null(cfg->maildirs[0].mdir.trash);
	assert_int_equal(ch->policy.nfolders, 1);
	assert_string_equal(ch->policy.folders[0], "*");
	assert_int_equal(ch->policy.pull, SYNC_ALL);
	assert_int_equal(ch->policy.push, SYNC_ALL);
	assert_int_equal(ch->policy.expunge, SYNC_SIDE_BOTH);
	assert_int_equal(ch->policy.create, SYNC_SIDE_BOTH);
	assert_int_equal(ch->policy.remove, 0);
	assert_int_equal(ch->policy.max_size, 0);
	assert_int_equal(ch->policy.max_age_days, 0);
	assert_int_equal(ch->policy.max_messages, 0);
	assert_int_equal(ch->policy.max_delete_percent, 50);
	config_free(&cfg);

	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	cfg = load_ok(minimal_yaml);
	assert_string_equal(cfg->state_dir, "/xdg/state/mailferry");
	config_free(&cfg);
	/* the XDG spec says to ignore a relative value */
	setenv("XDG_STATE_HOME", "relative", 1);
	cfg = load_ok(minimal_yaml);
	assert_string_equal(cfg->state_dir, HOME "/.local/state/mailferry");
	config_free(&cfg);
	unsetenv("XDG_STATE_HOME");
}

/* Rows of account snippets and what they must become. */
static void
test_accounts(void **state)
{
	static const struct {
		const char *yaml;
		unsigned port;
		enum imap_tls_mode tls;
		bool insecure, oauth;
		const char *auth_mechs;
	} rows[] = {
		{ "host: h\n    user: u\n    tls: starttls\n", 143,
		  IMAP_TLS_STARTTLS, false, false, NULL },
		{ "host: h\n    user: u\n    tls: none\n    allow_insecure: "
		  "yes\n",
		  143, IMAP_TLS_NONE, true, false, NULL },
		/* a tunnel is the transport: no TLS, no allow_insecure */
		{ "tunnel: ssh h imapd\n", 0, IMAP_TLS_NONE, true, false,
		  NULL },
		{ "tunnel: ssh h imapd\n    tls: starttls\n", 0,
		  IMAP_TLS_STARTTLS, false, false, NULL },
		{ "host: h\n    user: u\n    oauth_token_command: tok\n", 993,
		  IMAP_TLS_IMPLICIT, false, true, NULL },
		{ "host: h\n    user: u\n    oauth_token_command: tok\n    "
		  "auth_mechs: oauthbearer\n",
		  993, IMAP_TLS_IMPLICIT, false, true, "oauthbearer" },
		{ "host: \"::1\"\n    user: u\n    port: 1\n", 1,
		  IMAP_TLS_IMPLICIT, false, false, NULL },
		{ "host: h\n    user: u\n    port: '65535'\n", 65535,
		  IMAP_TLS_IMPLICIT, false, false, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char yaml[512];
		struct mf_config *cfg;
		const struct imap_store_cfg *imap;

		snprintf(yaml, sizeof(yaml), "accounts:\n  a:\n    %s",
			 rows[i].yaml);
		cfg = load_ok(yaml);
		imap = &cfg->accounts[0].imap;
		if (imap->port != rows[i].port || imap->tls != rows[i].tls ||
		    imap->allow_insecure != rows[i].insecure ||
		    imap->use_oauth != rows[i].oauth ||
		    (rows[i].auth_mechs == NULL) !=
			    (imap->auth_mechs == NULL) ||
		    (rows[i].auth_mechs != NULL &&
		     strcmp(rows[i].auth_mechs, imap->auth_mechs) != 0))
			fail_msg("row %zu: port %u tls %d insecure %d oauth %d",
				 i, imap->port, imap->tls, imap->allow_insecure,
				 imap->use_oauth);
		config_free(&cfg);
	}
}

static void
test_password_sources(void **state)
{
	struct mf_config *cfg = load_ok("accounts:\n"
					"  a:\n"
					"    host: h\n"
					"    user: u\n"
					"    password: hunter2\n"
					"  b:\n"
					"    host: h\n"
					"    user: u\n"
					"    password_env: MAIL_PW\n"
					"  c:\n"
					"    host: h\n"
					"    user: u\n");

	(void)state;
	assert_string_equal(cfg->accounts[0].password, "hunter2");
	assert_int_equal(cfg->nwarnings, 1);
	assert_non_null(strstr(cfg->warnings[0], "t.yaml:5:5: password in "
						 "plain text"));
	assert_null(strstr(cfg->warnings[0], "hunter2"));
	assert_string_equal(cfg->accounts[1].password_env, "MAIL_PW");
	/* no source at all is fine: the password is asked for */
	assert_null(cfg->accounts[2].password);
	assert_null(cfg->accounts[2].password_command);
	assert_null(cfg->accounts[2].password_env);
	config_free(&cfg);
}

static void
test_paths(void **state)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "~", HOME },
		{ "~/Mail", HOME "/Mail" },
		{ "$MF_TEST_DIR", "/srv/mail" },
		{ "$MF_TEST_DIR/x", "/srv/mail/x" },
		{ "${MF_TEST_DIR}x", "/srv/mailx" },
		{ "${MF_TEST_UNSET:-/default}/x", "/default/x" },
		{ "${MF_TEST_EMPTY:-/default}", "/default" },
		{ "${MF_TEST_DIR:-/default}", "/srv/mail" },
		{ "/a$/b$", "/a$/b$" },
		{ "/a/~/b", "/a/~/b" },
		{ "$MF_TEST_EMPTY/x", "/x" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char yaml[256];
		struct mf_config *cfg;

		snprintf(yaml, sizeof(yaml),
			 "state_dir: \"%s\"\naccounts:\n"
			 "  a: {host: h, user: u}\n",
			 rows[i].in);
		cfg = load_ok(yaml);
		if (strcmp(cfg->state_dir, rows[i].out) != 0)
			fail_msg("row %zu: '%s' -> '%s', expected '%s'", i,
				 rows[i].in, cfg->state_dir, rows[i].out);
		config_free(&cfg);
	}
}

static void
test_yaml_features(void **state)
{
	/* an alias shares an account's settings; a string is a list of one */
	struct mf_config *cfg = load_ok("accounts:\n"
					"  a: &acct\n"
					"    host: h\n"
					"    user: u\n"
					"  b: *acct\n"
					"  c:\n"
					"    host: other\n"
					"    user: u\n"
					"channels:\n"
					"  mig:\n"
					"    far: a\n"
					"    near: c\n"
					"    folders: INBOX\n"
					"    sync: pull\n"
					"    expunge: none\n");

	(void)state;
	assert_int_equal(cfg->naccounts, 3);
	assert_string_equal(cfg->accounts[1].name, "b");
	assert_string_equal(cfg->accounts[1].imap.host, "h");
	assert_int_equal(cfg->channels[0].near.kind, CONFIG_SIDE_ACCOUNT);
	assert_string_equal(cfg->channels[0].near.account->name, "c");
	assert_int_equal(cfg->channels[0].policy.nfolders, 1);
	assert_string_equal(cfg->channels[0].policy.folders[0], "INBOX");
	assert_int_equal(cfg->channels[0].policy.pull, SYNC_ALL);
	assert_int_equal(cfg->channels[0].policy.push, 0);
	assert_int_equal(cfg->channels[0].policy.expunge, 0);
	config_free(&cfg);
}

/* folder_map: and migrate: true */
static void
test_folder_map_migrate(void **state)
{
	static const char yaml[] =
		"accounts:\n  a: {host: h, user: u}\n  b: {host: h2, user: u}\n"
		"channels:\n  m:\n    far: a\n    near: b\n"
		"    migrate: true\n    folders: [\"*\", \"!Junk\"]\n"
		"    folder_map:\n      \"Lists/v1.2\": \"Lists/v1_2\"\n"
		"      Old: \"New/Name\"\n"
		"  s:\n    far: a\n    near: b\n    migrate: false\n";
	struct mf_config *cfg = NULL;
	struct mf_err err = { 0 };
	const struct config_channel *m, *s;

	(void)state;
	if (config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	m = config_find_channel(cfg, "m");
	s = config_find_channel(cfg, "s");
	assert_non_null(m);
	assert_non_null(s);
	assert_true(m->migrate);
	assert_true(m->far_readonly);
	assert_int_equal(m->policy.pull, SYNC_NEW | SYNC_FLAGS);
	assert_int_equal(m->policy.push, 0);
	assert_int_equal(m->policy.expunge, 0);
	assert_int_equal(m->policy.create, SYNC_SIDE_NEAR);
	assert_int_equal(m->policy.remove, 0);
	assert_int_equal(m->policy.nfolders, 2);
	assert_int_equal(m->policy.nfolder_map, 2);
	assert_string_equal(m->policy.folder_map[0].far, "Lists/v1.2");
	assert_string_equal(m->policy.folder_map[0].near, "Lists/v1_2");
	assert_string_equal(m->policy.folder_map[1].far, "Old");
	assert_string_equal(m->policy.folder_map[1].near, "New/Name");
	/* migrate: false is an ordinary two-way channel */
	assert_false(s->migrate);
	assert_false(s->far_readonly);
	assert_int_equal(s->policy.push, SYNC_ALL);
	assert_int_equal(s->policy.nfolder_map, 0);
	config_free(&cfg);
}

/* ---- bad configurations ----------------------------------------------- */

#define ACCT "accounts:\n  a:\n    host: h\n    user: u\n"
#define STORE "stores:\n  s:\n    maildir: /m\n"
#define CHAN "channels:\n  c:\n    far: a\n    near: s\n"

struct bad_row {
	const char *yaml;
	unsigned line, col; /* 0: message without a position */
	const char *substr;
};

static const struct bad_row bad_rows[] = {
	/* unknown keys, with and without a suggestion */
	{ "accounts:\n  a:\n    hots: h\n", 3, 5,
	  "unknown key 'hots', did you mean 'host'? (accounts.a.hots)" },
	{ ACCT "    pasword: x\n", 5, 5, "did you mean 'password'?" },
	{ ACCT "    frobnicate: x\n", 5, 5, "unknown key 'frobnicate' (" },
	{ "acounts:\n  a: {}\n", 1, 1, "did you mean 'accounts'?" },
	{ ACCT STORE CHAN "    folder: [x]\n", 12, 5,
	  "did you mean 'folders'?" },
	{ ACCT STORE "    layuot: fs\n", 8, 5, "did you mean 'layout'?" },
	/* duplicates */
	{ ACCT "    host: h2\n", 5, 5,
	  "duplicate key 'host' (first at line 3)" },
	{ "accounts:\n  a: {host: h, user: u}\n  a: {host: h, user: u}\n", 3, 3,
	  "duplicate key 'a'" },
	/* wrong types */
	{ "accounts:\n  a:\n    host: [h1, h2]\n", 3, 11,
	  "expected a string, found a list (accounts.a.host)" },
	{ "accounts:\n  a:\n    host: {x: y}\n", 3, 11,
	  "expected a string, found a mapping" },
	{ ACCT STORE CHAN "    folders: {a: b}\n", 12, 14,
	  "expected a list, found a mapping" },
	{ ACCT STORE CHAN "    folders: [[a]]\n", 12, 15,
	  "expected a string, found a list" },
	{ "accounts: [a]\n", 1, 11, "accounts must be a mapping" },
	{ "accounts:\n  a: 5\n", 2, 6, "an account must be a mapping" },
	{ ACCT "    compress: maybe\n", 5, 15, "expected true or false" },
	{ ACCT "    host2:\n", 5, 5, "unknown key 'host2'" },
	{ "accounts:\n  a:\n    host:\n    user: u\n", 3, 5,
	  "missing value (accounts.a.host)" },
	{ "accounts:\n  a:\n    host: \"\"\n    user: u\n", 3, 11,
	  "empty value" },
	/* enumerations */
	{ ACCT "    tls: startls\n", 5, 10,
	  "tls must be implicit, starttls or none; did you mean "
	  "'starttls'? (accounts.a.tls: startls)" },
	{ ACCT "    tls: ssl\n", 5, 10,
	  "tls must be implicit, starttls or "
	  "none (accounts.a.tls: ssl)" },
	{ ACCT STORE "    layout: mdir\n", 8, 13,
	  "layout must be fs or "
	  "maildir++" },
	{ ACCT STORE CHAN "    expunge: al\n", 12, 14, "expunge must be" },
	{ ACCT STORE CHAN "    sync: [pull, psh]\n", 12, 18,
	  "did you mean 'push'?" },
	{ ACCT STORE CHAN "    sync: []\n", 12, 11, "sync is empty" },
	{ ACCT "    auth_mechs: [plian]\n", 5, 18, "did you mean 'plain'?" },
	{ ACCT "    auth_mechs: [plain, plain]\n", 5, 25, "listed twice" },
	{ ACCT "    auth_mechs: [xoauth2]\n", 5, 17,
	  "xoauth2 and oauthbearer need oauth_token_command" },
	{ ACCT "    disable: [idle]\n", 5, 15, "unknown extension" },
	/* transport and security */
	{ ACCT "    tls: none\n", 5, 10,
	  "tls none sends the password "
	  "unencrypted; add allow_insecure: true" },
	{ ACCT "    tunnel: ssh x\n", 5, 5, "host and tunnel are exclusive" },
	{ "accounts:\n  a:\n    user: u\n", 2, 3,
	  "account needs 'host' (or 'tunnel')" },
	{ "accounts:\n  a:\n    host: h\n", 2, 3, "account needs 'user'" },
	{ "accounts:\n  a:\n    tunnel: t\n    port: 143\n", 4, 5,
	  "port has no effect with a tunnel" },
	{ ACCT "    tls: none\n    allow_insecure: true\n    ca_file: /c\n", 7,
	  5, "ca_file has no effect with tls none" },
	{ ACCT "    fingerprint: sha256:abcd\n", 5, 18,
	  "fingerprint must be "
	  "'sha256:' and 64 hex digits" },
	{ ACCT "    password_command: a\n    password_env: B\n", 6, 5,
	  "password_command and password_env are exclusive" },
	{ ACCT "    password_env: $PW\n", 5, 19,
	  "password_env must be the "
	  "name of a variable" },
	/* numbers */
	{ ACCT "    port: 0\n", 5, 11,
	  "must be a number from 1 to 65535 (accounts.a.port: 0)" },
	{ ACCT "    port: 70000\n", 5, 11, "from 1 to 65535" },
	{ ACCT "    port: -993\n", 5, 11, "from 1 to 65535" },
	{ ACCT "    port: 184467440737095516160\n", 5, 11, "from 1 to 65535" },
	{ ACCT "    port: 0x3e1\n", 5, 11, "expected a number" },
	{ ACCT "    port: 9 93\n", 5, 11, "expected a number" },
	{ ACCT "    timeout: 0\n", 5, 14, "from 1 to 3600" },
	{ ACCT "    command_timeout: 0\n", 5, 22, "from 1 to 86400" },
	{ ACCT "    password_command_timeout: 5\n", 5, 5,
	  "password_command_timeout needs password_command or "
	  "oauth_token_command" },
	{ ACCT STORE CHAN "    max_size: 10X\n", 12, 15,
	  "bad max_size unit, use K, M or G" },
	{ ACCT STORE CHAN "    max_size: 99999999999G\n", 12, 15,
	  "max_size too large" },
	{ ACCT STORE CHAN "    max_size: M\n", 12, 15, "expected a number" },
	{ ACCT STORE CHAN "    max_age: 90\n", 12, 14, "max_age needs a unit" },
	{ ACCT STORE CHAN "    max_age: 9y\n", 12, 14, "bad max_age unit" },
	{ ACCT STORE CHAN "    max_delete_percent: 101\n", 12, 25,
	  "from 0 to 100" },
	/* channel sides and names */
	{ ACCT STORE "channels:\n  c:\n    far: a\n    near: sx\n", 11, 11,
	  "no account or store named 'sx'; did you mean 's'?" },
	{ ACCT STORE "channels:\n  c:\n    far: s\n    near: a\n", 10, 10,
	  "far must be an account (IMAP); 's' is a maildir store" },
	{ ACCT STORE "channels:\n  c:\n    far: zzz\n    near: s\n", 10, 10,
	  "no account named 'zzz' (channels.c.far: zzz)" },
	{ ACCT STORE "channels:\n  c:\n    near: s\n", 9, 3,
	  "channel needs 'far'" },
	{ ACCT STORE "channels:\n  c:\n    far: a\n    near: a\n", 11, 11,
	  "far and near are the same account" },
	{ ACCT "stores:\n  a:\n    maildir: /m\n", 6, 3,
	  "'a' is already the name of an account" },
	{ ACCT STORE "channels:\n  \"a/b\":\n    far: a\n    near: s\n", 9, 3,
	  "bad name 'a/b'" },
	{ ACCT STORE CHAN "    folders: [\"!\"]\n", 12, 15,
	  "'!' needs a pattern" },
	/* folder_map and migrate */
	{ ACCT STORE CHAN "    folder_map:\n      A: X\n      B: X\n", 14, 10,
	  "near folder 'X' twice (first for 'A'): two folders cannot go "
	  "into one" },
	{ ACCT STORE CHAN "    folder_map:\n      A: \"\"\n", 13, 10,
	  "'A' needs a near folder name, not an empty one" },
	{ ACCT STORE CHAN "    folder_map:\n      A: [x]\n", 13, 10,
	  "'A' needs a near folder name, not a list" },
	{ ACCT STORE CHAN "    folder_map:\n      \"/A\": B\n", 13, 7,
	  "far folder name with an empty level" },
	{ ACCT STORE CHAN "    folder_map:\n      A: \"B//C\"\n", 13, 10,
	  "near folder name with an empty level" },
	{ ACCT STORE CHAN "    folder_map: [a]\n", 12, 17,
	  "folder_map must be a mapping" },
	{ ACCT STORE CHAN "    migrate: true\n    sync: [pull]\n", 13, 5,
	  "'sync' cannot go with 'migrate: true'" },
	{ ACCT STORE CHAN "    expunge: none\n    migrate: true\n", 12, 5,
	  "'expunge' cannot go with 'migrate: true'" },
	{ ACCT STORE CHAN "    migrate: yes please\n", 12, 14, "" },
	{ ACCT "stores:\n  s:\n    layout: fs\n", 6, 3,
	  "store needs 'maildir'" },
	/* paths */
	{ ACCT STORE "    trash: T\nstate_dir: $MF_TEST_UNSET/x\n", 9, 12,
	  "environment variable MF_TEST_UNSET is not set (state_dir: "
	  "$MF_TEST_UNSET/x)" },
	{ ACCT "stores:\n  s:\n    maildir: ${MF_TEST_UNSET}\n", 7, 14,
	  "environment variable MF_TEST_UNSET is not set" },
	{ ACCT "stores:\n  s:\n    maildir: ${MF_TEST_DIR\n", 7, 14,
	  "bad ${...}" },
	{ ACCT "stores:\n  s:\n    maildir: ~root/Mail\n", 7, 14,
	  "~user is not supported" },
	{ ACCT "stores:\n  s:\n    maildir: Mail\n", 7, 14,
	  "path must be absolute" },
	/* YAML itself */
	{ "accounts: [a, b\n", 2, 1, "did not find expected ',' or ']'" },
	{ "accounts:\n  a:\n\thost: h\n", 3, 1,
	  "YAML does not allow tabs here" },
	{ "accounts:\n  a: *nothing\n", 2, 6, "found undefined alias" },
	{ "accounts:\n  a:\n    host: \xff\n", 3, 11,
	  "invalid leading UTF-8 octet" },
	{ "accounts:\n  a:\n    host: a\x01\n", 3, 12,
	  "control characters are not allowed" },
	{ "accounts:\n  a:\n    host: \"a\\0b\"\n", 3, 11,
	  "NUL character in value" },
	{ "", 1, 1, "the configuration is empty" },
	{ "# nothing but a comment\n\n", 1, 1, "the configuration is empty" },
	{ "- accounts\n", 1, 1,
	  "the configuration must be a mapping with "
	  "accounts:, stores: and channels:, not a list" },
	{ "just text\n", 1, 1, "must be a mapping" },
	{ ACCT "---\n" ACCT, 6, 1, "only one YAML document" },
	{ "accounts:\n  a:\n    ? [k]\n    : v\n", 3, 7,
	  "a key must be a plain string, not a list" },
	{ "accounts:\n  a:\n    \"\": v\n", 3, 5, "empty key" },
	{ "accounts:\n  a:\n    <<: {host: h}\n", 3, 5,
	  "merge keys (<<) are not supported" },
	{ "state_dir: /s\n", 1, 1, "no accounts defined" },
	{ "accounts:\n  a:\n", 2, 3, "'a' has no settings" },
	/* an alias bomb: nine levels of ten references each */
	{ ACCT STORE CHAN "    folders: [&l0 [a,a,a,a,a,a,a,a,a,a],"
			  " &l1 [*l0,*l0,*l0,*l0,*l0,*l0,*l0,*l0,*l0,*l0],"
			  " &l2 [*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1],"
			  " &l3 [*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2],"
			  " &l4 [*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3],"
			  " &l5 [*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4],"
			  " &l6 [*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5],"
			  " &l7 [*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6],"
			  " &l8 [*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7]]\n",
	  12, 15, "expected a string, found a list" },
	/* a list that contains itself */
	{ ACCT "    disable: &r [*r]\n", 5, 14,
	  "expected a string, found a list" },
	{ ACCT "    user: &u u2\n", 5, 5, "duplicate key 'user'" },
};

static void
check_bad(size_t i, const struct bad_row *row, const char *yaml, size_t len)
{
	struct mf_config *cfg = (struct mf_config *)1;
	struct mf_err err = { 0 };
	char pos[64];

	if (config_load_string("t.yaml", yaml, len, &cfg, &err) != -1)
		fail_msg("row %zu: accepted", i);
	if (cfg != NULL)
		fail_msg("row %zu: cfg not NULL after failure", i);
	if (err.cls != MF_E_CONFIG)
		fail_msg("row %zu: class %d", i, err.cls);
	snprintf(pos, sizeof(pos), "t.yaml:%u:%u: ", row->line, row->col);
	if (strncmp(err.msg, pos, strlen(pos)) != 0 ||
	    strstr(err.msg, row->substr) == NULL)
		fail_msg("row %zu: got \"%s\", expected \"%s...%s\"", i,
			 err.msg, pos, row->substr);
}

static void
test_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(bad_rows); i++)
		check_bad(i, &bad_rows[i], bad_rows[i].yaml,
			  strlen(bad_rows[i].yaml));
}

/* Input that libyaml handles in quadratic time is refused up front. */
static void
test_limits(void **state)
{
	static const struct bad_row rows[] = {
		{ NULL, 1, 35, "nested deeper than 32 levels" },
		{ NULL, 1, 0, "more than 1000 anchors" },
		{ NULL, 0, 0, "larger than 1048576 bytes" },
	};
	static char big[2u * 1024 * 1024];
	size_t len = sizeof(big), i, o;
	struct mf_config *cfg = NULL;
	struct mf_err err = { 0 };

	(void)state;
	/* "a: [[[[..." */
	memcpy(big, "a: ", 3);
	memset(big + 3, '[', 100000);
	check_bad(0, &rows[0], big, 100003);
	/* "x: [&a0 1,&a1 1,..." */
	o = (size_t)sprintf(big, "x: [");
	for (i = 0; i < 2000; i++)
		o += (size_t)sprintf(big + o, "&a%zu 1,", i);
	assert_int_equal(config_load_string("t.yaml", big, o, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, rows[1].substr));
	memset(big, '#', len);
	assert_int_equal(config_load_string("t.yaml", big, len, &cfg, &err),
			 -1);
	assert_non_null(strstr(err.msg, rows[2].substr));
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/mf-test-config-XXXXXX", path[128];
	struct mf_config *cfg = NULL;
	struct mf_err err = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	assert_int_equal(config_load(path, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "missing.yaml: no such file"));
	assert_int_equal(config_load(dir, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(ACCT "    password: pw\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(config_load(path, &cfg, &err), 0);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->nwarnings, 2);
	assert_non_null(strstr(cfg->warnings[1], "readable by others"));
	config_free(&cfg);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(config_load(path, &cfg, &err), 0);
	assert_int_equal(cfg->nwarnings, 1);
	config_free(&cfg);
	config_free(&cfg); /* twice is harmless */
	unlink(path);
	rmdir(dir);
}

static void
test_default_path(void **state)
{
	char *p;

	(void)state;
	p = config_default_path();
	assert_string_equal(p, HOME "/.config/mailferry/config.yaml");
	free(p);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	p = config_default_path();
	assert_string_equal(p, "/xdg/mailferry/config.yaml");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_password_sources),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_yaml_features),
		cmocka_unit_test(test_folder_map_migrate),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_default_path),
	};

	return cmocka_run_group_tests(tests, setup_env, NULL);
}
