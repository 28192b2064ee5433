/*
 * Canonical mailbox names <-> folder directories, for both layouts.
 *
 * Canonical names (store.h) are UTF-8, '/' between levels, "INBOX" for the
 * inbox.  They come from servers, so nothing in them may reach outside the
 * maildir root or collide with the maildir's own files.
 *
 *   fs         INBOX -> "INBOX", "A/B" -> "A/B"; every folder is a
 *              directory holding cur/ new/ tmp/ (and maybe child folders).
 *   maildir++  INBOX -> "" (the root itself), "A/B" -> ".A.B", and
 *              "INBOX/A" -> ".INBOX.A".  A folder "A.B" would read back as
 *              "A/B", so '.' inside a level is escaped.
 *
 * The escape is '%' and two upper-case hex digits (the byte), reversible
 * because '%' itself is always escaped:
 *   '%'                        -> %25   (both layouts)
 *   '.' anywhere               -> %2E   (maildir++: the level separator)
 *   '.' leading a level        -> %2E   (fs: hidden file, or a maildir++
 *                                        folder to other tools)
 *   a level "cur" "new" "tmp"  -> %63ur %6Eew %74mp (fs: it would land in
 *                                        its parent maildir's own dirs)
 * So a server folder "Projects/new" stays usable.  Refused (MF_E_BOX, the
 * message names the folder): an empty name or level (leading, trailing or
 * doubled '/'), "." or ".." levels, control characters (C0, DEL, C1),
 * invalid UTF-8, a level longer than 255 bytes once escaped (a maildir++
 * folder is one directory entry: all its levels together), and a path that
 * with the root and room for "/cur/<file name>" would pass PATH_MAX.
 * A first level spelled "inbox" in any case is the INBOX (RFC 3501 5.1),
 * so "Inbox/Sub" maps to "INBOX/Sub".
 *
 * Other tools' names that are not in this form ("50%" written by Dovecot,
 * lower-case escapes, a top-level "inbox" directory) do not map back to the
 * same directory; mdir_path_to_box() refuses them and list_boxes skips them
 * with a warning rather than offer a name that would open another folder.
 * Dovecot's own maildir++ names for non-ASCII folders are in modified UTF-7
 * ("&AOQ-"); we keep UTF-8 and do not translate those.
 */
#ifndef MF_MDIR_PATH_H
#define MF_MDIR_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "mdir-store.h"

/* Room kept after a folder path: "/cur/" + a file name + NUL. */
#define MDIR_PATH_RESERVE (5 + 255 + 1)

/* Is box the INBOX ("INBOX" in any case)? */
bool mdir_box_is_inbox(const char *box);

/*
 * The directory of box relative to the root ("" is the root itself), or
 * -1 with MF_E_BOX.  root_len is the length of the root path, for the
 * PATH_MAX check.  *rel_r is freed by the caller.
 */
int mdir_path_from_box(enum mdir_layout layout, const char *box,
		       size_t root_len, char **rel_r, struct mf_err *err);

/*
 * The canonical name of a folder directory rel (relative to the root, as
 * mdir_path_from_box() makes them), or -1 with MF_E_BOX if rel is not a
 * folder of this layout or does not map back to rel exactly.  *box_r is
 * freed by the caller.
 */
int mdir_path_to_box(enum mdir_layout layout, const char *rel, char **box_r,
		     struct mf_err *err);

#endif
