/*
 * What "sync" and "fetch" share on the command line and around a channel:
 * CHANNEL[:FOLDER] arguments, and the channel lock that keeps two of them
 * off one channel's state and mail at once.
 */
#ifndef MF_CMD_TARGETS_H
#define MF_CMD_TARGETS_H

#include <stddef.h>

#include "base/err.h"

struct mf_config;
struct config_channel;

struct target {
	const struct config_channel *ch;
	const char **only; /* folder names, or NULL: all */
	size_t nonly;
};

/*
 * "CHANNEL" or "CHANNEL:FOLDER" arguments, grouped per channel; no
 * arguments: every channel.  *targets_r and each target's only are the
 * caller's to free.  MF_E_USAGE for an unknown channel.
 */
int targets_parse(const struct mf_config *cfg, int argc, char **argv,
		  struct target **targets_r, size_t *n_r, struct mf_err *err);

/* Hold an exclusive lock on state_dir/CHANNEL.lock; close *fd_r to drop
 * it.  MF_E_LOCKED (exit 6) when another mailferry holds it, MF_E_STATE
 * when the lock file cannot be opened or locked at all. */
int targets_lock(const struct mf_config *cfg, const struct config_channel *ch,
		 int *fd_r, struct mf_err *err);

#endif
