#!/bin/sh
# Fuzz the IMAP response parser for a bounded time.
#
#   tests/fuzz/run.sh [build-dir]
#
# Builds fuzz-imap-parser with clang in its own build dir (default
# build-fuzz/ at the top of the tree; -Dfuzz=true -Dtests=false), copies the
# seed corpus to a scratch dir and runs libFuzzer on it.
#
# Environment:
#   FUZZ_SECONDS   how long to fuzz (default 60)
#   FUZZ_CC        the compiler (default clang)
#   FUZZ_JOBS      parallel fuzzing processes (default 1)
#
# Exit status: 0 when no crash was found, or when clang is missing (then it
# prints "skipped: clang not found"); non-zero on a crash, a leak, a timeout
# or a build failure.  A crashing input is kept in <build-dir>/artifacts/;
# replay it with <build-dir>/tests/fuzz/fuzz-imap-parser <file>.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$src/build-fuzz"}
secs=${FUZZ_SECONDS:-60}
fuzz_cc=${FUZZ_CC:-clang}
jobs=${FUZZ_JOBS:-1}

if ! command -v "$fuzz_cc" >/dev/null 2>&1; then
	echo "skipped: clang not found"
	exit 0
fi

if [ ! -f "$build/build.ninja" ]; then
	CC=$fuzz_cc meson setup "$build" "$src" -Dfuzz=true -Dtests=false \
		-Dbuildtype=debugoptimized
fi
ninja -C "$build" tests/fuzz/fuzz-imap-parser

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-imap-parser.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$src/tests/fuzz/corpus-imap-parser/"* "$work/"
mkdir -p "$build/artifacts"

echo "fuzzing the IMAP parser for $secs s ($jobs job(s))"
fork=
if [ "$jobs" -gt 1 ]; then
	fork="-fork=$jobs"
fi
status=0
# shellcheck disable=SC2086 # $fork is one word or nothing
"$build/tests/fuzz/fuzz-imap-parser" $fork \
	-max_total_time="$secs" \
	-max_len=32768 \
	-timeout=20 \
	-rss_limit_mb=2048 \
	-print_final_stats=1 \
	-dict="$src/tests/fuzz/imap.dict" \
	-artifact_prefix="$build/artifacts/" \
	"$work" || status=$?
if [ "$status" -ne 0 ]; then
	echo "fuzz-imap-parser failed (status $status); inputs in" \
		"$build/artifacts/" >&2
	exit "$status"
fi
echo "no crash in $secs s"
