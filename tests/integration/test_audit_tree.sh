#!/usr/bin/env bash
# cluebus-audit prove and consistency answer from the Merkle tree the broker's store keeps
# over its log (store.h invariant 6), and an independent RFC 9162 verifier in Python
# (tests/merkle_crosscheck.py, hashlib only) accepts what they print: inclusion proofs in
# the tree of every size (of every entry at sizes up to 16 and at the head), all proofs of
# one size leading to one root, and the consistency proof from every size to the head,
# whose roots are those of the inclusion proofs. A proof altered by one bit is refused by the same verifier. verify
# prints the tree's root (the one the proofs lead to) and, with one byte of entry SEQ's
# stored leaf node flipped, fails naming SEQ, with signatures and --chain-only. Usage
# errors (seq 0, a size beyond the head, old > new) exit 2.
. "$(dirname "$0")/lib.sh"
set -o pipefail

deploy ipc
start_all health psb
for i in 1 2 3 4; do
	drop health "clue-$i.json" "$(clue_json public_tip 210303 "tree test $i")"
done
wait_for 60 "4 receipts" files_at_least "$(spool health)/sent" '*.receipt.json' 4
wait_for 60 "4 messages at psb" files_at_least "$(spool psb)/out" '*.json' 4
stop_agent psb
stop_agent health
stop_broker

DATA=$D/data
replay_json "$TEST_DIR/replay.jsonl"
HEAD=$(wc -l <"$TEST_DIR/replay.jsonl")
[ "$HEAD" -ge 8 ] || die "expected at least 8 entries, the log has $HEAD"
say "proving every entry of a log of $HEAD"

: >"$TEST_DIR/proofs.jsonl"
for size in $(seq 1 "$HEAD"); do
	# Every entry at the small sizes and the head, every fifth and the last in between.
	step=5
	[ "$size" -le 16 ] || [ "$size" -eq "$HEAD" ] && step=1
	for seq in $( (seq 1 "$step" "$size"; echo "$size") | sort -un); do
		audit prove "$DATA" "$seq" "$size" | { tr -d '\n'; echo; } \
		    >>"$TEST_DIR/proofs.jsonl" || die "prove $seq $size failed"
	done
	audit consistency "$DATA" "$size" "$HEAD" | { tr -d '\n'; echo; } \
	    >>"$TEST_DIR/proofs.jsonl" || die "consistency $size $HEAD failed"
done
audit prove "$DATA" 1 | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["tree_size"] == int(sys.argv[1]), d' "$HEAD" ||
    die "prove without SIZE must prove against the head"

"$PY" - "$REPO/tests" "$TEST_DIR/proofs.jsonl" "$HEAD" <<'PY' || die "the Python verifier refused a proof"
import json, sys
sys.path.insert(0, sys.argv[1])
import merkle_crosscheck as m
head = int(sys.argv[3])
roots, leaves, n_inc, n_cons = {}, {}, 0, 0
records = [json.loads(l) for l in open(sys.argv[2])]
for r in records:
    if "seq" in r:
        assert r["leaf_index"] == r["seq"] - 1, r
        path = [bytes.fromhex(h) for h in r["hashes"]]
        leaf, root = bytes.fromhex(r["leaf_hash"]), bytes.fromhex(r["root"])
        assert m.verify_inclusion(r["leaf_index"], r["tree_size"], leaf, path, root), r
        if path:
            bad = [bytearray(p) for p in path]
            bad[0][0] ^= 1
            assert not m.verify_inclusion(r["leaf_index"], r["tree_size"], leaf,
                                          [bytes(p) for p in bad], root), r
        assert roots.setdefault(r["tree_size"], root) == root, ("two roots", r)
        assert leaves.setdefault(r["seq"], leaf) == leaf, ("two leaf hashes", r)
        n_inc += 1
for r in records:
    if "old_size" in r:
        path = [bytes.fromhex(h) for h in r["hashes"]]
        old, new = bytes.fromhex(r["old_root"]), bytes.fromhex(r["new_root"])
        assert r["new_size"] == head
        assert old == roots[r["old_size"]] and new == roots[head], r
        assert m.verify_consistency(r["old_size"], r["new_size"], path, old, new), r
        if path:
            bad = [bytearray(p) for p in path]
            bad[-1][31] ^= 0x80
            assert not m.verify_consistency(r["old_size"], r["new_size"],
                                            [bytes(p) for p in bad], old, new), r
        n_cons += 1
assert len(set(leaves.values())) == head
assert set(roots) == set(range(1, head + 1)) and n_cons == head, (sorted(roots), n_cons)
print(n_inc, "inclusion and", n_cons, "consistency proofs verified")
PY

for args in "prove $DATA 0" "prove $DATA 1 $((HEAD + 1))" "prove $DATA 3 2" \
    "consistency $DATA 3 2" "consistency $DATA 1 $((HEAD + 1))" "prove $DATA x"; do
	rc=0
	# shellcheck disable=SC2086
	audit $args >/dev/null 2>&1 || rc=$?
	assert_eq 2 "$rc" "exit status of cluebus-audit $args"
done
ROOT=$(audit prove "$DATA" 1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["root"])')
audit verify "$DATA" >"$TEST_DIR/clean.out" || die "the untouched log must verify: $(cat "$TEST_DIR/clean.out")"
grep -q "^OK .*; tree root $ROOT\$" "$TEST_DIR/clean.out" ||
    die "verify must print the tree root $ROOT: $(cat "$TEST_DIR/clean.out")"

SEQ=$((HEAD / 2))
cp -a "$DATA" "$TEST_DIR/node"
"$CLUEBUS_TEST_TOOLS/tamper" node "$TEST_DIR/node" "$SEQ" >/dev/null
for mode in "" --chain-only; do
	rc=0
	# shellcheck disable=SC2086
	audit verify "$TEST_DIR/node" $mode >"$TEST_DIR/node.out" 2>&1 || rc=$?
	say "verify $mode after a flipped node: $(cat "$TEST_DIR/node.out")"
	assert_eq 1 "$rc" "exit status of verify $mode on a flipped node"
	grep -q "^FAIL seq $SEQ: the stored Merkle tree" "$TEST_DIR/node.out" ||
	    die "verify $mode must name seq $SEQ: $(cat "$TEST_DIR/node.out")"
done
finish
