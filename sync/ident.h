/*
 * Content identity of a message, used to recognise the same message on both
 * sides without comparing bodies: its Message-ID, or for a message without
 * one "H:" and the SHA-256 of its header block (hex, first 32 digits).
 * Together with the canonical size it decides pairing and crash recovery.
 *
 * struct ident_sink is a tee: it passes every byte on to another sink (or
 * none) while counting the canonical size and keeping the header block
 * (bounded), so identity comes for free while a message is copied.
 */
#ifndef MF_SYNC_IDENT_H
#define MF_SYNC_IDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "header.h"
#include "store.h"

#define IDENT_MAX (MF_MSGID_MAX + 3)
#define IDENT_HEADER_MAX (256 * 1024)

struct ident_sink {
	struct mf_sink sink;	/* first: cast back from struct mf_sink */
	struct mf_sink *next;	/* tee target, NULL for none */
	uint64_t size;		/* canonical bytes seen */
	struct mf_buf hdr;	/* the header block, up to IDENT_HEADER_MAX */
	size_t scanned, line_start;	/* header end search */
	bool hdr_done;
	bool finished;		/* finish() was called */
};

void ident_sink_init(struct ident_sink *s, struct mf_sink *next);
void ident_sink_deinit(struct ident_sink *s);

/* Identity of what went through (valid after finish); out: IDENT_MAX. */
void ident_sink_identity(const struct ident_sink *s, char *out);

/* Identity from a header block alone. */
void ident_from_header(const char *hdr, size_t len, char *out);

#endif
