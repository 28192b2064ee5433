/*
 * Parsing the pairs file of migrate --batch (format in batch-file.h).
 *
 * A line is cut into fields by hand (no shell, no wordexp: the file comes
 * from whoever exported the account list, and nothing in it may run), and
 * each field checked, so that every mistake is reported with its FILE:LINE
 * before the first migration starts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "batch-file.h"

/* The fields of a line, before they are checked. */
struct raw_line {
	char *src, *dst, *name;
	char *secret[2][3]; /* [src/dst][command, env, oauth] */
	char *ca_file[2];
};

static const char *const cred_keys[3] = { "password_command", "password_env",
					  "oauth_token_command" };

static void
raw_free(struct raw_line *r)
{
	size_t s, k;

	free(r->src);
	free(r->dst);
	free(r->name);
	for (s = 0; s < 2; s++) {
		for (k = 0; k < 3; k++)
			free(r->secret[s][k]);
		free(r->ca_file[s]);
	}
	memset(r, 0, sizeof(*r));
}

static void
side_free(struct batch_side *s)
{
	free(s->host);
	free(s->user);
	free(s->secret);
	free(s->ca_file);
	memset(s, 0, sizeof(*s));
}

void
batch_file_free(struct batch_file *bf)
{
	size_t i;

	for (i = 0; i < bf->npairs; i++) {
		free(bf->pairs[i].name);
		side_free(&bf->pairs[i].src);
		side_free(&bf->pairs[i].dst);
	}
	free(bf->pairs);
	bf->pairs = NULL;
	bf->npairs = 0;
}

/*
 * The next field of the line at *p (up to end): its text, unquoted, in a
 * new string in *out, or NULL at the end of the line or at a comment.
 */
static int
next_field(const char **p, const char *end, char **out, const char **why)
{
	const char *s = *p;
	size_t cap = 64, n = 0;
	bool quoted = false;
	char *buf;

	*out = NULL;
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	if (s == end || *s == '#') {
		*p = end;
		return 0;
	}
	buf = xmalloc(cap);
	for (; s < end; s++) {
		char ch = *s;

		if (!quoted && (ch == ' ' || ch == '\t' || ch == '\r'))
			break;
		if (ch == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && ch == '\\' && s + 1 < end &&
		    (s[1] == '"' || s[1] == '\\'))
			ch = *++s;
		if (n + 2 > cap)
			buf = xrealloc(buf, cap *= 2);
		buf[n++] = ch;
	}
	buf[n] = '\0';
	*p = s;
	if (quoted) {
		free(buf);
		*why = "a double quote is not closed";
		return -1;
	}
	*out = buf;
	return 0;
}

/* Store value under key in r; *why says what is wrong with it. */
static int
take_field(struct raw_line *r, const char *key, const char *val,
	   const char **why)
{
	char **slot = NULL;
	size_t s, k;

	if (strcmp(key, "src") == 0)
		slot = &r->src;
	else if (strcmp(key, "dst") == 0)
		slot = &r->dst;
	else if (strcmp(key, "name") == 0)
		slot = &r->name;
	for (s = 0; s < 2 && slot == NULL; s++) {
		const char *pre = s == 0 ? "src_" : "dst_";

		if (strncmp(key, pre, 4) != 0)
			continue;
		for (k = 0; k < 3; k++)
			if (strcmp(key + 4, cred_keys[k]) == 0)
				slot = &r->secret[s][k];
		if (strcmp(key + 4, "ca_file") == 0)
			slot = &r->ca_file[s];
	}
	if (slot == NULL) {
		*why = NULL;
		return -1;
	}
	if (*slot != NULL) {
		*why = "given twice";
		return -1;
	}
	*slot = xstrdup(val);
	return 0;
}

/* %XX in a user name (alice%40example.com); NULL when malformed. */
static char *
unpercent(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			char hex[3] = { 0 };

			if (i + 2 >= len)
				goto bad;
			if (!isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				goto bad;
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* imaps://USER@HOST[:PORT][/] into side; *why when it is not one. */
static int
parse_url(const char *url, struct batch_side *side, const char **why)
{
	const char *rest, *at, *colon, *end;
	unsigned long port;
	char *e;

	if (strncmp(url, "imaps://", 8) == 0) {
		rest = url + 8;
		side->port = 993;
	} else if (strncmp(url, "imap://", 7) == 0) {
		rest = url + 7;
		side->port = 143;
		side->starttls = true;
	} else {
		*why = "is not imaps://USER@HOST[:PORT] or imap://...";
		return -1;
	}
	end = rest + strlen(rest);
	if (end > rest && end[-1] == '/')
		end--;
	at = NULL;
	for (const char *q = rest; q < end; q++)
		if (*q == '@')
			at = q; /* the last: a user may be alice@example.com */
	if (at == NULL || at == rest) {
		*why = "has no user (imaps://USER@HOST)";
		return -1;
	}
	side->user = unpercent(rest, (size_t)(at - rest));
	if (side->user == NULL) {
		*why = "has a bad %XX in the user";
		return -1;
	}
	colon = memchr(at + 1, ':', (size_t)(end - at - 1));
	if (colon != NULL) {
		errno = 0;
		port = strtoul(colon + 1, &e, 10);
		if (e != end || colon + 1 == end || port == 0 || port > 65535 ||
		    errno != 0) {
			*why = "has a bad port";
			return -1;
		}
		side->port = (unsigned)port;
	} else {
		colon = end;
	}
	if (colon == at + 1 || memchr(at + 1, '/', (size_t)(colon - at - 1))) {
		*why = "has no host, or a path (a whole account is copied)";
		return -1;
	}
	side->host = xstrndup(at + 1, (size_t)(colon - at - 1));
	return 0;
}

static bool
name_ok(const char *s)
{
	if (s[0] == '\0' || s[0] == '.' || strlen(s) > 200)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._@+-", *s) == NULL)
			return false;
	return true;
}

static char *
absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || path[0] == '~' ||
	    getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* The checked side s (0 src, 1 dst) of raw r. */
static int
make_side(struct raw_line *r, int s, struct batch_side *side, const char *where,
	  struct mf_err *err)
{
	const char *sname = s == 0 ? "src" : "dst", *why = NULL;
	const char *url = s == 0 ? r->src : r->dst;
	size_t k;

	if (url == NULL)
		return mf_err_set(err, MF_E_USAGE, "%s: no %s=", where, sname);
	if (parse_url(url, side, &why) < 0)
		return mf_err_set(err, MF_E_USAGE, "%s: %s=%s %s", where, sname,
				  url, why);
	for (k = 0; k < 3; k++) {
		if (r->secret[s][k] == NULL)
			continue;
		if (side->cred != BATCH_CRED_NONE)
			return mf_err_set(err, MF_E_USAGE,
					  "%s: more than one credential for "
					  "%s; keep one",
					  where, sname);
		side->cred = (enum batch_cred)(k + 1);
		side->secret = r->secret[s][k];
		r->secret[s][k] = NULL;
	}
	if (side->cred == BATCH_CRED_NONE)
		return mf_err_set(err, MF_E_USAGE,
				  "%s: no credential for %s (%s_password_"
				  "command, %s_password_env or "
				  "%s_oauth_token_command)",
				  where, sname, sname, sname, sname);
	if (side->cred == BATCH_CRED_ENV) {
		const char *v = side->secret;

		if (v[0] == '\0' || isdigit((unsigned char)v[0]))
			return mf_err_set(err, MF_E_USAGE,
					  "%s: %s_password_env must be the "
					  "name of a variable",
					  where, sname);
		for (; *v != '\0'; v++)
			if (!isalnum((unsigned char)*v) && *v != '_')
				return mf_err_set(err, MF_E_USAGE,
						  "%s: %s_password_env must be "
						  "the name of a variable "
						  "(no $)",
						  where, sname);
	}
	if (r->ca_file[s] != NULL)
		side->ca_file = absolute(r->ca_file[s]);
	return 0;
}

/* The fields of one line into r; 0 with nothing for an empty line. */
static int
split_line(const char *line, const char *end, struct raw_line *r,
	   const char *where, struct mf_err *err)
{
	const char *p = line, *why = NULL;
	char *field, *eq;

	for (;;) {
		if (next_field(&p, end, &field, &why) < 0)
			return mf_err_set(err, MF_E_USAGE, "%s: %s", where,
					  why);
		if (field == NULL)
			return 0;
		eq = strchr(field, '=');
		if (eq == NULL || eq == field) {
			mf_err_set(err, MF_E_USAGE, "%s: '%s' is not key=value",
				   where, field);
			free(field);
			return -1;
		}
		*eq = '\0';
		if (strcmp(field, "password") == 0 ||
		    strcmp(field, "src_password") == 0 ||
		    strcmp(field, "dst_password") == 0) {
			mf_err_set(err, MF_E_USAGE,
				   "%s: %s: a clear-text password is refused; "
				   "use %s_command or %s_env",
				   where, field, field, field);
			free(field);
			return -1;
		}
		if (take_field(r, field, eq + 1, &why) < 0) {
			if (why == NULL)
				mf_err_set(err, MF_E_USAGE,
					   "%s: unknown field '%s'", where,
					   field);
			else
				mf_err_set(err, MF_E_USAGE, "%s: %s %s", where,
					   field, why);
			free(field);
			return -1;
		}
		free(field);
	}
}

/* Default name: the source's user@host, made safe. */
static char *
default_name(const struct batch_side *src)
{
	char *n = xasprintf("%s@%s", src->user, src->host), *q;

	for (q = n; *q != '\0'; q++)
		if (!isalnum((unsigned char)*q) && strchr("._@+-", *q) == NULL)
			*q = '_';
	if (n[0] == '.')
		n[0] = '_';
	return n;
}

/* One non-empty line into pair; 1 when it was blank or a comment. */
static int
parse_line(const char *line, const char *end, const char *where,
	   struct batch_pair *pair, struct mf_err *err)
{
	struct raw_line r;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	memset(pair, 0, sizeof(*pair));
	if (split_line(line, end, &r, where, err) < 0)
		goto out;
	if (r.src == NULL && r.dst == NULL && r.name == NULL &&
	    r.secret[0][0] == NULL && r.secret[0][1] == NULL &&
	    r.secret[0][2] == NULL && r.secret[1][0] == NULL &&
	    r.secret[1][1] == NULL && r.secret[1][2] == NULL &&
	    r.ca_file[0] == NULL && r.ca_file[1] == NULL) {
		ret = 1;
		goto out;
	}
	if (make_side(&r, 0, &pair->src, where, err) < 0 ||
	    make_side(&r, 1, &pair->dst, where, err) < 0)
		goto out;
	if (r.name != NULL && !name_ok(r.name)) {
		mf_err_set(err, MF_E_USAGE,
			   "%s: name=%s: letters, digits and ._@+- only, not "
			   "starting with '.'",
			   where, r.name);
		goto out;
	}
	pair->name = r.name != NULL ? xstrdup(r.name) :
				      default_name(&pair->src);
	ret = 0;
out:
	if (ret != 0) {
		side_free(&pair->src);
		side_free(&pair->dst);
	}
	raw_free(&r);
	return ret;
}

int
batch_file_parse(const char *path, const char *text, size_t len,
		 struct batch_file *bf, struct mf_err *err)
{
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	size_t cap = 0, i;

	memset(bf, 0, sizeof(*bf));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		struct batch_pair pair;
		char where[512];
		int ret;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
			mf_err_set(err, MF_E_USAGE, "%s: a NUL byte", where);
			goto fail;
		}
		ret = parse_line(p, eol, where, &pair, err);
		p = nl != NULL ? nl + 1 : end;
		if (ret < 0)
			goto fail;
		if (ret > 0)
			continue;
		pair.line = lineno;
		for (i = 0; i < bf->npairs; i++) {
			if (strcmp(bf->pairs[i].name, pair.name) != 0)
				continue;
			mf_err_set(err, MF_E_USAGE,
				   "%s: name %s already used on line %u; give "
				   "name=",
				   where, pair.name, bf->pairs[i].line);
			free(pair.name);
			side_free(&pair.src);
			side_free(&pair.dst);
			goto fail;
		}
		if (bf->npairs == cap) {
			cap = cap ? cap * 2 : 16;
			bf->pairs = xreallocarray(bf->pairs, cap,
						  sizeof(*bf->pairs));
		}
		bf->pairs[bf->npairs++] = pair;
	}
	if (bf->npairs == 0)
		return mf_err_set(err, MF_E_USAGE, "%s: no account pair", path);
	return 0;
fail:
	batch_file_free(bf);
	return -1;
}

int
batch_file_load(const char *path, struct batch_file *bf, struct mf_err *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int ret;

	memset(bf, 0, sizeof(*bf));
	if (f == NULL)
		return mf_err_sys(err, MF_E_USAGE, "--batch %s", path);
	do {
		if (len + 4096 > cap)
			text = xrealloc(text, cap = cap * 2 + 4096);
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return mf_err_sys(err, MF_E_USAGE, "--batch %s: read", path);
	}
	fclose(f);
	ret = batch_file_parse(path, text, len, bf, err);
	free(text);
	return ret;
}
