#!/bin/bash
# Moves out of a folder removed on one side (mailferry(1), "Moves";
# sync/move.h, "Folders gone on one side"): its mail went into other
# folders of that side, the folder was deleted, and the other side moves
# its copies out of the folder it still has instead of keeping them and
# copying everything anew.
#   a. another client creates X and Y on the server, moves half of A into
#      each and deletes A: the local files are renamed into X and Y (names
#      kept), no message body fetched, the local A kept and empty
#   b. mkdir P and Q, mv half of B's files into each, rm -rf B: CREATE and
#      UID MOVE on the server, no APPEND, the server's B left empty (and
#      the local B made again, empty: nothing left to pull)
#   c. "remove: near": after a, the emptied local folder goes too
#   d. both directions again, stopped at every step of the run and then
#      run again: both sides as without the stop, each message once on
#      each side and in its new folder, no body fetched or appended (run
#      first, on few folders: a restored snapshot has each looked at anew)
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"

gen_msgs "$T/gen" 1 45
# d first, with few folders: every step of it is run again, and a
# restored snapshot has every folder looked at anew
mf_harness seed C "$T"/gen/m{21..24} >/dev/null 2>&1
mf_harness seed D --flags S "$T"/gen/m{31..34} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

# on_server BOX ID: how many copies of message ID the server's BOX holds
# (0 for a folder that does not exist)
on_server() {
	mf_harness doveadm search mailbox "$1" header message-id "$2@test" \
		2>/dev/null | wc -l
}
# on_local BOX ID: how many copies the local BOX holds
on_local() {
	grep -l -F "Message-ID: <$2@test>" "$LOCAL/$1"/cur/* "$LOCAL/$1"/new/* \
		2>/dev/null | wc -l
}
# once_in NEW OLD FROM TO: messages mFROM..mTO are once in NEW and not in
# OLD, on both sides; prints the first that is not
once_in() {
	local i id
	for ((i = $3; i <= $4; i++)); do
		id=m$i.g
		if [ "$(on_server "$1" "$id")" -ne 1 ] ||
		   [ "$(on_local "$1" "$id")" -ne 1 ] ||
		   [ "$(on_server "$2" "$id")" -ne 0 ] ||
		   [ "$(on_local "$2" "$id")" -ne 0 ]; then
			echo "# $id: server $1 $(on_server "$1" "$id"), $2 $(on_server "$2" "$id");" \
				"local $1 $(on_local "$1" "$id"), $2 $(on_local "$2" "$id")"
			return 1
		fi
	done
}
# server_empty BOX: the server has BOX, with no message in it
server_empty() {
	mf_harness doveadm -f flow mailbox status messages "$1" 2>/dev/null |
		grep -Eq '(^| )messages=0$'
}
# local_empty BOX: the local BOX is a maildir with no message in it
local_empty() {
	[ -d "$LOCAL/$1/cur" ] &&
	[ -z "$(find "$LOCAL/$1/cur" "$LOCAL/$1/new" -type f | head -1)" ]
}
# bodies_since MARK: message bodies Dovecot sent since MARK (its
# body_count; headers are not counted)
bodies_since() {
	mf_harness traffic --since "$1" >/dev/null
	tail -n "+$((${1%:*} + 1))" "$MF_DOVECOT_LOG" |
		grep -o 'body_count=[0-9]*' |
		awk -F= '{ n += $2 } END { print n + 0 }'
}
# no_copy TRACE...: no APPEND and no FETCH of a whole message
no_copy() {
	! grep -hE '^C: [^ ]+ (APPEND |UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )]))' \
		"$@" >/dev/null
}
u() { server_uid "$1" "$2"; }
# all_of CMD...: each command line (word-split, no quoting) succeeds
all_of() {
	local c
	for c in "$@"; do
		eval "$c" || return 1
	done
}
# srv_split OLD TO1 TO2 N M K: another client creates TO1 and TO2, moves
# mN..mM from OLD into TO1 and the rest up to mK into TO2, deletes OLD
srv_split() {
	local i
	mf_harness doveadm mailbox create "$2" "$3" >/dev/null
	for ((i = $4; i <= $6; i++)); do
		mf_harness doveadm move "$([ "$i" -le "$5" ] && echo "$2" || echo "$3")" \
			mailbox "$1" uid "$(u "$1" "m$i.g")" >/dev/null
	done
	mf_harness doveadm mailbox delete "$1" >/dev/null
}
# loc_split OLD TO1 TO2 N M K: the same locally, with mkdir, mv, rm -rf
loc_split() {
	local i to
	mkdir -p "$LOCAL/$2"/{cur,new,tmp} "$LOCAL/$3"/{cur,new,tmp}
	for ((i = $4; i <= $6; i++)); do
		to=$3
		[ "$i" -le "$5" ] && to=$2
		mv "$(local_file "$1" "m$i.g")" "$LOCAL/$to/cur/"
	done
	rm -rf "${LOCAL:?}/$1"
}

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
# crash_every NAME CHECK...: stop the sync at each step, run it again,
# compare with an uninterrupted run; CHECK says each message is once in
# its new folder and gone from the old one
crash_every() {
	local name=$1 steps N bad=0 mark b
	shift
	restore "$name"
	mark=$(mf_harness logmark)
	MAILFERRY_TEST_STEP_LOG=$T/steps-$name mf -D sync >/dev/null \
		2>"$T/ref-trace-$name"
	steps=$(wc -l <"$T/steps-$name")
	sig "$LOCAL" >"$T/ref-$name"
	check "$name: reference run converges" \
		cmp -s "$T/ref-$name" <(sig "$MF_MAILDIR")
	check "$name: the reference run moves ($(tr '\n' ',' <"$T/steps-$name"))" \
		grep -q 'move record' "$T/steps-$name"
	check "$name: and copies no body" \
		test "$(bodies_since "$mark")" -eq 0 -a \
		"$(grep -c '^C: [^ ]* APPEND' "$T/ref-trace-$name")" -eq 0
	check "$name: each message once, in its new folder" "$@"
	for ((N = 1; N <= steps; N += ${MF_CRASH_STRIDE:-1})); do
		restore "$name"
		mark=$(mf_harness logmark)
		MAILFERRY_TEST_STOP_AFTER=$N mf -D sync >/dev/null 2>"$T/trace1"
		if [ $? -ne 99 ]; then
			echo "# $name: step $N: not stopped"
			bad=$((bad + 1))
			continue
		fi
		if ! mf -D sync >"$T/after" 2>"$T/trace2"; then
			echo "# $name: step $N: recovery sync failed"
			bad=$((bad + 1))
			continue
		fi
		b=$(bodies_since "$mark")
		if ! sig "$LOCAL" | cmp -s - "$T/ref-$name" ||
		   ! sig "$MF_MAILDIR" | cmp -s - "$T/ref-$name"; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): result differs"
			diff <(sig "$MF_MAILDIR") "$T/ref-$name" | head -6 | sed 's/^/#   server /'
			diff <(sig "$LOCAL") "$T/ref-$name" | head -6 | sed 's/^/#   local /'
			bad=$((bad + 1))
		elif ! "$@"; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): not once each"
			bad=$((bad + 1))
		elif [ "$b" -ne 0 ] || ! no_copy "$T/trace1" "$T/trace2"; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): copied ($b bodies)"
			bad=$((bad + 1))
		fi
	done
	check "$name: stopped at each of $steps steps, the next run gives the same, nothing copied" \
		test $bad -eq 0
}
# --- d. stopped at every step, both directions
far_placed() { once_in X2 C 21 22 && once_in Y2 C 23 24 && local_empty C; }
# D is left empty on both sides (the server's kept, the local one made
# again), or, after a stop between the two moves, gone on both: the rename
# pass then finds the rest of D's files all in Q2, a rename of D (rename.h)
near_placed() {
	once_in P2 D 31 32 && once_in Q2 D 33 34 &&
	{ { server_empty D && local_empty D; } ||
	  { ! server_empty D && [ ! -e "$LOCAL/D" ]; }; }
}

srv_split C X2 Y2 21 22 24
snapshot far
crash_every far far_placed

restore far
mf -q sync >/dev/null 2>&1
loc_split D P2 Q2 31 32 34
snapshot near
crash_every near near_placed

# --- a, b, c on folders of their own
mf_harness seed A "$T"/gen/m{1..10} >/dev/null 2>&1
mf_harness seed B --flags S "$T"/gen/m{11..20} >/dev/null 2>&1
mf_harness seed E "$T"/gen/m{41..44} >/dev/null 2>&1
check "sync of A, B and E" mf -q sync
same_sides "A, B and E converged"

# --- a. split on the server, the old folder deleted there
names=()
for i in 1 2 3 4 5; do names+=("$(basename "$(local_file A "m$i.g")")"); done
srv_split A X Y 1 5 10
mark=$(mf_harness logmark)
mf -D sync >"$T/out-a" 2>"$T/trace-a"
check "a: sync succeeds" test $? -eq 0
check "a: the moves are reported in X and Y" \
	all_of "grep -q 'X: .*pulled 0, .*moved 5' $T/out-a" \
	"grep -q 'Y: .*pulled 0, .*moved 5' $T/out-a"
ok_a=0
for name in "${names[@]}"; do
	# unseen: in new/ (a rename keeps the directory and the name)
	[ -e "$LOCAL/X/new/$name" ] || ok_a=1
done
check "a: the files are renamed into X, names kept" test $ok_a -eq 0
check "a: no message body fetched (trace)" no_copy "$T/trace-a"
check "a: no message body sent (Dovecot body_count $(bodies_since "$mark"))" \
	test "$(bodies_since "$mark")" -eq 0
check "a: nothing moved, copied or uploaded on the server" \
	test "$(trace_commands "$T/trace-a" | grep -Ec 'APPEND|MOVE|COPY|CREATE')" -eq 0
check "a: each message once, in X on both sides" once_in X A 1 5
check "a: each message once, in Y on both sides" once_in Y A 6 10
check "a: the local A is kept, empty" local_empty A
check "a: and reported kept" grep -q 'A: .*vanished on far, kept' "$T/out-a"
same_sides "a: sides agree"
no_duplicates "$LOCAL" "a: no duplicates locally"
mf -D sync >"$T/out-a2" 2>"$T/trace-a2"
check "a: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-a2" | grep -Ec 'APPEND|MOVE|STORE|CREATE|DELETE')" -eq 0
check "a: and copies nothing" \
	test "$(grep -c 'pulled [1-9]\|pushed [1-9]\|moved [1-9]' "$T/out-a2")" -eq 0
check "a: the local A is still there, empty" local_empty A
# the emptied A is no loser any more: new mail alone makes the move pass
# look at no folder (it would EXAMINE the one that gained before that
# folder's own sync)
mf_harness seed INBOX "$T"/gen/m45 >/dev/null 2>&1
mf -D sync >"$T/out-a3" 2>"$T/trace-a3"
check "a: new mail elsewhere: pulled" grep -q 'INBOX: pulled 1' "$T/out-a3"
check "a: and no move pass for it" \
	test "$(trace_commands "$T/trace-a3" | grep -c EXAMINE)" -eq 0

# --- b. split locally, the old folder removed by hand
loc_split B P Q 11 15 20
mark=$(mf_harness logmark)
mf -D sync >"$T/out-b" 2>"$T/trace-b"
check "b: sync succeeds" test $? -eq 0
check "b: P and Q are created on the server" \
	test "$(grep -Ec '^C: [^ ]+ CREATE "?[PQ]"?$' "$T/trace-b")" -eq 2
check "b: the server got UID MOVE from B into P and Q" \
	test "$(grep -Ec '^C: [^ ]+ UID MOVE [0-9:,]+ "?[PQ]' "$T/trace-b")" -eq 2
check "b: nothing appended" \
	test "$(trace_commands "$T/trace-b" | grep -c APPEND)" -eq 0
check "b: no message body fetched (body_count $(bodies_since "$mark"))" \
	test "$(bodies_since "$mark")" -eq 0
check "b: the moves are reported in P and Q" \
	all_of "grep -q 'P: .*pushed 0, .*moved 5' $T/out-b" \
	"grep -q 'Q: .*pushed 0, .*moved 5' $T/out-b"
check "b: each message once, in P on both sides" once_in P B 11 15
check "b: each message once, in Q on both sides" once_in Q B 16 20
check "b: the server's B is left, empty" server_empty B
check "b: the local B is made again, empty (nothing pulled back)" local_empty B
same_sides "b: sides agree"
no_duplicates "$MF_MAILDIR" "b: no duplicates on the server"
mf -D sync >"$T/out-b2" 2>"$T/trace-b2"
check "b: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-b2" | grep -Ec 'APPEND|MOVE|STORE|CREATE|DELETE')" -eq 0
check "b: and copies nothing" \
	test "$(grep -c 'pulled [1-9]\|pushed [1-9]\|moved [1-9]' "$T/out-b2")" -eq 0

# --- c. remove: near, a server-side split: the emptied local folder goes
mf_config "remove: near"
srv_split E E1 E2 41 42 44
mark=$(mf_harness logmark)
mf -D sync >"$T/out-c" 2>"$T/trace-c"
check "c: sync succeeds" test $? -eq 0
check "c: no message body sent (body_count $(bodies_since "$mark"))" \
	test "$(bodies_since "$mark")" -eq 0
check "c: each message once, in E1 and E2 on both sides" \
	all_of "once_in E1 E 41 42" "once_in E2 E 43 44"
check "c: the emptied local E is removed" test ! -e "$LOCAL/E"
same_sides "c: sides agree"
mf_config

finish
