/*
 * The move journal and the rules that read it (see move.h): its text form
 * (move-journal.h) kept in a state row's pending_arg column while a move is
 * in flight, what a run that finds one does, and which folder wins when
 * both sides moved a message.
 * Pure: no I/O (tests/unit/test-move-journal.c).
 */
#include "move-journal.h"
#include "move.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/*
 * "mv1 to=T from=F s=far|near hint=H s_uid=U m_uid=U s_key=N:KEY
 * m_key=N:KEY", then " s_kw=N:KEYWORDS" for a relabel.  Keys come last
 * and carry their length: a maildir name may hold any byte but '/' and
 * NUL, spaces included.  A journal without s_kw (an older version's, or
 * no relabel) reads as relabel = false.
 */
int
move_journal_format(const struct move_journal *j, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "mv1 to=%" PRId64 " from=%" PRId64
			 " s=%s hint=%" PRIu32 " s_uid=%" PRIu32
			 " m_uid=%" PRIu32 " s_key=%zu:%s m_key=%zu:%s",
			 j->to, j->from, j->s_far ? "far" : "near", j->hint,
			 j->s_uid, j->m_uid, strlen(j->s_key), j->s_key,
			 strlen(j->m_key), j->m_key);

	if (n >= 0 && (size_t)n < len && j->relabel)
		n += snprintf(buf + n, len - (size_t)n, " s_kw=%zu:%s",
			      strlen(j->s_kw), j->s_kw);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* "NAME=LEN:VALUE" at *p into out (max bytes); moves *p past it. */
static bool
parse_str(const char **p, const char *name, char *out, size_t max)
{
	size_t nl = strlen(name), len = 0;
	const char *s = *p;

	if (strncmp(s, name, nl) != 0 || s[nl] != '=')
		return false;
	s += nl + 1;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		len = len * 10 + (size_t)(*s++ - '0');
		if (len >= max)
			return false;
	}
	if (*s++ != ':' || strnlen(s, len) < len)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	*p = s + len;
	return true;
}

static bool
parse_key(const char **p, const char *name, char *out)
{
	return parse_str(p, name, out, MOVE_KEY_MAX);
}

bool
move_journal_parse(const char *arg, struct move_journal *j)
{
	char side[5];
	int64_t to, from;
	uint32_t hint, s_uid, m_uid;
	int used = -1;
	const char *p;

	memset(j, 0, sizeof(*j));
	if (arg == NULL ||
	    sscanf(arg,
		   "mv1 to=%" SCNd64 " from=%" SCNd64 " s=%4[a-z]"
		   " hint=%" SCNu32 " s_uid=%" SCNu32 " m_uid=%" SCNu32 " %n",
		   &to, &from, side, &hint, &s_uid, &m_uid, &used) != 6 ||
	    used < 0 || to <= 0 || from < 0)
		return false;
	if (strcmp(side, "far") != 0 && strcmp(side, "near") != 0)
		return false;
	p = arg + used;
	if (!parse_key(&p, "s_key", j->s_key) || *p++ != ' ' ||
	    !parse_key(&p, "m_key", j->m_key)) {
		memset(j, 0, sizeof(*j));
		return false;
	}
	if (*p == ' ') {
		p++;
		j->relabel = parse_str(&p, "s_kw", j->s_kw, sizeof(j->s_kw));
		if (!j->relabel)
			p--; /* refused below */
	}
	if (*p != '\0') {
		memset(j, 0, sizeof(*j));
		return false;
	}
	j->to = to;
	j->from = from;
	j->s_far = side[0] == 'f';
	j->hint = hint;
	j->s_uid = s_uid;
	j->m_uid = m_uid;
	return true;
}

enum move_fix
move_fix_decide(bool old_there, bool new_found)
{
	if (new_found)
		return old_there ? MOVE_FIX_FINISH : MOVE_FIX_DONE;
	return old_there ? MOVE_FIX_UNDONE : MOVE_FIX_LOST;
}

enum move_meet
move_meet_decide(size_t near_dest, size_t far_dest)
{
	return near_dest == far_dest ? MOVE_MEET_SAME : MOVE_MEET_FOLLOW_FAR;
}

void
move_dest_row(const struct state_msg *old, uint32_t far_uid, uint32_t near_uid,
	      const char *near_key, struct state_msg *row)
{
	*row = *old;
	row->rowid = 0;
	state_msg_clear_pending(row);
	row->far_uid = far_uid;
	row->near_uid = near_uid;
	row->near_key = (char *)near_key;
}
