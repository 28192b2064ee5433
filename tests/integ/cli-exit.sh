#!/bin/bash
# Exit codes of mailferry(1) that need a server:
#   6  another mailferry holds the channel (sync and fetch), 5 stays for a
#      state database that cannot be used;
#   4  the server cannot be reached, and then only the error is printed,
#      not a "0 folders: pulled 0" line that reads as success.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

msgs=$MF_TESTDATA/messages
mf_harness seed INBOX "$msgs"/python-test_email/msg_0*.txt >/dev/null 2>&1

mf sync >"$T/first" 2>&1
check "a first sync exits 0" test $? -eq 0

# exit_is NAME WANT RC OUT: the run exited WANT (its output shown if not)
exit_is() {
	if [ "$3" -eq "$2" ]; then ok "$1"; else
		not_ok "$1 (exit $3, want $2)"
		sed 's/^/# /' "$4" | head -20
	fi
}
no_summary() {	# no_summary NAME FILE: no per-channel total in FILE
	if grep -q "folders (\|fetched [0-9]* placeholders" "$2"; then
		not_ok "$1"
		sed 's/^/# /' "$2" | head -10
	else
		ok "$1"
	fi
}

# --- the lock ---
# A first mailferry holds the channel: its password command takes its
# time, and the lock is taken before the stores are opened.
slow=$T/slow.yaml
sed 's/password_env: MF_TEST_PW/password_command: "sleep 4; printf %s \\"$MF_TEST_PW\\""/' \
	"$CFG" >"$slow"
# held: the lock file's inode has a FLOCK in /proc/locks (looking must
# not take the lock itself, as flock(1) would)
held() {
	local ino
	ino=$(stat -c %i "$T/state/c.lock" 2>/dev/null) || return 1
	grep -q "FLOCK .*:$ino " /proc/locks
}
"$MAILFERRY" -c "$slow" sync >"$T/holder" 2>&1 &
holder=$!
for _ in $(seq 50); do
	held && break
	sleep 0.1
done
check "the first mailferry holds the channel lock" held
mf sync >"$T/locked" 2>&1
rc=$?
exit_is "sync while another holds the channel exits 6" 6 $rc "$T/locked"
check "it says another mailferry is syncing" \
	grep -q "another mailferry is syncing channel 'c'" "$T/locked"
no_summary "no summary line after the lock error" "$T/locked"
mf fetch >"$T/locked-fetch" 2>&1
rc=$?
exit_is "fetch while another holds the channel exits 6" 6 $rc \
	"$T/locked-fetch"
no_summary "no fetch total after the lock error" "$T/locked-fetch"
wait $holder
exit_is "the first mailferry finished normally" 0 $? "$T/holder"
mf sync >"$T/after" 2>&1
exit_is "once it is done, sync exits 0 again" 0 $? "$T/after"

# the state database itself unusable is still 5, not 6
cp "$T/state/c.db" "$T/c.db.good"
printf 'this is not a database, it only has its name\n%.0s' $(seq 200) \
	>"$T/state/c.db"
rm -f "$T/state/c.db-wal" "$T/state/c.db-shm"
mf sync >"$T/bad-db" 2>&1
exit_is "a state file that is not ours exits 5" 5 $? "$T/bad-db"
cp "$T/c.db.good" "$T/state/c.db"

# --- a closed port ---
port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
closed=$T/closed.yaml
sed "s/port: $MF_IMAPS_PORT/port: $port/" "$CFG" >"$closed"
check "the closed-port config differs" \
	grep -q "port: $port" "$closed"
"$MAILFERRY" -c "$closed" sync >"$T/net.out" 2>"$T/net.err"
rc=$?
exit_is "sync to a closed port exits 4" 4 $rc "$T/net.err"
check "the error names the connection" grep -qi "connect\|refused" "$T/net.err"
check "nothing on stdout (no '0 folders: pulled 0')" test ! -s "$T/net.out"
no_summary "no summary line on stderr either" "$T/net.err"
"$MAILFERRY" -c "$closed" sync -n >"$T/net-n.out" 2>&1
exit_is "sync -n to a closed port exits 4" 4 $? "$T/net-n.out"
no_summary "sync -n prints no summary" "$T/net-n.out"
"$MAILFERRY" -c "$closed" fetch >"$T/net-fetch" 2>&1
exit_is "fetch to a closed port exits 4" 4 $? "$T/net-fetch"
no_summary "fetch prints no 'fetched 0 placeholders'" "$T/net-fetch"
finish
