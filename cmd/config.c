/*
 * Loading the configuration: read the file (bounded), let libyaml build the
 * document, walk the schema (top level and maildir stores here, accounts in
 * config-account.c, channels in config-channel.c) and report the first
 * problem as "FILE:LINE:COL: what (where)".
 *
 * The document API is used rather than events: it resolves aliases into
 * references to one node (no copies, so an "alias bomb" costs no memory),
 * and the schema walk never descends further than the schema itself.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base/arena.h"
#include "base/xalloc.h"
#include "config-keys.h"
#include "config-yaml.h"

/* A configuration is a few KiB; anything larger is the wrong file. */
#define CONFIG_MAX_SIZE (1024 * 1024)
/* The schema nests 4 deep; anchors are for sharing an account or two. */
#define CONFIG_MAX_DEPTH 32
#define CONFIG_MAX_ANCHORS 1000

/* In the order of enum mdir_layout. */
static const char *const layout_names[] = { "fs", "maildir++", NULL };

char *
config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = cy_home();

	/* XDG Base Directory spec: a relative value is to be ignored */
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/mailferry/config.yaml", xdg);
	return xasprintf("%s/.config/mailferry/config.yaml",
			 home != NULL ? home : "");
}

/* Channel names become file names (CHANNEL.db) and CLI arguments. */
static bool
valid_name(const char *s)
{
	size_t i;

	if (s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("._-@+", s[i]) == NULL)
			return false;
	return true;
}

static int
maildir_entry(struct cy_ctx *c, const yaml_node_t *name, const yaml_node_t *map,
	      void *entry)
{
	struct config_maildir *md = entry;

	md->name = mf_arena_strdup(c->cfg->arena,
				   (const char *)name->data.scalar.value);
	md->pos = cy_pos(name);
	md->mdir.name = md->name;
	if (config_find_account(c->cfg, md->name) != NULL)
		return cy_fail(c, name, NULL,
			       "'%s' is already the name of an "
			       "account; names must differ",
			       md->name);
	return cfg_parse_maildir(c, name, map, md);
}

int
cfg_parse_maildir(struct cy_ctx *c, const yaml_node_t *name,
		  const yaml_node_t *map, struct config_maildir *md)
{
	unsigned layout = MDIR_LAYOUT_FS;
	bool fsync = true;
	int ret;

	if (cy_check_map(c, map, config_key_names(CONFIG_SEC_STORE),
			 "a store") < 0)
		return -1;
	ret = cy_path(c, map, "maildir", &md->mdir.path);
	if (ret == 0)
		return cy_fail(c, name, NULL,
			       "store needs 'maildir' (its "
			       "directory)");
	if (ret < 0 || cy_enum(c, map, "layout", layout_names, &layout) < 0 ||
	    cy_str(c, map, "trash", &md->mdir.trash) < 0 ||
	    cy_bool(c, map, "fsync", &fsync) < 0)
		return -1;
	md->mdir.layout = (enum mdir_layout)layout;
	md->mdir.no_fsync = !fsync;
	return 0;
}

static int
account_entry(struct cy_ctx *c, const yaml_node_t *name, const yaml_node_t *map,
	      void *entry)
{
	struct config_account *acct = entry;

	acct->name = mf_arena_strdup(c->cfg->arena,
				     (const char *)name->data.scalar.value);
	acct->pos = cy_pos(name);
	return cfg_parse_account(c, name, map, acct);
}

static int
channel_entry(struct cy_ctx *c, const yaml_node_t *name, const yaml_node_t *map,
	      void *entry)
{
	struct config_channel *ch = entry;

	ch->name = mf_arena_strdup(c->cfg->arena,
				   (const char *)name->data.scalar.value);
	ch->pos = cy_pos(name);
	return cfg_parse_channel(c, name, map, ch);
}

typedef int entry_fn(struct cy_ctx *c, const yaml_node_t *name,
		     const yaml_node_t *map, void *entry);

/*
 * One section of named entries.  *n_r grows as entries are parsed, so the
 * entries seen so far can be looked up (and config_free() never meets a
 * half-built array: everything is in the arena anyway).
 */
static int
parse_section(struct cy_ctx *c, const yaml_node_t *root, const char *section,
	      size_t size, entry_fn *fn, void **entries_r, size_t *n_r)
{
	const yaml_node_t *sec = cy_lookup(c, root, section, NULL);
	const yaml_node_pair_t *p;
	unsigned char *entries;

	*n_r = 0;
	if (sec == NULL || cy_is_null(sec))
		return 0;
	snprintf(c->where, sizeof(c->where), "%s", section);
	if (cy_check_map(c, sec, NULL, section) < 0)
		return -1;
	entries = mf_arena_alloc(c->cfg->arena,
				 (size_t)(sec->data.mapping.pairs.top -
					  sec->data.mapping.pairs.start) *
						 size +
					 1);
	*entries_r = entries;
	for (p = sec->data.mapping.pairs.start; p < sec->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = cy_node(c, p->key), *v = cy_node(c, p->value);
		const char *name = (const char *)k->data.scalar.value;

		snprintf(c->where, sizeof(c->where), "%s.%s", section, name);
		if (!valid_name(name))
			return cy_fail(c, k, NULL,
				       "bad name '%s': use "
				       "letters, digits and . _ - @ +",
				       name);
		if (v == NULL || cy_is_null(v))
			return cy_fail(c, k, NULL, "'%s' has no settings",
				       name);
		if (fn(c, k, v,
		       entries + (size_t)(p - sec->data.mapping.pairs.start) *
					 size) < 0)
			return -1;
		(*n_r)++;
	}
	c->where[0] = '\0';
	return 0;
}

static int
default_state_dir(struct cy_ctx *c, const yaml_node_t *root)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = cy_home();
	char *dir;

	if (xdg != NULL && xdg[0] == '/')
		dir = xasprintf("%s/mailferry", xdg);
	else if (home != NULL)
		dir = xasprintf("%s/.local/state/mailferry", home);
	else
		return cy_fail(c, root, NULL,
			       "no home directory; set "
			       "state_dir");
	c->cfg->state_dir = mf_arena_strdup(c->cfg->arena, dir);
	free(dir);
	return 0;
}

static int
parse_top(struct cy_ctx *c, const yaml_node_t *root)
{
	struct mf_config *cfg = c->cfg;
	void *accounts = NULL, *maildirs = NULL, *channels = NULL;
	int ret;

	if (root->type != YAML_MAPPING_NODE)
		return cy_fail(c, root, NULL,
			       "the configuration must be a "
			       "mapping with accounts:, stores: and "
			       "channels:, not %s",
			       cy_type_name(root));
	if (cy_check_map(c, root, config_key_names(CONFIG_SEC_TOP),
			 "the configuration") < 0)
		return -1;
	ret = cy_path(c, root, "state_dir", &cfg->state_dir);
	if (ret < 0 || (ret == 0 && default_state_dir(c, root) < 0))
		return -1;
	/* in this order: stores and channels look up what came before */
	if (parse_section(c, root, "accounts", sizeof(*cfg->accounts),
			  account_entry, &accounts, &cfg->naccounts) < 0)
		return -1;
	cfg->accounts = accounts;
	if (parse_section(c, root, "stores", sizeof(*cfg->maildirs),
			  maildir_entry, &maildirs, &cfg->nmaildirs) < 0)
		return -1;
	cfg->maildirs = maildirs;
	if (parse_section(c, root, "channels", sizeof(*cfg->channels),
			  channel_entry, &channels, &cfg->nchannels) < 0)
		return -1;
	cfg->channels = channels;
	if (cfg->naccounts == 0)
		return cy_fail(c, root, NULL,
			       "no accounts defined (accounts: "
			       "is required)");
	return 0;
}

/* 0-based line and column of byte offset in text. */
static void
offset_to_mark(const char *text, size_t len, size_t offset, size_t *line_r,
	       size_t *col_r)
{
	size_t i, line = 0, col = 0;

	for (i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 0;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			col++; /* count characters, not UTF-8 bytes */
		}
	}
	*line_r = line;
	*col_r = col;
}

/* The byte at 0-based line and character column, or -1. */
static int
byte_at(const char *text, size_t len, size_t line, size_t col)
{
	size_t i = 0;

	for (; line > 0 && i < len; i++)
		if (text[i] == '\n')
			line--;
	for (; i < len; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue;
		if (col-- == 0)
			return (unsigned char)text[i];
	}
	return -1;
}

static int
yaml_fail(struct cy_ctx *c, const yaml_parser_t *p, const char *text,
	  size_t len)
{
	size_t line = p->problem_mark.line, col = p->problem_mark.column;
	const char *problem = p->problem != NULL ? p->problem : "bad YAML";
	const char *hint = "";

	if (p->error == YAML_MEMORY_ERROR)
		return mf_err_set(c->err, MF_E_CONFIG,
				  "%s: out of memory "
				  "while parsing",
				  c->file);
	/* the reader reports a byte offset, not a mark */
	if (p->error == YAML_READER_ERROR)
		offset_to_mark(text, len, p->problem_offset, &line, &col);
	if (byte_at(text, len, line, col) == '\t')
		hint = "; YAML does not allow tabs here, use spaces";
	if (p->context != NULL)
		return mf_err_set(c->err, MF_E_CONFIG,
				  "%s:%zu:%zu: %s%s "
				  "(%s)",
				  c->file, line + 1, col + 1, problem, hint,
				  p->context);
	return mf_err_set(c->err, MF_E_CONFIG, "%s:%zu:%zu: %s%s", c->file,
			  line + 1, col + 1, problem, hint);
}

static const unsigned char *
event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

/*
 * libyaml's scanner and loader are quadratic in the nesting depth (each
 * token rechecks the simple keys of every open level) and in the number of
 * anchors (aliases are resolved by a linear search): 1 MiB of '[' takes
 * minutes.  This first pass over the events is linear and stops such input
 * before the loader sees it; syntax errors are reported here too.
 */
static int
prescan(struct cy_ctx *c, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned depth = 0, anchors = 0;
	int ret = 1;

	if (!yaml_parser_initialize(&parser))
		return mf_err_set(c->err, MF_E_CONFIG, "%s: out of memory",
				  c->file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (ret > 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ret = yaml_fail(c, &parser, text, len);
			break;
		}
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			 ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		if (event_anchor(&ev) != NULL)
			anchors++;
		if (ev.type == YAML_STREAM_END_EVENT)
			ret = 0;
		else if (depth > CONFIG_MAX_DEPTH)
			ret = mf_err_set(c->err, MF_E_CONFIG,
					 "%s:%zu:%zu: "
					 "nested deeper than %d levels",
					 c->file, ev.start_mark.line + 1,
					 ev.start_mark.column + 1,
					 CONFIG_MAX_DEPTH);
		else if (anchors > CONFIG_MAX_ANCHORS)
			ret = mf_err_set(c->err, MF_E_CONFIG,
					 "%s:%zu:%zu: "
					 "more than %d anchors",
					 c->file, ev.start_mark.line + 1,
					 ev.start_mark.column + 1,
					 CONFIG_MAX_ANCHORS);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* A stream of several documents is a mistake, not a feature, here. */
static int
check_single_doc(struct cy_ctx *c, yaml_parser_t *parser, const char *text,
		 size_t len)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = 0;

	if (!yaml_parser_load(parser, &doc))
		return yaml_fail(c, parser, text, len);
	root = yaml_document_get_root_node(&doc);
	if (root != NULL)
		ret = cy_fail(c, root, NULL,
			      "only one YAML document is "
			      "allowed (remove the '---' line)");
	yaml_document_delete(&doc);
	return ret;
}

static int
load_yaml(struct mf_config *cfg, const char *text, size_t len,
	  struct mf_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct cy_ctx c = {
		.file = cfg->path, .doc = &doc, .cfg = cfg, .err = err
	};
	int ret;

	if (len > CONFIG_MAX_SIZE)
		return mf_err_set(err, MF_E_CONFIG,
				  "%s: larger than %d "
				  "bytes; is this the right file?",
				  cfg->path, CONFIG_MAX_SIZE);
	if (prescan(&c, text, len) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		return mf_err_set(err, MF_E_CONFIG, "%s: out of memory",
				  cfg->path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = yaml_fail(&c, &parser, text, len);
		yaml_parser_delete(&parser);
		return ret;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		ret = mf_err_set(err, MF_E_CONFIG,
				 "%s:1:1: the configuration "
				 "is empty (expected accounts:, stores: and "
				 "channels:)",
				 cfg->path);
	else
		ret = check_single_doc(&c, &parser, text, len);
	if (ret == 0)
		ret = parse_top(&c, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

int
config_load_string(const char *name, const char *text, size_t len,
		   struct mf_config **cfg_r, struct mf_err *err)
{
	struct mf_config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->arena = mf_arena_create(8192);
	cfg->path = mf_arena_strdup(cfg->arena, name);
	if (load_yaml(cfg, text, len, err) < 0) {
		config_free(&cfg);
		*cfg_r = NULL;
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

/* The whole file, at most CONFIG_MAX_SIZE + 1 bytes (so "too big" shows). */
static int
read_file(const char *path, char **text_r, size_t *len_r, mode_t *mode_r,
	  struct mf_err *err)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 && errno == ENOENT)
		return mf_err_set(err, MF_E_CONFIG,
				  "%s: no such file (write "
				  "one, see mailferry(1), or pass -c FILE)",
				  path);
	if (fd < 0)
		return mf_err_sys(err, MF_E_CONFIG, "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mf_err_set(err, MF_E_CONFIG, "%s: not a regular file",
				  path);
	}
	buf = xmalloc(CONFIG_MAX_SIZE + 2);
	while (len <= CONFIG_MAX_SIZE) {
		n = read(fd, buf + len, CONFIG_MAX_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0) {
		mf_err_sys(err, MF_E_CONFIG, "%s: read", path);
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	buf[len] = '\0';
	*text_r = buf;
	*len_r = len;
	*mode_r = st.st_mode;
	return 0;
}

int
config_load(const char *path, struct mf_config **cfg_r, struct mf_err *err)
{
	char *text = NULL, line[1024];
	size_t len = 0, i;
	mode_t mode = 0;
	int ret;

	*cfg_r = NULL;
	if (read_file(path, &text, &len, &mode, err) < 0)
		return -1;
	ret = config_load_string(path, text, len, cfg_r, err);
	free(text);
	if (ret < 0 || (mode & 077) == 0)
		return ret;
	for (i = 0; i < (*cfg_r)->naccounts; i++) {
		if ((*cfg_r)->accounts[i].password == NULL)
			continue;
		snprintf(line, sizeof(line),
			 "%s: holds a password and is "
			 "readable by others; run chmod 600 %s",
			 path, path);
		cy_add_warning(*cfg_r, line);
		break;
	}
	return 0;
}

void
config_free(struct mf_config **cfg)
{
	if (*cfg == NULL)
		return;
	mf_arena_destroy(&(*cfg)->arena);
	free(*cfg);
	*cfg = NULL;
}

const struct config_channel *
config_find_channel(const struct mf_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nchannels; i++)
		if (strcmp(cfg->channels[i].name, name) == 0)
			return &cfg->channels[i];
	return NULL;
}

const struct config_account *
config_find_account(const struct mf_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->naccounts; i++)
		if (strcmp(cfg->accounts[i].name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}

const struct config_maildir *
config_find_maildir(const struct mf_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nmaildirs; i++)
		if (strcmp(cfg->maildirs[i].name, name) == 0)
			return &cfg->maildirs[i];
	return NULL;
}

const char *
config_suggest(const struct mf_config *cfg, const char *word, unsigned kinds)
{
	size_t n = cfg->nchannels + cfg->naccounts + cfg->nmaildirs, k = 0, i;
	const char **names = xcalloc(n + 1, sizeof(*names));
	const char *hint;

	if (kinds & CONFIG_NAME_CHANNEL)
		for (i = 0; i < cfg->nchannels; i++)
			names[k++] = cfg->channels[i].name;
	if (kinds & CONFIG_NAME_ACCOUNT)
		for (i = 0; i < cfg->naccounts; i++)
			names[k++] = cfg->accounts[i].name;
	if (kinds & CONFIG_NAME_STORE)
		for (i = 0; i < cfg->nmaildirs; i++)
			names[k++] = cfg->maildirs[i].name;
	names[k] = NULL;
	hint = cy_suggest(word, names);
	free(names);
	return hint;
}
