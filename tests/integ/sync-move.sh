#!/bin/bash
# Moves between folders (mailferry(1), "Moves"): a message filed into
# another folder on one side is moved on the other side too, not deleted
# and copied again.
#   a. files moved locally with mv: UID MOVE on the server, no APPEND;
#      a dry run first lists the moves and changes nothing
#   b. messages moved on the server by another client: the local files are
#      renamed, no message body is fetched
#   c. a run killed at each step of a small move in both directions, then
#      a full run: both sides the same as without the kill, nothing twice
#   d. a server without MOVE: UID COPY + UID EXPUNGE, still no APPEND;
#      and the crash test of c again on that path
#   e. without MOVE and UIDPLUS: a deletion and an upload, as before
#   f. keywords of files moved locally with mv: the letters name keywords
#      through the source folder's dovecot-keywords; the server keeps the
#      keywords, the file gets the destination's letters for them (name
#      otherwise kept), letters the source did not name stay; and the
#      same killed at every step
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"

gen_msgs "$T/gen" 1 30
mf_harness seed INBOX --flags S "$T"/gen/m{1..20} >/dev/null 2>&1
mf_harness seed Archive "$T"/gen/m{21..25} >/dev/null 2>&1
mf_harness seed Work "$T"/gen/m{26..30} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

u() { server_uid "$1" "$2"; }
# on_server BOX ID: how many copies of message ID the server's BOX holds
on_server() {
	mf_harness doveadm search mailbox "$1" header message-id "$2@test" \
		2>/dev/null | wc -l
}
# mv_local FROM TO ID: move the local file as mv(1) would, name kept
mv_local() {
	local f
	f=$(local_file "$1" "$3")
	mv "$f" "$LOCAL/$2/cur/"
}
# no_body_fetch TRACE: no FETCH of whole messages (headers are fine)
no_body_fetch() {
	! grep -E '^C: [^ ]+ UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )])' "$1" \
		>/dev/null
}

# --- a. moved locally
for i in 1 2 3 4; do mv_local INBOX Archive "m$i.g"; done
before_srv=$(sig "$MF_MAILDIR")
before_loc=$(sig "$LOCAL")
cp -a "$T/state" "$T/state.before"
mf sync -n >"$T/dry" 2>&1
check "a: dry run lists the 4 moves" \
	test "$(grep -c 'INBOX -> Archive: near .* moved: would move far UID' "$T/dry")" -eq 4
check "a: dry run reports them per folder" grep -q 'move 4 here' "$T/dry"
check "a: dry run changes nothing on the server" \
	test "$before_srv" = "$(sig "$MF_MAILDIR")"
check "a: dry run changes nothing locally" \
	test "$before_loc" = "$(sig "$LOCAL")"
check "a: dry run leaves the state alone" \
	cmp -s "$T/state/c.db" "$T/state.before/c.db"
mf -D sync >"$T/out-a" 2>"$T/trace-a"
check "a: sync reports the moves" grep -q 'Archive: .*moved 4' "$T/out-a"
check "a: the server got UID MOVE" \
	grep -Eq '^C: [^ ]+ UID MOVE [0-9:,]+ "?Archive' "$T/trace-a"
check "a: nothing was appended" \
	test "$(trace_commands "$T/trace-a" | grep -c APPEND)" -eq 0
ok_a=0
for i in 1 2 3 4; do
	[ "$(on_server Archive "m$i.g")" -eq 1 ] &&
	[ "$(on_server INBOX "m$i.g")" -eq 0 ] || ok_a=1
done
check "a: each moved message is in Archive once, not in INBOX" \
	test $ok_a -eq 0
same_sides "a: sides agree"
no_duplicates "$MF_MAILDIR" "a: no duplicates on the server"
mf -D sync >"$T/out-a2" 2>"$T/trace-a2"
check "a: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-a2" | grep -Ec 'APPEND|MOVE|STORE')" -eq 0

# --- b. moved on the server
names=()
for i in 5 6 7; do names+=("$(basename "$(local_file INBOX "m$i.g")")"); done
for i in 5 6 7; do
	mf_harness doveadm move Work mailbox INBOX uid "$(u INBOX "m$i.g")" \
		>/dev/null
done
mf -D sync >"$T/out-b" 2>"$T/trace-b"
check "b: sync reports the moves" grep -q 'Work: .*moved 3' "$T/out-b"
ok_b=0
for name in "${names[@]}"; do
	[ -e "$LOCAL/Work/cur/$name" ] && [ ! -e "$LOCAL/INBOX/cur/$name" ] ||
		ok_b=1
done
check "b: local files renamed into Work, names kept" test $ok_b -eq 0
check "b: no message body fetched" no_body_fetch "$T/trace-b"
check "b: nothing appended or moved back" \
	test "$(trace_commands "$T/trace-b" | grep -Ec 'APPEND|MOVE')" -eq 0
same_sides "b: sides agree"
no_duplicates "$LOCAL" "b: no duplicates locally"

# --- c. killed at every step of a move in both directions
snapshot() {	# snapshot NAME: save server mail, local maildir, state
	bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime >/dev/null 2>&1
	rm -rf "$T/snap-$1"
	mkdir -p "$T/snap-$1"
	cp -a "$MF_MAILDIR/." "$T/snap-$1/server"
	cp -a "$LOCAL/." "$T/snap-$1/local"
	cp -a "$T/state/." "$T/snap-$1/state"
	bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
}
restore() {	# restore NAME
	bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime >/dev/null 2>&1
	find "$MF_MAILDIR" -mindepth 1 -delete
	cp -a "$T/snap-$1/server/." "$MF_MAILDIR"
	bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
	rm -rf "$LOCAL" "$T/state"
	cp -a "$T/snap-$1/local" "$LOCAL"
	cp -a "$T/snap-$1/state" "$T/state"
}
# crash_every NAME: stop the sync at each step, run a full sync, compare
crash_every() {
	local name=$1 steps N bad=0
	restore "$name"
	MAILFERRY_TEST_STEP_LOG=$T/steps-$name mf -q sync >/dev/null 2>&1
	steps=$(wc -l <"$T/steps-$name")
	sig "$LOCAL" >"$T/ref-$name"
	check "$name: reference run converges" \
		cmp -s "$T/ref-$name" <(sig "$MF_MAILDIR")
	check "$name: the run moves ($(tr '\n' ',' <"$T/steps-$name"))" \
		grep -q move "$T/steps-$name"
	for ((N = 1; N <= steps; N += ${MF_CRASH_STRIDE:-1})); do
		restore "$name"
		MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
		if [ $? -ne 99 ]; then
			echo "# $name: step $N: not stopped"
			bad=$((bad + 1))
			continue
		fi
		if ! mf -q sync >"$T/after" 2>&1; then
			echo "# $name: step $N: recovery sync failed"
			bad=$((bad + 1))
			continue
		fi
		if ! sig "$LOCAL" | cmp -s - "$T/ref-$name" ||
		   ! sig "$MF_MAILDIR" | cmp -s - "$T/ref-$name"; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): result differs"
			diff <(sig "$MF_MAILDIR") "$T/ref-$name" | head -6 | sed 's/^/#   server /'
			diff <(sig "$LOCAL") "$T/ref-$name" | head -6 | sed 's/^/#   local /'
			bad=$((bad + 1))
		fi
	done
	check "$name: killed at each of $steps steps, recovery gives the reference result" \
		test $bad -eq 0
}

mv_local INBOX Archive m8.g
mv_local INBOX Archive m9.g
mf_harness doveadm move Work mailbox INBOX uid "$(u INBOX m10.g)" >/dev/null
snapshot C
crash_every C
restore C
mf -q sync >/dev/null 2>&1

# --- d. without MOVE: COPY + UID EXPUNGE
sed -i '/password_env/a\    disable: [move]' "$CFG"
for i in 11 12; do mv_local INBOX Work "m$i.g"; done
mf -D sync >"$T/out-d" 2>"$T/trace-d"
check "d: UID COPY sent" grep -Eq '^C: [^ ]+ UID COPY ' "$T/trace-d"
check "d: the originals expunged by UID" \
	grep -Eq '^C: [^ ]+ UID EXPUNGE ' "$T/trace-d"
check "d: no UID MOVE" test "$(grep -c 'UID MOVE' "$T/trace-d")" -eq 0
check "d: nothing appended" \
	test "$(trace_commands "$T/trace-d" | grep -c APPEND)" -eq 0
check "d: sync reports the moves" grep -q 'Work: .*moved 2' "$T/out-d"
same_sides "d: sides agree"
no_duplicates "$MF_MAILDIR" "d: no duplicates on the server"

for i in 13 14; do mv_local INBOX Archive "m$i.g"; done
snapshot D
crash_every D

# --- e. neither MOVE nor UIDPLUS: delete plus upload, as before moves;
# the uploads get no UID, so they are found again by content (and must
# not be uploaded twice, nor come back as new mail)
restore D
mf -q sync >/dev/null 2>&1
sed -i 's/disable: \[move\]/disable: [move, uidplus]/' "$CFG"
export MF_NO_UIDPLUS=1
for i in 15 16; do mv_local INBOX Archive "m$i.g"; done
mf -D sync >"$T/out-e" 2>"$T/trace-e"
check "e: no MOVE or COPY" \
	test "$(grep -Ec 'UID (MOVE|COPY)' "$T/trace-e")" -eq 0
# a message's bytes are one literal in the trace, whether each went in an
# APPEND of its own or both in one MULTIAPPEND
check "e: uploaded once each" \
	test "$(grep -Ec '^C: \{[0-9]+ bytes\}$' "$T/trace-e")" -eq 2
same_sides "e: sides agree"
no_duplicates "$MF_MAILDIR" "e: no duplicates on the server"
mf sync >"$T/out-e2" 2>&1
check "e: the next run copies nothing" \
	grep -q 'pulled 0, pushed 0' "$T/out-e2"
same_sides "e: sides still agree"

# --- f. keywords moved by hand
sed -i '/disable:/d' "$CFG"
unset MF_NO_UIDPLUS
# e's originals stay \Deleted on the server: gone from both sides' view
mf_harness doveadm expunge mailbox INBOX deleted >/dev/null 2>&1
gen_msgs "$T/kw" 31 33 kw
mf_harness seed INBOX --flags S "$T"/kw/m{31..33} >/dev/null 2>&1
for b in Kw Kw2; do mf_harness doveadm mailbox create "$b" >/dev/null 2>&1; done
for i in 31 32; do
	mf_harness doveadm flags add '$Label1 Important' mailbox INBOX \
		header message-id "m$i.kw@test" >/dev/null 2>&1
done
mf -q sync >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
# srv_kw BOX ID: the server's keywords of that message, sorted
srv_kw() {
	mf_harness doveadm fetch flags mailbox "$1" header message-id \
		"$2@test" 2>/dev/null | sed -n 's/^flags: //p' | tr ' ' '\n' |
		grep -v '^\\' | grep . | LC_ALL=C sort | tr '\n' ' ' |
		sed 's/ $//'
}
# loc_kw BOX ID: the local file's keywords through BOX's dovecot-keywords
loc_kw() {
	local f letters
	f=$(local_file "$1" "$2")
	letters=$(basename "$f" | sed -n 's/.*:2,\([A-Za-z]*\).*/\1/p' |
		tr -d 'A-Z')
	[ -e "$LOCAL/$1/dovecot-keywords" ] || return 0
	awk -v l="$letters" '{
		i = $1 + 0; name = substr($0, index($0, " ") + 1)
		if (index(l, substr("abcdefghijklmnopqrstuvwxyz", i + 1, 1)))
			print name
	}' "$LOCAL/$1/dovecot-keywords" | LC_ALL=C sort | tr '\n' ' ' |
		sed 's/ $//'
}
key_of() { basename "$1" | sed 's/[:!]2,.*//'; }
check "f: INBOX has the two keywords locally" \
	test "$(loc_kw INBOX m31.kw)" = '$Label1 Important'
# Kw names another keyword with a letter INBOX uses; Kw2 names none
printf '0 Other\n' >"$LOCAL/Kw/dovecot-keywords"
f31=$(local_file INBOX m31.kw)
f32=$(local_file INBOX m32.kw)
f33=$(local_file INBOX m33.kw)
mv "$f31" "$LOCAL/Kw/cur/"
mv "$f32" "$LOCAL/Kw2/cur/"
# m33: a letter INBOX does not name, then moved
mv "$f33" "$LOCAL/Kw2/cur/$(basename "$f33")q"
name33=$(basename "$f33")q
sleep 1.1
snapshot F
mf -D sync >"$T/out-f" 2>"$T/trace-f"
check "f: moved with UID MOVE" \
	test "$(grep -Ec '^C: [^ ]+ UID MOVE ' "$T/trace-f")" -ge 1
check "f: the server keeps m31's keywords in Kw ($(srv_kw Kw m31.kw))" \
	test "$(srv_kw Kw m31.kw)" = '$Label1 Important'
check "f: the server keeps m32's keywords in Kw2 ($(srv_kw Kw2 m32.kw))" \
	test "$(srv_kw Kw2 m32.kw)" = '$Label1 Important'
check "f: m31's letters name them in Kw ($(loc_kw Kw m31.kw))" \
	test "$(loc_kw Kw m31.kw)" = '$Label1 Important'
check "f: m32's letters name them in Kw2 ($(loc_kw Kw2 m32.kw))" \
	test "$(loc_kw Kw2 m32.kw)" = '$Label1 Important'
check "f: the unique names are kept" \
	test "$(key_of "$(local_file Kw m31.kw)")" = "$(key_of "$f31")" -a \
	"$(key_of "$(local_file Kw2 m32.kw)")" = "$(key_of "$f32")"
check "f: Kw's own entry keeps its letter" \
	grep -qx '0 Other' "$LOCAL/Kw/dovecot-keywords"
check "f: a letter the source did not name stays as it is" \
	test -e "$LOCAL/Kw2/cur/$name33"
check "f: and m33 has no keyword on the server" \
	test "$(srv_kw Kw2 m33.kw)" = ''
same_sides "f: sides agree"
before=$(cd "$LOCAL" && find . -path '*/cur/*' | sort)
mf -D sync >"$T/out-f2" 2>"$T/trace-f2"
check "f: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-f2" | grep -Ec 'APPEND|MOVE|STORE')" -eq 0
check "f: and renames nothing" \
	test "$before" = "$(cd "$LOCAL" && find . -path '*/cur/*' | sort)"

# killed at every step: the recovery run must give the same keywords
restore F
rm -f "$T/steps-F"
MAILFERRY_TEST_STEP_LOG=$T/steps-F mf -q sync >/dev/null 2>&1
steps=$(wc -l <"$T/steps-F")
bad=0
for ((N = 1; N <= steps; N += ${MF_CRASH_STRIDE:-1})); do
	restore F
	MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
	rc=$?
	mf -q sync >/dev/null 2>&1 || { echo "# f: step $N: recovery failed"; bad=$((bad + 1)); }
	mf -q sync >/dev/null 2>&1
	got="$rc|$(srv_kw Kw m31.kw)|$(srv_kw Kw2 m32.kw)|$(loc_kw Kw m31.kw)|$(loc_kw Kw2 m32.kw)|$(srv_kw Kw2 m33.kw)"
	want='99|$Label1 Important|$Label1 Important|$Label1 Important|$Label1 Important|'
	if [ "$got" != "$want" ] || [ ! -e "$LOCAL/Kw2/cur/$name33" ]; then
		echo "# f: step $N ($(sed -n "${N}p" "$T/steps-F")): $got"
		bad=$((bad + 1))
	fi
done
check "f: killed at each of $steps steps ($(tr '\n' ',' <"$T/steps-F")), the keywords survive" \
	test $bad -eq 0
same_sides "f: sides agree after the crash runs"
finish
