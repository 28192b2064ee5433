/*
 * Getting a password or an OAuth2 token for an account, only when the
 * server asks for one.
 *
 * Sources, as configured (config.h): password_command or
 * oauth_token_command (run with /bin/sh -c, first line of its output),
 * password_env (an environment variable), password (plain text in the
 * file); with none of them the password is read from the terminal with echo
 * off.  Messages never contain the secret nor the command's output.
 *
 * A command runs in a process group of its own and has
 * acct->secret_timeout_ms (default SECRET_DEFAULT_TIMEOUT_MS) to print its
 * line and exit; after that, or when we are stopped, the whole group gets
 * SIGTERM, then SIGKILL, and the call fails (MF_E_AUTH, naming the
 * account): nothing is sent to the server without a secret.
 *
 * Ownership: *secret_r is allocated here and owned by the caller, who wipes
 * it (mf_str_wipe) before free().  The IMAP store does that itself for
 * secrets it receives through secret_imap_fn().
 */
#ifndef MF_SECRET_H
#define MF_SECRET_H

#include "base/err.h"
#include "config.h"
#include "imap/imap-store.h"

/* Longest command output read; the secret is its first line. */
#define SECRET_MAX_OUTPUT 8192
/* A command not done by then (password_command_timeout) is killed. */
#define SECRET_DEFAULT_TIMEOUT_MS 60000

int secret_get(const struct config_account *acct, enum imap_secret_kind kind,
	       char **secret_r, struct mf_err *err);

/*
 * The same machinery for a command whose output is not wanted (the sync
 * hooks, hooks.h): /bin/sh -c cmd in a process group of its own, stdin
 * from /dev/null, stdout and stderr on our stderr, env (NULL-terminated
 * "NAME=value" strings, borrowed) added to our environment.  Killed as a
 * password_command is (group SIGTERM, then SIGKILL) after timeout_ms or
 * when we are stopped (base/cancel.h).  0: it ran, its wait status in
 * *status_r; 1: killed by the timeout; 2: killed because we were
 * stopped; -1: could not be started (errno).
 */
int secret_run_plain(const char *cmd, char *const *env, int timeout_ms,
		     int *status_r);

/* secret_get() as an imap_secret_fn; ctx is the struct config_account. */
int secret_imap_fn(void *ctx, enum imap_secret_kind kind, char **secret_r,
		   struct mf_err *err);

#endif
