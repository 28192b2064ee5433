/*
 * channels: a far account, a near account or maildir store, and the policy
 * that says what may travel between them (struct sync_policy).
 *
 * Defaults are the least surprising ones: everything in both directions,
 * expunge and create on both sides, never remove a folder, no limits.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/str.h"
#include "config-keys.h"
#include "config-yaml.h"

/* The index is the SYNC_SIDE_* bit mask. */
static const char *const side_names[] = {
	"none", "far", "near", "both", NULL,
};

static const char *const sync_names[] = {
	"pull",	    "push",	  "pull-new",	 "pull-flags", "pull-delete",
	"push-new", "push-flags", "push-delete", NULL,
};
/* What each of sync_names[] adds: pull bits, push bits. */
static const unsigned sync_bits[][2] = {
	{ SYNC_ALL, 0 },   { 0, SYNC_ALL },    { SYNC_NEW, 0 },
	{ SYNC_FLAGS, 0 }, { SYNC_DELETE, 0 }, { 0, SYNC_NEW },
	{ 0, SYNC_FLAGS }, { 0, SYNC_DELETE },
};

/* Names a side may take, for "did you mean". */
static const char *const *
side_candidates(struct cy_ctx *c, bool with_maildirs)
{
	const struct mf_config *cfg = c->cfg;
	size_t n = cfg->naccounts + (with_maildirs ? cfg->nmaildirs : 0), i;
	const char **names = mf_arena_alloc(cfg->arena,
					    (n + 1) * sizeof(*names));

	for (i = 0; i < cfg->naccounts; i++)
		names[i] = cfg->accounts[i].name;
	for (i = cfg->naccounts; i < n; i++)
		names[i] = cfg->maildirs[i - cfg->naccounts].name;
	return names;
}

static int
resolve_side(struct cy_ctx *c, const yaml_node_t *name, const yaml_node_t *map,
	     const char *key, struct config_side *side)
{
	bool is_far = strcmp(key, "far") == 0;
	const char *v, *hint;
	yaml_node_t *n;
	int ret = cy_str(c, map, key, &v);

	if (ret <= 0)
		return ret < 0 ? -1 :
				 cy_fail(c, name, NULL,
					 "channel needs "
					 "'%s'",
					 key);
	n = cy_lookup(c, map, key, NULL);
	side->account = config_find_account(c->cfg, v);
	side->maildir = config_find_maildir(c->cfg, v);
	if (side->account != NULL) {
		side->kind = CONFIG_SIDE_ACCOUNT;
		side->maildir = NULL;
		return 0;
	}
	if (side->maildir != NULL && !is_far) {
		side->kind = CONFIG_SIDE_MAILDIR;
		return 0;
	}
	if (side->maildir != NULL)
		return cy_fail_val(c, n, key,
				   "far must be an account (IMAP); "
				   "'%s' is a maildir store",
				   v);
	hint = cy_suggest(v, side_candidates(c, !is_far));
	return cy_fail_val(c, n, key, "no %s named '%s'%s%s%s",
			   is_far ? "account" : "account or store", v,
			   hint ? "; did you mean '" : "", hint ? hint : "",
			   hint ? "'?" : "");
}

static int
parse_folders(struct cy_ctx *c, struct sync_policy *pol, const yaml_node_t *map)
{
	static const char *const all[] = { "*" };
	const char **items;
	yaml_node_t *list;
	size_t n, i;
	int ret = cy_list(c, map, "folders", &items, &n, &list);

	if (ret < 0)
		return -1;
	if (ret == 0) {
		pol->folders = all;
		pol->nfolders = 1;
		return 0;
	}
	if (n == 0)
		return cy_fail(c, list, "folders",
			       "folders is empty: nothing "
			       "would be synchronized");
	for (i = 0; i < n; i++)
		if (strcmp(items[i], "!") == 0)
			return cy_fail_val(c, cy_list_item(c, list, i),
					   "folders",
					   "'!' needs a pattern "
					   "after it");
	pol->folders = items;
	pol->nfolders = n;
	return 0;
}

static int
parse_sync(struct cy_ctx *c, struct sync_policy *pol, const yaml_node_t *map)
{
	const char **items;
	yaml_node_t *list;
	size_t n, i;
	unsigned k;
	int ret = cy_list(c, map, "sync", &items, &n, &list);

	pol->pull = pol->push = SYNC_ALL;
	if (ret <= 0)
		return ret;
	if (n == 0)
		return cy_fail(c, list, "sync",
			       "sync is empty: nothing would "
			       "be synchronized");
	pol->pull = pol->push = 0;
	for (i = 0; i < n; i++) {
		const char *hint;

		for (k = 0; sync_names[k] != NULL; k++)
			if (strcmp(sync_names[k], items[i]) == 0)
				break;
		if (sync_names[k] != NULL) {
			pol->pull |= sync_bits[k][0];
			pol->push |= sync_bits[k][1];
			continue;
		}
		hint = cy_suggest(items[i], sync_names);
		return cy_fail_val(c, cy_list_item(c, list, i), "sync",
				   "sync takes pull, push, pull-new, "
				   "pull-flags, pull-delete, push-new, "
				   "push-flags, push-delete%s%s%s",
				   hint ? "; did you mean '" : "",
				   hint ? hint : "", hint ? "'?" : "");
	}
	return 0;
}

struct unit {
	char ch; /* lower case */
	uint64_t mult;
};

/*
 * "NUMBER[UNIT]": *val_r = NUMBER * mult, overflow checked.  A bare number
 * takes bare_mult, or is refused when bare_mult is 0.
 */
static int
parse_with_unit(struct cy_ctx *c, const yaml_node_t *map, const char *key,
		const struct unit *units, uint64_t bare_mult, uint64_t max,
		const char *help, uint64_t *val_r)
{
	yaml_node_t *n = cy_lookup(c, map, key, NULL);
	const char *v;
	uint64_t num, mult = bare_mult;
	size_t digits;

	if (n == NULL)
		return 0;
	if (cy_scalar(c, n, key, &v) < 0)
		return -1;
	digits = strspn(v, "0123456789");
	if (digits == 0)
		return cy_fail_val(c, n, key, "expected a number, %s", help);
	if (v[digits] != '\0') {
		mult = 0;
		for (; units->ch != '\0' && v[digits + 1] == '\0'; units++)
			if (units->ch == tolower((unsigned char)v[digits]))
				mult = units->mult;
	}
	if (mult == 0 && v[digits] == '\0')
		return cy_fail_val(c, n, key, "%s needs a unit, %s", key, help);
	if (mult == 0)
		return cy_fail_val(c, n, key, "bad %s unit, %s", key, help);
	if (!mf_str_to_u64(v, digits, &num) || num > max / mult)
		return cy_fail_val(c, n, key, "%s too large", key);
	*val_r = num * mult;
	return 1;
}

static int
parse_limits(struct cy_ctx *c, struct sync_policy *pol, const yaml_node_t *map)
{
	static const struct unit size_units[] = {
		{ 'k', 1024 },
		{ 'm', 1024 * 1024 },
		{ 'g', 1024 * 1024 * 1024 },
		{ '\0', 0 },
	};
	static const struct unit age_units[] = {
		{ 'd', 1 },
		{ 'w', 7 },
		{ '\0', 0 },
	};
	/* the mass deletion guard is on unless turned off with 100 */
	uint64_t age = 0, msgs = 0, pct = 50;

	if (parse_with_unit(c, map, "max_size", size_units, 1, UINT64_MAX,
			    "use K, M or G (e.g. 10M)", &pol->max_size) < 0 ||
	    parse_with_unit(c, map, "max_age", age_units, 0, UINT_MAX,
			    "use d (days) or w (weeks), e.g. 90d", &age) < 0 ||
	    cy_uint(c, map, "max_messages", 0, UINT32_MAX, &msgs) < 0 ||
	    cy_uint(c, map, "max_delete_percent", 0, 100, &pct) < 0)
		return -1;
	pol->max_age_days = (unsigned)age;
	pol->max_messages = (unsigned)msgs;
	pol->max_delete_percent = (unsigned)pct;
	return 0;
}

static int
parse_sides(struct cy_ctx *c, struct sync_policy *pol, const yaml_node_t *map)
{
	unsigned expunge = SYNC_SIDE_BOTH, create = SYNC_SIDE_BOTH;
	unsigned remove = 0;

	if (cy_enum(c, map, "expunge", side_names, &expunge) < 0 ||
	    cy_enum(c, map, "create", side_names, &create) < 0 ||
	    cy_enum(c, map, "remove", side_names, &remove) < 0)
		return -1;
	pol->expunge = expunge;
	pol->create = create;
	pol->remove = remove;
	return 0;
}

/* Why a folder_map name is refused, or NULL: names are canonical (as
 * `mailferry list` shows them), so "/" separates levels, and no level is
 * empty */
static const char *
bad_map_name(const char *name)
{
	const char *p;

	if (name[0] == '/' || name[strlen(name) - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return "an empty level: names are written as mailferry "
		       "list shows them, '/' between levels";
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "a control character";
	return NULL;
}

/*
 * folder_map: far name -> near name (sync/policy.h).  Neither side's
 * name twice: two folders into one would merge them, one into two is
 * meaningless.
 */
static int
parse_folder_map(struct cy_ctx *c, struct sync_policy *pol,
		 const yaml_node_t *map)
{
	yaml_node_t *m = cy_lookup(c, map, "folder_map", NULL);
	struct sync_folder_map *v;
	const yaml_node_pair_t *p;
	size_t n = 0, i;

	if (m == NULL || cy_is_null(m))
		return 0;
	if (cy_check_map(c, m, NULL, "folder_map") < 0)
		return -1;
	v = mf_arena_alloc(c->cfg->arena,
			   sizeof(*v) * ((size_t)(m->data.mapping.pairs.top -
						  m->data.mapping.pairs.start) +
					 1));
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++, n++) {
		yaml_node_t *k = cy_node(c, p->key),
			    *val = cy_node(c, p->value);
		const char *why;

		/* the document goes away after loading; the arena stays */
		v[n].far = mf_arena_strdup(c->cfg->arena,
					   (const char *)k->data.scalar.value);
		if (val == NULL || val->type != YAML_SCALAR_NODE ||
		    cy_is_null(val))
			return cy_fail(c, val != NULL ? val : k, "folder_map",
				       "'%s' needs a near folder name, not %s",
				       v[n].far, cy_type_name(val));
		if (cy_scalar(c, val, "folder_map", &v[n].near) < 0)
			return -1;
		v[n].near = mf_arena_strdup(c->cfg->arena, v[n].near);
		if (v[n].near[0] == '\0')
			return cy_fail(c, val, "folder_map",
				       "'%s' needs a near folder name, not an "
				       "empty one",
				       v[n].far);
		why = bad_map_name(v[n].far);
		if (why != NULL)
			return cy_fail_val(c, k, "folder_map",
					   "far folder name with %s", why);
		why = bad_map_name(v[n].near);
		if (why != NULL)
			return cy_fail_val(c, val, "folder_map",
					   "near folder name with %s", why);
		for (i = 0; i < n; i++)
			if (strcmp(v[i].near, v[n].near) == 0)
				return cy_fail_val(
					c, val, "folder_map",
					"near folder '%s' twice (first for "
					"'%s'): two folders cannot go into one",
					v[n].near, v[i].far);
	}
	pol->folder_map = v;
	pol->nfolder_map = n;
	return 0;
}

/*
 * migrate: true, the policy of `mailferry migrate` (cmd-migrate.c) for a
 * channel of the file: one way from far, far read-only, folders made on
 * near, nothing expunged or removed.  Keys that would say otherwise are
 * refused rather than silently overridden.
 */
static int
parse_migrate(struct cy_ctx *c, struct config_channel *ch,
	      const yaml_node_t *map)
{
	static const char *const clash[] = { "sync", "expunge", "create",
					     "remove", NULL };
	bool on = false;
	size_t i;
	int ret = cy_bool(c, map, "migrate", &on);

	if (ret <= 0 || !on)
		return ret < 0 ? -1 : 0;
	for (i = 0; clash[i] != NULL; i++) {
		yaml_node_t *k = NULL;

		if (cy_lookup(c, map, clash[i], &k) != NULL)
			return cy_fail(c, k, clash[i],
				       "'%s' cannot go with 'migrate: true', "
				       "which is one way from far and never "
				       "deletes",
				       clash[i]);
	}
	ch->migrate = true;
	ch->far_readonly = true;
	ch->policy.pull = SYNC_NEW | SYNC_FLAGS;
	ch->policy.push = 0;
	ch->policy.expunge = 0;
	ch->policy.create = SYNC_SIDE_NEAR;
	ch->policy.remove = 0;
	return 0;
}

/* watch: the far folders IDLEd on besides INBOX, one connection each */
static int
parse_watch(struct cy_ctx *c, struct config_channel *ch, const yaml_node_t *map)
{
	yaml_node_t *list;
	size_t n, i;
	int ret = cy_list(c, map, "watch", &ch->watch_folders, &n, &list);

	if (ret <= 0)
		return ret;
	if (n > CONFIG_WATCH_MAX)
		return cy_fail(c, list, "watch",
			       "at most %d folders: each is a connection of "
			       "its own to the server",
			       CONFIG_WATCH_MAX);
	for (i = 0; i < n; i++)
		if (ch->watch_folders[i][0] == '\0')
			return cy_fail_val(c, cy_list_item(c, list, i), "watch",
					   "an empty folder name");
	ch->nwatch_folders = n;
	return 0;
}

/* pre_sync_command, post_sync_command (cmd/hooks.h) and their timeout */
static int
parse_hooks(struct cy_ctx *c, struct config_channel *ch, const yaml_node_t *map)
{
	uint64_t secs = 300;

	if (cy_str(c, map, "pre_sync_command", &ch->pre_sync_command) < 0 ||
	    cy_str(c, map, "post_sync_command", &ch->post_sync_command) < 0 ||
	    cy_uint(c, map, "sync_command_timeout", 1, 86400, &secs) < 0)
		return -1;
	ch->hook_timeout_ms = (int)secs * 1000;
	return 0;
}

int
cfg_parse_channel(struct cy_ctx *c, const yaml_node_t *name,
		  const yaml_node_t *map, struct config_channel *ch)
{
	if (cy_check_map(c, map, config_key_names(CONFIG_SEC_CHANNEL),
			 "a channel") < 0 ||
	    resolve_side(c, name, map, "far", &ch->far) < 0 ||
	    resolve_side(c, name, map, "near", &ch->near) < 0)
		return -1;
	if (ch->near.account == ch->far.account)
		return cy_fail_val(c, cy_lookup(c, map, "near", NULL), "near",
				   "far and near are the same account");
	if (parse_folders(c, &ch->policy, map) < 0 ||
	    parse_sync(c, &ch->policy, map) < 0 ||
	    parse_sides(c, &ch->policy, map) < 0 ||
	    parse_limits(c, &ch->policy, map) < 0 ||
	    parse_hooks(c, ch, map) < 0 || parse_watch(c, ch, map) < 0 ||
	    parse_folder_map(c, &ch->policy, map) < 0 ||
	    parse_migrate(c, ch, map) < 0)
		return -1;
	return 0;
}
