/* A read-only view of a store (readonly.h). */
#include <stdlib.h>

#include "base/xalloc.h"
#include "readonly.h"

struct ro_store {
	struct mf_store pub; /* first: a struct mf_store * is one of these */
	struct mf_store *in;
};

static struct mf_store *
inner(struct mf_store *st)
{
	return ((struct ro_store *)st)->in;
}

static int
refuse(struct mf_store *st, struct mf_err *err)
{
	return mf_err_set(err, MF_E_BOX,
			  "%s is read-only (the source of a migration)",
			  st->name != NULL ? st->name : "store");
}

static int
ro_list_boxes(struct mf_store *st, bool status, struct mf_box_list **list_r,
	      struct mf_err *err)
{
	return inner(st)->ops->list_boxes(inner(st), status, list_r, err);
}

static int
ro_create_box(struct mf_store *st, const char *box, struct mf_err *err)
{
	(void)box;
	return refuse(st, err);
}

static int
ro_select_box(struct mf_store *st, const char *box,
	      const struct mf_select_req *req, struct mf_box_status *status_r,
	      struct mf_err *err)
{
	struct mf_select_req ro = { .readonly = true };

	(void)req;
	return inner(st)->ops->select_box(inner(st), box, &ro, status_r, err);
}

static int
ro_scan(struct mf_store *st, const struct mf_scan_req *req,
	struct mf_scan_result **res_r, struct mf_err *err)
{
	return inner(st)->ops->scan(inner(st), req, res_r, err);
}

static int
ro_fetch(struct mf_store *st, struct mf_fetch_item *items, size_t n,
	 struct mf_err *err)
{
	return inner(st)->ops->fetch(inner(st), items, n, err);
}

static int
ro_deliver_begin(struct mf_store *st, struct mf_delivery *d, struct mf_err *err)
{
	(void)d;
	return refuse(st, err);
}

static int
ro_deliver_flush(struct mf_store *st, struct mf_err *err)
{
	(void)st;
	(void)err;
	return 0; /* nothing was begun */
}

static void
ro_deliver_abort_all(struct mf_store *st)
{
	(void)st;
}

static int
ro_set_flags(struct mf_store *st, struct mf_flag_item *items, size_t n,
	     struct mf_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		items[i].status = -1;
		refuse(st, &items[i].err);
	}
	return refuse(st, err);
}

static int
ro_remove(struct mf_store *st, struct mf_remove_item *items, size_t n,
	  bool expunge, struct mf_err *err)
{
	size_t i;

	(void)expunge;
	for (i = 0; i < n; i++) {
		items[i].status = -1;
		refuse(st, &items[i].err);
	}
	return refuse(st, err);
}

static int
ro_reconnect(struct mf_store *st, struct mf_err *err)
{
	if (inner(st)->ops->reconnect == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "no session to renew");
	return inner(st)->ops->reconnect(inner(st), err);
}

static void
ro_wire_bytes(struct mf_store *st, uint64_t *read_r, uint64_t *written_r)
{
	mf_store_wire_bytes(inner(st), read_r, written_r);
}

static void
ro_destroy(struct mf_store *st)
{
	struct ro_store *ro = (struct ro_store *)st;

	mf_store_destroy(&ro->in);
	free(ro);
}

static const struct mf_store_ops ro_ops = {
	.kind = "readonly",
	.list_boxes = ro_list_boxes,
	.create_box = ro_create_box,
	.delete_box = ro_create_box, /* refused the same way */
	.rename_box = NULL,
	.select_box = ro_select_box,
	.scan = ro_scan,
	.fetch = ro_fetch,
	.deliver_begin = ro_deliver_begin,
	.deliver_flush = ro_deliver_flush,
	.deliver_abort_all = ro_deliver_abort_all,
	.set_flags = ro_set_flags,
	.remove = ro_remove,
	.move = NULL,
	.relabel = NULL,
	.reconnect = ro_reconnect,
	.wire_bytes = ro_wire_bytes,
	.destroy = ro_destroy,
};

void
store_readonly_wrap(struct mf_store **st)
{
	struct ro_store *ro = xcalloc(1, sizeof(*ro));

	ro->in = *st;
	ro->pub.ops = &ro_ops;
	ro->pub.caps = (*st)->caps;
	ro->pub.name = (*st)->name;
	*st = &ro->pub;
}
