/*
 * accounts: one IMAP server each, mapped to struct imap_store_cfg.
 *
 * The rules a reader of the file should be able to predict:
 * - host or tunnel, never both; the tunnel is a trusted pipe (ssh to the
 *   mail host running the IMAP server on stdio) and speaks PREAUTH, so it
 *   needs no TLS: tls defaults to none there and is allowed without
 *   allow_insecure.
 * - tls none over the network sends the password in clear text, so it needs
 *   allow_insecure: true, spelled out.
 * - at most one secret source: password_command, password_env, password
 *   (plain text, warned) or oauth_token_command.  None at all is fine: the
 *   password is asked for on the terminal when the server wants one.
 * - password_command_timeout bounds password_command or
 *   oauth_token_command, so it is an error without either.
 * - timeout bounds each wait for the server, command_timeout each command
 *   as a whole (default 10 x timeout; it grows with the bytes moved).
 * - retries and max_backoff are the account's, not the store's: the
 *   command tries a channel again (cmd/cmd-sync.c), the store does not.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "config-keys.h"
#include "config-yaml.h"

/* In the order of enum imap_tls_mode. */
static const char *const tls_names[] = {
	"implicit",
	"starttls",
	"none",
	NULL,
};

static const char *const mech_names[] = {
	"plain", "login", "xoauth2", "oauthbearer", "scram-sha-256", NULL,
};
#define MECH_OAUTH_MASK 0x0cu /* xoauth2, oauthbearer */

static const char *const disable_names[] = {
	"condstore", "qresync", "uidplus",     "move", "list_status",
	"objectid",  "notify",	"multiappend", NULL,
};

/* "sha256:" and 64 hex digits, colons allowed; stored lower case, bare. */
static int
parse_fingerprint(struct cy_ctx *c, const yaml_node_t *map,
		  struct imap_store_cfg *imap)
{
	const char *v, *s;
	char out[7 + 64 + 1] = "sha256:";
	size_t n = 0;
	int ret = cy_str(c, map, "fingerprint", &v);

	if (ret <= 0)
		return ret;
	s = v;
	if (strncmp(s, "sha256:", 7) == 0 || strncmp(s, "SHA256:", 7) == 0)
		s += 7;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n == 64)
			break;
		out[7 + n++] = (char)tolower((unsigned char)*s);
	}
	if (*s != '\0' || n != 64)
		return cy_fail_val(c, cy_lookup(c, map, "fingerprint", NULL),
				   "fingerprint",
				   "fingerprint must be "
				   "'sha256:' and 64 hex digits (colons "
				   "allowed)");
	out[7 + 64] = '\0';
	imap->fingerprint = mf_arena_strdup(c->cfg->arena, out);
	return 1;
}

/* ca_file and fingerprint check a certificate; without TLS there is none */
static int
parse_tls_files(struct cy_ctx *c, const yaml_node_t *map,
		struct imap_store_cfg *imap)
{
	static const char *const keys[] = { "ca_file", "fingerprint" };
	size_t i;

	if (cy_path(c, map, "ca_file", &imap->ca_file) < 0 ||
	    parse_fingerprint(c, map, imap) < 0)
		return -1;
	if (imap->tls != IMAP_TLS_NONE)
		return 0;
	for (i = 0; i < MF_N_ELEMENTS(keys); i++) {
		yaml_node_t *kn = NULL;

		if (cy_lookup(c, map, keys[i], &kn) != NULL)
			return cy_fail(c, kn, keys[i],
				       "%s has no effect "
				       "with tls none",
				       keys[i]);
	}
	return 0;
}

static int
parse_transport(struct cy_ctx *c, const yaml_node_t *name,
		const yaml_node_t *map, struct imap_store_cfg *imap)
{
	yaml_node_t *kn = NULL;
	unsigned tls = IMAP_TLS_IMPLICIT;
	uint64_t port = 0;
	int has_tls, has_port;

	if (cy_str(c, map, "host", &imap->host) < 0 ||
	    cy_str(c, map, "tunnel", &imap->tunnel) < 0)
		return -1;
	if (imap->host != NULL && imap->tunnel != NULL) {
		cy_lookup(c, map, "tunnel", &kn);
		return cy_fail(c, kn, "tunnel",
			       "host and tunnel are "
			       "exclusive: connect to host, or run tunnel");
	}
	if (imap->host == NULL && imap->tunnel == NULL)
		return cy_fail(c, name, NULL,
			       "account needs 'host' (or "
			       "'tunnel')");
	has_tls = cy_enum(c, map, "tls", tls_names, &tls);
	if (has_tls < 0 ||
	    cy_bool(c, map, "allow_insecure", &imap->allow_insecure) < 0)
		return -1;
	if (imap->tunnel != NULL && has_tls == 0)
		tls = IMAP_TLS_NONE;
	imap->tls = (enum imap_tls_mode)tls;
	if (imap->tunnel != NULL && tls == IMAP_TLS_NONE)
		imap->allow_insecure = true; /* the pipe is the transport */
	if (tls == IMAP_TLS_NONE && !imap->allow_insecure)
		return cy_fail_val(c, cy_lookup(c, map, "tls", NULL), "tls",
				   "tls none sends the password unencrypted; "
				   "add allow_insecure: true to permit it");
	has_port = cy_uint(c, map, "port", 1, 65535, &port);
	if (has_port < 0)
		return -1;
	if (has_port > 0 && imap->tunnel != NULL) {
		cy_lookup(c, map, "port", &kn);
		return cy_fail(c, kn, "port",
			       "port has no effect with a "
			       "tunnel");
	}
	if (imap->host != NULL)
		imap->port = has_port > 0	      ? (unsigned)port :
			     tls == IMAP_TLS_IMPLICIT ? 993 :
							143;
	return parse_tls_files(c, map, imap);
}

static bool
is_env_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      s[0] == '_'))
		return false;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* The bound on a secret command; meaningless without one. */
static int
parse_secret_timeout(struct cy_ctx *c, const yaml_node_t *map,
		     struct config_account *acct)
{
	const char *key = "password_command_timeout";
	yaml_node_t *kn = NULL;
	uint64_t secs = 0;
	int ret = cy_uint(c, map, key, 1, 3600, &secs);

	if (ret <= 0)
		return ret;
	if (acct->password_command == NULL &&
	    acct->oauth_token_command == NULL) {
		cy_lookup(c, map, key, &kn);
		return cy_fail(c, kn, key,
			       "password_command_timeout needs "
			       "password_command or oauth_token_command");
	}
	acct->secret_timeout_ms = (int)secs * 1000;
	return 0;
}

/* At most one of the secret sources; remember which. */
static int
parse_secret(struct cy_ctx *c, const yaml_node_t *map,
	     struct config_account *acct)
{
	const char *const keys[] = { "password_command", "password_env",
				     "password", "oauth_token_command" };
	const char **vals[] = { &acct->password_command, &acct->password_env,
				&acct->password, &acct->oauth_token_command };
	const char *first = NULL;
	yaml_node_t *kn = NULL;
	size_t i;
	int ret;

	for (i = 0; i < MF_N_ELEMENTS(keys); i++) {
		ret = cy_str(c, map, keys[i], vals[i]);
		if (ret < 0)
			return -1;
		if (ret == 0)
			continue;
		if (first != NULL) {
			cy_lookup(c, map, keys[i], &kn);
			return cy_fail(c, kn, keys[i],
				       "%s and %s are "
				       "exclusive; keep one",
				       first, keys[i]);
		}
		first = keys[i];
	}
	if (acct->password_env != NULL && !is_env_name(acct->password_env))
		return cy_fail_val(c, cy_lookup(c, map, "password_env", NULL),
				   "password_env",
				   "password_env must be the "
				   "name of a variable (no $)");
	if (acct->password != NULL) {
		cy_lookup(c, map, "password", &kn);
		cy_warn(c, kn, "password",
			"password in plain text; prefer "
			"password_command or password_env");
	}
	acct->imap.use_oauth = acct->oauth_token_command != NULL;
	return parse_secret_timeout(c, map, acct);
}

/* The list, lower-cased and checked, as "plain login" for the store. */
static int
parse_mechs(struct cy_ctx *c, const yaml_node_t *map,
	    struct imap_store_cfg *imap)
{
	const char **items;
	yaml_node_t *list;
	char joined[128] = "";
	size_t n, i, k;
	unsigned seen = 0, m;
	int ret = cy_list(c, map, "auth_mechs", &items, &n, &list);

	if (ret <= 0)
		return ret;
	if (n == 0)
		return cy_fail(c, list, "auth_mechs",
			       "auth_mechs is empty; "
			       "remove it to allow all");
	for (i = 0; i < n; i++) {
		char low[CY_MAX_SCALAR + 1];
		yaml_node_t *item = cy_list_item(c, list, i);
		const char *hint;

		for (k = 0; items[i][k] != '\0'; k++)
			low[k] = (char)tolower((unsigned char)items[i][k]);
		low[k] = '\0';
		for (m = 0; mech_names[m] != NULL; m++)
			if (strcmp(mech_names[m], low) == 0)
				break;
		if (mech_names[m] == NULL) {
			hint = cy_suggest(low, mech_names);
			return cy_fail_val(c, item, "auth_mechs",
					   "unknown "
					   "mechanism, expected plain, login, "
					   "xoauth2, oauthbearer or "
					   "scram-sha-256%s%s%s",
					   hint ? "; did you mean '" : "",
					   hint ? hint : "", hint ? "'?" : "");
		}
		if (seen & (1u << m))
			return cy_fail_val(c, item, "auth_mechs",
					   "listed "
					   "twice");
		seen |= 1u << m;
		snprintf(joined + strlen(joined),
			 sizeof(joined) - strlen(joined), "%s%s",
			 joined[0] != '\0' ? " " : "", mech_names[m]);
	}
	if (imap->use_oauth && (seen & MECH_OAUTH_MASK) == 0)
		return cy_fail(c, list, "auth_mechs",
			       "oauth_token_command "
			       "needs xoauth2 or oauthbearer in auth_mechs");
	if (!imap->use_oauth && (seen & ~MECH_OAUTH_MASK) == 0)
		return cy_fail(c, list, "auth_mechs",
			       "xoauth2 and "
			       "oauthbearer need oauth_token_command");
	imap->auth_mechs = mf_arena_strdup(c->cfg->arena, joined);
	return 1;
}

static int
parse_disable(struct cy_ctx *c, const yaml_node_t *map,
	      struct imap_store_cfg *imap)
{
	bool *flags[] = { &imap->no_condstore,	 &imap->no_qresync,
			  &imap->no_uidplus,	 &imap->no_move,
			  &imap->no_list_status, &imap->no_objectid,
			  &imap->no_notify,	 &imap->no_multiappend };
	const char **items;
	yaml_node_t *list;
	size_t n, i;
	unsigned m;
	int ret = cy_list(c, map, "disable", &items, &n, &list);

	if (ret <= 0)
		return ret;
	for (i = 0; i < n; i++) {
		const char *hint;

		for (m = 0; disable_names[m] != NULL; m++)
			if (strcmp(disable_names[m], items[i]) == 0)
				break;
		if (disable_names[m] != NULL) {
			*flags[m] = true;
			continue;
		}
		hint = cy_suggest(items[i], disable_names);
		return cy_fail_val(c, cy_list_item(c, list, i), "disable",
				   "unknown extension, expected condstore, "
				   "qresync, uidplus, move, list_status, "
				   "objectid, notify or multiappend"
				   "%s%s%s",
				   hint ? "; did you mean '" : "",
				   hint ? hint : "", hint ? "'?" : "");
	}
	return 0;
}

static int
parse_tuning(struct cy_ctx *c, const yaml_node_t *map,
	     struct imap_store_cfg *imap)
{
	uint64_t depth = 0, timeout = 0, command = 0;

	imap->compress = true;
	if (cy_uint(c, map, "pipeline_depth", 1, 1000, &depth) < 0 ||
	    cy_uint(c, map, "timeout", 1, 3600, &timeout) < 0 ||
	    cy_uint(c, map, "command_timeout", 1, 86400, &command) < 0 ||
	    cy_bool(c, map, "compress", &imap->compress) < 0)
		return -1;
	imap->pipeline_depth = (unsigned)depth;
	imap->timeout_ms = (int)timeout * 1000;
	imap->command_timeout_ms = (int)command * 1000;
	return parse_disable(c, map, imap);
}

/* How often a channel through this server is tried again in one run, and
 * the longest wait before it (cmd/cmd-sync.c says when). */
static int
parse_retry(struct cy_ctx *c, const yaml_node_t *map,
	    struct config_account *acct)
{
	uint64_t retries = CONFIG_RETRIES_DEFAULT;
	uint64_t wait = CONFIG_MAX_BACKOFF_DEFAULT;

	if (cy_uint(c, map, "retries", 0, 20, &retries) < 0 ||
	    cy_uint(c, map, "max_backoff", 1, 3600, &wait) < 0)
		return -1;
	acct->retries = (int)retries;
	acct->max_backoff_ms = (int)wait * 1000;
	return 0;
}

int
cfg_parse_account(struct cy_ctx *c, const yaml_node_t *name,
		  const yaml_node_t *map, struct config_account *acct)
{
	struct imap_store_cfg *imap = &acct->imap;

	if (cy_check_map(c, map, config_key_names(CONFIG_SEC_ACCOUNT),
			 "an account") < 0)
		return -1;
	imap->name = acct->name;
	if (parse_transport(c, name, map, imap) < 0 ||
	    cy_str(c, map, "user", &imap->user) < 0 ||
	    parse_secret(c, map, acct) < 0 || parse_mechs(c, map, imap) < 0 ||
	    parse_tuning(c, map, imap) < 0 || parse_retry(c, map, acct) < 0)
		return -1;
	if (imap->host != NULL && imap->user == NULL)
		return cy_fail(c, name, NULL, "account needs 'user'");
	return 0;
}
