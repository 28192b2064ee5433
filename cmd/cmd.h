/*
 * The command line: one file per subcommand, dispatched from main.c's table.
 */
#ifndef MF_CMD_H
#define MF_CMD_H

#include <stdbool.h>

#include "base/err.h"

struct mf_config;

/* Exit codes, documented in mailferry(1). */
enum mf_exit {
	MF_EXIT_OK = 0,
	MF_EXIT_PARTIAL = 1,	/* some folders or messages failed */
	MF_EXIT_USAGE = 2,	/* bad command line or configuration */
	MF_EXIT_AUTH = 3,	/* login refused */
	MF_EXIT_NET = 4,	/* network, TLS or protocol failure */
	MF_EXIT_STATE = 5,	/* state database unusable */
	MF_EXIT_LOCKED = 6,	/* another mailferry holds the channel */
	MF_EXIT_UNAVAILABLE = 69, /* command not built yet */
	MF_EXIT_INTERNAL = 70,	/* a bug */
};

/* What the dispatcher prepares before calling a command. */
#define CMD_NEEDS_CONFIG 0x1u

struct cmd_ctx {
	const char *config_path;	/* -c, or NULL for the default */
	struct mf_config *cfg;		/* loaded when CMD_NEEDS_CONFIG */
	int verbosity;			/* -q: -1, default 0, -v: 1, -vv: 2 */
	unsigned debug;			/* MF_LOGC_* shown at debug level */
	bool dry_run;
};

typedef int cmd_fn(struct cmd_ctx *ctx, int argc, char **argv);

struct cmd_desc {
	const char *name;
	cmd_fn *run;
	unsigned needs;
	const char *args;	/* usage of the arguments */
	const char *summary;
};

/* Map an error class to the exit code above. */
int cmd_exit_code(enum mf_err_class cls);
/* Print "mailferry: <err>" to stderr and return its exit code. */
int cmd_fail(const struct mf_err *err);

int cmd_sync(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_fetch(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_status(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_check(struct cmd_ctx *ctx, int argc, char **argv);

#endif
