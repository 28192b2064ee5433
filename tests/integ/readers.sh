#!/bin/bash
# Mail readers working on the synced Maildir, with the real programs:
#   - neomutt's "save to folder" (s) writes a copy with a Content-Length
#     field added and removes the original: a move, not an upload, and the
#     server's keyword on the message stays with it;
#   - notmuch with synchronize_flags turns tags into flags in file names,
#     and a message moved with mv (keeping its name) stays one message.
# Each is checked against the server: what is where, once, with which
# flags, and how many message bodies crossed.
set -u
. "$(dirname "$0")/lib.sh"
for tool in neomutt notmuch tmux; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "1..0 # SKIP $tool not installed (tests/harness/deps.sh)"
		exit 77
	}
done
mf_setup

gen_msgs "$T/m" 1 20
mf_harness seed INBOX "$T"/m/m* >/dev/null 2>&1
mf_harness seed Archive "$T"/m/m1 >/dev/null 2>&1
mf_harness doveadm mailbox create Archive >/dev/null 2>&1
mf_harness doveadm expunge mailbox Archive all >/dev/null 2>&1
uid5=$(server_uid INBOX m5.g)
mf_harness doveadm flags add '$Label1' mailbox INBOX uid "$uid5" \
	>/dev/null 2>&1

mf sync >"$T/out0" 2>&1
check "first sync" test $? -eq 0
check "20 messages local" test "$(count "$LOCAL")" -eq 20

bodies_since() {
	mf_harness traffic --since "$1" >/dev/null
	tail -n "+$((${1%:*} + 1))" "$T/srv/dovecot.log" |
		grep -o 'body_count=[0-9]*' |
		awk -F= '{ n += $2 } END { print n + 0 }'
}
appends_in() {
	grep -c '^C: [^ ]* APPEND' "$1" || true
}
in_box() {	# in_box BOX ID: count of server messages with that Message-ID
	mf_harness doveadm search mailbox "$1" header message-id "$2@test" \
		2>/dev/null | wc -l
}
server_flags() {	# server_flags BOX ID
	local uid
	uid=$(server_uid "$1" "$2")
	mf_harness doveadm fetch flags mailbox "$1" uid "$uid" 2>/dev/null |
		sed 's/^flags: //'
}

# -- neomutt: save m5 from INBOX to =Archive ---------------------------
cat >"$T/muttrc" <<M
set folder=$LOCAL
set mbox_type=Maildir
set spoolfile=+INBOX
set delete=yes
set confirmappend=no
set confirmcreate=no
set move=no
set mark_old=no
set sort=date
set header_cache=
M
# the message list is sorted by date; m5's position is its number
tmux -L mf-readers-$$ new-session -d -x 120 -y 40 \
	"TERM=xterm neomutt -n -F $T/muttrc -f $LOCAL/INBOX -e 'push \"5<enter><save-message>=Archive<enter><sync-mailbox><quit>\"'"
for _ in $(seq 1 100); do
	tmux -L mf-readers-$$ has-session 2>/dev/null || break
	sleep 0.1
done
tmux -L mf-readers-$$ kill-server 2>/dev/null
saved=$(local_file Archive m5.g)
check "neomutt saved m5 into Archive" test -n "$saved"
check "neomutt removed it from INBOX" test -z "$(local_file INBOX m5.g)"
check "neomutt added Content-Length (the case under test)" \
	grep -q '^Content-Length:' "${saved:-/dev/null}"

mark=$(mf_harness logmark)
mf -D sync >"$T/out1" 2>"$T/trace1"
check "sync after the save" test $? -eq 0
check "the save became a move" grep -q "moved 1" "$T/out1"
check "no upload" test "$(appends_in "$T/trace1")" -eq 0
check "no body downloaded" test "$(bodies_since "$mark")" -eq 0
check "server: m5 left INBOX" test "$(in_box INBOX m5.g)" -eq 0
check "server: m5 once in Archive" test "$(in_box Archive m5.g)" -eq 1
check "server: m5 kept its keyword \$Label1" \
	grep -q '\$Label1' <<<"$(server_flags Archive m5.g)"
check "local: m5 once" test "$(grep -rl 'm5.g@test' "$LOCAL" | wc -l)" -eq 1
check "the local copy's bytes are neomutt's" \
	grep -q '^Content-Length:' "$(local_file Archive m5.g)"

# -- notmuch: tags as flags, and a move keeping the name ----------------
export NOTMUCH_CONFIG=$T/notmuch-config
cat >"$NOTMUCH_CONFIG" <<N
[database]
path=$LOCAL
[maildir]
synchronize_flags=true
[new]
tags=unread;inbox;
N
notmuch new >"$T/notmuch.log" 2>&1
check "notmuch indexed the Maildir" \
	test "$(notmuch count '*' 2>/dev/null)" -eq 20
notmuch tag +flagged -unread id:m3.g@test >>"$T/notmuch.log" 2>&1
check "notmuch renamed m3 with F and S" \
	test -n "$(find "$LOCAL/INBOX" -name '*:2,*F*S*' | head -1)"
f7=$(local_file INBOX m7.g)
mv "$f7" "$LOCAL/Archive/cur/"
notmuch new >>"$T/notmuch.log" 2>&1

sleep 2.2
mark=$(mf_harness logmark)
mf -D sync >"$T/out2" 2>"$T/trace2"
check "sync after notmuch" test $? -eq 0
check "server: m3 flagged and seen" \
	grep -q '\\Flagged.*\\Seen\|\\Seen.*\\Flagged' \
	<<<"$(server_flags INBOX m3.g)"
check "server: m7 moved, not copied" \
	test "$(in_box INBOX m7.g)" -eq 0 -a "$(in_box Archive m7.g)" -eq 1
check "no upload" test "$(appends_in "$T/trace2")" -eq 0
check "no body downloaded" test "$(bodies_since "$mark")" -eq 0
check "notmuch still finds every message once" \
	test "$(notmuch new >/dev/null 2>&1; notmuch count '*')" -eq 20

sleep 2.2
mf sync >"$T/out3" 2>&1
check "then nothing to do" \
	grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0" "$T/out3"
finish
