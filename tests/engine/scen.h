/*
 * Sync scenarios as data (tests/engine/README.md has the notation): a
 * scenario is a table of both sides and the state before a run, the
 * policy, and the tables expected after it.
 *
 * scen-parse.c reads the files, scen-world.c turns a table into two mem
 * stores and a state database and back into text, run-scenarios.c runs
 * each scenario once, twice, and stopped at every step.
 */
#ifndef MF_TESTS_SCEN_H
#define MF_TESTS_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem-store.h"
#include "policy.h"
#include "state.h"

#define SCEN_MAX_MSGS 96
#define SCEN_MAX_ROWS 96
#define SCEN_MAX_BOXES 8
#define SCEN_MAX_FAILS 4
#define SCEN_NAME 192 /* room for a maildir key over MOVE_KEY_MAX */
#define SCEN_TEXT 256

/* The fixed clock of every run; dates are relative to it. */
#define SCEN_NOW ((int64_t)1750000000)
#define SCEN_DAY ((int64_t)86400)

/* One message line: far: / near: */
struct scen_msg {
	int line;
	bool far;
	char box[SCEN_NAME];
	char id[SCEN_NAME]; /* UID or key; "*" any / assigned */
	unsigned flags;
	char tag[SCEN_NAME];
	char kw[SCEN_TEXT];  /* normalized */
	char mid[SCEN_NAME]; /* Message-ID <mid@test>; "" = tag */
	bool nomid;	     /* no Message-ID header at all */
	bool xtuid;	     /* an X-TUID header (same fingerprint) */
	bool ph;	     /* a placeholder of ours */
	bool is_new;
	char body[SCEN_NAME]; /* body variant; "" = plain */
	uint64_t size;	      /* padded to exactly this size; 0 = no */
	int64_t date;	      /* 0: a day before SCEN_NOW */
};

/* One state line: state: */
struct scen_row {
	int line;
	char box[SCEN_NAME];
	char far[SCEN_NAME];  /* far UID, "-" none, "*" any */
	char near[SCEN_NAME]; /* near UID or key, "-", "*" */
	unsigned flags, nflags;
	char kw[SCEN_TEXT], nkw[SCEN_TEXT];
	enum state_pending pending;
	char arg[SCEN_NAME]; /* pending_arg; "" = NULL */
	bool ph;
	uint64_t size; /* 0: the message's */
};

/* A box: line.  INBOX exists on both sides unless a table says else. */
struct scen_box {
	char name[SCEN_NAME];
	bool far, near;
	bool synced; /* has a state box even without rows */
};

struct scen_table {
	bool present;
	struct scen_box boxes[SCEN_MAX_BOXES];
	size_t nboxes;
	struct scen_msg msgs[SCEN_MAX_MSGS];
	size_t nmsgs;
	struct scen_row rows[SCEN_MAX_ROWS];
	size_t nrows;
};

struct scen_fail {
	bool far;
	char op[24];
	unsigned nth;
	enum mem_fail_kind kind;
};

struct scen {
	const char *file;
	int line;
	char name[SCEN_TEXT];
	unsigned far_caps, near_caps;
	struct sync_policy pol;
	char folder_buf[SCEN_TEXT];
	const char *folders[16];
	bool reset_far, reset_near; /* UIDVALIDITY changed since the
					 * state was recorded */
	struct scen_fail fails[SCEN_MAX_FAILS];
	size_t nfails;
	unsigned delay_ms;
	size_t batch;
	char xfail[SCEN_TEXT]; /* "": must pass */
	bool expect_failed;    /* the first run must report one */
	struct scen_table before, expect, then;
};

/* Parse a file; *v_r (array of *n_r) is the caller's, freed with free();
 * each scenario's file points to path, which must outlive them.  Errors
 * print file:line and return -1. */
int scen_parse_file(const char *path, struct scen **v_r, size_t *n_r);

/* Caps from a line like "imap -qresync" (0 and a message on error). */
unsigned scen_caps(const char *spec, char *errbuf, size_t errsize);

/* The canonical bytes of a message line (malloc'd). */
char *scen_body(const struct scen_msg *m, size_t *len_r);

/* Build dir/far.mem, dir/near.mem, dir/state.db from sc->before. */
int scen_build(const struct scen *sc, const char *dir, char *errbuf,
	       size_t errsize);

/*
 * The world in dir as text lines, one per folder, message and state row,
 * in the notation; what is compared.  Lines are "far: BOX ID REST", etc.
 */
struct scen_lines {
	char **v;
	size_t n;
};
int scen_render_dir(const struct scen *sc, const char *dir,
		    struct scen_lines *out, char *errbuf, size_t errsize);
void scen_render_table(const struct scen *sc, const struct scen_table *t,
		       struct scen_lines *out);
void scen_lines_free(struct scen_lines *l);
/* Do the lines match (expected may have "*" for an id)?  Prints the
 * difference under the heading when not. */
bool scen_lines_match(const struct scen_lines *expect,
		      const struct scen_lines *actual);

/* Store helpers for the runner */
int scen_open_stores(const struct scen *sc, const char *dir,
		     struct mf_store **far_r, struct mf_store **near_r,
		     char *errbuf, size_t errsize);

#endif
