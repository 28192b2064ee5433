#!/bin/bash
# Seeded random changes on both sides with kills at random steps, checked
# against a model of the sync rules after every round: see
# sync-random.py.  MF_RANDOM_SEED, MF_RANDOM_ROUNDS and MF_RANDOM_MESSAGES
# make it longer or different, e.g.
#   MF_RANDOM_ROUNDS=200 MF_RANDOM_SEED=7 meson test -C build sync-random.sh
set -u
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || {
	echo "1..0 # SKIP python3 not installed"
	exit 77
}
# a kill loses nothing that reached the kernel; fsync only costs time here
MF_STORE_OPTS="fsync: false"
mf_setup
mf_config
export T CFG LOCAL MF_MAILDIR MF_HARNESS_DIR MAILFERRY MF_HARNESS
python3 "$(dirname "$0")/sync-random.py"
