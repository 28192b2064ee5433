/*
 * mailferry list CHANNEL|ACCOUNT
 *
 * Connects to the channel's far side (or to the named account, or opens
 * the named maildir store) and prints every folder with its message count,
 * unseen count and special-use role, in aligned columns:
 *
 *	INBOX         412  (3 unseen)  inbox
 *	Sent           57              sent
 *	Archive/2023  901
 *
 * Folders that cannot hold messages (\Noselect parents) show "-".
 * Exit codes: 2 for an unknown name, 3 when the login is refused, 4 for a
 * network, TLS or protocol failure (cmd_fail()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "cmd-json.h"
#include "cmd.h"
#include "config.h"
#include "store.h"
#include "stores.h"

#define NAME_WIDTH_MAX 40

/* Width on a terminal, counting a UTF-8 sequence as one column. */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int
resolve(const struct mf_config *cfg, const char *name,
	struct config_side *side_r, struct mf_err *err)
{
	const struct config_channel *ch = config_find_channel(cfg, name);
	const struct config_account *acct;
	const struct config_maildir *md;
	const char *hint;

	if (ch != NULL) {
		*side_r = ch->far;
		return 0;
	}
	acct = config_find_account(cfg, name);
	if (acct != NULL) {
		side_r->kind = CONFIG_SIDE_ACCOUNT;
		side_r->account = acct;
		side_r->maildir = NULL;
		return 0;
	}
	md = config_find_maildir(cfg, name);
	if (md != NULL) {
		side_r->kind = CONFIG_SIDE_MAILDIR;
		side_r->maildir = md;
		side_r->account = NULL;
		return 0;
	}
	hint = config_suggest(cfg, name,
			      CONFIG_NAME_CHANNEL | CONFIG_NAME_ACCOUNT |
				      CONFIG_NAME_STORE);
	return mf_err_set(err, MF_E_USAGE,
			  "list: no channel, account or "
			  "maildir store named '%s'%s%s%s",
			  name, hint ? "; did you mean '" : "",
			  hint ? hint : "", hint ? "'?" : "");
}

static void
print_list(const struct mf_box_list *list)
{
	size_t i, namew = 0, countw = 1, unseenw = 0;
	char(*names)[256] = xcalloc(list->n ? list->n : 1, sizeof(*names));

	for (i = 0; i < list->n; i++) {
		const struct mf_box_info *b = &list->v[i];
		char tmp[64];
		size_t w;

		/* folder names come from the server: no terminal escapes */
		mf_str_sanitize(names[i], sizeof(names[i]), b->name,
				strlen(b->name));
		w = text_width(names[i]);
		if (w > namew)
			namew = w < NAME_WIDTH_MAX ? w : NAME_WIDTH_MAX;
		w = (size_t)snprintf(tmp, sizeof(tmp), "%u",
				     b->status.messages);
		if (w > countw)
			countw = w;
		if (b->status.unseen > 0) {
			w = (size_t)snprintf(tmp, sizeof(tmp), "(%u unseen)",
					     b->status.unseen);
			if (w > unseenw)
				unseenw = w;
		}
	}
	for (i = 0; i < list->n; i++) {
		const struct mf_box_info *b = &list->v[i];
		const char *role = mf_role_name(b->role);
		char count[32], unseen[48] = "";
		size_t w = text_width(names[i]);

		if ((b->attrs & MF_BOX_NOSELECT) || !b->status.has_status)
			snprintf(count, sizeof(count), "-");
		else
			snprintf(count, sizeof(count), "%u",
				 b->status.messages);
		if (b->status.unseen > 0 && !(b->attrs & MF_BOX_NOSELECT))
			snprintf(unseen, sizeof(unseen), "(%u unseen)",
				 b->status.unseen);
		fputs(names[i], stdout);
		printf("%*s  %*s", (int)(w < namew ? namew - w : 0), "",
		       (int)countw, count);
		/* pad the unseen column only when a role follows it */
		if (role[0] != '\0')
			printf("  %-*s  %s", (int)unseenw, unseen, role);
		else if (unseen[0] != '\0')
			printf("  %s", unseen);
		putchar('\n');
	}
	free(names);
}

int
cmd_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct config_side side = { 0 };
	struct mf_store *st = NULL;
	struct mf_box_list *list = NULL;
	struct mf_err err = { 0 };
	int ret;

	if (argc != 2) {
		fprintf(stderr,
			"usage: mailferry list [--json] CHANNEL|ACCOUNT\n");
		return MF_EXIT_USAGE;
	}
	if (resolve(ctx->cfg, argv[1], &side, &err) < 0)
		return cmd_fail(&err);
	if (stores_open_side(&side, STORES_LISTS_FIRST, &st, &err) < 0)
		return cmd_fail(&err);
	if (st->ops->list_boxes(st, true, &list, &err) < 0) {
		mf_err_prefix(&err, "%s", st->name);
		ret = cmd_fail(&err);
		mf_store_destroy(&st);
		return ret;
	}
	if (ctx->json)
		list_json(st->name, list);
	else
		print_list(list);
	fflush(stdout);
	mf_box_list_free(&list);
	mf_store_destroy(&st);
	return MF_EXIT_OK;
}
