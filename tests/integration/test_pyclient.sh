#!/usr/bin/env bash
# A client in another language, written from docs/protocol.md alone
# (tests/pyclient/cluebus_client.py, Debian's python3-zmq, python3-protobuf and
# python3-cryptography, the protobuf module generated here with protoc --python_out):
#   - it reproduces every test vector of the document;
#   - a Hello of another protocol version, or with a 3-byte nonce, is refused with the code
#     and field the document names (BAD_PROTOCOL / protocol, MALFORMED / nonce);
#   - as health it publishes a signed clue that the broker accepts and psb's agent receives
#     (signature verified by the agent);
#   - as health's receiving client it gets the clue psb sends, verifies the signature with
#     psb's key from the registry file and acknowledges it: the log records the ack, and a
#     second run receives nothing more.
. "$(dirname "$0")/lib.sh"

# Debian's interpreter, where the python3-* packages are (not a pyenv or venv first in PATH).
PYDEB=/usr/bin/python3
CLIENT=$REPO/tests/pyclient/cluebus_client.py
command -v protoc >/dev/null || die "protoc is missing (protobuf-compiler; scripts/deps.sh)"
"$PYDEB" -c 'import zmq, google.protobuf, cryptography' ||
    die "python3-zmq, python3-protobuf or python3-cryptography is missing (scripts/deps.sh)"
mkdir -p "$TEST_DIR/pb"
protoc --python_out="$TEST_DIR/pb" --proto_path="$REPO/proto" "$REPO/proto/cluebus.proto"

"$PYDEB" "$CLIENT" --pb-dir "$TEST_DIR/pb" vectors --doc "$REPO/docs/protocol.md" ||
    die "the Python client does not reproduce docs/protocol.md's test vectors"

deploy ipc
start_broker
start_agent psb
wait_connected psb
py() {
	"$PYDEB" "$CLIENT" --pb-dir "$TEST_DIR/pb" --endpoint "$ENDPOINT" --unit health \
	    --key "$D/keys/health.key" --curve "$D/keys/health.curve" \
	    --registry "$D/registry.json" "$@"
}

# Hellos the broker must refuse, each with its code and field (docs/protocol.md section 4),
# and the one it welcomes.
hello() { py hello "$@" 2>&1; }
for proto in 0 2 99; do
	out=$(hello --protocol "$proto")
	[[ $out == "rejected REJECT_BAD_PROTOCOL protocol hello=True: protocol $proto is not"* ]] ||
	    die "a hello of protocol $proto: $out"
done
out=$(hello --nonce-len 3)
[[ $out == "rejected REJECT_MALFORMED nonce hello=True: nonce is 3 bytes, must be 16" ]] ||
    die "a hello with a 3-byte nonce: $out"
[ "$(hello)" = welcome ] || die "a good hello was not welcomed: $(hello)"

# Publish: accepted, and delivered to psb with its signature verified by psb's agent.
py publish --summary "published from Python" >"$TEST_DIR/publish.out" 2>"$TEST_DIR/publish.err" ||
    die "python publish failed: $(cat "$TEST_DIR/publish.out" "$TEST_DIR/publish.err")"
read -r word MSGID seqword SEQ <"$TEST_DIR/publish.out" || true
[ "$word $seqword" = "accepted seq" ] || die "expected 'accepted MSGID seq N': $(cat "$TEST_DIR/publish.out")"
FILE=$(spool psb)/out/$(printf '%020d' "$SEQ")-clue-$MSGID.json
wait_for 60 "the Python clue at psb" test -f "$FILE"
"$PY" - "$FILE" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["sender"] == "health", doc
assert doc["message"]["clue"]["summary"] == "published from Python", doc["message"]
assert doc["signature"]["agent_check"] == "verified", doc["signature"]
PY

# Receive: psb sends a fake-paternity clue (routed to health); the Python client gets it,
# verifies it and acknowledges it.
drop psb fp.json "$(clue_json fake_paternity 210303 "for health")"
py receive --count 1 --timeout 60 >"$TEST_DIR/receive.out" 2>"$TEST_DIR/receive.err" ||
    die "python receive failed: $(cat "$TEST_DIR/receive.out" "$TEST_DIR/receive.err")"
grep -q '^message [0-9]* clue [0-9a-f]\{32\} from psb signature verified$' \
    "$TEST_DIR/receive.out" || die "unexpected delivery: $(cat "$TEST_DIR/receive.out")"
read -r _ RSEQ _ <"$TEST_DIR/receive.out"

# _acked SEQ: the log holds an ack by health covering SEQ.
_acked() {
	replay_json "$TEST_DIR/replay.jsonl"
	"$PY" - "$TEST_DIR/replay.jsonl" "$1" <<'PY'
import json, sys
acks = [json.loads(l) for l in open(sys.argv[1])]
acks = [e for e in acks if e.get("type") == "ack" and e.get("unit") == "health"]
sys.exit(0 if any(int(sys.argv[2]) in e.get("acked", []) for e in acks) else 1)
PY
}

# Acknowledged: the log has health's ack of that seq, and nothing comes again.
wait_for 30 "health's ack in the log" _acked "$RSEQ"
! py receive --count 1 --timeout 3 >"$TEST_DIR/receive2.out" 2>>"$TEST_DIR/receive.err" ||
    die "an acknowledged delivery came again: $(cat "$TEST_DIR/receive2.out")"
finish
