#!/usr/bin/env bash
# A `medical` clue for jurisdiction 210302 dropped into health's spool reaches exactly psb,
# ato and ato-210302 (the category's units, the city office, the district office), verified
# by each receiving agent; running agents outside the route (education, ato-210303) get
# nothing; health's receipt names the same seq as the deliveries; the log verifies.
. "$(dirname "$0")/lib.sh"

deploy tcp
ROUTED="psb ato ato-210302"
OTHERS="education ato-210303"
start_all health $ROUTED $OTHERS

# The shipped example, without its fixed message id (so the test can be run again).
"$PY" - "$REPO/examples/json/clue-medical.json" >"$TEST_DIR/clue.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc.pop("message_id", None)
assert doc["clue"]["category"] == "medical" and doc["clue"]["jurisdiction"] == "210302"
print(json.dumps(doc, ensure_ascii=False))
EOF
drop health clue-medical.json "$(cat "$TEST_DIR/clue.json")"

SENT=$(spool health)/sent
wait_for 60 "health's receipt" files_at_least "$SENT" 'clue-medical.json.receipt.json' 1
for u in $ROUTED; do
	wait_for 60 "delivery to $u" files_at_least "$(spool "$u")/out" '*.json' 1
done
assert_eq 0 "$(count_files "$(spool health)/rejected")" "health's rejected/ entries"
[ -f "$SENT/clue-medical.json" ] || die "the document was not moved to sent/"

# Every delivery: one file, named by seq, kind and id, for the receipt's message, verified.
"$PY" - "$SENT/clue-medical.json.receipt.json" "$TEST_DIR/clue.json" "$D" $ROUTED <<'EOF'
import json, os, re, sys
receipt = json.load(open(sys.argv[1]))
sent = json.load(open(sys.argv[2]))
deploy, routed = sys.argv[3], sys.argv[4:]
assert re.fullmatch(r"[0-9a-f]{32}", receipt["message_id"]), receipt
assert re.fullmatch(r"[0-9a-f]{64}", receipt["entry_hash"]), receipt
assert receipt["duplicate"] is False, receipt
seq, msgid = receipt["seq"], receipt["message_id"]
for unit in routed:
    out = os.path.join(deploy, "spool", unit, "out")
    names = [n for n in os.listdir(out) if not n.startswith(".")]
    assert names == ["%020d-clue-%s.json" % (seq, msgid)], (unit, names)
    doc = json.load(open(os.path.join(out, names[0])))
    assert doc["seq"] == seq, (unit, doc["seq"], seq)
    assert doc["entry_hash"] == receipt["entry_hash"], unit
    assert doc["sender"] == "health", doc["sender"]
    assert doc["signature"]["agent_check"] == "verified", doc["signature"]
    assert doc["signature"]["verified_by_broker"] is True, doc["signature"]
    assert sorted(doc["recipients"]) == sorted(routed), doc["recipients"]
    m = doc["message"]
    assert m["message_id"] == msgid and m["kind"] == "clue" and m["sender"] == "health", m
    assert m["clue"]["summary"] == sent["clue"]["summary"], unit
    assert m["clue"]["category"] == "medical" and m["clue"]["jurisdiction"] == "210302"
    assert len(m["clue"]["persons"]) == len(sent["clue"]["persons"]), unit
print("deliveries ok: seq", seq, "to", " ".join(routed))
EOF

# Units outside the route: connected the whole time, yet nothing arrived. The broker sends
# a round's deliveries to every recipient together, so the routed units having theirs
# means these would have had theirs too; the logged recipient list below settles it.
for u in $OTHERS health; do
	assert_eq 0 "$(count_files "$(spool "$u")/out")" "files in $u's out/"
	assert_eq 0 "$(count_files "$(spool "$u")/quarantine")" "files in $u's quarantine/"
done

# Each recipient acknowledges after its file is durable; the broker logs the acks.
acked_by_all() {
	replay_json "$TEST_DIR/replay.jsonl"
	"$PY" - "$TEST_DIR/replay.jsonl" $ROUTED <<'EOF'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
seq = [e["seq"] for e in entries if e["type"] == "message"][0]
acked = {e["unit"] for e in entries if e["type"] == "ack" and seq in e["acked"]}
sys.exit(0 if acked == set(sys.argv[2:]) else 1)
EOF
}
wait_for 60 "acknowledgements from $ROUTED in the log" acked_by_all

stop_broker
replay_json "$TEST_DIR/replay.jsonl"
"$PY" - "$TEST_DIR/replay.jsonl" "$SENT/clue-medical.json.receipt.json" $ROUTED <<'EOF'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
receipt = json.load(open(sys.argv[2]))
msgs = [e for e in entries if e["type"] == "message"]
assert len(msgs) == 1, msgs
m = msgs[0]
assert m["seq"] == receipt["seq"] and m["message_id"] == receipt["message_id"], m
assert m["kind"] == "clue" and m["sender"] == "health", m
assert sorted(m["recipients"]) == sorted(sys.argv[3:]), m["recipients"]
acked = [e["unit"] for e in entries if e["type"] == "ack" and m["seq"] in e["acked"]]
assert sorted(acked) == sorted(sys.argv[3:]), acked
print("log ok: recipients", m["recipients"], "each acknowledged once")
EOF
audit verify "$D/data"
finish
