/*
 * fake-imapd: a scripted IMAP server for what Dovecot will not do
 * (hostile or broken responses, missing capabilities, bad certificates).
 *
 * usage: fake-imapd --script FILE --log FILE [--port-file FILE]
 *                   [--cert PEM --key PEM] [--tls] [--timeout SEC]
 *
 * Listens on 127.0.0.1 on a free port, writes the port to --port-file (or
 * stdout), serves ONE connection by running the script, and exits (also
 * after --timeout seconds, default 30); ACCEPT in the script moves on to
 * the next connection, so a client's reconnect is scripted too.  With
 * --tls each connection is TLS from the first byte.  Every line the client
 * sends is appended to the log as "C: <line>", so a test can assert on
 * exactly what was sent; each connection starts with "# connected".
 *
 * Script, one command per line ('#' comments and blank lines ignored):
 *   SEND text       send text + CRLF in ONE write (so "\r\n" inside text
 *                   puts two responses in one TCP segment)
 *   RAW text        the same without the CRLF
 *   EXPECT regex    read one client line; it must match (POSIX ERE), else
 *                   exit 2.  Its first word becomes $TAG for SEND/RAW.
 *   READ            read one client line, whatever it is
 *   DRAIN           read and log client lines until the client closes
 *   STARTTLS        switch to TLS with --cert/--key
 *   DELAY ms        sleep
 *   CLOSE           close the connection and exit
 *   ACCEPT          close the connection (unread client lines are lost)
 *                   and wait for the next one on the same port; the
 *                   script goes on with it ($TAG reset to "*")
 *   LITERAL n c     send n bytes of the character c, generated on the fly
 *   FLOOD           send 'x' forever (a never-ending line)
 *   CHATTER ms text send text + CRLF every ms until the client sends a
 *                   line (left for the next EXPECT or READ)
 * In text: \r \n \t \\ \xHH escapes (any other backslash is kept, so
 * "\Seen" needs no doubling), and $TAG.  A write the client refuses
 * (it hung up) ends the script with exit 0 and "# client closed" logged.
 */
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int fd = -1;
static SSL *ssl;
static SSL_CTX *ctx;
static FILE *logfp;
static char inbuf[65536];
static size_t inlen;
static char tag[64] = "*";
static const char *cert, *key;
static int lfd = -1; /* the listening socket, open for ACCEPT */
static bool tls;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fake-imapd: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (logfp != NULL)
		logmsg("# error");
	exit(2);
}

static void
client_closed(void)
{
	logmsg("# client closed");
	exit(0);
}

static void
put(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r;

		if (ssl != NULL) {
			int w = SSL_write(ssl, p,
					  (int)(n > 1 << 20 ? 1 << 20 : n));

			if (w <= 0)
				client_closed();
			r = w;
		} else {
			r = write(fd, p, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				client_closed();
		}
		p += r;
		n -= (size_t)r;
	}
}

/* One client line into line (without CRLF); false at end of stream. */
static bool
get_line(char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(inbuf, '\n', inlen);
		ssize_t r;

		if (nl != NULL) {
			size_t len = (size_t)(nl - inbuf);
			size_t copy = len;

			if (copy > 0 && inbuf[copy - 1] == '\r')
				copy--;
			if (copy >= size)
				copy = size - 1;
			memcpy(line, inbuf, copy);
			line[copy] = '\0';
			memmove(inbuf, nl + 1, inlen - len - 1);
			inlen -= len + 1;
			logmsg("C: %s", line);
			return true;
		}
		if (inlen == sizeof(inbuf))
			die("client line too long");
		if (ssl != NULL) {
			int n = SSL_read(ssl, inbuf + inlen,
					 (int)(sizeof(inbuf) - inlen));

			r = n > 0 ? n : 0;
		} else {
			r = read(fd, inbuf + inlen, sizeof(inbuf) - inlen);
			if (r < 0 && errno == EINTR)
				continue;
		}
		if (r <= 0)
			return false;
		inlen += (size_t)r;
	}
}

/* Unescape text into out, replacing $TAG. */
static size_t
expand(const char *s, char *out, size_t size)
{
	size_t o = 0;

	while (*s != '\0' && o + 70 < size) {
		if (strncmp(s, "$TAG", 4) == 0) {
			o += (size_t)snprintf(out + o, size - o, "%s", tag);
			s += 4;
			continue;
		}
		if (*s != '\\' || s[1] == '\0') {
			out[o++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r':
			out[o++] = '\r';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'x': {
			char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };

			out[o++] = (char)strtoul(hex, NULL, 16);
			s += 2;
			break;
		}
		default:
			/* not an escape: "\Seen" stays "\Seen" */
			out[o++] = '\\';
			out[o++] = *s;
			break;
		}
		s++;
	}
	return o;
}

static void
start_tls(void)
{
	if (cert == NULL || key == NULL)
		die("TLS needs --cert and --key");
	if (ctx == NULL) { /* one context for every connection */
		ctx = SSL_CTX_new(TLS_server_method());
		if (ctx == NULL ||
		    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) !=
			    1)
			die("cannot load %s / %s", cert, key);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	inlen = 0;
	if (SSL_accept(ssl) != 1) {
		logmsg("# TLS handshake failed");
		exit(0);
	}
	logmsg("# TLS on");
}

/* Drop the current connection, if any, and take the next one. */
static void
accept_next(void)
{
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
		ssl = NULL;
	}
	if (fd >= 0)
		close(fd);
	inlen = 0;
	snprintf(tag, sizeof(tag), "*");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	logmsg("# connected");
	if (tls)
		start_tls();
}

/* CHATTER ms text: text + CRLF every ms until the client sends a line
 * (which the next EXPECT or READ then reads). */
static void
chatter(char *arg, char *out, size_t size)
{
	long ms = strtol(arg, &arg, 10);
	size_t n;

	if (ms <= 0 || arg == NULL || *arg != ' ')
		die("usage: CHATTER ms text");
	n = expand(arg + 1, out, size - 2);
	out[n++] = '\r';
	out[n++] = '\n';
	while (memchr(inbuf, '\n', inlen) == NULL) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if ((ssl == NULL || SSL_pending(ssl) == 0) &&
		    poll(&pfd, 1, (int)ms) == 0) {
			put(out, n);
			continue;
		}
		if (inlen == sizeof(inbuf))
			die("client line too long");
		r = ssl != NULL ?
			    SSL_read(ssl, inbuf + inlen,
				     (int)(sizeof(inbuf) - inlen)) :
			    read(fd, inbuf + inlen, sizeof(inbuf) - inlen);
		if (r < 0 && ssl == NULL && errno == EINTR)
			continue;
		if (r <= 0)
			client_closed();
		inlen += (size_t)r;
	}
}

static void
run_line(char *cmd)
{
	static char out[1 << 16], line[1 << 16];
	char *arg = strchr(cmd, ' ');
	size_t n;

	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = cmd + strlen(cmd);
	if (strcmp(cmd, "SEND") == 0 || strcmp(cmd, "RAW") == 0) {
		n = expand(arg, out, sizeof(out) - 2);
		if (strcmp(cmd, "SEND") == 0) {
			out[n++] = '\r';
			out[n++] = '\n';
		}
		put(out, n);
	} else if (strcmp(cmd, "EXPECT") == 0) {
		regex_t re;

		if (regcomp(&re, arg, REG_EXTENDED | REG_NOSUB) != 0)
			die("bad regex: %s", arg);
		if (!get_line(line, sizeof(line))) {
			logmsg("# EOF while expecting: %s", arg);
			exit(3);
		}
		if (regexec(&re, line, 0, NULL, 0) != 0) {
			logmsg("# MISMATCH, expected: %s", arg);
			exit(2);
		}
		regfree(&re);
		n = strcspn(line, " ");
		snprintf(tag, sizeof(tag), "%.*s", (int)(n < 60 ? n : 60),
			 line);
	} else if (strcmp(cmd, "READ") == 0) {
		if (!get_line(line, sizeof(line)))
			client_closed();
	} else if (strcmp(cmd, "DRAIN") == 0) {
		while (get_line(line, sizeof(line)))
			;
		client_closed();
	} else if (strcmp(cmd, "STARTTLS") == 0) {
		start_tls();
	} else if (strcmp(cmd, "DELAY") == 0) {
		struct timespec ts;
		long ms = strtol(arg, NULL, 10);

		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	} else if (strcmp(cmd, "CLOSE") == 0) {
		logmsg("# closed by script");
		exit(0);
	} else if (strcmp(cmd, "ACCEPT") == 0) {
		logmsg("# closed by script, waiting for the next connection");
		accept_next();
	} else if (strcmp(cmd, "LITERAL") == 0) {
		unsigned long long total = strtoull(arg, &arg, 10);
		char c = arg != NULL && arg[0] == ' ' ? arg[1] : 'x';

		memset(out, c, sizeof(out));
		while (total > 0) {
			n = total < sizeof(out) ? (size_t)total : sizeof(out);
			put(out, n);
			total -= n;
		}
	} else if (strcmp(cmd, "CHATTER") == 0) {
		chatter(arg, out, sizeof(out));
	} else if (strcmp(cmd, "FLOOD") == 0) {
		memset(out, 'x', sizeof(out));
		put("* OK ", 5);
		for (;;)
			put(out, sizeof(out));
	} else {
		die("unknown script command: %s", cmd);
	}
}

int
main(int argc, char **argv)
{
	const char *script = NULL, *logpath = NULL, *portfile = NULL;
	struct sockaddr_in sa = { 0 };
	socklen_t salen = sizeof(sa);
	unsigned timeout = 30;
	char line[1 << 16];
	FILE *sf, *pf;
	int i, one = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tls") == 0)
			tls = true;
		else if (i + 1 >= argc)
			die("usage: see the top of fake-imapd.c");
		else if (strcmp(argv[i], "--script") == 0)
			script = argv[++i];
		else if (strcmp(argv[i], "--log") == 0)
			logpath = argv[++i];
		else if (strcmp(argv[i], "--port-file") == 0)
			portfile = argv[++i];
		else if (strcmp(argv[i], "--cert") == 0)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			die("unknown option %s", argv[i]);
	}
	if (script == NULL || logpath == NULL)
		die("--script and --log are required");
	signal(SIGPIPE, SIG_IGN);
	alarm(timeout);
	sf = fopen(script, "r");
	logfp = fopen(logpath, "a");
	if (sf == NULL || logfp == NULL)
		die("cannot open %s or %s", script, logpath);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
		die("listen: %s", strerror(errno));
	if (portfile != NULL) {
		char tmp[4096];

		snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
		pf = fopen(tmp, "w");
		if (pf == NULL)
			die("cannot write %s", tmp);
		fprintf(pf, "%u\n", ntohs(sa.sin_port));
		fclose(pf);
		rename(tmp, portfile); /* appears complete or not at all */
	} else {
		printf("%u\n", ntohs(sa.sin_port));
		fflush(stdout);
	}
	accept_next();
	while (fgets(line, sizeof(line), sf) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		run_line(line);
	}
	logmsg("# script done");
	if (ssl != NULL)
		SSL_shutdown(ssl);
	close(fd);
	return 0;
}
