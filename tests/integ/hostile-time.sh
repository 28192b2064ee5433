#!/bin/bash
# Servers and helpers that take for ever must not hold mailferry for ever
# (tests/fake/ scripts; each case runs `mailferry list` and measures it):
#   (a) a server that answers LIST with "* OK still here" every 0.5 s and
#       never finishes, (b) one that sends its answer one byte a second,
#       (c) one that greets one byte a second: with command_timeout: 2 and
#       a read timeout (5 s) that is never reached, each run ends by itself
#       in < 3 x 2 s with exit 4 and an error naming the server and the
#       command;
#   (d) a password_command that sleeps, (e) one whose background child
#       holds its stdout: with password_command_timeout: 1 the run ends in
#       < 3 s with exit 3, no process of the command is left, and the
#       server received no LOGIN or AUTHENTICATE.
# The bounds are bounds on a hang, not speed assertions.
set -u

FAKE_TIMEOUT=40
. "$(dirname "$0")/lib-fake.sh"
command -v pgrep >/dev/null || { echo "1..0 # SKIP no pgrep"; exit 77; }

# list [yaml lines...]: mailferry list fake; sets rc and ms (its run time)
list() {
	local line t0
	{
		echo "accounts:"
		echo "  fake:"
		echo "    host: localhost"
		echo "    port: $PORT"
		echo "    tls: none"
		echo "    allow_insecure: true"
		echo "    user: alice"
		for line in "$@"; do echo "    $line"; done
	} >"$tmp/cfg.yaml"
	t0=$(date +%s%3N)
	"$MAILFERRY" -c "$tmp/cfg.yaml" list fake >"$tmp/out" 2>"$tmp/err"
	rc=$?
	ms=$(($(date +%s%3N) - t0))
	# the fake notices the client is gone at its next write
	fake_wait
}

export MF_FAKE_PW="fake-secret-$RANDOM$RANDOM"
slow=("password_env: MF_FAKE_PW" "timeout: 5" "command_timeout: 2")

fake_start chatter-list.script
list "${slow[@]}"
check "(a) chatter: exit 4" test "$rc" -eq 4
check "(a) chatter: ends in < 6 s ($ms ms)" test "$ms" -lt 6000
check "(a) chatter: names server and command" grep -q \
	"localhost:$PORT: A1 LIST: no answer within 2 s (server kept sending)" \
	"$tmp/err"
check "(a) chatter: the server saw the client go" \
	grep -q '# client closed' "$tmp/log"

fake_start drip-list.script
list "${slow[@]}"
check "(b) drip: exit 4" test "$rc" -eq 4
check "(b) drip: ends in < 6 s ($ms ms)" test "$ms" -lt 6000
check "(b) drip: names server and command" grep -q \
	"localhost:$PORT: A1 LIST: no answer within 2 s (server kept sending)" \
	"$tmp/err"

fake_start drip-greeting.script
list "${slow[@]}"
check "(c) drip greeting: exit 4" test "$rc" -eq 4
check "(c) drip greeting: ends in < 6 s ($ms ms)" test "$ms" -lt 6000
check "(c) drip greeting: named" grep -q \
	"localhost:$PORT: greeting: no answer within 2 s (server kept sending)" \
	"$tmp/err"
check "(c) drip greeting: nothing sent" absent '^C:' "$tmp/log"

# Sleeps with an argument of this run's own (a parallel run has another
# pid), short enough that a failed case leaves nothing for long.
S1="29.${$}1" S2="29.${$}2"
fake_start chatter-auth.script
list "password_command: \"sleep $S1\"" "password_command_timeout: 1"
check "(d) sleeping password_command: exit 3" test "$rc" -eq 3
check "(d) sleeping password_command: ends in < 3 s ($ms ms)" \
	test "$ms" -lt 3000
check "(d) sleeping password_command: names the account" grep -q \
	"account 'fake': password_command did not finish within 1 s" "$tmp/err"
check "(d) sleeping password_command: killed" \
	eval '! pgrep -x -f "sleep $S1" >/dev/null'
check "(d) sleeping password_command: no login sent" \
	absent 'LOGIN|AUTHENTICATE' "$tmp/log"
check "(d) the server saw the client go" grep -q '# client closed' "$tmp/log"

fake_start chatter-auth.script
list "password_command: \"sh -c 'sleep $S2 & sleep $S2'\"" \
	"password_command_timeout: 1"
check "(e) child holding stdout: exit 3" test "$rc" -eq 3
check "(e) child holding stdout: ends in < 3 s ($ms ms)" test "$ms" -lt 3000
check "(e) child holding stdout: named" grep -q \
	"account 'fake': password_command did not finish within 1 s" "$tmp/err"
check "(e) child holding stdout: no process of the group left" \
	eval '! pgrep -f "sleep $S2" >/dev/null'
check "(e) child holding stdout: no login sent" \
	absent 'LOGIN|AUTHENTICATE' "$tmp/log"

fake_finish
