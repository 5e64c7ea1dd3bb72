#!/usr/bin/env bash
# lib/merkle.c agrees with an independent implementation of RFC 9162 written in Python
# (tests/merkle_crosscheck.py, hashlib only): the root of every tree size 0..300, the
# inclusion proof of every leaf and the consistency proof from every older size, then
# random sizes up to 2^17, all equal and verified by both; altered proofs (a flipped bit,
# truncated, extended, another index or size) get the same verdict from both verifiers.
# No daemon runs: merkle_dump answers from one tree held in a merkle_memstore. Then the
# broker store's own tree (lib/store.c over LMDB, tests/tools/store_proofs: 300 log entries
# appended in commits of 1 to 7, the store reopened read-only): for every size 1..300 its
# root, the inclusion proof of every entry and the consistency proof from every older size
# equal the Python implementation's over the packed entries it holds, and verify.
. "$(dirname "$0")/lib.sh"

TOOL=$CLUEBUS_TEST_TOOLS/merkle_dump
[ -x "$TOOL" ] || die "$TOOL is missing (make tests-built)"
SEED=${MERKLE_SEED:-$RANDOM}
say "random sizes from seed $SEED (MERKLE_SEED=$SEED repeats them)"
"$PY" "$REPO/tests/merkle_crosscheck.py" "$TOOL" 300 6 "$SEED" >"$TEST_DIR/crosscheck.out" 2>&1 ||
    die "crosscheck failed: $(tail -n 5 "$TEST_DIR/crosscheck.out")"
say "$(cat "$TEST_DIR/crosscheck.out")"

STORE_TOOL=$CLUEBUS_TEST_TOOLS/store_proofs
[ -x "$STORE_TOOL" ] || die "$STORE_TOOL is missing (make tests-built)"
mkdir "$TEST_DIR/store"
"$PY" "$REPO/tests/merkle_crosscheck.py" --store "$STORE_TOOL" "$TEST_DIR/store" 300 \
    >"$TEST_DIR/store.out" 2>&1 || die "store crosscheck failed: $(tail -n 5 "$TEST_DIR/store.out")"
say "$(cat "$TEST_DIR/store.out")"
finish
