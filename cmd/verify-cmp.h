/*
 * "mailferry verify": comparing the two sides of one folder pair.  A pure
 * function of two scans (store.h struct mf_msg, with msgid filled with the
 * engine's identity, sync/ident.h): no I/O, so the rules live here once.
 *
 * Messages pair as the engine pairs them: by identity (the Message-ID, or
 * "H:" and a header hash for a message without one) and canonical size.  A
 * near placeholder (max_size, sync/placeholder.h) stands for a message of
 * its placeholder_of size, so it pairs with the full far message and is
 * counted as present.  Left over after that, a far and a near message with
 * the same identity but other sizes pair too: as the same message when
 * both have fp set (the header fingerprint, sync/ident.h) and it is equal
 * (a tool added a header to one copy), else as a content difference
 * (VERIFY_CONTENT): the same Message-ID on two different messages.  The
 * rest is missing on the other side.  Paired messages are compared for
 * system flags, keywords (only when both stores keep them) and internal
 * date (only when both sides know it).
 */
#ifndef MF_CMD_VERIFY_CMP_H
#define MF_CMD_VERIFY_CMP_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

enum verify_kind {
	VERIFY_MISSING_NEAR, /* on far only */
	VERIFY_MISSING_FAR,  /* on near only */
	VERIFY_CONTENT,	     /* same identity, other size */
	VERIFY_FLAGS,
	VERIFY_KEYWORDS,
	VERIFY_DATE,
	VERIFY_NKINDS,
};

/* One difference; far or near NULL where the message is on one side. */
struct verify_diff {
	enum verify_kind kind;
	const struct mf_msg *far, *near;
};

struct verify_result {
	struct verify_diff *v; /* owned: verify_result_free() */
	size_t n;
	size_t count[VERIFY_NKINDS];
	size_t paired;
	size_t placeholders; /* near placeholders paired with their message */
};

struct verify_opts {
	bool keywords; /* both stores keep keywords: compare them */
};

/*
 * Compare far[0..nfar) with near[0..nnear).  The messages are borrowed
 * and must outlive the result (its diffs point at them).
 */
void verify_compare(const struct mf_msg *far, size_t nfar,
		    const struct mf_msg *near, size_t nnear,
		    const struct verify_opts *opts, struct verify_result *res);

void verify_result_free(struct verify_result *res);

/* "missing-near", "flags", ...: for JSON and -v */
const char *verify_kind_name(enum verify_kind kind);

#endif
