#!/bin/bash
# SIGINT and SIGTERM in the middle of a sync stop it at a safe point:
# what was copied is committed, exit 130 (SIGINT) or 143 (SIGTERM), no file
# of ours is left in a maildir's tmp/, and the next run converges with
# every message once.  A second signal kills at once.  Leftovers of a
# killed run (kill -9) that are provably ours (mailferry.<key>, a dead pid
# on this host) are removed by the next run; other programs' files in
# tmp/ are never touched.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

# big_msgs DIR FROM TO TAG: messages with a ~24 KiB body each, so that a
# sync of a few hundred takes long enough to be interrupted
big_msgs() {
	local dir=$1 i line
	mkdir -p "$dir"
	line=$(printf 'lorem ipsum dolor sit amet %.0s' $(seq 3))
	for ((i = $2; i <= $3; i++)); do
		{
			printf 'Date: Mon, 2 Nov 2026 10:%02d:00 +0000\n' $((i % 60))
			printf 'From: a%d@example.org\nTo: b@example.org\n' "$i"
			printf 'Subject: big %d %s\nMessage-ID: <b%d.%s@test>\n\n' \
				"$i" "$4" "$i" "$4"
			for ((k = 0; k < 300; k++)); do
				echo "$i $k $line"
			done
		} >"$dir/m$i"
	done
}

# our_tmp DIR: our files in the tmp/ of every folder under DIR; all_tmp:
# every file there
our_tmp() { (cd "$1" && find . -path '*/tmp/mailferry.*' -type f | wc -l); }
all_tmp() { (cd "$1" && find . -path '*/tmp/*' -type f | wc -l); }

# wait_step LOG STEP PID [N]: until LOG has N (default 1) STEP lines, or
# PID is gone
wait_step() {
	local i n
	for ((i = 0; i < 1500; i++)); do
		# no LOG yet: grep prints nothing
		n=$(grep -c " $2\$" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "${4:-1}" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# run_and_signal NAME STEP[:N] SIG...: start a sync, send each SIG (20 ms
# apart) once its step log shows STEP (the Nth time); sets rc, out, sent
run_and_signal() {
	local log=$T/steps.$1 step=${2%%:*} nth=1 pid sig
	[[ $2 == *:* ]] && nth=${2##*:}
	shift 2
	out=$T/out.${log##*.}
	rm -f "$log"
	# job control on: a background job of a script otherwise starts
	# with SIGINT ignored, and mailferry keeps an ignored signal so
	set -m
	MAILFERRY_TEST_STEP_LOG=$log MAILFERRY_TEST_STEP_DELAY_MS=3 \
		"$MAILFERRY" -c "$CFG" sync >"$out" 2>&1 &
	pid=$!
	set +m
	sent=no
	if wait_step "$log" "$step" "$pid" "$nth"; then
		for sig in "$@"; do
			kill -"$sig" "$pid" 2>/dev/null && sent=yes
			sleep 0.02
		done
	fi
	wait "$pid"
	rc=$?
}

exit_is() {	# exit_is NAME WANT
	if [ "$rc" -eq "$2" ]; then ok "$1"; else
		not_ok "$1 (exit $rc, want $2)"
		sed 's/^/# /' "$out" | tail -10
	fi
}

# 300 messages on the server in three folders, 200 local ones to push
big_msgs "$T/far" 1 300 far
mf_harness seed INBOX $(printf "$T/far/m%d " $(seq 1 150)) >/dev/null 2>&1
mf_harness seed Lists/a $(printf "$T/far/m%d " $(seq 151 250)) >/dev/null 2>&1
mf_harness seed Lists/b $(printf "$T/far/m%d " $(seq 251 300)) >/dev/null 2>&1
check "the server holds 300 messages" test "$(count "$MF_MAILDIR")" -eq 300
big_msgs "$T/near" 1 200 near
mkdir -p "$LOCAL"/INBOX/{cur,new,tmp} "$LOCAL"/Local/{cur,new,tmp}
for i in $(seq 1 200); do
	cp "$T/near/m$i" "$LOCAL/Local/cur/1700000$i.near$i.test:2,S"
done
# in tmp/: a file as mbsync leaves it, one of an older mailferry without
# our mark, three days old, and one of ours whose process is dead: the
# first two must stay, the last must go
echo "mbsync was here" >"$LOCAL/INBOX/tmp/1732780000.4242_1.otherhost"
echo "not ours either" >"$LOCAL/INBOX/tmp/1732780000.M1P1Q1R0.host"
touch -d '3 days ago' "$LOCAL/INBOX/tmp/1732780000.M1P1Q1R0.host"
sh -c 'exit 0' &
dead=$!
wait $dead
host=$(hostname)
case $host in */*|*:*|*,*|*!*|'') host= ;; esac	# escaped: skip the plant
planted=$LOCAL/INBOX/tmp/mailferry.1732780000.M1P${dead}Q1R0.$host
[ -z "$host" ] || : >"$planted"
foreign=2

# --- 1. SIGINT while a batch is fetched: the batch completes (the
# transport gives it MF_CANCEL_GRACE_MS), then the run stops ---
run_and_signal int journal INT
check "SIGINT was sent during the sync" test "$sent" = yes
exit_is "SIGINT: exit 130" 130
check "SIGINT: says it stopped by SIGINT" grep -q "stopped by SIGINT" "$out"
check "SIGINT: no success summary" bash -c "! grep -q 'folders (' '$out'"
n1=$(count "$LOCAL")
n1=$((n1 - 200))
if [ "$n1" -gt 0 ] && [ "$n1" -lt 300 ]; then
	ok "SIGINT: stopped in the middle ($n1 of 300 pulled)"
else
	not_ok "SIGINT: stopped in the middle ($n1 of 300 pulled)"
fi
check "SIGINT: none of our files left in tmp/" test "$(our_tmp "$LOCAL")" -eq 0
check "SIGINT: the foreign tmp/ files are still there" \
	test "$(all_tmp "$LOCAL")" -eq "$foreign"
if [ -n "$host" ]; then
	check "a dead delivery of ours (planted) was removed" \
		test ! -e "$planted"
else
	echo "# host name needs escaping: no planted leftover"
fi
mf status >"$T/status.int" 2>&1
check "after SIGINT: status shows no pending action" \
	grep -q " 0 pending actions" "$T/status.int"
no_duplicates "$LOCAL" "after SIGINT: no duplicates locally"

# --- 2. kill -9 while a batch is being delivered: tmp/ leftovers ---
run_and_signal kill journal KILL
check "kill -9 was sent during the sync" test "$sent" = yes
exit_is "kill -9: killed (exit 137)" 137
left=$(our_tmp "$LOCAL")
check "kill -9 left files of ours in tmp/ ($left)" test "$left" -gt 0

# --- 3. SIGTERM after a confirmed batch: the run stops before the next
# folder, exit 143; it also cleans up after 2 ---
run_and_signal term confirm TERM
check "SIGTERM was sent during the sync" test "$sent" = yes
exit_is "SIGTERM: exit 143" 143
check "SIGTERM: says it stopped by SIGTERM" grep -q "stopped by SIGTERM" \
	"$out"
n3=$(($(count "$LOCAL") + $(count "$MF_MAILDIR")))
if [ "$n3" -lt 1000 ]; then
	ok "SIGTERM: stopped before the end ($n3 of 1000 copies there)"
else
	not_ok "SIGTERM: stopped before the end (all 1000 copies there)"
fi
check "SIGTERM: our leftovers of the kill -9 are gone" \
	test "$(our_tmp "$LOCAL")" -eq 0
check "SIGTERM: the foreign tmp/ files are still there" \
	test "$(all_tmp "$LOCAL")" -eq "$foreign"
no_duplicates "$LOCAL" "after SIGTERM: no duplicates locally"
no_duplicates "$MF_MAILDIR" "after SIGTERM: no duplicates on the server"

# --- 4. a second SIGINT kills at once: sent while the 200 local
# messages are being uploaded (after the first APPEND), it leaves
# journaled APPENDs for the next run to find.  One APPEND per message
# here: a MULTIAPPEND sends the 200 as one command, with no step between
# them to signal at ---
sed -i '/password_env/a\    disable: [multiappend]' "$CFG"
run_and_signal twice "imap append" INT INT
check "two SIGINTs were sent" test "$sent" = yes
[ "$sent" = yes ] || grep -v deliver "$T/steps.twice" | sed 's/^/# step: /'

check "two SIGINTs: killed by the second, no orderly stop message" \
	bash -c "! grep -q 'stopped by SIGINT' '$out'"
exit_is "two SIGINTs: exit 130" 130
sed -i '/disable: \[multiappend\]/d' "$CFG"

# --- 5. the next run converges ---
mf sync >"$T/out.final" 2>&1
rc=$?
out=$T/out.final
exit_is "the final sync exits 0" 0
same_sides "both sides hold the same messages with the same flags"
check "the server has each message once (500)" \
	test "$(count "$MF_MAILDIR")" -eq 500
check "the local side has each message once (500)" \
	test "$(count "$LOCAL")" -eq 500
no_duplicates "$LOCAL" "no duplicates locally"
no_duplicates "$MF_MAILDIR" "no duplicates on the server"
check "none of our files in tmp/ at the end" test "$(our_tmp "$LOCAL")" -eq 0
check "the foreign tmp/ files survived every run" \
	test "$(all_tmp "$LOCAL")" -eq "$foreign"
check "mbsync's file is untouched" \
	grep -qx "mbsync was here" "$LOCAL/INBOX/tmp/1732780000.4242_1.otherhost"

# --- 6. a server that went quiet does not hold the stop up: the wait
# ends MF_CANCEL_GRACE_MS (10 s) after SIGINT, not at the 50 s timeout ---
FAKE=${MF_BUILD_ROOT:-}/tests/fake/fake-imapd
if [ -x "$FAKE" ]; then
	"$FAKE" --script "$MF_SOURCE_ROOT/tests/fake/stall.script" \
		--log "$T/fake.log" --port-file "$T/fake.port" --timeout 70 \
		2>/dev/null &
	fake=$!
	for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
	cat >"$T/stall.yaml" <<YAML
state_dir: $T/state-stall
accounts:
  fake:
    host: localhost
    port: $(cat "$T/fake.port")
    tls: none
    allow_insecure: true
    user: alice
    password_env: MF_TEST_PW
    timeout: 50
stores:
  local:
    maildir: $T/local-stall
channels:
  s:
    far: fake
    near: local
YAML
	set -m
	"$MAILFERRY" -c "$T/stall.yaml" sync >"$T/out.stall" 2>&1 &
	pid=$!
	set +m
	for _ in $(seq 100); do
		grep -q '^C: ' "$T/fake.log" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.5
	start=$(date +%s)
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	took=$(($(date +%s) - start))
	out=$T/out.stall
	exit_is "a quiet server: SIGINT still exits 130" 130
	if [ "$took" -le 20 ]; then
		ok "a quiet server: stopped after $took s (grace 10 s)"
	else
		not_ok "a quiet server: stopped after $took s (grace 10 s)"
	fi
	check "a quiet server: the error says interrupted, not timed out" \
		grep -q "interrupted by SIGINT" "$out"
	kill "$fake" 2>/dev/null
	wait "$fake" 2>/dev/null
else
	echo "# fake-imapd not built: no quiet-server case"
fi
finish
