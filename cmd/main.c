/*
 * mailferry: keep IMAP accounts and Maildirs in sync.
 *
 * main() parses the global options, installs the log handler (the only place
 * that prints below the command level), loads the configuration when the
 * command needs it and dispatches through the table below.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/log.h"
#include "base/str.h"
#include "cmd.h"
#include "config-keys.h"
#include "config-yaml.h"
#include "config.h"
#include "progress.h"

static int cmd_version(struct cmd_ctx *ctx, int argc, char **argv);
static int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);

static const struct cmd_desc commands[] = {
	{ "sync", cmd_sync, CMD_NEEDS_CONFIG | CMD_STOPS_SAFELY,
	  "[-n] [CHANNEL[:FOLDER]...]",
	  "synchronize channels (all when none given)",
	  "  -n, --dry-run  show what would be done, change nothing (not even\n"
	  "                 the state)\n"
	  "  --json         JSON Lines on stdout (mailferry(1) JSON OUTPUT)\n"
	  "  --exit-on-change  exit 8 when something changed, 0 when not\n"
	  "  --progress=auto|always|never  the live line on stderr (auto:\n"
	  "                 when stderr is a terminal)\n"
	  "  CHANNEL:FOLDER restricts a channel to some folders "
	  "(repeatable)\n" },
	{ "watch", cmd_watch, CMD_NEEDS_CONFIG | CMD_STOPS_SAFELY,
	  "[--interval SECONDS] [CHANNEL...]",
	  "stay up and sync within a second of a change on either side",
	  "  --interval SECONDS  sync every channel this often anyway, for "
	  "the\n"
	  "                 folders IDLE does not watch (default 300)\n"
	  "  --progress=auto|always|never  the live line during a sync\n"
	  "  --json         JSON Lines: the sync objects, and watch events\n"
	  "  IDLE on INBOX of an IMAP side, inotify (else polling) on a\n"
	  "  Maildir; SIGTERM exits 0, SIGHUP re-reads the configuration\n" },
	{ "migrate", cmd_migrate, CMD_NEEDS_CONFIG | CMD_STOPS_SAFELY,
	  "[-n] [--verify] SRC DST | CHANNEL | --batch FILE",
	  "copy every folder of account SRC to account (or store) DST",
	  "  -n, --dry-run  the plan per folder (counts), no change\n"
	  "  --progress=auto|always|never  the live line on stderr\n"
	  "  --verify       compare both sides after the copy (as verify)\n"
	  "  --batch FILE   many pairs, one a line of FILE: src=imaps://U@H\n"
	  "                 dst=imaps://U@H, src_/dst_password_command|\n"
	  "                 password_env|oauth_token_command=..., [name=N]\n"
	  "                 [src_/dst_ca_file=PATH]; each in a child with its\n"
	  "                 state and log under STATE/batch-FILE/NAME/; pairs\n"
	  "                 done are skipped when run again; a table at the "
	  "end\n"
	  "  --jobs N       with --batch: N pairs at once (default 1, max 32)\n"
	  "  --per-server M with --batch: at most M sessions at once on one\n"
	  "                 server (host:port; a pair holds one a side)\n"
	  "  --json         with --batch: JSON Lines instead of the table\n"
	  "  SRC is never changed (read-only); nothing is deleted; folders "
	  "are\n"
	  "  made on DST; a second run copies only what is new\n"
	  "  CHANNEL: a channel with migrate: true, for its folders: and\n"
	  "  folder_map: (explicit renames, e.g. \"Lists/v1.2\": "
	  "\"Lists/v1_2\")\n" },
	{ "fetch", cmd_fetch, CMD_NEEDS_CONFIG | CMD_STOPS_SAFELY,
	  "[-n] [CHANNEL[:FOLDER]...]",
	  "download the messages max_size left as placeholders",
	  "  -n, --dry-run  list the placeholders that would be fetched, from\n"
	  "                 the state database (no network)\n"
	  "  FOLDER names a folder on either side\n" },
	{ "list", cmd_list, CMD_NEEDS_CONFIG, "CHANNEL|ACCOUNT",
	  "list the far folders with counts and roles",
	  "  connects to the channel's far account (or the named account)\n" },
	{ "status", cmd_status, CMD_NEEDS_CONFIG, "[CHANNEL...]",
	  "what the last sync recorded (no network)", "" },
	{ "verify", cmd_verify, CMD_NEEDS_CONFIG | CMD_STOPS_SAFELY,
	  "[-v] [CHANNEL[:FOLDER]...]",
	  "compare both sides of channels (read-only, headers only)",
	  "  -v             list every message that differs\n"
	  "  --json         JSON Lines on stdout (mailferry(1) JSON OUTPUT)\n"
	  "  exits 0 when both sides agree, 1 when anything differs\n" },
	{ "check", cmd_check, CMD_NEEDS_CONFIG, "[CHANNEL...]",
	  "validate the configuration, show what it would connect to",
	  "  runs no password command and opens no connection\n" },
	{ "import-mbsyncrc", cmd_import_mbsyncrc, 0,
	  "[-o FILE [--force]] [FILE]",
	  "convert an mbsync configuration to YAML",
	  "  -o, --output FILE  write the YAML there (default stdout); never\n"
	  "                     overwrites an existing file without --force\n"
	  "  -f, --force        overwrite FILE given with -o\n"
	  "  FILE               the mbsyncrc (default ~/.mbsyncrc, else\n"
	  "                     $XDG_CONFIG_HOME/isyncrc)\n" },
	{ "version", cmd_version, 0, "", "print the version", "" },
	{ "help", cmd_help, 0, "[COMMAND|config]",
	  "this text, a command's options, or the configuration keys",
	  "  help COMMAND   the options of COMMAND (also COMMAND --help)\n"
	  "  help config    every configuration key, its type and default\n" },
};

static const char *progname = "mailferry";

static void
log_to_stderr(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	static const char *const prefix[] = {
		[MF_LOG_ERROR] = "error: ", [MF_LOG_WARN] = "warning: ",
		[MF_LOG_NOTICE] = "",	    [MF_LOG_INFO] = "",
		[MF_LOG_DEBUG] = "",
	};

	(void)cat;
	(void)ctx;
	progress_clear_active(); /* not after a live line (progress.h) */
	fprintf(stderr, "%s%s\n", prefix[level], msg);
}

int
cmd_exit_code(enum mf_err_class cls)
{
	switch (cls) {
	case MF_OK:
		return MF_EXIT_OK;
	case MF_E_MSG:
	case MF_E_BOX:
		return MF_EXIT_PARTIAL;
	case MF_E_USAGE:
	case MF_E_CONFIG:
		return MF_EXIT_USAGE;
	case MF_E_AUTH:
		return MF_EXIT_AUTH;
	case MF_E_STORE:
	case MF_E_NET:
	case MF_E_CANCELED:
		return MF_EXIT_NET;
	case MF_E_STATE:
		return MF_EXIT_STATE;
	case MF_E_LOCKED:
		return MF_EXIT_LOCKED;
	case MF_E_INTERNAL:
		return MF_EXIT_INTERNAL;
	}
	return MF_EXIT_INTERNAL;
}

const char *
cmd_shown(char *buf, size_t size, const char *s)
{
	if (s == NULL)
		s = "?";
	return mf_str_sanitize(buf, size, s, strlen(s));
}

int
cmd_fail(const struct mf_err *err)
{
	char shown[4 * sizeof(err->msg)];

	fprintf(stderr, "%s: %s\n", progname,
		err->msg[0] != '\0' ?
			cmd_shown(shown, sizeof(shown), err->msg) :
			"failed");
	return cmd_exit_code(err->cls);
}

int
cmd_exit_stopped(void)
{
	int sig = mf_cancel_signal();

	if (sig == 0)
		return -1;
	fprintf(stderr,
		"%s: stopped by %s; the next run goes on from where "
		"this one stopped\n",
		progname, mf_cancel_name());
	return MF_EXIT_SIGNAL_BASE + sig;
}

/*
 * First SIGINT or SIGTERM: ask the command to stop (cancel.h) and put the
 * default actions back, so that a second one, from a user who will not
 * wait, kills at once.  Whatever that leaves (files in a maildir's tmp/,
 * journaled copies) is what a crash leaves, and the next run cleans it up.
 * No SA_RESTART: a blocking wait returns EINTR and can look at the flag.
 */
static void
on_stop_signal(int sig)
{
	struct sigaction dfl;
	int saved = errno;

	mf_cancel_set(sig);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	errno = saved;
}

static void
catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	for (i = 0; i < MF_N_ELEMENTS(sigs); i++) {
		struct sigaction old;

		/* an ignored signal (nohup, a parent's choice) stays so */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: %s [-c FILE] [-v|-q] [-D] COMMAND [ARGS]\n\n"
		"commands:\n",
		progname);
	for (i = 0; i < MF_N_ELEMENTS(commands); i++)
		fprintf(f, "  %-8s %-27s %s\n", commands[i].name,
			commands[i].args, commands[i].summary);
	fprintf(f,
		"\noptions:\n"
		"  -c FILE        configuration file "
		"(default $XDG_CONFIG_HOME/mailferry/config.yaml)\n"
		"  -v, -q         more or less output\n"
		"  -D, --debug-imap  print the IMAP conversation "
		"(credentials redacted)\n"
		"  --debug=CATS   debug categories: "
		"imap,maildir,sync,state,all\n"
		"  -n, --dry-run  show what would be done, change nothing\n"
		"  --json         sync, status, list, check: JSON Lines "
		"on stdout\n"
		"\n'%s help COMMAND' shows a command's options, "
		"'%s help config' the\nconfiguration keys; see "
		"mailferry(1) and mailferry.yaml(5).\n",
		progname, progname);
}

static int
cmd_version(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	printf("mailferry %s\n", MF_VERSION);
	return MF_EXIT_OK;
}

static const struct cmd_desc *find_command(const char *name);
static void unknown_command(const char *name);

static int
cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_desc *cmd;

	(void)ctx;
	if (argc < 2) {
		usage(stdout);
		return MF_EXIT_OK;
	}
	if (strcmp(argv[1], "config") == 0) {
		config_keys_print(stdout);
		return MF_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		unknown_command(argv[1]);
		return MF_EXIT_USAGE;
	}
	cmd_print_help(stdout, progname, cmd);
	return MF_EXIT_OK;
}

static int
parse_debug(const char *arg, unsigned *cats_r)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	unsigned cats = 0;
	int ret = 0;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "imap") == 0)
			cats |= MF_LOGC_IMAP;
		else if (strcmp(tok, "maildir") == 0)
			cats |= MF_LOGC_MAILDIR;
		else if (strcmp(tok, "sync") == 0)
			cats |= MF_LOGC_SYNC;
		else if (strcmp(tok, "state") == 0)
			cats |= MF_LOGC_STATE;
		else if (strcmp(tok, "all") == 0)
			cats |= MF_LOGC_ALL;
		else
			ret = -1;
	}
	free(copy);
	*cats_r = cats;
	return ret;
}

/*
 * "-c FILE" is a global option, but people write it after the command too
 * ("mailferry check -c x.yaml"): take it from the command's arguments
 * before the configuration is loaded, and drop it from argv.  The same
 * for --json.
 */
static void
take_config_option(struct cmd_ctx *ctx, int *argc, char **argv, int from)
{
	int i, o = from;

	for (i = from; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) &&
		    i + 1 < *argc) {
			ctx->config_path = argv[++i];
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0) {
			ctx->config_path = a + 9;
			continue;
		}
		/* --json too: "mailferry status --json" */
		if (strcmp(a, "--json") == 0) {
			ctx->json = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	*argc = o;
}

/*
 * The global options, up to the command name (optind is left at it).
 * Returns -1 to go on, or the exit code when main() is to return at once
 * (--help, --version, a bad option).
 */
static int
parse_global_options(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "debug-imap", no_argument, NULL, 'D' },
		{ "debug", required_argument, NULL, 'd' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* "+": stop at the command name; its options are its own */
	while ((c = getopt_long(argc, argv, "+c:vqDnhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'v':
			ctx->verbosity++;
			break;
		case 'q':
			ctx->verbosity = -1;
			break;
		case 'D':
			ctx->debug |= MF_LOGC_IMAP;
			break;
		case 'd':
			if (parse_debug(optarg, &ctx->debug) < 0) {
				fprintf(stderr,
					"%s: --debug: unknown category "
					"in '%s' (imap, maildir, sync, state, "
					"all)\n",
					progname, optarg);
				return MF_EXIT_USAGE;
			}
			break;
		case 'n':
			ctx->dry_run = true;
			break;
		case 'J':
			ctx->json = true;
			break;
		case 'h':
			usage(stdout);
			return MF_EXIT_OK;
		case 'V':
			return cmd_version(ctx, 0, NULL);
		default:
			usage(stderr);
			return MF_EXIT_USAGE;
		}
	}
	return -1;
}

static const struct cmd_desc *
find_command(const char *name)
{
	const struct cmd_desc *cmd = NULL;
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			cmd = &commands[i];
	return cmd;
}

/* The commands with a --json form (mailferry(1) JSON OUTPUT). */
static bool
json_supported(const char *name)
{
	/* migrate: with --batch only (cmd-migrate.c says so) */
	static const char *const names[] = { "sync",   "status", "list",
					     "check",  "watch",	 "verify",
					     "migrate" };
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(names); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static void
unknown_command(const char *name)
{
	const char *names[MF_N_ELEMENTS(commands) + 1], *hint;
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(commands); i++)
		names[i] = commands[i].name;
	names[i] = NULL;
	hint = cy_suggest(name, names);
	fprintf(stderr, "%s: unknown command '%s'%s%s%s (try '%s help')\n",
		progname, name, hint ? "; did you mean '" : "",
		hint ? hint : "", hint ? "'?" : "", progname);
}

static void
setup_logging(const struct cmd_ctx *ctx)
{
	mf_log_set_handler(log_to_stderr, NULL);
	mf_log_set_level(ctx->verbosity < 0  ? MF_LOG_WARN :
			 ctx->verbosity == 0 ? MF_LOG_NOTICE :
			 ctx->verbosity == 1 ? MF_LOG_INFO :
					       MF_LOG_DEBUG);
	if (ctx->debug != 0) {
		mf_log_set_level(MF_LOG_DEBUG);
		mf_log_set_debug(ctx->debug);
	}
}

/* Load -c FILE (or the default path) into ctx->cfg, logging its
 * warnings. */
static int
load_config(struct cmd_ctx *ctx, struct mf_err *err)
{
	char *def = NULL;
	const char *path = ctx->config_path;
	size_t i;
	int ret;

	if (path == NULL)
		path = def = config_default_path();
	ret = config_load(path, &ctx->cfg, err);
	free(def);
	if (ret < 0)
		return -1;
	for (i = 0; i < ctx->cfg->nwarnings; i++)
		mf_log(MF_LOG_WARN, MF_LOGC_GENERAL, "%s",
		       ctx->cfg->warnings[i]);
	return 0;
}

/*
 * migrate --batch needs no configuration file (each pair brings its
 * accounts; the file only gives state_dir): without -c and without a file
 * at the default path, it runs with ctx->cfg NULL.
 */
static bool
config_optional(const struct cmd_ctx *ctx, const struct cmd_desc *cmd, int argc,
		char **argv)
{
	bool batch = false, missing;
	char *def;
	int i;

	if (strcmp(cmd->name, "migrate") != 0 || ctx->config_path != NULL)
		return false;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--batch") == 0 ||
		    strncmp(argv[i], "--batch=", 8) == 0)
			batch = true;
	if (!batch)
		return false;
	def = config_default_path();
	missing = def == NULL || access(def, F_OK) != 0;
	free(def);
	return missing;
}

int
main(int argc, char **argv)
{
	struct cmd_ctx ctx = { 0 };
	const struct cmd_desc *cmd;
	struct mf_err err = { 0 };
	int ret;

	ret = parse_global_options(&ctx, argc, argv);
	if (ret >= 0)
		return ret;
	if (optind >= argc) {
		usage(stderr);
		return MF_EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (cmd == NULL) {
		unknown_command(argv[optind]);
		return MF_EXIT_USAGE;
	}
	if (cmd_wants_help(argc - optind, argv + optind)) {
		cmd_print_help(stdout, progname, cmd);
		return MF_EXIT_OK;
	}

	take_config_option(&ctx, &argc, argv, optind + 1);
	if (ctx.json && !json_supported(cmd->name)) {
		fprintf(stderr,
			"%s: --json: not for '%s' (sync, watch, "
			"status, list, check, verify and migrate --batch "
			"only)\n",
			progname, cmd->name);
		return MF_EXIT_USAGE;
	}
	setup_logging(&ctx);

	if ((cmd->needs & CMD_NEEDS_CONFIG) &&
	    !config_optional(&ctx, cmd, argc - optind, argv + optind) &&
	    load_config(&ctx, &err) < 0)
		return cmd_fail(&err);

	if (cmd->needs & CMD_STOPS_SAFELY)
		catch_stop_signals();
	/* the command's own argv starts at its name, as getopt expects */
	ret = cmd->run(&ctx, argc - optind, argv + optind);
	config_free(&ctx.cfg);
	return ret;
}
