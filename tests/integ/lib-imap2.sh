# IMAP to IMAP for the sync tests (sourced after lib.sh): two private
# Dovecots, "far" and "near", and a channel between their accounts.
#
# After "mf2_setup [start options]" (for both servers; MF2_NEAR_CAPS, when
# set, is the near server's --caps; the array MF2_NEAR_ARGS, when set,
# holds more start options for the near one only, e.g. --layout dot):
#   $FAR_MAIL, $NEAR_MAIL   the two servers' maildirs (sig works on both)
#   far_harness / near_harness CMD ARGS   mf_harness against one of them
#   mf2_config [channel lines]            (re)write $CFG: channel "c",
#                                          far account "far", near "near";
#                                          MF2_DISABLE, when set, is both
#                                          accounts' "disable:" list
#   mf2_snapshot NAME / mf2_restore NAME  both servers' mail and the state
#   msgids DIR              "folder message-id" per message file, sorted
#   mf2_reference NAME REF  save both sides after a complete run as the
#                           reference REF.{far,near}[.ids]
#   mf2_check_sides REF DUPS MISSING DIFFER   compare both sides with the
#                           reference REF; adds to the counters named
#   mf / sig / gen_msgs / check ... as in lib.sh
#
# Each server is stopped and started again around a restore, as
# sync-crash.sh does: replacing a maildir under a running Dovecot would
# leave its indexes describing other mail.

mf2_setup() {
	mf_setup "$@"
	FAR_DIR=$MF_HARNESS_DIR FAR_MAIL=$MF_MAILDIR FAR_PORT=$MF_IMAPS_PORT
	FAR_USER=$MF_USER FAR_CA=$MF_CA_FILE
	export MF_FAR_PW=$MF_PASS
	local -a caps=()
	[ -z "${MF2_NEAR_CAPS:-}" ] || caps=(--caps "$MF2_NEAR_CAPS")
	[ -z "${MF2_NEAR_ARGS+set}" ] || caps+=("${MF2_NEAR_ARGS[@]}")
	mf_harness_start "$T/near" "$@" "${caps[@]}" >/dev/null 2>&1 || {
		echo "Bail out! second harness failed to start"
		exit 1
	}
	NEAR_DIR=$MF_HARNESS_DIR NEAR_MAIL=$MF_MAILDIR NEAR_PORT=$MF_IMAPS_PORT
	NEAR_USER=$MF_USER NEAR_CA=$MF_CA_FILE
	export MF_NEAR_PW=$MF_PASS
	# lib.sh's helpers (seed, doveadm, server_uid) act on the far one
	# unless told otherwise
	MF_HARNESS_DIR=$FAR_DIR MF_MAILDIR=$FAR_MAIL
	mf2_config
}

far_harness() { MF_HARNESS_DIR=$FAR_DIR mf_harness "$@"; }
near_harness() { MF_HARNESS_DIR=$NEAR_DIR mf_harness "$@"; }

mf2_config() {
	cat >"$CFG" <<YAML
state_dir: $T/state
accounts:
  far:
    host: localhost
    port: $FAR_PORT
    tls: implicit
    user: $FAR_USER
    password_env: MF_FAR_PW
    ca_file: $FAR_CA
${MF2_DISABLE:+    disable: [$MF2_DISABLE]}
  near:
    host: localhost
    port: $NEAR_PORT
    tls: implicit
    user: $NEAR_USER
    password_env: MF_NEAR_PW
    ca_file: $NEAR_CA
${MF2_DISABLE:+    disable: [$MF2_DISABLE]}
channels:
  c:
    far: far
    near: near
$(printf '%s\n' "$@" | sed 's/^/    /')
YAML
}

# _mf2_stop / _mf2_start: both servers, same ports and runtime
# (the two at once: this is most of a crash test's time)
_mf2_stop() {
	bash "$MF_HARNESS" stop "$FAR_DIR" --keep-runtime >/dev/null 2>&1 &
	bash "$MF_HARNESS" stop "$NEAR_DIR" --keep-runtime >/dev/null 2>&1
	wait $!
}
_mf2_start() {
	local a b
	bash "$MF_HARNESS" restart "$FAR_DIR" >/dev/null 2>&1 &
	a=$!
	bash "$MF_HARNESS" restart "$NEAR_DIR" >/dev/null 2>&1 &
	b=$!
	wait $a && wait $b || {
		echo "Bail out! harness failed to restart"
		exit 1
	}
}

mf2_snapshot() {	# NAME: save both servers' mail and the state
	local s=$T/snap-$1
	_mf2_stop
	rm -rf "$s"
	mkdir -p "$s/far" "$s/near" "$s/state"
	cp -a "$FAR_MAIL/." "$s/far"
	cp -a "$NEAR_MAIL/." "$s/near"
	cp -a "$T/state/." "$s/state" 2>/dev/null || true
	_mf2_start
}

mf2_restore() {		# NAME: back to the snapshot
	local s=$T/snap-$1
	_mf2_stop
	find "$FAR_MAIL" -mindepth 1 -delete
	find "$NEAR_MAIL" -mindepth 1 -delete
	cp -a "$s/far/." "$FAR_MAIL"
	cp -a "$s/near/." "$NEAR_MAIL"
	rm -rf "$T/state"
	cp -a "$s/state" "$T/state"
	_mf2_start
}

# msgids DIR: "folder <id>" for every message file, sorted
msgids() {
	(cd "$1" && find . \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-exec awk 'FNR == 1 { done = 0 }
			!done && tolower($1) == "message-id:" {
				f = FILENAME; sub(/^\.\//, "", f)
				sub(/\/(cur|new)\/[^\/]*$/, "", f)
				print f, $2; done = 1
			}
			/^\r?$/ { done = 1 }' {} +) | tr -d '\r' | LC_ALL=C sort
}

# mf2_check_sides REF DUPVAR MISSVAR DIFFVAR: each side against its
# reference (mf2_reference).  Adds the number of duplicate Message-IDs
# (per folder), of reference Message-IDs missing and of sides whose
# contents or flags differ to the three named counters; prints what
# differs.  Returns 1 when anything is wrong.
mf2_check_sides() {
	local ref=$1 side dir ids d m bad=0
	for side in far near; do
		if [ $side = far ]; then dir=$FAR_MAIL; else dir=$NEAR_MAIL; fi
		ids=$(msgids "$dir")
		d=$(uniq -d <<<"$ids" | grep -c . || true)
		m=$(LC_ALL=C comm -23 "$ref.$side.ids" <(uniq <<<"$ids") |
			grep -c . || true)
		printf -v "$2" %d $((${!2} + d))
		printf -v "$3" %d $((${!3} + m))
		if [ "$d" -gt 0 ] || [ "$m" -gt 0 ]; then
			echo "#   $side: $d duplicate and $m missing Message-IDs"
			uniq -d <<<"$ids" | head -3 | sed 's/^/#     twice: /'
			bad=1
		fi
		if ! sig "$dir" | cmp -s - "$ref.$side"; then
			printf -v "$4" %d $((${!4} + 1))
			echo "#   $side differs from the reference:"
			diff <(sig "$dir") "$ref.$side" | head -6 | sed 's/^/#     /'
			bad=1
		fi
	done
	return $bad
}

# mf2_reference NAME REF [oneway]: after a complete run, save each side
# as the reference REF.far / REF.near (sig) and REF.*.ids; no Message-ID
# may be there twice, and unless "oneway" both sides must be the same
mf2_reference() {
	local side dir
	for side in far near; do
		if [ $side = far ]; then dir=$FAR_MAIL; else dir=$NEAR_MAIL; fi
		sig "$dir" >"$2.$side"
		msgids "$dir" >"$2.$side.ids"
	done
	[ "${3:-}" = oneway ] ||
		check "$1: reference run: both sides the same" \
			cmp -s "$2.far" "$2.near"
	check "$1: reference run: no Message-ID twice on either side" \
		test -z "$(uniq -d "$2.far.ids")" -a -z "$(uniq -d "$2.near.ids")"
}
