#!/usr/bin/env bash
# Broker refusals arrive in the agent's rejected/NAME.error.json with `field`, `code` and
# `reason`, their text UTF-8 as the broker wrote it: a clue for jurisdiction 999999 (not one
# of the example's Anshan divisions) names clue.jurisdiction and lists the valid codes with
# their Chinese names; a referral to an unregistered unit names the unit and its place
# (referral.to_units[1]); a report to one names report.to_units[0] — those two refused by the
# sealing agent itself with the broker's field and reason (it cannot seal to a unit the
# directory does not list: `invalid_document` at publish, or `invalid_body` when it was
# stored before the directory came and refused when it was to be sealed).
# The agent's own intake, with `divisions` in its config, refuses 999999 itself; it reports
# every problem of a document in `errors` (the first also as field/reason) and suggests
# the nearest field name; a due time already past and an occurrence in the future are
# refused with their reasons.
. "$(dirname "$0")/lib.sh"

deploy ipc
agent_conf ato 'divisions = [ "210300 鞍山市", "210302 铁东区" ];'
start_all health psb ato

drop health bad-division.json "$(clue_json medical 999999 "辖区不存在")"
CLUE=$(printf '%032x' 1701)
drop health good.json "$(clue_json medical 210302 "正常线索" | "$PY" -c '
import json, sys
doc = json.load(sys.stdin); doc["message_id"] = sys.argv[1]
print(json.dumps(doc, ensure_ascii=False))' "$CLUE")"
wait_for 60 "the good clue to be accepted" files_at_least "$(spool health)/sent" \
    'good.json.receipt.json' 1
drop health referral.json "{\"kind\":\"referral\",\"refers_to\":\"$CLUE\",
  \"referral\":{\"to_units\":[\"psb\",\"no-such-unit\"],\"action\":\"investigate\"}}"
drop health report.json '{"kind":"report","report":{"type":"situation_analysis",
  "title":"t","text":"x","to_units":["ghost"]}}'
wait_for 60 "three refusals" files_at_least "$(spool health)/rejected" '*.error.json' 3

"$PY" - "$(spool health)/rejected" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
def err(name, local=False):
    raw = open(os.path.join(d, name + ".error.json"), encoding="utf-8").read()
    assert "\\x" not in raw, raw          # no byte escapes: the text is kept as UTF-8
    doc = json.loads(raw)
    if local and doc["error"] == "invalid_document":	# refused at publish
        assert "code" not in doc, doc
    elif local:		# stored before the directory came, refused when sealed
        assert doc["error"] == "invalid_body" and doc["code"] == 9, doc
    else:
        assert doc["error"] == "invalid_body" and isinstance(doc["code"], int), doc
    return doc
e = err("bad-division.json")
assert e["field"] == "clue.jurisdiction", e
assert "999999" in e["reason"] and "210302 铁东区" in e["reason"], e["reason"]
assert "210381 海城市" in e["reason"], e["reason"]
e = err("referral.json", local=True)
assert e["field"] == "referral.to_units[1]", e
assert "'no-such-unit' is not registered" in e["reason"], e
e = err("report.json", local=True)
assert e["field"] == "report.to_units[0]" and "'ghost'" in e["reason"], e
print("error files ok")
PYEOF

drop ato division.json "$(clue_json medical 999999 "辖区不存在")"
drop ato many.json '{"kind":"clue","clue":{"category":"medicall","jurisdiction":"210302",
  "occurred_at":"2099-03-01T08:30:00+08:00","sumary":"摘要","handling":{"code":"h0"},
  "evaluation":{"source_reliability":"b","accuracy":2}}}'
drop ato late.json "{\"kind\":\"referral\",\"refers_to\":\"$CLUE\",\"referral\":
  {\"to_units\":[\"psb\"],\"action\":\"investigate\",\"receipt_due_at\":\"2020-01-01T00:00:00Z\"}}"
wait_for 60 "ato's three refusals" files_at_least "$(spool ato)/rejected" '*.error.json' 3
"$PY" - "$(spool ato)/rejected" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
def err(name):
    raw = open(os.path.join(d, name + ".error.json"), encoding="utf-8").read()
    assert "\\x" not in raw and "\\u" not in raw, raw
    doc = json.loads(raw)
    assert doc["error"] == "invalid_document", doc
    assert doc["errors"][0] == {"field": doc["field"], "reason": doc["reason"]}, doc
    return doc
e = err("division.json")
assert e["field"] == "clue.jurisdiction", e
assert "valid: 210300 鞍山市, 210302 铁东区" in e["reason"], e
e = err("many.json")
got = [(p["field"], p["reason"]) for p in e["errors"]]
assert got[0] == ("clue.sumary", "unknown field 'sumary': did you mean 'summary'?"), got
fields = [f for f, _ in got]
assert fields == ["clue.sumary", "clue.category", "clue.occurred_at", "clue.summary"], got
assert got[2][1].startswith("in the future"), got
e = err("late.json")
assert e["field"] == "referral.receipt_due_at", e
assert e["reason"].startswith("already past"), e
print("agent error files ok")
PYEOF
finish
