/*
 * The IDLE thread of a watched IMAP side (watch-idle.h).
 *
 * Shared between the thread and the main loop, under mu: the events, the
 * last error, and whether the thread is done or was left to end alone
 * (detached).  stop and reconnect are atomics, read by the IDLE's stop
 * callback every 200 ms (imap-store-ext.h).  Whoever of the two is last,
 * the thread ending after a detach or the main loop joining, frees the
 * struct.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/xalloc.h"
#include "imap/imap-store-ext.h"
#include "stores.h"
#include "watch-idle.h"

struct watch_idle {
	const struct config_side *side; /* borrowed */
	char *box;			/* the folder IDLEd on */
	bool notify;			/* ask for NOTIFY (the INBOX thread) */
	int wake_fd;
	pthread_t thread;
	atomic_bool stop, reconnect;

	pthread_mutex_t mu;
	pthread_cond_t ended_cv;
	unsigned events;
	char msg[MF_ERR_MSG_MAX];
	bool ended, detached;
};

static bool
should_end_idle(void *ctx)
{
	struct watch_idle *w = ctx;

	return atomic_load(&w->stop) || atomic_load(&w->reconnect) ||
	       mf_cancel_signal() != 0;
}

static void
post(struct watch_idle *w, unsigned ev, const struct mf_err *err)
{
	ssize_t n;

	pthread_mutex_lock(&w->mu);
	w->events |= ev;
	if (err != NULL)
		snprintf(w->msg, sizeof(w->msg), "%s", err->msg);
	pthread_mutex_unlock(&w->mu);
	/* a full pipe already wakes the loop: the byte may be dropped */
	n = write(w->wake_fd, "i", 1);
	(void)n;
}

/* Sleep ms in slices, ending early when asked to stop. */
static void
nap(struct watch_idle *w, int ms)
{
	while (ms > 0 && !atomic_load(&w->stop) && mf_cancel_signal() == 0) {
		struct timespec ts = { 0, 200 * 1000000L };

		if (ms < 200)
			ts.tv_nsec = ms * 1000000L;
		nanosleep(&ts, NULL);
		ms -= 200;
	}
}

/* Connect, EXAMINE the folder and ask for NOTIFY where the server has it
 * (*notify_r: whether it took it): 0, or -1 (err). */
static int
session_begin(struct watch_idle *w, struct mf_store **st_r, bool *notify_r,
	      struct mf_err *err)
{
	struct mf_select_req req = { true };
	struct mf_box_status status;

	if (stores_open_side(w->side, 0, st_r, err) < 0)
		return -1;
	memset(&status, 0, sizeof(status));
	*notify_r = false;
	if ((*st_r)->ops->select_box(*st_r, w->box, &req, &status, err) < 0 ||
	    (w->notify && imap_store_notify_all(*st_r, notify_r, err) < 0)) {
		mf_store_destroy(st_r);
		return -1;
	}
	return 0;
}

static void *
idle_main(void *arg)
{
	struct watch_idle *w = arg;
	struct mf_store *st = NULL;
	int backoff = 1000;
	bool free_it;

	while (!atomic_load(&w->stop) && mf_cancel_signal() == 0) {
		struct mf_err err = { 0 };
		bool changed = false, notify = false;

		if (st == NULL) {
			atomic_store(&w->reconnect, false);
			if (session_begin(w, &st, &notify, &err) < 0) {
				post(w, WATCH_IDLE_LOST, &err);
				nap(w, backoff);
				backoff =
					backoff * 2 > WATCH_IDLE_MAX_BACKOFF_MS ?
						WATCH_IDLE_MAX_BACKOFF_MS :
						backoff * 2;
				continue;
			}
			backoff = 1000;
			post(w,
			     WATCH_IDLE_CONNECTED |
				     (notify ? WATCH_IDLE_NOTIFY : 0),
			     NULL);
		}
		if (imap_store_idle_until(st, WATCH_IDLE_MAX_MS,
					  should_end_idle, w, &changed,
					  &err) < 0) {
			mf_store_destroy(&st);
			if (err.cls == MF_E_BOX) {
				/* no IDLE, or IDLE refused: polling it is */
				post(w, WATCH_IDLE_UNSUPPORTED, &err);
				break;
			}
			post(w, WATCH_IDLE_LOST, &err);
			nap(w, backoff);
			continue;
		}
		if (changed)
			post(w, WATCH_IDLE_CHANGED, NULL);
		if (atomic_load(&w->reconnect))
			mf_store_destroy(&st);
	}
	mf_store_destroy(&st);
	pthread_mutex_lock(&w->mu);
	w->ended = true;
	free_it = w->detached;
	pthread_cond_signal(&w->ended_cv);
	pthread_mutex_unlock(&w->mu);
	if (free_it) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->ended_cv);
		free(w->box);
		free(w);
	}
	return NULL;
}

struct watch_idle *
watch_idle_start(const struct config_side *side, const char *box, int wake_fd)
{
	struct watch_idle *w = xcalloc(1, sizeof(*w));
	int rc;

	w->side = side;
	w->box = xstrdup(box != NULL ? box : "INBOX");
	w->notify = box == NULL;
	w->wake_fd = wake_fd;
	atomic_init(&w->stop, false);
	atomic_init(&w->reconnect, false);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->ended_cv, NULL);
	rc = pthread_create(&w->thread, NULL, idle_main, w);
	if (rc != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->ended_cv);
		free(w->box);
		free(w);
		errno = rc;
		return NULL;
	}
	return w;
}

unsigned
watch_idle_take(struct watch_idle *w, char *msg, size_t size)
{
	unsigned ev;

	pthread_mutex_lock(&w->mu);
	ev = w->events;
	w->events = 0;
	if (size > 0)
		snprintf(msg, size, "%s", w->msg);
	w->msg[0] = '\0';
	pthread_mutex_unlock(&w->mu);
	return ev;
}

void
watch_idle_reconnect(struct watch_idle *w)
{
	atomic_store(&w->reconnect, true);
}

bool
watch_idle_stop(struct watch_idle **wp, int wait_ms)
{
	struct watch_idle *w = *wp;
	struct timespec until;
	bool ended;

	*wp = NULL;
	if (w == NULL)
		return true;
	atomic_store(&w->stop, true);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->ended &&
	       pthread_cond_timedwait(&w->ended_cv, &w->mu, &until) == 0)
		;
	ended = w->ended;
	if (!ended)
		w->detached = true; /* the thread frees w when it ends */
	pthread_mutex_unlock(&w->mu);
	if (!ended) {
		pthread_detach(w->thread);
		return false;
	}
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->ended_cv);
	free(w->box);
	free(w);
	return true;
}
