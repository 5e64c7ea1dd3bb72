#!/usr/bin/env bash
# Follow-up duties (seed Art 26) with the real binaries, no test clock needed: health refers
# a rescued woman to civil-affairs and education with a follow-up every 30 days from
# 2025-01-01 to 2025-03-02: two periods each, both already due, so the broker's timer
# escalates the four at once, each exactly once, to health (owed), ato and the unit itself
# (a reminder); a kill -9 and a restart log no second escalation; civil-affairs' late
# follow-up report is accepted and reaches health; psb's, which owes none, is refused
# naming refers_to; cluebus-audit stats --district 210302 counts the district's clue, the
# referral, the report and the escalations (they lead to the clue), --district 210303 none,
# and --unit prints the unit's Chinese name.
. "$(dirname "$0")/lib.sh"

deploy ipc
UNITS="health ato civil-affairs education psb"
start_all $UNITS

id() { printf '%032x' "$1"; }
CLUE=$(id 1); REF=$(id 2)
sent() {
	wait_for 60 "$1's $2 to be accepted" files_at_least "$(spool "$1")/sent" "$2.receipt.json" 1
}

drop health clue.json "$("$PY" - "$REPO/examples/json/clue-medical.json" "$CLUE" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["message_id"] = sys.argv[2]
print(json.dumps(doc, ensure_ascii=False))
PYEOF
)"
sent health clue.json
drop health referral.json "{\"kind\":\"referral\",\"message_id\":\"$REF\",\
\"refers_to\":\"$CLUE\",\"case_ref\":\"AS-2026-18\",\"referral\":{\
\"to_units\":[\"civil-affairs\",\"education\"],\"action\":\"relief\",\
\"follow_up_every\":\"30d\",\"follow_up_from\":\"2025-01-01T00:00:00+08:00\",\
\"follow_up_until\":\"2025-03-02T00:00:00+08:00\",\"note\":\"每30天回访一次\"}}"
sent health referral.json

# Four escalations reach the office: two periods of each unit.
wait_for 60 "the four follow-up escalations" files_at_least "$(spool ato)/out" \
    '*-escalation-*.json' 4
kill9_broker
start_broker
drop civil-affairs fu.json "{\"kind\":\"report\",\"refers_to\":\"$REF\",\"report\":\
{\"type\":\"follow_up\",\"title\":\"回访记录\",\"text\":\"已入户回访\"}}"
sent civil-affairs fu.json
wait_for 60 "the follow-up report to reach health" files_at_least "$(spool health)/out" \
    '*-report-*.json' 1
drop psb fu.json "{\"kind\":\"report\",\"refers_to\":\"$REF\",\"report\":\
{\"type\":\"follow_up\",\"title\":\"回访记录\",\"text\":\"x\"}}"
wait_for 60 "psb's follow-up report to be refused" files_at_least "$(spool psb)/rejected" \
    'fu.json.error.json' 1
grep -q 'no follow-up duty of this unit' "$(spool psb)/rejected/fu.json.error.json" ||
    die "psb's follow-up report was refused for another reason"
stop_broker

"$PY" - "$(spool ato)/out" "$(spool health)/out" "$(spool civil-affairs)/out" "$REF" <<'PYEOF'
import collections, json, os, sys
ato, health, ca, ref = sys.argv[1:]
def escalations(d):
    out = []
    for n in sorted(os.listdir(d)):
        if "-escalation-" in n:
            doc = json.load(open(os.path.join(d, n)))
            out.append(doc)
    return out
got = collections.Counter((e["message"]["escalation"]["unit"],
                           e["message"]["escalation"]["period_from"])
                          for e in escalations(ato))
assert len(got) == 4 and set(got.values()) == {1}, got
for e in escalations(ato):
    x = e["message"]["escalation"]
    assert x["duty"] == "follow_up" and x["referral_id"] == ref, x
    assert "missed" not in x, x
    assert sorted(e["recipients"]) == sorted(["ato", "health", x["unit"]]), e["recipients"]
assert len(escalations(health)) == 4, "health (owed) gets each escalation"
assert len(escalations(ca)) == 2, "civil-affairs is reminded of its own two"
print("follow-up escalations ok: each of 4 exactly once")
PYEOF

audit stats "$D/data" --district 210302 --json >"$TEST_DIR/d302.json"
audit stats "$D/data" --district 210303 --json >"$TEST_DIR/d303.json"
audit stats "$D/data" --unit civil-affairs >"$TEST_DIR/ca.txt"
"$PY" - "$TEST_DIR/d302.json" "$TEST_DIR/d303.json" "$TEST_DIR/ca.txt" <<'PYEOF'
import json, sys
d302, d303 = (json.load(open(p)) for p in sys.argv[1:3])
ca = open(sys.argv[3], encoding="utf-8").read()
# 210302: the clue, the referral, civil-affairs' report and the four escalations lead to it.
assert d302["district"] == "210302" and d302["clues"] == 1, d302
assert d302["clues_by_district"] == {"210302": 1}, d302
assert d302["messages"] == 1 + 1 + 1 + 4, d302["messages"]
assert d302["names"]["210302"] == "铁东区反拐办", d302["names"]
assert {u["unit"] for u in d302["units"]} == {"civil-affairs", "education"}, d302["units"]
assert d303["clues"] == 0 and d303["messages"] == 0, d303
assert "Limited to unit civil-affairs" in ca and "市民政局" in ca, ca
print("stats by district and unit ok")
PYEOF
# The case timeline names the missed report, not a referral step.
audit case "$D/data" AS-2026-18 --json >"$TEST_DIR/case.json"
audit case "$D/data" AS-2026-18 >"$TEST_DIR/case.txt"
"$PY" - "$TEST_DIR/case.json" "$TEST_DIR/case.txt" <<'PYEOF'
import json, sys
case = json.load(open(sys.argv[1]))
text = open(sys.argv[2], encoding="utf-8").read()
esc = [e["escalation"] for e in case["events"] if e["kind"] == "escalation"]
assert len(esc) == 4 and all(x["duty"] == "follow_up" and "missed" not in x for x in esc), esc
assert text.count("missed its follow_up report due") == 4, text
print("case timeline ok")
PYEOF
audit verify "$D/data" >/dev/null
finish
