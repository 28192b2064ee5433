/*
 * The JSON objects of a sync (sync-json.h).  The field names are
 * documented in mailferry(1) JSON OUTPUT: scripts depend on them, so add
 * fields but never rename or remove one.
 */
#include "sync-json.h"

#include <stdio.h>

#include "cmd.h"
#include "flags.h"
#include "json.h"

const char *
sync_outcome_word(enum sync_box_outcome outcome)
{
	switch (outcome) {
	case SYNC_BOX_NONE:
		return "none";
	case SYNC_BOX_SYNCED:
		return "synced";
	case SYNC_BOX_UNCHANGED:
		return "unchanged";
	case SYNC_BOX_PLANNED:
		return "planned";
	case SYNC_BOX_WOULD_CREATE_FAR:
		return "would_create_far";
	case SYNC_BOX_WOULD_CREATE_NEAR:
		return "would_create_near";
	case SYNC_BOX_VANISHED_FAR_KEPT:
		return "vanished_far_kept";
	case SYNC_BOX_VANISHED_NEAR_KEPT:
		return "vanished_near_kept";
	case SYNC_BOX_REMOVED:
		return "removed";
	case SYNC_BOX_GONE_BOTH:
		return "gone_both";
	case SYNC_BOX_SKIPPED_ONE_SIDED:
		return "skipped_one_sided";
	case SYNC_BOX_RENAMED:
		return "renamed";
	case SYNC_BOX_WOULD_RENAME:
		return "would_rename";
	}
	return "unknown";
}

/* "planned": what a dry run would do (plan.h's counts) */
static void
planned_object(struct json *j, const struct plan_stats *p)
{
	json_key(j, "planned");
	json_obj_open(j);
	json_kv_uint(j, "pull", p->pull);
	json_kv_uint(j, "push", p->push);
	json_kv_uint(j, "flags_far", p->flags_far);
	json_kv_uint(j, "flags_near", p->flags_near);
	json_kv_uint(j, "delete_far", p->del_far);
	json_kv_uint(j, "delete_near", p->del_near);
	json_kv_uint(j, "paired", p->paired);
	json_kv_uint(j, "placeholders", p->placeholders);
	json_kv_uint(j, "ambiguous", p->ambiguous);
	json_kv_uint(j, "skipped_size", p->skipped_size);
	json_kv_uint(j, "skipped_age", p->skipped_age);
	json_kv_uint(j, "skipped_count", p->skipped_count);
	json_obj_close(j);
}

void
sync_json_report(void *vctx, const struct sync_box_report *r)
{
	const struct sync_json_ctx *ctx = vctx;
	size_t held = r->planned.guard_far + r->planned.guard_near;
	char names[1024], msg[4 * sizeof(r->err.msg)];
	struct json j;

	*ctx->held_back += held;
	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "folder");
	json_kv_str(&j, "channel", ctx->channel);
	json_kv_str(&j, "far", r->far_name);
	json_kv_str(&j, "near", r->near_name);
	json_kv_str(&j, "outcome", sync_outcome_word(r->outcome));
	json_kv_bool(&j, "box_failed", r->box_failed);
	json_kv_uint(&j, "pulled", r->pulled);
	json_kv_uint(&j, "pushed", r->pushed);
	json_kv_uint(&j, "flags_far", r->flags_far);
	json_kv_uint(&j, "flags_near", r->flags_near);
	json_kv_uint(&j, "deleted_far", r->del_far);
	json_kv_uint(&j, "deleted_near", r->del_near);
	json_kv_uint(&j, "moved", r->moved);
	json_kv_uint(&j, "placeholders", r->placeholders);
	json_kv_uint(&j, "paired", r->paired);
	json_kv_uint(&j, "failed", r->failed);
	json_kv_uint(&j, "held_back", held);
	json_kv_uint(&j, "ambiguous", r->planned.ambiguous);
	/* left out by max_size (not as placeholders), max_age,
	 * max_messages */
	json_kv_uint(&j, "skipped_size", r->planned.skipped_size);
	json_kv_uint(&j, "skipped_age", r->planned.skipped_age);
	json_kv_uint(&j, "skipped_count", r->planned.skipped_count);
	if (r->outcome == SYNC_BOX_SKIPPED_ONE_SIDED)
		json_kv_str(&j, "skip_reason", r->skip_reason);
	if (r->outcome == SYNC_BOX_RENAMED ||
	    r->outcome == SYNC_BOX_WOULD_RENAME) {
		json_kv_str(&j, "new_far", r->new_far_name);
		json_kv_str(&j, "new_near", r->new_near_name);
		json_kv_str(&j, "renamed_on",
			    r->renamed_on_far ? "far" : "near");
	}
	if (r->outcome == SYNC_BOX_PLANNED)
		planned_object(&j, &r->planned);
	if (r->box_failed || r->failed > 0)
		json_kv_str(&j, "error",
			    r->err.msg[0] != '\0' ? r->err.msg : NULL);
	json_obj_close(&j);
	json_end(&j);
	cmd_shown(names, sizeof(names),
		  r->far_name != NULL ? r->far_name : r->near_name);
	if (r->box_failed)
		fprintf(stderr, "mailferry: %s: %s: %s\n", ctx->channel, names,
			cmd_shown(msg, sizeof(msg), r->err.msg));
	else if (held > 0)
		fprintf(stderr,
			"mailferry: %s: %s: %zu deletions held back "
			"(more than max_delete_percent of the folder)\n",
			ctx->channel, names, held);
	if (!r->box_failed && r->planned.ambiguous > 0)
		fprintf(stderr,
			"mailferry: %s: %s: %zu new messages left alone: the "
			"same Message-ID is on both sides with different "
			"content\n",
			ctx->channel, names, r->planned.ambiguous);
}

static const char *
op_word(enum plan_op op)
{
	switch (op) {
	case PLAN_OP_NONE:
		return "none";
	case PLAN_OP_COPY:
		return "copy";
	case PLAN_OP_FLAGS:
		return "flags";
	case PLAN_OP_DELETE:
		return "delete";
	}
	return "unknown";
}

static void
msg_id_fields(struct json *j, const char *key, const struct sync_msg_id *id)
{
	json_key(j, key);
	json_obj_open(j);
	if (id->key == NULL)
		json_kv_uint(j, "uid", id->uid);
	else
		json_kv_str(j, "key", id->key);
	json_obj_close(j);
}

void
sync_json_action(void *vctx, const struct sync_action *a)
{
	const struct sync_json_ctx *ctx = vctx;
	char ff[8], nf[8];
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "action");
	json_kv_str(&j, "channel", ctx->channel);
	json_kv_str(&j, "folder", a->box);
	json_kv_str(&j, "kind",
		    a->kind == SYNC_ACTION_MOVE	     ? "move" :
		    a->kind == SYNC_ACTION_AMBIGUOUS ? "ambiguous" :
						       "message");
	if (a->kind == SYNC_ACTION_MOVE) {
		json_kv_str(&j, "to", a->to);
		json_kv_str(&j, "seen_on",
			    a->side == SYNC_SIDE_FAR ? "far" : "near");
		msg_id_fields(&j, "seen", &a->seen_id);
		msg_id_fields(&j, "mirror", &a->mirror_id);
	} else {
		json_key(&j, "far_uid");
		if (a->has_far)
			json_uint(&j, a->far_uid);
		else
			json_null(&j);
		json_kv_str(&j, "near_key",
			    a->near_key != NULL && a->near_key[0] != '\0' ?
				    a->near_key :
				    NULL);
	}
	if (a->kind == SYNC_ACTION_MSG) {
		json_kv_str(&j, "far_op", op_word(a->far_op));
		json_kv_str(&j, "near_op", op_word(a->near_op));
		json_kv_bool(&j, "forget", a->forget);
		json_kv_str(&j, "far_flags",
			    mf_flags_to_maildir(a->far_flags, ff));
		json_kv_str(&j, "near_flags",
			    mf_flags_to_maildir(a->near_flags, nf));
	}
	json_obj_close(&j);
	json_end(&j);
}

void
sync_json_summary(const char *channel, const struct sync_summary *sum,
		  bool dry_run, const struct mf_err *err)
{
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "summary");
	json_kv_str(&j, "channel", channel);
	json_kv_bool(&j, "ok",
		     err == NULL && sum->boxes_failed == 0 && sum->failed == 0);
	json_kv_bool(&j, "dry_run", dry_run);
	json_kv_uint(&j, "folders", sum->boxes);
	json_kv_uint(&j, "folders_unchanged", sum->boxes_unchanged);
	json_kv_uint(&j, "folders_failed", sum->boxes_failed);
	json_kv_uint(&j, "folders_skipped", sum->boxes_skipped);
	json_kv_uint(&j, "pulled", sum->pulled);
	json_kv_uint(&j, "pushed", sum->pushed);
	json_kv_uint(&j, "flags_far", sum->flags_far);
	json_kv_uint(&j, "flags_near", sum->flags_near);
	json_kv_uint(&j, "deleted_far", sum->del_far);
	json_kv_uint(&j, "deleted_near", sum->del_near);
	json_kv_uint(&j, "moved", sum->moved);
	json_kv_uint(&j, "renamed", sum->renamed);
	json_kv_uint(&j, "placeholders", sum->placeholders);
	json_kv_uint(&j, "failed", sum->failed);
	if (err != NULL) {
		json_kv_str(&j, "error",
			    err->msg[0] != '\0' ? err->msg : "failed");
		json_kv_str(&j, "error_class", mf_err_class_name(err->cls));
	}
	json_obj_close(&j);
	json_end(&j);
}

void
sync_json_end(int code, bool changed)
{
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "end");
	json_kv_int(&j, "exit_code", code);
	json_kv_bool(&j, "changed", changed);
	json_obj_close(&j);
	json_end(&j);
}
