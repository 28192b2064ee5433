/*
 * mailferry fetch [CHANNEL[:FOLDER]...]
 *
 * Replace the placeholders that max_size left on the near side by the full
 * messages (sync/fetch.h has the order that makes it crash-safe).  Takes
 * the channel lock like sync, and works only from the state database: a
 * folder never synced has no placeholders.  With -n it only counts them,
 * from the state alone.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cancel.h"
#include "cmd.h"
#include "config.h"
#include "fetch.h"
#include "state.h"
#include "stores.h"
#include "targets.h"

struct out_ctx {
	const char *channel;
	int verbosity;
};

static void
print_report(void *vctx, const struct fetch_box_report *r)
{
	const struct out_ctx *ctx = vctx;
	char name[1024], msg[4 * sizeof(r->err.msg)];

	cmd_shown(name, sizeof(name), r->far_name);
	cmd_shown(msg, sizeof(msg), r->err.msg);
	if (r->box_failed) {
		fprintf(stderr, "mailferry: %s: %s: %s\n", ctx->channel, name,
			msg);
		return;
	}
	if (r->failed > 0)
		fprintf(stderr, "mailferry: %s: %s: %zu not fetched: %s\n",
			ctx->channel, name, r->failed, msg);
	if (ctx->verbosity < 0)
		return;
	printf("%s: %s: fetched %zu", ctx->channel, name, r->fetched);
	if (r->left > 0)
		printf(", %zu placeholders left", r->left);
	printf("\n");
}

static bool
named(const struct target *t, const struct state_box *b)
{
	size_t i;

	if (t->nonly == 0)
		return true;
	for (i = 0; i < t->nonly; i++)
		if (strcmp(t->only[i], b->far_name) == 0 ||
		    strcmp(t->only[i], b->near_name) == 0)
			return true;
	return false;
}

/* -n: what a fetch would download, per folder, without any network. */
static int
fetch_dry(const struct target *t, const char *path, struct mf_err *err)
{
	struct state_box_list *boxes = NULL;
	struct state_db *db = NULL;
	size_t i;
	int ret = -1;

	if (state_open(path, true, &db, err) < 0 || state_begin(db, err) < 0 ||
	    state_box_list(db, &boxes, err) < 0)
		goto out;
	for (i = 0; i < boxes->n; i++) {
		uint64_t n = 0;

		if (!named(t, &boxes->v[i]))
			continue;
		if (state_msg_count_placeholders(db, boxes->v[i].id, &n, err) <
		    0)
			goto out;
		if (n > 0)
			printf("%s: %s: would fetch %" PRIu64 "\n", t->ch->name,
			       boxes->v[i].far_name, n);
	}
	ret = 0;
out:
	if (db != NULL)
		state_rollback(db);
	state_box_list_free(&boxes);
	state_close(&db);
	return ret;
}

/* 0: done (or dry-run listed), 1: the channel never synced, -1: err */
static int
fetch_target(struct cmd_ctx *ctx, const struct target *t,
	     struct fetch_summary *sum, struct mf_err *err)
{
	const struct config_channel *ch = t->ch;
	struct out_ctx out = { ch->name, ctx->verbosity };
	struct mf_store *far = NULL, *near = NULL;
	struct state_db *db = NULL;
	struct fetch_opts o = { 0 };
	char *path = NULL;
	int lock = -1, ret = -1;

	path = stores_state_path(ctx->cfg, ch);
	if (access(path, F_OK) != 0) {
		/* never synced: nothing can be a placeholder yet */
		free(path);
		return 1;
	}
	if (ctx->dry_run) {
		ret = fetch_dry(t, path, err);
		goto out;
	}
	if (targets_lock(ctx->cfg, ch, &lock, err) < 0 ||
	    state_open(path, false, &db, err) < 0)
		goto out;
	if (stores_open_channel(ch, STORES_TIDY, &far, &near, err) < 0)
		goto out;
	o.channel = ch->name;
	o.far = far;
	o.near = near;
	o.db = db;
	o.only = t->only;
	o.nonly = t->nonly;
	o.report = print_report;
	o.ctx = &out;
	ret = fetch_run(&o, sum, err);
out:
	if (ret < 0)
		mf_err_prefix(err, "%s", ch->name);
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	state_close(&db);
	if (lock >= 0)
		close(lock);
	free(path);
	return ret;
}

int
cmd_fetch(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct target *targets = NULL;
	struct mf_err err = { 0 };
	size_t n = 0, i;
	int c, code = MF_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		if (c != 'n') {
			fprintf(stderr, "usage: mailferry fetch [-n] "
					"[CHANNEL[:FOLDER]...]\n");
			return MF_EXIT_USAGE;
		}
		ctx->dry_run = true;
	}
	if (targets_parse(ctx->cfg, argc - optind, argv + optind, &targets, &n,
			  &err) < 0)
		return cmd_fail(&err);
	for (i = 0; i < n; i++) {
		struct fetch_summary sum = { 0 };
		bool ran = true;
		int r;

		mf_err_clear(&err);
		r = fetch_target(ctx, &targets[i], &sum, &err);
		if (r > 0) {
			/* a total here would read as a fetch that ran */
			ran = false;
			if (ctx->verbosity >= 0)
				printf("%s: never synced: nothing to fetch\n",
				       targets[i].ch->name);
		} else if (r < 0) {
			int rc = cmd_fail(&err);

			if (code == MF_EXIT_OK || code == MF_EXIT_PARTIAL)
				code = rc;
			ran = false;
		} else if (sum.boxes_failed > 0 || sum.failed > 0) {
			if (code == MF_EXIT_OK)
				code = MF_EXIT_PARTIAL;
		}
		/* as in sync: no success-looking total after an error */
		if (ran && ctx->verbosity >= 0 && !ctx->dry_run)
			printf("%s: fetched %zu placeholders%s\n",
			       targets[i].ch->name, sum.fetched,
			       sum.failed ? ", with failures" : "");
		free(targets[i].only);
		if (mf_cancel_signal() != 0)
			break; /* the channels after it are not begun */
	}
	for (i++; i < n; i++)
		free(targets[i].only);
	free(targets);
	if (mf_cancel_signal() != 0)
		code = cmd_exit_stopped();
	return code;
}
