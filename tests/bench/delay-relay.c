/* delay-relay: a TCP relay on 127.0.0.1 that delays every chunk of bytes
 * by a fixed time in each direction, for the benchmark's latency runs
 * (the kernel here has no netem qdisc; see tests/bench/README.md).
 *
 *   delay-relay -u UPSTREAM_PORT [-l LISTEN_PORT] [-d MS] [-p PIDFILE]
 *               [-s STATSFILE]
 *
 * Each accepted client is connected to 127.0.0.1:UPSTREAM_PORT.  What is
 * read from one side is queued with the time it arrived and written to
 * the other side MS milliseconds later (default 25: a 50 ms round trip),
 * whatever the other side does meanwhile: a pipelining client keeps the
 * pipe full, as over a real link with that delay (bandwidth is not
 * limited).  The bytes are not looked at, so TLS passes through.
 *
 * With -l 0 (the default) the kernel picks the port; the port listened on
 * is printed on stdout, one line, once the socket listens.  When one side
 * reaches end of file, the other side gets a shutdown(SHUT_WR) after the
 * queue towards it is drained.  A side is not read while more than
 * QUEUE_MAX bytes from it wait, so memory stays bounded per connection.
 * SIGTERM or SIGINT: every connection is closed and the relay exits 0.
 *
 * -s STATSFILE: at the end of each connection one line is appended:
 *   conn=ID c2s=BYTES s2c=BYTES bursts=N
 * A burst is a chunk from the client that arrived after a chunk from the
 * server (or first of all): the number of times the client had to wait
 * for an answer before it could go on, i.e. the round trips it made. */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { READ_MAX = 65536, QUEUE_MAX = 4 << 20 };

/* a chunk as it was read, with the time it may be written (ms) */
struct chunk {
	struct chunk *next;
	int64_t due;
	size_t len, off;
	char data[];
};

/* one direction: bytes read from fd[from] waiting to go to fd[!from] */
struct dir {
	struct chunk *head, *tail;
	size_t queued;
	uint64_t bytes;
	int eof;  /* the reading side is at end of file */
	int shut; /* and the writing side got its shutdown */
};

/* side 0 is the client, side 1 the server; d[0] goes client -> server */
struct conn {
	struct conn *next;
	int fd[2];
	struct dir d[2];
	unsigned long id, bursts;
	int last_from; /* the side of the last chunk read, -1 before any */
	int dead;
};

static volatile sig_atomic_t stop;
static int64_t delay_ms = 25;
static int upstream_port;
static FILE *stats;
static struct conn *conns;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
die(const char *what)
{
	fprintf(stderr, "delay-relay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int
listen_on(int port)
{
	struct sockaddr_in sa = loopback(port);
	socklen_t len = sizeof sa;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	if (listen(fd, 128) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("getsockname");
	if (set_nonblock(fd) < 0)
		die("fcntl");
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

/* A blocking connect: the upstream is on loopback and answers at once;
 * the delay is added to the data, not to the connection. */
static int
connect_upstream(void)
{
	struct sockaddr_in sa = loopback(upstream_port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    set_nonblock(fd) < 0) {
		close(fd);
		return -1;
	}
	/* chunks are written when due; Nagle would hold back small ones */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void
accept_one(int lfd)
{
	static unsigned long next_id;
	int one = 1, up, fd = accept(lfd, NULL, NULL);
	struct conn *c;

	if (fd < 0)
		return;
	up = connect_upstream();
	c = calloc(1, sizeof *c);
	if (up < 0 || !c || set_nonblock(fd) < 0) {
		fprintf(stderr, "delay-relay: cannot reach upstream port %d\n",
			upstream_port);
		if (up >= 0)
			close(up);
		close(fd);
		free(c);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd[0] = fd;
	c->fd[1] = up;
	c->id = ++next_id;
	c->last_from = -1;
	c->next = conns;
	conns = c;
}

static void
queue_chunk(struct dir *d, const char *buf, size_t n)
{
	struct chunk *ch = malloc(sizeof *ch + n);

	if (!ch)
		die("malloc");
	ch->next = NULL;
	ch->due = now_ms() + delay_ms;
	ch->len = n;
	ch->off = 0;
	memcpy(ch->data, buf, n);
	if (d->tail)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->queued += n;
	d->bytes += n;
}

/* One read from side s.  An error is taken as end of file: what was read
 * before it is still delivered. */
static void
read_side(struct conn *c, int s)
{
	static char buf[READ_MAX];
	ssize_t n = read(c->fd[s], buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->d[s].eof = 1;
		return;
	}
	if (s == 0 && c->last_from != 0)
		c->bursts++;
	c->last_from = s;
	queue_chunk(&c->d[s], buf, (size_t)n);
}

/* Writes the due chunks of direction s to side !s.  A failed write means
 * the receiver is gone: the connection ends. */
static void
write_due(struct conn *c, int s, int64_t now)
{
	struct dir *d = &c->d[s];
	struct chunk *ch;
	ssize_t n;

	while ((ch = d->head) && ch->due <= now) {
		n = write(c->fd[!s], ch->data + ch->off, ch->len - ch->off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			c->dead = 1;
			return;
		}
		ch->off += (size_t)n;
		d->queued -= (size_t)n;
		if (ch->off < ch->len)
			return;
		d->head = ch->next;
		if (!d->head)
			d->tail = NULL;
		free(ch);
	}
	if (!d->head && d->eof && !d->shut) {
		shutdown(c->fd[!s], SHUT_WR);
		d->shut = 1;
	}
}

static void
free_conn(struct conn *c)
{
	struct chunk *ch;
	int s;

	if (stats) {
		fprintf(stats, "conn=%lu c2s=%llu s2c=%llu bursts=%lu\n", c->id,
			(unsigned long long)c->d[0].bytes,
			(unsigned long long)c->d[1].bytes, c->bursts);
		fflush(stats);
	}
	for (s = 0; s < 2; s++) {
		close(c->fd[s]);
		while ((ch = c->d[s].head)) {
			c->d[s].head = ch->next;
			free(ch);
		}
	}
	free(c);
}

/* the poll events for side s of c */
static short
events_of(const struct conn *c, int s, int64_t now)
{
	short ev = 0;
	const struct chunk *due = c->d[!s].head;

	if (!c->d[s].eof && c->d[s].queued < QUEUE_MAX)
		ev |= POLLIN;
	if (due && due->due <= now)
		ev |= POLLOUT;
	return ev;
}

/* milliseconds until the next chunk not yet due, -1 when none waits */
static int
next_timeout(int64_t now)
{
	int64_t best = -1, t;
	const struct conn *c;
	int s;

	for (c = conns; c; c = c->next) {
		for (s = 0; s < 2; s++) {
			if (!c->d[s].head || c->d[s].head->due <= now)
				continue;
			t = c->d[s].head->due - now;
			if (best < 0 || t < best)
				best = t;
		}
	}
	return (int)best;
}

/* fills pfd (listen socket first, then two per connection) */
static size_t
build_polls(struct pollfd **pfd, size_t *cap, int lfd)
{
	size_t n = 1;
	int64_t now = now_ms();
	const struct conn *c;
	int s;

	for (c = conns; c; c = c->next)
		n += 2;
	if (n > *cap) {
		*cap = n * 2;
		*pfd = realloc(*pfd, *cap * sizeof **pfd);
		if (!*pfd)
			die("realloc");
	}
	(*pfd)[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	n = 1;
	for (c = conns; c; c = c->next)
		for (s = 0; s < 2; s++, n++) {
			/* a side we want nothing from is left out: a socket
			 * at end of file would report POLLHUP all the time */
			(*pfd)[n].events = events_of(c, s, now);
			(*pfd)[n].fd = (*pfd)[n].events ? c->fd[s] : -1;
			(*pfd)[n].revents = 0;
		}
	return n;
}

/* After poll: reads what is readable, writes what is due, and drops the
 * connections that are done (both directions shut) or dead. */
static void
service(const struct pollfd *pfd)
{
	struct conn **pc = &conns, *c;
	size_t i = 1;
	int s;

	while ((c = *pc)) {
		for (s = 0; s < 2; s++, i++)
			if ((pfd[i].events & POLLIN) &&
			    (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				read_side(c, s);
		for (s = 0; s < 2 && !c->dead; s++)
			write_due(c, s, now_ms());
		if (c->dead || (c->d[0].shut && c->d[1].shut)) {
			*pc = c->next;
			free_conn(c);
		} else {
			pc = &c->next;
		}
	}
}

static void
relay(int lfd)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0, n;
	struct conn *c;

	while (!stop) {
		n = build_polls(&pfd, &cap, lfd);
		if (poll(pfd, n, next_timeout(now_ms())) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		service(pfd);
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
	}
	while ((c = conns)) {
		conns = c->next;
		free_conn(c);
	}
	free(pfd);
}

static int
num_arg(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "delay-relay: bad number %s\n", s);
		exit(2);
	}
	return (int)v;
}

static void
usage(void)
{
	fputs("usage: delay-relay -u UPSTREAM_PORT [-l LISTEN_PORT] [-d MS]"
	      " [-p PIDFILE] [-s STATSFILE]\n",
	      stderr);
	exit(2);
}

static void
write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
		die(path);
}

int
main(int argc, char **argv)
{
	const char *pidfile = NULL;
	int opt, lport = 0, lfd;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "l:u:d:p:s:")) != -1) {
		switch (opt) {
		case 'l':
			lport = num_arg(optarg, 0, 65535);
			break;
		case 'u':
			upstream_port = num_arg(optarg, 1, 65535);
			break;
		case 'd':
			delay_ms = num_arg(optarg, 0, 60000);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 's':
			stats = fopen(optarg, "a");
			if (!stats)
				die(optarg);
			break;
		default:
			usage();
		}
	}
	if (!upstream_port || optind != argc)
		usage();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pidfile)
		write_pidfile(pidfile);
	lfd = listen_on(lport);
	relay(lfd);
	close(lfd);
	if (stats)
		fclose(stats);
	return 0;
}
