#!/bin/bash
# mailferry verify against the real Dovecot: after a sync both sides
# agree (exit 0, "ok"); a message expunged on the server behind our back
# is named as missing on far (exit 1); a flag changed locally is a flag
# difference; --json lines parse and carry the documented fields; verify
# writes nothing (state database and maildir unchanged) and reads no body.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

# rc_is NAME WANT RC
rc_is() {
	if [ "$3" -eq "$2" ]; then ok "$1"; else not_ok "$1 (exit $3, want $2)"; fi
}
# tree DIR: every file name under DIR with its size and mtime; SQLite's
# -shm (its shared-memory index of the WAL, which any reader maps and
# writes) is left out: the database and its WAL are what hold state
tree() {
	find "$1" ! -name '*-shm' -printf '%P %s %T@\n' | LC_ALL=C sort
}

gen_msgs "$T/a" 1 6 a
mf_harness seed INBOX "$T"/a/m{1..4} >/dev/null 2>&1
mf_harness seed Archive --flags S "$T"/a/m{5,6} >/dev/null 2>&1

mf sync >"$T/sync.out" 2>&1
rc_is "sync exits 0" 0 $?

mf -D verify >"$T/v1" 2>"$T/v1.trace"
rc=$?
rc_is "verify after a sync exits 0" 0 $rc
[ $rc -eq 0 ] || sed 's/^/# /' "$T/v1" | head -10
check "INBOX line says ok" grep -qx "c: INBOX: far 4, near 4: ok" "$T/v1"
check "Archive line says ok" grep -qx "c: Archive: far 2, near 2: ok" "$T/v1"
check "verdict: all far messages on near" \
	grep -qx "c: all 6 far messages are on near" "$T/v1"
check "the far side was opened with EXAMINE, never SELECT" \
	bash -c "grep -q '^C: [^ ]* EXAMINE' '$T/v1.trace' &&
		! grep -q '^C: [^ ]* SELECT' '$T/v1.trace'"
check "no body was fetched" no_body_fetch "$T/v1.trace"

# --- a message deleted on the server behind our back
before_state=$(tree "$T/state")
before_local=$(tree "$LOCAL")
mf_harness doveadm expunge mailbox INBOX uid "$(server_uid INBOX m2.a)" \
	>/dev/null 2>&1
# --- and a flag changed locally
set_local_flags "$(local_file INBOX m3.a)" FS
before_local=$(tree "$LOCAL")

mf verify >"$T/v2" 2>"$T/v2.err"
rc_is "verify with differences exits 1" 1 $?
check "the expunged message is named missing on far" \
	grep -q "c: INBOX: far 3, near 4: 1 missing on far: <m2.a@test>" "$T/v2"
check "the flag change is a flag difference" \
	grep -q "c: INBOX: .*1 flag differences" "$T/v2"
check "Archive still ok" grep -qx "c: Archive: far 2, near 2: ok" "$T/v2"
check "verdict counts 2 differences" grep -qx "c: 2 differences" "$T/v2"

mf -v verify >/dev/null 2>&1
mf verify -v >"$T/v3" 2>&1
check "-v lists each differing message" \
	bash -c "grep -q 'missing-far <m2.a@test>' '$T/v3' &&
		grep -q 'flags <m3.a@test>' '$T/v3'"

mf --json verify -v >"$T/j" 2>"$T/j.err"
rc_is "verify --json exits 1 too" 1 $?
if python3 - "$T/j" <<'PY'; then ok "--json: lines parse, documented fields"; else not_ok "--json: lines parse, documented fields"; fi
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
f = {o["far_name"]: o for o in L if o["type"] == "folder"}
c = [o for o in L if o["type"] == "channel"]
assert len(c) == 1, c
c = c[0]
for o in f.values():
    for k in ("channel", "far_name", "near_name", "far", "near",
              "missing_folder", "missing_near", "missing_far", "content",
              "flags", "keywords", "date", "placeholders", "differences",
              "ok"):
        assert k in o, (k, o)
i = f["INBOX"]
assert i["far"] == 3 and i["near"] == 4 and i["missing_far"] == 1, i
assert i["flags"] == 1 and i["differences"] == 2 and i["ok"] is False, i
assert any(m["kind"] == "missing-far" and m["msgid"] == "<m2.a@test>"
           for m in i["messages"]), i
assert f["Archive"]["ok"] is True
assert c["channel"] == "c" and c["far"] == 5 and c["near"] == 6, c
assert c["differences"] == 2 and c["ok"] is False and c["error"] is None, c
PY
sed 's/^/# /' "$T/j" | head -4

check "verify wrote nothing in the state directory" \
	test "$(tree "$T/state")" = "$before_state"
check "verify changed nothing in the maildir" \
	test "$(tree "$LOCAL")" = "$before_local"

# --- a sync puts it right again
mf sync >/dev/null 2>&1
mf verify >"$T/v4" 2>&1
rc_is "verify after the next sync exits 0" 0 $?

mf verify nosuch >/dev/null 2>&1
rc_is "an unknown channel is a usage error" 2 $?

mf verify --json c >"$T/j2" 2>&1
rc_is "--json after the command, and a channel named" 0 $?
check "... gives a channel object with ok true" \
	grep -q '"type":"channel","channel":"c",.*"differences":0,"ok":true' "$T/j2"

sed "s/port: $MF_IMAPS_PORT/port: 1/" "$CFG" >"$T/bad.yaml"
"$MAILFERRY" -c "$T/bad.yaml" verify >/dev/null 2>&1
rc_is "a far server that cannot be reached: exit 4" 4 $?

finish
