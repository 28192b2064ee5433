/*
 * The command line: one file per subcommand, dispatched from main.c's table.
 */
#ifndef MF_CMD_H
#define MF_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

struct mf_config;

/* Exit codes, documented in mailferry(1). */
enum mf_exit {
	MF_EXIT_OK = 0,
	MF_EXIT_PARTIAL = 1, /* some folders or messages failed */
	MF_EXIT_USAGE = 2,   /* bad command line or configuration */
	MF_EXIT_AUTH = 3,    /* login refused */
	MF_EXIT_NET = 4,     /* network, TLS or protocol failure */
	MF_EXIT_STATE = 5,   /* state database unusable */
	MF_EXIT_LOCKED = 6,  /* another mailferry holds the channel */
	/* the run succeeded but the mass-deletion guard held deletions back;
	 * every failure code above wins over it */
	MF_EXIT_HELD_BACK = 7,
	/* sync --exit-on-change: the run succeeded and changed something on
	 * a side (0 then means it changed nothing); every code above wins */
	MF_EXIT_CHANGED = 8,
	MF_EXIT_UNAVAILABLE = 69, /* command not built yet */
	MF_EXIT_INTERNAL = 70,	  /* a bug */
	/* stopped by signal N at a safe point: 128 + N (130 SIGINT, 143
	 * SIGTERM), as a shell reports a process killed by N */
	MF_EXIT_SIGNAL_BASE = 128,
};

/* What the dispatcher prepares before calling a command. */
#define CMD_NEEDS_CONFIG 0x1u
/*
 * The command polls base/cancel.h: SIGINT and SIGTERM only ask it to stop
 * at its next safe point (a second one kills at once), and it returns
 * cmd_exit_stopped() when it did.  Without this bit the default actions
 * stay: the command dies where it stands.
 */
#define CMD_STOPS_SAFELY 0x2u

struct cmd_ctx {
	const char *config_path; /* -c, or NULL for the default */
	struct mf_config *cfg;	 /* loaded when CMD_NEEDS_CONFIG */
	int verbosity;		 /* -q: -1, default 0, -v: 1, -vv: 2 */
	unsigned debug;		 /* MF_LOGC_* shown at debug level */
	bool dry_run;
	bool json; /* --json: JSON Lines on stdout (mailferry(1)) */
};

typedef int cmd_fn(struct cmd_ctx *ctx, int argc, char **argv);

struct cmd_desc {
	const char *name;
	cmd_fn *run;
	unsigned needs;
	const char *args; /* usage of the arguments */
	const char *summary;
	/* `mailferry help NAME` / `NAME --help`: the command's options and
	 * what they do, one "  -x, --long  what" line each ("" for none) */
	const char *help;
};

/* Print the usage and help of one command (help.c). */
void cmd_print_help(FILE *f, const char *progname, const struct cmd_desc *cmd);
/* True when argv (the command's, from its name on, up to "--") asks for
 * --help or -h. */
bool cmd_wants_help(int argc, char **argv);

/* Map an error class to the exit code above. */
int cmd_exit_code(enum mf_err_class cls);
/*
 * Text from a server or the file system (folder names, error messages that
 * quote them) sanitized for the terminal into buf (mf_str_sanitize(): every
 * control character shown escaped); returns buf.  mf_log() does this
 * itself; what a command prints with printf goes through here.  NULL is
 * shown as "?".
 */
const char *cmd_shown(char *buf, size_t size, const char *s);
/* Print "mailferry: <err>" to stderr, sanitized, and return its exit
 * code. */
int cmd_fail(const struct mf_err *err);
/*
 * After a stop by signal (base/cancel.h): say so on stderr and return
 * MF_EXIT_SIGNAL_BASE + the signal.  Returns -1, printing nothing, when no
 * stop was asked for.
 */
int cmd_exit_stopped(void);

int cmd_sync(struct cmd_ctx *ctx, int argc, char **argv);

/* ---- one channel's sync, for sync and watch (cmd-sync.c) ---- */
struct target;
struct cmd_sync_opts {
	int progress;	      /* enum progress_mode (progress.h) */
	bool quiet_unchanged; /* no summary for a run that changed nothing */
	bool folders_only;    /* -n: no line per message, the folders' */
};
/* Sync t, printing as `mailferry sync` does, and run its hooks.  Returns
 * its exit code; *held_back and *changed add to the caller's. */
int cmd_sync_channel(struct cmd_ctx *ctx, const struct target *t,
		     const struct cmd_sync_opts *so, size_t *held_back,
		     bool *changed);
/* The exit code of a run of channels so far (code) and one more (rc). */
int cmd_sync_worse(int code, int rc);
int cmd_watch(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_migrate(struct cmd_ctx *ctx, int argc, char **argv);
/* migrate --batch FILE: the pairs of FILE, njobs at once and at most
 * per_server (0: no cap) on one server (cmd-batch.c).  ctx->cfg may be
 * NULL (no configuration file): it only gives state_dir. */
#define BATCH_MAX_JOBS 32
int cmd_migrate_batch(struct cmd_ctx *ctx, const char *file, unsigned njobs,
		      unsigned per_server, bool verify);
int cmd_fetch(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_status(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_check(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv);
/* Verify one channel as `mailferry verify` does (its lines, its verdict);
 * returns its exit code.  migrate --verify uses it (cmd-verify.c). */
int cmd_verify_target(struct cmd_ctx *ctx, const struct target *t);
int cmd_import_mbsyncrc(struct cmd_ctx *ctx, int argc, char **argv);

#endif
