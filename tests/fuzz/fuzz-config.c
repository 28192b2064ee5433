/*
 * libFuzzer target for the configuration loader (cmd/config*.c): the input
 * is a YAML file.
 *
 * The loader's promises checked here: any input is accepted or refused
 * with a message (class MF_E_CONFIG, never empty, no crash, no leak, no
 * hang: the prescan bounds nesting and anchors); an accepted configuration
 * holds what its header says (every channel's sides name an account or a
 * store of the same file, which config_find_* finds), and loading the same
 * bytes again gives the same verdict and the same message.  HOME and the
 * variables a path may name are fixed, so a run depends on the input only.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("HOME", "/home/fuzz", 1);
	setenv("XDG_STATE_HOME", "/home/fuzz/state", 1);
	setenv("MAIL", "/var/mail/fuzz", 1);
	unsetenv("XDG_CONFIG_HOME");
	return 0;
}

static void
check_side(const struct mf_config *cfg, const struct config_side *s)
{
	if (s->kind == CONFIG_SIDE_ACCOUNT) {
		if (s->account == NULL ||
		    config_find_account(cfg, s->account->name) != s->account)
			abort();
	} else if (s->kind == CONFIG_SIDE_MAILDIR) {
		if (s->maildir == NULL ||
		    config_find_maildir(cfg, s->maildir->name) != s->maildir)
			abort();
	} else {
		abort();
	}
}

static void
check_config(const struct mf_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->naccounts; i++)
		if (cfg->accounts[i].name == NULL ||
		    config_find_account(cfg, cfg->accounts[i].name) == NULL)
			abort();
	for (i = 0; i < cfg->nchannels; i++) {
		const struct config_channel *ch = &cfg->channels[i];

		if (config_find_channel(cfg, ch->name) != ch)
			abort();
		check_side(cfg, &ch->far);
		check_side(cfg, &ch->near);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_config *cfg = NULL, *again = NULL;
	struct mf_err err = { 0 }, err2 = { 0 };
	int r, r2;

	r = config_load_string("fuzz.yaml", (const char *)data, size, &cfg,
			       &err);
	if (r == 0) {
		if (cfg == NULL)
			abort();
		check_config(cfg);
	} else if (r != -1 || cfg != NULL || err.msg[0] == '\0' ||
		   err.cls != MF_E_CONFIG) {
		fprintf(stderr, "refused without a proper error: %d '%s'\n", r,
			err.msg);
		abort();
	}
	/* no state is kept between loads */
	r2 = config_load_string("fuzz.yaml", (const char *)data, size, &again,
				&err2);
	if (r2 != r || strcmp(err.msg, err2.msg) != 0)
		abort();
	config_free(&cfg);
	config_free(&again);
	return 0;
}
