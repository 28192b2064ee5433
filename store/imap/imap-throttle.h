/*
 * Telling a server that says "not now" from one that says "no".
 *
 * A provider that rations its users answers a command with NO or BAD, or
 * closes the session with BYE, and means "come back later":
 *
 *   Microsoft 365   NO Request is throttled. Suggested Backoff Time:
 *                   299609 milliseconds   (BAD too; then "* BYE
 *                   Connection closed. 14")
 *   RFC 5530 3.     NO [UNAVAILABLE] ...  "temporary failure because a
 *                   subsystem is down"
 *   Gmail           NO [ALERT] Too many simultaneous connections.
 *                   * BYE [UNAVAILABLE] Temporary System Error
 *   others          "rate limit", "try again later", "bandwidth limit"
 *
 * RFC 5530's [LIMIT] alone is not one of them: it is "an implementation
 * limit" (too many flags, a command too long), permanent for that
 * command, and stays a failure of that command.  With words that speak
 * of a rate or of later, it is one.
 *
 * The transport (imap-cmd.c) asks this about every NO, BAD and BYE; a
 * "yes" breaks the session and records the wait in base/backoff.h, so that
 * the command may try the channel again after it (cmd/cmd-sync.c).
 */
#ifndef MF_IMAP_THROTTLE_H
#define MF_IMAP_THROTTLE_H

#include <stdbool.h>

#include "imap-parser.h"

/* Whether resp (a NO, BAD or BYE status response) asks us to back off.
 * *wait_ms_r: the wait it names in milliseconds ("Suggested Backoff Time:
 * N milliseconds", "N seconds"), 0 when none; capped at one hour. */
bool imap_throttle_check(const struct imap_resp *resp, long *wait_ms_r);

#endif
