/*
 * The live progress line of `mailferry sync` and the time and wire line
 * after a channel's summary.
 *
 * The line goes to stderr, so that stdout keeps only the per-folder lines
 * and summaries that scripts read.  It is redrawn in place ("\r", then
 * the line, then "erase to end of line"), at most PROGRESS_REDRAW_MS
 * apart, cut to the terminal's width, and erased before any other line
 * is printed (progress_clear()) and when the channel ends.
 *
 * --progress=auto draws it when stderr is a terminal (and TERM is not
 * "dumb") and -q was not given; always draws it whatever stderr is;
 * never does not.
 */
#ifndef MF_PROGRESS_H
#define MF_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "sync.h"

#define PROGRESS_REDRAW_MS 100

enum progress_mode {
	PROGRESS_AUTO = 0,
	PROGRESS_ALWAYS,
	PROGRESS_NEVER,
};

/* "auto", "always", "never"; -1 for anything else. */
int progress_mode_parse(const char *s, enum progress_mode *mode_r);

/* Whether mode draws a line here (stderr, TERM), given -q. */
bool progress_wanted(enum progress_mode mode, bool quiet);

struct progress {
	bool on;	      /* draw at all */
	const char *channel;  /* borrowed */
	int64_t start_ms;     /* the channel's start (monotonic) */
	int64_t last_draw_ms; /* 0: never drawn */
	bool drawn;	      /* a line is on the screen now */
	bool counts_drawn;    /* a line with copy counts was drawn */
	/* from the engine (sync.h) */
	size_t box_index, box_count;
	char box[256]; /* the folder's name, shown safely */
	bool to_near;
	size_t msgs_done, msgs_total;
	uint64_t bytes_done, bytes_total;
	uint64_t bytes_before; /* bytes copied in earlier folders */
};

/* Begin a channel; on: draw (progress_wanted()).  p is the active line
 * until progress_end(p). */
void progress_begin(struct progress *p, const char *channel, bool on);
/* Erase the line and forget p. */
void progress_end(struct progress *p);
/* progress_clear() on the active line, if any: for the log handler, so
 * that a warning logged during a sync starts on a line of its own. */
void progress_clear_active(void);

/* A sync_progress_fn; ctx is the struct progress. */
void progress_update(void *ctx, const struct sync_progress *sp);

/* Erase the line, if one is drawn, so that another can be printed. */
void progress_clear(struct progress *p);

/* Seconds since progress_begin(). */
double progress_elapsed(const struct progress *p);

/* "1.5 KiB": n bytes for people, in buf. */
const char *progress_bytes(uint64_t n, char *buf, size_t size);

#endif
