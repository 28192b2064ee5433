/*
 * mailferry migrate --batch FILE [--jobs N] [--per-server M] [--verify]
 *
 * Many migrations, one account pair a line of FILE (batch-file.h), up to N
 * at once, and with --per-server at most M at once on any one server
 * (host and port, source and destination alike: a pair holds one session
 * on each side, two on a server that is both).  Providers limit sessions
 * per client address (Gmail and Microsoft 365 refuse or throttle past a
 * few dozen; Dovecot's mail_max_userip_connections is per user and
 * address), and a batch of thousands of accounts on one old server must
 * not hammer it with all N: the pairs are taken in file order, a pair
 * whose server is full waits and a later one on other servers goes
 * first.  A pair always fits on servers where nothing of the batch runs,
 * so a cap below two still runs a pair whose two sides are one server.  Each pair gets a directory of its own under the batch
 * directory, <state_dir>/batch-<basename FILE>/<name>/:
 *
 *   config.yaml  accounts "src" and "dst" and a state_dir next to it
 *                (0600; it names the credentials' commands, never holds a
 *                password), rewritten on every run
 *   state/       the migration's state (migrate.src.dst.db)
 *   log          stdout and stderr of the child's last run
 *   done         written (atomically) when a run exited 0
 *
 * Each pair runs as a child process, `mailferry -c config.yaml migrate src
 * dst`, so that a pair that crashes, hangs on a server or leaks takes no
 * other down, and so that each one's resume is migrate's own: a pair with
 * "done" is skipped by the next run of the batch, any other is run again
 * and goes on where it stopped (a batch killed with -9 included).  One
 * batch at a time per directory (a lock file).  SIGINT/SIGTERM: SIGTERM to
 * the running children, which stop at a safe point; no new one is started;
 * exit 128+N after they are gone.  A parent killed outright takes its
 * children down too (SIGTERM by PR_SET_PDEATHSIG, a safe stop).  The end
 * is a table on stdout (--json: JSON Lines, an object per pair).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "batch-file.h"
#include "cmd.h"
#include "config.h"
#include "json.h"

enum job_state {
	JOB_PENDING,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_SKIPPED,
};

struct job {
	const struct batch_pair *pair;
	char *dir; /* owned */
	enum job_state state;
	pid_t pid;
	int status; /* waitpid's, when JOB_FAILED */
	struct timespec start;
	double secs;
	long long copied; /* -1: not known */
	char *server[2];  /* "host:port" of src and dst, lower case; owned */
};

/* A side's server as --per-server counts it. */
static char *
server_key(const struct batch_side *s)
{
	char *key = xasprintf("%s:%u", s->host, s->port);
	char *p;

	for (p = key; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return key;
}

/* Sessions the running jobs hold on server key. */
static unsigned
server_load(const struct job *jobs, size_t n, const char *key)
{
	unsigned load = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (jobs[i].state == JOB_RUNNING)
			load += (strcmp(jobs[i].server[0], key) == 0) +
				(strcmp(jobs[i].server[1], key) == 0);
	return load;
}

/* May j start now under a cap of cap sessions per server (0: none)? */
static bool
fits(const struct job *jobs, size_t n, const struct job *j, unsigned cap)
{
	size_t k;

	if (cap == 0)
		return true;
	for (k = 0; k < 2; k++) {
		unsigned load = server_load(jobs, n, j->server[k]);
		unsigned mine = 1 + (strcmp(j->server[0], j->server[1]) == 0);

		if (load > 0 && load + mine > cap)
			return false;
	}
	return true;
}

static double
now_secs(const struct timespec *since)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - since->tv_sec) +
	       (double)(t.tv_nsec - since->tv_nsec) / 1e9;
}

/* <state_dir>/batch-<basename file>: state_dir from the configuration
 * when there is one, else $XDG_STATE_HOME/mailferry (or ~/.local/state). */
static char *
batch_dir(const struct cmd_ctx *ctx, const char *file)
{
	const char *base = strrchr(file, '/'), *xdg, *home;
	char *root, *dir;

	base = base != NULL ? base + 1 : file;
	if (ctx->cfg != NULL) {
		root = xstrdup(ctx->cfg->state_dir);
	} else if ((xdg = getenv("XDG_STATE_HOME")) != NULL && xdg[0] == '/') {
		root = xasprintf("%s/mailferry", xdg);
	} else {
		home = getenv("HOME");
		root = xasprintf("%s/.local/state/mailferry",
				 home != NULL ? home : ".");
	}
	dir = xasprintf("%s/batch-%s", root, base);
	free(root);
	return dir;
}

/* s as a YAML double-quoted scalar. */
static void
yaml_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
yaml_side(FILE *f, const char *name, const struct batch_side *s)
{
	static const char *const cred_key[] = {
		[BATCH_CRED_NONE] = "password_command",
		[BATCH_CRED_COMMAND] = "password_command",
		[BATCH_CRED_ENV] = "password_env",
		[BATCH_CRED_OAUTH] = "oauth_token_command",
	};

	fprintf(f, "  %s:\n    host: ", name);
	yaml_quoted(f, s->host);
	fprintf(f, "\n    port: %u\n    tls: %s\n    user: ", s->port,
		s->starttls ? "starttls" : "implicit");
	yaml_quoted(f, s->user);
	fprintf(f, "\n    %s: ", cred_key[s->cred]);
	yaml_quoted(f, s->secret);
	if (s->ca_file != NULL) {
		fprintf(f, "\n    ca_file: ");
		yaml_quoted(f, s->ca_file);
	}
	fputc('\n', f);
}

/* The pair's private configuration, job->dir/config.yaml (0600). */
static int
write_config(const struct job *job, const char *file, struct mf_err *err)
{
	char *path, *state, *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (mf_mkdir_p(job->dir, 0700, err) < 0)
		return -1;
	f = open_memstream(&text, &len);
	if (f == NULL)
		return mf_err_sys(err, MF_E_INTERNAL, "open_memstream");
	state = xasprintf("%s/state", job->dir);
	fprintf(f,
		"# written by mailferry migrate --batch from %s:%u; "
		"rewritten on every run\nstate_dir: ",
		file, job->pair->line);
	yaml_quoted(f, state);
	fprintf(f, "\naccounts:\n");
	yaml_side(f, "src", &job->pair->src);
	yaml_side(f, "dst", &job->pair->dst);
	if (fclose(f) != 0) {
		free(text);
		free(state);
		return mf_err_sys(err, MF_E_INTERNAL, "open_memstream");
	}
	path = xasprintf("%s/config.yaml", job->dir);
	ret = mf_write_file_atomic(path, text, len, 0600, err);
	free(path);
	free(state);
	free(text);
	return ret;
}

/* Start the child of job; its output to job->dir/log. */
static int
start_job(struct job *job, bool verify, struct mf_err *err)
{
	char *cfg = xasprintf("%s/config.yaml", job->dir);
	char *log = xasprintf("%s/log", job->dir);
	char *args[10];
	int n = 0, fd;
	pid_t pid, parent = getpid();

	args[n++] = "mailferry";
	args[n++] = "-c";
	args[n++] = cfg;
	args[n++] = "migrate";
	args[n++] = "--progress=never";
	if (verify)
		args[n++] = "--verify";
	args[n++] = "src";
	args[n++] = "dst";
	args[n] = NULL;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		mf_err_sys(err, MF_E_STATE, "%s", log);
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		mf_err_sys(err, MF_E_INTERNAL, "fork");
		close(fd);
		fd = -1;
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/*
		 * Async-signal-safe calls only, up to exec.  A group of its
		 * own: a ^C of the terminal reaches the parent alone, which
		 * passes one SIGTERM on (two would kill the child at once,
		 * see cmd/main.c).  And SIGTERM when the parent dies, even
		 * by kill -9, so that no migration goes on unwatched and
		 * holds its pair's lock against the next run.
		 */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(MF_EXIT_SIGNAL_BASE + SIGTERM);
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv("/proc/self/exe", args);
		execvp("mailferry", args);
		_exit(127);
	}
	close(fd);
	job->pid = pid;
	job->state = JOB_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &job->start);
out:
	free(cfg);
	free(log);
	return fd < 0 ? -1 : 0;
}

/* The messages the child's summary lines say it pulled, or -1. */
static long long
copied_from_log(const char *dir)
{
	char *path = xasprintf("%s/log", dir), line[4096];
	FILE *f = fopen(path, "r");
	long long total = -1;

	free(path);
	if (f == NULL)
		return -1;
	/* "<channel>: N folders (...): pulled X, pushed ..." (cmd-sync.c) */
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, " folders (");
		long long v;

		if (p == NULL || (p = strstr(p, "): pulled ")) == NULL)
			continue;
		if (sscanf(p + 10, "%lld", &v) == 1)
			total = (total < 0 ? 0 : total) + v;
	}
	fclose(f);
	return total;
}

static void
finish_job(struct job *job, int status, const char *file)
{
	struct mf_err err = { 0 };
	char *done, text[128];
	int len;

	job->secs = now_secs(&job->start);
	job->status = status;
	job->copied = copied_from_log(job->dir);
	job->state = JOB_FAILED;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return;
	done = xasprintf("%s/done", job->dir);
	len = snprintf(text, sizeof(text), "done %lld\n",
		       (long long)time(NULL));
	if (mf_write_file_atomic(done, text, (size_t)len, 0600, &err) < 0) {
		/* a failed record only means the pair runs again next time */
		fprintf(stderr, "mailferry: %s: %s (line %u)\n", file, err.msg,
			job->pair->line);
	}
	free(done);
	job->state = JOB_DONE;
}

static void
stop_children(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (jobs[i].state == JOB_RUNNING)
			kill(jobs[i].pid, SIGTERM);
}

/*
 * Run the pending jobs, at most njobs at once and per_server on a server
 * (fits()), until all are over or a
 * stop was asked for and the running ones are gone.  A poll of waitpid
 * every 50 ms rather than a blocking wait: a stop signal caught between
 * the check of the flag and the wait would otherwise go unseen until a
 * child ends by itself, and 50 ms is nothing next to a migration.
 */
static void
run_jobs(struct job *jobs, size_t n, unsigned njobs, unsigned per_server,
	 bool verify, const char *file)
{
	static const struct timespec tick = { 0, 50 * 1000 * 1000 };
	size_t running = 0, pending = 0, i;
	bool stopping = false;

	for (i = 0; i < n; i++)
		pending += jobs[i].state == JOB_PENDING;

	for (;;) {
		struct mf_err err = { 0 };
		int status;
		pid_t pid;

		if (!stopping && mf_cancel_signal() != 0) {
			stopping = true;
			stop_children(jobs, n);
		}
		for (i = 0; !stopping && running < njobs && i < n; i++) {
			struct job *j = &jobs[i];

			if (j->state != JOB_PENDING ||
			    !fits(jobs, n, j, per_server))
				continue;
			pending--;
			if (start_job(j, verify, &err) < 0) {
				fprintf(stderr, "mailferry: %s:%u: %s\n", file,
					j->pair->line, err.msg);
				j->state = JOB_FAILED;
				j->status = 127 << 8;
				continue;
			}
			running++;
		}
		if (running == 0 && (stopping || pending == 0))
			return;
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0) {
			nanosleep(&tick, NULL);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (jobs[i].state != JOB_RUNNING || jobs[i].pid != pid)
				continue;
			finish_job(&jobs[i], status, file);
			running--;
		}
	}
}

static void
job_status(const struct job *j, char *buf, size_t size)
{
	switch (j->state) {
	case JOB_DONE:
		snprintf(buf, size, "done");
		break;
	case JOB_SKIPPED:
		snprintf(buf, size, "skipped (already done)");
		break;
	case JOB_FAILED:
		if (WIFSIGNALED(j->status))
			snprintf(buf, size, "failed (signal %d)",
				 WTERMSIG(j->status));
		else
			snprintf(buf, size, "failed (exit %d)",
				 WEXITSTATUS(j->status));
		break;
	default:
		snprintf(buf, size, "not run");
	}
}

/* The final table; returns the exit code (0: every pair done). */
static int
print_table(const struct job *jobs, size_t n)
{
	size_t i, w = 4, count[JOB_SKIPPED + 1] = { 0 };

	for (i = 0; i < n; i++)
		if (strlen(jobs[i].pair->name) > w)
			w = strlen(jobs[i].pair->name);
	printf("%-*s  %-22s  %8s  %7s\n", (int)w, "NAME", "STATUS", "COPIED",
	       "SECONDS");
	for (i = 0; i < n; i++) {
		const struct job *j = &jobs[i];
		char st[64], cp[32] = "-", secs[32] = "-";

		job_status(j, st, sizeof(st));
		if (j->copied >= 0)
			snprintf(cp, sizeof(cp), "%lld", j->copied);
		if (j->state == JOB_DONE || j->state == JOB_FAILED)
			snprintf(secs, sizeof(secs), "%.0f", j->secs);
		printf("%-*s  %-22s  %8s  %7s\n", (int)w, j->pair->name, st, cp,
		       secs);
		count[j->state]++;
	}
	printf("%zu pairs: %zu done, %zu skipped (already done), %zu failed, "
	       "%zu not run\n",
	       n, count[JOB_DONE], count[JOB_SKIPPED], count[JOB_FAILED],
	       count[JOB_PENDING] + count[JOB_RUNNING]);
	return count[JOB_DONE] + count[JOB_SKIPPED] == n ? MF_EXIT_OK :
							   MF_EXIT_PARTIAL;
}

/* --json: an object per pair, then one with the counts; the exit code. */
static int
print_json(const struct job *jobs, size_t n)
{
	static const char *const names[] = {
		[JOB_PENDING] = "not_run", [JOB_RUNNING] = "not_run",
		[JOB_DONE] = "done",	   [JOB_FAILED] = "failed",
		[JOB_SKIPPED] = "skipped",
	};
	size_t i, count[JOB_SKIPPED + 1] = { 0 };
	struct json j;

	for (i = 0; i < n; i++) {
		const struct job *jb = &jobs[i];
		bool ran = jb->state == JOB_DONE || jb->state == JOB_FAILED;

		json_begin(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "type", "batch_pair");
		json_kv_str(&j, "name", jb->pair->name);
		json_kv_uint(&j, "line", jb->pair->line);
		json_kv_str(&j, "status", names[jb->state]);
		json_key(&j, "exit");
		if (ran && WIFEXITED(jb->status))
			json_int(&j, WEXITSTATUS(jb->status));
		else
			json_null(&j);
		json_key(&j, "signal");
		if (ran && WIFSIGNALED(jb->status))
			json_int(&j, WTERMSIG(jb->status));
		else
			json_null(&j);
		json_key(&j, "copied");
		if (jb->copied >= 0)
			json_uint(&j, (uint64_t)jb->copied);
		else
			json_null(&j);
		json_key(&j, "seconds");
		if (ran)
			json_uint(&j, (uint64_t)(jb->secs + 0.5));
		else
			json_null(&j);
		json_obj_close(&j);
		json_end(&j);
		count[jb->state]++;
	}
	json_begin(&j, stdout);
	json_obj_open(&j);
	json_kv_str(&j, "type", "batch");
	json_kv_uint(&j, "pairs", n);
	json_kv_uint(&j, "done", count[JOB_DONE]);
	json_kv_uint(&j, "skipped", count[JOB_SKIPPED]);
	json_kv_uint(&j, "failed", count[JOB_FAILED]);
	json_kv_uint(&j, "not_run", count[JOB_PENDING] + count[JOB_RUNNING]);
	json_obj_close(&j);
	json_end(&j);
	return count[JOB_DONE] + count[JOB_SKIPPED] == n ? MF_EXIT_OK :
							   MF_EXIT_PARTIAL;
}

/* One batch at a time in a directory: the lock is held until exit. */
static int
lock_dir(const char *dir, struct mf_err *err)
{
	char *path = xasprintf("%s/lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		mf_err_sys(err, MF_E_STATE, "%s", path);
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		mf_err_set(err, MF_E_LOCKED,
			   "%s: another migrate --batch of this file is "
			   "running",
			   path);
		close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

int
cmd_migrate_batch(struct cmd_ctx *ctx, const char *file, unsigned njobs,
		  unsigned per_server, bool verify)
{
	struct batch_file bf;
	struct mf_err err = { 0 };
	struct job *jobs;
	char *dir, *done;
	int code, lockfd;
	size_t i;

	if (batch_file_load(file, &bf, &err) < 0)
		return cmd_fail(&err);
	dir = batch_dir(ctx, file);
	if (mf_mkdir_p(dir, 0700, &err) < 0 ||
	    (lockfd = lock_dir(dir, &err)) < 0) {
		free(dir);
		batch_file_free(&bf);
		return cmd_fail(&err);
	}
	jobs = xcalloc(bf.npairs, sizeof(*jobs));
	code = MF_EXIT_OK;
	for (i = 0; i < bf.npairs && code == MF_EXIT_OK; i++) {
		jobs[i].pair = &bf.pairs[i];
		jobs[i].dir = xasprintf("%s/%s", dir, bf.pairs[i].name);
		jobs[i].copied = -1;
		jobs[i].server[0] = server_key(&bf.pairs[i].src);
		jobs[i].server[1] = server_key(&bf.pairs[i].dst);
		done = xasprintf("%s/done", jobs[i].dir);
		if (access(done, F_OK) == 0)
			jobs[i].state = JOB_SKIPPED;
		else if (write_config(&jobs[i], file, &err) < 0)
			code = cmd_fail(&err);
		free(done);
	}
	if (code == MF_EXIT_OK) {
		if (ctx->verbosity >= 0 && !ctx->json)
			fprintf(stderr,
				"mailferry: %zu pairs from %s, %u at once%s; "
				"logs in %s/NAME/log\n",
				bf.npairs, file, njobs,
				per_server ? " (fewer on a busy server)" : "",
				dir);
		run_jobs(jobs, bf.npairs, njobs, per_server, verify, file);
		code = ctx->json ? print_json(jobs, bf.npairs) :
				   print_table(jobs, bf.npairs);
		if (mf_cancel_signal() != 0)
			code = cmd_exit_stopped();
	}
	for (i = 0; i < bf.npairs; i++) {
		free(jobs[i].dir);
		free(jobs[i].server[0]);
		free(jobs[i].server[1]);
	}
	free(jobs);
	close(lockfd);
	free(dir);
	batch_file_free(&bf);
	return code;
}
