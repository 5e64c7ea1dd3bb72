#!/usr/bin/env bash
# A case and its task force, and a correction, through running agents that seal (Art 18;
# SPEC §4, §10): psb opens case AS-2026-031 in 铁东区 with civil-affairs and education on its
# task force; the broker's signed directory lists the task force, so health's sealed clue
# carrying the case_ref is sealed to them besides the routed units, and they open it.
# A correction carrying the whole clue is sealed like a clue to the recipients the original
# was logged with (its Accepted named them to health's agent, which keeps them across a
# restart): each of them, the task force among them, opens it, and the log holds its
# summary nowhere; a correction with a note reaches them too; psb may not correct health's
# clue (not_owner); a member may not close the case. ato puts the case under listed supervision and civil-affairs' sealed
# receipt on it reaches ato. psb then adds justice to the task force and removes education: the
# next sealed clue of the case reaches justice, which opens it, and is neither sealed nor
# delivered to education. The auditor sees the case's record, the correction in replay
# (the clue's line shows its latest state) and the clues in stats; after health withdraws
# the first clue, stats count it out and replay shows it withdrawn.
. "$(dirname "$0")/lib.sh"

deploy ipc
UNITS="psb ato ato-210302 health civil-affairs education justice"
start_all $UNITS

CASE=AS-2026-031
CLUE=$(printf '%032x' 31)
CLUE2=$(printf '%032x' 32)
OPEN=$(printf '%032x' 30)
drop psb open.json "{\"kind\":\"case\",\"message_id\":\"$OPEN\",\"case_ref\":\"$CASE\",\"case\":{\"op\":\"open\",
  \"jurisdiction\":\"210302\",\"members\":[\"civil-affairs\",\"education\"],
  \"title\":\"铁东区女童被拐案专班\"}}"
wait_for 60 "the case to be opened" files_at_least "$(spool psb)/sent" 'open.json.receipt.json' 1
CLUEDOC=$("$PY" - "$REPO/examples/json/clue-medical.json" "$CLUE" "$CASE" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["message_id"], doc["case_ref"] = sys.argv[2], sys.argv[3]
doc["clue"]["jurisdiction"] = "210302"
doc.pop("refers_to", None)
print(json.dumps(doc, ensure_ascii=False))
PYEOF
)
drop health clue.json "$CLUEDOC"
for u in civil-affairs education psb ato ato-210302; do
	wait_for 60 "the case's clue to reach $u" files_at_least "$(spool "$u")/out" \
	    '*-clue-*.json' 1
done

# health's agent restarts: the original's recipients come from its store.
stop_agent health
start_agent health
wait_connected health
drop health fix.json "{\"kind\":\"correction\",\"refers_to\":\"$CLUE\",\"correction\":{
  \"op\":\"correct\",\"reason\":\"类别填错：应为公众举报\",\"clue\":{\"category\":\"public_tip\",
  \"jurisdiction\":\"210302\",\"occurred_at\":\"2026-02-27T09:30:00+08:00\",
  \"summary\":\"群众举报一名男子带一名女童在医院附近徘徊。\",\"handling\":{\"code\":\"h0\"},
  \"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2}}}}"
wait_for 60 "the correction carrying the whole clue to be accepted" \
    files_at_least "$(spool health)/sent" 'fix.json.receipt.json' 1
drop health fix2.json "{\"kind\":\"correction\",\"refers_to\":\"$CLUE\",\"correction\":{
  \"op\":\"correct\",\"reason\":\"类别填错\",\"note\":\"应为公众举报\"}}"
for u in civil-affairs education psb ato ato-210302; do
	wait_for 60 "both corrections to reach $u" files_at_least "$(spool "$u")/out" \
	    '*-correction-*.json' 2
done
! grep -rqaF -- '在医院附近徘徊' "$D/data" ||
    die "the corrected clue's summary is readable in the broker's log"
drop psb fix.json "{\"kind\":\"correction\",\"refers_to\":\"$CLUE\",\"correction\":{
  \"op\":\"withdraw\",\"reason\":\"not mine\"}}"
wait_for 60 "psb's correction of health's clue to be refused" files_at_least \
    "$(spool psb)/rejected" 'fix.json.error.json' 1
drop civil-affairs close.json "{\"kind\":\"case\",\"case_ref\":\"$CASE\",\"case\":{
  \"op\":\"close\",\"reason\":\"我们的工作完成了\"}}"
wait_for 60 "a member's close to be refused" files_at_least \
    "$(spool civil-affairs)/rejected" 'close.json.error.json' 1
"$PY" - "$D/spool" <<'PYEOF'
import json, os, sys
spools = sys.argv[1]
def error(unit, name):
    return json.load(open(os.path.join(spools, unit, "rejected", name + ".error.json")))
text = json.dumps(error("psb", "fix.json"), ensure_ascii=False)
assert "not_owner" in text and "refers_to" in text, text
text = json.dumps(error("civil-affairs", "close.json"), ensure_ascii=False)
assert "not_owner" in text, text
d = os.path.join(spools, "education", "out")
cs = [json.load(open(os.path.join(d, n))) for n in os.listdir(d) if "-correction-" in n]
[c] = [c for c in cs if "note" in c["message"]["correction"]]
assert c["message"]["correction"]["note"] == "应为公众举报", c
# The corrected clue was sealed to the original's recipients (the task force among them)
# and each opens it.
for unit in ("education", "civil-affairs", "psb", "ato", "ato-210302"):
    d = os.path.join(spools, unit, "out")
    [w] = [json.load(open(os.path.join(d, n))) for n in os.listdir(d)
           if "-correction-" in n and "clue" in json.load(open(os.path.join(d, n)))
           ["message"]["correction"]]
    assert w["sealing"]["status"] == "opened", (unit, w["sealing"])
    clue = w["message"]["correction"]["clue"]
    assert clue["category"] == "public_tip" and "在医院附近徘徊" in clue["summary"], clue
# A member's delivery of the case's clue says which case and task force it belongs to.
[k] = [json.load(open(os.path.join(d, n))) for n in os.listdir(d) if "-clue-" in n]
case = k["context"]["case"]
assert case["case_ref"] == "AS-2026-031" and case["state"] == "open", case
assert case["opener"] == "psb" and case["jurisdiction"] == "210302", case
assert case["members"] == ["civil-affairs", "education"], case
assert k["sealing"]["status"] == "opened", k["sealing"]
assert {"civil-affairs", "education"} <= set(k["sealing"]["recipients"]), k["sealing"]
print("corrections delivered, the corrected clue sealed; foreign correction and member's "
      "close refused")
PYEOF

# ato puts the case under listed supervision: each member owes a receipt on the case (its
# open message); civil-affairs' sealed receipt reaches ato, which it learnt from the
# supervision's delivery context.
drop ato sup.json "{\"kind\":\"supervision\",\"case_ref\":\"$CASE\",\"supervision\":{
  \"level\":\"listed\",\"receipt_due_in\":\"8h\",\"feedback_due_in\":\"7d\",
  \"note\":\"挂牌督办\"}}"
wait_for 60 "the case's supervision to reach civil-affairs" files_at_least \
    "$(spool civil-affairs)/out" '*-supervision-*.json' 1
drop civil-affairs rcpt.json "{\"kind\":\"receipt\",\"refers_to\":\"$OPEN\",\"receipt\":{
  \"note\":\"已签收\"}}"
wait_for 60 "civil-affairs' receipt on the case to be accepted" files_at_least \
    "$(spool civil-affairs)/sent" 'rcpt.json.receipt.json' 1
wait_for 60 "civil-affairs' receipt to reach ato" files_at_least "$(spool ato)/out" \
    '*-receipt-*.json' 1
"$PY" - "$(spool ato)/out" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
[r] = [json.load(open(os.path.join(d, n))) for n in os.listdir(d) if "-receipt-" in n]
assert r["sealing"]["status"] == "opened" and r["message"]["receipt"]["note"] == "已签收", r
print("a member's sealed receipt on the supervised case reaches the supervisor")
PYEOF

# The task force changes: justice joins, education leaves; the next clue of the case is
# sealed to the new task force (the directory's new version) and reaches justice alone.
drop psb add.json "{\"kind\":\"case\",\"case_ref\":\"$CASE\",\"case\":{\"op\":\"add_members\",
  \"members\":[\"justice\"]}}"
wait_for 60 "justice to join the task force" files_at_least "$(spool psb)/sent" \
    'add.json.receipt.json' 1
drop psb remove.json "{\"kind\":\"case\",\"case_ref\":\"$CASE\",\"case\":{
  \"op\":\"remove_members\",\"members\":[\"education\"]}}"
wait_for 60 "education to leave the task force" files_at_least "$(spool psb)/sent" \
    'remove.json.receipt.json' 1
drop health clue2.json "$(printf '%s' "$CLUEDOC" | "$PY" -c '
import json, sys
doc = json.load(sys.stdin)
doc["message_id"] = sys.argv[1]
print(json.dumps(doc, ensure_ascii=False))' "$CLUE2")"
for u in justice civil-affairs psb ato ato-210302; do
	wait_for 60 "the case's second clue to reach $u" files_at_least "$(spool "$u")/out" \
	    "*-clue-$CLUE2.json" 1
done
wait_for 60 "health's second clue to be accepted" files_at_least "$(spool health)/sent" \
    'clue2.json.receipt.json' 1
replay_json "$TEST_DIR/replay-members.jsonl"
"$PY" - "$D/spool" "$CLUE2" "$TEST_DIR/replay-members.jsonl" <<'PYEOF'
import json, os, sys
spools, clue2, replay = sys.argv[1:]
out = lambda u: os.path.join(spools, u, "out")
[k] = [json.load(open(os.path.join(out("justice"), n))) for n in os.listdir(out("justice"))
       if n.endswith("-clue-" + clue2 + ".json")]
s = k["sealing"]
assert s["status"] == "opened" and s["unit"] == "justice", s
assert "justice" in s["recipients"] and "education" not in s["recipients"], s
assert k["message"]["clue"]["summary"], "justice reads the sealed summary"
assert k["context"]["case"]["members"] == ["civil-affairs", "justice"], k["context"]
assert not [n for n in os.listdir(out("education")) if clue2 in n], \
    "education left the task force: the second clue is not delivered to it"
[line] = [json.loads(l) for l in open(replay) if json.loads(l).get("message_id") == clue2]
assert "justice" in line["recipients"] and "education" not in line["recipients"], line
assert sorted(line["clue"]["sealed"]["recipients"]) == sorted(line["recipients"]), line
print("task force changed: justice opens the next clue of the case; education is out")
PYEOF

replay_json "$TEST_DIR/replay.jsonl"
audit case "$D/data" "$CASE" --json >"$TEST_DIR/case.json"
audit case "$D/data" "$CASE" >"$TEST_DIR/case.txt"
audit stats "$D/data" --json >"$TEST_DIR/stats1.json"
drop health withdraw.json "{\"kind\":\"correction\",\"refers_to\":\"$CLUE\",\"correction\":{
  \"op\":\"withdraw\",\"reason\":\"重复报送\"}}"
wait_for 60 "the withdrawal to be accepted" files_at_least "$(spool health)/sent" \
    'withdraw.json.receipt.json' 1
audit stats "$D/data" --json >"$TEST_DIR/stats2.json"
replay_json "$TEST_DIR/replay2.jsonl"
"$PY" - "$TEST_DIR" "$CLUE" <<'PYEOF'
import json, os, sys
d, clue = sys.argv[1:]
case = json.load(open(os.path.join(d, "case.json")))
rec = case["record"]
assert rec["state"] == "open" and rec["opener"] == "psb", rec
assert rec["members"] == ["civil-affairs", "justice"], rec
steps = [s["what"] for s in rec["history"]]
assert steps[0].startswith("open in 210302"), steps
kinds = [e["kind"] for e in case["events"]]
assert "case" in kinds and "clue" in kinds and "correction" in kinds, kinds
text = open(os.path.join(d, "case.txt"), encoding="utf-8").read()
assert "case AS-2026-031: OPEN" in text and "civil-affairs, justice" in text, text
lines = [json.loads(l) for l in open(os.path.join(d, "replay.jsonl"))]
orig = [l for l in lines if l.get("message_id") == clue]
fixes = [l for l in lines if l.get("kind") == "correction"]
assert len(orig) == 1 and len(fixes) == 2, "replay keeps the clue and its corrections"
assert orig[0]["seq"] < fixes[0]["seq"] < fixes[1]["seq"], (orig, fixes)
for f in fixes:
    assert set(f["recipients"]) >= set(orig[0]["recipients"]), (orig, f)
# The corrected clue is in the log sealed: its category in clear, its summary not.
assert fixes[0]["correction"]["clue"]["category"] == "public_tip", fixes[0]
assert "summary" not in fixes[0]["correction"]["clue"], fixes[0]
assert orig[0]["amended"] == {"state": "corrected", "by_seq": fixes[1]["seq"]}, orig
lines = [json.loads(l) for l in open(os.path.join(d, "replay2.jsonl"))]
fixes = [l for l in lines if l.get("kind") == "correction"]
orig = [l for l in lines if l.get("message_id") == clue]
assert len(fixes) == 3 and fixes[2]["correction"]["op"] == "withdraw", fixes
assert orig[0]["amended"] == {"state": "withdrawn", "by_seq": fixes[2]["seq"]}, orig
s1 = json.load(open(os.path.join(d, "stats1.json")))
# The corrected category counts (the correction's clue is sealed, its category clear).
assert s1["clues"] == 2 and s1["clues_by_category"] == {"medical": 1, "public_tip": 1}, s1
s2 = json.load(open(os.path.join(d, "stats2.json")))
assert s2["clues"] == 1 and s2["clues_by_category"] == {"medical": 1}, s2
print("audit: case record, correction in replay, stats before and after the withdrawal")
PYEOF
audit verify "$D/data"
finish
