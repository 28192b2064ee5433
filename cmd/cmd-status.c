/*
 * mailferry status [CHANNEL...]
 *
 * What the last sync of each channel recorded, read from its state
 * database (state_dir/CHANNEL.db) without touching the network: per folder
 * pair the two names, the messages recorded, the pending actions (rows a
 * run journaled and did not confirm: it was interrupted) and the time of
 * the last complete sync, then a total line per channel.  The databases are
 * opened read-only and read in one snapshot, so status can run while a sync
 * is writing.
 *
 * Exit codes: 2 for an unknown channel (nothing is printed then), 5 when a
 * state database cannot be read (the other channels are still shown).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "cmd-json.h"
#include "cmd.h"
#include "config.h"
#include "state.h"

/* Column widths stop growing here; a longer name just pushes its row. */
#define NAME_WIDTH_MAX 40

struct channel_total {
	size_t nboxes;
	uint64_t messages;
	uint64_t pending;
	uint64_t placeholders; /* messages max_size left as placeholders */
	int64_t last_sync;     /* newest of the folder pairs */
};

/* Folder names come from the server: no terminal escapes on our output. */
static const char *
safe(char *buf, size_t size, const char *name)
{
	return mf_str_sanitize(buf, size, name, strlen(name));
}

/* Width on a terminal, counting UTF-8 sequences as one column each. */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
print_padded(const char *s, size_t width)
{
	size_t w = text_width(s);

	fputs(s, stdout);
	for (; w < width; w++)
		fputc(' ', stdout);
}

static const char *
format_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return "never";
	if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "@%" PRId64, t);
	return buf;
}

/* Counts of one folder pair, read inside the caller's snapshot. */
struct box_counts {
	uint64_t messages;
	uint64_t pending;
	uint64_t placeholders;
};

static int
print_boxes(struct state_db *db, const struct state_box_list *boxes,
	    struct channel_total *total, struct mf_err *err)
{
	struct box_counts *counts = calloc(boxes->n + 1, sizeof(*counts));
	char far[512], near[512], when[64];
	size_t i, far_w = 3, near_w = 4; /* "FAR", "NEAR" */

	if (counts == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "out of memory");
	for (i = 0; i < boxes->n; i++) {
		const struct state_box *b = &boxes->v[i];
		size_t w;

		if (state_msg_count(db, b->id, &counts[i].messages, err) < 0 ||
		    state_msg_count_pending(db, b->id, &counts[i].pending,
					    err) < 0 ||
		    state_msg_count_placeholders(db, b->id,
						 &counts[i].placeholders,
						 err) < 0) {
			free(counts);
			return -1;
		}
		w = text_width(safe(far, sizeof(far), b->far_name));
		if (w > far_w)
			far_w = w < NAME_WIDTH_MAX ? w : NAME_WIDTH_MAX;
		w = text_width(safe(near, sizeof(near), b->near_name));
		if (w > near_w)
			near_w = w < NAME_WIDTH_MAX ? w : NAME_WIDTH_MAX;
	}

	fputs("  ", stdout);
	print_padded("FAR", far_w + 2);
	print_padded("NEAR", near_w + 2);
	printf("%10s %8s  %s\n", "MESSAGES", "PENDING", "LAST SYNC");
	for (i = 0; i < boxes->n; i++) {
		const struct state_box *b = &boxes->v[i];

		fputs("  ", stdout);
		print_padded(safe(far, sizeof(far), b->far_name), far_w + 2);
		print_padded(safe(near, sizeof(near), b->near_name),
			     near_w + 2);
		printf("%10" PRIu64 " %8" PRIu64 "  %s\n", counts[i].messages,
		       counts[i].pending,
		       format_time(when, sizeof(when), b->last_sync));
		total->messages += counts[i].messages;
		total->pending += counts[i].pending;
		total->placeholders += counts[i].placeholders;
		if (b->last_sync > total->last_sync)
			total->last_sync = b->last_sync;
	}
	total->nboxes = boxes->n;
	free(counts);
	return 0;
}

static void
print_total(const char *label, const struct channel_total *t)
{
	char when[64];

	printf("%s%zu folder pair%s, %" PRIu64 " message%s, %" PRIu64
	       " pending action%s, last sync %s\n",
	       label, t->nboxes, t->nboxes == 1 ? "" : "s", t->messages,
	       t->messages == 1 ? "" : "s", t->pending,
	       t->pending == 1 ? "" : "s",
	       format_time(when, sizeof(when), t->last_sync));
}

/*
 * One channel.  Returns 0, or -1 with err set when its state cannot be
 * read; a missing database is not an error but a channel never synced.
 */
static int
show_channel(const struct mf_config *cfg, const struct config_channel *ch,
	     struct channel_total *total, struct mf_err *err)
{
	/* the name stores_state_path() gives; not called, because stores.c
	 * would drag both store drivers into every binary linking status */
	char *path = xasprintf("%s/%s.db", cfg->state_dir, ch->name);
	struct state_box_list *boxes = NULL;
	struct state_db *db = NULL;
	int ret = -1;

	memset(total, 0, sizeof(*total));
	if (state_open(path, true, &db, err) < 0) {
		if (err->sys_errno == ENOENT) {
			printf("%s: never synced\n", ch->name);
			ret = 0;
		}
		goto out;
	}
	/* one read snapshot: a sync committing meanwhile cannot make the
	 * counts disagree with the list */
	if (state_begin(db, err) < 0 || state_box_list(db, &boxes, err) < 0)
		goto out;
	if (boxes->n == 0) {
		printf("%s: never synced\n", ch->name);
		ret = 0;
		goto out;
	}
	printf("%s: %s\n", ch->name, path);
	if (print_boxes(db, boxes, total, err) < 0)
		goto out;
	print_total("  total: ", total);
	if (total->pending != 0)
		printf("  (a run was interrupted; the next sync of %s "
		       "finishes it)\n",
		       ch->name);
	if (total->placeholders != 0)
		printf("  %" PRIu64 " placeholder%s of large messages "
		       "(\"mailferry fetch %s\" downloads them)\n",
		       total->placeholders, total->placeholders == 1 ? "" : "s",
		       ch->name);
	ret = 0;
out:
	if (db != NULL)
		state_rollback(db);
	state_box_list_free(&boxes);
	state_close(&db);
	free(path);
	return ret;
}

static bool
wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc == 0)
		return true;
	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int
cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct mf_config *cfg = ctx->cfg;
	struct channel_total all = { 0 }, one;
	size_t i, k, nshown = 0;
	int c, ret = MF_EXIT_OK;
	const char *hint;

	optind = 0; /* glibc: restart getopt for the command's argv */
	while ((c = getopt(argc, argv, "+h")) != -1) {
		fprintf(c == 'h' ? stdout : stderr,
			"usage: mailferry status [--json] [CHANNEL...]\n");
		return c == 'h' ? MF_EXIT_OK : MF_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;

	/* every name must be a channel before anything is shown */
	for (i = 0; i < (size_t)argc; i++) {
		if (config_find_channel(cfg, argv[i]) != NULL)
			continue;
		fprintf(stderr,
			"mailferry: status: no channel '%s' "
			"(channels:",
			argv[i]);
		for (k = 0; k < cfg->nchannels; k++)
			fprintf(stderr, " %s", cfg->channels[k].name);
		fputs(cfg->nchannels == 0 ? " none)\n" : ")\n", stderr);
		hint = config_suggest(cfg, argv[i], CONFIG_NAME_CHANNEL);
		if (hint != NULL)
			fprintf(stderr, "mailferry: did you mean '%s'?\n",
				hint);
		ret = MF_EXIT_USAGE;
	}
	if (ret != MF_EXIT_OK)
		return ret;

	for (i = 0; i < cfg->nchannels; i++) {
		const struct config_channel *ch = &cfg->channels[i];
		struct mf_err err = { 0 };

		if (!wanted(ch->name, argc, argv))
			continue;
		if (ctx->json) {
			if (status_json_channel(cfg, ch, &err) < 0)
				ret = cmd_fail(&err);
			continue;
		}
		if (show_channel(cfg, ch, &one, &err) < 0) {
			fflush(stdout);
			ret = cmd_fail(&err);
			continue;
		}
		nshown++;
		all.nboxes += one.nboxes;
		all.messages += one.messages;
		all.pending += one.pending;
		if (one.last_sync > all.last_sync)
			all.last_sync = one.last_sync;
	}
	if (nshown > 1)
		print_total("all channels: ", &all);
	return ret;
}
