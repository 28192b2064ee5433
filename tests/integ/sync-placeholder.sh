#!/bin/bash
# max_size placeholders against Dovecot: messages above max_size arrive as
# their server header block plus a short note (marked ,PH= in the file
# name and in the state), fetched with BODY.PEEK[HEADER] only; flags sync
# on them both ways; verify counts them as present; the server keeps its
# bytes; "mailferry fetch" swaps them for the full messages, byte for
# byte, and a sync after that has nothing to do.  A fetch killed at every step and run again leaves one
# file per message; so does a sync run after the killed fetch.
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
mf_config "max_size: 10K"

# m1..m4 small, m5..m7 large (about 40 KB of body each)
gen_msgs "$T/gen" 1 7
for i in 5 6 7; do
	for ((k = 0; k < 800; k++)); do
		echo "line $k of the large message $i, padding padding padding"
	done >>"$T/gen/m$i"
done
mf_harness seed INBOX --flags S "$T"/gen/m{1..3} "$T"/gen/m5 >/dev/null 2>&1
mf_harness seed INBOX "$T"/gen/m4 "$T"/gen/m{6,7} >/dev/null 2>&1
server_sig=$(sig "$MF_MAILDIR")

srv_file() { grep -l -F "Message-ID: <$1@test>" "$MF_MAILDIR"/INBOX/{cur,new}/* 2>/dev/null | head -1; }
lf() { sed 's/\r$//' "$1"; }
header_of() { lf "$1" | sed '/^$/q'; }

mf -D sync >"$T/out1" 2>"$T/trace1"
rc=$?
check "first sync exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out1" "$T/trace1" | tail -20
check "summary counts the placeholders" grep -q "3 placeholders" "$T/out1"
check "seven messages locally" test "$(count "$LOCAL")" -eq 7
mf verify >"$T/verify" 2>&1
check "verify counts the placeholders as present and names them" \
	bash -c "[ $? -eq 0 ] &&
		grep -qx 'c: INBOX: far 7, near 7: ok (3 placeholders)' '$T/verify'"
for i in 5 6 7; do
	f=$(local_file INBOX m$i.g)
	check "m$i: placeholder file marked in its name" \
		bash -c "[[ '$f' == *,PH=* ]]"
	check "m$i: header bytes are the server's" \
		cmp -s <(header_of "$(srv_file m$i.g)") <(header_of "$f")
	check "m$i: body is the note" \
		grep -q '^\[mailferry: this message is [0-9]* bytes; run `mailferry fetch c:INBOX` to download it\]$' "$f"
done
for i in 1 2 3 4; do
	check "m$i: small message in full" \
		cmp -s <(lf "$(srv_file m$i.g)") "$(local_file INBOX m$i.g)"
done
# the large ones were fetched by header only: no full body in the trace
big=0
for i in 5 6 7; do
	uid=$(server_uid INBOX m$i.g)
	grep -q "^S: \* [0-9]* FETCH (UID $uid BODY\[\] " "$T/trace1" && big=$((big + 1))
done
check "no BODY[] of a large message was fetched" test $big -eq 0
check "(while the small ones were, so the trace shows them)" \
	grep -q "^S: \* [0-9]* FETCH (UID $(server_uid INBOX m1.g) BODY\[\] " "$T/trace1"
check "their headers were fetched (BODY.PEEK[HEADER])" \
	grep -q "BODY.PEEK\[HEADER\]" "$T/trace1"
check "server unchanged by the sync" test "$(sig "$MF_MAILDIR")" = "$server_sig"

mf status >"$T/status" 2>&1
check "status counts the placeholders" \
	grep -q "3 placeholders of large messages" "$T/status"

# flags both ways on placeholders; a second sync pushes nothing
sleep 1.1
set_local_flags "$(local_file INBOX m6.g)" FS
mf_harness doveadm flags add '\Answered' mailbox INBOX uid "$(server_uid INBOX m7.g)" >/dev/null
mf sync >"$T/out2" 2>&1
check "second sync exits 0" test $? -eq 0
check "second sync pushes nothing" grep -q "pushed 0," "$T/out2"
sig "$MF_MAILDIR" | grep -q . # keep set -u quiet
srv_flags() { f=$(srv_file "$1"); i=${f##*:2,}; echo "$i" | tr -dc 'A-Z'; }
check "local flag change on a placeholder reached the server" \
	test "$(srv_flags m6.g)" = FS
loc=$(local_file INBOX m7.g)
check "server flag change reached the placeholder" \
	bash -c "[[ '${loc##*:2,}' == *R* ]]"
check "server has still seven messages" test "$(count "$MF_MAILDIR")" -eq 7
for i in 5 6 7; do
	check "m$i: server bytes unchanged" \
		bash -c "grep -q 'line 799 of the large message $i' '$(srv_file m$i.g)'"
done

# a lost state database: the placeholders pair again, nothing is pushed
mv "$T/state" "$T/state.keep"
mf sync >"$T/out3" 2>&1
check "sync with a lost state exits 0" test $? -eq 0
check "lost state: nothing pushed, nothing pulled again" \
	grep -q "pulled 0, pushed 0," "$T/out3"
check "lost state: server still has seven" test "$(count "$MF_MAILDIR")" -eq 7
check "lost state: local still has seven" test "$(count "$LOCAL")" -eq 7
rm -rf "$T/state"
mv "$T/state.keep" "$T/state"

# a placeholder copied under a new name (both marks lost): never uploaded
sleep 1.1
cp "$(local_file INBOX m5.g)" "$LOCAL/INBOX/cur/1700000099.copy.test:2,S"
mf sync >"$T/out5" 2>&1
rc=$?
check "sync with an unmarked placeholder copy reports a failure" test $rc -eq 1
check "the failure says why" grep -q "placeholder, not the message" "$T/out5"
check "and the server did not get it" test "$(count "$MF_MAILDIR")" -eq 7
rm "$LOCAL/INBOX/cur/1700000099.copy.test:2,S"

# --- fetch, killed at every step, then run again
snap=$T/snap
mkdir -p "$snap"
cp -a "$LOCAL" "$snap/local"
cp -a "$T/state" "$snap/state"
restore() {
	rm -rf "$LOCAL" "$T/state"
	cp -a "$snap/local" "$LOCAL"
	cp -a "$snap/state" "$T/state"
}
mf -n fetch c:INBOX >"$T/dry" 2>&1
check "fetch -n says what it would fetch" grep -q "c: INBOX: would fetch 3" "$T/dry"
check "fetch -n changed nothing" diff -r "$LOCAL" "$snap/local"
MAILFERRY_TEST_STEP_LOG=$T/steps mf fetch >"$T/fetch" 2>&1
rc=$?
check "fetch exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/fetch"
check "fetch reports three" grep -q "fetched 3 placeholders" "$T/fetch"
steps=$(wc -l <"$T/steps")
check "fetch has steps to interrupt ($steps)" test "$steps" -ge 4
full_ok() {	# every message once, the large ones in full, no mark left
	local i f
	[ "$(count "$LOCAL")" -eq 7 ] || return 1
	for i in 1 2 3 4 5 6 7; do
		f=$(local_file INBOX m$i.g)
		[ "$(grep -l -F "Message-ID: <m$i.g@test>" \
			"$LOCAL"/INBOX/{cur,new}/* | wc -l)" -eq 1 ] || return 1
		cmp -s <(lf "$(srv_file m$i.g)") "$f" || return 1
		[[ $f != *,PH=* ]] || return 1
	done
}
check "after fetch: seven full messages, byte-identical to the server" full_ok
loc=$(local_file INBOX m6.g)
check "fetched message keeps the placeholder's flags" \
	test "$(echo "${loc##*:2,}" | tr -dc 'A-Z')" = FS
sleep 1.1
mf sync >"$T/out4" 2>&1
check "sync after fetch exits 0" test $? -eq 0
check "sync after fetch does nothing" \
	grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0$" "$T/out4"
[ $? -eq 0 ] || sed 's/^/# /' "$T/out4"
check "server unchanged by fetch and sync" \
	test "$(sig "$MF_MAILDIR" | awk '{print $2}' | sort)" = \
	     "$(echo "$server_sig" | awk '{print $2}' | sort)"
same_sides "both sides the same after fetch"

bad=0 bad_sync=0
for ((N = 1; N <= steps; N += ${MF_CRASH_STRIDE:-1})); do
	restore
	MAILFERRY_TEST_STOP_AFTER=$N mf -q fetch >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 99 ]; then
		echo "# step $N: fetch ended with $rc, not 99"
		bad=$((bad + 1))
		continue
	fi
	mkdir -p "$T/killed"
	rm -rf "$T/killed/local" "$T/killed/state"
	cp -a "$LOCAL" "$T/killed/local"
	cp -a "$T/state" "$T/killed/state"
	if ! mf -q fetch >"$T/after" 2>&1 || ! full_ok; then
		echo "# step $N ($(sed -n "${N}p" "$T/steps")): fetch again did not end with seven full messages"
		sed 's/^/#   /' "$T/after" | head -5
		find "$LOCAL" -type f | sed 's/^/#   /'
		sqlite3 "$T/state/c.db" "select far_uid, near_key, pending, pending_arg, placeholder from msgs" 2>&1 | sed 's/^/#   /'
		bad=$((bad + 1))
	fi
	# the same kill, then a sync instead: one file per message, nothing
	# uploaded, and a fetch after it completes the rest
	rm -rf "$LOCAL" "$T/state"
	cp -a "$T/killed/local" "$LOCAL"
	cp -a "$T/killed/state" "$T/state"
	if ! mf -q sync >"$T/after" 2>&1 ||
	   [ "$(count "$LOCAL")" -ne 7 ] || [ "$(count "$MF_MAILDIR")" -ne 7 ] ||
	   ! mf -q fetch >>"$T/after" 2>&1 || ! full_ok; then
		echo "# step $N ($(sed -n "${N}p" "$T/steps")): sync after the kill went wrong"
		sed 's/^/#   /' "$T/after" | head -5
		bad_sync=$((bad_sync + 1))
	fi
done
check "fetch killed at each of $steps steps, run again: one full file per message" \
	test $bad -eq 0
check "fetch killed at each step, then sync: one file per message, none uploaded" \
	test $bad_sync -eq 0
finish
