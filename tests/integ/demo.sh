#!/usr/bin/env bash
# examples/demo.sh, run twice in a scratch directory with the mailferry
# under test: it must succeed (commands not built yet may say so), leave
# its server stopped and start over cleanly the second time.
set -uo pipefail

: "${MAILFERRY:?set by meson}" "${MF_SOURCE_ROOT:?set by meson}"

n=0
failed=0
check()
{
	local desc=$1

	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
	fi
}

not()
{
	! "$@"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mf-demo-test.XXXXXX")
chmod 755 "$tmp"
trap 'bash "$MF_SOURCE_ROOT/tests/harness/dovecot.sh" stop "$tmp/demo/server" \
	>/dev/null 2>&1; rm -rf "$tmp"' EXIT

run_demo()
{
	DEMO_DIR=$tmp/demo MAILFERRY=$MAILFERRY DEMO_NO_DEPS=1 \
		bash "$MF_SOURCE_ROOT/examples/demo.sh" >"$tmp/out.$1" 2>&1
}

# The server's master, when the state names one and it is still there.
server_running()
{
	local pid

	pid=$(. "$tmp/demo/server/state" 2>/dev/null; echo "${MASTER_PID:-}")
	[[ -n $pid ]] && bash "$MF_SOURCE_ROOT/tests/harness/dovecot.sh" \
		status "$tmp/demo/server"
}

for round in 1 2; do
	run_demo "$round"
	rc=$?
	check "demo run $round succeeds" test "$rc" -eq 0
	if ((rc != 0)); then
		sed 's/^/#   /' "$tmp/out.$round" | tail -n 40
	fi
	check "run $round wrote the configuration" \
		grep -q '^    password_env: MF_DEMO_PASSWORD$' \
		"$tmp/demo/config.yaml"
	check "run $round seeded a few hundred messages" \
		grep -qE '^seeded [0-9]{3} messages' "$tmp/out.$round"
	check "run $round ran check, list and sync" \
		bash -c 'for c in check "list demo" "sync demo"; do
			grep -qF -- "config.yaml $c" "$1" || exit 1; done' - \
		"$tmp/out.$round"
	check "run $round stopped its server" not server_running
	check "run $round printed no password" \
		bash -c '! grep -q "secret-pw-" "$1"' - "$tmp/out.$round"
done
# Only when sync is built: the Maildir holds what the server had.
if grep -q 'messages (the server has' "$tmp/out.2"; then
	check "the Maildir got every message" \
		grep -qE '^  ([0-9]+) messages \(the server has \1\)' "$tmp/out.2"
else
	echo "# sync not built yet: $(grep -c 'not built yet' "$tmp/out.2") command(s)"
fi
check "the demo refuses a directory it did not make" bash -c '
	mkdir -p "$1/other" && : >"$1/other/precious" &&
	! DEMO_DIR="$1/other" MAILFERRY="$2" DEMO_NO_DEPS=1 \
		bash "$3/examples/demo.sh" >/dev/null 2>&1 &&
	test -e "$1/other/precious"' - "$tmp" "$MAILFERRY" "$MF_SOURCE_ROOT"

echo "1..$n"
((failed == 0))
