/*
 * mbsync configuration -> mailferry YAML (see mbsyncrc.h).
 *
 * IMAPAccount -> accounts, MaildirStore -> stores, Channel -> channels
 * (Far/Near or the old Master/Slave name IMAPStore or MaildirStore
 * sections; an IMAPStore is replaced by its Account).  Whatever has no
 * equivalent is named on notes with its line number and left out.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbsyncrc.h"

static void
put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s < 0x20)
			fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static bool
is(const struct mbsyncrc_line *l, const char *k)
{
	return strcasecmp(l->key, k) == 0;
}

static const char *
arg0(const struct mbsyncrc_line *l)
{
	return l->nargs > 0 ? l->args[0] : "";
}

static void
note(FILE *notes, const struct mbsyncrc_line *l, const char *what)
{
	fprintf(notes, "line %u: %s %s\n", l->line, l->key, what);
}

static const struct mbsyncrc_section *
find_section(const struct mbsyncrc *rc, const char *kind, const char *name)
{
	size_t i;

	for (i = 0; i < rc->nsections; i++) {
		const struct mbsyncrc_section *s = &rc->sections[i];

		if (strncasecmp(s->head.key, kind, strlen(kind)) == 0 &&
		    strcmp(s->head.args[0], name) == 0)
			return s;
	}
	return NULL;
}

static bool
kind_is(const struct mbsyncrc_section *s, const char *a, const char *b)
{
	return strcasecmp(s->head.key, a) == 0 ||
	       (b != NULL && strcasecmp(s->head.key, b) == 0);
}

/* Account keywords; also accepted inside an IMAPStore, as mbsync does.
 * Long because it is one table of keywords, each a few lines. */
static bool
write_account_line(const struct mbsyncrc_line *l, FILE *out, FILE *notes)
{
	if (is(l, "Host")) {
		fprintf(out, "    host: ");
		put_str(out, arg0(l));
		fputc('\n', out);
	} else if (is(l, "Port") || is(l, "PipelineDepth") ||
		   is(l, "Timeout")) {
		const char *k = is(l, "Port")	 ? "port" :
				is(l, "Timeout") ? "timeout" :
						   "pipeline_depth";

		if (strcmp(arg0(l), "0") == 0)
			note(notes, l, "0 (none) has no equivalent; ignored");
		else
			fprintf(out, "    %s: %s\n", k, arg0(l));
	} else if (is(l, "User")) {
		fprintf(out, "    user: ");
		put_str(out, arg0(l));
		fputc('\n', out);
	} else if (is(l, "PassCmd")) {
		const char *cmd = arg0(l);

		if (cmd[0] == '+')
			cmd++;
		fprintf(out, "    password_command: ");
		put_str(out, cmd);
		fputc('\n', out);
	} else if (is(l, "Pass")) {
		note(notes, l,
		     "(a password in clear text) is not copied: store it in "
		     "a password manager and set password_command, or set "
		     "password_env; without either mailferry asks on the "
		     "terminal");
	} else if (is(l, "TLSType") || is(l, "SSLType")) {
		const char *v = arg0(l);

		if (strcasecmp(v, "IMAPS") == 0)
			fprintf(out, "    tls: implicit\n");
		else if (strcasecmp(v, "STARTTLS") == 0)
			fprintf(out, "    tls: starttls\n");
		else if (strcasecmp(v, "None") == 0) {
			fprintf(out,
				"    tls: none\n    allow_insecure: true\n");
			note(notes, l,
			     "None: written as tls: none with "
			     "allow_insecure: true");
		} else
			note(notes, l, "has an unknown value; ignored");
	} else if (is(l, "CertificateFile")) {
		fprintf(out, "    ca_file: ");
		put_str(out, arg0(l));
		fputc('\n', out);
	} else if (is(l, "Tunnel")) {
		fprintf(out, "    tunnel: ");
		put_str(out, arg0(l));
		fputc('\n', out);
	} else if (is(l, "AuthMechs")) {
		size_t i;
		bool any = false;

		for (i = 0; i < l->nargs; i++)
			any |= strcmp(l->args[i], "*") == 0;
		if (any || l->nargs == 0)
			return true; /* our default: every mechanism */
		fprintf(out, "    auth_mechs: [");
		for (i = 0; i < l->nargs; i++) {
			char low[64];
			size_t k;

			for (k = 0; k + 1 < sizeof(low) && l->args[i][k]; k++)
				low[k] = (char)(l->args[i][k] | 0x20);
			low[k] = '\0';
			fprintf(out, "%s", i ? ", " : "");
			put_str(out, low);
		}
		fprintf(out, "]\n");
	} else if (is(l, "SSLVersions") || is(l, "SystemCertificates")) {
		note(notes, l,
		     "ignored: mailferry uses the system CA store and "
		     "TLS 1.2 or newer");
	} else {
		return false;
	}
	return true;
}

static bool
is_account_key(const struct mbsyncrc_line *l)
{
	static const char *const keys[] = {
		"Host",
		"Port",
		"User",
		"Pass",
		"PassCmd",
		"TLSType",
		"SSLType",
		"CertificateFile",
		"Tunnel",
		"AuthMechs",
		"SSLVersions",
		"SystemCertificates",
		"PipelineDepth",
		"Timeout",
		NULL,
	};
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if (is(l, keys[i]))
			return true;
	return false;
}

static void
write_accounts(const struct mbsyncrc *rc, FILE *out, FILE *notes)
{
	size_t i, j;

	fprintf(out, "accounts:\n");
	for (i = 0; i < rc->nsections; i++) {
		const struct mbsyncrc_section *s = &rc->sections[i];
		bool inline_acct = false, has_tls = false;

		if (kind_is(s, "IMAPStore", "IMAP4Store"))
			for (j = 0; j < s->nlines; j++)
				inline_acct |= is(&s->lines[j], "Host") ||
					       is(&s->lines[j], "Tunnel");
		if (!kind_is(s, "IMAPAccount", "IMAP4Account") && !inline_acct)
			continue;
		fprintf(out, "  ");
		put_str(out, s->head.args[0]);
		fprintf(out, ":\n");
		for (j = 0; j < s->nlines; j++) {
			const struct mbsyncrc_line *l = &s->lines[j];

			if (!is_account_key(l) && inline_acct)
				continue; /* store keywords: noted later */
			if (!write_account_line(l, out, notes))
				note(notes, l, "has no equivalent; ignored");
			has_tls |= is(l, "TLSType") || is(l, "SSLType") ||
				   is(l, "Tunnel");
		}
		if (!has_tls)
			fprintf(out,
				"    tls: starttls    # mbsync's default\n");
	}
}

static void
write_store_line_notes(const struct mbsyncrc_section *s, FILE *notes)
{
	size_t j;

	for (j = 0; j < s->nlines; j++) {
		const struct mbsyncrc_line *l = &s->lines[j];

		if (is(l, "Account") || is(l, "MaxSize") || is_account_key(l))
			continue;
		if (is(l, "Path") && l->nargs > 0 && l->args[0][0] != '\0')
			note(notes, l,
			     "(a folder prefix on the server) has no "
			     "equivalent; ignored");
		else if (is(l, "Trash") || is(l, "UseNamespace") ||
			 is(l, "PathDelimiter") || is(l, "Flatten"))
			note(notes, l,
			     "has no equivalent on an IMAP account; ignored "
			     "(the server's delimiter and namespace are used)");
		else if (!is(l, "Path"))
			note(notes, l, "has no equivalent; ignored");
	}
}

/* Our INBOX is ROOT/INBOX (fs) or ROOT itself (maildir++): say so when
 * mbsync's Inbox is elsewhere. */
static void
note_inbox(const char *path, const char *inbox, unsigned inbox_line,
	   const char *layout, FILE *notes)
{
	size_t n = strlen(path);
	bool pp = layout != NULL && strcmp(layout, "maildir++") == 0;
	bool same;

	while (n > 1 && path[n - 1] == '/')
		n--;
	same = strncmp(inbox, path, n) == 0 &&
	       (pp ? strspn(inbox + n, "/") == strlen(inbox + n) :
		     strcmp(inbox + n, "/INBOX") == 0);
	if (!same)
		fprintf(notes,
			"line %u: Inbox %s: mailferry keeps "
			"INBOX %s; move it there\n",
			inbox_line, inbox,
			pp ? "in the maildir's root "
			     "(layout maildir++)" :
			     "in INBOX under the maildir's "
			     "root (layout fs)");
}

static void
write_maildirs(const struct mbsyncrc *rc, FILE *out, FILE *notes)
{
	size_t i, j;

	fprintf(out, "stores:\n");
	for (i = 0; i < rc->nsections; i++) {
		const struct mbsyncrc_section *s = &rc->sections[i];
		const char *path = NULL, *inbox = NULL, *layout = NULL;
		unsigned inbox_line = 0;

		if (!kind_is(s, "MaildirStore", NULL))
			continue;
		fprintf(out, "  ");
		put_str(out, s->head.args[0]);
		fprintf(out, ":\n");
		for (j = 0; j < s->nlines; j++) {
			const struct mbsyncrc_line *l = &s->lines[j];

			if (is(l, "Path")) {
				path = arg0(l);
			} else if (is(l, "Inbox")) {
				inbox = arg0(l);
				inbox_line = l->line;
			} else if (is(l, "SubFolders")) {
				if (strcasecmp(arg0(l), "Verbatim") == 0)
					layout = "fs";
				else if (strcasecmp(arg0(l), "Maildir++") == 0)
					layout = "maildir++";
				else
					note(notes, l,
					     "Legacy has no equivalent; "
					     "written as layout: fs");
			} else if (is(l, "Trash")) {
				fprintf(out, "    trash: ");
				put_str(out, arg0(l));
				fputc('\n', out);
			} else if (is(l, "MaxSize")) {
				continue; /* a channel limit here */
			} else if (is(l, "InfoDelimiter") &&
				   strcmp(arg0(l), ":") == 0) {
				continue;
			} else {
				note(notes, l, "has no equivalent; ignored");
			}
		}
		if (path == NULL) {
			fprintf(notes,
				"line %u: MaildirStore %s has no Path; "
				"written as ~/Maildir\n",
				s->head.line, s->head.args[0]);
			path = "~/Maildir";
		}
		fprintf(out, "    maildir: ");
		put_str(out, path);
		fprintf(out, "\n    layout: %s\n",
			layout != NULL ? layout : "fs");
		if (layout == NULL)
			fprintf(notes,
				"line %u: MaildirStore %s has no SubFolders: "
				"mbsync keeps it flat, mailferry nests "
				"folders (layout: fs)\n",
				s->head.line, s->head.args[0]);
		if (inbox != NULL)
			note_inbox(path, inbox, inbox_line, layout, notes);
	}
}

/* "Far :store:[box]": the section named, NULL when unknown. */
static const struct mbsyncrc_section *
side_store(const struct mbsyncrc *rc, const struct mbsyncrc_line *l,
	   FILE *notes, const char **name_r)
{
	char name[256];
	const char *v = arg0(l), *colon;
	const struct mbsyncrc_section *s;

	if (v[0] != ':' || (colon = strchr(v + 1, ':')) == NULL ||
	    (size_t)(colon - v) >= sizeof(name))
		return NULL;
	memcpy(name, v + 1, (size_t)(colon - v - 1));
	name[colon - v - 1] = '\0';
	if (colon[1] != '\0')
		note(notes, l,
		     "(a single mailbox after the store) has no "
		     "equivalent; the whole store is synced");
	s = find_section(rc, "IMAP", name);
	if (s == NULL)
		s = find_section(rc, "MaildirStore", name);
	if (s == NULL)
		return NULL;
	*name_r = s->head.args[0];
	if (kind_is(s, "IMAPStore", "IMAP4Store")) {
		size_t j;

		for (j = 0; j < s->nlines; j++)
			if (is(&s->lines[j], "Account"))
				*name_r = arg0(&s->lines[j]);
	}
	return s;
}

static const char *
side_word(const char *v)
{
	if (strcasecmp(v, "Far") == 0 || strcasecmp(v, "Master") == 0)
		return "far";
	if (strcasecmp(v, "Near") == 0 || strcasecmp(v, "Slave") == 0)
		return "near";
	if (strcasecmp(v, "Both") == 0)
		return "both";
	if (strcasecmp(v, "None") == 0)
		return "none";
	return NULL;
}

/*
 * Sync: directions (Pull, Push) times operations (New, ReNew, Delete,
 * Flags); a direction alone means every operation, operations alone
 * both directions; "PullNew" is one word for both; All, None.
 */
static void
write_sync(const struct mbsyncrc_line *l, FILE *out, FILE *notes)
{
	enum { NEW = 1, DEL = 2, FLAGS = 4, ALL = 7 };
	unsigned dirs = 0, ops = 0, pull = 0, push = 0;
	size_t i;

	for (i = 0; i < l->nargs; i++) {
		const char *a = l->args[i];
		unsigned d = 0, o = 0;

		if (strncasecmp(a, "Pull", 4) == 0)
			d = 1, a += 4;
		else if (strncasecmp(a, "Push", 4) == 0)
			d = 2, a += 4;
		if (strcasecmp(a, "New") == 0)
			o = NEW;
		else if (strcasecmp(a, "ReNew") == 0) {
			o = NEW;
			note(notes, l,
			     "ReNew: mailferry copies what was "
			     "left out on every run; written as new");
		} else if (strcasecmp(a, "Delete") == 0)
			o = DEL;
		else if (strcasecmp(a, "Flags") == 0)
			o = FLAGS;
		else if (strcasecmp(a, "All") == 0 ||
			 strcasecmp(a, "Full") == 0)
			o = ALL, d = d ? d : 3;
		else if (strcasecmp(a, "None") == 0 && d == 0)
			continue;
		else if (*a != '\0') {
			note(notes, l, "has an unknown value; ignored");
			continue;
		}
		if (d != 0 && o != 0) {
			if (d & 1)
				pull |= o;
			if (d & 2)
				push |= o;
		} else {
			dirs |= d;
			ops |= o;
		}
	}
	if (dirs == 0 && ops != 0)
		dirs = 3;
	if (ops == 0)
		ops = dirs != 0 ? ALL : 0;
	if (dirs & 1)
		pull |= ops;
	if (dirs & 2)
		push |= ops;
	if (pull == 0 && push == 0) {
		note(notes, l,
		     "None: a channel that syncs nothing; "
		     "written as sync: [pull] to stay valid");
		pull = ALL;
	}
	fprintf(out, "    sync: [");
	i = 0;
	for (unsigned side = 0; side < 2; side++) {
		unsigned m = side == 0 ? pull : push;
		const char *d = side == 0 ? "pull" : "push";

		if (m == ALL) {
			fprintf(out, "%s%s", i++ ? ", " : "", d);
			continue;
		}
		if (m & NEW)
			fprintf(out, "%s%s-new", i++ ? ", " : "", d);
		if (m & FLAGS)
			fprintf(out, "%s%s-flags", i++ ? ", " : "", d);
		if (m & DEL)
			fprintf(out, "%s%s-delete", i++ ? ", " : "", d);
	}
	fprintf(out, "]\n");
}

static const char *
channel_max_size(const struct mbsyncrc_section *near)
{
	size_t j;

	for (j = 0; near != NULL && j < near->nlines; j++)
		if (is(&near->lines[j], "MaxSize"))
			return arg0(&near->lines[j]);
	return NULL;
}

static void
write_max_size(const char *v, FILE *out)
{
	unsigned long long n = strtoull(v, NULL, 10);
	const char *u = v + strspn(v, "0123456789");

	if (n == 0)
		return;
	if (*u == 'k' || *u == 'K')
		fprintf(out, "    max_size: %lluK\n", n);
	else if (*u == 'm' || *u == 'M')
		fprintf(out, "    max_size: %lluM\n", n);
	else
		fprintf(out, "    max_size: %lluK\n", (n + 1023) / 1024);
}

/* Every Patterns line of a channel, in order, as one folders list. */
static void
write_patterns(const struct mbsyncrc_section *s, FILE *out)
{
	size_t j, k, n = 0;

	for (j = 0; j < s->nlines; j++) {
		const struct mbsyncrc_line *l = &s->lines[j];

		if (!is(l, "Patterns") && !is(l, "Pattern"))
			continue;
		for (k = 0; k < l->nargs; k++) {
			fprintf(out, "%s", n++ ? ", " : "    folders: [");
			put_str(out, l->args[k]);
		}
	}
	if (n > 0)
		fprintf(out, "]\n");
}

/* Long because it is one table of Channel keywords, each a few lines. */
static int
write_channel(const struct mbsyncrc *rc, const struct mbsyncrc_section *s,
	      FILE *out, FILE *notes, struct mf_err *err)
{
	const struct mbsyncrc_section *far = NULL, *near = NULL;
	const char *far_name = NULL, *near_name = NULL;
	bool has_sync = false;
	/* mbsync's default for each is None; ours differ, so say it */
	const char *unset[] = { "create", "remove", "expunge" };
	size_t j, k;

	fprintf(out, "  ");
	put_str(out, s->head.args[0]);
	fprintf(out, ":\n");
	for (j = 0; j < s->nlines; j++) {
		const struct mbsyncrc_line *l = &s->lines[j];
		bool is_far = is(l, "Far") || is(l, "Master");

		if (is_far || is(l, "Near") || is(l, "Slave")) {
			const char *name = NULL;
			const struct mbsyncrc_section *st = side_store(rc, l,
								       notes,
								       &name);

			if (st == NULL)
				return mf_err_set(err, MF_E_CONFIG,
						  "line %u: %s %s: no such "
						  "store",
						  l->line, l->key, arg0(l));
			if (is_far)
				far = st, far_name = name;
			else
				near = st, near_name = name;
		} else if (is(l, "Patterns") || is(l, "Pattern")) {
			continue; /* all of them at once, below */
		} else if (is(l, "Create") || is(l, "Remove") ||
			   is(l, "Expunge")) {
			const char *w = side_word(arg0(l));
			char key[16];

			if (w == NULL) {
				note(notes, l, "has an unknown value; ignored");
				continue;
			}
			for (k = 0; k + 1 < sizeof(key) && l->key[k]; k++)
				key[k] = (char)(l->key[k] | 0x20);
			key[k] = '\0';
			fprintf(out, "    %s: %s\n", key, w);
			for (k = 0; k < 3; k++)
				if (unset[k] != NULL &&
				    strcmp(unset[k], key) == 0)
					unset[k] = NULL;
		} else if (is(l, "Sync")) {
			write_sync(l, out, notes);
			has_sync = true;
		} else if (is(l, "MaxMessages")) {
			fprintf(out, "    max_messages: %s\n", arg0(l));
			note(notes, l,
			     "written as max_messages (the newest N per "
			     "folder are synced); mbsync's ExpireUnread "
			     "does not carry over");
		} else if (is(l, "CopyArrivalDate")) {
			if (strcasecmp(arg0(l), "yes") != 0 &&
			    strcasecmp(arg0(l), "true") != 0)
				note(notes, l,
				     "no: mailferry always keeps the arrival "
				     "date; ignored");
		} else if (is(l, "SyncState")) {
			note(notes, l,
			     "ignored: mailferry keeps its own state in "
			     "state_dir and reads mbsync's .mbsyncstate "
			     "files to adopt the Maildir");
		} else {
			note(notes, l, "has no equivalent; ignored");
		}
	}
	if (far == NULL || near == NULL)
		return mf_err_set(err, MF_E_CONFIG,
				  "line %u: Channel %s needs Far and Near",
				  s->head.line, s->head.args[0]);
	if (kind_is(far, "MaildirStore", NULL))
		return mf_err_set(err, MF_E_CONFIG,
				  "line %u: Channel %s: a Maildir far side "
				  "has no equivalent (far must be IMAP)",
				  s->head.line, s->head.args[0]);
	fprintf(out, "    far: ");
	put_str(out, far_name);
	fprintf(out, "\n    near: ");
	put_str(out, near_name);
	fputc('\n', out);
	write_patterns(s, out);
	if (!has_sync)
		fprintf(out, "    sync: [pull, push]\n");
	for (k = 0; k < 3; k++)
		if (unset[k] != NULL)
			fprintf(out, "    %s: none    # mbsync's default\n",
				unset[k]);
	if (channel_max_size(near) != NULL)
		write_max_size(channel_max_size(near), out);
	if (channel_max_size(far) != NULL)
		fprintf(notes,
			"line %u: MaxSize on the far store has no "
			"equivalent; ignored\n",
			far->head.line);
	return 0;
}

int
mbsyncrc_write_yaml(const struct mbsyncrc *rc, FILE *out, FILE *notes,
		    struct mf_err *err)
{
	size_t i;

	for (i = 0; i < rc->nglobals; i++)
		note(notes, &rc->globals[i],
		     "outside a section has no equivalent; ignored (set it "
		     "in each channel)");
	fprintf(out, "# converted from an mbsync configuration by "
		     "mailferry import-mbsyncrc\n");
	write_accounts(rc, out, notes);
	for (i = 0; i < rc->nsections; i++)
		if (kind_is(&rc->sections[i], "IMAPStore", "IMAP4Store"))
			write_store_line_notes(&rc->sections[i], notes);
	write_maildirs(rc, out, notes);
	fprintf(out, "channels:\n");
	for (i = 0; i < rc->nsections; i++) {
		const struct mbsyncrc_section *s = &rc->sections[i];

		if (kind_is(s, "Group", NULL)) {
			fprintf(notes,
				"line %u: Group %s has no equivalent: name "
				"its channels on the command line\n",
				s->head.line, s->head.args[0]);
			continue;
		}
		if (kind_is(s, "Channel", NULL) &&
		    write_channel(rc, s, out, notes, err) < 0)
			return -1;
	}
	return 0;
}
