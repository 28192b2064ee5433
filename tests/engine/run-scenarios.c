/*
 * The scenario runner: every scenario of the tests/engine/scenarios files
 * (README.md) against sync_run() with two mem stores, in a temporary
 * directory, no server:
 *
 *   (a) one run, compared with the expected tables;
 *   (b) another run, which must change nothing;
 *   (c) for N = 1, 2, ...: a forked child runs and _exits at step N
 *       (base/testhook.h), then a full run must end as (a) did, until a
 *       child finishes without reaching step N.
 *
 * Scenarios with injected failures run (a) with them, then a run without
 * them (compared with the "then:" tables if any), then (b); not (c).
 *
 * Usage: run-scenarios [-v] [-d] [-k SUBSTRING] [DIR-OR-FILE...]
 * (-d: the engine's debug log too)
 * (default: $MF_SOURCE_ROOT/tests/engine/scenarios).
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "scen.h"
#include "sync.h"

#define MAX_STEPS 400

static bool verbose, debug;

struct run_out {
	int rc;
	struct sync_summary sum;
	unsigned long changes;
	char err[MF_ERR_MSG_MAX];
};

/*
 * After a crash with APPENDs journaled the engine waits for the server to
 * stop growing, in half seconds (sync.c settle_side()).  A mem store is
 * settled at once, and the crash loop resumes hundreds of such runs: this
 * binary's nanosleep() returns at once, so that the scenarios run in
 * seconds.  (The mem store's own delays use clock_nanosleep().)
 */
int
nanosleep(const struct timespec *req, struct timespec *rem)
{
	(void)req;
	if (rem != NULL)
		memset(rem, 0, sizeof(*rem));
	return 0;
}

static void
quiet_log(enum mf_log_level level, unsigned cat, const char *msg, void *ctx)
{
	(void)cat;
	(void)ctx;
	if (verbose)
		fprintf(stderr, "  log %d: %s\n", (int)level, msg);
}

static void
on_report(void *ctx, const struct sync_box_report *r)
{
	struct run_out *o = ctx;

	if (r->box_failed && o->err[0] == '\0')
		snprintf(o->err, sizeof(o->err), "%s", r->err.msg);
	if (verbose)
		fprintf(stderr, "  report %s: failed %zu box_failed %d %s\n",
			r->far_name ? r->far_name : r->near_name, r->failed,
			r->box_failed, r->err.msg);
}

/* One sync_run over the world in dir. */
static void
run_sync(const struct scen *sc, const char *dir, bool inject, struct run_out *o)
{
	struct mf_store *far = NULL, *near = NULL;
	struct state_db *db = NULL;
	struct mf_err err = { 0 };
	char *sp = xasprintf("%s/state.db", dir);
	struct sync_opts opts = { 0 };
	size_t i;

	memset(o, 0, sizeof(*o));
	o->rc = -1;
	if (scen_open_stores(sc, dir, &far, &near, o->err, sizeof(o->err)) < 0)
		goto out;
	for (i = 0; inject && i < sc->nfails; i++)
		mem_store_fail(sc->fails[i].far ? far : near, sc->fails[i].op,
			       sc->fails[i].nth, sc->fails[i].kind, NULL);
	if (state_open(sp, false, &db, &err) < 0) {
		snprintf(o->err, sizeof(o->err), "%s", err.msg);
		goto out;
	}
	opts.channel = "test";
	opts.far = far;
	opts.near = near;
	opts.db = db;
	opts.policy = &sc->pol;
	opts.now = SCEN_NOW;
	opts.report = on_report;
	opts.ctx = o;
	opts.batch = sc->batch;
	o->rc = sync_run(&opts, &o->sum, &err);
	if (o->rc < 0)
		snprintf(o->err, sizeof(o->err), "%s", err.msg);
	o->changes = mem_store_changes(far) + mem_store_changes(near);
out:
	state_close(&db);
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	free(sp);
}

static bool
run_failed(const struct run_out *o)
{
	return o->rc < 0 || o->sum.failed > 0 || o->sum.boxes_failed > 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;

	if (in == NULL)
		return errno == ENOENT ? 0 : -1;
	out = fopen(to, "wb");
	if (out == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out);
}

/* A fresh copy of the world in init. */
static int
copy_world(const char *init, const char *dir)
{
	static const char *const files[] = {
		"far.mem",
		"near.mem",
		"state.db",
		"state.db-wal",
	};
	size_t i;

	rm_rf(dir);
	if (mkdir(dir, 0700) < 0)
		return -1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *a = xasprintf("%s/%s", init, files[i]);
		char *b = xasprintf("%s/%s", dir, files[i]);
		int rc = copy_file(a, b);

		free(a);
		free(b);
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct ctx {
	const struct scen *sc;
	bool quiet; /* xfail: say nothing of the difference */
};

static void
print_lines(const char *title, const struct scen_lines *l)
{
	size_t i;

	fprintf(stderr, "  %s:\n", title);
	for (i = 0; i < l->n; i++)
		fprintf(stderr, "    %s\n", l->v[i]);
}

/* Compare the world in dir with table t; false (and why) when it differs. */
static bool
check_world(struct ctx *c, const char *phase, const char *dir,
	    const struct scen_table *t)
{
	struct scen_lines exp = { 0 }, act = { 0 };
	char eb[512] = "";
	bool ok;

	scen_render_table(c->sc, t, &exp);
	if (scen_render_dir(c->sc, dir, &act, eb, sizeof(eb)) < 0) {
		fprintf(stderr, "%s:%d: %s: %s: cannot read the result: %s\n",
			c->sc->file, c->sc->line, c->sc->name, phase, eb);
		ok = false;
	} else {
		ok = scen_lines_match(&exp, &act);
		if (!ok && !c->quiet) {
			fprintf(stderr, "%s:%d: %s: %s: not as expected\n",
				c->sc->file, c->sc->line, c->sc->name, phase);
			print_lines("expected", &exp);
			print_lines("actual", &act);
		}
	}
	scen_lines_free(&exp);
	scen_lines_free(&act);
	return ok;
}

static bool
complain(struct ctx *c, const char *phase, const char *what,
	 const struct run_out *o)
{
	if (!c->quiet)
		fprintf(stderr,
			"%s:%d: %s: %s: %s (rc %d, failed %zu, "
			"boxes failed %zu%s%s)\n",
			c->sc->file, c->sc->line, c->sc->name, phase, what,
			o->rc, o->sum.failed, o->sum.boxes_failed,
			o->err[0] ? ": " : "", o->err);
	return false;
}

static bool
changed_nothing(const struct run_out *o)
{
	const struct sync_summary *s = &o->sum;

	return o->changes == 0 && s->pulled == 0 && s->pushed == 0 &&
	       s->flags_far == 0 && s->flags_near == 0 && s->del_far == 0 &&
	       s->del_near == 0 && s->placeholders == 0 && s->moved == 0;
}

/* (c): stop at every step, then resume. */
static bool
crash_loop(struct ctx *c, const char *init, const char *dir)
{
	char phase[64];
	unsigned long n;

	for (n = 1; n <= MAX_STEPS; n++) {
		struct run_out o;
		pid_t pid;
		int status;

		snprintf(phase, sizeof(phase), "stopped at step %lu, resumed",
			 n);
		if (copy_world(init, dir) < 0)
			return false;
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return false;
		if (pid == 0) {
			mf_test_set_stop_after(n);
			run_sync(c->sc, dir, false, &o);
			_exit(o.rc < 0 ? 1 : 0);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
			return complain(c, phase, "the child died", &o);
		if (WEXITSTATUS(status) == 0) {
			/* finished before step n */
			if (verbose)
				fprintf(stderr, "  %s: %lu steps\n",
					c->sc->name, n - 1);
			return true;
		}
		if (WEXITSTATUS(status) != 99 && !c->sc->expect_failed) {
			memset(&o, 0, sizeof(o));
			return complain(c, phase, "the stopped run failed", &o);
		}
		run_sync(c->sc, dir, false, &o);
		if (run_failed(&o) && !c->sc->expect_failed)
			return complain(c, phase, "the resumed run failed", &o);
		if (!check_world(c, phase, dir, &c->sc->expect))
			return false;
	}
	fprintf(stderr, "%s:%d: %s: more than %d steps\n", c->sc->file,
		c->sc->line, c->sc->name, MAX_STEPS);
	return false;
}

static bool
table_empty(const struct scen_table *t)
{
	return t->nboxes == 0 && t->nmsgs == 0 && t->nrows == 0;
}

static bool
run_scen(struct ctx *c, const char *tmp)
{
	const struct scen *sc = c->sc;
	char *init = xasprintf("%s/init", tmp), *dir = xasprintf("%s/w", tmp);
	const struct scen_table *final = &sc->expect;
	char eb[512] = "";
	struct run_out o;
	bool ok = false;

	if (mkdir(init, 0700) < 0 || scen_build(sc, init, eb, sizeof(eb)) < 0) {
		fprintf(stderr, "%s:%d: %s: set-up: %s\n", sc->file, sc->line,
			sc->name, eb);
		goto out;
	}
	if (copy_world(init, dir) < 0)
		goto out;
	run_sync(sc, dir, true, &o);
	if (sc->expect_failed && !run_failed(&o)) {
		complain(c, "first run", "no failure reported", &o);
		goto out;
	}
	if (!sc->expect_failed && run_failed(&o)) {
		complain(c, "first run", "failed", &o);
		goto out;
	}
	/* a failed run's tables may be left open: then: says where it ends */
	if ((!sc->expect_failed || !table_empty(&sc->expect)) &&
	    !check_world(c, "first run", dir, &sc->expect))
		goto out;
	if (sc->nfails > 0 || sc->expect_failed) {
		final = sc->then.present ? &sc->then : NULL;
		run_sync(sc, dir, false, &o);
		if (run_failed(&o) && sc->nfails > 0) {
			complain(c, "run without failures", "failed", &o);
			goto out;
		}
		if (final != NULL &&
		    !check_world(c, "run without failures", dir, final))
			goto out;
	}
	run_sync(sc, dir, false, &o);
	if (!changed_nothing(&o)) {
		char what[256];

		snprintf(what, sizeof(what),
			 "changed something (%lu store "
			 "changes; pulled %zu pushed %zu flags %zu/%zu deleted "
			 "%zu/%zu)",
			 o.changes, o.sum.pulled, o.sum.pushed, o.sum.flags_far,
			 o.sum.flags_near, o.sum.del_far, o.sum.del_near);
		complain(c, "second run", what, &o);
		if (!c->quiet && final != NULL)
			check_world(c, "after the second run", dir, final);
		goto out;
	}
	if (final != NULL && !check_world(c, "second run", dir, final))
		goto out;
	if (sc->nfails == 0 && !sc->expect_failed && !crash_loop(c, init, dir))
		goto out;
	ok = true;
out:
	free(init);
	free(dir);
	return ok;
}

static bool
wanted(const char *name, const char *filter)
{
	return filter == NULL || strstr(name, filter) != NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.txt of dir, sorted; or path itself when it is a file. */
static size_t
list_files(const char *path, char ***v_r)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;

	if (d == NULL) {
		v = xcalloc(1, sizeof(*v));
		v[n++] = xstrdup(path);
		*v_r = v;
		return n;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xasprintf("%s/%s", path, e->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*v_r = v;
	return n;
}

/*
 * Long because it is the runner's whole loop: options, then for each
 * scenario the single run, the second run and the run stopped at each step.
 */
int
main(int argc, char **argv)
{
	const char *filter = getenv("SCEN_FILTER");
	const char *root = getenv("MF_SOURCE_ROOT");
	char tmpl[256], *defdir = NULL;
	size_t passed = 0, failed = 0, xfailed = 0, xpassed = 0;
	int opt, i;

	while ((opt = getopt(argc, argv, "vdk:")) != -1) {
		if (opt == 'v')
			verbose = true;
		else if (opt == 'd')
			debug = verbose = true;
		else if (opt == 'k')
			filter = optarg;
		else
			return 2;
	}
	mf_log_set_handler(quiet_log, NULL);
	mf_log_set_level(debug	 ? MF_LOG_DEBUG :
			 verbose ? MF_LOG_INFO :
				   MF_LOG_ERROR);
	if (debug)
		mf_log_set_debug(MF_LOGC_SYNC);
	/* a tmpfs where there is one: the state database fsyncs every
	 * commit, and the tests kill processes, not machines */
	snprintf(tmpl, sizeof(tmpl), "%s/mf-scen-XXXXXX",
		 getenv("TMPDIR")	       ? getenv("TMPDIR") :
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
						 "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		perror(tmpl);
		return 1;
	}
	if (optind == argc) {
		defdir = xasprintf("%s/tests/engine/scenarios",
				   root ? root : ".");
	}
	for (i = optind; i < argc || (defdir != NULL && i == optind); i++) {
		char **files;
		size_t nf = list_files(defdir ? defdir : argv[i], &files), f;

		for (f = 0; f < nf; f++) {
			struct scen *v = NULL;
			size_t n = 0, k;

			if (scen_parse_file(files[f], &v, &n) < 0) {
				failed++;
				continue;
			}
			for (k = 0; k < n; k++) {
				struct ctx c = { &v[k], v[k].xfail[0] != 0 &&
								!verbose };
				char *tmp = xasprintf("%s/%zu", tmpl, k);
				bool ok;

				if (!wanted(v[k].name, filter))
					continue;
				if (mkdir(tmp, 0700) < 0) {
					perror(tmp);
					return 1;
				}
				ok = run_scen(&c, tmp);
				rm_rf(tmp);
				free(tmp);
				bool xf = v[k].xfail[0] != 0;

				if (xf && ok) {
					fprintf(stderr,
						"%s:%d: %s: XPASS "
						"(marked xfail: %s)\n",
						v[k].file, v[k].line, v[k].name,
						v[k].xfail);
					xpassed++;
				} else if (xf) {
					if (verbose)
						fprintf(stderr,
							"%s:%d: %s: "
							"xfail: %s\n",
							v[k].file, v[k].line,
							v[k].name, v[k].xfail);
					xfailed++;
				} else if (ok) {
					passed++;
				} else {
					failed++;
				}
			}
			free(v);
			free(files[f]);
		}
		free(files);
		if (defdir != NULL)
			break;
	}
	rm_rf(tmpl);
	free(defdir);
	printf("%zu passed, %zu failed, %zu known failures (xfail), "
	       "%zu unexpected passes\n",
	       passed, failed, xfailed, xpassed);
	return failed > 0 || xpassed > 0 ? 1 : 0;
}
