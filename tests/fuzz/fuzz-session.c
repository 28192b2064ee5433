/*
 * libFuzzer target for a whole sync session: the input is what an IMAP
 * server says, from the greeting to the answer to LOGOUT, and mailferry
 * syncs that account into a fresh temporary Maildir with a fresh state
 * database, with the whole engine (sync/), both stores and the state.
 *
 * Input format (tests/fuzz/corpus-session/ has real Dovecot sessions,
 * recorded by session-seed.py):
 *
 *   [%LETTERS\n]  options, one letter each (below)
 *   TURN @@@ TURN @@@ ...            the server's turns of one sync run
 *   @@@! TURN @@@ ...                a second (and third) run, same state
 *
 * A connection's first turn is its greeting; before each later one the
 * fake server reads one client command (a line, the literals it
 * announces with {N+}, up to a synchronizing {N}, whose "+" the next turn
 * gives), and sends the turn verbatim with every "$T" replaced by the
 * command's tag.  So a turn is one tagged answer, or one continuation, and
 * the tags the client chooses never have to be guessed.  A reconnect
 * takes the next turn as its greeting.  When the run's turns are used up,
 * or the client sends nothing and is found asleep (waiting for an answer
 * the input did not give; /proc tells) or busy past WAIT_MS, the server
 * closes: the client sees EOF at once, so nothing stalls.
 *
 * Options:  p  maildir++ layout (else fs)     s  max_size 2000 (placeholders)
 *           k  expunge on neither side (else both, the default)
 *           r  remove vanished folders
 *           n  a message in the near INBOX before the first run (a push)
 *           c  before each later run, every near file in INBOX gets \Seen
 *           d  before each later run, the first near file in INBOX goes
 *
 * After every run, the promises checked (a violation is __builtin_trap):
 *   a) nothing was made outside the Maildir root: the input's directory
 *      holds only the root, the state files and an empty cwd/ (the
 *      process's working directory), the one above it only that and an
 *      empty tmp/ ($TMPDIR, where the IMAP store spools);
 *      under the root there are only directories and regular files, no
 *      symbolic link, no file with a second hard link;
 *   b) every state row that names a near key (and is not pending) has a
 *      file with that key in its folder's cur/ or new/: a row without its
 *      file reads as a local deletion next run and deletes on the server
 *      (the files option d removed are the exception: their deletion is
 *      for a run to carry over).
 *
 * The fake server runs in a thread on a socketpair, handed to the IMAP
 * store by the tunnel test hook (imap-conn.h).  Sleeps return at once
 * (nanosleep and usleep are replaced below): the engine's waits for a
 * server to settle are a matter of turns here, not of time.
 *
 * Files: one directory per process in $TMPDIR (else /dev/shm, else /tmp),
 * removed at exit, holding the process's tmp/ and one input's directory.
 * MF_FUZZ_DEBUG=1 prints the log (the protocol trace too) and each run's
 * outcome; MF_FUZZ_WAIT_MS sets WAIT_MS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "imap/imap-conn.h"
#include "imap/imap-store.h"
#include "maildir/mdir-name.h"
#include "maildir/mdir-path.h"
#include "maildir/mdir-store.h"
#include "state.h"
#include "sync.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RUNS 3
#define WAIT_MS 500 /* MF_FUZZ_WAIT_MS overrides */
#define SEP "@@@"
#define RUN_SEP "@@@!"

#define VIOLATION(...) \
	do { \
		fprintf(stderr, "fuzz-session: " __VA_ARGS__); \
		fprintf(stderr, "\n"); \
		__builtin_trap(); \
	} while (0)

/* Time does not pass for the engine (see the header). */
int
nanosleep(const struct timespec *req, struct timespec *rem)
{
	(void)req;
	if (rem != NULL)
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

int
usleep(useconds_t usec)
{
	(void)usec;
	return 0;
}

/* ---- the fake server ------------------------------------------------ */

struct fake {
	const char *data;
	size_t pos, end; /* the current run's turns not yet sent */
	bool exhausted;	 /* the last turn of the run is sent */
	int fd;		 /* the server's end, for the thread */
	/* the command reader */
	char tag[32];
	char line[1024]; /* the current line (its end, when longer) */
	size_t line_len;
	uint64_t literal; /* literal bytes still to skip */
	char in[8192];
	size_t in_start, in_end;
};

static struct fake fake;
static char top_dir[256]; /* the process's: tmp/ and one input's dir */
static char tmp_dir[300]; /* top_dir/tmp: $TMPDIR (the IMAP spool) */
static int wait_ms = WAIT_MS;
static pid_t client_tid; /* the thread that connects: the engine's */

/* The next turn of the run, or false when there is none. */
static bool
next_turn(struct fake *f, const char **turn_r, size_t *len_r)
{
	const char *start = f->data + f->pos, *sep;

	if (f->exhausted)
		return false;
	sep = memmem(start, f->end - f->pos, SEP, strlen(SEP));
	*turn_r = start;
	if (sep == NULL) {
		*len_r = f->end - f->pos;
		f->pos = f->end;
		f->exhausted = true;
	} else {
		*len_r = (size_t)(sep - start);
		f->pos += *len_r + strlen(SEP);
	}
	return true;
}

/* Wait for fd to be ready for events; false on timeout or hangup. */
static bool
ready(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, wait_ms) == 1 && (p.revents & events);
}

/* Is the client's thread asleep?  It sleeps only in poll(), waiting for
 * the server (sqlite's and the Maildir's waits are in D state). */
static bool
client_asleep(void)
{
	char path[64], buf[512];
	const char *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat",
		 (long)client_tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'S';
}

/*
 * Wait for the client's next command.  When nothing has come and the
 * client is asleep twice 1 ms apart, it waits for an answer this input
 * did not give: give up at once instead of after WAIT_MS, which is then
 * only the bound for a client that is busy (most of the fuzzer's time
 * would otherwise go to such waits).
 */
static bool
readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int waited, asleep = 0;

	for (waited = 0; waited < wait_ms; waited++) {
		p.revents = 0;
		if (poll(&p, 1, 1) == 1)
			return (p.revents & (POLLIN | POLLHUP)) != 0;
		asleep = client_asleep() ? asleep + 1 : 0;
		if (asleep == 2)
			return false;
	}
	return false;
}

static bool
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;

		if (!ready(fd, POLLOUT))
			return false;
		w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* The turn with every "$T" replaced by the tag. */
static bool
send_turn(struct fake *f, const char *turn, size_t len)
{
	const char *t;

	while ((t = memmem(turn, len, "$T", 2)) != NULL) {
		if (!send_all(f->fd, turn, (size_t)(t - turn)) ||
		    !send_all(f->fd, f->tag, strlen(f->tag)))
			return false;
		len -= (size_t)(t - turn) + 2;
		turn = t + 2;
	}
	return send_all(f->fd, turn, len);
}

/* A command's first line starts with its tag: ours are "A<digits> ".  A
 * line without one (an AUTHENTICATE answer, IDLE's DONE) keeps the last. */
static void
take_tag(struct fake *f)
{
	const char *l = f->line;
	size_t i = 1;

	if (f->line_len < 3 || l[0] != 'A')
		return;
	while (i < f->line_len && l[i] >= '0' && l[i] <= '9')
		i++;
	if (i == 1 || i >= sizeof(f->tag) || i >= f->line_len || l[i] != ' ')
		return;
	memcpy(f->tag, l, i);
	f->tag[i] = '\0';
}

/* A line ended: the literal it announces, if any.  True when the command
 * is complete: no literal, or a synchronizing one ({N}, no "+"), whose
 * continuation the next turn gives. */
static bool
line_done(struct fake *f)
{
	char *l = f->line, *open;
	size_t n = f->line_len;

	while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
		n--;
	if (n < 3 || l[n - 1] != '}')
		return true;
	l[n - 1] = '\0';
	open = memrchr(l, '{', n);
	if (open == NULL)
		return true;
	f->literal = strtoull(open + 1, NULL, 10);
	return l[n - 2] != '+';
}

/* Fill the input buffer; false on EOF, error or WAIT_MS of silence. */
static bool
fill(struct fake *f)
{
	for (;;) {
		ssize_t r;

		if (!readable(f->fd))
			return false;
		r = recv(f->fd, f->in, sizeof(f->in), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return false;
		f->in_start = 0;
		f->in_end = (size_t)r;
		return true;
	}
}

/* Add c to the line; a line longer than the buffer keeps its end, where
 * a literal's size is. */
static void
line_add(struct fake *f, char c, bool first)
{
	if (f->line_len == sizeof(f->line) - 1) {
		if (first)
			take_tag(f);
		memmove(f->line, f->line + sizeof(f->line) / 2,
			f->line_len - sizeof(f->line) / 2);
		f->line_len -= sizeof(f->line) / 2;
	}
	f->line[f->line_len++] = c;
	f->line[f->line_len] = '\0';
}

/* Read one client command (what comes after it stays buffered). */
static bool
read_command(struct fake *f)
{
	bool first = true;

	f->line_len = 0;
	for (;;) {
		char c;

		if (f->in_start == f->in_end && !fill(f))
			return false;
		if (f->literal > 0) {
			size_t n = f->in_end - f->in_start;

			if (n > f->literal)
				n = (size_t)f->literal;
			f->in_start += n;
			f->literal -= n;
			continue;
		}
		c = f->in[f->in_start++];
		line_add(f, c, first);
		if (c != '\n')
			continue;
		if (first)
			take_tag(f);
		if (line_done(f))
			return true;
		f->line_len = 0;
		first = false;
	}
}

static void
serve(struct fake *f)
{
	const char *turn;
	size_t len;

	if (next_turn(f, &turn, &len) && send_turn(f, turn, len))
		while (read_command(f) && next_turn(f, &turn, &len) &&
		       send_turn(f, turn, len))
			;
	close(f->fd);
}

/*
 * One server thread for the whole process, handed one connection at a
 * time: a thread per connection would leave its stack and TLS to the
 * next input, and LeakSanitizer would then scan after every input.
 */
static pthread_mutex_t server_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t server_cv = PTHREAD_COND_INITIALIZER;
static bool server_busy; /* a connection is handed over, not yet done */

static void *
server_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&server_mu);
		while (!server_busy)
			pthread_cond_wait(&server_cv, &server_mu);
		pthread_mutex_unlock(&server_mu);
		serve(&fake);
		pthread_mutex_lock(&server_mu);
		server_busy = false;
		pthread_cond_broadcast(&server_cv);
		pthread_mutex_unlock(&server_mu);
	}
	return NULL;
}

/* Wait until the connection handed over is served. */
static void
fake_join(void)
{
	pthread_mutex_lock(&server_mu);
	while (server_busy)
		pthread_cond_wait(&server_cv, &server_mu);
	pthread_mutex_unlock(&server_mu);
}

/* imap_conn_test_tunnel: a new connection to the fake. */
static int
fake_connect(const char *command)
{
	int sv[2];

	(void)command;
	fake_join();
	client_tid = (pid_t)syscall(SYS_gettid);
	if (fake.exhausted) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fake.fd = sv[1];
	fake.tag[0] = '\0';
	fake.literal = 0;
	fake.in_start = fake.in_end = 0;
	pthread_mutex_lock(&server_mu);
	server_busy = true;
	pthread_cond_broadcast(&server_cv);
	pthread_mutex_unlock(&server_mu);
	return sv[0];
}

/* ---- the run's directory -------------------------------------------- */

struct run_dirs {
	char base[300];	 /* the input's directory, under top_dir */
	char root[320];	 /* base/mail: the Maildir root */
	char state[320]; /* base/state.db */
	char cwd[320];	 /* base/cwd: the working directory */
	enum mdir_layout layout;
	/* keys of the near files option d removed: their rows may stay
	 * until a run gets to carry the deletion over */
	char *dropped[MAX_RUNS];
	size_t ndropped;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		chmod(path, 0700); /* so that what it held could go */
	if (remove(path) < 0 && type != FTW_DP)
		VIOLATION("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

static void
rm_tree(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		VIOLATION("cannot remove %s: %s", path, strerror(errno));
}

static void
dirs_make(struct run_dirs *d)
{
	snprintf(d->base, sizeof(d->base), "%s/in.XXXXXX", top_dir);
	if (mkdtemp(d->base) == NULL)
		VIOLATION("mkdtemp %s: %s", d->base, strerror(errno));
	snprintf(d->root, sizeof(d->root), "%s/mail", d->base);
	snprintf(d->state, sizeof(d->state), "%s/state.db", d->base);
	snprintf(d->cwd, sizeof(d->cwd), "%s/cwd", d->base);
	if (mkdir(d->cwd, 0700) < 0 || chdir(d->cwd) < 0)
		VIOLATION("set up %s: %s", d->base, strerror(errno));
}

/* ---- the checks ----------------------------------------------------- */

static bool
dir_is_empty(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (dir == NULL)
		VIOLATION("%s: %s", path, strerror(errno));
	while ((e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(dir);
	return empty;
}

/* What the input's directory (and the one above) may hold after a run. */
static void
check_outside(const struct run_dirs *d)
{
	static const char *const allowed[] = {
		".",   "..", "mail", "state.db", "state.db-wal", "state.db-shm",
		"cwd",
	};
	DIR *dir = opendir(d->base);
	struct dirent *e;
	size_t i, n = 0;

	if (dir == NULL)
		VIOLATION("%s: %s", d->base, strerror(errno));
	while ((e = readdir(dir)) != NULL) {
		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcmp(e->d_name, allowed[i]) == 0)
				break;
		if (i == sizeof(allowed) / sizeof(allowed[0]))
			VIOLATION("%s/%s made outside the root", d->base,
				  e->d_name);
	}
	closedir(dir);
	if (!dir_is_empty(tmp_dir) || !dir_is_empty(d->cwd))
		VIOLATION("a file left in %s or %s", tmp_dir, d->cwd);
	dir = opendir(top_dir);
	while (dir != NULL && (e = readdir(dir)) != NULL)
		n++;
	if (dir == NULL || n != 4)
		VIOLATION("%s holds more than tmp/ and the input's directory",
			  top_dir);
	closedir(dir);
}

static int
check_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_SL || type == FTW_SLN || S_ISLNK(st->st_mode))
		VIOLATION("a symbolic link under the root: %s", path);
	if (type == FTW_NS || type == FTW_DNR)
		VIOLATION("cannot read %s", path);
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode))
		VIOLATION("neither a file nor a directory: %s", path);
	if (S_ISREG(st->st_mode) && st->st_nlink != 1)
		VIOLATION("%s has %lu links", path,
			  (unsigned long)st->st_nlink);
	return 0;
}

/* Is there a file with key in dir/cur or dir/new? */
static bool
key_in_dir(const char *dir, const char *key)
{
	static const char *const subs[] = { "cur", "new" };
	bool found = false;
	size_t i;

	for (i = 0; i < 2 && !found; i++) {
		char *path = xasprintf("%s/%s", dir, subs[i]);
		DIR *dh = opendir(path);
		struct dirent *e;

		free(path);
		while (dh != NULL && !found && (e = readdir(dh)) != NULL) {
			struct mdir_name n;
			char *k;

			mdir_name_parse(e->d_name, strlen(e->d_name), &n);
			k = xmalloc(n.key_len + 1);
			mdir_name_key(&n, k);
			found = strcmp(k, key) == 0;
			free(k);
		}
		if (dh != NULL)
			closedir(dh);
	}
	return found;
}

static bool
was_dropped(const struct run_dirs *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->ndropped; i++)
		if (strcmp(d->dropped[i], key) == 0)
			return true;
	return false;
}

static void
check_box_rows(const struct run_dirs *d, struct state_db *db,
	       const struct state_box *b)
{
	struct state_msg_list *rows = NULL;
	struct mf_err err = { 0 };
	char *rel = NULL, *dir;
	size_t i;

	if (b->near_name == NULL)
		return;
	if (mdir_path_from_box(d->layout, b->near_name, strlen(d->root), &rel,
			       &err) < 0)
		VIOLATION("state folder %s has no directory: %s", b->near_name,
			  err.msg);
	if (state_msgs_load(db, b->id, &rows, &err) < 0)
		VIOLATION("state rows of %s: %s", b->near_name, err.msg);
	dir = rel[0] != '\0' ? xasprintf("%s/%s", d->root, rel) :
			       xstrdup(d->root);
	for (i = 0; i < rows->n; i++) {
		const struct state_msg *m = &rows->v[i];

		if (m->near_key != NULL && m->pending == STATE_PENDING_NONE &&
		    !was_dropped(d, m->near_key) &&
		    !key_in_dir(dir, m->near_key))
			VIOLATION("state row for %s in %s (far UID %u) has no "
				  "file",
				  m->near_key, b->near_name, m->far_uid);
	}
	free(dir);
	free(rel);
	state_msg_list_free(&rows);
}

/* Every row that names a near key has its file. */
static void
check_rows(const struct run_dirs *d)
{
	struct state_box_list *boxes = NULL;
	struct state_db *db = NULL;
	struct mf_err err = { 0 };
	size_t i;

	if (access(d->state, F_OK) != 0)
		return; /* the run failed before it opened the state */
	if (state_open(d->state, true, &db, &err) < 0 ||
	    state_box_list(db, &boxes, &err) < 0)
		VIOLATION("reading the state: %s", err.msg);
	for (i = 0; i < boxes->n; i++)
		check_box_rows(d, db, &boxes->v[i]);
	state_box_list_free(&boxes);
	state_close(&db);
}

static void
check_run(const struct run_dirs *d)
{
	check_outside(d);
	if (access(d->root, F_OK) == 0 &&
	    nftw(d->root, check_one, 16, FTW_PHYS) < 0)
		VIOLATION("walking %s: %s", d->root, strerror(errno));
	check_rows(d);
}

/* ---- the near side between runs ------------------------------------- */

struct opts {
	bool maildirpp, max_size, keep, remove, near_msg, seen, drop;
};

/* The near INBOX's directory, cur/ or new/. */
static char *
inbox_sub(const struct run_dirs *d, const char *sub)
{
	if (d->layout == MDIR_LAYOUT_MAILDIRPP)
		return xasprintf("%s/%s", d->root, sub);
	return xasprintf("%s/INBOX/%s", d->root, sub);
}

/* A message in the near INBOX, as a mail reader would leave it. */
static void
near_add(const struct run_dirs *d, unsigned n)
{
	static const char msg[] = "From: a@example.org\r\n"
				  "To: b@example.org\r\n"
				  "Subject: local %u\r\n"
				  "Message-ID: <local%u@example.org>\r\n"
				  "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
				  "\r\n"
				  "written here\r\n";
	char *inbox = d->layout == MDIR_LAYOUT_MAILDIRPP ?
			      xstrdup(d->root) :
			      xasprintf("%s/INBOX", d->root);
	char *cur = inbox_sub(d, "cur"), *path;
	const char *subs[] = { "cur", "new", "tmp" };
	FILE *fp;
	size_t i;

	mkdir(d->root, 0700);
	mkdir(inbox, 0700);
	for (i = 0; i < 3; i++) {
		path = xasprintf("%s/%s", inbox, subs[i]);
		mkdir(path, 0700);
		free(path);
	}
	path = xasprintf("%s/1700000000.local%u.host:2,", cur, n);
	fp = fopen(path, "w");
	if (fp == NULL)
		VIOLATION("%s: %s", path, strerror(errno));
	fprintf(fp, msg, n, n);
	fclose(fp);
	free(path);
	free(cur);
	free(inbox);
}

/* Options c and d: \Seen on every file in the near INBOX's cur/, the
 * first one removed. */
static void
near_change(struct run_dirs *d, const struct opts *o)
{
	char *cur = inbox_sub(d, "cur");
	DIR *dir = opendir(cur);
	struct dirent *e;
	bool dropped = false;

	while (dir != NULL && (e = readdir(dir)) != NULL) {
		char *from, *to;

		if (e->d_name[0] == '.')
			continue;
		from = xasprintf("%s/%s", cur, e->d_name);
		if (o->drop && !dropped && d->ndropped < MAX_RUNS) {
			struct mdir_name n;
			char *key;

			mdir_name_parse(e->d_name, strlen(e->d_name), &n);
			key = xmalloc(n.key_len + 1);
			mdir_name_key(&n, key);
			d->dropped[d->ndropped++] = key;
			unlink(from);
			dropped = true;
		} else if (o->seen && strchr(e->d_name, ':') == NULL) {
			to = xasprintf("%s:2,S", from);
			rename(from, to);
			free(to);
		} else if (o->seen && strchr(e->d_name, 'S') == NULL) {
			to = xasprintf("%sS", from);
			rename(from, to);
			free(to);
		}
		free(from);
	}
	if (dir != NULL)
		closedir(dir);
	free(cur);
}

/* ---- one sync run --------------------------------------------------- */

static int
get_secret(void *ctx, enum imap_secret_kind kind, char **secret_r,
	   struct mf_err *err)
{
	(void)ctx;
	(void)kind;
	(void)err;
	*secret_r = xstrdup("fuzz-pw");
	return 0;
}

static void
print_log(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	(void)cat;
	(void)ctx;
	fprintf(stderr, "log %d: %s\n", (int)level, msg);
}

static void
report(void *ctx, const struct sync_box_report *r)
{
	(void)ctx;
	(void)r;
}

static void
one_run(const struct run_dirs *d, const struct opts *o)
{
	static const char *const folders[] = { "*" };
	struct imap_store_cfg icfg = { 0 };
	struct mdir_store_cfg mcfg = { 0 };
	struct sync_policy pol = { 0 };
	struct sync_opts so = { 0 };
	struct sync_summary sum;
	struct mf_store *far = NULL, *near = NULL;
	struct state_db *db = NULL;
	struct mf_err err = { 0 };

	icfg.name = "far";
	icfg.tunnel = "fuzz";
	icfg.user = "fuzz";
	icfg.get_secret = get_secret;
	icfg.timeout_ms = 2000;
	icfg.command_timeout_ms = 2000;
	mcfg.name = "near";
	mcfg.path = d->root;
	mcfg.layout = d->layout;
	mcfg.create_root = true;
	mcfg.no_fsync = true;
	mcfg.tidy_tmp = true;
	pol.pull = pol.push = SYNC_ALL;
	pol.expunge = o->keep ? 0 : SYNC_SIDE_BOTH;
	pol.create = SYNC_SIDE_BOTH;
	pol.remove = o->remove ? SYNC_SIDE_BOTH : 0;
	pol.folders = folders;
	pol.nfolders = 1;
	pol.max_size = o->max_size ? 2000 : 0;
	if (state_open(d->state, false, &db, &err) < 0 ||
	    imap_store_create(&icfg, &far, &err) < 0 ||
	    mdir_store_create(&mcfg, &near, &err) < 0)
		goto out;
	so.channel = "fuzz";
	so.far = far;
	so.near = near;
	so.db = db;
	so.policy = &pol;
	so.now = 1735689600; /* 2025-01-01: no run depends on the clock */
	so.report = report;
	if (sync_run(&so, &sum, &err) == 0)
		err.msg[0] = '\0';
out:
	if (getenv("MF_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "fuzz-session: run: %s\n",
			err.msg[0] != '\0' ? err.msg : "ok");
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	state_close(&db);
	fake_join();
}

/* ---- libFuzzer ------------------------------------------------------ */

static void
parse_opts(const uint8_t *data, size_t size, struct opts *o, size_t *skip_r)
{
	const char *nl;
	size_t i;

	memset(o, 0, sizeof(*o));
	*skip_r = 0;
	if (size == 0 || data[0] != '%' ||
	    (nl = memchr(data, '\n', size < 64 ? size : 64)) == NULL)
		return;
	*skip_r = (size_t)(nl - (const char *)data) + 1;
	for (i = 1; i < *skip_r; i++) {
		switch (data[i]) {
		case 'p':
			o->maildirpp = true;
			break;
		case 's':
			o->max_size = true;
			break;
		case 'k':
			o->keep = true;
			break;
		case 'r':
			o->remove = true;
			break;
		case 'n':
			o->near_msg = true;
			break;
		case 'c':
			o->seen = true;
			break;
		case 'd':
			o->drop = true;
			break;
		default:
			break;
		}
	}
}

static void
remove_top(void)
{
	if (chdir("/") == 0)
		rm_tree(top_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR"), *w = getenv("MF_FUZZ_WAIT_MS");
	pthread_t server;

	(void)argc;
	(void)argv;
	if (w != NULL && strtol(w, NULL, 10) > 0)
		wait_ms = (int)strtol(w, NULL, 10);
	/* $TMPDIR, else tmpfs if there is one: the state is fsynced */
	if (tmp == NULL || tmp[0] == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(top_dir, sizeof(top_dir), "%s/fuzz-session.XXXXXX", tmp);
	if (mkdtemp(top_dir) == NULL)
		VIOLATION("mkdtemp %s: %s", top_dir, strerror(errno));
	/* set once: setenv() per input would leak by design */
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/tmp", top_dir);
	if (mkdir(tmp_dir, 0700) < 0)
		VIOLATION("mkdir %s: %s", tmp_dir, strerror(errno));
	setenv("TMPDIR", tmp_dir, 1);
	atexit(remove_top);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("MF_FUZZ_DEBUG") != NULL) {
		mf_log_set_level(MF_LOG_DEBUG);
		mf_log_set_debug(MF_LOGC_ALL);
		mf_log_set_handler(print_log, NULL);
	} else {
		mf_log_set_handler(NULL, NULL);
	}
	imap_conn_test_tunnel = fake_connect;
	if (pthread_create(&server, NULL, server_main, NULL) != 0)
		VIOLATION("cannot start the server thread");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_dirs d;
	struct opts o;
	size_t pos, run;
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	parse_opts(data, size, &o, &pos);
	memset(&d, 0, sizeof(d));
	dirs_make(&d);
	d.layout = o.maildirpp ? MDIR_LAYOUT_MAILDIRPP : MDIR_LAYOUT_FS;
	if (o.near_msg)
		near_add(&d, 1);
	memset(&fake, 0, sizeof(fake));
	fake.data = (const char *)data;
	for (run = 0; run < MAX_RUNS && pos <= size; run++) {
		const char *sep = memmem(data + pos, size - pos, RUN_SEP,
					 strlen(RUN_SEP));

		if (getenv("MF_FUZZ_DEBUG") != NULL)
			fprintf(stderr, "fuzz-session: run %zu\n", run + 1);

		fake.pos = pos;
		fake.end = sep != NULL ? (size_t)(sep - (const char *)data) :
					 size;
		fake.exhausted = fake.pos == fake.end; /* no greeting */
		if (run > 0)
			near_change(&d, &o);
		one_run(&d, &o);
		check_run(&d);
		if (sep == NULL)
			break;
		pos = fake.end + strlen(RUN_SEP);
	}
	if (here >= 0) {
		if (fchdir(here) < 0)
			VIOLATION("fchdir: %s", strerror(errno));
		close(here);
	}
	rm_tree(d.base);
	for (run = 0; run < d.ndropped; run++)
		free(d.dropped[run]);
	return 0;
}
