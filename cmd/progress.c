/*
 * The live progress line (progress.h).
 *
 * Rate and ETA: the rate is the bytes copied in this channel so far over
 * the time since it began (steady, unlike a per-batch rate, and honest
 * about the listing and planning time it includes); the ETA is what is
 * left of the current folder's copies in this direction at that rate.
 * The engine knows the totals of one folder and direction only (each
 * folder is planned when it is reached), so no channel-wide ETA is shown.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/str.h"

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
progress_mode_parse(const char *s, enum progress_mode *mode_r)
{
	static const char *const names[] = { "auto", "always", "never" };
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*mode_r = (enum progress_mode)i;
			return 0;
		}
	return -1;
}

bool
progress_wanted(enum progress_mode mode, bool quiet)
{
	const char *term = getenv("TERM");

	if (mode != PROGRESS_AUTO)
		return mode == PROGRESS_ALWAYS;
	return !quiet && isatty(STDERR_FILENO) &&
	       (term == NULL || strcmp(term, "dumb") != 0);
}

/* the line being drawn (progress_begin() to progress_end()), or NULL */
static struct progress *active;

void
progress_begin(struct progress *p, const char *channel, bool on)
{
	memset(p, 0, sizeof(*p));
	p->on = on;
	p->channel = channel;
	p->start_ms = mono_ms();
	active = p;
}

void
progress_end(struct progress *p)
{
	progress_clear(p);
	if (active == p)
		active = NULL;
}

void
progress_clear_active(void)
{
	if (active != NULL)
		progress_clear(active);
}

double
progress_elapsed(const struct progress *p)
{
	return (double)(mono_ms() - p->start_ms) / 1000.0;
}

const char *
progress_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)n);
		return buf;
	}
	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

/* The terminal's width, 80 when stderr is not one. */
static size_t
width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

static void
draw(struct progress *p)
{
	char line[512], done[32], total[32], rate[32], eta[32] = "";
	double secs = progress_elapsed(p);
	uint64_t copied = p->bytes_before + p->bytes_done;
	double bps = secs > 0.2 ? (double)copied / secs : 0;
	size_t w = width() - 1, len;
	int n;

	if (bps >= 1 && p->bytes_total > p->bytes_done) {
		long left = (long)((double)(p->bytes_total - p->bytes_done) /
				   bps);

		snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", left / 60,
			 left % 60);
	}
	/* no rate (nor ETA) before there is something to measure */
	if (bps >= 1) {
		snprintf(rate, sizeof(rate), ", ");
		progress_bytes((uint64_t)bps, rate + 2, sizeof(rate) - 2);
		snprintf(rate + strlen(rate), sizeof(rate) - strlen(rate),
			 "/s");
	} else {
		rate[0] = '\0';
	}
	if (p->msgs_total > 0)
		n = snprintf(line, sizeof(line),
			     "%s: folder %zu/%zu %s: %s %zu/%zu, %s/%s%s%s",
			     p->channel, p->box_index, p->box_count, p->box,
			     p->to_near ? "pull" : "push", p->msgs_done,
			     p->msgs_total,
			     progress_bytes(p->bytes_done, done, sizeof(done)),
			     progress_bytes(p->bytes_total, total,
					    sizeof(total)),
			     rate, eta);
	else
		n = snprintf(line, sizeof(line), "%s: folder %zu/%zu %s",
			     p->channel, p->box_index, p->box_count, p->box);
	len = n < 0			? 0 :
	      (size_t)n >= sizeof(line) ? sizeof(line) - 1 :
					  (size_t)n;
	/* a line that wraps could not be redrawn in place */
	if (len > w)
		len = w;
	fprintf(stderr, "\r%.*s\033[K", (int)len, line);
	fflush(stderr);
	p->drawn = true;
	p->last_draw_ms = mono_ms();
}

void
progress_update(void *ctx, const struct sync_progress *sp)
{
	struct progress *p = ctx;
	char raw[512];

	if (!p->on)
		return;
	if (sp->kind == SYNC_PROGRESS_FOLDER) {
		p->bytes_before += p->bytes_done;
		p->box_index = sp->box_index;
		p->box_count = sp->box_count;
		snprintf(raw, sizeof(raw), "%s",
			 sp->near_name != NULL ? sp->near_name :
			 sp->far_name != NULL  ? sp->far_name :
						 "?");
		/* as cmd_shown() (cmd.h), which lives in main.c */
		mf_str_sanitize(p->box, sizeof(p->box), raw, strlen(raw));
		p->msgs_done = p->msgs_total = 0;
		p->bytes_done = p->bytes_total = 0;
	} else {
		/* a second direction in the same folder starts from 0 */
		if (sp->msgs_done == 0)
			p->bytes_before += p->bytes_done;
		p->to_near = sp->to_near;
		p->msgs_done = sp->msgs_done;
		p->msgs_total = sp->msgs_total;
		p->bytes_done = sp->bytes_done;
		p->bytes_total = sp->bytes_total;
	}
	/* rate-limited; the first draw at once, and the channel's first
	 * count of copies too, whatever the time (one more line at most) */
	if (p->last_draw_ms != 0 &&
	    mono_ms() - p->last_draw_ms < PROGRESS_REDRAW_MS &&
	    (sp->kind != SYNC_PROGRESS_COPY || p->counts_drawn))
		return;
	p->counts_drawn = p->counts_drawn || sp->kind == SYNC_PROGRESS_COPY;
	draw(p);
}

void
progress_clear(struct progress *p)
{
	if (!p->drawn)
		return;
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	p->drawn = false;
}
