/*
 * Throttling answers (see imap-throttle.h).  The words are matched without
 * case in the response text.  That text is not always the server's own:
 * servers echo the folder a command named ("NO [NONEXISTENT] Mailbox
 * doesn't exist: Try again later", or quoted), so a folder named like a
 * throttle could make a plain refusal look like one.  Two rules keep it
 * out: words inside a quoted string do not count, and a response code
 * that already names a lasting reason (RFC 5530's NONEXISTENT, NOPERM,
 * ALREADYEXISTS, ...; RFC 3501's TRYCREATE) is believed over the words.
 * An unquoted echo under no code still counts: the command is then tried
 * again a bounded number of times (retries:) and fails as it would have.
 */
#include "imap-throttle.h"

#include <ctype.h>
#include <string.h>

#define WAIT_MAX_MS (3600L * 1000)

/* Where word (lower case) starts in text[0..len), without case, or -1. */
static long
find_word(const char *text, size_t len, const char *word)
{
	size_t n = strlen(word), i, j;

	for (i = 0; n <= len && i <= len - n; i++) {
		for (j = 0; j < n; j++)
			if (tolower((unsigned char)text[i + j]) != word[j])
				break;
		if (j == n)
			return (long)i;
	}
	return -1;
}

/* Whether word occurs in the response text outside "quoted" strings. */
static bool
has_word(const struct imap_resp *resp, const char *word)
{
	const char *t = resp->text;
	size_t i = 0, start;
	bool quoted = false;

	if (t == NULL)
		return false;
	while (i < resp->text_len) {
		if (t[i] == '"') {
			quoted = !quoted;
			i++;
			continue;
		}
		for (start = i; i < resp->text_len && t[i] != '"'; i++)
			if (t[i] == '\\' && quoted && i + 1 < resp->text_len)
				i++;
		if (!quoted && find_word(t + start, i - start, word) >= 0)
			return true;
	}
	return false;
}

/* Response codes that give a lasting reason for a refusal: the command
 * would fail the same way later, whatever the text says. */
static bool
code_says_no(const struct imap_resp *resp)
{
	static const char *const codes[] = {
		"NONEXISTENT",
		"ALREADYEXISTS",
		"TRYCREATE",
		"NOPERM",
		"CANNOT",
		"OVERQUOTA",
		"AUTHENTICATIONFAILED",
		"AUTHORIZATIONFAILED",
		"EXPIRED",
		"PRIVACYREQUIRED",
		"CONTACTADMIN",
		"CLIENTBUG",
		"EXPUNGEISSUED",
		"BADCHARSET",
		"PARSE",
		"TOOBIG",
		NULL,
	};
	size_t i;

	if (resp->ncode == 0)
		return false;
	for (i = 0; codes[i] != NULL; i++)
		if (imap_arg_is_atom(&resp->code[0], codes[i]))
			return true;
	return false;
}

/* Words that say "not now" rather than "not this". */
static bool
says_later(const struct imap_resp *resp)
{
	static const char *const words[] = {
		"throttl",
		"rate limit",
		"try again later",
		"bandwidth limit",
		"too many simultaneous",
		"too many connections",
		"too many concurrent",
		NULL,
	};
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (has_word(resp, words[i]))
			return true;
	return false;
}

/* A wait after one of the lead words, in milliseconds; 0 when none.  The
 * unit is the word after the number: "ms"/"milli..." milliseconds, "s"/
 * "sec..." seconds, "min..." minutes; with none, milliseconds after
 * "backoff time" (Microsoft 365's own phrase) and seconds after the
 * others (as HTTP's Retry-After). */
static long
named_wait(const struct imap_resp *resp)
{
	static const char *const leads[] = { "backoff time", "retry after",
					     "try again in", NULL };
	const char *t = resp->text, *end, *p = NULL;
	long at = -1, n = 0, scale;
	size_t i;

	if (t == NULL)
		return 0;
	end = t + resp->text_len;
	for (i = 0; leads[i] != NULL; i++)
		if ((at = find_word(t, resp->text_len, leads[i])) >= 0)
			break;
	if (at < 0)
		return 0;
	p = t + at + strlen(leads[i]);
	scale = i == 0 ? 1 : 1000;
	while (p < end && (*p == ':' || *p == ' ' || *p == '='))
		p++;
	if (p == end || !isdigit((unsigned char)*p))
		return 0;
	for (; p < end && isdigit((unsigned char)*p); p++)
		if ((n = n * 10 + (*p - '0')) > WAIT_MAX_MS)
			return WAIT_MAX_MS;
	while (p < end && *p == ' ')
		p++;
	if (end - p >= 2 && tolower((unsigned char)p[0]) == 'm' &&
	    tolower((unsigned char)p[1]) == 'i' &&
	    (end - p < 3 || tolower((unsigned char)p[2]) != 'l'))
		scale = 60 * 1000; /* "min", not "milli" */
	else if (p < end && tolower((unsigned char)p[0]) == 'm')
		scale = 1;
	else if (p < end && tolower((unsigned char)p[0]) == 's')
		scale = 1000;
	return n > WAIT_MAX_MS / scale ? WAIT_MAX_MS : n * scale;
}

bool
imap_throttle_check(const struct imap_resp *resp, long *wait_ms_r)
{
	bool unavailable;

	*wait_ms_r = 0;
	if (resp->status == NULL || (strcmp(resp->status, "NO") != 0 &&
				     strcmp(resp->status, "BAD") != 0 &&
				     strcmp(resp->status, "BYE") != 0))
		return false;
	/* [LIMIT] and any other code count only with the words */
	unavailable = resp->ncode > 0 &&
		      imap_arg_is_atom(&resp->code[0], "UNAVAILABLE");
	if (!unavailable && (code_says_no(resp) || !says_later(resp)))
		return false;
	*wait_ms_r = named_wait(resp);
	return true;
}
