#!/usr/bin/env bash
# The broker's signing key is the one its log registered, and only an explicit rotation
# changes it:
#   - pointing `key` at another valid key (a typo, a restored backup) makes the broker
#     refuse to start, naming both key ids and the command that rotates; --check says the
#     same; nothing is appended to the log;
#   - a rotation whose endpoint cannot be bound writes nothing either (every start-up
#     check comes before the first append);
#   - `--rotate-key OLD_KEY` logs the new key in a record signed by the old one: the broker
#     then runs on the new key, agents go on publishing, and `cluebus-audit verify` walks
#     across the rotation (the checkpoints signed with either key included); the old key is
#     refused from then on.
# Also: another administrator's key is refused without --replace-admin-key.
. "$(dirname "$0")/lib.sh"

deploy tcp
start_all health psb
K=$D/keys
entries() { audit replay "$D/data" | wc -l; }
drop health c1.json "$(clue_json medical 210302 "before the rotation")"
wait_for 60 "the first receipt" files_at_least "$(spool health)/sent" '*.receipt.json' 1
stop_all

"$CLUEBUS_BIN/cluebus-keygen" key newbroker "$K" >/dev/null
sed 's#keys/broker\.key#keys/newbroker.key#' "$D/broker.conf" >"$D/broker-new.conf"
chmod 600 "$D/broker-new.conf"
HEAD=$(entries)

# broker_fails NAME PATTERN ARGS...: the broker exits non-zero saying PATTERN, log unchanged.
broker_fails() {
	local name=$1 pattern=$2 rc=0
	shift 2
	"$CLUEBUS_BIN/cluebus-broker" "$@" >"$TEST_DIR/$name.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || die "$name: the broker started: $(cat "$TEST_DIR/$name.out")"
	grep -Eq -e "$pattern" "$TEST_DIR/$name.out" ||
	    die "$name: expected /$pattern/: $(tail -3 "$TEST_DIR/$name.out")"
	assert_eq "$HEAD" "$(entries)" "log entries after $name"
	say "$name refused: $(grep -E -e "$pattern" "$TEST_DIR/$name.out" | head -1)"
}

broker_fails wrong-key 'key id [0-9a-f]{16}.*not the registered broker keys \(key id [0-9a-f]{16}\).*--rotate-key OLD_KEY_FILE' \
    -c "$D/broker-new.conf"
grep -q "signing .*newbroker.key, key id" "$TEST_DIR/wrong-key.out" ||
    die "the refusal must name the configured key file: $(cat "$TEST_DIR/wrong-key.out")"
broker_fails check-wrong-key "not the registered broker keys" --check -c "$D/broker-new.conf"

# A rotation that cannot bind its endpoint appends nothing.
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' \
    "${ENDPOINT##*:}" &
HOLDER=$!
sleep 0.5
broker_fails busy-port "cannot open" --rotate-key "$K/broker.key" -c "$D/broker-new.conf"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true

# A rotation signed by a key that is not the registered one is refused.
"$CLUEBUS_BIN/cluebus-keygen" key stranger "$K" >/dev/null
broker_fails rotate-stranger "--rotate-key: key id [0-9a-f]{16} is not the registered" \
    --rotate-key "$K/stranger.key" -c "$D/broker-new.conf"

# Another administrator's key is refused without --replace-admin-key.
sed 's#keys/admin\.pub#keys/stranger.pub#' "$D/broker.conf" >"$D/broker-admin.conf"
chmod 600 "$D/broker-admin.conf"
broker_fails other-admin "administrator's key .* is not the registered one" \
    -c "$D/broker-admin.conf"

# The explicit rotation: one record, signed by the old key.
cp "$D/broker-new.conf" "$D/broker.conf"
proc_start_ready broker "$LOGS/broker.log" "$DEPLOY_BROKER_READY" 60 \
    "$CLUEBUS_BIN/cluebus-broker" --rotate-key "$K/broker.key" -c "$D/broker.conf" ||
    die "the rotation did not start"
grep -q "rotating the broker key from key id" "$LOGS/broker.log" || die "no rotation logged"
start_agent health
start_agent psb
wait_connected health psb
drop health c2.json "$(clue_json medical 210302 "after the rotation")"
wait_for 60 "the second receipt" files_at_least "$(spool health)/sent" '*.receipt.json' 2
wait_for 60 "both clues at psb" files_at_least "$(spool psb)/out" '*.json' 2
stop_all
audit verify "$D/data" >"$TEST_DIR/verify.out" ||
    die "verify across the rotation: $(cat "$TEST_DIR/verify.out")"
say "verify: $(cat "$TEST_DIR/verify.out")"
# The checkpoints signed before the rotation (old key) and after it (new key) all verify.
NCK=$(sed -n 's/^OK \([0-9]*\) stored checkpoints signed.*/\1/p' "$TEST_DIR/verify.out")
[ "${NCK:-0}" -ge 2 ] || die "expected checkpoints from both keys: $(cat "$TEST_DIR/verify.out")"
audit replay "$D/data" --json >"$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR/replay.jsonl" "$HEAD" <<'EOF'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
head = int(sys.argv[2])
rot = entries[head]
assert rot["type"] == "broker" and rot["kind"] == "registry", rot
assert sum(1 for e in entries if e.get("kind") == "registry" and e["seq"] > head) == 1
EOF

# From now on the new key is the registered one, and the old one is refused.
HEAD=$(entries)
start_broker
stop_broker
assert_eq "$HEAD" "$(entries)" "entries after a restart on the new key"
sed 's#keys/newbroker\.key#keys/broker.key#' "$D/broker.conf" >"$D/broker-old.conf"
chmod 600 "$D/broker-old.conf"
broker_fails old-key "not the registered broker keys" -c "$D/broker-old.conf"
finish
