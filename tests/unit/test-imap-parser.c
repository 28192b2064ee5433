/*
 * Unit tests for store/imap/imap-parser.c.
 *
 * Every row of the tables is fed three ways, as Dovecot's parser tests do:
 * whole, byte by byte, and split at every offset into two feeds; all must
 * give the same tree (or the same error).  Trees are compared as a one-line
 * rendering (see dump_resp()):
 *
 *   * 1 FETCH (UID 1 FLAGS (\Seen) BODY[] {5}"hello")
 *   A1 OK [APPENDUID 38505 3955] "APPEND completed"
 *   + "go ahead"
 *
 * atoms as they are, NIL as NIL, strings quoted with \" \\ and \xNN escapes,
 * in-memory literals as {n}"bytes" (~{n} for literal8), streamed literals as
 * {n}sink, lists in parens.  For a status response the word after the tag is
 * resp->status, then "[code args]" when there is a code, then the text,
 * quoted.  Several responses in one row are joined with newlines; an error
 * ends the rendering with "ERROR: <message>".
 *
 * Most rows are lines copied from the MailKit transcripts in
 * tests/data/imap/mailkit/ (Dovecot and Gmail captures); the row name says
 * which file.  Only test_transcripts reads files, through $MF_TESTDATA.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "imap/imap-parser.h"
#include "store.h"

#define DUMP_MAX (64u * 1024 * 1024)

/* ---- rendering ------------------------------------------------------- */

static void
put(struct mf_buf *out, const char *s, size_t len)
{
	struct mf_err err;

	if (mf_buf_append(out, s, len, &err) < 0)
		fail_msg("dump: %s", err.msg);
}

static void
puts_(struct mf_buf *out, const char *s)
{
	put(out, s, strlen(s));
}

static void
dump_bytes(struct mf_buf *out, const char *s, size_t len)
{
	char hex[8];
	size_t i;

	puts_(out, "\"");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			puts_(out, "\\");
			put(out, s + i, 1);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			puts_(out, hex);
		} else {
			put(out, s + i, 1);
		}
	}
	puts_(out, "\"");
}

static void dump_args(struct mf_buf *out, const struct imap_arg *args,
		      size_t count);

static void
dump_arg(struct mf_buf *out, const struct imap_arg *a)
{
	char num[40];

	switch (a->type) {
	case IMAP_ARG_NIL:
		puts_(out, "NIL");
		break;
	case IMAP_ARG_ATOM:
		assert_non_null(a->str);
		assert_int_equal(strlen(a->str), a->len);
		put(out, a->str, a->len);
		break;
	case IMAP_ARG_STRING:
		assert_int_equal(a->str[a->len], '\0');
		dump_bytes(out, a->str, a->len);
		break;
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_LITERAL_SINK:
		snprintf(num, sizeof(num), "%s{%llu}", a->literal8 ? "~" : "",
			 (unsigned long long)a->literal_size);
		puts_(out, num);
		if (a->type == IMAP_ARG_LITERAL_SINK) {
			puts_(out, "sink");
			break;
		}
		assert_int_equal(a->len, a->literal_size);
		assert_int_equal(a->str[a->len], '\0');
		dump_bytes(out, a->str, a->len);
		break;
	case IMAP_ARG_LIST:
		puts_(out, "(");
		dump_args(out, a->list, a->count);
		puts_(out, ")");
		break;
	}
}

static void
dump_args(struct mf_buf *out, const struct imap_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (i > 0)
			puts_(out, " ");
		dump_arg(out, &args[i]);
	}
}

static void
dump_resp(struct mf_buf *out, const struct imap_resp *r)
{
	switch (r->kind) {
	case IMAP_RESP_UNTAGGED:
		puts_(out, "*");
		break;
	case IMAP_RESP_CONTINUE:
		puts_(out, "+ ");
		assert_non_null(r->text);
		dump_bytes(out, r->text, r->text_len);
		assert_int_equal(r->count, 0);
		return;
	case IMAP_RESP_TAGGED:
		assert_non_null(r->tag);
		puts_(out, r->tag);
		break;
	}
	if (r->status == NULL) {
		assert_null(r->text);
		assert_int_equal(r->ncode, 0);
		puts_(out, " ");
		dump_args(out, r->args, r->count);
		return;
	}
	/* a status response: args is just the status word */
	assert_int_equal(r->count, 1);
	assert_string_equal(r->args[0].str, r->status);
	puts_(out, " ");
	puts_(out, r->status);
	if (r->ncode > 0) {
		puts_(out, " [");
		dump_args(out, r->code, r->ncode);
		puts_(out, "]");
	}
	puts_(out, " ");
	assert_non_null(r->text);
	assert_int_equal(strlen(r->text), r->text_len);
	dump_bytes(out, r->text, r->text_len);
}

/* ---- feeding ----------------------------------------------------------- */

struct feed_opts {
	const struct imap_parser_limits *limits;
	imap_literal_fn *fn;
	void *ctx;
};

/*
 * Feed in[0..len) as the pieces [0..cuts[0]), [cuts[0]..cuts[1]), ...,
 * rendering every response into out.  Returns the number of responses, or
 * -1 after an error (rendered too).
 */
static int
feed_pieces(struct imap_parser *p, const char *in, size_t len,
	    const size_t *cuts, size_t ncuts, struct mf_buf *out)
{
	size_t start = 0, c;
	int nresp = 0;

	for (c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;

		while (start < end) {
			const struct imap_resp *r;
			struct mf_err err = { 0 };
			size_t used;
			int ret;

			ret = imap_parser_feed(p, in + start, end - start,
					       &used, &r, &err);
			assert_true(used <= end - start);
			start += used;
			if (ret < 0) {
				if (out->len > 0)
					puts_(out, "\n");
				puts_(out, "ERROR: ");
				puts_(out, err.msg);
				return -1;
			}
			if (ret == IMAP_PARSE_MORE) {
				/* MORE means every byte was taken */
				assert_int_equal(start, end);
				assert_null(r);
				continue;
			}
			assert_int_equal(ret, IMAP_PARSE_DONE);
			assert_non_null(r);
			if (out->len > 0)
				puts_(out, "\n");
			dump_resp(out, r);
			nresp++;
		}
	}
	return nresp;
}

static char *
parse_with(const struct feed_opts *o, const char *in, size_t len,
	   const size_t *cuts, size_t ncuts)
{
	struct imap_parser *p = imap_parser_create(o->limits);
	struct mf_buf out;

	if (o->fn != NULL)
		imap_parser_set_literal_handler(p, o->fn, o->ctx);
	mf_buf_init(&out, DUMP_MAX);
	puts_(&out, "");
	feed_pieces(p, in, len, cuts, ncuts, &out);
	imap_parser_destroy(&p);
	assert_null(p);
	return mf_buf_take(&out);
}

/*
 * Parse whole, byte by byte and split in two at every offset; all must
 * agree.  Returns the rendering (caller frees).
 */
static char *
parse_3ways(const char *name, const struct feed_opts *o, const char *in,
	    size_t len)
{
	char *whole, *other;
	size_t *cuts, i;

	whole = parse_with(o, in, len, NULL, 0);
	cuts = xcalloc(len + 1, sizeof(*cuts));
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	other = parse_with(o, in, len, cuts, len > 0 ? len - 1 : 0);
	if (strcmp(whole, other) != 0)
		fail_msg("%s: byte by byte gives\n%s\nwhole gives\n%s", name,
			 other, whole);
	free(other);
	for (i = 1; i < len; i++) {
		other = parse_with(o, in, len, &i, 1);
		if (strcmp(whole, other) != 0)
			fail_msg("%s: split at %zu gives\n%s\nwhole gives\n%s",
				 name, i, other, whole);
		free(other);
	}
	free(cuts);
	return whole;
}

/* ---- the table of responses ------------------------------------------ */

struct row {
	const char *name;
	const char *in;
	size_t len;	  /* 0: strlen(in) */
	const char *want; /* rendering; NULL when err is set */
	const char *err;  /* part of the error message */
};

#define CAPS_DOVECOT \
	"IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE " \
	"IDLE AUTH=PLAIN AUTH=DIGEST-MD5 AUTH=CRAM-MD5 AUTH=NTLM"
#define CAPS_GMAIL \
	"IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST " \
	"CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE " \
	"ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- " \
	"APPENDLIMIT=35651584"
#define ADDR "((\"Unit Tests\" NIL \"unit-tests\" \"mimekit.net\"))"
#define BODY253 \
	"From: Unit Tests <unit-tests@mimekit.net>\r\n" \
	"Date: Sun, 02 Oct 2016 17:56:45 -0400\r\n" \
	"Subject: A\r\n" \
	"Message-Id: <a@mimekit.net>\r\n" \
	"To: Unit Tests <unit-tests@mimekit.net>\r\n" \
	"MIME-Version: 1.0\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"\r\n" \
	"This is the message body.\r\n"
#define BODY253_DUMP \
	"From: Unit Tests <unit-tests@mimekit.net>\\x0d\\x0a" \
	"Date: Sun, 02 Oct 2016 17:56:45 -0400\\x0d\\x0a" \
	"Subject: A\\x0d\\x0a" \
	"Message-Id: <a@mimekit.net>\\x0d\\x0a" \
	"To: Unit Tests <unit-tests@mimekit.net>\\x0d\\x0a" \
	"MIME-Version: 1.0\\x0d\\x0a" \
	"Content-Type: text/plain; charset=utf-8\\x0d\\x0a" \
	"\\x0d\\x0a" \
	"This is the message body.\\x0d\\x0a"

static const struct row real_rows[] = {
	{ "dovecot/greeting.txt: greeting with CAPABILITY code",
	  "* OK [CAPABILITY " CAPS_DOVECOT "] Dovecot ready.\r\n", 0,
	  "* OK [CAPABILITY " CAPS_DOVECOT "] \"Dovecot ready.\"", NULL },
	{ "gmail/capability.txt: CAPABILITY",
	  "* CAPABILITY " CAPS_GMAIL "\r\nA######## OK Thats all she wrote!"
	  " ab12\r\n",
	  0,
	  "* CAPABILITY " CAPS_GMAIL "\n"
	  "A######## OK \"Thats all she wrote! ab12\"",
	  NULL },
	{ "lowercase/capability.txt: args keep their case",
	  "* capability imap4rev1 starttls login special-use\r\n", 0,
	  "* capability imap4rev1 starttls login special-use", NULL },
	{ "dovecot/enable-qresync.txt: ENABLED",
	  "* ENABLED QRESYNC CONDSTORE\r\n"
	  "A######## OK Enabled (0.000 + 0.000 secs).\r\n",
	  0,
	  "* ENABLED QRESYNC CONDSTORE\n"
	  "A######## OK \"Enabled (0.000 + 0.000 secs).\"",
	  NULL },
	{ "common/id.txt: ID",
	  "* ID (\"name\" \"GImap\" \"vendor\" \"Google, Inc.\" "
	  "\"support-url\" \"http://support.google.com/mail\" \"version\" "
	  "\"gmail_imap_150623.03_p1\" \"remote-host\" \"127.0.0.1\")\r\n",
	  0,
	  "* ID (\"name\" \"GImap\" \"vendor\" \"Google, Inc.\" "
	  "\"support-url\" \"http://support.google.com/mail\" \"version\" "
	  "\"gmail_imap_150623.03_p1\" \"remote-host\" \"127.0.0.1\")",
	  NULL },
	{ "dovecot/namespace.txt: NAMESPACE with NIL",
	  "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n", 0,
	  "* NAMESPACE ((\"\" \".\")) NIL NIL", NULL },
	{ "common/namespace.txt: NAMESPACE with extensions",
	  "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\" \"TRANSLATION\""
	  " (\"Andere Ben&APw-tzer/\"))) ((\"Public Folders/\" \"/\" "
	  "\"TRANSLATION\" (\"Gemeinsame Postf&AM8-cher/\")))\r\n",
	  0,
	  "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\" \"TRANSLATION\""
	  " (\"Andere Ben&APw-tzer/\"))) ((\"Public Folders/\" \"/\" "
	  "\"TRANSLATION\" (\"Gemeinsame Postf&AM8-cher/\")))",
	  NULL },
	{ "dovecot/list-special-use.txt: LIST with special-use flags",
	  "* LIST (\\Drafts \\Subscribed) \".\" Drafts\r\n"
	  "* LIST (\\Sent \\Subscribed) \".\" \"Sent Messages\"\r\n"
	  "A######## OK List completed (0.000 + 0.000 secs).\r\n",
	  0,
	  "* LIST (\\Drafts \\Subscribed) \".\" Drafts\n"
	  "* LIST (\\Sent \\Subscribed) \".\" \"Sent Messages\"\n"
	  "A######## OK \"List completed (0.000 + 0.000 secs).\"",
	  NULL },
	{ "common/list-nil-folder-delim.txt: NIL and empty delimiter",
	  "* LIST () \"/\" INBOX\r\n"
	  "* LIST (\\HasNoChildren) NIL \"Folder1\"\r\n"
	  "* LIST (\\HasNoChildren) \"\" \"Folder2\"\r\n",
	  0,
	  "* LIST () \"/\" INBOX\n"
	  "* LIST (\\HasNoChildren) NIL \"Folder1\"\n"
	  "* LIST (\\HasNoChildren) \"\" \"Folder2\"",
	  NULL },
	{ "common/list-literal-subfolders.txt: literal mailbox name",
	  "* LIST (\\HasNoChildren) \"/\" {19}\r\nLiteral Folder Name\r\n"
	  "A######## OK LIST Completed\r\n",
	  0,
	  "* LIST (\\HasNoChildren) \"/\" {19}\"Literal Folder Name\"\n"
	  "A######## OK \"LIST Completed\"",
	  NULL },
	{ "lowercase/list.txt: mixed-case LIST",
	  "* List (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n", 0,
	  "* List (\\HasNoChildren \\Trash) \"/\" \"Trash\"", NULL },
	{ "gmail/list-personal-status-appendlimit.txt: LIST-STATUS",
	  "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
	  "* STATUS \"INBOX\" (APPENDLIMIT 1234567890 MESSAGES 10 UNSEEN 1 "
	  "SIZE 123456789)\r\n"
	  "* LIST (\\Noselect \\HasChildren) \"/\" \"[Gmail]\"\r\n",
	  0,
	  "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\n"
	  "* STATUS \"INBOX\" (APPENDLIMIT 1234567890 MESSAGES 10 UNSEEN 1 "
	  "SIZE 123456789)\n"
	  "* LIST (\\Noselect \\HasChildren) \"/\" \"[Gmail]\"",
	  NULL },
	{ "gmail/status-inbox.txt: STATUS with MAILBOXID list",
	  "* STATUS \"[Gmail]/Drafts\" (HIGHESTMODSEQ 41234 MESSAGES 0 "
	  "RECENT 0 UIDNEXT 1 UIDVALIDITY 6 UNSEEN 0 SIZE 1024 MAILBOXID "
	  "(fdacc3c7-4e20-4ca0-a0d7-4f7267187e48))\r\n",
	  0,
	  "* STATUS \"[Gmail]/Drafts\" (HIGHESTMODSEQ 41234 MESSAGES 0 "
	  "RECENT 0 UIDNEXT 1 UIDVALIDITY 6 UNSEEN 0 SIZE 1024 MAILBOXID "
	  "(fdacc3c7-4e20-4ca0-a0d7-4f7267187e48))",
	  NULL },
	{ "common/status-literal-folder.txt: STATUS of a literal name",
	  "* STATUS {19}\r\nLiteral Folder Name (MESSAGES 60)\r\n", 0,
	  "* STATUS {19}\"Literal Folder Name\" (MESSAGES 60)", NULL },
	{ "common/select-inbox.txt: SELECT",
	  "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
	  "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	  "\\Draft \\*)] Flags permitted.\r\n"
	  "* 8 EXISTS\r\n"
	  "* 8 RECENT\r\n"
	  "* OK [UNSEEN 1] First unseen.\r\n"
	  "* OK [UIDVALIDITY 1436832084] UIDs valid\r\n"
	  "* OK [UIDNEXT 9] Predicted next UID\r\n"
	  "* OK [HIGHESTMODSEQ 2] Highest\r\n"
	  "A######## OK [READ-WRITE] Select completed (0.000 + 0.000 secs)."
	  "\r\n",
	  0,
	  "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
	  "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	  "\\Draft \\*)] \"Flags permitted.\"\n"
	  "* 8 EXISTS\n"
	  "* 8 RECENT\n"
	  "* OK [UNSEEN 1] \"First unseen.\"\n"
	  "* OK [UIDVALIDITY 1436832084] \"UIDs valid\"\n"
	  "* OK [UIDNEXT 9] \"Predicted next UID\"\n"
	  "* OK [HIGHESTMODSEQ 2] \"Highest\"\n"
	  "A######## OK [READ-WRITE] \"Select completed (0.000 + 0.000 "
	  "secs).\"",
	  NULL },
	{ "dovecot/select-unittests-messages-qresync.txt: QRESYNC SELECT",
	  "* OK [HIGHESTMODSEQ 6] Highest\r\n"
	  "* VANISHED (EARLIER) 8\r\n"
	  "* 1 FETCH (UID 1 FLAGS (\\Answered \\Seen \\Draft) MODSEQ (4))\r\n",
	  0,
	  "* OK [HIGHESTMODSEQ 6] \"Highest\"\n"
	  "* VANISHED (EARLIER) 8\n"
	  "* 1 FETCH (UID 1 FLAGS (\\Answered \\Seen \\Draft) MODSEQ (4))",
	  NULL },
	{ "dovecot/fetch3.txt: FETCH with ENVELOPE, BODYSTRUCTURE, "
	  "HEADER.FIELDS literal",
	  "* 1 FETCH (UID 1 FLAGS (\\Answered \\Seen \\Draft \\Recent) "
	  "INTERNALDATE \"02-Oct-2016 17:28:25 -0400\" RFC822.SIZE 253 "
	  "MODSEQ (2) ENVELOPE (\"Sun, 02 Oct 2016 17:28:25 -0400\" \"A\" " ADDR
	  " " ADDR " " ADDR " " ADDR " NIL NIL NIL \"<a@mimekit.net>\")"
	  " BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"utf-8\") NIL "
	  "NIL \"7bit\" 27 1 NIL NIL NIL NIL) "
	  "BODY[HEADER.FIELDS (REFERENCES X-MAILER)] {2}\r\n\r\n)\r\n",
	  0,
	  "* 1 FETCH (UID 1 FLAGS (\\Answered \\Seen \\Draft \\Recent) "
	  "INTERNALDATE \"02-Oct-2016 17:28:25 -0400\" RFC822.SIZE 253 "
	  "MODSEQ (2) ENVELOPE (\"Sun, 02 Oct 2016 17:28:25 -0400\" \"A\" " ADDR
	  " " ADDR " " ADDR " " ADDR " NIL NIL NIL \"<a@mimekit.net>\")"
	  " BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"utf-8\") NIL "
	  "NIL \"7bit\" 27 1 NIL NIL NIL NIL) "
	  "BODY[HEADER.FIELDS (REFERENCES X-MAILER)] {2}\"\\x0d\\x0a\")",
	  NULL },
	{ "dovecot/getbodypart.txt: BODY[] literal",
	  "* 1 FETCH (UID 1 BODY[] {253}\r\n" BODY253 ")\r\n"
	  "A######## OK Fetch completed (0.002 + 0.000 secs).\r\n",
	  0,
	  "* 1 FETCH (UID 1 BODY[] {253}\"" BODY253_DUMP "\")\n"
	  "A######## OK \"Fetch completed (0.002 + 0.000 secs).\"",
	  NULL },
	{ "dovecot/getstream-section.txt: BODY[HEADER.FIELDS (...)] literal",
	  "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MIME-VERSION CONTENT-TYPE)]"
	  " {62}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
	  "charset=utf-8\r\n\r\n)\r\n",
	  0,
	  "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MIME-VERSION CONTENT-TYPE)]"
	  " {62}\"MIME-Version: 1.0\\x0d\\x0aContent-Type: text/plain; "
	  "charset=utf-8\\x0d\\x0a\\x0d\\x0a\")",
	  NULL },
	{ "dovecot/getbodypartheaders.txt: literal before UID",
	  "* 2 FETCH (BODY[1.MIME] {43}\r\nContent-Type: text/plain; "
	  "charset=utf-8\r\n\r\n UID 2)\r\n",
	  0,
	  "* 2 FETCH (BODY[1.MIME] {43}\"Content-Type: text/plain; "
	  "charset=utf-8\\x0d\\x0a\\x0d\\x0a\" UID 2)",
	  NULL },
	{ "dovecot/getstream.txt: BODY[]<128> partial",
	  "* 1 FETCH (UID 1 BODY[]<128> {64}\r\nnit Tests "
	  "<unit-tests@mimekit.net>\r\nMIME-Version: 1.0\r\nContent-T)\r\n",
	  0,
	  "* 1 FETCH (UID 1 BODY[]<128> {64}\"nit Tests "
	  "<unit-tests@mimekit.net>\\x0d\\x0aMIME-Version: 1.0\\x0d\\x0a"
	  "Content-T\")",
	  NULL },
	{ "gmail/fetch-nil.txt: NIL section body",
	  "* 3 FETCH (UID 1 BODY[1.TEXT]<0> NIL)\r\n", 0,
	  "* 3 FETCH (UID 1 BODY[1.TEXT]<0> NIL)", NULL },
	{ "gmail/fetch-quoted-string-bodystructure.txt: multipart "
	  "BODYSTRUCTURE, no space between parts",
	  "* 1 FETCH (UID 1 BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	  "\"utf-8\") NIL NIL \"7BIT\" 5235 112 NIL NIL NIL)(\"TEXT\" "
	  "\"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 60479 873 NIL "
	  "NIL NIL) \"ALTERNATIVE\"))\r\n",
	  0,
	  "* 1 FETCH (UID 1 BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	  "\"utf-8\") NIL NIL \"7BIT\" 5235 112 NIL NIL NIL) (\"TEXT\" "
	  "\"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 60479 873 NIL "
	  "NIL NIL) \"ALTERNATIVE\"))",
	  NULL },
	{ "VANISHED (EARLIER) (RFC 7162 section 3.2.10)",
	  "* VANISHED (EARLIER) 1:5,9\r\n", 0, "* VANISHED (EARLIER) 1:5,9",
	  NULL },
	{ "ESEARCH (RFC 4731)", "* ESEARCH (TAG \"a1\") UID ALL 1:3,5\r\n", 0,
	  "* ESEARCH (TAG \"a1\") UID ALL 1:3,5", NULL },
	{ "dovecot/search-partial.txt: ESEARCH PARTIAL with NIL",
	  "* ESEARCH (TAG \"A########\") UID PARTIAL (100:110 NIL)\r\n", 0,
	  "* ESEARCH (TAG \"A########\") UID PARTIAL (100:110 NIL)", NULL },
	{ "dovecot/search-changed-since.txt: SEARCH with MODSEQ",
	  "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 (MODSEQ 12345678)\r\n", 0,
	  "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 (MODSEQ 12345678)", NULL },
	{ "empty SEARCH", "* SEARCH\r\n", 0, "* SEARCH", NULL },
	{ "gmail/uid-expunge.txt: EXPUNGE", "* 1 EXPUNGE\r\n* 0 EXISTS\r\n", 0,
	  "* 1 EXPUNGE\n* 0 EXISTS", NULL },
	{ "dovecot/append.1.txt: APPENDUID",
	  "A######## OK [APPENDUID 1436832084 1] Append completed (0.000 + "
	  "0.000 secs).\r\n",
	  0,
	  "A######## OK [APPENDUID 1436832084 1] \"Append completed (0.000 + "
	  "0.000 secs).\"",
	  NULL },
	{ "RFC 4315 APPENDUID and COPYUID with sets",
	  "a1 OK [APPENDUID 38505 3955] APPEND completed\r\n"
	  "a2 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
	  0,
	  "a1 OK [APPENDUID 38505 3955] \"APPEND completed\"\n"
	  "a2 OK [COPYUID 38505 304,319:320 3956:3958] \"Done\"",
	  NULL },
	{ "dovecot/move.txt: untagged COPYUID, VANISHED, HIGHESTMODSEQ",
	  "* OK [COPYUID 1436832101 1:7 8:14] Moved UIDs.\r\n"
	  "* VANISHED 1:7\r\n"
	  "A######## OK [HIGHESTMODSEQ 7] Move completed (0.013 + 0.000 "
	  "secs).\r\n",
	  0,
	  "* OK [COPYUID 1436832101 1:7 8:14] \"Moved UIDs.\"\n"
	  "* VANISHED 1:7\n"
	  "A######## OK [HIGHESTMODSEQ 7] \"Move completed (0.013 + 0.000 "
	  "secs).\"",
	  NULL },
	{ "gmail/authenticate+webalert.txt: NO with WEBALERT url code",
	  "* NO [WEBALERT https://accounts.google.com/signin/continue?sarp=1"
	  "&scc=1] Web login required.\r\n"
	  "A######## NO [ALERT] Please log in via your web browser: "
	  "https://support.google.com/mail/accounts/answer/78754 (Failure)"
	  "\r\n",
	  0,
	  "* NO [WEBALERT https://accounts.google.com/signin/continue?sarp=1"
	  "&scc=1] \"Web login required.\"\n"
	  "A######## NO [ALERT] \"Please log in via your web browser: "
	  "https://support.google.com/mail/accounts/answer/78754 (Failure)\"",
	  NULL },
	{ "tagged BAD without code",
	  "A3 BAD Error in IMAP command FETCH: Invalid arguments.\r\n", 0,
	  "A3 BAD \"Error in IMAP command FETCH: Invalid arguments.\"", NULL },
	{ "dovecot logout: BYE",
	  "* BYE Logging out\r\nA5 OK Logout completed.\r\n", 0,
	  "* BYE \"Logging out\"\nA5 OK \"Logout completed.\"", NULL },
	{ "common/preauth-greeting.txt: PREAUTH",
	  "* PREAUTH IMAP4rev1 server logged in as Smith\r\n", 0,
	  "* PREAUTH \"IMAP4rev1 server logged in as Smith\"", NULL },
	{ "dovecot/greeting-preauth.txt: PREAUTH with code",
	  "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] Logged in as user\r\n", 0,
	  "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] \"Logged in as user\"",
	  NULL },
	{ "dovecot/noop+alert.txt: ALERT",
	  "* OK [ALERT] System shutdown in 10 minutes\r\n", 0,
	  "* OK [ALERT] \"System shutdown in 10 minutes\"", NULL },
	{ "ALERT text with terminal escapes is kept raw",
	  "* OK [ALERT] \x1b[31mred\x1b[0m \"q\" \\ [x] (y)\r\n", 0,
	  "* OK [ALERT] \"\\x1b[31mred\\x1b[0m \\\"q\\\" \\\\ [x] (y)\"",
	  NULL },
	{ "gmail/go-ahead.txt: continuation", "+ go ahead\r\n", 0,
	  "+ \"go ahead\"", NULL },
	{ "continuation with base64", "+ dGVzdA==\r\n", 0, "+ \"dGVzdA==\"",
	  NULL },
	{ "RFC 7162 codes: NOMODSEQ, CLOSED, big HIGHESTMODSEQ",
	  "* OK [NOMODSEQ] Sorry, this mailbox format doesn't support "
	  "modsequences\r\n"
	  "* OK [CLOSED] Previous mailbox closed\r\n"
	  "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
	  "* OK [UIDNEXT 4392] Predicted next UID\r\n",
	  0,
	  "* OK [NOMODSEQ] \"Sorry, this mailbox format doesn't support "
	  "modsequences\"\n"
	  "* OK [CLOSED] \"Previous mailbox closed\"\n"
	  "* OK [HIGHESTMODSEQ 715194045007] \"Highest\"\n"
	  "* OK [UIDNEXT 4392] \"Predicted next UID\"",
	  NULL },
	{ "RFC 7162 FETCH with MODSEQ",
	  "* 4 FETCH (UID 8 MODSEQ (12345) FLAGS (\\Seen))\r\n", 0,
	  "* 4 FETCH (UID 8 MODSEQ (12345) FLAGS (\\Seen))", NULL },
	{ "BADCHARSET with a list",
	  "a NO [BADCHARSET (UTF-8 \"US-ASCII\")] no\r\n", 0,
	  "a NO [BADCHARSET (UTF-8 \"US-ASCII\")] \"no\"", NULL },
};

/* Deviations we tolerate, and the syntax corners. */
static const struct row liberal_rows[] = {
	{ "lower-case status and code are reported upper case",
	  "* ok [uidnext 5] lower\r\na1 no [trycreate] x\r\n", 0,
	  "* OK [UIDNEXT 5] \"lower\"\na1 NO [TRYCREATE] \"x\"", NULL },
	{ "exchange/issue115.txt: Office 365's bare COPYUID line",
	  "[COPYUID 55 31 6]\r\n* 1 EXPUNGE\r\n[X]y\r\n", 0,
	  "* OK [COPYUID 55 31 6] \"\"\n* 1 EXPUNGE\n* OK [X] \"y\"", NULL },
	{ "mixed-case status word", "* Ok [Alert] y\r\n", 0,
	  "* OK [ALERT] \"y\"", NULL },
	{ "no space between code and text", "* OK [ALERT]text\r\n", 0,
	  "* OK [ALERT] \"text\"", NULL },
	{ "code and no text", "* OK [READ-ONLY]\r\n", 0,
	  "* OK [READ-ONLY] \"\"", NULL },
	{ "status alone", "* OK\r\na OK\r\n", 0, "* OK \"\"\na OK \"\"", NULL },
	{ "status, space, nothing", "* NO \r\n", 0, "* NO \"\"", NULL },
	{ "text keeps further spaces and brackets", "* OK  x ] [y\r\n", 0,
	  "* OK \" x ] [y\"", NULL },
	{ "a second code is text", "* OK [ALERT] [PARSE] z\r\n", 0,
	  "* OK [ALERT] \"[PARSE] z\"", NULL },
	{ "trailing and repeated spaces between args", "* SEARCH 1  2 3 \r\n",
	  0, "* SEARCH 1 2 3", NULL },
	{ "NIL in any case", "* 1 FETCH (X nil Nil NIL \"NIL\" NILS)\r\n", 0,
	  "* 1 FETCH (X NIL NIL NIL \"NIL\" NILS)", NULL },
	{ "']' in an atom outside a code", "* LIST () \"/\" foo]bar\r\n", 0,
	  "* LIST () \"/\" foo]bar", NULL },
	{ "atoms starting with ']' or '['", "* X ]a [b] [\r\n", 0,
	  "* X ]a [b] [", NULL },
	{ "nested brackets in a section",
	  "* 1 FETCH (BODY[1[2] (x\"]\")] y)\r\n", 0,
	  "* 1 FETCH (BODY[1[2] (x\"]\")] y)", NULL },
	{ "'[' in a mailbox atom is an ordinary character",
	  "* STATUS foo[bar (MESSAGES 1)\r\n", 0,
	  "* STATUS foo[bar (MESSAGES 1)", NULL },
	{ "bare LF ends a line", "* 3 EXISTS\n* OK [UIDNEXT 4] n\na OK done\n",
	  0, "* 3 EXISTS\n* OK [UIDNEXT 4] \"n\"\na OK \"done\"", NULL },
	{ "bare LF after a literal size", "* 1 FETCH (BODY[] {2}\nab)\n", 0,
	  "* 1 FETCH (BODY[] {2}\"ab\")", NULL },
	{ "empty lines between responses are skipped",
	  "\r\n\n* 1 EXISTS\r\n\r\n", 0, "* 1 EXISTS", NULL },
	{ "continuation: '+' alone", "+\r\n", 0, "+ \"\"", NULL },
	{ "continuation: '+ ' and nothing", "+ \r\n", 0, "+ \"\"", NULL },
	{ "continuation without space, and a code-looking text",
	  "+idling\r\n+ [ALERT] x\r\n", 0, "+ \"idling\"\n+ \"[ALERT] x\"",
	  NULL },
	{ "section kept verbatim with spaces, parens and partial",
	  "* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)]<0> {5}\r\n"
	  "abcde)\r\n",
	  0,
	  "* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)]<0> "
	  "{5}\"abcde\")",
	  NULL },
	{ "quoted ']' inside a section",
	  "* 1 FETCH (BODY[HEADER.FIELDS (\"X]\\\"Y\" Z)] NIL UID 3)\r\n", 0,
	  "* 1 FETCH (BODY[HEADER.FIELDS (\"X]\\\"Y\" Z)] NIL UID 3)", NULL },
	{ "BINARY.SIZE and BINARY sections, lower case",
	  "* 1 FETCH (BINARY.SIZE[1] 10 binary[2 3] ~{3}\r\na\0b)\r\n", 53,
	  "* 1 FETCH (BINARY.SIZE[1] 10 binary[2 3] ~{3}\"a\\x00b\")", NULL },
	{ "LITERAL+ spelling {n+}", "* LIST () \"/\" {3+}\r\nabc\r\n", 0,
	  "* LIST () \"/\" {3}\"abc\"", NULL },
	{ "empty literal", "* 1 FETCH (BODY[] {0}\r\n)\r\n", 0,
	  "* 1 FETCH (BODY[] {0}\"\")", NULL },
	{ "literal as the last arg, with CRLF inside",
	  "* X {4}\r\n\r\n\r\n\r\n", 0, "* X {4}\"\\x0d\\x0a\\x0d\\x0a\"",
	  NULL },
	{ "an atom starting with '~'", "* X ~abc ~ (~)\r\n", 0,
	  "* X ~abc ~ (~)", NULL },
	{ "quoted escapes; unknown escapes kept",
	  "* X \"a\\\"b\\\\c\" \"\\q\" \"\" \"caf\xc3\xa9\"\r\n", 0,
	  "* X \"a\\\"b\\\\c\" \"\\\\q\" \"\" \"caf\\xc3\\xa9\"", NULL },
	{ "no space after a string or a list", "* X \"a\"\"b\"(c)(d)e\r\n", 0,
	  "* X \"a\" \"b\" (c) (d) e", NULL },
	{ "atom ends at a paren", "* X a(b)c\r\n", 0, "* X a (b) c", NULL },
	{ "flags with backslash, \\* and keywords",
	  "* FLAGS (\\Seen \\* $Forwarded Junk)\r\n", 0,
	  "* FLAGS (\\Seen \\* $Forwarded Junk)", NULL },
	{ "tag with odd but legal characters", "a.1]x[ OK done\r\n", 0,
	  "a.1]x[ OK \"done\"", NULL },
	{ "first arg not a status word in an untagged response",
	  "* OKAY x\r\n* 1 OK\r\n", 0, "* OKAY x\n* 1 OK", NULL },
	{ "status word glued to a paren is still a status", "* OK(x)\r\n", 0,
	  "* OK \"(x)\"", NULL },
	{ "8-bit text in a NO",
	  "a NO [ALREADYEXISTS] Mailbox \xc3\xa9xiste\r\n", 0,
	  "a NO [ALREADYEXISTS] \"Mailbox \\xc3\\xa9xiste\"", NULL },
	{ "deep but allowed nesting (32 lists)",
	  "* X ((((((((((((((((((((((((((((((((a"
	  "))))))))))))))))))))))))))))))))\r\n",
	  0,
	  "* X ((((((((((((((((((((((((((((((((a"
	  "))))))))))))))))))))))))))))))))",
	  NULL },
	{ "literal inside a response code", "* OK [X {1}\r\na] t\r\n", 0,
	  "* OK [X {1}\"a\"] \"t\"", NULL },
};

static const struct row error_rows[] = {
	{ "NUL in text", "* OK te\0xt\r\n", 12, NULL, "NUL byte" },
	{ "NUL in an atom", "* X a\0b\r\n", 9, NULL, "NUL byte" },
	{ "NUL in a quoted string", "* X \"a\0\"\r\n", 10, NULL, "NUL byte" },
	{ "NUL between args", "* X \0\r\n", 7, NULL, "NUL byte" },
	{ "NUL in a section", "* 1 FETCH (BODY[\0])\r\n", 21, NULL,
	  "NUL byte" },
	{ "NUL in a tag", "a\0 OK\r\n", 7, NULL, "invalid character 0x00" },
	{ "CR without LF after args", "* 1 EXISTS\rX\r\n", 0, NULL,
	  "CR not followed by LF" },
	{ "CR inside text", "* OK a\rb\r\n", 0, NULL, "CR not followed by LF" },
	{ "CR without LF after a literal size", "* X {1}\rab\r\n", 0, NULL,
	  "no CRLF after a literal size" },
	{ "space after a literal size", "* X {1} \r\na\r\n", 0, NULL,
	  "no CRLF after a literal size" },
	{ "unterminated quoted string", "* X \"abc\r\n", 0, NULL,
	  "unterminated quoted string" },
	{ "escaped CR in a quoted string", "* X \"a\\\r\n", 0, NULL,
	  "unterminated quoted string" },
	{ "unterminated list", "* X (a (b)\r\n", 0, NULL, "unterminated list" },
	{ "')' without '('", "* X a)\r\n", 0, NULL, "')' without '('" },
	{ "unterminated response code", "* OK [ALERT text\r\n", 0, NULL,
	  "unterminated response code" },
	{ "empty response code", "* OK [] x\r\n", 0, NULL,
	  "empty response code" },
	{ "response code without an atom", "* OK [(a)] x\r\n", 0, NULL,
	  "does not start with an atom" },
	{ "a bare code must be one", "[COPYUID 1 2 3\r\n", 0, NULL,
	  "unterminated response code" },
	{ "unbalanced list in a response code", "* OK [X (a] x\r\n", 0, NULL,
	  "unbalanced list in a response code" },
	{ "')' closing a response code", "* OK [X a)] x\r\n", 0, NULL,
	  "')' without '('" },
	{ "tagged response without a status", "a1 FETCH x\r\n", 0, NULL,
	  "no OK, NO or BAD after the tag" },
	{ "tagged response starting with a list", "a1 (OK)\r\n", 0, NULL,
	  "no OK, NO or BAD after the tag" },
	{ "tagged response starting with a string", "a1 \"OK\"\r\n", 0, NULL,
	  "no OK, NO or BAD after the tag" },
	{ "tag alone", "a1\r\n", 0, NULL, "tag without a status" },
	{ "tag and space", "a1 \r\n", 0, NULL, "tag without a status" },
	{ "'+' in a tag", "a+1 OK x\r\n", 0, NULL,
	  "invalid character 0x2b in a tag" },
	{ "empty tag", " OK x\r\n", 0, NULL, "empty tag" },
	{ "no space after '*'", "*OK x\r\n", 0, NULL, "no space after '*'" },
	{ "empty untagged response", "* \r\n", 0, NULL,
	  "empty untagged response" },
	{ "literal size not a number", "* X {abc}\r\n", 0, NULL,
	  "invalid literal size" },
	{ "empty literal size", "* X {}\r\n", 0, NULL, "invalid literal size" },
	{ "'+' before the digits", "* X {+3}\r\n", 0, NULL,
	  "invalid literal size" },
	{ "digits after '+'", "* X {3+5}\r\n", 0, NULL,
	  "invalid literal size" },
	{ "literal size overflows 64 bits", "* X {99999999999999999999}\r\n", 0,
	  NULL, "literal size overflows 64 bits" },
	{ "unterminated section", "* 1 FETCH (BODY[HEADER\r\n", 0, NULL,
	  "unterminated '[' in a fetch item" },
	{ "nesting one deeper than 32",
	  "* X (((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))"
	  "))))\r\n",
	  0, NULL, "lists nested deeper than the limit of 32" },
	{ "error after a good response keeps the good one",
	  "* 1 EXISTS\r\n* X (\r\n", 0, NULL, "unterminated list" },
};

static void
run_rows(const struct row *rows, size_t n)
{
	struct feed_opts o = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		size_t len = r->len != 0 ? r->len : strlen(r->in);
		char *got = parse_3ways(r->name, &o, r->in, len);

		if (r->want != NULL && strcmp(got, r->want) != 0)
			fail_msg("row %zu (%s):\ngot  %s\nwant %s", i, r->name,
				 got, r->want);
		if (r->err != NULL &&
		    (strstr(got, "ERROR: protocol error: ") == NULL ||
		     strstr(got, r->err) == NULL))
			fail_msg("row %zu (%s): got '%s', want an error "
				 "with '%s'",
				 i, r->name, got, r->err);
		free(got);
	}
}

static void
test_real_responses(void **state)
{
	(void)state;
	run_rows(real_rows, MF_N_ELEMENTS(real_rows));
}

static void
test_liberal(void **state)
{
	(void)state;
	run_rows(liberal_rows, MF_N_ELEMENTS(liberal_rows));
}

static void
test_errors(void **state)
{
	(void)state;
	run_rows(error_rows, MF_N_ELEMENTS(error_rows));
}

/* ---- used_r, reuse, reset -------------------------------------------- */

static void
test_used_and_reuse(void **state)
{
	static const char in[] = "* 1 EXISTS\r\n* 2 EXISTS\r\n* X (";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r;
	struct mf_err err = { 0 };
	size_t used;

	(void)state;
	/* one response at a time; used stops after its LF */
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &r,
					  &err),
			 IMAP_PARSE_DONE);
	assert_int_equal(used, 12);
	assert_string_equal(r->args[0].str, "1");
	assert_int_equal(imap_parser_feed(p, in + 12, sizeof(in) - 13, &used,
					  &r, &err),
			 IMAP_PARSE_DONE);
	assert_int_equal(used, 12);
	assert_string_equal(r->args[0].str, "2");
	assert_int_equal(imap_parser_feed(p, in + 24, sizeof(in) - 25, &used,
					  &r, &err),
			 IMAP_PARSE_MORE);
	assert_int_equal(used, 5);
	assert_null(r);
	/* an empty feed changes nothing */
	assert_int_equal(imap_parser_feed(p, "", 0, &used, &r, &err),
			 IMAP_PARSE_MORE);
	assert_int_equal(used, 0);
	/* an error sticks until reset */
	assert_int_equal(imap_parser_feed(p, "\r\n", 2, &used, &r, &err), -1);
	assert_int_equal(err.cls, MF_E_NET);
	assert_string_equal(err.msg, "protocol error: unterminated list");
	assert_int_equal(imap_parser_feed(p, "* 1 EXISTS\r\n", 12, &used, &r,
					  &err),
			 -1);
	assert_int_equal(err.cls, MF_E_INTERNAL);
	assert_int_equal(used, 0);
	imap_parser_reset(p);
	assert_int_equal(imap_parser_feed(p, "* 1 EXISTS\r\n", 12, &used, &r,
					  &err),
			 IMAP_PARSE_DONE);
	/* reset also forgets a partial response */
	assert_int_equal(imap_parser_feed(p, "* 2 FETCH (a", 12, &used, &r,
					  &err),
			 IMAP_PARSE_MORE);
	imap_parser_reset(p);
	assert_int_equal(imap_parser_feed(p, "a OK x\r\n", 8, &used, &r, &err),
			 IMAP_PARSE_DONE);
	assert_string_equal(r->tag, "a");
	assert_string_equal(r->status, "OK");
	assert_string_equal(r->text, "x");
	imap_parser_destroy(&p);
	imap_parser_destroy(&p); /* NULL is fine */
}

/* Buffers that a big response grew are given back after it. */
static void
test_memory_given_back(void **state)
{
	const size_t n = 100 * 1024;
	struct imap_parser *p = imap_parser_create(NULL);
	struct mf_err err = { 0 };
	const struct imap_resp *r;
	size_t used, i, big;
	char *in = xmalloc(2 * n + 16);

	(void)state;
	/* a 100 KB atom cut in two feeds, so the pending buffer holds it */
	memcpy(in, "* X ", 4);
	memset(in + 4, 'a', n);
	assert_int_equal(imap_parser_feed(p, in, 4 + n, &used, &r, &err),
			 IMAP_PARSE_MORE);
	/* then 50000 args */
	for (i = 0; i < 2 * 25000; i += 2)
		memcpy(in + i, " b", 2);
	memcpy(in + i, "\r\n", 2);
	assert_int_equal(imap_parser_feed(p, in, i + 2, &used, &r, &err),
			 IMAP_PARSE_DONE);
	assert_int_equal(r->count, 25002);
	assert_int_equal(r->args[1].len, n);
	big = imap_parser_mem_used(p);
	assert_true(big > n + 25000 * sizeof(struct imap_arg));
	assert_int_equal(imap_parser_feed(p, "* 1 EXISTS\r\n", 12, &used, &r,
					  &err),
			 IMAP_PARSE_DONE);
	assert_true(imap_parser_mem_used(p) < 4096);
	imap_parser_destroy(&p);
	free(in);
}

/* ---- literals, sinks and limits ---------------------------------------- */

struct test_sink {
	struct mf_sink sink;
	char *data; /* what was written */
	size_t len, cap;
	size_t writes;
	const char *lo, *hi; /* the caller's buffer, for zero copy */
	bool copied;	     /* a write came from outside [lo, hi) */
	bool fail;	     /* the next write fails */
	bool discard;	     /* count, keep nothing */
};

static int
test_sink_write(struct mf_sink *s, const void *data, size_t len,
		struct mf_err *err)
{
	struct test_sink *ts = (struct test_sink *)s;
	const char *d = data;

	if (ts->fail)
		return mf_err_set(err, MF_E_MSG, "disk full (test)");
	assert_true(len > 0);
	if (ts->lo != NULL && (d < ts->lo || d + len > ts->hi))
		ts->copied = true;
	ts->writes++;
	if (!ts->discard) {
		if (ts->len + len > ts->cap) {
			ts->cap = (ts->len + len) * 2;
			ts->data = xrealloc(ts->data, ts->cap);
		}
		memcpy(ts->data + ts->len, data, len);
	}
	ts->len += len;
	return 0;
}

static int
test_sink_finish(struct mf_sink *s, struct mf_err *err)
{
	(void)s;
	(void)err;
	fail_msg("the parser must never finish a sink");
	return -1;
}

static const struct mf_sink_ops test_sink_ops = {
	.write = test_sink_write,
	.finish = test_sink_finish,
};

struct handler_ctx {
	struct test_sink *sink;
	unsigned calls;
	uint64_t size;
	char seen[256];	     /* rendering of resp and args at the call */
	uint64_t sink_above; /* give the sink only above this size */
};

static struct mf_sink *
test_handler(void *ctx, const struct imap_resp *resp,
	     const struct imap_arg *args, size_t count, uint64_t size)
{
	struct handler_ctx *h = ctx;
	struct mf_buf out;
	char *s;

	h->calls++;
	h->size = size;
	mf_buf_init(&out, 1 << 20);
	puts_(&out, "");
	dump_args(&out, resp->args, resp->count);
	puts_(&out, " | ");
	dump_args(&out, args, count);
	s = mf_buf_take(&out);
	snprintf(h->seen, sizeof(h->seen), "%s", s);
	free(s);
	if (size <= h->sink_above)
		return NULL;
	return &h->sink->sink;
}

static void
test_stream_1mb(void **state)
{
	const size_t body = 1024 * 1024, step = 4099;
	const char head[] = "* 5 FETCH (UID 12 BODY[] {1048576}\r\n";
	const char tail[] = " FLAGS (\\Seen))\r\n";
	struct test_sink ts = { .sink.ops = &test_sink_ops };
	struct handler_ctx h = { .sink = &ts };
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r = NULL;
	struct mf_err err = { 0 };
	size_t len, off, i, used, maxmem = 0;
	char *in;
	int ret = IMAP_PARSE_MORE;

	(void)state;
	len = strlen(head) + body + strlen(tail);
	in = xmalloc(len);
	memcpy(in, head, strlen(head));
	for (i = 0; i < body; i++)
		in[strlen(head) + i] = (char)((i * 7 + i / 251) & 0xff);
	memcpy(in + strlen(head) + body, tail, strlen(tail));
	imap_parser_set_literal_handler(p, test_handler, &h);
	ts.lo = in;
	ts.hi = in + len;
	for (off = 0; off < len; off += used) {
		size_t n = len - off < step ? len - off : step;

		ret = imap_parser_feed(p, in + off, n, &used, &r, &err);
		assert_int_not_equal(ret, -1);
		if (imap_parser_mem_used(p) > maxmem)
			maxmem = imap_parser_mem_used(p);
		if (ret == IMAP_PARSE_DONE)
			break;
		assert_int_equal(used, n);
	}
	assert_int_equal(ret, IMAP_PARSE_DONE);
	assert_int_equal(off + used, len);
	/* every byte, in order, written from the caller's buffer */
	assert_int_equal(ts.len, body);
	assert_memory_equal(ts.data, in + strlen(head), body);
	assert_false(ts.copied);
	assert_true(ts.writes >= body / step);
	/* the handler saw the FETCH so far */
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.size, body);
	assert_string_equal(h.seen, "5 FETCH | UID 12 BODY[]");
	/* the tree carries only the size */
	{
		const struct imap_arg *list;
		size_t count;

		assert_int_equal(r->count, 3);
		assert_true(imap_arg_get_list(&r->args[2], &list, &count));
		assert_int_equal(count, 6);
		assert_int_equal(list[3].type, IMAP_ARG_LITERAL_SINK);
		assert_int_equal(list[3].literal_size, body);
		assert_null(list[3].str);
		assert_true(imap_arg_is_atom(&list[4], "FLAGS"));
	}
	/* and memory stayed small: no byte of the literal was held */
	assert_true(maxmem < 8192);
	imap_parser_destroy(&p);
	free(ts.data);
	free(in);
}

/* A sink chosen by size: small literals stay in memory. */
static void
test_handler_choice(void **state)
{
	static const char in[] =
		"* 1 FETCH (BODY[HEADER] {3}\r\nabc BODY[] {10}\r\n"
		"0123456789)\r\n";
	struct test_sink ts = { .sink.ops = &test_sink_ops };
	struct handler_ctx h = { .sink = &ts, .sink_above = 5 };
	struct feed_opts o = { .fn = test_handler, .ctx = &h };
	char *got;

	(void)state;
	got = parse_3ways("handler choice", &o, in, sizeof(in) - 1);
	assert_string_equal(got, "* 1 FETCH (BODY[HEADER] {3}\"abc\" "
				 "BODY[] {10}sink)");
	free(got);
	assert_string_equal(h.seen, "1 FETCH | BODY[HEADER] {3}\"abc\" BODY[]");
	free(ts.data);
}

static void
test_sink_error(void **state)
{
	static const char in[] = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
	struct test_sink ts = { .sink.ops = &test_sink_ops, .fail = true };
	struct handler_ctx h = { .sink = &ts };
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r;
	struct mf_err err = { 0 };
	size_t used;

	(void)state;
	imap_parser_set_literal_handler(p, test_handler, &h);
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &r,
					  &err),
			 -1);
	/* the sink's own error comes back */
	assert_int_equal(err.cls, MF_E_MSG);
	assert_string_equal(err.msg, "disk full (test)");
	imap_parser_destroy(&p);
}

static int
feed_once(struct imap_parser *p, const char *in, size_t len, size_t *used_r,
	  struct mf_err *err)
{
	const struct imap_resp *r;

	return imap_parser_feed(p, in, len, used_r, &r, err);
}

static void
test_limit_literal(void **state)
{
	static const char big[] = "* 1 FETCH (BODY[] {2147483648}\r\nxxxx";
	static const char over[] = "* X {1048577}\r\nx";
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct mf_err err = { 0 };
	size_t used;

	(void)state;
	/* 2 GB announced, no sink: refused before a byte of it is taken */
	p = imap_parser_create(NULL);
	assert_int_equal(feed_once(p, big, sizeof(big) - 1, &used, &err), -1);
	assert_string_equal(err.msg, "protocol error: literal of 2147483648 "
				     "bytes exceeds the limit of 1048576");
	assert_int_equal(err.cls, MF_E_NET);
	assert_int_equal(used, sizeof(big) - 1 - 4);
	assert_true(imap_parser_mem_used(p) < 4096);
	imap_parser_destroy(&p);

	/* one byte over max_literal_mem */
	p = imap_parser_create(NULL);
	assert_int_equal(feed_once(p, over, sizeof(over) - 1, &used, &err), -1);
	assert_non_null(strstr(err.msg, "literal of 1048577 bytes exceeds"));
	imap_parser_destroy(&p);

	/* a literal within max_literal_mem but beyond what max_line leaves */
	imap_parser_limits_default(&lim);
	lim.max_line = 100;
	p = imap_parser_create(&lim);
	assert_int_equal(feed_once(p, "* X {95}\r\n", 10, &used, &err), -1);
	assert_string_equal(err.msg, "protocol error: response longer than "
				     "the limit of 100 bytes");
	imap_parser_destroy(&p);

	/* {99999999999999999999}: overflow, found while reading digits */
	p = imap_parser_create(NULL);
	assert_int_equal(feed_once(p, "* X {99999999999999999999}", 26, &used,
				   &err),
			 -1);
	assert_string_equal(err.msg, "protocol error: literal size overflows "
				     "64 bits");
	/* 18446744073709551615 fits; the next digit does not */
	assert_int_equal(used, 5 + 19 + 1);
	imap_parser_destroy(&p);
}

/*
 * A line that never ends fails when it passes max_line, in every state
 * that collects bytes, and the parser has held about max_line at most.
 * Many small args cost more than their bytes (an arg is a struct); there
 * max_args is the bound, and the memory allowed grows with it.
 */
static void
test_limit_line(void **state)
{
	static const struct {
		const char *start;
		char fill;
	} rows[] = {
		{ "* X ", 'a' },	     /* atom */
		{ "* OK ", 't' },	     /* text */
		{ "* X \"", 'q' },	     /* quoted */
		{ "a", 'b' },		     /* tag */
		{ "* X ", ' ' },	     /* spaces */
		{ "* X ", '(' },	     /* hits the depth limit first */
		{ "* X (", ')' },	     /* ')' without '(' */
		{ "* 1 FETCH (BODY[", 'x' }, /* section */
		{ "+ ", 'c' },		     /* continuation */
		{ "* X ", 'A' },	     /* "A A A ...": max_args */
		{ "* X (", 'L' },	     /* "L(L(L(..." */
	};
	const size_t max_line = 64 * 1024, max_args = 1024;
	const size_t bound = 2 * max_line +
			     3 * max_args * sizeof(struct imap_arg) + 8192;
	struct imap_parser_limits lim;
	char chunk[1000];
	size_t i, j;

	(void)state;
	imap_parser_limits_default(&lim);
	lim.max_line = max_line;
	lim.max_args = max_args;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		struct imap_parser *p = imap_parser_create(&lim);
		struct mf_err err = { 0 };
		size_t total = 0, used, maxmem = 0;
		int ret;

		memset(chunk, rows[i].fill, sizeof(chunk));
		for (j = 1; rows[i].fill == 'A' && j < sizeof(chunk); j += 2)
			chunk[j] = ' ';
		for (j = 1; rows[i].fill == 'L' && j < sizeof(chunk); j += 2)
			chunk[j] = j % 4 == 1 ? ')' : '(';
		ret = feed_once(p, rows[i].start, strlen(rows[i].start), &used,
				&err);
		assert_int_equal(ret, IMAP_PARSE_MORE);
		total = used;
		do {
			ret = feed_once(p, chunk, sizeof(chunk), &used, &err);
			total += used;
			if (imap_parser_mem_used(p) > maxmem)
				maxmem = imap_parser_mem_used(p);
		} while (ret == IMAP_PARSE_MORE && total < 10 * max_line);
		if (ret != -1)
			fail_msg("row %zu: no error after %zu bytes", i, total);
		if (total > max_line)
			fail_msg("row %zu: %zu bytes taken", i, total);
		if (maxmem > bound)
			fail_msg("row %zu: %zu bytes held", i, maxmem);
		if (strstr(err.msg, "limit of 65536 bytes") == NULL &&
		    strstr(err.msg, "nested deeper") == NULL &&
		    strstr(err.msg, "more than 1024 arguments") == NULL &&
		    strstr(err.msg, "')' without '('") == NULL)
			fail_msg("row %zu: %s", i, err.msg);
		imap_parser_destroy(&p);
	}
}

static void
test_limit_depth_and_args(void **state)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct mf_err err = { 0 };
	char *in;
	size_t used, i;

	(void)state;
	/* 1000 deep */
	in = xmalloc(1000 + 5);
	memcpy(in, "* X ", 4);
	memset(in + 4, '(', 1000);
	p = imap_parser_create(NULL);
	assert_int_equal(feed_once(p, in, 1004, &used, &err), -1);
	assert_string_equal(err.msg, "protocol error: lists nested deeper "
				     "than the limit of 32");
	assert_int_equal(used, 4 + 33);
	imap_parser_destroy(&p);
	free(in);

	/* max_depth and max_args as set by the caller */
	imap_parser_limits_default(&lim);
	lim.max_depth = 2;
	lim.max_args = 6;
	p = imap_parser_create(&lim);
	assert_int_equal(feed_once(p, "* A (B (C)) D\r\n", 15, &used, &err),
			 IMAP_PARSE_DONE);
	assert_int_equal(feed_once(p, "* A (B (C)) D E\r\n", 17, &used, &err),
			 -1);
	assert_string_equal(err.msg, "protocol error: more than 6 arguments "
				     "in a response");
	imap_parser_reset(p);
	assert_int_equal(feed_once(p, "* ((()))\r\n", 10, &used, &err), -1);
	assert_non_null(strstr(err.msg, "deeper than the limit of 2"));
	imap_parser_destroy(&p);

	/* a response code's args count too */
	lim.max_args = 3;
	p = imap_parser_create(&lim);
	for (i = 0; i < 2; i++) {
		assert_int_equal(feed_once(p, "* OK [A B] t\r\n", 14, &used,
					   &err),
				 IMAP_PARSE_DONE);
	}
	assert_int_equal(feed_once(p, "* OK [A B C] t\r\n", 16, &used, &err),
			 -1);
	imap_parser_destroy(&p);
}

/* ---- accessors ---------------------------------------------------------- */

/* 63-bit numbers (RFC 9051 number64, RFC 7162 mod-sequence-value): the
 * state database keeps signed 64-bit integers, so more is "not sent". */
static void
test_u63(void **state)
{
	static const char in[] = "* 1 FETCH (A 9223372036854775807 "
				 "B 9223372036854775808 "
				 "C 18446744073709551615 D 0)\r\n";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r;
	const struct imap_arg *l;
	struct mf_err err = { 0 };
	size_t used, n;
	uint64_t v = 7;

	(void)state;
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &r,
					  &err),
			 IMAP_PARSE_DONE);
	assert_true(imap_arg_get_list(&r->args[2], &l, &n));
	assert_int_equal(n, 8);
	assert_true(imap_arg_get_u63(&l[1], &v));
	assert_true(v == 9223372036854775807ull);
	assert_false(imap_arg_get_u63(&l[3], &v));
	assert_true(v == 9223372036854775807ull); /* untouched */
	assert_false(imap_arg_get_u63(&l[5], &v));
	assert_true(imap_arg_get_u64(&l[5], &v)); /* a u64 all the same */
	assert_true(imap_arg_get_u63(&l[7], &v));
	assert_true(v == 0);
	imap_parser_destroy(&p);
}

/*
 * Long because it is a list of independent assertions, one group per
 * accessor.
 */
static void
test_accessors(void **state)
{
	static const char in[] =
		"* 1 FETCH (UID 4294967295 MODSEQ (715194045007) X 4294967296 "
		"\"str\" {3}\r\nl\0t NIL (a b) -1 12a  \\Seen)\r\n";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r;
	const struct imap_arg *l, *sub;
	struct mf_err err = { 0 };
	const char *s;
	size_t used, n, len;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &r,
					  &err),
			 IMAP_PARSE_DONE);
	assert_int_equal(r->count, 3);
	assert_true(imap_arg_is_atom(&r->args[1], "fetch"));
	assert_false(imap_arg_is_atom(&r->args[1], "FETC"));
	assert_false(imap_arg_is_atom(&r->args[1], "FETCHX"));
	assert_true(imap_arg_get_u32(&r->args[0], &u32));
	assert_int_equal(u32, 1);
	assert_false(imap_arg_get_list(&r->args[0], &l, &n));
	assert_true(imap_arg_get_list(&r->args[2], &l, &n));
	assert_int_equal(n, 13);

	/* numbers: u32 range, u64 range, not strings, not signed, not junk */
	assert_true(imap_arg_get_u32(&l[1], &u32));
	assert_int_equal(u32, 4294967295u);
	assert_true(imap_arg_get_list(&l[3], &sub, &len));
	assert_int_equal(len, 1);
	assert_true(imap_arg_get_u64(&sub[0], &u64));
	assert_int_equal(u64, 715194045007ull);
	assert_false(imap_arg_get_u32(&sub[0], &u32));
	assert_false(imap_arg_get_u32(&l[5], &u32));
	assert_true(imap_arg_get_u64(&l[5], &u64));
	assert_int_equal(u64, 4294967296ull);
	assert_false(imap_arg_get_u64(&l[6], &u64));  /* "str" */
	assert_false(imap_arg_get_u64(&l[10], &u64)); /* -1 */
	assert_false(imap_arg_get_u64(&l[11], &u64)); /* 12a */
	assert_false(imap_arg_get_u64(&l[3], &u64));  /* a list */

	/* atom */
	assert_true(imap_arg_get_atom(&l[0], &s));
	assert_string_equal(s, "UID");
	assert_false(imap_arg_get_atom(&l[6], &s));
	assert_true(imap_arg_get_atom(&l[12], &s));
	assert_string_equal(s, "\\Seen");
	assert_true(imap_arg_is_atom(&l[12], "\\SEEN"));

	/* astring: atom, string, literal (with its NUL); not NIL or list */
	assert_true(imap_arg_get_astring(&l[6], &s, &len));
	assert_string_equal(s, "str");
	assert_int_equal(len, 3);
	assert_true(imap_arg_get_astring(&l[7], &s, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(s, "l\0t", 3);
	assert_true(imap_arg_get_astring(&l[0], &s, NULL));
	assert_false(imap_arg_get_astring(&l[8], &s, &len));
	assert_false(imap_arg_get_astring(&l[9], &s, &len));
	assert_false(imap_arg_is_atom(&l[8], "NIL"));

	/* nstring: the same plus NIL */
	s = "x";
	assert_true(imap_arg_get_nstring(&l[8], &s, &len));
	assert_null(s);
	assert_int_equal(len, 0);
	assert_true(imap_arg_get_nstring(&l[6], &s, &len));
	assert_string_equal(s, "str");
	assert_false(imap_arg_get_nstring(&l[9], &s, &len));

	/* list */
	assert_true(imap_arg_get_list(&l[9], &sub, &len));
	assert_int_equal(len, 2);
	assert_true(imap_arg_is_atom(&sub[1], "b"));

	/* NULL args are "another type" */
	assert_false(imap_arg_is_atom(NULL, "x"));
	assert_false(imap_arg_get_atom(NULL, &s));
	assert_false(imap_arg_get_astring(NULL, &s, &len));
	assert_false(imap_arg_get_nstring(NULL, &s, &len));
	assert_false(imap_arg_get_u32(NULL, &u32));
	assert_false(imap_arg_get_u64(NULL, &u64));
	assert_false(imap_arg_get_list(NULL, &sub, &len));
	imap_parser_destroy(&p);
}

/* The code args of a status response, through the accessors. */
static void
test_code_accessors(void **state)
{
	static const char in[] =
		"a OK [copyuid 38505 304,319:320 3956:3958] Done\r\n";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r;
	struct mf_err err = { 0 };
	const char *s;
	size_t used;
	uint32_t uidv;

	(void)state;
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &r,
					  &err),
			 IMAP_PARSE_DONE);
	assert_int_equal(r->kind, IMAP_RESP_TAGGED);
	assert_string_equal(r->status, "OK");
	assert_int_equal(r->ncode, 4);
	assert_true(imap_arg_get_atom(&r->code[0], &s));
	assert_string_equal(s, "COPYUID");
	assert_true(imap_arg_get_u32(&r->code[1], &uidv));
	assert_int_equal(uidv, 38505);
	assert_true(imap_arg_get_atom(&r->code[2], &s));
	assert_string_equal(s, "304,319:320");
	assert_int_equal(r->text_len, 4);
	assert_string_equal(r->text, "Done");
	imap_parser_destroy(&p);
}

/* ---- every MailKit transcript ------------------------------------------ */

/*
 * Files that are not valid server output as stored; they must fail with
 * the error given (and not crash).
 */
static const struct {
	const char *path;
	const char *err;
} broken_transcripts[] = {
	/* the {515} literal ends before the header's " \n" blank line, so
	 * " \r\n" then closes the line inside the FETCH list */
	{ "gmail/headers.1+unsolicited-info.txt", "unterminated list" },
};

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *d;
	long n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	d = xmalloc((size_t)n + 1);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len_r = (size_t)n;
	return d;
}

/*
 * MailKit stores its captures with LF line ends and literal sizes counted
 * with CRLF (what the server sent): turn every LF back into CRLF.
 */
static char *
to_crlf(const char *d, size_t len, size_t *len_r)
{
	char *out = xmalloc(2 * len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = d[i];
	}
	*len_r = o;
	return out;
}

struct walk {
	const char *root;
	unsigned files, responses, broken;
};

static void
check_transcript(struct walk *w, const char *path)
{
	const char *rel = path + strlen(w->root) + 1;
	const char *want_err = NULL;
	struct feed_opts o = { 0 };
	size_t raw_len, len, i, *cuts;
	char *raw, *in, *whole, *bytes;
	int n;

	for (i = 0; i < MF_N_ELEMENTS(broken_transcripts); i++) {
		if (strcmp(rel, broken_transcripts[i].path) == 0)
			want_err = broken_transcripts[i].err;
	}
	raw = read_file(path, &raw_len);
	in = to_crlf(raw, raw_len, &len);
	free(raw);

	whole = parse_with(&o, in, len, NULL, 0);
	cuts = xcalloc(len + 1, sizeof(*cuts));
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	bytes = parse_with(&o, in, len, cuts, len > 0 ? len - 1 : 0);
	free(cuts);
	if (strcmp(whole, bytes) != 0)
		fail_msg("%s: byte by byte differs from whole", rel);
	if (want_err != NULL) {
		if (strstr(whole, want_err) == NULL)
			fail_msg("%s: want error '%s', got\n%s", rel, want_err,
				 whole);
		w->broken++;
	} else {
		const char *e = strstr(whole, "ERROR: ");

		if (e != NULL)
			fail_msg("%s: %s", rel, e);
		for (n = 1, i = 0; whole[i] != '\0'; i++)
			n += whole[i] == '\n';
		w->responses += (unsigned)n;
	}
	w->files++;
	free(whole);
	free(bytes);
	free(in);
}

static void
walk_dir(struct walk *w, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		fail_msg("%s: cannot open directory", dir);
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		size_t nl = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode))
			walk_dir(w, path);
		else if (nl > 4 && strcmp(de->d_name + nl - 4, ".txt") == 0)
			check_transcript(w, path);
	}
	closedir(d);
}

static void
test_transcripts(void **state)
{
	const char *data = getenv("MF_TESTDATA");
	char root[4096];
	struct walk w = { root, 0, 0, 0 };

	(void)state;
	if (data == NULL)
		skip();
	snprintf(root, sizeof(root), "%s/imap/mailkit", data);
	walk_dir(&w, root);
	/* the folder holds 284 transcripts; make sure we saw them */
	assert_true(w.files >= 280);
	assert_int_equal(w.broken, MF_N_ELEMENTS(broken_transcripts));
	assert_true(w.responses > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_responses),
		cmocka_unit_test(test_liberal),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_used_and_reuse),
		cmocka_unit_test(test_memory_given_back),
		cmocka_unit_test(test_stream_1mb),
		cmocka_unit_test(test_handler_choice),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_limit_literal),
		cmocka_unit_test(test_limit_line),
		cmocka_unit_test(test_limit_depth_and_args),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_u63),
		cmocka_unit_test(test_code_accessors),
		cmocka_unit_test(test_transcripts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
