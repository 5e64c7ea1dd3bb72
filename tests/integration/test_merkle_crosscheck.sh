#!/usr/bin/env bash
# lib/merkle.c agrees with an independent implementation of RFC 9162 written in Python
# (tests/merkle_crosscheck.py, hashlib only): the root of every tree size 0..300, the
# inclusion proof of every leaf and the consistency proof from every older size, then
# random sizes up to 2^17, all equal and verified by both; altered proofs (a flipped bit,
# truncated, extended, another index or size) get the same verdict from both verifiers.
# No daemon runs: merkle_dump answers from one tree held in a merkle_memstore.
. "$(dirname "$0")/lib.sh"

TOOL=$CLUEBUS_TEST_TOOLS/merkle_dump
[ -x "$TOOL" ] || die "$TOOL is missing (make tests-built)"
SEED=${MERKLE_SEED:-$RANDOM}
say "random sizes from seed $SEED (MERKLE_SEED=$SEED repeats them)"
"$PY" "$REPO/tests/merkle_crosscheck.py" "$TOOL" 300 6 "$SEED" >"$TEST_DIR/crosscheck.out" 2>&1 ||
    die "crosscheck failed: $(tail -n 5 "$TEST_DIR/crosscheck.out")"
say "$(cat "$TEST_DIR/crosscheck.out")"
finish
