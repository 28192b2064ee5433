/*
 * IMAP dates: date-time for APPEND, date for SEARCH SINCE, and the
 * INTERNALDATE parser (RFC 3501 section 9), all in UTC.
 */
#include "imap-date.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

void
imap_date_format(int64_t t, char buf[IMAP_DATE_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	/* RFC 3501 date-time, date-day-fixed as two digits */
	snprintf(buf, IMAP_DATE_SIZE, "%02d-%s-%04d %02d:%02d:%02d +0000",
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

void
imap_search_date_format(int64_t t, char buf[IMAP_DATE_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, IMAP_DATE_SIZE, "%d-%s-%04d", tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900);
}

static bool
digits(const char *s, size_t n, int *v_r)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return true;
}

bool
imap_date_parse(const char *s, size_t len, int64_t *t_r)
{
	/* "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d" or "d" */
	char tmp[40];
	struct tm tm = { 0 };
	int day, mon = -1, year, hh, mm, ss, zh, zm, i;
	const char *p;
	time_t t;

	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	p = tmp;
	while (*p == ' ')
		p++;
	if (p[0] >= '0' && p[0] <= '9' && p[1] == '-') {
		day = p[0] - '0';
		p += 2;
	} else if (digits(p, 2, &day) && p[2] == '-') {
		p += 3;
	} else {
		return false;
	}
	for (i = 0; i < 12; i++)
		if (strncasecmp(p, months[i], 3) == 0)
			mon = i;
	if (mon < 0 || p[3] != '-')
		return false;
	p += 4;
	if (strlen(p) != 19 || !digits(p, 4, &year) || p[4] != ' ' ||
	    !digits(p + 5, 2, &hh) || p[7] != ':' || !digits(p + 8, 2, &mm) ||
	    p[10] != ':' || !digits(p + 11, 2, &ss) || p[13] != ' ' ||
	    (p[14] != '+' && p[14] != '-') || !digits(p + 15, 2, &zh) ||
	    !digits(p + 17, 2, &zm))
		return false;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return false;
	tm.tm_mday = day;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	/* local time = UTC + zone, so UTC = local - zone */
	*t_r = (int64_t)t - (p[14] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
	return true;
}
