/*
 * mailferry status --json (cmd-json.h): what cmd-status.c shows as a
 * table, read the same way (read-only, one snapshot).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "cmd-json.h"
#include "config.h"
#include "json.h"
#include "state.h"

struct status_totals {
	uint64_t messages, pending, placeholders;
	int64_t last_sync;
};

static void
kv_time(struct json *j, const char *key, int64_t t)
{
	json_key(j, key);
	if (t == 0)
		json_null(j); /* never */
	else
		json_int(j, t);
}

/* The folder objects are printed only once all were read: an error
 * half-way leaves no half channel on stdout. */
static int
read_boxes(struct state_db *db, const struct state_box_list *boxes,
	   uint64_t (*counts)[3], struct mf_err *err)
{
	size_t i;

	for (i = 0; i < boxes->n; i++) {
		int64_t id = boxes->v[i].id;

		if (state_msg_count(db, id, &counts[i][0], err) < 0 ||
		    state_msg_count_pending(db, id, &counts[i][1], err) < 0 ||
		    state_msg_count_placeholders(db, id, &counts[i][2], err) <
			    0)
			return -1;
	}
	return 0;
}

static void
print_channel(const char *channel, const char *path,
	      const struct state_box_list *boxes, uint64_t (*counts)[3])
{
	struct status_totals t = { 0 };
	struct json j;
	size_t i, n = boxes != NULL ? boxes->n : 0;

	for (i = 0; i < n; i++) {
		const struct state_box *b = &boxes->v[i];

		json_begin(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "type", "folder");
		json_kv_str(&j, "channel", channel);
		json_kv_str(&j, "far", b->far_name);
		json_kv_str(&j, "near", b->near_name);
		json_kv_uint(&j, "messages", counts[i][0]);
		json_kv_uint(&j, "pending", counts[i][1]);
		json_kv_uint(&j, "placeholders", counts[i][2]);
		kv_time(&j, "last_sync", b->last_sync);
		json_obj_close(&j);
		json_end(&j);
		t.messages += counts[i][0];
		t.pending += counts[i][1];
		t.placeholders += counts[i][2];
		if (b->last_sync > t.last_sync)
			t.last_sync = b->last_sync;
	}
	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "channel");
	json_kv_str(&j, "channel", channel);
	json_kv_str(&j, "state_file", path);
	json_kv_bool(&j, "synced", n > 0);
	json_kv_uint(&j, "folders", n);
	json_kv_uint(&j, "messages", t.messages);
	json_kv_uint(&j, "pending", t.pending);
	json_kv_uint(&j, "placeholders", t.placeholders);
	kv_time(&j, "last_sync", t.last_sync);
	json_obj_close(&j);
	json_end(&j);
}

int
status_json_channel(const struct mf_config *cfg,
		    const struct config_channel *ch, struct mf_err *err)
{
	/* the path cmd-status.c reads (stores_state_path()) */
	char *path = xasprintf("%s/%s.db", cfg->state_dir, ch->name);
	struct state_box_list *boxes = NULL;
	struct state_db *db = NULL;
	uint64_t(*counts)[3] = NULL;
	int ret = -1;

	if (state_open(path, true, &db, err) < 0) {
		if (err->sys_errno == ENOENT) {
			mf_err_clear(err);
			print_channel(ch->name, path, NULL, NULL);
			ret = 0;
		}
		goto out;
	}
	if (state_begin(db, err) < 0 || state_box_list(db, &boxes, err) < 0)
		goto out;
	counts = xcalloc(boxes->n + 1, sizeof(*counts));
	if (read_boxes(db, boxes, counts, err) < 0)
		goto out;
	print_channel(ch->name, path, boxes, counts);
	ret = 0;
out:
	if (db != NULL)
		state_rollback(db);
	free(counts);
	state_box_list_free(&boxes);
	state_close(&db);
	free(path);
	return ret;
}
