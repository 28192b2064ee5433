/*
 * cutproxy: a TCP proxy on 127.0.0.1 that breaks one connection on purpose,
 * for tests/integ/fault-net.sh (a client between mailferry and Dovecot).
 *
 * usage: cutproxy --to PORT --port-file FILE [--record FILE] [--once]
 *                 [--cut DIR:K] [--cut-before DIR:TEXT] [--stall DIR:K:MS]
 *
 * DIR is c2s (client to server) or s2c.  Bytes are counted per direction
 * from the start of each connection.
 *   --cut DIR:K          forward K bytes of DIR, then reset both sides
 *                        (the client gets an RST: SO_LINGER 0)
 *   --cut-before DIR:T   the same, just before the first T in DIR (e.g.
 *                        "OK [APPENDUID": the server has stored the
 *                        message, the client never hears so)
 *   --stall DIR:K:MS     after K bytes of DIR, forward nothing more of DIR
 *                        for MS milliseconds, then go on
 *   --once               only the first connection is faulted; later ones
 *                        pass through untouched (so a run can reconnect)
 *   --record FILE        append "CONN DIR OFFSET" for each line end (the
 *                        offset after the LF) and "CONN DIR end TOTAL" when
 *                        a connection ends: the boundaries to cut at;
 *                        and "CONN cut DIR OFFSET" or "CONN stall DIR
 *                        OFFSET" when a fault happened (so a test knows
 *                        its fault was reached)
 * The listening port goes to --port-file (written whole, then renamed).
 * The proxy runs until killed, or until its parent exits (it checks often),
 * so a test that dies leaves nothing running.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 8
#define BUFSZ 65536

struct fault {
	int dir;	    /* 0 c2s, 1 s2c, -1 none */
	long long at;	    /* byte offset (--cut, --stall) */
	const char *before; /* text (--cut-before) */
	int stall_ms;	    /* > 0: stall instead of cut */
};

struct side {		   /* one direction of one connection */
	long long count;   /* bytes forwarded */
	size_t held;	   /* bytes held back: a prefix of "before" */
	char hold[256];	   /* at most strlen(before) - 1 bytes */
	char *pending;	   /* a stall: bytes read, not yet forwarded */
	size_t npending;   /* their number */
	long long until;   /* the stall ends, in now_ms() */
	bool stalled_once; /* a stall happens once per direction */
};

struct conn {
	int fd[2]; /* [0] client, [1] server; -1 when unused */
	int id;
	bool faulted;
	struct side side[2]; /* [0] c2s: read fd[0], write fd[1] */
};

static struct fault cuts[3];
static int ncuts;
static FILE *record;
static const char *dirname_[2] = { "c2s", "s2c" };

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
die(const char *what)
{
	fprintf(stderr, "cutproxy: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
parse_dir(const char *s, const char **rest)
{
	if (strncmp(s, "c2s:", 4) == 0 || strncmp(s, "s2c:", 4) == 0) {
		*rest = s + 4;
		return s[0] == 's';
	}
	fprintf(stderr, "cutproxy: direction must be c2s: or s2c: in %s\n", s);
	exit(2);
}

static bool
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void
note_lines(struct conn *c, int d, const char *p, size_t n)
{
	for (size_t i = 0; record && i < n; i++)
		if (p[i] == '\n')
			fprintf(record, "%d %s %lld\n", c->id, dirname_[d],
				c->side[d].count + (long long)i + 1);
}

static void
note_fault(struct conn *c, const char *what, int d)
{
	if (record)
		fprintf(record, "%d %s %s %lld\n", c->id, what, dirname_[d],
			c->side[d].count);
}

/* forward n bytes of direction d; false when the peer is gone */
static bool
forward(struct conn *c, int d, const char *p, size_t n)
{
	note_lines(c, d, p, n);
	c->side[d].count += (long long)n;
	return write_all(c->fd[1 - d], p, n);
}

static void
end_conn(struct conn *c, bool reset)
{
	for (int d = 0; d < 2; d++) {
		if (record)
			fprintf(record, "%d %s end %lld\n", c->id, dirname_[d],
				c->side[d].count);
		free(c->side[d].pending);
	}
	if (reset) {
		struct linger l = { 1, 0 };
		setsockopt(c->fd[0], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(c->fd[0]);
	close(c->fd[1]);
	if (record)
		fflush(record);
	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
}

/*
 * How many of the n bytes in p may go before the fault of direction d:
 * n when none applies; *cut set when the connection must be cut after
 * them, *stall when the rest must wait.
 */
static size_t
allowed(struct conn *c, int d, const char *p, size_t n, bool *cut, bool *stall)
{
	struct side *s = &c->side[d];
	for (int i = 0; c->faulted && i < ncuts; i++) {
		struct fault *f = &cuts[i];
		if (f->dir != d || f->before ||
		    (f->stall_ms && s->stalled_once))
			continue;
		if (s->count + (long long)n >= f->at) {
			*cut = f->stall_ms == 0;
			*stall = !*cut;
			return (size_t)(f->at - s->count);
		}
	}
	return n;
}

/* --cut-before: find the text in held + new bytes; hold a partial match */
static void
cut_before(struct conn *c, int d, char *buf, size_t *n, bool *cut)
{
	struct side *s = &c->side[d];
	for (int i = 0; c->faulted && i < ncuts; i++) {
		struct fault *f = &cuts[i];
		if (f->dir != d || !f->before)
			continue;
		size_t tl = strlen(f->before), all = s->held + *n;
		char *joined = malloc(all + 1);
		memcpy(joined, s->hold, s->held);
		memcpy(joined + s->held, buf, *n);
		joined[all] = 0;
		char *hit = memmem(joined, all, f->before, tl);
		size_t keep = 0;
		if (hit) {
			all = (size_t)(hit - joined);
			*cut = true;
		} else {
			for (keep = tl - 1; keep > 0; keep--)
				if (keep <= all && memcmp(joined + all - keep,
							  f->before, keep) == 0)
					break;
		}
		/* the caller forwards buf[0..*n): held bytes come first */
		s->held = keep;
		memcpy(s->hold, joined + all - keep, keep);
		memcpy(buf, joined, all - keep);
		*n = all - keep;
		free(joined);
	}
}

/* read what direction d has; false when the connection is over */
static bool
pump(struct conn *c, int d)
{
	static char buf[BUFSZ + 256];
	ssize_t r = read(c->fd[d], buf, BUFSZ);
	if (r <= 0)
		return false;
	size_t n = (size_t)r, ok;
	bool cut = false, stall = false;
	cut_before(c, d, buf, &n, &cut);
	ok = allowed(c, d, buf, n, &cut, &stall);
	if (!forward(c, d, buf, ok))
		return false;
	if (cut) {
		note_fault(c, "cut", d);
		end_conn(c, true);
		return true;
	}
	if (stall) {
		struct side *s = &c->side[d];
		int ms = 0;
		for (int i = 0; i < ncuts; i++)
			if (cuts[i].dir == d && cuts[i].stall_ms)
				ms = cuts[i].stall_ms;
		s->stalled_once = true;
		s->until = now_ms() + ms;
		note_fault(c, "stall", d);
		s->npending = n - ok;
		s->pending = malloc(s->npending + 1);
		memcpy(s->pending, buf + ok, s->npending);
	}
	return true;
}

static int
listen_on(const char *port_file)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("listen");
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) ||
	    rename(tmp, port_file) < 0)
		die(port_file);
	return fd;
}

static int
connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
parse_args(int argc, char **argv, int *port, const char **pf, bool *once)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *rest;
		if (strcmp(o, "--once") == 0) {
			*once = true;
			continue;
		}
		if (!v || ncuts == 3)
			goto usage;
		i++;
		if (strcmp(o, "--to") == 0)
			*port = atoi(v);
		else if (strcmp(o, "--port-file") == 0)
			*pf = v;
		else if (strcmp(o, "--record") == 0) {
			if (!(record = fopen(v, "a")))
				die(v);
			setvbuf(record, NULL, _IOLBF, 0); /* killed any time */
		} else if (strcmp(o, "--cut") == 0) {
			cuts[ncuts].dir = parse_dir(v, &rest);
			cuts[ncuts++].at = atoll(rest);
		} else if (strcmp(o, "--cut-before") == 0) {
			cuts[ncuts].dir = parse_dir(v, &rest);
			if (!*rest || strlen(rest) > 255)
				goto usage;
			cuts[ncuts++].before = rest;
		} else if (strcmp(o, "--stall") == 0) {
			cuts[ncuts].dir = parse_dir(v, &rest);
			cuts[ncuts].at = atoll(rest);
			rest = strchr(rest, ':');
			if (!rest || atoi(rest + 1) <= 0)
				goto usage;
			cuts[ncuts++].stall_ms = atoi(rest + 1);
		} else
			goto usage;
	}
	if (*port > 0 && *pf)
		return;
usage:
	fprintf(stderr, "usage: cutproxy --to PORT --port-file FILE "
			"[--record FILE] [--once] [--cut DIR:K] "
			"[--cut-before DIR:TEXT] [--stall DIR:K:MS]\n");
	exit(2);
}

static void
accept_one(int lfd, struct conn *conns, int *next_id, bool once, int port)
{
	int cfd = accept(lfd, NULL, NULL), sfd;
	if (cfd < 0)
		return;
	sfd = connect_to(port);
	for (int i = 0; sfd >= 0 && i < MAX_CONN; i++) {
		struct conn *c = &conns[i];
		if (c->fd[0] >= 0)
			continue;
		c->fd[0] = cfd;
		c->fd[1] = sfd;
		c->id = ++*next_id;
		c->faulted = !once || c->id == 1;
		return;
	}
	close(cfd); /* no server or no room: the client sees a close */
	if (sfd >= 0)
		close(sfd);
}

/* Long because it is the whole poll loop: listener, sessions, stalls. */
int
main(int argc, char **argv)
{
	int port = 0, next_id = 0, lfd;
	const char *port_file = NULL;
	bool once = false;
	struct conn conns[MAX_CONN];
	pid_t parent = getppid();

	for (int i = 0; i < 3; i++)
		cuts[i].dir = -1;
	parse_args(argc, argv, &port, &port_file, &once);
	lfd = listen_on(port_file);
	for (int i = 0; i < MAX_CONN; i++) {
		memset(&conns[i], 0, sizeof(conns[i]));
		conns[i].fd[0] = conns[i].fd[1] = -1;
	}
	while (getppid() == parent) {
		struct pollfd p[1 + 2 * MAX_CONN];
		int np = 1, map[2 * MAX_CONN];
		long long now = now_ms();
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CONN; i++)
			for (int d = 0; conns[i].fd[0] >= 0 && d < 2; d++) {
				struct side *s = &conns[i].side[d];
				if (s->pending && now >= s->until) {
					bool w = forward(&conns[i], d,
							 s->pending,
							 s->npending);
					free(s->pending);
					s->pending = NULL;
					if (!w) {
						end_conn(&conns[i], false);
						break;
					}
				}
				if (s->pending)
					continue;
				map[np - 1] = i * 2 + d;
				p[np++] = (struct pollfd){ .fd = conns[i].fd[d],
							   .events = POLLIN };
			}
		if (poll(p, (nfds_t)np, 50) < 0 && errno != EINTR)
			die("poll");
		if (p[0].revents & POLLIN)
			accept_one(lfd, conns, &next_id, once, port);
		for (int k = 1; k < np; k++) {
			struct conn *c = &conns[map[k - 1] / 2];
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)) ||
			    (c->fd[0] != p[k].fd && c->fd[1] != p[k].fd))
				continue;
			if (!pump(c, map[k - 1] % 2))
				end_conn(c, false);
		}
	}
	return 0;
}
