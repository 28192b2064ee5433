#!/bin/bash
# What the user sees and what a run leaves behind (issue 10):
#   1. kill -9 and SIGINT in the middle of a pull: the next run leaves no
#      file in tmp/ and every message is there once; a dead delivery in
#      the tmp/ of a folder with nothing to sync is removed too;
#   2. a local folder the user removed (rm -rf) is made again and pulled,
#      with nothing copied twice or deleted on the server; an absent
#      Maildir root is an error, never "every folder vanished";
#   3. a run whose deletions the mass-deletion guard held back exits 7,
#      and a failure code wins over it;
#   4. a server error carrying terminal escapes is shown escaped.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

# tmpc: files in the tmp/ of every local folder; tmp_of PID: those of PID
tmpc() { (cd "$LOCAL" 2>/dev/null && find . -path '*/tmp/*' -type f) | wc -l; }
tmp_of() {
	(cd "$LOCAL" 2>/dev/null && find . -path "*/tmp/mailferry.*P$1Q*" \
		-type f) | wc -l
}

# start_and_stop SIG: a sync in the background, SIG once a delivery of
# it is in tmp/; sets rc, seen (files of it seen in tmp/), pid
start_and_stop() {
	local i
	seen=0
	set -m # else a background job starts with SIGINT ignored
	MAILFERRY_TEST_STEP_LOG=/dev/null MAILFERRY_TEST_STEP_DELAY_MS=2 \
		"$MAILFERRY" -c "$CFG" sync >"$T/out.$1" 2>&1 &
	pid=$!
	set +m
	for ((i = 0; i < 2000; i++)); do
		seen=$(tmp_of "$pid")
		[ "$seen" -gt 0 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.005
	done
	kill -"$1" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
}

gen_msgs "$T/m" 1 400
mf_harness seed INBOX $(printf "$T/m/m%d " $(seq 1 30)) >/dev/null 2>&1
mf_harness seed Archive $(printf "$T/m/m%d " $(seq 31 42)) >/dev/null 2>&1
mf_harness seed Big $(printf "$T/m/m%d " $(seq 101 400)) >/dev/null 2>&1
total=$(count "$MF_MAILDIR")
check "the server holds 342 messages" test "$total" -eq 342

# --- 1. interrupted pulls ---
start_and_stop KILL
check "kill -9 landed during a delivery ($seen in tmp/)" test "$seen" -gt 0
check "kill -9: exit 137" test "$rc" -eq 137
left=$(tmpc)
check "kill -9 left files in tmp/ ($left)" test "$left" -gt 0
start_and_stop INT
check "SIGINT landed during a delivery ($seen in tmp/)" test "$seen" -gt 0
check "SIGINT: exit 130" test "$rc" -eq 130
check "SIGINT: none of its own files left in tmp/" test "$(tmp_of "$pid")" -eq 0
mf sync >"$T/out.full" 2>&1
check "the next run exits 0" test $? -eq 0
check "after it, tmp/ is empty everywhere ($(tmpc))" test "$(tmpc)" -eq 0
check "every message is here ($(count "$LOCAL") of $total)" \
	test "$(count "$LOCAL")" -eq "$total"
no_duplicates "$LOCAL" "no message twice locally"
same_sides "both sides the same"

# --- 2. a local folder removed by the user comes back ---
rm -rf "$LOCAL/Archive"
mf sync -n >"$T/out.n" 2>&1
check "sync -n: would create the removed folder" \
	grep -q "c: Archive: would create near" "$T/out.n"
check "sync -n changed nothing" test ! -e "$LOCAL/Archive"
mf sync >"$T/out.back" 2>&1
rc=$?
check "the run after rm -rf exits 0" test "$rc" -eq 0
check "it says so" grep -q "Archive: vanished on the near side" "$T/out.back"
check "Archive is pulled again (12)" test "$(count "$LOCAL/Archive")" -eq 12
check "nothing was deleted or copied on the server ($(count "$MF_MAILDIR"))" \
	test "$(count "$MF_MAILDIR")" -eq "$total"
same_sides "both sides the same after the re-pull"
mf sync >"$T/out.again" 2>&1
check "the run after that has nothing to do" \
	grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0" "$T/out.again"

# a dead delivery of ours in a folder with nothing to sync (which a run
# does not select) goes too
sh -c 'exit 0' &
dead=$!
wait $dead
host=$(hostname)
case $host in */*|*:*|*,*|*!*|'') host= ;; esac	# escaped: skip the plant
if [ -n "$host" ]; then
	# a token of cur/ and new/ younger than 2 s is not trusted: age them
	# and let a run record it, so that the next one skips the folder
	touch -d '1 minute ago' "$LOCAL/Archive/cur" "$LOCAL/Archive/new"
	mf sync >/dev/null 2>&1
	planted=$LOCAL/Archive/tmp/mailferry.$(date +%s).M1P${dead}Q1R0.$host
	: >"$planted"
	mf -v sync >"$T/out.quiet" 2>&1
	check "Archive is unchanged, so not selected" \
		grep -q "^c: Archive: unchanged" "$T/out.quiet"
	check "  yet the dead delivery in its tmp/ was removed" \
		test ! -e "$planted"
else
	echo "# host name needs escaping: no planted leftover"
fi

# a folder on a disk that is not mounted (a symlink to nothing, an empty
# mount point) is not a folder the user deleted: the folder fails, and
# even with remove: far nothing is re-pulled or removed on the server
mv "$LOCAL/Archive" "$T/Archive.disk"
ln -s "$T/unmounted/Archive" "$LOCAL/Archive"
mf_config "remove: far"
for what in symlink mountpoint; do
	mf sync >"$T/out.$what" 2>&1
	rc=$?
	check "a $what in place of Archive: the run fails (exit $rc)" \
		test "$rc" -eq 1
	check "  the error says why" grep -q \
		"Archive: not listed on the near side, but not gone" "$T/out.$what"
	check "  the server keeps Archive and every message" \
		test "$(count "$MF_MAILDIR")" -eq "$total" -a \
		"$(count "$MF_MAILDIR/Archive" 2>/dev/null)" -eq 12
	check "  nothing was pulled behind it" test ! -e "$T/unmounted"
	rm -f "$LOCAL/Archive"
	mkdir "$LOCAL/Archive"	# the mount point, for the second round
done
rmdir "$LOCAL/Archive"
mv "$T/Archive.disk" "$LOCAL/Archive"
mf_config
mf sync >"$T/out.mounted" 2>&1
check "mounted again: exit 0" test $? -eq 0
check "  nothing to do" \
	grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0" "$T/out.mounted"

# an absent root (unmounted disk, broken symlink) is an error; with
# remove: far it must not delete anything on the server either
mv "$LOCAL" "$LOCAL.away"
ln -s "$T/nowhere" "$LOCAL"
mf_config "remove: far"
mf sync >"$T/out.noroot" 2>&1
rc=$?
check "a broken-symlink root: the run fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 7
check "  and the server keeps every message" \
	test "$(count "$MF_MAILDIR")" -eq "$total"
check "  and no folder was made behind the link" test ! -e "$T/nowhere"
rm "$LOCAL"
mf sync >"$T/out.gone" 2>&1
rc=$?
check "an absent root: the run fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 7
check "  and the server keeps every message" \
	test "$(count "$MF_MAILDIR")" -eq "$total"
rm -rf "$LOCAL"
mv "$LOCAL.away" "$LOCAL"
mf_config

# --- 3. deletions held back: exit 7 ---
find "$LOCAL/Big" \( -path '*/cur/*' -o -path '*/new/*' \) -type f |
	head -200 | xargs rm -f
check "200 of Big's 300 deleted locally" test "$(count "$LOCAL/Big")" -eq 100
mf sync >"$T/out.held" 2>"$T/err.held"
rc=$?
check "held-back deletions: exit 7 (got $rc)" test "$rc" -eq 7
check "  reported on stderr" grep -q "deletions held back" "$T/err.held"
check "  the server keeps them" test "$(count "$MF_MAILDIR")" -eq "$total"
mf -q sync >"$T/out.q" 2>&1
check "with -q: still exit 7" test $? -eq 7
mf sync -n >"$T/out.hn" 2>&1
check "sync -n of it: exit 7" test $? -eq 7
port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# beside c, a channel d whose account is at a closed port: its failure
# (exit 4) wins over c's 7
{
	sed '/^stores:/,$d' "$CFG"
	sed -n '/^  srv:/,/^stores:/p' "$CFG" | sed '$d' |
		sed "s/^  srv:/  dead:/; s/port: .*/port: $port/"
	sed -n '/^stores:/,$p' "$CFG"
	printf '  d:\n    far: dead\n    near: local\n'
} >"$T/two.yaml"
"$MAILFERRY" -c "$T/two.yaml" sync >"$T/out.two" 2>&1
rc=$?
check "a failing channel beside held-back deletions: exit 4 (got $rc)" \
	test "$rc" -eq 4
check "  the held-back deletions were still reported" \
	grep -q "deletions held back" "$T/out.two"

# --- 4. a server error with terminal escapes (scripted fake server) ---
FAKE=${MF_BUILD_ROOT:-}/tests/fake/fake-imapd
"$FAKE" --script "$MF_SOURCE_ROOT/tests/fake/error-esc.script" \
	--log "$T/fake.log" --port-file "$T/fake.port" --timeout 20 \
	2>/dev/null &
fake=$!
for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
cat >"$T/fake.yaml" <<YAML
accounts:
  fake:
    host: localhost
    port: $(cat "$T/fake.port")
    tls: none
    allow_insecure: true
    user: alice
    password_env: MF_TEST_PW
    timeout: 10
YAML
"$MAILFERRY" -c "$T/fake.yaml" list fake >"$T/out.esc" 2>"$T/err.esc"
rc=$?
kill "$fake" 2>/dev/null # done with its script, or stuck: either way
wait "$fake" 2>/dev/null
check "the refused LIST fails (exit $rc)" test "$rc" -eq 4
check "no raw ESC, BEL or C1 byte in what was printed" \
	bash -c "! LC_ALL=C grep -qaP '[^\\x20-\\x7e]' '$T/err.esc' '$T/out.esc'"
check "the escapes are shown" grep -qF \
	'list\x1b[2J failed\x1b]0;pwned\x07 \u009b31m \x9b31m now' "$T/err.esc"
finish
