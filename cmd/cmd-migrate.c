/*
 * mailferry migrate [-n] [--verify] SRC DST
 * mailferry migrate [-n] [--verify] CHANNEL
 *
 * Copy a whole account to another, the job people use imapsync for, with
 * no channel to write: SRC and DST are accounts of the configuration (DST
 * may also be a Maildir store, for a backup).  It is a sync of a channel
 * made here, with the migration's policy:
 *
 *   - one way, from SRC: new messages and their flags and keywords;
 *   - SRC is never changed: it is opened through store/readonly.h (every
 *     folder EXAMINEd, every write refused below the engine);
 *   - every folder (patterns "*"), created on DST where missing;
 *   - nothing expunged or removed on either side.
 *
 * Its state lives in state_dir/migrate.SRC.DST.db, so a run stopped (or
 * killed) part way goes on where it stopped, and a second run copies only
 * what is new on SRC.  A DST that already holds some of the mail (a half
 * finished run of another tool) is adopted as a sync adopts a Maildir:
 * messages already there are paired by content identity, not copied
 * again, and one Message-ID with two contents is reported, not paired.
 * With --verify the copy is followed by verify's comparison of the two
 * (cmd-verify.c): the verdict, and exit 1 when anything differs.
 *
 * CHANNEL is a channel of the file with `migrate: true` (config-channel.c
 * sets the same policy): the way to give a migration a folder_map or
 * folder patterns.  Its state is the channel's own (state_dir/CHANNEL.db),
 * and `mailferry sync CHANNEL` does the same.
 *
 * --batch FILE [--jobs N] runs many such migrations, one account pair a
 * line of FILE, each in a child process of its own (cmd-batch.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cancel.h"
#include "base/xalloc.h"
#include "cmd.h"
#include "config.h"
#include "progress.h"
#include "targets.h"

static int
migrate_usage(void)
{
	fprintf(stderr, "usage: mailferry migrate [-n] [--verify] "
			"[--progress=auto|always|never] SRC DST|CHANNEL\n"
			"       mailferry migrate --batch FILE [--jobs N] "
			"[--per-server M] [--verify]\n");
	return MF_EXIT_USAGE;
}

/* An account (or, for DST, a store) by name; "did you mean" when not. */
static int
find_side(const struct mf_config *cfg, const char *name, bool store_ok,
	  struct config_side *side, struct mf_err *err)
{
	const char *hint;

	side->account = config_find_account(cfg, name);
	if (side->account != NULL) {
		side->kind = CONFIG_SIDE_ACCOUNT;
		return 0;
	}
	side->maildir = store_ok ? config_find_maildir(cfg, name) : NULL;
	if (side->maildir != NULL) {
		side->kind = CONFIG_SIDE_MAILDIR;
		return 0;
	}
	hint = config_suggest(cfg, name,
			      CONFIG_NAME_ACCOUNT |
				      (store_ok ? CONFIG_NAME_STORE : 0));
	return mf_err_set(err, MF_E_USAGE, "migrate: no %s '%s' in %s%s%s%s",
			  store_ok ? "account or store" : "account", name,
			  cfg->path, hint ? "; did you mean '" : "",
			  hint ? hint : "", hint ? "'?" : "");
}

/* The run and its verdict, for a channel made here or one of the file. */
static int
migrate_run(struct cmd_ctx *ctx, const struct config_channel *ch,
	    const char *src, struct cmd_sync_opts *so, bool verify)
{
	struct target t = { 0 };
	size_t held_back = 0;
	bool changed = false;
	int code;

	t.ch = ch;
	code = cmd_sync_channel(ctx, &t, so, &held_back, &changed);
	/* the verdict: every source message on DST, with its flags */
	if (verify && !ctx->dry_run && code == MF_EXIT_OK &&
	    mf_cancel_signal() == 0)
		code = cmd_verify_target(ctx, &t);
	if (mf_cancel_signal() != 0)
		code = cmd_exit_stopped();
	else if (code == MF_EXIT_OK && ctx->verbosity >= 0 && !ctx->json)
		printf("%s: %s: SRC %s unchanged (read-only); run it again "
		       "to copy what is new since\n",
		       ch->name, ctx->dry_run ? "planned" : "done", src);
	return code;
}

/* migrate CHANNEL: a channel with migrate: true */
static int
migrate_channel(struct cmd_ctx *ctx, const char *name, struct cmd_sync_opts *so,
		bool verify)
{
	const struct config_channel *ch = config_find_channel(ctx->cfg, name);
	const char *hint;

	if (ch == NULL) {
		hint = config_suggest(ctx->cfg, name, CONFIG_NAME_CHANNEL);
		fprintf(stderr,
			"mailferry: migrate: no channel '%s' in %s%s%s%s "
			"(or give two accounts: SRC DST)\n",
			name, ctx->cfg->path, hint ? "; did you mean '" : "",
			hint ? hint : "", hint ? "'?" : "");
		return MF_EXIT_USAGE;
	}
	if (!ch->migrate) {
		fprintf(stderr,
			"mailferry: migrate: channel '%s' is not a migration: "
			"add 'migrate: true' to it (%s:%u), or use "
			"mailferry sync\n",
			name, ctx->cfg->path, ch->pos.line);
		return MF_EXIT_USAGE;
	}
	return migrate_run(ctx, ch, ch->far.account->name, so, verify);
}

/* Long because the options, the batch hand-off and the channel's policy
 * read best in one place. */
int
cmd_migrate(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "progress", required_argument, NULL, 'P' },
		{ "verify", no_argument, NULL, 'V' },
		{ "batch", required_argument, NULL, 'B' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "per-server", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const all[] = { "*" };
	enum progress_mode pmode = PROGRESS_AUTO;
	struct cmd_sync_opts so = { PROGRESS_AUTO, false, true };
	struct config_channel ch;
	struct mf_err err = { 0 };
	bool verify = false;
	const char *batch = NULL;
	unsigned long jobs = 0, per_server = 0;
	char *name, *end;
	int c, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		if (c == 'n') {
			ctx->dry_run = true;
		} else if (c == 'V') {
			verify = true;
		} else if (c == 'B') {
			batch = optarg;
		} else if (c == 'j') {
			jobs = strtoul(optarg, &end, 10);
			if (*end != '\0' || jobs == 0 ||
			    jobs > BATCH_MAX_JOBS) {
				fprintf(stderr,
					"mailferry: migrate: --jobs: 1 to %d\n",
					BATCH_MAX_JOBS);
				return MF_EXIT_USAGE;
			}
		} else if (c == 'S') {
			per_server = strtoul(optarg, &end, 10);
			if (*end != '\0' || per_server == 0 ||
			    per_server > 2 * BATCH_MAX_JOBS) {
				fprintf(stderr,
					"mailferry: migrate: --per-server: 1 "
					"to %d\n",
					2 * BATCH_MAX_JOBS);
				return MF_EXIT_USAGE;
			}
		} else if (c == 'P' &&
			   progress_mode_parse(optarg, &pmode) == 0) {
			so.progress = pmode;
		} else {
			return migrate_usage();
		}
	}
	if (batch != NULL) {
		if (argc != optind || ctx->dry_run) {
			fprintf(stderr, "mailferry: migrate --batch: no SRC, "
					"DST or -n with it\n");
			return migrate_usage();
		}
		return cmd_migrate_batch(ctx, batch, jobs ? (unsigned)jobs : 1,
					 (unsigned)per_server, verify);
	}
	if (ctx->json) {
		fprintf(stderr, "mailferry: migrate: --json: with --batch "
				"only\n");
		return MF_EXIT_USAGE;
	}
	if (per_server != 0) {
		fprintf(stderr, "mailferry: migrate: --per-server: with "
				"--batch only\n");
		return MF_EXIT_USAGE;
	}
	if (argc - optind == 1 && jobs == 0 && ctx->cfg != NULL)
		return migrate_channel(ctx, argv[optind], &so, verify);
	if (argc - optind != 2 || jobs != 0 || ctx->cfg == NULL)
		return migrate_usage();
	memset(&ch, 0, sizeof(ch));
	if (find_side(ctx->cfg, argv[optind], false, &ch.far, &err) < 0 ||
	    find_side(ctx->cfg, argv[optind + 1], true, &ch.near, &err) < 0)
		return cmd_fail(&err);
	if (strcmp(argv[optind], argv[optind + 1]) == 0) {
		fprintf(stderr, "mailferry: migrate: SRC and DST are the same "
				"account\n");
		return MF_EXIT_USAGE;
	}
	/* names are [A-Za-z0-9._@+-] (config.c): a safe state file name */
	name = xasprintf("migrate.%s.%s", argv[optind], argv[optind + 1]);
	ch.name = name;
	ch.pos = ch.far.account->pos;
	ch.far_readonly = true;
	ch.policy.pull = SYNC_NEW | SYNC_FLAGS;
	ch.policy.push = 0;
	ch.policy.expunge = 0;
	ch.policy.create = SYNC_SIDE_NEAR;
	ch.policy.remove = 0;
	ch.policy.folders = all;
	ch.policy.nfolders = 1;
	ch.migrate = true;
	code = migrate_run(ctx, &ch, argv[optind], &so, verify);
	free(name);
	return code;
}
