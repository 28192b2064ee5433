#!/usr/bin/env bash
# mailferry against mbsync, side by side, in one run.
#
# Usage: tests/bench/run.sh [options]
#   --n N          corpus size (default 10000; 1000 is a smoke size)
#   --runs R       timed runs per tool and scenario (default 3)
#   --smoke        N=1000, 1 run, scenarios 1-4 (CI-sized: under 2 minutes)
#   --scaling      also run scenario 5 (no-op resync at 10,000 and 50,000);
#                  implied by --n 50000
#   --only "1 3"   run only these scenarios (1-7)
#   --transports "imaps"  the transports of scenario 1 (default
#                  "plain imaps tunnel"; the 200,000 run takes imaps only)
#   --latency MS   round-trip time of scenario 7 (default 50); adds 7 to
#                  the scenarios when --smoke or --only left it out
#   --work DIR     working directory (default ${TMPDIR:-/tmp}/mf-bench-nN,
#                  wiped first); --keep leaves it afterwards
#   --results DIR  where the tables go (default tests/bench/results)
#   --mailferry B  use this binary instead of building build-bench/
#   --fs loop|plain  loop (default as root): the work dir is a fresh ext4
#                  image mounted on a loop device, for steadier times;
#                  plain: a directory on whatever file system TMPDIR is
#   --no-deps      do not install missing Debian packages
#
# What it does: installs what is missing (isync, Dovecot, GNU time, a C
# compiler, mailferry's build deps), builds mailferry (release) in
# build-bench/, generates a deterministic corpus (gen-corpus.c), seeds a
# private Dovecot through tests/harness/dovecot.sh and times both tools,
# each run from the same saved state, alternating which tool goes first:
#   1  initial pull into an empty Maildir: plain, IMAPS, tunnel; plus the
#      physical limit: a pipelined UID FETCH 1:* (BODY.PEEK[]) of every
#      folder into a pipe, and cp -r of the server's maildir then sync
#   2  no-op resync (IMAPS)
#   3  resync after the server changed flags on 1% and got 100 new messages
#   4  resync after the local side changed flags on 1%, deleted 50, added 50
#   5  no-op resync at the other of 10,000 / 50,000 (--scaling, --n 50000)
#   6  one 50 MB message: pull, then push of another one (peak RSS)
#   7  scenarios 1 (IMAPS) to 4 again through delay-relay.c, a relay that
#      delays every chunk by half the --latency round trip (default
#      50 ms); also counts the client's round trips per run
# For each: wall time, user+sys CPU, peak RSS (GNU time), bytes from and to
# the server (Dovecot's in=/out= per session), and the ratio
# mailferry/mbsync per pair of runs.  Prints a Markdown table and writes
# RESULTS/<date>-n<N>.md, .tsv (summary) and -runs.tsv (every run).
# See tests/bench/README.md.

# The small sh -c scripts below take their values as arguments on purpose.
# shellcheck disable=SC2016
set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
HARNESS=$ROOT/tests/harness/dovecot.sh

N=10000
RUNS=3
SCALING=0
ONLY="1 2 3 4 5 6 7"
LATENCY=50		# round trip of scenario 7, ms
LATENCY_GIVEN=0
RELAY_PID=		# the delay relay of scenario 7, when running
RELAY_PORT=
RELAY_STATS=		# its per-connection lines (bursts = round trips)
TRANSPORTS="plain imaps tunnel"	# of scenario 1 (--transports)
TRANSPORT=imaps		# of the resyncs: imaps, or imaps-<RTT>ms (7)
WORK=
KEEP=0
RESULTS=$BENCH/results
MAILFERRY=
DEPS=1
SMOKE=0
FS=auto
ONLY_GIVEN=0
LOOP_IMG=		# the ext4 image mounted on $WORK, when --fs loop

SERVERS=()		# harness dirs started, stopped at exit
RUNS_TSV=		# every timed run
SUMMARY_TSV=		# the summary, for the targets
STARTED=$SECONDS

# ---------------------------------------------------------------------
# Small helpers

log()
{
	printf '[%4ds] %s\n' "$((SECONDS - STARTED))" "$*" >&2
}

die()
{
	log "error: $*"
	exit 1
}

usage()
{
	sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

parse_args()
{
	while (($# > 0)); do
		case $1 in
		--n) N=${2:?}; shift ;;
		--runs) RUNS=${2:?}; shift ;;
		--smoke) SMOKE=1 ;;
		--scaling) SCALING=1 ;;
		--only) ONLY=${2:?} ONLY_GIVEN=1; shift ;;
		--transports) TRANSPORTS=${2:?}; shift ;;
		--latency) LATENCY=${2:?} LATENCY_GIVEN=1; shift ;;
		--work) WORK=${2:?}; shift ;;
		--keep) KEEP=1 ;;
		--results) RESULTS=${2:?}; shift ;;
		--mailferry) MAILFERRY=${2:?}; shift ;;
		--no-deps) DEPS=0 ;;
		--fs) FS=${2:?}; shift ;;
		-h | --help) usage ;;
		*) echo "run.sh: unknown option $1" >&2; usage ;;
		esac
		shift
	done
	if ((SMOKE)); then
		N=1000 RUNS=1 ONLY="1 2 3 4"
	fi
	[[ $N =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ ]] ||
		die "--n and --runs take positive numbers"
	# the relay delays each way by half the round trip, in whole ms
	if [[ ! $LATENCY =~ ^[1-9][0-9]*$ ]] || ((LATENCY % 2)); then
		die "--latency takes an even number of milliseconds"
	fi
	((LATENCY_GIVEN)) && ! want 7 && ONLY+=" 7"
	((N >= 1000)) || die "--n must be at least 1000"
	local t
	for t in $TRANSPORTS; do
		[[ $t == plain || $t == imaps || $t == tunnel ]] ||
			die "--transports takes plain, imaps and tunnel"
	done
	((N == 50000)) && SCALING=1
	((SCALING)) || ONLY=${ONLY//5/}
	WORK=${WORK:-${TMPDIR:-/tmp}/mf-bench-n$N}
}

want()
{
	[[ " $ONLY " == *" $1 "* ]]
}

harness()
{
	bash "$HARNESS" "$@"
}

# srv_env DIR: the harness variables of the server in DIR, exported
srv_env()
{
	# shellcheck disable=SC1091
	. "$1/env" || die "no server in $1"
}

cleanup()
{
	local d

	relay_stop
	for d in "${SERVERS[@]}"; do
		harness stop "$d" >/dev/null 2>&1
	done
	((KEEP)) && return 0
	if [[ -n $LOOP_IMG ]]; then
		umount "$WORK" && rm -f "$LOOP_IMG" && rmdir "$WORK"
	elif [[ -n $WORK && -d $WORK ]]; then
		rm -rf -- "$WORK"
	fi
}

# setup_work: a fresh, empty $WORK.  With --fs loop (the default as root)
# it is a new ext4 file system in a sparse image: on the virtual machines
# we measured on, the root file system (ext4 with online discard) made the
# same cp -r cost anywhere from 1x to 8x the CPU time depending on what
# had been deleted before; a file system of our own does not carry that
# history.  fsync still reaches the disk (the loop device flushes to its
# backing file).
setup_work()
{
	local size

	[[ -z $WORK || $WORK == / ]] && die "bad --work"
	if mountpoint -q "$WORK" 2>/dev/null; then
		umount "$WORK" || die "$WORK is mounted and busy"
	fi
	rm -rf -- "$WORK" "$WORK.img"
	mkdir -p "$WORK" || die "cannot create $WORK"
	if [[ $FS == auto ]]; then
		FS=plain
		((EUID == 0)) && command -v mkfs.ext4 >/dev/null 2>&1 &&
			FS=loop
	fi
	if [[ $FS == loop ]]; then
		# room for the corpus, the server, two local copies and more
		size=$((N * 300 / 1024 + 4096))
		if ! truncate -s "${size}M" "$WORK.img" ||
			! mkfs.ext4 -q -F -i 32768 -E \
			lazy_itable_init=0,lazy_journal_init=0 "$WORK.img" ||
			! mount -o loop "$WORK.img" "$WORK"; then
			die "cannot make a loop file system (try --fs plain)"
		fi
		LOOP_IMG=$WORK.img
	elif [[ $FS != plain ]]; then
		die "--fs takes loop or plain"
	fi
	# the server's mail user must reach it (see tests/README.md)
	chmod 755 "$WORK"
}

# ---------------------------------------------------------------------
# Setup: packages, mailferry, the corpus generator

install_deps()
{
	((DEPS)) || return 0
	# shellcheck source=/dev/null
	. "$ROOT/tests/harness/deps.sh"
	mf_deps_install isync dovecot-core dovecot-imapd time openssl \
		gcc libc6-dev meson ninja-build pkg-config libsqlite3-dev \
		libssl-dev libyaml-dev zlib1g-dev perl ||
		die "could not install the packages"
}

build_mailferry()
{
	local b=$ROOT/build-bench

	if [[ -n $MAILFERRY ]]; then
		[[ -x $MAILFERRY ]] || die "$MAILFERRY is not executable"
		return 0
	fi
	if [[ ! -f $b/build.ninja ]]; then
		meson setup "$b" "$ROOT" -Dbuildtype=release -Dtests=false \
			>"$WORK/meson-setup.log" 2>&1 ||
			die "meson setup failed: see $WORK/meson-setup.log"
	fi
	ninja -C "$b" >"$WORK/ninja.log" 2>&1 ||
		die "build failed: see $WORK/ninja.log"
	MAILFERRY=$b/cmd/mailferry
}

build_gen()
{
	cc -O2 -std=c99 -o "$WORK/gen-corpus" "$BENCH/gen-corpus.c" -lm ||
		die "cannot compile gen-corpus.c"
}

build_relay()
{
	cc -O2 -std=c11 -o "$WORK/delay-relay" "$BENCH/delay-relay.c" ||
		die "cannot compile delay-relay.c"
}

# gen DIR COUNT FIRST [extra args]: messages FIRST.. into DIR/*.eml,
# manifest DIR/manifest.tsv
gen()
{
	local dir=$1 count=$2 first=$3

	shift 3
	mkdir -p "$dir"
	"$WORK/gen-corpus" -o "$dir" -n "$count" -s "$first" "$@" \
		>"$dir/manifest.tsv" || die "gen-corpus failed"
}

# ---------------------------------------------------------------------
# Servers and saved states

# server_start NAME: a harness server in $WORK/NAME
server_start()
{
	local dir=$WORK/$1

	harness start "$dir" --watch "$$" >/dev/null ||
		die "cannot start Dovecot in $dir"
	SERVERS+=("$dir")
}

# seed_corpus SRVDIR CORPUSDIR: every message of the manifest into its
# folder with its flags (grouped by folder and flags: one seed call per
# folder, messages in ascending order within a flag group)
seed_corpus()
{
	local srv=$1 corpus=$2 lists=$2/lists box f fl
	local -a args

	rm -rf "$lists"
	mkdir -p "$lists"
	awk -F '\t' -v d="$lists" -v c="$corpus" '{
		b = $2; gsub("/", "%", b)
		print c "/" $1 ".eml" > (d "/" b "\t" ($3 == "" ? "-" : $3))
	}' "$corpus/manifest.tsv"
	for box in $(find "$lists" -type f -printf '%f\n' | cut -f1 |
		sort -u); do
		args=()
		for f in "$lists/$box"$'\t'*; do
			fl=${f##*$'\t'}
			[[ $fl == - ]] && fl=
			args+=(--flags "$fl" --files-from "$f")
		done
		harness seed "$srv" "${box//%//}" "${args[@]}" 2>/dev/null ||
			die "seeding $box failed"
	done
}

# server_warm SRVDIR: what a server in use has: indexes and the sizes and
# dates cached, so that neither tool pays for the first look at a file
server_warm()
{
	harness doveadm "$1" fetch \
		'uid flags size.virtual size.physical date.received' \
		mailbox '*' >/dev/null ||
		die "warming the indexes failed"
}

# server_save SRVDIR SNAP: the server's mail (with indexes) into SNAP
server_save()
{
	local srv=$1 snap=$2

	srv_env "$srv"
	harness stop "$srv" --keep-runtime >/dev/null
	rm -rf "$snap"
	perl "$BENCH/treecopy.pl" "$MF_MAILDIR" "$snap" ||
		die "saving the server failed"
	harness restart "$srv" >/dev/null || die "cannot restart $srv"
}

# server_restore SRVDIR SNAP: back to a saved state, with the server
# stopped meanwhile (no process keeps an index in memory)
server_restore()
{
	local srv=$1 snap=$2

	srv_env "$srv"
	harness stop "$srv" --keep-runtime >/dev/null
	rm -rf "$MF_MAILDIR"
	perl "$BENCH/treecopy.pl" "$snap" "$MF_MAILDIR" ||
		die "restoring the server failed"
	harness restart "$srv" >/dev/null || die "cannot restart $srv"
}

# local_dir TOOL: the tool's local maildir and state live under here
local_dir()
{
	printf '%s\n' "$WORK/$1"
}

local_clean()
{
	local d

	d=$(local_dir "$1")
	rm -rf "$d/Maildir" "$d/state"
	mkdir -p "$d/Maildir" "$d/state"
}

local_save()
{
	local d

	d=$(local_dir "$1")
	rm -rf "$2"
	mkdir -p "$2"
	if ! perl "$BENCH/treecopy.pl" "$d/Maildir" "$2/Maildir" ||
		! perl "$BENCH/treecopy.pl" "$d/state" "$2/state"; then
		die "saving the local side of $1 failed"
	fi
}

local_restore()
{
	local d

	d=$(local_dir "$1")
	rm -rf "$d/Maildir" "$d/state"
	if ! perl "$BENCH/treecopy.pl" "$2/Maildir" "$d/Maildir" ||
		! perl "$BENCH/treecopy.pl" "$2/state" "$d/state"; then
		die "restoring the local side of $1 failed"
	fi
}

# count_msgs DIR: message files under DIR
count_msgs()
{
	find "$1" \( -path '*/cur/*' -o -path '*/new/*' \) -type f | wc -l
}

# ---------------------------------------------------------------------
# The two tools' configurations (equivalent: both directions, all
# folders, creation and expunge on both sides, fsync on)

# write_configs SRVDIR TRANSPORT: $WORK/{mbsync,mailferry}/config
write_configs()
{
	local srv=$1 transport=$2 mb mf mbacct mfacct port

	srv_env "$srv"
	mb=$(local_dir mbsync)
	mf=$(local_dir mailferry)
	mkdir -p "$mb" "$mf"
	case $transport in
	plain)
		mbacct="Host localhost
Port $MF_IMAP_PORT
User $MF_USER
Pass $MF_PASS
SSLType None"
		mfacct="host: localhost
    port: $MF_IMAP_PORT
    tls: none
    allow_insecure: true
    user: $MF_USER
    password_env: MF_BENCH_PW" ;;
	imaps | imaps-*ms)
		port=$MF_IMAPS_PORT
		[[ $transport == imaps ]] || port=${RELAY_PORT:?no relay}
		mbacct="Host localhost
Port $port
User $MF_USER
Pass $MF_PASS
SSLType IMAPS
CertificateFile $MF_CA_FILE"
		mfacct="host: localhost
    port: $port
    tls: implicit
    ca_file: $MF_CA_FILE
    user: $MF_USER
    password_env: MF_BENCH_PW" ;;
	tunnel)
		mbacct="Tunnel \"sh $BENCH/tunnel.sh $srv\""
		mfacct="tunnel: \"sh $BENCH/tunnel.sh $srv\"" ;;
	*) die "unknown transport $transport" ;;
	esac
	export MF_BENCH_PW=$MF_PASS
	(umask 077 && cat >"$mb/config") <<EOF
FSync yes

IMAPAccount far
$mbacct

IMAPStore far
Account far

MaildirStore near
Path $mb/Maildir/
Inbox $mb/Maildir/INBOX
SubFolders Verbatim

Channel bench
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
Sync All
SyncState *
EOF
	cat >"$mf/config" <<EOF
state_dir: $mf/state
accounts:
  far:
    $mfacct
stores:
  near:
    maildir: $mf/Maildir
    layout: fs
    fsync: true
channels:
  bench:
    far: far
    near: near
    folders: ["*"]
    sync: [pull, push]
    create: both
    expunge: both
EOF
}

# tool_cmd TOOL: the command line that syncs everything
tool_cmd()
{
	case $1 in
	mbsync) printf '%s\0' mbsync -q -c "$(local_dir mbsync)/config" -a ;;
	mailferry) printf '%s\0' ${MF_BENCH_WRAP:-} "$MAILFERRY" -q -c \
		"$(local_dir mailferry)/config" sync ;;
	esac
}

# ---------------------------------------------------------------------
# Measuring

# measure SCEN TRANSPORT TOOL RUN SRVDIR OKCMD -- COMMAND...: times
# COMMAND, reads the server's traffic for it, runs OKCMD (a function name
# or ":") to check the result, appends one line to $RUNS_TSV
measure()
{
	local scen=$1 transport=$2 tool=$3 run=$4 srv=$5 okcmd=$6
	local mark tf rc wall user sys rss traffic in out ok=1 rmark rt=-

	shift 7
	tf=$WORK/time.out
	mark=$(harness logmark "$srv")
	[[ $transport == imaps-*ms ]] && rmark=$(relay_mark)
	sync
	/usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" \
		>>"$WORK/tools.log" 2>&1
	rc=$?
	[[ $transport == imaps-*ms ]] && rt=$(relay_round_trips "$rmark")
	read -r wall user sys rss < <(tail -n 1 "$tf")
	traffic=$(harness traffic "$srv" --since "$mark")
	in=${traffic#*in=}
	in=${in%% *}
	out=${traffic#*out=}
	out=${out%% *}
	if ((rc != 0)); then
		ok=0
		log "$scen $transport $tool run $run: exit $rc (see" \
			"$WORK/tools.log)"
	elif [[ $okcmd != : ]] && ! "$okcmd" "$tool"; then
		ok=0
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$scen" "$transport" "$tool" "$run" "$wall" "$user" "$sys" \
		"$rss" "$out" "$in" "$ok" "$rt" >>"$RUNS_TSV"
	log "$scen $transport $tool run $run: ${wall}s cpu" \
		"$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')s" \
		"rss $((rss / 1024))M from server $out round trips $rt"
}

# ---------------------------------------------------------------------
# The delay relay (scenario 7)

# relay_start SRVDIR: delay-relay in front of the server's IMAPS port,
# listening on a port the kernel picks (printed on its stdout)
relay_start()
{
	local i

	srv_env "$1"
	RELAY_STATS=$WORK/relay-stats.txt
	: >"$RELAY_STATS"
	rm -f "$WORK/relay.port"
	"$WORK/delay-relay" -u "$MF_IMAPS_PORT" -d $((LATENCY / 2)) \
		-s "$RELAY_STATS" >"$WORK/relay.port" 2>>"$WORK/relay.log" &
	RELAY_PID=$!
	for ((i = 0; i < 50; i++)); do
		RELAY_PORT=$(head -n 1 "$WORK/relay.port" 2>/dev/null)
		[[ -n $RELAY_PORT ]] && return 0
		sleep 0.1
	done
	die "delay-relay did not start (see $WORK/relay.log)"
}

relay_stop()
{
	[[ -n $RELAY_PID ]] || return 0
	kill -TERM "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID='' RELAY_PORT=''
}

# relay_mark: the number of connections the relay has reported so far
relay_mark()
{
	wc -l <"$RELAY_STATS"
}

# relay_round_trips MARK: the client's round trips (bursts) summed over
# the connections that ended after MARK.  The relay reports a connection
# once both directions are drained, up to one delay after the client
# exited: wait for a report, then one round trip more for any other.
relay_round_trips()
{
	local i

	for ((i = 0; i < 50; i++)); do
		(($(relay_mark) > $1)) && break
		sleep 0.02
	done
	sleep "$(awk -v l="$LATENCY" 'BEGIN { print l / 1000 }')"
	tail -n +$(($1 + 1)) "$RELAY_STATS" |
		sed -n 's/.* bursts=\([0-9]*\).*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

# order RUN: the two tools, alternating which goes first
order()
{
	if (($1 % 2)); then
		echo mbsync mailferry
	else
		echo mailferry mbsync
	fi
}

# expect_local TOOL COUNT (via EXPECT): the tool's maildir has COUNT
# messages
EXPECT=0
expect_local()
{
	local got

	got=$(count_msgs "$(local_dir "$1")/Maildir")
	((got == EXPECT)) && return 0
	log "$1: $got messages in the local maildir, expected $EXPECT"
	return 1
}

expect_both()
{
	local got

	expect_local "$1" || return 1
	got=$(count_msgs "$MF_MAILDIR")
	((got == EXPECT)) && return 0
	log "$1: $got messages on the server, expected $EXPECT"
	return 1
}

# settle: two seconds without changes before a resync.  mbsync sleeps a
# second when a maildir directory changed within the current second, and
# mailferry rescans a directory changed within the last two seconds (both
# to be sure of their scan); a real cron run comes long after the last
# change.
settle()
{
	sleep 2.1
}

# ---------------------------------------------------------------------
# The physical limit

# folders SRVDIR: the server's folders, one a line
folders()
{
	harness doveadm "$1" mailbox list | sort
}

# fetch_script SRVDIR LOGIN: pipelined commands fetching every message
fetch_script()
{
	local srv=$1 login=$2 box i=0

	srv_env "$srv"
	if ((login)); then
		printf 'l LOGIN "%s" "%s"\r\n' "$MF_USER" "$MF_PASS"
	fi
	while IFS= read -r box; do
		i=$((i + 1))
		printf 's%d EXAMINE "%s"\r\nf%d UID FETCH 1:* (BODY.PEEK[])\r\n' \
			"$i" "$box" "$i"
	done < <(folders "$srv")
	printf 'z LOGOUT\r\n'
}

# fetch_ok: the raw fetch read up to the tagged LOGOUT reply
fetch_ok()
{
	grep -q '^z OK' "$WORK/fetch.tail" && return 0
	log "raw fetch did not complete"
	return 1
}

limit_fetch()
{
	local srv=$1 transport=$2 run=$3 script=$WORK/fetch.cmds

	srv_env "$srv"
	case $transport in
	plain)
		fetch_script "$srv" 1 >"$script"
		measure 1-pull "$transport" fetch "$run" "$srv" fetch_ok -- \
			bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
				cat "$2" >&3
				tail -c 200 <&3 >"$3"' \
			sh "$MF_IMAP_PORT" "$script" "$WORK/fetch.tail" ;;
	imaps)
		fetch_script "$srv" 1 >"$script"
		# -quiet implies -ign_eof: reads until the server closes
		measure 1-pull "$transport" fetch "$run" "$srv" fetch_ok -- \
			sh -c 'openssl s_client -quiet -verify_return_error \
				-CAfile "$1" -connect "127.0.0.1:$2" \
				<"$3" 2>/dev/null | tail -c 200 >"$4"' \
			sh "$MF_CA_FILE" "$MF_IMAPS_PORT" "$script" \
			"$WORK/fetch.tail" ;;
	tunnel)
		fetch_script "$srv" 0 >"$script"
		# stdin stays open until the server has answered LOGOUT
		measure 1-pull "$transport" fetch "$run" "$srv" fetch_ok -- \
			bash -c 'exec 3< <(cat "$2"; exec sleep 3600)
				pid=$!
				sh "$1/tunnel.sh" "$3" <&3 3<&- |
					tail -c 200 >"$4"
				kill "$pid"' \
			sh "$BENCH" "$script" "$srv" "$WORK/fetch.tail" ;;
	esac
}

limit_copy()
{
	local srv=$1 run=$2

	srv_env "$srv"
	rm -rf "$WORK/copy"
	sync
	measure 1-pull copy copy "$run" "$srv" : -- \
		sh -c 'cp -r "$1" "$2" && sync' sh "$MF_MAILDIR" "$WORK/copy"
	rm -rf "$WORK/copy"
}

# ---------------------------------------------------------------------
# Scenarios

MAIN=		# the main server's dir
PRISTINE=	# its saved state after seeding

setup_main()
{
	log "generating $N messages"
	gen "$WORK/corpus" "$N" 1
	log "corpus: $(du -sh "$WORK/corpus" | cut -f1);" \
		"seeding the server"
	server_start main
	MAIN=$WORK/main
	seed_corpus "$MAIN" "$WORK/corpus"
	server_warm "$MAIN"
	PRISTINE=$WORK/pristine
	server_save "$MAIN" "$PRISTINE"
	log "server ready: $(count_msgs "$PRISTINE") messages in" \
		"$(folders "$MAIN" | wc -l) folders"
}

# pulls TRANSPORT LIMIT: the initial pull, both tools, RUNS times; with
# LIMIT 1 also the raw fetch of each run
pulls()
{
	local transport=$1 limit=$2 run tool

	EXPECT=$N
	write_configs "$MAIN" "$transport"
	for ((run = 1; run <= RUNS; run++)); do
		for tool in $(order "$run"); do
			server_restore "$MAIN" "$PRISTINE"
			local_clean "$tool"
			mapfile -d '' -t cmd < <(tool_cmd "$tool")
			measure 1-pull "$transport" "$tool" "$run" \
				"$MAIN" expect_local -- "${cmd[@]}"
		done
		((limit)) && limit_fetch "$MAIN" "$transport" "$run"
	done
}

scenario_1()
{
	local transport run

	for transport in $TRANSPORTS; do
		pulls "$transport" 1
	done
	for ((run = 1; run <= RUNS; run++)); do
		limit_copy "$MAIN" "$run"
	done
}

# base_pulls SRVDIR SNAP PREFIX: for each tool, a pull from SNAP (not
# timed) saved as PREFIX-TOOL.{srv,local}: where resyncs start from
base_pulls()
{
	local srv=$1 snap=$2 prefix=$3 tool

	write_configs "$srv" imaps
	for tool in mbsync mailferry; do
		[[ -d $prefix-$tool.srv ]] && continue
		log "base state for $tool (untimed pull)"
		server_restore "$srv" "$snap"
		local_clean "$tool"
		mapfile -d '' -t cmd < <(tool_cmd "$tool")
		"${cmd[@]}" >>"$WORK/tools.log" 2>&1 ||
			die "$tool failed its untimed pull (see $WORK/tools.log)"
		server_save "$srv" "$prefix-$tool.srv"
		local_save "$tool" "$prefix-$tool.local"
	done
}

# resync SCEN SRVDIR PREFIX CHANGE OKCMD: every run starts from the tool's
# base state and an untimed no-op sync (the previous cron run: a restored
# copy has new directory inodes, and mailferry rightly rescans a maildir
# whose directories it does not recognise), then CHANGE TOOL (a function,
# or ":") alters it, then the timed resync
resync()
{
	local scen=$1 srv=$2 prefix=$3 change=$4 okcmd=$5 run tool

	base_pulls "$srv" "$PRISTINE_OF_BASE" "$prefix"
	write_configs "$srv" "$TRANSPORT"
	for ((run = 1; run <= RUNS; run++)); do
		for tool in $(order "$run"); do
			server_restore "$srv" "$prefix-$tool.srv"
			local_restore "$tool" "$prefix-$tool.local"
			mapfile -d '' -t cmd < <(tool_cmd "$tool")
			"${cmd[@]}" >>"$WORK/tools.log" 2>&1 ||
				die "$scen: $tool failed its untimed no-op"
			if [[ $change != : ]] && ! "$change" "$tool"; then
				die "$scen: preparing the run for $tool failed"
			fi
			settle
			mapfile -d '' -t cmd < <(tool_cmd "$tool")
			measure "$scen" "$TRANSPORT" "$tool" "$run" "$srv" \
				"$okcmd" -- "${cmd[@]}"
		done
	done
}

PRISTINE_OF_BASE=

scenario_2()
{
	EXPECT=$N
	PRISTINE_OF_BASE=$PRISTINE
	resync 2-noop "$MAIN" "$WORK/base" : expect_local
}

# Server side: flags on 1% (every 100th UID of each folder: half get
# \Flagged, half lose \Seen) and 100 new messages in INBOX (new/, as
# delivered), indexed before the timed run like a delivery would.
server_changes()
{
	local box count uid add rem

	srv_env "$MAIN"
	while IFS=$'\t' read -r box count; do
		add='' rem=''
		for ((uid = 50; uid <= count; uid += 100)); do
			if (((uid / 100) % 2)); then
				rem+=${rem:+,}$uid
			else
				add+=${add:+,}$uid
			fi
		done
		if [[ -n $add ]]; then
			harness doveadm "$MAIN" flags add '\Flagged' \
				mailbox "$box" uid "$add" || return 1
		fi
		if [[ -n $rem ]]; then
			harness doveadm "$MAIN" flags remove '\Seen' \
				mailbox "$box" uid "$rem" || return 1
		fi
	done < <(cut -f2 "$WORK/corpus/manifest.tsv" | sort | uniq -c |
		awk '{ print $2 "\t" $1 }')
	harness seed "$MAIN" INBOX --new \
		--files-from <(ls "$WORK/new100"/*.eml) 2>/dev/null || return 1
	harness doveadm "$MAIN" mailbox status messages INBOX >/dev/null
}

scenario_3()
{
	local changed

	[[ -d $WORK/new100 ]] || gen "$WORK/new100" 100 $((N + 1))
	changed=$(awk -F '\t' '{ c[$2]++ } END {
		for (b in c) n += int((c[b] + 50) / 100); print n }' \
		"$WORK/corpus/manifest.tsv")
	log "scenario 3: flags change on $changed messages, 100 new"
	EXPECT=$((N + 100))
	PRISTINE_OF_BASE=$PRISTINE
	resync 3-server-change "$MAIN" "$WORK/base" server_changes \
		expect_local
}

# Local side: the files of messages i % 100 == 37 change flags (even
# hundreds get F, odd ones lose S), the first 50 messages with
# i % 17 == 3 are deleted, 50 new ones appear in Sent/cur (as a mail
# program saves what it sent).  Messages are found by the number in their
# Message-ID, so both tools lose and change the same ones whatever their
# file names.
local_changes()
{
	local tool=$1 dir f i base flags info sub k=0

	dir=$(local_dir "$tool")/Maildir
	find "$dir" \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-print0 | xargs -0 grep -m1 -H '^Message-ID: <' |
		sed -n 's/^\(.*\):Message-ID: <\([0-9]*\)\..*/\2\t\1/p' |
		sort -n >"$WORK/local-index.tsv"
	while IFS=$'\t' read -r i f; do
		if ((i % 100 == 37)); then
			base=${f##*/}
			sub=${f%/*}
			info=
			[[ $base == *:2,* ]] && info=${base##*:2,}
			base=${base%%:2,*}
			if (((i / 100) % 2 == 0)); then
				flags=$(printf '%s\n' "${info}F" | fold -w1 |
					sort -u | tr -d '\n')
			else
				flags=${info//S/}
			fi
			[[ $f == "${sub%/*}/cur/$base:2,$flags" ]] ||
				mv "$f" "${sub%/*}/cur/$base:2,$flags" || return 1
		elif ((i % 17 == 3 && k < 50)); then
			rm -f "$f" || return 1
			k=$((k + 1))
		fi
	done <"$WORK/local-index.tsv"
	mkdir -p "$dir/Sent/cur"
	i=0
	for f in "$WORK/new50"/*.eml; do
		i=$((i + 1))
		cp "$f" "$dir/Sent/cur/1795000000.M${i}P1.bench:2,S" || return 1
	done
}

scenario_4()
{
	[[ -d $WORK/new50 ]] || gen "$WORK/new50" 50 $((N + 1001))
	EXPECT=$N
	PRISTINE_OF_BASE=$PRISTINE
	resync 4-local-change "$MAIN" "$WORK/base" local_changes expect_both
}

scenario_5()
{
	local other save_n=$N

	if ((N == 10000)); then other=50000; else other=10000; fi
	if ((N != 10000 && N != 50000)); then
		log "scenario 5 is the no-op at 10,000 and 50,000:" \
			"scenario 2 (N=$N) plus N=10000 here"
		other=10000
	fi
	log "scenario 5: a second server with $other messages"
	gen "$WORK/corpus5" "$other" 1
	server_start scale
	seed_corpus "$WORK/scale" "$WORK/corpus5"
	server_warm "$WORK/scale"
	server_save "$WORK/scale" "$WORK/pristine5"
	rm -rf "$WORK/corpus5"
	N=$other
	EXPECT=$other
	PRISTINE_OF_BASE=$WORK/pristine5
	resync "5-noop-n$other" "$WORK/scale" "$WORK/base5" : expect_local
	N=$save_n
	harness stop "$WORK/scale" >/dev/null
	rm -rf "$WORK/pristine5" "$WORK"/base5-*
}

# 6: one 50 MB message (50,000,000 bytes of base64) pulled into an empty
# maildir; then, from that state, another such message pushed
big_push()
{
	local d

	d=$(local_dir "$1")/Maildir/INBOX/cur
	cp "$WORK/big2/2.eml" "$d/1795000000.M1P1.bench:2,S"
}

scenario_6()
{
	local run tool big=$WORK/big

	gen "$WORK/big1" 1 1 -b 50
	gen "$WORK/big2" 1 2 -b 50
	server_start big
	harness seed "$big" INBOX --flags S "$WORK/big1/1.eml" 2>/dev/null ||
		die "seeding the big message failed"
	server_warm "$big"
	server_save "$big" "$WORK/pristine6"
	write_configs "$big" imaps
	EXPECT=1
	for ((run = 1; run <= RUNS; run++)); do
		for tool in $(order "$run"); do
			server_restore "$big" "$WORK/pristine6"
			local_clean "$tool"
			mapfile -d '' -t cmd < <(tool_cmd "$tool")
			measure 6-pull-50MB imaps "$tool" "$run" "$big" \
				expect_local -- "${cmd[@]}"
		done
	done
	EXPECT=2
	PRISTINE_OF_BASE=$WORK/pristine6
	resync 6-push-50MB "$big" "$WORK/base6" big_push expect_both
	harness stop "$big" >/dev/null
}

# 7: scenarios 1 (IMAPS only, without the raw fetch) to 4 through the
# delay relay: a link with LATENCY ms round trips.  The base states of
# 2-4 are the same as there (pulled without the relay, untimed).
scenario_7()
{
	relay_start "$MAIN"
	log "scenario 7: delay-relay on port $RELAY_PORT, $LATENCY ms" \
		"round trips"
	TRANSPORT=imaps-${LATENCY}ms
	pulls "$TRANSPORT" 0
	scenario_2
	scenario_3
	scenario_4
	TRANSPORT=imaps
	relay_stop
}

# ---------------------------------------------------------------------
# Report

report()
{
	local stamp md tsv

	# a partial run (--only) does not overwrite the day's full one
	stamp=$(date +%Y-%m-%d)
	((LATENCY_GIVEN)) && stamp+=-latency
	[[ $ONLY_GIVEN == 1 ]] && stamp+=-s$(tr -dc '0-9' <<<"$ONLY")
	mkdir -p "$RESULTS"
	md=$RESULTS/$stamp-n$N.md
	tsv=$RESULTS/$stamp-n$N.tsv
	SUMMARY_TSV=$tsv
	cp "$RUNS_TSV" "$RESULTS/$stamp-n$N-runs.tsv"
	awk -v fmt=tsv -f "$BENCH/summarize.awk" "$RUNS_TSV" >"$tsv"
	{
		echo "# mailferry vs mbsync, N=$N, $RUNS run(s) each"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
			"$(uname -r), mailferry $(git -C "$ROOT" describe \
			--always --dirty 2>/dev/null || echo '?')," \
			"$(mbsync --version 2>/dev/null | head -1)," \
			"Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1)." \
			"Corpus: $(du -sh "$PRISTINE" 2>/dev/null | cut -f1) on" \
			"the server.  Medians, (min-max) when runs differ;" \
			"ratios are per pair of runs."
		echo
		awk -v fmt=md -f "$BENCH/summarize.awk" "$RUNS_TSV"
		echo
		round_trips
		targets
	} >"$md"
	cat "$md"
	log "written: $md, $tsv, $RESULTS/$stamp-n$N-runs.tsv"
}

# round_trips: the client's round trips per run through the relay
# (column 12 of the runs), when scenario 7 ran
round_trips()
{
	awk -F '\t' -v lat="$LATENCY" '
		NR == 1 || $12 == "-" || $12 == "" { next }
		{
			k = $1 "\t" $2 "\t" $3
			if (!(k in n))
				ord[++m] = k
			v[k] = n[k]++ ? v[k] ", " $12 : $12
		}
		END {
			if (!m)
				exit
			print "## Round trips over the relay (" lat " ms each)"
			print ""
			print "Client bursts per run (a burst: what the client" \
				" sent after it last heard from the server;" \
				" TLS handshake and login included)."
			print ""
			print "| scenario | transport | tool | round trips |"
			print "|---|---|---|---|"
			for (i = 1; i <= m; i++) {
				split(ord[i], f, "\t")
				print "| " f[1] " | " f[2] " | " f[3] " | " \
					v[ord[i]] " |"
			}
			print ""
		}' "$RUNS_TSV"
}

# med SCEN TRANSPORT TOOL FIELD: a median from the summary TSV
med()
{
	awk -F '\t' -v s="$1" -v t="$2" -v o="$3" -v f="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == s && $2 == t && $3 == o { print $col[f]; exit }' \
		"$SUMMARY_TSV"
}

targets()
{
	local r lim f c t noop_a noop_b

	echo "## Targets"
	echo
	r=$(med 1-pull imaps mailferry ratio_wall_med)
	[[ -n $r ]] && printf -- '- initial pull (IMAPS), mailferry/mbsync' \
		&& printf ' wall: %.2f (target <= 0.6)\n' "$r"
	c=$(med 1-pull copy copy wall_med)
	for t in plain imaps tunnel; do
		f=$(med 1-pull "$t" fetch wall_med)
		r=$(med 1-pull "$t" mailferry wall_med)
		[[ -n $f && -n $c && -n $r ]] || continue
		lim=$(awk -v f="$f" -v c="$c" 'BEGIN { print f + c }')
		printf -- '- initial pull (%s): mailferry %.2f s, limit %.2f s' \
			"$t" "$r" "$lim"
		printf ' (raw FETCH %.2f + copy %.2f): %.2fx (target <= 1.3)\n' \
			"$f" "$c" "$(awk -v r="$r" -v l="$lim" \
			'BEGIN { print r / l }')"
	done
	r=$(med 2-noop imaps mailferry ratio_wall_med)
	[[ -n $r ]] && printf -- '- no-op resync at N=%d, mailferry/mbsync' \
		"$N" && printf ' wall: %.2f (target <= 0.1 at N=50000)\n' "$r"
	for t in 10000 50000; do
		[[ $t == "$N" ]] && continue
		noop_a=$(med 2-noop imaps mailferry wall_med)
		noop_b=$(med "5-noop-n$t" imaps mailferry wall_med)
		[[ -n $noop_a && -n $noop_b ]] || continue
		printf -- '- no-op growth, mailferry: %.3f s at N=%d, %.3f s' \
			"$noop_a" "$N" "$noop_b"
		printf ' at N=%d; mbsync: %.3f s, %.3f s\n' "$t" \
			"$(med 2-noop imaps mbsync wall_med)" \
			"$(med "5-noop-n$t" imaps mbsync wall_med)"
	done
	r=$(med 3-server-change imaps mailferry from_server_med)
	if [[ -n $r ]]; then
		printf -- '- server-side change: mailferry read %s bytes from' "$r"
		printf ' the server; the 100 new messages are %s bytes,' \
			"$(awk -F '\t' '{ s += $4 } END { print s }' \
			"$WORK/new100/manifest.tsv")"
		printf ' the whole corpus %s (mbsync read %s)\n' \
			"$(awk -F '\t' '{ s += $4 } END { print s }' \
			"$WORK/corpus/manifest.tsv")" \
			"$(med 3-server-change imaps mbsync from_server_med)"
	fi
	# the state each tool keeps, after the untimed pull that scenarios
	# 2-4 start from (mailferry: the SQLite file and its WAL; mbsync:
	# the .mbsyncstate files beside the folders)
	if [[ -d $WORK/base-mailferry.local/state ]]; then
		local mfb mbb
		mfb=$(find "$WORK/base-mailferry.local/state" -type f \
			-printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
		mbb=$(find "$WORK/base-mbsync.local/Maildir" -type f \
			-name '.mbsyncstate*' -printf '%s\n' 2>/dev/null |
			awk '{ s += $1 } END { print s + 0 }')
		printf -- '- state after the initial pull of %d messages:' "$N"
		printf ' mailferry %.1f MiB (%.0f bytes a message),' \
			"$(awk -v b="$mfb" 'BEGIN { print b / 1048576 }')" \
			"$(awk -v b="$mfb" -v n="$N" 'BEGIN { print b / n }')"
		printf ' mbsync %.1f MiB (%.0f bytes a message)\n' \
			"$(awk -v b="$mbb" 'BEGIN { print b / 1048576 }')" \
			"$(awk -v b="$mbb" -v n="$N" 'BEGIN { print b / n }')"
	fi
	for t in 6-pull-50MB 6-push-50MB; do
		r=$(med "$t" imaps mailferry rss_kb_med)
		[[ -n $r ]] && printf -- '- %s: mailferry peak RSS %.1f MiB,' \
			"$t" "$(awk -v r="$r" 'BEGIN { print r / 1024 }')" &&
			printf ' mbsync %.1f MiB (target < 32 MiB)\n' \
			"$(awk -v r="$(med "$t" imaps mbsync rss_kb_med)" \
			'BEGIN { print r / 1024 }')"
	done
	return 0
}

# ---------------------------------------------------------------------

main()
{
	local s

	parse_args "$@"
	install_deps
	for s in mbsync /usr/bin/time openssl perl cc; do
		command -v "$s" >/dev/null 2>&1 || die "$s is missing"
	done
	trap cleanup EXIT
	setup_work
	trap 'exit 130' INT TERM
	build_mailferry
	build_gen
	want 7 && build_relay
	RUNS_TSV=$WORK/runs.tsv
	printf '%s\t' scenario transport tool run wall user sys rss_kb \
		from_server to_server >"$RUNS_TSV"
	printf 'ok\tround_trips\n' >>"$RUNS_TSV"
	log "N=$N runs=$RUNS scenarios: $ONLY; work dir $WORK ($FS)"
	setup_main
	for s in $ONLY; do
		log "scenario $s"
		"scenario_$s"
	done
	report
	log "done in $((SECONDS - STARTED)) s"
}

main "$@"
