#!/usr/bin/env bash
# The C client library, through examples/publish.c: `example-publish -c health.conf FILE`
# publishes the document (while health's own agent runs on the same unit), prints
# "accepted MSGID seq N" and exits 0; psb's agent receives exactly that message at seq N,
# health's agent keeps its deliveries, and the log records it once.
. "$(dirname "$0")/lib.sh"

EXAMPLE=$CLUEBUS_BIN/example-publish
[ -x "$EXAMPLE" ] || die "$EXAMPLE is missing (examples/publish.c not built)"

deploy ipc
start_all psb health

# A clue the example publishes, and one for health (fake_paternity routes to health) that
# must reach health's agent, not the example's publish-only connection.
clue_json school 210302 "published through the client library" >"$TEST_DIR/clue.json"
"$EXAMPLE" -c "$D/health.agent.conf" "$TEST_DIR/clue.json" >"$TEST_DIR/example.out" \
    2>"$TEST_DIR/example.err" || die "example-publish failed: $(cat "$TEST_DIR/example.out" "$TEST_DIR/example.err")"
say "example-publish: $(cat "$TEST_DIR/example.out")"
read -r word MSGID seqword SEQ rest <"$TEST_DIR/example.out" || true
if ! { [ "$word $seqword" = "accepted seq" ] && [ -z "${rest:-}" ] &&
    [[ $MSGID =~ ^[0-9a-f]{32}$ ]] && [[ $SEQ =~ ^[0-9]+$ ]]; }; then
	die "expected 'accepted MSGID seq N', got: $(cat "$TEST_DIR/example.out")"
fi
[ "$(wc -l <"$TEST_DIR/example.out")" -eq 1 ] || die "one line expected: $(cat "$TEST_DIR/example.out")"

OUT=$(spool psb)/out
wait_for 60 "the message at psb" files_at_least "$OUT" '*.json' 1
FILE=$OUT/$(printf '%020d' "$SEQ")-clue-$MSGID.json
[ -f "$FILE" ] || die "psb's out/ lacks $FILE: $(ls "$OUT")"
"$PY" - "$FILE" "$MSGID" "$SEQ" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["seq"] == int(sys.argv[3]) and doc["sender"] == "health", doc
assert doc["message"]["message_id"] == sys.argv[2], doc["message"]
assert doc["message"]["clue"]["summary"] == "published through the client library"
assert doc["signature"]["agent_check"] == "verified", doc["signature"]
PY
# education (school) is routed but has no agent; health's own spool saw nothing.
assert_eq 0 "$(count_files "$(spool health)/sent")" "files in health's sent/"

# health's agent still receives: the example's connection did not take its deliveries.
drop psb "fp.json" "$(clue_json fake_paternity 210303 "for health")"
wait_for 60 "the message at health" files_at_least "$(spool health)/out" '*.json' 1

stop_broker
replay_json "$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR/replay.jsonl" "$MSGID" "$SEQ" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
mine = [e for e in entries if e.get("message_id") == sys.argv[2]]
assert len(mine) == 1 and mine[0]["type"] == "message", mine
assert mine[0]["seq"] == int(sys.argv[3]) and mine[0]["sender"] == "health", mine[0]
assert sorted(mine[0]["recipients"]) == ["ato", "ato-210302", "education", "psb"], mine[0]
PY
audit verify "$D/data"
finish
