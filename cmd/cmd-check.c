/*
 * mailferry check [-c FILE] [CHANNEL...]
 *
 * The configuration was loaded (and so validated) before we are called;
 * here we show, per channel, what a sync would connect to and what it would
 * be allowed to do.  Nothing is run (no password_command) and nothing is
 * contacted, so check is safe to run anywhere, including CI.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd-json.h"
#include "cmd.h"
#include "config.h"

static const char *const side_words[] = { "none", "far", "near", "both" };

static void warn(const char *fmt, ...) MF_PRINTF(1, 2);

static void
warn(const char *fmt, ...)
{
	va_list ap;

	fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A path as the user would type it: $HOME shown as "~". */
static void
print_path(const char *path)
{
	const char *home = getenv("HOME");
	size_t len = home != NULL ? strlen(home) : 0;

	if (len > 1 && strncmp(path, home, len) == 0 && path[len] == '/')
		printf("~%s", path + len);
	else
		fputs(path, stdout);
}

static const char *
secret_source(const struct config_account *acct)
{
	if (acct->oauth_token_command != NULL)
		return "OAuth2 token from command";
	if (acct->password_command != NULL)
		return "password from command";
	if (acct->password_env != NULL)
		return "password from $";
	if (acct->password != NULL)
		return "password in the file";
	if (acct->imap.tunnel != NULL)
		return "preauthenticated, else password asked on the terminal";
	return "password asked on the terminal";
}

static void
print_account_extras(const struct imap_store_cfg *imap)
{
	if (imap->auth_mechs != NULL)
		printf(", auth %s", imap->auth_mechs);
	if (imap->ca_file != NULL) {
		fputs(", ca_file ", stdout);
		print_path(imap->ca_file);
	}
	if (imap->fingerprint != NULL)
		printf(", pinned %.19s...", imap->fingerprint);
	if (!imap->compress)
		fputs(", compress off", stdout);
	if (imap->pipeline_depth != 0)
		printf(", pipeline %u", imap->pipeline_depth);
	if (imap->timeout_ms != 0)
		printf(", timeout %ds", imap->timeout_ms / 1000);
	if (imap->command_timeout_ms != 0)
		printf(", command_timeout %ds",
		       imap->command_timeout_ms / 1000);
	if (imap->no_condstore || imap->no_qresync || imap->no_uidplus ||
	    imap->no_move || imap->no_list_status || imap->no_objectid)
		printf(", disabled%s%s%s%s%s%s",
		       imap->no_condstore ? " condstore" : "",
		       imap->no_qresync ? " qresync" : "",
		       imap->no_uidplus ? " uidplus" : "",
		       imap->no_move ? " move" : "",
		       imap->no_list_status ? " list_status" : "",
		       imap->no_objectid ? " objectid" : "");
}

static void
print_account(const struct config_account *acct)
{
	static const char *const tls[] = { "implicit", "starttls", "none" };
	const struct imap_store_cfg *imap = &acct->imap;
	bool v6 = imap->host != NULL && strchr(imap->host, ':') != NULL;

	if (imap->tunnel != NULL)
		printf("tunnel: %s (", imap->tunnel);
	else
		printf("%s://%s@%s%s%s:%u (",
		       imap->tls == IMAP_TLS_IMPLICIT ? "imaps" : "imap",
		       imap->user, v6 ? "[" : "", imap->host, v6 ? "]" : "",
		       imap->port);
	printf("account %s, tls %s, %s", acct->name, tls[imap->tls],
	       secret_source(acct));
	if (acct->password_env != NULL)
		fputs(acct->password_env, stdout);
	if (acct->secret_timeout_ms != 0)
		printf(" (at most %ds)", acct->secret_timeout_ms / 1000);
	print_account_extras(imap);
	fputc(')', stdout);
}

static void
print_side(const struct config_side *side)
{
	const struct mdir_store_cfg *md;

	if (side->kind == CONFIG_SIDE_ACCOUNT) {
		print_account(side->account);
		return;
	}
	md = &side->maildir->mdir;
	fputs("maildir ", stdout);
	print_path(md->path);
	printf(" (store %s, layout %s", side->maildir->name,
	       md->layout == MDIR_LAYOUT_FS ? "fs" : "maildir++");
	if (md->trash != NULL)
		printf(", trash %s", md->trash);
	if (md->no_fsync)
		fputs(", fsync off", stdout);
	fputc(')', stdout);
}

/* "pull,push" or the fine-grained words, e.g. "pull,push-new". */
static void
print_sync(const struct sync_policy *pol)
{
	static const char *const what[] = { "new", "flags", "delete" };
	const unsigned dirs[2] = { pol->pull, pol->push };
	const char *sep = "";
	unsigned d, b;

	for (d = 0; d < 2; d++) {
		const char *name = d == 0 ? "pull" : "push";

		if (dirs[d] == SYNC_ALL) {
			printf("%s%s", sep, name);
			sep = ",";
			continue;
		}
		for (b = 0; b < 3; b++) {
			if ((dirs[d] & (1u << b)) == 0)
				continue;
			printf("%s%s-%s", sep, name, what[b]);
			sep = ",";
		}
	}
}

static void
print_size(uint64_t n)
{
	static const char units[] = "KMG";
	int u = -1;

	while (u < 2 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		printf("%" PRIu64, n);
	else
		printf("%" PRIu64 "%c", n, units[u]);
}

static void
print_policy(const struct sync_policy *pol)
{
	size_t i;

	fputs("  policy: sync ", stdout);
	print_sync(pol);
	printf("; expunge %s; create %s; remove %s; folders",
	       side_words[pol->expunge & 3], side_words[pol->create & 3],
	       side_words[pol->remove & 3]);
	for (i = 0; i < pol->nfolders; i++)
		printf(" \"%s\"", pol->folders[i]);
	fputs("; limits", stdout);
	if (pol->max_size == 0 && pol->max_age_days == 0 &&
	    pol->max_messages == 0 && pol->max_delete_percent == 0)
		fputs(" none", stdout);
	if (pol->max_size != 0) {
		fputs(" max_size ", stdout);
		print_size(pol->max_size);
	}
	if (pol->max_age_days != 0)
		printf(" max_age %ud", pol->max_age_days);
	if (pol->max_messages != 0)
		printf(" max_messages %u", pol->max_messages);
	if (pol->max_delete_percent != 0)
		printf(" max_delete_percent %u", pol->max_delete_percent);
	fputc('\n', stdout);
}

static void
print_channel(const struct config_channel *ch)
{
	printf("%s: far ", ch->name);
	print_side(&ch->far);
	fputs(" <-> near ", stdout);
	print_side(&ch->near);
	fputc('\n', stdout);
	print_policy(&ch->policy);
}

/* What only shows at run time, said now: unset variables, missing files. */
static void
check_environment(const struct mf_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->naccounts; i++) {
		const struct config_account *a = &cfg->accounts[i];

		if (a->password_env != NULL && getenv(a->password_env) == NULL)
			warn("account '%s': password_env %s is not set in "
			     "this environment",
			     a->name, a->password_env);
		if (a->imap.ca_file != NULL &&
		    access(a->imap.ca_file, R_OK) < 0)
			warn("account '%s': ca_file %s is not readable",
			     a->name, a->imap.ca_file);
	}
}

/* Every name given must be a channel; say which are not. */
static int
check_names(const struct mf_config *cfg, int argc, char **argv)
{
	int i, bad = 0;
	size_t k;
	const char *hint;

	for (i = 0; i < argc; i++) {
		if (config_find_channel(cfg, argv[i]) != NULL)
			continue;
		fprintf(stderr,
			"mailferry: check: no channel '%s' "
			"(channels:",
			argv[i]);
		for (k = 0; k < cfg->nchannels; k++)
			fprintf(stderr, " %s", cfg->channels[k].name);
		fputs(cfg->nchannels == 0 ? " none)\n" : ")\n", stderr);
		hint = config_suggest(cfg, argv[i], CONFIG_NAME_CHANNEL);
		if (hint != NULL)
			fprintf(stderr, "mailferry: did you mean '%s'?\n",
				hint);
		bad = 1;
	}
	return bad ? -1 : 0;
}

int
cmd_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct mf_config *cfg;
	int c, i;

	optind = 0; /* glibc: restart getopt for the command's argv */
	/* -c FILE was taken by main.c wherever it stood */
	while ((c = getopt(argc, argv, "+h")) != -1) {
		if (c == 'h' || c == '?') {
			fprintf(c == 'h' ? stdout : stderr,
				"usage: mailferry "
				"check [-c FILE] [--json] [CHANNEL...]\n");
			return c == 'h' ? MF_EXIT_OK : MF_EXIT_USAGE;
		}
	}
	cfg = ctx->cfg;
	if (check_names(cfg, argc - optind, argv + optind) < 0)
		return MF_EXIT_USAGE;
	if (ctx->json) {
		check_environment(cfg); /* warnings: stderr */
		check_json(cfg, argc - optind, argv + optind);
		return MF_EXIT_OK;
	}
	printf("%s: %zu account%s, %zu store%s, %zu channel%s; state in ",
	       cfg->path, cfg->naccounts, cfg->naccounts == 1 ? "" : "s",
	       cfg->nmaildirs, cfg->nmaildirs == 1 ? "" : "s", cfg->nchannels,
	       cfg->nchannels == 1 ? "" : "s");
	print_path(cfg->state_dir);
	fputc('\n', stdout);
	check_environment(cfg);
	if (cfg->nchannels == 0)
		printf("no channels: add a channels: section to synchronize "
		       "anything\n");
	for (i = 0; i < (int)cfg->nchannels; i++) {
		const struct config_channel *ch = &cfg->channels[i];
		int k, wanted = optind == argc;

		for (k = optind; k < argc && !wanted; k++)
			wanted = strcmp(argv[k], ch->name) == 0;
		if (wanted)
			print_channel(ch);
	}
	return MF_EXIT_OK;
}
