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
	struct mf_sink sink;  /* first: cast back from struct mf_sink */
	struct mf_sink *next; /* tee target, NULL for none */
	uint64_t size;	      /* canonical bytes seen */
	struct mf_buf hdr;    /* the header block, up to IDENT_HEADER_MAX */
	size_t scanned, line_start; /* header end search */
	bool hdr_done;
	bool finished; /* finish() was called */
};

void ident_sink_init(struct ident_sink *s, struct mf_sink *next);
void ident_sink_deinit(struct ident_sink *s);

/* Identity of what went through (valid after finish); out: IDENT_MAX. */
void ident_sink_identity(const struct ident_sink *s, char *out);

/* Identity from a header block alone. */
void ident_from_header(const char *hdr, size_t len, char *out);

/*
 * The fingerprint of a header block: "N:" and the first 32 hex digits of
 * a SHA-256 over its fields, normalized so that what mail tools do to a
 * message they store does not change it: the fields they add (X-TUID,
 * Content-Length, Status, X-Keywords, ...; see ident.c) are left out,
 * field names are compared in lower case, and every run of white space in
 * a value, folding included, counts as one space (OfflineIMAP re-folds
 * and re-spaces header lines).  The order of fields counts.  Returns the
 * length of the header block (up to and including its empty line; len if
 * there is none).  out needs IDENT_FP_MAX bytes.
 *
 * Two copies with equal fingerprints have the same Received chain, Date,
 * From, Subject and Message-ID: the planner takes that as the same
 * message even when their sizes differ (sync/plan.h).
 */
#define IDENT_FP_MAX 40
size_t ident_fingerprint(const char *hdr, size_t len, char *out);

/*
 * Bytes of the header block hdr[0..len) taken by the fields tools add
 * (with their line ends): a message's size less this is what it was
 * before a mail reader saved its copy (neomutt adds Content-Length).
 */
uint64_t ident_tool_bytes(const char *hdr, size_t len);

/*
 * The content digest of a whole message: "C:" and 32 hex digits of a
 * SHA-256 over every byte that is not white space, leaving out an mbox
 * "From " line in front and the fields of the header that tools add (as
 * above).  Blank lines added or dropped, re-folded or re-spaced header
 * and MIME part lines (OfflineIMAP rewrites both) do not change it.  It
 * needs the whole message, so the engine asks for it only to confirm a
 * file name's UID hint that nothing else can confirm (sync.c).  out needs
 * IDENT_FP_MAX bytes; "" if the digest failed.
 */
void ident_content_digest(const char *msg, size_t len, char *out);

/* Largest message the engine reads whole for ident_content_digest. */
#define IDENT_CONTENT_MAX (4u * 1024 * 1024)

#endif
