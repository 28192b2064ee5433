#!/bin/bash
# Moves into a folder new in this run (mailferry(1), "Moves"; sync/move.h,
# "Folders new in this run"): the folder exists on one side only, the
# policy creates it on the other, and the messages filed into it are moved
# there on the other side, not copied anew beside a deletion.
#   a. another client creates Projects/2025 on the server and moves half of
#      Archive into it: the local folder is made and the files renamed into
#      it, names kept, no message body fetched (Dovecot's body_count and
#      the trace)
#   b. mkdir + mv of files from a synced local folder: CREATE and UID MOVE
#      on the server, no APPEND
#   c. the same, 5 messages each way, stopped at every step of the run and
#      then run again: both sides as without the stop, each message once on
#      each side and in the new folder, and still no body fetched or
#      appended by either run
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"

gen_msgs "$T/gen" 1 20
mf_harness seed Archive "$T"/gen/m{1..10} >/dev/null 2>&1
mf_harness seed INBOX --flags S "$T"/gen/m{11..20} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

# on_server BOX ID: how many copies of message ID the server's BOX holds
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
# srv_move TO FROM N M: another client moves mN..mM from FROM into TO
srv_move() {
	local i
	for ((i = $3; i <= $4; i++)); do
		mf_harness doveadm move "$1" mailbox "$2" uid "$(u "$2" "m$i.g")" \
			>/dev/null
	done
}
# loc_move TO FROM N M: mkdir TO as a maildir, mv mN..mM there from FROM
loc_move() {
	local i
	mkdir -p "$LOCAL/$1/cur" "$LOCAL/$1/new" "$LOCAL/$1/tmp"
	for ((i = $3; i <= $4; i++)); do
		mv "$(local_file "$2" "m$i.g")" "$LOCAL/$1/cur/"
	done
}

# --- a. moved on the server into a new folder
names=()
for i in 1 2 3 4 5; do names+=("$(basename "$(local_file Archive "m$i.g")")"); done
mf_harness doveadm mailbox create Projects/2025 >/dev/null
srv_move Projects/2025 Archive 1 5
mark=$(mf_harness logmark)
mf -D sync >"$T/out-a" 2>"$T/trace-a"
check "a: sync succeeds" test $? -eq 0
check "a: the moves are reported in the new folder" \
	grep -q 'Projects/2025: .*pulled 0, .*moved 5' "$T/out-a"
ok_a=0
for name in "${names[@]}"; do
	# unseen: in new/ (a rename keeps the directory and the name)
	[ -e "$LOCAL/Projects/2025/new/$name" ] &&
	[ ! -e "$LOCAL/Archive/new/$name" ] || ok_a=1
done
check "a: the local folder is made, the files renamed into it, names kept" \
	test $ok_a -eq 0
check "a: no message body fetched (trace)" no_copy "$T/trace-a"
check "a: no message body sent (Dovecot body_count $(bodies_since "$mark"))" \
	test "$(bodies_since "$mark")" -eq 0
check "a: nothing moved back or uploaded" \
	test "$(trace_commands "$T/trace-a" | grep -Ec 'APPEND|MOVE|COPY')" -eq 0
check "a: each moved message once, in Projects/2025 on both sides" \
	once_in Projects/2025 Archive 1 5
check "a: the other half stays in Archive" once_in Archive INBOX 6 10
same_sides "a: sides agree"
no_duplicates "$LOCAL" "a: no duplicates locally"
mf -D sync >"$T/out-a2" 2>"$T/trace-a2"
check "a: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-a2" | grep -Ec 'APPEND|MOVE|STORE|CREATE')" -eq 0
check "a: and copies nothing" grep -q 'pulled 0, pushed 0' "$T/out-a2"

# --- b. moved locally into a new folder
loc_move New INBOX 11 15
mark=$(mf_harness logmark)
mf -D sync >"$T/out-b" 2>"$T/trace-b"
check "b: sync succeeds" test $? -eq 0
check "b: the folder is created on the server" \
	grep -Eq '^C: [^ ]+ CREATE "?New' "$T/trace-b"
check "b: the server got UID MOVE into it" \
	grep -Eq '^C: [^ ]+ UID MOVE [0-9:,]+ "?New' "$T/trace-b"
check "b: nothing appended" \
	test "$(trace_commands "$T/trace-b" | grep -c APPEND)" -eq 0
check "b: no message body fetched (body_count $(bodies_since "$mark"))" \
	test "$(bodies_since "$mark")" -eq 0
check "b: the moves are reported in the new folder" \
	grep -q 'New: .*pushed 0, .*moved 5' "$T/out-b"
check "b: each moved message once, in New on both sides" \
	once_in New INBOX 11 15
same_sides "b: sides agree"
no_duplicates "$MF_MAILDIR" "b: no duplicates on the server"
mf -D sync >"$T/out-b2" 2>"$T/trace-b2"
check "b: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-b2" | grep -Ec 'APPEND|MOVE|STORE|CREATE')" -eq 0

# --- c. stopped at every step, both directions
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
# crash_every NAME NEW OLD FROM TO: stop the sync at each step, run it
# again, compare with an uninterrupted run; mFROM..mTO went OLD -> NEW
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
	check "$name: the reference run creates and moves ($(tr '\n' ',' <"$T/steps-$name"))" \
		grep -q 'move create' "$T/steps-$name"
	check "$name: and copies no body" \
		test "$(bodies_since "$mark")" -eq 0 -a \
		"$(grep -c '^C: [^ ]* APPEND' "$T/ref-trace-$name")" -eq 0
	check "$name: each message once, in $1" once_in "$@"
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
		elif ! once_in "$@"; then
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

mf_harness doveadm mailbox create Later >/dev/null
srv_move Later Archive 6 10
snapshot far
crash_every far Later Archive 6 10

restore far
mf -q sync >/dev/null 2>&1
loc_move Local2 INBOX 16 20
snapshot near
crash_every near Local2 INBOX 16 20
finish
