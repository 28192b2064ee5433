/*
 * Private to config.c and config-yaml.c: typed access to a libyaml document
 * with error messages that name the file, the line and the column.
 *
 * The schema is walked by config.c, never the YAML tree as such: the reader
 * descends at most four levels (top, section, entry, list) whatever the
 * input, so anchors and aliases cannot make it loop or blow up (an alias is a
 * reference to an existing node in libyaml's document model, and a list of
 * lists is a type error before anything is expanded).
 *
 * Every getter returns 1 when the key was present and converted, 0 when it
 * was absent (the output is left alone, so defaults set beforehand stay) and
 * -1 after filling ctx->err.
 */
#ifndef MF_CONFIG_YAML_H
#define MF_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "base/compat.h"
#include "base/err.h"
#include "config.h"

/* Entries in one mapping or list; keeps the duplicate check cheap. */
#define CY_MAX_ENTRIES 1000
/* Longest scalar we accept (a path, a command, a pattern). */
#define CY_MAX_SCALAR 4096

struct cy_ctx {
	const char *file; /* for messages */
	yaml_document_t *doc;
	struct mf_config *cfg; /* arena and warnings */
	struct mf_err *err;
	char where[256]; /* "accounts.work": prefixes key names */
};

/* One allowed key of a mapping. */
struct cy_key {
	const char *name;
};

/* Node helpers (NULL-safe: a NULL node is "absent"). */
yaml_node_t *cy_node(struct cy_ctx *c, int index);
bool cy_is_null(const yaml_node_t *n);
struct config_pos cy_pos(const yaml_node_t *n);

/*
 * "FILE:LINE:COL: what (where.key)" at node n; always returns -1.
 * cy_fail_val also shows the scalar value: "(where.key: value)".
 */
int cy_fail(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	    const char *fmt, ...) MF_PRINTF(4, 5);
int cy_fail_val(struct cy_ctx *c, const yaml_node_t *n, const char *key,
		const char *fmt, ...) MF_PRINTF(4, 5);
/* Add "FILE:LINE:COL: what (where.key)" to cfg->warnings. */
void cy_warn(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	     const char *fmt, ...) MF_PRINTF(4, 5);

/* Append a copy of text to cfg->warnings (at most 100 are kept). */
void cy_add_warning(struct mf_config *cfg, const char *text);
/* "a mapping", "a list", "a string" or "nothing", for messages. */
const char *cy_type_name(const yaml_node_t *n);

/*
 * Check that map is a mapping whose keys are non-empty plain strings from
 * keys (NULL-terminated), each at most once.  keys == NULL allows any name
 * (a section of user-chosen names).  what names the mapping in messages.
 */
int cy_check_map(struct cy_ctx *c, const yaml_node_t *map,
		 const char *const *keys, const char *what);
/* The value for key in a checked mapping, or NULL. */
yaml_node_t *cy_lookup(struct cy_ctx *c, const yaml_node_t *map,
		       const char *key, yaml_node_t **key_node_r);

/* Scalars. */
int cy_str(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	   const char **val_r);
int cy_path(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	    const char **val_r);
int cy_bool(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	    bool *val_r);
int cy_uint(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	    uint64_t min, uint64_t max, uint64_t *val_r);
/* One of names[] (NULL-terminated); *val_r is its index. */
int cy_enum(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	    const char *const *names, unsigned *val_r);
/*
 * A list of non-empty strings (a single string counts as a list of one).
 * The array and strings live in the arena.
 */
int cy_list(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	    const char ***items_r, size_t *nitems_r, yaml_node_t **node_r);
/* The item nodes of the list found by cy_list (for per-item messages). */
yaml_node_t *cy_list_item(struct cy_ctx *c, const yaml_node_t *list, size_t i);

/* Scalar text of a node checked to be a scalar without NUL bytes. */
int cy_scalar(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	      const char **val_r);

/*
 * Expand "~", "~/", "$VAR", "${VAR}" and "${VAR:-default}" in path.
 * On failure *what_r says why ("$VAR is not set") in a static or arena
 * string and -1 is returned.
 */
int cy_expand_path(struct mf_arena *a, const char *path, const char **out_r,
		   const char **what_r);

/* $HOME, else the password database; NULL if neither knows. */
const char *cy_home(void);

/* Closest name within edit distance 2, or NULL. */
const char *cy_suggest(const char *word, const char *const *names);
/* Optimal string alignment distance, capped at cap + 1. */
unsigned cy_edit_distance(const char *a, const char *b, unsigned cap);

/*
 * The sections, one entry each (config-account.c, config.c,
 * config-channel.c).  name is the entry's key node; c->where is set to
 * "section.name" by the caller.
 */
int cfg_parse_account(struct cy_ctx *c, const yaml_node_t *name,
		      const yaml_node_t *map, struct config_account *acct);
int cfg_parse_maildir(struct cy_ctx *c, const yaml_node_t *name,
		      const yaml_node_t *map, struct config_maildir *md);
int cfg_parse_channel(struct cy_ctx *c, const yaml_node_t *name,
		      const yaml_node_t *map, struct config_channel *ch);

#endif
