/*
 * pre_sync_command and post_sync_command of a channel (config.h).
 *
 * Both are shell commands (/bin/sh -c), run by secret_run_plain()
 * (secret.h): their output goes to our stderr, stdin is /dev/null, and
 * one not done within sync_command_timeout (default 300 s) is killed with
 * its process group.  A failure (exit status not 0, a signal, the
 * timeout) is a warning naming the channel and the status; it never stops
 * the sync and never changes the exit code.  Neither runs in a dry run.
 *
 * Environment: MAILFERRY_CHANNEL for both.  post_sync_command runs only
 * after a sync that changed something on either side and was not
 * interrupted, and also gets MAILFERRY_CHANGED_FOLDERS (the changed
 * folders' near names, one per line: a folder name may hold spaces, not
 * a newline; a folder that only lost messages moved into another is not
 * in it, since the engine reports a move in its destination only), and MAILFERRY_PULLED, MAILFERRY_PUSHED,
 * MAILFERRY_FLAGS_FAR, MAILFERRY_FLAGS_NEAR, MAILFERRY_DELETED_FAR,
 * MAILFERRY_DELETED_NEAR, MAILFERRY_MOVED (decimal counts, as in the
 * summary line).
 */
#ifndef MF_HOOKS_H
#define MF_HOOKS_H

#include <stdbool.h>

#include "config.h"
#include "sync.h"

/* Run the channel's pre_sync_command, if any. */
void hooks_pre(const struct config_channel *ch);

/* Did the sync summed up in sum change anything? */
bool hooks_changed(const struct sync_summary *sum);

/* Run the channel's post_sync_command, if any; changed is the folder
 * list, newline-separated (borrowed; "" for none). */
void hooks_post(const struct config_channel *ch, const struct sync_summary *sum,
		const char *changed);

#endif
