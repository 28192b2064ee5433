#!/bin/bash
# The live progress line (--progress), the time and wire line after the
# summary, and the pre/post sync hooks (with the real notmuch as one),
# against the harness Dovecot.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

msgs=$MF_TESTDATA/messages
mf_harness seed INBOX "$msgs"/python-test_email/msg_*.txt >/dev/null 2>&1
mf_harness seed Archive --flags S "$msgs"/mimekit/* >/dev/null 2>&1

HK=$T/hooks
mkdir -p "$HK"
# each hook appends its environment to its own file, one run a block
mf_config \
	"pre_sync_command: 'echo pre >>$HK/order; env | grep ^MAILFERRY_ >>$HK/pre.env; echo hook-out'" \
	"post_sync_command: 'echo post >>$HK/order; printf \"%s\\n---\\n\" \"\$MAILFERRY_CHANGED_FOLDERS\" >>$HK/folders; env | grep ^MAILFERRY_ | sort >>$HK/post.env; echo ==== >>$HK/post.env'"
mf check >"$T/check" 2>&1
check "config with both hooks passes check" test $? -eq 0
[ -s "$T/check" ] && grep -qi error "$T/check" && sed 's/^/# /' "$T/check"

# a dry run runs neither hook and draws no progress
mf sync -n --progress=always >"$T/dry" 2>"$T/dry.err"
check "dry run exits 0" test $? -eq 0
check "dry run: no hook ran" test ! -e "$HK/order"
check "dry run: no progress line" bash -c "! grep -q \$'\\r' '$T/dry.err'"

# first sync with --progress=always: stderr is not a terminal, drawn anyway
mf sync --progress=always >"$T/out1" 2>"$T/err1"
rc=$?
check "first sync exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out1" "$T/err1"
check "always: the line redraws in place (CR, erase)" \
	grep -q $'\r.*folder [0-9]*/[0-9]* .*\033\\[K' "$T/err1"
check "always: the line shows messages done of total" \
	grep -aq 'pull [0-9]*/[0-9]*, [0-9.]* [KMG]*i*B/[0-9.]* [KMG]*i*B' "$T/err1"
check "always: stdout has no CR" bash -c "! grep -q \$'\\r' '$T/out1'"
check "pre ran before post" test "$(tr '\n' ' ' <"$HK/order")" = "pre post "
check "pre had MAILFERRY_CHANNEL" grep -qx "MAILFERRY_CHANNEL=c" "$HK/pre.env"
check "hook output goes to stderr, not stdout" \
	bash -c "grep -q hook-out '$T/err1' && ! grep -q hook-out '$T/out1'"
pulled=$(sed -n 's/^c: .*folders.*pulled \([0-9]*\),.*/\1/p' "$T/out1")
check "post: MAILFERRY_PULLED is the summary's ($pulled)" \
	grep -qx "MAILFERRY_PULLED=$pulled" "$HK/post.env"
check "post: MAILFERRY_CHANNEL" grep -qx "MAILFERRY_CHANNEL=c" "$HK/post.env"
check "post: MAILFERRY_PUSHED=0" grep -qx "MAILFERRY_PUSHED=0" "$HK/post.env"
check "post: changed folders, one a line" \
	test "$(sed -n '1,/^---$/p' "$HK/folders" | sort | tr '\n' ' ')" = "--- Archive INBOX "

# the line after the summary: time and wire bytes, at least the bodies
wire=$(grep '^c: [0-9.]* s, wire ' "$T/out1")
check "summary is followed by time and wire bytes" test -n "$wire"
echo "# $wire"
to_bytes() {	# "12.5 KiB" -> bytes (rounded down)
	awk -v v="$1" -v u="$2" 'BEGIN {
		m = 1; if (u == "KiB") m = 1024; if (u == "MiB") m = 1048576
		if (u == "GiB") m = 1073741824; printf "%d", v * m }'
}
read -r rv ru wv wu < <(echo "$wire" |
	sed 's/.*wire \([0-9.]*\) \([A-Za-z]*\) read, \([0-9.]*\) \([A-Za-z]*\) written/\1 \2 \3 \4/')
rd=$(to_bytes "$rv" "$ru")
wr=$(to_bytes "$wv" "$wu")
bodies=$(find "$LOCAL" -path '*/cur/*' -o -path '*/new/*' -type f | xargs cat | wc -c)
check "wire read ($rd) >= the pulled bodies ($bodies) less rounding" \
	test "$rd" -ge $((bodies * 95 / 100))
check "wire read below three times the bodies" \
	test "$rd" -lt $((bodies * 3 + 100000))
check "wire written > 0 ($wr) and smaller than read" \
	test "$wr" -gt 0 -a "$wr" -lt "$rd"

# a sync that changes nothing: pre runs, post does not
mf sync --progress=never >"$T/out2" 2>"$T/err2"
check "no-change sync exits 0" test $? -eq 0
check "no-change sync: pre ran again, post did not" \
	test "$(tr '\n' ' ' <"$HK/order")" = "pre post pre "
check "never: no progress line" bash -c "! grep -q \$'\\r' '$T/err2'"

# not a terminal, auto: no progress line
gen_msgs "$T/new" 1 5 a
mf_harness seed INBOX "$T"/new/m* >/dev/null 2>&1
mf sync >"$T/out3" 2>"$T/err3"
check "auto, not a tty: no progress line" bash -c "! grep -q \$'\\r' '$T/err3'"
check "post ran once more after the change" \
	test "$(grep -c post "$HK/order")" -eq 2
check "post: the second run names INBOX only" \
	test "$(sed -n '/^---$/,$p' "$HK/folders" | sed 1d | tr '\n' ' ')" = "INBOX --- "
check "post: MAILFERRY_PULLED=5 the second time" \
	grep -qx "MAILFERRY_PULLED=5" "$HK/post.env"

# auto on a terminal (a pty from python3): drawn
if command -v python3 >/dev/null 2>&1; then
	gen_msgs "$T/new2" 6 8 b
	mf_harness seed INBOX "$T"/new2/m* >/dev/null 2>&1
	python3 - "$MAILFERRY" "$CFG" >"$T/tty" 2>&1 <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-c", sys.argv[2], "sync"])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(st))
PY
	check "auto on a terminal: exits 0" test $? -eq 0
	check "auto on a terminal: the line is drawn" \
		grep -q $'\r.*folder [0-9]*/[0-9]*' "$T/tty"
else
	ok "# SKIP python3 missing: auto on a terminal"
fi

# failing hooks: a warning naming the channel and status; exit code kept
mf_config "pre_sync_command: 'exit 3'" \
	"post_sync_command: 'kill -9 \$\$'"
gen_msgs "$T/new3" 9 9 c
mf_harness seed INBOX "$T"/new3/m* >/dev/null 2>&1
mf sync >"$T/out4" 2>"$T/err4"
check "failing hooks: the sync still exits 0" test $? -eq 0
check "failing pre: warning with channel and exit status" \
	grep -q "channel 'c': pre_sync_command failed (exit status 3)" "$T/err4"
check "failing post: warning with the signal" \
	grep -q "channel 'c': post_sync_command failed (killed by signal 9)" "$T/err4"
check "failing hooks: the message still arrived" \
	test -n "$(grep -rl '^Message-ID: <m9.c@test>' "$LOCAL/INBOX")"

# a hook that outlives sync_command_timeout is killed, the sync goes on
mf_config "pre_sync_command: 'sleep 30'" "sync_command_timeout: 1"
mf sync >"$T/out5" 2>"$T/err5"
check "slow hook: the sync exits 0" test $? -eq 0
check "slow hook: killed with a warning" \
	grep -q "pre_sync_command did not finish within sync_command_timeout" "$T/err5"

# the real notmuch as the post hook: the new mail is indexed
if command -v notmuch >/dev/null 2>&1; then
	export NOTMUCH_CONFIG=$T/notmuch-config
	printf '[database]\npath=%s\n[new]\ntags=new\n[search]\nexclude_tags=\n' \
		"$LOCAL" >"$NOTMUCH_CONFIG"
	mf_config "post_sync_command: 'notmuch new --quiet'"
	gen_msgs "$T/new4" 10 11 nm
	mf_harness seed INBOX "$T"/new4/m* >/dev/null 2>&1
	mf sync >"$T/out7" 2>"$T/err7"
	check "notmuch hook: the sync exits 0" test $? -eq 0
	check "notmuch hook: no warning" bash -c "! grep -q warning '$T/err7'"
	check "notmuch indexed the pulled mail" \
		test "$(notmuch count id:m10.nm@test or id:m11.nm@test)" -eq 2
	# notmuch skips what it takes for non-mail: ask it, not find
	check "notmuch hook left nothing for notmuch new to do" \
		bash -c "notmuch new 2>&1 | grep -q 'No new mail'"
	mf -v sync >"$T/out8" 2>&1
	check "a sync after notmuch exits 0" test $? -eq 0
	check "a sync after notmuch: .notmuch not taken for a folder" \
		bash -c "! grep -q notmuch '$T/out8'"
else
	ok "# SKIP notmuch missing: the notmuch hook"
fi

# a bad --progress value is a usage error
mf sync --progress=sometimes >"$T/out6" 2>&1
check "bad --progress: exit 2" test $? -eq 2
check "bad --progress: says what it takes" grep -q "auto, always or never" "$T/out6"
finish
