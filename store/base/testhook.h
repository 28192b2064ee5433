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
 */
#ifndef MF_TESTHOOK_H
#define MF_TESTHOOK_H

void mf_test_step(const char *what);

#endif
