/*
 * mailferry watch [--interval SECONDS] [CHANNEL...]
 *
 * Stay up and sync a channel within about a second of a change on either
 * side, instead of every few minutes from a timer:
 *
 *   - an IMAP side has a thread in IDLE on INBOX (watch-idle.h), which
 *     says when the server reports a change and when its session was lost
 *     and begun again (a server restart, the network gone, a suspend);
 *   - a Maildir side is watched with inotify, or polled (watch-local.h);
 *   - every --interval seconds (default 300) each channel is synced anyway:
 *     that covers the folders IDLE does not watch, at the cost of one
 *     LIST-STATUS round trip when nothing changed.
 *
 * A change is debounced: the sync begins WATCH_QUIET_MS after the last
 * event, or WATCH_MAX_WAIT_MS after the first, so that a mail reader
 * renaming fifty files is one sync.  Our own syncs cause events too (a
 * delivery into new/, our APPEND seen by the IDLE): they lead to one more
 * sync, which finds nothing to do and writes nothing, so it ends there.
 *
 * A failed sync (server down, channel locked by a cron sync) is retried
 * after 2 s, doubling up to a minute; the watch itself never gives up.
 * A clock that jumped (the machine was suspended, or its time was set)
 * drops every IDLE session and syncs every channel.  SIGTERM and SIGINT
 * end the sync in progress at its next safe point and exit 0; SIGHUP
 * re-reads the configuration (a bad one is reported and the old one kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/xalloc.h"
#include "cmd.h"
#include "config.h"
#include "json.h"
#include "progress.h"
#include "targets.h"
#include "watch-idle.h"
#include "watch-local.h"

#define WATCH_QUIET_MS 300
#define WATCH_MAX_WAIT_MS 1000
#define WATCH_DEFAULT_INTERVAL_S 300
#define WATCH_RETRY_MS 2000
#define WATCH_MAX_RETRY_MS 60000
/* a clock that moved this much more than the monotonic one jumped */
#define WATCH_JUMP_MS 10000
/* how long a stop waits for an IDLE thread to say DONE */
#define WATCH_STOP_WAIT_MS 1000

static volatile sig_atomic_t hup_seen;

static void
on_hup(int sig)
{
	(void)sig;
	hup_seen = 1;
}

static long long
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is watched of one channel. */
struct watched {
	struct target t;	      /* ch borrowed from the configuration */
	struct watch_idle *idle[2];   /* far, near: an account side */
	struct watch_local *local[2]; /* far, near: a maildir side */
	bool maildir[2]; /* the side is a maildir (local NULL: not yet) */
	bool lost[2];	 /* the side's session is down (said once) */
	/* far: the channel's watch: folders, IDLEd on each by a thread
	 * when INBOX's session came up without NOTIFY */
	struct watch_idle *extra[CONFIG_WATCH_MAX];
	size_t nextra;
	bool extra_lost[CONFIG_WATCH_MAX];
	bool pending;		     /* a change waits for its sync */
	long long first_ms, last_ms; /* of the pending change's events */
	long long due_ms; /* the periodic sync, or the retry of a failed one */
	int retry_ms;	  /* the next retry's wait; 0: the last sync worked */
};

struct watch {
	struct cmd_ctx *ctx;
	int argc;
	char **argv; /* the channels named, for a reload */
	int interval_ms;
	struct cmd_sync_opts so;
	int wake[2]; /* the IDLE threads' pipe */
	struct target *targets;
	struct watched *w;
	size_t n;
	/* configurations a reload left to a thread that did not end in
	 * time: it may still read them, so they live as long as we do */
	struct mf_config **retired;
	size_t nretired;
};

static const char *const side_names[2] = { "far", "near" };

static void
event_json(const char *channel, const char *event, const char *side,
	   const char *msg)
{
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "watch");
	json_kv_str(&j, "event", event);
	if (channel != NULL)
		json_kv_str(&j, "channel", channel);
	if (side != NULL)
		json_kv_str(&j, "side", side);
	if (msg != NULL)
		json_kv_str(&j, "message", msg);
	json_obj_close(&j);
	json_end(&j);
}

/* A line for people (stdout, not with -q), or an object with --json. */
static void
say(const struct watch *wt, const char *channel, const char *event,
    const char *side, const char *text)
{
	if (wt->ctx->json) {
		event_json(channel, event, side, text);
		return;
	}
	if (wt->ctx->verbosity < 0)
		return;
	printf("%s: watch: %s\n", channel, text);
	fflush(stdout);
}

/* Begin watching one side; a maildir that cannot be read is an error. */
static int
watch_side(struct watch *wt, struct watched *w, int i, struct mf_err *err)
{
	const struct config_side *side = i == 0 ? &w->t.ch->far :
						  &w->t.ch->near;

	if (side->kind == CONFIG_SIDE_MAILDIR) {
		w->maildir[i] = true;
		/* a root the first sync is to make (stores.c creates it)
		 * is watched after it */
		if (watch_local_open(side->maildir->mdir.path, &w->local[i],
				     err) < 0 &&
		    err->sys_errno != ENOENT)
			return -1;
		mf_err_clear(err);
		return 0;
	}
	w->idle[i] = watch_idle_start(side, NULL, wt->wake[1]);
	if (w->idle[i] == NULL)
		return mf_err_sys(err, MF_E_INTERNAL, "watch: a thread");
	return 0;
}

/* "far: IDLE on INBOX, near: inotify on /home/u/Mail" */
static void
say_start(const struct watch *wt, const struct watched *w)
{
	char line[2048], shown[2048];
	size_t len = 0;
	int i;

	for (i = 0; i < 2; i++) {
		const struct config_side *side = i == 0 ? &w->t.ch->far :
							  &w->t.ch->near;

		if (w->maildir[i])
			len += (size_t)snprintf(
				line + len, sizeof(line) - len,
				"%s%s: %s on %s", i ? ", " : "", side_names[i],
				w->local[i] != NULL ?
					watch_local_how(w->local[i]) :
					"nothing yet (made by the first sync)",
				side->maildir->mdir.path);
		else
			len += (size_t)
				snprintf(line + len, sizeof(line) - len,
					 "%s%s: IDLE (NOTIFY where offered)",
					 i ? ", " : "", side_names[i]);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
	}
	snprintf(line + len, sizeof(line) - len,
		 "; every channel synced every %d s", wt->interval_ms / 1000);
	say(wt, w->t.ch->name, "start", NULL,
	    cmd_shown(shown, sizeof(shown), line));
}

/* Stop every watch and forget the targets.  false: an IDLE thread did
 * not end in time and may still read the configuration (watch-idle.h). */
static bool
unwatch_all(struct watch *wt)
{
	bool all_ended = true;
	size_t k, e;
	int i;

	for (k = 0; k < wt->n; k++) {
		for (i = 0; i < 2; i++) {
			if (!watch_idle_stop(&wt->w[k].idle[i],
					     WATCH_STOP_WAIT_MS))
				all_ended = false;
			watch_local_close(&wt->w[k].local[i]);
		}
		for (e = 0; e < wt->w[k].nextra; e++)
			if (!watch_idle_stop(&wt->w[k].extra[e],
					     WATCH_STOP_WAIT_MS))
				all_ended = false;
	}
	for (k = 0; k < wt->n; k++)
		free(wt->targets[k].only);
	free(wt->targets);
	free(wt->w);
	wt->targets = NULL;
	wt->w = NULL;
	wt->n = 0;
	return all_ended;
}

/* Targets and watches from ctx->cfg; every channel due at once. */
static int
watch_all(struct watch *wt, struct mf_err *err)
{
	size_t k;
	int i;

	if (targets_parse(wt->ctx->cfg, wt->argc, wt->argv, &wt->targets,
			  &wt->n, err) < 0)
		return -1;
	if (wt->n == 0)
		return mf_err_set(err, MF_E_USAGE, "no channels in %s",
				  wt->ctx->cfg->path);
	wt->w = xcalloc(wt->n, sizeof(*wt->w));
	for (k = 0; k < wt->n; k++) {
		struct watched *w = &wt->w[k];

		w->t = wt->targets[k];
		w->due_ms = 0;
		for (i = 0; i < 2; i++)
			if (watch_side(wt, w, i, err) < 0)
				return mf_err_prefix(err, "%s", w->t.ch->name);
		say_start(wt, w);
	}
	return 0;
}

/* A change seen on a side: the channel's sync is due after the quiet. */
static void
note_change(struct watched *w, long long now)
{
	if (!w->pending)
		w->first_ms = now;
	w->pending = true;
	w->last_ms = now;
}

/*
 * INBOX's session on far is up without NOTIFY: IDLE on the channel's
 * watch: folders too, a thread each (begun once; they reconnect on their
 * own).  With NOTIFY every folder is seen already.
 */
static void
start_extras(struct watch *wt, struct watched *w)
{
	const struct config_channel *ch = w->t.ch;
	size_t e;

	for (e = w->nextra; e < ch->nwatch_folders; e++) {
		w->extra[e] = watch_idle_start(&ch->far, ch->watch_folders[e],
					       wt->wake[1]);
		if (w->extra[e] == NULL)
			break;
		w->nextra = e + 1;
	}
}

/* The events of the watch: folders' threads: a change or a loss. */
static void
take_extra_events(struct watch *wt, struct watched *w, long long now)
{
	char msg[MF_ERR_MSG_MAX], shown[4 * MF_ERR_MSG_MAX];
	size_t e;

	for (e = 0; e < w->nextra; e++) {
		unsigned ev = watch_idle_take(w->extra[e], msg, sizeof(msg));

		if ((ev & (WATCH_IDLE_LOST | WATCH_IDLE_UNSUPPORTED)) &&
		    !w->extra_lost[e] && !wt->ctx->json)
			fprintf(stderr, "mailferry: %s: watch: far %s: %s\n",
				w->t.ch->name, w->t.ch->watch_folders[e],
				cmd_shown(shown, sizeof(shown), msg));
		if (ev & WATCH_IDLE_LOST)
			w->extra_lost[e] = true;
		if (ev & WATCH_IDLE_CONNECTED) {
			w->extra_lost[e] = false;
			note_change(w, now);
		}
		if (ev & WATCH_IDLE_CHANGED)
			note_change(w, now);
	}
}

/* The IDLE threads' events: changes, sessions lost and begun. */
static void
take_idle_events(struct watch *wt, long long now)
{
	size_t k;
	int i;

	for (k = 0; k < wt->n; k++)
		for (i = 0; i < 2; i++) {
			struct watched *w = &wt->w[k];
			char msg[MF_ERR_MSG_MAX], line[MF_ERR_MSG_MAX + 64];
			unsigned ev;

			if (w->idle[i] == NULL)
				continue;
			ev = watch_idle_take(w->idle[i], msg, sizeof(msg));
			if (ev & (WATCH_IDLE_LOST | WATCH_IDLE_UNSUPPORTED)) {
				if (!w->lost[i] ||
				    (ev & WATCH_IDLE_UNSUPPORTED)) {
					snprintf(line, sizeof(line),
						 "%s: %s; %s", side_names[i],
						 msg,
						 (ev & WATCH_IDLE_UNSUPPORTED) ?
							 "relying on the "
							 "periodic sync" :
							 "connecting again");
					if (wt->ctx->json)
						event_json(w->t.ch->name,
							   "lost",
							   side_names[i], line);
					else
						fprintf(stderr,
							"mailferry: %s: watch: "
							"%s\n",
							w->t.ch->name,
							cmd_shown(msg,
								  sizeof(msg),
								  line));
				}
				w->lost[i] = (ev & WATCH_IDLE_LOST) != 0;
			}
			if (ev & WATCH_IDLE_CONNECTED) {
				bool notify = (ev & WATCH_IDLE_NOTIFY) != 0;

				/* changes while there was no session are
				 * unknown: the channel wants a sync */
				snprintf(line, sizeof(line),
					 "%s: connected%s, %s", side_names[i],
					 w->lost[i] ? " again" : "",
					 notify ? "NOTIFY on every folder" :
						  "IDLE on INBOX (no NOTIFY)");
				say(wt, w->t.ch->name, "connected",
				    side_names[i], line);
				w->lost[i] = false;
				note_change(w, now);
				if (i == 0 && !notify)
					start_extras(wt, w);
			}
			if (ev & WATCH_IDLE_CHANGED)
				note_change(w, now);
		}
	for (k = 0; k < wt->n; k++)
		take_extra_events(wt, &wt->w[k], now);
}

/*
 * A maildir root that was not there at the start is watched once a sync
 * made it.  What changed between that sync and now is unknown: one more
 * sync (a no-op, normally) covers it.
 */
static void
watch_new_roots(struct watch *wt, struct watched *w, long long now)
{
	int i;

	for (i = 0; i < 2; i++) {
		const struct config_side *side = i == 0 ? &w->t.ch->far :
							  &w->t.ch->near;
		struct mf_err err = { 0 };

		if (!w->maildir[i] || w->local[i] != NULL)
			continue;
		if (watch_local_open(side->maildir->mdir.path, &w->local[i],
				     &err) < 0)
			continue; /* the sync said why */
		say_start(wt, w);
		note_change(w, now);
	}
}

/* Sync w now; a failure is retried with backoff. */
static void
sync_now(struct watch *wt, struct watched *w, long long now)
{
	size_t held_back = 0;
	bool changed = false;
	int rc;

	w->pending = false;
	rc = cmd_sync_channel(wt->ctx, &w->t, &wt->so, &held_back, &changed);
	now = clock_ms(CLOCK_MONOTONIC);
	watch_new_roots(wt, w, now);
	if (rc == MF_EXIT_OK || rc == MF_EXIT_PARTIAL || mf_cancel_signal()) {
		w->retry_ms = 0;
		w->due_ms = now + wt->interval_ms;
		return;
	}
	w->retry_ms = w->retry_ms == 0 ? WATCH_RETRY_MS : w->retry_ms * 2;
	if (w->retry_ms > WATCH_MAX_RETRY_MS)
		w->retry_ms = WATCH_MAX_RETRY_MS;
	w->due_ms = now + w->retry_ms;
	if (!wt->ctx->json && wt->ctx->verbosity >= 0)
		fprintf(stderr, "mailferry: %s: watch: trying again in %d s\n",
			w->t.ch->name, w->retry_ms / 1000);
}

/* A suspend or a clock set: sessions are likely dead, changes unknown. */
static void
clock_jumped(struct watch *wt, long long by_ms, long long now)
{
	size_t k;
	int i;
	char line[128];

	snprintf(line, sizeof(line),
		 "the clock jumped %lld s (a suspend?): reconnecting and "
		 "syncing",
		 by_ms / 1000);
	for (k = 0; k < wt->n; k++) {
		say(wt, wt->w[k].t.ch->name, "clock_jump", NULL, line);
		for (i = 0; i < 2; i++)
			if (wt->w[k].idle[i] != NULL)
				watch_idle_reconnect(wt->w[k].idle[i]);
		note_change(&wt->w[k], now);
		wt->w[k].first_ms = now - WATCH_MAX_WAIT_MS; /* at once */
	}
}

/* SIGHUP: the configuration again; a bad one leaves the old in place. */
static void
reload(struct watch *wt)
{
	struct mf_config *cfg = NULL, *old = wt->ctx->cfg;
	struct mf_err err = { 0 };
	char *def = NULL;
	const char *path = wt->ctx->config_path;

	if (path == NULL)
		path = def = config_default_path();
	if (config_load(path, &cfg, &err) < 0) {
		free(def);
		cmd_fail(&err);
		fprintf(stderr, "mailferry: watch: SIGHUP: the configuration "
				"above is refused; watching on with the old "
				"one\n");
		return;
	}
	free(def);
	if (unwatch_all(wt)) {
		config_free(&old);
	} else {
		wt->retired = xreallocarray(wt->retired, wt->nretired + 1,
					    sizeof(*wt->retired));
		wt->retired[wt->nretired++] = old;
	}
	wt->ctx->cfg = cfg;
	say(wt, "mailferry", "reload", NULL,
	    "SIGHUP: configuration read again");
	if (watch_all(wt, &err) < 0)
		cmd_fail(&err); /* what could be watched is */
}

/* What the loop waits on: the wake pipe and every inotify fd. */
static size_t
poll_set(const struct watch *wt, struct pollfd *fds, size_t max)
{
	size_t k, n = 0;
	int i;

	fds[n].fd = wt->wake[0];
	fds[n++].events = POLLIN;
	for (k = 0; k < wt->n && n < max; k++)
		for (i = 0; i < 2 && n < max; i++)
			if (wt->w[k].local[i] != NULL &&
			    watch_local_fd(wt->w[k].local[i]) >= 0) {
				fds[n].fd = watch_local_fd(wt->w[k].local[i]);
				fds[n++].events = POLLIN;
			}
	return n;
}

/* Long because it is the loop, with each of its wake-ups in turn: the
 * clock check, the events of both kinds of side, the syncs due. */
static void
watch_loop(struct watch *wt)
{
	long long mono0 = clock_ms(CLOCK_MONOTONIC);
	long long real0 = clock_ms(CLOCK_REALTIME);
#ifdef CLOCK_BOOTTIME
	long long boot0 = clock_ms(CLOCK_BOOTTIME);
#endif

	while (mf_cancel_signal() == 0) {
		struct pollfd fds[64];
		size_t nfds = poll_set(wt, fds, 64), k;
		long long now, jump;
		char drain[64];
		int i;

		(void)poll(fds, nfds, 200);
		while (read(wt->wake[0], drain, sizeof(drain)) > 0)
			;
		if (mf_cancel_signal() != 0)
			break;
		if (hup_seen) {
			hup_seen = 0;
			reload(wt);
		}
		now = clock_ms(CLOCK_MONOTONIC);
		/* a suspend stops the monotonic clock, not the boot or the
		 * real one; setting the time moves only the real one */
		jump = clock_ms(CLOCK_REALTIME) - real0 - (now - mono0);
#ifdef CLOCK_BOOTTIME
		if (clock_ms(CLOCK_BOOTTIME) - boot0 - (now - mono0) > jump)
			jump = clock_ms(CLOCK_BOOTTIME) - boot0 - (now - mono0);
		boot0 = clock_ms(CLOCK_BOOTTIME);
#endif
		real0 = clock_ms(CLOCK_REALTIME);
		mono0 = now;
		if (jump > WATCH_JUMP_MS || jump < -WATCH_JUMP_MS)
			clock_jumped(wt, jump, now);
		take_idle_events(wt, now);
		for (k = 0; k < wt->n; k++)
			for (i = 0; i < 2; i++)
				if (wt->w[k].local[i] != NULL &&
				    watch_local_changed(wt->w[k].local[i], now))
					note_change(&wt->w[k], now);
		for (k = 0; k < wt->n && mf_cancel_signal() == 0; k++) {
			struct watched *w = &wt->w[k];
			bool settled = w->pending &&
				       (now - w->last_ms >= WATCH_QUIET_MS ||
					now - w->first_ms >= WATCH_MAX_WAIT_MS);

			/* a failing channel waits for its retry, even when
			 * changes keep coming: they are in the next sync */
			if ((settled && w->retry_ms == 0) || now >= w->due_ms)
				sync_now(wt, w, now);
			now = clock_ms(CLOCK_MONOTONIC);
		}
	}
}

static int
watch_usage(void)
{
	fprintf(stderr, "usage: mailferry watch [--interval SECONDS] "
			"[--progress=auto|always|never] [CHANNEL...]\n");
	return MF_EXIT_USAGE;
}

static int
parse_options(struct watch *wt, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "progress", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	enum progress_mode pmode = PROGRESS_AUTO;
	char *end;
	long v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 10 || v > 86400) {
				fprintf(stderr,
					"mailferry: watch: --interval takes "
					"seconds from 10 to 86400, not '%s'\n",
					optarg);
				return MF_EXIT_USAGE;
			}
			wt->interval_ms = (int)v * 1000;
			break;
		case 'P':
			if (progress_mode_parse(optarg, &pmode) < 0) {
				fprintf(stderr,
					"mailferry: watch: --progress takes "
					"auto, always or never, not '%s'\n",
					optarg);
				return MF_EXIT_USAGE;
			}
			break;
		default:
			return watch_usage();
		}
	}
	wt->so.progress = pmode;
	return -1;
}

int
cmd_watch(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct watch wt = { 0 };
	struct mf_err err = { 0 };
	struct sigaction sa;
	int rc;

	wt.ctx = ctx;
	wt.interval_ms = WATCH_DEFAULT_INTERVAL_S * 1000;
	wt.so.quiet_unchanged = true;
	rc = parse_options(&wt, argc, argv);
	if (rc >= 0)
		return rc;
	wt.argc = argc - optind;
	wt.argv = argv + optind;
	if (pipe(wt.wake) < 0 || fcntl(wt.wake[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(wt.wake[1], F_SETFL, O_NONBLOCK) < 0) {
		mf_err_sys(&err, MF_E_INTERNAL, "watch: pipe");
		return cmd_fail(&err);
	}
	fcntl(wt.wake[0], F_SETFD, FD_CLOEXEC);
	fcntl(wt.wake[1], F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	if (watch_all(&wt, &err) < 0) {
		rc = cmd_fail(&err);
	} else {
		watch_loop(&wt);
		rc = MF_EXIT_OK; /* a stop asked for is a clean end here */
	}
	/* the retired configurations are not freed: the threads that kept
	 * them may not have ended yet (struct watch) */
	if (unwatch_all(&wt) && wt.nretired == 0) {
		close(wt.wake[0]);
		close(wt.wake[1]);
	} else {
		/* a thread still in a connect or a silent server's wait
		 * reads the configuration and may write to the pipe until
		 * the exit ends it: leave both to the exit */
		ctx->cfg = NULL;
	}
	free(wt.retired);
	if (ctx->json)
		event_json(NULL, "stop", NULL, NULL);
	else if (mf_cancel_signal() != 0 && ctx->verbosity >= 0)
		fprintf(stderr, "mailferry: watch: stopped by %s\n",
			mf_cancel_name());
	return rc;
}
