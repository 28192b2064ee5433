/*
 * Placeholders: what the near side holds instead of a message larger than
 * the channel's max_size, until "mailferry fetch" brings the full message.
 *
 * A placeholder is the message's own header block, exactly as the server
 * sends it for BODY.PEEK[HEADER] (so a mail reader lists it with its real
 * From, Subject and Date, and its identity is the real one), then a short
 * body saying what it is.  Nothing is added to the header: the bytes a
 * user sees above the body are the server's.
 *
 * It is marked in two places.  The state row (state_msg.placeholder) is
 * what the engine goes by.  The file name (",PH=<size>", see
 * store/maildir/mdir-name.h) is the safety net: a scan reports it as
 * mf_msg.placeholder_of even when the state database is lost, and the
 * planner then never uploads it and pairs it with its far message by
 * Message-ID and the full size.  Renaming the file by hand loses the
 * mark; so would editing any other mail file.
 */
#ifndef MF_SYNC_PLACEHOLDER_H
#define MF_SYNC_PLACEHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * A sink that passes a header block on and, at finish, ends it with an
 * empty line if it lacks one and appends the placeholder body.  channel
 * and box are borrowed until finish.
 */
struct ph_sink {
	struct mf_sink sink; /* first: cast back from struct mf_sink */
	struct mf_sink *next;
	uint64_t size; /* the full message's size */
	const char *channel, *box;
	char tail[4]; /* the last bytes passed on */
	size_t ntail;
};

void ph_sink_init(struct ph_sink *s, struct mf_sink *next, uint64_t size,
		  const char *channel, const char *box);

/*
 * The last line of defence against uploading a placeholder that lost both
 * marks (a mail reader copied it under a new name, with no state row):
 * a sink that passes everything on but fails at finish, MF_E_MSG, when the
 * message's body is exactly a placeholder note.  A failed sink is never
 * delivered.
 */
#define PH_CHECK_TAIL 1024
struct ph_check_sink {
	struct mf_sink sink; /* first */
	struct mf_sink *next;
	char tail[PH_CHECK_TAIL]; /* the last bytes passed on */
	size_t ntail;
};

void ph_check_init(struct ph_check_sink *s, struct mf_sink *next);

/* Does a message ending with these bytes have a placeholder note for its
 * whole body? */
bool ph_is_note(const char *tail, size_t len);

/* The placeholder body (CRLF line ends) into buf; its length. */
size_t ph_body(char *buf, size_t size, uint64_t msg_size, const char *channel,
	       const char *box);

#endif
