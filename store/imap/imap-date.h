/*
 * IMAP dates (RFC 3501 section 9): formatting for APPEND and SEARCH,
 * parsing INTERNALDATE.  Pure functions, unit tested.
 */
#ifndef MF_IMAP_DATE_H
#define MF_IMAP_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_DATE_SIZE 32
/* date-time without the quotes: "05-Jul-2020 14:03:00 +0000" (UTC). */
void imap_date_format(int64_t t, char buf[IMAP_DATE_SIZE]);
/* date for SEARCH: "5-Jul-2020" (UTC). */
void imap_search_date_format(int64_t t, char buf[IMAP_DATE_SIZE]);
/* Parse an INTERNALDATE "17-Jul-1996 02:44:25 -0700" into Unix time. */
bool imap_date_parse(const char *s, size_t len, int64_t *t_r);

#endif
