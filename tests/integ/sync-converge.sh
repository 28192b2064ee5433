#!/bin/bash
# Both sides change between two syncs: another IMAP client (doveadm) sets
# and clears flags, expunges and delivers on the server while a mail reader
# renames and deletes files and writes new ones locally.  One sync must
# bring both sides to the same messages with the same flags, with the
# conflict rules of mailferry(1): flags merge per flag, a message deleted on
# one side but changed on the other comes back.  Then nothing is left to do.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup "$@"

gen_msgs "$T/gen" 1 40
mf_harness seed INBOX --flags S "$T"/gen/m{1..20} >/dev/null 2>&1
mf_harness seed INBOX "$T"/gen/m{21..30} >/dev/null 2>&1
mf_harness seed Work --flags S "$T"/gen/m{31..40} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

# --- the server side, through another client
u() { server_uid "$1" "$2"; }
mf_harness doveadm flags add '\Flagged' mailbox INBOX uid "$(u INBOX m1.g)" >/dev/null
mf_harness doveadm flags add '\Flagged' mailbox INBOX uid "$(u INBOX m2.g)" >/dev/null
mf_harness doveadm flags remove '\Seen' mailbox INBOX uid "$(u INBOX m3.g)" >/dev/null
mf_harness doveadm flags add '\Answered' mailbox INBOX uid "$(u INBOX m4.g)" >/dev/null
mf_harness doveadm expunge mailbox INBOX uid "$(u INBOX m5.g)" >/dev/null
mf_harness doveadm expunge mailbox Work uid "$(u Work m31.g)" >/dev/null
# conflict: expunged on the server, flagged locally -> comes back
mf_harness doveadm expunge mailbox INBOX uid "$(u INBOX m6.g)" >/dev/null
gen_msgs "$T/srvnew" 41 43 s
mf_harness seed INBOX "$T"/srvnew/* >/dev/null 2>&1

# --- the local side, as a mail reader would
set_local_flags "$(local_file INBOX m6.g)" FS
set_local_flags "$(local_file INBOX m7.g)" RS
set_local_flags "$(local_file INBOX m21.g)" S
set_local_flags "$(local_file INBOX m2.g)" RS	# far adds F: both end FRS
rm "$(local_file INBOX m8.g)" "$(local_file Work m32.g)"
# conflict: deleted locally, flagged on the server -> comes back
rm "$(local_file INBOX m1.g)"
gen_msgs "$T/locnew" 50 51 l
cp "$T/locnew/m50" "$LOCAL/INBOX/cur/1700000050.loc50.test:2,S"
cp "$T/locnew/m51" "$LOCAL/INBOX/new/1700000051.loc51.test"
mkdir -p "$LOCAL/Notes/cur" "$LOCAL/Notes/new" "$LOCAL/Notes/tmp"
gen_msgs "$T/notes" 60 60 n
cp "$T/notes/m60" "$LOCAL/Notes/cur/1700000060.n60.test:2,S"

mf sync >"$T/out" 2>&1
rc=$?
check "sync after changes on both sides exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out"
same_sides "both sides converged"
mf status >"$T/status" 2>&1
check "no copy left journaled (APPENDs found even without APPENDUID)" \
	grep -q " 0 pending actions" "$T/status"
no_duplicates "$LOCAL" "no duplicates locally"
no_duplicates "$MF_MAILDIR" "no duplicates on the server"

has() {	# has DIR ID FLAGS: message present with exactly these flags
	local f
	f=$(grep -l -F "Message-ID: <$2@test>" "$1"/cur/* "$1"/new/* \
		2>/dev/null | head -1)
	[ -n "$f" ] || return 1
	local info=${f##*:2,}
	[ "$f" != "$info" ] || info=""
	[ "$(echo "$info" | tr -dc 'A-Z')" = "$3" ]
}
gone() { ! grep -q -r -F "Message-ID: <$2@test>" "$1"/cur "$1"/new; }
# a deletion on a server without UIDPLUS is a \Deleted flag (mailferry(1))
gone_far() {
	if [ "${MF_NO_UIDPLUS:-0}" = 1 ]; then
		local f
		f=$(grep -l -r -F "Message-ID: <$2@test>" "$1"/cur "$1"/new)
		[ -z "$f" ] || [[ ${f##*:2,} == *T* ]]
	else
		gone "$@"
	fi
}
check "server flag added arrives locally" has "$LOCAL/INBOX" m3.g ""
check "flag merge: far +F, near +R: both FRS" has "$LOCAL/INBOX" m2.g FRS
check "flag merge on the server too" has "$MF_MAILDIR/INBOX" m2.g FRS
check "server \\Answered arrives" has "$LOCAL/INBOX" m4.g RS
check "server expunge removes the local file" gone "$LOCAL/INBOX" m5.g
check "server expunge in another folder" gone "$LOCAL/Work" m31.g
check "local flags reach the server" has "$MF_MAILDIR/INBOX" m7.g RS
check "local \\Seen reaches the server" has "$MF_MAILDIR/INBOX" m21.g S
check "local delete expunges on the server" gone_far "$MF_MAILDIR/INBOX" m8.g
check "local delete in another folder" gone_far "$MF_MAILDIR/Work" m32.g
check "changes win: flagged locally, expunged on server: back" \
	has "$MF_MAILDIR/INBOX" m6.g FS
check "changes win: deleted locally, flagged on server: back" \
	has "$LOCAL/INBOX" m1.g FS
check "server deliveries arrive" has "$LOCAL/INBOX" m41.s ""
check "local new messages reach the server" has "$MF_MAILDIR/INBOX" m50.l S
check "local unseen new message reaches the server" \
	has "$MF_MAILDIR/INBOX" m51.l ""
check "a new local folder is created on the server" \
	has "$MF_MAILDIR/Notes" m60.n S

sleep 2.2
mf -v sync >"$T/out2" 2>&1
check "third sync exits 0" test $? -eq 0
check "third sync has nothing to do" \
	grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0$" "$T/out2"
same_sides "still converged"
finish
