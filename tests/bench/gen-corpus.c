/*
 * gen-corpus: a deterministic corpus of realistic RFC 5322 messages for
 * tests/bench/run.sh.
 *
 *   gen-corpus -o DIR [-n COUNT] [-s FIRST] [-S SEED]
 *       writes DIR/<i>.eml for i = FIRST .. FIRST+COUNT-1 and prints one
 *       manifest line per message on stdout: "i<TAB>folder<TAB>flags<TAB>size"
 *       (flags are maildir letters, folder names use "/")
 *   gen-corpus -o DIR -b MB [-s I]
 *       writes DIR/<I>.eml, a single message with an attachment of about
 *       MB megabytes (base64), and its manifest line
 *
 * Message i depends only on (SEED, i): any message can be made again
 * alone, and a larger corpus starts with the messages of a smaller one.
 * Sizes are lognormal: a text part (median ~2 KB), an HTML alternative for
 * a quarter of them, attachments for one in ten (median 50 KB, sigma
 * 1.4, capped at 12 MB), which gives a tail of multi-megabyte messages and
 * an average near 27 KB.  Headers carry Received chains, DKIM signatures,
 * RFC 2047 encoded words (B and Q) for non-ASCII names and subjects,
 * Message-IDs "<i.HEX@bench.example>" (run.sh finds messages by i),
 * In-Reply-To/References on replies, List-Id in list folders.  Lines end
 * in LF, as in a server's maildir.
 *
 * Built by run.sh with "cc -O2"; plain C99 and POSIX, no libraries.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rng {
	uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
	/* splitmix64: tiny, fast, and good enough for test data */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static unsigned
rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(rng_unit(r) * n);
}

/* lognormal with the given median and sigma (Box-Muller) */
static double
rng_lognormal(struct rng *r, double median, double sigma)
{
	double u1 = rng_unit(r), u2 = rng_unit(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return median *
	       exp(sigma * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* --- output buffer --------------------------------------------------- */

static char *buf;
static size_t buf_len, buf_cap;

static void
put(const char *s, size_t n)
{
	if (buf_len + n > buf_cap) {
		while (buf_len + n > buf_cap)
			buf_cap = buf_cap ? buf_cap * 2 : 1 << 20;
		buf = realloc(buf, buf_cap);
		if (buf == NULL) {
			perror("gen-corpus");
			exit(1);
		}
	}
	memcpy(buf + buf_len, s, n);
	buf_len += n;
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

static void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
putf(const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put(tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* --- vocabulary ------------------------------------------------------ */

static const char *const words[] = {
	"the",	    "of",	  "and",      "to",	   "in",
	"a",	    "is",	  "that",     "for",	   "it",
	"as",	    "was",	  "with",     "be",	   "by",
	"on",	    "not",	  "he",	      "this",	   "are",
	"or",	    "his",	  "from",     "at",	   "which",
	"but",	    "have",	  "an",	      "had",	   "they",
	"you",	    "were",	  "their",    "one",	   "all",
	"we",	    "can",	  "her",      "has",	   "there",
	"been",	    "if",	  "more",     "when",	   "will",
	"would",    "who",	  "so",	      "no",	   "meeting",
	"release",  "patch",	  "server",   "budget",	   "report",
	"quarter",  "review",	  "deadline", "draft",	   "invoice",
	"schedule", "build",	  "kernel",   "config",	   "branch",
	"merge",    "test",	  "customer", "contract",  "weekend",
	"tomorrow", "thanks",	  "please",   "attached",  "regards",
	"question", "proposal",	  "update",   "issue",	   "deploy",
	"latency",  "throughput", "backup",   "migration", "holiday",
	"agenda",   "minutes",	  "slides",   "feedback",  "approval",
	"ticket",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* display names; the non-ASCII ones get RFC 2047 encoded words */
static const char *const names[] = {
	"Alice Martin",	      "Bob Johnson",	 "Carol Nguyen",
	"David Smith",	      "Erin O'Brien",	 "Frank Weber",
	"Grace Hopper",	      "Heidi Klum",	 "Ivan Petrov",
	"Judy Garcia",	      "Mallory Stone",	 "Niaj Patel",
	"José Müller",	      "Zoë Łukasiewicz", "François Dupré",
	"Ольга Смирнова",     "田中 太郎",	 "Søren Kierkegård",
	"Ana Gómez",	      "Björn Ångström",	 "Dvořák Antonín",
	"Μαρία Παπαδοπούλου", "Çağla Öztürk",	 "李 小龙",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static const char *const domains[] = {
	"example.org",	"example.com",	     "mail.example.net",
	"corp.example", "lists.example.org", "university.example.edu",
};
#define NDOMAINS (sizeof(domains) / sizeof(domains[0]))

static const char *const subj_extra[] = {
	"Réunion de lundi", "Übersicht Q3",	 "Счёт за ноябрь",
	"会議の議事録",	    "¿Mañana?",		 "Çalışma planı",
	"Ελέγχος κώδικα",   "naïve café résumé",
};
#define NSUBJ_EXTRA (sizeof(subj_extra) / sizeof(subj_extra[0]))

/* folders, their share of the corpus (per mille) and flag mix */
struct folder {
	const char *name;
	unsigned permille;
	unsigned unseen, flagged, answered; /* per mille */
	int list, sent, draft;
};

static const struct folder folders[] = {
	{ "INBOX", 200, 120, 40, 100, 0, 0, 0 },
	{ "Archive", 300, 5, 30, 150, 0, 0, 0 },
	{ "Lists/dev", 140, 80, 10, 20, 1, 0, 0 },
	{ "Lists/announce", 50, 150, 5, 0, 1, 0, 0 },
	{ "Sent", 120, 0, 5, 0, 0, 1, 0 },
	{ "Work/Projects", 60, 20, 80, 200, 0, 0, 0 },
	{ "Work/Reports", 40, 30, 50, 50, 0, 0, 0 },
	{ "Receipts", 40, 10, 20, 0, 0, 0, 0 },
	{ "Trash", 30, 50, 0, 10, 0, 0, 0 },
	{ "Junk", 15, 600, 0, 0, 0, 0, 0 },
	{ "Drafts", 5, 0, 0, 0, 0, 0, 1 },
};
#define NFOLDERS (sizeof(folders) / sizeof(folders[0]))

/* --- encodings ------------------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = b64[in[i] >> 2];
		out[o++] = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = b64[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = b64[in[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = b64[in[i] >> 2];
		if (i + 1 < n) {
			out[o++] = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			out[o++] = b64[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = b64[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* RFC 2047 section 4: B or Q encoding, one encoded word */
static void
put_encoded_word(const char *s, int q)
{
	char tmp[512];

	if (!q) {
		b64_encode((const unsigned char *)s, strlen(s), tmp);
		putf("=?UTF-8?B?%s?=", tmp);
		return;
	}
	puts_("=?UTF-8?Q?");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ')
			puts_("_");
		else if (c >= 0x80 || c == '=' || c == '?' || c == '_' ||
			 c < 0x20)
			putf("=%02X", c);
		else
			put((const char *)&c, 1);
	}
	puts_("?=");
}

static void
put_name(const char *name, int q)
{
	if (is_ascii(name)) {
		if (strchr(name, '\''))
			putf("\"%s\"", name);
		else
			puts_(name);
	} else {
		put_encoded_word(name, q);
	}
}

static void
put_addr(struct rng *r, unsigned who)
{
	const char *name = names[who % NNAMES];
	const char *dom = domains[who % NDOMAINS];
	char local[64];
	size_t i, o = 0;

	for (i = 0; name[i] && o < sizeof(local) - 1; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
			local[o++] = (char)(c | 0x20);
		else if (c == ' ' && o > 0)
			local[o++] = '.';
	}
	if (o == 0)
		o = (size_t)snprintf(local, sizeof(local), "user%u", who);
	local[o] = '\0';
	put_name(name, rng_below(r, 2));
	putf(" <%s@%s>", local, dom);
}

/* text wrapped at 72 columns, about `size` bytes */
static void
put_text(struct rng *r, size_t size, int html)
{
	size_t done = 0, col = 0;

	if (html)
		puts_("<html><head><meta charset=\"utf-8\"></head><body>\n<p>");
	while (done < size) {
		const char *w = words[rng_below(r, NWORDS)];
		size_t n = strlen(w);

		if (col + n + 1 > 72) {
			puts_("\n");
			done++;
			col = 0;
			if (rng_below(r, 12) == 0) {
				puts_(html ? "</p>\n<p>" : "\n");
				done += html ? 8 : 1;
			}
		} else if (col > 0) {
			puts_(" ");
			col++;
			done++;
		}
		puts_(w);
		col += n;
		done += n;
	}
	puts_(html ? "</p>\n</body></html>\n" : "\n");
}

static void
put_attachment(struct rng *r, size_t size, const char *boundary, unsigned i,
	       unsigned k)
{
	static const char *const types[][2] = {
		{ "application/pdf", "pdf" },
		{ "image/jpeg", "jpg" },
		{ "image/png", "png" },
		{ "application/zip", "zip" },
		{ "application/vnd.openxmlformats-officedocument."
		  "spreadsheetml.sheet",
		  "xlsx" },
	};
	unsigned t = rng_below(r, 5);
	unsigned char raw[57];
	char line[80];
	size_t done, j;

	putf("--%s\n", boundary);
	putf("Content-Type: %s; name=\"doc-%u-%u.%s\"\n", types[t][0], i, k,
	     types[t][1]);
	puts_("Content-Transfer-Encoding: base64\n");
	if (rng_below(r, 6) == 0)
		/* RFC 2231 parameter for a non-ASCII file name */
		putf("Content-Disposition: attachment;\n"
		     " filename*=UTF-8''r%%C3%%A9sum%%C3%%A9-%u.%s\n\n",
		     i, types[t][1]);
	else
		putf("Content-Disposition: attachment;"
		     " filename=\"doc-%u-%u.%s\"\n\n",
		     i, k, types[t][1]);
	/* incompressible, like the PDFs and JPEGs people send */
	for (done = 0; done < size; done += sizeof(raw)) {
		for (j = 0; j < sizeof(raw); j += 8) {
			uint64_t v = rng_next(r);

			memcpy(raw + j, &v,
			       sizeof(raw) - j < 8 ? sizeof(raw) - j : 8);
		}
		j = b64_encode(raw, sizeof(raw), line);
		line[j++] = '\n';
		put(line, j);
	}
}

static const char *
pick_flags(struct rng *r, const struct folder *f)
{
	static char out[8];
	unsigned u = rng_below(r, 1000);
	int seen = u >= f->unseen, flagged, answered;
	size_t o = 0;

	flagged = rng_below(r, 1000) < f->flagged;
	answered = seen && rng_below(r, 1000) < f->answered;
	if (f->draft)
		out[o++] = 'D';
	if (flagged)
		out[o++] = 'F';
	if (answered)
		out[o++] = 'R';
	if (seen)
		out[o++] = 'S';
	out[o] = '\0';
	return out;
}

static const struct folder *
pick_folder(struct rng *r)
{
	unsigned u = rng_below(r, 1000), acc = 0;
	size_t k;

	for (k = 0; k < NFOLDERS; k++) {
		acc += folders[k].permille;
		if (u < acc)
			return &folders[k];
	}
	return &folders[0];
}

/*
 * Builds message i in buf; big > 0 forces one attachment of big bytes.
 * Long because it writes one message from top to bottom, header fields then
 * parts, in the order they appear in the output.
 */
static void
make_message(uint64_t seed, unsigned i, size_t big, const struct folder **f_r,
	     const char **flags_r)
{
	struct rng r = { seed ^ ((uint64_t)i * 0xd1342543de82ef95ULL) };
	const struct folder *f;
	unsigned from, to, cc, nrecv, k, natt = 0;
	int alt, reply, nonascii_subj;
	size_t text, atts[4];
	char boundary[64], alt_boundary[64];
	/* dates from 2023-01-01 on, older messages first */
	long long t = 1672531200LL + (long long)i * 5400 +
		      (long long)rng_below(&r, 5000);
	static const char *const wd[] = { "Thu", "Fri", "Sat", "Sun",
					  "Mon", "Tue", "Wed" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec" };
	char date[64];
	long long days = t / 86400, y, m, d, doy;

	rng_next(&r);
	f = pick_folder(&r);
	*f_r = f;
	*flags_r = pick_flags(&r, f);

	/* civil date from days since 1970 (H. Hinnant's algorithm) */
	{
		long long z = days + 719468, era = z / 146097;
		long long doe = z - era * 146097;
		long long yoe = (doe - doe / 1460 + doe / 36524 -
				 doe / 146096) /
				365;
		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		long long mp = (5 * doy + 2) / 153;

		d = doy - (153 * mp + 2) / 5 + 1;
		m = mp < 10 ? mp + 3 : mp - 9;
		y = yoe + era * 400 + (m <= 2);
	}
	snprintf(date, sizeof(date),
		 "%s, %lld %s %lld %02lld:%02lld:%02lld "
		 "+0000",
		 wd[days % 7], d, mon[m - 1], y, (t / 3600) % 24, (t / 60) % 60,
		 t % 60);

	from = rng_below(&r, NNAMES);
	to = rng_below(&r, NNAMES);
	cc = rng_below(&r, 4) == 0 ? rng_below(&r, NNAMES) + 1 : 0;
	nrecv = 1 + rng_below(&r, 3);
	alt = rng_below(&r, 4) == 0;
	reply = rng_below(&r, 10) < 3;
	nonascii_subj = rng_below(&r, 5) == 0;
	text = (size_t)rng_lognormal(&r, 2000, 1.0);
	if (text < 80)
		text = 80;
	if (text > 200000)
		text = 200000;
	if (big > 0) {
		natt = 1;
		atts[0] = big;
	} else if (rng_below(&r, 10) == 0) {
		natt = 1 + (rng_below(&r, 4) == 0);
		for (k = 0; k < natt; k++) {
			double a = rng_lognormal(&r, 50000, 1.4);

			atts[k] = a > 12e6 ? 12000000 : (size_t)a;
			if (atts[k] < 500)
				atts[k] = 500;
		}
	}
	snprintf(boundary, sizeof(boundary), "=_mix_%016llx",
		 (unsigned long long)rng_next(&r));
	snprintf(alt_boundary, sizeof(alt_boundary), "=_alt_%016llx",
		 (unsigned long long)rng_next(&r));

	buf_len = 0;
	putf("Return-Path: <bounce-%u@%s>\n", i, domains[from % NDOMAINS]);
	puts_("Delivered-To: test@bench.example\n");
	for (k = 0; k < nrecv; k++)
		putf("Received: from mx%u.%s (mx%u.%s [192.0.2.%u])\n"
		     "\tby mail.bench.example (Postfix) with ESMTPS id "
		     "%08llX\n\tfor <test@bench.example>; %s\n",
		     k, domains[(from + k) % NDOMAINS], k,
		     domains[(from + k) % NDOMAINS], 1 + rng_below(&r, 250),
		     (unsigned long long)(rng_next(&r) & 0xffffffffULL), date);
	if (rng_below(&r, 2) == 0) {
		unsigned char raw[192];
		char enc[300];

		for (k = 0; k < sizeof(raw); k += 8) {
			uint64_t v = rng_next(&r);

			memcpy(raw + k, &v, 8);
		}
		b64_encode(raw, sizeof(raw), enc);
		putf("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"
		     " d=%s;\n\ts=sel1; t=%lld; h=from:to:subject:date:"
		     "message-id;\n\tbh=%.44s;\n\tb=%.76s\n\t %.76s\n\t "
		     "%.76s\n",
		     domains[from % NDOMAINS], t, enc + 200, enc, enc + 76,
		     enc + 152);
	}
	puts_("From: ");
	put_addr(&r, from);
	puts_("\nTo: ");
	put_addr(&r, to);
	if (cc) {
		puts_(",\n ");
		put_addr(&r, cc - 1);
		puts_("\nCc: ");
		put_addr(&r, (cc + 5) % NNAMES);
	}
	puts_("\nSubject: ");
	if (reply)
		puts_("Re: ");
	if (nonascii_subj) {
		put_encoded_word(subj_extra[rng_below(&r, NSUBJ_EXTRA)],
				 rng_below(&r, 2));
		puts_(" ");
	}
	putf("%s %s %s #%u\n", words[rng_below(&r, NWORDS)],
	     words[rng_below(&r, NWORDS)], words[rng_below(&r, NWORDS)], i);
	putf("Date: %s\n", date);
	putf("Message-ID: <%u.%016llx@bench.example>\n", i,
	     (unsigned long long)rng_next(&r));
	if (reply && i > 0) {
		unsigned p = rng_below(&r, i);

		putf("In-Reply-To: <%u.parent@bench.example>\n", p);
		putf("References: <%u.root@bench.example>\n"
		     " <%u.parent@bench.example>\n",
		     p / 2, p);
	}
	if (f->list)
		putf("List-Id: %s <%s.lists.example.org>\n"
		     "List-Unsubscribe: <mailto:leave-%s@lists.example.org>\n",
		     f->name + 6, f->name + 6, f->name + 6);
	puts_("MIME-Version: 1.0\n");
	if (f->sent || f->draft)
		puts_("User-Agent: Mozilla Thunderbird\n");
	else
		putf("X-Mailer: Bench Mailer %u.%u\n", rng_below(&r, 9),
		     rng_below(&r, 20));

	if (natt > 0)
		putf("Content-Type: multipart/mixed;\n boundary=\"%s\"\n\n"
		     "This is a multi-part message in MIME format.\n\n--%s\n",
		     boundary, boundary);
	if (alt) {
		putf("Content-Type: multipart/alternative;\n"
		     " boundary=\"%s\"\n\n--%s\n",
		     alt_boundary, alt_boundary);
	}
	puts_("Content-Type: text/plain; charset=utf-8; format=flowed\n"
	      "Content-Transfer-Encoding: 7bit\n");
	puts_("\n");
	put_text(&r, text, 0);
	if (alt) {
		putf("\n--%s\nContent-Type: text/html; charset=utf-8\n"
		     "Content-Transfer-Encoding: 7bit\n\n",
		     alt_boundary);
		put_text(&r, text + text / 2, 1);
		putf("\n--%s--\n", alt_boundary);
	}
	if (natt > 0) {
		puts_("\n");
		for (k = 0; k < natt; k++)
			put_attachment(&r, atts[k], boundary, i, k);
		putf("\n--%s--\n", boundary);
	}
}

static int
write_file(const char *dir, unsigned i)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%u.eml", dir, i);
	fp = fopen(path, "w");
	if (fp == NULL || fwrite(buf, 1, buf_len, fp) != buf_len ||
	    fclose(fp) != 0) {
		fprintf(stderr, "gen-corpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fputs("usage: gen-corpus -o DIR [-n COUNT] [-s FIRST] [-S SEED] "
	      "[-b MB]\n",
	      stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned long count = 1000, first = 1, big_mb = 0, i;
	uint64_t seed = 20261128;
	int c;

	while ((c = getopt(argc, argv, "o:n:s:S:b:")) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 's':
			first = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			big_mb = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || optind != argc)
		usage();
	if (big_mb > 0)
		count = 1;
	for (i = first; i < first + count; i++) {
		const struct folder *f;
		const char *flags;

		make_message(seed, (unsigned)i, big_mb * 1000000 / 4 * 3, &f,
			     &flags);
		if (write_file(dir, (unsigned)i) < 0)
			return 1;
		printf("%lu\t%s\t%s\t%zu\n", i, f->name, flags, buf_len);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
