#!/bin/sh
# Fuzz the IMAP response parser, the configuration loader, the Maildir
# file name parser and whole sync sessions for a bounded time in all.
#
#   tests/fuzz/run.sh [build-dir] [target...]
#
# Builds the targets with clang in their own build dir (default build-fuzz/
# at the top of the tree; -Dfuzz=true -Dtests=false), copies each seed
# corpus to a scratch dir and runs libFuzzer on it.  FUZZ_SECONDS is shared:
# half for fuzz-imap-parser (the input from the network), a quarter each
# for fuzz-config and fuzz-mdir-name (at least 1 s each); fuzz-session
# gets half of FUZZ_SECONDS on top (FUZZ_SESSION_SECONDS overrides; 0
# skips it).  Naming targets (imap-parser, config, mdir-name, session)
# runs only those, each for FUZZ_SECONDS; NAME:SECONDS sets the time.
#
# Environment:
#   FUZZ_SECONDS   how long to fuzz in all (default 60)
#   FUZZ_CC        the compiler (default clang)
#   FUZZ_JOBS      parallel fuzzing processes per target (default 1)
#
# Exit status: 0 when no crash was found, or when clang is missing (then it
# prints "skipped: clang not found"); non-zero on a crash, a leak, a timeout
# or a build failure.  A crashing input is kept in <build-dir>/artifacts/;
# replay it with <build-dir>/tests/fuzz/fuzz-<target> <file>.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$src/build-fuzz"}
[ $# -gt 0 ] && shift
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
ninja -C "$build" tests/fuzz/fuzz-imap-parser tests/fuzz/fuzz-config \
	tests/fuzz/fuzz-mdir-name tests/fuzz/fuzz-session
mkdir -p "$build/artifacts"

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
# fuzz-session's Maildirs and state files: on tmpfs when there is one,
# and gone even after a crash
scratch=$(mktemp -d /dev/shm/fuzz-session.XXXXXX 2>/dev/null) ||
	scratch=$(mktemp -d "$work/scratch.XXXXXX")
trap 'rm -rf "$work" "$scratch"' EXIT INT TERM

# fuzz TARGET SECONDS MAX_LEN [libFuzzer options...]
fuzz() {
	target=$1 t=$2 max_len=$3
	shift 3
	mkdir "$work/$target"
	cp "$src/tests/fuzz/corpus-$target/"* "$work/$target/"
	echo "fuzzing $target for $t s ($jobs job(s))"
	fork=
	if [ "$jobs" -gt 1 ]; then
		fork="-fork=$jobs"
	fi
	status=0
	# shellcheck disable=SC2086 # $fork is one word or nothing
	"$build/tests/fuzz/fuzz-$target" $fork \
		-max_total_time="$t" \
		-max_len="$max_len" \
		-timeout=20 \
		-rss_limit_mb=2048 \
		-print_final_stats=1 \
		-artifact_prefix="$build/artifacts/" \
		"$@" "$work/$target" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "fuzz-$target failed (status $status); inputs in" \
			"$build/artifacts/" >&2
		exit "$status"
	fi
}

if [ $# -eq 0 ]; then
	quarter=$((secs / 4))
	[ "$quarter" -ge 1 ] || quarter=1
	set -- "imap-parser:$((secs - 2 * quarter))" "config:$quarter" \
		"mdir-name:$quarter"
	session=${FUZZ_SESSION_SECONDS:-$(((secs + 1) / 2))}
	[ "$session" -eq 0 ] || set -- "$@" "session:$session"
fi
total=0
for arg in "$@"; do
	name=${arg%%:*}
	t=$secs
	[ "$name" = "$arg" ] || t=${arg#*:}
	[ "$t" -ge 1 ] || t=1
	total=$((total + t))
	case $name in
	imap-parser)
		fuzz imap-parser "$t" 32768 -dict="$src/tests/fuzz/imap.dict" ;;
	config)
		fuzz config "$t" 8192 -dict="$src/tests/fuzz/config.dict" ;;
	mdir-name)
		fuzz mdir-name "$t" 300 ;;
	session)
		TMPDIR=$scratch fuzz session "$t" 65536 \
			-dict="$src/tests/fuzz/session.dict" ;;
	*)
		echo "unknown target: $name" >&2
		exit 2 ;;
	esac
done
echo "no crash in $total s"
