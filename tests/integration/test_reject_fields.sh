#!/usr/bin/env bash
# Broker refusals arrive in the agent's rejected/NAME.error.json with `field`, `code` and
# `reason`, their text UTF-8 as the broker wrote it: a clue for jurisdiction 999999 (not one
# of the example's Anshan divisions) names clue.jurisdiction and lists the valid codes with
# their Chinese names; a referral to an unregistered unit names the unit and its place
# (referral.to_units[1]); a report to one names report.to_units[0].
. "$(dirname "$0")/lib.sh"

deploy ipc
start_all health psb

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
def err(name):
    raw = open(os.path.join(d, name + ".error.json"), encoding="utf-8").read()
    assert "\\x" not in raw, raw          # no byte escapes: the text is kept as UTF-8
    doc = json.loads(raw)
    assert doc["error"] == "invalid_body" and isinstance(doc["code"], int), doc
    return doc
e = err("bad-division.json")
assert e["field"] == "clue.jurisdiction", e
assert "999999" in e["reason"] and "210302 铁东区" in e["reason"], e["reason"]
assert "210381 海城市" in e["reason"], e["reason"]
e = err("referral.json")
assert e["field"] == "referral.to_units[1]", e
assert "'no-such-unit' is not registered" in e["reason"], e
e = err("report.json")
assert e["field"] == "report.to_units[0]" and "'ghost'" in e["reason"], e
print("error files ok")
PYEOF
finish
