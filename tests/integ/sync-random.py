#!/usr/bin/env python3
"""Seeded random changes on both sides, kills at random steps, and a model.

Run by sync-random.sh (which starts the private Dovecot and writes the
config).  Each round changes the server (through doveadm, as another IMAP
client would) and the local Maildir (as a mail reader would: renames for
flags, unlink, new files, mv into another folder, a new folder), predicts
the outcome from the rules of mailferry(1), syncs -- in about half of the
rounds first a sync killed at a random step (MAILFERRY_TEST_STOP_AFTER,
store/base/testhook.h), then a full one -- and checks both sides against
the prediction: every message in the predicted folder, once, with the
predicted flags, on both sides.

The rules modelled (mailferry(1) "SYNC RULES"):
  - flags: three-way per flag; added on either side is added, removed on
    either side is removed;
  - a message deleted on one side is deleted on the other, unless its flags
    changed on the other side since the last sync: then it comes back;
  - deleted on both sides: gone;
  - a message moved to another folder on one side is moved on the other,
    keeping flags changed on the other side (merged); moved on both sides,
    it ends in the server's folder;
  - new messages and new folders go to the other side;
  - keywords as flags, kept in the Maildir as Dovecot keeps them (letters
    named by dovecot-keywords); a mail reader here changes only keywords
    that the folder's file already names, and does not mv a file that
    carries keyword letters (they would mean what the destination
    folder's dovecot-keywords says: see the man page).
A round touches each message with at most one structural change (a delete
or a move) on one side, so the prediction never depends on a tie-break
that the manual leaves open.

Environment: MF_RANDOM_SEED (default 1), MF_RANDOM_ROUNDS (default 8),
MF_RANDOM_MESSAGES (default 40).  A failing round prints its seed and what
it did; rerun with the same seed to reproduce.
"""

import os
import random
import re
import subprocess
import sys
import time

T = os.environ["T"]
CFG = os.environ["CFG"]
LOCAL = os.environ["LOCAL"]
SERVER = os.environ["MF_MAILDIR"]
HARNESS = os.environ["MF_HARNESS"]
HDIR = os.environ["MF_HARNESS_DIR"]
MAILFERRY = os.environ["MAILFERRY"]

SEED = int(os.environ.get("MF_RANDOM_SEED", "1"))
ROUNDS = int(os.environ.get("MF_RANDOM_ROUNDS", "8"))
NMSG = int(os.environ.get("MF_RANDOM_MESSAGES", "40"))

LETTER = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered",
          "S": "\\Seen"}
FLAGS = "FRS"   # the ones changed at random (D and T have side meanings)
KEYWORDS = ["$Label1", "Important", "work"]

rng = random.Random(SEED)
results = []


def tap(ok, name):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    sys.stdout.flush()


def doveadm(*args, stdin=None):
    r = subprocess.run(["bash", HARNESS, "doveadm", HDIR] + list(args),
                       input=stdin, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("doveadm %s: %s" % (" ".join(args),
                                               r.stderr.decode()[-300:]))
    return r.stdout.decode()


def mailferry(*args, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([MAILFERRY, "-c", CFG] + list(args), env=env,
                          capture_output=True)


MSGID = re.compile(rb"^message-id:\s*<([^>]*)>", re.I | re.M)


def message(mid, folder):
    return ("Date: Mon, 2 Nov 2026 10:00:00 +0000\n"
            "From: r@example.org\nTo: b@example.org\n"
            "Subject: random %s\nMessage-ID: <%s>\n\n"
            "Body of %s, first written to %s.\n" % (mid, mid, mid, folder))


def kwmap(folder_dir):
    """{letter: keyword} from a folder's dovecot-keywords (Dovecot's and
    ours are the same format)."""
    out = {}
    try:
        with open(os.path.join(folder_dir, "dovecot-keywords")) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and \
                        int(parts[0]) < 26:
                    out[chr(ord("a") + int(parts[0]))] = parts[1]
    except FileNotFoundError:
        pass
    return out


def flag_str(flags):
    """System letters, then '|' and the keywords, both sorted."""
    letters = sorted(f for f in flags if len(f) == 1)
    kws = sorted(f for f in flags if len(f) > 1)
    return "".join(letters) + ("|" + ",".join(kws) if kws else "")


def read_side(root):
    """{msgid: [(folder, flags)]} of a maildir tree in fs layout."""
    out = {}
    for dirpath, dirnames, files in os.walk(root):
        base = os.path.basename(dirpath)
        if base not in ("cur", "new"):
            continue
        folder = os.path.relpath(os.path.dirname(dirpath), root)
        kw = kwmap(os.path.dirname(dirpath))
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                head = fh.read(8192).split(b"\n\n", 1)[0]
            m = MSGID.search(head.replace(b"\r\n", b"\n"))
            mid = m.group(1).decode() if m else "?" + f
            info = f.rsplit(":2,", 1)[1] if ":2," in f else ""
            flags = {c for c in info if c in "DFPRST"}
            flags |= {kw.get(c, "?" + c) for c in info if "a" <= c <= "z"}
            out.setdefault(mid, []).append((folder, flag_str(flags)))
    return out


def local_file(mid, folder):
    for sub in ("cur", "new"):
        d = os.path.join(LOCAL, folder, sub)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, f), "rb") as fh:
                if ("<%s>" % mid).encode() in fh.read(4096):
                    return os.path.join(d, f)
    raise RuntimeError("no local file for %s in %s" % (mid, folder))


def server_uid(mid, folder):
    out = doveadm("search", "mailbox", folder, "header", "message-id", mid)
    uids = [line.split()[1] for line in out.splitlines() if line.strip()]
    if len(uids) != 1:
        raise RuntimeError("server has %d of %s in %s" % (len(uids), mid,
                                                          folder))
    return uids[0]


def set_local_flags(path, letters):
    """Rename to carry exactly these letters (flags and keyword letters)."""
    d = os.path.dirname(os.path.dirname(path))
    base = os.path.basename(path).split(":2,")[0]
    os.rename(path, os.path.join(d, "cur", base + ":2," +
                                 "".join(sorted(letters))))


def local_letters(path):
    name = os.path.basename(path)
    return set(name.rsplit(":2,", 1)[1]) if ":2," in name else set()


def sync_full(what):
    r = mailferry("-q", "sync")
    if r.returncode != 0:
        print("# %s: sync exited %d: %s" % (what, r.returncode,
                                            r.stderr.decode()[-400:]))
    return r.returncode == 0


def compare(model, what):
    """Both sides hold exactly the model; print the first differences."""
    want = {mid: [(f, flag_str(fl))] for mid, (f, fl) in model.items()}
    ok = True
    for name, root in (("server", SERVER), ("local", LOCAL)):
        got = read_side(root)
        if got == want:
            continue
        ok = False
        bad = sorted(set(got) ^ set(want)) + sorted(
            m for m in set(got) & set(want) if got[m] != want[m])
        for mid in bad[:6]:
            print("#   %s %s: %s, model %s" % (what, name, got.get(mid),
                                              want.get(mid)))
    return ok


def main():
    folders = ["INBOX", "Work", "Lists/dev"]
    model = {}      # msgid -> (folder, set of flags), as both sides agree
    serial = 0

    for folder in folders:
        doveadm("mailbox", "create", folder) if folder != "INBOX" else None
    for i in range(NMSG):
        folder = folders[i % len(folders)]
        mid = "r%d@test" % i
        doveadm("save", "-m", folder, stdin=message(mid, folder).encode())
        model[mid] = (folder, set())
    tap(sync_full("initial"), "initial sync")
    tap(compare(model, "initial"), "initial sync matches the model")

    for rnd in range(1, ROUNDS + 1):
        log = []
        mids = sorted(model)
        rng.shuffle(mids)
        structural = set()
        new_model = {m: (f, set(fl)) for m, (f, fl) in model.items()}
        changed_far, changed_near = set(), set()
        gone_far, gone_near = set(), set()
        moved = {}

        # flags on both sides, a few messages each
        for side in ("far", "near"):
            for mid in rng.sample(mids, min(len(mids), rng.randint(1, 5))):
                folder, flags = model[mid]
                flag = rng.choice(FLAGS)
                letter = flag
                if rng.random() < 0.3:
                    # a keyword; locally only one the folder's
                    # dovecot-keywords already names (a reader's rename)
                    flag = rng.choice(KEYWORDS)
                    names = {v: k for k, v in
                             kwmap(os.path.join(LOCAL, folder)).items()}
                    if side == "near" and flag not in names:
                        continue
                    letter = names.get(flag)
                add = flag not in flags
                if side == "far":
                    uid = server_uid(mid, folder)
                    doveadm("flags", "add" if add else "remove",
                            LETTER.get(flag, flag), "mailbox", folder,
                            "uid", uid)
                    changed_far.add(mid)
                else:
                    path = local_file(mid, folder)
                    cur = local_letters(path)
                    cur = cur | {letter} if add else cur - {letter}
                    set_local_flags(path, cur)
                    changed_near.add(mid)
                # both sides start equal: the change merges as it is
                fl = new_model[mid][1]
                (fl.add if add else fl.discard)(flag)
                log.append("%s %s%s %s" % (side, "+" if add else "-", flag,
                                           mid))

        # deletions and moves: one structural change per message
        for _ in range(rng.randint(1, 4)):
            mid = rng.choice(mids)
            if mid in structural:
                continue
            side = rng.choice(("far", "near"))
            # a side deletes or moves only what it did not change itself
            # this round (the manual says nothing of that order)
            if mid in (changed_far if side == "far" else changed_near):
                continue
            structural.add(mid)
            folder = model[mid][0]
            others = [f for f in folders if f != folder]
            # a keyword on a message moved on both sides is still lost:
            # the near copy, moved by hand, keeps its source letters, and
            # is then paired as it is (same folder) or moved on by
            # mailferry, which reads those letters with the map of the
            # folder it is in (mailferry(1), "Moves"); a near move alone
            # is relabeled
            kw_here = any(len(f) > 1 for f in
                          model[mid][1] | new_model[mid][1])
            if rng.random() < 0.15 and not kw_here and \
                    mid not in changed_far | changed_near:
                # moved on both sides: the server's folder wins
                # (mailferry(1), "Moves"); into one folder, one message
                far_dest = rng.choice(others)
                near_dest = rng.choice(others)
                doveadm("move", far_dest, "mailbox", folder, "uid",
                        server_uid(mid, folder))
                path = local_file(mid, folder)
                os.rename(path, os.path.join(
                    LOCAL, near_dest, "cur", os.path.basename(path)))
                new_model[mid] = (far_dest, new_model[mid][1])
                log.append("both move %s %s -> far %s, near %s" % (
                    mid, folder, far_dest, near_dest))
            elif rng.random() < 0.5:
                dest = rng.choice(others)
                if side == "far":
                    doveadm("move", dest, "mailbox", folder, "uid",
                            server_uid(mid, folder))
                else:
                    path = local_file(mid, folder)
                    os.rename(path, os.path.join(
                        LOCAL, dest, "cur", os.path.basename(path)))
                moved[mid] = dest
                new_model[mid] = (dest, new_model[mid][1])
                log.append("%s move %s %s -> %s" % (side, mid, folder,
                                                    dest))
            else:
                if side == "far":
                    doveadm("expunge", "mailbox", folder, "uid",
                            server_uid(mid, folder))
                    gone_far.add(mid)
                else:
                    os.unlink(local_file(mid, folder))
                    gone_near.add(mid)
                log.append("%s delete %s" % (side, mid))
        for mid in gone_far | gone_near:
            # changes win over deletes: flags changed on the other side
            other = changed_near if mid in gone_far else changed_far
            if mid not in other:
                del new_model[mid]

        # new messages, sometimes in a new folder
        created = []
        for _ in range(rng.randint(0, 3)):
            serial += 1
            mid = "n%d.%d@test" % (rnd, serial)
            folder = rng.choice(folders)
            if rng.random() < 0.15:
                folder = "New%d" % serial
                created.append(folder)   # exists on one side until synced
                side = rng.choice(("far", "near"))
                if side == "far":
                    doveadm("mailbox", "create", folder)
                else:
                    for sub in ("cur", "new", "tmp"):
                        os.makedirs(os.path.join(LOCAL, folder, sub))
            else:
                side = rng.choice(("far", "near"))
            if side == "far":
                doveadm("save", "-m", folder,
                        stdin=message(mid, folder).encode())
            else:
                name = "%d.r%d.test:2,S" % (1700000000 + serial, serial)
                with open(os.path.join(LOCAL, folder, "cur", name),
                          "w") as fh:
                    fh.write(message(mid, folder))
            new_model[mid] = (folder, {"S"} if side == "near" else set())
            log.append("%s new %s in %s" % (side, mid, folder))

        folders.extend(created)
        # maildir directory tokens need the clock to move on
        time.sleep(1.1)
        kill_at = rng.randint(1, 40) if rng.random() < 0.5 else 0
        if kill_at:
            r = mailferry("-q", "sync", env_extra={
                "MAILFERRY_TEST_STOP_AFTER": str(kill_at)})
            log.append("killed at step %d (exit %d)" % (kill_at,
                                                        r.returncode))
        good = sync_full("round %d" % rnd)
        same = good and compare(new_model, "round %d" % rnd)
        if not same:
            print("# seed %d round %d did: %s" % (SEED, rnd,
                                                  "; ".join(log)))
        tap(same, "round %d (%d changes%s): both sides match the model" %
            (rnd, len(log), ", killed at step %d" % kill_at if kill_at
             else ""))
        if not same:
            # go on from what the sides agree on, if they do
            break
        model = new_model

    time.sleep(1.1)
    r = mailferry("sync")
    tap(r.returncode == 0 and b"pulled 0, pushed 0, flags 0/0, deleted 0/0"
        in r.stdout, "a last sync has nothing to do")
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
