#!/usr/bin/env bash
# The test harness itself: a private Dovecot on 127.0.0.1 that speaks IMAPS,
# STARTTLS and preauth over a tunnel, holds seeded mail, listens nowhere
# else and leaves nothing behind.  Other integration tests build on it, so
# this one checks it with openssl s_client and doveadm only.
#
# Output is TAP; exit status is non-zero when any check fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MF_HARNESS=${MF_HARNESS:-$here/../harness/dovecot.sh}
MF_TESTDATA=${MF_TESTDATA:-$here/../data}
msgs=$MF_TESTDATA/messages

n=0
failed=0
ok()
{
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok()
{
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local line
	for line in "$@"; do
		printf '#   %s\n' "$line"
	done
}
# check DESC COMMAND...: passes when the command succeeds.
check()
{
	local desc=$1

	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc" "failed: $*"
	fi
}
quiet()
{
	"$@" >/dev/null
}
# expect DESC REGEX TEXT: passes when TEXT matches REGEX (grep -E).
expect()
{
	if grep -qE -- "$2" <<<"$3"; then
		ok "$1"
	else
		not_ok "$1" "wanted /$2/ in:" "${3:0:2000}"
	fi
}

# . the harness: mf_harness_start, mf_harness_stop, mf_harness
# shellcheck disable=SC1090
. "$MF_HARNESS"

work=$(mktemp -d "${TMPDIR:-/tmp}/mf-harness-test.XXXXXX")
cleanup()
{
	local rc=$?

	mf_harness_stop
	# servers this test started by hand
	local d
	for d in "$work"/*/; do
		[[ -f $d/state ]] && bash "$MF_HARNESS" stop "$d"
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

# The bytes written to an IMAPS session, all at once; LOGOUT at the end
# makes the server close and s_client exit.
imaps()
{
	timeout 20 openssl s_client -quiet -verify_return_error \
		-CAfile "$MF_CA_FILE" -verify_hostname localhost \
		-servername localhost -connect "127.0.0.1:$MF_IMAPS_PORT" \
		2>"$work/s_client.err"
}
starttls()
{
	timeout 20 openssl s_client -quiet -verify_return_error \
		-CAfile "$MF_CA_FILE" -verify_hostname localhost \
		-starttls imap -connect "127.0.0.1:$MF_IMAP_PORT" \
		2>"$work/s_client.err"
}
# Plain TCP, no TLS at all (the tls: none case).
plain()
{
	timeout 20 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		exec 4<&0
		cat <&4 >&3 &
		cat <&3' - "$MF_IMAP_PORT"
}
tunnel()
{
	timeout 20 sh -c "$MF_TUNNEL"
}

# Local listening sockets of a process tree as "ADDR:PORT" (hex, as in
# /proc/net/tcp*), for checking where the server listens.
listeners()
{
	local master=$1 pid link
	local -a pids=("$master")
	local -A inodes=()

	for pid in /proc/[0-9]*/stat; do
		read -r s 2>/dev/null <"$pid" || continue
		read -r -a a <<<"${s##*) }"
		if [[ ${a[1]} == "$master" ]]; then
			pid=${pid#/proc/}
			pids+=("${pid%/stat}")
		fi
	done
	for pid in "${pids[@]}"; do
		while read -r link; do
			link=${link#socket:[}
			inodes[${link%]}]=1
		done < <(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' \
			2>/dev/null)
	done
	local f sl local rem st rest
	for f in /proc/net/tcp /proc/net/tcp6; do
		while read -r sl local rem st rest; do
			[[ $st == 0A ]] || continue
			# tx:rx tr:when retrnsmt uid timeout inode
			read -r -a rest <<<"$rest"
			[[ -n ${inodes[${rest[5]}]:-} ]] && echo "$f $local"
		done <"$f"
	done
}
# A process is gone when /proc has no entry or only its zombie (the
# daemon's parent is PID 1, which need not reap at once).
gone()
{
	local s

	read -r s 2>/dev/null <"/proc/$1/stat" || return 0
	s=${s##*) }
	[[ $s == Z* || $s == X* ]]
}
hexport()
{
	printf '%04X' "$1"
}

echo "# harness: $MF_HARNESS"

# -- start and seed -----------------------------------------------------
t0=$EPOCHREALTIME
if ! mf_harness_start; then
	not_ok "harness starts"
	echo "1..$n"
	exit 1
fi
ok "harness starts ($MF_IMAP_PORT, $MF_IMAPS_PORT)"
main_dir=$MF_HARNESS_DIR
unset_vars=
for v in MF_HARNESS_DIR MF_IMAP_PORT MF_IMAPS_PORT MF_USER MF_PASS \
	MF_CA_FILE MF_WRONG_CERT MF_WRONG_KEY MF_TUNNEL MF_MAILDIR \
	MF_DOVECOT_PID; do
	[[ -n ${!v:-} ]] || unset_vars+=" $v"
done
check "the variables are exported (missing:${unset_vars:- none})" \
	test -z "$unset_vars"
expect "password is the generated one" '^secret-pw-[0-9a-f]+$' "$MF_PASS"
check "env.txt has plain KEY=value lines" \
	grep -qx "MF_IMAPS_PORT=$MF_IMAPS_PORT" "$MF_HARNESS_DIR/env.txt"

mapfile -t spam < <(find "$msgs/spamassassin" -type f -name 'nice-*' | sort)
mapfile -t kit < <(find "$msgs/mailkit" -type f -name '*.msg' | sort)
mapfile -t all < <(find "$msgs" -type f ! -name '*.md' | sort)
t1=$EPOCHREALTIME
check "seed INBOX (seen)" mf_harness seed INBOX --flags S "${spam[@]}"
check "seed Lists/dev (new)" mf_harness seed Lists/dev --new "${kit[@]}"
check "seed Archive with all ${#all[@]} test messages" \
	mf_harness seed Archive --files-from <(printf '%s\n' "${all[@]}")
check "seed a non-ASCII box" mf_harness seed "Entwürfe" "${kit[0]}"
t2=$EPOCHREALTIME
echo "# start $(awk "BEGIN{print $t1-$t0}")s," \
	"seeding $(awk "BEGIN{print $t2-$t1}")s"
check "box path of Lists/dev is under MF_MAILDIR" \
	test "$(mf_harness path Lists/dev)" = "$MF_MAILDIR/Lists/dev"

# -- where it listens ---------------------------------------------------
ls_out=$(listeners "$MF_DOVECOT_PID" | sort -u)
want=$(printf '/proc/net/tcp 0100007F:%s\n' \
	"$(hexport "$MF_IMAP_PORT")" "$(hexport "$MF_IMAPS_PORT")" | sort)
if [[ $ls_out == "$want" ]]; then
	ok "listens on 127.0.0.1:$MF_IMAP_PORT and :$MF_IMAPS_PORT only"
else
	not_ok "listens on the two loopback ports only" "got:" $ls_out
fi

# -- IMAPS --------------------------------------------------------------
out=$(printf '%s\r\n' "a LOGIN $MF_USER $MF_PASS" 'b LIST "" "*"' \
	'c SELECT INBOX' 'd STATUS "Lists/dev" (MESSAGES UNSEEN)' \
	'e STATUS Archive (MESSAGES)' 'f FETCH 1 (FLAGS)' 'z LOGOUT' | imaps)
check "IMAPS handshake verifies against MF_CA_FILE" test $? -eq 0
expect "IMAPS greeting" '^\* OK \[CAPABILITY IMAP4rev1' "$out"
expect "LOGIN with the password" '^a OK' "$out"
expect "LIST shows Lists/dev" '^\* LIST .* "/" "?Lists/dev"?' "$out"
expect "LIST shows the non-ASCII box in modified UTF-7" \
	'^\* LIST .*"?Entw&APw-rfe"?' "$out"
expect "SELECT INBOX sees ${#spam[@]} messages" \
	"^\\* ${#spam[@]} EXISTS" "$out"
expect "STATUS Lists/dev: ${#kit[@]} messages, all unseen" \
	"^\\* STATUS \"?Lists/dev\"? \\(MESSAGES ${#kit[@]} UNSEEN ${#kit[@]}\\)" \
	"$out"
expect "STATUS Archive: ${#all[@]} messages" \
	"^\\* STATUS \"?Archive\"? \\(MESSAGES ${#all[@]}\\)" "$out"
expect "seeded flags are visible" '^\* 1 FETCH \(FLAGS \(.*\\Seen' "$out"

out=$(printf '%s\r\n' "a LOGIN $MF_USER wrong-$MF_PASS" 'z LOGOUT' | imaps)
expect "a wrong password is refused" '^a NO \[AUTHENTICATIONFAILED\]' "$out"

timeout 20 openssl s_client -verify_return_error -CAfile "$MF_CA_FILE" \
	-verify_hostname wrong.example -connect "127.0.0.1:$MF_IMAPS_PORT" \
	</dev/null >/dev/null 2>&1
check "the server certificate is not valid for wrong.example" test $? -ne 0

# The wrong-name and self-signed certificates, served by openssl s_server
# the way a fake server will.
for kind in wrong selfsigned; do
	cert=$MF_HARNESS_DIR/tls/$kind.pem
	key=$MF_HARNESS_DIR/tls/$kind.key
	port=$((20000 + RANDOM % 12000))
	timeout 20 openssl s_server -quiet -naccept 1 -accept \
		"127.0.0.1:$port" -cert "$cert" -key "$key" \
		</dev/null >/dev/null 2>&1 &
	srv=$!
	for _ in $(seq 50); do
		grep -q ":$(hexport $port) 00000000:0000 0A" /proc/net/tcp &&
			break
		sleep 0.1
	done
	timeout 20 openssl s_client -verify_return_error -CAfile \
		"$MF_CA_FILE" -verify_hostname localhost \
		-connect "127.0.0.1:$port" </dev/null >"$work/$kind.out" 2>&1
	rc=$?
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	if [[ $kind == wrong ]]; then
		expect "the wrong certificate fails on the host name" \
			'hostname mismatch' "$(cat "$work/$kind.out")"
	else
		check "the self-signed certificate fails verification" \
			test "$rc" -ne 0
	fi
done
check "the wrong certificate comes from the test CA" \
	quiet openssl verify -CAfile "$MF_CA_FILE" \
	-verify_hostname wrong.example "$MF_WRONG_CERT"

# -- STARTTLS and plaintext on the plain port ---------------------------
out=$(printf '%s\r\n' "a LOGIN $MF_USER $MF_PASS" 'b SELECT INBOX' \
	'z LOGOUT' | starttls)
check "STARTTLS handshake verifies" test $? -eq 0
expect "login after STARTTLS" '^a OK' "$out"
expect "SELECT after STARTTLS" "^\\* ${#spam[@]} EXISTS" "$out"

out=$(printf '%s\r\n' 'a CAPABILITY' "b LOGIN $MF_USER $MF_PASS" \
	'z LOGOUT' | plain)
expect "the plain port offers STARTTLS" '^\* CAPABILITY .*STARTTLS' "$out"
expect "plaintext login works on loopback (tls: none)" '^b OK' "$out"

# -- tunnel -------------------------------------------------------------
out=$(printf '%s\r\n' 'a SELECT "Lists/dev"' 'z LOGOUT' | tunnel)
expect "the tunnel greets with PREAUTH" '^\* PREAUTH ' "$out"
expect "the tunnel sees the seeded mail" "^\\* ${#kit[@]} EXISTS" "$out"
expect "the tunnel keeps Dovecot's log off the client's stderr" \
	'Logged out' "$(cat "$MF_HARNESS_DIR/tunnel.log")"

# -- doveadm, as "another client" ----------------------------------------
mf_harness doveadm flags add '\Flagged' mailbox INBOX 2
mf_harness doveadm expunge mailbox INBOX 1
out=$(printf '%s\r\n' 'a SELECT INBOX' 'b FETCH 1 (UID FLAGS)' 'z LOGOUT' |
	tunnel)
expect "doveadm expunge is seen" "^\\* $((${#spam[@]} - 1)) EXISTS" "$out"
expect "doveadm flags add is seen" '^\* 1 FETCH \(UID 2 FLAGS \(.*\\Flagged' \
	"$out"

uids=$(mf_harness doveadm -f tab fetch uid mailbox Lists/dev all |
	tail -n +2 | tr '\n' ' ')
expect "UIDs follow the order of the files given to seed" \
	"^1 2 3 .* ${#kit[@]} \$" "$uids"

# -- UIDVALIDITY --------------------------------------------------------
get_uidv()
{
	mf_harness doveadm -f tab mailbox status uidvalidity "$1" |
		awk -F '\t' 'END { print $NF }'
}
old=$(get_uidv Lists/dev)
new=$(mf_harness uidvalidity Lists/dev)
check "uidvalidity changes UIDVALIDITY ($old -> $new)" \
	test "$new" != "$old" -a "$new" = "$(get_uidv Lists/dev)"
new2=$(mf_harness uidvalidity Lists/dev --reset)
check "uidvalidity --reset gives a value never used ($new2)" \
	test "$new2" -gt "$new"
out=$(printf '%s\r\n' 'a STATUS "Lists/dev" (MESSAGES UIDVALIDITY)' \
	'z LOGOUT' | tunnel)
expect "a client sees the new UIDVALIDITY and keeps the messages" \
	"MESSAGES ${#kit[@]} UIDVALIDITY $new2" "$out"

# -- traffic ------------------------------------------------------------
mark=$(mf_harness logmark)
# -ign_eof: read until the server closes after LOGOUT, not until the end of
# our input (under load s_client could stop before the last response came)
printf '%s\r\n' "a LOGIN $MF_USER $MF_PASS" 'b SELECT Archive' \
	'c FETCH 1:* (BODY.PEEK[])' 'z LOGOUT' |
	timeout 20 openssl s_client -quiet -ign_eof -verify_return_error \
		-CAfile "$MF_CA_FILE" -verify_hostname localhost \
		-servername localhost -connect "127.0.0.1:$MF_IMAPS_PORT" \
		>"$work/fetch.out" 2>"$work/s_client.err"
bytes=$(wc -c <"$work/fetch.out")
out=$(mf_harness traffic --since "$mark")
expect "traffic counts the session ($bytes bytes received)" \
	'^sessions=1 in=[0-9]+ out=[0-9]+$' "$out"
outb=${out##*out=}
check "traffic out= matches what the client got" \
	test "$outb" -ge "$((bytes - 200))" -a "$outb" -le "$((bytes + 200))"

# -- restart keeps mail and ports -----------------------------------------
old_pid=$MF_DOVECOT_PID
check "restart" quiet mf_harness restart
# shellcheck disable=SC1091
. "$MF_HARNESS_DIR/env"
check "restart gives a new master" test "$MF_DOVECOT_PID" != "$old_pid"
out=$(printf '%s\r\n' "a LOGIN $MF_USER $MF_PASS" \
	'b STATUS Archive (MESSAGES)' \
	'z LOGOUT' | imaps)
expect "after restart the mail is still there" \
	"MESSAGES ${#all[@]}" "$out"

# -- capabilities ---------------------------------------------------------
caps="IMAP4rev1 LITERAL+ IDLE NAMESPACE"
out=$(bash "$MF_HARNESS" start "$work/caps" --caps "$caps" --user alice \
	--pass 'pw-with spaces') && eval "$out"
check "a second server with --caps and --user" test "$MF_USER" = alice
out=$(printf '%s\r\n' 'a LOGIN alice "pw-with spaces"' 'b CAPABILITY' \
	'z LOGOUT' | imaps)
check "--caps replaces the capabilities" \
	grep -qxF "* CAPABILITY $caps" <<<"$(tr -d '\r' <<<"$out")"
check "--caps: no CONDSTORE advertised" \
	bash -c '! grep -q CONDSTORE <<<"$1"' - "$out"
caps_pid=$MF_DOVECOT_PID
check "stop" bash "$MF_HARNESS" stop "$work/caps"
check "stop waits until the master is gone" gone "$caps_pid"
check "stop is idempotent" bash "$MF_HARNESS" stop "$work/caps"
check "status says stopped" bash -c '! bash "$1" status "$2"' - \
	"$MF_HARNESS" "$work/caps"
rundir=$(. "$work/caps/state"; echo "$RUNDIR")
check "stop removes the runtime directory" test ! -e "$rundir"

# back to the main server
# shellcheck disable=SC1091
. "$main_dir/env"

# -- two at once --------------------------------------------------------
bash "$MF_HARNESS" start "$work/p1" --no-watch >"$work/p1.env" &
a=$!
bash "$MF_HARNESS" start "$work/p2" --no-watch >"$work/p2.env" &
b=$!
wait "$a"
ra=$?
wait "$b"
rb=$?
check "two servers start in parallel" test "$ra" -eq 0 -a "$rb" -eq 0
p1=$(. "$work/p1.env"; echo "$MF_IMAP_PORT $MF_IMAPS_PORT")
p2=$(. "$work/p2.env"; echo "$MF_IMAP_PORT $MF_IMAPS_PORT")
check "... on different ports ($p1 / $p2)" test "$p1" != "$p2"
bash "$MF_HARNESS" stop "$work/p1"
bash "$MF_HARNESS" stop "$work/p2"

# -- the watchdog -------------------------------------------------------
sleep 2 &
sleeper=$!
out=$(bash "$MF_HARNESS" start "$work/wd" --watch "$sleeper")
wd_pid=$(eval "$out"; echo "$MF_DOVECOT_PID")
wait "$sleeper"
for _ in $(seq 100); do
	gone "$wd_pid" && break
	sleep 0.1
done
check "the server stops when the watched process exits" gone "$wd_pid"

# A test killed with SIGKILL (a meson timeout) runs no trap: the watchdog
# stops its server and removes the directory mf_harness_start made.
cat >"$work/victim.sh" <<'EOF'
. "$1"
mf_harness_start || exit 1
echo "$MF_HARNESS_DIR $MF_DOVECOT_PID" >"$2.tmp"
mv "$2.tmp" "$2"
exec sleep 60
EOF
bash "$work/victim.sh" "$MF_HARNESS" "$work/victim.out" &
victim=$!
for _ in $(seq 100); do
	[[ -s $work/victim.out ]] && break
	sleep 0.1
done
read -r vdir vpid <"$work/victim.out"
kill -KILL "$victim"
wait "$victim" 2>/dev/null
for _ in $(seq 100); do
	gone "$vpid" && [[ ! -e $vdir ]] && break
	sleep 0.1
done
check "after SIGKILL of its shell the server stops" gone "$vpid"
check "... and its temp directory goes" test ! -e "$vdir"

errs=$(grep -E ': (Error|Fatal|Panic):' "$main_dir/dovecot.log")
check "no errors in the server log" test -z "$errs"
[[ -z $errs ]] || printf '#   %s\n' "${errs:0:2000}"

# -- stop ---------------------------------------------------------------
dir=$main_dir
rundir=$(. "$dir/state"; echo "$RUNDIR")
pid=$MF_DOVECOT_PID
mf_harness stop
check "the main server is gone after stop" gone "$pid"
check "nothing listens on its ports any more" bash -c '
	! grep -qE ":($1|$2) 00000000:0000 0A" /proc/net/tcp' - \
	"$(hexport "$MF_IMAP_PORT")" "$(hexport "$MF_IMAPS_PORT")"
check "its runtime directory is gone" test ! -e "$rundir"
mf_harness_stop
check "mf_harness_stop removes the directory it created" test ! -e "$dir"

echo "1..$n"
if ((failed > 0)); then
	echo "# $failed of $n failed"
	exit 1
fi
exit 0
