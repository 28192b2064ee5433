/*
 * move: messages from the selected mailbox into another one on the same
 * server, so that a message filed into another folder is not downloaded or
 * uploaded again.
 *
 * With MOVE (RFC 6851): UID MOVE per chunk of UIDs, pipelined.  Without it
 * but with UIDPLUS: UID COPY, then \Deleted and UID EXPUNGE of exactly the
 * copied UIDs (imap_remove).  Without either we do nothing: a plain
 * EXPUNGE could take other clients' \Deleted messages with it, and a copy
 * whose new UID we cannot learn saves nothing over an APPEND.
 *
 * New UIDs come from COPYUID (RFC 4315): untagged for MOVE (RFC 6851
 * section 4.3), in the tagged OK for COPY.  A COPYUID names its source
 * UIDs, so the mapping is taken from every COPYUID seen while our commands
 * are in flight, whichever command it arrives with; pipelining cannot
 * mix them up.  With UIDPLUS a UID the server did not list was not there:
 * the item is marked gone.  A server without UIDPLUS (MOVE alone) sends
 * no COPYUID: new_uid stays 0 and the engine finds the message by content.
 */
#include "imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"

/* Every COPYUID mapping seen, source UID -> destination UID. */
struct uid_map {
	uint32_t *src, *dst;
	size_t n, cap;
	bool bad; /* one could not be parsed */
};

struct move_cmd {
	struct imap_cmd *cmd;
	struct uid_map *map;
	size_t first, count; /* its range of the sorted UIDs */
};

struct uid_item {
	uint32_t uid;
	size_t item;
};

static int
cmp_uid_item(const void *a, const void *b)
{
	const struct uid_item *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* [COPYUID uidvalidity src-set dst-set]: the sets pair up in order. */
static bool
take_copyuid(struct uid_map *map, const struct imap_resp *resp)
{
	uint32_t *src = NULL, *dst = NULL;
	size_t nsrc = 0, ndst = 0, csrc = 0, cdst = 0, i;
	const char *s, *d;

	if (resp->ncode < 4 || !imap_arg_is_atom(&resp->code[0], "COPYUID"))
		return false;
	if (!imap_arg_get_atom(&resp->code[2], &s) ||
	    !imap_arg_get_atom(&resp->code[3], &d) ||
	    !imap_seqset_collect(s, resp->code[2].len, &src, &nsrc, &csrc,
				 1u << 20) ||
	    !imap_seqset_collect(d, resp->code[3].len, &dst, &ndst, &cdst,
				 1u << 20) ||
	    nsrc != ndst) {
		map->bad = true;
		goto out;
	}
	for (i = 0; i < nsrc; i++) {
		if (map->n == map->cap) {
			map->cap = map->cap ? map->cap * 2 : 64;
			map->src = xreallocarray(map->src, map->cap,
						 sizeof(uint32_t));
			map->dst = xreallocarray(map->dst, map->cap,
						 sizeof(uint32_t));
		}
		map->src[map->n] = src[i];
		map->dst[map->n++] = dst[i];
	}
out:
	free(src);
	free(dst);
	return true;
}

static bool
move_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct move_cmd *mc = ctx;

	(void)cmd;
	if (resp->status == NULL || strcmp(resp->status, "OK") != 0)
		return false;
	return take_copyuid(mc->map, resp);
}

static void
move_tagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct move_cmd *mc = ctx;

	(void)cmd;
	mf_test_step("imap move");
	take_copyuid(mc->map, resp);
}

static uint32_t
map_find(const struct uid_map *map, uint32_t uid)
{
	size_t i;

	/* a few hundred UIDs per call at most: a scan is fine */
	for (i = 0; i < map->n; i++)
		if (map->src[i] == uid)
			return map->dst[i];
	return 0;
}

/* Send "VERB set dest" per chunk of the sorted UIDs, wait for all. */
static int
run_chunks(struct imap_store *st, const struct uid_item *v, size_t n,
	   const char *verb, const char *dest, struct uid_map *map,
	   struct move_cmd **mcs_r, size_t *nmcs_r, struct mf_err *err)
{
	struct move_cmd *mcs = xcalloc(n ? n : 1, sizeof(*mcs));
	uint32_t *uids = xcalloc(n ? n : 1, sizeof(*uids));
	size_t nmcs = 0, pos = 0, i;
	int ret;

	for (i = 0; i < n; i++)
		uids[i] = v[i].uid;
	while (pos < n) {
		struct mf_buf set;
		size_t start = pos, end = pos + IMAP_UIDS_PER_CMD;
		struct move_cmd *mc = &mcs[nmcs];

		mf_buf_init(&set, IMAP_SET_MAX_BYTES + 64);
		if (imap_uidset_append(&set, uids, end < n ? end : n, &pos,
				       IMAP_SET_MAX_BYTES) == 0) {
			mf_buf_deinit(&set);
			break;
		}
		nmcs++;
		mc->first = start;
		mc->count = pos - start;
		mc->map = map;
		mc->cmd = imap_cmd_new(st->client);
		mc->cmd->untagged = move_untagged;
		mc->cmd->tagged = move_tagged;
		mc->cmd->ctx = mc;
		imap_cmd_printf(mc->cmd, "%s %s ", verb, set.data);
		imap_cmd_add_mailbox(mc->cmd, dest);
		mf_buf_deinit(&set);
		imap_client_submit(st->client, mc->cmd);
	}
	free(uids);
	ret = imap_client_wait_all(st->client, err);
	if (ret < 0)
		imap_store_fail(st, err);
	*mcs_r = mcs;
	*nmcs_r = nmcs;
	return ret;
}

/* Results per item from the commands and the COPYUID map. */
static void
fill_results(struct imap_store *st, struct mf_move_item *items,
	     const struct uid_item *v, const struct move_cmd *mcs, size_t nmcs,
	     const struct uid_map *map, const char *verb)
{
	size_t k, i;

	for (k = 0; k < nmcs; k++) {
		const struct move_cmd *mc = &mcs[k];

		for (i = mc->first; i < mc->first + mc->count; i++) {
			struct mf_move_item *it = &items[v[i].item];

			if (mc->cmd->status != IMAP_CMD_OK) {
				it->status = -1;
				mf_err_set(&it->err, MF_E_MSG,
					   "UID %u: %s: "
					   "%s",
					   it->uid, verb, mc->cmd->text);
				continue;
			}
			it->new_uid = map_find(map, it->uid);
			/* with UIDPLUS every moved UID is listed (an OK
			 * without COPYUID: nothing matched, RFC 6851 3.3);
			 * should a server leave it out anyway, the engine
			 * finds the message by content, as after a crash */
			if (it->new_uid == 0 && !map->bad &&
			    (st->caps & IMAP_CAP_UIDPLUS))
				it->gone = true;
		}
	}
}

/* The COPY fallback's second half: remove exactly what was copied. */
static int
remove_copied(struct imap_store *st, struct mf_move_item *items, size_t n,
	      struct mf_err *err)
{
	struct mf_remove_item *rm = xcalloc(n ? n : 1, sizeof(*rm));
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx));
	size_t nrm = 0, i;
	int ret;

	for (i = 0; i < n; i++) {
		if (items[i].status != 0 || items[i].gone)
			continue;
		rm[nrm].uid = items[i].uid;
		idx[nrm++] = i;
	}
	ret = nrm > 0 ? imap_remove(&st->base, rm, nrm, true, err) : 0;
	for (i = 0; ret == 0 && i < nrm; i++) {
		struct mf_move_item *it = &items[idx[i]];

		if (rm[i].status == 0)
			continue;
		/* copied but still here: the engine must not take it as
		 * moved, or the next run would copy the original back */
		it->status = -1;
		mf_err_set(&it->err, MF_E_MSG,
			   "UID %u: copied, but not "
			   "removed: %s",
			   it->uid, rm[i].err.msg);
	}
	free(rm);
	free(idx);
	return ret;
}

int
imap_move(struct mf_store *mst, struct mf_move_item *items, size_t n,
	  const char *dest, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	bool move = (st->caps & IMAP_CAP_MOVE) != 0;
	const char *verb = move ? "UID MOVE" : "UID COPY";
	struct uid_map map = { 0 };
	struct move_cmd *mcs = NULL;
	struct uid_item *v;
	char *server = NULL;
	size_t nmcs = 0, i;
	int ret;

	if (imap_need_selected(st, "move", err) < 0)
		return -1;
	if (!move && !(st->caps & IMAP_CAP_UIDPLUS))
		return mf_err_set(err, MF_E_BOX,
				  "move: the server has "
				  "neither MOVE nor UIDPLUS");
	if (strcmp(dest, st->sel_name) == 0)
		return mf_err_set(err, MF_E_INTERNAL, "move: %s into itself",
				  dest);
	if (n == 0)
		return 0;
	if (imap_name_to_server(st, dest, &server, err) < 0)
		return mf_err_prefix(err, "move");
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		items[i].status = 0;
		items[i].gone = false;
		items[i].new_uid = 0;
		items[i].new_key[0] = '\0';
		mf_err_clear(&items[i].err);
		v[i].uid = items[i].uid;
		v[i].item = i;
	}
	mf_qsort(v, n, sizeof(*v), cmp_uid_item);
	ret = run_chunks(st, v, n, verb, server, &map, &mcs, &nmcs, err);
	if (ret == 0) {
		if (map.bad)
			mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
			       "%s: could not read "
			       "a COPYUID answer to %s",
			       mst->name, verb);
		fill_results(st, items, v, mcs, nmcs, &map, verb);
	}
	for (i = 0; i < nmcs; i++)
		imap_cmd_free(&mcs[i].cmd);
	free(mcs);
	if (ret == 0 && !move)
		ret = remove_copied(st, items, n, err);
	free(map.src);
	free(map.dst);
	free(server);
	free(v);
	return ret;
}
