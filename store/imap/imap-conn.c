/*
 * Transport for the IMAP client: TCP, TLS, tunnel pipes, deflate.
 *
 * Layers, outermost first: the caller's bytes <-> deflate (RFC 4978, only
 * after COMPRESS) <-> TLS (OpenSSL, when on) <-> the fds.  All fds are
 * non-blocking; every wait is a poll() with the connection's timeout, so a
 * silent server cannot hang us, and errors name host:port.
 *
 * A stop asked for by signal (base/cancel.h) bounds every wait: connecting
 * and the TLS handshake give up at once (nothing is in flight yet), reads
 * and writes go on for at most MF_CANCEL_GRACE_MS after the transport first
 * sees the stop, so a batch in flight normally completes, and then fail
 * with MF_E_CANCELED.  poll() returns EINTR when the signal arrives during
 * it; one arriving just before it is seen when the poll returns, at the
 * latest after the connection's timeout.
 *
 * Deadlines (imap-conn.h) bound an exchange as a whole on top of that: the
 * per-wait timeout restarts whenever a byte moves, the deadline does not
 * (it only grows with the bytes moved), and each wait polls for the
 * earlier of the two.
 *
 * TLS verification runs inside OpenSSL (chain against the system store or
 * ca_file, host name through SSL_set1_host) but with SSL_VERIFY_NONE, and
 * the result is checked right after the handshake, before a single byte of
 * IMAP goes out.  That lets a fingerprint pin accept a self-signed
 * certificate and lets the error message carry the reason and the actual
 * fingerprint so the user can pin it.
 */
#include "imap-conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/cancel.h"
#include "base/log.h"
#include "base/xalloc.h"

#define IN_CHUNK (64u * 1024u)
/* input may pile up only while a flush waits for the peer */
#define IN_MAX (4u * 1024u * 1024u)
#define OUT_MAX (64u * 1024u * 1024u)
#define OUT_AUTOFLUSH (256u * 1024u)

struct imap_conn {
	int rfd, wfd; /* the same socket, or the tunnel's pipes */
	pid_t child;
	bool tunnel; /* a tunnel command (or the test hook's socket) */
	char label[300];
	int timeout_ms;
	int64_t stop_at; /* waits end here after a stop; 0: none */

	int command_ms; /* base of a deadline */
	uint64_t moved; /* bytes read and written on the wire */
	/* the same, apart (imap_conn_wire()): counted under deflate, so
	 * compressed after COMPRESS, and above TLS (the record payload) */
	uint64_t rx, tx;
	int64_t last_rx;   /* when the last of them were read */
	bool has_dl;	   /* a deadline is set: */
	int64_t dl_start;  /* its start */
	uint64_t dl_moved; /* moved at its start */
	char dl_what[80];  /* "A5 UID FETCH" */

	SSL_CTX *ctx;
	SSL *ssl;

	bool compress;
	z_stream zin, zout;
	struct mf_buf zraw;   /* compressed input not yet inflated */
	struct mf_buf rawout; /* deflated output not yet written */

	char *in;
	size_t in_start, in_end, in_cap;
	struct mf_buf out;
};

struct imap_conn *
imap_conn_create(int timeout_ms)
{
	struct imap_conn *c = xcalloc(1, sizeof(*c));

	c->rfd = c->wfd = -1;
	c->child = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
	c->command_ms = c->timeout_ms * 10;
	snprintf(c->label, sizeof(c->label), "(not connected)");
	c->in_cap = IN_CHUNK * 2;
	c->in = xmalloc(c->in_cap);
	mf_buf_init(&c->out, OUT_MAX);
	mf_buf_init(&c->rawout, OUT_MAX);
	mf_buf_init(&c->zraw, IN_MAX);
	return c;
}

static void
reap_child(pid_t pid)
{
	int i, status;

	/* the tunnel sees EOF on stdin and should exit on its own */
	for (i = 0; i < 40; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		usleep(50 * 1000);
	}
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

void
imap_conn_destroy(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;

	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->compress) {
		inflateEnd(&c->zin);
		deflateEnd(&c->zout);
	}
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	if (c->child > 0)
		reap_child(c->child);
	/* the output may have held a LOGIN line */
	if (c->out.data != NULL)
		explicit_bzero(c->out.data, c->out.cap);
	mf_buf_deinit(&c->out);
	mf_buf_deinit(&c->rawout);
	mf_buf_deinit(&c->zraw);
	free(c->in);
	free(c);
	*cp = NULL;
}

bool
imap_conn_is_tls(const struct imap_conn *c)
{
	return c->ssl != NULL;
}

bool
imap_conn_is_tunnel(const struct imap_conn *c)
{
	return c->tunnel;
}

const char *
imap_conn_label(const struct imap_conn *c)
{
	return c->label;
}

/* ---- time ----------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
imap_conn_now_ms(void)
{
	return now_ms();
}

uint64_t
imap_conn_moved(const struct imap_conn *c)
{
	return c->moved;
}

void
imap_conn_wire(const struct imap_conn *c, uint64_t *read_r, uint64_t *written_r)
{
	*read_r = c->rx;
	*written_r = c->tx;
}

void
imap_conn_set_command_timeout(struct imap_conn *c, int ms)
{
	c->command_ms = ms > 0 ? ms : c->timeout_ms * 10;
}

int64_t
imap_conn_deadline_of(const struct imap_conn *c, int64_t start_ms,
		      uint64_t moved)
{
	const uint64_t cap = (uint64_t)IMAP_CONN_MAX_EXTEND_S *
			     IMAP_CONN_FLOOR_RATE;
	uint64_t extra = c->moved > moved ? c->moved - moved : 0;

	if (extra > cap)
		extra = cap;
	return start_ms + c->command_ms +
	       (int64_t)(extra * 1000 / IMAP_CONN_FLOOR_RATE);
}

void
imap_conn_set_deadline(struct imap_conn *c, int64_t start_ms, uint64_t moved,
		       const char *what)
{
	c->has_dl = what != NULL;
	if (what == NULL)
		return;
	c->dl_start = start_ms;
	c->dl_moved = moved;
	snprintf(c->dl_what, sizeof(c->dl_what), "%s", what);
}

/* The end of a wait that would end at deadline, brought forward by ours. */
static int64_t
dl_bound(const struct imap_conn *c, int64_t deadline)
{
	int64_t d;

	if (!c->has_dl)
		return deadline;
	d = imap_conn_deadline_of(c, c->dl_start, c->dl_moved);
	return d < deadline ? d : deadline;
}

/* Close the fds: after a deadline the stream is out of step with us. */
static void
drop(struct imap_conn *c)
{
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	c->rfd = c->wfd = -1;
}

/* Has the deadline passed?  Then fail and drop the connection. */
static int
dl_check(struct imap_conn *c, bool sending, struct mf_err *err)
{
	int64_t due;
	const char *why;

	if (!c->has_dl)
		return 0;
	due = imap_conn_deadline_of(c, c->dl_start, c->dl_moved);
	if (now_ms() < due)
		return 0;
	/* "kept sending": bytes came in since the start, yet no answer */
	why = sending		       ? "server not reading" :
	      c->last_rx > c->dl_start ? "server kept sending" :
					 "server silent";
	mf_err_set(err, MF_E_NET, "%s: %s: %s within %lld s (%s)", c->label,
		   c->dl_what, sending ? "not sent" : "no answer",
		   (long long)((due - c->dl_start + 500) / 1000), why);
	drop(c);
	return -1;
}

static int
remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* The deadline of a wait, brought forward once a stop was asked for. */
static int64_t
stop_deadline(struct imap_conn *c, int64_t deadline)
{
	if (mf_cancel_signal() == 0)
		return deadline;
	if (c->stop_at == 0)
		c->stop_at = now_ms() + MF_CANCEL_GRACE_MS;
	return c->stop_at < deadline ? c->stop_at : deadline;
}

/* Has the grace after a stop run out?  Then fail with MF_E_CANCELED. */
static int
stop_check(struct imap_conn *c, struct mf_err *err)
{
	if (mf_cancel_signal() == 0)
		return 0;
	stop_deadline(c, 0);
	if (now_ms() < c->stop_at)
		return 0;
	return mf_err_set(err, MF_E_CANCELED, "%s: interrupted by %s", c->label,
			  mf_cancel_name());
}

/* ---- connect -------------------------------------------------------- */

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static int
connect_one(struct imap_conn *c, const struct addrinfo *ai, int *errno_r)
{
	int fd, one = 1, soerr = 0;
	socklen_t len = sizeof(soerr);
	struct pollfd pfd;
	int r;

	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0) {
		*errno_r = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*errno_r = errno;
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			r = poll(&pfd, 1, c->timeout_ms);
		} while (r < 0 && errno == EINTR && mf_cancel_signal() == 0);
		if (r == 0) {
			*errno_r = ETIMEDOUT;
			close(fd);
			return -1;
		}
		if (r < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 ||
		    soerr != 0) {
			*errno_r = r < 0 ? errno : soerr != 0 ? soerr : errno;
			close(fd);
			return -1;
		}
	}
	/* commands are small and pipelined; do not let Nagle hold them */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
imap_conn_connect(struct imap_conn *c, const char *host, unsigned port,
		  struct mf_err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char portstr[16];
	int r, fd = -1, last_errno = 0;

	if (strchr(host, ':') != NULL)
		snprintf(c->label, sizeof(c->label), "[%s]:%u", host, port);
	else
		snprintf(c->label, sizeof(c->label), "%s:%u", host, port);
	snprintf(portstr, sizeof(portstr), "%u", port);
	/* IPv6 and IPv4, in the resolver's order */
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		mf_err_set(err, MF_E_NET, "%s: cannot resolve host: %s",
			   c->label, gai_strerror(r));
		err->unreached = true;
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_one(c, ai, &last_errno);
	freeaddrinfo(res);
	if (fd < 0) {
		errno = last_errno;
		if (last_errno == ETIMEDOUT)
			mf_err_set(err, MF_E_NET,
				   "connect to %s: timed "
				   "out after %d ms",
				   c->label, c->timeout_ms);
		else
			mf_err_sys(err, MF_E_NET, "connect to %s", c->label);
		err->unreached = true;
		return -1;
	}
	c->rfd = c->wfd = fd;
	mf_debug(MF_LOGC_IMAP, "connected to %s", c->label);
	return 0;
}

imap_conn_tunnel_fn *imap_conn_test_tunnel;

int
imap_conn_tunnel(struct imap_conn *c, const char *command, struct mf_err *err)
{
	int to_child[2], from_child[2];
	pid_t pid;

	snprintf(c->label, sizeof(c->label), "tunnel");
	c->tunnel = true;
	if (imap_conn_test_tunnel != NULL) {
		c->rfd = c->wfd = imap_conn_test_tunnel(command);
		if (c->rfd < 0)
			return mf_err_sys(err, MF_E_NET, "tunnel: test hook");
		if (set_nonblock(c->rfd) < 0)
			return mf_err_sys(err, MF_E_NET, "tunnel: fcntl");
		return 0;
	}
	/*
	 * Two pipes, not a socketpair: Dovecot's imap binary refuses to run
	 * with a socket on stdin/stdout.
	 */
	if (pipe2(to_child, O_CLOEXEC) < 0)
		return mf_err_sys(err, MF_E_NET, "tunnel: pipe");
	if (pipe2(from_child, O_CLOEXEC) < 0) {
		mf_err_sys(err, MF_E_NET, "tunnel: pipe");
		close(to_child[0]);
		close(to_child[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		mf_err_sys(err, MF_E_NET, "tunnel: fork");
		close(to_child[0]);
		close(to_child[1]);
		close(from_child[0]);
		close(from_child[1]);
		return -1;
	}
	if (pid == 0) {
		/* stderr stays ours, so the tunnel's complaints are seen */
		if (dup2(to_child[0], 0) < 0 || dup2(from_child[1], 1) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	c->rfd = from_child[0];
	c->wfd = to_child[1];
	c->child = pid;
	if (set_nonblock(c->rfd) < 0 || set_nonblock(c->wfd) < 0)
		return mf_err_sys(err, MF_E_NET, "tunnel: fcntl");
	mf_debug(MF_LOGC_IMAP, "tunnel started (pid %ld)", (long)pid);
	return 0;
}

/* ---- raw I/O: one layer under deflate ------------------------------- */

static void
ssl_errstr(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s",
			 errno != 0 ? strerror(errno) : "connection closed");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
}

/*
 * Read up to n bytes.  > 0: bytes read; 0: would block, *events_r says
 * what to poll for; -1: error or end of stream (err set).
 */
static ssize_t
raw_read(struct imap_conn *c, char *buf, size_t n, short *events_r,
	 struct mf_err *err)
{
	ssize_t r;

	*events_r = POLLIN;
	if (c->ssl != NULL) {
		size_t got = 0;
		char msg[256];

		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(c->ssl, buf, n, &got) == 1) {
			c->moved += got;
			c->rx += got;
			c->last_rx = now_ms();
			return (ssize_t)got;
		}
		switch (SSL_get_error(c->ssl, 0)) {
		case SSL_ERROR_WANT_READ:
			return 0;
		case SSL_ERROR_WANT_WRITE:
			*events_r = POLLOUT;
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			return mf_err_set(err, MF_E_NET,
					  "%s: server closed "
					  "the connection",
					  c->label);
		default:
			ssl_errstr(msg, sizeof(msg));
			return mf_err_set(err, MF_E_NET, "%s: TLS read: %s",
					  c->label, msg);
		}
	}
	r = read(c->rfd, buf, n);
	if (r > 0) {
		c->moved += (uint64_t)r;
		c->rx += (uint64_t)r;
		c->last_rx = now_ms();
		return r;
	}
	if (r == 0)
		return mf_err_set(err, MF_E_NET,
				  "%s: server closed the "
				  "connection",
				  c->label);
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return mf_err_sys(err, MF_E_NET, "%s: read", c->label);
}

/*
 * A peer that closed makes write() raise SIGPIPE, which would kill us.
 * The library must not change the process's signal disposition, so the
 * signal is blocked around the write and a pending one consumed.
 */
static ssize_t
write_nosigpipe(struct imap_conn *c, const char *buf, size_t n, short *events_r,
		struct mf_err *err)
{
	sigset_t set, old, pend;
	bool was_pending;
	ssize_t r = 0;
	int saved;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	was_pending = sigismember(&pend, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &old);
	*events_r = POLLOUT;
	errno = 0;
	if (c->ssl != NULL) {
		size_t done = 0;

		ERR_clear_error();
		if (SSL_write_ex(c->ssl, buf, n, &done) == 1) {
			r = (ssize_t)done;
		} else {
			switch (SSL_get_error(c->ssl, 0)) {
			case SSL_ERROR_WANT_READ:
				*events_r = POLLIN;
				r = 0;
				break;
			case SSL_ERROR_WANT_WRITE:
				r = 0;
				break;
			default: {
				char msg[256];

				ssl_errstr(msg, sizeof(msg));
				r = mf_err_set(err, MF_E_NET,
					       "%s: TLS "
					       "write: %s",
					       c->label, msg);
				break;
			}
			}
		}
	} else {
		r = write(c->wfd, buf, n);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				r = 0;
			else
				r = mf_err_sys(err, MF_E_NET, "%s: write",
					       c->label);
		}
	}
	saved = errno;
	if (r < 0 && !was_pending) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	if (r > 0) {
		c->moved += (uint64_t)r;
		c->tx += (uint64_t)r;
	}
	return r;
}

/* ---- input buffer --------------------------------------------------- */

static int
in_reserve(struct imap_conn *c, size_t want, struct mf_err *err)
{
	size_t used = c->in_end - c->in_start;

	if (c->in_cap - c->in_end >= want)
		return 0;
	if (c->in_start > 0) {
		memmove(c->in, c->in + c->in_start, used);
		c->in_start = 0;
		c->in_end = used;
		if (c->in_cap - c->in_end >= want)
			return 0;
	}
	if (used + want > IN_MAX)
		return mf_err_set(err, MF_E_NET,
				  "%s: protocol error: more "
				  "than %u bytes of unread input",
				  c->label, IN_MAX);
	c->in_cap = used + want;
	c->in = xrealloc(c->in, c->in_cap);
	return 0;
}

/* Inflate what zraw holds into the input buffer.  Returns bytes made. */
static ssize_t
inflate_some(struct imap_conn *c, struct mf_err *err)
{
	size_t before;
	int r;

	if (c->zraw.len == 0)
		return 0;
	if (in_reserve(c, IN_CHUNK, err) < 0)
		return -1;
	c->zin.next_in = (Bytef *)c->zraw.data;
	c->zin.avail_in = (uInt)c->zraw.len;
	c->zin.next_out = (Bytef *)c->in + c->in_end;
	c->zin.avail_out = (uInt)(c->in_cap - c->in_end);
	before = c->zin.avail_out;
	r = inflate(&c->zin, Z_SYNC_FLUSH);
	/* Z_STREAM_END: the server finished its stream, as at LOGOUT */
	if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END)
		return mf_err_set(err, MF_E_NET,
				  "%s: COMPRESS: bad deflate "
				  "data from server (%s)",
				  c->label,
				  c->zin.msg != NULL ? c->zin.msg : "zlib");
	mf_buf_consume(&c->zraw, c->zraw.len - c->zin.avail_in);
	c->in_end += before - c->zin.avail_out;
	return (ssize_t)(before - c->zin.avail_out);
}

/*
 * One non-blocking read into the input buffer.  > 0: bytes added; 0: nothing
 * available yet (*events_r says what to wait for); -1: error.
 */
static ssize_t
read_some(struct imap_conn *c, short *events_r, struct mf_err *err)
{
	char tmp[IN_CHUNK];
	ssize_t r;

	*events_r = POLLIN;
	if (c->compress) {
		r = inflate_some(c, err);
		if (r != 0)
			return r;
		for (;;) {
			r = raw_read(c, tmp, sizeof(tmp), events_r, err);
			if (r <= 0)
				return r;
			if (mf_buf_append(&c->zraw, tmp, (size_t)r, err) < 0)
				return -1;
			r = inflate_some(c, err);
			if (r != 0)
				return r;
		}
	}
	if (in_reserve(c, IN_CHUNK, err) < 0)
		return -1;
	r = raw_read(c, c->in + c->in_end, c->in_cap - c->in_end, events_r,
		     err);
	if (r > 0)
		c->in_end += (size_t)r;
	return r;
}

static bool
has_buffered_input(struct imap_conn *c)
{
	return (c->ssl != NULL && SSL_pending(c->ssl) > 0) ||
	       (c->compress && c->zraw.len > 0);
}

int
imap_conn_read(struct imap_conn *c, int timeout_ms, struct mf_err *err)
{
	int64_t deadline = now_ms() +
			   (timeout_ms >= 0 ? timeout_ms : c->timeout_ms);
	struct pollfd pfd;
	short events;
	ssize_t r;
	int p;

	if (c->rfd < 0)
		return mf_err_set(err, MF_E_NET, "not connected");
	for (;;) {
		if (stop_check(c, err) < 0 || dl_check(c, false, err) < 0)
			return -1;
		r = read_some(c, &events, err);
		if (r < 0)
			return -1;
		if (r > 0)
			return 1;
		if (has_buffered_input(c))
			continue;
		pfd.fd = events == POLLOUT ? c->wfd : c->rfd;
		pfd.events = events;
		p = poll(&pfd, 1,
			 remaining_ms(dl_bound(c, stop_deadline(c, deadline))));
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return mf_err_sys(err, MF_E_NET, "%s: poll", c->label);
		if (p == 0 &&
		    (stop_check(c, err) < 0 || dl_check(c, false, err) < 0))
			return -1;
		if (p == 0 && now_ms() < deadline)
			continue; /* woken early by a deadline not yet due */
		if (p == 0) {
			if (timeout_ms >= 0)
				return 0;
			return mf_err_set(err, MF_E_NET,
					  "%s: timed out after "
					  "%d s waiting for the server",
					  c->label, c->timeout_ms / 1000);
		}
	}
}

const char *
imap_conn_input(const struct imap_conn *c, size_t *len_r)
{
	*len_r = c->in_end - c->in_start;
	return c->in + c->in_start;
}

void
imap_conn_consume(struct imap_conn *c, size_t n)
{
	c->in_start += n;
	if (c->in_start >= c->in_end)
		c->in_start = c->in_end = 0;
}

/* ---- output --------------------------------------------------------- */

int
imap_conn_write(struct imap_conn *c, const void *data, size_t len,
		struct mf_err *err)
{
	if (mf_buf_append(&c->out, data, len, err) < 0)
		return mf_err_prefix(err, "%s", c->label);
	if (c->out.len >= OUT_AUTOFLUSH)
		return imap_conn_flush(c, err);
	return 0;
}

size_t
imap_conn_output_pending(const struct imap_conn *c)
{
	return c->out.len + c->rawout.len;
}

static int
deflate_out(struct imap_conn *c, struct mf_err *err)
{
	char tmp[IN_CHUNK];
	int r;

	c->zout.next_in = (Bytef *)c->out.data;
	c->zout.avail_in = (uInt)c->out.len;
	do {
		c->zout.next_out = (Bytef *)tmp;
		c->zout.avail_out = sizeof(tmp);
		r = deflate(&c->zout, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return mf_err_set(err, MF_E_NET, "%s: deflate failed",
					  c->label);
		if (mf_buf_append(&c->rawout, tmp,
				  sizeof(tmp) - c->zout.avail_out, err) < 0)
			return -1;
	} while (c->zout.avail_out == 0);
	if (c->out.data != NULL)
		explicit_bzero(c->out.data, c->out.len);
	mf_buf_reset(&c->out);
	return 0;
}

int
imap_conn_flush(struct imap_conn *c, struct mf_err *err)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	struct mf_buf *b;
	size_t off = 0;
	struct pollfd pfd[2];
	short events;
	ssize_t r;
	int p;

	if (c->wfd < 0)
		return mf_err_set(err, MF_E_NET, "not connected");
	if (c->compress && c->out.len > 0 && deflate_out(c, err) < 0)
		return -1;
	b = c->compress ? &c->rawout : &c->out;
	while (off < b->len) {
		if (stop_check(c, err) < 0 || dl_check(c, true, err) < 0)
			return -1;
		r = write_nosigpipe(c, b->data + off, b->len - off, &events,
				    err);
		if (r < 0)
			return -1;
		if (r > 0) {
			off += (size_t)r;
			deadline = now_ms() + c->timeout_ms;
			continue;
		}
		/*
		 * Blocked: wait for the peer, and meanwhile take in what
		 * it sends, so a server writing responses to earlier
		 * commands never waits for us while we wait for it.
		 */
		pfd[0].fd = events == POLLIN ? c->rfd : c->wfd;
		pfd[0].events = events;
		pfd[1].fd = c->rfd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		p = poll(pfd, 2,
			 remaining_ms(dl_bound(c, stop_deadline(c, deadline))));
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return mf_err_sys(err, MF_E_NET, "%s: poll", c->label);
		if (p == 0 &&
		    (stop_check(c, err) < 0 || dl_check(c, true, err) < 0))
			return -1;
		if (p == 0 && now_ms() < deadline)
			continue;
		if (p == 0)
			return mf_err_set(err, MF_E_NET,
					  "%s: timed out after "
					  "%d s sending to the server",
					  c->label, c->timeout_ms / 1000);
		if ((pfd[1].revents & (POLLIN | POLLHUP)) &&
		    c->in_end - c->in_start < IN_MAX / 2) {
			short ev2;

			if (read_some(c, &ev2, err) < 0)
				return -1;
		}
	}
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	mf_buf_reset(b);
	return 0;
}

/* ---- TLS ------------------------------------------------------------ */

static void
hex_fingerprint(const unsigned char *md, unsigned n, char *out, size_t size)
{
	unsigned i;
	int o = snprintf(out, size, "sha256:");

	for (i = 0; i < n && (size_t)o + 3 <= size; i++)
		o += snprintf(out + o, size - (size_t)o, "%02x", md[i]);
}

/* "sha256:AB:cd..." -> 32 bytes; false if malformed. */
static bool
parse_pin(const char *pin, unsigned char md[32])
{
	size_t n = 0;
	const char *p;

	if (strncasecmp(pin, "sha256:", 7) != 0)
		return false;
	for (p = pin + 7; *p != '\0'; p++) {
		int hi, lo;

		if (*p == ':')
			continue;
		if (n == 32 || p[1] == '\0')
			return false;
		hi = OPENSSL_hexchar2int((unsigned char)p[0]);
		lo = OPENSSL_hexchar2int((unsigned char)p[1]);
		if (hi < 0 || lo < 0)
			return false;
		md[n++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	return n == 32;
}

static bool
is_ip_literal(const char *host)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, tmp) == 1 ||
	       inet_pton(AF_INET6, host, tmp) == 1;
}

static int
tls_handshake(struct imap_conn *c, struct mf_err *err)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	struct pollfd pfd;
	char msg[256];
	int r, p;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(c->ssl);
		if (r == 1)
			return 0;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			pfd.events = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			pfd.events = POLLOUT;
			break;
		default:
			ssl_errstr(msg, sizeof(msg));
			return mf_err_set(err, MF_E_NET,
					  "%s: TLS handshake "
					  "failed: %s",
					  c->label, msg);
		}
		pfd.fd = c->rfd;
		p = poll(&pfd, 1, remaining_ms(deadline));
		if (p < 0 && errno != EINTR)
			return mf_err_sys(err, MF_E_NET, "%s: poll", c->label);
		if (mf_cancel_signal() != 0)
			return mf_err_set(err, MF_E_CANCELED,
					  "%s: TLS "
					  "handshake interrupted by %s",
					  c->label, mf_cancel_name());
		if (p == 0)
			return mf_err_set(err, MF_E_NET,
					  "%s: TLS handshake "
					  "timed out",
					  c->label);
	}
}

static int
tls_verify(struct imap_conn *c, const struct imap_conn_tls *tls,
	   struct mf_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], pin[32];
	unsigned mdlen = 0;
	char fp[7 + 2 * EVP_MAX_MD_SIZE + 1];
	X509 *cert;
	long vr;

	cert = SSL_get1_peer_certificate(c->ssl);
	if (cert == NULL)
		return mf_err_set(err, MF_E_NET,
				  "%s: the server sent no TLS "
				  "certificate",
				  c->label);
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1) {
		X509_free(cert);
		return mf_err_set(err, MF_E_NET,
				  "%s: cannot hash the "
				  "certificate",
				  c->label);
	}
	X509_free(cert);
	hex_fingerprint(md, mdlen, fp, sizeof(fp));
	vr = SSL_get_verify_result(c->ssl);
	if (tls->fingerprint != NULL) {
		if (!parse_pin(tls->fingerprint, pin))
			return mf_err_set(err, MF_E_CONFIG,
					  "fingerprint '%s' "
					  "is not \"sha256:\" and 64 hex "
					  "digits",
					  tls->fingerprint);
		if (mdlen != 32 || CRYPTO_memcmp(md, pin, 32) != 0)
			return mf_err_set(err, MF_E_NET,
					  "%s: the server's "
					  "certificate (%s) does not match the "
					  "pinned fingerprint",
					  c->label, fp);
		if (vr != X509_V_OK)
			mf_log(MF_LOG_INFO, MF_LOGC_IMAP,
			       "%s: certificate "
			       "accepted by its pinned fingerprint although "
			       "it does not verify (%s)",
			       c->label, X509_verify_cert_error_string(vr));
		return 0;
	}
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH ||
	    vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return mf_err_set(err, MF_E_NET,
				  "%s: TLS certificate "
				  "verification failed: %s: the certificate "
				  "is not valid for '%s'; connect by a name "
				  "it is issued for, or pin it with "
				  "\"fingerprint: %s\"",
				  c->label, X509_verify_cert_error_string(vr),
				  tls->host, fp);
	if (vr != X509_V_OK)
		return mf_err_set(err, MF_E_NET,
				  "%s: TLS certificate "
				  "verification failed: %s; set \"ca_file:\" "
				  "to the CA that issued it, or pin it with "
				  "\"fingerprint: %s\"",
				  c->label, X509_verify_cert_error_string(vr),
				  fp);
	return 0;
}

int
imap_conn_start_tls(struct imap_conn *c, const struct imap_conn_tls *tls,
		    struct mf_err *err)
{
	char msg[256];

	if (c->ssl != NULL)
		return mf_err_set(err, MF_E_INTERNAL, "TLS already on");
	if (c->rfd != c->wfd)
		return mf_err_set(err, MF_E_CONFIG,
				  "TLS over a tunnel is "
				  "not supported");
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL)
		goto ssl_fail;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* checked by tls_verify() before anything is sent (see the top) */
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	if (tls->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, tls->ca_file, NULL) !=
		    1) {
			ssl_errstr(msg, sizeof(msg));
			return mf_err_set(err, MF_E_CONFIG,
					  "ca_file %s: "
					  "cannot load: %s",
					  tls->ca_file, msg);
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		goto ssl_fail;
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->rfd) != 1)
		goto ssl_fail;
	if (is_ip_literal(tls->host)) {
		/* RFC 6066: no SNI for an address; check the IP SAN */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
						  tls->host) != 1)
			goto ssl_fail;
	} else {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set_tlsext_host_name(c->ssl, tls->host) != 1 ||
		    SSL_set1_host(c->ssl, tls->host) != 1)
			goto ssl_fail;
	}
	if (tls_handshake(c, err) < 0 || tls_verify(c, tls, err) < 0)
		return -1;
	mf_debug(MF_LOGC_IMAP, "%s: %s, %s", c->label, SSL_get_version(c->ssl),
		 SSL_get_cipher_name(c->ssl));
	return 0;
ssl_fail:
	ssl_errstr(msg, sizeof(msg));
	return mf_err_set(err, MF_E_NET, "%s: TLS setup: %s", c->label, msg);
}

/* ---- COMPRESS=DEFLATE ----------------------------------------------- */

int
imap_conn_start_compress(struct imap_conn *c, struct mf_err *err)
{
	size_t len;
	const char *rest;

	if (c->compress)
		return 0;
	memset(&c->zin, 0, sizeof(c->zin));
	memset(&c->zout, 0, sizeof(c->zout));
	/* RFC 4978: raw deflate (no zlib header), hence -15 */
	if (inflateInit2(&c->zin, -15) != Z_OK)
		return mf_err_set(err, MF_E_NET, "inflateInit failed");
	if (deflateInit2(&c->zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&c->zin);
		return mf_err_set(err, MF_E_NET, "deflateInit failed");
	}
	c->compress = true;
	/* anything already read after the OK line is compressed */
	rest = imap_conn_input(c, &len);
	if (len > 0) {
		if (mf_buf_append(&c->zraw, rest, len, err) < 0)
			return -1;
		imap_conn_consume(c, len);
	}
	return 0;
}
