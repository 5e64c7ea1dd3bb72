#!/usr/bin/env bash
# An attacker with disk access who changes a signed entry and rebuilds the chain after it
# (every later hash and link recomputed: `tamper forge`) is caught by the signatures alone:
# cluebus-audit verify fails at exactly that entry (exit 1, "signature does not verify"),
# also when it lies in a later batch of the auditor's overlapped checks (512 signatures per
# batch; this log has 1,300 signed messages), and of two forged entries in different
# batches it names the earlier one. The chain check (--chain-only) passes on the same
# copies, as it must: it checks no signature.
. "$(dirname "$0")/lib.sh"

N=1300
deploy ipc
start_broker
drop_clues health "$N" medical 210302
start_agent health
wait_connected health
wait_for 300 "$N receipts in health's sent/" files_at_least "$(spool health)/sent" '*.receipt.json' "$N"
stop_agent health
stop_broker

DATA=$D/data
audit verify "$DATA" >"$TEST_DIR/clean.out" || die "the untouched log must verify: $(cat "$TEST_DIR/clean.out")"

# Three message entries: in the auditor's first, second and third batch of signatures.
replay_json "$TEST_DIR/replay.jsonl"
read -r S1 S2 S3 < <("$PY" - "$TEST_DIR/replay.jsonl" "$N" <<'PY'
import json, sys
msgs = [e["seq"] for e in map(json.loads, open(sys.argv[1])) if e["type"] == "message"]
assert len(msgs) == int(sys.argv[2]), len(msgs)
print(msgs[100], msgs[700], msgs[1250])
PY
)
say "forging entries $S1, $S2 and $S3"

# forged NAME SEQ...: a copy of the log with each SEQ forged (the later rebuilds keep the
# earlier bad signatures: a rebuild starts at its own entry).
forged() {
	local name=$1 seq
	shift
	cp -a "$DATA" "$TEST_DIR/$name"
	for seq in "$@"; do
		"$CLUEBUS_TEST_TOOLS/tamper" forge "$TEST_DIR/$name" "$seq" >/dev/null ||
		    die "tamper forge $seq failed"
	done
}

# verify_names NAME SEQ: verify exits 1 naming SEQ's signature; --chain-only exits 0.
verify_names() {
	local rc=0
	audit verify "$TEST_DIR/$1" >"$TEST_DIR/$1.out" 2>&1 || rc=$?
	say "verify $1: $(cat "$TEST_DIR/$1.out")"
	assert_eq 1 "$rc" "exit status of verify on $1"
	grep -q "^FAIL seq $2: signature does not verify" "$TEST_DIR/$1.out" ||
	    die "verify of $1 must name the signature of seq $2: $(cat "$TEST_DIR/$1.out")"
	audit verify "$TEST_DIR/$1" --chain-only >"$TEST_DIR/$1.chain.out" 2>&1 ||
	    die "the chain of $1 was rebuilt and must check: $(cat "$TEST_DIR/$1.chain.out")"
}

forged third "$S3"
verify_names third "$S3"
forged second "$S2"
verify_names second "$S2"
forged two "$S3" "$S1"
verify_names two "$S1"
audit verify "$DATA" >/dev/null || die "the original log no longer verifies"
finish
