/*
 * Channel arguments and the channel lock (see targets.h).  Moved here from
 * cmd-sync.c when "fetch" came to need them too.
 */
#include "targets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "config.h"

int
targets_parse(const struct mf_config *cfg, int argc, char **argv,
	      struct target **targets_r, size_t *n_r, struct mf_err *err)
{
	struct target *v = xcalloc(cfg->nchannels + 1, sizeof(*v));
	size_t n = 0, i;
	int a;

	if (argc == 0) {
		for (i = 0; i < cfg->nchannels; i++)
			v[n++].ch = &cfg->channels[i];
	}
	for (a = 0; a < argc; a++) {
		char *arg = argv[a], *colon = strchr(arg, ':');
		size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
		const struct config_channel *ch = NULL;
		struct target *t = NULL;

		for (i = 0; i < cfg->nchannels; i++)
			if (strlen(cfg->channels[i].name) == len &&
			    strncmp(cfg->channels[i].name, arg, len) == 0)
				ch = &cfg->channels[i];
		if (ch == NULL) {
			char *word = xstrndup(arg, len);
			const char *hint = config_suggest(cfg, word,
							  CONFIG_NAME_CHANNEL);

			mf_err_set(err, MF_E_USAGE,
				   "no channel '%s' in the configuration%s%s%s",
				   word, hint ? "; did you mean '" : "",
				   hint ? hint : "", hint ? "'?" : "");
			free(word);
			free(v);
			return -1;
		}
		for (i = 0; i < n; i++)
			if (v[i].ch == ch)
				t = &v[i];
		if (t == NULL) {
			t = &v[n++];
			t->ch = ch;
			t->only = xcalloc((size_t)argc + 1, sizeof(char *));
		}
		if (t->only == NULL) /* channel already named whole */
			continue;
		if (colon == NULL) {
			free(t->only);
			t->only = NULL;
			t->nonly = 0;
			continue;
		}
		t->only[t->nonly++] = colon + 1;
	}
	*targets_r = v;
	*n_r = n;
	return 0;
}

int
targets_lock(const struct mf_config *cfg, const struct config_channel *ch,
	     int *fd_r, struct mf_err *err)
{
	char *path = xasprintf("%s/%s.lock", cfg->state_dir, ch->name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		mf_err_sys(err, MF_E_STATE, "%s", path);
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			mf_err_set(err, MF_E_LOCKED,
				   "%s: another mailferry is "
				   "syncing channel '%s'",
				   path, ch->name);
		else
			mf_err_sys(err, MF_E_STATE, "lock %s", path);
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	*fd_r = fd;
	return 0;
}
