#!/usr/bin/env bash
# Memcheck over real runs: a few of the other integration tests again,
# with every mailferry process under valgrind (invalid reads and writes,
# uses of uninitialised memory, bad frees).  Leaks are ASan's business
# (the ASan suite runs every test with detect_leaks), and the crash tests'
# processes end by _exit on purpose, so leaks are not checked here.
#
# Skipped when valgrind is missing, and in the sanitizer build (ASan and
# valgrind cannot watch the same process).  The tests picked are the ones
# that reach the most code per second under valgrind (a full sync in both
# directions, hostile servers, fetching around a broken header), about
# 30 s in all; others by hand: MAILFERRY=<this wrapper> bash TEST.sh.
: "${MAILFERRY:?set by meson}" "${MF_SOURCE_ROOT:?set by meson}"

command -v valgrind >/dev/null 2>&1 || {
	echo "1..0 # SKIP valgrind not installed"
	exit 77
}
if ldd "$MAILFERRY" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	echo "1..0 # SKIP sanitizer build"
	exit 77
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
real=$MAILFERRY
cat >"$T/mailferry" <<WRAP
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=no --track-fds=no \\
	--log-file="$T/vg.%p" "$real" "\$@"
WRAP
chmod +x "$T/mailferry"

n=0 fails=0
for t in sync-basic.sh hostile-sync.sh hostile-headers.sh; do
	[ -f "$MF_SOURCE_ROOT/tests/integ/$t" ] || continue
	n=$((n + 1))
	before=$(find "$T" -name 'vg.*' | wc -l)
	if MAILFERRY=$T/mailferry bash "$MF_SOURCE_ROOT/tests/integ/$t" \
		>"$T/out" 2>&1; then
		echo "ok $n - $t passes with mailferry under valgrind"
	else
		fails=$((fails + 1))
		echo "not ok $n - $t passes with mailferry under valgrind"
		tail -20 "$T/out" | sed 's/^/# /'
	fi
	runs=$(($(find "$T" -name 'vg.*' | wc -l) - before))
	n=$((n + 1))
	bad=$(find "$T" -name 'vg.*' -size +0)
	if [ "$runs" -gt 0 ] && [ -z "$bad" ]; then
		echo "ok $n - $t: $runs mailferry runs, no memcheck error"
	else
		fails=$((fails + 1))
		echo "not ok $n - $t: $runs mailferry runs, memcheck errors:"
		for f in $bad; do head -30 "$f" | sed 's/^/# /'; done
	fi
	rm -f "$T"/vg.*
done
echo "1..$n"
[ "$fails" -eq 0 ]
