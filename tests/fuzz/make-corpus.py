#!/usr/bin/env python3
"""Write the seed corpus of fuzz-imap-parser from tests/data/imap/.

Each seed is the 5-byte header that fuzz-imap-parser.c expects (mode, four
chunk sizes), then server output:
  - mailkit/**/*.txt: whole transcripts (all lines are the server's), LF
    turned back into CRLF since literal sizes count CRLF;
  - imaptest/<script>: the expected untagged lines ("* ...") of the script,
    with "$variables" left as they are, and a tagged OK at the end.
Seeds are cut at 16 KiB to keep the corpus small.  The header varies with
the seed's index so every handler mode and limit set has seeds.

Usage: tests/fuzz/make-corpus.py   (rewrites tests/fuzz/corpus-imap-parser/)
"""
import os
import re
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data', 'imap')
OUT = os.path.join(HERE, 'corpus-imap-parser')
MAX = 16 * 1024
CHUNKS = [bytes([255, 255, 255, 255]), bytes([0, 0, 0, 0]),
          bytes([6, 40, 1, 200]), bytes([3, 17, 99, 0])]


def crlf(data):
    return re.sub(rb'\r?\n', b'\r\n', data)


def seeds():
    root = os.path.join(DATA, 'mailkit')
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if f.endswith('.txt'):
                path = os.path.join(d, f)
                name = 'mailkit-' + os.path.relpath(path, root).replace(
                    os.sep, '-')[:-4]
                with open(path, 'rb') as fh:
                    yield name, crlf(fh.read())
    root = os.path.join(DATA, 'imaptest')
    for f in sorted(os.listdir(root)):
        path = os.path.join(root, f)
        if '.' in f or not os.path.isfile(path):
            continue
        with open(path, 'rb') as fh:
            lines = [ln.rstrip(b'\r\n') for ln in fh
                     if ln.startswith(b'* ')]
        if lines:
            yield 'imaptest-' + f, b'\r\n'.join(lines + [b'a OK done', b''])


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for i, (name, data) in enumerate(seeds()):
        header = bytes([i % 16]) + CHUNKS[(i // 16) % len(CHUNKS)]
        with open(os.path.join(OUT, name), 'wb') as fh:
            fh.write(header + data[:MAX])


if __name__ == '__main__':
    main()
