#!/bin/bash
# A folder that exists on one side only, where "create" does not cover the
# other side, is reported as skipped with its reason and the run exits 0
# (it used to crash with SIGSEGV, exit 139, all output lost): a far-only
# folder with create: far or none, a near-only one with create: near or
# none, and a near-only one whose name the server holds as a \Noselect
# parent (what a server that makes parents of its own leaves, e.g. Cyrus'
# INBOX.Lists).  sync -n, status and fetch survive them too.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

msgs=$MF_TESTDATA/messages
mf_harness seed INBOX "$msgs"/python-test_email/msg_0*.txt >/dev/null 2>&1
mf_harness seed FarOnly "$msgs"/mimekit/* >/dev/null 2>&1
# the server holds "Parent" only as the \Noselect parent of Parent/Child
mf_harness seed Parent/Child "$msgs"/spamassassin/nice-0* >/dev/null 2>&1
mkdir -p "$LOCAL"/INBOX/{cur,new,tmp} "$LOCAL"/NearOnly/{cur,new,tmp} \
	"$LOCAL"/Parent/{cur,new,tmp}
cp "$msgs/mailkit/message.1.msg" "$LOCAL/NearOnly/cur/1700000001.n1.test:2,S"
cp "$msgs/mailkit/message.2.msg" "$LOCAL/Parent/cur/1700000002.p1.test:2,S"
server_boxes() { mf_harness doveadm mailbox list 2>/dev/null | sort; }
check "the server lists its folders" \
	test "$(server_boxes | grep -cx 'INBOX\|FarOnly\|Parent/Child')" -eq 3

# exit_is NAME WANT RC OUT: the run exited WANT (its output shown if not)
exit_is() {
	if [ "$3" -eq "$2" ]; then ok "$1"; else
		not_ok "$1 (exit $3, want $2)"
		sed 's/^/# /' "$4" | head -20
	fi
}
has() {	# has NAME FILE TEXT: FILE holds the fixed string TEXT
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		not_ok "$1"
		echo "# want: $3"
		sed 's/^/# /' "$2" | head -20
	fi
}

# --- create: far --- the far-only folder is skipped, the near-only one
# is created on the server
mf_config "create: far"
mf -n sync >"$T/dry1" 2>&1
exit_is "sync -n, create: far: exits 0" 0 $? "$T/dry1"
has "sync -n names the far-only folder and the create value" "$T/dry1" \
	"c: FarOnly: skipped: exists only on the far side; create: both would make it"
mf sync >"$T/out1" 2>&1
exit_is "sync, create: far: exits 0" 0 $? "$T/out1"
has "sync names the far-only folder and the create value" "$T/out1" \
	"c: FarOnly: skipped: exists only on the far side; create: both would make it"
has "the summary counts the skipped folder" "$T/out1" "skipped): pulled"
check "the far-only folder was not made locally" test ! -e "$LOCAL/FarOnly"
check "the other folders were synced (INBOX pulled)" \
	test "$(count "$LOCAL/INBOX")" -eq "$(count "$MF_MAILDIR/INBOX")"
check "the near-only folder was created on the server" \
	grep -qx NearOnly <(server_boxes)
has "the \\Noselect parent blocks the near-only Parent" "$T/out1" \
	"c: Parent: skipped: exists only on the near side; its name is taken on the far side"
mf status >"$T/st1" 2>&1
exit_is "status exits 0" 0 $? "$T/st1"
check "status lists no pair for the skipped folder" \
	bash -c "! grep -q FarOnly '$T/st1'"
mf fetch >"$T/fe1" 2>&1
exit_is "fetch exits 0" 0 $? "$T/fe1"
mf -n fetch >"$T/fe1n" 2>&1
exit_is "fetch -n exits 0" 0 $? "$T/fe1n"

# --- create: near --- a new near-only folder is skipped; FarOnly is made
mkdir -p "$LOCAL"/LocalNew/{cur,new,tmp}
cp "$msgs/mailkit/message.3.msg" "$LOCAL/LocalNew/cur/1700000003.l1.test:2,S"
mf_config "create: near"
mf -n sync >"$T/dry2" 2>&1
exit_is "sync -n, create: near: exits 0" 0 $? "$T/dry2"
has "sync -n names the near-only folder" "$T/dry2" \
	"c: LocalNew: skipped: exists only on the near side; create: both would make it"
mf sync >"$T/out2" 2>&1
exit_is "sync, create: near: exits 0" 0 $? "$T/out2"
has "sync names the near-only folder and the create value" "$T/out2" \
	"c: LocalNew: skipped: exists only on the near side; create: both would make it"
if server_boxes | grep -qx LocalNew; then
	not_ok "the near-only folder was not made on the server"
else
	ok "the near-only folder was not made on the server"
fi
check "the far-only folder was created locally now" \
	test "$(count "$LOCAL/FarOnly")" -eq "$(count "$MF_MAILDIR/FarOnly")"
check "the local message of the skipped folder is still there" \
	test "$(count "$LOCAL/LocalNew")" -eq 1

# --- create: none --- both directions name "create: far" / "create: near"
mf_harness seed FarNew "$msgs"/mailkit/message.4.msg >/dev/null 2>&1
mf_config "create: none"
mf sync >"$T/out3" 2>&1
exit_is "sync, create: none: exits 0" 0 $? "$T/out3"
has "far-only with create: none says create: near" "$T/out3" \
	"c: FarNew: skipped: exists only on the far side; create: near would make it"
has "near-only with create: none says create: far" "$T/out3" \
	"c: LocalNew: skipped: exists only on the near side; create: far would make it"
mf -q sync >"$T/out4" 2>&1
exit_is "sync -q exits 0" 0 $? "$T/out4"
check "sync -q prints nothing for skipped folders" test ! -s "$T/out4"
mf -n sync c:LocalNew >"$T/out5" 2>&1
exit_is "sync -n c:LocalNew (a skipped folder named) exits 0" 0 $? "$T/out5"
has "naming a skipped folder reports it" "$T/out5" "c: LocalNew: skipped:"
finish
