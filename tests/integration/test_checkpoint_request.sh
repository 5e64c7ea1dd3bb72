#!/usr/bin/env bash
# docs/protocol.md §8a is enough to check the broker's checkpoints and proofs from another
# language: the Python client (tests/pyclient, RFC 9162 verifiers of
# tests/merkle_crosscheck.py) asks for the latest checkpoint and checks its signature with
# the registry's broker key, the consistency proof from an older size (its root from
# `cluebus-audit consistency`) and the inclusion proof of its own clue. And the broker's
# answer to hostile requests stays bounded:
#   - a size above the broker's: the note, no consistency proof, the size echoed;
#   - seqs 0, beyond the tree, and 70 of them: at most 64 proofs, each within the tree;
#   - a request before hello: Rejected NOT_AUTHENTICATED;
#   - 200 requests at once from one unit: about the burst of 20 answered, the rest dropped
#     and said in the broker's log once the unit asks within its rate again.
# The Python check is shown to fail on a wrong old root.
. "$(dirname "$0")/lib.sh"

PYDEB=/usr/bin/python3
CLIENT=$REPO/tests/pyclient/cluebus_client.py
"$PYDEB" -c 'import zmq, google.protobuf, cryptography' ||
    die "python3-zmq, python3-protobuf or python3-cryptography is missing (scripts/deps.sh)"
mkdir -p "$TEST_DIR/pb"
protoc --python_out="$TEST_DIR/pb" --proto_path="$REPO/proto" "$REPO/proto/cluebus.proto"

deploy ipc
start_all psb
py() {
	"$PYDEB" "$CLIENT" --pb-dir "$TEST_DIR/pb" --endpoint "$ENDPOINT" --unit health \
	    --key "$D/keys/health.key" --curve "$D/keys/health.curve" \
	    --registry "$D/registry.json" "$@"
}
ctl() { "$CLUEBUS_BIN/cluebus-ctl" -c "$D/broker.conf" "$@"; }
field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

OUT=$(py publish --summary "for the proofs" --category medical) || die "publish: $OUT"
SEQ=$(echo "$OUT" | sed -n 's/^accepted [0-9a-f]* seq \([0-9]*\)$/\1/p')
[ -n "$SEQ" ] || die "publish: $OUT"
ctl checkpoint >/dev/null || die "ctl checkpoint failed"
OLD=$((SEQ - 3))
OLD_ROOT=$(audit consistency "$D/data" "$OLD" "$SEQ" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["old_root"])')

ANS=$(py checkpoint --have-size "$OLD" --old-root "$OLD_ROOT" --prove "$SEQ") ||
    die "the Python client could not verify the broker's checkpoint and proofs: $ANS"
say "checkpoint from Python: $ANS"
SIZE=$(field "$ANS" size)
[ "$SIZE" -ge "$SEQ" ] || die "the checkpoint does not cover seq $SEQ: $ANS"
assert_eq "[$SEQ]" "$(field "$ANS" inclusions)" "inclusion proofs answered"
[ "$(field "$ANS" consistency)" -gt 0 ] || die "no consistency proof from $OLD: $ANS"
# The client's check can fail: another old root does not verify.
BAD_ROOT=$("$PY" -c 'import sys; r = sys.argv[1]; print(r[:-1] + ("0" if r[-1] != "0" else "1"))' "$OLD_ROOT")
rc=0; py checkpoint --have-size "$OLD" --old-root "$BAD_ROOT" >/dev/null || rc=$?
assert_eq 1 "$rc" "the Python check with a wrong old root"

# Hostile requests.
ANS=$(py checkpoint --have-size 9223372036854775807) || die "a huge have_size: $ANS"
assert_eq 9223372036854775807 "$(field "$ANS" old_size)" "old_size echoed"
assert_eq 0 "$(field "$ANS" consistency)" "no consistency proof to a smaller tree"
PROVE=(--prove 0 --prove 99999999)
for ((i = 1; i <= 70; i++)); do PROVE+=(--prove "$i"); done
ANS=$(py checkpoint "${PROVE[@]}") || die "70 seqs: $ANS"
"$PY" - "$ANS" <<'PY' || die "the broker's answer to 70 seqs: $ANS"
import json, sys
a = json.loads(sys.argv[1])
assert len(a["inclusions"]) <= 64, a
assert all(1 <= s <= a["size"] for s in a["inclusions"]), a
PY
ANS=$(py checkpoint --no-hello)
assert_eq "rejected REJECT_NOT_AUTHENTICATED" "$ANS" "a request before hello"
# A flood of requests from one unit: at most about the burst of 20 is answered (the unit
# asked a few times above), the rest dropped and counted; after a pause the unit is
# answered again, and the broker says how many it dropped.
ANS=$(py checkpoint --flood 200) || die "the flood: $ANS"
"$PY" - "$ANS" <<'PY' || die "the broker's answers to 200 requests at once: $ANS"
import json, sys
a = json.loads(sys.argv[1])
assert 10 <= a["answered"] <= 60, a
PY
sleep 1
ANS=$(py checkpoint) || die "a request after the flood: $ANS"
wait_for 10 "the broker to say it dropped requests" \
    grep -q 'health: [0-9]* directory or checkpoint requests dropped' "$LOGS/broker.log"
ctl status >/dev/null || die "the broker stopped answering"
finish
