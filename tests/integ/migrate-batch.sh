#!/bin/bash
# mailferry migrate --batch FILE --jobs N between two harness Dovecots with
# several users each: four account pairs two at a time all done, each
# destination holding its source's mail once, and the table saying so; a
# second run skipping all four; a batch killed with -9 (parent and
# children) part way finishing on the next run with nothing twice; a
# SIGTERM passed on to the running child, exit 143 and the pair not begun
# "not run"; --per-server 2 with --jobs 4 (every source on one server):
# never more than two sessions at once on the source server, as its own
# log tells, and all four done; the README's GNU parallel recipe run
# locally (the file split in two, each part a --batch of its own, the
# same command again finishing nothing twice); no configuration file needed
# (XDG_STATE_HOME); a clear-text password refused with its FILE:LINE
# before anything runs.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
command -v pgrep >/dev/null || { echo "1..0 # SKIP no pgrep"; exit 77; }
users=(test u2 u3 u4)
kusers=(k1 k2 k3 k4)
tusers=(t1 t2)
cusers=(c1 c2 c3 c4)
gusers=(g1 g2 g3 g4)
xu=()
for u in "${users[@]:1}" "${kusers[@]}" "${tusers[@]}" "${cusers[@]}" \
	"${gusers[@]}"; do
	xu+=(--extra-user "$u")
done
mf2_setup "${xu[@]}"
FAR_ROOT=$(dirname "$FAR_MAIL") NEAR_ROOT=$(dirname "$NEAR_MAIL")

for u in "${users[@]}"; do
	gen_msgs "$T/$u/in" 1 20 "in-$u"
	gen_msgs "$T/$u/ar" 1 10 "ar-$u"
	MF_HARNESS_USER=$u far_harness seed INBOX "$T/$u"/in/* >/dev/null 2>&1
	MF_HARNESS_USER=$u far_harness seed Archive --flags S \
		"$T/$u"/ar/* >/dev/null 2>&1
done

# pairs FILE DSTUSER...: one line per source user, to the users given
pairs() {
	local f=$1 i=0 d
	shift
	{
		echo "# source -> destination, one pair a line"
		for d in "$@"; do
			printf 'src=imaps://%s@localhost:%s src_password_env=MF_FAR_PW ' \
				"${users[$i]}" "$FAR_PORT"
			printf 'src_ca_file="%s" dst=imaps://%s@localhost:%s ' \
				"$FAR_CA" "$d" "$NEAR_PORT"
			printf 'dst_password_command="printenv MF_NEAR_PW" '
			printf 'dst_ca_file=%s name=p%d\n\n' "$NEAR_CA" $((i + 1))
			i=$((i + 1))
		done
	} >"$f"
}
# same_mail SRCUSER DSTUSER: the same messages, once each
same_mail() {
	[ "$(msgids "$FAR_ROOT/$1")" = "$(msgids "$NEAR_ROOT/$2")" ] &&
		[ -z "$(msgids "$NEAR_ROOT/$2" | uniq -d)" ]
}

# ---- four pairs, two at a time ----
pairs "$T/pairs.txt" "${users[@]}"
mf migrate --batch "$T/pairs.txt" --jobs 2 >"$T/out" 2>"$T/err"
rc=$?
check "batch exits 0" test $rc -eq 0
check "the table: four pairs done" \
	test "$(grep -c '^p[1-4]  *done  *30 ' "$T/out")" -eq 4
check "the table's last line" grep -q '^4 pairs: 4 done, 0 skipped' "$T/out"
for i in 0 1 2 3; do
	check "pair p$((i + 1)): the destination holds the source's mail" \
		same_mail "${users[$i]}" "${users[$i]}"
done
B=$T/state/batch-pairs.txt
check "each pair has its log, its state and a done record" \
	test -s "$B/p3/log" -a -f "$B/p3/done" -a -f "$B/p3/state/migrate.src.dst.db"
check "the private configuration is 0600" \
	test "$(stat -c %a "$B/p1/config.yaml")" = 600
check "no password in the private configuration" \
	bash -c "! grep -qF -- '$MF_FAR_PW' '$B/p1/config.yaml'"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/out" "$T/err" "$B/p1/log"

# ---- again: all skipped ----
mf migrate --batch "$T/pairs.txt" --jobs 2 >"$T/out2" 2>&1
check "second run exits 0" test $? -eq 0
check "second run: all four skipped" \
	test "$(grep -c '^p[1-4]  *skipped (already done)' "$T/out2")" -eq 4
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/out2"
mf --json migrate --batch "$T/pairs.txt" >"$T/j" 2>"$T/j.err"
check "--json: exit 0" test $? -eq 0
check "--json: an object per pair and the counts, nothing else" python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
pairs = [o for o in objs if o["type"] == "batch_pair"]
assert [o["name"] for o in pairs] == ["p1", "p2", "p3", "p4"], objs
assert all(o["status"] == "skipped" and o["exit"] is None for o in pairs)
assert objs[-1] == {"type": "batch", "pairs": 4, "done": 0, "skipped": 4,
                    "failed": 0, "not_run": 0}, objs[-1]
assert len(objs) == 5
' "$T/j"
mf --json migrate far near >/dev/null 2>&1
check "--json without --batch is refused" test $? -eq 2
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/j" "$T/j.err"

# ---- killed with -9 part way, then run again ----
for u in "${users[@]}"; do
	gen_msgs "$T/$u/big" 1 40 "big-$u"
	MF_HARNESS_USER=$u far_harness seed Big "$T/$u"/big/* >/dev/null 2>&1
done
pairs "$T/kill.txt" "${kusers[@]}"
MAILFERRY_TEST_STEP_DELAY_MS=50 setsid "$MAILFERRY" -c "$CFG" migrate \
	--batch "$T/kill.txt" --jobs 2 >"$T/k" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	[ "$(count "$NEAR_ROOT/k1")" -gt 5 ] && break
	sleep 0.1
done
kill -9 -- -"$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# the children, in groups of their own, are told by PR_SET_PDEATHSIG
gone=0
for _ in $(seq 1 200); do
	pgrep -f 'batch-kill.txt/p[1-4]/config.yaml' >/dev/null ||
		{ gone=1; break; }
	sleep 0.1
done
check "the children of the killed batch stop too" test $gone -eq 1
partial=0
for k in "${kusers[@]}"; do partial=$((partial + $(count "$NEAR_ROOT/$k"))); done
check "the killed batch copied some, not all ($partial of 280)" \
	test "$partial" -gt 0 -a "$partial" -lt 280
check "the killed batch left a pair not done" \
	test ! -f "$T/state/batch-kill.txt/p4/done"
mf migrate --batch "$T/kill.txt" --jobs 2 >"$T/k2" 2>&1
rc=$?
check "the rerun exits 0" test $rc -eq 0
check "the rerun: every pair done or skipped" \
	test "$(grep -cE '^p[1-4]  *(done|skipped)' "$T/k2")" -eq 4
for i in 0 1 2 3; do
	check "killed pair p$((i + 1)): all the mail, nothing twice" \
		same_mail "${users[$i]}" "${kusers[$i]}"
done
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/k" "$T/k2"

# ---- SIGTERM: passed on, the next pair not begun ----
pairs "$T/term.txt" "${tusers[@]}"
MAILFERRY_TEST_STEP_DELAY_MS=50 "$MAILFERRY" -c "$CFG" migrate \
	--batch "$T/term.txt" >"$T/t" 2>"$T/t.err" &
pid=$!
for _ in $(seq 1 300); do
	[ "$(count "$NEAR_ROOT/t1")" -gt 3 ] && break
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM: exit 143" test $rc -eq 143
check "SIGTERM: the running pair stopped" grep -qE '^p1  *failed \(exit 143\)' "$T/t"
check "SIGTERM: the other not run" grep -qE '^p2  *not run' "$T/t"
check "SIGTERM: no child left" bash -c "! pgrep -f 'batch-term.txt/p[12]/config.yaml' >/dev/null"
mf migrate --batch "$T/term.txt" >"$T/t2" 2>&1
check "SIGTERM: the rerun finishes" test $? -eq 0
check "SIGTERM: then all the mail, nothing twice" \
	bash -c "$(declare -f msgids same_mail); FAR_ROOT='$FAR_ROOT' NEAR_ROOT='$NEAR_ROOT' same_mail test t1"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/t" "$T/t.err" "$T/t2"

# ---- --per-server: at most two sessions at once on the source server ----
# max_sessions LOG FROM: the most sessions open at once on that server
# after line FROM of its log (a Login counted up, its Disconnected down)
max_sessions() {
	tail -n +"$2" "$1" | awk '
		/imap-login: Info: Login: / && match($0, /session=<[^>]*>/) {
			s = substr($0, RSTART + 9, RLENGTH - 10)
			open[s] = 1; n++; if (n > max) max = n; next
		}
		/Info: Disconnected/ && match($0, /><[^>]*>: Info/) {
			s = substr($0, RSTART + 2, RLENGTH - 9)
			if (s in open) { delete open[s]; n-- }
		}
		END { print max + 0 }'
}
pairs "$T/cap.txt" "${cusers[@]}"
from=$(($(wc -l <"$FAR_DIR/dovecot.log") + 1))
MAILFERRY_TEST_STEP_DELAY_MS=20 mf migrate --batch "$T/cap.txt" --jobs 4 \
	--per-server 2 >"$T/c" 2>"$T/c.err"
rc=$?
check "--jobs 4 --per-server 2: exit 0" test $rc -eq 0
check "--per-server 2: the four pairs done" \
	test "$(grep -c '^p[1-4]  *done ' "$T/c")" -eq 4
most=$(max_sessions "$FAR_DIR/dovecot.log" "$from")
check "--per-server 2: two sessions at once on the source server at most, and two reached ($most)" \
	test "$most" -eq 2
for i in 0 1 2 3; do
	check "capped pair p$((i + 1)): all the mail, nothing twice" \
		same_mail "${users[$i]}" "${cusers[$i]}"
done
mf migrate --per-server 2 far near >"$T/c2" 2>&1
check "--per-server without --batch is refused" test $? -eq 2
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/c" "$T/c.err"

# ---- the README's recipe: split the file, GNU parallel runs the parts ----
# (":" is this machine: the recipe's --sshlogin with no SSH)
if command -v parallel >/dev/null 2>&1; then
	mkdir -p "$T/gp"
	pairs "$T/gp/all.txt" "${gusers[@]}"
	grep -v -e '^#' -e '^$' "$T/gp/all.txt" >"$T/gp/lines.txt"
	(cd "$T/gp" && split -l 2 -d lines.txt part.)
	gp_run() {
		(cd "$T/gp" && parallel --will-cite --sshlogin 2/: \
			--transferfile {} "$MAILFERRY" -c "$CFG" migrate \
			--batch {} --jobs 2 ::: part.*) >"$T/gp/$1" 2>&1
	}
	gp_run out
	rc=$?
	check "GNU parallel over two parts: exit 0" test $rc -eq 0
	check "GNU parallel: each part's table, all four pairs done" \
		test "$(grep -c '^2 pairs: 2 done' "$T/gp/out")" -eq 2
	for i in 0 1 2 3; do
		check "parallel pair $((i + 1)): all the mail, nothing twice" \
			same_mail "${users[$i]}" "${gusers[$i]}"
	done
	gp_run again
	check "the same parallel again: exit 0, every pair skipped" \
		test $? -eq 0 -a "$(grep -c '^p[1-4]  *skipped (already done)' "$T/gp/again")" -eq 4
	[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/gp/out" "$T/gp/again"
else
	ok "GNU parallel recipe # SKIP parallel not installed (tests/harness/deps.sh installs it)"
fi

# ---- no configuration file: the batch directory in XDG_STATE_HOME ----
XDG_STATE_HOME=$T/xdg "$MAILFERRY" migrate --batch "$T/pairs.txt" \
	--jobs 2 >"$T/x" 2>&1
check "no configuration file: the batch runs" test $? -eq 0
check "... in \$XDG_STATE_HOME/mailferry" \
	test -f "$T/xdg/mailferry/batch-pairs.txt/p4/done"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/x"

# ---- refusals ----
pairs "$T/bad.txt" "${users[@]:0:2}"
echo 'src=imaps://a@h src_password=hunter2 dst=imaps://b@h dst_password_env=X' \
	>>"$T/bad.txt"
mf migrate --batch "$T/bad.txt" >"$T/b" 2>&1
check "a clear-text password: exit 2" test $? -eq 2
check "... naming FILE:LINE" grep -q "bad.txt:6: src_password: a clear-text" "$T/b"
check "... before anything ran" test ! -e "$T/state/batch-bad.txt"
mf migrate --batch "$T/pairs.txt" --jobs 99 >/dev/null 2>&1
check "--jobs 99 is refused" test $? -eq 2
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/b"
finish
