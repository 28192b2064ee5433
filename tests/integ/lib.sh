# Shared by the sync integration tests (sourced).  Starts a private Dovecot
# through the harness, writes a mailferry config for it, and compares the
# two sides message by message.
#
# After "mf_setup [harness start options]":
#   $T          a temp dir removed at exit
#   $CFG        the config (channel "c": account "srv" <-> maildir $T/local)
#   $LOCAL      the local maildir root (layout fs, like the server's)
#   mf ARGS     runs mailferry -c $CFG ARGS
#   sig DIR     one line per message: "folder sha256-of-LF-content FLAGS",
#               sorted; the server's maildir and ours compare directly
#   ok/not_ok/check/finish   TAP output

: "${MAILFERRY:?set by meson}" "${MF_HARNESS:?set by meson}"
: "${MF_TESTDATA:?set by meson}"

fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() {	# check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
finish() {
	echo "1..$n"
	[ "$fails" -eq 0 ]
	exit $?
}

mf_setup() {
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || {
		echo "1..0 # SKIP dovecot not installed"
		exit 77
	}
	# shellcheck disable=SC1090
	. "$MF_HARNESS"
	T=$(mktemp -d)
	chmod 755 "$T"
	trap 'mf_harness_stop; rm -rf "$T"' EXIT
	mf_harness_start "$T/srv" "$@" >/dev/null 2>&1 || {
		echo "Bail out! harness failed to start"
		exit 1
	}
	export HOME="$T/home" XDG_STATE_HOME= XDG_CONFIG_HOME=
	mkdir -p "$HOME"
	export MF_TEST_PW=$MF_PASS
	LOCAL=$T/local
	CFG=$T/config.yaml
	mf_config
}

# mf_config [extra channel lines]: (re)write the config; MF_STORE_OPTS
# holds extra lines for the maildir store (e.g. "fsync:false")
mf_config() {
	cat >"$CFG" <<YAML
state_dir: $T/state
accounts:
  srv:
    host: localhost
    port: $MF_IMAPS_PORT
    tls: implicit
    user: $MF_USER
    password_env: MF_TEST_PW
    ca_file: $MF_CA_FILE
stores:
  local:
    maildir: $LOCAL
    layout: fs
$(printf '%s\n' "${MF_STORE_OPTS:-}" | sed 's/^/    /')
channels:
  c:
    far: srv
    near: local
$(printf '%s\n' "$@" | sed 's/^/    /')
YAML
}

mf() {
	"$MAILFERRY" -c "$CFG" "$@"
}

# sig DIR: "folder hash flags" per message file under DIR, sorted.
# Contents are compared with CRLF turned into LF, since the server keeps
# what it was given (LF after an APPEND, CRLF in some seeded files) and
# the maildir has LF; flags are the upper-case letters after ":2,".
sig() {
	local dir=$1 copy=
	# hash in place, or a copy with CRLF made LF when any file has CR
	if [ -n "$(find "$dir" \( -path '*/cur/*' -o -path '*/new/*' \) \
		-type f -exec grep -l $'\r' {} + 2>/dev/null | head -1)" ]; then
		copy=$(mktemp -d "$T/sig.XXXXXX")
		cp -a "$dir/." "$copy"
		find "$copy" -type f ! -path '*/cur/*' ! -path '*/new/*' -delete
		find "$copy" -type f -exec sed -i 's/\r$//' {} +
		dir=$copy
	fi
	(cd "$dir" && find . \( -path '*/cur/*' -o -path '*/new/*' \) \
		-type f -exec sha256sum {} +) |
	awk '{
		path = substr($0, index($0, "  ") + 2)
		sub(/^\.\//, "", path)
		n = split(path, part, "/")
		folder = part[1]
		for (i = 2; i < n - 1; i++)
			folder = folder "/" part[i]
		name = part[n]
		flags = ""
		if (match(name, /[:!]2,[A-Za-z]*$/)) {
			info = substr(name, RSTART + 3)
			for (i = 1; i <= length(info); i++) {
				c = substr(info, i, 1)
				if (c ~ /[A-Z]/)
					flags = flags c
			}
		}
		print folder, $1, flags
	}' | LC_ALL=C sort
	[ -z "$copy" ] || rm -rf "$copy"
}

# same_sides NAME: the server and the local maildir hold the same messages
# with the same flags (a diff is printed on failure)
same_sides() {
	local a b
	a=$(sig "$MF_MAILDIR" | live)
	b=$(sig "$LOCAL" | live)
	if [ "$a" = "$b" ]; then
		ok "$1"
	else
		not_ok "$1"
		diff <(echo "$a") <(echo "$b") | head -20 | sed 's/^/# /'
	fi
}

# live: drop the messages flagged T (\Deleted) when the server cannot
# expunge only ours (MF_NO_UIDPLUS=1): deletions there stay a flag, so
# the server keeps messages the local side no longer has
live() {
	if [ "${MF_NO_UIDPLUS:-0}" = 1 ]; then
		awk '$3 !~ /T/'
	else
		cat
	fi
}

# count DIR: number of message files under DIR
count() {
	find "$1" \( -path '*/cur/*' -o -path '*/new/*' \) -type f | wc -l
}

# no_duplicates DIR NAME: no two message files with the same content in
# one folder
no_duplicates() {
	local d
	d=$(sig "$1" | awk '{print $1, $2}' | uniq -d)
	if [ -z "$d" ]; then ok "$2"; else
		not_ok "$2"
		echo "$d" | head -5 | sed 's/^/# duplicate: /'
	fi
}

# trace_commands FILE: the IMAP commands sent, without tags
trace_commands() {
	sed -n 's/^C: [^ ]* //p' "$1" | awk '{print $1}'
}

# gen_msgs DIR FROM TO [TAG]: write messages DIR/m<i> with Message-ID
# <m<i>.TAG@test>, for i in FROM..TO (TAG defaults to "g")
gen_msgs() {
	local dir=$1 i tag=${4:-g}
	mkdir -p "$dir"
	for ((i = $2; i <= $3; i++)); do
		printf 'Date: Mon, 2 Nov 2026 10:%02d:00 +0000\nFrom: a%d@example.org\nTo: b@example.org\nSubject: message %d %s\nMessage-ID: <m%d.%s@test>\n\nBody of message %d.\nSecond line.\n' \
			$((i % 60)) "$i" "$i" "$tag" "$i" "$tag" "$i" >"$dir/m$i"
	done
}

# local_file BOX ID: the local file of the message with Message-ID <ID@test>
local_file() {
	grep -l -F "Message-ID: <$2@test>" "$LOCAL/$1"/cur/* "$LOCAL/$1"/new/* \
		2>/dev/null | head -1
}

# server_uid BOX ID: the server UID of that message
server_uid() {
	mf_harness doveadm search mailbox "$1" header message-id "$2@test" \
		2>/dev/null | awk '{print $2}' | head -1
}

# set_local_flags FILE LETTERS: rename a local message to carry the flags
set_local_flags() {
	local f=$1 base dir
	dir=$(dirname "$(dirname "$f")")
	base=$(basename "$f")
	base=${base%%:2,*}
	mv "$f" "$dir/cur/$base:2,$2"
}

# ---- what a folder holds and what a run sent (rename and move tests) ----
# no_body_fetch TRACE: no FETCH of whole messages (headers are fine)
no_body_fetch() {
	! grep -E '^C: [^ ]+ UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )])' "$1" \
		>/dev/null
}
# appends TRACE: the number of APPENDs sent
appends() {
	trace_commands "$1" | grep -c '^APPEND$'
}
# srv_boxes: the server's folder names, sorted
srv_boxes() {
	mf_harness doveadm mailbox list 2>/dev/null | LC_ALL=C sort
}
srv_has() {
	srv_boxes | grep -qxF "$1"
}
# loc_has BOX: the fs-layout local folder BOX is there (a maildir)
loc_has() {
	[ -d "$LOCAL/$1/cur" ]
}
# ids DIR: the Message-IDs of the messages of the maildir DIR, sorted
ids() {
	cat "$1"/cur/* "$1"/new/* 2>/dev/null |
		sed -n 's/\r$//; s/^Message-ID: //p' | LC_ALL=C sort
}
# want_ids FROM TO TAG: the Message-IDs gen_msgs gave, sorted
want_ids() {
	local i
	for ((i = $1; i <= $2; i++)); do echo "<m$i.$3@test>"; done |
		LC_ALL=C sort
}
# has_ids NAME DIR FROM TO TAG: DIR holds exactly those messages, once each
has_ids() {
	local got
	got=$(ids "$2")
	if [ "$got" = "$(want_ids "$3" "$4" "$5")" ]; then ok "$1"; else
		not_ok "$1"
		diff <(want_ids "$3" "$4" "$5") <(echo "$got") | head -6 |
			sed 's/^/#   /'
	fi
}
# once_in NAME ROOT FROM TO TAG BOX...: the messages FROM..TO are in the
# folders BOX... of ROOT together, each exactly once
once_in() {
	local name=$1 root=$2 from=$3 to=$4 tag=$5 got b
	shift 5
	got=$(for b in "$@"; do ids "$root/$b"; done | LC_ALL=C sort)
	if [ "$got" = "$(want_ids "$from" "$to" "$tag")" ]; then ok "$name"; else
		not_ok "$name"
		diff <(want_ids "$from" "$to" "$tag") <(echo "$got") | head -6 |
			sed 's/^/#   /'
	fi
}
