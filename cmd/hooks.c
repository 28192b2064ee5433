/*
 * The sync hooks (hooks.h): build the environment, run, report.
 */
#include "hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "secret.h"

/* "exit status 3", "killed by signal 9", ...: why a hook failed, or NULL
 * when it did not */
static const char *
failure(int rc, int status, char *buf, size_t size)
{
	if (rc < 0)
		return "could not be started";
	if (rc == 1)
		return "did not finish within sync_command_timeout and was "
		       "killed";
	if (rc == 2)
		return "was killed: mailferry was interrupted";
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(buf, size,
			 "failed (exit status 127: command not "
			 "found?)");
	else if (WIFEXITED(status))
		snprintf(buf, size, "failed (exit status %d)",
			 WEXITSTATUS(status));
	else
		snprintf(buf, size, "failed (killed by signal %d)",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return buf;
}

static void
run(const struct config_channel *ch, const char *key, const char *cmd,
    char *const *env)
{
	char why[96], name[512];
	const char *bad;
	int status = 0, rc;

	rc = secret_run_plain(cmd, env, ch->hook_timeout_ms, &status);
	bad = failure(rc, status, why, sizeof(why));
	if (bad != NULL)
		fprintf(stderr, "mailferry: warning: channel '%s': %s %s\n",
			mf_str_sanitize(name, sizeof(name), ch->name,
					strlen(ch->name)),
			key, bad);
}

void
hooks_pre(const struct config_channel *ch)
{
	char *env[2] = { NULL, NULL };

	if (ch->pre_sync_command == NULL)
		return;
	env[0] = xasprintf("MAILFERRY_CHANNEL=%s", ch->name);
	run(ch, "pre_sync_command", ch->pre_sync_command, env);
	free(env[0]);
}

bool
hooks_changed(const struct sync_summary *sum)
{
	return sum->pulled + sum->pushed + sum->flags_far + sum->flags_near +
		       sum->del_far + sum->del_near + sum->moved +
		       sum->renamed + sum->placeholders >
	       0;
}

void
hooks_post(const struct config_channel *ch, const struct sync_summary *sum,
	   const char *changed)
{
	char *env[11] = { NULL };
	size_t i = 0;

	if (ch->post_sync_command == NULL)
		return;
	env[i++] = xasprintf("MAILFERRY_CHANNEL=%s", ch->name);
	env[i++] = xasprintf("MAILFERRY_CHANGED_FOLDERS=%s", changed);
	env[i++] = xasprintf("MAILFERRY_PULLED=%zu", sum->pulled);
	env[i++] = xasprintf("MAILFERRY_PUSHED=%zu", sum->pushed);
	env[i++] = xasprintf("MAILFERRY_FLAGS_FAR=%zu", sum->flags_far);
	env[i++] = xasprintf("MAILFERRY_FLAGS_NEAR=%zu", sum->flags_near);
	env[i++] = xasprintf("MAILFERRY_DELETED_FAR=%zu", sum->del_far);
	env[i++] = xasprintf("MAILFERRY_DELETED_NEAR=%zu", sum->del_near);
	env[i++] = xasprintf("MAILFERRY_MOVED=%zu", sum->moved);
	run(ch, "post_sync_command", ch->post_sync_command, env);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
}
