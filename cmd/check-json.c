/*
 * mailferry check --json (cmd-json.h): what cmd-check.c shows, as data.
 * Never a secret: for a password only where it comes from (the command
 * itself is not shown, as it may hold one).
 */
#include <stdio.h>
#include <string.h>

#include "cmd-json.h"
#include "config.h"
#include "json.h"

static const char *const side_words[] = { "none", "far", "near", "both" };

static const char *
secret_source(const struct config_account *a)
{
	if (a->oauth_token_command != NULL)
		return "oauth_token_command";
	if (a->password_command != NULL)
		return "password_command";
	if (a->password_env != NULL)
		return "password_env";
	if (a->password != NULL)
		return "password";
	if (a->imap.tunnel != NULL)
		return "tunnel";
	return "prompt";
}

static void
account_fields(struct json *j, const struct config_account *a)
{
	static const char *const tls[] = { "implicit", "starttls", "none" };
	const struct imap_store_cfg *imap = &a->imap;

	json_kv_str(j, "kind", "imap");
	json_kv_str(j, "account", a->name);
	json_kv_str(j, "host", imap->host);
	json_kv_uint(j, "port", imap->port);
	json_kv_str(j, "user", imap->user);
	json_kv_str(j, "tls", tls[imap->tls]);
	json_kv_bool(j, "tunnel", imap->tunnel != NULL);
	json_kv_str(j, "secret", secret_source(a));
	json_kv_str(j, "password_env", a->password_env);
	json_kv_str(j, "auth_mechs", imap->auth_mechs);
	json_kv_str(j, "ca_file", imap->ca_file);
	json_kv_str(j, "fingerprint", imap->fingerprint);
	json_kv_bool(j, "compress", imap->compress);
}

static void
side_object(struct json *j, const char *key, const struct config_side *side)
{
	json_key(j, key);
	json_obj_open(j);
	if (side->kind == CONFIG_SIDE_ACCOUNT) {
		account_fields(j, side->account);
	} else {
		const struct mdir_store_cfg *md = &side->maildir->mdir;

		json_kv_str(j, "kind", "maildir");
		json_kv_str(j, "store", side->maildir->name);
		json_kv_str(j, "path", md->path);
		json_kv_str(j, "layout",
			    md->layout == MDIR_LAYOUT_FS ? "fs" : "maildir++");
		json_kv_str(j, "trash", md->trash);
		json_kv_bool(j, "fsync", !md->no_fsync);
	}
	json_obj_close(j);
}

/* ["new","flags","delete"], the parts of one direction */
static void
sync_words(struct json *j, const char *key, unsigned bits)
{
	static const char *const what[] = { "new", "flags", "delete" };
	unsigned b;

	json_key(j, key);
	json_arr_open(j);
	for (b = 0; b < 3; b++)
		if (bits & (1u << b))
			json_str(j, what[b]);
	json_arr_close(j);
}

static void
policy_object(struct json *j, const struct sync_policy *pol)
{
	size_t i;

	json_key(j, "policy");
	json_obj_open(j);
	sync_words(j, "pull", pol->pull);
	sync_words(j, "push", pol->push);
	json_kv_str(j, "expunge", side_words[pol->expunge & 3]);
	json_kv_str(j, "create", side_words[pol->create & 3]);
	json_kv_str(j, "remove", side_words[pol->remove & 3]);
	json_key(j, "folders");
	json_arr_open(j);
	for (i = 0; i < pol->nfolders; i++)
		json_str(j, pol->folders[i]);
	json_arr_close(j);
	/* 0: no limit */
	json_kv_uint(j, "max_size", pol->max_size);
	json_kv_uint(j, "max_age_days", pol->max_age_days);
	json_kv_uint(j, "max_messages", pol->max_messages);
	json_kv_uint(j, "max_delete_percent", pol->max_delete_percent);
	json_obj_close(j);
}

void
check_json(const struct mf_config *cfg, int argc, char **argv)
{
	struct json j;
	size_t i;

	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "config");
	json_kv_str(&j, "path", cfg->path);
	json_kv_str(&j, "state_dir", cfg->state_dir);
	json_kv_uint(&j, "accounts", cfg->naccounts);
	json_kv_uint(&j, "stores", cfg->nmaildirs);
	json_kv_uint(&j, "channels", cfg->nchannels);
	json_obj_close(&j);
	json_end(&j);
	for (i = 0; i < cfg->nchannels; i++) {
		const struct config_channel *ch = &cfg->channels[i];
		int k, wanted = argc == 0;

		for (k = 0; k < argc && !wanted; k++)
			wanted = strcmp(argv[k], ch->name) == 0;
		if (!wanted)
			continue;
		json_begin(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "type", "channel");
		json_kv_str(&j, "channel", ch->name);
		side_object(&j, "far", &ch->far);
		side_object(&j, "near", &ch->near);
		policy_object(&j, &ch->policy);
		json_obj_close(&j);
		json_end(&j);
	}
}
