#!/usr/bin/env bash
# cluebus-audit verify names the damaged entry of a stopped broker's log: one flipped byte
# in entry SEQ ("FAIL seq SEQ", exit 1), entry SEQ rewritten with its own hash recomputed
# (exit 1, SEQ named: the next entry no longer links to it), entry SEQ deleted (exit 1, the
# gap named); the untouched log still verifies (exit 0), also with the broker key pinned,
# and fails at seq 1 pinned to another key; usage errors and an unreadable data directory
# exit 2. An entry dropped from the broker's dedup or registry index is named too.
. "$(dirname "$0")/lib.sh"

deploy ipc
start_all health psb
for i in 1 2 3 4 5; do
	drop health "clue-$i.json" "$(clue_json public_tip 210303 "tamper test $i")"
done
wait_for 60 "5 receipts" files_at_least "$(spool health)/sent" '*.receipt.json' 5
wait_for 60 "5 messages at psb" files_at_least "$(spool psb)/out" '*.json' 5
stop_agent psb
stop_agent health
stop_broker

DATA=$D/data
audit verify "$DATA" >"$TEST_DIR/clean.out" || die "the untouched log must verify: $(cat "$TEST_DIR/clean.out")"
grep -q '^OK ' "$TEST_DIR/clean.out" || die "verify printed: $(cat "$TEST_DIR/clean.out")"

# SEQ: the third clue's entry, with entries after it; LAST: the head.
replay_json "$TEST_DIR/replay.jsonl"
read -r SEQ LAST < <("$PY" - "$TEST_DIR/replay.jsonl" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
msgs = [e["seq"] for e in entries if e["type"] == "message"]
assert len(msgs) == 5, msgs
print(msgs[2], entries[-1]["seq"])
PY
)
[ "$SEQ" -lt "$LAST" ] || die "entry $SEQ must not be the last ($LAST)"
say "tampering with entry $SEQ of $LAST"

# verify_fails DIR SEQ: exit status 1 and a "FAIL seq SEQ: reason" line.
verify_fails() {
	local rc=0
	audit verify "$1" >"$TEST_DIR/verify.out" 2>&1 || rc=$?
	say "verify $(basename "$1"): $(cat "$TEST_DIR/verify.out")"
	assert_eq 1 "$rc" "exit status of verify on $(basename "$1")"
	grep -q "^FAIL seq $2: " "$TEST_DIR/verify.out" ||
	    die "verify of $(basename "$1") must name seq $2: $(cat "$TEST_DIR/verify.out")"
}

for op in flip rewrite delete; do
	cp -a "$DATA" "$TEST_DIR/$op"
	"$CLUEBUS_TEST_TOOLS/tamper" "$op" "$TEST_DIR/$op" "$SEQ" >/dev/null
	verify_fails "$TEST_DIR/$op" "$SEQ"
	# The chain-only mode (no signatures) sees it too.
	rc=0
	audit verify "$TEST_DIR/$op" --chain-only >/dev/null 2>&1 || rc=$?
	assert_eq 1 "$rc" "exit status of verify --chain-only on $op"
done
# The broker's indexes out of step with the log: entry 2 (a registry record of the genesis:
# the broker would not know that unit at its next start) and SEQ (a message the broker
# would accept again as new) each dropped from them. Chain and signatures still hold; only
# verify's index check tells, and it names the entry.
for seq in 2 "$SEQ"; do
	cp -a "$DATA" "$TEST_DIR/unindex-$seq"
	"$CLUEBUS_TEST_TOOLS/tamper" unindex "$TEST_DIR/unindex-$seq" "$seq" >/dev/null
	verify_fails "$TEST_DIR/unindex-$seq" "$seq"
	grep -q "index" "$TEST_DIR/verify.out" || die "the reason must name the index: $(cat "$TEST_DIR/verify.out")"
	audit verify "$TEST_DIR/unindex-$seq" --chain-only >/dev/null ||
	    die "--chain-only does not read the indexes and must pass"
done
# The original is untouched by all this; pinned to the broker's own key it verifies, pinned
# to another key it fails at the genesis entry.
audit verify "$DATA" >/dev/null || die "the original log no longer verifies"
pubhex() {	# the raw Ed25519 public key of a PEM file, as hex (last 32 bytes of the DER)
	"$PY" -c 'import base64, sys
pem = open(sys.argv[1]).read().split("-----")[2]
print(base64.b64decode("".join(pem.split()))[-32:].hex())' "$1"
}
audit verify "$DATA" --broker-key "$(pubhex "$D/keys/broker.pub")" >/dev/null ||
    die "verify with the broker's key pinned failed"
rc=0
audit verify "$DATA" --broker-key "$(pubhex "$D/keys/psb.pub")" >"$TEST_DIR/verify.out" || rc=$?
assert_eq 1 "$rc" "exit status of verify pinned to another key"
grep -q '^FAIL seq 1: ' "$TEST_DIR/verify.out" || die "pinned: $(cat "$TEST_DIR/verify.out")"

# Usage errors and unreadable data directories: exit 2.
expect_2() {
	local rc=0
	"$@" >/dev/null 2>&1 || rc=$?
	assert_eq 2 "$rc" "exit status of: $*"
}
expect_2 audit
expect_2 audit verify
expect_2 audit frobnicate "$DATA"
expect_2 audit verify "$DATA" --no-such-option
expect_2 audit verify "$DATA" extra-argument
expect_2 audit verify "$DATA" --broker-key nothex
expect_2 audit verify "$TEST_DIR/no-such-dir"
expect_2 audit replay "$TEST_DIR/no-such-dir"
expect_2 "$CLUEBUS_TEST_TOOLS/tamper" flip "$TEST_DIR/flip"
expect_2 "$CLUEBUS_TEST_TOOLS/tamper" smash "$TEST_DIR/flip" "$SEQ"
expect_2 "$CLUEBUS_TEST_TOOLS/tamper" flip "$TEST_DIR/flip" 0
finish
