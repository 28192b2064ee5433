#!/usr/bin/env bash
# Runs every test mailferry has, the way CI does:
#
#   1. installs missing Debian packages (tests/harness/deps.sh),
#   2. tests/check-source.sh (formatting, banned calls, long functions,
#      include direction), counted as one test, and its formatting part
#      as a skipped one when clang-format is missing,
#   3. builds in build/ci and runs the unit and integration suites,
#   4. the same in build/ci-asan with AddressSanitizer and UBSan,
#   5. tests/fuzz/run.sh for a bounded time, counted as one test.
#
# Build directories are kept between runs, so only what changed is rebuilt.
# The last line is always "N passed, N failed"; the exit status is 0 only
# when nothing failed and something passed.  Skipped tests count as
# neither and are reported on the line before.
#
# Options: --no-deps   do not install packages
#          --no-asan   skip the sanitizer build
#          --no-fuzz   skip fuzzing
#          --fresh     wipe the build directories first
#          --quick     --no-asan --no-fuzz
# The crash loops (stop at step N, then a clean run) take every step in
# the plain build and every MF_SAN_CRASH_STRIDE-th (default 5) under the
# sanitizers, which look for memory errors, not for ordering: the plain
# run is the proof of crash safety, the sanitizer run a sample of it.
# (sync-move-conflict.sh and sync-move-imap.sh take every step in both:
# they check that some stops fell inside a half-done move.)
# Environment: CI=true (adds -Dwerror=true), FUZZ_SECONDS (default 60),
#          MF_RUN_BUILD (build root, default build/), MESON_TEST_ARGS
#          (extra arguments for meson test, e.g. "--suite unit" or a name).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

deps=1 asan=1 fuzz=1 fresh=0
for arg in "$@"; do
	case $arg in
	--no-deps) deps=0 ;;
	--no-asan) asan=0 ;;
	--no-fuzz) fuzz=0 ;;
	--fresh) fresh=1 ;;
	--quick) asan=0 fuzz=0 ;;
	-h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done

passed=0
failed=0
skipped=0
failures=()

finish()
{
	if ((${#failures[@]} > 0)); then
		echo "failed:"
		printf '  %s\n' "${failures[@]}"
	fi
	echo "$skipped skipped"
	echo "$passed passed, $failed failed"
	if ((failed == 0 && passed > 0)); then
		exit 0
	fi
	exit 1
}

# A step that is not a meson test (a build, fuzzing) counts as one test.
step_failed()
{
	failed=$((failed + 1))
	failures+=("$1")
}

if ((deps)); then
	# shellcheck disable=SC1091
	. "$root/tests/harness/deps.sh"
	if ! mf_deps_install; then
		step_failed "installing packages"
		finish
	fi
fi

echo "== $(uname -sm); $(${CC:-cc} --version 2>/dev/null | head -n 1)"
echo "== meson $(meson --version), $(openssl version)," \
	"dovecot $(PATH=$PATH:/usr/sbin dovecot --version 2>/dev/null)"

# Before any build, so that its report is not lost among the test output.
echo "== source check (tests/check-source.sh)"
if out=$(bash tests/check-source.sh 2>&1); then
	passed=$((passed + 1))
else
	step_failed "source check (its FILE:LINE list is above)"
fi
printf '%s\n' "$out"
if grep -q '^skipped: clang-format not installed' <<<"$out"; then
	skipped=$((skipped + 1))
fi

werror=false
[[ ${CI:-} == true ]] && werror=true
build_root=${MF_RUN_BUILD:-build}

# setup DIR MESON-OPTIONS...: configures DIR, reusing it when it exists.
setup()
{
	local dir=$1

	shift
	if ((fresh)) && [[ -d $dir ]]; then
		rm -rf "$dir"
	fi
	if [[ -f $dir/build.ninja ]]; then
		# Changes options only when they differ; ninja reconfigures.
		meson configure "$dir" "$@" >/dev/null && return 0
		echo "== $dir: reconfigure failed, wiping it"
		meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# Adds up meson's test log: OK and EXPECTEDFAIL pass, SKIP is skipped,
# anything else (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS) fails.
count_log()
{
	local log=$1 label=$2 counts first line p f s

	counts=$(python3 - "$log" "$label" <<'EOF'
import json, sys
p = f = s = 0
names = []
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
	for line in log:
		line = line.strip()
		if not line:
			continue
		try:
			t = json.loads(line)
		except ValueError:
			continue
		r = t.get("result", "")
		if r in ("OK", "EXPECTEDFAIL"):
			p += 1
		elif r == "SKIP":
			s += 1
		else:
			f += 1
			names.append("%s: %s (%s)" % (sys.argv[2], t.get("name"), r))
print(p, f, s)
for n in names:
	print(n)
EOF
	) || return 1
	read -r first <<<"$counts"
	read -r p f s <<<"$first"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	while IFS= read -r line; do
		[[ -n $line ]] && failures+=("$line")
	done < <(tail -n +2 <<<"$counts")
	echo "== $label: $p passed, $f failed, $s skipped"
}

# suite LABEL DIR MESON-OPTIONS... [-- ENV...]: build and test one
# configuration.
suite()
{
	local label=$1 dir=$2 rc=0
	local -a opts=() env=()

	shift 2
	while (($# > 0)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	(($# > 0)) && shift
	env=("$@")

	echo "== $label: $dir ${opts[*]}"
	if ! setup "$dir" "${opts[@]}"; then
		step_failed "$label: meson setup"
		return
	fi
	if ! ninja -C "$dir"; then
		step_failed "$label: build"
		return
	fi
	rm -f "$dir/meson-logs/testlog.json"
	# shellcheck disable=SC2086 # MESON_TEST_ARGS is a word list
	env "${env[@]}" meson test -C "$dir" --no-rebuild --print-errorlogs \
		${MESON_TEST_ARGS:---suite unit --suite integ} || rc=$?
	if [[ -s $dir/meson-logs/testlog.json ]]; then
		count_log "$dir/meson-logs/testlog.json" "$label" ||
			step_failed "$label: reading the test log"
	elif ((rc != 0)); then
		step_failed "$label: meson test (exit $rc, no test log)"
	fi
}

suite "tests" "$build_root/ci" -Dwerror="$werror" -Db_sanitize=none

if ((asan)); then
	suite "tests with ASan+UBSan" "$build_root/ci-asan" \
		-Dwerror="$werror" -Db_sanitize=address,undefined \
		-Db_lundef=false -- \
		ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		MF_CRASH_STRIDE="${MF_SAN_CRASH_STRIDE:-5}"
fi

if ((fuzz)) && [[ -f tests/fuzz/run.sh ]]; then
	secs=${FUZZ_SECONDS:-60}
	echo "== fuzzing for ${secs}s"
	out=$(FUZZ_SECONDS=$secs timeout --kill-after=30 "$((secs + 900))" \
		bash tests/fuzz/run.sh "$build_root/fuzz" 2>&1)
	rc=$?
	printf '%s\n' "$out" | tail -n 30
	if ((rc != 0)); then
		step_failed "fuzzing (exit $rc)"
	elif grep -q '^skipped' <<<"$out"; then
		skipped=$((skipped + 1))
	else
		passed=$((passed + 1))
	fi
fi

finish
