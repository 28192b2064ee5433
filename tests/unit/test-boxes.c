/*
 * Folder pairing tests: tables of (far list, near list, state rows, policy,
 * only) -> expected plan, and a table for the pattern matcher.
 *
 * Folder lists are written as one string, entries separated by ",":
 *   INBOX              a selectable folder
 *   Sent Items=sent    with a special-use role (mf_role_from_name)
 *   Lists=noselect     a \Noselect folder
 *   ~                  an entry with a NULL name; "" (as in ",,") an empty one
 * State rows and folder_map: "far=near,far=near".  Patterns and only:
 * "a,b,c"; NULL = none.
 *
 * Expected plans are one string, pairs separated by "; ":
 *   FAR=NEAR action[,role][,state][,blocked]
 * with "-" for a name that is NULL, action as boxes_action_name(), "role"
 * when role_mapped, "state" when the pair has a state row, "blocked" when
 * set, "map" when paired or named by the folder_map.  An error row gives the expected class and message instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boxes.h"

#define F SYNC_SIDE_FAR
#define N SYNC_SIDE_NEAR
#define B SYNC_SIDE_BOTH

struct bcase {
	const char *name;
	const char *far, *near;
	const char *state;
	const char *pats;
	const char *only;
	const char *map; /* folder_map */
	unsigned create, remove;
	const char *expect;	 /* the plan, or the error message */
	enum mf_err_class error; /* MF_OK: a plan is expected */
};

static const struct bcase cases[] = {
	/* ---- basics ---- */
	{ "empty lists, no state", .far = "", .near = "", .expect = "" },
	{ "same names pair", .far = "INBOX,A,Lists/dev",
	  .near = "Lists/dev,INBOX,A",
	  .expect = "INBOX=INBOX sync; A=A sync; Lists/dev=Lists/dev sync" },
	{ "INBOX any case pairs", .far = "INBOX", .near = "inbox",
	  .expect = "INBOX=inbox sync" },
	{ "INBOX children any case pair", .far = "INBOX,INBOX/x",
	  .near = "INBOX,Inbox/x",
	  .expect = "INBOX=INBOX sync; INBOX/x=Inbox/x sync" },
	{ "other names are case-sensitive", .far = "INBOX,Work",
	  .near = "INBOX,work",
	  .expect = "INBOX=INBOX sync; Work=- skip-new-far; "
		    "-=work skip-new-near" },

	/* ---- patterns ---- */
	{ "pattern *", .pats = "*", .far = "INBOX,A,A/b", .near = "INBOX,A,A/b",
	  .expect = "INBOX=INBOX sync; A=A sync; A/b=A/b sync" },
	{ "pattern % stops at /", .pats = "%", .far = "INBOX,Lists,Lists/dev",
	  .near = "INBOX,Lists,Lists/dev",
	  .expect = "INBOX=INBOX sync; Lists=Lists sync" },
	{ "pattern !Junk excludes Junk only", .pats = "*,!Junk",
	  .far = "INBOX,Junk,Junk/old", .near = "INBOX,Junk,Junk/old",
	  .expect = "INBOX=INBOX sync; Junk/old=Junk/old sync" },
	{ "later pattern wins (include after exclude)", .pats = "!A,*",
	  .far = "INBOX,A", .near = "INBOX,A",
	  .expect = "INBOX=INBOX sync; A=A sync" },
	{ "later pattern wins (exclude after include)", .pats = "*,!A",
	  .far = "INBOX,A", .near = "INBOX,A", .expect = "INBOX=INBOX sync" },
	{ "pattern Lists/* takes children, not the parent",
	  .pats = "INBOX,Lists/*",
	  .far = "INBOX,Lists,Lists/dev,Lists/dev/x,Other",
	  .near = "INBOX,Lists,Lists/dev,Lists/dev/x,Other",
	  .expect = "INBOX=INBOX sync; Lists/dev=Lists/dev sync; "
		    "Lists/dev/x=Lists/dev/x sync" },
	{ "pattern inbox matches INBOX", .pats = "inbox", .far = "INBOX,A",
	  .near = "INBOX,A", .expect = "INBOX=INBOX sync" },
	{ "no pattern matches: nothing", .pats = "Nope", .far = "INBOX,A",
	  .near = "INBOX,A", .expect = "" },
	{ "excluded vanished folder produces nothing", .pats = "*,!Junk",
	  .far = "INBOX", .near = "INBOX,Junk", .state = "Junk=Junk",
	  .remove = B, .expect = "INBOX=INBOX sync" },
	{ "near-only folder matched by its near name", .pats = "INBOX,Lists/*",
	  .create = B, .far = "INBOX", .near = "INBOX,Lists/x,Misc",
	  .expect = "INBOX=INBOX sync; Lists/x=Lists/x create-far" },
	{ "patterns apply to the far name of a role pair", .pats = "*,!Sent",
	  .far = "INBOX,Sent Items=sent", .near = "INBOX,Sent",
	  .expect = "INBOX=INBOX sync; Sent Items=Sent sync,role" },
	{ "excluded role pair keeps its folders out of creation",
	  .pats = "*,!Sent Items", .create = B, .far = "INBOX,Sent Items=sent",
	  .near = "INBOX,Sent", .expect = "INBOX=INBOX sync" },

	/* ---- special-use roles ---- */
	{ "far roles to near well-known names",
	  .far = "INBOX,Sent Items=sent,Deleted Items=trash",
	  .near = "INBOX,Sent,Trash",
	  .expect = "INBOX=INBOX sync; Deleted Items=Trash sync,role; "
		    "Sent Items=Sent sync,role" },
	{ "near roles to far well-known names",
	  .far = "INBOX,Sent Messages,Spam",
	  .near = "INBOX,Envoy\xc3\xa9s=sent,Ind\xc3\xa9sirables=junk",
	  .expect = "INBOX=INBOX sync; "
		    "Sent Messages=Envoy\xc3\xa9s sync,role; "
		    "Spam=Ind\xc3\xa9sirables sync,role" },
	{ "well-known names on both sides, any case",
	  .far = "INBOX,SENT ITEMS,junk e-mail,Archives",
	  .near = "INBOX,Sent,Junk,archive",
	  .expect = "INBOX=INBOX sync; Archives=archive sync,role; "
		    "SENT ITEMS=Sent sync,role; junk e-mail=Junk sync,role" },
	{ "well-known names under INBOX/ (Courier namespace)",
	  .far = "INBOX,INBOX/Sent,INBOX/Drafts",
	  .near = "INBOX,Sent Mail,Drafts",
	  .expect = "INBOX=INBOX sync; INBOX/Drafts=Drafts sync,role; "
		    "INBOX/Sent=Sent Mail sync,role" },
	{ "ambiguous near role: names only", .far = "INBOX,Sent Items=sent",
	  .near = "INBOX,Sent,Sent Mail",
	  .expect = "INBOX=INBOX sync; Sent Items=- skip-new-far; "
		    "-=Sent skip-new-near; -=Sent Mail skip-new-near" },
	{ "ambiguous far role: names only", .create = N,
	  .far = "INBOX,Old Sent=sent,Sent Items=sent", .near = "INBOX,Sent",
	  .expect = "INBOX=INBOX sync; Old Sent=Old Sent create-near; "
		    "Sent Items=Sent Items create-near; -=Sent skip-new-near" },
	{ "ambiguity in one role does not stop another",
	  .far = "INBOX,Sent Items=sent,Bin=trash",
	  .near = "INBOX,Sent,Sent Mail,Deleted Messages",
	  .expect = "INBOX=INBOX sync; Bin=Deleted Messages sync,role; "
		    "Sent Items=- skip-new-far; -=Sent skip-new-near; "
		    "-=Sent Mail skip-new-near" },
	{ "store roles decide for the whole side",
	  .far = "INBOX,Sent=sent,Sent Items", .near = "INBOX,Sent Messages",
	  .expect = "INBOX=INBOX sync; Sent=Sent Messages sync,role; "
		    "Sent Items=- skip-new-far" },
	{ "same name beats role", .create = N,
	  .far = "INBOX,Sent Items=sent,Sent", .near = "INBOX,Sent",
	  .expect = "INBOX=INBOX sync; Sent=Sent sync; "
		    "Sent Items=Sent Items create-near" },
	{ "role candidate whose name exists on the other side",
	  .far = "INBOX,Junk=junk", .near = "INBOX,Junk=noselect,Spam",
	  .create = B,
	  .expect = "INBOX=INBOX sync; Junk=- skip-new-far,blocked; "
		    "Spam=Spam create-far" },
	{ "\\All is not mapped to Archive",
	  .far = "INBOX,[Gmail]=noselect,[Gmail]/All Mail=all,"
		 "[Gmail]/Sent Mail=sent,[Gmail]/Trash=trash",
	  .near = "INBOX,Archive,Sent,Trash",
	  .expect = "INBOX=INBOX sync; [Gmail]/All Mail=- skip-new-far; "
		    "[Gmail]/Sent Mail=Sent sync,role; "
		    "[Gmail]/Trash=Trash sync,role; "
		    "-=Archive skip-new-near" },
	{ "noselect folder takes no role",
	  .far = "INBOX,Drafts=noselect,Drafts/x", .near = "INBOX,Drafts",
	  .expect = "INBOX=INBOX sync; Drafts/x=- skip-new-far; "
		    "-=Drafts skip-new-near,blocked" },

	/* ---- state rows ---- */
	{ "state pairs whatever the roles say",
	  .state = "INBOX=INBOX,Sent Items=Outbox", .create = B,
	  .far = "INBOX,Sent Items=sent", .near = "INBOX,Outbox,Sent",
	  .expect = "INBOX=INBOX sync,state; Sent Items=Outbox sync,state; "
		    "Sent=Sent create-far" },
	{ "state row with INBOX in another case", .state = "inbox=Inbox",
	  .far = "INBOX", .near = "INBOX", .expect = "INBOX=INBOX sync,state" },
	{ "renamed on far: vanished plus new", .state = "INBOX=INBOX,Old=Old",
	  .create = B, .far = "INBOX,New", .near = "INBOX,Old",
	  .expect = "INBOX=INBOX sync,state; New=New create-near; "
		    "Old=Old vanished-far,state" },
	{ "renamed on near: vanished plus new", .state = "Old=Old",
	  .far = "INBOX,Old", .near = "INBOX,New",
	  .expect = "INBOX=INBOX sync; Old=Old vanished-near,state; "
		    "-=New skip-new-near" },
	{ "renamed on both to the same name", .state = "Old=Old",
	  .far = "INBOX,New", .near = "INBOX,New",
	  .expect = "INBOX=INBOX sync; New=New sync; "
		    "Old=Old vanished-both,state" },
	{ "state row keeps its name from being re-paired", .state = "A=B",
	  .create = B, .far = "INBOX,A", .near = "INBOX,A",
	  .expect = "INBOX=INBOX sync; A=B vanished-near,state; "
		    "-=A skip-new-near,blocked" },
	{ "state row claims a missing name: no creation over it",
	  .state = "X=A", .create = B, .far = "INBOX,A", .near = "INBOX",
	  .expect = "INBOX=INBOX sync; A=- skip-new-far,blocked; "
		    "X=A vanished-both,state" },

	/* ---- vanished, per side (remove is the engine's to apply) ---- */
	{ "vanished far", .state = "A=A", .remove = N, .far = "INBOX",
	  .near = "INBOX,A",
	  .expect = "INBOX=INBOX sync; A=A vanished-far,state" },
	{ "vanished near", .state = "A=A", .remove = F, .far = "INBOX,A",
	  .near = "INBOX",
	  .expect = "INBOX=INBOX sync; A=A vanished-near,state" },
	{ "vanished both", .state = "A=A", .remove = B, .create = B,
	  .far = "INBOX", .near = "INBOX",
	  .expect = "INBOX=INBOX sync; A=A vanished-both,state" },
	{ "far deleted with children turns \\Noselect: vanished",
	  .state = "Lists=Lists,Lists/dev=Lists/dev",
	  .far = "INBOX,Lists=noselect,Lists/dev",
	  .near = "INBOX,Lists,Lists/dev",
	  .expect = "INBOX=INBOX sync; Lists=Lists vanished-far,state; "
		    "Lists/dev=Lists/dev sync,state" },

	/* ---- creation per policy ---- */
	{ "create nowhere", .far = "INBOX,A", .near = "INBOX,B",
	  .expect = "INBOX=INBOX sync; A=- skip-new-far; "
		    "-=B skip-new-near" },
	{ "create near only", .create = N, .far = "INBOX,A", .near = "INBOX,B",
	  .expect = "INBOX=INBOX sync; A=A create-near; "
		    "-=B skip-new-near" },
	{ "create far only", .create = F, .far = "INBOX,A", .near = "INBOX,B",
	  .expect = "INBOX=INBOX sync; A=- skip-new-far; "
		    "B=B create-far" },
	{ "create both", .create = B, .far = "INBOX,A", .near = "INBOX,B",
	  .expect = "INBOX=INBOX sync; A=A create-near; B=B create-far" },
	{ "created name is canonical", .create = B, .far = "inbox,inbox/x",
	  .near = "",
	  .expect = "inbox=INBOX create-near; inbox/x=INBOX/x create-near" },

	/* ---- folder_map ---- */
	{ "map pairs two names that differ", .map = "Old/Name=New/Name",
	  .far = "INBOX,Old/Name", .near = "INBOX,New/Name",
	  .expect = "INBOX=INBOX sync; Old/Name=New/Name sync,map" },
	{ "map creates under the mapped name", .create = N,
	  .map = "Lists/v1.2=Lists/v1_2", .far = "INBOX,Lists/v1.2",
	  .near = "INBOX",
	  .expect = "INBOX=INBOX sync; Lists/v1.2=Lists/v1_2 create-near,map" },
	{ "map creates on far under the far name", .create = B, .map = "A=B",
	  .far = "INBOX", .near = "INBOX,B",
	  .expect = "INBOX=INBOX sync; A=B create-far,map" },
	{ "map wins over names: the far folder of the near name is blocked",
	  .create = N, .map = "A=B", .far = "INBOX,A,B", .near = "INBOX,B",
	  .expect =
		  "INBOX=INBOX sync; A=B sync,map; B=- skip-new-far,blocked" },
	{ "map wins over roles", .map = "Sent Items=Archive",
	  .far = "INBOX,Sent Items=sent", .near = "INBOX,Sent=sent,Archive",
	  .expect = "INBOX=INBOX sync; Sent Items=Archive sync,map; "
		    "-=Sent skip-new-near" },
	{ "map without create: reported", .map = "A=B", .far = "INBOX,A",
	  .near = "INBOX", .expect = "INBOX=INBOX sync; A=- skip-new-far,map" },
	{ "map onto a \\Noselect name: blocked", .create = N, .map = "A=B",
	  .far = "INBOX,A", .near = "INBOX,B=noselect",
	  .expect = "INBOX=INBOX sync; A=- skip-new-far,blocked,map" },
	{ "map onto a name a state row holds: blocked", .create = N,
	  .map = "A=B", .state = "C=B", .far = "INBOX,A,C", .near = "INBOX,B",
	  .expect = "INBOX=INBOX sync; A=- skip-new-far,blocked,map; "
		    "C=B sync,state" },
	{ "a state row keeps its folder whatever the map says", .map = "A=B",
	  .state = "A=A", .far = "INBOX,A", .near = "INBOX,A,B",
	  .expect = "INBOX=INBOX sync; A=A sync,state; -=B skip-new-near" },
	{ "map with INBOX in any case", .map = "inbox/x=Y",
	  .far = "INBOX,INBOX/x", .near = "INBOX,Y",
	  .expect = "INBOX=INBOX sync; INBOX/x=Y sync,map" },
	{ "map of folders on neither side: nothing", .map = "P=Q",
	  .far = "INBOX", .near = "INBOX", .expect = "INBOX=INBOX sync" },

	/* ---- \Noselect ---- */
	{ "noselect far parent of synced children needs nothing", .create = B,
	  .far = "INBOX,Lists=noselect,Lists/dev", .near = "INBOX,Lists/dev",
	  .expect = "INBOX=INBOX sync; Lists/dev=Lists/dev sync" },
	{ "noselect near parent needs nothing", .create = B,
	  .far = "INBOX,Lists/dev", .near = "INBOX,Lists=noselect",
	  .expect = "INBOX=INBOX sync; Lists/dev=Lists/dev create-near" },
	{ "noselect far, selectable near: blocked", .create = B,
	  .far = "INBOX,Lists=noselect", .near = "INBOX,Lists",
	  .expect = "INBOX=INBOX sync; -=Lists skip-new-near,blocked" },
	{ "noselect on both sides: nothing", .create = B,
	  .far = "INBOX,Lists=noselect", .near = "INBOX,Lists=noselect",
	  .expect = "INBOX=INBOX sync" },

	/* ---- only ---- */
	{ "only one folder", .only = "Lists/dev",
	  .far = "INBOX,Lists/dev,Other", .near = "INBOX,Lists/dev,Other",
	  .expect = "Lists/dev=Lists/dev sync" },
	{ "only inbox, any case", .only = "inbox", .far = "INBOX,A",
	  .near = "INBOX,A", .expect = "INBOX=INBOX sync" },
	{ "only by the near name of a role pair", .only = "Sent",
	  .far = "INBOX,Sent Items=sent", .near = "INBOX,Sent",
	  .expect = "Sent Items=Sent sync,role" },
	{ "only several, and a vanished one", .only = "Old,A",
	  .state = "Old=Old", .far = "INBOX,A,B", .near = "INBOX,A,B",
	  .expect = "A=A sync; Old=Old vanished-both,state" },
	{ "only names a folder that does not exist", .only = "A,Nope",
	  .far = "INBOX,A", .near = "INBOX,A", .error = MF_E_USAGE,
	  .expect = "no folder 'Nope' in channel" },
	{ "only names an excluded folder", .only = "Junk", .pats = "*,!Junk",
	  .far = "INBOX,Junk", .near = "INBOX,Junk", .error = MF_E_USAGE,
	  .expect = "no folder 'Junk' in channel" },
	{ "only error sanitizes the name", .only = "x\x1b[2J", .far = "INBOX",
	  .near = "INBOX", .error = MF_E_USAGE,
	  .expect = "no folder 'x\\x1b[2J' in channel" },

	/* ---- hostile lists ---- */
	{ "duplicate far name: the first wins", .far = "INBOX,A=noselect,A",
	  .near = "INBOX,A",
	  .expect = "INBOX=INBOX sync; -=A skip-new-near,blocked" },
	{ "duplicate INBOX in two cases: the first wins", .far = "INBOX,Inbox",
	  .near = "inbox,INBOX", .expect = "INBOX=inbox sync" },
	{ "NULL and empty names ignored", .far = ",~,INBOX", .near = "INBOX,,~",
	  .expect = "INBOX=INBOX sync" },
	{ "second state row for a far name ignored", .state = "A=A,A=B",
	  .far = "INBOX,A", .near = "INBOX,A,B",
	  .expect = "INBOX=INBOX sync; A=A sync,state; -=B skip-new-near" },
	{ "second state row for a near name is not a vanished far",
	  .state = "A=X,B=X", .far = "INBOX,A,B", .near = "INBOX,X",
	  .expect = "INBOX=INBOX sync; A=X sync,state; B=- skip-new-far" },
	{ "state row with an empty name ignored",
	  .state = "=A,A=", .far = "INBOX,A", .near = "INBOX,A",
	  .expect = "INBOX=INBOX sync; A=A sync" },
	{ "empty far listing with state rows is refused",
	  .state = "INBOX=INBOX,A=A", .far = "", .near = "INBOX,A", .remove = B,
	  .error = MF_E_STORE,
	  .expect = "far side lists no folders, but 2 were synced; "
		    "refusing to take them as deleted" },
	{ "empty near listing with state rows is refused",
	  .state = "INBOX=INBOX", .far = "INBOX", .near = ",~",
	  .error = MF_E_STORE,
	  .expect = "near side lists no folders, but 1 were synced; "
		    "refusing to take them as deleted" },

	/* ---- order ---- */
	{ "order: INBOX, far names by strcmp, then near-only", .create = B,
	  .state = "Gone=Gone", .far = "zeta,Zeta,B/a,INBOX,B,Alpha",
	  .near = "Beta,INBOX,Aaa",
	  .expect = "INBOX=INBOX sync; Alpha=Alpha create-near; "
		    "B=B create-near; B/a=B/a create-near; "
		    "Gone=Gone vanished-both,state; Zeta=Zeta create-near; "
		    "zeta=zeta create-near; Aaa=Aaa create-far; "
		    "Beta=Beta create-far" },
};

/* ---- notation -------------------------------------------------------- */

#define MAXITEMS 32

struct strs {
	char *v[MAXITEMS];
	size_t n;
};

/* Split at ','; NULL or "" is no item, ",," keeps empty items. */
static void
split(const char *spec, struct strs *out)
{
	const char *p = spec, *comma;

	memset(out, 0, sizeof(*out));
	if (spec == NULL || spec[0] == '\0')
		return;
	for (;;) {
		assert_true(out->n < MAXITEMS);
		comma = strchr(p, ',');
		if (comma == NULL) {
			out->v[out->n++] = strdup(p);
			return;
		}
		out->v[out->n++] = strndup(p, (size_t)(comma - p));
		p = comma + 1;
	}
}

static void
strs_free(struct strs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

/* "name", "name=role", "name=noselect", "~" (NULL name).  Names point
 * into items, which must outlive the list. */
static void
make_boxes(struct strs *items, struct mf_box_info *v, struct mf_box_list *l)
{
	size_t i;

	memset(v, 0, MAXITEMS * sizeof(*v));
	for (i = 0; i < items->n; i++) {
		char *s = items->v[i], *eq = strchr(s, '=');

		if (strcmp(s, "~") == 0) {
			v[i].name = NULL;
			continue;
		}
		v[i].name = s;
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(eq + 1, "noselect") == 0) {
			v[i].attrs = MF_BOX_NOSELECT;
		} else {
			v[i].role = mf_role_from_name(eq + 1);
			assert_int_not_equal(v[i].role, MF_ROLE_NONE);
		}
	}
	l->v = v;
	l->n = items->n;
}

static void
make_state(struct strs *items, struct state_box *v, struct state_box_list *l)
{
	size_t i;

	memset(v, 0, MAXITEMS * sizeof(*v));
	for (i = 0; i < items->n; i++) {
		char *eq = strchr(items->v[i], '=');

		assert_non_null(eq);
		*eq = '\0';
		v[i].id = (int64_t)i + 1;
		v[i].far_name = items->v[i];
		v[i].near_name = eq + 1;
	}
	l->v = v;
	l->n = items->n;
}

static void appendf(char *buf, size_t size, const char *fmt, ...)
	MF_PRINTF(3, 4);

static void
appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	assert_true(r >= 0 && (size_t)r < size - len);
}

/* Pointers and flags that must agree with the action, whatever the case. */
static void
check_pair(const char *row, const struct box_pair *p)
{
	bool ok = true;

	switch (p->action) {
	case BOX_SYNC:
		ok = p->far && p->near && p->far_name == p->far->name &&
		     p->near_name == p->near->name;
		break;
	case BOX_CREATE_NEAR:
		ok = p->far && !p->near && !p->state && p->near_name &&
		     p->far_name == p->far->name;
		break;
	case BOX_CREATE_FAR:
		ok = !p->far && p->near && !p->state && p->far_name &&
		     p->near_name == p->near->name;
		break;
	case BOX_SKIP_NEW_FAR:
		ok = p->far && !p->near && !p->state && !p->near_name &&
		     p->far_name == p->far->name;
		break;
	case BOX_SKIP_NEW_NEAR:
		ok = !p->far && p->near && !p->state && !p->far_name &&
		     p->near_name == p->near->name;
		break;
	case BOX_VANISHED_FAR:
		ok = !p->far && p->near && p->state &&
		     p->far_name == p->state->far_name &&
		     p->near_name == p->near->name;
		break;
	case BOX_VANISHED_NEAR:
		ok = p->far && !p->near && p->state &&
		     p->near_name == p->state->near_name &&
		     p->far_name == p->far->name;
		break;
	case BOX_VANISHED_BOTH:
		ok = !p->far && !p->near && p->state &&
		     p->far_name == p->state->far_name &&
		     p->near_name == p->state->near_name;
		break;
	case BOX_RENAMED:
	case BOX_FOLDED:
		ok = false; /* made by the rename pass only */
		break;
	}
	if (p->role_mapped && (p->action != BOX_SYNC || p->state))
		ok = false;
	if (p->blocked && p->action != BOX_SKIP_NEW_FAR &&
	    p->action != BOX_SKIP_NEW_NEAR)
		ok = false;
	if (!ok)
		fail_msg("case '%s': inconsistent %s pair %s=%s", row,
			 boxes_action_name(p->action),
			 p->far_name ? p->far_name : "-",
			 p->near_name ? p->near_name : "-");
}

static void
run_case(const struct bcase *c)
{
	struct strs sfar, snear, sstate, spats, sonly, smap;
	struct sync_folder_map vmap[MAXITEMS];
	struct mf_box_info vfar[MAXITEMS], vnear[MAXITEMS];
	struct state_box vstate[MAXITEMS];
	struct mf_box_list far, near;
	struct state_box_list state;
	struct sync_policy pol = { 0 };
	struct box_plan *plan = NULL;
	struct mf_err err = { 0 };
	char out[4096] = "";
	size_t i;
	int ret;

	split(c->far, &sfar);
	split(c->near, &snear);
	split(c->state, &sstate);
	split(c->pats, &spats);
	split(c->only, &sonly);
	make_boxes(&sfar, vfar, &far);
	make_boxes(&snear, vnear, &near);
	make_state(&sstate, vstate, &state);
	split(c->map, &smap);
	for (i = 0; i < smap.n; i++) {
		char *eq = strchr(smap.v[i], '=');

		assert_non_null(eq);
		*eq = '\0';
		vmap[i].far = smap.v[i];
		vmap[i].near = eq + 1;
	}
	pol.folder_map = vmap;
	pol.nfolder_map = smap.n;
	pol.create = c->create;
	pol.remove = c->remove;
	pol.folders = (const char *const *)spats.v;
	pol.nfolders = spats.n;

	ret = boxes_plan(&far, &near, &state, &pol,
			 c->only ? (const char *const *)sonly.v : NULL, sonly.n,
			 &plan, &err);
	if (c->error != MF_OK) {
		if (ret != -1 || plan != NULL || err.cls != c->error ||
		    strcmp(err.msg, c->expect) != 0)
			fail_msg("case '%s':\n  got:  %d class %d '%s'\n"
				 "  want: -1 class %d '%s'",
				 c->name, ret, (int)err.cls, err.msg,
				 (int)c->error, c->expect);
	} else {
		if (ret != 0 || plan == NULL)
			fail_msg("case '%s': failed: %s", c->name, err.msg);
		for (i = 0; i < plan->n; i++) {
			const struct box_pair *p = &plan->v[i];

			check_pair(c->name, p);
			appendf(out, sizeof(out), "%s%s=%s %s%s%s%s%s",
				i > 0 ? "; " : "",
				p->far_name ? p->far_name : "-",
				p->near_name ? p->near_name : "-",
				boxes_action_name(p->action),
				p->role_mapped ? ",role" : "",
				p->state ? ",state" : "",
				p->blocked ? ",blocked" : "",
				p->map_paired ? ",map" : "");
		}
		if (strcmp(out, c->expect) != 0)
			fail_msg("case '%s':\n  got:  '%s'\n  want: '%s'",
				 c->name, out, c->expect);
	}
	boxes_plan_free(&plan);
	assert_null(plan);
	strs_free(&sfar);
	strs_free(&snear);
	strs_free(&sstate);
	strs_free(&spats);
	strs_free(&sonly);
	strs_free(&smap);
}

static void
test_plan_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

/* ---- the matcher ----------------------------------------------------- */

struct mcase {
	const char *pats; /* comma separated; NULL = no patterns */
	const char *name;
	bool match;
};

static const struct mcase mcases[] = {
	{ NULL, "anything/at/all", true },
	{ "*", "INBOX", true },
	{ "*", "a/b/c", true },
	{ "*", "", true },
	{ "%", "Lists", true },
	{ "%", "Lists/dev", false },
	{ "%/%", "Lists/dev", true },
	{ "%/%", "Lists/dev/x", false },
	{ "Lists/*", "Lists", false },
	{ "Lists/*", "Lists/dev/x", true },
	{ "Lists*", "Lists", true },
	{ "Lists*", "ListsX", true },
	{ "Lists/%", "Lists/dev/x", false },
	{ "*/dev", "a/b/dev", true },
	{ "%/dev", "a/b/dev", false },
	{ "a*b*c", "aXbYbZc", true },
	{ "a*b*c", "aXbYbZ", false },
	{ "a%c", "a/c", false },
	{ "Junk", "junk", false },
	{ "Junk", "Junk/x", false },
	{ "*,!Junk", "Junk", false },
	{ "*,!Junk", "Junk/x", true },
	{ "*,!Junk*", "Junk/x", false },
	{ "!Junk,*", "Junk", true },
	{ "A,!*", "A", false },
	{ "Nope", "A", false },
	{ "!A", "B", false },
	{ "inbox", "INBOX", true },
	{ "INBOX", "Inbox", true },
	{ "inbox/*", "INBOX/x", true },
	{ "INBOX/x", "INBOX/X", false },
	{ "INB*", "inbox", true },
	{ "inbox*", "INBOXES", false },
	{ "Inbox", "Inboxes", false },
	{ "*,!inbox", "INBOX", false },
	{ "Envoy\xc3\xa9s", "Envoy\xc3\xa9s", true },
	{ "Envoy%s", "Envoy\xc3\xa9s", true },
	{ "!", "", false },
	{ "a**b", "ab", true },
	{ "%%%", "abc", true },
};

static void
test_match_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(mcases); i++) {
		const struct mcase *c = &mcases[i];
		struct strs pats;
		bool got;

		split(c->pats, &pats);
		got = boxes_match((const char *const *)pats.v, pats.n, c->name);
		if (got != c->match)
			fail_msg("match row %zu: patterns '%s' name '%s': "
				 "got %d want %d",
				 i, c->pats ? c->pats : "", c->name, got,
				 c->match);
		strs_free(&pats);
	}
}

/*
 * A hostile name against a pattern that makes a backtracking matcher take
 * exponential time: the answer must still be right (no timing asserted).
 */
static void
test_match_hostile(void **state)
{
	size_t len = 20000;
	char *name = malloc(len + 1);
	const char *pats[] = { "*a*a*a*a*a*a*a*a*a*a*a*a*b" };
	const char *pats2[] = { "%a%a%a%a%a%a%a%a%a%a%a%a%" };

	(void)state;
	assert_non_null(name);
	memset(name, 'a', len);
	name[len] = '\0';
	assert_false(boxes_match(pats, 1, name));
	assert_true(boxes_match(pats2, 1, name));
	name[len / 2] = '/';
	assert_false(boxes_match(pats2, 1, name));
	free(name);
	assert_false(boxes_match(pats, 1, NULL));
}

/* Required arguments missing: an internal error, not a crash. */
static void
test_plan_bad_args(void **state)
{
	struct mf_box_list empty = { 0 };
	struct sync_policy pol = { 0 };
	struct box_plan *plan = (struct box_plan *)&empty;
	struct mf_err err = { 0 };

	(void)state;
	assert_int_equal(boxes_plan(NULL, &empty, NULL, &pol, NULL, 0, &plan,
				    &err),
			 -1);
	assert_null(plan);
	assert_int_equal(err.cls, MF_E_INTERNAL);
	assert_int_equal(boxes_plan(&empty, &empty, NULL, NULL, NULL, 0, &plan,
				    &err),
			 -1);
	assert_int_equal(err.cls, MF_E_INTERNAL);
	boxes_plan_free(&plan);
}

/* A listing with thousands of folders: every one paired, order strict. */
static void
test_plan_many(void **state)
{
	enum { NBOX = 5000 };
	struct mf_box_info *fv = calloc(NBOX, sizeof(*fv));
	struct mf_box_info *nv = calloc(NBOX, sizeof(*nv));
	struct mf_box_list far = { fv, NBOX }, near = { nv, NBOX };
	struct sync_policy pol = { 0 };
	struct box_plan *plan = NULL;
	size_t i;

	(void)state;
	assert_non_null(fv);
	assert_non_null(nv);
	for (i = 0; i < NBOX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "F%zu", (i * 7919) % NBOX);
		fv[i].name = strdup(name);
		snprintf(name, sizeof(name), "F%zu", i);
		nv[i].name = strdup(name);
	}
	assert_int_equal(boxes_plan(&far, &near, NULL, &pol, NULL, 0, &plan,
				    NULL),
			 0);
	assert_int_equal(plan->n, NBOX);
	for (i = 0; i < plan->n; i++) {
		assert_int_equal(plan->v[i].action, BOX_SYNC);
		assert_string_equal(plan->v[i].far_name, plan->v[i].near_name);
		if (i > 0)
			assert_true(strcmp(plan->v[i - 1].far_name,
					   plan->v[i].far_name) < 0);
	}
	boxes_plan_free(&plan);
	for (i = 0; i < NBOX; i++) {
		free(fv[i].name);
		free(nv[i].name);
	}
	free(fv);
	free(nv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_match_hostile),
		cmocka_unit_test(test_plan_bad_args),
		cmocka_unit_test(test_plan_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
