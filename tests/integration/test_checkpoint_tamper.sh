#!/usr/bin/env bash
# The tamper matrix (docs/audit.md §7.8) on copies of a real log: six clues from health,
# each receipt with its inclusion proof, checkpoints stored every 100 ms, psb's held
# checkpoint and health's receipts kept as the agencies' evidence. Then, on copies:
#   truncate the tail              verify (stored checkpoints) fails at the first removed
#                                  entry; with the checkpoints deleted too, verify passes
#                                  and verify --receipts names it
#   delete a middle entry and      verify fails (a stored checkpoint's root); with the
#   rebuild everything after it    checkpoints deleted, verify --receipts names the entry
#   swap two entries               the same; --receipts names the earlier one
#   flip a byte in a body          verify names the entry
#   flip a byte of a tree node     verify names the entry
#   flip a byte in a checkpoint    verify names the checkpoint (its tree size)
# and the untouched copy passes both. check-receipt refuses a receipt whose proof was
# altered.
. "$(dirname "$0")/lib.sh"

deploy ipc "checkpoint_interval_ms = 100;"
start_all health psb
SENT=$(spool health)/sent
has_proof() { grep -q '"proof"' "$SENT/$1.receipt.json" 2>/dev/null; }
for i in 1 2 3 4 5 6; do
	drop health "c$i.json" "$(clue_json medical 210302 "clue $i")"
	wait_for 60 "c$i's proof" has_proof "c$i.json"
done
stop_all
seq_of() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' \
    "$SENT/$1.receipt.json"; }
R2=$(seq_of c2.json); R3=$(seq_of c3.json); R4=$(seq_of c4.json); R6=$(seq_of c6.json)
EVID=$TEST_DIR/evidence
mkdir -p "$EVID/health" "$EVID/psb"
cp "$SENT"/*.receipt.json "$EVID/health/"
cp "$D/state/psb/checkpoint.note" "$EVID/psb/psb.note"
say "receipts at seqs $R2 $R3 $R4 .. $R6; psb holds size $(sed -n 2p "$EVID/psb/psb.note")"

T=$CLUEBUS_TEST_TOOLS
copy() { rm -rf "$TEST_DIR/$1"; cp -a "$D/data" "$TEST_DIR/$1"; }

# fails NAME SEQ [ARGS]: verify of copy NAME exits 1 and its first FAIL line names SEQ.
fails() {
	local name=$1 seq=$2 rc=0 first
	shift 2
	audit verify "$TEST_DIR/$name" "$@" >"$TEST_DIR/$name.out" 2>&1 || rc=$?
	assert_eq 1 "$rc" "verify $name $* (output: $(head -3 "$TEST_DIR/$name.out"))"
	first=$(grep -m1 '^FAIL' "$TEST_DIR/$name.out")
	case $first in
	"FAIL seq $seq:"*) say "$name: $first" ;;
	*) die "$name: expected FAIL seq $seq first, got: $first" ;;
	esac
}
passes() {
	audit verify "$TEST_DIR/$1" "${@:2}" >"$TEST_DIR/$1.ok" 2>&1 ||
	    die "verify $1 ${*:2} must pass: $(cat "$TEST_DIR/$1.ok")"
}

copy clean
passes clean
passes clean --receipts "$EVID"
grep -q "^OK .*receipts .* consistent with the log" "$TEST_DIR/clean.ok" ||
    die "no receipts summary: $(cat "$TEST_DIR/clean.ok")"

# Truncate the tail (entries R6..head).
copy cut
"$T/rewrite" truncate "$TEST_DIR/cut" "$R6" >/dev/null
fails cut "$R6"
"$T/rewrite" uncheckpoint "$TEST_DIR/cut" >/dev/null
passes cut
fails cut "$R6" --receipts "$EVID"

# Delete a middle entry (c3's) and rebuild the chain, the tree and the indexes.
copy removed
"$T/rewrite" remove "$TEST_DIR/removed" "$R3" >/dev/null
rc=0; audit verify "$TEST_DIR/removed" >"$TEST_DIR/removed.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "verify after removing entry $R3 (stored checkpoints)"
say "removed: $(grep -m1 '^FAIL' "$TEST_DIR/removed.out")"
"$T/rewrite" uncheckpoint "$TEST_DIR/removed" >/dev/null
passes removed
fails removed "$R3" --receipts "$EVID"
# With --json, stdout is the one object (first_bad seq 0: the log itself checks out) and the
# FAIL line naming the entry goes to stderr.
rc=0
audit verify "$TEST_DIR/removed" --receipts "$EVID" --json >"$TEST_DIR/removed.json" \
    2>"$TEST_DIR/removed.err" || rc=$?
assert_eq 1 "$rc" "verify --json --receipts after removing entry $R3"
"$PY" - "$TEST_DIR/removed.json" <<'PY' || die "verify --json stdout: $(cat "$TEST_DIR/removed.json")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["first_bad"]["seq"] == 0, o
PY
grep -q "^FAIL seq $R3:" "$TEST_DIR/removed.err" ||
    die "verify --json: no FAIL line for $R3 on stderr: $(cat "$TEST_DIR/removed.err")"

# Swap two entries (c2's and c4's).
copy swapped
"$T/rewrite" swap "$TEST_DIR/swapped" "$R2" "$R4" >/dev/null
rc=0; audit verify "$TEST_DIR/swapped" >"$TEST_DIR/swapped.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "verify after swapping $R2 and $R4 (stored checkpoints)"
"$T/rewrite" uncheckpoint "$TEST_DIR/swapped" >/dev/null
passes swapped
fails swapped "$R2" --receipts "$EVID"

# A byte of a body, of a tree node's hash, of a stored checkpoint.
copy body
"$T/tamper" flip "$TEST_DIR/body" "$R4" >/dev/null
fails body "$R4"
copy node
"$T/tamper" node "$TEST_DIR/node" "$R3" >/dev/null
fails node "$R3"
copy ckpt
CK=$("$T/rewrite" ckflip "$TEST_DIR/ckpt" | sed -n 's/.*tree size \([0-9]*\)$/\1/p')
fails ckpt "$CK"
grep -q "does not verify" "$TEST_DIR/ckpt.out" || die "ckpt: $(cat "$TEST_DIR/ckpt.out")"

# A receipt whose proof was altered is refused offline.
"$PY" - "$EVID/health/c2.json.receipt.json" "$TEST_DIR/bad.receipt.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["proof"]["hashes"][0]
r["proof"]["hashes"][0] = ("0" if h[0] != "0" else "1") + h[1:]
json.dump(r, open(sys.argv[2], "w"))
PY
rc=0; audit check-receipt "$TEST_DIR/bad.receipt.json" --registry "$D/registry.json" \
    >"$TEST_DIR/bad.out" || rc=$?
assert_eq 1 "$rc" "check-receipt of an altered proof"
grep -q "^FAIL .*proof.hashes" "$TEST_DIR/bad.out" || die "check-receipt: $(cat "$TEST_DIR/bad.out")"
audit check-receipt "$EVID/health/c2.json.receipt.json" "$EVID/psb/psb.note" \
    --registry "$D/registry.json" >"$TEST_DIR/good.out" || die "$(cat "$TEST_DIR/good.out")"
check_logs
say "ok"
