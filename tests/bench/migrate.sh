#!/usr/bin/env bash
# The migration benchmark: mailferry migrate against imapsync 2.229 and
# mbsync (Far and Near both IMAP), side by side in one run, Dovecot to
# Dovecot over IMAPS on loopback.
#
# Usage: tests/bench/migrate.sh [--n N] [--runs R] [--mailferry BIN]
#                               [--no-deps] [--keep]
#   N     messages of the generated corpus (default 2000, gen-corpus.c)
#   R     timed runs per tool (default 3), each into an emptied
#         destination; then one rerun each with nothing to copy
#
# imapsync is not in Debian: it is run from ../shared/peers/imapsync/ when
# that folder is there (with the Perl modules its SOURCE.md lists, which
# this script installs), and reported absent otherwise.  mbsync is Debian's
# isync.  Both tools read the same source server and write into the same
# destination server, emptied before each run.  Prints a Markdown table of
# wall times (median), peak RSS and the ratios mailferry / other; writes it
# to tests/bench/results/<date>-migrate-n<N>.md.  Timings vary with the
# machine: compare the tools within one run, never across runs.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$ROOT/tests/bench
HARNESS=$ROOT/tests/harness/dovecot.sh
IMAPSYNC=$ROOT/../shared/peers/imapsync/imapsync
N=2000 RUNS=3 MAILFERRY= DEPS=1 KEEP=0

die() { echo "migrate.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--n) N=${2?}; shift ;;
	--runs) RUNS=${2?}; shift ;;
	--mailferry) MAILFERRY=${2?}; shift ;;
	--no-deps) DEPS=0 ;;
	--keep) KEEP=1 ;;
	*) die "unknown option $1" ;;
	esac
	shift
done

WORK=${TMPDIR:-/tmp}/mf-bench-migrate-n$N
rm -rf "$WORK"
mkdir -p "$WORK"
chmod 755 "$WORK"
cleanup() {
	bash "$HARNESS" stop "$WORK/src" >/dev/null 2>&1
	bash "$HARNESS" stop "$WORK/dst" >/dev/null 2>&1
	((KEEP)) || rm -rf "$WORK"
}
trap cleanup EXIT

if ((DEPS)); then
	log "packages"
	pkgs=(isync time dovecot-imapd)
	[[ -x $IMAPSYNC ]] && pkgs+=(libmail-imapclient-perl
		libio-socket-ssl-perl libterm-readkey-perl
		libunicode-string-perl libdigest-hmac-perl
		libfile-copy-recursive-perl libio-tee-perl
		libencode-imaputf7-perl libreadonly-perl libsys-meminfo-perl
		libregexp-common-perl libjson-webtoken-perl
		libproc-processtable-perl libmodule-scandeps-perl
		libnet-server-perl libdata-uniqid-perl
		libcrypt-openssl-rsa-perl libhtml-parser-perl libjson-perl
		libwww-perl libfile-tail-perl libcgi-pm-perl
		libdist-checkconflicts-perl libpar-packer-perl)
	missing=()
	for p in "${pkgs[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		apt-get update >/dev/null 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			"${missing[@]}" >/dev/null 2>&1 ||
			die "apt-get install ${missing[*]} failed"
	fi
fi
if [[ -z $MAILFERRY ]]; then
	log "building mailferry (release)"
	b=$ROOT/build-bench
	[[ -f $b/build.ninja ]] || meson setup "$b" "$ROOT" \
		-Dbuildtype=release -Dtests=false >"$WORK/setup.log" 2>&1 ||
		die "meson setup failed: $WORK/setup.log"
	ninja -C "$b" >"$WORK/ninja.log" 2>&1 || die "build failed"
	MAILFERRY=$b/cmd/mailferry
fi
HAVE_IMAPSYNC=0
[[ -x $IMAPSYNC ]] && perl "$IMAPSYNC" --version >/dev/null 2>&1 &&
	HAVE_IMAPSYNC=1

log "corpus of $N messages, two servers"
cc -O2 -std=c99 -o "$WORK/gen-corpus" "$BENCH/gen-corpus.c" -lm ||
	die "cannot compile gen-corpus.c"
mkdir -p "$WORK/corpus"
"$WORK/gen-corpus" -o "$WORK/corpus" -n "$N" -s 1 \
	>"$WORK/corpus/manifest.tsv" || die "gen-corpus failed"
for s in src dst; do
	bash "$HARNESS" start "$WORK/$s" --special-use --no-watch \
		>/dev/null 2>&1 || die "harness $s failed to start"
done
# every message into its folder with its flags, a seed call per group
awk -F '\t' -v d="$WORK/lists" -v c="$WORK/corpus" 'BEGIN {
	system("mkdir -p " d) }
	{ b = $2; gsub("/", "%", b)
	  print c "/" $1 ".eml" > (d "/" b "\t" ($3 == "" ? "-" : $3)) }' \
	"$WORK/corpus/manifest.tsv"
for box in $(find "$WORK/lists" -type f -printf '%f\n' | cut -f1 | sort -u); do
	args=()
	for f in "$WORK/lists/$box"$'\t'*; do
		fl=${f##*$'\t'}
		[[ $fl == - ]] && fl=
		args+=(--flags "$fl" --files-from "$f")
	done
	bash "$HARNESS" seed "$WORK/src" "${box//%//}" "${args[@]}" \
		>/dev/null 2>&1 || die "seeding $box failed"
done
bytes=$(du -sb "$WORK/corpus" | cut -f1)

# shellcheck disable=SC1091
. "$WORK/src/env"
SRC_PORT=$MF_IMAPS_PORT SRC_USER=$MF_USER SRC_PASS=$MF_PASS SRC_CA=$MF_CA_FILE
# shellcheck disable=SC1091
. "$WORK/dst/env"
DST_PORT=$MF_IMAPS_PORT DST_USER=$MF_USER DST_PASS=$MF_PASS DST_CA=$MF_CA_FILE
DST_MAIL=$MF_MAILDIR
export MF_SRC_PW=$SRC_PASS MF_DST_PW=$DST_PASS

cat >"$WORK/mf.yaml" <<EOF
state_dir: $WORK/mf-state
accounts:
  src:
    host: localhost
    port: $SRC_PORT
    tls: implicit
    ca_file: $SRC_CA
    user: $SRC_USER
    password_env: MF_SRC_PW
  dst:
    host: localhost
    port: $DST_PORT
    tls: implicit
    ca_file: $DST_CA
    user: $DST_USER
    password_env: MF_DST_PW
EOF
(umask 077 && cat >"$WORK/mbsyncrc") <<EOF
IMAPAccount src
Host localhost
Port $SRC_PORT
User $SRC_USER
Pass $SRC_PASS
SSLType IMAPS
CertificateFile $SRC_CA

IMAPAccount dst
Host localhost
Port $DST_PORT
User $DST_USER
Pass $DST_PASS
SSLType IMAPS
CertificateFile $DST_CA

IMAPStore src
Account src

IMAPStore dst
Account dst

Channel mig
Far :src:
Near :dst:
Patterns *
Create Near
Sync Pull
Expunge None
SyncState $WORK/mbsync-state/
EOF

# empty_dst: the destination server with no mail, and no tool's state
empty_dst() {
	bash "$HARNESS" stop "$WORK/dst" --keep-runtime >/dev/null 2>&1
	find "$DST_MAIL" -mindepth 1 -delete
	bash "$HARNESS" restart "$WORK/dst" >/dev/null 2>&1 ||
		die "destination did not restart"
	rm -rf "$WORK/mf-state" "$WORK/mbsync-state"
	mkdir -p "$WORK/mbsync-state"
}

# run_tool TOOL: the copy; prints "seconds rss_kib"
run_tool() {
	local cmd
	case $1 in
	mailferry) cmd=("$MAILFERRY" -q -c "$WORK/mf.yaml" migrate src dst) ;;
	mbsync) cmd=(mbsync -q -c "$WORK/mbsyncrc" mig) ;;
	imapsync) cmd=(perl "$IMAPSYNC" --host1 localhost --port1 "$SRC_PORT"
		--ssl1 --user1 "$SRC_USER" --password1 "$SRC_PASS"
		--host2 localhost --port2 "$DST_PORT" --ssl2
		--user2 "$DST_USER" --password2 "$DST_PASS"
		--nolog --noreleasecheck --automap) ;;
	esac
	/usr/bin/time -f '%e %M' -o "$WORK/time" "${cmd[@]}" \
		>"$WORK/$1.out" 2>&1 || {
		echo "migrate.sh: $1 failed:" >&2
		tail -5 "$WORK/$1.out" >&2
	}
	cat "$WORK/time"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

tools=(mailferry mbsync)
((HAVE_IMAPSYNC)) && tools+=(imapsync)
declare -A full rerun rss
for t in "${tools[@]}"; do
	: >"$WORK/$t.times"
done
for ((r = 1; r <= RUNS; r++)); do
	# alternate the order, so that neither tool always goes first
	order=("${tools[@]}")
	((r % 2 == 0)) && order=($(printf '%s\n' "${tools[@]}" | tac))
	for t in "${order[@]}"; do
		log "run $r: $t"
		empty_dst
		run_tool "$t" >>"$WORK/$t.times"
		if ((r == RUNS)); then
			log "run $r: $t again, nothing to copy"
			run_tool "$t" >"$WORK/$t.rerun"
		fi
	done
done
for t in "${tools[@]}"; do
	full[$t]=$(cut -d' ' -f1 "$WORK/$t.times" | median)
	rss[$t]=$(cut -d' ' -f2 "$WORK/$t.times" | sort -n | tail -1)
	rerun[$t]=$(cut -d' ' -f1 "$WORK/$t.rerun")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }'; }
out=$ROOT/tests/bench/results/$(date +%Y-%m-%d)-migrate-n$N.md
{
	echo "Migration, Dovecot 2.3 to Dovecot over IMAPS on loopback," \
		"$N messages ($((bytes / 1048576)) MiB), $(nproc) CPUs," \
		"median of $RUNS runs each into an emptied destination" \
		"($(date +%Y-%m-%d))."
	echo
	echo "| tool | full migration | rerun, nothing new | peak RSS |"
	echo "|---|---|---|---|"
	for t in "${tools[@]}"; do
		echo "| $t | ${full[$t]} s | ${rerun[$t]} s | $((${rss[$t]} / 1024)) MiB |"
	done
	((HAVE_IMAPSYNC)) || echo "| imapsync | absent | | |"
	echo
	echo "mailferry / mbsync: full $(ratio "${full[mailferry]}" "${full[mbsync]}")," \
		"rerun $(ratio "${rerun[mailferry]}" "${rerun[mbsync]}")."
	((HAVE_IMAPSYNC)) &&
		echo "mailferry / imapsync: full $(ratio "${full[mailferry]}" "${full[imapsync]}")," \
			"rerun $(ratio "${rerun[mailferry]}" "${rerun[imapsync]}")."
} | tee "$out"
