/*
 * Adopting another tool's Maildir (store/maildir/mdir-adopt.c): mbsync's
 * .mbsyncstate maps its own Maildir UIDs to far UIDs only when it agrees
 * with .uidvalidity and no journal is left; OfflineIMAP's FMD5 says which
 * folder a ",U=" belongs to.  Files are made here the way mbsync 1.4.4 and
 * offlineimap3 8.0 write them (names and state seen in the integration
 * tests, tests/integ/adopt-tools.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir/mdir-adopt.h"

static const char state_ok[] = "FarUidValidity 1796172855\n"
			       "NearUidValidity 1796172854\n"
			       "MaxPulledUid 150\n"
			       "MaxPushedUid 149\n"
			       "\n"
			       "2 1 S\n"
			       "3 2 \n"
			       "5 3 FS\n"
			       "0 4 \n"	 /* near only: no far UID */
			       "7 0 \n"; /* far only */

static void
test_parse_mbsync(void **state)
{
	struct mdir_hints h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_true(mdir_hints_parse_mbsync(&h, state_ok, strlen(state_ok),
					    1796172854));
	assert_true(h.mbsync);
	assert_int_equal(h.far_uidvalidity, 1796172855);
	assert_int_equal(h.nmap, 3);
	assert_int_equal(h.map[0].near, 1);
	assert_int_equal(h.map[0].far, 2);
	assert_int_equal(h.map[2].near, 3);
	assert_int_equal(h.map[2].far, 5);
	mdir_hints_free(&h);

	/* the names belong to another Maildir UIDVALIDITY */
	assert_false(mdir_hints_parse_mbsync(&h, state_ok, strlen(state_ok),
					     42));
	assert_false(h.mbsync);
	assert_null(h.map);

	/* garbage in an entry line */
	assert_false(mdir_hints_parse_mbsync(&h,
					     "FarUidValidity 1\n"
					     "NearUidValidity 2\n\nx y z\n",
					     38, 2));
	assert_false(h.mbsync);
	/* no FarUidValidity */
	assert_false(mdir_hints_parse_mbsync(&h, "NearUidValidity 2\n\n1 1 \n",
					     24, 2));
}

static void
put(int dir, const char *name, const char *data)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void
test_load(void **state)
{
	char tmpl[] = "/tmp/mf-adopt.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct mdir_hints h;
	int fd;
	/* md5("INBOX"), as in offlineimap3's file names */
	static const unsigned char inbox[16] = {
		0x7e, 0x33, 0x42, 0x9f, 0x65, 0x6f, 0x1e, 0x6e,
		0x9d, 0x79, 0xb2, 0x9c, 0x3f, 0x82, 0xc5, 0x7e,
	};

	(void)state;
	assert_non_null(dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);

	mdir_hints_load(&h, fd, "INBOX");
	assert_false(h.mbsync);
	assert_memory_equal(h.md5_slash, inbox, 16);
	mdir_hints_free(&h);

	put(fd, ".uidvalidity", "1796172854\n149\n");
	put(fd, ".mbsyncstate", state_ok);
	mdir_hints_load(&h, fd, "Lists/dev");
	assert_true(h.mbsync);
	assert_int_equal(h.nmap, 3);
	/* OfflineIMAP's default separator is '.' */
	assert_memory_not_equal(h.md5_slash, h.md5_dot, 16);
	mdir_hints_free(&h);

	/* an interrupted mbsync run: its map may be short */
	put(fd, ".mbsyncstate.journal", "3\n");
	mdir_hints_load(&h, fd, "INBOX");
	assert_false(h.mbsync);
	mdir_hints_free(&h);

	assert_int_equal(unlinkat(fd, ".mbsyncstate.journal", 0), 0);
	assert_int_equal(unlinkat(fd, ".mbsyncstate", 0), 0);
	assert_int_equal(unlinkat(fd, ".uidvalidity", 0), 0);
	close(fd);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mbsync),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
