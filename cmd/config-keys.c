/*
 * The table of configuration keys (see config-keys.h).  Adding a key to
 * the parser is one entry here plus its parsing; cy_check_map() refuses a
 * key that is not here, so a key parsed but not listed fails at once.
 */
#include "config-keys.h"

#include <stdbool.h>
#include <string.h>

#include "base/compat.h"

/* More keys than any section has; config_key_names() checks it. */
#define CONFIG_MAX_SECTION_KEYS 64

const struct config_key config_keys[] = {
	{ CONFIG_SEC_TOP, "state_dir", "path", "$XDG_STATE_HOME/mailferry",
	  "where the state databases (CHANNEL.db) live" },
	{ CONFIG_SEC_TOP, "accounts", "map", "none", "IMAP accounts by name" },
	{ CONFIG_SEC_TOP, "stores", "map", "none", "Maildir stores by name" },
	{ CONFIG_SEC_TOP, "channels", "map", "none",
	  "channels by name: a far account and a near store or account" },

	{ CONFIG_SEC_ACCOUNT, "host", "string", "none (or tunnel)",
	  "the IMAP server's host name" },
	{ CONFIG_SEC_ACCOUNT, "port", "1-65535", "993 implicit, 143 otherwise",
	  "the server's port" },
	{ CONFIG_SEC_ACCOUNT, "tls", "implicit|starttls|none",
	  "implicit (none with tunnel)",
	  "how the connection is encrypted; none needs allow_insecure" },
	{ CONFIG_SEC_ACCOUNT, "user", "string", "none (needed with host)",
	  "the login name" },
	{ CONFIG_SEC_ACCOUNT, "password_command", "command", "none",
	  "prints the password on its first line" },
	{ CONFIG_SEC_ACCOUNT, "password_env", "variable name", "none",
	  "environment variable holding the password" },
	{ CONFIG_SEC_ACCOUNT, "password", "string", "none",
	  "the password in plain text (warned); none of these: prompt" },
	{ CONFIG_SEC_ACCOUNT, "oauth_token_command", "command", "none",
	  "prints an OAuth2 access token (XOAUTH2 / OAUTHBEARER)" },
	{ CONFIG_SEC_ACCOUNT, "auth_mechs", "list", "all the server offers",
	  "allowed: plain login xoauth2 oauthbearer scram-sha-256" },
	{ CONFIG_SEC_ACCOUNT, "ca_file", "path", "the system store",
	  "CA certificates to verify the server with" },
	{ CONFIG_SEC_ACCOUNT, "fingerprint", "sha256:HEX", "none",
	  "pin the server certificate" },
	{ CONFIG_SEC_ACCOUNT, "tunnel", "command", "none (or host)",
	  "speak IMAP over this command's stdio (e.g. ssh host imap)" },
	{ CONFIG_SEC_ACCOUNT, "allow_insecure", "bool", "false",
	  "allow tls: none over the network" },
	{ CONFIG_SEC_ACCOUNT, "pipeline_depth", "1-1000", "64",
	  "IMAP commands in flight at once" },
	{ CONFIG_SEC_ACCOUNT, "timeout", "seconds 1-3600", "60",
	  "connecting and each wait for the server" },
	{ CONFIG_SEC_ACCOUNT, "command_timeout", "seconds 1-86400",
	  "10 x timeout", "each IMAP command as a whole" },
	{ CONFIG_SEC_ACCOUNT, "password_command_timeout", "seconds 1-3600",
	  "60", "password_command / oauth_token_command is killed after" },
	{ CONFIG_SEC_ACCOUNT, "retries", "0-20", "3",
	  "tries again after a throttled or dropped connection" },
	{ CONFIG_SEC_ACCOUNT, "max_backoff", "seconds 1-3600", "300",
	  "the longest wait before trying again" },
	{ CONFIG_SEC_ACCOUNT, "compress", "bool", "true",
	  "COMPRESS=DEFLATE when the server offers it" },
	{ CONFIG_SEC_ACCOUNT, "disable", "list", "[]",
	  "extensions not to use: condstore qresync uidplus move "
	  "list_status objectid notify" },

	{ CONFIG_SEC_STORE, "maildir", "path", "none (needed)",
	  "the Maildir's root directory" },
	{ CONFIG_SEC_STORE, "layout", "fs|maildir++", "fs",
	  "folder names: fs (INBOX/, A/B/) or maildir++ (.A.B)" },
	{ CONFIG_SEC_STORE, "trash", "folder", "none",
	  "a message removed from this Maildir is moved to this folder" },
	{ CONFIG_SEC_STORE, "fsync", "bool", "true",
	  "fsync each message and directory before recording it" },

	{ CONFIG_SEC_CHANNEL, "far", "account", "none (needed)",
	  "the far side: an account" },
	{ CONFIG_SEC_CHANNEL, "near", "store or account", "none (needed)",
	  "the near side: a Maildir store or a second account" },
	{ CONFIG_SEC_CHANNEL, "folders", "list of patterns", "[\"*\"]",
	  "* any, % any but /, !PATTERN excludes; the last match decides" },
	{ CONFIG_SEC_CHANNEL, "folder_map", "mapping far: near", "{}",
	  "explicit folder pairs, e.g. \"Lists/v1.2\": \"Lists/v1_2\"" },
	{ CONFIG_SEC_CHANNEL, "migrate", "boolean", "false",
	  "the policy of mailferry migrate: one way, far read-only" },
	{ CONFIG_SEC_CHANNEL, "sync", "list", "[pull, push]",
	  "pull push pull-new pull-flags pull-delete push-new ..." },
	{ CONFIG_SEC_CHANNEL, "expunge", "both|far|near|none", "both",
	  "sides where deleted messages are expunged" },
	{ CONFIG_SEC_CHANNEL, "create", "both|far|near|none", "both",
	  "sides where missing folders are created" },
	{ CONFIG_SEC_CHANNEL, "remove", "both|far|near|none", "none",
	  "sides where folders vanished on the other side are removed" },
	{ CONFIG_SEC_CHANNEL, "max_size", "size (K M G)", "no limit",
	  "larger far messages arrive as placeholders (see fetch)" },
	{ CONFIG_SEC_CHANNEL, "max_age", "age (d w)", "no limit",
	  "only messages newer than this are copied" },
	{ CONFIG_SEC_CHANNEL, "max_messages", "count", "0 (no limit)",
	  "keep only the newest N messages of a folder" },
	{ CONFIG_SEC_CHANNEL, "max_delete_percent", "0-100", "50",
	  "mass deletion guard: hold deletions back beyond this; 100 off" },
	{ CONFIG_SEC_CHANNEL, "pre_sync_command", "shell command", "none",
	  "run before the channel syncs; its failure is reported only" },
	{ CONFIG_SEC_CHANNEL, "post_sync_command", "shell command", "none",
	  "run after a sync that changed something (e.g. notmuch new)" },
	{ CONFIG_SEC_CHANNEL, "sync_command_timeout", "seconds", "300",
	  "a hook running longer is killed" },
	{ CONFIG_SEC_CHANNEL, "watch", "list of far folders", "[]",
	  "watch: IDLE on these too when the server has no NOTIFY (at most "
	  "8)" },
};
const size_t config_nkeys = MF_N_ELEMENTS(config_keys);

static const char *const section_names[CONFIG_SEC_COUNT] = {
	[CONFIG_SEC_TOP] = "",
	[CONFIG_SEC_ACCOUNT] = "accounts",
	[CONFIG_SEC_STORE] = "stores",
	[CONFIG_SEC_CHANNEL] = "channels",
};

const char *
config_section_name(enum config_section sec)
{
	return sec < CONFIG_SEC_COUNT ? section_names[sec] : "";
}

const char *const *
config_key_names(enum config_section sec)
{
	static const char *names[CONFIG_SEC_COUNT][CONFIG_MAX_SECTION_KEYS + 1];
	static bool filled;
	size_t n[CONFIG_SEC_COUNT] = { 0 }, i;

	if (!filled) {
		for (i = 0; i < config_nkeys; i++) {
			enum config_section s = config_keys[i].section;

			/* a key past the bound is not accepted by the
			 * parser, so cli-help.sh fails on it at once */
			if (n[s] < CONFIG_MAX_SECTION_KEYS)
				names[s][n[s]++] = config_keys[i].name;
		}
		filled = true;
	}
	return names[sec < CONFIG_SEC_COUNT ? sec : CONFIG_SEC_TOP];
}

void
config_keys_print(FILE *f)
{
	enum config_section sec;
	size_t i;

	fprintf(f, "Configuration keys (YAML; see mailferry.yaml(5)):\n");
	for (sec = 0; sec < CONFIG_SEC_COUNT; sec++) {
		fprintf(f, "\n%s\n",
			sec == CONFIG_SEC_TOP	  ? "top level:" :
			sec == CONFIG_SEC_ACCOUNT ? "accounts: NAME: (IMAP)" :
			sec == CONFIG_SEC_STORE	  ? "stores: NAME: (Maildir)" :
						    "channels: NAME:");
		for (i = 0; i < config_nkeys; i++) {
			const struct config_key *k = &config_keys[i];

			if (k->section != sec)
				continue;
			fprintf(f, "  %-25s %s (default: %s)\n", k->name,
				k->type, k->def);
			fprintf(f, "  %-25s %s\n", "", k->desc);
		}
	}
}
