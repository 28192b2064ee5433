#!/bin/bash
# import-mbsyncrc: the user path from mbsync.  A real mbsync fills a
# Maildir from the harness Dovecot; `mailferry import-mbsyncrc` turns the
# same .mbsyncrc into a config that `check` accepts, whose first sync
# adopts mbsync's Maildir (nothing downloaded or uploaded), syncs the same
# folders mbsync did (Patterns), and carries a change on each side over.
set -u
. "$(dirname "$0")/lib.sh"
command -v mbsync >/dev/null 2>&1 || {
	echo "1..0 # SKIP mbsync not installed (tests/harness/deps.sh)"
	exit 77
}
mf_setup

msgs=$MF_TESTDATA/messages
mapfile -t all < <(find "$msgs" -type f ! -name '*.md' | LC_ALL=C sort)
mf_harness seed INBOX --flags S "${all[@]:40:20}" >/dev/null 2>&1
mf_harness seed Archive --flags "" "${all[@]:60:10}" >/dev/null 2>&1
mf_harness seed Junk --flags "" "${all[@]:70:5}" >/dev/null 2>&1

mkdir -p "$LOCAL"
cat >"$HOME/.mbsyncrc" <<M
# written for the harness server
IMAPAccount srv
Host localhost
Port $MF_IMAPS_PORT
User $MF_USER
PassCmd "printenv MF_TEST_PW"
SSLType IMAPS
CertificateFile $MF_CA_FILE

IMAPStore srv-far
Account srv

MaildirStore local
Path $LOCAL/
Inbox $LOCAL/INBOX
SubFolders Verbatim

Channel c
Far :srv-far:
Near :local:
Patterns * !Junk
Create Near
SyncState *
M
mbsync -a >"$T/mbsync.log" 2>&1
check "mbsync filled the Maildir (30)" test "$(count "$LOCAL")" -eq 30 || sed "s/^/# /" "$T/mbsync.log"

"$MAILFERRY" import-mbsyncrc -o "$CFG.new" 2>"$T/notes"
check "import-mbsyncrc reads ~/.mbsyncrc (exit 0)" test $? -eq 0
check "it notes SyncState with its line" grep -q '^line 23: SyncState' "$T/notes"
check "no password in the YAML" test -z "$(grep -F "$MF_PASS" "$CFG.new")"
"$MAILFERRY" import-mbsyncrc -o "$CFG.new" 2>/dev/null
check "-o refuses to overwrite without --force" test $? -eq 2
"$MAILFERRY" import-mbsyncrc --force -o "$CFG.new" 2>/dev/null
check "--force overwrites" test $? -eq 0
{ echo "state_dir: $T/state"; cat "$CFG.new"; } >"$CFG"
mf check >"$T/check.out" 2>&1
check "mailferry check accepts the imported config" test $? -eq 0

server_total=$(count "$MF_MAILDIR")
mark=$(mf_harness logmark)
mf -v sync >"$T/sync.out" 2>&1
check "first sync exits 0" test $? -eq 0
bodies=$(tail -n "+$((${mark%:*} + 1))" "$T/srv/dovecot.log" |
	grep -o 'body_count=[0-9]*' | awk -F= '{ n += $2 } END { print n + 0 }')
check "0 bodies downloaded" test "$bodies" -eq 0
check "0 pushed" grep -q "pushed 0," "$T/sync.out"
check "0 pulled" grep -q "pulled 0," "$T/sync.out"
check "nothing uploaded (server still $server_total)" \
	test "$(count "$MF_MAILDIR")" -eq "$server_total"

folders() { find "$1" -name cur -type d | sed "s|^$1/||; s|/cur$||" |
	LC_ALL=C sort; }
check "Patterns: mbsync's folders are INBOX and Archive" \
	test "$(folders "$LOCAL" | tr '\n' ' ')" = "Archive INBOX "
check "no Junk locally" test ! -d "$LOCAL/Junk"
# sig of lib.sh, but mbsync adds an X-TUID line to the files it writes
# (kept by mailferry: a file keeps its bytes): leave that line out
tsig() {
	local d
	d=$(mktemp -d "$T/tsig.XXXXXX")
	cp -a "$1/." "$d"
	rm -rf "$d/Junk"
	find "$d" \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-exec sed -i '/^X-TUID: /d' {} +
	sig "$d"
	rm -rf "$d"
}
a=$(tsig "$MF_MAILDIR")
b=$(tsig "$LOCAL")
check "the sides compare equal (without the excluded Junk)" test "$a" = "$b"

# a change on each side
f=$(find "$LOCAL/INBOX/cur" -name '*:2,S' | LC_ALL=C sort | head -1)
mv "$f" "${f%:2,S}:2,FS"
mf_harness seed Archive --flags "" "${all[@]:75:1}" >/dev/null 2>&1
mf sync >"$T/sync2.out" 2>&1
check "second sync exits 0" test $? -eq 0
check "the local flag reached the server" \
	test "$(mf_harness doveadm search mailbox INBOX flagged 2>/dev/null |
		wc -l)" -eq 1
check "the new server message arrived (11 in Archive)" \
	test "$(count "$LOCAL/Archive")" -eq 11
a=$(tsig "$MF_MAILDIR")
b=$(tsig "$LOCAL")
check "the sides compare equal after the changes" test "$a" = "$b"

# the mbsync files in examples/ convert to configs check accepts
for rc in "$MF_SOURCE_ROOT"/examples/*.mbsyncrc; do
	name=$(basename "$rc")
	"$MAILFERRY" import-mbsyncrc "$rc" >"$T/$name.yaml" 2>"$T/$name.notes"
	check "examples/$name converts" test $? -eq 0
	"$MAILFERRY" -c "$T/$name.yaml" check >/dev/null 2>&1
	check "examples/$name: check accepts the result" test $? -eq 0
done
finish
