#!/usr/bin/env bash
# Checks the C sources for what the compiler does not catch, and prints
# every problem as FILE:LINE: message.  Exit status 0 when there is none,
# 1 when there is any, 2 on a usage error.
#
#   format     `clang-format --dry-run --Werror` with .clang-format on every
#              tracked *.c and *.h in cmd/ sync/ store/ tests/.  Without
#              clang-format this part prints "skipped: clang-format not
#              installed" and the rest still runs (tests/harness/deps.sh
#              installs it; the style is tuned for clang-format 14).
#   banned     calls in cmd/ sync/ store/ that have a safer spelling here:
#                strcpy strcat strncpy strncat sprintf vsprintf
#                    -> snprintf, struct mf_buf, xstrdup/xasprintf
#                    (strncpy does not terminate, strncat's size is the
#                    space left, not the buffer's)
#                gets               -> fgets / getline
#                strtok             -> strtok_r, or a loop over strchr
#                atoi atol atoll    -> strtol/strtoul with an end and
#                                      range check (atoi cannot fail)
#                tmpnam tempnam mktemp -> mkstemp (a race otherwise)
#                alloca             -> a fixed array or the heap (no
#                                      bound, no failure report)
#                system popen       -> fork + exec with an argument
#                                      vector (a shell, and no errno)
#              Comments and string literals are not searched.
#   length     a function whose body is over 80 lines, unless the comment
#              block right above the definition says "Long because ...".
#              A body is what lies between a "{" and the next "}" that
#              each stand in column 0, as a function's braces do in this
#              style; the lines counted are those between the two.
#   includes   the direction of #include "..." (STYLE: dependencies
#              point down only, cmd -> sync -> store -> store/base):
#                store/base/     only store/base/ headers
#                store/          nothing from sync/ or cmd/; the generic
#                                store files nothing from a backend, and
#                                one backend nothing from the other
#                sync/           nothing from cmd/ nor from store/imap/
#                                or store/maildir/ (not even their public
#                                headers: the engine sees struct mf_store)
#                cmd/            of the backends only their public headers
#                                (imap-store.h, imap-store-ext.h,
#                                mdir-store.h)
#              tests/ may include anything.  The meson include paths make
#              most of these fail to compile as well (see meson.build).
#   meson      a file named in a meson.build under tests/ (a test, its
#              sources, a script) that does not exist.
#
# Usage: tests/check-source.sh [FILE...]   (default: every tracked file)
# Environment: CLANG_FORMAT (default clang-format-14 if present, else
# clang-format).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

case ${1:-} in
-h | --help) sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
-*) echo "check-source: unknown option $1" >&2; exit 2 ;;
esac

# The C files to check, relative to the root, one a line.
list_c_files()
{
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- 'cmd/*.[ch]' 'sync/*.[ch]' 'store/*.[ch]' \
			'tests/*.[ch]'
	else
		find cmd sync store tests -name '*.[ch]' -type f | sort
	fi
}

list_meson_files()
{
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- 'meson.build' '*/meson.build'
	else
		find . -name meson.build -type f | sed 's|^\./||' | sort
	fi
}

if (($# > 0)); then
	files=("$@")
else
	mapfile -t files < <(list_c_files)
fi
mapfile -t meson_files < <(list_meson_files)

status=0

echo "== format"
cf=${CLANG_FORMAT:-}
if [[ -z $cf ]]; then
	if command -v clang-format-14 >/dev/null 2>&1; then
		cf=clang-format-14
	else
		cf=clang-format
	fi
fi
if ! command -v "$cf" >/dev/null 2>&1; then
	echo "skipped: clang-format not installed"
else
	version=$("$cf" --version 2>/dev/null)
	case $version in
	*" version 14."*) ;;
	*) echo "note: .clang-format is tuned for clang-format 14;" \
		"this is: $version" ;;
	esac
	out=$("$cf" --dry-run --Werror --style=file "${files[@]}" 2>&1)
	rc=$?
	# Only the diagnostic lines: clang-format also echoes the source
	# line and a caret under each.
	tag=': error: code should be clang-formatted'
	n=$(grep -c "$tag" <<<"$out")
	if ((rc != 0 && n == 0)); then
		# not a formatting problem: a bad .clang-format, an odd file
		printf '%s\n' "$out"
		echo "format: $cf failed (exit $rc)"
		status=1
	elif ((rc != 0)); then
		grep "$tag" <<<"$out" |
			sed "s/$tag.*/: not formatted as .clang-format says/"
		echo "format: $n places in" \
			"$(grep "$tag" <<<"$out" | cut -d: -f1 | sort -u |
				wc -l) files (clang-format -i FILE fixes them)"
		status=1
	fi
fi

python3 - "${#files[@]}" "${files[@]}" "${meson_files[@]}" <<'EOF' || status=1
import os
import re
import sys

nfiles = int(sys.argv[1])
files = sys.argv[2:2 + nfiles]
meson_files = sys.argv[2 + nfiles:]

MAX_BODY = 80
BANNED = ("strcpy strcat strncpy strncat sprintf vsprintf gets strtok "
          "atoi atol atoll tmpnam tempnam mktemp alloca system popen").split()
BANNED_IN = ("cmd/", "sync/", "store/")
# include roots given to the compiler (meson.build: store_inc, sync_inc,
# cmd_inc), after the including file's own directory
INCLUDE_ROOTS = ("store", "sync", "cmd")
BACKEND_PUBLIC = {"store/imap/imap-store.h", "store/imap/imap-store-ext.h",
                  "store/maildir/mdir-store.h"}

problems = {"banned": 0, "length": 0, "includes": 0, "meson": 0}


def report(kind, where, msg):
    problems[kind] += 1
    print("%s: %s" % (where, msg))


def strip_c(text):
    """Blank out comments, string and character literals, keeping every
    newline and column, so that what is left is code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]))
            if j < n and text[j] == c:
                out.append(c)
                j += 1
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


banned_re = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(BANNED))


def check_banned(path, code_lines):
    if not path.startswith(BANNED_IN):
        return
    for no, line in enumerate(code_lines, 1):
        for m in banned_re.finditer(line):
            report("banned", "%s:%d" % (path, no),
                   "banned call %s() (see tests/check-source.sh)"
                   % m.group(1))


name_re = re.compile(r"([A-Za-z_]\w*)\s*\(")


def check_length(path, lines, code_lines):
    i = 0
    n = len(code_lines)
    while i < n:
        if code_lines[i].rstrip() != "{":
            i += 1
            continue
        open_no = i
        close_no = open_no + 1
        while close_no < n and not code_lines[close_no].startswith("}"):
            close_no += 1
        body = close_no - open_no - 1
        i = close_no + 1
        if body <= MAX_BODY:
            continue
        # the declarator: the nearest line above that starts in column 0
        k = open_no - 1
        while k >= 0 and (not code_lines[k].strip() or
                          code_lines[k][0] in " \t"):
            k -= 1
        if k < 0:
            continue
        m = name_re.search(code_lines[k])
        name = m.group(1) if m else code_lines[k].strip()
        # the first line of the definition (return type, storage class)
        start = k
        while start > 0:
            prev = code_lines[start - 1].rstrip()
            if (not prev.strip() or prev.endswith((";", "}", "{")) or
                    prev.lstrip().startswith("#")):
                break
            start -= 1
        # the comment block right above it
        comment = ""
        j = start - 1
        if j >= 0 and lines[j].rstrip().endswith("*/"):
            while j >= 0:
                comment = lines[j] + "\n" + comment
                if "/*" in lines[j]:
                    break
                j -= 1
        if re.search(r"long because", comment, re.IGNORECASE):
            continue
        report("length", "%s:%d" % (path, k + 1),
               "%s() has a body of %d lines (over %d) and no "
               "\"Long because\" comment above it" % (name, body, MAX_BODY))


def layer(path):
    for prefix in ("store/base/", "store/imap/", "store/maildir/"):
        if path.startswith(prefix):
            return prefix[:-1]
    for prefix in ("store/", "sync/", "cmd/", "tests/"):
        if path.startswith(prefix):
            return prefix[:-1]
    return None


def resolve(path, target):
    for base in (os.path.dirname(path),) + INCLUDE_ROOTS:
        cand = os.path.normpath(os.path.join(base, target))
        if os.path.isfile(cand):
            return cand
    return None


def include_problem(src, dst):
    s, d = layer(src), layer(dst)
    backends = ("store/imap", "store/maildir")
    if s == "store/base" and d != "store/base":
        return "store/base includes only store/base headers"
    if s in ("store",) + backends and d in ("sync", "cmd", "tests"):
        return "store/ must not include %s/ headers" % d
    if s == "store" and d in backends:
        return "the generic store must not include a backend (%s/)" % d
    if s in backends and d in backends and s != d:
        return "one backend must not include another (%s/)" % d
    if s == "sync" and d in ("cmd", "tests"):
        return "sync/ must not include %s/ headers" % d
    if s == "sync" and d in backends:
        return ("sync/ must not include backend headers (%s); the "
                "engine sees only struct mf_store" % dst)
    if s == "cmd" and d in backends and dst not in BACKEND_PUBLIC:
        return ("cmd/ may include only a backend's public header "
                "(%s), not %s" % (", ".join(sorted(BACKEND_PUBLIC)), dst))
    return None


include_re = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def check_includes(path, lines):
    if layer(path) in (None, "tests"):
        return
    for no, line in enumerate(lines, 1):
        m = include_re.match(line)
        if not m:
            continue
        dst = resolve(path, m.group(1))
        if dst is None:
            continue        # not ours (or missing: the compiler says so)
        why = include_problem(path, dst)
        if why:
            report("includes", "%s:%d" % (path, no),
                   "#include \"%s\": %s" % (m.group(1), why))


# a quoted file name with an extension, not a piece of a path expression
meson_name_re = re.compile(
    r"(?<![/\w])(?<!/ )'([^'/][^']*\.(?:c|h|sh|py|pl|awk|script))'(?!\s*/)")


def check_meson(path):
    base = os.path.dirname(path)
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            code = line.split("#", 1)[0]
            for m in meson_name_re.finditer(code):
                name = m.group(1)
                if not os.path.exists(os.path.join(base, name)):
                    report("meson", "%s:%d" % (path, no),
                           "'%s' is listed but does not exist" % name)


for path in files:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        report("meson", path, "cannot read: %s" % e.strerror)
        continue
    lines = text.split("\n")
    code_lines = strip_c(text).split("\n")
    check_banned(path, code_lines)
    check_length(path, lines, code_lines)
    check_includes(path, lines)

# Only the tests' lists: a missing library source already stops meson, but
# a test file was once skipped when missing (an fs.exists() guard).
for path in meson_files:
    if path.startswith("tests/"):
        check_meson(path)

total = sum(problems.values())
print("== banned calls, function length, include direction, meson lists: "
      "%d problems (%s)" % (total, ", ".join("%s %d" % kv
                                             for kv in problems.items())))
sys.exit(1 if total else 0)
EOF

if ((status != 0)); then
	echo "check-source: FAILED"
else
	echo "check-source: passed"
fi
exit "$status"
