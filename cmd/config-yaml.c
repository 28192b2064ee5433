/*
 * Typed access to the libyaml document for config.c: every value is checked
 * for its type, range and spelling here, and every failure names the file,
 * the line and the column of the node that caused it.
 */
#include "config-yaml.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/suggest.h"

/* Longest warning list kept; more would only repeat themselves. */
#define CY_MAX_WARNINGS 100
/* Longest expanded path (PATH_MAX on Linux). */
#define CY_MAX_PATH 4096
/* Longest key or variable name looked at; keys are far shorter. */
#define CY_MAX_WORD 64

yaml_node_t *
cy_node(struct cy_ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

bool
cy_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

struct config_pos
cy_pos(const yaml_node_t *n)
{
	struct config_pos pos = { 1, 1 };

	/* libyaml counts from 0; editors and compilers from 1 */
	if (n != NULL) {
		pos.line = (unsigned)n->start_mark.line + 1;
		pos.col = (unsigned)n->start_mark.column + 1;
	}
	return pos;
}

/* "where.key", "where" or "key" into buf. */
static const char *
key_path(const struct cy_ctx *c, const char *key, char *buf, size_t size)
{
	if (c->where[0] != '\0' && key != NULL)
		snprintf(buf, size, "%s.%s", c->where, key);
	else
		snprintf(buf, size, "%s", key != NULL ? key : c->where);
	return buf;
}

/* A short, printable copy of a scalar for messages. */
static const char *
show_value(const yaml_node_t *n, char *buf, size_t size)
{
	size_t len;

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	len = n->data.scalar.length;
	mf_str_sanitize(buf, size, (const char *)n->data.scalar.value, len);
	if (len >= size - 1 && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

static int fail_v(struct cy_ctx *c, const yaml_node_t *n, const char *key,
		  bool value, const char *fmt, va_list ap) MF_PRINTF(5, 0);

static int
fail_v(struct cy_ctx *c, const yaml_node_t *n, const char *key, bool value,
       const char *fmt, va_list ap)
{
	char what[512], path[300], val[64];
	struct config_pos pos = cy_pos(n);
	const char *shown = value ? show_value(n, val, sizeof(val)) : NULL;

	vsnprintf(what, sizeof(what), fmt, ap);
	key_path(c, key, path, sizeof(path));
	if (path[0] == '\0')
		return mf_err_set(c->err, MF_E_CONFIG, "%s:%u:%u: %s", c->file,
				  pos.line, pos.col, what);
	if (shown != NULL)
		return mf_err_set(c->err, MF_E_CONFIG, "%s:%u:%u: %s (%s: %s)",
				  c->file, pos.line, pos.col, what, path,
				  shown);
	return mf_err_set(c->err, MF_E_CONFIG, "%s:%u:%u: %s (%s)", c->file,
			  pos.line, pos.col, what, path);
}

int
cy_fail(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(c, n, key, false, fmt, ap);
	va_end(ap);
	return -1;
}

int
cy_fail_val(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(c, n, key, true, fmt, ap);
	va_end(ap);
	return -1;
}

void
cy_add_warning(struct mf_config *cfg, const char *text)
{
	const char **list;

	if (cfg->nwarnings >= CY_MAX_WARNINGS)
		return;
	/* the arena cannot grow an array: copy, the list stays tiny */
	list = mf_arena_alloc(cfg->arena, (cfg->nwarnings + 1) * sizeof(*list));
	if (cfg->nwarnings > 0)
		memcpy(list, cfg->warnings, cfg->nwarnings * sizeof(*list));
	list[cfg->nwarnings++] = mf_arena_strdup(cfg->arena, text);
	cfg->warnings = list;
}

void
cy_warn(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	const char *fmt, ...)
{
	char what[512], path[300], line[1024];
	struct config_pos pos = cy_pos(n);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	key_path(c, key, path, sizeof(path));
	snprintf(line, sizeof(line), "%s:%u:%u: %s (%s)", c->file, pos.line,
		 pos.col, what, path);
	cy_add_warning(c->cfg, line);
}

const char *
cy_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return cy_is_null(n) ? "nothing" : "a string";
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

static bool
has_nul(const yaml_node_t *n)
{
	return memchr(n->data.scalar.value, '\0', n->data.scalar.length) !=
	       NULL;
}

/* The key of pair i, checked to be a usable name. */
static int
check_key(struct cy_ctx *c, const yaml_node_t *map, const yaml_node_pair_t *p,
	  const char **name_r)
{
	yaml_node_t *k = cy_node(c, p->key);
	char shown[64];

	if (k == NULL || k->type != YAML_SCALAR_NODE)
		return cy_fail(c, k != NULL ? k : map, NULL,
			       "a key must be a plain string, not %s",
			       k != NULL ? cy_type_name(k) : "nothing");
	if (k->data.scalar.length == 0 || cy_is_null(k))
		return cy_fail(c, k, NULL, "empty key");
	if (has_nul(k) || k->data.scalar.length > CY_MAX_WORD)
		return cy_fail(c, k, NULL, "key '%s' is not a valid name",
			       show_value(k, shown, sizeof(shown)));
	if (strcmp((const char *)k->data.scalar.value, "<<") == 0)
		return cy_fail(c, k, NULL,
			       "merge keys (<<) are not "
			       "supported; repeat the settings instead");
	*name_r = (const char *)k->data.scalar.value;
	return 0;
}

static bool
key_allowed(const char *name, const char *const *keys)
{
	size_t i;

	if (keys == NULL)
		return true;
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], name) == 0)
			return true;
	return false;
}

static int
unknown_key(struct cy_ctx *c, const yaml_node_t *k, const char *name,
	    const char *const *keys)
{
	const char *hint = cy_suggest(name, keys);

	if (hint != NULL)
		return cy_fail(c, k, name,
			       "unknown key '%s', did you mean "
			       "'%s'?",
			       name, hint);
	return cy_fail(c, k, name, "unknown key '%s'", name);
}

int
cy_check_map(struct cy_ctx *c, const yaml_node_t *map, const char *const *keys,
	     const char *what)
{
	const yaml_node_pair_t *p, *q;
	size_t n;

	if (map->type != YAML_MAPPING_NODE)
		return cy_fail(c, map, NULL,
			       "%s must be a mapping "
			       "(key: value), not %s",
			       what, cy_type_name(map));
	n = (size_t)(map->data.mapping.pairs.top -
		     map->data.mapping.pairs.start);
	if (n > CY_MAX_ENTRIES)
		return cy_fail(c, map, NULL, "%s has more than %d entries",
			       what, CY_MAX_ENTRIES);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *name = NULL, *prev;

		if (check_key(c, map, p, &name) < 0)
			return -1;
		if (!key_allowed(name, keys))
			return unknown_key(c, cy_node(c, p->key), name, keys);
		/* earlier keys are already checked, so they are strings */
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			prev = (const char *)cy_node(c, q->key)
				       ->data.scalar.value;
			if (strcmp(prev, name) == 0)
				return cy_fail(c, cy_node(c, p->key), name,
					       "duplicate key '%s' (first at "
					       "line %u)",
					       name,
					       cy_pos(cy_node(c, q->key)).line);
		}
	}
	return 0;
}

yaml_node_t *
cy_lookup(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	  yaml_node_t **key_node_r)
{
	const yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = cy_node(c, p->key);

		if (strcmp((const char *)k->data.scalar.value, key) == 0) {
			if (key_node_r != NULL)
				*key_node_r = k;
			return cy_node(c, p->value);
		}
	}
	return NULL;
}

int
cy_scalar(struct cy_ctx *c, const yaml_node_t *n, const char *key,
	  const char **val_r)
{
	if (n->type != YAML_SCALAR_NODE)
		return cy_fail(c, n, key, "expected a string, found %s",
			       cy_type_name(n));
	if (cy_is_null(n))
		return cy_fail(c, n, key, "missing value");
	if (has_nul(n))
		return cy_fail(c, n, key, "NUL character in value");
	if (n->data.scalar.length > CY_MAX_SCALAR)
		return cy_fail(c, n, key, "value longer than %d bytes",
			       CY_MAX_SCALAR);
	*val_r = (const char *)n->data.scalar.value;
	return 0;
}

/* The value of key: 0 absent, 1 present scalar in *val_r, -1 error. */
static int
get_scalar(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	   const char **val_r, yaml_node_t **node_r)
{
	yaml_node_t *kn = NULL, *n = cy_lookup(c, map, key, &kn);

	if (n == NULL)
		return 0;
	/* "key:" with nothing after it: point at the key, not the void */
	if (cy_is_null(n) && n->type == YAML_SCALAR_NODE)
		return cy_fail(c, kn, key, "missing value");
	if (cy_scalar(c, n, key, val_r) < 0)
		return -1;
	*node_r = n;
	return 1;
}

int
cy_str(struct cy_ctx *c, const yaml_node_t *map, const char *key,
       const char **val_r)
{
	yaml_node_t *n;
	const char *v;
	int ret = get_scalar(c, map, key, &v, &n);

	if (ret <= 0)
		return ret;
	if (v[0] == '\0')
		return cy_fail(c, n, key, "empty value");
	*val_r = mf_arena_strdup(c->cfg->arena, v);
	return 1;
}

int
cy_path(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	const char **val_r)
{
	yaml_node_t *n;
	const char *v, *out, *what;
	int ret = get_scalar(c, map, key, &v, &n);

	if (ret <= 0)
		return ret;
	if (v[0] == '\0')
		return cy_fail(c, n, key, "empty path");
	if (cy_expand_path(c->cfg->arena, v, &out, &what) < 0)
		return cy_fail_val(c, n, key, "%s", what);
	if (out[0] != '/')
		return cy_fail_val(c, n, key,
				   "path must be absolute (start "
				   "with /, ~/ or $HOME)");
	*val_r = out;
	return 1;
}

int
cy_bool(struct cy_ctx *c, const yaml_node_t *map, const char *key, bool *val_r)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	yaml_node_t *n;
	const char *v;
	size_t i;
	int ret = get_scalar(c, map, key, &v, &n);

	if (ret <= 0)
		return ret;
	for (i = 0; i < MF_N_ELEMENTS(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*val_r = true;
			return 1;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*val_r = false;
			return 1;
		}
	}
	return cy_fail_val(c, n, key, "expected true or false");
}

int
cy_uint(struct cy_ctx *c, const yaml_node_t *map, const char *key, uint64_t min,
	uint64_t max, uint64_t *val_r)
{
	yaml_node_t *n;
	const char *v;
	uint64_t val;
	size_t len, digits;
	int ret = get_scalar(c, map, key, &v, &n);

	if (ret <= 0)
		return ret;
	len = strlen(v);
	digits = strspn(v, "0123456789");
	if (len == 0 ||
	    (digits != len && !(v[0] == '-' && len > 1 &&
				strspn(v + 1, "0123456789") == len - 1)))
		return cy_fail_val(c, n, key, "expected a number");
	/* a negative number or one past UINT64_MAX is simply out of range */
	if (v[0] == '-' || !mf_str_to_u64(v, len, &val) || val < min ||
	    val > max)
		return cy_fail_val(c, n, key,
				   "must be a number from %" PRIu64
				   " to %" PRIu64,
				   min, max);
	*val_r = val;
	return 1;
}

/* "a, b or c" into buf. */
static void
join_names(const char *const *names, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && len < size; i++) {
		const char *sep = i == 0	       ? "" :
				  names[i + 1] == NULL ? " or " :
							 ", ";
		int w = snprintf(buf + len, size - len, "%s%s", sep, names[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int
cy_enum(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	const char *const *names, unsigned *val_r)
{
	yaml_node_t *n;
	const char *v, *hint;
	char list[256];
	unsigned i;
	int ret = get_scalar(c, map, key, &v, &n);

	if (ret <= 0)
		return ret;
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], v) == 0) {
			*val_r = i;
			return 1;
		}
	}
	join_names(names, list, sizeof(list));
	hint = cy_suggest(v, names);
	if (hint != NULL)
		return cy_fail_val(c, n, key,
				   "%s must be %s; did you mean "
				   "'%s'?",
				   key, list, hint);
	return cy_fail_val(c, n, key, "%s must be %s", key, list);
}

int
cy_list(struct cy_ctx *c, const yaml_node_t *map, const char *key,
	const char ***items_r, size_t *nitems_r, yaml_node_t **node_r)
{
	yaml_node_t *kn = NULL, *n = cy_lookup(c, map, key, &kn);
	const char **items;
	size_t i, count;

	if (n == NULL)
		return 0;
	if (cy_is_null(n))
		return cy_fail(c, kn, key, "missing value");
	if (n->type == YAML_MAPPING_NODE)
		return cy_fail(c, n, key, "expected a list, found a mapping");
	count = n->type == YAML_SCALAR_NODE ?
			1 :
			(size_t)(n->data.sequence.items.top -
				 n->data.sequence.items.start);
	if (count > CY_MAX_ENTRIES)
		return cy_fail(c, n, key, "more than %d items", CY_MAX_ENTRIES);
	items = mf_arena_alloc(c->cfg->arena, (count + 1) * sizeof(*items));
	for (i = 0; i < count; i++) {
		yaml_node_t *item = cy_list_item(c, n, i);
		const char *v;

		if (item == NULL || cy_scalar(c, item, key, &v) < 0)
			return item == NULL ? cy_fail(c, n, key, "bad list") :
					      -1;
		if (v[0] == '\0')
			return cy_fail(c, item, key, "empty list item");
		items[i] = mf_arena_strdup(c->cfg->arena, v);
	}
	*items_r = items;
	*nitems_r = count;
	if (node_r != NULL)
		*node_r = n;
	return 1;
}

yaml_node_t *
cy_list_item(struct cy_ctx *c, const yaml_node_t *list, size_t i)
{
	if (list->type == YAML_SCALAR_NODE)
		return (yaml_node_t *)list;
	return cy_node(c, list->data.sequence.items.start[i]);
}

/* ---- path expansion --------------------------------------------------- */

static bool
is_name_char(char ch, bool first)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       ch == '_' || (!first && ch >= '0' && ch <= '9');
}

/*
 * Expand one "$NAME", "${NAME}" or "${NAME:-default}" at s (s[0] == '$')
 * into b; *end_r is the first byte after it.
 */
static int
expand_var(struct mf_arena *a, const char *s, struct mf_buf *b,
	   const char **end_r, const char **what_r)
{
	const char *name = s + 1, *def = NULL, *end, *val;
	size_t nlen = 0, dlen = 0;
	char var[CY_MAX_WORD + 1], *msg;
	bool braced = s[1] == '{';

	if (braced)
		name++;
	while (is_name_char(name[nlen], nlen == 0))
		nlen++;
	end = name + nlen;
	if (braced) {
		if (end[0] == ':' && end[1] == '-') {
			def = end + 2;
			dlen = strcspn(def, "}");
			end = def + dlen;
		}
		if (*end != '}' || nlen == 0) {
			*what_r = "bad ${...}: expected ${NAME} or "
				  "${NAME:-default}";
			return -1;
		}
		end++;
	}
	if (nlen > CY_MAX_WORD) {
		*what_r = "environment variable name too long";
		return -1;
	}
	memcpy(var, name, nlen);
	var[nlen] = '\0';
	val = getenv(var);
	*end_r = end;
	if (val == NULL || (def != NULL && val[0] == '\0')) {
		if (def != NULL)
			return mf_buf_append(b, def, dlen, NULL);
		msg = mf_arena_alloc(a, nlen + 64);
		snprintf(msg, nlen + 64, "environment variable %s is not set",
			 var);
		*what_r = msg;
		return -1;
	}
	return mf_buf_append_str(b, val, NULL);
}

const char *
cy_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && home[0] != '\0')
		return home;
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] != '\0')
		return pw->pw_dir;
	return NULL;
}

/* "~" or "~/..." at the start of path. */
static int
expand_home(const char *path, struct mf_buf *b, const char **rest_r,
	    const char **what_r)
{
	const char *home;

	if (path[0] != '~') {
		*rest_r = path;
		return 0;
	}
	if (path[1] != '\0' && path[1] != '/') {
		*what_r = "~user is not supported; write the full path";
		return -1;
	}
	home = cy_home();
	if (home == NULL) {
		*what_r = "~ needs $HOME, which is not set";
		return -1;
	}
	*rest_r = path + 1;
	return mf_buf_append_str(b, home, NULL);
}

int
cy_expand_path(struct mf_arena *a, const char *path, const char **out_r,
	       const char **what_r)
{
	struct mf_buf b;
	const char *s;
	int ret = -1;

	mf_buf_init(&b, CY_MAX_PATH);
	*what_r = "path too long after expansion";
	if (expand_home(path, &b, &s, what_r) < 0)
		goto out;
	while (*s != '\0') {
		size_t lit = strcspn(s, "$");

		if (mf_buf_append(&b, s, lit, NULL) < 0)
			goto out;
		s += lit;
		if (*s == '\0')
			break;
		/* a '$' that starts no variable stays a '$' */
		if (s[1] != '{' && !is_name_char(s[1], true)) {
			if (mf_buf_append(&b, "$", 1, NULL) < 0)
				goto out;
			s++;
			continue;
		}
		if (expand_var(a, s, &b, &s, what_r) < 0)
			goto out;
	}
	*out_r = mf_arena_strndup(a, b.data != NULL ? b.data : "", b.len);
	ret = 0;
out:
	mf_buf_deinit(&b);
	return ret;
}

/* ---- suggestions ------------------------------------------------------ */

unsigned
cy_edit_distance(const char *a, const char *b, unsigned cap)
{
	return mf_edit_distance(a, b, cap);
}

const char *
cy_suggest(const char *word, const char *const *names)
{
	return mf_suggest(word, names, (size_t)-1);
}
