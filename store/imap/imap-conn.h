/*
 * The byte pipe under the IMAP client: a TCP socket (IPv6 or IPv4), TLS on
 * top (implicit or after STARTTLS), or a tunnel command on two pipes, with
 * optional COMPRESS=DEFLATE (RFC 4978) as the innermost layer.
 *
 * Everything blocks with a timeout (poll); the fds themselves are
 * non-blocking so a connect or a read can never hang past it.  Errors are
 * class MF_E_NET and name host:port (or "tunnel").
 *
 * Input: imap_conn_read() appends whatever arrived to an internal buffer
 * that the caller looks at with imap_conn_input() and drops with
 * imap_conn_consume().  Output: imap_conn_write() buffers, imap_conn_flush()
 * sends.  While a flush waits for the peer, it keeps reading input so that
 * a server busy writing responses can never deadlock against us.
 */
#ifndef MF_IMAP_CONN_H
#define MF_IMAP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compat.h"
#include "base/err.h"

struct imap_conn;

struct imap_conn_tls {
	const char *host;	 /* checked against the certificate, SNI */
	const char *ca_file;	 /* NULL: system store */
	const char *fingerprint; /* "sha256:HEX" (colons allowed) or NULL */
};

/* timeout_ms: connect and read timeout (0 = 60 s). */
struct imap_conn *imap_conn_create(int timeout_ms);
/* The base of every deadline (below); 0: 10 x the read timeout. */
void imap_conn_set_command_timeout(struct imap_conn *c, int ms);
/* Closes everything; reaps a tunnel child.  NULLs *c. */
void imap_conn_destroy(struct imap_conn **c);

int imap_conn_connect(struct imap_conn *c, const char *host, unsigned port,
		      struct mf_err *err) MF_WARN_UNUSED;
/* Run command with /bin/sh -c on two pipes (stderr inherited). */
int imap_conn_tunnel(struct imap_conn *c, const char *command,
		     struct mf_err *err) MF_WARN_UNUSED;
/*
 * For tests/fuzz/fuzz-session.c only: when set, imap_conn_tunnel() starts
 * no command and takes its peer from this function instead, a connected
 * socket (read and written both) that the connection then owns; -1 with
 * errno set fails the tunnel.  It is still a tunnel (imap_conn_is_tunnel),
 * so an in-process fake server drives the same code a real one does.
 */
typedef int imap_conn_tunnel_fn(const char *command);
extern imap_conn_tunnel_fn *imap_conn_test_tunnel;
/*
 * TLS handshake and verification.  On failure nothing was sent over the
 * connection and the message says why and what to configure.  With a pin,
 * a matching certificate is accepted even if its chain does not verify.
 */
int imap_conn_start_tls(struct imap_conn *c, const struct imap_conn_tls *tls,
			struct mf_err *err) MF_WARN_UNUSED;
/* Start deflate both ways (after the server's OK to COMPRESS). */
int imap_conn_start_compress(struct imap_conn *c,
			     struct mf_err *err) MF_WARN_UNUSED;

bool imap_conn_is_tls(const struct imap_conn *c);
bool imap_conn_is_tunnel(const struct imap_conn *c);
/* "host:port" or "tunnel", for messages. */
const char *imap_conn_label(const struct imap_conn *c);

int imap_conn_write(struct imap_conn *c, const void *data, size_t len,
		    struct mf_err *err) MF_WARN_UNUSED;
int imap_conn_flush(struct imap_conn *c, struct mf_err *err) MF_WARN_UNUSED;
size_t imap_conn_output_pending(const struct imap_conn *c);

/*
 * Wait up to timeout_ms (-1: the connection's timeout) for input and add it
 * to the buffer.  Returns 1 when bytes arrived, 0 on timeout when
 * timeout_ms >= 0 was given, -1 on error, end of stream or (with -1) the
 * connection's own timeout.
 */
int imap_conn_read(struct imap_conn *c, int timeout_ms,
		   struct mf_err *err) MF_WARN_UNUSED;
const char *imap_conn_input(const struct imap_conn *c, size_t *len_r);
void imap_conn_consume(struct imap_conn *c, size_t n);

/*
 * Deadlines.  The read timeout starts again at every byte, so on its own it
 * lets a server that never stops talking (a keepalive line every second,
 * one byte at a time) hold us for ever.  A deadline bounds one exchange as
 * a whole: it expires the command timeout after its start, plus one second
 * for every IMAP_CONN_FLOOR_RATE bytes moved on the wire since then (either
 * way, counted as they move, not as a literal announces them: a server can
 * announce 4 GB and then drip), plus at most IMAP_CONN_MAX_EXTEND_S in all.
 * So a transfer keeps its deadline ahead of it as long as it runs at the
 * floor rate or faster, and nothing takes longer than base + the cap.
 * Bytes written count when the kernel takes them, so a server that stops
 * reading still gets the time its socket buffer is worth, once.  With
 * COMPRESS the compressed bytes count: what inflates cannot buy time.
 *
 * While one is set, every read and flush fails on expiry with MF_E_NET,
 * "host:port: WHAT: no answer within N s (server kept sending)" (N: the
 * time it was given; "server silent" when nothing came, "not sent ...
 * (server not reading)" in a flush), and the connection is closed: what
 * arrives after that cannot be trusted.
 */
#define IMAP_CONN_FLOOR_RATE (10 * 1024)  /* bytes per second */
#define IMAP_CONN_MAX_EXTEND_S (4 * 3600) /* seconds */

/* A monotonic clock in ms, and the bytes moved so far: a start mark. */
int64_t imap_conn_now_ms(void);
uint64_t imap_conn_moved(const struct imap_conn *c);
/*
 * Bytes read from and written to the peer over this connection's life:
 * what passed between deflate and the socket, so the compressed counts
 * after COMPRESS (RFC 4978); over TLS the record payloads (TLS framing
 * and handshake not counted); a tunnel's pipes as they are.
 */
void imap_conn_wire(const struct imap_conn *c, uint64_t *read_r,
		    uint64_t *written_r);
/* When an exchange started at (start_ms, moved) expires, as things are. */
int64_t imap_conn_deadline_of(const struct imap_conn *c, int64_t start_ms,
			      uint64_t moved);
/* Bound every wait by that deadline; what ("A5 UID FETCH") is copied for
 * the message.  what NULL: no deadline, only the read timeout. */
void imap_conn_set_deadline(struct imap_conn *c, int64_t start_ms,
			    uint64_t moved, const char *what);

#endif
