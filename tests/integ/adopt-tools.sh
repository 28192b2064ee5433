#!/bin/bash
# Adopting a Maildir that another sync tool filled, with the real tools:
# mbsync (isync) and offlineimap3 copy the server's mail into a Maildir,
# then mailferry syncs the same server and Maildir with an empty state.
# Nothing may cross twice: no upload, no download of a message the Maildir
# already has, every file's bytes left as the tool wrote them, one copy of
# each message on each side; flags changed on either side meanwhile are
# carried, which shows that the messages were really paired.
#
# The corpus is real and hostile on purpose: messages that share a
# Message-ID, messages without one, malformed headers that mbsync refuses
# ("incomplete header"; mailferry copies those) and that offlineimap3
# turns into body text (its ",U=,FMD5=" names are what pairs them then).
set -u
. "$(dirname "$0")/lib.sh"
for tool in mbsync offlineimap; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "1..0 # SKIP $tool not installed (tests/harness/deps.sh)"
		exit 77
	}
done
mf_setup

msgs=$MF_TESTDATA/messages
mapfile -t all < <(find "$msgs" -type f ! -name '*.md' | LC_ALL=C sort)
half=$((${#all[@]} / 2))
mf_harness seed INBOX --flags S "${all[@]:0:half}" >/dev/null 2>&1
mf_harness seed Archive --flags "" "${all[@]:half}" >/dev/null 2>&1
server_total=$(count "$MF_MAILDIR")

# body_count= summed over the sessions logged after MARK (call after
# "traffic", which waits until they have logged)
bodies_since() {
	tail -n "+$((${1%:*} + 1))" "$T/srv/dovecot.log" |
		grep -o 'body_count=[0-9]*' |
		awk -F= '{ n += $2 } END { print n + 0 }'
}

# contents DIR: sorted sha256 of every message file's bytes
contents() {
	find "$1" \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-exec sha256sum {} + | awk '{ print $1 }' | LC_ALL=C sort
}

flagged_server() {
	mf_harness doveadm search mailbox INBOX flagged 2>/dev/null | wc -l
}
flagged_local() {
	find "$LOCAL/INBOX/cur" -name '*:2,*F*' | wc -l
}

# adopt TOOL: the tool has filled $LOCAL; flag 3 messages on the server
# and 2 in the Maildir, sync with mailferry, check what crossed.
adopt() {
	local tool=$1 before mark out pulled bodies missing
	local tool_count
	tool_count=$(count "$LOCAL")
	missing=$((server_total - tool_count))
	contents "$LOCAL" >"$T/$tool.before"
	mf_harness doveadm flags add '\Flagged' mailbox INBOX uid 1:3 \
		>/dev/null 2>&1
	for f in $(find "$LOCAL/INBOX/cur" -name '*:2,S' | LC_ALL=C sort |
		tail -n 2); do
		mv "$f" "${f%:2,S}:2,FS"
	done
	contents "$LOCAL" >"$T/$tool.before"

	mark=$(mf_harness logmark)
	mf -v sync >"$T/$tool.out" 2>&1
	check "$tool: mailferry adopts the Maildir (exit 0)" test $? -eq 0
	mf_harness traffic --since "$mark" >/dev/null
	bodies=$(bodies_since "$mark")
	pulled=$(sed -n 's/^c: [0-9]* folders.*pulled \([0-9]*\),.*/\1/p' \
		"$T/$tool.out")
	check "$tool: nothing uploaded (server still $server_total)" \
		test "$(count "$MF_MAILDIR")" -eq "$server_total"
	check "$tool: pushed 0" grep -q "pushed 0," "$T/$tool.out"
	check "$tool: pulled only what $tool left out ($missing)" \
		test "${pulled:-x}" = "$missing"
	check "$tool: every server message once locally ($server_total)" \
		test "$(count "$LOCAL")" -eq "$server_total"
	# bodies: the missing ones, plus the few read whole to confirm a
	# hint (messages whose header the tool rewrote, Message-ID lost)
	echo "# $tool: $bodies bodies fetched, $missing missing," \
		"$tool_count adopted"
	check "$tool: bodies fetched are few ($bodies <= $missing + 8)" \
		test "$bodies" -le $((missing + 8))
	check "$tool: the tool's files keep their bytes" \
		test -z "$(LC_ALL=C comm -23 "$T/$tool.before" \
			<(contents "$LOCAL"))"
	check "$tool: no X-TUID reached the server" \
		test -z "$(grep -rl '^X-TUID:' "$MF_MAILDIR" 2>/dev/null)"
	check "$tool: server flags reached the Maildir (5 flagged)" \
		test "$(flagged_local)" -eq 5
	check "$tool: Maildir flags reached the server (5 flagged)" \
		test "$(flagged_server)" -eq 5
	sleep 2.2
	mf sync >"$T/$tool.out2" 2>&1
	check "$tool: a second sync has nothing to do" \
		grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0" \
		"$T/$tool.out2"
	grep -q FAILED "$T/$tool.out" "$T/$tool.out2" &&
		sed 's/^/# /' "$T/$tool.out" "$T/$tool.out2"
}

reset_sides() {
	rm -rf "$LOCAL" "$T/state" "$T/oi"
	mf_harness doveadm flags remove '\Flagged' mailbox '*' all \
		>/dev/null 2>&1
	mkdir -p "$LOCAL"
}

# -- mbsync ------------------------------------------------------------
reset_sides
cat >"$T/mbsyncrc" <<M
IMAPAccount srv
Host localhost
Port $MF_IMAPS_PORT
User $MF_USER
Pass $MF_PASS
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
Patterns *
Create Near
SyncState *
M
mbsync -c "$T/mbsyncrc" -a >"$T/mbsync.log" 2>&1
check "mbsync filled the Maildir" test "$(count "$LOCAL")" -gt 100
check "mbsync wrote X-TUID (the case under test)" \
	test -n "$(grep -rl '^X-TUID:' "$LOCAL" 2>/dev/null | head -1)"
adopt mbsync

# -- offlineimap3 ------------------------------------------------------
reset_sides
cat >"$T/oirc" <<M
[general]
accounts = a
metadata = $T/oi

[Account a]
localrepository = l
remoterepository = r

[Repository l]
type = Maildir
localfolders = $LOCAL
sep = /

[Repository r]
type = IMAP
remotehost = localhost
remoteport = $MF_IMAPS_PORT
ssl = yes
sslcacertfile = $MF_CA_FILE
remoteuser = $MF_USER
remotepass = $MF_PASS
M
offlineimap -c "$T/oirc" -u basic >"$T/offlineimap.log" 2>&1
check "offlineimap filled the Maildir" test "$(count "$LOCAL")" -gt 100
check "offlineimap names carry FMD5 (the case under test)" \
	test -n "$(find "$LOCAL" -name '*,FMD5=*' | head -1)"
adopt offlineimap

finish
