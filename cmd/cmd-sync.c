/*
 * mailferry sync [-n] [CHANNEL[:FOLDER]...]
 *
 * For each channel: take its lock (one sync per channel at a time), open
 * the state database and both stores, run the engine, print a line per
 * folder that did something and a summary.  With no argument every channel
 * of the configuration is synced.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/cancel.h"
#include "base/xalloc.h"
#include "cmd.h"
#include "config.h"
#include "dry-run.h"
#include "hooks.h"
#include "progress.h"
#include "state.h"
#include "stores.h"
#include "sync-change.h"
#include "sync-json.h"
#include "sync.h"
#include "targets.h"

/* "name", or "far <-> near" when the two sides name the folder apart */
static void
box_raw_names(const struct sync_box_report *r, char *names, size_t size)
{
	/* a folder on one side only has one name (sync.h) */
	if (r->far_name == NULL || r->near_name == NULL)
		snprintf(names, size, "%s",
			 r->far_name != NULL  ? r->far_name :
			 r->near_name != NULL ? r->near_name :
						"?");
	else if (strcmp(r->far_name, r->near_name) == 0)
		snprintf(names, size, "%s", r->far_name);
	else
		snprintf(names, size, "%s <-> %s", r->far_name, r->near_name);
}

struct out_ctx {
	const char *channel;
	int verbosity;
	size_t *held_back; /* deletions the guard held back, all channels */
	struct dry_moves *moves; /* -n: the moves planned (dry-run.h) */
	struct progress *pg;
	char *changed; /* near names of the changed folders, a line each
			* (hooks.h); NULL: none yet */
	struct sync_json_ctx *json; /* --json: the printer instead */
	bool no_actions; /* -n: the folders' plans, not each message's */
};

/* A folder that changed something joins ctx->changed (hooks.h). */
static void
note_changed(struct out_ctx *ctx, const struct sync_box_report *r)
{
	const char *name = r->outcome == SYNC_BOX_RENAMED ?
				   (r->new_near_name != NULL ?
					    r->new_near_name :
					    r->new_far_name) :
			   r->near_name != NULL ? r->near_name :
						  r->far_name;
	char *joined;

	if (r->pulled + r->pushed + r->flags_far + r->flags_near + r->del_far +
			    r->del_near + r->moved + r->placeholders ==
		    0 &&
	    r->outcome != SYNC_BOX_RENAMED && r->outcome != SYNC_BOX_REMOVED)
		return;
	if (name == NULL)
		return;
	joined = ctx->changed == NULL ? xasprintf("%s", name) :
					xasprintf("%s\n%s", ctx->changed, name);
	free(ctx->changed);
	ctx->changed = joined;
}

/* box_raw_names(), sanitized for the terminal (cmd_shown) */
static void
box_names(const struct sync_box_report *r, char *names, size_t size)
{
	char raw[512];

	box_raw_names(r, raw, sizeof(raw));
	cmd_shown(names, size, raw);
}

/* The plan of a dry run (-n). */
static void
print_planned(const struct out_ctx *ctx, const char *names,
	      const struct sync_box_report *r)
{
	struct plan_stats p = r->planned;

	dry_moves_adjust(ctx->moves, r->far_name, &p);
	printf("%s: %s: would pull %zu, push %zu, flags %zu/%zu, "
	       "delete %zu/%zu, match %zu",
	       ctx->channel, names, p.pull, p.push, p.flags_far, p.flags_near,
	       p.del_far, p.del_near, p.paired);
	if (r->moved > 0)
		printf(", move %zu here", r->moved);
	if (r->planned.placeholders > 0)
		printf(", %zu as placeholders", r->planned.placeholders);
	if (r->planned.ambiguous > 0)
		printf(", leave %zu ambiguous", r->planned.ambiguous);
	printf("\n");
}

/* After a folder's summary: what the plan held back, and why. */
static void
print_held_back(const struct out_ctx *ctx, const char *names,
		const struct sync_box_report *r)
{
	if (r->planned.guard_far + r->planned.guard_near > 0)
		fprintf(stderr,
			"mailferry: %s: %s: %zu deletions held back "
			"(more than max_delete_percent of the folder); "
			"raise max_delete_percent to carry them out\n",
			ctx->channel, names,
			r->planned.guard_far + r->planned.guard_near);
	if (r->planned.ambiguous > 0)
		fprintf(stderr,
			"mailferry: %s: %s: %zu new messages left "
			"alone: the same Message-ID is on both sides with "
			"different content, so copying could make a second "
			"copy (listed with -v); delete or move the copy you do "
			"not want, or give them different Message-IDs\n",
			ctx->channel, names, r->planned.ambiguous);
	if (r->planned.skipped_size + r->planned.skipped_age +
			    r->planned.skipped_count >
		    0 &&
	    ctx->verbosity > 0)
		printf("%s: %s: skipped %zu by max_size, %zu by max_age, %zu "
		       "by max_messages\n",
		       ctx->channel, names, r->planned.skipped_size,
		       r->planned.skipped_age, r->planned.skipped_count);
}

/* The words for a folder's outcome in the per-folder line (sync.h). */
static const char *
outcome_name(enum sync_box_outcome outcome)
{
	switch (outcome) {
	case SYNC_BOX_NONE:
		return "not reached";
	case SYNC_BOX_SYNCED:
		return "synced";
	case SYNC_BOX_UNCHANGED:
		return "unchanged";
	case SYNC_BOX_PLANNED:
		return "planned";
	case SYNC_BOX_WOULD_CREATE_FAR:
		return "would create far";
	case SYNC_BOX_WOULD_CREATE_NEAR:
		return "would create near";
	case SYNC_BOX_VANISHED_FAR_KEPT:
		return "vanished on far, kept";
	case SYNC_BOX_VANISHED_NEAR_KEPT:
		return "vanished on near, kept";
	case SYNC_BOX_REMOVED:
		return "removed";
	case SYNC_BOX_GONE_BOTH:
		return "gone on both sides";
	case SYNC_BOX_SKIPPED_ONE_SIDED:
		return "skipped";
	case SYNC_BOX_RENAMED:
		return "renamed";
	case SYNC_BOX_WOULD_RENAME:
		return "would rename";
	}
	return "?";
}

/*
 * "c: renamed Archive -> Archive-2025 (on far)": the names of the side
 * it was found on.  A folder that kept its special-use role there leaves
 * the other side's folder of that role under its name (sync/rename.h):
 * "(on far; Sent Items stays on near)".
 */
static void
print_rename(const struct out_ctx *ctx, const struct sync_box_report *r)
{
	char from[1024], to[1024], other[1024];
	bool on_far = r->renamed_on_far;
	const char *a = on_far ? r->far_name : r->near_name;
	const char *b = on_far ? r->new_far_name : r->new_near_name;
	const char *was = on_far ? r->near_name : r->far_name;
	const char *now = on_far ? r->new_near_name : r->new_far_name;

	printf("%s: %s %s -> %s (on %s", ctx->channel, outcome_name(r->outcome),
	       cmd_shown(from, sizeof(from), a), cmd_shown(to, sizeof(to), b),
	       on_far ? "far" : "near");
	if (was != NULL && now != NULL && strcmp(was, now) == 0)
		printf("; %s stays on %s", cmd_shown(other, sizeof(other), was),
		       on_far ? "near" : "far");
	printf(")\n");
}

static void
print_report(void *vctx, const struct sync_box_report *r)
{
	struct out_ctx *ctx = vctx;
	char names[2048], msg[4 * sizeof(r->err.msg)];

	/* the live line goes before anything else is printed */
	progress_clear(ctx->pg);
	note_changed(ctx, r);
	if (ctx->json != NULL) {
		sync_json_report(ctx->json, r);
		return;
	}
	box_names(r, names, sizeof(names));
	/* counted before -q returns: the exit code tells (cmd.h) */
	*ctx->held_back += r->planned.guard_far + r->planned.guard_near;
	if (r->box_failed) {
		fprintf(stderr, "mailferry: %s: %s: %s\n", ctx->channel, names,
			cmd_shown(msg, sizeof(msg), r->err.msg));
		return;
	}
	if (ctx->verbosity < 0)
		return;
	if (r->outcome == SYNC_BOX_SKIPPED_ONE_SIDED) {
		printf("%s: %s: %s: %s\n", ctx->channel, names,
		       outcome_name(r->outcome),
		       r->skip_reason != NULL ? r->skip_reason : "not created");
		return;
	}
	if (r->outcome == SYNC_BOX_RENAMED ||
	    r->outcome == SYNC_BOX_WOULD_RENAME) {
		print_rename(ctx, r);
		return;
	}
	if (r->outcome == SYNC_BOX_UNCHANGED && ctx->verbosity < 1)
		return;
	if (r->outcome == SYNC_BOX_PLANNED) {
		print_planned(ctx, names, r);
		return;
	}
	/* the rest print their counts; these, their outcome alone */
	if (r->outcome != SYNC_BOX_SYNCED && r->outcome != SYNC_BOX_NONE) {
		printf("%s: %s: %s\n", ctx->channel, names,
		       outcome_name(r->outcome));
		return;
	}
	/* a folder that was looked at but needed nothing: only with -v */
	if (r->pulled + r->pushed + r->flags_far + r->flags_near + r->del_far +
			    r->del_near + r->paired + r->moved +
			    r->placeholders + r->failed ==
		    0 &&
	    r->planned.guard_far + r->planned.guard_near +
			    r->planned.ambiguous ==
		    0 &&
	    ctx->verbosity < 1)
		return;
	printf("%s: %s: pulled %zu, pushed %zu, flags %zu far / %zu near, "
	       "deleted %zu far / %zu near",
	       ctx->channel, names, r->pulled, r->pushed, r->flags_far,
	       r->flags_near, r->del_far, r->del_near);
	if (r->paired > 0)
		printf(", matched %zu", r->paired);
	if (r->moved > 0)
		printf(", moved %zu", r->moved);
	if (r->placeholders > 0)
		printf(", %zu placeholders", r->placeholders);
	if (r->failed > 0)
		printf(", %zu FAILED", r->failed);
	printf("\n");
	print_held_back(ctx, names, r);
}

static void
print_action(void *vctx, const struct sync_action *a)
{
	const struct out_ctx *ctx = vctx;
	char line[512], shown[2048];

	if (ctx->json != NULL) {
		sync_json_action(ctx->json, a);
		return;
	}
	if (ctx->no_actions)
		return;
	if (dry_moves_note(ctx->moves, a))
		return; /* the move's shadow (dry-run.h) */
	dry_run_line(a, line, sizeof(line));
	printf("%s: %s\n", ctx->channel, cmd_shown(shown, sizeof(shown), line));
}

/* The engine's progress (sync.h) to the live line. */
static void
on_progress(void *vctx, const struct sync_progress *sp)
{
	const struct out_ctx *ctx = vctx;

	progress_update(ctx->pg, sp);
}

/* What a channel's run leaves for the lines after its summary. */
struct run_extra {
	bool has_wire;
	uint64_t wire_read, wire_written;
	char *changed; /* out_ctx.changed, taken; joined over attempts */
	bool again;    /* an attempt after the first: no pre hook */
};

/* Both stores' wire bytes (store.h), summed. */
static void
wire_of(struct mf_store *far, struct mf_store *near, struct run_extra *x)
{
	uint64_t rd, wr;

	if (mf_store_wire_bytes(far, &rd, &wr)) {
		x->has_wire = true;
		x->wire_read += rd;
		x->wire_written += wr;
	}
	if (mf_store_wire_bytes(near, &rd, &wr)) {
		x->has_wire = true;
		x->wire_read += rd;
		x->wire_written += wr;
	}
}

/* An attempt's changed folders (out_ctx.changed, taken) join the run's. */
static void
take_changed(struct run_extra *x, char *changed)
{
	char *joined;

	if (changed == NULL)
		return;
	if (x->changed == NULL) {
		x->changed = changed;
		return;
	}
	joined = xasprintf("%s\n%s", x->changed, changed);
	free(x->changed);
	free(changed);
	x->changed = joined;
}

static int
sync_target(struct cmd_ctx *ctx, const struct target *t,
	    const struct cmd_sync_opts *so, size_t *held_back, bool *changed,
	    struct progress *pg, struct run_extra *x, struct sync_summary *sum,
	    struct mf_err *err)
{
	const struct config_channel *ch = t->ch;
	struct sync_json_ctx jout = { ch->name, held_back };
	struct out_ctx out = {
		ch->name, ctx->verbosity,	    held_back, NULL, pg,
		NULL,	  ctx->json ? &jout : NULL, false
	};
	struct sync_change_watch watch = { 0 };
	struct mf_store *far = NULL, *near = NULL;
	struct state_db *db = NULL;
	struct sync_opts o = { 0 };
	char *path = NULL, *scratch = NULL;
	unsigned open_flags;
	int lock = -1, ret = -1;

	if (stores_state_dir_create(ctx->cfg, err) < 0 ||
	    targets_lock(ctx->cfg, ch, &lock, err) < 0)
		goto out;
	path = stores_state_path(ctx->cfg, ch);
	if (ctx->dry_run && access(path, F_OK) != 0) {
		/* a dry run writes nothing, not even a new state file: plan
		 * against an empty state in a scratch file */
		scratch = xasprintf("%s/.dry-run.%ld.db", ctx->cfg->state_dir,
				    (long)getpid());
		if (state_open(scratch, false, &db, err) < 0)
			goto out;
	} else if (state_open(path, ctx->dry_run, &db, err) < 0) {
		goto out;
	}
	/* under the channel's lock: two syncs do not run it together */
	if (!ctx->dry_run && !x->again)
		hooks_pre(ch);
	open_flags = STORES_LISTS_FIRST | (ctx->dry_run ? 0 : STORES_TIDY);
	if (stores_open_channel(ch, open_flags, &far, &near, err) < 0)
		goto out;
	o.channel = ch->name;
	o.far = far;
	o.near = near;
	o.db = db;
	o.policy = &ch->policy;
	o.only = t->only;
	o.nonly = t->nonly;
	o.dry_run = ctx->dry_run;
	o.now = (int64_t)time(NULL);
	o.report = print_report;
	o.planned = print_action;
	o.progress = on_progress;
	if (ctx->dry_run && !ctx->json)
		out.moves = dry_moves_new();
	out.no_actions = so->folders_only;
	o.ctx = &out;
	sync_change_watch(&watch, &o); /* --exit-on-change */
	ret = sync_run(&o, sum, err);
	if (watch.changed)
		*changed = true;
out:
	progress_clear(pg);
	wire_of(far, near, x);
	take_changed(x, out.changed);
	if (ret < 0)
		mf_err_prefix(err, "%s", ch->name);
	dry_moves_free(&out.moves);
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	state_close(&db);
	if (lock >= 0)
		close(lock);
	if (scratch != NULL) {
		char *wal = xasprintf("%s-wal", scratch);
		char *shm = xasprintf("%s-shm", scratch);

		unlink(scratch);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
		free(scratch);
	}
	free(path);
	return ret;
}

/* The channel's line after its folders'. */
static void
print_summary(const char *channel, const struct sync_summary *sum)
{
	char mv[96] = "", skipped[48] = "";

	if (sum->boxes_skipped > 0)
		snprintf(skipped, sizeof(skipped), ", %zu skipped",
			 sum->boxes_skipped);
	if (sum->moved > 0)
		snprintf(mv, sizeof(mv), ", moved %zu", sum->moved);
	if (sum->renamed > 0)
		snprintf(mv + strlen(mv), sizeof(mv) - strlen(mv),
			 ", renamed %zu", sum->renamed);
	if (sum->placeholders > 0)
		snprintf(mv + strlen(mv), sizeof(mv) - strlen(mv),
			 ", %zu placeholders", sum->placeholders);
	printf("%s: %zu folders (%zu unchanged%s): pulled "
	       "%zu, pushed %zu, flags %zu/%zu, deleted "
	       "%zu/%zu%s%s\n",
	       channel, sum->boxes, sum->boxes_unchanged, skipped, sum->pulled,
	       sum->pushed, sum->flags_far, sum->flags_near, sum->del_far,
	       sum->del_near, mv, sum->failed ? ", with failures" : "");
}

/* The line after the summary: elapsed time, bytes on the wire. */
static void
print_time_wire(const char *channel, const struct progress *pg,
		const struct run_extra *x)
{
	char rd[32], wr[32];

	if (!x->has_wire) {
		printf("%s: %.1f s, no wire (local only)\n", channel,
		       progress_elapsed(pg));
		return;
	}
	printf("%s: %.1f s, wire %s read, %s written\n", channel,
	       progress_elapsed(pg),
	       progress_bytes(x->wire_read, rd, sizeof(rd)),
	       progress_bytes(x->wire_written, wr, sizeof(wr)));
}

static int
sync_usage(void)
{
	fprintf(stderr, "usage: mailferry sync [-n] [--json] "
			"[--exit-on-change] [--progress=auto|always|never] "
			"[CHANNEL[:FOLDER]...]\n");
	return MF_EXIT_USAGE;
}

/* The retry limits of the channel: the most generous of its servers'. */
static void
retry_limits(const struct config_channel *ch, int *retries_r, int *max_ms_r)
{
	const struct config_side *sides[2] = { &ch->far, &ch->near };
	size_t i;

	*retries_r = 0;
	*max_ms_r = 0;
	for (i = 0; i < 2; i++) {
		const struct config_account *a = sides[i]->account;

		if (sides[i]->kind != CONFIG_SIDE_ACCOUNT || a == NULL)
			continue;
		if (a->retries > *retries_r)
			*retries_r = a->retries;
		if (a->max_backoff_ms > *max_ms_r)
			*max_ms_r = a->max_backoff_ms;
	}
}

/* Whether a failed attempt did anything that a next one builds on. */
static bool
made_progress(const struct sync_summary *s)
{
	return s->pulled + s->pushed + s->flags_far + s->flags_near +
			       s->del_far + s->del_near + s->moved +
			       s->renamed + s->placeholders >
		       0 ||
	       s->boxes > s->boxes_failed;
}

/*
 * What a later attempt adds to the run's summary: what it moved adds up;
 * the folder counts and failures are the last attempt's, since it saw
 * every folder again and says how they ended.
 */
static void
add_attempt(struct sync_summary *run, const struct sync_summary *s)
{
	run->boxes = s->boxes;
	run->boxes_unchanged = s->boxes_unchanged;
	run->boxes_failed = s->boxes_failed;
	run->boxes_skipped = s->boxes_skipped;
	run->failed = s->failed;
	run->pulled += s->pulled;
	run->pushed += s->pushed;
	run->flags_far += s->flags_far;
	run->flags_near += s->flags_near;
	run->del_far += s->del_far;
	run->del_near += s->del_near;
	run->placeholders += s->placeholders;
	run->moved += s->moved;
	run->renamed += s->renamed;
}

/* Sleep ms, or less when a stop is asked for; -1 then. */
static int
wait_or_stop(long ms)
{
	struct timespec step = { 0, 100 * 1000 * 1000 };

	for (; ms > 0; ms -= 100) {
		if (mf_cancel_signal() != 0)
			return -1;
		if (ms < 100)
			step.tv_nsec = ms * 1000 * 1000;
		nanosleep(&step, NULL);
	}
	return mf_cancel_signal() != 0 ? -1 : 0;
}

/*
 * How long to wait before attempt number `done + 1`, or -1 when the
 * channel is not tried again: the error is not a dropped or throttled
 * connection, the retries are spent, or a second attempt in a row neither
 * was throttled nor got anything done (a server that refuses us, a
 * folder that breaks every session at the same place: trying again and
 * again would fail the same way, and the next run starts from the same
 * point anyway).  The first attempt gets one more try even when it did
 * nothing: a connection reset during the login or the listing (a NAT
 * that forgot us, a server restarting, a balancer moving us) is the
 * commonest drop of all, and giving up on it costs a cron job its whole
 * period, where trying again costs a second.  Not a server never reached
 * (mf_err.unreached: a laptop offline, a server down), which would fail
 * the same way a second later and only say so twice.
 *
 * A throttled server named its wait (base/backoff.h; up to five minutes
 * from Microsoft 365), honoured up to max_ms; else 1, 2, 4, ... s.
 */
static long
retry_wait(const struct cmd_ctx *ctx, const struct mf_err *err,
	   const struct sync_summary *s, int done, int retries, int max_ms)
{
	bool asked;
	long ms = mf_backoff_take(&asked);

	if (err->cls != MF_E_NET || done > retries || ctx->dry_run ||
	    mf_cancel_signal() != 0)
		return -1;
	if (!asked && !made_progress(s) && (done > 1 || err->unreached))
		return -1;
	if (!asked || ms == 0)
		ms = 1000L << (done - 1 < 8 ? done - 1 : 8);
	return ms > max_ms ? max_ms : ms;
}

/*
 * The channel's attempts: it is run again after a dropped or throttled
 * connection (retry_wait() says when), as the next run would, from what
 * the last one committed: each attempt opens the stores and the state
 * anew, and the engine's ordering (sync/exec.c) makes that as safe as
 * a new run after a kill.  The attempt's failure is a warning; the last
 * one's is the channel's error.
 */
static int
sync_attempts(struct cmd_ctx *ctx, const struct target *t,
	      const struct cmd_sync_opts *so, size_t *held_back, bool *changed,
	      struct progress *pg, struct run_extra *x,
	      struct sync_summary *run, struct mf_err *err)
{
	char shown[4 * sizeof(err->msg)];
	int retries, max_ms, done = 0;
	size_t held0 = *held_back;
	bool stale;
	long ms;

	retry_limits(t->ch, &retries, &max_ms);
	mf_backoff_take(&stale); /* an earlier channel's, not this one's */
	for (;;) {
		struct sync_summary s = { 0 };
		int r;

		*held_back = held0; /* the last attempt says what it held */
		r = sync_target(ctx, t, so, held_back, changed, pg, x, &s, err);
		add_attempt(run, &s);
		done++;
		if (r == 0)
			return 0;
		ms = retry_wait(ctx, err, &s, done, retries, max_ms);
		if (ms < 0)
			return -1;
		fprintf(stderr,
			"mailferry: %s (attempt %d of %d); trying again in "
			"%ld.%01ld s\n",
			cmd_shown(shown, sizeof(shown), err->msg), done,
			retries + 1, ms / 1000, ms % 1000 / 100);
		fflush(stderr);
		if (wait_or_stop(ms) < 0)
			return sync_stopped(err);
		mf_err_clear(err);
		x->again = true;
	}
}

/*
 * One channel's sync with everything after it: the summary, the time and
 * wire line, the post hook.  Returns the channel's exit code (cmd.h);
 * *held_back and *changed add to the run's.  Shared with watch
 * (cmd-watch.c), which runs it again and again.
 */
int
cmd_sync_channel(struct cmd_ctx *ctx, const struct target *t,
		 const struct cmd_sync_opts *so, size_t *held_back,
		 bool *changed)
{
	struct sync_summary sum = { 0 };
	struct run_extra x = { 0 };
	struct mf_err err = { 0 };
	struct progress pg;
	bool ran = true, this_changed = false;
	int code = MF_EXIT_OK;

	progress_begin(&pg, t->ch->name,
		       !ctx->dry_run && !ctx->json &&
			       progress_wanted((enum progress_mode)so->progress,
					       ctx->verbosity < 0));
	if (sync_attempts(ctx, t, so, held_back, &this_changed, &pg, &x, &sum,
			  &err) < 0) {
		code = cmd_fail(&err);
		ran = false;
	} else if (sum.boxes_failed > 0 || sum.failed > 0) {
		code = MF_EXIT_PARTIAL;
	}
	progress_end(&pg);
	if (this_changed)
		*changed = true;
	/* a channel that stopped gets its error only: a summary after it
	 * ("0 folders: pulled 0") would read as success; watch leaves out
	 * the summary of a run that changed nothing (every few seconds) */
	if (ctx->json) {
		if (ran || !so->quiet_unchanged)
			sync_json_summary(t->ch->name, &sum, ctx->dry_run,
					  ran ? NULL : &err);
	} else if (ran && ctx->verbosity >= 0 && !ctx->dry_run &&
		   (this_changed || !so->quiet_unchanged ||
		    ctx->verbosity > 0)) {
		print_summary(t->ch->name, &sum);
		print_time_wire(t->ch->name, &pg, &x);
	}
	/* also after a channel that stopped part way: what it changed
	 * before is there to be seen (hooks.h) */
	fflush(stdout);
	if (!ctx->dry_run && mf_cancel_signal() == 0 && hooks_changed(&sum))
		hooks_post(t->ch, &sum, x.changed != NULL ? x.changed : "");
	free(x.changed);
	return code;
}

/* The worse of two exit codes of channels: a failure beats a partial
 * run, which beats success (the first failure is kept). */
int
cmd_sync_worse(int code, int rc)
{
	if (rc == MF_EXIT_OK)
		return code;
	if (code == MF_EXIT_OK || code == MF_EXIT_PARTIAL)
		return rc;
	return code;
}

int
cmd_sync(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "exit-on-change", no_argument, NULL, 'E' },
		{ "progress", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct target *targets = NULL;
	struct mf_err err = { 0 };
	enum progress_mode pmode = PROGRESS_AUTO;
	struct cmd_sync_opts so = { PROGRESS_AUTO, false, false };
	size_t n = 0, i, held_back = 0;
	bool exit_on_change = false, changed = false;
	int c, code = MF_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		if (c == 'E') {
			exit_on_change = true;
			continue;
		}
		if (c == 'P' && progress_mode_parse(optarg, &pmode) < 0) {
			fprintf(stderr,
				"mailferry: sync: --progress takes auto, "
				"always or never, not '%s'\n",
				optarg);
			return MF_EXIT_USAGE;
		}
		if (c == 'P')
			continue;
		if (c != 'n')
			return sync_usage();
		ctx->dry_run = true;
	}
	if (targets_parse(ctx->cfg, argc - optind, argv + optind, &targets, &n,
			  &err) < 0)
		return cmd_fail(&err);
	if (n == 0) {
		fprintf(stderr, "mailferry: no channels in %s\n",
			ctx->cfg->path);
		free(targets);
		return MF_EXIT_USAGE;
	}
	so.progress = pmode;
	for (i = 0; i < n; i++) {
		/* other channels go on after one fails */
		code = cmd_sync_worse(code,
				      cmd_sync_channel(ctx, &targets[i], &so,
						       &held_back, &changed));
		free(targets[i].only);
		if (mf_cancel_signal() != 0)
			break; /* the channels after it are not begun */
	}
	for (i++; i < n; i++)
		free(targets[i].only);
	free(targets);
	/* cron mails only what exits non-zero: a guard that held deletions
	 * back must be seen, but any failure is the worse news */
	if (code == MF_EXIT_OK && held_back > 0)
		code = MF_EXIT_HELD_BACK;
	/* scripts: 0 now means nothing changed (mailferry(1)) */
	if (code == MF_EXIT_OK && exit_on_change && changed)
		code = MF_EXIT_CHANGED;
	if (mf_cancel_signal() != 0)
		code = cmd_exit_stopped();
	if (ctx->json)
		sync_json_end(code, changed);
	return code;
}
