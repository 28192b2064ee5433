/*
 * The configuration file (YAML) as plain structs.
 *
 * config_load() parses with libyaml, validates everything and reports the
 * first problem as "FILE:LINE:COL: message" (class MF_E_CONFIG).  Nothing
 * below cmd/ sees YAML: accounts become struct imap_store_cfg, maildir
 * stores struct mdir_store_cfg, channels struct sync_policy.
 *
 * Ownership: every string hangs off the config's arena and dies with
 * config_free().
 */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "imap/imap-store.h"
#include "maildir/mdir-store.h"
#include "policy.h"

struct mf_arena;

/* Where a value came from, for later error messages. */
struct config_pos {
	unsigned line, col; /* 1-based */
};

/*
 * A tunnel is a trusted pipe, so with it tls defaults to none and
 * imap.allow_insecure is set; everywhere else tls none needs
 * allow_insecure: true in the file.  imap.port is always filled in for a
 * host (993 implicit, 143 otherwise); imap.compress defaults to true.
 */
struct config_account {
	const char *name;
	struct config_pos pos;
	struct imap_store_cfg imap; /* get_secret left NULL */
	/* exactly one of these three, or none with tunnel / oauth */
	const char *password_command;
	const char *password_env;
	const char *password; /* plain in the file: warned */
	const char *oauth_token_command;
	/* password_command / oauth_token_command is killed after this;
	 * 0: SECRET_DEFAULT_TIMEOUT_MS (secret.h) */
	int secret_timeout_ms;
	/* a channel through this server is tried again at most this often
	 * in one run, waiting at most max_backoff_ms (cmd/cmd-sync.c) */
	int retries, max_backoff_ms;
};
#define CONFIG_RETRIES_DEFAULT 3
#define CONFIG_MAX_BACKOFF_DEFAULT 300 /* seconds */

struct config_maildir {
	const char *name;
	struct config_pos pos;
	struct mdir_store_cfg mdir;
};

enum config_side_kind {
	CONFIG_SIDE_ACCOUNT,
	CONFIG_SIDE_MAILDIR,
};

struct config_side {
	enum config_side_kind kind;
	const struct config_account *account; /* CONFIG_SIDE_ACCOUNT */
	const struct config_maildir *maildir; /* CONFIG_SIDE_MAILDIR */
};

struct config_channel {
	const char *name;
	struct config_pos pos;
	struct config_side far, near;
	struct sync_policy policy;
	/* shell commands run around a sync (hooks.h); NULL: none */
	const char *pre_sync_command, *post_sync_command;
	int hook_timeout_ms; /* sync_command_timeout, default 300 s */
	/* migrate: the far side is opened through store/readonly.h, so
	 * that nothing can change it whatever the policy says */
	bool far_readonly;
	/* migrate: true (the preset of `mailferry migrate`; far_readonly
	 * and the policy set with it) */
	bool migrate;
	/* watch: far folders to IDLE on besides INBOX when the server has
	 * no NOTIFY (cmd-watch.c), at most CONFIG_WATCH_MAX */
	const char **watch_folders;
	size_t nwatch_folders;
};
#define CONFIG_WATCH_MAX 8

struct mf_config {
	const char *path;      /* the file read */
	const char *state_dir; /* expanded */
	struct config_account *accounts;
	size_t naccounts;
	struct config_maildir *maildirs;
	size_t nmaildirs;
	struct config_channel *channels;
	size_t nchannels;
	/* warnings collected while loading ("password in plain text") */
	const char **warnings;
	size_t nwarnings;
	struct mf_arena *arena;
};

/* Default path: $XDG_CONFIG_HOME/mailferry/config.yaml (caller frees). */
char *config_default_path(void);

int config_load(const char *path, struct mf_config **cfg_r, struct mf_err *err);
/* Same, from a string (tests); name is used in messages. */
int config_load_string(const char *name, const char *text, size_t len,
		       struct mf_config **cfg_r, struct mf_err *err);
void config_free(struct mf_config **cfg);

const struct config_channel *config_find_channel(const struct mf_config *cfg,
						 const char *name);
/* Entries by name, or NULL; borrowed from cfg. */
const struct config_account *config_find_account(const struct mf_config *cfg,
						 const char *name);
const struct config_maildir *config_find_maildir(const struct mf_config *cfg,
						 const char *name);

/* What config_suggest() looks among. */
#define CONFIG_NAME_CHANNEL 0x1u
#define CONFIG_NAME_ACCOUNT 0x2u
#define CONFIG_NAME_STORE 0x4u
/*
 * The name of those kinds closest to word (a typo: edit distance 2 at
 * most), for "did you mean"; NULL when none is close.  Borrowed from cfg.
 */
const char *config_suggest(const struct mf_config *cfg, const char *word,
			   unsigned kinds);

#endif
