#!/bin/bash
# mailferry sync against hostile listings from the scripted fake server
# (tests/fake/hostile-*.script; store/imap/QUIRKS.md has the rules):
#   (a) a FETCH with UID 0, and a FETCH without UID leaving the listing
#       short of EXISTS: the folder fails and is skipped (exit 1, warning
#       naming it), the local copy stays, nothing is deleted on the server;
#       an unsolicited FETCH without UID in a complete listing, and mail
#       arriving while the listing runs, are fine;
#   (b) UIDVALIDITY missing or 0 on SELECT, 0 in STATUS: such folders are
#       refused, and the state never records 0;
#   (c) mailbox names with control characters (raw, or from modified UTF-7)
#       and "."/".." levels: left out, shown escaped, no directory made;
#   (d) a BODY[] literal over the listed size plus slack (dropped, the
#       other message arrives) or over the 1 GiB cap (connection closed):
#       nothing of it is written.
# One fake server per sync (it serves one connection); the state and the
# Maildir of (a) carry over from its first run to the next ones.
set -u

. "$(dirname "$0")/lib-fake.sh"

# sync CASE SCRIPT: mailferry sync of channel "c" (state and Maildir
# under $tmp/CASE) against SCRIPT; sets rc and $tmp/out (stdout+stderr),
# and waits for the server (its status in frc: 0 = script played out)
sync_with() {
	local dir=$tmp/$1
	fake_start "$2"
	mkdir -p "$dir"
	cat >"$tmp/cfg.yaml" <<YAML
state_dir: $dir/state
accounts:
  fake:
    host: 127.0.0.1
    port: $PORT
    tls: none
    allow_insecure: true
    user: alice
    password_env: MF_FAKE_PW
    timeout: 10
stores:
  local:
    maildir: $dir/local
    layout: fs
channels:
  c:
    far: fake
    near: local
YAML
	"$MAILFERRY" -c "$tmp/cfg.yaml" sync >"$tmp/out" 2>&1
	rc=$?
	fake_wait
}

count_local() { find "$tmp/$1/local" -path '*/cur/*' -type f -o \
	-path '*/new/*' -type f 2>/dev/null | wc -l; }
has_body() { grep -rqs "^body $2\$" "$tmp/$1/local"; }
nothing_deleted() { absent 'STORE|EXPUNGE|APPEND' "$tmp/log"; }
played_out() { [ "$frc" -eq 0 ] && grep -q '^# script done' "$tmp/log"; }
no_raw_controls() { ! grep -qaP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$1"; }
db() { sqlite3 "$tmp/$1/state/c.db" "$2"; }

# ---- (a) a listing the parser cannot fully use is no deletion ---------
sync_with a hostile-base.script
check "(a) first sync: exit 0" test "$rc" -eq 0
check "(a) first sync: the server's script played out" played_out
check "(a) first sync: three messages here" test "$(count_local a)" -eq 3

sync_with a hostile-uid0.script
check "(a) UID 0: exit 1 (a folder failed)" test "$rc" -eq 1
check "(a) UID 0: the warning names the folder and message" \
	grep -q 'INBOX.*message 2 has no valid UID' "$tmp/out"
check "(a) UID 0: message 2 is still here" has_body a two
check "(a) UID 0: all three are still here" test "$(count_local a)" -eq 3
check "(a) UID 0: no STORE, EXPUNGE or APPEND sent" nothing_deleted
check "(a) UID 0: the server's script played out" played_out

sync_with a hostile-missing.script
check "(a) FETCH without UID: exit 1" test "$rc" -eq 1
check "(a) FETCH without UID: listing incomplete, named" \
	grep -q 'INBOX.*listing incomplete: 3 EXISTS, 2 listed' "$tmp/out"
check "(a) FETCH without UID: UID SEARCH ALL was asked" \
	grep -q '^C: A[0-9]* UID SEARCH ALL$' "$tmp/log"
check "(a) FETCH without UID: all three are still here" \
	test "$(count_local a)" -eq 3
check "(a) FETCH without UID: no STORE, EXPUNGE or APPEND sent" \
	nothing_deleted
check "(a) FETCH without UID: the server's script played out" played_out

sync_with a hostile-arrived.script
check "(a) mail arriving during the listing: exit 0" test "$rc" -eq 0
check "(a) mail arriving during the listing: UID SEARCH ALL was asked" \
	grep -q '^C: A[0-9]* UID SEARCH ALL$' "$tmp/log"
check "(a) mail arriving during the listing: the server's script played out" \
	played_out
check "(a) mail arriving during the listing: all three are still here" \
	test "$(count_local a)" -eq 3

# ---- (b) UIDVALIDITY ---------------------------------------------------
sync_with b hostile-uidvalidity.script
check "(b) exit 1 (folders failed)" test "$rc" -eq 1
check "(b) NoValid refused with a warning" \
	grep -q 'NoValid.*server reported no valid UIDVALIDITY' "$tmp/out"
check "(b) Zero refused with a warning" \
	grep -q 'Zero.*server reported no valid UIDVALIDITY' "$tmp/out"
check "(b) the server's script played out" played_out
check "(b) no box with UIDVALIDITY 0 in the state" \
	test "$(db b 'SELECT count(*) FROM boxes WHERE far_uidvalidity = 0')" = 0
check "(b) INBOX recorded with SELECT's UIDVALIDITY, not STATUS's 0" \
	test "$(db b "SELECT far_uidvalidity FROM boxes WHERE far_name = 'INBOX'")" = 5
check "(b) Good recorded" \
	test "$(db b "SELECT far_uidvalidity FROM boxes WHERE far_name = 'Good'")" = 9

# ---- (c) mailbox names -------------------------------------------------
sync_with c hostile-names.script
check "(c) exit 0 (left-out names are no failure)" test "$rc" -eq 0
check "(c) the server's script played out (no STATUS for bad names)" \
	played_out
check "(c) only INBOX and Good exist locally" \
	test "$(cd "$tmp/c/local" && ls -A | tr '\n' ' ')" = "Good INBOX "
check "(c) nothing made outside the Maildir" \
	test "$(ls -A "$tmp/c" | tr '\n' ' ')" = "local state "
check "(c) no file name with a control character" \
	test -z "$(find "$tmp/c" -name '*[[:cntrl:]]*')"
check "(c) no raw control character in the output" no_raw_controls "$tmp/out"
check "(c) ESC shown escaped" grep -qF 'skipping mailbox "a\x1b[31mb"' "$tmp/out"
check "(c) U+009B shown escaped" grep -qF '"c\u009bd"' "$tmp/out"
check "(c) DEL shown escaped" grep -qF '"del\x7f"' "$tmp/out"
check "(c) a \"..\" level refused" grep -qF '"../escape"' "$tmp/out"
check "(c) a \".\" level refused" grep -qF '"x/./y"' "$tmp/out"
check "(c) an empty level refused" grep -qF '"/abs"' "$tmp/out"
check "(c) raw controls refused (not modified UTF-7)" \
	test "$(grep -c "skipping mailbox '.*': name is not valid" "$tmp/out")" -eq 3
check "(c) U+0000 refused" grep -qF "'nul&AAA-x'" "$tmp/out"

# ---- (d) literals larger than the message ------------------------------
biggest() { { echo 0; find "$tmp/$1/local" -type f -printf '%s\n'; } |
	sort -n | tail -1; }
sync_with d hostile-literal.script
check "(d) over the listed size: exit 1" test "$rc" -eq 1
check "(d) over the listed size: the error names UID 1" \
	grep -q 'INBOX: UID 1: the server sends 65672 bytes for a message it listed as 135 bytes' "$tmp/out"
check "(d) over the listed size: message 2 arrived" has_body d two
check "(d) over the listed size: message 1 did not" \
	test "$(count_local d)" -eq 1
check "(d) over the listed size: no file of its size" \
	test "$(biggest d)" -lt 1000
check "(d) over the listed size: the server's script played out" played_out

sync_with e hostile-huge.script
check "(d) over 1 GiB: exit 4 (connection closed)" test "$rc" -eq 4
check "(d) over 1 GiB: the error names UID 1" \
	grep -qE 'UID 1: the server sends (a body of )?2000000000 bytes' "$tmp/out"
check "(d) over 1 GiB: nothing delivered" test "$(count_local e)" -eq 0
check "(d) over 1 GiB: no file of its size" \
	test "$(biggest e)" -lt 1000

fake_finish
