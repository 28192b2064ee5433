/*
 * What other sync tools left in a Maildir that tells which far message a
 * file is, so that mailferry adopting their Maildir pairs the files with
 * the server's messages instead of copying everything again.
 *
 * OfflineIMAP names files "<base>,U=<far uid>,FMD5=<md5 of the folder
 * name>:2,<flags>": the UID is the far one, and the FMD5 says which
 * folder it belongs to (a file moved by hand from another folder keeps
 * its old folder's hash).  Its UIDVALIDITY is kept outside the Maildir, so
 * the hint is checked by content (sync/plan.h), never trusted alone.
 *
 * mbsync names files "<base>,U=<near uid>:2,<flags>": the UID is mbsync's
 * own numbering of the Maildir (.uidvalidity: its UIDVALIDITY, then the
 * highest UID), mapped to far UIDs in the folder's .mbsyncstate (with
 * "SyncState *"; a state kept in ~/.mbsync/ is not looked for):
 *
 *	FarUidValidity 1796172855
 *	NearUidValidity 1796172854
 *	MaxPulledUid 150
 *	...
 *	<empty line>
 *	<far uid> <near uid> <flags>
 *
 * The map is used only when NearUidValidity equals .uidvalidity (the
 * file names belong to it) and no .mbsyncstate.journal is left (an
 * interrupted mbsync run: the map may be short of its last changes).
 * FarUidValidity goes to mf_scan_result.hint_uidvalidity so the engine
 * can drop every hint when the server's UIDVALIDITY has changed since.
 *
 * Both are read only; we never write or remove another tool's files.
 */
#ifndef MF_MDIR_ADOPT_H
#define MF_MDIR_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct mdir_index;

struct mdir_uid_map {
	uint32_t near, far;
};

struct mdir_hints {
	/* mbsync: .mbsyncstate read and consistent */
	bool mbsync;
	uint32_t far_uidvalidity;
	struct mdir_uid_map *map; /* sorted by near */
	size_t nmap;
	/* OfflineIMAP: MD5 of the folder's name with '/' and with '.' as
	 * the separator (its default "sep" is '.') */
	unsigned char md5_slash[16], md5_dot[16];
};

/*
 * Read the hints of the folder at dir_fd named box (canonical name).
 * Never fails: a missing, unreadable or malformed state file means no
 * mbsync hints (a malformed one is logged once, naming the file).
 */
void mdir_hints_load(struct mdir_hints *h, int dir_fd, const char *box);
void mdir_hints_free(struct mdir_hints *h);

/* Parse .mbsyncstate contents (exposed for tests); false if malformed. */
bool mdir_hints_parse_mbsync(struct mdir_hints *h, const char *data, size_t len,
			     uint32_t near_uidvalidity);

/*
 * Turn the ,U= hints of res (made from idx) into far UIDs: mbsync's near
 * UIDs through the map (a UID the map does not know drops the hint), and
 * OfflineIMAP's checked against the folder hash.  Sets name_uid_checked
 * and res->hint_uidvalidity.
 */
void mdir_hints_apply(const struct mdir_hints *h, struct mdir_index *idx,
		      struct mf_scan_result *res);

#endif
