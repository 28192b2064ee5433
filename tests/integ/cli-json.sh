#!/bin/bash
# --json (mailferry(1) JSON OUTPUT) and sync --exit-on-change (EXIT
# STATUS), against the real Dovecot: every stdout line must parse with
# python3's json.loads, and the values must be what happened (messages
# seeded, copied, flagged), not just well-formed.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

# jcheck NAME FILE EXPR: every line of FILE is a JSON object with a
# "type"; then the python expression EXPR holds, with L the list of
# objects, of(t) those of type t, one(t) the only one of type t
jcheck() {
	local out
	if out=$(python3 - "$2" "$3" 2>&1 <<'PY'
import json, sys
L = []
for i, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="strict")):
    o = json.loads(line)
    if not isinstance(o, dict) or "type" not in o:
        sys.exit("line %d: not an object with a type: %r" % (i + 1, line))
    L.append(o)
def of(t):
    return [o for o in L if o["type"] == t]
def one(t):
    v = of(t)
    if len(v) != 1:
        raise AssertionError("%d objects of type %s" % (len(v), t))
    return v[0]
# the check, as one line: statements "; " then the expression last
src = " ".join(l.strip() for l in sys.argv[2].splitlines()).split("; ")
g = dict(L=L, of=of, one=one, sys=sys)
exec("\n".join(src[:-1]), g)
if not eval(src[-1], g):
    sys.exit("false: " + src[-1])
PY
	); then
		ok "$1"
	else
		not_ok "$1"
		printf '%s\n' "$out" | tail -3 | sed 's/^/# /'
		head -5 "$2" | sed 's/^/# out: /'
	fi
}
# rc_is NAME WANT RC
rc_is() {
	if [ "$3" -eq "$2" ]; then ok "$1"; else not_ok "$1 (exit $3, want $2)"; fi
}

gen_msgs "$T/a" 1 6 a
gen_msgs "$T/b" 7 9 b
mf_harness seed INBOX "$T"/a/m* >/dev/null 2>&1

# --- status before any sync
mf status --json >"$T/st0" 2>"$T/st0.err"
rc_is "status --json before a sync exits 0" 0 $?
jcheck "status: never synced, no folders, last_sync null" "$T/st0" \
	'c = one("channel"); c["synced"] is False and c["folders"] == 0 and
	 c["last_sync"] is None and of("folder") == []'

# --- dry run of a first sync: nothing written, the folder would be made
mf sync -n --json >"$T/dry1" 2>"$T/dry1.err"
rc_is "sync -n --json exits 0" 0 $?
jcheck "dry run: INBOX would be created near, one summary, the end" \
	"$T/dry1" 'one("folder")["far"] == "INBOX" and
	 one("folder")["outcome"] == "would_create_near" and
	 one("summary")["dry_run"] is True and
	 L[-1] == {"type": "end", "exit_code": 0, "changed": True}'
check "the dry run made no local folder" test ! -e "$LOCAL/INBOX"

# --- a first sync, with --exit-on-change: 8, and the counts
mf sync --json --exit-on-change >"$T/s1" 2>"$T/s1.err"
rc_is "a sync that pulled exits 8 under --exit-on-change" 8 $?
jcheck "sync --json: INBOX pulled 6, summary pulled 6, the end says 8" \
	"$T/s1" 'f = one("folder"); s = one("summary");
	 f["channel"] == "c" and f["near"] == "INBOX" and
	 f["outcome"] == "synced" and f["pulled"] == 6 and
	 f["pushed"] == 0 and f["failed"] == 0 and f["box_failed"] is False and
	 s["pulled"] == 6 and s["ok"] is True and s["folders"] == 1 and
	 L[-1] == {"type": "end", "exit_code": 8, "changed": True}'
check "six messages arrived" test "$(count "$LOCAL/INBOX")" -eq 6
check "nothing but JSON objects on stdout" \
	test "$(grep -vc '^{.*}$' "$T/s1")" -eq 0

# --- nothing changed: 0
mf sync --json --exit-on-change >"$T/s2" 2>"$T/s2.err"
rc_is "a sync that changed nothing exits 0 under --exit-on-change" 0 $?
jcheck "the end says changed false, counts 0" "$T/s2" \
	'one("summary")["pulled"] == 0 and
	 L[-1] == {"type": "end", "exit_code": 0, "changed": False}'

# --- a dry run with something to do: one action per planned message
mf_harness seed INBOX "$T"/b/m* >/dev/null 2>&1
mf sync -n --json --exit-on-change >"$T/dry2" 2>"$T/dry2.err"
rc_is "a dry run with work exits 8 under --exit-on-change" 8 $?
jcheck "dry run: 3 pull actions, planned.pull 3, nothing pulled yet" \
	"$T/dry2" 'a = of("action"); f = one("folder");
	 len(a) == 3 and all(x["kind"] == "message" and
	   x["near_op"] == "copy" and x["far_op"] == "none" and
	   x["folder"] == "INBOX" and isinstance(x["far_uid"], int) and
	   x["near_key"] is None for x in a) and
	 len(set(x["far_uid"] for x in a)) == 3 and
	 f["outcome"] == "planned" and f["planned"]["pull"] == 3 and
	 f["pulled"] == 0'
check "the dry run copied nothing" test "$(count "$LOCAL/INBOX")" -eq 6

# --- without --exit-on-change a change still exits 0 (codes unchanged)
mf sync --json >"$T/s3" 2>"$T/s3.err"
rc_is "without --exit-on-change a change exits 0" 0 $?
jcheck "the three pulled, end changed true with exit 0" "$T/s3" \
	'one("folder")["pulled"] == 3 and
	 L[-1] == {"type": "end", "exit_code": 0, "changed": True}'

# --- a flag set locally: flags_far 1, and 8
f=$(local_file INBOX m2.a)
set_local_flags "$f" F
mf sync --json --exit-on-change >"$T/s4" 2>"$T/s4.err"
rc_is "a flag change alone exits 8 under --exit-on-change" 8 $?
jcheck "flags_far 1, nothing copied" "$T/s4" \
	'f = one("folder"); f["flags_far"] == 1 and f["pulled"] == 0 and
	 f["pushed"] == 0 and one("summary")["flags_far"] == 1'

# --- a message moved locally into another folder: a planned move, then
# the move done (moved 1 in the folder it went to)
mf_harness seed Archive "$T"/a/m1 >/dev/null 2>&1
mf sync --json >"$T/s5" 2>"$T/s5.err"
f=$(local_file INBOX m3.a)
mv "$f" "$LOCAL/Archive/cur/"
mf sync -n --json >"$T/dry3" 2>"$T/dry3.err"
jcheck "dry run: the move is one action of kind move, from INBOX to Archive" \
	"$T/dry3" 'm = [a for a in of("action") if a["kind"] == "move"];
	 len(m) == 1 and m[0]["folder"] == "INBOX" and
	 m[0]["to"] == "Archive" and m[0]["seen_on"] == "near" and
	 "key" in m[0]["seen"] and "uid" in m[0]["mirror"]'
mf sync --json --exit-on-change >"$T/s6" 2>"$T/s6.err"
rc_is "a move alone exits 8 under --exit-on-change" 8 $?
jcheck "the run: moved 1 into Archive, nothing copied" "$T/s6" \
	's = one("summary"); s["moved"] == 1 and s["pulled"] == 0 and
	 s["pushed"] == 0 and
	 [f for f in of("folder") if f["far"] == "Archive"][0]["moved"] == 1'

# --- a failure keeps its code, and its JSON says why; no password shown
MF_TEST_PW=wrong-$MF_PASS mf sync --json --exit-on-change >"$T/bad" \
	2>"$T/bad.err"
rc_is "a refused login exits 3 even under --exit-on-change" 3 $?
jcheck "the summary says not ok, with the error and its class" "$T/bad" \
	's = one("summary"); s["ok"] is False and len(s["error"]) > 0 and
	 s["error_class"] == "authentication" and of("folder") == [] and
	 L[-1]["exit_code"] == 3 and L[-1]["changed"] is False'
check "the error is also on stderr as text" test -s "$T/bad.err"
if grep -qF -- "$MF_PASS" "$T/bad" "$T/bad.err"; then
	not_ok "no password in the output"
else
	ok "no password in the output"
fi

# --- status, list, check
mf status --json >"$T/st" 2>"$T/st.err"
rc_is "status --json exits 0" 0 $?
jcheck "status: INBOX 8 and Archive 2 recorded, the channel total 10" \
	"$T/st" 'f = {o["far"]: o for o in of("folder")}; c = one("channel");
	 f["INBOX"]["messages"] == 8 and f["Archive"]["messages"] == 2 and
	 f["INBOX"]["near"] == "INBOX" and f["INBOX"]["pending"] == 0 and
	 isinstance(f["INBOX"]["last_sync"], int) and c["synced"] is True and
	 c["messages"] == 10 and c["folders"] == 2'
mf list --json c >"$T/ls" 2>"$T/ls.err"
rc_is "list --json exits 0" 0 $?
in_srv=$(mf_harness doveadm search mailbox INBOX all 2>/dev/null | wc -l)
jcheck "list: INBOX with the server's count ($in_srv), role inbox; Archive 2" \
	"$T/ls" 'f = {o["name"]: o for o in of("folder")};
	 f["INBOX"]["messages"] == '"$in_srv"' == 8 and
	 f["INBOX"]["role"] == "inbox" and f["Archive"]["messages"] == 2 and
	 f["Archive"]["role"] is None and f["INBOX"]["selectable"] is True'
mf check --json >"$T/ck" 2>"$T/ck.err"
rc_is "check --json exits 0" 0 $?
jcheck "check: the config, channel c from srv to the maildir" "$T/ck" \
	'c = one("channel"); one("config")["channels"] == 1 and
	 c["far"]["kind"] == "imap" and c["far"]["secret"] == "password_env"
	 and c["near"]["kind"] == "maildir" and
	 c["near"]["path"] == sys.argv[1].rsplit("/", 1)[0] + "/local"'
if grep -qF -- "$MF_PASS" "$T/ck"; then
	not_ok "check --json shows no password"
else
	ok "check --json shows no password"
fi

# --- hostile text from a server (scripted fake server: Dovecot will not
# say this): a refusal carrying ESC, BEL and a C1 CSI (as UTF-8 and as a
# raw byte) lands in the summary's error as text the IMAP layer already
# made safe ("\x1b"), and stays valid JSON on one line
FAKE=$MF_BUILD_ROOT/tests/fake/fake-imapd
"$FAKE" --script "$MF_SOURCE_ROOT/tests/fake/error-esc.script" \
	--log "$T/fake.log" --port-file "$T/fake.port" --timeout 20 \
	2>/dev/null &
fake=$!
for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
sed "s/port: .*/port: $(cat "$T/fake.port")/; /ca_file:/d
	s|state_dir: .*|state_dir: $T/fake-state|
	s/tls: implicit/tls: none\n    allow_insecure: true/" "$CFG" >"$T/fake.yaml"
"$MAILFERRY" -c "$T/fake.yaml" sync --json >"$T/hostile" 2>"$T/hostile.err"
rc=$?
kill "$fake" 2>/dev/null
wait "$fake" 2>/dev/null
rc_is "the refused LIST fails the sync (4)" 4 $rc
jcheck "the summary carries the server's refusal, its controls shown" \
	"$T/hostile" 'e = one("summary")["error"];
	 "NO [SERVERBUG] list\\x1b[2J failed\\x1b]0;pwned\\x07" in e and
	 one("summary")["error_class"] == "store" and
	 L[-1]["exit_code"] == 4'
check "no raw ESC, BEL or C1 byte on stdout" \
	bash -c "! LC_ALL=C grep -qaP '[\\x00-\\x09\\x0b-\\x1f\\x7f]|\\xc2[\\x80-\\x9f]|\\x9b' '$T/hostile'"

mf fetch --json >"$T/fetch" 2>&1
rc_is "--json on a command without a JSON form is refused (2)" 2 $?
finish
