#!/usr/bin/env python3
"""Record what a real IMAP server says to mailferry, as fuzz-session seeds.

  session-seed.py record OUT --tcp HOST PORT
  session-seed.py record OUT -- COMMAND...
      A mailferry `tunnel:` command: relays stdin/stdout to a plain IMAP
      port (or to COMMAND, e.g. Dovecot's preauth tunnel) and appends the
      server's bytes to OUT.  One OUT per sync run.
  session-seed.py seed [--opts LETTERS] RUN... > SEED
      Cuts each recorded run into turns (fuzz-session.c: the greeting, then
      one per tagged answer or "+" continuation), the tag turned into $T,
      turns joined by @@@ and runs by @@@!.

make-session-corpus.sh runs both against the test Dovecot.
"""
import os
import re
import selectors
import socket
import subprocess
import sys


def record(out, args):
    if args[0] == '--tcp':
        sock = socket.create_connection((args[1], int(args[2])))
        rfd = wfd = sock.fileno()
        child = None
    else:
        child = subprocess.Popen(args[1:], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE)
        rfd, wfd = child.stdout.fileno(), child.stdin.fileno()
    log = open(out, 'ab')
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'client')
    sel.register(rfd, selectors.EVENT_READ, 'server')
    done = False
    while not done:
        for key, _ in sel.select():
            data = os.read(key.fd, 65536)
            if not data:
                done = True
                break
            if key.data == 'client':
                os.write(wfd, data)
            else:
                log.write(data)
                log.flush()
                os.write(1, data)
    log.close()
    if child is not None:
        child.stdin.close()
        child.wait()


LITERAL = re.compile(rb'\{(\d+)\+?\}\r?\n$')


def responses(data):
    """Split server output into responses (a line with its literals)."""
    pos = 0
    while pos < len(data):
        start = pos
        while True:
            nl = data.find(b'\n', pos)
            if nl < 0:
                pos = len(data)
                break
            pos = nl + 1
            m = LITERAL.search(data, start, pos)
            if m is None or m.end() != pos:
                break
            pos += int(m.group(1))
        yield data[start:pos]


def turns(data):
    turn = b''
    first = True
    for r in responses(data):
        word = r.split(b' ', 1)[0]
        if word not in (b'*', b'+') and not first:
            r = b'$T' + r[len(word):]
        turn += r
        if first or word != b'*':
            yield turn
            turn = b''
            first = False
    if turn:
        yield turn


def seed(args):
    opts = b''
    if args[:1] == ['--opts']:
        opts = b'%' + args[1].encode() + b'\n'
        args = args[2:]
    runs = []
    for path in args:
        with open(path, 'rb') as fh:
            runs.append(b'@@@'.join(turns(fh.read())))
    sys.stdout.buffer.write(opts + b'@@@!'.join(runs))


if __name__ == '__main__':
    if sys.argv[1] == 'record':
        a = sys.argv[3:]
        record(sys.argv[2], a)
    elif sys.argv[1] == 'seed':
        seed(sys.argv[2:])
    else:
        sys.exit(__doc__)
