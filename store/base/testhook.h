/*
 * Test hook for crash tests (compiled in, inert unless set).
 *
 * MAILFERRY_TEST_STOP_AFTER=N makes the process exit abruptly, as kill -9
 * would (_exit, no cleanup, no flushing), at the N-th step.  A step is every
 * point where mail or state has just changed: a state commit, a message
 * delivered or appended, a flag rename, a removal.  tests/integ/sync-crash.sh
 * runs a sync with N = 1, 2, ... and then a full sync, and requires the same
 * end result every time.  With MAILFERRY_TEST_STEP_LOG=FILE each step's name
 * is appended to FILE, so a test can see how many steps a run has.
 *
 * MAILFERRY_TEST_FAIL=NAME or NAME:N makes the N-th (default: first) call
 * of mf_test_fail(NAME) return true; every other call returns false.  The
 * caller then fails as if the operation named had failed, to test the
 * error paths a crash test cannot reach: a process that goes on after a
 * failure.  Failure points: the state commits of sync/exec.c, named like
 * their steps ("journal", "confirm", "forget", "record"; the commit is
 * rolled back and fails with MF_E_STATE), "deliver begin" (sync/exec.c: a
 * deliver_begin() failing with MF_E_BOX), and in sync/fetch.c the commits
 * "fetch journal" and "fetch record" and "fetch deliver begin" (likewise).
 * tests/integ/sync-abort.sh uses them.
 *
 * MAILFERRY_TEST_STEP_DELAY_MS=N sleeps N ms (at most 1000) at each step,
 * so that a test sending a signal "in the middle" of a run against a fast
 * local server finds a middle to hit (tests/integ/sync-signal.sh).
 */
#ifndef MF_TESTHOOK_H
#define MF_TESTHOOK_H

#include <stdbool.h>

void mf_test_step(const char *what);
bool mf_test_fail(const char *what);

/*
 * In-process form of MAILFERRY_TEST_STOP_AFTER, for a test that forks
 * (tests/engine): read the environment now if not yet done, then stop at
 * the n-th step from here (0: never), counting from zero again.
 */
void mf_test_set_stop_after(unsigned long n);

#endif
