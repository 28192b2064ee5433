#!/bin/bash
# Killed like a user's Ctrl-C or a dying laptop, IMAP to IMAP: a sync of a
# few hundred messages between two private Dovecots is sent SIGKILL at a
# random moment, again and again, each time resuming what the last one
# left; then one sync runs to the end.  Both servers must then hold what
# one uninterrupted sync gives: no Message-ID twice, none missing, the
# same contents and flags.
#
# Where sync-crash-imap.sh stops the process at exact steps, this kills it
# from outside at any instant (in a TLS write, half way through an APPEND
# literal, during the settling wait), as the reported migration did.
#
# Rounds alternate between a migration (pull-new, pull-flags, nothing
# deleted, folders created near; examples/migrate.yaml) and a two-way sync
# (both directions at once).  MF_KILL_SEED (default 4711) seeds the
# moments, MF_KILL_ROUNDS (4) and MF_KILL_TIMES (5 kills per round) size
# it; a failure names the seed and round to replay.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
mf2_setup
seed=${MF_KILL_SEED:-4711}
rounds=${MF_KILL_ROUNDS:-4}
times=${MF_KILL_TIMES:-5}
RANDOM=$seed

migrate=("folders: [\"*\"]" "sync: [pull-new, pull-flags]" "expunge: none"
	"create: near" "remove: none")

# ms: milliseconds since the epoch
ms() { date +%s%3N; }

# --- the mail: 300 far messages in three folders, 40 near
gen_msgs "$T/gen" 1 300
far_harness seed INBOX --flags S "$T"/gen/m{1..120} >/dev/null 2>&1
far_harness seed INBOX "$T"/gen/m{121..180} >/dev/null 2>&1
far_harness seed Lists/dev --flags FS "$T"/gen/m{181..260} >/dev/null 2>&1
far_harness seed Archive --flags RS "$T"/gen/m{261..300} >/dev/null 2>&1
gen_msgs "$T/loc" 501 540 l
near_harness seed INBOX --flags S "$T"/loc/m{501..520} >/dev/null 2>&1
near_harness seed Archive "$T"/loc/m{521..540} >/dev/null 2>&1
check "seeded 300 far and 40 near messages" \
	test "$(count "$FAR_MAIL")" -eq 300 -a "$(count "$NEAR_MAIL")" -eq 40
mf2_snapshot pristine

for ((round = 1; round <= rounds; round++)); do
	if ((round % 2)); then
		kind=migration
		mf2_config "${migrate[@]}"
		oneway=oneway
	else
		kind=two-way
		mf2_config
		oneway=
	fi
	name="round $round ($kind, seed $seed)"
	mf2_restore pristine
	t0=$(ms)
	mf -q sync >"$T/out" 2>&1
	rc=$?
	dur=$(($(ms) - t0))
	check "$name: an uninterrupted sync succeeds (${dur} ms)" test $rc -eq 0
	mf2_reference "$name" "$T/ref" $oneway
	mf2_restore pristine
	killed=0 half=0 mid_dups=0 early=0
	total=$(($(wc -l <"$T/ref.far") + $(wc -l <"$T/ref.near")))
	for ((k = 1; k <= times; k++)); do
		# the first kill in the first half of an uninterrupted run's
		# time (which varies with the load); a resumed run has less
		# left to do (after a settling wait of a second or more), so
		# later kills come sooner
		if [ $k -eq 1 ]; then
			delay=$((50 + RANDOM % (dur / 2)))
		else
			delay=$((50 + RANDOM % (dur / k + 600)))
		fi
		# the binary itself, not a subshell, is what gets the signal
		"$MAILFERRY" -c "$CFG" -q sync >/dev/null 2>&1 &
		pid=$!
		sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=$?
		if [ $rc -eq 137 ]; then
			killed=$((killed + 1))
			# a copy is never made twice, so a duplicate now
			# would stay for good
			now=$(($(count "$FAR_MAIL") + $(count "$NEAR_MAIL")))
			d=$( (msgids "$FAR_MAIL"; msgids "$NEAR_MAIL" |
				sed 's/^/near:/') | uniq -d | grep -c . || true)
			mid_dups=$((mid_dups + d))
			[ "$now" -lt "$total" ] && half=$((half + 1))
			echo "# $name: killed after $delay ms:" \
				"$now of $total messages there, $d twice"
		elif [ $killed -eq 0 ] && [ $early -lt 4 ]; then
			# faster than the reference run: start again, sooner
			echo "# $name: finished (rc $rc) before $delay ms: again"
			early=$((early + 1)) dur=$((dur / 2)) k=0
			mf2_restore pristine
		else
			# done: what follows would be runs with nothing to do
			echo "# $name: finished (rc $rc) before $delay ms"
			break
		fi
	done
	check "$name: $killed runs killed while still syncing, $half with copies left to make" \
		test "$killed" -gt 0 -a "$half" -gt 0
	check "$name: no Message-ID twice after any of the kills ($mid_dups)" \
		test "$mid_dups" -eq 0
	mf -q sync >"$T/out" 2>&1
	rc=$?
	check "$name: the sync after the kills succeeds" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/#   /' "$T/out" | head -5
	dups=0 missing=0 differ=0
	mf2_check_sides "$T/ref" dups missing differ
	check "$name: no Message-ID twice on either side ($dups)" \
		test "$dups" -eq 0
	check "$name: no message missing on either side ($missing)" \
		test "$missing" -eq 0
	check "$name: contents and flags as one uninterrupted sync ($differ sides differ)" \
		test "$differ" -eq 0
	mf -q sync >/dev/null 2>&1
	dups=0 missing=0 differ=0
	mf2_check_sides "$T/ref" dups missing differ >/dev/null
	check "$name: one more sync changes nothing" \
		test $((dups + missing + differ)) -eq 0
done
finish
