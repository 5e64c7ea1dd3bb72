#!/usr/bin/env bash
# A petition clue from 信访局 (petitions) is transferred to the responsible units and put
# under supervision in one step (seed Art 23): the routed member units (psb and
# political-legal for `petition` in the example table) each owe a receipt and a feedback on
# the clue itself; the broker logs one signed supervision to them, petitions and the
# office; psb's receipt referring to the clue is accepted and goes back to petitions; a unit
# outside the route cannot answer.
. "$(dirname "$0")/lib.sh"

deploy ipc
UNITS="petitions psb political-legal ato ato-210303 education"
start_all $UNITS

CLUE=$(printf '%032x' 77)
drop petitions petition.json "$("$PY" - "$REPO/examples/json/clue-petition.json" "$CLUE" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["message_id"] = sys.argv[2]
print(json.dumps(doc, ensure_ascii=False))
PYEOF
)"
wait_for 60 "the petition to be accepted" files_at_least "$(spool petitions)/sent" \
    'petition.json.receipt.json' 1
for u in psb political-legal ato petitions; do
	wait_for 60 "the supervision to reach $u" files_at_least "$(spool "$u")/out" \
	    '*-supervision-*.json' 1
done
wait_for 60 "the petition to reach psb" files_at_least "$(spool psb)/out" '*-clue-*.json' 1

"$PY" - "$D/spool" "$CLUE" <<'PYEOF'
import json, os, sys
spools, clue = sys.argv[1:]
def out(unit, kind):
    d = os.path.join(spools, unit, "out")
    return [json.load(open(os.path.join(d, n))) for n in sorted(os.listdir(d))
            if "-%s-" % kind in n]
[c] = out("psb", "clue")
ctx = c["context"]
assert ctx["referral_id"] == clue, ctx
assert sorted(o["unit"] for o in ctx["obligations"]) == ["political-legal", "psb"], ctx
assert all(o["referrer"] == "petitions" for o in ctx["obligations"]), ctx
assert {a["unit"] for a in ctx["awaiting"]} == {"psb", "political-legal"}, ctx["awaiting"]
[s] = out("political-legal", "supervision")
assert s["sender"] == "broker" and s["signature"]["agent_check"] == "verified", s
m = s["message"]
assert m["refers_to"] == clue and m["supervision"]["level"] == "supervise", m
assert sorted(m["supervision"]["units"]) == ["political-legal", "psb"], m
assert set(s["recipients"]) >= {"psb", "political-legal", "petitions", "ato"}, s["recipients"]
assert not out("education", "supervision"), "education is outside the route"
print("petition transferred and supervised in one step")
PYEOF

drop psb receipt.json "{\"kind\":\"receipt\",\"refers_to\":\"$CLUE\",\"receipt\":{\"note\":\"已签收\"}}"
wait_for 60 "psb's receipt to be accepted" files_at_least "$(spool psb)/sent" \
    'receipt.json.receipt.json' 1
wait_for 60 "psb's receipt to reach petitions" files_at_least "$(spool petitions)/out" \
    '*-receipt-*.json' 1
drop education receipt.json "{\"kind\":\"receipt\",\"refers_to\":\"$CLUE\",\"receipt\":{}}"
wait_for 60 "education's receipt to be refused" files_at_least "$(spool education)/rejected" \
    'receipt.json.error.json' 1
audit verify "$D/data"
finish
