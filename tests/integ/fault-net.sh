#!/usr/bin/env bash
# Network faults: mailferry talks to the harness Dovecot through
# tests/fault/cutproxy, which cuts the connection (an RST to the client)
# after byte K of one direction, or stalls it there.  A clean session of
# each operation is recorded first (its line ends in each direction); then
# K runs over a sample of those boundaries plus random offsets, in both
# directions.  After every faulted run a clean run (no proxy) must
# converge: each message exactly once on each side by Message-ID, the
# expected set and no other, equal contents and flags, the changed flag
# where it was sent, and nothing left in tmp/.
#
# Operations: a pull of 20 messages into an empty Maildir, a push of 10 new
# local messages, a flag change each way, a deletion each way.  Then two
# stalls (shorter than the timeout: the run itself succeeds; longer: it
# fails with a network error and nothing is lost), and ten runs reset just
# before the tagged OK of an APPEND reaches mailferry (the server stored
# the message; the run tries again at once, through the proxy untouched):
# the server must hold exactly one copy of each.  And a
# reset in the first LIST, before anything was done: the same run tries
# again once and pulls everything (a reset on every connection: exit 4
# after that one more try).
#
# A faulted run may end 0 (the cut came after the work), 1 or 4 (mailferry
# (1)); anything else (a crash, 70, 5) fails.  Default: 3 boundaries and 1
# random offset per operation and direction; MF_LONG=1 takes every
# boundary and 8 random offsets.  MF_FAULT_SEED repeats a run's offsets.
set -u
. "$(dirname "$0")/lib.sh"
: "${MF_BUILD_ROOT:?set by meson}"
PROXY=$MF_BUILD_ROOT/tests/fault/cutproxy
[ -x "$PROXY" ] || { echo "Bail out! $PROXY not built"; exit 1; }
mf_setup "$@"
trap 'proxy_stop; mf_harness_stop; rm -rf "$T"' EXIT
seed=${MF_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
echo "# MF_FAULT_SEED=$seed"
if [ "${MF_LONG:-0}" = 1 ]; then nbound=0 nrand=8; else nbound=3 nrand=1; fi

# net_config FILE PORT TIMEOUT: plain IMAP (tls none) so the proxy sees
# the protocol; one state for the direct and the proxied config
net_config() {
	cat >"$1" <<YAML
state_dir: $T/state
accounts:
  srv:
    host: 127.0.0.1
    port: $2
    tls: none
    allow_insecure: true
    compress: false
    timeout: $3
    user: $MF_USER
    password_env: MF_TEST_PW
stores:
  local:
    maildir: $LOCAL
    layout: fs
    fsync: false
channels:
  c:
    far: srv
    near: local
YAML
}
net_config "$CFG" "$MF_IMAP_PORT" 10

PROXY_PID=
# proxy_start ARGS...: a new proxy (fresh record $T/rec); $T/pcfg uses it
proxy_start() {
	local i
	proxy_stop
	rm -f "$T/port" "$T/rec"
	"$PROXY" --to "$MF_IMAP_PORT" --port-file "$T/port" \
		--record "$T/rec" "$@" &
	PROXY_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/port" ] && break
		sleep 0.02
	done
	net_config "$T/pcfg" "$(cat "$T/port")" "${PTIMEOUT:-5}"
}
proxy_stop() {
	[ -n "$PROXY_PID" ] || return 0
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

# ids DIR: "folder message-id" per message file under DIR, sorted,
# duplicates kept
ids() {
	local root=$1/
	find "$root" \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-print0 | xargs -0 -r awk -v root="$root" '
		FNR == 1 {
			f = substr(FILENAME, length(root) + 1)
			sub(/\/(cur|new)\/[^\/]*$/, "", f)
		}
		tolower($0) ~ /^message-id:/ { sub(/\r$/, ""); print f, $2; nextfile }
		/^\r?$/ { nextfile }' | LC_ALL=C sort
}

# has_flag DIR ID LETTER: the file of Message-ID <ID@test> in DIR/INBOX
# carries the maildir flag letter
has_flag() {
	local f
	f=$(grep -l -F "Message-ID: <$2@test>" "$1"/INBOX/cur/* \
		"$1"/INBOX/new/* 2>/dev/null | head -1)
	[[ $(basename "$f") =~ [:!]2,[^:]*$3 ]]
}

# converged: both sides hold exactly $T/expect, same contents and flags,
# the flag of $T/flagwant where wanted; reasons go to $T/why
converged() {
	local s l bad=0 id letter want
	: >"$T/why"
	s=$(ids "$MF_MAILDIR")
	l=$(ids "$LOCAL")
	if [ "$s" != "$(cat "$T/expect")" ]; then
		diff <(echo "$s") "$T/expect" | grep '^[<>]' | head -4 |
			sed 's/^/server vs expected: /' >>"$T/why"
		bad=1
	fi
	if [ "$l" != "$(cat "$T/expect")" ]; then
		diff <(echo "$l") "$T/expect" | grep '^[<>]' | head -4 |
			sed 's/^/local vs expected: /' >>"$T/why"
		bad=1
	fi
	if [ "$bad" = 0 ] && ! cmp -s <(sig "$MF_MAILDIR") <(sig "$LOCAL"); then
		diff <(sig "$MF_MAILDIR") <(sig "$LOCAL") | grep '^[<>]' |
			head -4 | sed 's/^/contents or flags: /' >>"$T/why"
		bad=1
	fi
	if [ -s "$T/flagwant" ]; then
		read -r id letter want <"$T/flagwant"
		for d in "$MF_MAILDIR" "$LOCAL"; do
			if has_flag "$d" "$id" "$letter"; then
				[ "$want" = 1 ] && continue
			else
				[ "$want" = 0 ] && continue
			fi
			echo "flag $letter of $id should be $want in $d" >>"$T/why"
			bad=1
		done
	fi
	return $bad
}

# tmp_left: message files left in the local tmp/ dirs
tmp_left() {
	find "$LOCAL" -path "$LOCAL/*/tmp/*" -type f | wc -l
}
tmp_bad=0 tmp_example=

# --- the operations: each makes one change and updates $T/expect
op_n=0
op_pull() {	# an empty Maildir and no state: the first sync pulls all
	rm -rf "$LOCAL" "$T/state"
	: >"$T/flagwant"
}
op_push() {	# 10 new local messages
	local i
	op_n=$((op_n + 1))
	gen_msgs "$T/push$op_n" 1 10 "p$op_n"
	mkdir -p "$LOCAL/INBOX/new"
	for ((i = 1; i <= 10; i++)); do
		cp "$T/push$op_n/m$i" "$LOCAL/INBOX/new/1700$op_n$i.p$op_n.test"
		echo "INBOX <m$i.p$op_n@test>" >>"$T/expect"
	done
	LC_ALL=C sort -o "$T/expect" "$T/expect"
	: >"$T/flagwant"
}
flag_state=0
op_flag_far() {	# \Flagged toggled on m5 by another client
	local uid
	flag_state=$((1 - flag_state))
	uid=$(server_uid INBOX m5.s)
	if [ $flag_state = 1 ]; then
		mf_harness doveadm flags add '\Flagged' mailbox INBOX uid "$uid"
	else
		mf_harness doveadm flags remove '\Flagged' mailbox INBOX uid "$uid"
	fi >/dev/null 2>&1
	echo "m5.s F $flag_state" >"$T/flagwant"
}
flag_near=0
op_flag_near() {	# F toggled on m6 in its local file name
	local f letters
	flag_near=$((1 - flag_near))
	f=$(local_file INBOX m6.s)
	letters=$(basename "$f" | sed -n 's/.*:2,//p' | tr -d F)
	[ $flag_near = 1 ] && letters=$(echo "F$letters" | fold -w1 | sort | tr -d '\n')
	set_local_flags "$f" "$letters"
	echo "m6.s F $flag_near" >"$T/flagwant"
}
# deletions take the pushed messages, oldest first
next_victim() {
	grep -m1 '\.p[0-9]*@test>$' "$T/expect" | sed 's/^INBOX <\(.*\)@test>$/\1/'
}
drop_expect() {
	grep -v -F "<$1@test>" "$T/expect" >"$T/expect.new"
	mv "$T/expect.new" "$T/expect"
}
op_del_far() {	# expunged by another client
	local v
	v=$(next_victim)
	mf_harness doveadm expunge mailbox INBOX uid "$(server_uid INBOX "$v")" \
		>/dev/null 2>&1
	drop_expect "$v"
	: >"$T/flagwant"
}
op_del_near() {	# the local file removed
	local v
	v=$(next_victim)
	rm "$(local_file INBOX "$v")"
	drop_expect "$v"
	: >"$T/flagwant"
}

# faulted OP PROXY-ARGS...: make the change, run through the proxy, then a
# clean run; sets frc (the faulted run's status) and returns 0 when all
# is well (reasons in $T/why otherwise)
faulted() {
	local op=$1
	shift
	"$op"
	proxy_start "$@"
	timeout 60 "$MAILFERRY" -c "$T/pcfg" -q sync >"$T/fout" 2>&1
	frc=$?
	proxy_stop
	: >"$T/why"
	case $frc in
	0 | 1 | 4) ;;
	*)
		echo "faulted run exit $frc: $(grep -v cleartext "$T/fout" | head -2)" >"$T/why"
		return 1
		;;
	esac
	if grep -q 'secret-pw-' "$T/fout"; then
		echo "the password in the output" >"$T/why"
		return 1
	fi
	if ! mf -q sync >"$T/cout" 2>&1; then
		echo "clean run failed: $(grep -v cleartext "$T/cout" | head -2)" >"$T/why"
		return 1
	fi
	if [ "$(tmp_left)" -ne 0 ]; then
		tmp_bad=$((tmp_bad + 1))
		[ -n "$tmp_example" ] || tmp_example="$(find "$LOCAL" -path "$LOCAL/*/tmp/*" -type f | head -1 | sed "s|^$LOCAL/||") after $op $*"
	fi
	converged
}

# offsets DIR: the sample of cut points of the recorded session
offsets() {
	local all total i
	all=$(awk -v d="$1" '$1 == 1 && $2 == d && $3 ~ /^[0-9]+$/ { print $3 }' \
		"$T/rec")
	total=$(awk -v d="$1" '$1 == 1 && $2 == d && $3 == "end" { print $4 }' \
		"$T/rec")
	{
		if [ "$nbound" = 0 ]; then
			echo "$all"
		else
			echo "$all" | awk -v m="$nbound" '{ b[NR] = $1 }
			END { for (i = 0; i < m && NR; i++)
				print b[1 + int(i * (NR - 1) / (m - 1))] }'
		fi
		for ((i = 0; i < nrand; i++)); do
			echo $((1 + (RANDOM * 32768 + RANDOM) % (total - 1)))
		done
	} | sort -n | uniq
}

# sweep OP NAME: record OP once, then cut at the sample in each direction
sweep() {
	local op=$1 name=$2 dir k cuts tried bad
	if ! faulted "$op" || [ ! -s "$T/rec" ]; then
		not_ok "$name: a clean session through the proxy"
		sed 's/^/#   /' "$T/why"
		return
	fi
	cp "$T/rec" "$T/rec-$name"
	for dir in c2s s2c; do
		cuts=0 tried=0 bad=0
		for k in $(cp "$T/rec-$name" "$T/rec" && offsets $dir); do
			tried=$((tried + 1))
			if ! faulted "$op" --once --cut "$dir:$k"; then
				bad=$((bad + 1))
				sed "s/^/#   $dir at $k: /" "$T/why"
			fi
			grep -q " cut $dir " "$T/rec" && cuts=$((cuts + 1))
		done
		if [ $bad -eq 0 ] && [ $cuts -gt 0 ]; then
			ok "$name: cut $dir at $tried offsets ($cuts reached), each run converges after"
		else
			not_ok "$name: cut $dir at $tried offsets ($cuts reached), each run converges after"
		fi
	done
}

gen_msgs "$T/srv" 1 20 s
mf_harness seed INBOX --flags S "$T"/srv/m{1..10} --flags "" "$T"/srv/m{11..20} \
	>/dev/null 2>&1
ids "$MF_MAILDIR" >"$T/expect"
check "20 messages on the server" test "$(wc -l <"$T/expect")" -eq 20

sweep op_pull pull
sweep op_push push
sweep op_flag_far "flag on the server"
sweep op_flag_near "flag in the Maildir"
sweep op_del_far "deletion on the server"
sweep op_del_near "deletion in the Maildir"

# --- stalls in the middle of the pull's FETCH
mid=$(awk '$1 == 1 && $2 == "s2c" && $3 ~ /^[0-9]+$/ { b[++n] = $3 }
	END { print b[int(n / 2)] }' "$T/rec-pull")
PTIMEOUT=3 faulted op_pull --stall "s2c:$mid:700"
if [ "$frc" = 0 ] && grep -q ' stall s2c ' "$T/rec" && [ ! -s "$T/why" ]; then
	ok "a 0.7 s stall under a 3 s timeout: the run succeeds"
else
	not_ok "a 0.7 s stall under a 3 s timeout: the run succeeds (exit $frc)"
	sed 's/^/#   /' "$T/why"
fi
for dir in s2c c2s; do
	start=$(date +%s%N)
	PTIMEOUT=1 faulted op_pull --stall "$dir:$(awk -v d=$dir '$1 == 1 &&
		$2 == d && $3 ~ /^[0-9]+$/ { b[++n] = $3 } END { print b[int(n / 2)] }' \
		"$T/rec-pull"):2500"
	good=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ $good = 0 ] && [ "$frc" = 4 ] && grep -q " stall $dir " "$T/rec"; then
		ok "a 2.5 s stall of $dir under a 1 s timeout: exit 4, then converges (${ms} ms)"
	else
		not_ok "a 2.5 s stall of $dir under a 1 s timeout: exit 4, then converges (exit $frc)"
		sed 's/^/#   /' "$T/why"
	fi
done

# --- a reset before anything was done: in the first LIST's answer
faulted op_pull --once --cut-before 's2c:* LIST '
if [ "$frc" = 0 ] && grep -q '^1 cut s2c ' "$T/rec" && [ ! -s "$T/why" ] &&
	[ "$(grep -c 'trying again in 1.0 s' "$T/fout")" = 1 ]; then
	ok "reset in the first LIST: tried again in the same run, which pulls all"
else
	not_ok "reset in the first LIST: tried again in the same run, which pulls all (exit $frc)"
	sed 's/^/#   /' "$T/why" "$T/fout"
fi
faulted op_pull --cut-before 's2c:* LIST '
if [ "$frc" = 4 ] && [ "$(grep -c ' cut s2c ' "$T/rec")" = 2 ] &&
	[ "$(grep -c 'trying again' "$T/fout")" = 1 ] && [ ! -s "$T/why" ]; then
	ok "reset in every LIST: one more try, then exit 4; the next run converges"
else
	not_ok "reset in every LIST: one more try, then exit 4; the next run converges (exit $frc)"
	sed 's/^/#   /' "$T/why" "$T/fout"
fi

# --- reset after the server stored an APPEND, before its OK reaches us.
# The proxy is one-shot: the recovery run goes through it untouched.
stored=0 once=0 bad=0
for ((r = 1; r <= 10; r++)); do
	gen_msgs "$T/app$r" 1 1 "a$r"
	cp "$T/app$r/m1" "$LOCAL/INBOX/new/1800$r.a$r.test"
	echo "INBOX <m1.a$r@test>" >>"$T/expect"
	LC_ALL=C sort -o "$T/expect" "$T/expect"
	: >"$T/flagwant"
	proxy_start --once --cut-before "s2c: OK [APPENDUID"
	timeout 60 "$MAILFERRY" -c "$T/pcfg" -q sync >"$T/fout" 2>&1
	frc=$?
	grep -q ' cut s2c ' "$T/rec" || { echo "#   run $r: no APPEND was cut"; bad=$((bad + 1)); }
	[ -n "$(server_uid INBOX "m1.a$r")" ] && stored=$((stored + 1))
	# nothing was done when the reset came, so the run tries once more
	# (cmd/cmd-sync.c), through the one-shot proxy untouched: it must
	# find the stored message, not append it again
	case $frc in 0) ;; *) echo "#   run $r: faulted run exit $frc"; bad=$((bad + 1)) ;; esac
	if ! timeout 60 "$MAILFERRY" -c "$T/pcfg" -q sync >"$T/cout" 2>&1; then
		echo "#   run $r: recovery through the one-shot proxy failed: $(grep -v cleartext "$T/cout" | head -1)"
		bad=$((bad + 1))
	fi
	# the second connection passed the proxy untouched
	grep -q '^2 s2c end' "$T/rec" && ! grep -q '^2 cut' "$T/rec" &&
		once=$((once + 1))
	proxy_stop
	if ! converged; then
		bad=$((bad + 1))
		sed "s/^/#   run $r: /" "$T/why"
	fi
	copies=$(ids "$MF_MAILDIR" | grep -c -F "<m1.a$r@test>")
	[ "$copies" = 1 ] || { echo "#   run $r: $copies copies on the server"; bad=$((bad + 1)); }
done
check "APPEND reset before its OK, 10 runs: each message stored once, both sides agree" \
	test $bad -eq 0
check "the server had stored the message when the reset came ($stored of 10)" \
	test $stored -eq 10
check "the one-shot proxy let each recovery run through ($once of 10)" \
	test $once -eq 10

if [ $tmp_bad -eq 0 ]; then
	ok "tmp/ empty after each recovery run"
else
	not_ok "tmp/ empty after each recovery run ($tmp_bad runs left files)"
	echo "# e.g. $tmp_example"
fi
finish
