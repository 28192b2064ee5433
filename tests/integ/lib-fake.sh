# Shared by the tests against the scripted fake server (tests/fake/,
# fake-imapd.c): the environment meson sets, a temp dir $tmp removed at
# exit together with a fake server still running, the TAP helpers, and
# starting a fake server for one script.  Source it after `set -u`:
#
#   . "$(dirname "$0")/lib-fake.sh"
#   fake_start some.script [fake-imapd options]   # sets PORT
#   "$MAILFERRY" ... >"$tmp/out" 2>"$tmp/err"
#   fake_wait                                     # sets frc
#   check "what" test "$rc" -eq 1
#   fake_finish                                   # "1..N", exit status
#
# check prints, on a failure, whichever of $tmp/out, $tmp/err and the
# fake's log ($tmp/log: "C: " client lines and "# " events) exist.

: "${MAILFERRY:?set by meson}" "${MF_SOURCE_ROOT:?set by meson}"
: "${MF_BUILD_ROOT:?set by meson}"
FAKE=$MF_BUILD_ROOT/tests/fake/fake-imapd
SCRIPTS=$MF_SOURCE_ROOT/tests/fake
[ -x "$FAKE" ] || { echo "Bail out! $FAKE not built"; exit 1; }

tmp=$(mktemp -d)
fake_pid=
fake_cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap fake_cleanup EXIT
export HOME="$tmp/home" XDG_STATE_HOME= XDG_CONFIG_HOME=
mkdir -p "$HOME"
export MF_FAKE_PW="fake-secret-$RANDOM$RANDOM"

fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else
		not_ok "$name"
		[ -f "$tmp/out" ] && sed 's/^/# out: /' "$tmp/out"
		[ -f "$tmp/err" ] && sed 's/^/# err: /' "$tmp/err"
		[ -f "$tmp/log" ] && grep -a '^[#C]' "$tmp/log" |
			sed 's/^/# log: /'
	fi
	return 0
}
absent() { ! grep -qaE "$1" "$2"; }

# fake_start SCRIPT [fake-imapd options]: a fake server playing
# tests/fake/SCRIPT for one connection (more with ACCEPT), its log in
# $tmp/log; it gives up after FAKE_TIMEOUT seconds (default 20).  Sets
# PORT and fake_pid.
fake_start() {
	local script=$1 i
	shift
	rm -f "$tmp/port" "$tmp/log"
	"$FAKE" --script "$SCRIPTS/$script" --log "$tmp/log" \
		--port-file "$tmp/port" --timeout "${FAKE_TIMEOUT:-20}" "$@" \
		2>"$tmp/fake.err" &
	fake_pid=$!
	for i in $(seq 100); do
		[ -s "$tmp/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$tmp/port" 2>/dev/null)
	[ -n "$PORT" ] || { echo "Bail out! fake server did not start"; exit 1; }
}

# fake_wait: wait for the fake server to end; frc is its exit status
# (0: the script played out or the client hung up; 2, 3: a mismatch)
fake_wait() {
	wait "$fake_pid" 2>/dev/null
	frc=$?
	fake_pid=
}

fake_finish() {
	echo "1..$n"
	exit $((fails > 0))
}
