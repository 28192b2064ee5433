#!/bin/bash
# Initial sync of real messages both ways against Dovecot: every message on
# both sides with its flags, byte-identical (CRLF on the server, LF here);
# a second sync sends nothing but the LIST-STATUS round trip after login;
# a dry run changes nothing; status reads the state without network.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

msgs=$MF_TESTDATA/messages
mf_harness seed INBOX "$msgs"/python-test_email/msg_*.txt >/dev/null 2>&1
mf_harness seed Archive --flags S "$msgs"/mimekit/* >/dev/null 2>&1
mf_harness seed Lists/dev --flags FS "$msgs"/spamassassin/nice-0* >/dev/null 2>&1
mf_harness seed Lists/dev --new "$msgs"/spamassassin/spam-0* >/dev/null 2>&1

# the local side has mail of its own to push, in a folder the server lacks
mkdir -p "$LOCAL"/INBOX/{cur,new,tmp} "$LOCAL"/Drafts/{cur,new,tmp}
i=0
for f in "$msgs"/dovecot-malformed/thirdparty-*.eml; do
	i=$((i + 1))
	cp "$f" "$LOCAL/INBOX/cur/170000000$i.local$i.test:2,S"
done
cp "$msgs/mailkit/message.1.msg" "$LOCAL/Drafts/cur/1700000001.d1.test:2,D"
cp "$msgs/mailkit/message.2.msg" "$LOCAL/Drafts/new/1700000002.d2.test"
server_before=$(count "$MF_MAILDIR")
local_before=$(count "$LOCAL")

mf -n sync >"$T/dry" 2>&1
check "dry run exits 0" test $? -eq 0
check "dry run lists planned pulls" grep -q "would pull" "$T/dry"
check "dry run changed nothing locally" \
	test "$(count "$LOCAL")" -eq "$local_before"
check "dry run wrote no state" test ! -e "$T/state/c.db"

mf sync >"$T/out1" 2>&1
rc=$?
check "first sync exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out1"
same_sides "both sides hold the same messages with the same flags"
total=$((server_before + local_before))
check "server has every message once ($total)" \
	test "$(count "$MF_MAILDIR")" -eq "$total"
check "local has every message once ($total)" \
	test "$(count "$LOCAL")" -eq "$total"
no_duplicates "$LOCAL" "no duplicates locally"
no_duplicates "$MF_MAILDIR" "no duplicates on the server"
check "unseen server mail lands in new/" \
	test "$(find "$LOCAL/Lists/dev/new" -type f | wc -l)" -gt 0
check "no X-TUID or other header added" \
	test -z "$(grep -rl '^X-TUID:' "$LOCAL" "$MF_MAILDIR" 2>/dev/null)"

# let the maildir's directory timestamps age past the 2 s "dirty" window
sleep 2.2
mf -D sync >"$T/out2" 2>"$T/trace2"
check "second sync exits 0" test $? -eq 0
cmds=$(trace_commands "$T/trace2" | tr '\n' ' ')
case $cmds in
"AUTHENTICATE ID ENABLE NAMESPACE LIST LOGOUT ")
	ok "second sync: LIST-STATUS only ($cmds)" ;;
*)	not_ok "second sync: LIST-STATUS only (got: $cmds)" ;;
esac
# the LIST rides with the session setup: it is on the wire before the
# NAMESPACE reply is in (imap_prelist_submit), and it is the only LIST
ns_tag=$(sed -n 's/^C: \([^ ]*\) NAMESPACE.*/\1/p' "$T/trace2" | head -1)
list_at=$(grep -n '^C: [^ ]* LIST ' "$T/trace2" | head -1 | cut -d: -f1)
ns_ok_at=$(grep -n "^S: ${ns_tag:-none} " "$T/trace2" | head -1 | cut -d: -f1)
check "second sync: LIST sent before NAMESPACE's reply (lines ${list_at:-?} < ${ns_ok_at:-?})" \
	test "${list_at:-0}" -gt 0 -a "${list_at:-0}" -lt "${ns_ok_at:-0}"
check "second sync reports nothing to do" \
	grep -q "2 unchanged\|([0-9]* unchanged): pulled 0, pushed 0, flags 0/0, deleted 0/0" "$T/out2"
check "trace never shows the password" \
	bash -c "! grep -qF '$MF_PASS' '$T/trace2'"
same_sides "still the same after the second sync"

# a local change (a flag, a deletion, a new message) is carried back
# without selecting its folder a second time to take the status to record
# (the session's own responses give it: store.h selected_status), and the
# run after it is a LIST-STATUS only again
flagged=$(find "$LOCAL/Archive/cur" -type f -name '*:2,S' | sort | head -1)
mv "$flagged" "${flagged%:2,S}:2,FS"
rm "$(find "$LOCAL/Lists/dev/cur" -type f | sort | head -1)"
seen=$(find "$LOCAL/Lists/dev/cur" -type f -name '*:2,FS' | sort | tail -1)
mv "$seen" "${seen%:2,FS}:2,S"
gen_msgs "$T/new" 1 1 local
cp "$T/new/m1" "$LOCAL/INBOX/cur/1700000100.new1.test:2,S"
server_before=$(count "$MF_MAILDIR")
mf -D sync >"$T/out3" 2>"$T/trace3"
check "the local change's sync exits 0" test $? -eq 0
check "it pushed one, changed two flags, deleted one" \
	grep -q "pushed 1, flags 2/0, deleted 1/0" "$T/out3"
grep -q "pushed 1, flags 2/0" "$T/out3" || sed 's/^/# /' "$T/out3"
# in Lists/dev the flag's STORE, the STORE \Deleted and the UID EXPUNGE
# go out together, one wait (store.h, change)
del_at=$(grep -n '^C: [^ ]* UID STORE .*Deleted' "$T/trace3" | head -1 |
	cut -d: -f1)
fl_tag=$(head -n "${del_at:-0}" "$T/trace3" | grep '^C: [^ ]* UID STORE ' |
	grep -v Deleted | tail -1 | awk '{print $2}')
fl_ok_at=$(grep -n "^S: ${fl_tag:-none} " "$T/trace3" | head -1 | cut -d: -f1)
x_at=$(grep -n '^C: [^ ]* UID EXPUNGE' "$T/trace3" | head -1 | cut -d: -f1)
check "flags, \\Deleted and UID EXPUNGE sent before the flags' answer (lines ${del_at:-?}, ${x_at:-?} < ${fl_ok_at:-?})" \
	test "${x_at:-0}" -gt "${del_at:-0}" -a "${del_at:-0}" -gt 0 \
	-a "${x_at:-0}" -lt "${fl_ok_at:-0}"
twice=$(sed -n 's/^C: [^ ]* SELECT //p' "$T/trace3" | sort | uniq -d)
check "no folder selected twice (got: ${twice:-none})" test -z "$twice"
check "the server has the change ($server_before + 1 - 1)" \
	test "$(count "$MF_MAILDIR")" -eq "$server_before"
same_sides "the same on both sides after the local change"
sleep 2.2
mf -D sync >"$T/out4" 2>"$T/trace4"
check "the sync after it exits 0" test $? -eq 0
cmds=$(trace_commands "$T/trace4" | tr '\n' ' ')
case $cmds in
"AUTHENTICATE ID ENABLE NAMESPACE LIST LOGOUT ")
	ok "after the local change: LIST-STATUS only ($cmds)" ;;
*)	not_ok "after the local change: LIST-STATUS only (got: $cmds)" ;;
esac

mf status >"$T/status" 2>&1
check "status exits 0" test $? -eq 0
check "status lists the folder pairs" grep -q "Lists/dev" "$T/status"
finish
