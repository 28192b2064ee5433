/*
 * mailferry verify [-v] [--json] [CHANNEL[:FOLDER]...]
 *
 * After a sync or a migration: are both sides of each channel the same?
 * Folder by folder, the pairs sync would make (sync/boxes.h, with the state
 * rows when a state database exists), both sides opened read-only
 * (EXAMINE) and scanned for flags, sizes, dates and Message-IDs; the few
 * messages without a Message-ID have their header block read for the
 * engine's identity (sync/ident.h).  Never a body.  The comparison is
 * verify-cmp.h's.
 *
 * It writes nothing: no state database (opened read-only when it exists),
 * no lock, no maildir tidying, no flags.  Run while a sync of the channel
 * is busy it may see that sync half done.
 *
 * Exit codes: 0 when every folder agrees, 1 when anything differs or a
 * folder cannot be read, the usual codes (cmd.h) for a channel that cannot
 * be opened at all.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/cancel.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "cmd.h"
#include "config.h"
#include "flags.h"
#include "ident.h"
#include "json.h"
#include "state.h"
#include "stores.h"
#include "targets.h"
#include "verify-cmp.h"

/* Message-IDs named on a folder's line without -v. */
#define SHOW_IDS 3

struct vctx {
	const struct cmd_ctx *cmd;
	const char *channel;
	size_t folders;
	uint64_t far_total, near_total;
	size_t differences; /* messages, and folders missing on a side */
	bool failed;	    /* a folder could not be read */
};

/* One side of a folder: its scan, with identities filled. */
struct vside {
	struct mf_scan_result *res; /* NULL: the folder is not there */
};

/* The engine's identity of messages without a Message-ID: header only. */
static int
identify(struct mf_store *st, struct mf_scan_result *res, struct mf_err *err)
{
	struct mf_fetch_item *items = xcalloc(res->n + 1, sizeof(*items));
	struct ident_sink *sinks = xcalloc(res->n + 1, sizeof(*sinks));
	size_t *idx = xcalloc(res->n + 1, sizeof(*idx));
	size_t i, n = 0;
	int ret = 0;

	for (i = 0; i < res->n; i++) {
		if (res->msgs[i].msgid != NULL)
			continue;
		ident_sink_init(&sinks[n], NULL);
		items[n].uid = res->msgs[i].uid;
		items[n].key = res->msgs[i].key;
		items[n].sink = &sinks[n].sink;
		items[n].header_only = true;
		idx[n++] = i;
	}
	if (n > 0)
		ret = st->ops->fetch(st, items, n, err);
	for (i = 0; i < n; i++) {
		char id[IDENT_MAX];

		if (ret == 0 && items[i].status == 0) {
			ident_sink_identity(&sinks[i], id);
			res->msgs[idx[i]].msgid = mf_arena_strdup(res->arena,
								  id);
		}
		ident_sink_deinit(&sinks[i]);
	}
	free(items);
	free(sinks);
	free(idx);
	return ret;
}

/*
 * The header fingerprints of messages i of res where want[i]: read for
 * the pairs that share an identity and not a size, whose fingerprints
 * tell a tool's added header from other content (verify-cmp.h).
 */
static int
fingerprint(struct mf_store *st, const char *label, const char *box,
	    struct mf_scan_result *res, const bool *want, struct mf_err *err)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_box_status status;
	struct mf_fetch_item *items = xcalloc(res->n + 1, sizeof(*items));
	struct ident_sink *sinks = xcalloc(res->n + 1, sizeof(*sinks));
	size_t *idx = xcalloc(res->n + 1, sizeof(*idx));
	size_t i, n = 0;
	int ret = 0;

	for (i = 0; i < res->n; i++) {
		if (!want[i])
			continue;
		ident_sink_init(&sinks[n], NULL);
		items[n].uid = res->msgs[i].uid;
		items[n].key = res->msgs[i].key;
		items[n].sink = &sinks[n].sink;
		items[n].header_only = true;
		idx[n++] = i;
	}
	/* scan_box() left this folder open; selecting it again (one
	 * EXAMINE) keeps this from depending on that */
	if (n > 0 && (st->ops->select_box(st, box, &sel, &status, err) < 0 ||
		      st->ops->fetch(st, items, n, err) < 0))
		ret = mf_err_prefix(err, "%s %s: fetch headers", label, box);
	for (i = 0; i < n; i++) {
		char fp[IDENT_FP_MAX];

		if (ret == 0 && items[i].status == 0) {
			ident_fingerprint(sinks[i].hdr.data != NULL ?
						  sinks[i].hdr.data :
						  "",
					  sinks[i].hdr.len, fp);
			if (fp[0] != '\0')
				res->msgs[idx[i]].fp =
					mf_arena_strdup(res->arena, fp);
		}
		ident_sink_deinit(&sinks[i]);
	}
	free(items);
	free(sinks);
	free(idx);
	return ret;
}

static int
scan_box(struct mf_store *st, const char *label, const char *box,
	 struct vside *vs, struct mf_err *err)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_scan_req req = { .want = MF_WANT_FLAGS | MF_WANT_SIZE |
					   MF_WANT_DATE | MF_WANT_MSGID };
	struct mf_box_status status;

	if (st->ops->select_box(st, box, &sel, &status, err) < 0 ||
	    st->ops->scan(st, &req, &vs->res, err) < 0 ||
	    identify(st, vs->res, err) < 0)
		return mf_err_prefix(err, "%s %s", label, box);
	return 0;
}

/* "name", or "far <-> near" when the sides name it apart; sanitized */
static const char *
pair_names(const struct box_pair *p, char *buf, size_t size)
{
	char raw[1024];

	if (p->far_name == NULL || p->near_name == NULL)
		snprintf(raw, sizeof(raw), "%s",
			 p->far_name != NULL ? p->far_name : p->near_name);
	else if (strcmp(p->far_name, p->near_name) == 0)
		snprintf(raw, sizeof(raw), "%s", p->far_name);
	else
		snprintf(raw, sizeof(raw), "%s <-> %s", p->far_name,
			 p->near_name);
	return cmd_shown(buf, size, raw);
}

static const char *
msg_id(const struct verify_diff *d)
{
	const struct mf_msg *m = d->far != NULL ? d->far : d->near;

	return m->msgid != NULL ? m->msgid : "?";
}

/* ", 3 missing on near: <a>, <b>, <c>, ..." */
static void
print_kind(const struct verify_result *r, enum verify_kind k, const char *what,
	   bool *first)
{
	char buf[1024];
	size_t i, shown = 0;

	if (r->count[k] == 0)
		return;
	printf("%s%zu %s", *first ? "" : "; ", r->count[k], what);
	*first = false;
	if (k != VERIFY_MISSING_NEAR && k != VERIFY_MISSING_FAR &&
	    k != VERIFY_CONTENT)
		return;
	for (i = 0; i < r->n && shown < SHOW_IDS; i++) {
		if (r->v[i].kind != k)
			continue;
		printf("%s%s", shown == 0 ? ": " : ", ",
		       cmd_shown(buf, sizeof(buf), msg_id(&r->v[i])));
		shown++;
	}
	if (r->count[k] > shown)
		printf(", ...");
}

/* -v: a line per differing message */
static void
print_each(const struct vctx *c, const char *names,
	   const struct verify_result *r)
{
	char id[1024], fk[64], nk[64];
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct verify_diff *d = &r->v[i];

		printf("%s: %s:   %s %s", c->channel, names,
		       verify_kind_name(d->kind),
		       cmd_shown(id, sizeof(id), msg_id(d)));
		if (d->far != NULL && d->near != NULL) {
			printf(" (far %s",
			       mf_flags_to_maildir(d->far->flags, fk));
			printf(" [%s] %" PRIu64 " %" PRId64 ", near %s",
			       cmd_shown(id, sizeof(id), d->far->keywords),
			       d->far->size, d->far->date,
			       mf_flags_to_maildir(d->near->flags, nk));
			printf(" [%s] %" PRIu64 " %" PRId64 ")",
			       cmd_shown(id, sizeof(id), d->near->keywords),
			       d->near->size, d->near->date);
		}
		printf("\n");
	}
}

static void
print_text(const struct vctx *c, const struct box_pair *p,
	   const struct vside *f, const struct vside *n,
	   const struct verify_result *r, const char *missing)
{
	char names[2048], fn[32] = "-", nn[32] = "-";
	bool first = true;

	pair_names(p, names, sizeof(names));
	if (f->res != NULL)
		snprintf(fn, sizeof(fn), "%zu", f->res->n);
	if (n->res != NULL)
		snprintf(nn, sizeof(nn), "%zu", n->res->n);
	printf("%s: %s: far %s, near %s: ", c->channel, names, fn, nn);
	if (missing != NULL) {
		printf("folder missing on %s", missing);
		first = false;
	}
	print_kind(r, VERIFY_MISSING_NEAR, "missing on near", &first);
	print_kind(r, VERIFY_MISSING_FAR, "missing on far", &first);
	print_kind(r, VERIFY_CONTENT,
		   "with the same Message-ID but other content", &first);
	print_kind(r, VERIFY_FLAGS, "flag differences", &first);
	print_kind(r, VERIFY_KEYWORDS, "keyword differences", &first);
	print_kind(r, VERIFY_DATE, "date differences", &first);
	if (first)
		printf("ok");
	if (r->placeholders > 0)
		printf(" (%zu placeholder%s)", r->placeholders,
		       r->placeholders == 1 ? "" : "s");
	printf("\n");
	if (c->cmd->verbosity > 0)
		print_each(c, names, r);
}

static void
json_diffs(struct json *j, const struct verify_result *r)
{
	size_t i;

	json_key(j, "messages");
	json_arr_open(j);
	for (i = 0; i < r->n; i++) {
		const struct verify_diff *d = &r->v[i];
		const struct mf_msg *m = d->far != NULL ? d->far : d->near;

		json_obj_open(j);
		json_kv_str(j, "kind", verify_kind_name(d->kind));
		json_kv_str(j, "msgid", m->msgid);
		json_kv_uint(j, "size", m->size);
		if (d->far != NULL)
			json_kv_str(j, "far_keywords", d->far->keywords);
		if (d->near != NULL)
			json_kv_str(j, "near_keywords", d->near->keywords);
		json_obj_close(j);
	}
	json_arr_close(j);
}

static void
print_json(const struct vctx *c, const struct box_pair *p,
	   const struct vside *f, const struct vside *n,
	   const struct verify_result *r, const char *missing, size_t ndiff)
{
	struct json j;
	int k;

	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "folder");
	json_kv_str(&j, "channel", c->channel);
	json_kv_str(&j, "far_name", p->far_name);
	json_kv_str(&j, "near_name", p->near_name);
	json_key(&j, "far");
	if (f->res != NULL)
		json_uint(&j, f->res->n);
	else
		json_null(&j);
	json_key(&j, "near");
	if (n->res != NULL)
		json_uint(&j, n->res->n);
	else
		json_null(&j);
	json_kv_str(&j, "missing_folder", missing);
	for (k = 0; k < VERIFY_NKINDS; k++) {
		char key[32];
		size_t i;

		snprintf(key, sizeof(key), "%s", verify_kind_name(k));
		for (i = 0; key[i] != '\0'; i++)
			if (key[i] == '-')
				key[i] = '_';
		json_kv_uint(&j, key, r->count[k]);
	}
	json_kv_uint(&j, "placeholders", r->placeholders);
	json_kv_uint(&j, "differences", ndiff);
	json_kv_bool(&j, "ok", ndiff == 0);
	if (c->cmd->verbosity > 0)
		json_diffs(&j, r);
	json_obj_close(&j);
	json_end(&j);
}

static void
report_failed(struct vctx *c, const struct box_pair *p,
	      const struct mf_err *err)
{
	char names[2048], msg[4 * sizeof(err->msg)];
	struct json j;

	c->failed = true;
	if (!c->cmd->json) {
		fprintf(stderr, "mailferry: %s: %s: %s\n", c->channel,
			pair_names(p, names, sizeof(names)),
			cmd_shown(msg, sizeof(msg), err->msg));
		return;
	}
	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "folder");
	json_kv_str(&j, "channel", c->channel);
	json_kv_str(&j, "far_name", p->far_name);
	json_kv_str(&j, "near_name", p->near_name);
	json_kv_bool(&j, "ok", false);
	json_kv_str(&j, "error", err->msg);
	json_obj_close(&j);
	json_end(&j);
}

/*
 * The pairs that share an identity and not a size: read both header
 * blocks and compare again, so that a copy a tool added a header to is
 * the same message, as for the engine.
 */
static int
recompare(struct vctx *c, struct mf_store *far, struct mf_store *near,
	  const struct box_pair *p, struct vside *f, struct vside *n,
	  const struct verify_opts *opts, struct verify_result *r,
	  struct mf_err *err)
{
	bool *wf = xcalloc(f->res->n + 1, sizeof(*wf));
	bool *wn = xcalloc(n->res->n + 1, sizeof(*wn));
	size_t i;
	int ret = -1;

	(void)c;
	for (i = 0; i < r->n; i++) {
		if (r->v[i].kind != VERIFY_CONTENT)
			continue;
		wf[r->v[i].far - f->res->msgs] = true;
		wn[r->v[i].near - n->res->msgs] = true;
	}
	if (fingerprint(far, "far", p->far_name, f->res, wf, err) < 0 ||
	    fingerprint(near, "near", p->near_name, n->res, wn, err) < 0)
		goto out;
	verify_result_free(r);
	verify_compare(f->res->msgs, f->res->n, n->res->msgs, n->res->n, opts,
		       r);
	ret = 0;
out:
	free(wf);
	free(wn);
	return ret;
}

/* One folder pair.  -1 only when the channel cannot go on (err set). */
static int
verify_pair(struct vctx *c, struct mf_store *far, struct mf_store *near,
	    const struct box_pair *p, struct mf_err *err)
{
	struct vside f = { 0 }, n = { 0 };
	struct verify_opts opts = { 0 };
	struct verify_result r = { 0 };
	struct mf_err berr = { 0 };
	const char *missing = NULL;
	size_t ndiff;
	int ret = 0;

	switch (p->action) {
	case BOX_VANISHED_BOTH:
	case BOX_RENAMED:
	case BOX_FOLDED:
		return 0;
	case BOX_CREATE_NEAR:
	case BOX_SKIP_NEW_FAR:
	case BOX_VANISHED_NEAR:
		missing = "near";
		break;
	case BOX_CREATE_FAR:
	case BOX_SKIP_NEW_NEAR:
	case BOX_VANISHED_FAR:
		missing = "far";
		break;
	case BOX_SYNC:
		break;
	}
	if ((p->far != NULL &&
	     scan_box(far, "far", p->far_name, &f, &berr) < 0) ||
	    (p->near != NULL &&
	     scan_box(near, "near", p->near_name, &n, &berr) < 0)) {
		if (mf_err_is_store_level(berr.cls)) {
			mf_err_copy(err, &berr);
			ret = -1;
		} else {
			report_failed(c, p, &berr);
		}
		goto out;
	}
	opts.keywords = (far->caps & MF_CAP_KEYWORDS) &&
			(near->caps & MF_CAP_KEYWORDS);
	verify_compare(f.res ? f.res->msgs : NULL, f.res ? f.res->n : 0,
		       n.res ? n.res->msgs : NULL, n.res ? n.res->n : 0, &opts,
		       &r);
	if (r.count[VERIFY_CONTENT] > 0) {
		if (recompare(c, far, near, p, &f, &n, &opts, &r, &berr) < 0) {
			if (mf_err_is_store_level(berr.cls)) {
				mf_err_copy(err, &berr);
				ret = -1;
			} else {
				report_failed(c, p, &berr);
			}
			goto out;
		}
	}
	/* an empty folder missing on a side is one difference */
	ndiff = r.n + (missing != NULL && r.n == 0);
	c->folders++;
	c->far_total += f.res ? f.res->n : 0;
	c->near_total += n.res ? n.res->n : 0;
	c->differences += ndiff;
	if (c->cmd->json)
		print_json(c, p, &f, &n, &r, missing, ndiff);
	else if (c->cmd->verbosity >= 0 || ndiff > 0)
		print_text(c, p, &f, &n, &r, missing);
out:
	verify_result_free(&r);
	mf_scan_result_free(&f.res);
	mf_scan_result_free(&n.res);
	return ret;
}

/* The state rows, read-only, when the channel has a state database. */
static int
read_state(const struct cmd_ctx *ctx, const struct config_channel *ch,
	   struct state_box_list **rows_r, struct mf_err *err)
{
	char *path = stores_state_path(ctx->cfg, ch);
	struct state_db *db = NULL;
	int ret = 0;

	*rows_r = NULL;
	if (access(path, F_OK) == 0 && (state_open(path, true, &db, err) < 0 ||
					state_box_list(db, rows_r, err) < 0))
		ret = -1;
	state_close(&db);
	free(path);
	return ret;
}

static int
verify_target(struct vctx *c, const struct target *t, struct mf_err *err)
{
	const struct config_channel *ch = t->ch;
	struct mf_store *far = NULL, *near = NULL;
	struct mf_box_list *flist = NULL, *nlist = NULL;
	struct state_box_list *rows = NULL;
	struct box_plan *plan = NULL;
	size_t i;
	int ret = -1;

	if (read_state(c->cmd, ch, &rows, err) < 0 ||
	    stores_open_channel(ch, STORES_LISTS_FIRST, &far, &near, err) < 0)
		goto out;
	if (far->ops->list_boxes(far, false, &flist, err) < 0) {
		mf_err_prefix(err, "far: list folders");
		goto out;
	}
	if (near->ops->list_boxes(near, false, &nlist, err) < 0) {
		mf_err_prefix(err, "near: list folders");
		goto out;
	}
	if (boxes_plan(flist, nlist, rows, &ch->policy, t->only, t->nonly,
		       &plan, err) < 0)
		goto out;
	for (i = 0; i < plan->n; i++) {
		if (mf_cancel_signal() != 0)
			break;
		if (verify_pair(c, far, near, &plan->v[i], err) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		mf_err_prefix(err, "%s", ch->name);
	boxes_plan_free(&plan);
	mf_box_list_free(&flist);
	mf_box_list_free(&nlist);
	state_box_list_free(&rows);
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	return ret;
}

static void
print_verdict(const struct vctx *c, const struct mf_err *err)
{
	struct json j;

	if (!c->cmd->json) {
		if (err != NULL || c->cmd->verbosity < 0)
			return;
		if (c->differences == 0 && !c->failed)
			printf("%s: all %" PRIu64 " far messages are on near\n",
			       c->channel, c->far_total);
		else
			printf("%s: %zu difference%s%s\n", c->channel,
			       c->differences, c->differences == 1 ? "" : "s",
			       c->failed ? ", and folders that could not be "
					   "read" :
					   "");
		return;
	}
	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "channel");
	json_kv_str(&j, "channel", c->channel);
	json_kv_uint(&j, "folders", c->folders);
	json_kv_uint(&j, "far", c->far_total);
	json_kv_uint(&j, "near", c->near_total);
	json_kv_uint(&j, "differences", c->differences);
	json_kv_bool(&j, "ok",
		     err == NULL && !c->failed && c->differences == 0);
	json_kv_str(&j, "error", err != NULL ? err->msg : NULL);
	json_obj_close(&j);
	json_end(&j);
}

int
cmd_verify_target(struct cmd_ctx *ctx, const struct target *t)
{
	struct vctx vc = { ctx, t->ch->name, 0, 0, 0, 0, false };
	struct mf_err err = { 0 };
	int code = MF_EXIT_OK;
	bool ran;

	ran = verify_target(&vc, t, &err) == 0;
	if (!ran)
		code = cmd_fail(&err);
	else if (vc.differences > 0 || vc.failed)
		code = MF_EXIT_PARTIAL;
	print_verdict(&vc, ran ? NULL : &err);
	fflush(stdout);
	return code;
}

int
cmd_verify(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct target *targets = NULL;
	struct mf_err err = { 0 };
	size_t n = 0, i;
	int c, code = MF_EXIT_OK;

	optind = 1;
	while ((c = getopt(argc, argv, "+v")) != -1) {
		if (c != 'v') {
			fprintf(stderr, "usage: mailferry verify [-v] [--json] "
					"[CHANNEL[:FOLDER]...]\n");
			return MF_EXIT_USAGE;
		}
		ctx->verbosity++;
	}
	if (targets_parse(ctx->cfg, argc - optind, argv + optind, &targets, &n,
			  &err) < 0)
		return cmd_fail(&err);
	for (i = 0; i < n; i++) {
		code = cmd_sync_worse(code,
				      cmd_verify_target(ctx, &targets[i]));
		free(targets[i].only);
		if (mf_cancel_signal() != 0)
			break;
	}
	for (i++; i < n; i++)
		free(targets[i].only);
	free(targets);
	if (mf_cancel_signal() != 0)
		code = cmd_exit_stopped();
	return code;
}
